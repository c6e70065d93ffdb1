"""Article-reading options shared by ``newsbt events``, ``newsbt run`` and study configs.

Every fix a reader error proposes exists here as a CLI flag and as an ``[articles]`` config key:
``--tz``/``tz``, ``--format``/``format``, ``--published-column``/``published_column``,
``--title-column``/``title_column``, ``--epoch``/``epoch``, ``--encoding``/``encoding``,
``--published-range``/``published_range``. The rejects table is written next to the output
(``<output>.rejects.csv``) and a one-line count is printed even with ``--quiet``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from signals.errors import ConfigError

__all__ = [
    "add_article_args",
    "config_read_kwargs",
    "ledger_line",
    "read_kwargs",
    "rejects_path",
    "report_rejects",
]

_FORMATS = ("jsonl", "json", "csv", "parquet", "feed", "gdelt")
_ALIASES = {"rss": "feed", "atom": "feed", "ndjson": "jsonl", "tsv": "csv", "gkg": "gdelt"}


def _date_pair(text: str) -> tuple[str, str]:
    parts = [p.strip() for p in text.split(",")]
    if len(parts) != 2:
        raise argparse.ArgumentTypeError(f"expected START,END dates like 1990-01-01,2026-12-31, got {text!r}")
    return parts[0], parts[1]


def add_article_args(sp: argparse.ArgumentParser) -> None:
    """Add the reader options to a sub-command."""
    g = sp.add_argument_group("reading articles")
    g.add_argument("--tz", default=None, help="IANA zone of naive timestamps and bare dates, e.g. Asia/Tokyo")
    g.add_argument("--format", default=None, choices=[*_FORMATS, *_ALIASES], help="force the reader format")
    g.add_argument("--published-column", default=None, help="column holding the timestamp")
    g.add_argument("--title-column", default=None, help="column holding the headline")
    g.add_argument("--epoch", default=None, choices=["s", "ms"], help="the timestamp column is epoch s/ms")
    g.add_argument("--encoding", default=None, help="text encoding, e.g. cp932 (default: detected)")
    g.add_argument(
        "--published-range",
        type=_date_pair,
        default=None,
        metavar="START,END",
        help="plausible publication dates (default 1900-01-01,now+1day); outside: rejected",
    )


def _kwargs(fmt, tz, published, title, epoch, encoding, rng) -> dict[str, Any]:
    kw: dict[str, Any] = {
        "format": _ALIASES.get(fmt, fmt) if fmt else None,
        "tz": tz,
        "epoch": epoch,
        "encoding": encoding,
        "published_range": tuple(rng) if rng else None,
    }
    if published:
        kw["published"] = published
    if title:
        kw["title"] = title
    return kw


def read_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """``read_articles`` keyword arguments from the CLI flags."""
    return _kwargs(
        args.format, args.tz, args.published_column, args.title_column, args.epoch, args.encoding,
        args.published_range,
    )  # fmt: skip


def config_read_kwargs(a: dict[str, Any]) -> dict[str, Any]:
    """``read_articles`` keyword arguments from a validated ``[articles]`` section."""
    fmt = a.get("format")
    if fmt and _ALIASES.get(fmt, fmt) not in _FORMATS:
        raise ConfigError(f"[articles].format = {fmt!r}: use one of {', '.join(_FORMATS)}")
    rng = a.get("published_range")
    if rng is not None and len(rng) != 2:
        raise ConfigError(f"[articles].published_range must be [start, end] dates, got {rng!r}")
    return _kwargs(
        fmt, a.get("tz"), a.get("published_column"), a.get("title_column"), a.get("epoch"),
        a.get("encoding"), [str(x) for x in rng] if rng else None,
    )  # fmt: skip


def rejects_path(output: str | Path) -> Path:
    """``events.csv`` -> ``events.rejects.csv``; a report folder ``reports/x`` -> ``reports/x.rejects.csv``."""
    p = Path(output)
    return p.with_name(f"{p.stem if p.suffix else p.name}.rejects.csv")


def ledger_line(articles: pd.DataFrame) -> str:
    """``articles: N rows in, K kept, R rejected, D duplicates`` (the whole read)."""
    st = articles.attrs.get("newsbt_read", {})
    return (
        f"articles: {st.get('rows_in', 0)} rows in, {st.get('rows_out', len(articles))} kept, "
        f"{st.get('rejected', 0)} rejected, {st.get('duplicates', 0)} duplicates"
    )


def report_rejects(
    articles: pd.DataFrame, rejects: pd.DataFrame | None, output: str | Path | None
) -> Path | None:
    """Write the rejects next to ``output`` and print the one-line count to stderr (even with -q).

    Returns the rejects file, or ``None`` when there is no output path or nothing was rejected.
    """
    path = None
    if output is not None and rejects is not None and len(rejects):
        path = rejects_path(output)
        path.parent.mkdir(parents=True, exist_ok=True)
        rejects.to_csv(path, index=False)
    why = ""
    if rejects is not None and len(rejects):
        counts = rejects["reason"].value_counts()
        why = " [" + ", ".join(f"{k}: {v}" for k, v in counts.items()) + "]"
    where = f" -> {path}" if path else ""
    if path is None and rejects is not None and len(rejects):
        where = " (give -o to keep the rejects table)"
    print(f"newsbt: {ledger_line(articles)}{why}{where}", file=sys.stderr)
    return path
