"""``load_market``: series ids + date range -> :class:`Market`, from live sources, the cache, the
user's files or the bundled snapshot.

``source="auto"`` (default), per series:

1. the cache, if it covers the range and was fetched recently (:data:`MAX_AGE`);
2. else the live sources of the spec in order (``fred``/``mof``/``yfinance``), fetching only the
   missing ranges and merging them into the cache (when offline they are skipped at once); a
   missing head range the publisher has no values for (:class:`NoDataInRangeError`) is
   remembered as covered, one that fails is warned about and the cached range used;
3. else an older cache, with a :class:`NewsbtWarning` naming its age (offline, or a refresh that
   failed: the provenance is then ``origin="cache"``, ``stale=True``, and the cache keeps its old
   fetch time, so it is never reported as live);
4. else the bundled snapshot (``sample``), with a logged note; the provenance says
   ``origin="snapshot"`` and carries the snapshot's last date;
5. else :class:`DataUnavailableError` listing every attempt and what to do.

Other values: ``"sample"`` (snapshot only), ``"cache"`` (cache only), ``"files"`` (``files=`` a
path or ``{series: path}``), or a live source name (``"fred"``, ``"mof"``, ``"yfinance"``, with the
cache, falling back to the cache with a warning when offline).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from backtests.market import cache, fred, mof, yahoo
from backtests.market import files as files_src
from backtests.market._net import online
from backtests.market.registry import get_spec
from backtests.market.sample import snapshot_meta, snapshot_values
from backtests.market.spec import Market, Provenance, SeriesSpec, SourceRef
from backtests.market.validate import check_levels
from signals.errors import CacheError, ConfigError, DataUnavailableError, NewsbtWarning, NoDataInRangeError

log = logging.getLogger(__name__)

__all__ = ["LIVE_SOURCES", "MAX_AGE", "load_market"]

#: A cache fetched less than this long ago counts as fresh for an open-ended request.
MAX_AGE = pd.Timedelta(hours=12)
#: Days re-fetched before the cache's last date on an incremental refresh (publisher revisions).
OVERLAP_DAYS = 7

LIVE_SOURCES: dict[str, tuple[Callable[..., pd.Series], str]] = {
    "fred": (fred.fetch, "fred.stlouisfed.org"),
    "mof": (mof.fetch, "www.mof.go.jp"),
    "yfinance": (yahoo.fetch, "query1.finance.yahoo.com"),
}
_SOURCES = ("auto", "sample", "cache", "files", *LIVE_SOURCES)


def _ts(x: Any) -> pd.Timestamp | None:
    return None if x is None else pd.Timestamp(x).normalize()


def _prov(spec: SeriesSpec, ref: SourceRef, origin: str, **kw: Any) -> Provenance:
    return Provenance(
        series=spec.id,
        source=ref.source,
        code=ref.code,
        publisher=ref.publisher,
        unit=spec.unit,
        tz=ref.tz,
        close=ref.close,
        origin=origin,
        **kw,
    )


def _cache_prov(spec: SeriesSpec, ref: SourceRef, entry: cache.CacheEntry, **kw: Any) -> Provenance:
    """Provenance of a cached series; a file imported with ``newsbt import`` keeps its own origin.

    The close time and zone stored with the cached data win over the spec's (they describe the
    source the numbers actually came from)."""
    close, tz = entry.meta.get("close"), entry.meta.get("tz")
    if close and tz:
        try:
            ref = SourceRef(
                ref.source, ref.code, pd.Timestamp(str(close)).time(), str(tz), ref.scale, ref.publisher
            )
        except ValueError:
            log.info("%s: cache close %r unreadable; using the spec's", spec.id, close)
    imported = entry.meta.get("imported_from")
    if imported:
        p = _prov(
            spec, ref, "user_file", retrieved=f"imported {entry.meta['fetched_at']} from {imported}", **kw
        )
        p.publisher = entry.meta.get("publisher") or ""
        return p
    return _prov(spec, ref, "cache", retrieved=entry.meta["fetched_at"], **kw)


#: Median absolute difference (percentage points) above which a yfinance yield is flagged as not
#: matching its reference series (Cboe vs H.15 differ by a few bp, never by a point).
UNIT_TOLERANCE_PP = 0.5


def _reference(spec: SeriesSpec, reference: pd.Series | None) -> pd.Series | None:
    if reference is not None:
        return reference
    if spec.source("sample") is None:
        return None
    try:
        return snapshot_values(spec.id)[0]
    except DataUnavailableError:
        return None


def _check_yield_unit(
    spec: SeriesSpec, ref: SourceRef, s: pd.Series, reference: pd.Series | None
) -> pd.Series:
    """Guard against a yfinance yield in the wrong unit (Cboe's yield x 10 convention).

    Compares the download with a reference of the same series (the cache, else the bundled H.15
    snapshot) on common dates: when the x 0.1 version is much closer, the download is rescaled
    with a :class:`NewsbtWarning`; when neither is within :data:`UNIT_TOLERANCE_PP`, a warning says
    the numbers do not look like that series. Levels alone cannot tell 0.5 % from a x 10 quote
    of 0.05 %, hence the comparison.
    """
    if spec.kind != "yield" or ref.source != "yfinance":
        return s
    reference = _reference(spec, reference)
    if reference is None:
        return s
    common = s.index.intersection(reference.dropna().index)
    if len(common) < 3:
        return s
    a, b = s.loc[common].to_numpy(dtype=float), reference.loc[common].to_numpy(dtype=float)
    d1 = float(np.median(np.abs(a - b)))
    d10 = float(np.median(np.abs(0.1 * a - b)))
    if d10 < UNIT_TOLERANCE_PP and d10 < d1 / 4:
        warnings.warn(
            f"{spec.id}: yfinance {ref.code} looks like yield x 10 (median gap to the reference "
            f"{d1:.2f} pp, {d10:.3f} pp after x 0.1 on {len(common)} dates); scaled by 0.1 to percent",
            NewsbtWarning,
            stacklevel=5,
        )
        return s * 0.1
    if d1 > UNIT_TOLERANCE_PP:
        warnings.warn(
            f"{spec.id}: yfinance {ref.code} differs from the reference series by a median {d1:.2f} pp "
            f"on {len(common)} common dates; check the ticker and its unit (expected {spec.unit})",
            NewsbtWarning,
            stacklevel=5,
        )
    return s


def _fetch_live(
    spec: SeriesSpec,
    ref: SourceRef,
    start,
    end,
    fetch_kw: Mapping[str, Any],
    reference: pd.Series | None = None,
) -> pd.Series:
    fn, _ = LIVE_SOURCES[ref.source]
    kw = dict(fetch_kw.get(ref.source, {}))
    if ref.source == "yfinance":
        kw.setdefault("kind", spec.kind)
    s = fn(ref.code, start=start, end=end, **kw)
    s = (s * ref.scale) if ref.scale != 1.0 else s
    return _check_yield_unit(spec, ref, s, reference)


def _from_cache_or_live(
    spec: SeriesSpec,
    ref: SourceRef,
    start: pd.Timestamp | None,
    end: pd.Timestamp | None,
    *,
    refresh: bool,
    fetch_kw: Mapping[str, Any],
) -> tuple[pd.Series, Provenance]:
    """One series from one live source, through the cache (incremental refresh)."""
    entry = cache.read_cache(spec.id, ref.source)
    now = pd.Timestamp.now(tz="UTC")
    if entry is not None and not refresh:
        head_ok = entry.range_start is None or (start is not None and start >= entry.range_start)
        tail_ok = (end is not None and end <= entry.last_date) or entry.age(now) < MAX_AGE
        if head_ok and tail_ok:
            return entry.values, _cache_prov(spec, ref, entry)
    injected = ref.source in fetch_kw and any(
        k in fetch_kw[ref.source] for k in ("download", "opener", "path")
    )
    if not injected and not online(LIVE_SOURCES[ref.source][1]):
        if entry is None:
            raise DataUnavailableError(f"{spec.id}: offline and no cache for source {ref.source}")
        warnings.warn(
            f"{spec.id}: offline; using the cache from {ref.source} fetched {entry.meta['fetched_at']} "
            f"(last value {entry.last_date:%Y-%m-%d}, {entry.age(now).days} days old)",
            NewsbtWarning,
            stacklevel=4,
        )
        return entry.values, _cache_prov(spec, ref, entry, stale=True)
    tail_error: DataUnavailableError | None = None
    if entry is None or refresh:
        new = _fetch_live(spec, ref, start, end, fetch_kw)
        merged, range_start = new, start
    else:
        parts = [entry.values]
        range_start = entry.range_start
        if entry.range_start is not None and (start is None or start < entry.range_start):
            try:
                parts.insert(0, _fetch_live(spec, ref, start, entry.range_start, fetch_kw, entry.values))
                range_start = start
            except NoDataInRangeError as exc:  # the source publishes nothing earlier: covered
                log.info("%s: %s; the series starts at %s", spec.id, exc, entry.values.index[0].date())
                range_start = start
            except DataUnavailableError as exc:  # a failure: keep the cached range, say so
                warnings.warn(
                    f"{spec.id}: could not fetch {start.date() if start is not None else 'the start'} to "
                    f"{entry.range_start.date()} from {ref.source} ({exc}); the data start at "
                    f"{entry.values.index[0].date()} (the cached range)",
                    NewsbtWarning,
                    stacklevel=4,
                )
        if end is None or end > entry.last_date:
            # the window includes the cache's last value, so a working source always returns something:
            # a failure here is a failed refresh, not "no new values"
            tail_start = entry.last_date - pd.Timedelta(days=OVERLAP_DAYS)
            try:
                parts.append(_fetch_live(spec, ref, tail_start, end, fetch_kw, entry.values))
            except DataUnavailableError as exc:
                tail_error = exc
        merged = pd.concat(parts)
        merged = merged[~merged.index.duplicated(keep="last")].sort_index()
    meta = {
        "fetched_at": now.isoformat(),
        "range_start": None if range_start is None else str(range_start.date()),
    }
    meta.update(
        code=ref.code, publisher=ref.publisher, close=ref.close.strftime("%H:%M"), tz=ref.tz, unit=spec.unit
    )
    if tail_error is not None and entry is not None:
        # keep the old fetch time so the cache still reads as stale; never report it as live
        warnings.warn(
            f"{spec.id}: could not refresh from {ref.source} ({tail_error}); using the cache fetched "
            f"{entry.meta['fetched_at']} (last value {entry.last_date:%Y-%m-%d}, {entry.age(now).days} days old)",
            NewsbtWarning,
            stacklevel=4,
        )
        if range_start != entry.range_start:  # a missing head was fetched (or found empty): keep it
            meta["fetched_at"] = entry.meta["fetched_at"]
            _save(spec.id, ref.source, merged, meta)
        return merged, _cache_prov(spec, ref, entry, stale=True)
    _save(spec.id, ref.source, merged, meta)
    return merged, _prov(spec, ref, "live", retrieved=now.isoformat())


def _save(series_id: str, source: str, values: pd.Series, meta: dict[str, Any]) -> None:
    """Write the cache; a cache that cannot be written (read-only data folder) is a notice, not a
    failure: the values just fetched are used, the cache keeps its old version."""
    try:
        cache.write_cache(series_id, source, values, meta)
    except CacheError as exc:
        msg = f"{series_id}: the cache was not updated ({exc}); the values fetched now are used"
        log.warning("%s", msg)
        cache._NOTICES.setdefault(series_id, []).append(msg)


def _any_cache(spec: SeriesSpec) -> tuple[pd.Series, Provenance] | None:
    for ref in spec.sources:
        if ref.source not in LIVE_SOURCES:
            continue
        entry = cache.read_cache(spec.id, ref.source)
        if entry is not None:
            warnings.warn(
                f"{spec.id}: live sources unavailable; using the cache from {ref.source} fetched "
                f"{entry.meta['fetched_at']} (last value {entry.last_date:%Y-%m-%d})",
                NewsbtWarning,
                stacklevel=4,
            )
            return entry.values, _cache_prov(spec, ref, entry, stale=True)
    return None


def _from_sample(spec: SeriesSpec) -> tuple[pd.Series, Provenance]:
    s, meta = snapshot_values(spec.id)
    built = snapshot_meta()["snapshot_last"]
    ref = SourceRef(
        "sample", meta["code"], pd.Timestamp(meta["close"]).time(), meta["tz"], 1.0, meta["publisher"]
    )
    p = _prov(
        spec,
        ref,
        "snapshot",
        retrieved=f"bundled snapshot (files to {built}); {spec.id} last date {meta['end']}",
        attribution=meta["attribution"],
        snapshot_last=meta["end"],
    )
    return s, p


def _from_files(spec: SeriesSpec, files: Any, date_format: str | None = None) -> tuple[pd.Series, Provenance]:
    ref = spec.source("files")
    path = files.get(spec.id) if isinstance(files, Mapping) else files
    code = ref.code if ref is not None else spec.id
    if path is None and ref is not None and "#" in ref.code:
        path, code = ref.code.rsplit("#", 1)
    if path is None:
        raise DataUnavailableError(
            f"{spec.id}: source='files' needs files='your.csv' or files={{'{spec.id}': path}}"
        )
    if ref is not None and "#" in ref.code:
        code = ref.code.rsplit("#", 1)[1]
    s = files_src.fetch(code, path=Path(path), date_format=date_format)
    check_levels(s, spec, str(path))
    ref = SourceRef(
        "files", f"{path}#{code}", (ref or spec).close, (ref or spec).tz, getattr(ref, "scale", 1.0), ""
    )
    s = s * ref.scale if ref.scale != 1.0 else s
    return s, _prov(spec, ref, "user_file", retrieved=str(path))


def _one(
    spec: SeriesSpec, source: str, start, end, *, files: Any, refresh: bool, fetch_kw: Mapping[str, Any]
) -> tuple[pd.Series, Provenance]:
    if source == "sample":
        return _from_sample(spec)
    if source == "files":
        return _from_files(spec, files, (fetch_kw.get("files") or {}).get("date_format"))
    if source == "cache":
        for ref in spec.sources:
            entry = cache.read_cache(spec.id, ref.source) if ref.source in LIVE_SOURCES else None
            if entry is not None:
                return entry.values, _cache_prov(spec, ref, entry)
        raise DataUnavailableError(
            f"{spec.id}: nothing cached under {cache.cache_dir()}; fetch it online first"
        )
    if source in LIVE_SOURCES:
        ref = spec.source(source)
        if ref is None:
            raise ConfigError(
                f"series {spec.id!r} has no {source!r} source (it has {[r.source for r in spec.sources]})"
            )
        return _from_cache_or_live(spec, ref, start, end, refresh=refresh, fetch_kw=fetch_kw)
    # auto
    tried: list[str] = []
    for ref in spec.sources:
        if ref.source not in LIVE_SOURCES:
            continue
        try:
            return _from_cache_or_live(spec, ref, start, end, refresh=refresh, fetch_kw=fetch_kw)
        except DataUnavailableError as exc:
            tried.append(str(exc))
            log.info("%s: %s", spec.id, exc)
    hit = _any_cache(spec)
    if hit is not None:
        return hit
    try:
        s, p = _from_sample(spec)
    except DataUnavailableError as exc:
        tried.append(str(exc))
        raise DataUnavailableError(
            f"{spec.id}: no data from any source. " + " | ".join(tried) + ". Fix: go online once (the "
            "series is then cached), or load your own file with source='files'"
        ) from None
    log.warning(
        "%s: live sources unavailable and nothing cached; using the bundled snapshot (%s, last date %s)",
        spec.id,
        p.publisher,
        p.snapshot_last,
    )
    return s, p


def load_market(
    series: str | list[str],
    *,
    start: Any = None,
    end: Any = None,
    source: str = "auto",
    files: str | Path | Mapping[str, str | Path] | None = None,
    refresh: bool = False,
    fetch_kw: Mapping[str, Mapping[str, Any]] | None = None,
    date_format: str | None = None,
) -> Market:
    """Daily levels of the named series.

    Parameters
    ----------
    series : str or list of str
        Registered ids (``"ust_10y"``, ``"jgb_10y"``, ``"usdjpy"``, ...; see
        :func:`backtests.list_series`) or ``"yf:<ticker>"``.
    start, end : date-like, optional
        Inclusive local dates.
    source : str
        ``"auto"``, ``"sample"``, ``"cache"``, ``"files"``, ``"fred"``, ``"mof"`` or ``"yfinance"``
        (see the module docs).
    files : path or dict, optional
        For ``source="files"``: one table for all series (column = series id, or the code of the
        spec's ``files`` source) or ``{series_id: path}``.
    refresh : bool
        Refetch the whole range even when cached.
    fetch_kw : dict, optional
        Extra keywords per live source, e.g. ``{"yfinance": {"download": fake}}`` (tests) or
        ``{"fred": {"path": "DGS10.csv"}}``.
    date_format : str, optional
        For ``source="files"``: strftime format of the file's dates (required for ``dd/mm/yyyy``
        or ``mm/dd/yyyy``). The file's values are checked as on import (finite, plausible range).

    Returns
    -------
    Market
        ``levels``: naive local dates (union over series) x series, in the spec's units (yields in
        percent, USD/JPY in yen per dollar); ``provenance`` per series (source, code, close, origin,
        snapshot last date).

    Raises
    ------
    UnknownSeriesError, ConfigError, DataUnavailableError
    """
    if source not in _SOURCES:
        raise ConfigError(f"source={source!r}: use one of {', '.join(_SOURCES)}")
    ids = [series] if isinstance(series, str) else list(series)
    if not ids:
        raise ConfigError("load_market: no series named")
    if len(set(ids)) != len(ids):
        raise ConfigError(f"load_market: duplicate series in {ids}")
    specs = {sid: get_spec(sid) for sid in ids}
    s0, e0 = _ts(start), _ts(end)
    if s0 is not None and e0 is not None and e0 < s0:
        raise ConfigError(f"load_market: end {e0.date()} is before start {s0.date()}")
    if date_format:
        fetch_kw = {**(fetch_kw or {}), "files": {**(fetch_kw or {}).get("files", {}), "date_format": date_format}}
    cols: dict[str, pd.Series] = {}
    prov: dict[str, Provenance] = {}
    for sid, spec in specs.items():
        s, p = _one(spec, source, s0, e0, files=files, refresh=refresh, fetch_kw=fetch_kw or {})
        s = s.loc[s0:e0].dropna()
        if s.empty:
            raise DataUnavailableError(
                f"{sid}: no values between {start or 'the start'} and {end or 'the end'} from {p.source} "
                f"({p.origin}); available range ends {p.snapshot_last or 'unknown'}"
            )
        p.start, p.end = s.index[0], s.index[-1]
        p.notes = [*p.notes, *cache.take_notices(sid)]  # quarantined or unwritable cache files
        cols[sid] = s.astype(float)
        prov[sid] = p
    levels = pd.concat(cols, axis=1, sort=True)
    # plain index (no inferred freq): a session list, not a regular grid
    levels.index = pd.DatetimeIndex(levels.index.to_numpy(), name="date").as_unit("ns")
    levels = levels[ids]
    log.info("loaded %s", ", ".join(f"{k} ({v.source}/{v.origin})" for k, v in prov.items()))
    return Market(levels, specs, prov)
