"""Confounders: scheduled releases inside event windows, on each series' own calendar and close."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import backtests
from backtests.confounders import confounder_table, describe

SEED_TS = pd.Timestamp("2025-05-02T01:00Z")  # Friday 2 May 2025, 10:00 Tokyo


@pytest.fixture(scope="module")
def seed():
    market = backtests.load_market(["ust_10y", "jgb_10y", "usdjpy"], start="2024-06-01", source="sample")
    changes = backtests.to_changes(market)
    ev = pd.DataFrame({"event_id": ["seed"], "timestamp": [SEED_TS], "theme": ["japan_treasury_holdings"]})
    st = backtests.event_study(changes, ev, placebo_draws=99)
    return market, changes, ev, st


def test_seed_case_lists_us_payrolls_on_day_0(seed):
    _, _, _, st = seed
    c = st.confounders
    nfp = c[c["release"] == "us_nfp"].set_index("series")
    # 08:30 New York: before the 15:30 Treasury close and the 12:00 H.10 USD/JPY fixing, day 0
    for sid in ("ust_10y", "usdjpy"):
        assert nfp.loc[sid, "rel_day"] == 0 and bool(nfp.loc[sid, "before_close"])
        assert nfp.loc[sid, "release_time"] == pd.Timestamp("2025-05-02T12:30Z")
    # 21:30 Tokyo: after the JGB close; first priced on 7 May, the next JGB session after Golden Week
    assert nfp.loc["jgb_10y", "rel_day"] == 1 and not nfp.loc["jgb_10y", "before_close"]
    assert nfp.loc["jgb_10y", "session"] == pd.Timestamp("2025-05-07")
    # the FOMC decision of 7 May 14:00 New York: after the noon USD/JPY fixing, so priced on 8 May
    fomc = c[c["release"] == "fomc"].set_index("series")
    assert fomc.loc["ust_10y", "session"] == pd.Timestamp("2025-05-07")
    assert fomc.loc["usdjpy", "session"] == pd.Timestamp("2025-05-08")
    assert "US payrolls" in describe(nfp.reset_index().iloc[0])
    assert "confounders: " in st.summary() and "US payrolls" in st.summary()


def test_single_event_view_names_the_confounders(seed):
    market, changes, ev, st = seed
    v = st.event("seed", market=market).set_index("series")
    assert "US payrolls" in v.loc["ust_10y", "confounders"]
    lv = market.levels["ust_10y"].dropna()
    d0 = v.loc["ust_10y", "day0"]
    pos = lv.index.get_loc(d0)
    # level before the window (close of day -6) and after it (day +10), and the raw change in bp
    assert v.loc["ust_10y", "level_before"] == lv.iloc[pos - 6]
    assert v.loc["ust_10y", "level_after"] == lv.iloc[pos + 10]
    assert v.loc["ust_10y", "change_bp"] == pytest.approx((lv.iloc[pos + 10] - lv.iloc[pos - 6]) * 100)
    ch = changes["ust_10y"].dropna()
    p = ch.index.get_loc(d0)
    sd = ch.iloc[p - 120 : p - 10].std(ddof=1)
    assert v.loc["ust_10y", "sd_bp"] == pytest.approx(sd)
    assert v.loc["ust_10y", "change_sd"] == pytest.approx(v.loc["ust_10y", "change_bp"] / (sd * 4))
    # raw model: CAR = raw change
    assert v.loc["ust_10y", "car"] == pytest.approx(v.loc["ust_10y", "change_bp"])
    assert 0 < v.loc["usdjpy", "placebo_p"] <= 1
    with pytest.raises(backtests.ConfigError, match="not among the kept pairs"):
        st.event("nope")


def _toy(calendar_nan=None):
    idx = pd.bdate_range("2024-01-01", periods=200)
    rng = np.random.default_rng(3)
    ch = pd.DataFrame(rng.normal(size=(200, 2)), index=idx, columns=["a", "b"])
    if calendar_nan is not None:
        ch.iloc[calendar_nan, 1] = np.nan
    return ch, idx


def test_constructed_calendar_and_observed_sessions():
    ch, idx = _toy(calendar_nan=[151, 152])  # b: two missing sessions after day 0
    rel = pd.DataFrame(
        {
            "release": ["r1", "r2", "r3", "r4"],
            "name": ["R1", "R2", "R3", "R4"],
            "release_time": pd.to_datetime(
                [idx[150] + pd.Timedelta(hours=8), idx[153] + pd.Timedelta(hours=8),
                 idx[160] + pd.Timedelta(hours=8), idx[150] - pd.Timedelta(hours=30)], utc=True),
            "time_exact": True,
        }
    )  # fmt: skip
    pairs = pd.DataFrame({"event_id": ["e", "e"], "series": ["a", "b"], "day0": [idx[150], idx[150]]})
    t = confounder_table(pairs, ch, rel, (-2, 5), "observed").set_index(["series", "release"])
    assert t.loc[("a", "r1"), "rel_day"] == 0 and t.loc[("b", "r1"), "rel_day"] == 0
    assert t.loc[("a", "r2"), "rel_day"] == 3
    assert t.loc[("b", "r2"), "rel_day"] == 1  # b has no sessions 151, 152
    assert ("a", "r3") not in t.index  # day +10: outside the window
    # r4: Saturday 18:00 UTC before a Monday day 0: priced on day 0, after the previous close
    assert t.loc[("a", "r4"), "rel_day"] == 0 and not t.loc[("a", "r4"), "before_close"]
    assert t.loc[("a", "r4"), "series_tz"] == "UTC (assumed)"


def test_exclude_policy_reason_confounded_and_count_identity():
    ch, idx = _toy()
    rel = pd.DataFrame(
        {
            "release": ["x"],
            "name": ["X"],
            "release_time": [pd.Timestamp(idx[100]).tz_localize("UTC")],
            "time_exact": True,
        }
    )
    ev = pd.DataFrame({"event_id": ["hit", "far"], "date": [idx[100], idx[170]]})
    kw = {"window": (-2, 3), "estimation": (-60, -5), "tests": ["bmp"], "releases": rel}
    flag = backtests.event_study(ch, ev, **kw)
    assert len(flag.pairs) == 4 and set(flag.confounders["event_id"]) == {"hit"}
    with pytest.warns(backtests.NewsbtWarning, match="confounded 2"):
        ex = backtests.event_study(ch, ev, confounders="exclude", **kw)
    assert set(ex.pairs["event_id"]) == {"far"}
    assert ex.excluded["reason"].tolist() == ["confounded", "confounded"]
    assert len(ex.pairs) + len(ex.excluded) == ex.n_requested == 4
    assert "X" in ex.excluded["detail"].iloc[0]
    # the kept pair's numbers are those of a study of that pair alone
    alone = backtests.event_study(ch, ev.iloc[1:], confounders="ignore", **kw)
    pd.testing.assert_frame_equal(ex.car.reset_index(drop=True), alone.car.reset_index(drop=True))
    # exclusion only on chosen days: the release is on day 0, so days (1, 3) exclude nothing
    later = backtests.event_study(ch, ev, confounders={"policy": "exclude", "days": (1, 3)}, **kw)
    assert len(later.pairs) == 4
    ign = backtests.event_study(ch, ev, confounders="ignore", **kw)
    assert ign.confounders.empty and list(ign.confounders.columns)[:5] == [
        "event_id",
        "series",
        "release",
        "name",
        "release_time",
    ]
    with pytest.raises(backtests.ConfigError, match="confounders"):
        backtests.event_study(ch, ev, confounders="drop", **kw)
