"""Event-study engine: window gathering, estimation, normal-return models, test accumulators.

Reference: the engine is checked against the naive per-event oracle
``tests/backtests/naive_oracle.py`` (one Python loop per pair, literal definitions; hypothesis
panels with NaNs and edge events, every model, both calendars, in ``tests/backtests``). That file
is the definition; this module and its kernels are the fast implementation of it.

Everything here works on plain numpy arrays; :mod:`backtests.study` turns DataFrames into these
arrays and the results back into DataFrames.

Layout
------
A *panel* is a ``(T, S)`` float matrix of changes (NaN = missing) over ``T`` calendar rows and
``S`` series. Under ``calendar="index"`` every row is a trading day of every series; under
``calendar="observed"`` each series trades on its own non-missing rows, so that relative day
``k`` is the ``k``-th own observation after day 0.

Kernels
-------
One implementation: the compiled kernels (numba, a required dependency) run every model and the
placebo. :func:`backtests._kernels.pairs_kernel` fits the ``raw``, ``mean`` and one-benchmark
``market`` models, :func:`backtests._kernels_factor.factor_kernel` the ``factor`` model (k >= 1
benchmarks), with the same outputs and accumulators: pairs sorted by series are split over
threads that release the GIL; each pair's estimation window is read once from its column (the
fit), its residuals once more (SSR from the residuals, Brown-Warner sums), then its event window.
Kolari-Pynnonen's day sums are reduced on the fly to the lagged cross sums it needs (a ring of
day-0 rows, :func:`backtests._kernels.kp_lag_sums`). Reason codes and the variance thresholds
are defined once, in :mod:`backtests._kernels`. The placebo test (:mod:`backtests.placebo`) fits
every candidate pseudo event once with the same kernels and gathers the draws.
``NEWSBT_NO_NUMBA=1`` in the environment (read when :mod:`backtests._kernels` is first imported)
runs the same kernel source without compilation, for debugging (``EngineResult.path`` "python").
"""

from __future__ import annotations

import logging
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from backtests import _kernels, _kernels_factor, placebo  # numba: a required dependency
from backtests._engine_ranks import _EST_CELLS, _group_sums, _rank_dev_sums, average_ranks  # noqa: F401

log = logging.getLogger(__name__)

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
# (defined once, in backtests._kernels, with the thresholds)
SHORT_ESTIMATION = _kernels.SHORT_ESTIMATION
NONPOSITIVE_VARIANCE = _kernels.NONPOSITIVE_VARIANCE
SINGULAR_BENCHMARK = _kernels.SINGULAR_BENCHMARK
MISSING_IN_WINDOW = _kernels.MISSING_IN_WINDOW

# compiled path: pairs per thread below which one thread is used, and the thread cap
_KERNEL_MIN_PAIRS_PER_THREAD = 5_000
_KERNEL_MAX_THREADS = 4
# reason strings by the kernels' reason code (R_OK, R_SHORT, R_SINGULAR, R_BADVAR, R_GAP)
_REASON_OF_CODE = np.array(_kernels.REASONS, dtype=object)


def numba_enabled() -> bool:
    """Whether the kernels are compiled (numba is required): False only when ``NEWSBT_NO_NUMBA=1``
    was set when :mod:`backtests._kernels` was first imported (the same source run by Python)."""
    return _kernels.COMPILED


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
    car: np.ndarray  # (N, K) CAR per window
    car_se: np.ndarray  # (N, K)
    scar: np.ndarray  # (N, K) sum SAR / sqrt(T_i)
    car_days: np.ndarray  # (N, K) number of ARs summed
    rows: np.ndarray  # (N, W) calendar row of each window day (-1 outside)
    acc: dict = field(default_factory=dict)  # per-group accumulators
    path: str = "numba"  # "python" when the kernels ran uncompiled (NEWSBT_NO_NUMBA=1)


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
        (daily SAR moments per group).
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
    res = _fit_pairs(values, bench, s, pos, groups, n_groups, calendar=calendar, window=window,
                     estimation=estimation, model=model, car_windows=car_windows,
                     min_estimation=min_estimation, allow_gaps=allow_gaps, need=need)  # fmt: skip
    if "placebo" in need and placebo_draws > 0:
        if calendar == "observed":
            n_obs = (~np.isnan(values)).sum(axis=0).astype(np.int64)
        else:
            n_obs = np.full(values.shape[1], values.shape[0], dtype=np.int64)

        def run(cs: np.ndarray, cp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            r = _fit_pairs(values, bench, cs, cp, np.zeros(len(cs), dtype=np.int64), 1, calendar=calendar,
                           window=window, estimation=estimation, model=model, car_windows=[window],
                           min_estimation=min_estimation, allow_gaps=False, need=frozenset())  # fmt: skip
            return r.ar, r.reason == ""

        if excl_windows is None:
            excl_windows = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
        res.acc["pl_sum"], res.acc["pl_n"], res.acc["pl_cand"] = placebo.accumulate(
            run,
            n_obs,
            s,
            pos,
            groups,
            n_groups,
            res.reason == "",
            window=window,
            excl=excl_windows,
            draws=int(placebo_draws),
            seed=int(seed) % 2**64,
        )
    return res


def _fit_pairs(values, bench, s, pos, groups, n_groups, *, calendar, window, estimation, model, car_windows,
               min_estimation, allow_gaps, need) -> EngineResult:  # fmt: skip
    """:func:`run_engine` without the placebo: the fit, ARs, CARs and test accumulators."""
    a, b = window
    c, d = estimation
    w_len = b - a + 1
    l_nom = d - c + 1
    k = 0 if bench is None else bench.shape[1]
    n = len(s)
    n_win = len(car_windows)
    # the kernels write every cell of the per-pair outputs: no need to fill them first
    fit = EstimationFit(
        n_est=np.zeros(n, dtype=np.int64),
        sigma=np.empty(n),
        dof=np.empty(n),
        params=np.full((n, 1 + k), np.nan),
        ssr=np.empty(n),
    )
    reason = np.full(n, "", dtype=object)
    n_missing = np.zeros(n, dtype=np.int64)
    ar = np.empty((n, w_len))
    car = np.empty((n, n_win))
    car_se = np.empty((n, n_win))
    scar = np.empty((n, n_win))
    car_days = np.zeros((n, n_win), dtype=np.int64)
    rows_out = np.empty((n, w_len if "kp_pairs" in need else 0), dtype=np.int64)  # every row written

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
    if "kp" in need:  # lagged cross sums of the day-0 row sums (kp_lag_sums), self sums
        acc["kp_lags"] = None
        acc["kp_self"] = np.zeros(n_groups)
    if "kp_pairs" in need:
        # written for every kept pair (the only rows read): no need to fill them first
        acc["kp_u"] = np.empty((n, l_nom))
        acc["kp_rows"] = np.empty((n, l_nom), dtype=np.int64)
    if "sar" in need:
        # daily SAR moments per group and relative day (Patell, BMP): count, sum, sum of
        # squares, positives, and sum of df_i / (df_i - 2) over the pairs with that day
        for key in ("sar_n", "sar_s1", "sar_s2", "sar_pos", "sar_var"):
            acc[key] = np.zeros((n_groups, w_len))
    path = "numba" if numba_enabled() else "python"
    if n == 0:
        return EngineResult(fit, reason, n_missing, ar, car, car_se, scar, car_days, rows_out, acc, path)
    n_inf = _run_kernel(values, bench, s, pos, groups, n_groups, calendar=calendar, window=window,
                        estimation=estimation, model=model, car_windows=car_windows,
                        min_estimation=min_estimation, allow_gaps=allow_gaps, need=need,
                        fit=fit, reason=reason, n_missing=n_missing, ar=ar,
                        car=car, car_se=car_se, scar=scar, car_days=car_days, rows_out=rows_out,
                        acc=acc)  # fmt: skip
    if n_inf:  # rare: infinite values in the used series are missing data; run again
        return _fit_pairs(inf_to_nan(values), bench, s, pos, groups, n_groups, calendar=calendar,
                          window=window, estimation=estimation, model=model,
                          car_windows=car_windows, min_estimation=min_estimation,
                          allow_gaps=allow_gaps, need=need)  # fmt: skip
    return EngineResult(fit, reason, n_missing, ar, car, car_se, scar, car_days, rows_out, acc, path)


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
    idx = np.arange(ar.shape[0])[rows] if isinstance(rows, slice) else np.asarray(rows, np.int64)
    out = _kernels.ar_day_stats(ar, idx)
    return dict(zip(("n", "mean", "sd", "n_pos", "caar", "caar_se"), out))


def _n_series_max(s: np.ndarray) -> int:
    """Largest series code in ``s`` (-1 when empty)."""
    return int(s.max()) if len(s) else -1


def inf_to_nan(values: np.ndarray) -> np.ndarray:
    """A copy of ``values`` with infinite values as NaN (missing), logged."""
    bad = np.isinf(values)
    log.info("changes: %d infinite values treated as missing", int(bad.sum()))
    return np.where(bad, np.nan, values)


def _kernel_panel(values, bench, model, calendar):
    """The panel as the kernels read it: x (float64, contiguous), the benchmark m (factor model:
    the benchmarks, (k, T)), its mean (per benchmark), and under the observed calendar each series' own rows (``obs_rows`` from ``obs_start``)."""
    x = values if values.dtype == np.float64 else values.astype(np.float64)
    if not (x.flags.c_contiguous or x.flags.f_contiguous):
        x = np.ascontiguousarray(x)
    has_m = model == "market"
    m = np.ascontiguousarray(bench[:, 0], dtype=np.float64) if has_m else np.zeros(1)
    observed = calendar == "observed"
    if model == "factor":  # the benchmarks (k, T) in m, their calendar means in gmean (k,)
        m = np.ascontiguousarray(bench.T, dtype=np.float64)
        ok = ~np.isnan(m)
        gmean = np.where(ok, m, 0.0).sum(axis=1) / np.maximum(ok.sum(axis=1), 1)
    else:
        gmean = float(np.nanmean(m)) if has_m and not np.isnan(m).all() else 0.0
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
    return x, m, has_m, gmean, observed, obs_rows, obs_start, n_obs


def _merge_accs(accs, acc, flags, n_win) -> None:
    """Sum the threads' accumulators of :func:`_run_kernel` into the engine's ``acc``."""
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


def _kp_lags(x, m, has_m, s64, p64, g64, rcode, fit, acc, *, model, car_windows, c, l_nom, n_groups, n_thr):
    """Kolari-Pynnonen lagged cross sums of the kept pairs (compiled path, index calendar)."""
    n = len(s64)
    # Kolari-Pynnonen (index calendar): one more read of the kept pairs' estimation windows
    # in day-0 order, keeping only as many day-0 rows as the longest tested window
    n_lags = max(1, min(max(w1 - w0 + 1 for w0, w1 in car_windows), l_nom))
    kept_p = np.flatnonzero(rcode == 0)
    acc["kp_lags"] = np.zeros((n_groups, n_lags))
    acc["kp_self"] = np.zeros(n_groups)
    if len(kept_p):
        icpt = np.ascontiguousarray(fit.params[:, 0])
        beta = np.ascontiguousarray(fit.params[:, 1]) if model == "market" else np.zeros(n)
        mf, bf = np.zeros((0, 1)), np.zeros((1, 0))
        if model == "factor":  # the benchmarks and slopes of the factor model go in mf, bf
            mf, bf, m, has_m = m, np.ascontiguousarray(fit.params[:, 1:]), np.zeros(1), False
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
                fit.n_est, c, l_nom, n_lags, n_groups, emit[j], mf, bf,
            )  # fmt: skip

        if len(emit) == 1:
            outs = [lag_part(0)]
        else:
            with ThreadPoolExecutor(len(emit)) as ex:
                outs = list(ex.map(lag_part, range(len(emit))))
        for out_sd, out_self in outs:
            acc["kp_lags"] += out_sd
            acc["kp_self"] += out_self


def _run_kernel(values, bench, s, pos, groups, n_groups, *, calendar, window, estimation, model,
                car_windows, min_estimation, allow_gaps, need, fit, reason, n_missing,
                ar, car, car_se, scar, car_days, rows_out, acc) -> int:  # fmt: skip
    """The kernels' run of :func:`run_engine` (``pairs_kernel``, or ``factor_kernel`` for the
    factor model).

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
    x, m, has_m, gmean, observed, obs_rows, obs_start, n_obs = _kernel_panel(values, bench, model, calendar)
    n_inf = np.zeros(x.shape[1], dtype=np.int64)  # per series, written by the kernel
    factor = model == "factor"
    win_lo = np.array([w0 for w0, _ in car_windows], dtype=np.int64)
    win_hi = np.array([w1 for _, w1 in car_windows], dtype=np.int64)
    widths = [l_nom + w1 - w0 + 1 for w0, w1 in car_windows]
    flags = {key: key in need for key in ("sar", "bw", "gsign", "rank", "kp", "kp_pairs")}
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

    rows_dummy = np.zeros((1, 1), dtype=np.int64)
    # with ranks: pairs in sub-chunks, their estimation residuals ranked with one sort per chunk
    chunk = max(1, _EST_CELLS // (l_nom + w_len)) if flags["rank"] else n

    # the kernels' arguments before and after the pair list (their signatures differ only there)
    kern = _kernels_factor.factor_kernel if factor else _kernels.pairs_kernel
    pre = (x, m) + (() if factor else (has_m,)) + (observed, obs_rows, obs_start, n_obs, s64, p64, g64)
    post = (a, b, c, d) + (() if factor else ({"raw": 0, "mean": 1, "market": 2}[model],)) + (
        int(min_estimation), bool(allow_gaps), gmean, n_inf, win_lo, win_hi,
        flags["sar"], flags["bw"], flags["gsign"], flags["rank"], flags["kp_pairs"], do_rows,
        fit.n_est, fit.sigma, fit.dof, fit.params, fit.ssr, rcode, n_missing,
        ar, car, car_se, scar, car_days, rows_out if do_rows else rows_dummy,
    )  # fmt: skip

    def work(idx, accs):
        e_o = np.empty((min(chunk, len(idx)), l_nom)) if flags["rank"] else np.zeros((1, 1))
        for h0 in range(0, len(idx), chunk):
            ix = idx[h0 : h0 + chunk]
            kern(*pre, ix, *post, accs[0], accs[1], accs[2], accs[3], e_o, kp_u, kp_rows)
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
    _merge_accs(accs, acc, flags, n_win)
    if flags["kp"]:
        _kp_lags(x, m, has_m, s64, p64, g64, rcode, fit, acc, model=model, car_windows=car_windows,
                 c=c, l_nom=l_nom, n_groups=n_groups, n_thr=n_thr)  # fmt: skip
    reason[:] = _REASON_OF_CODE[rcode]
    return int(n_inf.sum())
