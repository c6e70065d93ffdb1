"""Each test statistic against an independent computation (scipy or a direct formula)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from backtests import stats as st
from backtests.engine import average_ranks


@pytest.fixture
def x():
    rng = np.random.default_rng(7)
    v = rng.normal(0.3, 1.0, size=(40, 5))
    v[3, 1] = np.nan
    v[10:14, 4] = np.nan
    return v


def test_t_cross_section_matches_scipy(x):
    r = st.t_cross_section(x)
    for j in range(x.shape[1]):
        col = x[~np.isnan(x[:, j]), j]
        ref = sps.ttest_1samp(col, 0.0)
        assert r["statistic"][j] == pytest.approx(ref.statistic, rel=1e-12)
        assert r["pvalue"][j] == pytest.approx(ref.pvalue, rel=1e-9)
        assert r["n"][j] == len(col)
        assert r["n_pos"][j] == (col > 0).sum()


def test_bmp_is_t_on_standardised(x):
    r = st.bmp(x)
    ref = sps.ttest_1samp(x[:, 0], 0.0)
    assert r["statistic"][0] == pytest.approx(ref.statistic, rel=1e-12)
    assert r["pvalue"][0] == pytest.approx(ref.pvalue, rel=1e-9)


def test_patell_direct_formula(x):
    dof = np.arange(40) + 10.0
    r = st.patell(x, dof)
    for j in range(x.shape[1]):
        ok = ~np.isnan(x[:, j])
        z = x[ok, j].sum() / math.sqrt(sum(d / (d - 2) for d in dof[ok]))
        assert r["statistic"][j] == pytest.approx(z, rel=1e-12)
        assert r["pvalue"][j] == pytest.approx(2 * sps.norm.sf(abs(z)), rel=1e-9)


def test_sign_and_generalized_sign():
    v = np.array([[1.0], [2.0], [-1.0], [0.0], [np.nan], [3.0]])
    r = st.sign(v)
    # N = 5 (0 counts as not positive), N+ = 3
    assert r["statistic"][0] == pytest.approx((3 - 2.5) / math.sqrt(5 / 4))
    g = st.generalized_sign(v, 0.4)
    assert g["statistic"][0] == pytest.approx((3 - 5 * 0.4) / math.sqrt(5 * 0.4 * 0.6))
    assert g["pvalue"][0] == pytest.approx(2 * sps.norm.sf(abs(g["statistic"][0])))
    # the sign test agrees with the normal approximation of the binomial test
    assert r["pvalue"][0] == pytest.approx(2 * sps.norm.sf((3 - 2.5) / math.sqrt(1.25)))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_wilcoxon_matches_scipy(seed):
    rng = np.random.default_rng(seed)
    v = np.round(rng.normal(0.2, 1.0, size=(30, 3)), 1)  # rounding makes ties and zeros
    v[5, 0] = 0.0
    v[7, 2] = np.nan
    r = st.wilcoxon(v)
    for j in range(3):
        col = v[~np.isnan(v[:, j]), j]
        ref = sps.wilcoxon(col, zero_method="wilcox", correction=False, method="approx")
        assert r["pvalue"][j] == pytest.approx(ref.pvalue, rel=1e-9)
        assert abs(r["statistic"][j]) == pytest.approx(abs(ref.zstatistic), rel=1e-9)


def test_average_ranks_matches_scipy():
    rng = np.random.default_rng(3)
    v = np.round(rng.normal(size=(20, 15)), 1)
    v[rng.random(v.shape) < 0.1] = np.nan
    got = average_ranks(v)
    ref = sps.rankdata(v, axis=1, nan_policy="omit")
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-12)


def test_brown_warner_direct():
    rng = np.random.default_rng(4)
    ar = rng.normal(size=(12, 5))
    est = rng.normal(size=(12, 30))
    daily, win = st.brown_warner(ar, est.sum(axis=0), np.full(30, 12.0), 30.0, [(0, 4), (1, 2)], 0)
    sd = np.std(est.mean(axis=0), ddof=1)
    s = ar.mean(axis=0) / sd
    np.testing.assert_allclose(daily["statistic"], s, rtol=1e-12)
    np.testing.assert_allclose(daily["pvalue"], 2 * sps.t.sf(np.abs(s), 29), rtol=1e-9)
    assert win["statistic"][0] == pytest.approx(s.sum() / math.sqrt(5), rel=1e-12)
    assert win["statistic"][1] == pytest.approx(s[1:3].sum() / math.sqrt(2), rel=1e-12)


def test_corrado_rank_direct():
    rng = np.random.default_rng(5)
    n, l_est, t = 8, 20, 4
    f = rng.normal(size=(n, l_est + t))
    f[2, 3] = np.nan
    k = sps.rankdata(f, axis=1, nan_policy="omit")
    dev = k - np.nanmean(k, axis=1, keepdims=True)
    ok = ~np.isnan(dev)
    daily, win = st.corrado_rank(np.nansum(dev, axis=0), ok.sum(axis=0).astype(float), l_est, n)
    dbar = np.nanmean(dev, axis=0)
    s = math.sqrt(np.mean(dbar**2))
    np.testing.assert_allclose(daily["statistic"], dbar[l_est:] / s, rtol=1e-12)
    assert win["statistic"][0] == pytest.approx(math.sqrt(t) * dbar[l_est:].mean() / s, rel=1e-12)


def test_kolari_pynnonen_adjustment():
    b = st.bmp(np.random.default_rng(6).normal(size=(25, 2)))
    r = st.kolari_pynnonen(b, 0.1)
    adj = math.sqrt(0.9 / (1 + 24 * 0.1))
    np.testing.assert_allclose(r["statistic"], b["statistic"] * adj, rtol=1e-12)
    np.testing.assert_allclose(r["pvalue"], 2 * sps.t.sf(np.abs(r["statistic"]), 24), rtol=1e-9)
    # rbar = 0 leaves BMP unchanged
    np.testing.assert_allclose(st.kolari_pynnonen(b, 0.0)["statistic"], b["statistic"])


def _kp_inputs(seed, n=12, l_nom=30, w=5, rows=120):
    rng = np.random.default_rng(seed)
    p = rng.integers(l_nom + 2, rows - w - 2, n)
    p[:4] = p[0]  # some on the same date
    u = rng.normal(size=(n, l_nom))
    u[rng.random(u.shape) < 0.05] = 0.0
    c = -l_nom - 1
    est_cols = p[:, None] + c + np.arange(l_nom)[None, :]
    win_cols = p[:, None] + np.arange(w)[None, :]
    return p, u, est_cols, win_cols, c


@pytest.mark.parametrize("seed", [0, 1])
def test_kp_rbar_delta_equals_pairwise_and_direct(seed):
    n, l_nom, w, rows = 12, 30, 5, 120
    p, u, est_cols, win_cols, _ = _kp_inputs(seed, n, l_nom, w, rows)
    a_acc = np.zeros((rows, l_nom))
    for i in range(n):  # test-side scatter (independent of the engine)
        a_acc[p[i]] += u[i]
    windows = [(0, 4), (1, 2)]
    d1, w1 = st.kp_rbar_delta(a_acc, (u * u).sum(), l_nom, n, [5, 2])
    d2, w2 = st.kp_rbar_pairs(u, est_cols, win_cols, rows, windows, 0)
    np.testing.assert_allclose(d2, d1, rtol=1e-12)
    np.testing.assert_allclose(w2, w1, rtol=1e-12)
    # direct double loop
    tot_d, tot_w = 0.0, np.zeros(2)
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            common = set(est_cols[i]) & set(est_cols[j])
            if not common:
                continue
            rho = sum(
                u[i][list(est_cols[i]).index(x)] * u[j][list(est_cols[j]).index(x)] for x in common
            ) / len(common)
            tot_d += rho * (p[i] == p[j])
            for wi, (w0, ww) in enumerate(windows):
                o = len(set(win_cols[i, w0 : ww + 1]) & set(win_cols[j, w0 : ww + 1])) / (ww - w0 + 1)
                tot_w[wi] += rho * o
    assert d1 == pytest.approx(tot_d / (n * (n - 1)), rel=1e-12)
    np.testing.assert_allclose(w1, tot_w / (n * (n - 1)), rtol=1e-12)


def test_kp_rbar_one_date_is_mean_pearson():
    # all events on one date, no missing: rbar = mean off-diagonal Pearson correlation (KP 2010)
    rng = np.random.default_rng(9)
    n, l_nom = 10, 50
    e = rng.normal(size=(n, l_nom)) + rng.normal(size=l_nom)
    e -= e.mean(axis=1, keepdims=True)
    u = e / np.sqrt((e**2).mean(axis=1, keepdims=True))
    a_acc = np.zeros((3, l_nom))
    a_acc[1] = u.sum(axis=0)
    d, w = st.kp_rbar_delta(a_acc, (u * u).sum(), l_nom, n, [3])
    corr = np.corrcoef(e)
    ref = (corr.sum() - n) / (n * (n - 1))
    assert d == pytest.approx(ref, rel=1e-12)
    assert w[0] == pytest.approx(ref, rel=1e-12)


def test_placebo_empirical_pvalue():
    draws = np.array([[-3.0], [-1.0], [0.5], [2.0], [4.0]])
    r = st.placebo(np.array([2.0]), draws, [10])
    assert r["pvalue"][0] == pytest.approx((1 + 3) / 6)
    assert r["statistic"][0] == pytest.approx(2.0 / np.std(draws[:, 0], ddof=1))


@pytest.mark.parametrize("seed", [0, 1])
def test_kp_rbar_delta_dense_rows_equal_sparse_rows(seed):
    """The consecutive-rows fast path (shifted views) equals the row-matching path."""
    n, l_nom, rows = 12, 30, 120
    p, u, _, _, _ = _kp_inputs(seed, n, l_nom, 5, rows)
    a_acc = np.zeros((rows, l_nom))
    for i in range(n):
        a_acc[p[i]] += u[i]
    used = np.flatnonzero(a_acc.any(axis=1))
    assert used[-1] - used[0] + 1 > len(used)  # gaps: the general path is taken
    d1, w1 = st.kp_rbar_delta(a_acc, (u * u).sum(), l_nom, n, [5, 2])
    d2, w2 = st.kp_rbar_delta(a_acc[used], (u * u).sum(), l_nom, n, [5, 2], p=used)
    assert d1 == pytest.approx(d2, rel=1e-12)
    np.testing.assert_allclose(w1, w2, rtol=1e-12)


def test_patell_and_bmp_from_sums_equal_matrix_versions(x):
    """The engine's per-day sums give the same Patell and BMP statistics as the SAR matrix."""
    dof = np.linspace(20.0, 60.0, x.shape[0])
    valid = ~np.isnan(x)
    s1 = np.where(valid, x, 0.0).sum(axis=0)
    s2 = np.where(valid, x * x, 0.0).sum(axis=0)
    var = np.where(valid, (dof / (dof - 2.0))[:, None], 0.0).sum(axis=0)
    n = valid.sum(axis=0)
    npos = (x > 0).sum(axis=0)
    for got, want in (
        (st.patell_from_sums(s1, var, n, npos), st.patell(x, dof)),
        (st.bmp_from_sums(s1, s2, n, npos), st.bmp(x)),
    ):
        for key in ("statistic", "pvalue", "n", "n_pos"):
            np.testing.assert_allclose(got[key], want[key], rtol=1e-12, atol=0)


def test_wilcoxon_with_ties_and_zeros_matches_direct_formula():
    """Average ranks of |x| over ties, zeros dropped: W+ and its tie-corrected variance."""
    v = np.array([[1.0, -1.0, 2.0, 0.0, -3.0, 2.0, 2.0, -0.5, np.nan, 4.0]]).T
    r = st.wilcoxon(v)
    w = v[:, 0][~np.isnan(v[:, 0]) & (v[:, 0] != 0)]
    rk = sps.rankdata(np.abs(w))
    wplus = rk[w > 0].sum()
    nn = len(w)
    _, cnt = np.unique(np.abs(w), return_counts=True)
    var = nn * (nn + 1) * (2 * nn + 1) / 24.0 - (cnt**3 - cnt).sum() / 48.0
    assert r["statistic"][0] == pytest.approx((wplus - nn * (nn + 1) / 4.0) / math.sqrt(var), rel=1e-12)
    assert r["n"][0] == nn and r["n_pos"][0] == (w > 0).sum()
