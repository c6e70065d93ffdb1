"""The engine on the real reference inputs of ../shared/data/reference (README there).

Self-consistency (every event accounted for, the documented awkward cases get the right reason,
CAR = sum of AR) and parity with the naive per-event oracle on every kept pair and every test.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

import naive_oracle  # noqa: E402

from backtests.stats import ALL_BUT_PLACEBO  # noqa: E402
from backtests.study import event_study  # noqa: E402

NO_PLACEBO = list(ALL_BUT_PLACEBO)


def _read_wide(path: Path) -> pd.DataFrame:
    df = pd.read_csv(path, parse_dates=["date"]).set_index("date")
    return df.astype(float)


def _read_events(path: Path) -> pd.DataFrame:
    ev = pd.read_csv(path, parse_dates=["when"]).rename(columns={"name": "series", "when": "date"})
    if "event_id" not in ev.columns:
        ev.insert(0, "event_id", ev["series"] + "@" + ev["date"].dt.strftime("%Y-%m-%d"))
    return ev


def _check_against_oracle(ch, ev, **kw):
    study = event_study(ch, ev, tests=NO_PLACEBO, **kw)
    kept, excluded = naive_oracle.naive_pairs(ch, ev, **kw)
    got = {(r.event_id, r.series): r.reason for r in study.excluded.itertuples()}
    assert got == excluded
    assert len(study.pairs) + len(study.excluded) == study.n_requested == len(ev)
    assert len(kept) == len(study.pairs)
    pairs = study.pairs.set_index(["event_id", "series"])
    car = study.car.set_index(["event_id", "series", "start", "end"])["car"]
    wins = [kw["window"], *[w for w in kw.get("car_windows", []) if tuple(w) != tuple(kw["window"])]]
    for kp in kept:
        key = (kp["event_id"], kp["series"])
        np.testing.assert_allclose(study.ar.loc[key].to_numpy(), kp["ar"], rtol=1e-9, atol=1e-9)
        assert pairs.loc[key, "sigma"] == pytest.approx(kp["sigma"], rel=1e-9)
        assert pairs.loc[key, "n_est"] == kp["n_est"]
        for wi, w in enumerate(wins):
            assert car.loc[(*key, *w)] == pytest.approx(kp["car"][wi], rel=1e-9, abs=1e-12)
    # CAR over the event window = sum of ARs
    cw = study.car.query("start == @kw['window'][0] and end == @kw['window'][1]").set_index(
        ["event_id", "series"]
    )
    np.testing.assert_allclose(
        cw.loc[study.ar.index, "car"].to_numpy(),
        np.nansum(study.ar.to_numpy(), axis=1),
        rtol=1e-12,
        atol=1e-12,
    )
    if len(kept) >= 3:
        daily, wres = naive_oracle.naive_tests(
            kept, window=kw["window"], estimation=kw["estimation"], car_windows=kw.get("car_windows")
        )
        for name, vals in daily.items():
            got_d = study.daily_tests[study.daily_tests["test"] == name]
            np.testing.assert_allclose(
                got_d["statistic"], [v[0] for v in vals], rtol=1e-9, atol=1e-9, err_msg=name
            )
            np.testing.assert_allclose(
                got_d["pvalue"], [v[1] for v in vals], rtol=1e-9, atol=1e-12, err_msg=name
            )
        for name, vals in wres.items():
            got_w = study.tests[study.tests["test"] == name]
            np.testing.assert_allclose(
                got_w["statistic"], [v[0] for v in vals], rtol=1e-9, atol=1e-9, err_msg=name
            )
    return study


# ----------------------------------------------------------------------------------------- NSE
@pytest.fixture(scope="module")
def nse(shared_data):
    d = shared_data / "reference" / "nse"
    stocks = _read_wide(d / "nse_stock_returns.csv")
    market = _read_wide(d / "nse_market_returns.csv")
    ch = stocks.join(market[["NiftyIndex"]])
    return ch, _read_events(d / "nse_split_events.csv")


def test_nse_splits_accounting(nse):
    ch, ev = nse
    st = event_study(
        ch, ev, model="market", benchmark="NiftyIndex", calendar="observed", tests=["t_cross_section"]
    )
    reasons = st.excluded.set_index("event_id")["reason"]
    assert (reasons == "date_outside_data").sum() == 15  # 15 of 22 splits predate the returns
    # HDFC 2010-08-18 is 34 trading days after the first row: estimation (-120, -11) does not fit
    assert reasons["HDFC@2010-08-18"] == "short_estimation"
    assert len(st.pairs) + len(st.excluded) == 22
    assert set(st.pairs["event_id"]) == {
        "BHEL@2011-10-03",
        "HDFC.Bank@2011-07-14",
        "ONGC@2011-02-08",
        "Sun.Pharmaceutical@2010-11-25",
        "Tata.Motors@2011-09-12",
        "Tata.Power@2011-09-26",
    }
    # every day 0 is the split date itself (all seven are trading days)
    assert (st.pairs["day0"] == pd.to_datetime(st.pairs["event_id"].str.split("@").str[1])).all()


@pytest.mark.parametrize(
    ("model", "calendar"),
    [("market", "observed"), ("mean", "observed"), ("market", "index"), ("raw", "index")],
)
def test_nse_matches_oracle(nse, model, calendar):
    ch, ev = nse
    bm = "NiftyIndex" if model == "market" else None
    _check_against_oracle(
        ch,
        ev,
        window=(-5, 10),
        estimation=(-120, -11),
        model=model,
        benchmark=bm,
        calendar=calendar,
        car_windows=[(0, 1), (-1, 1)],
        allow_gaps=calendar == "index",
    )


# ----------------------------------------------------------------------------------------- 9/11
@pytest.fixture(scope="module")
def terror(shared_data):
    d = shared_data / "reference" / "terror2001"
    return _read_wide(d / "terror_index_returns.csv"), _read_events(d / "terror_attack_events.csv")


def test_terror_chen_siems_design(terror):
    """Chen & Siems (2004) Table 2 design: constant mean, estimation -30..-11, CAR 0..10 and 0..5,
    each index on its own trading calendar."""
    ch, ev = terror
    st = _check_against_oracle(
        ch, ev, window=(0, 10), estimation=(-30, -11), model="mean", calendar="observed", car_windows=[(0, 5)]
    )
    assert len(st.pairs) == 33 and st.excluded.empty
    d0 = st.pairs.set_index("series")["day0"]
    assert d0["Dow"] == pd.Timestamp("2001-09-17") and d0["London"] == pd.Timestamp("2001-09-11")
    # the attacks: a large negative average CAR over days 0..10 and a significant cross-section test
    t = st.tests.set_index(["test", "start", "end"])
    assert st.car.query("start == 0 and end == 10")["car"].mean() < -5.0
    assert t.loc[("t_cross_section", 0, 10), "pvalue"] < 0.01
    # windows overlap on the calendar (one event date): Kolari-Pynnonen tempers BMP
    assert abs(t.loc[("kolari_pynnonen", 0, 10), "statistic"]) < abs(t.loc[("bmp", 0, 10), "statistic"])


# ----------------------------------------------------------------------------------------- synthetic
@pytest.fixture(scope="module")
def synthetic(shared_data):
    d = shared_data / "reference" / "synthetic"
    ch = _read_wide(d / "synthetic_returns.csv").join(_read_wide(d / "synthetic_market_returns.csv"))
    return ch, _read_events(d / "synthetic_events.csv"), _read_events(d / "synthetic_events_clustered.csv")


@pytest.mark.parametrize("calendar", ["index", "observed"])
def test_synthetic_awkward_cases(synthetic, calendar):
    ch, ev, _ = synthetic
    st = _check_against_oracle(
        ch,
        ev,
        window=(-5, 10),
        estimation=(-120, -11),
        model="market",
        benchmark="market",
        calendar=calendar,
        car_windows=[(0, 0), (-1, 1)],
    )
    reasons = st.excluded.set_index("event_id")["reason"]
    assert reasons["E44"] == "unknown_series"  # F99 is not a column
    assert reasons["E38"] == "date_outside_data"  # 2015-12-25, before the first row
    assert reasons["E37"] == "date_outside_data"  # 2019-11-23, after the last row
    assert reasons["E36"] == "window_outside_data"  # on the last row
    assert reasons["E35"] == "window_outside_data"  # window runs off the end
    assert reasons["E34"] == "short_estimation"  # estimation runs off the start
    d0 = st.pairs.set_index("event_id")["day0"]
    assert d0["E39"] == pd.Timestamp("2018-07-09")  # Saturday -> Monday
    assert d0["E40"] == pd.Timestamp("2018-12-26")  # Christmas (no row) -> next row
    # E25 and E26 (F27) are 15 trading days apart: their windows (16 days) overlap
    assert {"E25", "E26"} <= set(st.overlaps["event_id"]) | set(st.overlaps["other_event_id"])


def test_synthetic_clustered_cross_correlation(synthetic):
    ch, _, clustered = synthetic
    st = _check_against_oracle(
        ch,
        clustered,
        window=(-5, 10),
        estimation=(-120, -11),
        model="market",
        benchmark="market",
        car_windows=[(0, 1)],
    )
    assert set(st.pairs["day0"]) == {pd.Timestamp("2018-12-10")}
    # the common shock on the clustered date is visible on day 0
    d = st.daily_tests.set_index(["test", "rel_day"])
    assert d.loc[("t_cross_section", 0), "pvalue"] < 0.05
