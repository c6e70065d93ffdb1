"""Frame -> Articles: column mapping, one timestamp parser, text cleaning, stable ids, rejects.

Every reader ends here, so every format gets the same timestamp rules and the same reject rows
(``origin, row, field, value, reason, duplicate_of``).
"""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from signals._timeparse import parse_timestamps, resolve_range
from signals.errors import InputFormatError

__all__ = ["ARTICLE_COLUMNS", "REJECT_COLUMNS", "ReadOptions", "empty_rejects", "normalise", "rejects"]

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

DEFAULT_NAMES: dict[str, tuple[str, ...]] = {
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
FIELDS = tuple(DEFAULT_NAMES)
#: how to name a column in each interface (messages name the CLI flag and config key too)
HOW = {
    "published": "published='<column>' (CLI --published-column, config [articles].published_column)",
    "title": "title='<column>' (CLI --title-column, config [articles].title_column)",
}
_TAG_RE = re.compile(r"<[^>]+>")
#: rows clean_text must touch: "<", "&", any whitespace but " " (every str.isspace character,
#: written out for Arrow's RE2), two spaces in a row, or a space at either end
_DIRTY = "[<&" + "".join(chr(c) for c in range(0x3001) if chr(c).isspace() and c != 32) + "]|  |^ | $"


@dataclass(frozen=True)
class ReadOptions:
    """What the caller told ``read_articles`` (one object handed to every reader)."""

    tz: Any = None
    mapping: dict[str, str] = field(default_factory=dict)
    epoch: str | None = None
    encoding: str | None = None
    valid_range: Any = None


def empty_rejects() -> pd.DataFrame:
    """A rejects table with no rows."""
    return pd.DataFrame({c: pd.Series(dtype=object) for c in REJECT_COLUMNS}).astype({"row": "Int64"})


def rejects(origin: str, rows, field: str | np.ndarray, value, reason: str | np.ndarray) -> pd.DataFrame:
    """A rejects table for one input (``rows`` 1-based; NA for a whole file)."""
    rows = list(rows)
    return pd.DataFrame(
        {
            "origin": pd.Series([origin] * len(rows), dtype=object),
            "row": pd.array(rows, dtype="Int64"),
            "field": field if not isinstance(field, str) else [field] * len(rows),
            "value": value,
            "reason": reason if not isinstance(reason, str) else [reason] * len(rows),
            "duplicate_of": "",
        },
        columns=REJECT_COLUMNS,
    ).astype({"origin": object, "field": object, "value": object, "reason": object, "duplicate_of": object})


def _clean_one(x: str) -> str:
    if "<" in x:
        x = _TAG_RE.sub(" ", x)
    if "&" in x:
        x = html.unescape(x)
    return " ".join(x.split())  # == re.sub(r"\s+", " ", x).strip(), in one C pass


def clean_text(s: pd.Series) -> pd.Series:
    """Strings, HTML tags removed, entities decoded, whitespace collapsed; missing -> ''."""
    vals = s.to_numpy(dtype=object)
    kind = pd.api.types.infer_dtype(vals, skipna=True)
    if kind in ("string", "empty"):  # str and missing only: no conversion needed
        vals = s.fillna("").to_numpy(dtype=object, copy=True)
    else:
        vals = s.astype("string").fillna("").to_numpy(dtype=object)
    if len(vals):  # only rows with a tag, an entity or whitespace other than single inner spaces
        dirty = pc.match_substring_regex(pa.array(vals, type=pa.large_string()), _DIRTY)
        rows = np.flatnonzero(dirty.to_numpy(zero_copy_only=False))
        vals[rows] = [_clean_one(x) for x in vals[rows]]
    return pd.Series(vals, index=s.index, dtype=object)


def _stable_id(key: str) -> str:
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:16]


def article_ids(df: pd.DataFrame) -> pd.Series:
    """Stable 16-hex ids: SHA-1 of the URL, or of source + title + UTC time without a URL."""
    url = df["url"].to_numpy(dtype=object)
    keys = np.array(["url\x1f" + u for u in url], dtype=object)
    no_url = url == ""
    if no_url.any():  # source + title + UTC second, only where there is no URL
        sub = df.loc[no_url]
        iso = sub["published"].dt.strftime("%Y-%m-%dT%H:%M:%SZ").fillna("")
        keys[no_url] = (
            "tsi\x1f" + sub["source"].astype(str) + "\x1f" + sub["title"].astype(str) + "\x1f" + iso
        ).to_numpy(dtype=object)
    return pd.Series([_stable_id(k) for k in keys], index=df.index, dtype=object)


def pick_column(cols: list[str], field: str, given: str | None, origin: str) -> str | None:
    """The column holding ``field``: the one the user named, else the first default name."""
    if given is not None:
        if given not in cols:
            flag = {"published": "--published-column", "title": "--title-column"}.get(field)
            where = f" (CLI {flag})" if flag else ""
            raise InputFormatError(
                f"{origin}: column {given!r} given for {field}{where} is not in the file; columns are {cols}"
            )
        return given
    lower = {c.lower(): c for c in cols}
    for name in DEFAULT_NAMES[field]:
        if name in lower:
            return lower[name]
    return None


def _picked(raw: pd.DataFrame, origin: str, mapping: dict[str, str]) -> dict[str, str | None]:
    cols = [str(c) for c in raw.columns]
    picked = {f: pick_column(cols, f, mapping.get(f), origin) for f in FIELDS}
    if picked["published"] is None:
        raise InputFormatError(
            f"{origin}: no timestamp column (looked for {', '.join(DEFAULT_NAMES['published'])}); "
            f"name it with {HOW['published']}. Columns are {cols}"
        )
    if picked["title"] is None and picked["body"] is None:
        raise InputFormatError(
            f"{origin}: no title or text column (looked for {', '.join(DEFAULT_NAMES['title'])}, "
            f"{', '.join(DEFAULT_NAMES['body'])}); name it with {HOW['title']}. Columns are {cols}"
        )
    return picked


def normalise(
    raw: pd.DataFrame,
    *,
    origin: str,
    rows: np.ndarray,
    opts: ReadOptions,
    assume_tz: Any = None,
    default_source: str = "",
    extra: dict[str, pd.Series] | None = None,
    mapping: dict[str, str] | None = None,
    timestamps: tuple[pd.Series, pd.Series, pd.Series] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Map columns, parse timestamps, clean text; return (articles, rejects) for one input.

    Parameters
    ----------
    raw : DataFrame
        One row per input record.
    origin : str
        File, URL or ``<DataFrame>`` (named in every reject).
    rows : ndarray of int
        1-based row number of each record in its input.
    opts : ReadOptions
        The caller's tz, epoch, range and column mapping (``mapping`` overrides the latter).
    timestamps : (published, precision, reason), optional
        The published column already parsed as :func:`parse_timestamps` would (the GKG reader's
        fixed ``YYYYmmddHHMMSS``); default: parsed here.
    """
    raw = raw.set_axis([str(c) for c in raw.columns], axis=1).reset_index(drop=True)
    mapping = opts.mapping if mapping is None else mapping
    picked = _picked(raw, origin, mapping)
    n = len(raw)
    pub_raw = raw[picked["published"]]
    if timestamps is not None:  # parsed by the reader (a format with one fixed timestamp shape)
        published, precision, reason = timestamps
    else:
        published, precision, reason = parse_timestamps(
            pub_raw,
            opts.tz,
            assume_tz=assume_tz,
            epoch=opts.epoch,
            valid_range=resolve_range(opts.valid_range),  # default: 1900-01-01 .. now + 1 day
            named="published" in mapping,
        )

    def text(f: str, default: str = "") -> pd.Series:
        c = picked[f]
        return pd.Series([default] * n, dtype=object) if c is None else clean_text(raw[c])

    if pd.api.types.is_datetime64_any_dtype(pub_raw.dtype):
        pub_text = pub_raw.astype(str).astype(object)
    else:
        pub_text = pub_raw.astype("string").fillna("").astype(object)
    out = pd.DataFrame(
        {
            "published": published.reset_index(drop=True),
            "published_precision": precision.astype(object).reset_index(drop=True),
            "title": text("title"),
            "body": text("body"),
            "source": text("source", default_source),
            "url": text("url"),
            "published_raw": pub_text,
            "origin": [f"{origin}:{r}" for r in rows],
        }
    )
    if picked["source"] is not None and default_source:
        out.loc[out["source"] == "", "source"] = default_source
    for k, v in (extra or {}).items():
        out[k] = v.reset_index(drop=True)
    reason = reason.astype(object).reset_index(drop=True)
    empty = (out["title"] == "") & (out["body"] == "") & (out["url"] == "")
    reason[empty & (reason == "")] = "empty_row"
    bad = (reason != "").to_numpy()
    is_empty = reason[bad].to_numpy() == "empty_row"
    rej = rejects(
        origin,
        rows[bad],
        np.where(is_empty, "title/body/url", picked["published"]).astype(object),
        np.where(is_empty, "", out["published_raw"][bad].astype(str).str.slice(0, 80)).astype(object),
        reason[bad].to_numpy(dtype=object),
    )
    out = out.loc[~bad].reset_index(drop=True)
    out.insert(0, "article_id", article_ids(out) if len(out) else pd.Series(dtype=object))
    return out, rej
