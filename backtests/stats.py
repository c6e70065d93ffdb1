"""Event-study test statistics (all two-sided).

Every function works column-wise on arrays of abnormal returns (pairs x relative days, or pairs x
CAR windows) with NaN for missing values, or on the per-group accumulators built by
:func:`backtests.engine.run_engine`. Each returns a dict of equal-length arrays ``statistic``,
``pvalue``, ``n`` (pairs used) and ``n_pos`` (pairs with a positive value, NaN where not
applicable). Statistics are dimensionless; inputs are in the caller's unit (bp, percent, ...).
A statistic that is not finite (zero dispersion, e.g. a day whose only ARs are identical) gets a
NaN p-value: no evidence either way, and no significance stars.

References: Brown & Warner (1985), Patell (1976), Boehmer, Musumeci & Poulsen (1991),
Kolari & Pynnonen (2010), Corrado (1989), Cowan (1992), Wilcoxon (1945).
"""

from __future__ import annotations

import os
import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np

# t and normal tails with the functions scipy.stats calls, without importing scipy.stats (about
# 0.3 s of every CLI start)
from scipy import special as sc

__all__ = [
    "ALL_BUT_PLACEBO",
    "PARAMETRIC",
    "TEST_NAMES",
    "bmp",
    "bmp_from_sums",
    "brown_warner",
    "corrado_rank",
    "generalized_sign",
    "kolari_pynnonen",
    "kp_rbar_delta",
    "kp_rbar_pairs",
    "patell",
    "patell_from_sums",
    "placebo",
    "sign",
    "t_cross_section",
    "wilcoxon",
]

TEST_NAMES = (
    "t_cross_section",
    "brown_warner",
    "patell",
    "bmp",
    "kolari_pynnonen",
    "corrado_rank",
    "sign",
    "generalized_sign",
    "wilcoxon",
    "placebo",
)
#: the parametric families (cheapest; the engine's headline speed configuration)
PARAMETRIC = ("t_cross_section", "brown_warner", "patell", "bmp")
#: every family but the (resampling) placebo test
ALL_BUT_PLACEBO = tuple(t for t in TEST_NAMES if t != "placebo")


def _res(stat, p, n, n_pos=None) -> dict:
    stat = np.asarray(stat, dtype=float)
    n = np.broadcast_to(np.asarray(n, dtype=float), stat.shape).copy()
    n_pos = np.full(stat.shape, np.nan) if n_pos is None else np.asarray(n_pos, dtype=float)
    return {"statistic": stat, "pvalue": np.asarray(p, dtype=float), "n": n, "n_pos": n_pos}


def _p_t(stat, df):
    with np.errstate(invalid="ignore"):
        return np.where(np.isfinite(stat) & (np.asarray(df) > 0), 2.0 * sc.stdtr(df, -np.abs(stat)), np.nan)


def _p_norm(stat):
    return np.where(np.isfinite(stat), 2.0 * sc.ndtr(-np.abs(stat)), np.nan)


def _col_mean_sd(x: np.ndarray):
    """Column mean, sd (ddof 1) and count over non-missing values (column by column: the
    temporaries stay one column long)."""
    m = x.shape[1]
    mean, sd, n = np.full(m, np.nan), np.full(m, np.nan), np.zeros(m, dtype=np.int64)
    for j in range(m):  # loop over relative days / windows, never over events
        v = x[:, j]
        v = v[~np.isnan(v)]
        n[j] = len(v)
        if len(v):
            mean[j] = v.mean()
        if len(v) > 1:
            sd[j] = v.std(ddof=1)
    return mean, sd, n


def t_cross_section(x: np.ndarray | None, moments: dict | None = None) -> dict:
    """Cross-sectional t test: mean / (sd / sqrt(N)), Student t with N - 1 df.

    Parameters
    ----------
    x : ndarray, shape (N, m)
        AR (per relative day) or CAR (per window), any unit; NaN = missing.
    moments : dict, optional
        Column ``n``, ``mean``, ``sd`` (ddof 1) and ``n_pos`` of ``x`` already computed (e.g.
        by :func:`backtests.engine.ar_day_stats`); ``x`` is then not read.
    """
    if moments is None:
        mean, sd, n = _col_mean_sd(x)
        n_pos = (x > 0).sum(axis=0)
    else:
        mean, sd, n, n_pos = moments["mean"], moments["sd"], moments["n"], moments["n_pos"]
    with np.errstate(invalid="ignore", divide="ignore"):
        stat = mean / (sd / np.sqrt(n))
    return _res(stat, _p_t(stat, n - 1), n, n_pos)


def brown_warner(
    ar: np.ndarray | None,
    est_sum: np.ndarray,
    est_cnt: np.ndarray,
    mean_l: float,
    windows=None,
    offset: int = 0,
    moments: dict | None = None,
) -> tuple[dict, dict]:
    """Brown-Warner (1985) crude dependence adjustment.

    Parameters
    ----------
    ar : ndarray, shape (N, W)
        Event-window abnormal returns, any unit.
    est_sum, est_cnt : ndarray, shape (L,)
        Sum and count of abnormal returns over pairs on each estimation relative day.
    mean_l : float
        Mean number of estimation observations per pair (df = mean_l - 1).
    windows : list of (int, int), optional
        CAR windows as column slices (start, end inclusive, in relative days); ``offset`` is
        the relative day of column 0.
    moments : dict, optional
        Column ``n``, ``mean`` and ``n_pos`` of ``ar`` already computed; ``ar`` is then not read.

    Returns
    -------
    daily, window : dict
        Daily: AAR_t / sd(AAR_est); window: sum of daily statistics / sqrt(T).
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        aar_est = est_sum / est_cnt
    aar_est = aar_est[est_cnt > 0]
    sd = np.std(aar_est, ddof=1) if len(aar_est) > 1 else np.nan
    if moments is None:
        mean, _, n = _col_mean_sd(ar)
        n_pos = (ar > 0).sum(axis=0)
    else:
        mean, n, n_pos = moments["mean"], moments["n"], moments["n_pos"]
    df = mean_l - 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        stat = mean / sd
    daily = _res(stat, _p_t(stat, df), n, n_pos)
    wstat, wn = [], []
    for w0, w1 in windows or []:
        sl = slice(w0 - offset, w1 - offset + 1)
        wstat.append(stat[sl].sum() / np.sqrt(w1 - w0 + 1))
        wn.append(n[sl].min())
    wstat = np.array(wstat)
    return daily, _res(wstat, _p_t(wstat, df), wn)


def patell(sar: np.ndarray, dof: np.ndarray) -> dict:
    """Patell (1976): sum_i SAR_i / sqrt(sum_i df_i / (df_i - 2)), standard normal.

    Parameters
    ----------
    sar : ndarray, shape (N, m)
        Standardised abnormal returns (or SCAR per window); NaN = missing.
    dof : ndarray, shape (N,)
        Residual degrees of freedom of each pair's estimation (must exceed 2).
    """
    valid = ~np.isnan(sar)
    var = np.where(dof > 2, dof / (dof - 2.0), np.nan)[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        stat = np.where(valid, sar, 0.0).sum(axis=0) / np.sqrt(np.where(valid, var, 0.0).sum(axis=0))
    return _res(stat, _p_norm(stat), valid.sum(axis=0), (sar > 0).sum(axis=0))


def patell_from_sums(s1: np.ndarray, var_sum: np.ndarray, n: np.ndarray, n_pos: np.ndarray) -> dict:
    """Patell (1976) from per-day sums over pairs: sum SAR / sqrt(sum df_i / (df_i - 2)).

    Parameters
    ----------
    s1 : ndarray, shape (m,)
        Sum of standardised abnormal returns over the pairs with that day (dimensionless).
    var_sum : ndarray, shape (m,)
        Sum of df_i / (df_i - 2) over the same pairs.
    n, n_pos : ndarray, shape (m,)
        Number of pairs and of positive SARs.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        stat = s1 / np.sqrt(var_sum)
    return _res(stat, _p_norm(stat), n, n_pos)


def bmp_from_sums(s1: np.ndarray, s2: np.ndarray, n: np.ndarray, n_pos: np.ndarray) -> dict:
    """Boehmer-Musumeci-Poulsen from per-day sums over pairs (same statistic as :func:`bmp`).

    Parameters
    ----------
    s1, s2 : ndarray, shape (m,)
        Sum and sum of squares of the SARs over the pairs with that day (dimensionless).
    n, n_pos : ndarray, shape (m,)
        Number of pairs and of positive SARs.
    """
    n = np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(n > 0, s1 / n, np.nan)
        var = np.where(n > 1, np.maximum(s2 - n * mean * mean, 0.0) / (n - 1.0), np.nan)
        stat = mean / (np.sqrt(var) / np.sqrt(n))
    return _res(stat, _p_t(stat, n - 1), n, n_pos)


def bmp(sar: np.ndarray) -> dict:
    """Boehmer, Musumeci & Poulsen (1991): mean SAR / (sd SAR / sqrt(N)), t with N - 1 df.

    Parameters
    ----------
    sar : ndarray, shape (N, m)
        Standardised abnormal returns (or SCAR per window).
    """
    mean, sd, n = _col_mean_sd(sar)
    with np.errstate(invalid="ignore", divide="ignore"):
        stat = mean / (sd / np.sqrt(n))
    return _res(stat, _p_t(stat, n - 1), n, (sar > 0).sum(axis=0))


def kolari_pynnonen(bmp_res: dict, rbar) -> dict:
    """Kolari & Pynnonen (2010) adjustment of BMP for cross-correlation.

    statistic = BMP * sqrt((1 - rbar) / (1 + (N - 1) rbar)); t with N - 1 df.

    Parameters
    ----------
    bmp_res : dict
        Output of :func:`bmp`.
    rbar : float or ndarray
        Mean over pairs i != j of rho_ij * o_ij (see :func:`kp_rbar_delta`).
    """
    n = bmp_res["n"]
    with np.errstate(invalid="ignore", divide="ignore"):
        adj = np.sqrt((1.0 - rbar) / (1.0 + (n - 1.0) * rbar))
    stat = bmp_res["statistic"] * adj
    return _res(stat, _p_t(stat, n - 1), n, bmp_res["n_pos"])


def kp_rbar_delta(
    a_rows: np.ndarray, self_sum: float, l_nom: int, n: int, lengths, p: np.ndarray | None = None
) -> tuple[float, np.ndarray]:
    """Mean weighted residual correlation from the day-aggregated accumulator (index calendar).

    With u_i the standardised estimation residuals of pair i (residual / RMS residual, 0 where
    missing), rho_ij = (1 / n_ij) sum over common calendar days of u_i u_j, n_ij = L - |delta|
    common estimation days of two pairs whose day 0 differ by delta rows, and o_ij = the share
    of the tested window's days both windows cover. Cost O(event days x L x T), not O(N^2).

    Parameters
    ----------
    a_rows : ndarray, shape (R, L)
        Sum of u_i over the pairs with day 0 at row ``p[r]`` (or at row r when ``p`` is None),
        by estimation day.
    self_sum : float
        Sum over pairs of sum_k u_ik^2 (the i = j terms to remove).
    l_nom : int
        Nominal estimation length L (days).
    n : int
        Number of pairs.
    lengths : sequence of int
        Lengths T (days) of the tested windows.
    p : ndarray of int, shape (R,), optional
        Sorted distinct day-0 rows of ``a_rows``.

    Returns
    -------
    daily : float
        rbar for a daily test (o_ij = 1 when both pairs are on the same date).
    windows : ndarray
        rbar for each window length.
    """
    lengths = np.asarray(list(lengths), dtype=int)
    tmax = int(lengths.max()) if len(lengths) else 1
    if p is None:
        p = np.arange(a_rows.shape[0])
    s_d = np.zeros(tmax)
    if len(p) and p[-1] - p[0] == len(p) - 1:  # consecutive rows (dense): shifted views, no copies
        for dlt in range(min(tmax, l_nom, len(p))):
            s_d[dlt] = np.einsum("pk,pk->", a_rows[: len(p) - dlt, dlt:], a_rows[dlt:, : l_nom - dlt])
        return _kp_finish(s_d, self_sum, l_nom, n, lengths, tmax)
    for dlt in range(min(tmax, l_nom)):
        j = np.searchsorted(p, p + dlt)
        j_ok = j < len(p)
        match = np.zeros(len(p), dtype=bool)
        match[j_ok] = p[j[j_ok]] == p[j_ok] + dlt
        if match.any():
            s_d[dlt] = np.einsum("pk,pk->", a_rows[match, dlt:], a_rows[j[match], : l_nom - dlt])
    return _kp_finish(s_d, self_sum, l_nom, n, lengths, tmax)


def kp_rbar_from_lags(
    s_d: np.ndarray, self_sum: float, l_nom: int, n: int, lengths
) -> tuple[float, np.ndarray]:
    """:func:`kp_rbar_delta` from its lagged cross sums, computed elsewhere.

    Parameters
    ----------
    s_d : ndarray, shape (K,)
        s_d[k] = sum over day-0 rows r of <A[r][k:], A[r + k][:L - k]>, A[r] the summed
        standardised residuals of the pairs with day 0 at row r (e.g. by
        :func:`backtests._kernels.kp_lag_sums`); lags beyond K count as 0.
    self_sum, l_nom, n, lengths
        As in :func:`kp_rbar_delta`.
    """
    lengths = np.asarray(list(lengths), dtype=int)
    tmax = int(lengths.max()) if len(lengths) else 1
    full = np.zeros(max(tmax, len(s_d)))
    full[: len(s_d)] = s_d
    return _kp_finish(full[:tmax], self_sum, l_nom, n, lengths, tmax)


def _kp_finish(s_d, self_sum, l_nom, n, lengths, tmax):
    """rbar (daily, per window length) from the lagged cross sums ``s_d`` of kp_rbar_delta."""
    s_d[0] -= self_sum
    denom = n * (n - 1.0)
    if denom <= 0:
        return np.nan, np.full(len(lengths), np.nan)
    daily = s_d[0] / l_nom / denom
    out = []
    dl = np.arange(tmax)
    common = l_nom - dl  # common estimation days of two pairs dl rows apart (none from l_nom on)
    per_day = np.divide(s_d, common, out=np.zeros(tmax), where=common > 0)
    for t in lengths:
        o = np.clip(t - dl, 0, None) / t
        mult = np.where(dl == 0, 1.0, 2.0)
        out.append((mult * o * per_day).sum() / denom)
    return daily, np.array(out)


def kp_rbar_pairs(
    u: np.ndarray,
    est_cols: np.ndarray,
    win_cols: np.ndarray,
    n_cols: int,
    windows: list[tuple[int, int]],
    offset: int,
    rows: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean weighted residual correlation from pair-level residuals (any calendar).

    Same definition as :func:`kp_rbar_delta`, with n_ij the number of calendar dates the two
    estimation windows share, computed over the pairs whose event windows touch (sparse).

    Parameters
    ----------
    u : ndarray, shape (N, L)
        Standardised estimation residuals (0 where missing).
    est_cols : ndarray of int, shape (N, L)
        Calendar column of each estimation day (-1: no such date).
    win_cols : ndarray of int, shape (N, W)
        Calendar column of each event-window day.
    n_cols : int
        Number of calendar columns.
    windows : list of (int, int)
        Tested windows in relative days; ``offset`` = relative day of column 0 of ``win_cols``.
    rows : ndarray of int, optional
        The rows of ``u``, ``est_cols`` and ``win_cols`` to use (default: all; no copy is made).

    Returns
    -------
    daily : ndarray, shape (W,)
        rbar per relative day.
    wins : ndarray, shape (len(windows),)
        rbar per window.
    """
    rows = np.arange(u.shape[0]) if rows is None else np.asarray(rows, dtype=np.int64)
    n = len(rows)
    w = win_cols.shape[1]
    denom = n * (n - 1.0)
    if denom <= 0:
        return np.full(w, np.nan), np.full(len(windows), np.nan)

    # compiled: one merge of the two pairs' date lists per pair of touching windows (no sparse
    # products, no pairs x L temporaries)
    from backtests._kernels import kp_pair_sums

    order = rows[np.argsort(win_cols[rows, 0], kind="stable")]
    lo = np.array([w0 - offset for w0, _ in windows], dtype=np.int64)
    hi = np.array([w1 - offset + 1 for _, w1 in windows], dtype=np.int64)
    args = (
        np.ascontiguousarray(u, dtype=float),
        np.ascontiguousarray(est_cols, dtype=np.int64),
        np.ascontiguousarray(win_cols, dtype=np.int64),
        order,
        lo,
        hi,
        # (dates ascend within a pair: its last column is its largest)
        int(max(n_cols, est_cols[rows, -1].max(initial=-1) + 1, win_cols[rows, -1].max(initial=-1) + 1)),
    )
    # the kernel releases the GIL: ranges of first pairs on threads (the first pairs of a range
    # meet more partners than the last ones, so more ranges than threads)
    n_thr = max(1, min(4, os.cpu_count() or 1, n // 2000))
    cuts = np.linspace(0, n, 4 * n_thr + 1).astype(np.int64)
    if n_thr == 1:
        daily, wins = kp_pair_sums(*args, 0, n)
    else:
        with ThreadPoolExecutor(n_thr) as ex:
            parts = list(ex.map(lambda j: kp_pair_sums(*args, cuts[j], cuts[j + 1]), range(len(cuts) - 1)))
        daily = np.sum([p[0] for p in parts], axis=0)
        wins = np.sum([p[1] for p in parts], axis=0)
    return daily / denom, wins / denom


def corrado_rank(rank_sum: np.ndarray, rank_cnt: np.ndarray, n_est: int, n_pairs: int) -> tuple[dict, dict]:
    """Corrado (1989) rank test (daily) and Cowan (1992) multi-day version.

    Parameters
    ----------
    rank_sum, rank_cnt : ndarray, shape (L + T,)
        Sum over pairs of (K_it - mean rank_i) and the number of pairs, for each of the L
        estimation days followed by the T tested days (ranks within pair over those days).
    n_est : int
        L, the number of estimation columns.
    n_pairs : int
        Pairs in the test (reported as n for the window).

    Returns
    -------
    daily : dict
        Statistic per tested day: mean deviation / S (normal).
    window : dict
        One value: sqrt(T) * mean over tested days of the mean deviation / S.
    """
    ok = rank_cnt > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        dbar = np.where(ok, rank_sum / rank_cnt, np.nan)
    s = np.sqrt(np.nanmean(dbar[ok] ** 2)) if ok.any() else np.nan
    tested = dbar[n_est:]
    with np.errstate(invalid="ignore", divide="ignore"):
        stat = tested / s
        t = np.isfinite(tested).sum()
        wstat = np.sqrt(t) * np.nanmean(tested) / s if t else np.nan
    daily = _res(stat, _p_norm(stat), rank_cnt[n_est:])
    window = _res(np.array([wstat]), _p_norm(np.array([wstat])), [n_pairs])
    return daily, window


def sign(x: np.ndarray) -> dict:
    """Sign test: (N+ - N/2) / sqrt(N/4), standard normal.

    Parameters
    ----------
    x : ndarray, shape (N, m)
        AR or CAR, any unit. N counts non-missing values, N+ strictly positive ones.
    """
    n = (~np.isnan(x)).sum(axis=0)
    npos = (x > 0).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        stat = (npos - n / 2.0) / np.sqrt(n / 4.0)
    return _res(stat, _p_norm(stat), n, npos)


def generalized_sign(x: np.ndarray, p_hat: float) -> dict:
    """Cowan (1992) generalised sign test: (N+ - N p) / sqrt(N p (1 - p)), standard normal.

    Parameters
    ----------
    x : ndarray, shape (N, m)
        AR or CAR, any unit.
    p_hat : float
        Fraction of positive abnormal returns over all estimation-window days of all pairs.
    """
    n = (~np.isnan(x)).sum(axis=0)
    npos = (x > 0).sum(axis=0)
    if not 0.0 < p_hat < 1.0:  # every (or no) estimation AR positive: the test is undefined
        stat = np.full(x.shape[1], np.nan)
    else:
        with np.errstate(invalid="ignore", divide="ignore"):
            stat = (npos - n * p_hat) / np.sqrt(n * p_hat * (1.0 - p_hat))
    return _res(stat, _p_norm(stat), n, npos)


def wilcoxon(x: np.ndarray) -> dict:
    """Wilcoxon signed-rank test, normal approximation of W+ (zeros dropped, ties averaged).

    z = (W+ - n(n+1)/4) / sqrt(n(n+1)(2n+1)/24 - sum(t^3 - t)/48), without continuity
    correction.

    Parameters
    ----------
    x : ndarray, shape (N, m)
        AR or CAR, any unit.
    """
    m = x.shape[1]
    stat = np.full(m, np.nan)
    nn = np.zeros(m)
    npos = np.zeros(m)
    for j in range(m):  # loop over relative days / windows, never over events
        v = x[:, j]
        v = v[~np.isnan(v) & (v != 0)]
        n = len(v)
        nn[j] = n
        if n == 0:
            continue
        a = np.abs(v)
        pos = v > 0
        npos[j] = pos.sum()
        srt = np.sort(a)
        # average rank of each positive |v|: positions left..right-1 in the sorted array
        ap = np.sort(a[pos])  # sorted needles: the binary searches walk forward (much faster)
        wplus = (np.searchsorted(srt, ap, "left") + np.searchsorted(srt, ap, "right") + 1).sum() / 2.0
        starts = np.flatnonzero(np.r_[True, srt[1:] != srt[:-1]])
        cnt = np.diff(np.r_[starts, n]).astype(float)
        var = n * (n + 1) * (2 * n + 1) / 24.0 - (cnt**3 - cnt).sum() / 48.0
        if var > 0:
            stat[j] = (wplus - n * (n + 1) / 4.0) / np.sqrt(var)
    return _res(stat, _p_norm(stat), nn, npos)


def placebo(observed: np.ndarray, draws: np.ndarray, n) -> dict:
    """Empirical placebo test against pseudo-event averages.

    Parameters
    ----------
    observed : ndarray, shape (m,)
        Observed AAR (per day) or CAAR (per window), in the input unit.
    draws : ndarray, shape (K, m)
        The same quantity for K random pseudo-event sets.
    n : array-like
        Pairs in the observed average.

    Returns
    -------
    dict
        statistic = observed / sd(draws) (dimensionless); p-value =
        (1 + #{|draw| >= |observed|}) / (K + 1).
    """
    draws = np.asarray(draws, dtype=float)
    ok = ~np.isnan(draws)
    k = ok.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        sd = np.nanstd(draws, axis=0, ddof=1)
        stat = observed / sd
        exceed = (np.abs(np.where(ok, draws, 0.0)) >= np.abs(observed)[None, :]) & ok
        p = np.where((k > 0) & np.isfinite(observed), (1.0 + exceed.sum(axis=0)) / (k + 1.0), np.nan)
    return _res(stat, p, n)
