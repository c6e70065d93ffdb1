"""Vectorised event-study engine: window gathering, prefix-sum estimation, normal-return models.

Everything here works on plain numpy arrays; :mod:`backtests.study` turns DataFrames into these
arrays and the results back into DataFrames.

Layout
------
A *panel* is a ``(T, S)`` float matrix of changes (NaN = missing) over ``T`` calendar rows and
``S`` series. Under ``calendar="index"`` every row is a trading day of every series; under
``calendar="observed"`` each series is first *compressed* to its own non-missing rows, so that
relative day ``k`` is the ``k``-th own observation after day 0. Each block of series is NaN-padded
before and after, so that every window of every pair can be gathered with plain index arithmetic
(``pos + offsets``) and no bounds checks.

Estimation-window moments (count, sums of x, x^2, m, m m', x m) come from prefix sums along the
calendar, so the cost per pair does not depend on the estimation length. Under the index
calendar the benchmark is one vector shared by every series: its count, m and m m' sums are
shared prefix sums minus a sparse correction for the cells where x is missing, and only the x,
x^2 and x m prefix sums are per series. Series are processed in blocks of columns (a loop over
*blocks*, never over events or series): the event-window work (W days per pair) runs on a whole
block at once, the estimation-window residuals (L days per pair) in sub-chunks, so temporaries stay
small. Every per-pair output is written into preallocated arrays and every statistic that needs
estimation-window residuals (Brown-Warner, generalised sign, Corrado, Kolari-Pynnonen, placebo)
or daily SARs (Patell, BMP) is *accumulated* per group inside the block loop, never stored for
all pairs. Within-pair ranks (Corrado) come from one vectorised sort of integer keys per
sub-chunk, scattered to per-group column sums with ``bincount``.

Numerics: before the prefix sums every series is centred on its own mean over the block and the
benchmark on its mean (over the calendar when shared, over the block otherwise), so moments do not
lose digits when a series has a large level; the results are identical (to rounding) to a direct
least-squares fit on each estimation window.

Compiled path (:mod:`backtests._kernels`, when numba is installed; ``raw``, ``mean`` and
one-benchmark ``market`` models): pairs sorted by series are split over threads that release
the GIL. Each pair's estimation window is read once from its column (sums shifted by the
series' means, then the fit), its residuals once more (SSR from the residuals, Brown-Warner sums
in the same pass), then its event window. Kolari-Pynnonen's day sums are reduced on the fly to
the lagged cross sums it needs (a ring of day-0 rows), so no rows x days accumulator is kept.
Both paths agree to ~1e-13 and are tested against the same naive per-event oracle.
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy import sparse

log = logging.getLogger(__name__)

try:  # compiled per-pair kernels (optional dependency); the numpy path below is the fallback
    from backtests import _kernels
except ImportError:  # pragma: no cover - numba not installed
    _kernels = None

__all__ = [
    "EngineResult",
    "EstimationFit",
    "ar_day_stats",
    "average_ranks",
    "inf_to_nan",
    "locate_day0",
    "numba_enabled",
    "run_engine",
]

# reason codes written by the engine (study.py adds the input-side ones)
SHORT_ESTIMATION = "short_estimation"
NONPOSITIVE_VARIANCE = "nonpositive_variance"
SINGULAR_BENCHMARK = "singular_benchmark"
MISSING_IN_WINDOW = "missing_in_window"

# a block holds at most this many calendar cells (rows x series) per temporary matrix
_BLOCK_CELLS = 250000
# at most this many pair x day cells per gather chunk inside a block (temporaries ~2 MB)
_CHUNK_CELLS = 250_000
# at most this many pair x day cells per estimation-window sub-chunk (temporaries ~1 MB)
_EST_CELLS = 120_000
# relative threshold of the singular-benchmark check (benchmark variance vs its mean square)
_VAR_RTOL = 1e-10
# a residual variance below this share of the window's mean square (about zero) is zero: the
# residuals are rounding (sigma below 1e-12 of the values' size)
_ZERO_VAR = 1e-24
# prefix sums resolve a window's variance down to about this share of its mean square about the
# series' centre; below, the pair is fitted again exactly from its values
_PREFIX_RESOLVES = 1e-6
# Kolari-Pynnonen day accumulator kept dense up to this many cells (groups x rows x L)
_KP_DENSE_CELLS = 4_000_000
# compiled path: pairs per thread below which one thread is used, and the thread cap
_KERNEL_MIN_PAIRS_PER_THREAD = 5_000
_KERNEL_MAX_THREADS = 4
# reason codes of backtests._kernels (R_OK, R_SHORT, R_SINGULAR, R_BADVAR, R_GAP)
_REASON_OF_CODE = np.array(
    ["", SHORT_ESTIMATION, SINGULAR_BENCHMARK, NONPOSITIVE_VARIANCE, MISSING_IN_WINDOW], dtype=object
)


def numba_enabled() -> bool:
    """Whether the compiled (numba) kernels are available and not disabled.

    ``NEWSBT_NO_NUMBA=1`` in the environment forces the numpy path (read at every call).
    """
    return _kernels is not None and os.environ.get("NEWSBT_NO_NUMBA", "") not in ("1", "true", "yes")


def average_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks within each row (1 = smallest), ties averaged, NaN kept as NaN.

    Parameters
    ----------
    values : ndarray, shape (n, m)
        Any unit.

    Returns
    -------
    ndarray, shape (n, m)
        Average ranks among the non-missing values of each row (dimensionless).
    """
    v = np.asarray(values, dtype=float)
    n, m = v.shape
    if n == 0 or m == 0:
        return np.full_like(v, np.nan)
    nan = np.isnan(v)
    filled = np.where(nan, np.inf, v)
    order = np.argsort(filled, axis=1)
    srt = np.take_along_axis(filled, order, axis=1)
    # runs of equal values within each row (the +inf fill of NaNs is masked at the end)
    new = np.ones((n, m), dtype=bool)
    new[:, 1:] = srt[:, 1:] != srt[:, :-1]
    new[:, 1:] |= np.isinf(srt[:, 1:])
    if new.all():  # no ties: ranks are the positions in sorted order
        ranks_sorted = np.broadcast_to(np.arange(1.0, m + 1.0), (n, m))
    else:
        flat_new = new.ravel()
        run_id = np.cumsum(flat_new) - 1
        pos = np.tile(np.arange(m, dtype=float), n)
        starts = pos[flat_new]
        counts = np.bincount(run_id)
        avg = starts + (counts - 1) / 2.0 + 1.0
        ranks_sorted = avg[run_id].reshape(n, m)
    out = np.empty((n, m))
    np.put_along_axis(out, order, ranks_sorted, axis=1)
    out[nan] = np.nan
    return out


_DAY_NS = 86_400 * 10**9


def _search_days(dates_ns: np.ndarray, date_ns: np.ndarray) -> np.ndarray:
    """``np.searchsorted(dates_ns, date_ns, side="left")`` for needles at midnight, through a
    table of the answer for every calendar day of the data (one look-up per needle instead of a
    binary search: several times faster for many unsorted needles)."""
    if len(dates_ns) == 0 or len(date_ns) < 1000 or (date_ns % _DAY_NS != 0).any():
        return np.searchsorted(dates_ns, date_ns, side="left")
    lo = int(dates_ns[0] // _DAY_NS)
    span = int(dates_ns[-1] // _DAY_NS) + 1 - lo
    if span > 4 * len(date_ns) + 100_000:  # sparse data over a long span: binary search
        return np.searchsorted(dates_ns, date_ns, side="left")
    table = np.searchsorted(dates_ns, (lo + np.arange(span + 1, dtype=np.int64)) * _DAY_NS, side="left")
    return table[np.clip(date_ns // _DAY_NS - lo, 0, span)]


def locate_day0(
    valid: np.ndarray, dates_ns: np.ndarray, s: np.ndarray, date_ns: np.ndarray, calendar: str
) -> tuple[np.ndarray, np.ndarray]:
    """Day-0 position of each pair in its series' calendar.

    Day 0 is the event date when it is a trading day of the series, else the next trading day.

    Parameters
    ----------
    valid : ndarray of bool, shape (T, S)
        Non-missing cells of the panel.
    dates_ns : ndarray of int64, shape (T,)
        Calendar dates (ns since epoch), ascending.
    s : ndarray of int, shape (N,)
        Series column of each pair.
    date_ns : ndarray of int64, shape (N,)
        Event date of each pair (ns since epoch, midnight).
    calendar : {"index", "observed"}

    Returns
    -------
    pos : ndarray of int64, shape (N,)
        Position of day 0 in the series' calendar (row under "index", own-observation count
        under "observed"); -1 where the date is outside the data.
    n_obs : ndarray of int64, shape (S,)
        Length of each series' calendar (trading days).
    """
    t, n_series = valid.shape
    g = _search_days(dates_ns, date_ns)
    if calendar == "index":
        n_obs = np.full(n_series, t, dtype=np.int64)
        pos = g.astype(np.int64)
        outside = (g >= t) | (date_ns < dates_ns[0]) if t else np.ones(len(s), dtype=bool)
        pos[outside] = -1
        return pos, n_obs
    n_obs = valid.sum(axis=0).astype(np.int64)
    ss, rr = np.nonzero(valid.T)  # sorted by series, then row
    keys = ss.astype(np.int64) * (t + 1) + rr
    start = np.concatenate([[0], np.cumsum(n_obs)[:-1]])
    idx = np.searchsorted(keys, s.astype(np.int64) * (t + 1) + g, side="left")
    pos = idx - start[s]
    first_row = np.where(n_obs > 0, rr[np.minimum(start, len(rr) - 1)] if len(rr) else 0, t)
    first_date = np.where(
        first_row < t, dates_ns[np.minimum(first_row, max(t - 1, 0))], np.iinfo(np.int64).max
    )
    outside = (pos >= n_obs[s]) | (date_ns < first_date[s])
    pos = np.where(outside, -1, pos).astype(np.int64)
    return pos, n_obs


@dataclass
class EstimationFit:
    """Per-pair estimation results (arrays of length N; NaN where not estimated)."""

    n_est: np.ndarray
    sigma: np.ndarray
    dof: np.ndarray
    params: np.ndarray  # (N, 1 + k): intercept (mean / alpha) then slopes, in original units
    ssr: np.ndarray


@dataclass
class EngineResult:
    """Arrays produced by :func:`run_engine` (pairs in the order given)."""

    fit: EstimationFit
    reason: np.ndarray  # object array of reason codes ("" = kept)
    n_missing: np.ndarray  # missing ARs in the event window
    ar: np.ndarray  # (N, W)
    sar: np.ndarray  # (N, W) only with need "sar_pairs", else (0, W)
    car: np.ndarray  # (N, K) CAR per window
    car_se: np.ndarray  # (N, K)
    scar: np.ndarray  # (N, K) sum SAR / sqrt(T_i)
    car_days: np.ndarray  # (N, K) number of ARs summed
    rows: np.ndarray  # (N, W) calendar row of each window day (-1 outside)
    acc: dict = field(default_factory=dict)  # per-group accumulators
    path: str = "numpy"  # "numba" when the compiled kernels ran


def run_engine(
    values: np.ndarray,
    bench: np.ndarray | None,
    s: np.ndarray,
    pos: np.ndarray,
    groups: np.ndarray,
    n_groups: int,
    *,
    calendar: str,
    window: tuple[int, int],
    estimation: tuple[int, int],
    model: str,
    car_windows: list[tuple[int, int]],
    min_estimation: int,
    allow_gaps: bool,
    need: frozenset[str],
    excl_windows: tuple[np.ndarray, np.ndarray] | None = None,
    placebo_draws: int = 0,
    seed: int = 0,
) -> EngineResult:
    """Fit the normal-return model of every pair and gather its abnormal returns.

    Parameters
    ----------
    values : ndarray, shape (T, S)
        Changes in the caller's unit (NaN = missing).
    bench : ndarray, shape (T, k) or None
        Benchmark changes for ``market`` (k = 1) and ``factor`` models, same unit as ``values``.
    s, pos : ndarray of int, shape (N,)
        Series column and day-0 position (in the series' calendar) of each pair; every pair's
        event window must lie inside its series' calendar.
    groups : ndarray of int, shape (N,)
        Group code (0 .. n_groups - 1) of each pair.
    calendar : {"index", "observed"}
    window, estimation : tuple of int
        Inclusive relative trading days; ``estimation[1] < window[0]``.
    model : {"raw", "mean", "market", "factor"}
    car_windows : list of (int, int)
        CAR windows inside ``window`` (the first is ``window`` itself).
    min_estimation : int
        Minimum number of usable estimation-window observations.
    allow_gaps : bool
        Keep pairs with missing abnormal returns inside the event window.
    need : frozenset of str
        Accumulators to build: "bw", "gsign", "rank", "kp", "kp_pairs", "placebo", "sar"
        (daily SAR moments per group); "sar_pairs" also keeps the (N, W) SAR matrix.
    excl_windows : (ndarray, ndarray), optional
        Series and day-0 position of every real event (placebo days avoid their windows).
    placebo_draws : int
        Number of pseudo-event sets for the placebo test.
    seed : int
        Seed of the placebo draws.

    Returns
    -------
    EngineResult
    """
    t_rows, n_series = values.shape
    a, b = window
    c, d = estimation
    w_len = b - a + 1
    l_nom = d - c + 1
    k = 0 if bench is None else bench.shape[1]
    n = len(s)
    n_win = len(car_windows)
    pad_b = max(0, -min(a, c))
    pad_a = max(0, b, d)
    n_rows = t_rows + pad_b + pad_a

    do_placebo = "placebo" in need and placebo_draws > 0
    use_kernel = numba_enabled() and model in ("raw", "mean", "market") and k <= 1 and not do_placebo
    # the kernel writes every cell of the per-pair outputs: no need to fill them first
    full = (lambda shape, v: np.empty(shape)) if use_kernel else np.full
    fit = EstimationFit(
        n_est=np.zeros(n, dtype=np.int64),
        sigma=full(n, np.nan),
        dof=full(n, np.nan),
        params=np.full((n, 1 + k), np.nan),
        ssr=full(n, np.nan),
    )
    reason = np.full(n, "", dtype=object)
    n_missing = np.zeros(n, dtype=np.int64)
    ar = full((n, w_len), np.nan)
    sar = np.full((n, w_len) if "sar_pairs" in need else (0, w_len), np.nan)
    car = full((n, n_win), np.nan)
    car_se = full((n, n_win), np.nan)
    scar = full((n, n_win), np.nan)
    car_days = np.zeros((n, n_win), dtype=np.int64)
    rows_out = np.full((n, w_len if "kp_pairs" in need else 0), -1, dtype=np.int64)

    acc: dict = {}
    if "bw" in need:
        acc["bw_sum"] = np.zeros((n_groups, l_nom))
        acc["bw_cnt"] = np.zeros((n_groups, l_nom))
    if "gsign" in need:
        acc["gs_pos"] = np.zeros(n_groups)
        acc["gs_n"] = np.zeros(n_groups)
    if "rank" in need:
        # one accumulator per CAR window: deviations over estimation + window days
        acc["rank_sum"] = [np.zeros((n_groups, l_nom + (w1 - w0 + 1))) for (w0, w1) in car_windows]
        acc["rank_cnt"] = [np.zeros((n_groups, l_nom + (w1 - w0 + 1))) for (w0, w1) in car_windows]
    if "kp" in need and use_kernel:
        # compiled path: lagged cross sums of the day-0 row sums (kp_lag_sums), self sums
        acc["kp_lags"] = None
        acc["kp_self"] = np.zeros(n_groups)
    elif "kp" in need:
        # sum of u over the pairs with the same key = group * n_rows + day-0 row: dense when
        # small, else a sorted (keys, sums) table merged after every chunk
        acc["kp_nrows"] = n_rows
        acc["kp_dense"] = (
            np.zeros((n_groups * n_rows, l_nom)) if n_groups * n_rows * l_nom <= _KP_DENSE_CELLS else None
        )
        acc["kp_keys"], acc["kp_sums"] = np.zeros(0, dtype=np.int64), np.zeros((0, l_nom))
        acc["kp_self"] = np.zeros(n_groups)
    if "kp_pairs" in need:
        acc["kp_u"] = np.zeros((n, l_nom))
        acc["kp_rows"] = np.full((n, l_nom), -1, dtype=np.int64)
    if "sar" in need:
        # daily SAR moments per group and relative day (Patell, BMP): count, sum, sum of
        # squares, positives, and sum of df_i / (df_i - 2) over the pairs with that day
        for key in ("sar_n", "sar_s1", "sar_s2", "sar_pos", "sar_var"):
            acc[key] = np.zeros((n_groups, w_len))
    if do_placebo:
        acc["pl_sum"] = np.zeros((n_groups, placebo_draws, w_len))
        acc["pl_n"] = np.zeros((n_groups, placebo_draws))
        acc["pl_cand"] = np.zeros(n, dtype=np.int64)
    win_off = np.arange(a, b + 1)
    est_off = np.arange(c, d + 1)

    path = "numba" if use_kernel else "numpy"
    if n == 0:
        return EngineResult(fit, reason, n_missing, ar, sar, car, car_se, scar, car_days, rows_out, acc, path)

    if use_kernel:
        n_inf = _run_kernel(values, bench, s, pos, groups, n_groups, calendar=calendar, window=window,
                    estimation=estimation, model=model, car_windows=car_windows,
                    min_estimation=min_estimation, allow_gaps=allow_gaps, need=need,
                    fit=fit, reason=reason, n_missing=n_missing, ar=ar, sar=sar,
                    car=car, car_se=car_se, scar=scar, car_days=car_days, rows_out=rows_out,
                    acc=acc)  # fmt: skip
        if n_inf:  # rare: infinite values in the used series are missing data; run again
            return run_engine(inf_to_nan(values), bench, s, pos, groups, n_groups, calendar=calendar,
                              window=window, estimation=estimation, model=model,
                              car_windows=car_windows, min_estimation=min_estimation,
                              allow_gaps=allow_gaps, need=need, excl_windows=excl_windows,
                              placebo_draws=placebo_draws, seed=seed)  # fmt: skip
        return EngineResult(
            fit, reason, n_missing, ar, sar, car, car_se, scar, car_days, rows_out, acc, "numba"
        )

    if np.isinf(values).any():
        values = inf_to_nan(values)
    # --- blocks of series columns -------------------------------------------------------------
    used = np.unique(s)
    per_block = max(1, _BLOCK_CELLS // max(n_rows, 1))
    order_pairs = np.argsort(s, kind="stable")
    s_sorted = s[order_pairs]
    for b0 in range(0, len(used), per_block):
        cols = used[b0 : b0 + per_block]
        lo_i = np.searchsorted(s_sorted, cols[0], side="left")
        hi_i = np.searchsorted(s_sorted, cols[-1], side="right")
        idx_pairs = order_pairs[lo_i:hi_i]
        with np.errstate(divide="ignore", invalid="ignore"):
            _run_block(
                values,
                bench,
                cols,
                idx_pairs,
                s,
                pos,
                groups,
                n_groups=n_groups,
                calendar=calendar,
                pad_b=pad_b,
                pad_a=pad_a,
                window=window,
                estimation=estimation,
                model=model,
                car_windows=car_windows,
                min_estimation=min_estimation,
                allow_gaps=allow_gaps,
                need=need,
                fit=fit,
                reason=reason,
                n_missing=n_missing,
                ar=ar,
                sar=sar,
                car=car,
                car_se=car_se,
                scar=scar,
                car_days=car_days,
                rows_out=rows_out,
                acc=acc,
                win_off=win_off,
                est_off=est_off,
                excl_windows=excl_windows,
                placebo_draws=placebo_draws if do_placebo else 0,
                seed=seed,
                block_id=b0,
            )
    return EngineResult(fit, reason, n_missing, ar, sar, car, car_se, scar, car_days, rows_out, acc)


def ar_day_stats(ar: np.ndarray, rows: np.ndarray | slice | None = None) -> dict[str, np.ndarray]:
    """Per relative day statistics of abnormal returns (one group's rows of the AR matrix).

    Parameters
    ----------
    ar : ndarray, shape (N, W)
        Abnormal returns (input unit; NaN = missing).
    rows : ndarray of int or slice, optional
        The rows to use (default: all).

    Returns
    -------
    dict of ndarray, each (W,)
        ``n`` (pairs with that day), ``mean`` (AAR) and ``sd`` (sample sd, ddof 1) of the ARs,
        ``n_pos`` (positive ARs), ``caar`` (mean over the pairs started by that day of the
        cumulative AR from the window start, missing days counting 0) and ``caar_se`` (sample
        sd of those cumulative ARs over the square root of their number). Input unit.
    """
    if rows is None:
        rows = slice(None)
    if numba_enabled():
        idx = np.arange(ar.shape[0])[rows] if isinstance(rows, slice) else np.asarray(rows, np.int64)
        out = _kernels.ar_day_stats(ar, idx)
        return dict(zip(("n", "mean", "sd", "n_pos", "caar", "caar_se"), out))
    sub = ar[rows]
    n, nw = sub.shape
    res = {key: np.full(nw, np.nan) for key in ("mean", "sd", "caar", "caar_se")}
    res["n"] = (~np.isnan(sub)).sum(axis=0).astype(float)
    res["n_pos"] = (sub > 0).sum(axis=0).astype(float)
    running = np.zeros(n)
    started = np.zeros(n, dtype=bool)
    with np.errstate(invalid="ignore", divide="ignore"):
        for j in range(nw):  # loop over relative days, never over events
            v = sub[:, j]
            ok = ~np.isnan(v)
            vals = v[ok]
            if len(vals):
                res["mean"][j] = vals.mean()
                running[ok] += vals
            if len(vals) > 1:
                res["sd"][j] = vals.std(ddof=1)
            started |= ok
            cum = running[started]
            if len(cum):
                res["caar"][j] = cum.mean()
            if len(cum) > 1:
                res["caar_se"][j] = cum.std(ddof=1) / np.sqrt(len(cum))
    return res


def _n_series_max(s: np.ndarray) -> int:
    """Largest series code in ``s`` (-1 when empty)."""
    return int(s.max()) if len(s) else -1


def inf_to_nan(values: np.ndarray) -> np.ndarray:
    """A copy of ``values`` with infinite values as NaN (missing), logged."""
    bad = np.isinf(values)
    log.info("changes: %d infinite values treated as missing", int(bad.sum()))
    return np.where(bad, np.nan, values)


def _run_kernel(values, bench, s, pos, groups, n_groups, *, calendar, window, estimation, model,
                car_windows, min_estimation, allow_gaps, need, fit, reason, n_missing,
                ar, sar, car, car_se, scar, car_days, rows_out, acc) -> int:  # fmt: skip
    """Compiled path of :func:`run_engine` (``raw``, ``mean``, one-benchmark ``market``).

    Returns the number of infinite values found in the series of the pairs (0: the results are
    final; otherwise the caller treats them as missing and runs again).

    Pairs are sorted by series and split into contiguous slices, one per thread (the kernels
    release the GIL); every thread adds to its own accumulators, summed at the end.
    """
    a, b = window
    c, d = estimation
    w_len = b - a + 1
    l_nom = d - c + 1
    n = len(s)
    n_win = len(car_windows)
    x = values if values.dtype == np.float64 else values.astype(np.float64)
    if not (x.flags.c_contiguous or x.flags.f_contiguous):
        x = np.ascontiguousarray(x)
    has_m = model == "market"
    m = np.ascontiguousarray(bench[:, 0], dtype=np.float64) if has_m else np.zeros(1)
    observed = calendar == "observed"
    gmean = float(np.nanmean(m)) if has_m and not np.isnan(m).all() else 0.0
    n_inf = np.zeros(x.shape[1], dtype=np.int64)  # per series, written by the kernel
    if observed:
        ss, rr = np.nonzero(~np.isnan(x.T))  # sorted by series, then row
        n_obs = np.bincount(ss, minlength=x.shape[1]).astype(np.int64)
        obs_start = np.zeros(x.shape[1] + 1, dtype=np.int64)
        np.cumsum(n_obs, out=obs_start[1:])
        obs_rows = rr.astype(np.int64)
        del ss
    else:
        n_obs = np.zeros(1, dtype=np.int64)
        obs_start = np.zeros(1, dtype=np.int64)
        obs_rows = np.zeros(1, dtype=np.int64)
    model_code = {"raw": 0, "mean": 1, "market": 2}[model]
    win_lo = np.array([w0 for w0, _ in car_windows], dtype=np.int64)
    win_hi = np.array([w1 for _, w1 in car_windows], dtype=np.int64)
    widths = [l_nom + w1 - w0 + 1 for w0, w1 in car_windows]
    flags = {key: key in need for key in ("sar", "sar_pairs", "bw", "gsign", "rank", "kp", "kp_pairs")}
    do_rows = rows_out.shape[1] > 0
    rcode = np.zeros(n, dtype=np.int8)
    kp_u = acc["kp_u"] if flags["kp_pairs"] else np.zeros((1, 1))
    kp_rows = acc["kp_rows"] if flags["kp_pairs"] else np.zeros((1, 1), dtype=np.int64)
    s64 = np.asarray(s, dtype=np.int64)
    p64 = np.asarray(pos, dtype=np.int64)
    g64 = np.asarray(groups, dtype=np.int64)

    def new_acc():
        z = np.zeros
        return [
            z((5, n_groups, w_len)) if flags["sar"] else z((5, 1, 1)),
            z((n_groups, l_nom)) if flags["bw"] else z((1, 1)),
            z((n_groups, l_nom)) if flags["bw"] else z((1, 1)),
            z((2, n_groups)),
            [z((n_groups, wd)) for wd in widths] if flags["rank"] else [],
            [z((n_groups, wd)) for wd in widths] if flags["rank"] else [],
        ]

    sar_dummy = np.zeros((1, 1))
    rows_dummy = np.zeros((1, 1), dtype=np.int64)
    # with ranks: pairs in sub-chunks, their estimation residuals ranked with one sort per chunk
    chunk = max(1, _EST_CELLS // (l_nom + w_len)) if flags["rank"] else n

    def work(idx, accs):
        e_o = np.empty((min(chunk, len(idx)), l_nom)) if flags["rank"] else np.zeros((1, 1))
        for h0 in range(0, len(idx), chunk):
            ix = idx[h0 : h0 + chunk]
            _kernels.pairs_kernel(
                x, m, has_m, observed, obs_rows, obs_start, n_obs, s64, p64, g64, ix,
                a, b, c, d, model_code, int(min_estimation), bool(allow_gaps),
                gmean, n_inf, win_lo, win_hi,
                flags["sar"], flags["sar_pairs"], flags["bw"], flags["gsign"], flags["rank"],
                flags["kp_pairs"], do_rows,
                fit.n_est, fit.sigma, fit.dof, fit.params, fit.ssr, rcode, n_missing,
                ar, sar if flags["sar_pairs"] else sar_dummy, car, car_se, scar, car_days,
                rows_out if do_rows else rows_dummy,
                accs[0], accs[1], accs[2], accs[3], e_o, kp_u, kp_rows,
            )  # fmt: skip
            if flags["rank"]:
                kept = rcode[ix] == 0
                if not kept.any():
                    continue
                ek = e_o[: len(ix)][kept]
                ik = ix[kept]
                gk = g64[ik]
                for wi, (w0, w1) in enumerate(car_windows):
                    f = np.concatenate([ek, ar[ik, w0 - a : w1 - a + 1]], axis=1)
                    sums, cnts = _rank_dev_sums(f, gk, n_groups)
                    accs[4][wi] += sums
                    accs[5][wi] += cnts

    # by series (a radix sort when the codes fit in 16 bits), input order within a series;
    # event_study already passes its pairs in that order, then there is nothing to sort
    if n < 2 or (s64[1:] >= s64[:-1]).all():
        order = np.arange(n)
    else:
        order = np.argsort(s64.astype(np.int16) if _n_series_max(s64) < 2**15 else s64, kind="stable")
    n_thr = max(1, min(_KERNEL_MAX_THREADS, os.cpu_count() or 1, n // _KERNEL_MIN_PAIRS_PER_THREAD))
    parts = np.array_split(order, n_thr)
    accs = [new_acc() for _ in parts]
    if len(parts) == 1:
        work(parts[0], accs[0])
    else:
        with ThreadPoolExecutor(len(parts)) as ex:
            list(ex.map(work, parts, accs))
    del order, parts
    tot = accs[0]
    for other in accs[1:]:
        for j in range(6):
            if isinstance(tot[j], list):
                for wi in range(len(tot[j])):
                    tot[j][wi] += other[j][wi]
            else:
                tot[j] += other[j]
    sar_acc, bw_sum, bw_cnt, gs_acc, r_sum, r_cnt = tot
    if flags["sar"]:
        for j, key in enumerate(("sar_n", "sar_s1", "sar_s2", "sar_pos", "sar_var")):
            acc[key] += sar_acc[j]
    if flags["bw"]:
        acc["bw_sum"] += bw_sum
        acc["bw_cnt"] += bw_cnt
    if flags["gsign"]:
        acc["gs_pos"] += gs_acc[0]
        acc["gs_n"] += gs_acc[1]
    if flags["rank"]:
        for wi in range(n_win):
            acc["rank_sum"][wi] += r_sum[wi]
            acc["rank_cnt"][wi] += r_cnt[wi]
    if flags["kp"]:
        # Kolari-Pynnonen (index calendar): one more read of the kept pairs' estimation windows
        # in day-0 order, keeping only as many day-0 rows as the longest tested window
        n_lags = max(1, min(max(w1 - w0 + 1 for w0, w1 in car_windows), l_nom))
        kept_p = np.flatnonzero(rcode == 0)
        acc["kp_lags"] = np.zeros((n_groups, n_lags))
        acc["kp_self"] = np.zeros(n_groups)
        if len(kept_p):
            icpt = np.ascontiguousarray(fit.params[:, 0])
            beta = np.ascontiguousarray(fit.params[:, 1]) if model == "market" else np.zeros(n)
            # one key per (group, day-0 row), groups at least n_lags rows apart: the kernel keeps
            # one ring of rows whatever the number of groups
            span = int(p64.max()) + n_lags + 1
            rowkey = g64 * span + p64
            kept_p = kept_p[np.argsort(rowkey[kept_p], kind="stable")]
            k_sorted = rowkey[kept_p]
            # threads take consecutive ranges of keys, each starting n_lags - 1 keys early
            cuts = sorted({int(k_sorted[len(k_sorted) * j // n_thr]) for j in range(1, n_thr)})
            emit = [np.iinfo(np.int64).min, *cuts]
            ends = [*cuts, np.iinfo(np.int64).max]

            def lag_part(j):
                lo_i = np.searchsorted(k_sorted, emit[j] - (n_lags - 1) if j else emit[j], side="left")
                hi_i = np.searchsorted(k_sorted, ends[j], side="left")
                return _kernels.kp_lag_sums(
                    x, m, has_m, s64, p64, g64, rowkey, kept_p[lo_i:hi_i], icpt, beta, fit.ssr,
                    fit.n_est, c, l_nom, n_lags, n_groups, emit[j],
                )  # fmt: skip

            if len(emit) == 1:
                outs = [lag_part(0)]
            else:
                with ThreadPoolExecutor(len(emit)) as ex:
                    outs = list(ex.map(lag_part, range(len(emit))))
            for out_sd, out_self in outs:
                acc["kp_lags"] += out_sd
                acc["kp_self"] += out_self
    reason[:] = _REASON_OF_CODE[rcode]
    return int(n_inf.sum())


def kp_group(acc: dict, g: int) -> tuple[np.ndarray, np.ndarray]:
    """Day-0 rows (sorted) and summed standardised estimation residuals of group ``g``."""
    n_r = acc["kp_nrows"]
    if acc.get("kp_dense") is not None:  # every row of the group (a view, zeros where no event)
        return np.arange(n_r), acc["kp_dense"][g * n_r : (g + 1) * n_r]
    sel = acc["kp_keys"] // n_r == g
    return acc["kp_keys"][sel] % n_r, acc["kp_sums"][sel]


@dataclass
class _Block:
    """Working matrices of one block of series, series-major ``(nb, R)`` (padded, centred).

    Under the index calendar the benchmark is kept as one shared padded vector ``(R,)`` and the
    calendar rows are implicit.
    """

    x: np.ndarray  # (nb, R) centred values, NaN where unusable
    m: list  # k arrays: (nb, R) raw benchmark, or (R,) shared raw benchmark
    shared: bool  # index calendar: m shared, rows implicit
    rows: np.ndarray | None  # (nb, R) calendar row of each cell (-1 padding), None if implicit
    pad_b: int
    cx: np.ndarray  # (nb,) centring constants
    cm: np.ndarray  # (k, nb)
    p_n: np.ndarray | None  # prefix sums (nb, R + 1); None when shared (see below)
    p_x: np.ndarray
    p_xx: np.ndarray
    p_m: list | None
    p_mm: dict | None
    p_xm: list
    # index calendar: count, m and m m' prefix sums are shared vectors (R + 1,) over the rows
    # where the benchmark is present, minus the cells where x is missing (a sorted sparse list)
    sh: dict | None = None


def _prefix(a: np.ndarray) -> np.ndarray:
    """Prefix sums along the last axis with a leading 0 column: (nb, R) -> (nb, R + 1)."""
    out = np.empty((*a.shape[:-1], a.shape[-1] + 1), dtype=float)
    out[..., 0] = 0.0
    np.cumsum(a, axis=-1, out=out[..., 1:])
    return out


def _build_block(values, bench, cols, calendar, pad_b, pad_a, model) -> _Block:
    t_rows = values.shape[0]
    k = 0 if bench is None else bench.shape[1]
    xt = np.ascontiguousarray(values[:, cols].T)  # (nb, T)
    nb = xt.shape[0]
    r_tot = t_rows + pad_b + pad_a
    if calendar != "observed":
        return _build_block_shared(xt, bench, k, pad_b, r_tot, model)
    xp = np.full((nb, r_tot), np.nan)
    order = np.argsort(np.isnan(xt), axis=1, kind="stable")
    xs = np.take_along_axis(xt, order, axis=1)
    n_obs = (~np.isnan(xt)).sum(axis=1)
    present = np.arange(t_rows)[None, :] < n_obs[:, None]
    xp[:, pad_b : pad_b + t_rows] = xs
    rp = np.full((nb, r_tot), -1, dtype=np.int64)
    rp[:, pad_b : pad_b + t_rows] = np.where(present, order, -1)
    mp = []
    for j in range(k):
        v = np.full((nb, r_tot), np.nan)
        v[:, pad_b : pad_b + t_rows] = np.where(present, bench[:, j][order], np.nan)
        mp.append(v)
    ok = ~np.isnan(xp)
    for mj in mp:
        ok &= ~np.isnan(mj)
    cnt = ok.sum(axis=1)
    safe = np.maximum(cnt, 1)
    cx = np.zeros(nb) if model == "raw" else np.where(ok, xp, 0.0).sum(axis=1) / safe
    cm = np.array([np.where(ok, mj, 0.0).sum(axis=1) / safe for mj in mp]).reshape(k, nb)
    x0 = np.where(ok, xp - cx[:, None], 0.0)
    m0 = [np.where(ok, mj - cm[j][:, None], 0.0) for j, mj in enumerate(mp)]
    p_n = _prefix(ok.astype(float))
    p_x = _prefix(x0)
    p_xx = _prefix(x0 * x0)
    p_m = [_prefix(mj) for mj in m0]
    p_mm = {(i, j): _prefix(m0[i] * m0[j]) for i in range(k) for j in range(i, k)}
    p_xm = [_prefix(x0 * mj) for mj in m0]
    x0[~ok] = np.nan  # cells not usable in the fit propagate as missing ARs
    return _Block(x0, mp, False, rp, pad_b, cx, cm, p_n, p_x, p_xx, p_m, p_mm, p_xm)


def _build_block_shared(xt, bench, k, pad_b, r_tot, model) -> _Block:
    """Index calendar: the benchmark is one padded vector shared by every series of the block.

    The series are centred on their own mean over the usable rows, the benchmark on its mean over
    the calendar. Only the x-dependent prefix sums (x, x^2, x m) are per series; the count, m and
    m m' sums over an estimation window are the shared prefix sums minus the (few) cells where x
    is missing and the benchmark is not.
    """
    nb, t_rows = xt.shape
    rows = slice(pad_b, pad_b + t_rows)
    mok = np.zeros(r_tot, dtype=bool)
    mok[rows] = True
    mp = []
    for j in range(k):
        v = np.full(r_tot, np.nan)
        v[rows] = bench[:, j]
        mp.append(v)
        mok &= ~np.isnan(v)
    bad = np.isnan(xt)  # cells not usable in the fit: x or the benchmark missing
    m_all = bool(mok[rows].all())
    if not m_all:
        bad |= ~mok[None, rows]
    cnt = t_rows - bad.sum(axis=1)
    cx = np.zeros(nb) if model == "raw" else np.where(bad, 0.0, xt).sum(axis=1) / np.maximum(cnt, 1)
    n_m = max(int(mok.sum()), 1)
    cmg = np.array([np.where(mok, mj, 0.0).sum() / n_m for mj in mp])
    cm = np.repeat(cmg, nb).reshape(k, nb)
    m0 = [np.where(mok, mj - cmg[j], 0.0) for j, mj in enumerate(mp)]
    x0 = np.zeros((nb, r_tot))
    xin = x0[:, rows]
    np.subtract(xt, cx[:, None], out=xin)
    xin[bad] = 0.0
    p_x = _prefix(x0)
    tmp = np.multiply(x0, x0)
    p_xx = _prefix(tmp)
    p_xm = []
    for mj in m0:
        np.multiply(x0, mj[None, :], out=tmp)
        p_xm.append(_prefix(tmp))
    del tmp
    # cells where the benchmark is present but x is not, sorted by (series, row)
    cc, rr = np.nonzero(bad)
    if not m_all:
        sel = mok[rr + pad_b]
        cc, rr = cc[sel], rr[sel]
    rr = rr + pad_b
    mm_pairs = [(i, j) for i in range(k) for j in range(i, k)]
    sh = {
        "keys": cc * (r_tot + 1) + rr,
        "r1": r_tot + 1,
        "n": _prefix(mok.astype(float)),
        "m": [_prefix(mj) for mj in m0],
        "mm": {ij: _prefix(m0[ij[0]] * m0[ij[1]]) for ij in mm_pairs},
        "c_m": [_prefix(mj[rr]) for mj in m0],
        "c_mm": {ij: _prefix(m0[ij[0]][rr] * m0[ij[1]][rr]) for ij in mm_pairs},
    }
    x0[:, :pad_b] = np.nan
    x0[:, pad_b + t_rows :] = np.nan
    xin[bad] = np.nan  # cells not usable in the fit propagate as missing ARs
    return _Block(x0, mp, True, None, pad_b, cx, cm, None, p_x, p_xx, None, None, p_xm, sh)


def _window_sum(p: np.ndarray, lo: np.ndarray, hi: np.ndarray, col: np.ndarray) -> np.ndarray:
    flat = p.ravel()
    base = col * p.shape[1]
    return flat[base + hi + 1] - flat[base + lo]


def _gather(arr: np.ndarray, ps: np.ndarray, off: np.ndarray, col: np.ndarray) -> np.ndarray:
    """arr (nb, R): values at rows ps + off of each pair's column -> (n, len(off)).

    ``off`` is a run of consecutive relative days, so each pair's window is one contiguous
    segment of the series-major array: rows of a sliding-window view are copied whole.
    """
    start = col * arr.shape[1] + ps + off[0]
    return sliding_window_view(arr.ravel(), len(off))[start]


def _gather_m(blk: _Block, j: int, ps, off, col) -> np.ndarray:
    """Centred benchmark j at rows ps + off (NaN where missing)."""
    if blk.shared:
        raw = sliding_window_view(blk.m[j], len(off))[ps + off[0]]
    else:
        raw = _gather(blk.m[j], ps, off, col)
    return raw - blk.cm[j, col][:, None]


def _gather_rows(blk: _Block, ps, off, col) -> np.ndarray:
    if blk.shared:
        return ps[:, None] + off[None, :] - blk.pad_b
    return _gather(blk.rows, ps, off, col)


def _estimate(blk: _Block, col: np.ndarray, ps: np.ndarray, estimation, model: str, k: int):
    """Estimation-window fit from prefix sums (centred coordinates).

    Returns L, intercept_c, beta (n, k), ssr, smm_inv (n, k, k), mbar (n, k), q (raw second
    moment for the variance threshold).
    """
    c, d = estimation
    lo = ps + c
    hi = ps + d
    sh = blk.sh
    if sh is None:
        n_est = _window_sum(blk.p_n, lo, hi, col)

        def msum(j):
            return _window_sum(blk.p_m[j], lo, hi, col)

        def mmsum(ij):
            return _window_sum(blk.p_mm[ij], lo, hi, col)
    else:
        i_lo = np.searchsorted(sh["keys"], col * sh["r1"] + lo, side="left")
        i_hi = np.searchsorted(sh["keys"], col * sh["r1"] + hi, side="right")
        n_est = (sh["n"][hi + 1] - sh["n"][lo]) - (i_hi - i_lo)

        def msum(j):
            return (sh["m"][j][hi + 1] - sh["m"][j][lo]) - (sh["c_m"][j][i_hi] - sh["c_m"][j][i_lo])

        def mmsum(ij):
            return (sh["mm"][ij][hi + 1] - sh["mm"][ij][lo]) - (sh["c_mm"][ij][i_hi] - sh["c_mm"][ij][i_lo])

    sx = _window_sum(blk.p_x, lo, hi, col)
    sxx = _window_sum(blk.p_xx, lo, hi, col)
    L = np.maximum(n_est, 1.0)
    xbar = sx / L
    beta = np.zeros((len(ps), k))
    smm_inv = np.zeros((len(ps), k, k))
    mbar = np.zeros((len(ps), k))
    singular = np.zeros(len(ps), dtype=bool)
    if model == "raw":
        intercept = np.zeros(len(ps))
        ssr = sxx
    elif model == "mean":
        intercept = xbar
        ssr = sxx - sx * xbar
    else:
        sm = np.stack([msum(j) for j in range(k)], axis=1)
        sxm = np.stack([_window_sum(p, lo, hi, col) for p in blk.p_xm], axis=1)
        mbar = sm / L[:, None]
        smm = np.empty((len(ps), k, k))
        for i, j in [(i0, j0) for i0 in range(k) for j0 in range(i0, k)]:
            v = mmsum((i, j)) - sm[:, i] * mbar[:, j]
            smm[:, i, j] = v
            smm[:, j, i] = v
        dxm = sxm - sx[:, None] * mbar
        sxx_d = sxx - sx * xbar
        if k == 1:
            den = smm[:, 0, 0]
            scale = mmsum((0, 0)) / L
            singular = ~(den > _VAR_RTOL * np.maximum(scale, 1e-300) * L)
            safe = np.where(singular, 1.0, den)
            beta[:, 0] = dxm[:, 0] / safe
            smm_inv[:, 0, 0] = 1.0 / safe
        else:
            det = np.linalg.det(smm)
            diag = np.prod(np.diagonal(smm, axis1=1, axis2=2), axis=1)
            singular = ~(det > _VAR_RTOL * np.abs(diag))
            safe = np.where(singular[:, None, None], np.eye(k)[None], smm)
            smm_inv = np.linalg.inv(safe)
            beta = np.einsum("nij,nj->ni", smm_inv, dxm)
        intercept = xbar - np.einsum("ni,ni->n", beta, mbar)
        ssr = sxx_d - np.einsum("ni,ni->n", beta, dxm)
    q = sxx / L
    return n_est, intercept, beta, ssr, smm_inv, mbar, q, singular, xbar


def _exact_fit(blk: _Block, col: np.ndarray, ps: np.ndarray, est_off: np.ndarray, model: str, k: int):
    """Two-pass least squares on the pairs' estimation values (centred coordinates), for the
    pairs whose variance the prefix sums cannot resolve. Returns intercept, beta (n, k), ssr,
    smm_inv (n, k, k), mbar (n, k) and the mean square of the raw values about zero."""
    xe = _gather(blk.x, ps, est_off, col)
    ok = ~np.isnan(xe)
    ln = np.maximum(ok.sum(axis=1), 1)
    x0 = np.where(ok, xe, 0.0)
    xbar = x0.sum(axis=1) / ln
    cx = blk.cx[col]
    ms0 = np.where(ok, (xe + cx[:, None]) ** 2, 0.0).sum(axis=1) / ln
    n = len(ps)
    beta, mbar, smm_inv = np.zeros((n, k)), np.zeros((n, k)), np.zeros((n, k, k))
    if model == "raw":
        return np.zeros(n), beta, (x0 * x0).sum(axis=1), smm_inv, mbar, ms0
    xd = np.where(ok, xe - xbar[:, None], 0.0)
    if model == "mean":
        return xbar, beta, (xd * xd).sum(axis=1), smm_inv, mbar, ms0
    mm = np.stack([np.where(ok, _gather_m(blk, j, ps, est_off, col), 0.0) for j in range(k)], axis=2)
    mbar = mm.sum(axis=1) / ln[:, None]
    md = np.where(ok[:, :, None], mm - mbar[:, None, :], 0.0)
    smm = np.einsum("nlk,nlj->nkj", md, md)
    smm_inv = np.linalg.inv(smm)
    beta = np.einsum("nkj,nj->nk", smm_inv, np.einsum("nlk,nl->nk", md, xd))
    e = xd - np.einsum("nlk,nk->nl", md, beta)
    return xbar - np.einsum("nk,nk->n", beta, mbar), beta, (e * e).sum(axis=1), smm_inv, mbar, ms0


def _group_sums(g: np.ndarray, mat: np.ndarray, n_groups: int) -> np.ndarray:
    """Column sums of ``mat`` (n, m) per group code ``g`` (n,) -> (n_groups, m).

    Rows are added in their order (as a per-group loop would), with one ``bincount`` instead of
    a sort; a single group is a plain column sum.
    """
    n, m = mat.shape
    if n_groups == 1:
        return mat.sum(axis=0, keepdims=True)
    key = (g[:, None] * m + np.arange(m)[None, :]).ravel()
    return np.bincount(key, mat.ravel(), n_groups * m).reshape(n_groups, m)


def _rank_dev_sums(f: np.ndarray, g: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-group column sums of within-row rank deviations ``K_it - (n_i + 1) / 2`` and counts.

    Equivalent to ``average_ranks(f) - (n_i + 1) / 2`` summed by group and column (NaN cells
    skipped), but without materialising the rank matrix: the deviations are written in sorted
    order and scattered to their columns with one ``bincount``. Rows with ties fall back to
    :func:`average_ranks`. Deviations are multiples of 1/2, so the sums are exact.

    Parameters
    ----------
    f : ndarray, shape (n, m)
        Values to rank within each row (NaN = missing), any unit.
    g : ndarray of int, shape (n,)
        Group code of each row.
    n_groups : int

    Returns
    -------
    sums, counts : ndarray, shape (n_groups, m)
        Sum of rank deviations (rank units) and number of non-missing cells.
    """
    n, m = f.shape
    nan = np.isnan(f)
    nv = m - nan.sum(axis=1)
    # one SIMD sort of int64 keys instead of an argsort: the order-preserving integer image of
    # each value (-0.0 folded into +0.0, NaN -> +inf, sorted last) with its low bits replaced by
    # the column index; values whose images then collide (true ties, or equal to ~1e-13
    # relative) are flagged below and their rows ranked exactly
    sh = max(1, (m - 1).bit_length())
    low = np.int64((1 << sh) - 1)
    filled = np.where(nan, np.inf, f)
    filled += 0.0
    key = filled.view(np.int64)
    key ^= (key >> 63) & np.int64(0x7FFFFFFFFFFFFFFF)
    key &= ~low
    key |= np.arange(m, dtype=np.int64)[None, :]
    key.sort(axis=1)
    order = key & low
    key >>= sh
    valid_sorted = np.arange(m)[None, :] < nv[:, None]
    tie = key[:, 1:] == key[:, :-1]
    tie &= valid_sorted[:, 1:]
    del key, filled
    dev = np.empty((n, m))
    np.subtract(np.arange(1.0, m + 1.0)[None, :], ((nv + 1) / 2.0)[:, None], out=dev)
    if tie.any():
        rows = np.flatnonzero(tie.any(axis=1))
        rk = average_ranks(f[rows]) - ((nv[rows] + 1) / 2.0)[:, None]
        dev[rows] = np.take_along_axis(np.nan_to_num(rk, nan=0.0), order[rows], axis=1)
    dev *= valid_sorted  # missing values (sorted last) add nothing
    if n_groups == 1:
        sums = np.bincount(order.ravel(), dev.ravel(), m)[None, :]
        cnts = (~nan).sum(axis=0, dtype=float)[None, :]
        return sums, cnts
    order += (g * m)[:, None]
    sums = np.bincount(order.ravel(), dev.ravel(), n_groups * m).reshape(n_groups, m)
    cnts = _group_sums(g, (~nan).astype(float), n_groups)
    return sums, cnts


def _add_rows(dense: np.ndarray, keys: np.ndarray, mat: np.ndarray) -> None:
    """``dense[keys[i]] += mat[i]`` for every i, repeated keys included (rounds of distinct keys)."""
    todo = np.arange(len(keys))
    while len(todo):
        _, first = np.unique(keys[todo], return_index=True)
        sel = todo[first]
        dense[keys[sel]] += mat[sel]
        rest = np.ones(len(todo), dtype=bool)
        rest[first] = False
        todo = todo[rest]


def _sum_rows_by_key(keys: np.ndarray, mat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row sums of ``mat`` per distinct key with a sparse one-hot product: (keys, sums)."""
    uk, inv = np.unique(keys, return_inverse=True)
    if len(uk) == len(keys):
        return keys, mat
    onehot = sparse.csr_matrix((np.ones(len(keys)), (inv, np.arange(len(keys)))), shape=(len(uk), len(keys)))
    return uk, np.asarray(onehot @ mat)


def _sum_by(keys: np.ndarray, mat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row sums of ``mat`` per distinct key: (unique keys, sums (n_keys, ...))."""
    if len(keys) and (keys == keys[0]).all():
        return keys[:1], mat.sum(axis=0, keepdims=True)
    order = np.argsort(keys, kind="stable")
    ks = keys[order]
    starts = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1]])
    return ks[starts], np.add.reduceat(mat[order], starts, axis=0)


def _run_block(values, bench, cols, idx_pairs, s, pos, groups, *, n_groups, calendar, pad_b, pad_a, window,
               estimation, model, car_windows, min_estimation, allow_gaps, need, fit, reason,
               n_missing, ar, sar, car, car_se, scar, car_days, rows_out, acc, win_off, est_off,
               excl_windows, placebo_draws, seed, block_id):  # fmt: skip
    k = 0 if bench is None else bench.shape[1]
    blk = _build_block(values, bench, cols, calendar, pad_b, pad_a, model)
    colmap = np.full(values.shape[1], -1, dtype=np.int64)
    colmap[cols] = np.arange(len(cols))
    a, b = window
    c, d = estimation
    l_nom = d - c + 1
    n_par = {"raw": 0, "mean": 1}.get(model, k + 1)
    # per-pair work on the event window runs on whole blocks (W days per pair: small), the
    # estimation-window residuals in sub-chunks of _CHUNK_CELLS cells
    chunk = max(1, _CHUNK_CELLS // len(win_off))
    chunk_est = max(1, _EST_CELLS // (l_nom + len(win_off)))
    for c0 in range(0, len(idx_pairs), chunk):
        ip = idx_pairs[c0 : c0 + chunk]
        col = colmap[s[ip]]
        ps = pos[ip] + pad_b
        est = _estimate(blk, col, ps, estimation, model, k)
        n_est, icpt, beta, ssr, smm_inv, mbar, q, singular, xbar = est
        L = np.maximum(n_est, 1.0)
        dof = n_est - n_par
        var = ssr / np.maximum(dof, 1)
        rsn = np.full(len(ip), "", dtype=object)
        short = n_est < min_estimation
        rsn[short] = SHORT_ESTIMATION
        sing = ~short & singular
        rsn[sing] = SINGULAR_BENCHMARK
        cxp = blk.cx[col]
        ms0 = np.maximum(q + 2.0 * cxp * xbar + cxp * cxp, 0.0)  # mean square about zero
        # variances the prefix sums cannot resolve (a level far from the series' centre, or a
        # near-constant window): fitted again exactly from the values
        again = np.flatnonzero(~short & ~sing & ~(var > _PREFIX_RESOLVES * np.maximum(q, 1e-300)))
        if len(again):
            fit_again = _exact_fit(blk, col[again], ps[again], est_off, model, k)
            icpt[again], beta[again], ssr[again], smm_inv[again], mbar[again], ms0[again] = fit_again
            var = ssr / np.maximum(dof, 1)
        sigma = np.sqrt(np.maximum(var, 0.0))
        badvar = ~short & ~sing & ~(var > _ZERO_VAR * np.maximum(ms0, 1e-300))
        rsn[badvar] = NONPOSITIVE_VARIANCE
        # --- event window ----------------------------------------------------------------------
        xw = _gather(blk.x, ps, win_off, col)
        arw = xw - icpt[:, None]
        mws = []
        for j in range(k):
            mw = _gather_m(blk, j, ps, win_off, col)
            mws.append(mw)
            arw -= beta[:, j : j + 1] * mw
        if model == "raw":
            sarw = arw / sigma[:, None]
        elif model == "mean":
            sarw = arw / (sigma * np.sqrt(1.0 + 1.0 / L))[:, None]
        else:
            dev = np.stack([mw - mbar[:, j : j + 1] for j, mw in enumerate(mws)], axis=2)  # (n, W, k)
            if k == 1:
                quad = dev[:, :, 0] ** 2 * smm_inv[:, 0, 0][:, None]
            else:
                quad = np.einsum("nwi,nij,nwj->nw", dev, smm_inv, dev)
            quad += 1.0 + 1.0 / L[:, None]
            sarw = arw / (sigma[:, None] * np.sqrt(quad))
        miss = np.isnan(arw).sum(axis=1)
        ok_so_far = rsn == ""
        gap = ok_so_far & ((miss > 0) if not allow_gaps else (miss == len(win_off)))
        rsn[gap] = MISSING_IN_WINDOW
        keep = rsn == ""
        # write per-pair outputs
        fit.n_est[ip] = n_est.astype(np.int64)
        fit.ssr[ip] = ssr
        fit.sigma[ip] = np.where(short, np.nan, sigma)
        fit.dof[ip] = dof
        params = np.empty((len(ip), 1 + k))
        # back to original units: x = cx + icpt + beta (m - cm)
        params[:, 0] = icpt + blk.cx[col] - (np.einsum("ni,in->n", beta, blk.cm[:, col]) if k else 0.0)
        params[:, 1:] = beta
        if model == "raw":
            params[:, 0] = 0.0
        fit.params[ip] = params
        reason[ip] = rsn
        n_missing[ip] = miss
        if "kp_pairs" in need:
            rows_out[ip] = _gather_rows(blk, ps, win_off, col)
        ar[ip] = arw
        if "sar_pairs" in need:
            sar[ip] = sarw
        for wi, (w0, w1) in enumerate(car_windows):
            sl = slice(w0 - a, w1 - a + 1)
            aw = arw[:, sl]
            valid = ~np.isnan(aw)
            tt = valid.sum(axis=1)
            car[ip, wi] = np.where(tt > 0, np.nansum(aw, axis=1), np.nan)
            car_days[ip, wi] = tt
            with np.errstate(invalid="ignore", divide="ignore"):
                scar[ip, wi] = np.where(tt > 0, np.nansum(sarw[:, sl], axis=1) / np.sqrt(tt), np.nan)
                # Var(CAR) = sigma^2 (T + (sum_t z_t)' (Z'Z)^-1 (sum_t z_t)), z_t = (1, m_t)
                quad = tt**2 / L
                if k:
                    sdev = np.where(valid[:, :, None], dev[:, sl, :], 0.0).sum(axis=1)
                    quad = quad + np.einsum("ni,nij,nj->n", sdev, smm_inv, sdev)
                if model == "raw":
                    quad = 0.0
                car_se[ip, wi] = np.where(tt > 0, sigma * np.sqrt(tt + quad), np.nan)
        if not keep.any():
            continue
        g = groups[ip]
        if "sar" in need:
            allk = bool(keep.all())
            sk = sarw if allk else sarw[keep]
            gk = g if allk else g[keep]
            vk = ~np.isnan(sk)
            s0 = np.where(vk, sk, 0.0)
            vd = np.where(dof > 2, dof / (dof - 2.0), np.nan)
            acc["sar_n"] += _group_sums(gk, vk.astype(float), n_groups)
            acc["sar_s1"] += _group_sums(gk, s0, n_groups)
            acc["sar_pos"] += _group_sums(gk, (sk > 0).astype(float), n_groups)
            s0 *= s0
            acc["sar_s2"] += _group_sums(gk, s0, n_groups)
            acc["sar_var"] += _group_sums(
                gk, np.where(vk, (vd if allk else vd[keep])[:, None], 0.0), n_groups
            )
            del sk, vk, s0
        if need & {"bw", "gsign", "rank", "kp", "kp_pairs"}:
            # estimation-window residuals of the kept pairs, in sub-chunks (L days per pair)
            kidx = np.flatnonzero(keep)
            for h0 in range(0, len(kidx), chunk_est):
                kk = kidx[h0 : h0 + chunk_est]
                _accumulate_estimation(
                    blk, acc, need, n_groups, ps[kk], col[kk], g[kk], ip[kk], icpt[kk], beta[kk],
                    ssr[kk], n_est[kk], arw[kk], est_off, car_windows, a, k,
                )  # fmt: skip
    if placebo_draws:
        _placebo_block(blk, cols, idx_pairs, s, pos, groups, reason, pad_b=pad_b, window=window,
                       estimation=estimation, model=model, k=k, min_estimation=min_estimation,
                       acc=acc, excl_windows=excl_windows, draws=placebo_draws, seed=seed,
                       block_id=block_id)  # fmt: skip


def _accumulate_estimation(blk, acc, need, n_groups, pk, ck, gk, ipk, icpt, beta, ssr, n_est, ark,
                           est_off, car_windows, a, k):  # fmt: skip
    """Add the estimation-window residuals of some kept pairs to the per-group accumulators
    (Brown-Warner, generalised sign, Corrado, Kolari-Pynnonen)."""
    ek = _gather(blk.x, pk, est_off, ck)  # a copy: residuals computed in place
    ek -= icpt[:, None]
    for j in range(k):
        mk = _gather_m(blk, j, pk, est_off, ck)
        mk *= beta[:, j : j + 1]
        ek -= mk
        del mk
    evk = ~np.isnan(ek)
    e0 = None
    if "bw" in need or "kp" in need or "kp_pairs" in need:
        e0 = np.where(evk, ek, 0.0)
    if "bw" in need:
        acc["bw_sum"] += _group_sums(gk, e0, n_groups)
        acc["bw_cnt"] += _group_sums(gk, evk.astype(float), n_groups)
    if "gsign" in need:
        acc["gs_pos"] += np.bincount(gk, (ek > 0).sum(axis=1).astype(float), n_groups)
        acc["gs_n"] += np.bincount(gk, evk.sum(axis=1).astype(float), n_groups)
    if "rank" in need:
        for wi, (w0, w1) in enumerate(car_windows):
            f = np.concatenate([ek, ark[:, w0 - a : w1 - a + 1]], axis=1)
            sums, cnts = _rank_dev_sums(f, gk, n_groups)
            acc["rank_sum"][wi] += sums
            acc["rank_cnt"][wi] += cnts
    if "kp" in need or "kp_pairs" in need:
        rms = np.sqrt(ssr / np.maximum(n_est, 1.0))
        u = e0
        u /= rms[:, None]
        if "kp" in need:
            keys = gk * acc["kp_nrows"] + pk
            if acc["kp_dense"] is not None:
                _add_rows(acc["kp_dense"], keys, u)
            else:
                keys, sums = _sum_rows_by_key(keys, u)
                acc["kp_keys"], acc["kp_sums"] = _sum_by(
                    np.concatenate([acc["kp_keys"], keys]), np.concatenate([acc["kp_sums"], sums])
                )
            acc["kp_self"] += np.bincount(gk, (u * u).sum(axis=1), n_groups)
        if "kp_pairs" in need:
            acc["kp_u"][ipk] = u
            acc["kp_rows"][ipk] = _gather_rows(blk, pk, est_off, ck)


def _placebo_block(blk, cols, idx_pairs, s, pos, groups, reason, *, pad_b, window, estimation, model, k,
                   min_estimation, acc, excl_windows, draws, seed, block_id):  # fmt: skip
    """Pseudo events for the kept pairs of this block: same series, random non-event day 0.

    A candidate day 0 has a complete event window, at least ``min_estimation`` usable estimation
    days, and lies outside the event window of every real event on that series. Pseudo ARs are
    accumulated per group and draw (sum over pairs), so the placebo AAR of draw j is
    ``pl_sum[g, j] / pl_n[g, j]``.
    """
    a, b = window
    c, d = estimation
    nb, r_tot = blk.x.shape
    ok = ~np.isnan(blk.x)
    p_ok = _prefix(ok.astype(float))
    cand_pos = np.arange(r_tot)
    inb = (cand_pos + min(a, c) >= 0) & (cand_pos + max(b, d) < r_tot)
    cmask = np.zeros((nb, r_tot), dtype=bool)
    pidx = cand_pos[inb]
    win_full = (p_ok[:, pidx + b + 1] - p_ok[:, pidx + a]) == (b - a + 1)
    est_n = p_ok[:, pidx + d + 1] - p_ok[:, pidx + c]  # usable estimation days
    cmask[:, pidx] = win_full & (est_n >= min_estimation)
    # exclude days inside the window of a real event of the same series
    if excl_windows is not None:
        es, ep = excl_windows
        sel = np.isin(es, cols)
        if sel.any():
            lmap = np.full(int(cols.max()) + 1, -1)
            lmap[cols] = np.arange(len(cols))
            ecol = lmap[es[sel]]
            epos = ep[sel] + pad_b
            off = np.arange(a, b + 1)
            rr = (epos[:, None] + off[None, :]).ravel()
            cc = np.repeat(ecol, len(off))
            inr = (rr >= 0) & (rr < r_tot)
            cmask[cc[inr], rr[inr]] = False
    cc_s, rr_s = np.nonzero(cmask)  # candidates sorted by column
    ncand = np.bincount(cc_s, minlength=nb)
    start = np.concatenate([[0], np.cumsum(ncand)[:-1]])
    kept = idx_pairs[reason[idx_pairs] == ""]
    if len(kept) == 0:
        return
    lmap = np.full(int(cols.max()) + 1, -1)
    lmap[cols] = np.arange(len(cols))
    kcol = lmap[s[kept]]
    acc["pl_cand"][kept] = ncand[kcol]
    has = ncand[kcol] > 0
    kept, kcol = kept[has], kcol[has]
    if len(kept) == 0:
        return
    rng = np.random.default_rng([seed, block_id])
    off = np.arange(a, b + 1)
    step = max(1, _CHUNK_CELLS // max(len(kept) * (b - a + 1), 1))
    for j0 in range(0, draws, step):
        nd = min(step, draws - j0)
        uu = rng.random((nd, len(kept)))
        pick = start[kcol][None, :] + np.minimum((uu * ncand[kcol]).astype(np.int64), ncand[kcol] - 1)
        pp = rr_s[pick].ravel()
        colr = np.tile(kcol, nd)
        n_est, icpt, beta, ssr, smm_inv, mbar, q, singular, _ = _estimate(blk, colr, pp, estimation, model, k)
        xw = _gather(blk.x, pp, off, colr)
        arw = xw - icpt[:, None]
        for jj in range(k):
            arw = arw - beta[:, jj : jj + 1] * _gather_m(blk, jj, pp, off, colr)
        gg = np.tile(groups[kept], nd)
        dd = np.repeat(np.arange(j0, j0 + nd), len(kept))
        ng, nd_tot = acc["pl_n"].shape
        flat = gg * nd_tot + dd
        acc["pl_n"] += np.bincount(flat, minlength=ng * nd_tot).reshape(ng, nd_tot)
        w = arw.shape[1]
        flat2 = (flat[:, None] * w + np.arange(w)[None, :]).ravel()
        acc["pl_sum"] += np.bincount(flat2, arw.ravel(), ng * nd_tot * w).reshape(ng, nd_tot, w)
