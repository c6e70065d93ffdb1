"""Compiled kernel of the ``factor`` normal-return model (k >= 1 benchmarks) for :mod:`backtests.engine`.

Same contract as :func:`backtests._kernels.pairs_kernel` (per-pair outputs, per-group
accumulators, reason codes), for ``x_t = alpha + sum_q beta_q m_qt + e_t``. Per pair the
estimation window is read once into buffers (a day is usable when ``x`` and every benchmark are
present), the fit takes two passes over the buffers (means, then the centred cross products), the
``k x k`` system is solved by Gauss-Jordan (symmetric positive definite: no pivoting), and the SSR
comes from the residuals themselves. The SAR of day ``t`` divides the AR by
``sigma sqrt(1 + 1/L + d_t' S_mm^-1 d_t)`` (``d_t``: benchmark deviations from their estimation
means), the CAR's standard error is ``sigma sqrt(T + T^2/L + D' S_mm^-1 D)`` (``D``: the sum of
``d_t`` over the CAR's days), as the oracle's ``z' (Z'Z)^-1 z`` forms.

Singular benchmarks: ``det(S_mm) <= VAR_RTOL * prod_q S^c_qq`` with ``S_mm`` the benchmarks'
centred cross products over the window and ``S^c_qq`` the sum of squares of benchmark ``q`` about
its series centre (its mean over the calendar; under the observed calendar its mean over the
series' own usable days). With one benchmark this is exactly the market model's check; with
several it also catches collinear benchmarks (``det / prod`` is then the determinant of their
correlation matrix times the share of their variance about the window mean). Thresholds and reason
codes come from :mod:`backtests._kernels`. Units: those of the panel (SAR dimensionless).
"""

from __future__ import annotations

import math

import numpy as np

from backtests._kernels import R_OK, VAR_RTOL, _add_sar, _bw_add, _reason, cal_row, kernel

__all__ = ["factor_kernel"]

_VAR_RTOL = VAR_RTOL  # (a module global: a compile-time constant for the kernels)
_OPTS = {"cache": True, "nogil": True, "error_model": "numpy", "fastmath": {"reassoc"}}


@kernel(**_OPTS)
def _fill_f(x, mf, observed, obs_rows, obs_start, n_obs, sj, start, xb, mb, rb):
    """Cells ``start ..`` of series ``sj`` (positions in its calendar) into ``xb`` (value; NaN
    outside the data or where x or any benchmark is missing), ``mb`` (k, L) (benchmarks, ``mf``
    is (k, T); 0 where ``xb`` is NaN) and ``rb`` (calendar row; -1 outside the data under the
    observed calendar). Index calendar: straight from column slices, in select-only loops."""
    t_rows = x.shape[0]
    k = mf.shape[0]
    n = xb.shape[0]
    if observed:
        for j in range(n):
            row, rb[j] = cal_row(observed, obs_rows, obs_start, n_obs, sj, start + j, t_rows)
            xv = x[row, sj] if row >= 0 else np.nan
            ok = xv == xv
            for q in range(k):
                ok = ok and mf[q, row] == mf[q, row]
            xb[j] = xv if ok else np.nan
        lo, hi = 0, 0
    else:
        lo = min(max(0, -start), n)
        hi = max(min(n, t_rows - start), lo)
        for j in range(n):
            rb[j] = start + j
        xb[:lo] = np.nan
        xb[hi:] = np.nan
        xb[lo:hi] = x[start + lo : start + hi, sj]
        for q in range(k):
            mcol = mf[q, start + lo : start + hi]
            for j in range(hi - lo):
                xb[lo + j] = xb[lo + j] if mcol[j] == mcol[j] else np.nan
    for q in range(k):
        if observed:  # (row -1 outside the data: a valid address, never selected)
            for j in range(n):
                mb[q, j] = mf[q, rb[j]] if xb[j] == xb[j] else 0.0
        else:  # only the rows inside the data are read
            mb[q, :lo] = 0.0
            mb[q, hi:] = 0.0
            mcol = mf[q, start + lo : start + hi]
            for j in range(hi - lo):
                mb[q, lo + j] = mcol[j] if xb[lo + j] == xb[lo + j] else 0.0


@kernel(**_OPTS)
def _series_centre(x, mf, sj, observed, gmean, cm):
    """Benchmark centres of series ``sj`` into ``cm`` (k): ``gmean`` (the calendar means) under the
    index calendar, else the means over the rows where x and every benchmark are present; returns
    the number of infinite values in the series."""
    t = x.shape[0]
    k = mf.shape[0]
    n_inf = 0
    for r in range(t):
        n_inf += 1 if math.isinf(x[r, sj]) else 0
    if not observed:
        cm[:] = gmean
        return n_inf
    cm[:] = 0.0
    cnt = 0.0
    for r in range(t):
        ok = x[r, sj] == x[r, sj]
        for q in range(k):
            ok = ok and mf[q, r] == mf[q, r]
        if ok:
            cnt += 1.0
            for q in range(k):
                cm[q] += mf[q, r]
    for q in range(k):
        cm[q] /= max(cnt, 1.0)
    return n_inf


@kernel(**_OPTS)
def _spd_inverse(a, inv, work):
    """Inverse of the symmetric positive definite ``a`` (k, k) into ``inv`` (Gauss-Jordan, no
    pivoting); returns det(a), or 0 at the first non-positive pivot (``inv`` then unusable)."""
    k = a.shape[0]
    work[:, :] = a
    inv[:, :] = 0.0
    for q in range(k):
        inv[q, q] = 1.0
    det = 1.0
    for c in range(k):
        piv = work[c, c]
        if not piv > 0:
            return 0.0
        det *= piv
        f = 1.0 / piv
        for j in range(k):
            work[c, j] *= f
            inv[c, j] *= f
        for r in range(k):
            g = work[r, c]
            if r != c and g != 0.0:
                for j in range(k):
                    work[r, j] -= g * work[c, j]
                    inv[r, j] -= g * inv[c, j]
    return det


@kernel(**_OPTS)
def _fit_f(xb, mb, cm, mbar, smm, sxm, sinv, work, beta, db, md):
    """Least squares of ``xb`` on (1, ``mb``) over its usable days, two passes: ``db`` the
    deviations of x from its mean, ``md`` (k, L) those of the benchmarks (0 on unusable days),
    ``mbar`` the benchmark means, ``smm``/``sxm`` the centred cross products, ``sinv`` = smm^-1
    (identity when singular), ``beta`` the slopes. Returns (n, mean of x, singular, mean square
    of x about zero). Select-only loops over days (they vectorise)."""
    k, l_nom = mb.shape
    n = 0.0
    sx = 0.0
    sxx = 0.0
    for j in range(l_nom):
        xv = xb[j]
        ok = xv == xv
        v = xv if ok else 0.0
        n += 1.0 if ok else 0.0
        sx += v
        sxx += v * v
    L = max(n, 1.0)
    xbar = sx / L
    for j in range(l_nom):
        db[j] = (xb[j] - xbar) if xb[j] == xb[j] else 0.0
    for q in range(k):
        mbar[q] = mb[q].sum() / L  # (0 on unusable days)
        for j in range(l_nom):
            md[q, j] = (mb[q, j] - mbar[q]) if xb[j] == xb[j] else 0.0
    scale = 1.0
    for q in range(k):
        sxm[q] = _dot(db, md[q])
        for r in range(q, k):
            smm[q, r] = _dot(md[q], md[r])
            smm[r, q] = smm[q, r]
        scale *= max((smm[q, q] + n * (mbar[q] - cm[q]) ** 2) / L, 1e-300) * L
    singular = not (_spd_inverse(smm, sinv, work) > _VAR_RTOL * scale)
    if singular:
        sinv[:, :] = np.eye(k)
    for q in range(k):
        beta[q] = 0.0
        for r in range(k):
            beta[q] += sinv[q, r] * sxm[r]
    return n, xbar, singular, sxx / L


@kernel(**_OPTS, inline="always")
def _dot(u, v):
    """Sum of u * v (vectorises)."""
    out = 0.0
    for j in range(u.shape[0]):
        out += u[j] * v[j]
    return out


@kernel(**_OPTS, inline="always")
def _quad(sinv, mw, t):
    """v' sinv v with v = mw[:, t]."""
    out = 0.0
    for q in range(mw.shape[0]):
        for r in range(mw.shape[0]):
            out += mw[q, t] * sinv[q, r] * mw[r, t]
    return out


@kernel(**_OPTS)
def _residuals_f(xb, db, md, beta, eb):
    """Residuals of the fit into ``eb`` (NaN where ``xb`` is); returns their sum of squares."""
    eb[:] = db
    for q in range(md.shape[0]):
        bq = beta[q]
        for j in range(eb.shape[0]):
            eb[j] -= bq * md[q, j]
    ssr = _dot(eb, eb)  # (0 on unusable days)
    for j in range(eb.shape[0]):
        eb[j] = eb[j] if xb[j] == xb[j] else np.nan
    return ssr


@kernel(**_OPTS)
def _window_f(xw, mw, level, beta, mbar, sinv, sigma, L, arw, sarw):
    """Event-window ARs (x - level - beta' (m - mbar), ``level``: the estimation mean of x) and
    SARs; ``mw`` (k, W) becomes the benchmark deviations from their estimation means (0 where
    the AR is missing). Returns the number of missing ARs."""
    k, w_len = mw.shape
    miss = 0
    for t in range(w_len):
        ok = xw[t] == xw[t]
        arw[t] = xw[t] - level
        for q in range(k):
            mw[q, t] = (mw[q, t] - mbar[q]) if ok else 0.0
            arw[t] -= beta[q] * mw[q, t]
        sarw[t] = arw[t] / (sigma * math.sqrt(1.0 + 1.0 / L + _quad(sinv, mw, t)))
        miss += 0 if ok else 1
    return miss


@kernel(**_OPTS)
def _cars_f(i, arw, sarw, mw, sinv, L, sigma, a, win_lo, win_hi, sdev, car_o, car_se_o, scar_o, car_days_o):
    """CAR, its standard error, SCAR and day count of pair ``i`` per CAR window."""
    for wi in range(win_lo.shape[0]):
        tt = 0
        s_ar = 0.0
        s_sar = 0.0
        sdev[:] = 0.0
        for t in range(win_lo[wi] - a, win_hi[wi] - a + 1):
            if arw[t] == arw[t]:
                tt += 1
                s_ar += arw[t]
                for q in range(sdev.shape[0]):
                    sdev[q] += mw[q, t]
            if sarw[t] == sarw[t]:
                s_sar += sarw[t]
        car_days_o[i, wi] = tt
        if tt > 0:
            car_o[i, wi] = s_ar
            scar_o[i, wi] = s_sar / math.sqrt(tt)
            car_se_o[i, wi] = sigma * math.sqrt(tt + tt * tt / L + _quad(sinv, sdev.reshape((-1, 1)), 0))
        else:
            car_o[i, wi] = np.nan
            scar_o[i, wi] = np.nan
            car_se_o[i, wi] = np.nan


@kernel(**_OPTS)
def factor_kernel(
    x, mf, observed, obs_rows, obs_start, n_obs, s, pos, groups, idx,
    a, b, c, d, min_est, allow_gaps, gmean, n_inf_o, win_lo, win_hi,
    do_sar, do_bw, do_gs, do_rank, do_kp_pairs, do_rows,
    n_est_o, sigma_o, dof_o, params_o, ssr_o, rcode_o, nmiss_o,
    ar_o, car_o, car_se_o, scar_o, car_days_o, rows_o,
    sar_acc, bw_sum, bw_cnt, gs_acc, e_o, kp_u, kp_rows,
):  # fmt: skip
    """Fit, abnormal returns and test accumulators of the pairs ``idx`` under the factor model
    (benchmarks ``mf`` (k, T), calendar means ``gmean`` (k)); arguments and outputs as
    :func:`backtests._kernels.pairs_kernel` (pairs sorted by series)."""
    k = mf.shape[0]
    w_len = b - a + 1
    l_nom = d - c + 1
    xbuf, ebuf, dbuf, rbuf = np.empty(l_nom), np.empty(l_nom), np.empty(l_nom), np.empty(l_nom, np.int64)
    mbuf, mdev = np.empty((k, l_nom)), np.empty((k, l_nom))
    xw, arw, sarw, rw, mw = np.empty(w_len), np.empty(w_len), np.empty(w_len), np.empty(w_len, np.int64), np.empty((k, w_len))  # fmt: skip
    cm, mbar, sxm, beta, sdev = np.empty(k), np.empty(k), np.empty(k), np.empty(k), np.empty(k)
    smm, sinv, work = np.empty((k, k)), np.empty((k, k)), np.empty((k, k))
    prev_s = -1
    for ii in range(idx.shape[0]):
        i = idx[ii]
        sj, p, g = s[i], pos[i], groups[i]
        if sj != prev_s:
            n_inf_o[sj] = _series_centre(x, mf, sj, observed, gmean, cm)
            prev_s = sj
        # --- estimation window: fit, residuals, SSR -------------------------------------------
        _fill_f(x, mf, observed, obs_rows, obs_start, n_obs, sj, p + c, xbuf, mbuf, rbuf)
        nf, xbar, singular, ms0 = _fit_f(xbuf, mbuf, cm, mbar, smm, sxm, sinv, work, beta, dbuf, mdev)
        n = int(nf)
        L = max(nf, 1.0)
        dof = float(n - k - 1)
        ssr = _residuals_f(xbuf, dbuf, mdev, beta, ebuf)
        var = ssr / max(dof, 1.0)
        sigma = math.sqrt(max(var, 0.0))
        # --- event window: ARs, SARs, CARs ----------------------------------------------------
        _fill_f(x, mf, observed, obs_rows, obs_start, n_obs, sj, p + a, xw, mw, rw)
        miss = _window_f(xw, mw, xbar, beta, mbar, sinv, sigma, L, arw, sarw)
        gap = (miss == w_len) if allow_gaps else (miss > 0)
        code = _reason(n < min_est, singular, var, ms0, gap)
        if do_rows:
            rows_o[i, :] = rw
        n_est_o[i], ssr_o[i], sigma_o[i], dof_o[i] = n, ssr, (np.nan if n < min_est else sigma), dof
        params_o[i, 0] = xbar - _dot(beta, mbar)  # the intercept
        params_o[i, 1:] = beta
        rcode_o[i], nmiss_o[i] = code, miss
        ar_o[i, :] = arw
        _cars_f(
            i, arw, sarw, mw, sinv, L, sigma, a, win_lo, win_hi, sdev, car_o, car_se_o, scar_o, car_days_o
        )
        if code != R_OK:
            continue
        # --- accumulators (kept pairs) --------------------------------------------------------
        if do_bw:
            _bw_add(ebuf, bw_sum[g], bw_cnt[g], 1.0)
        if do_sar:
            _add_sar(sar_acc, g, sarw, dof)
        if do_gs:
            gs_acc[0, g] += (ebuf > 0).sum()
            gs_acc[1, g] += nf
        if do_rank:  # ranked by the caller
            e_o[ii, :] = ebuf
        if do_kp_pairs:  # observed calendar (index calendar: kp_lag_sums)
            kp_u[i, :] = np.where(ebuf == ebuf, ebuf * (1.0 / math.sqrt(ssr / L)), 0.0)
            kp_rows[i, :] = rbuf
