"""Compiled (numba) per-pair kernels for :mod:`backtests.engine`.

Importing this module raises ``ImportError`` when numba is not installed; the engine then keeps
its numpy path. ``NEWSBT_NO_NUMBA=1`` in the environment makes the engine ignore this module.

One pass of :func:`pairs_kernel` handles a list of event-series pairs (``raw``, ``mean`` or
one-benchmark ``market`` model, either calendar) directly from the panel, without prefix sums:
for each pair it reads its estimation window once (count and sums of the values shifted by the
series' means, so no digits are lost to a series' level), fits the model, computes the
residuals and the SSR from them (adding them to the Brown-Warner sums in the same pass), then
the event-window AR / SAR / CAR and, for kept pairs, adds the SARs and estimation residuals to
the per-group accumulators of the test battery. :func:`kp_lag_sums` reduces the standardised
residuals to the lagged cross sums of Kolari-Pynnonen; :func:`ar_day_stats` gives the per-day
AR statistics (t test, Brown-Warner, CAAR). Loops over days are written with selects rather
than branches on missing values, so that they vectorise. Units: every output is in the unit of
the panel (SAR and ranks are dimensionless).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

__all__ = ["ar_day_stats", "kp_lag_sums", "pairs_kernel"]

# reason codes (0 = kept); the engine maps them back to its strings
R_OK = 0
R_SHORT = 1
R_SINGULAR = 2
R_BADVAR = 3
R_GAP = 4

# same thresholds as the numpy path (backtests.engine._VAR_RTOL)
_VAR_RTOL = 1e-10
# a residual variance below this share of the window's mean square (about zero) is zero: the
# residuals are rounding (sigma below 1e-12 of the values' size), as backtests.engine._ZERO_VAR
_ZERO_VAR = 1e-24


@njit(cache=True, nogil=True, error_model="numpy")
def _fill(x, m, has_m, observed, obs_rows, obs_start, n_obs, sj, start, xb, mb, rb):
    """Cells ``start .. start + len(xb) - 1`` of series ``sj`` into the buffers: ``xb`` the value
    (NaN outside the data or where x or the benchmark is missing), ``mb`` the benchmark (0 where
    ``xb`` is NaN), ``rb`` the calendar row (-1 outside the data under the observed calendar)."""
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
            if math.isnan(mv) or math.isnan(xv):
                xb[j] = np.nan
                mb[j] = 0.0
            else:
                xb[j] = xv
                mb[j] = mv


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def _series_means(x, m, has_m, sj, per_series_m, gmean):
    """Mean of column ``sj`` of ``x`` (and of ``m`` on the same cells) over the cells where both
    are present; ``m``: ``gmean`` unless ``per_series_m``), and the number of infinite values in the column."""
    t = x.shape[0]
    sx = 0.0
    sm = 0.0
    cnt = 0.0
    for r in range(t):
        v = x[r, sj]
        mv = m[r] if has_m else 0.0
        ok = (v == v) & (mv == mv)
        sx += v if ok else 0.0
        sm += mv if ok else 0.0
        cnt += 1.0 if ok else 0.0
    n_inf = 0
    if not math.isfinite(sx):  # an infinite value somewhere in the column: count them
        for r in range(t):
            if math.isinf(x[r, sj]):
                n_inf += 1
    c = max(cnt, 1.0)
    return sx / c, (sm / c if per_series_m else gmean), n_inf


@njit(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc"})
def pairs_kernel(
    x, m, has_m, observed, obs_rows, obs_start, n_obs,
    s, pos, groups, idx,
    a, b, c, d, model, min_est, allow_gaps,
    gmean, n_inf_o, win_lo, win_hi,
    do_sar, do_sar_pairs, do_bw, do_gs, do_rank, do_kp_pairs, do_rows,
    n_est_o, sigma_o, dof_o, params_o, ssr_o, rcode_o, nmiss_o,
    ar_o, sar_o, car_o, car_se_o, scar_o, car_days_o, rows_o,
    sar_acc, bw_sum, bw_cnt, gs_acc, e_o, kp_u, kp_rows,
):  # fmt: skip
    """Fit, abnormal returns and test accumulators of the pairs ``idx`` (see module doc).

    ``model``: 0 raw, 1 mean, 2 market (one benchmark ``m``). The pairs should come sorted by
    series: each series' column means (the scale of the variance checks) are computed once per
    run of equal series, and its count of infinite values written to ``n_inf_o`` (the caller
    treats them as missing and runs again when any is found). Per-pair outputs (``*_o``) are
    written at the pair's index; the accumulators (``sar_acc`` (5, G, W): n, sum, sum of
    squares, positives, sum of df/(df - 2); ``bw_*`` (G, L); ``gs_acc`` (2, G)) are added to;
    ``do_kp_pairs`` writes each kept pair's standardised residuals and their calendar rows. With ``do_rank`` the estimation residuals of
    the kept pairs are written to ``e_o[ii]`` (row = position in ``idx``) for the caller to rank.
    Loops are written without branches on missing values (selects), so that they vectorise.
    """
    w_len = b - a + 1
    l_nom = d - c + 1
    t_rows = x.shape[0]
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
    prev_s = -1
    cx_j = 0.0
    cm_j = 0.0
    for ii in range(idx.shape[0]):
        i = idx[ii]
        sj = s[i]
        p = pos[i]
        g = groups[i]
        if sj != prev_s:
            cx_j, cm_j, n_inf = _series_means(x, m, has_m, sj, observed, gmean)
            n_inf_o[sj] = n_inf
            prev_s = sj
        # --- estimation window: one read with sums shifted by the series means ---------------
        # (n, sums of dx, dm, dx^2, dm^2, dx dm with dx = x - cx_j, dm = m - cm_j: the shift
        # keeps the digits a series' level would cost, like two passes would)
        if observed:
            _fill(x, m, has_m, observed, obs_rows, obs_start, n_obs, sj, p + c, xbuf, mbuf, rbuf)
            lo = 0
            hi = 0
        else:
            r0 = p + c
            lo = min(max(0, -r0), l_nom)
            hi = max(min(l_nom, t_rows - r0), lo)
            for j in range(lo):
                xbuf[j] = np.nan
                mbuf[j] = 0.0
            for j in range(hi, l_nom):
                xbuf[j] = np.nan
                mbuf[j] = 0.0
            if do_kp_pairs:
                for j in range(l_nom):
                    rbuf[j] = r0 + j
        nf = 0.0
        s_x = 0.0
        s_m = 0.0
        s_xx = 0.0
        s_mm = 0.0
        s_xm = 0.0
        if observed:
            for j in range(l_nom):
                xv = xbuf[j]
                ok = xv == xv
                dx = (xv - cx_j) if ok else 0.0
                dm = (mbuf[j] - cm_j) if ok else 0.0
                nf += 1.0 if ok else 0.0
                s_x += dx
                s_m += dm
                s_xx += dx * dx
                s_mm += dm * dm
                s_xm += dx * dm
        else:  # read straight from the column (slice views: no wrap-around checks, vectorises)
            xcol = x[r0 + lo : r0 + hi, sj]
            mcol = m[r0 + lo : r0 + hi] if has_m else m[:0]
            for k in range(xcol.shape[0]):
                j = lo + k
                xv = xcol[k]
                mv = mcol[k] if has_m else 0.0
                ok = (xv == xv) & (mv == mv)
                xbuf[j] = xv if ok else np.nan
                mbuf[j] = mv if ok else 0.0
                dx = (xv - cx_j) if ok else 0.0
                dm = (mv - cm_j) if ok else 0.0
                nf += 1.0 if ok else 0.0
                s_x += dx
                s_m += dm
                s_xx += dx * dx
                s_mm += dm * dm
                s_xm += dx * dm
        n = int(nf)
        L = max(nf, 1.0)
        xbar = cx_j + s_x / L
        mbar = cm_j + s_m / L
        smm = max(s_mm - s_m * s_m / L, 0.0)
        sxm = s_xm - s_x * s_m / L
        singular = False
        smm_inv = 0.0
        if model == 0:
            icpt = 0.0
            beta = 0.0
        elif model == 1:
            icpt = xbar
            beta = 0.0
        else:
            # s_mm / L: mean square of m about its series mean (the scale of the check)
            singular = not (smm > _VAR_RTOL * max(s_mm / L, 1e-300) * L)
            den = 1.0 if singular else smm
            beta = sxm / den
            smm_inv = 1.0 / den
            icpt = xbar - beta * mbar
        short = n < min_est
        # --- event window: ARs (the SARs wait for sigma) --------------------------------------
        if observed:
            _fill(x, m, has_m, observed, obs_rows, obs_start, n_obs, sj, p + a, xw, mwr, rw)
        else:  # the event window lies inside the data (checked by the caller)
            xcol = x[p + a : p + a + w_len, sj]
            mcol = m[p + a : p + a + w_len] if has_m else m[:0]
            for t in range(w_len):
                xv = xcol[t]
                mv = mcol[t] if has_m else 0.0
                ok = (xv == xv) & (mv == mv)
                xw[t] = xv if ok else np.nan
                mwr[t] = mv if ok else 0.0
                rw[t] = p + a + t
        if do_rows:
            for t in range(w_len):
                rows_o[i, t] = rw[t]
        nmiss = 0.0
        for t in range(w_len):
            xv = xw[t]
            ok = xv == xv
            arw[t] = xv - icpt - beta * mwr[t]  # NaN where missing
            mw[t] = (mwr[t] - mbar) if (ok & (model == 2)) else 0.0
            nmiss += 0.0 if ok else 1.0
        miss = int(nmiss)
        gap = (miss == w_len) if allow_gaps else (miss > 0)
        # mean square of the window's values about zero: the scale of the variance check
        ms0 = max((s_xx + 2.0 * cx_j * s_x + nf * cx_j * cx_j) / L, 0.0)
        dof = float(n - n_par)
        # the SSR from the moments (rounded): when it clears the variance check by a wide margin
        # the pair is kept, and its residuals go to Brown-Warner in the residual pass itself;
        # otherwise they are added (or not) once the exact SSR has decided
        if model == 0:
            ssr_est = ms0 * L
        elif model == 1:
            ssr_est = s_xx - s_x * s_x / L
        else:
            ssr_est = (s_xx - s_x * s_x / L) - sxm * sxm * smm_inv
        # (and well above the moments' own rounding)
        clear = (ssr_est > 1e4 * _ZERO_VAR * max(ms0, 1e-300) * max(dof, 1.0)) and (ssr_est > 1e-8 * s_xx)
        spec = do_bw and clear and not (short or singular or gap)
        # --- estimation residuals: SSR (from the residuals, no digits lost) -------------------
        ssr = 0.0
        if spec:
            bws = bw_sum[g]
            bwc = bw_cnt[g]
            for j in range(l_nom):
                e = xbuf[j] - icpt - beta * mbuf[j]  # NaN where x is missing
                ebuf[j] = e
                ok = e == e
                ssr += (e * e) if ok else 0.0
                bws[j] += e if ok else 0.0
                bwc[j] += 1.0 if ok else 0.0
        else:
            for j in range(l_nom):
                e = xbuf[j] - icpt - beta * mbuf[j]
                ebuf[j] = e
                ssr += (e * e) if e == e else 0.0
        var = ssr / max(dof, 1.0)
        sigma = math.sqrt(max(var, 0.0))
        code = R_OK
        if short:
            code = R_SHORT
        elif singular:
            code = R_SINGULAR
        elif not (var > _ZERO_VAR * max(ms0, 1e-300)):
            code = R_BADVAR
        elif gap:
            code = R_GAP
        if do_bw and code == R_OK and not spec:  # near the variance check: added now
            bws = bw_sum[g]
            bwc = bw_cnt[g]
            for j in range(l_nom):
                e = ebuf[j]
                ok = e == e
                bws[j] += e if ok else 0.0
                bwc[j] += 1.0 if ok else 0.0
        elif spec and code != R_OK:  # (not expected: the moments cleared the check) take back
            for j in range(l_nom):
                e = ebuf[j]
                ok = e == e
                bw_sum[g, j] -= e if ok else 0.0
                bw_cnt[g, j] -= 1.0 if ok else 0.0
        # --- event window: SARs and CARs ------------------------------------------------------
        cfac = 1.0 if model == 0 else 1.0 + 1.0 / L
        for t in range(w_len):
            arv = arw[t]
            if model == 2:
                dm = mw[t]
                sarw[t] = arv / (sigma * math.sqrt(dm * dm * smm_inv + cfac))
            else:
                sarw[t] = arv / (sigma * math.sqrt(cfac))
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
            a_n = sar_acc[0, g]
            a_s1 = sar_acc[1, g]
            a_s2 = sar_acc[2, g]
            a_pos = sar_acc[3, g]
            a_var = sar_acc[4, g]
            for t in range(w_len):
                sv = sarw[t]
                ok = sv == sv
                a_n[t] += 1.0 if ok else 0.0
                a_s1[t] += sv if ok else 0.0
                a_s2[t] += (sv * sv) if ok else 0.0
                a_var[t] += vd if ok else 0.0
                a_pos[t] += 1.0 if sv > 0 else 0.0
        if do_gs:
            npos = 0.0
            for j in range(l_nom):
                npos += 1.0 if ebuf[j] > 0 else 0.0
            gs_acc[0, g] += npos
            gs_acc[1, g] += nf
        if do_rank:  # ranked by the caller (one vectorised sort per chunk of pairs)
            for j in range(l_nom):
                e_o[ii, j] = ebuf[j]
        if do_kp_pairs:  # observed calendar: per pair (index calendar: kp_lag_sums)
            rinv = 1.0 / math.sqrt(ssr / L)
            for j in range(l_nom):
                e = ebuf[j]
                kp_u[i, j] = (e * rinv) if e == e else 0.0
                kp_rows[i, j] = rbuf[j]


@njit(cache=True, nogil=True, error_model="numpy")
def ar_day_stats(ar, rows):
    """Per relative day statistics of the rows ``rows`` of ``ar`` (N, W), two passes.

    Returns ``(n, mean, sd, n_pos, caar, caar_se)``, each (W,): the number of non-missing ARs,
    their mean and sample sd (ddof 1; NaN below 2), the number of positive ARs, the mean over
    the rows started by that day (a first non-missing AR on or before it) of the cumulative AR
    from the window start (missing days count 0), and the sample sd of those cumulative ARs
    divided by the square root of their number. Units: those of ``ar`` (counts: pairs).
    """
    w = ar.shape[1]
    n = np.zeros(w)
    s = np.zeros(w)
    npos = np.zeros(w)
    ns = np.zeros(w)
    sr = np.zeros(w)
    for k in range(rows.shape[0]):
        row = ar[rows[k]]
        run = 0.0
        started = False
        for j in range(w):
            v = row[j]
            ok = v == v
            vv = v if ok else 0.0
            n[j] += 1.0 if ok else 0.0
            s[j] += vv
            npos[j] += 1.0 if v > 0 else 0.0
            run += vv
            started |= ok
            ns[j] += 1.0 if started else 0.0
            sr[j] += run if started else 0.0
    mean = np.full(w, np.nan)
    caar = np.full(w, np.nan)
    for j in range(w):
        if n[j] > 0:
            mean[j] = s[j] / n[j]
        if ns[j] > 0:
            caar[j] = sr[j] / ns[j]
    ss = np.zeros(w)
    ssr = np.zeros(w)
    for k in range(rows.shape[0]):
        row = ar[rows[k]]
        run = 0.0
        started = False
        for j in range(w):
            v = row[j]
            ok = v == v
            d = (v - mean[j]) if ok else 0.0
            ss[j] += d * d
            run += v if ok else 0.0
            started |= ok
            dr = (run - caar[j]) if started else 0.0
            ssr[j] += dr * dr
    sd = np.full(w, np.nan)
    se = np.full(w, np.nan)
    for j in range(w):
        if n[j] > 1:
            sd[j] = math.sqrt(ss[j] / (n[j] - 1.0))
        if ns[j] > 1:
            se[j] = math.sqrt(ssr[j] / (ns[j] - 1.0)) / math.sqrt(ns[j])
    return n, mean, sd, npos, caar, se


@njit(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc"})
def kp_lag_sums(
    x, m, has_m, s, pos, groups, rowkey, order, icpt, beta, ssr, n_est, c, l_nom, n_lags, n_groups,
    emit_from,
):  # fmt: skip
    """Lagged cross sums of standardised estimation residuals for Kolari-Pynnonen (index calendar).

    ``rowkey``: per pair, group x span + day-0 row, with a span that leaves at least ``n_lags``
    empty rows between groups; ``order``: the kept pairs sorted by ``rowkey``. With u_i the
    standardised residuals of pair i (residual / RMS residual, 0 where missing; recomputed from
    the fitted ``icpt``, ``beta`` and ``ssr``, exactly as :func:`pairs_kernel` computes them)
    and A_g[r] the sum of u_i over the pairs of group g with day 0 at row r, returns ``s_d``
    (G, n_lags): s_d[g, k] = sum over rows r of <A_g[r][k:], A_g[r + k][:L - k]> (the products
    of the two pairs' residuals on their common calendar days), and ``self_sum`` (G): sum over
    pairs of sum u^2. Only ``n_lags`` rows of A are kept at a time (one ring, whatever the number
    of groups: rows of different groups are never within ``n_lags`` of each other). Keys before
    ``emit_from`` only fill the ring (a thread taking a later range of keys starts ``n_lags - 1``
    keys early and adds only its own rows). Units: dimensionless.
    """
    t_rows = x.shape[0]
    ring = np.zeros((n_lags, l_nom))
    tag = np.full(n_lags, -1, dtype=np.int64)
    s_d = np.zeros((n_groups, n_lags))
    self_sum = np.zeros(n_groups)
    n = order.shape[0]
    for k in range(n + 1):
        # row (key) complete: add its products with the rows 0 .. n_lags - 1 keys before it
        if k > 0 and (k == n or rowkey[order[k]] != rowkey[order[k - 1]]):
            r = rowkey[order[k - 1]]
            if r >= emit_from:
                g = groups[order[k - 1]]
                cur = ring[r % n_lags]
                for lag in range(n_lags):
                    q = r - lag
                    slot = q % n_lags
                    if q < 0 or tag[slot] != q:
                        continue
                    prev = ring[slot]
                    acc = 0.0
                    for j in range(l_nom - lag):
                        acc += prev[j + lag] * cur[j]
                    s_d[g, lag] += acc
        if k == n:
            break
        i = order[k]
        g = groups[i]
        p = pos[i]
        key = rowkey[i]
        slot = key % n_lags
        row = ring[slot]
        if tag[slot] != key:  # first pair on this row: reuse the slot
            row[:] = 0.0
            tag[slot] = key
        sj = s[i]
        rinv = 1.0 / math.sqrt(ssr[i] / max(float(n_est[i]), 1.0))
        a0 = icpt[i]
        b0 = beta[i]
        r0 = p + c
        uu = 0.0
        lo = min(max(0, -r0), l_nom)
        hi = max(min(l_nom, t_rows - r0), lo)
        xcol = x[r0 + lo : r0 + hi, sj]  # a column view: no wrap-around checks, vectorises
        mcol = m[r0 + lo : r0 + hi] if has_m else m[:0]
        for jj in range(xcol.shape[0]):
            xv = xcol[jj]
            mv = mcol[jj] if has_m else 0.0
            u = (xv - a0 - b0 * mv) * rinv
            u = u if u == u else 0.0  # missing x or benchmark
            row[lo + jj] += u
            uu += u * u
        if key >= emit_from:
            self_sum[g] += uu
    return s_d, self_sum
