"""Article readers and the Articles schema.

``read_articles`` turns JSONL, CSV, Parquet, RSS 2.0 / Atom (file or URL, parsed by ``feedparser``),
GDELT GKG 2.x (``.gkg.csv``, optionally zipped) files, a folder, a glob, a list of these or an
in-memory DataFrame into one clean, deduplicated Articles table:

=====================  =====================================================================
column                 meaning
=====================  =====================================================================
``article_id``         stable 16-hex-digit hash (SHA-1 of the URL; without a URL, of
                       source + title + UTC timestamp); identical across runs and machines
``published``          datetime64[ns, UTC]; a bare date is placed at 23:59:59 local in ``tz``
``published_precision`` ``"day"``, ``"minute"`` or ``"second"``
``title``, ``body``    str ("" when absent)
``source``, ``url``    str ("" when absent)
``published_raw``      the timestamp exactly as read (for audit)
``origin``             ``"<file>:<row>"`` (1-based data row / JSONL line / feed item)
``n_duplicates``       int, how many duplicates of this article were removed (0 with dedup=False)
=====================  =====================================================================

GDELT files add ``gdelt_themes`` (``;``-joined V2 themes), ``tone`` (V1.5 average tone) and
``page_published`` (the page's own timestamp when GDELT gives one; ``published`` is the GDELT batch
time, the moment the article was known to GDELT).

Accounting: rows in = rows out + rejects (unparseable rows AND removed duplicates). With
``errors="collect"`` the rejects come back as a second DataFrame; in every mode the counts are in
``articles.attrs["newsbt_read"]`` (``rows_in``, ``rows_out``, ``rejected``, ``duplicates``).
"""

from __future__ import annotations

import glob as _glob
import hashlib
import html
import io
import json
import logging
import re
import urllib.parse
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from signals._timeparse import parse_timestamps, resolve_tz
from signals.errors import ConfigError, InputFormatError, InputNotFoundError

__all__ = [
    "ARTICLE_COLUMNS",
    "REJECT_COLUMNS",
    "canonical_url",
    "dedupe_articles",
    "read_articles",
    "sample_articles",
]

log = logging.getLogger(__name__)

ARTICLE_COLUMNS = [
    "article_id",
    "published",
    "published_precision",
    "title",
    "body",
    "source",
    "url",
    "published_raw",
    "origin",
    "n_duplicates",
]
REJECT_COLUMNS = ["origin", "row", "field", "value", "reason", "duplicate_of"]

FORMATS = ("jsonl", "csv", "parquet", "feed", "gdelt")

_DEFAULT_NAMES: dict[str, tuple[str, ...]] = {
    "published": (
        "published",
        "date",
        "pubdate",
        "timestamp",
        "datetime",
        "published_at",
        "publishedat",
        "time",
        "created_at",
    ),
    "title": ("title", "headline", "headlines"),
    "body": ("body", "text", "content", "article", "summary", "description"),
    "source": ("source", "publisher", "source_name", "site", "outlet"),
    "url": ("url", "link", "href", "uri"),
}
_FIELDS = tuple(_DEFAULT_NAMES)

_DEDUP_WINDOW = pd.Timedelta(hours=48)
_TAG_RE = re.compile(r"<[^>]+>")
_WS_RE = re.compile(r"\s+")
_GKG_TS_RE = re.compile(r"<PAGE_PRECISEPUBTIMESTAMP>(\d{14})</PAGE_PRECISEPUBTIMESTAMP>")
_GKG_TITLE_RE = re.compile(r"<PAGE_TITLE>(.*?)</PAGE_TITLE>", re.S)
_GKG_ID_RE = re.compile(r"^\d{14}-T?\d+$")
_EXT_FORMAT = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
    ".csv": "csv",
    ".tsv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xml": "feed",
    ".rss": "feed",
    ".atom": "feed",
}


# ----------------------------------------------------------------------------- helpers
def _clean_text(s: pd.Series) -> pd.Series:
    """Strings, HTML tags removed, entities decoded, whitespace collapsed; missing -> ''."""
    s = s.astype("string").fillna("")
    if s.str.contains("<|&", regex=True).any():
        s = s.str.replace(_TAG_RE, " ", regex=True).map(html.unescape)
    return s.str.replace(_WS_RE, " ", regex=True).str.strip().astype(object)


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


def _canonical_urls(urls: pd.Series) -> pd.Series:
    """:func:`canonical_url` of every URL (each distinct URL parsed once; "" stays "")."""
    uniq = pd.unique(urls.astype(str))
    table = {u: (canonical_url(u) if u else "") for u in uniq}
    return urls.astype(str).map(table)


def _stable_id(key: str) -> str:
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


def _article_ids(df: pd.DataFrame) -> pd.Series:
    iso = df["published"].dt.strftime("%Y-%m-%dT%H:%M:%SZ").fillna("")
    keys = np.where(
        df["url"].to_numpy() != "",
        "url\x1f" + df["url"].astype(str),
        "tsi\x1f" + df["source"].astype(str) + "\x1f" + df["title"].astype(str) + "\x1f" + iso,
    )
    return pd.Series([_stable_id(k) for k in keys], index=df.index, dtype=object)


def normalise_title(titles: pd.Series) -> pd.Series:
    """Lower-case, punctuation to spaces, whitespace collapsed (dedup key)."""
    return titles.astype(str).str.lower().str.replace(r"[^\w$%]+", " ", regex=True).str.strip()


def _empty_rejects() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype=object) for c in REJECT_COLUMNS}).astype({"row": "Int64"})


def _pick_column(cols: list[str], field: str, given: str | None, origin: str) -> str | None:
    if given is not None:
        if given not in cols:
            raise InputFormatError(
                f"{origin}: column {given!r} given for {field}= is not in the file; columns are {cols}"
            )
        return given
    lower = {c.lower(): c for c in cols}
    for name in _DEFAULT_NAMES[field]:
        if name in lower:
            return lower[name]
    return None


# ----------------------------------------------------------------------------- frame -> articles
def _normalise(
    raw: pd.DataFrame,
    *,
    origin: str,
    rows: np.ndarray,
    tz: Any,
    mapping: dict[str, str],
    assume_tz: Any = None,
    default_source: str = "",
    extra: dict[str, pd.Series] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Map columns, parse timestamps, clean text; return (articles, rejects) for one input."""
    cols = [str(c) for c in raw.columns]
    raw = raw.set_axis(cols, axis=1)
    picked = {f: _pick_column(cols, f, mapping.get(f), origin) for f in _FIELDS}
    if picked["published"] is None:
        raise InputFormatError(
            f"{origin}: no timestamp column (looked for {', '.join(_DEFAULT_NAMES['published'])}); "
            f"name it with published='<column>'. Columns are {cols}"
        )
    if picked["title"] is None and picked["body"] is None:
        raise InputFormatError(
            f"{origin}: no title or text column (looked for {', '.join(_DEFAULT_NAMES['title'])}, "
            f"{', '.join(_DEFAULT_NAMES['body'])}); name it with title='<column>'. Columns are {cols}"
        )
    n = len(raw)
    raw = raw.reset_index(drop=True)
    pub_raw = raw[picked["published"]]
    published, precision, reason = parse_timestamps(pub_raw, tz, assume_tz=assume_tz)

    def text(field: str, default: str = "") -> pd.Series:
        c = picked[field]
        if c is None:
            return pd.Series([default] * n, dtype=object)
        return _clean_text(raw[c])

    out = pd.DataFrame(
        {
            "published": published,
            "published_precision": precision.astype(object),
            "title": text("title"),
            "body": text("body"),
            "source": text("source", default_source),
            "url": text("url"),
            "published_raw": pub_raw.astype("string").fillna("").astype(object)
            if not pd.api.types.is_datetime64_any_dtype(pub_raw.dtype)
            else pub_raw.astype(str).astype(object),
            "origin": [f"{origin}:{r}" for r in rows],
        }
    )
    if picked["source"] is not None and default_source:
        out.loc[out["source"] == "", "source"] = default_source
    for k, v in (extra or {}).items():
        out[k] = v.reset_index(drop=True)
    empty = (out["title"] == "") & (out["body"] == "") & (out["url"] == "")
    reason = reason.reset_index(drop=True)
    reason[empty & (reason == "")] = "empty_row"
    bad = (reason != "").to_numpy()
    rejects = pd.DataFrame(
        {
            "origin": origin,
            "row": pd.array(rows[bad], dtype="Int64"),
            "field": np.where(reason[bad] == "empty_row", "title/body/url", picked["published"]),
            "value": np.where(
                reason[bad] == "empty_row", "", out["published_raw"][bad].astype(str).str.slice(0, 80)
            ),
            "reason": reason[bad].to_numpy(),
            "duplicate_of": "",
        }
    )
    out = out.loc[~bad].reset_index(drop=True)
    out.insert(0, "article_id", _article_ids(out) if len(out) else pd.Series(dtype=object))
    return out, rejects


# ----------------------------------------------------------------------------- per-format readers
def _read_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")


def _read_csv(path: Path, tz, mapping) -> tuple[pd.DataFrame, pd.DataFrame]:
    sep = "\t" if path.suffix.lower() == ".tsv" else ","
    try:
        raw = pd.read_csv(
            io.StringIO(_read_text(path)), sep=sep, dtype=str, keep_default_na=False, na_values=[]
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputFormatError(
            f"{path}: not a readable CSV ({exc}); pass format= if it is another format"
        ) from exc
    return _normalise(raw, origin=str(path), rows=np.arange(1, len(raw) + 1), tz=tz, mapping=mapping)


def _read_jsonl(path: Path, tz, mapping) -> tuple[pd.DataFrame, pd.DataFrame]:
    text = _read_text(path)
    records: list[dict] = []
    rows: list[int] = []
    bad: list[dict] = []
    if text.lstrip().startswith("["):
        try:
            arr = json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputFormatError(f"{path}: invalid JSON array ({exc})") from exc
        for i, rec in enumerate(arr, 1):
            (records.append(rec), rows.append(i)) if isinstance(rec, dict) else bad.append(
                {"row": i, "value": str(rec)[:80]}
            )
    else:
        for i, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                bad.append({"row": i, "value": line[:80]})
                continue
            if isinstance(rec, dict):
                records.append(rec)
                rows.append(i)
            else:
                bad.append({"row": i, "value": line[:80]})
    raw = pd.DataFrame.from_records(records) if records else pd.DataFrame({"published": [], "title": []})
    arts, rej = _normalise(raw, origin=str(path), rows=np.asarray(rows, dtype=int), tz=tz, mapping=mapping)
    if bad:
        extra = pd.DataFrame(
            {
                "origin": str(path),
                "row": pd.array([b["row"] for b in bad], dtype="Int64"),
                "field": "(line)",
                "value": [b["value"] for b in bad],
                "reason": "invalid_json",
                "duplicate_of": "",
            }
        )
        rej = pd.concat([rej, extra], ignore_index=True)
    return arts, rej


def _read_parquet(path: Path, tz, mapping) -> tuple[pd.DataFrame, pd.DataFrame]:
    raw = pd.read_parquet(path)
    return _normalise(raw, origin=str(path), rows=np.arange(1, len(raw) + 1), tz=tz, mapping=mapping)


def _read_feed(src: str, tz, mapping) -> tuple[pd.DataFrame, pd.DataFrame]:
    import feedparser

    parsed = feedparser.parse(src)
    if not parsed.entries and getattr(parsed, "bozo", False):
        raise InputFormatError(f"{src}: not a readable RSS/Atom feed ({parsed.get('bozo_exception')})")
    feed_title = _WS_RE.sub(" ", str(parsed.feed.get("title", ""))).strip()
    recs = []
    for e in parsed.entries:
        recs.append(
            {
                "published": e.get("published") or e.get("updated") or e.get("created") or "",
                "title": e.get("title", ""),
                "body": e.get("summary", "") or "",
                "source": (e.get("source") or {}).get("title", "")
                if isinstance(e.get("source"), dict)
                else "",
                "url": e.get("link", ""),
            }
        )
    raw = pd.DataFrame.from_records(recs, columns=["published", "title", "body", "source", "url"])
    return _normalise(
        raw.astype(object),
        origin=str(src),
        rows=np.arange(1, len(raw) + 1),
        tz=tz,
        mapping={},
        default_source=feed_title,
    )


def _read_gdelt(path: Path, tz, mapping) -> tuple[pd.DataFrame, pd.DataFrame]:
    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if not n.endswith("/")]
            if not names:
                raise InputFormatError(f"{path}: empty zip archive")
            data = zf.read(names[0])
    else:
        data = path.read_bytes()
    lines = data.decode("utf-8", errors="replace").split("\n")
    fields: list[list[str]] = []
    rows: list[int] = []
    bad_rows: list[int] = []
    for i, line in enumerate(lines, 1):
        line = line.rstrip("\r")
        if not line:
            continue
        parts = line.split("\t")
        if len(parts) < 27:
            bad_rows.append(i)
            continue
        fields.append(parts[:27])
        rows.append(i)
    g = pd.DataFrame(fields, columns=range(27)) if fields else pd.DataFrame(columns=range(27), dtype=str)
    extras = g[26].astype(str)
    title = extras.str.extract(_GKG_TITLE_RE, expand=False).fillna("")
    page_ts = extras.str.extract(_GKG_TS_RE, expand=False).fillna("")
    page_pub, _, page_reason = parse_timestamps(page_ts, assume_tz="UTC")
    v2 = g[8].astype(str).str.replace(r",\d+", "", regex=True)
    v1 = g[7].astype(str)
    themes_raw = v2.where(v2.str.strip(";") != "", v1)
    themes = themes_raw.map(lambda t: ";".join(sorted({x for x in t.split(";") if x})))
    tone = pd.to_numeric(g[15].astype(str).str.split(",").str[0], errors="coerce")
    raw = pd.DataFrame(
        {"published": g[1], "title": title, "body": "", "source": g[3], "url": g[4], "gkg_record_id": g[0]}
    )
    extra = {
        "gdelt_themes": themes,
        "tone": tone,
        "page_published": page_pub.where(page_reason == ""),
        "gkg_record_id": g[0].astype(str),
    }
    arts, rej = _normalise(
        raw,
        origin=str(path),
        rows=np.asarray(rows, dtype=int),
        tz=tz,
        mapping={},
        assume_tz="UTC",
        extra=extra,
    )
    if bad_rows:
        extra_rej = pd.DataFrame(
            {
                "origin": str(path),
                "row": pd.array(bad_rows, dtype="Int64"),
                "field": "(line)",
                "value": "",
                "reason": "gdelt_wrong_field_count",
                "duplicate_of": "",
            }
        )
        rej = pd.concat([rej, extra_rej], ignore_index=True)
    return arts, rej


def _sniff(path: Path) -> str:
    name = path.name.lower()
    if name.endswith((".gkg.csv", ".gkg.csv.zip", ".gkg.zip")):
        return "gdelt"
    if path.suffix.lower() == ".zip":
        with zipfile.ZipFile(path) as zf:
            inner = [n.lower() for n in zf.namelist()]
        if any(".gkg" in n for n in inner):
            return "gdelt"
        raise InputFormatError(f"{path}: zip files are read only for GDELT GKG (.gkg.csv.zip); pass format=")
    with path.open("rb") as fh:
        head = fh.read(4096).decode("utf-8", errors="replace")
    first = head.split("\n", 1)[0]
    parts = first.split("\t")
    if len(parts) >= 27 and _GKG_ID_RE.match(parts[0]):
        return "gdelt"
    fmt = _EXT_FORMAT.get(path.suffix.lower())
    if fmt:
        return fmt
    stripped = head.lstrip()
    if stripped.startswith("<"):
        return "feed"
    if stripped.startswith(("{", "[")):
        return "jsonl"
    if head.startswith("PAR1"):
        return "parquet"
    raise InputFormatError(
        f"{path}: cannot tell the format from its name or content; pass format= (one of {FORMATS})"
    )


_READERS = {"csv": _read_csv, "jsonl": _read_jsonl, "parquet": _read_parquet, "gdelt": _read_gdelt}
_KNOWN_EXT = (*_EXT_FORMAT, ".zip")


def _expand(source: Any) -> list[str | Path]:
    if isinstance(source, (list, tuple)):
        out: list[str | Path] = []
        for s in source:
            out.extend(_expand(s))
        return out
    s = str(source)
    if re.match(r"^https?://", s):
        return [s]
    p = Path(s).expanduser()
    if p.is_dir():
        files = sorted(
            f
            for f in p.rglob("*")
            if f.is_file() and f.name.lower().endswith(_KNOWN_EXT) and not f.name.startswith(".")
        )
        if not files:
            raise InputNotFoundError(f"folder {p} holds no article files ({', '.join(_KNOWN_EXT)})")
        return list(files)
    if any(ch in s for ch in "*?["):
        files = sorted(Path(f) for f in _glob.glob(str(p), recursive=True) if Path(f).is_file())
        if not files:
            raise InputNotFoundError(f"glob {s!r} matched no files; check the pattern and working directory")
        return list(files)
    if not p.exists():
        raise InputNotFoundError(
            f"article source {s!r} not found; give a file, folder, glob or http(s) feed URL"
        )
    return [p]


# ----------------------------------------------------------------------------- dedup
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
    keys = [c for c in ("published", "article_id", "source", "title", "body") if c in articles]
    df = articles.sort_values(keys, kind="mergesort").reset_index(drop=True)
    n = len(df)
    dup_of = np.full(n, "", dtype=object)
    why = np.full(n, "", dtype=object)
    url = df["url"].to_numpy(dtype=object)
    has_url = url != ""
    url_key = _canonical_urls(df["url"])  # the same page under tracking parameters etc.
    first_id = df.groupby(url_key, sort=False)["article_id"].transform("first").to_numpy(dtype=object)
    url_dup = has_url & url_key.duplicated().to_numpy()
    dup_of[url_dup] = first_id[url_dup]
    why[url_dup] = "duplicate_url"

    live = ~url_dup
    key = df["source"].astype(str) + "\x1f" + normalise_title(df["title"])
    key_ok = live & (normalise_title(df["title"]).to_numpy() != "")
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


# ----------------------------------------------------------------------------- public
def read_articles(
    source: Any,
    *,
    format: str | None = None,
    tz: str | None = None,
    errors: Literal["raise", "collect"] = "raise",
    dedup: bool = True,
    **column_mapping: str,
) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    """Read news articles into the Articles table (UTC timestamps, deduplicated).

    Parameters
    ----------
    source : str, Path, DataFrame or list of these
        A file (JSONL, CSV, Parquet, RSS/Atom XML, GDELT ``.gkg.csv`` or ``.gkg.csv.zip``), a folder
        (read recursively), a glob, an ``http(s)://`` feed URL, a DataFrame, or a list of any.
    format : {"jsonl", "csv", "parquet", "feed", "gdelt"}, optional
        Force the format; default: from the extension, then from the content.
    tz : str, optional
        IANA zone of naive date-times and bare dates (e.g. ``"America/New_York"``). Without it a
        naive date-time or a bare date is rejected (``naive_timestamp`` / ``date_only_without_tz``).
        A bare date is placed at 23:59:59 of that date in ``tz`` and keeps
        ``published_precision="day"``, so it is never used before the news could be known.
        Values with an explicit offset ignore ``tz``.
    errors : {"raise", "collect"}
        ``"raise"`` (default): any rejected row raises ``InputFormatError`` naming the file, row,
        field and the first few reasons. ``"collect"``: return ``(articles, rejects)``.
    dedup : bool
        Remove duplicates (same URL; same normalised title from the same source within 48 h,
        keeping the earliest). Duplicates are never errors; they are counted and, with
        ``errors="collect"``, listed in ``rejects``.
    **column_mapping : str
        Column names for ``published=``, ``title=``, ``body=``, ``source=``, ``url=`` in CSV, JSONL,
        Parquet or DataFrame input. Defaults: published/date/pubDate/timestamp/datetime/...,
        title/headline, body/text/content/summary/description, source/publisher, url/link.

    Returns
    -------
    articles : pandas.DataFrame
        Columns ``article_id, published (datetime64[ns, UTC]), published_precision, title, body,
        source, url, published_raw, origin`` (+ GDELT extras), sorted by ``published``.
        ``attrs["newsbt_read"]`` holds ``rows_in, rows_out, rejected, duplicates`` (counts).
    rejects : pandas.DataFrame, only with ``errors="collect"``
        ``origin, row, field, value, reason, duplicate_of``; rows in = rows out + len(rejects).

    Raises
    ------
    InputNotFoundError
        Nothing matched ``source``.
    InputFormatError
        Unreadable file, missing timestamp/title column, or (with ``errors="raise"``) rejected rows.
    ConfigError
        Bad ``format``, ``errors``, ``tz`` or an unknown mapping key.
    """
    if errors not in ("raise", "collect"):
        raise ConfigError(f"errors={errors!r}: use 'raise' or 'collect'")
    if format is not None and format not in FORMATS:
        raise ConfigError(f"format={format!r}: use one of {FORMATS}")
    unknown = set(column_mapping) - set(_FIELDS)
    if unknown:
        raise ConfigError(
            f"unknown read_articles option(s) {sorted(unknown)}: column mappings are {list(_FIELDS)}"
        )
    resolve_tz(tz)

    parts: list[tuple[pd.DataFrame, pd.DataFrame]] = []
    for item in _iter_sources(source):
        if isinstance(item, pd.DataFrame):
            parts.append(
                _normalise(
                    item,
                    origin="<DataFrame>",
                    rows=np.arange(1, len(item) + 1),
                    tz=tz,
                    mapping=column_mapping,
                )
            )
            continue
        if isinstance(item, str) and re.match(r"^https?://", item):
            parts.append(_read_feed(item, tz, column_mapping))
            continue
        path = Path(item)
        fmt = format or _sniff(path)
        if fmt == "feed":
            parts.append(_read_feed(str(path), tz, column_mapping))
        else:
            parts.append(_READERS[fmt](path, tz, column_mapping))

    arts = [a for a, _ in parts if len(a)]
    articles = (
        pd.concat(arts, ignore_index=True)
        if arts
        else pd.DataFrame({c: pd.Series(dtype=object) for c in ARTICLE_COLUMNS}).astype(
            {"published": "datetime64[ns, UTC]"}
        )
    )
    rej_parts = [r for _, r in parts if len(r)]
    rejects = pd.concat(rej_parts, ignore_index=True) if rej_parts else _empty_rejects()
    n_rejected = len(rejects)
    rows_in = len(articles) + n_rejected
    if dedup and len(articles):
        articles, dups = dedupe_articles(articles)
    else:
        keys = [c for c in ("published", "article_id", "source", "title", "body") if c in articles]
        articles = articles.sort_values(keys, kind="mergesort").reset_index(drop=True)
        articles["n_duplicates"] = np.zeros(len(articles), dtype="int64")
        dups = _empty_rejects()
    if len(dups):
        rejects = pd.concat([rejects, dups], ignore_index=True)
    stats = {
        "rows_in": rows_in,
        "rows_out": len(articles),
        "rejected": n_rejected,
        "duplicates": len(dups),
    }
    assert stats["rows_in"] == stats["rows_out"] + stats["rejected"] + stats["duplicates"]
    articles.attrs["newsbt_read"] = stats
    log.info(
        "read_articles: %d rows in, %d articles out, %d rejected, %d duplicates removed",
        rows_in,
        len(articles),
        n_rejected,
        len(dups),
    )
    if errors == "collect":
        return articles, rejects.reset_index(drop=True)
    if n_rejected:
        bad = rejects[~rejects["reason"].astype(str).str.startswith("duplicate")]
        listed = "; ".join(
            f"{r.origin} row {r.row}: {r.field}={r.value!r} ({r.reason})" for r in bad.head(5).itertuples()
        )
        hint = ""
        if bad["reason"].isin(["naive_timestamp", "date_only_without_tz"]).any():
            hint = " Pass tz='<IANA zone>' for naive/date-only timestamps."
        raise InputFormatError(
            f"{n_rejected} row(s) could not be read: {listed}{' ...' if n_rejected > 5 else ''}.{hint} "
            "Use errors='collect' to get the good rows and a rejects table."
        )
    return articles


def _iter_sources(source: Any) -> Iterable[Any]:
    if isinstance(source, pd.DataFrame):
        yield source
        return
    if isinstance(source, (list, tuple)) and any(isinstance(s, pd.DataFrame) for s in source):
        for s in source:
            yield from _iter_sources(s)
        return
    yield from _expand(source)


def sample_articles() -> pd.DataFrame:
    """The project-made sample corpus shipped with newsbt (``data/news/sample_articles.jsonl``):
    45 short articles written in our own words about real, dated events (2022 and 2024 yen
    interventions, the April 2025 tariff shock and Treasury sell-off, Japan's Treasury-holdings
    remark of 2 May 2025, US-Japan trade talks and deal), read with :func:`read_articles`."""
    from signals._paths import data_path

    return read_articles(data_path("news", "sample_articles.jsonl"))
