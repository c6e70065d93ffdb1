"""Cache management behind ``newsbt fetch`` and ``newsbt import``."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from backtests.market import cache, fred, mof
from backtests.market import files as files_src
from backtests.market._parse import set_source_rows, source_rows
from backtests.market.load import LIVE_SOURCES, load_market
from backtests.market.registry import get_spec, list_series
from backtests.market.spec import Market
from backtests.market.validate import check_levels, conflicts
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


def _read_import(p: Path, format: str, series: Sequence[str] | None, date_format: str | None) -> pd.DataFrame:
    """The file's series as a frame whose columns are series ids (file rows kept: ``source_rows``)."""
    if format == "fred":
        df = fred.read_fred_csv(p)
        codes = {r.code: sid for sid in list_series() for r in get_spec(sid).sources if r.source == "fred"}
        if series:
            if len(series) != df.shape[1]:
                raise ConfigError(
                    f"{p}: {df.shape[1]} FRED column(s) {list(df.columns)} but --series names {len(series)}"
                )
            for code, sid in zip(df.columns, series):
                want = [r.code for r in get_spec(sid).sources if r.source == "fred"]
                if want and code not in want:
                    held = f" (that is {codes[code]!r})" if code in codes else ""
                    raise InputFormatError(
                        f"{p}: the file holds FRED series {code}{held}, but {sid!r} is FRED {want[0]}; check "
                        "the file or --series"
                    )
            df.columns = list(series)
        else:
            unknown = [c for c in df.columns if c not in codes]
            if unknown:
                raise InputFormatError(f"{p}: FRED code(s) {unknown} match no known series; pass --series")
            df.columns = [codes[c] for c in df.columns]
    elif format == "mof":
        df = mof.read_mof_csv(p)
        if series:
            rows = source_rows(df)
            df = df[[c for c in df.columns if c in series]]
            set_source_rows(df, rows)
    elif format == "csv":
        df = files_src.read_table(p, columns=list(series) if series else None, date_format=date_format)
    else:
        raise ConfigError(f"format={format!r}: use fred, mof or csv")
    return df


def _file_digest(p: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(p, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def import_file(
    path: str | Path,
    *,
    format: str,
    series: Sequence[str] | None = None,
    date_format: str | None = None,
    replace: bool = False,
) -> dict[str, int]:
    """Read an offline file with the matching reader, check it, and merge it into the cache.

    Parameters
    ----------
    path : path
    format : {"fred", "mof", "csv"}
        ``fred``: a FRED download (its code, e.g. DGS10, names the series, or give ``series``,
        whose FRED code must match); ``mof``: MOF's JGB yield CSV (columns become ``jgb_1y`` ...);
        ``csv``: a tidy table whose columns are series ids (or give ``series`` to pick columns).
    series : list of str, optional
    date_format : str, optional
        strftime format of a CSV's dates; required for ``dd/mm/yyyy`` or ``mm/dd/yyyy`` dates.
    replace : bool
        Let the file's values replace cached values that differ on the same dates (else an error).

    Returns
    -------
    dict
        series id -> number of values written.

    Raises
    ------
    InputFormatError
        Ambiguous or bad dates, one date with two values, non-finite or implausible values (see
        :mod:`backtests.market.validate`), or values that differ from the cache without ``replace``.
        Nothing is written then: every series of the file is checked before the first write.

    Notes
    -----
    The cache records the file's provenance (path, SHA-256, format, the file's own series code),
    not the registry's publisher: the numbers are the file's.
    """
    p = Path(path)
    df = _read_import(p, format, series, date_format)
    rows = source_rows(df)
    digest = _file_digest(p)
    plans = []
    for sid in df.columns:
        spec = get_spec(sid)
        src = _target(sid, format)
        ref = spec.source(src)
        col = df[sid]
        check_levels(col, spec, str(p), rows)
        values = col.dropna()
        entry = cache.read_cache(sid, src)
        if entry is not None:
            clash = conflicts(entry.values, values)
            if len(clash) and not replace:
                d0 = clash.index[0]
                raise InputFormatError(
                    f"{p}: {sid} differs from the cached values on {len(clash)} date(s), e.g. {d0:%Y-%m-%d}: "
                    f"cache {clash['cached'].iloc[0]!r}, file {clash['file'].iloc[0]!r}; nothing imported. "
                    "Pass --replace (replace=True) to let the file win"
                )
            if len(clash):
                log.warning("%s: %d cached %s values replaced by the file's", p, len(clash), sid)
            values = pd.concat([entry.values, values])
            values = values[~values.index.duplicated(keep="last")].sort_index()
        meta = {
            "code": ref.code,
            "close": ref.close.strftime("%H:%M"),
            "tz": ref.tz,
            "unit": spec.unit,
            "imported_from": str(p.resolve()),
            "import_format": format,
            "file_sha256": digest,
            # the file's claim, never the registry's publisher; a tidy CSV has none (unknown origin)
            "publisher": {"fred": f"FRED {ref.code} as read from the user file {p.name}",
                          "mof": f"MOF JGB yields as read from the user file {p.name}"}.get(format, ""),  # fmt: skip
            "range_start": str(values.index[0].date()) if len(values) else None,
        }
        plans.append((sid, src, values, meta, int(col.notna().sum())))
    written = {}
    for sid, src, values, meta, n in plans:
        cache.write_cache(sid, src, values, meta)
        written[sid] = n
        log.info("imported %d values of %s from %s into the %s cache", n, sid, p, src)
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
