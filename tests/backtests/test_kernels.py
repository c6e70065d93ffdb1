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
from hypothesis import strategies as hst

sys.path.insert(0, str(Path(__file__).resolve().parent))

import naive_oracle  # noqa: E402

from backtests import engine as eng  # noqa: E402
from backtests.study import event_study  # noqa: E402

pytest.importorskip("numba")
pytest.importorskip("backtests._kernels")

NO_PLACEBO = [
    "t_cross_section",
    "brown_warner",
    "patell",
    "bmp",
    "kolari_pynnonen",
    "corrado_rank",
    "sign",
    "generalized_sign",
    "wilcoxon",
]
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


@hst.composite
def panels(draw):
    t = draw(hst.integers(70, 130))
    n_series = draw(hst.integers(1, 3))
    seed = draw(hst.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    idx = pd.bdate_range("2022-01-03", periods=t)
    mkt = rng.normal(size=t)
    vals = rng.normal(size=(t, n_series)) + 0.7 * mkt[:, None] + rng.normal(size=n_series) * 5
    nan_rate = draw(hst.sampled_from([0.0, 0.02, 0.08]))
    vals[rng.random(vals.shape) < nan_rate] = np.nan
    ch = pd.DataFrame(vals, index=idx, columns=[f"s{i}" for i in range(n_series)])
    ch["mkt"] = mkt
    if draw(hst.booleans()):
        ch.loc[idx[rng.integers(0, t)], "mkt"] = np.nan
    n_ev = draw(hst.integers(2, 7))
    offs = rng.integers(-10, t + 10, n_ev)  # before/after the data, weekends, edges
    dates = [idx[0] + pd.Timedelta(days=int(o) * 7 // 5) for o in offs]
    dates[0] = idx[-1]
    series = rng.choice([*ch.columns[:n_series], "nope"], n_ev, p=[0.9 / n_series] * n_series + [0.1])
    ev = pd.DataFrame({"event_id": [f"e{i}" for i in range(n_ev)], "series": series, "date": dates})
    model = draw(hst.sampled_from(["raw", "mean", "market", "factor"]))
    calendar = draw(hst.sampled_from(["index", "observed"]))
    allow_gaps = draw(hst.booleans())
    return ch, ev, model, calendar, allow_gaps


def _check_oracle(ch, ev, model, calendar, allow_gaps, path):
    bm = {"market": "mkt", "factor": ["mkt"]}.get(model)
    if model == "factor":
        ch = ch.assign(f2=np.sin(np.arange(len(ch))))
        bm = ["mkt", "f2"]
    wins = [(-2, 3), (0, 1)]
    kw = {
        "window": (-2, 3),
        "estimation": (-40, -4),
        "model": model,
        "benchmark": bm,
        "calendar": calendar,
        "car_windows": [(0, 1)],
        "allow_gaps": allow_gaps,
    }
    with engine_path(path) as seen:
        study = event_study(ch, ev, tests=NO_PLACEBO, **kw)
        daily_t, win_t = study.daily_tests, study.tests  # tables built under the forced path
    assert set(seen) <= {_expected_path(path, model)}
    kept, excluded = naive_oracle.naive_pairs(ch, ev, **kw)
    assert {(r.event_id, r.series): r.reason for r in study.excluded.itertuples()} == excluded
    assert len(study.pairs) + len(study.excluded) == len(ev)
    assert len(study.pairs) == len(kept)
    pairs = study.pairs.set_index(["event_id", "series"])
    car = study.car.set_index(["event_id", "series", "start", "end"])
    for kp in kept:
        key = (kp["event_id"], kp["series"])
        np.testing.assert_allclose(study.ar.loc[key].to_numpy(), kp["ar"], rtol=1e-9, atol=1e-9)
        row = pairs.loc[key]
        assert row["sigma"] == pytest.approx(kp["sigma"], rel=1e-9)
        assert row["n_est"] == kp["n_est"]
        for wi, w in enumerate(wins):
            r = car.loc[(*key, *w)]
            assert r["car"] == pytest.approx(kp["car"][wi], rel=1e-9, abs=1e-9)
            assert r["scar"] == pytest.approx(kp["scar"][wi], rel=1e-9, abs=1e-9)
            assert r["se"] == pytest.approx(kp["se"][wi], rel=1e-9)
    if len(kept) >= 3:
        daily, wt = naive_oracle.naive_tests(kept, window=(-2, 3), estimation=(-40, -4), car_windows=[(0, 1)])
        for name, vals in daily.items():
            got = daily_t[daily_t["test"] == name]
            np.testing.assert_allclose(
                got["statistic"].to_numpy(), [v[0] for v in vals], rtol=1e-9, atol=1e-9, err_msg=name
            )
            np.testing.assert_allclose(got["pvalue"].to_numpy(), [v[1] for v in vals], rtol=1e-9, atol=1e-12)
        for name, vals in wt.items():
            got = win_t[win_t["test"] == name]
            np.testing.assert_allclose(
                got["statistic"].to_numpy(), [v[0] for v in vals], rtol=1e-9, atol=1e-9, err_msg=name
            )


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
def test_numba_and_numpy_paths_agree(model, calendar, group_by):
    ch, mkt, ev = _mid_panel()
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


def test_factor_model_and_placebo_fall_back_to_numpy():
    ch, mkt, ev = _mid_panel(n_ev=30)
    with engine_path("numba") as seen:
        event_study(ch.assign(m=mkt), ev, window=(-3, 5), estimation=(-60, -5), model="factor",
                    benchmark=["m"], tests=["t_cross_section"])  # fmt: skip
        event_study(ch, ev, window=(-3, 5), estimation=(-60, -5), tests=["placebo"], placebo_draws=20)
        event_study(ch, ev, window=(-3, 5), estimation=(-60, -5), tests=["patell"])
    assert seen == ["numpy", "numpy", "numba"]


def test_env_var_disables_kernels(monkeypatch):
    monkeypatch.setenv("NEWSBT_NO_NUMBA", "1")
    assert not eng.numba_enabled()
    monkeypatch.setenv("NEWSBT_NO_NUMBA", "0")
    assert eng.numba_enabled()


@pytest.mark.parametrize("has_m", [True, False])
def test_column_means_loop_orders_agree_with_numpy(has_m):
    from backtests import _kernels

    rng = np.random.default_rng(5)
    x = rng.normal(size=(60, 7)) + 3.0
    x[rng.random(x.shape) < 0.1] = np.nan
    m = rng.normal(size=60)
    m[[3, 17]] = np.nan
    mm = m if has_m else np.zeros(1)
    usable = ~np.isnan(x) & (~np.isnan(m)[:, None] if has_m else True)
    want_cx = np.where(usable, x, 0.0).sum(axis=0) / usable.sum(axis=0)
    want_cm = np.where(usable, m[:, None], 0.0).sum(axis=0) / usable.sum(axis=0) if has_m else np.zeros(7)
    for arr, major in ((np.ascontiguousarray(x), False), (np.asfortranarray(x), True)):
        cx, cm, g = _kernels.column_means(arr, mm, has_m, True, major)
        np.testing.assert_allclose(cx, want_cx, rtol=1e-12)
        np.testing.assert_allclose(cm, want_cm, rtol=1e-12, atol=1e-15)
        assert g == pytest.approx(np.nanmean(m) if has_m else 0.0, rel=1e-12)
