"""Compiled (numba) engine kernels: oracle parity on both paths, path selection, and agreement.

Every oracle check runs twice: with the numba kernels (``backtests._kernels``) and with
``NEWSBT_NO_NUMBA=1`` (the numpy fallback); both must agree with the naive per-event oracle to
1e-9 and with each other.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings

sys.path.insert(0, str(Path(__file__).resolve().parent))

import naive_oracle  # noqa: E402
from engine_cases import NO_PLACEBO, check_oracle, panels  # noqa: E402

from backtests import engine as eng  # noqa: E402
from backtests.study import event_study  # noqa: E402

pytest.importorskip("numba")
pytest.importorskip("backtests._kernels")

PATHS = ["numba", "numpy"]


@contextlib.contextmanager
def engine_path(path: str):
    """Force one engine path and record which one every ``run_engine`` call took."""
    old = os.environ.get("NEWSBT_NO_NUMBA")
    os.environ["NEWSBT_NO_NUMBA"] = "1" if path == "numpy" else "0"
    seen: list[str] = []
    orig = eng.run_engine

    def spy(*args, **kwargs):
        res = orig(*args, **kwargs)
        seen.append(res.path)
        return res

    eng.run_engine = spy
    try:
        yield seen
    finally:
        eng.run_engine = orig
        if old is None:
            del os.environ["NEWSBT_NO_NUMBA"]
        else:
            os.environ["NEWSBT_NO_NUMBA"] = old


def _expected_path(path: str, model: str) -> str:
    return "numba" if path == "numba" and model in ("raw", "mean", "market") else "numpy"


def _check_oracle(ch, ev, model, calendar, allow_gaps, path):
    seen: list[str] = []

    @contextlib.contextmanager
    def forced():
        with engine_path(path) as s:
            yield
            seen.extend(s)

    check_oracle(ch, ev, model, calendar, allow_gaps, context=forced)
    assert set(seen) <= {_expected_path(path, model)}


@pytest.mark.parametrize("path", PATHS)
@given(case=panels())
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_both_paths_match_naive_oracle(path, case):
    _check_oracle(*case, path=path)


def _mid_panel(seed=3, t=400, n_series=12, n_ev=150):
    rng = np.random.default_rng(seed)
    idx = pd.bdate_range("2015-01-01", periods=t)
    mkt = rng.normal(size=t)
    vals = rng.normal(size=(t, n_series)) + mkt[:, None] * rng.uniform(0.5, 1.5, n_series) + 100.0
    vals[rng.random(vals.shape) < 0.03] = np.nan
    vals[:, 0] = 2.5  # constant series: nonpositive variance
    vals[rng.integers(0, t, 10), 1] = 7.0  # ties for the rank tests
    ch = pd.DataFrame(vals, index=idx, columns=[f"s{i}" for i in range(n_series)])
    ev = pd.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(n_ev)],
            "series": ch.columns[rng.integers(0, n_series, n_ev)],
            "date": idx[rng.integers(0, t, n_ev)],
            "grp": rng.choice(["a", "b", "c"], n_ev),
        }
    )
    return ch, pd.Series(mkt, index=idx), ev


@pytest.mark.parametrize("model", ["raw", "mean", "market"])
@pytest.mark.parametrize("calendar", ["index", "observed"])
@pytest.mark.parametrize("group_by", [None, "grp"])
@pytest.mark.parametrize("threads", [1, 3])
def test_numba_and_numpy_paths_agree(model, calendar, group_by, threads, monkeypatch):
    ch, mkt, ev = _mid_panel()
    if threads > 1:  # split the 150 pairs over 3 kernel threads (as 100,000 pairs would be)
        monkeypatch.setattr(eng, "_KERNEL_MIN_PAIRS_PER_THREAD", 10)
        monkeypatch.setattr(eng.os, "cpu_count", lambda: threads)
    kw = {
        "window": (-3, 5),
        "estimation": (-60, -5),
        "model": model,
        "benchmark": mkt if model == "market" else None,
        "calendar": calendar,
        "car_windows": [(0, 1), (-1, 2)],
        "group_by": group_by,
    }
    out = {}
    for path in PATHS:
        with engine_path(path) as seen:
            st = event_study(ch, ev, tests=NO_PLACEBO, **kw)
            out[path] = (st.pairs, st.ar, st.car, st.caar, st.daily_tests, st.tests, st.excluded)
        assert seen == [path]
    if model != "raw":  # the constant series (sigma 0 around its mean)
        assert (out["numba"][6]["reason"] == "nonpositive_variance").any()
    for a_, b_ in zip(out["numba"], out["numpy"]):
        assert list(a_.columns) == list(b_.columns)
        assert a_.shape == b_.shape
        for col in a_.columns:
            if pd.api.types.is_float_dtype(a_[col]):
                np.testing.assert_allclose(
                    a_[col].to_numpy(), b_[col].to_numpy(), rtol=1e-9, atol=1e-9, err_msg=col
                )
            else:
                assert a_[col].astype(str).tolist() == b_[col].astype(str).tolist(), col


def test_factor_model_falls_back_to_numpy_and_placebo_runs_compiled():
    # issue 17: the placebo's pseudo pairs are fitted by the same compiled kernel as the real ones
    ch, mkt, ev = _mid_panel(n_ev=30)
    with engine_path("numba") as seen:
        event_study(ch.assign(m=mkt), ev, window=(-3, 5), estimation=(-60, -5), model="factor",
                    benchmark=["m"], tests=["t_cross_section"])  # fmt: skip
        event_study(ch, ev, window=(-3, 5), estimation=(-60, -5), tests=["placebo"], placebo_draws=20)
        event_study(ch, ev, window=(-3, 5), estimation=(-60, -5), tests=["patell"])
    assert seen == ["numpy", "numba", "numba"]


def test_env_var_disables_kernels(monkeypatch):
    monkeypatch.setenv("NEWSBT_NO_NUMBA", "1")
    assert not eng.numba_enabled()
    monkeypatch.setenv("NEWSBT_NO_NUMBA", "0")
    assert eng.numba_enabled()


@pytest.mark.parametrize("has_m", [True, False])
def test_series_means_agree_with_numpy_and_count_infinities(has_m):
    from backtests import _kernels

    rng = np.random.default_rng(5)
    x = np.asfortranarray(rng.normal(size=(60, 7)) + 3.0)
    x[rng.random(x.shape) < 0.1] = np.nan
    x[[4, 9], 2] = [np.inf, -np.inf]
    m = rng.normal(size=60)
    m[[3, 17]] = np.nan
    mm = m if has_m else np.zeros(1)
    usable = ~np.isnan(x) & (~np.isnan(m)[:, None] if has_m else True)
    for j in (0, 5):
        cx, cm, n_inf = _kernels._series_means(x, mm, has_m, j, True, -1.0)
        assert cx == pytest.approx(x[usable[:, j], j].mean(), rel=1e-12)
        assert cm == pytest.approx(m[usable[:, j]].mean() if has_m else 0.0, rel=1e-12, abs=1e-15)
        assert n_inf == 0
        assert _kernels._series_means(x, mm, has_m, j, False, -1.0)[1] == -1.0  # the shared mean
    assert _kernels._series_means(x, mm, has_m, 2, True, 0.0)[2] == 2


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("calendar", ["index", "observed"])
def test_infinite_values_are_missing_data(path, calendar, caplog):
    rng = np.random.default_rng(11)
    idx = pd.bdate_range("2021-01-04", periods=300)
    ch = pd.DataFrame(rng.normal(size=(300, 3)), index=idx, columns=["a", "b", "c"])
    ch.iloc[[50, 120, 281], 1] = np.nan
    with_inf = ch.copy()
    with_inf.iloc[[50, 120], 1] = [np.inf, -np.inf]  # one in an estimation window, one far off
    with_inf.iloc[281, 1] = np.inf  # inside the event window of the second event
    ev = pd.DataFrame({"date": idx[[200, 280]]})
    kw = {"window": (-3, 3), "estimation": (-100, -5), "calendar": calendar, "tests": NO_PLACEBO}
    kw.update(model="market", benchmark="c")
    with engine_path(path) as seen:
        want = event_study(ch, ev, **kw)
        with caplog.at_level("INFO", logger="backtests.engine"):
            got = event_study(with_inf, ev, **kw)
    assert set(seen) == {_expected_path(path, "market")}
    assert "infinite values treated as missing" in caplog.text
    pd.testing.assert_frame_equal(got.pairs, want.pairs)
    pd.testing.assert_frame_equal(got.excluded, want.excluded)
    pd.testing.assert_frame_equal(got.tests, want.tests)
    # index calendar: a gap in the event window; observed calendar: not one of b's trading days
    assert (got.excluded["reason"] == "missing_in_window").any() == (calendar == "index")


def test_ar_day_stats_paths_agree_and_match_direct_formulas():
    rng = np.random.default_rng(3)
    ar = rng.normal(size=(40, 6))
    ar[rng.random(ar.shape) < 0.2] = np.nan
    ar[5] = np.nan  # a row with no AR at all
    ar[7, :3] = np.nan  # starts late
    rows = np.array([0, 3, 5, 7, 8, 12, 20, 39])
    with engine_path("numba"):
        got = eng.ar_day_stats(ar, rows)
    with engine_path("numpy"):
        ref = eng.ar_day_stats(ar, rows)
    sub = ar[rows]
    cum = np.nancumsum(sub, axis=1)
    started = np.cumsum(~np.isnan(sub), axis=1) > 0
    for j in range(6):
        v = sub[:, j][~np.isnan(sub[:, j])]
        c = cum[started[:, j], j]
        want = {
            "n": len(v), "mean": v.mean(), "sd": v.std(ddof=1), "n_pos": (v > 0).sum(),
            "caar": c.mean(), "caar_se": c.std(ddof=1) / np.sqrt(len(c)),
        }  # fmt: skip
        for key, val in want.items():
            assert got[key][j] == pytest.approx(val, rel=1e-12, abs=1e-15), key
            assert ref[key][j] == pytest.approx(val, rel=1e-12, abs=1e-15), key
    one = eng.ar_day_stats(ar, np.array([7]))
    assert np.isnan(one["sd"]).all() and np.isnan(one["caar"][:3]).all() and one["n"][3] == 1


@pytest.mark.parametrize("path", PATHS)
def test_every_pair_excluded_with_kp_on_several_threads(path, monkeypatch):
    """Found in review: the Kolari-Pynnonen thread split crashed when no pair was kept."""
    monkeypatch.setattr(eng, "_KERNEL_MIN_PAIRS_PER_THREAD", 5)
    monkeypatch.setattr(eng.os, "cpu_count", lambda: 3)
    idx = pd.bdate_range("2020-01-01", periods=200)
    ch = pd.DataFrame({"flat": np.full(200, 2.5)}, index=idx)
    ev = pd.DataFrame({"series": "flat", "date": idx[100 + np.arange(30) * 3]})
    with engine_path(path):
        st = event_study(
            ch,
            ev,
            window=(-2, 2),
            estimation=(-60, -5),
            tests=["kolari_pynnonen"],
            model="mean",
            calendar="index",
        )
    assert len(st.pairs) == 0 and set(st.excluded["reason"]) == {"nonpositive_variance"}


def test_kp_lag_sums_of_no_pairs_are_zero():
    from backtests import _kernels

    z = np.zeros(0, dtype=np.int64)
    s_d, self_sum = _kernels.kp_lag_sums(
        np.zeros((5, 1)), np.zeros(1), False, z, z, z, z, z, np.zeros(0), np.zeros(0), np.zeros(0), z,
        -3, 3, 2, 1, np.iinfo(np.int64).min,
    )  # fmt: skip
    assert (s_d == 0).all() and (self_sum == 0).all()


@pytest.mark.parametrize("path", PATHS)
def test_excluded_pair_leaves_no_trace_in_brown_warner(path):
    """Found in review: a pair failing the variance check must not change its group's
    Brown-Warner sums, not even by rounding: a level of 1e24 with noise 1e10 (sigma 1e-14 of
    the values' size: rounding, excluded) has residuals of 1e10 next to unit-scale series."""
    rng = np.random.default_rng(9)
    idx = pd.bdate_range("2020-01-01", periods=300)
    ch = pd.DataFrame(rng.normal(size=(300, 3)), index=idx, columns=["a", "b", "c"])
    ch["big"] = 1e24 + rng.normal(size=300) * 1e10
    ev = pd.DataFrame({"series": ["a", "b", "c", "big"] * 3, "date": idx[np.repeat([120, 180, 240], 4)]})
    kw = {"window": (-2, 2), "estimation": (-80, -5), "model": "mean", "tests": ["brown_warner"]}
    with engine_path(path):
        with_big = event_study(ch, ev, **kw)
        without = event_study(ch.drop(columns="big"), ev[ev["series"] != "big"], **kw)
    assert (with_big.excluded["reason"] == "nonpositive_variance").all() and len(with_big.excluded) == 3
    pd.testing.assert_frame_equal(with_big.daily_tests, without.daily_tests, rtol=1e-13)
    pd.testing.assert_frame_equal(with_big.tests, without.tests, rtol=1e-13)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("model", ["mean", "market"])
def test_level_shift_far_above_the_noise_is_not_zero_variance(path, model):
    """Found in review: the zero-variance check was relative to the series' spread about its
    column mean, so a series with a level shift of 1e6 and noise 0.01 had its pairs excluded
    (the oracle keeps them). Now it is relative to the window's own values (sigma below 1e-12 of
    their size: rounding), and the numpy path refits such windows exactly."""
    rng = np.random.default_rng(2)
    t = 400
    idx = pd.bdate_range("2015-01-01", periods=t)
    mkt = rng.normal(size=t)
    x = np.where(np.arange(t) < t // 2, 1e6, 0.0) + rng.normal(size=t) * 1e-2 + 1e-3 * mkt
    ch = pd.DataFrame({"s0": x, "mkt": mkt}, index=idx)
    ev = pd.DataFrame({"event_id": ["a", "b", "c"], "series": "s0", "date": idx[[100, 150, 300]]})
    kw = {"window": (-2, 3), "estimation": (-60, -4), "model": model}
    kw["benchmark"] = "mkt" if model == "market" else None
    with engine_path(path):
        st = event_study(ch, ev, tests=["t_cross_section"], **kw)
    assert len(st.excluded) == 0
    kept, excluded = naive_oracle.naive_pairs(ch, ev, **kw)
    assert not excluded
    got = st.pairs.set_index("event_id")
    for kp in kept:
        assert got.loc[kp["event_id"], "sigma"] == pytest.approx(kp["sigma"], rel=1e-9)
        np.testing.assert_allclose(
            st.ar.loc[(kp["event_id"], "s0")].to_numpy(), kp["ar"], rtol=1e-9, atol=1e-9
        )
