"""Naive per-event reference implementation of the event study (test oracle, not for production).

Written independently of ``backtests.engine``: one Python loop per event-series pair, pandas
date lookups, ``numpy.linalg.lstsq`` for the regressions, ``scipy.stats`` for ranks and t tests,
and an explicit double loop over pairs for Kolari-Pynnonen. It follows the definitions in the
engine issue literally and is used (i) as the oracle in the tests and (ii) as the baseline of
``benchmarks/engine.py``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats as sps


def _pt(s, df):
    """Two-sided Student-t p-value; NaN when the statistic is not finite (zero dispersion, e.g.
    a day whose only ARs are identical: no evidence either way; the engine's convention)."""
    return 2 * sps.t.sf(abs(s), df) if math.isfinite(s) else float("nan")


def _pn(s):
    """Two-sided normal p-value; NaN when the statistic is not finite (as :func:`_pt`)."""
    return 2 * sps.norm.sf(abs(s)) if math.isfinite(s) else float("nan")


def naive_pairs(
    changes: pd.DataFrame,
    events: pd.DataFrame,
    *,
    window=(-5, 10),
    estimation=(-120, -11),
    model="mean",
    benchmark=None,
    calendar="index",
    car_windows=None,
    min_estimation=None,
    allow_gaps=False,
):
    """Per-pair results. Returns (kept: list of dict, excluded: dict (event_id, series) -> reason)."""
    a, b = window
    c, d = estimation
    wins = [(a, b)] + [w for w in (car_windows or []) if tuple(w) != (a, b)]
    if isinstance(benchmark, str):
        bnames = [benchmark]
    elif benchmark is None:
        bnames = []
    else:
        bnames = list(benchmark)
    k = len(bnames)
    npar = {"raw": 0, "mean": 1}.get(model, k + 1)
    lnom = d - c + 1
    if min_estimation is None:
        min_estimation = max(math.ceil(0.8 * lnom), npar + 3)
    dates = list(changes.index)
    row_of = {dt: i for i, dt in enumerate(dates)}
    kept, excluded = [], {}
    for ridx in range(len(events)):
        ev = events.iloc[ridx]
        eid = ev["event_id"] if "event_id" in events.columns else f"E{ridx + 1}"
        if "series" in events.columns:
            series_list = [ev["series"]]
        else:
            series_list = [col for col in changes.columns if col not in bnames]
        edate = pd.Timestamp(ev["date"]).normalize()
        for ser in series_list:
            key = (eid, ser)
            if ser not in changes.columns:
                excluded[key] = "unknown_series"
                continue
            col = changes[ser]
            if calendar == "index":
                cal = dates
            else:
                cal = [dt for dt in dates if not np.isnan(col[dt])]
            if len(cal) == 0 or edate < cal[0] or edate > cal[-1]:
                excluded[key] = "date_outside_data"
                continue
            p = next(i for i, dt in enumerate(cal) if dt >= edate)
            if p + a < 0 or p + b >= len(cal):
                excluded[key] = "window_outside_data"
                continue

            def val(series_name, q, cal=cal):
                if q < 0 or q >= len(cal):
                    return np.nan
                return float(changes[series_name][cal[q]])

            def date_key(q, cal=cal):
                if calendar == "index":
                    return q  # rows, virtual beyond the data
                if q < 0 or q >= len(cal):
                    return None
                return row_of[cal[q]]

            xs, ms, est_q = [], [], []
            for q in range(p + c, p + d + 1):
                x = val(ser, q)
                mm = [val(bn, q) for bn in bnames]
                if np.isnan(x) or any(np.isnan(v) for v in mm):
                    continue
                xs.append(x)
                ms.append(mm)
                est_q.append(q)
            L = len(xs)
            if min_estimation > L:
                excluded[key] = "short_estimation"
                continue
            xs = np.array(xs)
            zmat = np.column_stack([np.ones(L)] + [np.array(ms)[:, j] for j in range(k)]) if k else None
            if model == "raw":
                coef = np.zeros(1)
                resid = xs.copy()
                sigma = math.sqrt(float(np.mean(xs**2)))
                dof = L
                zz_inv = None
            elif model == "mean":
                coef = np.array([xs.mean()])
                resid = xs - xs.mean()
                sigma = float(np.std(xs, ddof=1))
                dof = L - 1
                zz_inv = None
            else:
                if np.linalg.matrix_rank(zmat) < k + 1:
                    excluded[key] = "singular_benchmark"
                    continue
                coef, *_ = np.linalg.lstsq(zmat, xs, rcond=None)
                resid = xs - zmat @ coef
                dof = L - k - 1
                sigma = math.sqrt(float(resid @ resid) / dof)
                zz_inv = np.linalg.inv(zmat.T @ zmat)
            if not sigma > 1e-12 * max(1e-300, math.sqrt(float(np.mean(xs**2)))):
                excluded[key] = "nonpositive_variance"
                continue

            def expected(q, coef=coef):
                if model == "raw":
                    return 0.0
                if model == "mean":
                    return coef[0]
                mm = [val(bn, q) for bn in bnames]
                return coef[0] + sum(coef[1 + j] * mm[j] for j in range(k))

            def cfac(q, L=L, zz_inv=zz_inv):
                if model == "raw":
                    return 1.0
                if model == "mean":
                    return math.sqrt(1 + 1 / L)
                z = np.array([1.0] + [val(bn, q) for bn in bnames])
                return math.sqrt(1 + z @ zz_inv @ z)

            ar, sar, zrows, wkeys = [], [], [], []
            for q in range(p + a, p + b + 1):
                x = val(ser, q)
                e = x - expected(q)
                ar.append(e)
                sar.append(e / (sigma * cfac(q)) if not np.isnan(e) else np.nan)
                zrows.append([1.0] + [val(bn, q) for bn in bnames])
                wkeys.append(date_key(q))
            ar, sar = np.array(ar), np.array(sar)
            nmiss = int(np.isnan(ar).sum())
            if (nmiss > 0 and not allow_gaps) or nmiss == len(ar):
                excluded[key] = "missing_in_window"
                continue
            cars, scars, ses, ndays = [], [], [], []
            for w0, w1 in wins:
                sl = slice(w0 - a, w1 - a + 1)
                seg = ar[sl]
                ok = ~np.isnan(seg)
                t = int(ok.sum())
                cars.append(float(seg[ok].sum()) if t else np.nan)
                scars.append(float(sar[sl][ok].sum()) / math.sqrt(t) if t else np.nan)
                ndays.append(t)
                if t == 0:  # no observed day in the window: CAR and its SE are undefined
                    ses.append(np.nan)
                elif model == "raw":
                    ses.append(sigma * math.sqrt(t))
                elif model == "mean":
                    ses.append(sigma * math.sqrt(t + t * t / L))
                else:
                    zsum = np.array(zrows)[sl][ok].sum(axis=0)
                    ses.append(sigma * math.sqrt(t + zsum @ zz_inv @ zsum))
            # estimation residuals on the nominal estimation days (NaN where unusable)
            est_res = np.full(lnom, np.nan)
            est_keys = []
            for i, q in enumerate(range(p + c, p + d + 1)):
                est_keys.append(date_key(q))
                if q in est_q:
                    est_res[i] = val(ser, q) - expected(q)
            kept.append(
                {
                    "event_id": eid,
                    "series": ser,
                    "day0": cal[p],
                    "n_est": L,
                    "sigma": sigma,
                    "dof": dof,
                    "params": np.array(coef, dtype=float),
                    "ar": ar,
                    "sar": sar,
                    "car": np.array(cars),
                    "scar": np.array(scars),
                    "se": np.array(ses),
                    "n_days": np.array(ndays),
                    "est_res": est_res,
                    "est_keys": est_keys,
                    "win_keys": wkeys,
                }
            )
    return kept, excluded


def _rank_dev(values):
    """Deviation of within-pair ranks from their mean rank (NaN kept)."""
    out = np.full(len(values), np.nan)
    ok = ~np.isnan(values)
    r = sps.rankdata(values[ok])
    out[ok] = r - r.mean()
    return out


def naive_tests(kept, *, window, estimation, car_windows=None):
    """Every test except placebo, by direct loops. Returns (daily, windows): dicts
    test -> list of (statistic, pvalue) per relative day / per window."""
    a, b = window
    c, d = estimation
    wins = [(a, b)] + [w for w in (car_windows or []) if tuple(w) != (a, b)]
    W = b - a + 1
    lnom = d - c + 1
    N = len(kept)
    AR = np.array([kp["ar"] for kp in kept])
    SAR = np.array([kp["sar"] for kp in kept])
    CAR = np.array([kp["car"] for kp in kept])
    SCAR = np.array([kp["scar"] for kp in kept])
    EST = np.array([kp["est_res"] for kp in kept])
    dof = np.array([kp["dof"] for kp in kept], dtype=float)
    daily, winres = {}, {}

    def col(x, j):
        v = x[:, j]
        return v[~np.isnan(v)]

    def tt(x):
        r = sps.ttest_1samp(x, 0.0)
        stat = float(r.statistic)
        return stat, (float(r.pvalue) if math.isfinite(stat) else float("nan"))

    daily["t_cross_section"] = [tt(col(AR, j)) for j in range(W)]
    winres["t_cross_section"] = [tt(col(CAR, j)) for j in range(len(wins))]
    # Brown-Warner
    aar_est = []
    for i in range(lnom):
        v = EST[:, i]
        v = v[~np.isnan(v)]
        if len(v):
            aar_est.append(v.mean())
    sd = float(np.std(aar_est, ddof=1))
    dfm = float(np.mean([kp["n_est"] for kp in kept])) - 1
    bw = [col(AR, j).mean() / sd for j in range(W)]
    daily["brown_warner"] = [(s, _pt(s, dfm)) for s in bw]
    res = []
    for w0, w1 in wins:
        s = sum(bw[w0 - a : w1 - a + 1]) / math.sqrt(w1 - w0 + 1)
        res.append((s, _pt(s, dfm)))
    winres["brown_warner"] = res

    # Patell
    def pat(x):
        out = []
        for j in range(x.shape[1]):
            num, den = 0.0, 0.0
            for i in range(N):
                if not np.isnan(x[i, j]):
                    num += x[i, j]
                    den += dof[i] / (dof[i] - 2)
            s = num / math.sqrt(den)
            out.append((s, _pn(s)))
        return out

    daily["patell"] = pat(SAR)
    winres["patell"] = pat(SCAR)
    daily["bmp"] = [tt(col(SAR, j)) for j in range(W)]
    winres["bmp"] = [tt(col(SCAR, j)) for j in range(len(wins))]

    # Kolari-Pynnonen: explicit double loop over pairs
    u = []
    for kp in kept:
        e = kp["est_res"]
        rms = math.sqrt(np.nanmean(e**2))
        u.append({kk: v / rms for kk, v in zip(kp["est_keys"], e) if kk is not None and not np.isnan(v)})
    ekeys = [{kk for kk in kp["est_keys"] if kk is not None} for kp in kept]
    rho = np.zeros((N, N))
    for i in range(N):
        for j in range(N):
            if i == j:
                continue
            common = ekeys[i] & ekeys[j]
            if not common:
                continue
            rho[i, j] = sum(u[i].get(kk, 0.0) * u[j].get(kk, 0.0) for kk in common) / len(common)

    def kp_adj(bres, rbar, n):
        s = bres[0] * math.sqrt((1 - rbar) / (1 + (n - 1) * rbar))
        return s, _pt(s, n - 1)

    kd = []
    for t in range(W):
        tot = 0.0
        for i in range(N):
            for j in range(N):
                if i != j and kept[i]["win_keys"][t] == kept[j]["win_keys"][t]:
                    tot += rho[i, j]
        # rbar over all pairs; N in the adjustment = pairs in the test on that day
        n_t = int((~np.isnan(SAR[:, t])).sum())
        kd.append(kp_adj(daily["bmp"][t], tot / (N * (N - 1)), n_t))
    daily["kolari_pynnonen"] = kd
    kw = []
    for wi, (w0, w1) in enumerate(wins):
        tot = 0.0
        for i in range(N):
            wi_keys = set(kept[i]["win_keys"][w0 - a : w1 - a + 1])
            for j in range(N):
                if i == j:
                    continue
                wj_keys = set(kept[j]["win_keys"][w0 - a : w1 - a + 1])
                o = len(wi_keys & wj_keys) / (w1 - w0 + 1)
                tot += rho[i, j] * o
        kw.append(kp_adj(winres["bmp"][wi], tot / (N * (N - 1)), int((~np.isnan(SCAR[:, wi])).sum())))
    winres["kolari_pynnonen"] = kw

    # Corrado rank test (daily) and Cowan's multi-day version
    def corrado(w0, w1):
        devs = np.array([_rank_dev(np.concatenate([EST[i], AR[i, w0 - a : w1 - a + 1]])) for i in range(N)])
        dbar = []
        for j in range(devs.shape[1]):
            v = devs[:, j]
            v = v[~np.isnan(v)]
            dbar.append(v.mean() if len(v) else np.nan)
        dbar = np.array(dbar)
        s = math.sqrt(np.nanmean(dbar**2))
        tested = dbar[lnom:]
        return tested / s, math.sqrt(len(tested)) * np.mean(tested) / s

    dstat, _ = corrado(a, b)
    daily["corrado_rank"] = [(s, _pn(s)) for s in dstat]
    winres["corrado_rank"] = []
    for w0, w1 in wins:
        _, s = corrado(w0, w1)
        winres["corrado_rank"].append((s, _pn(s)))

    # sign, generalised sign
    def sgn(v, p=0.5):
        n = len(v)
        npos = int((v > 0).sum())
        if not 0 < p < 1:
            return float("nan"), float("nan")
        s = (npos - n * p) / math.sqrt(n * p * (1 - p))
        return s, _pn(s)

    daily["sign"] = [sgn(col(AR, j)) for j in range(W)]
    winres["sign"] = [sgn(col(CAR, j)) for j in range(len(wins))]
    allest = EST[~np.isnan(EST)]
    phat = float((allest > 0).mean())
    daily["generalized_sign"] = [sgn(col(AR, j), phat) for j in range(W)]
    winres["generalized_sign"] = [sgn(col(CAR, j), phat) for j in range(len(wins))]

    def wil(v):
        v = v[v != 0]
        n = len(v)
        r = sps.rankdata(np.abs(v))
        wplus = r[v > 0].sum()
        _, cnt = np.unique(np.abs(v), return_counts=True)
        var = n * (n + 1) * (2 * n + 1) / 24 - (cnt**3 - cnt).sum() / 48
        s = (wplus - n * (n + 1) / 4) / math.sqrt(var)
        return s, _pn(s)

    daily["wilcoxon"] = [wil(col(AR, j)) for j in range(W)]
    winres["wilcoxon"] = [wil(col(CAR, j)) for j in range(len(wins))]
    return daily, winres
