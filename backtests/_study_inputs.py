"""Input side of the event study: options, the panel, events -> pairs, day 0, overlaps.

Helpers of :mod:`backtests.study_steps` (no public API): checks of the options, the benchmark
matrix, the requested event-series pairs, their day 0, and the overlap rule; plus the builders of
the tables :class:`backtests.study.EventStudy` assembles on first read (module-level functions
taking plain arrays, so that a result that has not built them yet still pickles).
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from backtests import engine as eng
from signals.errors import ConfigError, InputFormatError

log = logging.getLogger(__name__)

_EXCLUDED_COLS = ["event_id", "series", "date", "day0", "reason", "detail", "n_est", "n_missing"]
_OVERLAP_COLS = ["series", "event_id", "other_event_id", "day0", "other_day0", "distance", "action"]


def _unit_of(changes: pd.DataFrame) -> str | None:
    """The common unit of the series (``attrs["newsbt_series"][id]["unit"]``), if any."""
    meta = changes.attrs.get("newsbt_series") if hasattr(changes, "attrs") else None
    if not isinstance(meta, dict):
        return None
    units = {str(v.get("unit")) for v in meta.values() if isinstance(v, dict) and v.get("unit")}
    return units.pop() if len(units) == 1 else None


def _check_range(name: str, v: Any) -> tuple[int, int]:
    try:
        a, b = (int(v[0]), int(v[1]))
        if len(v) != 2 or a != v[0] or b != v[1]:
            raise ValueError
    except (TypeError, ValueError, IndexError):
        raise ConfigError(f"{name}={v!r}: expected a pair of integer relative days (start, end)") from None
    if a > b:
        raise ConfigError(f"{name}={v!r}: start is after end; write ({b}, {a})")
    return a, b


def _normalise_dates(values: pd.Series, field: str) -> pd.Series:
    try:
        d = pd.to_datetime(values)
    except (ValueError, TypeError) as exc:
        raise InputFormatError(f"events: column {field!r} has values that are not dates ({exc})") from None
    if getattr(d.dt, "tz", None) is not None:
        d = d.dt.tz_localize(None)
    ns = d.to_numpy(dtype="datetime64[ns]").view(np.int64)
    if not d.isna().any() and (ns % (86_400 * 10**9) == 0).all():
        return d  # already dates (midnight)
    return d.dt.normalize()


def _benchmark(model, benchmark, changes, idx, columns):
    """Benchmark matrix (T, k), its names and the benchmark columns of ``changes``."""
    if model in ("raw", "mean"):
        if benchmark is not None:
            raise ConfigError(f"benchmark is only used by model='market' or 'factor' (model={model!r})")
        return None, [], set()
    if benchmark is None:
        raise ConfigError(f"model={model!r} needs benchmark= (a column of changes or a Series on its dates)")
    cols: set[str] = set()
    if isinstance(benchmark, pd.Series):
        frame = benchmark.to_frame(name=str(benchmark.name or "benchmark"))
    elif isinstance(benchmark, pd.DataFrame):
        frame = benchmark
    else:
        names = [benchmark] if isinstance(benchmark, str) else list(benchmark)
        missing = [x for x in names if str(x) not in columns]
        if missing:
            raise ConfigError(f"benchmark: {missing} not among the columns of changes ({columns})")
        frame = changes.loc[:, [x for x in changes.columns if str(x) in {str(n) for n in names}]]
        cols = {str(x) for x in names}
    if frame.shape[1] == 0:
        raise ConfigError("benchmark: no column given")
    if model == "market" and frame.shape[1] != 1:
        raise ConfigError(f"model='market' takes one benchmark, got {frame.shape[1]}; use model='factor'")
    fidx = frame.index
    if isinstance(fidx, pd.DatetimeIndex) and fidx.tz is not None:
        frame = frame.set_axis(fidx.tz_localize(None))
    if not frame.index.equals(changes.index):
        if not isinstance(frame.index, pd.DatetimeIndex):
            raise InputFormatError("benchmark: a Series/DataFrame benchmark needs a DatetimeIndex")
        frame = frame.reindex(idx)
    try:
        mat = frame.to_numpy(dtype=float, na_value=np.nan)
    except (ValueError, TypeError):
        raise InputFormatError("benchmark: values must be numeric") from None
    mat = np.where(np.isfinite(mat), mat, np.nan)
    return mat, [str(x) for x in frame.columns], cols


def _pairs_from_events(events, changes, columns, bench_cols):
    """Event rows -> requested event-series pairs (DataFrame with event_id, series, date + extras)."""
    if not isinstance(events, pd.DataFrame):
        raise InputFormatError("events: expected a DataFrame with a 'date' or 'timestamp' column")
    ev = events.reset_index(drop=True).copy()
    if "event_id" not in ev.columns:
        ev["event_id"] = [f"E{i + 1}" for i in range(len(ev))]
    align_reason = align_detail = None
    if "date" not in ev.columns:
        if "timestamp" not in ev.columns:
            raise InputFormatError(
                f"events: need a 'date' (day 0) or a tz-aware 'timestamp' column; got {list(events.columns)}"
            )
        from backtests.calendar import align_events

        try:
            al = align_events(ev, changes)
        except NotImplementedError:
            raise ConfigError(
                "events with 'timestamp' need backtests.calendar.align_events, which is not available "
                "in this build; pass a 'date' column (day 0) instead"
            ) from None
        al = al.reset_index(drop=True)
        if "series" not in events.columns and bench_cols:  # as with dates: not the benchmark itself
            al = al[~al["series"].astype(str).isin(bench_cols)].reset_index(drop=True)
        al["date"] = pd.to_datetime(al["day0"])
        align_reason = al["reason"].fillna("").astype(str).to_numpy()
        align_detail = al["detail"].fillna("").to_numpy(dtype=object) if "detail" in al else None
        ev = al.drop(columns=["day0"])
        if getattr(ev["date"].dt, "tz", None) is not None:
            ev["date"] = ev["date"].dt.tz_localize(None)
        ev["date"] = ev["date"].dt.normalize()
        pairs = ev
    else:
        ev["date"] = _normalise_dates(ev["date"], "date")
        if "series" in ev.columns:
            pairs = ev.copy()
            if not _is_str_col(pairs["series"]):
                pairs["series"] = pairs["series"].astype(object).where(pairs["series"].notna(), None)
        else:
            cols = [x for x in columns if x not in bench_cols]
            rep = np.repeat(np.arange(len(ev)), len(cols))
            pairs = ev.iloc[rep].reset_index(drop=True)
            pairs["series"] = np.tile(np.array(cols, dtype=object), len(ev))
    if not _is_str_col(pairs["series"]):  # already strings (NaN = missing): nothing to convert
        vals = pairs["series"].to_numpy(dtype=object)
        if pd.api.types.infer_dtype(vals, skipna=False) == "string":
            pairs["series"] = vals
        else:
            pairs["series"] = [None if v is None else str(v) for v in vals]
    n = len(pairs)
    reason = np.full(n, "", dtype=object)
    detail = np.full(n, "", dtype=object)
    if align_reason is not None:
        bad = align_reason != ""
        reason[bad] = align_reason[bad]
        detail[bad] = "timestamp could not be aligned to a trading day (backtests.calendar.align_events)"
        if align_detail is not None:  # e.g. the gap's dates for day0_in_data_gap
            own = bad & (align_detail != "")
            detail[own] = align_detail[own]
    return pairs, reason, detail


def _engine_details(detail, reason, rows, n_est, n_miss, l_nom, min_est, w_len) -> None:
    """Detail text of the pairs ``rows`` excluded by the engine (written into ``detail``)."""
    er = reason[rows]
    for code, text in (
        (eng.SHORT_ESTIMATION, f" usable estimation days of {l_nom}, {min_est} required"),
        (eng.MISSING_IN_WINDOW, f" of {w_len} abnormal returns missing in the event window (allow_gaps=True keeps it)"),
    ):  # fmt: skip
        sel = rows[er == code]
        if len(sel):
            nums = (n_est if code == eng.SHORT_ESTIMATION else n_miss)[sel]
            detail[sel] = np.char.add(nums.astype(str), text).astype(object)
    detail[rows[er == eng.NONPOSITIVE_VARIANCE]] = (
        "estimation-window residual variance is zero (constant series?)"
    )
    detail[rows[er == eng.SINGULAR_BENCHMARK]] = "benchmark has no variation in the estimation window"


def _check_unique_pairs(pairs, eid_codes, n_eid, ser_codes, n_ser) -> None:
    """Raise when an (event_id, series) pair occurs twice (codes -1 = missing, equal)."""
    if n_eid == len(pairs) and (eid_codes >= 0).all():
        return  # every event id is distinct
    key = (eid_codes.astype(np.int64) + 1) * (n_ser + 1) + (ser_codes + 1)
    dup = pd.Series(key).duplicated(keep=False).to_numpy()
    if dup.any():
        ex = pairs.loc[dup, ["event_id", "series"]].head(3).to_dict("records")
        raise InputFormatError(
            f"events: {int(dup.sum())} rows repeat an (event_id, series) pair, e.g. {ex}; give each event a "
            "unique event_id"
        )


def _row_of(valid: np.ndarray, s: np.ndarray, pos: np.ndarray, calendar: str) -> np.ndarray:
    """Calendar row of position ``pos`` in series ``s``'s calendar."""
    if calendar == "index":
        return pos
    n_obs = valid.sum(axis=0)
    start = np.concatenate([[0], np.cumsum(n_obs)[:-1]])
    _, rr = np.nonzero(valid.T)
    return rr[start[s] + pos]


def _empty_overlaps() -> pd.DataFrame:
    return pd.DataFrame(columns=_OVERLAP_COLS)


def _overlaps_later(pairs, cand, s_arr, pos, a, b) -> pd.DataFrame:
    """The ``overlaps`` table of ``overlap="keep"`` (detected on first read)."""
    table, _ = _overlaps(pairs, cand, s_arr, pos, a, b, "keep", None, None, defer=False)
    return table()


def _overlap_table(pairs, i1, i2, dist, overlap) -> pd.DataFrame:
    """The ``overlaps`` table: rows ``i1`` and ``i2`` of ``pairs`` overlap (``dist`` days apart)."""
    ii = np.concatenate([i1, i2])
    eid_12 = np.asarray(_take(pairs["event_id"], ii), dtype=object)
    d0 = pairs["day0"].to_numpy()
    return pd.DataFrame(
        {
            "series": np.asarray(_take(pairs["series"], i1), dtype=object),
            "event_id": eid_12[: len(i1)],
            "other_event_id": eid_12[len(i1) :],
            "day0": d0[i1],
            "other_day0": d0[i2],
            "distance": dist,
            "action": overlap,
        },
        columns=_OVERLAP_COLS,
    )


def _overlaps(pairs, cand, s_arr, pos, a, b, overlap, reason, detail, defer=True):
    """Detect overlapping event windows on one series; apply ``overlap``.

    Returns a builder of the ``overlaps`` table (a picklable zero-argument callable, called on
    first read) and the merged ids. With ``overlap="keep"`` nothing changes for the pairs, so
    the detection itself waits for the first read of the table."""
    merged = {} if overlap == "merge" else None
    if len(cand) < 2:
        return _empty_overlaps, merged
    if overlap == "keep" and defer:
        return partial(_overlaps_later, pairs, cand, s_arr, pos, a, b), merged
    # by series, then day 0, then input order: one sort of one unique integer key
    span = int(pos[cand].max()) + 1
    key = s_arr[cand].astype(np.int64) * span + pos[cand]
    if (int(s_arr[cand].max()) + 1) * span * len(cand) < 2**62:
        order = cand[np.argsort(key * len(cand) + np.arange(len(cand)))]
    else:  # pragma: no cover - astronomically large panels
        order = cand[np.argsort(key, kind="stable")]
    ss, pp = s_arr[order], pos[order]
    touch = (ss[1:] == ss[:-1]) & (pp[1:] - pp[:-1] <= b - a)
    if not touch.any():
        return _empty_overlaps, merged
    i1, i2 = order[:-1][touch], order[1:][touch]
    log.info("%d overlapping event windows on the same series (overlap=%r)", len(i1), overlap)
    table = partial(_overlap_table, pairs, i1, i2, pos[i2] - pos[i1], overlap)
    if overlap != "keep":
        _cluster(pairs, order, touch, overlap, reason, detail, merged)
    return table, merged


def _cluster(pairs, order, touch, overlap, reason, detail, merged) -> None:
    """Clusters of chained overlaps: keep the first event of each, exclude the rest."""
    eid = pairs["event_id"].to_numpy()
    new_cluster = np.concatenate([[True], ~touch])
    cluster = np.cumsum(new_cluster) - 1
    first = order[new_cluster][cluster]
    later = ~new_cluster
    code = "overlap" if overlap == "drop" else "merged"
    drop = order[later]
    reason[drop] = code
    word = "overlaps the window of" if overlap == "drop" else "merged into"
    detail[drop] = [f"{word} event {eid[f]!r} on the same series" for f in first[later]]
    if overlap == "merge":
        for f, x in zip(first[later], drop):
            merged[f] = f"{merged[f]}+{eid[x]}" if f in merged else f"{eid[f]}+{eid[x]}"


def _is_str_col(col: pd.Series) -> bool:
    """True for pandas' default string dtype (NaN for missing)."""
    return isinstance(col.dtype, pd.StringDtype) and col.dtype.na_value is np.nan


def _take(col: pd.Series, idx: np.ndarray):
    """``col.to_numpy()[idx]`` without turning Arrow-backed strings into Python objects."""
    if isinstance(col.dtype, pd.StringDtype):
        return col.array.take(idx)
    return col.to_numpy()[idx]


def _compact_rows(mat: np.ndarray, rows: np.ndarray, step: int = 4096) -> np.ndarray:
    """``mat[rows]`` for ascending ``rows``, written in place into the first rows of ``mat``.

    Returns a view of ``mat`` (no second matrix: only ``step`` rows are copied at a time).
    """
    n = len(rows)
    if n == mat.shape[0]:
        return mat
    for j0 in range(0, n, step):
        r = rows[j0 : j0 + step]
        mat[j0 : j0 + len(r)] = mat[r]
    return mat[:n]
