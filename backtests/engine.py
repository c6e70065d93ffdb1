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
calendar, so the cost per pair does not depend on the estimation length. Series are processed in
blocks of columns (a loop over *blocks*, never over events or series) so that temporaries stay
small; every per-pair output is written into preallocated arrays and every statistic that needs
estimation-window residuals (Brown-Warner, generalised sign, Corrado, Kolari-Pynnonen, placebo)
is *accumulated* per group inside the block loop, never stored for all pairs.

Numerics: before the prefix sums every series (and benchmark) is centred on its own mean over the
block, so moments do not lose digits when a series has a large level; the results are identical
(to rounding) to a direct least-squares fit on each estimation window.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

log = logging.getLogger(__name__)

__all__ = [
    "EngineResult",
    "EstimationFit",
    "average_ranks",
    "locate_day0",
    "run_engine",
]

# reason codes written by the engine (study.py adds the input-side ones)
SHORT_ESTIMATION = "short_estimation"
NONPOSITIVE_VARIANCE = "nonpositive_variance"
SINGULAR_BENCHMARK = "singular_benchmark"
MISSING_IN_WINDOW = "missing_in_window"

# a block holds at most this many calendar cells (rows x series) per temporary matrix
_BLOCK_CELLS = 200_000
# at most this many pair x day cells per gather chunk inside a block
_CHUNK_CELLS = 400_000
# relative variance threshold under which a series is treated as constant
_VAR_RTOL = 1e-10
# Kolari-Pynnonen day accumulator kept dense up to this many cells (groups x rows x L)
_KP_DENSE_CELLS = 4_000_000


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
    g = np.searchsorted(dates_ns, date_ns, side="left")
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
    sar: np.ndarray  # (N, W)
    car: np.ndarray  # (N, K) CAR per window
    car_se: np.ndarray  # (N, K)
    scar: np.ndarray  # (N, K) sum SAR / sqrt(T_i)
    car_days: np.ndarray  # (N, K) number of ARs summed
    rows: np.ndarray  # (N, W) calendar row of each window day (-1 outside)
    acc: dict = field(default_factory=dict)  # per-group accumulators


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
        Accumulators to build: "bw", "gsign", "rank", "kp", "kp_pairs", "placebo".
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

    fit = EstimationFit(
        n_est=np.zeros(n, dtype=np.int64),
        sigma=np.full(n, np.nan),
        dof=np.full(n, np.nan),
        params=np.full((n, 1 + k), np.nan),
        ssr=np.full(n, np.nan),
    )
    reason = np.full(n, "", dtype=object)
    n_missing = np.zeros(n, dtype=np.int64)
    ar = np.full((n, w_len), np.nan)
    sar = np.full((n, w_len), np.nan)
    car = np.full((n, n_win), np.nan)
    car_se = np.full((n, n_win), np.nan)
    scar = np.full((n, n_win), np.nan)
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
    if "kp" in need:
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
    do_placebo = "placebo" in need and placebo_draws > 0
    if do_placebo:
        acc["pl_sum"] = np.zeros((n_groups, placebo_draws, w_len))
        acc["pl_n"] = np.zeros((n_groups, placebo_draws))
        acc["pl_cand"] = np.zeros(n, dtype=np.int64)
    win_off = np.arange(a, b + 1)
    est_off = np.arange(c, d + 1)

    if n == 0:
        return EngineResult(fit, reason, n_missing, ar, sar, car, car_se, scar, car_days, rows_out, acc)

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
    if "kp" in need:
        dense = acc.pop("kp_dense")
        if dense is not None:
            keys = np.flatnonzero(dense.any(axis=1))
            acc["kp_keys"], acc["kp_sums"] = keys, dense[keys]
    return EngineResult(fit, reason, n_missing, ar, sar, car, car_se, scar, car_days, rows_out, acc)


def kp_group(acc: dict, g: int) -> tuple[np.ndarray, np.ndarray]:
    """Day-0 rows (sorted) and summed standardised estimation residuals of group ``g``."""
    n_r = acc["kp_nrows"]
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
    p_n: np.ndarray  # prefix sums (nb, R + 1)
    p_x: np.ndarray
    p_xx: np.ndarray
    p_m: list
    p_mm: dict
    p_xm: list


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
    xp = np.full((nb, r_tot), np.nan)
    shared = calendar != "observed"
    if shared:
        xp[:, pad_b : pad_b + t_rows] = xt
        rp = None
        mp = []
        for j in range(k):
            v = np.full(r_tot, np.nan)
            v[pad_b : pad_b + t_rows] = bench[:, j]
            mp.append(v)
    else:
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
    return _Block(x0, mp, shared, rp, pad_b, cx, cm, p_n, p_x, p_xx, p_m, p_mm, p_xm)


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
    n_est = _window_sum(blk.p_n, lo, hi, col)
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
        sm = np.stack([_window_sum(p, lo, hi, col) for p in blk.p_m], axis=1)
        sxm = np.stack([_window_sum(p, lo, hi, col) for p in blk.p_xm], axis=1)
        mbar = sm / L[:, None]
        smm = np.empty((len(ps), k, k))
        for (i, j), p in blk.p_mm.items():
            v = _window_sum(p, lo, hi, col) - sm[:, i] * mbar[:, j]
            smm[:, i, j] = v
            smm[:, j, i] = v
        dxm = sxm - sx[:, None] * mbar
        sxx_d = sxx - sx * xbar
        if k == 1:
            den = smm[:, 0, 0]
            scale = _window_sum(blk.p_mm[(0, 0)], lo, hi, col) / L
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
    return n_est, intercept, beta, ssr, smm_inv, mbar, q, singular


def _sum_by(keys: np.ndarray, mat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row sums of ``mat`` per distinct key: (unique keys, sums (n_keys, ...))."""
    if len(keys) and (keys == keys[0]).all():
        return keys[:1], mat.sum(axis=0, keepdims=True)
    order = np.argsort(keys, kind="stable")
    ks = keys[order]
    starts = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1]])
    return ks[starts], np.add.reduceat(mat[order], starts, axis=0)


def _run_block(values, bench, cols, idx_pairs, s, pos, groups, *, calendar, pad_b, pad_a, window,
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
    chunk = max(1, _CHUNK_CELLS // (l_nom + len(win_off)))
    for c0 in range(0, len(idx_pairs), chunk):
        ip = idx_pairs[c0 : c0 + chunk]
        col = colmap[s[ip]]
        ps = pos[ip] + pad_b
        n_est, icpt, beta, ssr, smm_inv, mbar, q, singular = _estimate(blk, col, ps, estimation, model, k)
        L = np.maximum(n_est, 1.0)
        dof = n_est - n_par
        var = ssr / np.maximum(dof, 1)
        sigma = np.sqrt(np.maximum(var, 0.0))
        rsn = np.full(len(ip), "", dtype=object)
        short = n_est < min_estimation
        rsn[short] = SHORT_ESTIMATION
        sing = ~short & singular
        rsn[sing] = SINGULAR_BENCHMARK
        badvar = ~short & ~sing & ~(var > _VAR_RTOL * np.maximum(q, 1e-300))
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
        need_est = need & {"bw", "gsign", "rank", "kp", "kp_pairs"}
        if need_est:
            xe = _gather(blk.x, ps, est_off, col)
            ee = xe - icpt[:, None]
            for j in range(k):
                ee = ee - beta[:, j : j + 1] * _gather_m(blk, j, ps, est_off, col)
            ee[~keep] = np.nan
            ev = ~np.isnan(ee)
            gk = g[keep]
            ek = ee[keep]
            evk = ev[keep]
            if "bw" in need:
                ug, sums = _sum_by(gk, np.where(evk, ek, 0.0))
                acc["bw_sum"][ug] += sums
                ug, cnts = _sum_by(gk, evk.astype(float))
                acc["bw_cnt"][ug] += cnts
            if "gsign" in need:
                acc["gs_pos"] += np.bincount(gk, (ek > 0).sum(axis=1).astype(float), len(acc["gs_pos"]))
                acc["gs_n"] += np.bincount(gk, evk.sum(axis=1).astype(float), len(acc["gs_n"]))
            if "rank" in need:
                ark = arw[keep]
                for wi, (w0, w1) in enumerate(car_windows):
                    f = np.concatenate([ek, ark[:, w0 - a : w1 - a + 1]], axis=1)
                    rk = average_ranks(f)
                    nv = (~np.isnan(f)).sum(axis=1)
                    devk = rk - ((nv + 1) / 2.0)[:, None]
                    fv = ~np.isnan(devk)
                    ug, sums = _sum_by(gk, np.where(fv, devk, 0.0))
                    acc["rank_sum"][wi][ug] += sums
                    ug, cnts = _sum_by(gk, fv.astype(float))
                    acc["rank_cnt"][wi][ug] += cnts
            if "kp" in need or "kp_pairs" in need:
                rms = np.sqrt(ssr[keep] / np.maximum(n_est[keep], 1.0))
                u = np.where(evk, ek / rms[:, None], 0.0)
                if "kp" in need:
                    keys, sums = _sum_by(gk * acc["kp_nrows"] + ps[keep], u)
                    if acc["kp_dense"] is not None:
                        acc["kp_dense"][keys] += sums
                    else:
                        acc["kp_keys"], acc["kp_sums"] = _sum_by(
                            np.concatenate([acc["kp_keys"], keys]), np.concatenate([acc["kp_sums"], sums])
                        )
                    acc["kp_self"] += np.bincount(gk, (u * u).sum(axis=1), len(acc["kp_self"]))
                if "kp_pairs" in need:
                    acc["kp_u"][ip[keep]] = u
                    acc["kp_rows"][ip[keep]] = _gather_rows(blk, ps[keep], est_off, col[keep])
    if placebo_draws:
        _placebo_block(blk, cols, idx_pairs, s, pos, groups, reason, pad_b=pad_b, window=window,
                       estimation=estimation, model=model, k=k, min_estimation=min_estimation,
                       acc=acc, excl_windows=excl_windows, draws=placebo_draws, seed=seed,
                       block_id=block_id)  # fmt: skip


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
    est_n = blk.p_n[:, pidx + d + 1] - blk.p_n[:, pidx + c]
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
        n_est, icpt, beta, ssr, smm_inv, mbar, q, singular = _estimate(blk, colr, pp, estimation, model, k)
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
