"""Compiled (numba) per-pair kernels for :mod:`backtests.engine`.

Importing this module raises ``ImportError`` when numba is not installed; the engine then keeps
its numpy path. ``NEWSBT_NO_NUMBA=1`` in the environment makes the engine ignore this module.

One pass of :func:`pairs_kernel` handles a list of event-series pairs (``raw``, ``mean`` or
one-benchmark ``market`` model, either calendar) directly from the panel, without prefix sums:
for each pair it reads its estimation window once (counts and sums), fits the model on deviations
from the window means (two-pass, so no digits are lost to a series' level), computes the
residuals and the SSR from them, then the event-window AR / SAR / CAR and, for kept pairs, adds
the estimation residuals and SARs to the per-group accumulators of the test
battery. Units: every output is in the unit of the panel (SAR and ranks are dimensionless).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["column_means", "pairs_kernel"]

# reason codes (0 = kept); the engine maps them back to its strings
R_OK = 0
R_SHORT = 1
R_SINGULAR = 2
R_BADVAR = 3
R_GAP = 4

# same thresholds as the numpy path (backtests.engine._VAR_RTOL)
_VAR_RTOL = 1e-10


@njit(cache=True, nogil=True, error_model="numpy")
def column_means(x: np.ndarray, m: np.ndarray, has_m: bool, per_series_m: bool, series_major: bool):
    """Mean of each column of ``x`` (and of ``m`` on the same cells) over the usable cells.

    A cell is usable when ``x`` and (if ``has_m``) ``m`` are both present. Returns
    ``(cx (S,), cm (S,), cm_global)``: ``cm`` is the per-series mean of ``m`` over the usable
    cells when ``per_series_m``, and ``cm_global`` the mean of ``m`` over the rows where it is
    present. ``series_major`` picks the loop order (True for a Fortran-ordered ``x``); the
    result does not depend on it beyond rounding. Units: those of ``x`` and ``m``.
    """
    t, ns = x.shape
    sx = np.zeros(ns)
    sm = np.zeros(ns)
    cnt = np.zeros(ns)
    gm = 0.0
    gn = 0.0
    for r in range(t):
        mv = m[r] if has_m else 0.0
        if not math.isnan(mv):
            gm += mv
            gn += 1.0
    if series_major:  # x stored column by column (Fortran order): walk each series
        for j in range(ns):
            for r in range(t):
                mv = m[r] if has_m else 0.0
                v = x[r, j]
                if not math.isnan(v) and not math.isnan(mv):
                    sx[j] += v
                    sm[j] += mv
                    cnt[j] += 1.0
    else:
        for r in range(t):
            mv = m[r] if has_m else 0.0
            if math.isnan(mv):
                continue
            for j in range(ns):
                v = x[r, j]
                if not math.isnan(v):
                    sx[j] += v
                    sm[j] += mv
                    cnt[j] += 1.0
    cx = np.zeros(ns)
    cm = np.zeros(ns)
    for j in range(ns):
        c = max(cnt[j], 1.0)
        cx[j] = sx[j] / c
        cm[j] = sm[j] / c
    g = gm / max(gn, 1.0)
    if not per_series_m:
        for j in range(ns):
            cm[j] = g
    return cx, cm, g


@njit(cache=True, nogil=True, error_model="numpy")
def _fill(x, m, has_m, observed, obs_rows, obs_start, n_obs, sj, start, xb, mb, rb):
    """Cells ``start .. start + len(xb) - 1`` of series ``sj`` into the buffers: ``xb`` the value
    (NaN outside the data or where x or the benchmark is missing), ``mb`` the benchmark (0 where
    absent), ``rb`` the calendar row (-1 outside the data under the observed calendar)."""
    t_rows = x.shape[0]
    for j in range(xb.shape[0]):
        r = start + j
        if observed:
            row = obs_rows[obs_start[sj] + r] if 0 <= r < n_obs[sj] else -1
            rb[j] = row
        else:
            row = r if 0 <= r < t_rows else -1
            rb[j] = r
        if row < 0:
            xb[j] = np.nan
            mb[j] = 0.0
        else:
            xv = x[row, sj]
            mv = m[row] if has_m else 0.0
            if math.isnan(mv):
                xv = np.nan
            xb[j] = xv
            mb[j] = mv


@njit(cache=True, nogil=True, error_model="numpy")
def pairs_kernel(
    x, m, has_m, observed, obs_rows, obs_start, n_obs,
    s, pos, groups, idx,
    a, b, c, d, model, min_est, allow_gaps,
    cx_s, cm_s, win_lo, win_hi, pad_b, n_rows,
    do_sar, do_sar_pairs, do_bw, do_gs, do_rank, do_kp, do_kp_pairs, do_rows,
    n_est_o, sigma_o, dof_o, params_o, ssr_o, rcode_o, nmiss_o,
    ar_o, sar_o, car_o, car_se_o, scar_o, car_days_o, rows_o,
    sar_acc, bw_sum, bw_cnt, gs_acc, e_o,
    kp_dense, kp_self, kp_u, kp_rows,
):  # fmt: skip
    """Fit, abnormal returns and test accumulators of the pairs ``idx`` (see module doc).

    ``model``: 0 raw, 1 mean, 2 market (one benchmark ``m``). Per-pair outputs (``*_o``) are
    written at the pair's index; the accumulators (``sar_acc`` (5, G, W): n, sum, sum of
    squares, positives, sum of df/(df - 2); ``bw_*`` (G, L); ``gs_acc`` (2, G); ``kp_dense``
    (G * n_rows, L); ``kp_self`` (G)) are added to. With ``do_rank`` the estimation residuals of
    the kept pairs are written to ``e_o[ii]`` (row = position in ``idx``) for the caller to rank.
    """
    w_len = b - a + 1
    l_nom = d - c + 1
    n_win = win_lo.shape[0]
    n_par = 0 if model == 0 else (1 if model == 1 else 2)
    ebuf = np.empty(l_nom)
    xbuf = np.empty(l_nom)
    mbuf = np.empty(l_nom)
    rbuf = np.empty(l_nom, dtype=np.int64)
    arw = np.empty(w_len)
    sarw = np.empty(w_len)
    mw = np.empty(w_len)
    xw = np.empty(w_len)
    mwr = np.empty(w_len)
    rw = np.empty(w_len, dtype=np.int64)
    for ii in range(idx.shape[0]):
        i = idx[ii]
        sj = s[i]
        p = pos[i]
        g = groups[i]
        # --- estimation window: one read, then two passes over the buffer ---------------------
        _fill(x, m, has_m, observed, obs_rows, obs_start, n_obs, sj, p + c, xbuf, mbuf, rbuf)
        n = 0
        sx = 0.0
        sm = 0.0
        for j in range(l_nom):
            xv = xbuf[j]
            if not math.isnan(xv):
                n += 1
                sx += xv
                sm += mbuf[j]
        L = max(float(n), 1.0)
        xbar = sx / L
        mbar = sm / L
        sxx = 0.0
        smm = 0.0
        sxm = 0.0
        for j in range(l_nom):
            xv = xbuf[j]
            if not math.isnan(xv):
                dx = xv - xbar
                dm = mbuf[j] - mbar
                sxx += dx * dx
                smm += dm * dm
                sxm += dx * dm
        singular = False
        smm_inv = 0.0
        if model == 0:
            icpt = 0.0
            beta = 0.0
        elif model == 1:
            icpt = xbar
            beta = 0.0
        else:
            dmg = mbar - cm_s[sj]
            scale = (smm + n * dmg * dmg) / L
            singular = not (smm > _VAR_RTOL * max(scale, 1e-300) * L)
            den = 1.0 if singular else smm
            beta = sxm / den
            smm_inv = 1.0 / den
            icpt = xbar - beta * mbar
        ssr = 0.0
        for j in range(l_nom):
            xv = xbuf[j]
            if math.isnan(xv):
                ebuf[j] = np.nan
            else:
                e = xv - icpt - beta * mbuf[j]
                ebuf[j] = e
                ssr += e * e
        cxj = 0.0 if model == 0 else cx_s[sj]
        dxc = xbar - cxj
        q = (sxx + n * dxc * dxc) / L
        dof = float(n - n_par)
        var = ssr / max(dof, 1.0)
        sigma = math.sqrt(max(var, 0.0))
        code = R_OK
        short = n < min_est
        if short:
            code = R_SHORT
        elif singular:
            code = R_SINGULAR
        elif not (var > _VAR_RTOL * max(q, 1e-300)):
            code = R_BADVAR
        # --- event window ---------------------------------------------------------------------
        if model == 0:
            cfac = 1.0
        else:
            cfac = 1.0 + 1.0 / L
        _fill(x, m, has_m, observed, obs_rows, obs_start, n_obs, sj, p + a, xw, mwr, rw)
        miss = 0
        for t in range(w_len):
            xv = xw[t]
            mv = mwr[t]
            if do_rows:
                rows_o[i, t] = rw[t]
            if math.isnan(xv):
                arw[t] = np.nan
                sarw[t] = np.nan
                mw[t] = 0.0
                miss += 1
                continue
            arv = xv - icpt - beta * mv
            arw[t] = arv
            if model == 2:
                dm = mv - mbar
                mw[t] = dm
                sarw[t] = arv / (sigma * math.sqrt(dm * dm * smm_inv + cfac))
            else:
                mw[t] = 0.0
                sarw[t] = arv / (sigma * math.sqrt(cfac))
        if code == R_OK:
            if allow_gaps:
                if miss == w_len:
                    code = R_GAP
            elif miss > 0:
                code = R_GAP
        n_est_o[i] = n
        ssr_o[i] = ssr
        sigma_o[i] = np.nan if short else sigma
        dof_o[i] = dof
        params_o[i, 0] = icpt
        if model == 2:
            params_o[i, 1] = beta
        rcode_o[i] = code
        nmiss_o[i] = miss
        for t in range(w_len):
            ar_o[i, t] = arw[t]
        if do_sar_pairs:
            for t in range(w_len):
                sar_o[i, t] = sarw[t]
        for wi in range(n_win):
            tt = 0
            s_ar = 0.0
            s_sar = 0.0
            sdev = 0.0
            for t in range(win_lo[wi] - a, win_hi[wi] - a + 1):
                if not math.isnan(arw[t]):
                    tt += 1
                    s_ar += arw[t]
                    sdev += mw[t]
                if not math.isnan(sarw[t]):
                    s_sar += sarw[t]
            car_days_o[i, wi] = tt
            if tt > 0:
                car_o[i, wi] = s_ar
                scar_o[i, wi] = s_sar / math.sqrt(tt)
                if model == 0:
                    quad = 0.0
                else:
                    quad = tt * tt / L
                    if model == 2:
                        quad += sdev * sdev * smm_inv
                car_se_o[i, wi] = sigma * math.sqrt(tt + quad)
            else:
                car_o[i, wi] = np.nan
                scar_o[i, wi] = np.nan
                car_se_o[i, wi] = np.nan
        if code != R_OK:
            continue
        # --- accumulators (kept pairs) --------------------------------------------------------
        if do_sar:
            vd = dof / (dof - 2.0) if dof > 2 else np.nan
            for t in range(w_len):
                sv = sarw[t]
                if not math.isnan(sv):
                    sar_acc[0, g, t] += 1.0
                    sar_acc[1, g, t] += sv
                    sar_acc[2, g, t] += sv * sv
                    sar_acc[4, g, t] += vd
                    if sv > 0:
                        sar_acc[3, g, t] += 1.0
        if do_bw or do_gs:
            npos = 0.0
            nval = 0.0
            for j in range(l_nom):
                e = ebuf[j]
                if not math.isnan(e):
                    nval += 1.0
                    if e > 0:
                        npos += 1.0
                    if do_bw:
                        bw_sum[g, j] += e
                        bw_cnt[g, j] += 1.0
            if do_gs:
                gs_acc[0, g] += npos
                gs_acc[1, g] += nval
        if do_rank:  # ranked by the caller (one vectorised sort per chunk of pairs)
            for j in range(l_nom):
                e_o[ii, j] = ebuf[j]
        if do_kp or do_kp_pairs:
            rms = math.sqrt(ssr / L)
            key = g * n_rows + p + pad_b
            uu = 0.0
            for j in range(l_nom):
                e = ebuf[j]
                u = 0.0 if math.isnan(e) else e / rms
                uu += u * u
                if do_kp:
                    kp_dense[key, j] += u
                if do_kp_pairs:
                    kp_u[i, j] = u
                    kp_rows[i, j] = rbuf[j]
            if do_kp:
                kp_self[g] += uu
