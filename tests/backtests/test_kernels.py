"""Compiled (numba) engine kernels: every model and the placebo on one kernel source.

The oracle checks run on the compiled kernels (``pairs_kernel`` for raw/mean/market,
``factor_kernel`` for the factor model) and record which path every ``run_engine`` call took;
``NEWSBT_NO_NUMBA=1`` (the same source run by Python, for debugging) is checked in a fresh
process against the compiled results.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import textwrap
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

ROOT = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def engine_path():
    """Record which engine path (``EngineResult.path``) every ``run_engine`` call took."""
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


@given(case=panels())
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_every_model_on_the_compiled_kernels_matches_naive_oracle(case):
    seen: list[str] = []

    @contextlib.contextmanager
    def recorded():
        with engine_path() as s:
            yield
            seen.extend(s)

    check_oracle(*case, context=recorded)
    assert set(seen) <= {"numba"}


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


def _frames(st):
    return [st.pairs, st.ar, st.car, st.caar, st.daily_tests, st.tests, st.excluded]


def _assert_frames_close(got, want, rtol=1e-9):
    for a_, b_ in zip(got, want):
        assert a_.shape == b_.shape
        for col in a_.columns:
            if pd.api.types.is_float_dtype(a_[col]):
                np.testing.assert_allclose(
                    a_[col].to_numpy(), b_[col].to_numpy(), rtol=rtol, atol=rtol, err_msg=col
                )
            else:
                assert a_[col].astype(str).tolist() == b_[col].astype(str).tolist(), col


@pytest.mark.parametrize("model", ["raw", "mean", "market", "factor"])
@pytest.mark.parametrize("calendar", ["index", "observed"])
@pytest.mark.parametrize("group_by", [None, "grp"])
def test_results_do_not_depend_on_the_kernel_threads(model, calendar, group_by, monkeypatch):
    ch, mkt, ev = _mid_panel()
    ch = ch.assign(m=mkt, f2=np.sin(np.arange(len(ch))))
    kw = {
        "window": (-3, 5),
        "estimation": (-60, -5),
        "model": model,
        "benchmark": {"market": "m", "factor": ["m", "f2"]}.get(model),
        "calendar": calendar,
        "car_windows": [(0, 1), (-1, 2)],
        "group_by": group_by,
        "tests": NO_PLACEBO,
    }
    with engine_path() as seen:
        one = _frames(event_study(ch, ev, **kw))
        # split the 150 pairs over 3 kernel threads (as 100,000 pairs would be)
        monkeypatch.setattr(eng, "_KERNEL_MIN_PAIRS_PER_THREAD", 10)
        monkeypatch.setattr(eng.os, "cpu_count", lambda: 3)
        three = _frames(event_study(ch, ev, **kw))
    assert seen == ["numba", "numba"]
    if model != "raw":  # the constant series (sigma 0 around its mean)
        assert (one[6]["reason"] == "nonpositive_variance").any()
    _assert_frames_close(three, one)


@pytest.mark.parametrize("calendar", ["index", "observed"])
@pytest.mark.parametrize("group_by", [None, "grp"])
def test_factor_model_with_one_benchmark_equals_market_model(calendar, group_by):
    """Two kernels, one definition: the factor kernel with one benchmark gives the market
    kernel's pairs, ARs, CARs and every test (same fit, same checks, same accumulators)."""
    ch, mkt, ev = _mid_panel()
    ch = ch.assign(m=mkt)
    kw = {"window": (-3, 5), "estimation": (-60, -5), "calendar": calendar, "car_windows": [(0, 1), (-1, 2)]}
    kw.update(group_by=group_by, tests=NO_PLACEBO)
    market = _frames(event_study(ch, ev, model="market", benchmark="m", **kw))
    factor = _frames(event_study(ch, ev, model="factor", benchmark=["m"], **kw))
    market[0] = market[0].rename(columns={"beta": "beta_m"})
    _assert_frames_close(factor, market)


def test_factor_model_and_placebo_run_compiled():
    # issue 17: every model and the placebo's pseudo pairs on the compiled kernels
    ch, mkt, ev = _mid_panel(n_ev=30)
    with engine_path() as seen:
        event_study(ch.assign(m=mkt), ev, window=(-3, 5), estimation=(-60, -5), model="factor",
                    benchmark=["m"], tests=["t_cross_section"])  # fmt: skip
        event_study(ch, ev, window=(-3, 5), estimation=(-60, -5), tests=["placebo"], placebo_draws=20)
        event_study(ch.assign(m=mkt), ev, window=(-3, 5), estimation=(-60, -5), model="factor",
                    benchmark=["m"], tests=["placebo", "kolari_pynnonen"], placebo_draws=20)  # fmt: skip
    assert seen == ["numba", "numba", "numba"]


_UNCOMPILED = """
import json, sys
import numpy as np, pandas as pd
sys.path.insert(0, {tests!r})
from backtests import _kernels, engine as eng
from backtests.study import event_study
from engine_cases import NO_PLACEBO
from test_kernels import _mid_panel
ch, mkt, ev = _mid_panel(n_series=4, t=220, n_ev=12)
ch = ch.assign(m=mkt, f2=np.sin(np.arange(len(ch))))
out = {{"compiled": _kernels.COMPILED, "numba_enabled": eng.numba_enabled()}}
for model, bm in (("raw", None), ("market", "m"), ("factor", ["m", "f2"])):
    for cal in ("index", "observed"):
        st = event_study(ch, ev, window=(-3, 5), estimation=(-60, -5), model=model, benchmark=bm,
                         calendar=cal, tests=[*NO_PLACEBO, "placebo"], placebo_draws=15)
        out[model + "/" + cal] = [st.ar.to_numpy().tolist(), st.tests["statistic"].tolist(),
                                  st.daily_tests["statistic"].tolist(), st.placebo_draws["caar"].tolist()]
print(json.dumps(out))
"""


def _run_study_script(no_numba: bool) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("NEWSBT_NO_NUMBA", None)
    if no_numba:
        env["NEWSBT_NO_NUMBA"] = "1"
    code = textwrap.dedent(_UNCOMPILED.format(tests=str(Path(__file__).resolve().parent)))
    res = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code], env=env, capture_output=True, text=True, timeout=900
    )
    assert res.returncode == 0, res.stderr[-3000:]
    return json.loads(res.stdout.strip().splitlines()[-1])


def test_no_numba_runs_the_same_kernel_source_uncompiled():
    """``NEWSBT_NO_NUMBA=1``: the same kernels run by Python (no second implementation) give
    the compiled results: ARs, every test, the placebo draws; raw/market/factor, both calendars."""
    py = _run_study_script(no_numba=True)
    jit = _run_study_script(no_numba=False)
    assert (py.pop("compiled"), py.pop("numba_enabled")) == (False, False)
    assert (jit.pop("compiled"), jit.pop("numba_enabled")) == (True, True)
    assert py.keys() == jit.keys()
    for key in jit:
        for got, want in zip(py[key], jit[key]):
            np.testing.assert_allclose(
                np.array(got, float), np.array(want, float), rtol=1e-9, atol=1e-12, err_msg=key
            )


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


@pytest.mark.parametrize("model", ["market", "factor"])
@pytest.mark.parametrize("calendar", ["index", "observed"])
def test_infinite_values_are_missing_data(model, calendar, caplog):
    rng = np.random.default_rng(11)
    idx = pd.bdate_range("2021-01-04", periods=300)
    ch = pd.DataFrame(rng.normal(size=(300, 3)), index=idx, columns=["a", "b", "c"])
    ch.iloc[[50, 120, 281], 1] = np.nan
    with_inf = ch.copy()
    with_inf.iloc[[50, 120], 1] = [np.inf, -np.inf]  # one in an estimation window, one far off
    with_inf.iloc[281, 1] = np.inf  # inside the event window of the second event
    ev = pd.DataFrame({"date": idx[[200, 280]]})
    kw = {"window": (-3, 3), "estimation": (-100, -5), "calendar": calendar, "tests": NO_PLACEBO}
    kw.update(model=model, benchmark="c" if model == "market" else ["c"])
    with engine_path() as seen:
        want = event_study(ch, ev, **kw)
        with caplog.at_level("INFO", logger="backtests.engine"):
            got = event_study(with_inf, ev, **kw)
    assert set(seen) == {"numba"}
    assert "infinite values treated as missing" in caplog.text
    pd.testing.assert_frame_equal(got.pairs, want.pairs)
    pd.testing.assert_frame_equal(got.excluded, want.excluded)
    pd.testing.assert_frame_equal(got.tests, want.tests)
    # index calendar: a gap in the event window; observed calendar: not one of b's trading days
    assert (got.excluded["reason"] == "missing_in_window").any() == (calendar == "index")


def test_ar_day_stats_match_direct_formulas():
    rng = np.random.default_rng(3)
    ar = rng.normal(size=(40, 6))
    ar[rng.random(ar.shape) < 0.2] = np.nan
    ar[5] = np.nan  # a row with no AR at all
    ar[7, :3] = np.nan  # starts late
    rows = np.array([0, 3, 5, 7, 8, 12, 20, 39])
    got = eng.ar_day_stats(ar, rows)
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
    one = eng.ar_day_stats(ar, np.array([7]))
    assert np.isnan(one["sd"]).all() and np.isnan(one["caar"][:3]).all() and one["n"][3] == 1


def test_every_pair_excluded_with_kp_on_several_threads(monkeypatch):
    """Found in review: the Kolari-Pynnonen thread split crashed when no pair was kept."""
    monkeypatch.setattr(eng, "_KERNEL_MIN_PAIRS_PER_THREAD", 5)
    monkeypatch.setattr(eng.os, "cpu_count", lambda: 3)
    idx = pd.bdate_range("2020-01-01", periods=200)
    ch = pd.DataFrame({"flat": np.full(200, 2.5)}, index=idx)
    ev = pd.DataFrame({"series": "flat", "date": idx[100 + np.arange(30) * 3]})
    with engine_path():
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
        -3, 3, 2, 1, np.iinfo(np.int64).min, np.zeros((0, 1)), np.zeros((1, 0)),
    )  # fmt: skip
    assert (s_d == 0).all() and (self_sum == 0).all()


def test_excluded_pair_leaves_no_trace_in_brown_warner():
    """Found in review: a pair failing the variance check must not change its group's
    Brown-Warner sums, not even by rounding: a level of 1e24 with noise 1e10 (sigma 1e-14 of
    the values' size: rounding, excluded) has residuals of 1e10 next to unit-scale series."""
    rng = np.random.default_rng(9)
    idx = pd.bdate_range("2020-01-01", periods=300)
    ch = pd.DataFrame(rng.normal(size=(300, 3)), index=idx, columns=["a", "b", "c"])
    ch["big"] = 1e24 + rng.normal(size=300) * 1e10
    ev = pd.DataFrame({"series": ["a", "b", "c", "big"] * 3, "date": idx[np.repeat([120, 180, 240], 4)]})
    kw = {"window": (-2, 2), "estimation": (-80, -5), "model": "mean", "tests": ["brown_warner"]}
    with engine_path():
        with_big = event_study(ch, ev, **kw)
        without = event_study(ch.drop(columns="big"), ev[ev["series"] != "big"], **kw)
    assert (with_big.excluded["reason"] == "nonpositive_variance").all() and len(with_big.excluded) == 3
    pd.testing.assert_frame_equal(with_big.daily_tests, without.daily_tests, rtol=1e-13)
    pd.testing.assert_frame_equal(with_big.tests, without.tests, rtol=1e-13)


@pytest.mark.parametrize("model", ["mean", "market", "factor"])
def test_level_shift_far_above_the_noise_is_not_zero_variance(model):
    """Found in review: the zero-variance check was relative to the series' spread about its
    column mean, so a series with a level shift of 1e6 and noise 0.01 had its pairs excluded
    (the oracle keeps them). Now it is relative to the window's own values (sigma below 1e-12 of
    their size: rounding); the factor kernel fits from the window's own values (two passes)."""
    rng = np.random.default_rng(2)
    t = 400
    idx = pd.bdate_range("2015-01-01", periods=t)
    mkt = rng.normal(size=t)
    x = np.where(np.arange(t) < t // 2, 1e6, 0.0) + rng.normal(size=t) * 1e-2 + 1e-3 * mkt
    ch = pd.DataFrame({"s0": x, "mkt": mkt}, index=idx)
    ev = pd.DataFrame({"event_id": ["a", "b", "c"], "series": "s0", "date": idx[[100, 150, 300]]})
    kw = {"window": (-2, 3), "estimation": (-60, -4), "model": model}
    kw["benchmark"] = {"market": "mkt", "factor": ["mkt"]}.get(model)
    with engine_path():
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


@pytest.mark.parametrize("calendar", ["index", "observed"])
def test_factor_model_singular_benchmarks_as_the_oracle(calendar):
    """Collinear benchmarks (f2 = 2 mkt - 1 over one estimation window) and a benchmark constant
    over another window are singular, as the oracle's rank check says; other pairs are kept."""
    rng = np.random.default_rng(12)
    t = 300
    idx = pd.bdate_range("2020-01-01", periods=t)
    mkt = rng.normal(size=t)
    f2 = rng.normal(size=t)
    f2[40:100] = 2.0 * mkt[40:100] - 1.0  # collinear over the estimation window of the event at 100
    f2[140:200] = 0.25  # constant over the estimation window of the event at 200
    x = rng.normal(size=(t, 2)) + 0.5 * mkt[:, None]
    ch = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "mkt": mkt, "f2": f2}, index=idx)
    ev = pd.DataFrame({"event_id": ["e1", "e2", "e3"], "series": "a", "date": idx[[100, 200, 280]]})
    kw = {"window": (0, 2), "estimation": (-55, -5), "model": "factor", "benchmark": ["mkt", "f2"]}
    kw["calendar"] = calendar
    st = event_study(ch, ev, tests=["t_cross_section"], **kw)
    kept, excluded = naive_oracle.naive_pairs(ch, ev, **kw)
    assert excluded == {("e1", "a"): "singular_benchmark", ("e2", "a"): "singular_benchmark"}
    assert {(r.event_id, r.series): r.reason for r in st.excluded.itertuples()} == excluded
    assert st.pairs["event_id"].tolist() == ["e3"]
    assert st.pairs["sigma"].iloc[0] == pytest.approx(kept[0]["sigma"], rel=1e-9)


def test_spd_inverse_and_determinant():
    from backtests import _kernels_factor as kf

    rng = np.random.default_rng(4)
    for k in (1, 2, 4):
        z = rng.normal(size=(30, k))
        a = z.T @ z
        inv, work = np.empty((k, k)), np.empty((k, k))
        det = kf._spd_inverse(a, inv, work)
        assert det == pytest.approx(np.linalg.det(a), rel=1e-10)
        np.testing.assert_allclose(inv, np.linalg.inv(a), rtol=1e-10, atol=1e-12)
    assert kf._spd_inverse(np.zeros((2, 2)), inv[:2, :2].copy(), np.empty((2, 2))) == 0.0
