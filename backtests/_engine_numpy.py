"""The numpy path of the event-study engine (factor models, and ``NEWSBT_NO_NUMBA=1``).

Blocks of series columns are NaN-padded and centred (:class:`_Block`); estimation-window moments
come from prefix sums along the calendar, so the cost per pair does not depend on the estimation
length; the event-window work runs on a whole block at once and the estimation-window residuals
in sub-chunks, every statistic accumulated per group. The compiled kernels
(:mod:`backtests._kernels`) are the engine for the ``raw``, ``mean`` and ``market`` models; this
path covers the ``factor`` model and is the cross-check of the kernels in the tests. Both are
checked against the same naive per-event oracle, ``tests/backtests/naive_oracle.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy import sparse

from backtests._kernels import (
    MISSING_IN_WINDOW,
    NONPOSITIVE_VARIANCE,
    SHORT_ESTIMATION,
    SINGULAR_BENCHMARK,
)
from backtests._kernels import VAR_RTOL as _VAR_RTOL
from backtests._kernels import ZERO_VAR as _ZERO_VAR

# a block holds at most this many calendar cells (rows x series) per temporary matrix
_BLOCK_CELLS = 250000
# at most this many pair x day cells per gather chunk inside a block (temporaries ~2 MB)
_CHUNK_CELLS = 250_000
# at most this many pair x day cells per estimation-window sub-chunk (temporaries ~1 MB)
_EST_CELLS = 120_000
# prefix sums resolve a window's variance down to about this share of its mean square about the
# series' centre; below, the pair is fitted again exactly from its values
_PREFIX_RESOLVES = 1e-6
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


def run_blocks(values, bench, s, pos, groups, out, *, n_groups, calendar, pad_b, pad_a, window, estimation,
               model, car_windows, min_estimation, allow_gaps, need) -> None:  # fmt: skip
    """The numpy path of :func:`backtests.engine.run_engine`: blocks of series columns, each
    written into the preallocated arrays of ``out`` (an :class:`backtests.engine.EngineResult`)."""
    t_rows = values.shape[0]
    n_rows = t_rows + pad_b + pad_a
    a, b = window
    c, d = estimation
    win_off = np.arange(a, b + 1)
    est_off = np.arange(c, d + 1)
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
                out=out,
                win_off=win_off,
                est_off=est_off,
            )


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
               estimation, model, car_windows, min_estimation, allow_gaps, need, out, win_off, est_off):  # fmt: skip
    fit, reason, n_missing, acc, rows_out, ar = out.fit, out.reason, out.n_missing, out.acc, out.rows, out.ar
    k = 0 if bench is None else bench.shape[1]
    blk = _build_block(values, bench, cols, calendar, pad_b, pad_a, model)
    colmap = np.full(values.shape[1], -1, dtype=np.int64)
    colmap[cols] = np.arange(len(cols))
    a, l_nom = window[0], estimation[1] - estimation[0] + 1
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
        # back to original units: x = cx + icpt + beta (m - cm)
        icpt0 = 0.0 if model == "raw" else icpt + blk.cx[col] - (np.einsum("ni,in->n", beta, blk.cm[:, col]) if k else 0.0)  # fmt: skip
        fit.params[ip] = np.column_stack([np.broadcast_to(icpt0, len(ip)), beta])
        reason[ip] = rsn
        n_missing[ip] = miss
        if "kp_pairs" in need:
            rows_out[ip] = _gather_rows(blk, ps, win_off, col)
        ar[ip] = arw
        dev = dev if k else None
        _write_cars(out, ip, arw, sarw, dev, smm_inv, sigma, L, car_windows, a, model)
        if not keep.any():
            continue
        g = groups[ip]
        if "sar" in need:
            _accumulate_sar(acc, sarw, g, dof, keep, n_groups)
        if need & {"bw", "gsign", "rank", "kp", "kp_pairs"}:
            # estimation-window residuals of the kept pairs, in sub-chunks (L days per pair)
            kidx = np.flatnonzero(keep)
            for h0 in range(0, len(kidx), chunk_est):
                kk = kidx[h0 : h0 + chunk_est]
                _accumulate_estimation(
                    blk, acc, need, n_groups, ps[kk], col[kk], g[kk], ip[kk], icpt[kk], beta[kk],
                    ssr[kk], n_est[kk], arw[kk], est_off, car_windows, a, k,
                )  # fmt: skip


def _write_cars(out, ip, arw, sarw, dev, smm_inv, sigma, L, car_windows, a, model) -> None:
    """CAR, its standard error, SCAR and day count of the pairs ``ip`` for every CAR window
    (``dev``: benchmark deviations from their estimation mean, (n, W, k), None without one)."""
    car, car_se, scar, car_days = out.car, out.car_se, out.scar, out.car_days
    k = 0 if dev is None else dev.shape[2]
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


def _accumulate_sar(acc, sarw, g, dof, keep, n_groups) -> None:
    """Add the daily SAR moments of the kept pairs to the per-group accumulators (Patell, BMP)."""
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
    acc["sar_var"] += _group_sums(gk, np.where(vk, (vd if allk else vd[keep])[:, None], 0.0), n_groups)
    del sk, vk, s0


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
