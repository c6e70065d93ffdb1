"""event_study / EventStudy: hand-computed cases, exclusions, invariants, options, result API,
and the size of the tests on simulated null data."""

from __future__ import annotations

import math
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hst
from scipy import stats as sps

sys.path.insert(0, str(Path(__file__).resolve().parent))

import naive_oracle  # noqa: E402

from backtests import ConfigError, InputFormatError  # noqa: E402
from backtests.stats import TEST_NAMES  # noqa: E402
from backtests.study import EventStudy, event_study  # noqa: E402

NO_PLACEBO = [t for t in TEST_NAMES if t != "placebo"]


def _alternating(t=60, jump_at=40, jump=5.0):
    idx = pd.bdate_range("2023-01-02", periods=t)
    x = np.where(np.arange(t) % 2 == 0, 1.0, -1.0)
    x[jump_at] += jump
    return pd.DataFrame({"x": x}, index=idx), idx


# --------------------------------------------------------------------------------- hand-computed
def test_hand_computed_mean_model_planted_jump():
    ch, idx = _alternating()
    ev = pd.DataFrame({"event_id": ["j"], "date": [idx[40]]})
    st = event_study(
        ch, ev, window=(-2, 2), estimation=(-20, -3), model="mean", tests=["patell", "t_cross_section"]
    )
    # estimation days 20..37: nine +1 and nine -1 -> mean 0, sd sqrt(18/17)
    row = st.pairs.iloc[0]
    assert row["mean"] == pytest.approx(0.0, abs=1e-12)
    assert row["sigma"] == pytest.approx(math.sqrt(18 / 17), rel=1e-12)
    assert row["n_est"] == 18
    assert row["day0"] == idx[40]
    np.testing.assert_allclose(st.ar.iloc[0].to_numpy(), [1, -1, 6, -1, 1], atol=1e-12)
    car = st.car.set_index(["start", "end"])["car"]
    assert car.loc[(-2, 2)] == pytest.approx(6.0, abs=1e-12)
    # Patell on one pair: SAR / sqrt(df / (df - 2)), df = 17, C = sqrt(1 + 1/18)
    sar0 = 6.0 / (math.sqrt(18 / 17) * math.sqrt(1 + 1 / 18))
    d = st.daily_tests.query("test == 'patell' and rel_day == 0").iloc[0]
    assert d["statistic"] == pytest.approx(sar0 / math.sqrt(17 / 15), rel=1e-12)
    caar = st.caar.set_index("rel_day")
    assert caar.loc[2, "caar"] == pytest.approx(6.0)
    assert caar.loc[0, "aar"] == pytest.approx(6.0)


def test_hand_computed_raw_model_and_weekend_event():
    ch, idx = _alternating(jump=2.0)
    # a Saturday just before idx[40] (a Monday or later) moves to the next trading day
    sat = idx[40] - pd.Timedelta(days=(idx[40].day_of_week + 2) % 7)
    ev = pd.DataFrame({"date": [sat]})
    st = event_study(ch, ev, window=(0, 1), estimation=(-20, -3), model="raw", tests=["sign"])
    assert st.pairs["event_id"].tolist() == ["E1"]
    assert st.pairs["day0"].iloc[0] == idx[idx >= sat][0]
    assert st.pairs["sigma"].iloc[0] == pytest.approx(1.0)  # sqrt(mean of squares of +-1)


def test_constant_series_is_excluded_not_crashing():
    idx = pd.bdate_range("2023-01-02", periods=60)
    ch = pd.DataFrame({"flat": 0.25, "zero": 0.0}, index=idx)
    st = event_study(
        ch, pd.DataFrame({"date": [idx[40]]}), window=(-1, 1), estimation=(-20, -3), model="mean"
    )
    assert set(st.excluded["reason"]) == {"nonpositive_variance"}
    assert len(st.pairs) == 0 and len(st.excluded) == 2
    assert st.tests.empty


# --------------------------------------------------------------------------------- exclusions
def test_every_exclusion_reason_and_count_identity():
    rng = np.random.default_rng(0)
    idx = pd.bdate_range("2023-01-02", periods=120)
    ch = pd.DataFrame(rng.normal(size=(120, 3)), index=idx, columns=["a", "b", "c"])
    ch.iloc[30:60, 1] = np.nan  # b: hole in the estimation window of an event at 70
    ch.iloc[101, 2] = np.nan  # c: missing inside an event window
    ev = pd.DataFrame(
        {
            "event_id": ["unknown", "before", "after", "start", "end", "short", "gap", "ok"],
            "series": ["zz", "a", "a", "a", "a", "b", "c", "a"],
            "date": [idx[50], idx[0] - pd.Timedelta(days=3), idx[-1] + pd.Timedelta(days=3), idx[10], idx[-2],
                     idx[70], idx[100], idx[90]],
        }
    )  # fmt: skip
    st = event_study(ch, ev, window=(-2, 3), estimation=(-40, -5), calendar="index")
    got = dict(zip(st.excluded["event_id"], st.excluded["reason"]))
    assert got == {
        "unknown": "unknown_series",
        "before": "date_outside_data",
        "after": "date_outside_data",
        "start": "short_estimation",  # estimation runs off the start: too few days
        "end": "window_outside_data",
        "short": "short_estimation",
        "gap": "missing_in_window",
    }
    assert st.pairs["event_id"].tolist() == ["ok"]
    assert len(st.pairs) + len(st.excluded) == len(ev) == st.n_requested
    assert (st.excluded["detail"].str.len() > 0).all()
    short = st.excluded.set_index("event_id").loc["short"]
    assert short["n_est"] == 6  # rows 30..65, of which 30..59 are missing
    # allow_gaps keeps the pair and sums the available days
    st2 = event_study(ch, ev, window=(-2, 3), estimation=(-40, -5), allow_gaps=True, calendar="index")
    assert "gap" in set(st2.pairs["event_id"])
    r = st2.car.query("event_id == 'gap'").iloc[0]
    assert r["n_days"] == 5
    assert r["car"] == pytest.approx(np.nansum(st2.ar.loc[("gap", "c")].to_numpy()))


@pytest.mark.parametrize("allow_gaps", [False, True])
def test_caar_se_matches_direct_computation(allow_gaps):
    """caar_se = sd (ddof 1) over pairs of the cumulative AR to that day / sqrt(number of pairs)."""
    rng = np.random.default_rng(5)
    idx = pd.bdate_range("2021-01-04", periods=200)
    x = rng.normal(size=(200, 4))
    if allow_gaps:
        x[rng.random(x.shape) < 0.08] = np.nan
    ch = pd.DataFrame(x, index=idx, columns=list("abcd"))
    ev = pd.DataFrame(
        {
            "date": idx[rng.integers(80, 190, 12)],
            "grp": ["g1", "g2"] * 6,
            "event_id": [f"e{i}" for i in range(12)],
        }
    )
    st = event_study(
        ch, ev, window=(-3, 4), estimation=(-60, -5), model="mean", group_by="grp",
        allow_gaps=allow_gaps, min_estimation=30, tests=["t_cross_section"], calendar="index",
    )  # fmt: skip
    assert "caar_se" in st.caar.columns
    if allow_gaps:
        assert st.ar.isna().any().any()  # the gap path is exercised
    grp_of = st.pairs.set_index(["event_id", "series"])["grp"]
    for g, part in st.caar.groupby("grp"):
        ar = st.ar[grp_of.reindex(st.ar.index).to_numpy() == g]
        for r in part.itertuples():
            sub = ar.loc[:, : r.rel_day]
            started = sub.notna().any(axis=1)
            cum = sub[started].sum(axis=1).to_numpy()  # missing days count as 0
            want = cum.std(ddof=1) / math.sqrt(len(cum)) if len(cum) > 1 else np.nan
            assert r.caar_se == pytest.approx(want, rel=1e-12, nan_ok=True)
            assert r.caar == pytest.approx(cum.mean(), rel=1e-12)


def test_events_without_series_expand_to_every_column_but_the_benchmark():
    rng = np.random.default_rng(1)
    idx = pd.bdate_range("2023-01-02", periods=100)
    ch = pd.DataFrame(rng.normal(size=(100, 3)), index=idx, columns=["a", "b", "mkt"])
    ev = pd.DataFrame({"date": [idx[60], idx[80]]})
    st = event_study(ch, ev, window=(-1, 1), estimation=(-40, -5), model="market", benchmark="mkt")
    assert sorted(st.pairs["series"].unique()) == ["a", "b"]
    assert st.n_requested == 4
    assert {"alpha", "beta"} <= set(st.pairs.columns)


# --------------------------------------------------------------------------------- invariants
@hst.composite
def small_panels(draw):
    seed = draw(hst.integers(0, 2**31 - 1))
    rng = np.random.default_rng(seed)
    t = draw(hst.integers(90, 140))
    idx = pd.bdate_range("2022-01-03", periods=t)
    vals = rng.normal(size=(t, 3)) * 10
    ch = pd.DataFrame(vals, index=idx, columns=["a", "b", "c"])
    n = draw(hst.integers(2, 6))
    ev = pd.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(n)],
            "series": rng.choice(["a", "b", "c"], n),
            "date": idx[rng.integers(45, t - 5, n)],
            "theme": rng.choice(["x", "y"], n),
        }
    )
    ev = ev.drop_duplicates(["series", "date"])
    return ch, ev


KW = {"window": (-2, 3), "estimation": (-40, -4), "car_windows": [(0, 1)], "model": "mean"}


@given(small_panels(), hst.floats(-1e3, 1e3))
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_invariants(case, const):
    ch, ev = case
    st = event_study(ch, ev, tests=NO_PLACEBO, **KW)
    # CAR = sum of AR over the window
    car = st.car.query("start == -2 and end == 3").set_index(["event_id", "series"])["car"]
    np.testing.assert_allclose(
        car.loc[st.ar.index].to_numpy(), st.ar.sum(axis=1).to_numpy(), rtol=1e-12, atol=1e-9
    )
    # a constant added to a series leaves mean-model ARs (and every test) unchanged
    st2 = event_study(ch + const, ev, tests=NO_PLACEBO, **KW)
    np.testing.assert_allclose(st2.ar.to_numpy(), st.ar.to_numpy(), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(st2.tests["statistic"], st.tests["statistic"], rtol=1e-7, atol=1e-7)
    # event order does not matter
    st3 = event_study(ch, ev.iloc[::-1], tests=NO_PLACEBO, **KW)
    pd.testing.assert_frame_equal(st3.ar.sort_index(), st.ar.sort_index(), rtol=1e-12)
    pd.testing.assert_frame_equal(st3.tests, st.tests, rtol=1e-9, atol=1e-12)
    # no NaNs: the observed calendar is the index calendar
    st4 = event_study(ch, ev, tests=NO_PLACEBO, calendar="observed", **KW)
    pd.testing.assert_frame_equal(st4.ar, st.ar, rtol=1e-12)
    pd.testing.assert_frame_equal(st4.tests, st.tests, rtol=1e-9, atol=1e-12)
    pd.testing.assert_frame_equal(st4.daily_tests, st.daily_tests, rtol=1e-9, atol=1e-12)


@given(small_panels())
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_group_by_equals_separate_studies(case):
    ch, ev = case
    st = event_study(ch, ev, group_by="theme", tests=NO_PLACEBO, **KW)
    for theme, sub in ev.groupby("theme"):
        one = event_study(ch, sub, tests=NO_PLACEBO, **KW)
        got = st.tests[st.tests["theme"] == theme].drop(columns="theme").reset_index(drop=True)
        pd.testing.assert_frame_equal(got, one.tests, rtol=1e-9, atol=1e-12)
        gc = st.caar[st.caar["theme"] == theme].drop(columns="theme").reset_index(drop=True)
        pd.testing.assert_frame_equal(gc, one.caar, rtol=1e-12)


# --------------------------------------------------------------------------------- overlaps
def _overlap_case():
    rng = np.random.default_rng(2)
    idx = pd.bdate_range("2023-01-02", periods=120)
    ch = pd.DataFrame(rng.normal(size=(120, 2)), index=idx, columns=["a", "b"])
    ev = pd.DataFrame(
        {
            "event_id": ["p", "q", "r", "s"],
            "series": ["a", "a", "a", "b"],
            "date": [idx[60], idx[63], idx[100], idx[63]],
        }
    )
    return ch, ev


@pytest.mark.parametrize("mode", ["keep", "drop", "merge"])
def test_overlaps_reported_and_handled(mode):
    ch, ev = _overlap_case()
    st = event_study(ch, ev, window=(-2, 5), estimation=(-40, -5), overlap=mode, tests=["t_cross_section"])
    assert st.overlaps[["series", "event_id", "other_event_id", "distance"]].values.tolist() == [
        ["a", "p", "q", 3]
    ]
    kept = sorted(st.pairs["event_id"])
    if mode == "keep":
        assert kept == ["p", "q", "r", "s"]
    else:
        assert kept == ["p", "r", "s"]
        ex = st.excluded.set_index("event_id").loc["q"]
        assert ex["reason"] == ("overlap" if mode == "drop" else "merged")
        assert "'p'" in ex["detail"]
    if mode == "merge":
        assert st.pairs.set_index("event_id").loc["p", "merged_ids"] == "p+q"
    assert len(st.pairs) + len(st.excluded) == 4


# --------------------------------------------------------------------------------- options and errors
def test_config_errors():
    ch, idx = _alternating()
    ev = pd.DataFrame({"date": [idx[40]]})
    with pytest.raises(ConfigError, match="estimation"):
        event_study(ch, ev, window=(-5, 5), estimation=(-20, -5))
    with pytest.raises(ConfigError, match="model"):
        event_study(ch, ev, model="capm")
    with pytest.raises(ConfigError, match="benchmark"):
        event_study(ch, ev, model="market")
    with pytest.raises(ConfigError, match="car_windows"):
        event_study(ch, ev, window=(-2, 2), estimation=(-20, -3), car_windows=[(0, 5)])
    with pytest.raises(ConfigError, match="tests"):
        event_study(ch, ev, tests=["t_test"])
    with pytest.raises(ConfigError, match="min_estimation"):
        event_study(ch, ev, window=(-2, 2), estimation=(-20, -3), min_estimation=2)
    with pytest.raises(ConfigError, match="overlap"):
        event_study(ch, ev, overlap="fuse")
    with pytest.raises(ConfigError, match="calendar"):
        event_study(ch, ev, calendar="exchange")
    with pytest.raises(ConfigError, match="group_by"):
        event_study(ch, ev, window=(-2, 2), estimation=(-20, -3), group_by="theme")


def test_input_errors():
    ch, idx = _alternating()
    with pytest.raises(InputFormatError, match="DatetimeIndex"):
        event_study(ch.reset_index(drop=True), pd.DataFrame({"date": [idx[40]]}))
    with pytest.raises(InputFormatError, match="sorted"):
        event_study(ch.iloc[::-1], pd.DataFrame({"date": [idx[40]]}))
    with pytest.raises(InputFormatError, match="date"):
        event_study(ch, pd.DataFrame({"when": [idx[40]]}))
    with pytest.raises(InputFormatError, match="event_id"):
        event_study(ch, pd.DataFrame({"event_id": ["a", "a"], "date": [idx[40], idx[41]]}))


def test_tests_selection_computes_only_those():
    ch, idx = _alternating()
    ev = pd.DataFrame({"date": [idx[40], idx[50]]})
    st = event_study(ch, ev, window=(-2, 2), estimation=(-20, -3), tests=["bmp", "sign"])
    assert set(st.tests["test"]) == {"bmp", "sign"}
    assert set(st.daily_tests["test"]) == {"bmp", "sign"}


def test_placebo_seeded_and_detects_a_large_effect():
    rng = np.random.default_rng(3)
    idx = pd.bdate_range("2020-01-01", periods=400)
    ch = pd.DataFrame(rng.normal(size=(400, 4)), index=idx, columns=list("abcd"))
    dates = idx[[150, 250, 350]]
    for d in dates:
        ch.loc[d] += 8.0  # every series jumps on event days
    ev = pd.DataFrame({"date": dates})
    kw = {"window": (-1, 1), "estimation": (-60, -5), "tests": ["placebo"], "placebo_draws": 199, "seed": 5}
    st = event_study(ch, ev, **kw)
    p = st.tests.set_index("test").loc["placebo"]
    assert p["pvalue"] == pytest.approx(1 / 200)
    st2 = event_study(ch, ev, **kw)
    pd.testing.assert_frame_equal(st.daily_tests, st2.daily_tests)
    # no effect -> p-value of the pre-event day is not extreme
    d = st.daily_tests.set_index("rel_day").loc[-1]
    assert d["pvalue"] > 0.01


# --------------------------------------------------------------------------------- result API
def test_result_api(monkeypatch):
    rng = np.random.default_rng(4)
    idx = pd.bdate_range("2020-01-01", periods=200)
    ch = pd.DataFrame(rng.normal(size=(200, 3)), index=idx, columns=list("abc"))
    ch.iloc[120] += 4.0
    ev = pd.DataFrame({"date": [idx[120], idx[199]]})
    st = event_study(ch, ev, window=(-2, 2), estimation=(-60, -5), car_windows=[(0, 0)], placebo_draws=50)
    assert isinstance(st, EventStudy)
    frames = st.to_frames()
    assert set(frames) == {
        "pairs",
        "ar",
        "car",
        "caar",
        "daily_tests",
        "tests",
        "excluded",
        "overlaps",
        "headline",
        "confounders",
        "placebo_draws",
    }
    # the study's answers travel with its tables (#18): one row per cell, and the confounder table
    pd.testing.assert_frame_equal(frames["headline"], st.headline)
    assert {"n", "n_eff", "test", "pvalue", "qvalue", "stars"} <= set(frames["headline"].columns)
    assert frames["confounders"] is st.confounders
    # placebo draws: 50 pseudo CAARs per window; tests carry the window CAAR
    assert len(st.placebo_draws) == 50 * 2
    caar = st.car.groupby(["start", "end"])["car"].mean()
    for r in st.tests.itertuples():
        assert r.caar == pytest.approx(caar.loc[(r.start, r.end)])
    assert list(st.ar.columns) == [-2, -1, 0, 1, 2]
    assert st.ar.index.names == ["event_id", "series"]
    assert list(st.tests.columns[:3]) == ["test", "start", "end"]
    assert set(st.tests["test"]) == set(TEST_NAMES)
    assert len(st.tests) == 2 * len(TEST_NAMES)
    text = st.summary()
    assert "3 kept, 3 excluded of 6 requested" in text
    assert "window_outside_data 3" in text
    # issue 18: stars from the headline's q only, never for n_eff < 3 (one event here)
    assert "stars from q only" in text and (st.headline["stars"] == "").all()
    assert "<table" in st._repr_html_()
    calls = {}
    fake = types.ModuleType("backtests.plots")
    fake.plot_caar = lambda study, **kw: calls.setdefault("caar", (study, kw))
    monkeypatch.setitem(sys.modules, "backtests.plots", fake)
    monkeypatch.setattr("backtests.plots", fake, raising=False)
    st.plot(title="t")
    assert calls["caar"][0] is st and calls["caar"][1] == {"title": "t"}
    with pytest.raises(ConfigError):
        st.plot(kind="nope")


def test_plot_with_the_real_plots_module():
    pytest.importorskip("matplotlib")
    from backtests import plots

    if not hasattr(plots, "plot_caar"):
        pytest.skip("backtests.plots.plot_caar not written yet")
    ch, idx = _alternating(t=120)
    ch["y"] = np.cos(np.arange(120) * 1.3)
    st = event_study(ch, pd.DataFrame({"date": [idx[60], idx[90]]}), window=(-2, 2), estimation=(-30, -3))
    fig = st.plot()
    assert fig.axes


def test_market_model_and_series_benchmark_agree():
    rng = np.random.default_rng(5)
    idx = pd.bdate_range("2020-01-01", periods=200)
    m = rng.normal(size=200)
    ch = pd.DataFrame({"a": 0.1 + 1.5 * m + rng.normal(size=200), "mkt": m}, index=idx)
    ev = pd.DataFrame({"series": ["a"], "date": [idx[150]]})
    s1 = event_study(ch, ev, model="market", benchmark="mkt", tests=["bmp"])
    s2 = event_study(ch[["a"]], ev, model="market", benchmark=ch["mkt"], tests=["bmp"])
    pd.testing.assert_frame_equal(s1.ar, s2.ar)
    # OLS against numpy lstsq on the estimation window (days -120..-11)
    e = slice(150 - 120, 150 - 10)
    z = np.column_stack([np.ones(110), m[e]])
    coef, *_ = np.linalg.lstsq(z, ch["a"].to_numpy()[e], rcond=None)
    assert s1.pairs["alpha"].iloc[0] == pytest.approx(coef[0], rel=1e-9)
    assert s1.pairs["beta"].iloc[0] == pytest.approx(coef[1], rel=1e-9)


# --------------------------------------------------------------------------------- timestamps
def test_timestamp_events_aligned_by_calendar():
    """Uses backtests.calendar.align_events (written by the market-data issue)."""
    idx = pd.DatetimeIndex(
        ["2025-04-28", "2025-04-30", "2025-05-01", "2025-05-02", "2025-05-07", "2025-05-08"]
    )
    idx = idx.append(pd.bdate_range("2025-05-09", periods=60)).sort_values()
    rng = np.random.default_rng(6)
    full = pd.bdate_range("2025-01-01", "2025-04-25")
    all_idx = full.append(idx)
    ch = pd.DataFrame({"jgb_10y": rng.normal(size=len(all_idx))}, index=all_idx)
    ch.attrs["newsbt_series"] = {
        "jgb_10y": {"kind": "yield", "tz": "Asia/Tokyo", "close": "15:00", "calendar": "XTKS", "unit": "bp"}
    }
    ev = pd.DataFrame(
        {
            "event_id": ["morning", "evening"],
            "timestamp": pd.to_datetime(["2025-05-02 01:00", "2025-05-02 07:00"]).tz_localize("UTC"),
        }
    )
    st = event_study(ch, ev, window=(0, 2), estimation=(-40, -3), tests=["t_cross_section"])
    d0 = st.pairs.set_index("event_id")["day0"]
    assert d0["morning"] == pd.Timestamp("2025-05-02")  # 10:00 JST, before the 15:00 close
    assert d0["evening"] == pd.Timestamp("2025-05-07")  # 16:00 JST, after Golden Week


# --------------------------------------------------------------------------------- size
def _simulate(design, n_studies, n_events=40, rho=0.2, seed=0):
    """Null panels: each study has its own n_events series, residual correlation rho."""
    rng = np.random.default_rng(seed)
    t = 130
    idx = pd.bdate_range("2015-01-01", periods=t)
    n_series = n_studies * n_events
    common = rng.standard_normal((t, n_studies))
    vals = math.sqrt(rho) * np.repeat(common, n_events, axis=1) + math.sqrt(1 - rho) * rng.standard_normal(
        (t, n_series)
    )
    ch = pd.DataFrame(vals, index=idx, columns=[f"s{i}" for i in range(n_series)])
    if design == "independent":
        rows = rng.integers(110, t - 6, n_series)
    elif design == "one_date":
        rows = np.full(n_series, 118)
    else:  # four consecutive dates
        rows = 116 + np.tile(np.arange(4), n_series // 4)
    ev = pd.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(n_series)],
            "series": ch.columns,
            "date": idx[rows],
            "study": np.repeat(np.arange(n_studies), n_events),
        }
    )
    return ch, ev


N_STUDIES = 2000


@pytest.mark.slow
@pytest.mark.parametrize("design", ["independent", "one_date", "consecutive"])
def test_size_on_null_data(design):
    """5 % tests reject 3-7 % of 2,000 seeded null studies of 40 events each (CAR[-1, 1]).

    Independent dates (independent series): every test holds its size. All events on one date,
    or on four consecutive dates, with residual correlation 0.2: Kolari-Pynnonen holds 3-7 %
    while BMP over-rejects.
    """
    # independent dates: independent series; clustered designs: cross-correlated residuals
    rho = 0.0 if design == "independent" else 0.2
    ch, ev = _simulate(
        design, N_STUDIES, rho=rho, seed={"independent": 1, "one_date": 2, "consecutive": 3}[design]
    )
    tests = list(NO_PLACEBO)
    st = event_study(
        ch,
        ev,
        window=(-5, 5),
        estimation=(-100, -11),
        car_windows=[(-1, 1)],
        group_by="study",
        tests=tests,
        calendar="index",  # complete panel: same sessions; the observed-calendar KP path is O(pairs^2) memory
    )
    w = st.tests.query("start == -1 and end == 1")
    rate = w.groupby("test")["pvalue"].apply(lambda p: float((p < 0.05).mean()))
    if design == "independent":
        for name in tests:
            assert 0.03 <= rate[name] <= 0.07, (name, rate.to_dict())
    else:
        assert 0.03 <= rate["kolari_pynnonen"] <= 0.07, rate.to_dict()
        assert rate["bmp"] > 0.10, rate.to_dict()
    # daily tests at day 0 hold their size too (independent dates)
    if design == "independent":
        d0 = st.daily_tests.query("rel_day == 0").groupby("test")["pvalue"].apply(lambda p: (p < 0.05).mean())
        for name in ("t_cross_section", "patell", "bmp", "kolari_pynnonen", "wilcoxon"):
            assert 0.03 <= d0[name] <= 0.07, (name, d0.to_dict())
    assert sps.kstest(w.query("test == 'kolari_pynnonen'")["pvalue"], "uniform").pvalue > 1e-4


def test_singular_benchmark_is_excluded():
    rng = np.random.default_rng(8)
    idx = pd.bdate_range("2020-01-01", periods=120)
    mkt = rng.normal(size=120)
    mkt[40:100] = 0.5  # constant benchmark over the estimation window of the event at 100
    ch = pd.DataFrame({"a": rng.normal(size=120), "mkt": mkt}, index=idx)
    ev = pd.DataFrame({"series": ["a"], "date": [idx[100]]})
    st = event_study(ch, ev, window=(0, 2), estimation=(-50, -5), model="market", benchmark="mkt")
    assert st.excluded["reason"].tolist() == ["singular_benchmark"]


def test_placebo_days_avoid_real_event_windows():
    rng = np.random.default_rng(9)
    idx = pd.bdate_range("2020-01-01", periods=200)
    x = rng.normal(size=200)
    real = [60, 110, 160]
    x[real] = 1e6  # the real event days; a pseudo event there would show up in the draws
    ch = pd.DataFrame({"a": x}, index=idx)
    ev = pd.DataFrame({"date": idx[real]})
    st = event_study(
        ch,
        ev,
        window=(0, 0),
        estimation=(-20, -3),
        model="raw",
        min_estimation=15,
        tests=["placebo"],
        placebo_draws=300,
    )
    assert len(st.pairs) == 3
    assert st.placebo_draws["caar"].abs().max() < 10
    assert st.tests["pvalue"].iloc[0] == pytest.approx(1 / 301)


def test_lazy_ar_table_is_built_once_and_pickles():
    import pickle

    ch, idx = _alternating()
    ev = pd.DataFrame({"event_id": ["j"], "date": [idx[40]]})
    st = event_study(ch, ev, window=(-2, 2), estimation=(-20, -3), tests=["t_cross_section"])
    assert st.ar is st.ar  # built on first access, then kept
    back = pickle.loads(pickle.dumps(st))
    pd.testing.assert_frame_equal(back.ar, st.ar)
    pd.testing.assert_frame_equal(back.caar, st.caar)


def test_zero_dispersion_gives_no_p_value():
    """Two events on the same series and date have identical ARs: the cross-sectional sd is 0,
    the t statistic infinite, and the p-value NaN (no evidence), not 0 (no stars)."""
    rng = np.random.default_rng(4)
    idx = pd.bdate_range("2024-01-01", periods=80)
    ch = pd.DataFrame({"a": rng.normal(size=80) + 0.3}, index=idx)
    ev = pd.DataFrame({"event_id": ["x", "y"], "series": ["a", "a"], "date": [idx[70], idx[70]]})
    st = event_study(ch, ev, window=(0, 1), estimation=(-40, -3), model="raw", tests=["t_cross_section"])
    d = st.daily_tests.set_index("rel_day")
    assert np.isinf(d.loc[0, "statistic"]) and np.isnan(d.loc[0, "pvalue"])
    assert st._tests_table()["sig"].eq("").all()


def test_pairs_and_car_tables_do_not_share_their_id_arrays():
    """Found in review: with one CAR window the two tables shared the id arrays."""
    rng = np.random.default_rng(1)
    idx = pd.bdate_range("2020-01-01", periods=200)
    ch = pd.DataFrame(rng.normal(size=(200, 2)), index=idx, columns=["s0", "s1"])
    ev = pd.DataFrame({"event_id": ["x", "y"], "series": ["s0", "s1"], "date": idx[[100, 150]]})
    st = event_study(ch, ev, model="mean", tests=["t_cross_section"])
    st.pairs.loc[0, "event_id"] = "CHANGED"
    st.pairs["series"] = st.pairs["series"].str.upper()
    assert st.car[["event_id", "series"]].values.tolist() == [["x", "s0"], ["y", "s1"]]


@pytest.mark.parametrize("calendar", ["index", "observed"])
def test_kp_window_longer_than_estimation_matches_oracle(calendar):
    """Found in review: a tested window longer than the estimation window gave NaN (0/0 for day-0
    lags without common estimation days, which contribute nothing)."""
    rng = np.random.default_rng(0)
    idx = pd.bdate_range("2015-01-01", periods=300)
    ch = pd.DataFrame(rng.normal(size=(300, 3)), index=idx, columns=["s0", "s1", "s2"])
    ev = pd.DataFrame(
        {
            "event_id": [f"e{i}" for i in range(12)],
            "series": ["s0", "s1", "s2"] * 4,
            "date": idx[rng.integers(40, 280, 12)],
        }
    )
    kw = {
        "window": (-2, 12),
        "estimation": (-14, -3),
        "model": "mean",
        "min_estimation": 8,
        "calendar": calendar,
    }
    st = event_study(ch, ev, tests=["kolari_pynnonen"], **kw)
    kept, _ = naive_oracle.naive_pairs(ch, ev, **kw)
    _, w = naive_oracle.naive_tests(kept, window=(-2, 12), estimation=(-14, -3))
    got = st.tests.query("test == 'kolari_pynnonen'")["statistic"].to_numpy()
    np.testing.assert_allclose(got, [v[0] for v in w["kolari_pynnonen"]], rtol=1e-9)


# --- issue 17: test registry, typed results ---------------------------------------------------------
def test_registry_adds_a_test_and_the_engine_gets_the_union_of_needs(monkeypatch):
    from backtests import engine as eng
    from backtests import tests_registry as reg
    from signals.errors import ConfigError

    def mean_ar(gi):  # daily: mean AR per day (n = pairs with that day); window: mean CAR
        daily = {"statistic": np.nanmean(gi.ar, axis=0), "pvalue": np.full(gi.ar.shape[1], np.nan),
                 "n": (~np.isnan(gi.ar)).sum(axis=0), "n_pos": np.full(gi.ar.shape[1], np.nan)}  # fmt: skip
        window = {"statistic": np.nanmean(gi.car, axis=0), "pvalue": np.full(len(gi.windows), np.nan),
                  "n": np.full(len(gi.windows), gi.n), "n_pos": np.full(len(gi.windows), np.nan)}  # fmt: skip
        return daily, window

    needs_seen = []
    orig = eng.run_engine

    def spy(*args, **kw):
        needs_seen.append(kw["need"])
        return orig(*args, **kw)

    monkeypatch.setattr(eng, "run_engine", spy)
    reg.register(reg.TestSpec("dummy_mean", frozenset({"bw"}), mean_ar))
    try:
        ch, idx = _alternating()
        ev = pd.DataFrame({"event_id": ["j", "k"], "date": [idx[40], idx[52]]})
        kw = {"window": (-2, 2), "estimation": (-20, -3)}
        st = event_study(ch, ev, tests=["dummy_mean", "sign"], **kw)
        got = st.tests.set_index("test").loc["dummy_mean"]
        # independent: the mean of the CAR table
        assert got["statistic"] == pytest.approx(st.car["car"].mean())
        assert set(st.tests["test"]) == {"dummy_mean", "sign"}
        assert needs_seen[-1] == frozenset({"bw"})  # sign needs nothing, dummy_mean asked for bw
        event_study(ch, ev, tests=["kolari_pynnonen", "corrado_rank"], calendar="index", **kw)
        assert needs_seen[-1] == frozenset({"sar", "kp", "rank"})
        event_study(ch, ev, tests=["kolari_pynnonen"], calendar="observed", **kw)
        assert needs_seen[-1] == frozenset({"sar", "kp_pairs"})
    finally:
        reg.unregister("dummy_mean")
    with pytest.raises(ConfigError, match="dummy_mean"):
        event_study(ch, ev, tests=["dummy_mean"], **kw)
    with pytest.raises(ConfigError, match="unknown needs"):
        reg.TestSpec("bad", frozenset({"nope"}), mean_ar)
    with pytest.raises(ConfigError, match="built-in"):
        reg.unregister("sign")


def test_result_pickles_before_and_after_its_lazy_tables_are_built():
    import pickle

    ch, idx = _alternating(t=120)
    ev = pd.DataFrame(  # k: after the data (1 of 30 pairs excluded: under the 5 % that warns and reads it)
        {"event_id": [*(f"j{i}" for i in range(29)), "k"], "date": [*idx[40:98:2], pd.Timestamp("2031-01-02")]}
    )  # fmt: skip
    fresh = event_study(ch, ev, window=(-2, 2), estimation=(-20, -3), tests=["t_cross_section"])
    back = pickle.loads(pickle.dumps(fresh))  # nothing built yet: the builders pickle
    assert "ar" not in back.__dict__ and "excluded" not in back.__dict__
    pd.testing.assert_frame_equal(back.ar, fresh.ar)
    pd.testing.assert_frame_equal(back.excluded, fresh.excluded)
    pd.testing.assert_frame_equal(back.overlaps, fresh.overlaps)
    assert back.excluded["reason"].tolist() == ["date_outside_data"]
    again = pickle.loads(pickle.dumps(fresh))  # built: the tables pickle
    pd.testing.assert_frame_equal(again.ar, fresh.ar)
    assert back.settings == fresh.settings and back.settings["model"] == "raw"  # the default


def test_excluded_counts_equal_the_table_before_and_after_it_is_read():
    """The exclusion warning's counts come without assembling ``excluded``; they equal the table's
    own counts, and a table set later (confounder exclusion) wins over the builder."""
    rng = np.random.default_rng(5)
    idx = pd.bdate_range("2020-01-01", periods=400)
    x = rng.normal(size=(400, 3))
    x[150:170, 1] = np.nan  # pairs of series b with day 0 there lack window data
    changes = pd.DataFrame(x, index=idx, columns=["a", "b", "c"])
    events = pd.DataFrame(
        {"event_id": [f"e{i}" for i in range(12)], "series": list("abc") * 4,
         "date": idx[[100, 160, 200, 300, 20, 162, 250, 390, 120, 165, 260, 395]]}
    )  # fmt: skip
    st = event_study(changes, events, window=(-2, 2), estimation=(-60, -5), calendar="index", confounders="ignore")
    fast = st.excluded_counts()
    assert "excluded" not in st.__dict__  # the table was not assembled for the counts
    slow = st.excluded["reason"].value_counts()
    assert fast.sum() == len(st.excluded) == st.n_requested - len(st.pairs) > 0
    pd.testing.assert_series_equal(fast.sort_index(), slow.sort_index(), check_names=False)
    st.excluded = st.excluded.iloc[:1]
    assert st.excluded_counts().sum() == 1
