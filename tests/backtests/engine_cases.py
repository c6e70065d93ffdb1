"""Shared engine test material: the hypothesis panel strategy and the oracle comparison used by
test_engine.py (default path) and test_kernels.py (numba and numpy paths)."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import strategies as hst

sys.path.insert(0, str(Path(__file__).resolve().parent))

import naive_oracle  # noqa: E402

from backtests.stats import ALL_BUT_PLACEBO  # noqa: E402
from backtests.study import event_study  # noqa: E402

NO_PLACEBO = list(ALL_BUT_PLACEBO)


@hst.composite
def panels(draw):
    """A small panel with NaNs, a market column, events anywhere (before/after the data, weekends,
    edges, an unknown series), a model, a calendar and allow_gaps."""
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
    offs = rng.integers(-10, t + 10, n_ev)
    dates = [idx[0] + pd.Timedelta(days=int(o) * 7 // 5) for o in offs]
    dates[0] = idx[-1]
    series = rng.choice([*ch.columns[:n_series], "nope"], n_ev, p=[0.9 / n_series] * n_series + [0.1])
    ev = pd.DataFrame({"event_id": [f"e{i}" for i in range(n_ev)], "series": series, "date": dates})
    model = draw(hst.sampled_from(["raw", "mean", "market", "factor"]))
    calendar = draw(hst.sampled_from(["index", "observed"]))
    allow_gaps = draw(hst.booleans())
    return ch, ev, model, calendar, allow_gaps


def check_oracle(ch, ev, model, calendar, allow_gaps, *, context=contextlib.nullcontext):
    """Run event_study (inside ``context()``) and compare every pair, CAR and test with the oracle."""
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
    with context():
        study = event_study(ch, ev, tests=NO_PLACEBO, **kw)
        daily_t, win_t, ar = study.daily_tests, study.tests, study.ar  # built under the context
    kept, excluded = naive_oracle.naive_pairs(ch, ev, **kw)
    assert {(r.event_id, r.series): r.reason for r in study.excluded.itertuples()} == excluded
    assert len(study.pairs) + len(study.excluded) == len(ev)
    assert len(study.pairs) == len(kept)
    pairs = study.pairs.set_index(["event_id", "series"])
    car = study.car.set_index(["event_id", "series", "start", "end"])
    for kp in kept:
        key = (kp["event_id"], kp["series"])
        np.testing.assert_allclose(ar.loc[key].to_numpy(), kp["ar"], rtol=1e-9, atol=1e-9)
        row = pairs.loc[key]
        assert row["sigma"] == pytest.approx(kp["sigma"], rel=1e-9)
        assert row["n_est"] == kp["n_est"]
        assert row["day0"] == kp["day0"]
        for wi, w in enumerate(wins):
            r = car.loc[(*key, *w)]
            assert r["car"] == pytest.approx(kp["car"][wi], rel=1e-9, abs=1e-9, nan_ok=True)
            assert r["scar"] == pytest.approx(kp["scar"][wi], rel=1e-9, abs=1e-9, nan_ok=True)
            assert r["se"] == pytest.approx(kp["se"][wi], rel=1e-9, nan_ok=True)
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
    return study
