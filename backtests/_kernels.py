"""Compiled (numba) per-pair kernels for :mod:`backtests.engine`.

numba is a required dependency. Every kernel of the engine (here, in
:mod:`backtests._kernels_factor` and in :mod:`backtests.placebo`) is declared with :func:`kernel`:
compiled by numba, or, with ``NEWSBT_NO_NUMBA=1`` in the environment when this module is first
imported, the very same source run by Python (debugging: breakpoints and prints work inside the
kernels; slow). There is no other implementation. Reason codes and the variance thresholds are
defined here, once.

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
import os

import numpy as np
from numba import njit

__all__ = ["COMPILED", "ar_day_stats", "kernel", "kp_lag_sums", "pairs_kernel"]

# whether the kernels are compiled (read once, when this module is first imported)
COMPILED = os.environ.get("NEWSBT_NO_NUMBA", "") not in ("1", "true", "yes")


def kernel(**options):
    """Decorator of the engine's kernels: ``numba.njit(**options)``, or the function itself (the
    same source run by Python) when ``NEWSBT_NO_NUMBA=1`` was set at import (:data:`COMPILED`)."""

    def wrap(fn):
        return njit(**options)(fn) if COMPILED else fn

    return wrap


# reason codes (0 = kept) and their strings: the one definition, for both engine paths
R_OK = 0
R_SHORT = 1
R_SINGULAR = 2
R_BADVAR = 3
R_GAP = 4
SHORT_ESTIMATION = "short_estimation"
NONPOSITIVE_VARIANCE = "nonpositive_variance"
SINGULAR_BENCHMARK = "singular_benchmark"
MISSING_IN_WINDOW = "missing_in_window"
REASONS = ("", SHORT_ESTIMATION, SINGULAR_BENCHMARK, NONPOSITIVE_VARIANCE, MISSING_IN_WINDOW)  # by code

# relative threshold of the singular-benchmark check (benchmark variance vs its mean square)
VAR_RTOL = 1e-10
# a residual variance below this share of the window's mean square (about zero) is zero: the
# residuals are rounding (sigma below 1e-12 of the values' size)
ZERO_VAR = 1e-24
_VAR_RTOL = VAR_RTOL  # (module globals are compile-time constants for the kernels)
_ZERO_VAR = ZERO_VAR


@kernel(cache=True, nogil=True, error_model="numpy", inline="always")
def cal_row(observed, obs_rows, obs_start, n_obs, sj, r, t_rows):
    """Position ``r`` of series ``sj``'s calendar: (its panel row, -1 outside the data; the row
    reported for it: the same under the observed calendar, ``r`` itself under the index one)."""
    if observed:
        row = obs_rows[obs_start[sj] + r] if 0 <= r < n_obs[sj] else -1
        return row, row
    return (r if 0 <= r < t_rows else -1), r


@kernel(cache=True, nogil=True, error_model="numpy")
def _fill(x, m, has_m, observed, obs_rows, obs_start, n_obs, sj, start, xb, mb, rb):
    """Cells ``start .. start + len(xb) - 1`` of series ``sj`` into the buffers: ``xb`` the value
    (NaN outside the data or where x or the benchmark is missing), ``mb`` the benchmark (0 where
    ``xb`` is NaN), ``rb`` the calendar row (-1 outside the data under the observed calendar)."""
    t_rows = x.shape[0]
    for j in range(xb.shape[0]):
        row, rb[j] = cal_row(observed, obs_rows, obs_start, n_obs, sj, start + j, t_rows)
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


@kernel(cache=True, nogil=True, error_model="numpy", inline="always")
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


@kernel(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc"})
def _est_sums(
    x, m, has_m, observed, obs_rows, obs_start, n_obs, sj, r0, cx_j, cm_j, xbuf, mbuf, rbuf, do_rows
):
    """Read the estimation window (calendar rows ``r0 ..``) of series ``sj`` into the buffers and
    return (n, sums of dx, dm, dx^2, dm^2, dx dm) with dx = x - cx_j, dm = m - cm_j (the shift
    keeps the digits a series' level would cost, like two passes would)."""
    l_nom = xbuf.shape[0]
    t_rows = x.shape[0]
    nf = 0.0
    s_x = 0.0
    s_m = 0.0
    s_xx = 0.0
    s_mm = 0.0
    s_xm = 0.0
    if observed:
        _fill(x, m, has_m, observed, obs_rows, obs_start, n_obs, sj, r0, xbuf, mbuf, rbuf)
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
        return nf, s_x, s_m, s_xx, s_mm, s_xm
    lo = min(max(0, -r0), l_nom)
    hi = max(min(l_nom, t_rows - r0), lo)
    for j in range(lo):
        xbuf[j] = np.nan
        mbuf[j] = 0.0
    for j in range(hi, l_nom):
        xbuf[j] = np.nan
        mbuf[j] = 0.0
    if do_rows:
        for j in range(l_nom):
            rbuf[j] = r0 + j
    # read straight from the column (slice views: no wrap-around checks, vectorises)
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
    return nf, s_x, s_m, s_xx, s_mm, s_xm


@kernel(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc"})
def _fit(model, nf, s_x, s_m, s_mm, s_xm, cx_j, cm_j):
    """(intercept, beta, 1 / Smm, singular, mean of m) of the model from the shifted sums."""
    L = max(nf, 1.0)
    xbar = cx_j + s_x / L
    mbar = cm_j + s_m / L
    smm = max(s_mm - s_m * s_m / L, 0.0)
    sxm = s_xm - s_x * s_m / L
    if model == 0:
        return 0.0, 0.0, 0.0, False, mbar
    if model == 1:
        return xbar, 0.0, 0.0, False, mbar
    # s_mm / L: mean square of m about its series mean (the scale of the check)
    singular = not (smm > _VAR_RTOL * max(s_mm / L, 1e-300) * L)
    den = 1.0 if singular else smm
    beta = sxm / den
    return xbar - beta * mbar, beta, 1.0 / den, singular, mbar


@kernel(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc"})
def _window(x, m, has_m, observed, obs_rows, obs_start, n_obs, sj, p, a, model, icpt, beta, mbar,
            xw, mwr, rw, arw, mw):  # fmt: skip
    """Event window of the pair (day 0 at ``p``): values, benchmark, rows, ARs (NaN where
    missing) and benchmark deviations from the estimation mean; returns the missing count."""
    w_len = arw.shape[0]
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
    nmiss = 0.0
    for t in range(w_len):
        xv = xw[t]
        ok = xv == xv
        arw[t] = xv - icpt - beta * mwr[t]  # NaN where missing
        mw[t] = (mwr[t] - mbar) if (ok & (model == 2)) else 0.0
        nmiss += 0.0 if ok else 1.0
    return int(nmiss)


@kernel(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc"})
def _residuals(xbuf, mbuf, ebuf, icpt, beta, bws, bwc, add_bw):
    """Estimation residuals into ``ebuf``; their SSR; added to the Brown-Warner sums if ``add_bw``."""
    ssr = 0.0
    for j in range(xbuf.shape[0]):
        e = xbuf[j] - icpt - beta * mbuf[j]  # NaN where x is missing
        ebuf[j] = e
        ok = e == e
        ssr += (e * e) if ok else 0.0
        if add_bw:
            bws[j] += e if ok else 0.0
            bwc[j] += 1.0 if ok else 0.0
    return ssr


@kernel(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc"})
def _bw_add(ebuf, bws, bwc, sign):
    """Add (``sign`` 1) or take back (-1) residuals to the Brown-Warner sums."""
    for j in range(ebuf.shape[0]):
        e = ebuf[j]
        ok = e == e
        bws[j] += sign * e if ok else 0.0
        bwc[j] += sign * 1.0 if ok else 0.0


@kernel(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc"})
def _cars(i, arw, sarw, mw, model, L, smm_inv, sigma, a, win_lo, win_hi, car_o, car_se_o, scar_o, car_days_o):
    """CAR, its forecast-error standard error, SCAR and day count of pair ``i`` per window."""
    for wi in range(win_lo.shape[0]):
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
            quad = 0.0 if model == 0 else tt * tt / L + (sdev * sdev * smm_inv if model == 2 else 0.0)
            car_se_o[i, wi] = sigma * math.sqrt(tt + quad)
        else:
            car_o[i, wi] = np.nan
            scar_o[i, wi] = np.nan
            car_se_o[i, wi] = np.nan


@kernel(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc"})
def _add_sar(sar_acc, g, sarw, dof):
    """Daily SAR moments of a kept pair into its group's accumulators (Patell, BMP)."""
    vd = dof / (dof - 2.0) if dof > 2 else np.nan
    for t in range(sarw.shape[0]):
        sv = sarw[t]
        ok = sv == sv
        sar_acc[0, g, t] += 1.0 if ok else 0.0
        sar_acc[1, g, t] += sv if ok else 0.0
        sar_acc[2, g, t] += (sv * sv) if ok else 0.0
        sar_acc[4, g, t] += vd if ok else 0.0
        sar_acc[3, g, t] += 1.0 if sv > 0 else 0.0


@kernel(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc"})
def _clears(model, nf, s_x, s_m, s_xx, s_xm, smm_inv, ms0, dof):
    """Whether the SSR from the moments (rounded) clears the variance check by a wide margin (and
    well above the moments' own rounding): then the pair is kept and its residuals can go to
    Brown-Warner in the residual pass itself; otherwise they wait for the exact SSR."""
    L = max(nf, 1.0)
    sxx_c = s_xx - s_x * s_x / L
    if model == 0:
        ssr_est = ms0 * L
    elif model == 1:
        ssr_est = sxx_c
    else:
        sxm = s_xm - s_x * s_m / L
        ssr_est = sxx_c - sxm * sxm * smm_inv
    return (ssr_est > 1e4 * _ZERO_VAR * max(ms0, 1e-300) * max(dof, 1.0)) and (ssr_est > 1e-8 * s_xx)


@kernel(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc"})
def _reason(short, singular, var, ms0, gap):
    """Reason code of a pair (R_OK: kept), in the order the checks apply."""
    if short:
        return R_SHORT
    if singular:
        return R_SINGULAR
    if not (var > _ZERO_VAR * max(ms0, 1e-300)):
        return R_BADVAR
    if gap:
        return R_GAP
    return R_OK


@kernel(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc"})
def pairs_kernel(
    x, m, has_m, observed, obs_rows, obs_start, n_obs,
    s, pos, groups, idx,
    a, b, c, d, model, min_est, allow_gaps,
    gmean, n_inf_o, win_lo, win_hi,
    do_sar, do_bw, do_gs, do_rank, do_kp_pairs, do_rows,
    n_est_o, sigma_o, dof_o, params_o, ssr_o, rcode_o, nmiss_o,
    ar_o, car_o, car_se_o, scar_o, car_days_o, rows_o,
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
    n_par = 0 if model == 0 else (1 if model == 1 else 2)
    ebuf, xbuf, mbuf, rbuf = (
        np.empty(l_nom),
        np.empty(l_nom),
        np.empty(l_nom),
        np.empty(l_nom, dtype=np.int64),
    )
    arw, sarw, mw, xw, mwr = np.empty(w_len), np.empty(w_len), np.empty(w_len), np.empty(w_len), np.empty(w_len)  # fmt: skip
    rw = np.empty(w_len, dtype=np.int64)
    prev_s, cx_j, cm_j = -1, 0.0, 0.0
    for ii in range(idx.shape[0]):
        i = idx[ii]
        sj, p, g = s[i], pos[i], groups[i]
        if sj != prev_s:
            cx_j, cm_j, n_inf = _series_means(x, m, has_m, sj, observed, gmean)
            n_inf_o[sj] = n_inf
            prev_s = sj
        # --- estimation window: one read with sums shifted by the series means, the fit -------
        nf, s_x, s_m, s_xx, s_mm, s_xm = _est_sums(x, m, has_m, observed, obs_rows, obs_start, n_obs, sj,
                                                   p + c, cx_j, cm_j, xbuf, mbuf, rbuf, do_kp_pairs)  # fmt: skip
        n = int(nf)
        L = max(nf, 1.0)
        icpt, beta, smm_inv, singular, mbar = _fit(model, nf, s_x, s_m, s_mm, s_xm, cx_j, cm_j)
        short = n < min_est
        # --- event window: ARs (the SARs wait for sigma) --------------------------------------
        miss = _window(x, m, has_m, observed, obs_rows, obs_start, n_obs, sj, p, a, model, icpt, beta, mbar,
                       xw, mwr, rw, arw, mw)  # fmt: skip
        if do_rows:
            rows_o[i, :] = rw
        gap = (miss == w_len) if allow_gaps else (miss > 0)
        # mean square of the window's values about zero: the scale of the variance check
        ms0 = max((s_xx + 2.0 * cx_j * s_x + nf * cx_j * cx_j) / L, 0.0)
        dof = float(n - n_par)
        # residuals to Brown-Warner in the residual pass itself when the moments clear the check
        spec = (
            do_bw
            and _clears(model, nf, s_x, s_m, s_xx, s_xm, smm_inv, ms0, dof)
            and not (short or singular or gap)
        )
        # --- estimation residuals: SSR (from the residuals, no digits lost) -------------------
        gb = g if do_bw else 0  # (without Brown-Warner the sums are a 1 x 1 placeholder)
        ssr = _residuals(xbuf, mbuf, ebuf, icpt, beta, bw_sum[gb], bw_cnt[gb], spec)
        var = ssr / max(dof, 1.0)
        sigma = math.sqrt(max(var, 0.0))
        code = _reason(short, singular, var, ms0, gap)
        if do_bw and code == R_OK and not spec:  # near the variance check: added now
            _bw_add(ebuf, bw_sum[g], bw_cnt[g], 1.0)
        elif spec and code != R_OK:  # (not expected: the moments cleared the check) take back
            _bw_add(ebuf, bw_sum[g], bw_cnt[g], -1.0)
        # --- event window: SARs and CARs ------------------------------------------------------
        cfac = 1.0 if model == 0 else 1.0 + 1.0 / L
        for t in range(w_len):
            dm = mw[t]
            sarw[t] = arw[t] / (sigma * math.sqrt((dm * dm * smm_inv if model == 2 else 0.0) + cfac))
        n_est_o[i], ssr_o[i], sigma_o[i], dof_o[i] = n, ssr, (np.nan if short else sigma), dof
        params_o[i, 0] = icpt
        if model == 2:
            params_o[i, 1] = beta
        rcode_o[i], nmiss_o[i] = code, miss
        ar_o[i, :] = arw
        _cars(i, arw, sarw, mw, model, L, smm_inv, sigma, a, win_lo, win_hi, car_o, car_se_o, scar_o, car_days_o)  # fmt: skip
        if code != R_OK:
            continue
        # --- accumulators (kept pairs) --------------------------------------------------------
        if do_sar:
            _add_sar(sar_acc, g, sarw, dof)
        if do_gs:
            gs_acc[0, g] += (ebuf > 0).sum()
            gs_acc[1, g] += nf
        if do_rank:  # ranked by the caller (one vectorised sort per chunk of pairs)
            e_o[ii, :] = ebuf
        if do_kp_pairs:  # observed calendar: per pair (index calendar: kp_lag_sums)
            kp_u[i, :] = np.where(ebuf == ebuf, ebuf * (1.0 / math.sqrt(ssr / L)), 0.0)
            kp_rows[i, :] = rbuf


@kernel(cache=True, nogil=True, error_model="numpy")
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


@kernel(cache=True, nogil=True, error_model="numpy", fastmath={"reassoc"})
def kp_lag_sums(
    x, m, has_m, s, pos, groups, rowkey, order, icpt, beta, ssr, n_est, c, l_nom, n_lags, n_groups,
    emit_from, mf, bf,
):  # fmt: skip
    """Lagged cross sums of standardised estimation residuals for Kolari-Pynnonen (index calendar).

    ``rowkey``: per pair, group x span + day-0 row, with a span that leaves at least ``n_lags``
    empty rows between groups; ``order``: the kept pairs sorted by ``rowkey``. With u_i the
    standardised residuals of pair i (residual / RMS residual, 0 where missing; recomputed from
    the fitted ``icpt``, ``beta`` and ``ssr``, exactly as :func:`pairs_kernel` computes them; the
    factor model passes ``has_m`` False and its benchmarks ``mf`` (k, T) and slopes ``bf`` (N, k),
    the other models ``mf``/``bf`` with k = 0)
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
        if mf.shape[0] == 0:
            for jj in range(xcol.shape[0]):
                xv = xcol[jj]
                mv = mcol[jj] if has_m else 0.0
                u = (xv - a0 - b0 * mv) * rinv
                u = u if u == u else 0.0  # missing x or benchmark
                row[lo + jj] += u
                uu += u * u
        else:  # factor model: several benchmarks
            for jj in range(xcol.shape[0]):
                u = xcol[jj] - a0
                for q in range(mf.shape[0]):
                    u -= bf[i, q] * mf[q, r0 + lo + jj]
                u *= rinv
                u = u if u == u else 0.0  # missing x or a benchmark
                row[lo + jj] += u
                uu += u * u
        if key >= emit_from:
            self_sum[g] += uu
    return s_d, self_sum


@kernel(cache=True, nogil=True, error_model="numpy")
def _common(a, b):
    """Number of values two ascending integer arrays share (entries < 0 ignored)."""
    i = 0
    j = 0
    n = 0
    while i < a.shape[0] and j < b.shape[0]:
        if a[i] < 0 or a[i] < b[j]:
            i += 1
        elif b[j] < 0 or b[j] < a[i]:
            j += 1
        else:
            n += 1
            i += 1
            j += 1
    return n


@kernel(cache=True, nogil=True, error_model="numpy")
def kp_pair_sums(u, est_cols, win_cols, order, win_lo, win_hi, n_cols, a0, a1):
    """Kolari-Pynnonen cross sums over the pairs whose event windows share a calendar date.

    ``u`` (N, L): standardised estimation residuals (0 where missing); ``est_cols`` (N, L) and
    ``win_cols`` (N, W): calendar rows (0 .. n_cols - 1) of the estimation and event-window days
    (ascending; -1 where there is no such date); ``order``: the rows to use (the pairs of one
    group), sorted by their first window row; ``win_lo``/``win_hi``: tested windows as column ranges of ``win_cols``. For each
    touching pair (i, j), rho_ij = sum of u_i u_j over their common estimation dates / the
    number of those dates (0 when none). Returns ``daily`` (W,): sum of 2 rho_ij over the pairs
    with day t on the same date, and ``wins`` (K,): sum of 2 rho_ij x (common dates in the window
    / its length), over the pairs (i, j) with i at positions ``a0 .. a1 - 1`` of ``order`` and j
    after it (threads take ranges of i). Pair i's residuals are spread on a calendar-long line once, so each partner
    j costs one gather of its L dates. Units: dimensionless.
    """
    n = order.shape[0]
    l_nom = u.shape[1]
    w = win_cols.shape[1]
    daily = np.zeros(w)
    wins = np.zeros(win_lo.shape[0])
    line_u = np.zeros(n_cols + 1)  # index n_cols: the "no date" slot, always 0
    line_n = np.zeros(n_cols + 1)
    for a in range(a0, a1):
        i = order[a]
        last_i = win_cols[i, w - 1]
        spread = False
        for b in range(a + 1, n):
            j = order[b]
            if win_cols[j, 0] > last_i:
                break
            if _common(win_cols[i], win_cols[j]) == 0:
                continue
            if not spread:
                for p in range(l_nom):
                    col = est_cols[i, p]
                    if col >= 0:
                        line_u[col] = u[i, p]
                        line_n[col] = 1.0
                spread = True
            num = 0.0
            nij = 0.0
            for q in range(l_nom):
                col = est_cols[j, q]
                col = col if col >= 0 else n_cols
                num += line_u[col] * u[j, q]
                nij += line_n[col]
            rho = num / nij if nij > 0 else 0.0
            for t in range(w):
                if win_cols[i, t] == win_cols[j, t]:
                    daily[t] += 2.0 * rho
            for k in range(win_lo.shape[0]):
                lo = win_lo[k]
                hi = win_hi[k]
                c = _common(win_cols[i, lo:hi], win_cols[j, lo:hi])
                wins[k] += 2.0 * rho * c / (hi - lo)
        if spread:
            for p in range(l_nom):
                col = est_cols[i, p]
                if col >= 0:
                    line_u[col] = 0.0
                    line_n[col] = 0.0
    return daily, wins
