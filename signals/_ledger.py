"""Inputs of one read and its ledger: every input row counted once, per file and in total.

``expand_sources`` turns paths, folders, globs (quoted or not), URLs and DataFrames into one list
of distinct inputs (a file reached twice, e.g. through a folder and a glob, is read once).
``build_ledger`` checks ``rows_in == kept + rejected + duplicates`` for every input.
"""

from __future__ import annotations

import glob as _glob
import logging
import re
from pathlib import Path
from typing import Any

import pandas as pd

from signals._readers import EXT_FORMAT
from signals.errors import InputNotFoundError, NewsbtError

__all__ = ["LEDGER_COLUMNS", "build_ledger", "expand_sources", "is_url"]

log = logging.getLogger(__name__)

LEDGER_COLUMNS = ["origin", "format", "encoding", "rows_in", "kept", "rejected", "duplicates", "status"]
KNOWN_EXT = (*EXT_FORMAT, ".zip")
_URL = re.compile(r"^https?://", re.I)


def is_url(item: Any) -> bool:
    """True for an http(s) address."""
    return isinstance(item, str) and bool(_URL.match(item))


def _expand_one(source: Any) -> list[Any]:
    if isinstance(source, pd.DataFrame) or is_url(source):
        return [source]
    s = str(source)
    p = Path(s).expanduser()
    if p.is_dir():
        every = [f for f in p.rglob("*") if f.is_file() and not f.name.startswith(".")]
        files = sorted(f for f in every if f.name.lower().endswith(KNOWN_EXT))
        skipped = len(every) - len(files)
        if skipped:
            log.info(
                "%s: %d file(s) without an article extension (%s) not read", p, skipped, ", ".join(KNOWN_EXT)
            )
        if not files:
            raise InputNotFoundError(f"folder {p} holds no article files ({', '.join(KNOWN_EXT)})")
        return files
    if not p.exists() and any(ch in s for ch in "*?["):
        files = sorted(Path(f) for f in _glob.glob(str(p), recursive=True) if Path(f).is_file())
        if not files:
            raise InputNotFoundError(f"glob {s!r} matched no files; check the pattern and working directory")
        return files
    if not p.exists():
        raise InputNotFoundError(
            f"article source {s!r} not found; give a file, folder, glob or http(s) feed URL"
        )
    return [p]


def expand_sources(source: Any) -> list[Any]:
    """Distinct inputs in the order given: Paths, URL strings and DataFrames.

    Raises
    ------
    InputNotFoundError
        A path, folder or glob that matches nothing (named).
    """
    items = source if isinstance(source, (list, tuple)) else [source]
    out: list[Any] = []
    seen: set[str] = set()
    for s in items:
        for item in _expand_one(s):
            key = (
                item
                if isinstance(item, str)
                else None
                if isinstance(item, pd.DataFrame)
                else str(item.resolve())
            )
            if key is not None and key in seen:
                log.info("%s given more than once: read once", item)
                continue
            if key is not None:
                seen.add(key)
            out.append(item)
    return out


def build_ledger(entries: list[dict], kept_src: pd.Series, before_src: pd.Series) -> pd.DataFrame:
    """The per-input ledger.

    Parameters
    ----------
    entries : list of dict
        One per input: ``origin, format, encoding, rows_in, rejected, status``.
    kept_src, before_src : Series of int
        Input index of every kept article, and of every article before deduplication.

    Returns
    -------
    DataFrame
        :data:`LEDGER_COLUMNS`, one row per input.

    Raises
    ------
    NewsbtError
        If any input's rows do not add up (a bug: please report it with the file).
    """
    led = pd.DataFrame(entries, columns=[c for c in LEDGER_COLUMNS if c not in ("kept", "duplicates")])
    kept = kept_src.value_counts().reindex(range(len(led)), fill_value=0).to_numpy()
    before = before_src.value_counts().reindex(range(len(led)), fill_value=0).to_numpy()
    led.insert(4, "kept", kept)
    led.insert(6, "duplicates", before - kept)
    bad = led["rows_in"] != led["kept"] + led["rejected"] + led["duplicates"]
    if bad.any():
        raise NewsbtError(
            f"read_articles: rows do not add up for {led.loc[bad, 'origin'].tolist()} "
            "(rows_in != kept + rejected + duplicates); this is a bug in newsbt, please report it"
        )
    return led
