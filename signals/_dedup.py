"""Article deduplication: the same page under its usual disguises, or the same headline from
the same source within 48 hours, is one article (the earliest is kept)."""

from __future__ import annotations

import urllib.parse

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["canonical_url", "dedupe_articles", "normalise_title"]

_DEDUP_WINDOW = pd.Timedelta(hours=48)

# query parameters that only say where a reader came from (analytics, campaign, referral)
_TRACKING_PARAMS = frozenset(
    [
        "fbclid",
        "gclid",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "igshid",
        "mc_cid",
        "mc_eid",
        "_hsenc",
        "_hsmi",
        "ref",
        "ref_src",
        "cmpid",
        "cmp",
        "ocid",
        "smid",
        "taid",
        "ito",
        "mod",
        "rss",
        "feedtype",
        "ns_mchannel",
        "ns_source",
        "ns_campaign",
        "ns_linkname",
        "ns_fee",
    ]
)


def canonical_url(url: str) -> str:
    """The dedup key of an article URL: the same page under its usual disguises gets one key.

    Scheme (http/https), letter case of the host, a leading ``www.``, default ports, a
    trailing slash, tracking parameters (``utm_*``, ``fbclid``, ``gclid``, ``mod``, ``ref``,
    ... see ``_TRACKING_PARAMS``) and the order of the remaining query parameters are ignored.
    The path keeps its case and the fragment is kept: live blogs give each post its own
    ``#anchor`` on one page (seen in the CNN rows of the real RSS sample). Text that is not a
    URL with a host is returned stripped, unchanged otherwise.

    Parameters
    ----------
    url : str
        As read from the feed ("" when absent).

    Returns
    -------
    str
        ``host/path?sorted-query#fragment`` (or the stripped input).
    """
    text = url.strip()
    try:
        parts = urllib.parse.urlsplit(text)
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:  # malformed (e.g. a bad port): keep the text as its own key
        return text
    if not host:
        return text
    if host.startswith("www."):
        host = host[4:]
    if port is not None and port not in (80, 443):
        host = f"{host}:{port}"
    query = [
        (k, v)
        for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)
        if not (k.lower().startswith("utm_") or k.lower() in _TRACKING_PARAMS)
    ]
    path = parts.path.rstrip("/")
    q = urllib.parse.urlencode(sorted(query))
    return f"{host}{path}" + (f"?{q}" if q else "") + (f"#{parts.fragment}" if parts.fragment else "")


#: URLs canonicalised column-wise (RE2 syntax): scheme://host[:port][/path][?query][#fragment]
#: without ASCII whitespace or control characters; the query is checked separately
_SIMPLE_URL = (
    r"^[A-Za-z][A-Za-z0-9+.\-]*://(?P<host>[A-Za-z0-9.\-]+)(?::(?P<port>[1-9][0-9]{0,3}))?"
    r"(?P<path>/[^?#\x00-\x20]*)?(?P<query>\?[^#\x00-\x20]*)?(?P<frag>#[^\x00-\x20]*)?$"
)
_OTHER_SPACE = "[" + "".join(chr(c) for c in range(0x80, 0x3001) if chr(c).isspace()) + "]"


def _tracking_only(query: str) -> bool:
    """True when dropping tracking parameters leaves no query (``?utm_source=rss&fbclid=1``)."""
    for param in query[1:].split("&") if len(query) > 1 else ():
        k = param.split("=", 1)[0]
        if not k or "%" in k or "+" in k:
            return False
        k = k.lower()
        if not (k.startswith("utm_") or k in _TRACKING_PARAMS):
            return False
    return True


def _canonical_urls(urls: pd.Series) -> pd.Series:
    """:func:`canonical_url` of every URL ("" stays "").

    URLs without a query left once tracking parameters are dropped are canonicalised
    column-wise in Arrow with the same result as :func:`canonical_url` (a property test checks
    it); the rest one distinct URL at a time.
    """
    out = urls.astype(str).to_numpy(dtype=object)
    if len(out) == 0:
        return pd.Series(out, index=urls.index, dtype=object)
    arr = pa.array(out, type=pa.large_string())
    parts = pc.extract_regex(arr, _SIMPLE_URL)
    simple = parts.is_valid().to_numpy(zero_copy_only=False)
    simple &= ~pc.match_substring_regex(arr, _OTHER_SPACE).to_numpy(zero_copy_only=False)
    if simple.any():
        query = parts.field("query").to_numpy(zero_copy_only=False)
        verdict = {q: _tracking_only(q) for q in pd.unique(query[simple])}
        simple[simple] = [verdict[q] for q in query[simple]]
    if simple.any():
        p = parts.filter(pa.array(simple))
        host = pc.replace_substring_regex(pc.ascii_lower(p.field("host")), "^www\\.", "")
        port = p.field("port")
        keep = pc.and_(pc.not_equal(port, "80"), pc.not_equal(port, "443"))
        joined = pc.binary_join_element_wise(host, port, pa.scalar(":", pa.large_string()))
        host = pc.if_else(pc.and_(pc.not_equal(port, ""), keep), joined, host)
        path = pc.utf8_rtrim(p.field("path"), "/")
        frag = p.field("frag")
        empty = pa.scalar("", pa.large_string())
        frag = pc.if_else(pc.equal(frag, "#"), empty, frag)
        out[simple] = pc.binary_join_element_wise(host, path, frag, empty).to_numpy(zero_copy_only=False)
    rest = ~simple & (out != "")
    if rest.any():
        table = {u: canonical_url(u) for u in pd.unique(out[rest])}
        out[rest] = [table[u] for u in out[rest]]
    return pd.Series(out, index=urls.index, dtype=object)


def sort_articles(articles: pd.DataFrame) -> pd.DataFrame:
    """Rows in the total order on content: ``published``, ``article_id``, ``source``, ``title``,
    ``body`` (stable), the same as ``sort_values(keys, kind="mergesort")`` but sorting the strings
    only inside the rare runs that tie on time and id."""
    keys = [c for c in ("published", "article_id", "source", "title", "body") if c in articles]
    if len(articles) < 2 or keys[:2] != ["published", "article_id"] or articles["published"].isna().any():
        return articles.sort_values(keys, kind="mergesort").reset_index(drop=True)
    t = pd.DatetimeIndex(articles["published"]).as_unit("ns").asi8
    ids, _ = pd.factorize(articles["article_id"].astype(str), sort=True)
    order = np.lexsort((ids, t))
    ts, ii = t[order], ids[order]
    tie = np.flatnonzero((ts[1:] == ts[:-1]) & (ii[1:] == ii[:-1]))
    if len(tie) and len(keys) > 2:
        starts = np.flatnonzero(np.diff(np.concatenate(([-2], tie))) > 1)  # runs of tied neighbours
        rest = [articles[k].to_numpy(dtype=object) for k in keys[2:]]
        for a, b in zip(tie[starts], np.append(tie[starts[1:] - 1], tie[-1]) + 2):
            run = order[a:b]
            order[a:b] = sorted(run, key=lambda r: tuple(col[r] for col in rest))
    return articles.iloc[order].reset_index(drop=True)


def normalise_title(titles: pd.Series) -> pd.Series:
    """Lower-case, punctuation to spaces, whitespace collapsed (dedup key)."""
    return titles.astype(str).str.lower().str.replace(r"[^\w$%]+", " ", regex=True).str.strip()


def dedupe_articles(articles: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Remove duplicate articles: the same URL (by :func:`canonical_url`: tracking parameters,
    scheme, ``www.``, trailing slash and query order ignored), or the same normalised title from the same source
    within 48 hours of the kept (earliest) article.

    Parameters
    ----------
    articles : pandas.DataFrame
        Articles table (``article_id``, ``published`` (UTC), ``title``, ``source``, ``url``).

    Returns
    -------
    kept : pandas.DataFrame
        Sorted by ``published``, ``article_id``, ``source``, ``title``, ``body``, with ``n_duplicates`` (int: how many removed
        rows were copies of this article).
    duplicates : pandas.DataFrame
        Rejects-shaped table (``reason`` = ``duplicate_url`` or ``duplicate_title_48h``,
        ``duplicate_of`` = the kept ``article_id``).

    Notes
    -----
    This is the one step that looks across rows (and files): run it on the whole table, not per
    partition. A title cluster is anchored at its earliest article; a repeat more than 48 h after
    that anchor starts a new article (so daily recurring headlines are not merged forever).
    """
    # total order on content (not on input position): ties in time and id (URL repeats share the
    # URL's id) are broken by source, title and body, so the kept row never depends on row order
    df = sort_articles(articles)
    n = len(df)
    dup_of = np.full(n, "", dtype=object)
    why = np.full(n, "", dtype=object)
    url = df["url"].to_numpy(dtype=object)
    has_url = url != ""
    url_key = _canonical_urls(df["url"])  # the same page under tracking parameters etc.
    codes, _ = pd.factorize(url_key, sort=False)  # one hash pass: first row of each key is kept
    _, first_row = np.unique(codes, return_index=True)
    first = first_row[codes]
    first_id = df["article_id"].to_numpy(dtype=object)[first]
    url_dup = has_url & (first != np.arange(n))
    dup_of[url_dup] = first_id[url_dup]
    why[url_dup] = "duplicate_url"

    live = ~url_dup
    norm = normalise_title(df["title"])
    key = df["source"].astype(str) + "\x1f" + norm
    key_ok = live & (norm.to_numpy() != "")
    sub = pd.DataFrame({"key": key[key_ok], "t": df["published"][key_ok], "id": df["article_id"][key_ok]})
    multi = sub[sub["key"].duplicated(keep=False)]
    if len(multi):
        t_ns = pd.DatetimeIndex(multi["t"]).as_unit("ns").asi8
        win = _DEDUP_WINDOW.value
        for _, pos in multi.groupby("key", sort=False).indices.items():
            anchor_t, anchor_id = None, None
            for p in pos:  # short runs of repeated titles only
                if anchor_t is not None and t_ns[p] - anchor_t <= win:
                    row = multi.index[p]
                    dup_of[row] = anchor_id
                    why[row] = "duplicate_title_48h"
                else:
                    anchor_t, anchor_id = t_ns[p], multi["id"].iat[p]
    is_dup = why != ""
    # a URL repeat may point at an article that was itself a title repeat: follow to the kept one
    # (live rows have unique ids; URL repeats share their URL's id, so map only title repeats)
    is_title = why == "duplicate_title_48h"
    target = dict(zip(df["article_id"].to_numpy(dtype=object)[is_title], dup_of[is_title]))
    if target and url_dup.any():
        dup_of[url_dup] = np.array([target.get(d, d) for d in dup_of[url_dup]], dtype=object)
    dups = pd.DataFrame(
        {
            "origin": df["origin"].to_numpy()[is_dup] if "origin" in df else "",
            "row": pd.array([pd.NA] * int(is_dup.sum()), dtype="Int64"),
            "field": np.where(why[is_dup] == "duplicate_url", "url", "title"),
            "value": np.where(
                why[is_dup] == "duplicate_url", url[is_dup], df["title"].to_numpy(dtype=object)[is_dup]
            ),
            "reason": why[is_dup],
            "duplicate_of": dup_of[is_dup],
        }
    )
    if "origin" in df and len(dups):
        split = dups["origin"].str.rsplit(":", n=1)
        dups["row"] = pd.array(pd.to_numeric(split.str[1], errors="coerce"), dtype="Int64")
        dups["origin"] = split.str[0]
    kept = df.loc[~is_dup].reset_index(drop=True)
    counts = pd.Series(dup_of[is_dup], dtype=object).value_counts()
    kept["n_duplicates"] = kept["article_id"].map(counts).fillna(0).astype("int64")
    return kept, dups
