"""Cache management behind ``newsbt fetch`` and ``newsbt import``."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from backtests.market import cache, fred, mof
from backtests.market import files as files_src
from backtests.market.load import LIVE_SOURCES, load_market
from backtests.market.registry import get_spec, list_series
from backtests.market.spec import Market
from signals.errors import ConfigError, DataUnavailableError, InputFormatError

log = logging.getLogger(__name__)

__all__ = ["cache_status", "fetch", "import_file"]


def fetch(series: Sequence[str], *, start=None, end=None, source: str = "auto") -> Market:
    """Refresh the cache for ``series`` from live sources (incremental) and return the levels.

    Parameters
    ----------
    series : list of str
    start, end : date-like, optional
    source : str
        ``"auto"`` (each series' live sources in order) or one live source name.

    Raises
    ------
    DataUnavailableError
        No live source could be reached for a series (the message names it and the fix:
        ``newsbt import`` an offline file).
    """
    out = []
    for sid in series:
        spec = get_spec(sid)
        refs = [r for r in spec.sources if r.source in LIVE_SOURCES and source in ("auto", r.source)]
        if not refs:
            raise ConfigError(f"{sid}: no live source {source!r} (has {[r.source for r in spec.sources]})")
        errors = []
        for ref in refs:
            try:
                out.append(load_market(sid, start=start, end=end, source=ref.source))
                break
            except DataUnavailableError as e:
                errors.append(str(e))
        else:
            raise DataUnavailableError(
                f"{sid}: could not fetch from {', '.join(r.source for r in refs)} ({' | '.join(errors)}); "
                "offline? use `newsbt import FILE --format fred|mof|csv` or source='sample'"
            )
    levels = pd.concat([m.levels for m in out], axis=1, sort=True)
    return Market(
        levels,
        {k: v for m in out for k, v in m.specs.items()},
        {k: v for m in out for k, v in m.provenance.items()},
    )


def _target(sid: str, fmt: str) -> str:
    spec = get_spec(sid)
    want = {"fred": "fred", "mof": "mof"}.get(fmt)
    for r in spec.sources:
        if r.source in LIVE_SOURCES and (want is None or r.source == want):
            return r.source
    raise ConfigError(f"{sid}: its spec has no {want or 'live'} source to cache an import under")


def import_file(path: str | Path, *, format: str, series: Sequence[str] | None = None) -> dict[str, int]:
    """Read an offline file with the matching reader and merge it into the cache.

    Parameters
    ----------
    path : path
    format : {"fred", "mof", "csv"}
        ``fred``: a FRED download (its code, e.g. DGS10, names the series, or give ``series``);
        ``mof``: MOF's JGB yield CSV (columns become ``jgb_1y`` ...); ``csv``: a tidy table whose
        columns are series ids (or give ``series`` to pick columns).
    series : list of str, optional

    Returns
    -------
    dict
        series id -> number of values written.
    """
    p = Path(path)
    if format == "fred":
        df = fred.read_fred_csv(p)
        codes = {r.code: sid for sid in list_series() for r in get_spec(sid).sources if r.source == "fred"}
        if series:
            if len(series) != df.shape[1]:
                raise ConfigError(
                    f"{p}: {df.shape[1]} FRED column(s) {list(df.columns)} but --series names {len(series)}"
                )
            df.columns = list(series)
        else:
            unknown = [c for c in df.columns if c not in codes]
            if unknown:
                raise InputFormatError(f"{p}: FRED code(s) {unknown} match no known series; pass --series")
            df = df.rename(columns=codes)
    elif format == "mof":
        df = mof.read_mof_csv(p)
        if series:
            df = df[[c for c in df.columns if c in series]]
    elif format == "csv":
        df = files_src.read_table(p, columns=list(series) if series else None)
    else:
        raise ConfigError(f"format={format!r}: use fred, mof or csv")
    written = {}
    for sid in df.columns:
        spec = get_spec(sid)
        src = _target(sid, format)
        ref = spec.source(src)
        values = df[sid].dropna()
        entry = cache.read_cache(sid, src)
        if entry is not None:
            values = pd.concat([entry.values, values])
            values = values[~values.index.duplicated(keep="last")].sort_index()
        meta = {
            "code": ref.code,
            "close": ref.close.strftime("%H:%M"),
            "tz": ref.tz,
            "unit": spec.unit,
            "imported_from": str(p.resolve()),
            "import_format": format,
            "publisher": ref.publisher if format in ("fred", "mof") else "",
            "range_start": str(values.index[0].date()) if len(values) else None,
        }
        cache.write_cache(sid, src, values, meta)
        written[sid] = int(df[sid].notna().sum())
        log.info("imported %d values of %s from %s into the %s cache", written[sid], sid, p, src)
    return written


def cache_status() -> pd.DataFrame:
    """One row per known series: kind, unit, sources and what the cache holds."""
    rows = []
    for sid in list_series():
        spec = get_spec(sid)
        cached = []
        for r in spec.sources:
            if r.source in LIVE_SOURCES:
                e = cache.read_cache(sid, r.source)
                if e is not None:
                    cached.append(f"{r.source}: {e.values.index[0]:%Y-%m-%d}..{e.last_date:%Y-%m-%d}")
        rows.append(
            {
                "series": sid,
                "kind": spec.kind,
                "unit": spec.unit,
                "sources": ", ".join(f"{r.source}:{r.code}" for r in spec.sources),
                "cached": "; ".join(cached) or "-",
                "description": spec.description,
            }
        )
    return pd.DataFrame(rows)
