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

Accounting (one ledger for the whole read, over every path, folder and glob): each input row is
counted once, ``rows_in == kept + rejected + duplicates`` per input and in total. A file given
twice is read once; a file that cannot be decoded or recognised is one ``unreadable_file`` reject
when several inputs are read (an error naming it when it is the only input). With
``errors="collect"`` the rejects come back as a second DataFrame; in every mode the totals are in
``articles.attrs["newsbt_read"]`` (``rows_in``, ``rows_out``, ``rejected``, ``duplicates``) and the
per-input ledger in ``articles.attrs["newsbt_ledger"]`` (see :func:`ledger_table`).

Timestamps of every format go through one parser (:mod:`signals._timeparse`; the README's
timestamp table lists the accepted forms). Modules: ``_readers`` (formats), ``_encoding``,
``_normalise`` (frame -> articles), ``_dedup``, ``_ledger``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from signals._dedup import canonical_url, dedupe_articles, normalise_title, sort_articles
from signals._ledger import LEDGER_COLUMNS, build_ledger, expand_sources, is_url
from signals._normalise import (
    ARTICLE_COLUMNS,
    FIELDS,
    REJECT_COLUMNS,
    ReadOptions,
    empty_rejects,
    normalise,
    rejects,
)
from signals._readers import FORMATS, READERS, Read, read_feed, sniff
from signals._timeparse import resolve_range, resolve_tz
from signals.errors import ConfigError, InputFormatError, InputNotFoundError

__all__ = [
    "ARTICLE_COLUMNS",
    "LEDGER_COLUMNS",
    "REJECT_COLUMNS",
    "canonical_url",
    "dedupe_articles",
    "ledger_table",
    "normalise_title",
    "read_articles",
    "sample_articles",
]

log = logging.getLogger(__name__)

#: what each kind of rejected row needs from the user, in every interface
_HINTS = {
    "naive_timestamp": "give the zone of naive timestamps: tz='<IANA zone>' (CLI --tz, config [articles].tz)",
    "date_only_without_tz": "give the zone of bare dates: tz='<IANA zone>' (CLI --tz, config [articles].tz)",
    "epoch_not_declared": "numbers are read as epochs only when declared: epoch='s' or 'ms' "
    "(CLI --epoch, config [articles].epoch)",
    "out_of_range": "timestamps must lie in published_range (default 1900-01-01 .. now + 1 day; "
    "CLI --published-range, config [articles].published_range)",
    "unknown_tz_abbreviation": "write the zone as an offset (+09:00) or an abbreviation from the README's "
    "timestamp table",
    "ambiguous_day_month": "a numeric date such as 02/05/2025 can be 2 May or 5 February: write it as "
    "ISO 8601 (2025-05-02) or with the month's name (2 May 2025)",
    "unreadable_file": "name the format or encoding: format= / encoding= (CLI --format / --encoding, "
    "config [articles].format / [articles].encoding)",
}


def _read_one(item: Any, k: int, fmt: str | None, opts: ReadOptions, n_frames: int) -> tuple[Read, str, str]:
    """Read one input; returns (Read, origin, format)."""
    if isinstance(item, pd.DataFrame):
        origin = "<DataFrame>" if n_frames == 1 else f"<DataFrame {k + 1}>"
        arts, rej = normalise(item, origin=origin, rows=np.arange(1, len(item) + 1), opts=opts)
        return Read(arts, rej, len(item)), origin, "frame"
    if is_url(item):
        return read_feed(item, opts), item, "feed"
    path = Path(item)
    f = fmt or sniff(path)
    return READERS[f](path, opts), str(path), f


def _read_all(items: list[Any], fmt: str | None, opts: ReadOptions) -> tuple[list[Read], list[dict]]:
    """Every input read; with several inputs an unreadable one becomes an ``unreadable_file`` row."""
    reads, entries = [], []
    n_frames = sum(isinstance(i, pd.DataFrame) for i in items)
    for k, item in enumerate(items):
        try:
            r, origin, f = _read_one(item, k, fmt, opts, n_frames)
            status = "ok"
        except (InputFormatError, InputNotFoundError, OSError) as exc:
            if len(items) == 1:
                raise
            origin, f, status = str(item), fmt or "?", "unreadable"
            log.warning("%s: unreadable, counted as one rejected row: %s", origin, exc)
            r = Read(
                pd.DataFrame(), rejects(origin, [None], "(file)", [str(exc)[:300]], "unreadable_file"), 1
            )
        reads.append(r)
        entries.append(
            {
                "origin": origin,
                "format": f,
                "encoding": r.encoding,
                "rows_in": r.rows_in,
                "rejected": len(r.rejects),
                "status": status,
            }
        )
    return reads, entries


def _raise_rejects(rejects_: pd.DataFrame, n_rejected: int) -> None:
    bad = rejects_[~rejects_["reason"].astype(str).str.startswith("duplicate")]
    listed = "; ".join(
        f"{r.origin} row {r.row}: {r.field}={r.value!r} ({r.reason})" for r in bad.head(5).itertuples()
    )
    hints = " ".join(f"To fix {k}: {v}." for k, v in _HINTS.items() if (bad["reason"] == k).any())
    raise InputFormatError(
        f"{n_rejected} row(s) could not be read: {listed}{' ...' if n_rejected > 5 else ''}. {hints} "
        "Use errors='collect' (the CLI always collects) to get the good rows and a rejects table."
    )


def _check_options(errors: str, format: str | None, column_mapping: dict, tz, epoch, published_range) -> None:
    if errors not in ("raise", "collect"):
        raise ConfigError(f"errors={errors!r}: use 'raise' or 'collect'")
    if format is not None and format not in FORMATS:
        raise ConfigError(f"format={format!r}: use one of {FORMATS} (CLI --format, config [articles].format)")
    unknown = set(column_mapping) - set(FIELDS)
    if unknown:
        raise ConfigError(
            f"unknown read_articles option(s) {sorted(unknown)}: column mappings are {list(FIELDS)}"
        )
    if epoch not in (None, "s", "ms"):
        raise ConfigError(f"epoch={epoch!r}: use 's' or 'ms' (CLI --epoch, config [articles].epoch)")
    resolve_tz(tz)
    resolve_range(published_range)


def _concat_reads(reads: list[Read]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """All inputs' articles (``_src`` = input number, empty Articles table if none) and rejects."""
    arts = []
    for k, r in enumerate(reads):
        if len(r.articles):
            r.articles["_src"] = k  # the reader's own frame: no copy
            arts.append(r.articles)
    if arts:
        articles = pd.concat(arts, ignore_index=True) if len(arts) > 1 else arts[0]
    else:
        articles = pd.DataFrame({c: pd.Series(dtype=object) for c in ARTICLE_COLUMNS}).astype(
            {"published": "datetime64[ns, UTC]"}
        )
        articles["_src"] = pd.Series(dtype="int64")
    rej_parts = [r.rejects for r in reads if len(r.rejects)]
    rejects_ = pd.concat(rej_parts, ignore_index=True) if rej_parts else empty_rejects()
    return articles, rejects_


def _dedupe_or_sort(articles: pd.DataFrame, dedup: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Articles deduplicated (or only sorted, ``n_duplicates`` = 0) and the duplicates removed."""
    if dedup and len(articles):
        articles, dups = dedupe_articles(articles)
    else:
        articles = sort_articles(articles)
        articles["n_duplicates"] = np.zeros(len(articles), dtype="int64")
        dups = empty_rejects()
    return articles, dups


def read_articles(
    source: Any,
    *,
    format: str | None = None,
    tz: str | None = None,
    errors: Literal["raise", "collect"] = "raise",
    dedup: bool = True,
    epoch: Literal["s", "ms"] | None = None,
    encoding: str | None = None,
    published_range: tuple[Any, Any] | None = None,
    **column_mapping: str,
) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    """Read news articles into the Articles table (UTC timestamps, deduplicated, one ledger).

    Parameters
    ----------
    source : str, Path, DataFrame or list of these
        A file (JSONL, JSON, CSV, Parquet, RSS/Atom XML, GDELT ``.gkg.csv`` or ``.gkg.csv.zip``), a
        folder (read recursively), a glob (``*``, ``?``, ``[``, ``**``), an ``http(s)://`` feed URL,
        a DataFrame, or a list of any. A file reached twice is read once.
    format : {"jsonl", "json", "csv", "parquet", "feed", "gdelt"}, optional
        Force the format (CLI ``--format``); default: from the name, then the content. JSON
        documents (a list, or an object with an ``articles``/``items`` list) and JSONL are told
        apart by content either way.
    tz : str, optional
        IANA zone of naive date-times and bare dates (CLI ``--tz``). Without it they are rejected
        (``naive_timestamp`` / ``date_only_without_tz``). A bare date is placed at 23:59:59 of
        that date in ``tz`` (``published_precision="day"``). Values with an offset or a zone
        abbreviation from the README table ignore ``tz``.
    errors : {"raise", "collect"}
        ``"raise"`` (default): any rejected row raises ``InputFormatError`` naming file, row,
        field and the fix. ``"collect"``: return ``(articles, rejects)``.
    dedup : bool
        Remove duplicates across all inputs (same URL; same normalised title from the same
        source within 48 h, keeping the earliest). Counted and listed in ``rejects``.
    epoch : {"s", "ms"}, optional
        The timestamp column holds epoch seconds / milliseconds (CLI ``--epoch``). Without it a
        number is an epoch only in a column named with ``published=`` whose every value is a
        plausible epoch; 8/12/14-digit numbers are ``YYYYMMDD[hhmm[ss]]``.
    encoding : str, optional
        Text encoding of the files (CLI ``--encoding``); default: detected from the bytes
        (UTF-8 with/without BOM, UTF-16, CP932/Shift_JIS, EUC-JP, CP1252, ...), never lossy.
    published_range : (start, end), optional
        Plausible timestamps (dates or date-times, UTC; default 1900-01-01 .. now + 1 day).
        Outside: reject ``out_of_range``.
    **column_mapping : str
        Column names for ``published=`` (CLI ``--published-column``), ``title=``
        (``--title-column``), ``body=``, ``source=``, ``url=``.

    Returns
    -------
    articles : pandas.DataFrame
        Columns ``article_id, published (datetime64[ns, UTC]), published_precision, title, body,
        source, url, published_raw, origin, n_duplicates`` (+ GDELT extras), sorted by
        ``published``. ``attrs["newsbt_read"]``: totals ``rows_in, rows_out, rejected,
        duplicates``; ``attrs["newsbt_ledger"]``: per-input records (:func:`ledger_table`).
    rejects : pandas.DataFrame, only with ``errors="collect"``
        ``origin, row, field, value, reason, duplicate_of``; one row per rejected or duplicate
        input row (``row`` is empty for an ``unreadable_file``).

    Raises
    ------
    InputNotFoundError
        Nothing matched a path, folder or glob.
    InputFormatError
        The only input is unreadable, or (``errors="raise"``) rows were rejected.
    ConfigError
        Bad ``format``, ``errors``, ``tz``, ``epoch``, ``encoding``, range or mapping key.
    """
    _check_options(errors, format, column_mapping, tz, epoch, published_range)
    opts = ReadOptions(tz=tz, mapping=dict(column_mapping), epoch=epoch, encoding=encoding,
                       valid_range=published_range)  # fmt: skip
    reads, entries = _read_all(expand_sources(source), format, opts)
    articles, rejects_ = _concat_reads(reads)
    n_rejected = len(rejects_)
    before_src = articles["_src"]
    articles, dups = _dedupe_or_sort(articles, dedup)
    ledger = build_ledger(entries, articles["_src"], before_src)
    articles = articles.drop(columns="_src")
    if len(dups):
        rejects_ = pd.concat([rejects_, dups], ignore_index=True)
    stats = {
        "rows_in": int(ledger["rows_in"].sum()),
        "rows_out": len(articles),
        "rejected": n_rejected,
        "duplicates": len(dups),
    }
    articles.attrs["newsbt_read"] = stats
    articles.attrs["newsbt_ledger"] = ledger.to_dict("records")
    log.info(
        "read_articles: %d rows in, %d articles out, %d rejected, %d duplicates removed",
        stats["rows_in"], stats["rows_out"], n_rejected, len(dups),
    )  # fmt: skip
    if errors == "collect":
        return articles, rejects_.reset_index(drop=True)
    if n_rejected:
        _raise_rejects(rejects_, n_rejected)
    return articles


def ledger_table(articles: pd.DataFrame) -> pd.DataFrame:
    """The per-input ledger of a :func:`read_articles` result, with a ``TOTAL`` row.

    Returns
    -------
    DataFrame
        :data:`LEDGER_COLUMNS`: ``origin, format, encoding, rows_in, kept, rejected, duplicates,
        status``; ``rows_in == kept + rejected + duplicates`` on every row.
    """
    led = pd.DataFrame(articles.attrs.get("newsbt_ledger", []), columns=LEDGER_COLUMNS)
    total = {c: int(led[c].sum()) for c in ("rows_in", "kept", "rejected", "duplicates")}
    total.update(origin="TOTAL", format="", encoding="", status="")
    return pd.concat([led, pd.DataFrame([total], columns=LEDGER_COLUMNS)], ignore_index=True)


def sample_articles() -> pd.DataFrame:
    """The project-made sample corpus shipped with newsbt (``data/news/sample_articles.jsonl``):
    45 short articles written in our own words about real, dated events (2022 and 2024 yen
    interventions, the April 2025 tariff shock and Treasury sell-off, Japan's Treasury-holdings
    remark of 2 May 2025, US-Japan trade talks and deal), read with :func:`read_articles`."""
    from signals._paths import data_path

    return read_articles(data_path("news", "sample_articles.jsonl"))
