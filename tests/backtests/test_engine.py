"""Engine: day-0 location, prefix-sum estimation, and parity with the naive per-event oracle."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hst

sys.path.insert(0, str(Path(__file__).resolve().parent))

import naive_oracle  # noqa: E402
from engine_cases import check_oracle, panels  # noqa: E402

from backtests import engine as eng  # noqa: E402
from backtests import stats as bst  # noqa: E402
from backtests.study import event_study  # noqa: E402


def _ns(dates):
    return pd.DatetimeIndex(dates).to_numpy(dtype="datetime64[ns]").astype(np.int64)


def test_locate_day0_index_calendar_next_trading_day():
    idx = pd.DatetimeIndex(["2024-01-05", "2024-01-08", "2024-01-09"])  # Fri, Mon, Tue
    valid = np.ones((3, 1), dtype=bool)
    ev = _ns(["2024-01-05", "2024-01-06", "2024-01-07", "2024-01-09", "2024-01-10", "2024-01-04"])
    pos, n_obs = eng.locate_day0(valid, _ns(idx), np.zeros(6, dtype=np.int64), ev, "index")
    # weekend -> Monday; after the last row or before the first -> -1
    assert pos.tolist() == [0, 1, 1, 2, -1, -1]
    assert n_obs.tolist() == [3]


def test_locate_day0_observed_calendar_skips_own_holidays():
    idx = pd.bdate_range("2024-01-01", periods=6)
    valid = np.ones((6, 2), dtype=bool)
    valid[2, 1] = False  # series 1 closed on day 2
    valid[0, 1] = False  # and starts a day late
    s = np.array([0, 1, 1, 1])
    ev = _ns([idx[2], idx[2], idx[0], idx[5]])
    pos, n_obs = eng.locate_day0(valid, _ns(idx), s, ev, "observed")
    # series 1 own calendar = rows 1,3,4,5: idx[2] -> row 3 = position 1; idx[0] is before its data
    assert pos.tolist() == [2, 1, -1, 3]
    assert n_obs.tolist() == [6, 4]


@pytest.mark.parametrize("model", ["mean", "market", "factor"])
def test_prefix_sum_fit_is_exact_for_large_levels(model):
    """Centring keeps 1e-9 agreement with lstsq even when a series sits at a level of 1e6."""
    rng = np.random.default_rng(1)
    t = 400
    idx = pd.bdate_range("2021-01-01", periods=t)
    m = rng.normal(size=(t, 2)) + 50.0
    x = 1e6 + 0.3 * m[:, 0] - 0.2 * m[:, 1] + rng.normal(size=t)
    ch = pd.DataFrame({"x": x, "m1": m[:, 0], "m2": m[:, 1]}, index=idx)
    ev = pd.DataFrame({"event_id": ["a", "b"], "series": "x", "date": [idx[200], idx[390]]})
    bm = {"mean": None, "market": "m1", "factor": ["m1", "m2"]}[model]
    st = event_study(ch, ev, model=model, benchmark=bm, window=(-3, 5), estimation=(-150, -4), tests=[])
    kept, _ = naive_oracle.naive_pairs(
        ch, ev, window=(-3, 5), estimation=(-150, -4), model=model, benchmark=bm
    )
    for kp in kept:
        key = (kp["event_id"], kp["series"])
        np.testing.assert_allclose(st.ar.loc[key].to_numpy(), kp["ar"], rtol=0, atol=1e-8)
        row = st.pairs.set_index(["event_id", "series"]).loc[key]
        assert row["sigma"] == pytest.approx(kp["sigma"], rel=1e-9)


@given(panels())
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_engine_matches_naive_oracle(case):
    check_oracle(*case)


@pytest.mark.parametrize("model", ["mean", "market", "factor"])
def test_kp_fast_path_equals_pairwise_path_on_index_calendar(model):
    """The day-aggregated Kolari-Pynnonen sums (lagged cross sums over a ring of day-0 rows)
    equal the pair-level sparse computation, for every kernel (pairs_kernel, factor_kernel)."""
    rng = np.random.default_rng(11)
    t, n_series, n = 300, 5, 40
    vals = rng.normal(size=(t, n_series)) + rng.normal(size=(t, 1))
    vals[rng.random(vals.shape) < 0.02] = np.nan
    bench = {"mean": None, "market": rng.normal(size=(t, 1)), "factor": rng.normal(size=(t, 2))}[model]
    if bench is not None:
        vals += bench @ rng.uniform(0.5, 1.5, bench.shape[1])[:, None]
        bench[rng.integers(0, t, 3), 0] = np.nan
    s = rng.integers(0, n_series, n)
    pos = rng.integers(60, t - 10, n)
    pos[:6] = 150
    kw = {
        "calendar": "index",
        "window": (-2, 4),
        "estimation": (-50, -3),
        "model": model,
        "car_windows": [(-2, 4), (0, 1)],
        "min_estimation": 30,
        "allow_gaps": True,
        "need": frozenset({"kp", "kp_pairs"}),
    }
    res = eng.run_engine(vals, bench, s, pos, np.zeros(n, dtype=np.int64), 1, **kw)
    keep = res.reason == ""
    nk = int(keep.sum())
    pad_b = 50
    assert res.path == "numba" and nk > 30
    d1, w1 = bst.kp_rbar_from_lags(res.acc["kp_lags"][0], res.acc["kp_self"][0], 48, nk, [7, 2])
    est_cols = res.acc["kp_rows"][keep] + pad_b
    win_cols = res.rows[keep] + pad_b
    d2, w2 = bst.kp_rbar_pairs(res.acc["kp_u"][keep], est_cols, win_cols, t + 100, [(-2, 4), (0, 1)], -2)
    np.testing.assert_allclose(d2, d1, rtol=1e-10)
    np.testing.assert_allclose(w2, w1, rtol=1e-10)


@given(
    n=hst.integers(1, 40),
    m=hst.integers(1, 70),
    n_groups=hst.integers(1, 3),
    seed=hst.integers(0, 2**31),
    kind=hst.sampled_from(["normal", "ties", "signed_zeros", "near_ties", "tiny"]),
)
@settings(max_examples=60, deadline=None)
def test_rank_dev_sums_equal_average_ranks(n, m, n_groups, seed, kind):
    """The sort-of-keys rank path gives exactly the sums of average-rank deviations."""
    rng = np.random.default_rng(seed)
    f = rng.normal(size=(n, m))
    if kind == "ties":
        f = np.round(f, 1)
    elif kind == "signed_zeros":
        f[rng.random(f.shape) < 0.4] = -0.0
        f[rng.random(f.shape) < 0.2] = 0.0
    elif kind == "near_ties":
        f = 1.0 + f * 1e-15
    elif kind == "tiny":
        f *= 1e-310
    f[rng.random(f.shape) < 0.1] = np.nan
    g = rng.integers(0, n_groups, n)
    sums, cnts = eng._rank_dev_sums(f, g, n_groups)
    rk = eng.average_ranks(f)
    dev = rk - ((~np.isnan(f)).sum(axis=1)[:, None] + 1) / 2.0
    for k in range(n_groups):
        np.testing.assert_array_equal(sums[k], np.nansum(dev[g == k], axis=0))
        np.testing.assert_array_equal(cnts[k], (~np.isnan(dev[g == k])).sum(axis=0))


def test_group_sums_with_repeated_keys():
    rng = np.random.default_rng(3)
    keys = rng.integers(0, 6, 50)
    mat = rng.normal(size=(50, 4))
    for n_groups in (1, 6):
        g = keys if n_groups == 6 else np.zeros(50, dtype=np.int64)
        got = eng._group_sums(g, mat, n_groups)
        np.testing.assert_allclose(got, [mat[g == k].sum(axis=0) for k in range(n_groups)], rtol=1e-13)


# --- placebo: pseudo-event ARs computed once per (series, day), gathered per draw -----------------
def _refit_placebo(changes, study, *, window, estimation, model, benchmark, calendar, draws, seed, mkt=None):
    """The re-fit path, literally: for every draw, every kept pair draws a candidate day of its
    series (same counter-based draw as the engine), the pseudo pair is fitted again by the naive
    oracle, and the draw's CAAR is the mean pseudo CAR. Candidates: positions of the series'
    calendar with the event window inside the data, outside every real event's window, whose
    pseudo pair the oracle keeps."""
    from backtests import placebo

    a, b = window
    data = changes if mkt is None else changes.assign(mkt=mkt)
    real = study.pairs
    cand_dates: dict[str, list] = {}
    for ser in real["series"].unique():
        col = changes[ser]
        cal = list(changes.index) if calendar == "index" else list(col.dropna().index)
        pos_of = {d: i for i, d in enumerate(cal)}
        real_p = [pos_of[d] for d in real.loc[real["series"] == ser, "day0"]]
        ps = [p for p in range(max(0, -a), len(cal) - b) if not any(q + a <= p <= q + b for q in real_p)]
        ev = pd.DataFrame({"event_id": [f"c{p}" for p in ps], "series": ser, "date": [cal[p] for p in ps]})
        kept, _ = naive_oracle.naive_pairs(
            data,
            ev,
            window=window,
            estimation=estimation,
            model=model,
            benchmark=benchmark,
            calendar=calendar,
        )
        cand_dates[ser] = [(kp["event_id"], float(np.sum(kp["ar"]))) for kp in kept]  # sorted by position
    out = np.empty(draws)
    for k in range(draws):
        cars = []
        for i, ser in enumerate(real["series"]):
            cands = cand_dates[ser]
            cars.append(cands[placebo.pick(np.uint64(seed), k, i, len(cands))][1])
        out[k] = np.mean(cars)
    return out


@pytest.mark.parametrize("calendar", ["index", "observed"])
@pytest.mark.parametrize("model", ["mean", "market", "raw"])
def test_placebo_gather_equals_refit_path(calendar, model):
    rng = np.random.default_rng(3)
    idx = pd.bdate_range("2021-01-04", periods=160)
    mkt = pd.Series(rng.normal(size=160), index=idx)
    x = rng.normal(size=(160, 2)) + 0.7 * mkt.to_numpy()[:, None]
    x[rng.random(x.shape) < 0.04] = np.nan
    ch = pd.DataFrame(x, index=idx, columns=["a", "b"])
    ev = pd.DataFrame({"series": ["a", "b", "a", "b"], "date": idx[[50, 70, 120, 140]]})
    kw = {
        "window": (-2, 3),
        "estimation": (-40, -5),
        "model": model,
        "calendar": calendar,
        "allow_gaps": True,
    }
    bench = {"benchmark": mkt} if model == "market" else {}
    st = event_study(ch, ev, tests=["placebo"], placebo_draws=25, seed=7, **kw, **bench)
    assert len(st.excluded) == 0  # the engine's pair number = the row of study.pairs
    got = st.placebo_draws["caar"].to_numpy()
    kw.pop("allow_gaps")
    want = _refit_placebo(ch, st, **kw, benchmark="mkt" if model == "market" else None, draws=25, seed=7,
                          mkt=mkt if model == "market" else None)  # fmt: skip
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("calendar", ["index", "observed"])
def test_placebo_gather_equals_refit_path_for_the_factor_model(calendar):
    """The factor model's pseudo pairs come from the same compiled kernel as its real pairs."""
    rng = np.random.default_rng(4)
    idx = pd.bdate_range("2021-01-04", periods=160)
    f = rng.normal(size=(160, 2))
    x = rng.normal(size=(160, 2)) + f @ np.array([[0.7, 0.2], [-0.3, 0.5]])
    x[rng.random(x.shape) < 0.04] = np.nan
    ch = pd.DataFrame(np.column_stack([x, f]), index=idx, columns=["a", "b", "mkt", "f2"])
    ch.iloc[37, 3] = np.nan  # a missing benchmark day
    ev = pd.DataFrame({"series": ["a", "b", "a", "b"], "date": idx[[50, 70, 120, 140]]})
    kw = {"window": (-2, 3), "estimation": (-40, -5), "model": "factor", "calendar": calendar}
    st = event_study(
        ch, ev, tests=["placebo"], placebo_draws=25, seed=7, benchmark=["mkt", "f2"], allow_gaps=True, **kw
    )
    assert len(st.excluded) == 0
    want = _refit_placebo(ch, st, **kw, benchmark=["mkt", "f2"], draws=25, seed=7)
    np.testing.assert_allclose(st.placebo_draws["caar"].to_numpy(), want, rtol=1e-9, atol=1e-12)


def test_placebo_draws_do_not_depend_on_threads_or_chunks(monkeypatch):
    from backtests import placebo

    ch, ev = _placebo_panel()
    kw = {"window": (-2, 2), "estimation": (-40, -5), "tests": ["placebo"], "placebo_draws": 120, "seed": 1}
    base = event_study(ch, ev, **kw).placebo_draws
    monkeypatch.setattr(placebo, "_CAND_CELLS", 50)  # one series per chunk
    monkeypatch.setattr(placebo.os, "cpu_count", lambda: 1)
    pd.testing.assert_frame_equal(event_study(ch, ev, **kw).placebo_draws, base)
    other = event_study(ch, ev, **{**kw, "seed": 2}).placebo_draws
    assert not np.allclose(other["caar"], base["caar"])


def _placebo_panel():
    rng = np.random.default_rng(5)
    idx = pd.bdate_range("2021-01-04", periods=200)
    ch = pd.DataFrame(rng.normal(size=(200, 3)), index=idx, columns=["a", "b", "c"])
    ev = pd.DataFrame({"date": idx[[60, 100, 150]]})
    return ch, ev


def test_placebo_uniform_is_uniform():
    from backtests import placebo

    u = np.array([placebo.uniform(np.uint64(11), k, i) for k in range(200) for i in range(50)])
    assert ((u >= 0) & (u < 1)).all()
    counts = np.histogram(u, bins=10, range=(0, 1))[0]
    assert counts.min() > 850 and counts.max() < 1150  # 1000 expected per bin
