"""Data gaps: day 0 never inside a gap, windows never jump one silently; early closes; calendars."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import backtests
from backtests import gaps
from backtests.calendar import (
    CalendarError,
    align_events,
    check_calendar,
    early_closes,
    trading_days,
)
from backtests.market.changes import to_changes
from backtests.market.spec import Market, SeriesSpec

UST = SeriesSpec("ust_10y", "UST 10y", "yield", "percent", "America/New_York", dt.time(15, 30), "SIFMA")
MARKET_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "market"


def _market(days: pd.DatetimeIndex, seed: int = 0) -> Market:
    rng = np.random.default_rng(seed)
    lv = pd.DataFrame({"ust_10y": 4 + np.cumsum(rng.normal(0, 0.05, len(days)))}, index=days)
    return Market(lv, {"ust_10y": UST})


def _holed(start: str, end: str, hole: tuple[str, str]) -> pd.DatetimeIndex:
    days = trading_days("SIFMA", start, end)
    return days[(days < hole[0]) | (days > hole[1])]


# ---------------------------------------------------------------- day 0 across a gap of years


def test_event_in_a_multi_year_hole_is_excluded_with_the_gap_dates():
    m = _market(_holed("2008-01-01", "2023-12-31", ("2010-06-01", "2020-12-31")))
    ch = to_changes(m)
    ev = pd.DataFrame(
        {
            "event_id": ["in_hole_a", "in_hole_b", "in_hole_c", "before", "after"],
            "date": pd.to_datetime(["2010-07-01", "2014-03-03", "2020-12-15", "2009-06-01", "2022-06-01"]),
        }
    )
    study = backtests.event_study(
        ch, ev, window=(-2, 2), estimation=(-60, -5), model="raw", calendar="observed"
    )
    exc = study.excluded.set_index("event_id")
    assert set(exc.index[exc.reason == "day0_in_data_gap"]) == {"in_hole_a", "in_hole_b", "in_hole_c"}
    assert "2010-06-01" in exc.loc["in_hole_b", "detail"] and "2020-12-31" in exc.loc["in_hole_b", "detail"]
    assert set(study.pairs["event_id"]) == {"before", "after"}
    assert len(study.pairs) + len(study.excluded) == study.n_requested


def test_timestamp_event_in_a_hole_is_excluded_by_align_events():
    m = _market(_holed("2008-01-01", "2023-12-31", ("2010-06-01", "2020-12-31")))
    ev = pd.DataFrame(
        {"event_id": [1, 2], "timestamp": pd.to_datetime(["2012-05-01 10:00", "2022-05-02 10:00"], utc=True)}
    )
    out = align_events(ev, m)
    assert list(out.reason) == ["day0_in_data_gap", ""]
    assert pd.isna(out.day0.iloc[0]) and out.day0.iloc[1] == pd.Timestamp("2022-05-02")
    assert "2010-06-01 to 2020-12-31" in out.detail.iloc[0] and "2021-01-04" in out.detail.iloc[0]
    study = backtests.event_study(to_changes(m), ev, window=(-2, 2), estimation=(-60, -5), model="raw")
    assert list(study.excluded.reason) == ["day0_in_data_gap"]
    assert "2010-06-01" in study.excluded.detail.iloc[0]


# ---------------------------------------------------------------- gaps of a few days


@pytest.mark.parametrize("calendar", ["observed", "index"])
def test_few_day_gap_day0_and_windows(calendar):
    days = _holed("2023-01-01", "2024-12-31", ("2024-03-04", "2024-03-06"))  # 3 sessions missing
    far = _holed("2023-01-01", "2024-12-31", ("2024-06-03", "2024-06-14"))  # 10 sessions missing
    m = _market(days.intersection(far))
    ev = pd.DataFrame(
        {
            "event_id": ["in_gap", "after_gap", "window_over_3", "window_over_10", "clean"],
            "date": pd.to_datetime(["2024-03-05", "2024-03-07", "2024-02-29", "2024-05-30", "2024-11-15"]),
        }
    )
    study = backtests.event_study(
        to_changes(m), ev, window=(-2, 5), estimation=(-60, -5), model="raw", calendar=calendar
    )
    r = dict(zip(study.excluded.event_id, study.excluded.reason))
    assert r == {"in_gap": "day0_in_data_gap", "window_over_10": "window_in_data_gap"}
    assert set(study.pairs.event_id) == {"after_gap", "window_over_3", "clean"}


def test_estimation_window_over_a_long_gap_is_excluded():
    m = _market(_holed("2022-01-01", "2024-12-31", ("2023-01-02", "2023-12-29")))
    ev = pd.DataFrame({"event_id": ["e"], "date": pd.to_datetime(["2024-02-15"])})
    study = backtests.event_study(to_changes(m), ev, window=(-2, 2), estimation=(-60, -5), model="raw",
                                  calendar="observed")  # fmt: skip
    assert list(study.excluded.reason) == ["estimation_in_data_gap"]
    assert "2022-12-30" in study.excluded.detail.iloc[0]


def test_plain_frame_without_calendar_has_no_gap_rule():
    """No attrs['newsbt_series']: the observed dates are the sessions (documented)."""
    m = _market(_holed("2008-01-01", "2023-12-31", ("2010-06-01", "2020-12-31")))
    ch = to_changes(m)
    ch.attrs = {}
    ev = pd.DataFrame({"event_id": ["e"], "date": pd.to_datetime(["2014-03-03"])})
    study = backtests.event_study(
        ch, ev, window=(-2, 2), estimation=(-60, -5), model="raw", calendar="observed"
    )
    assert len(study.pairs) == 1


# ---------------------------------------------------------------- property: day 0 never in a gap


@settings(max_examples=40, deadline=None)
@given(
    holes=st.lists(st.tuples(st.integers(0, 480), st.integers(1, 40)), min_size=0, max_size=6),
    events=st.lists(st.integers(0, 700), min_size=1, max_size=25),
    tol=st.integers(0, 3),
)
def test_day0_never_lies_in_a_gap_larger_than_the_tolerance(holes, events, tol):
    cal = trading_days("SIFMA", "2022-01-03", "2024-12-31")
    keep = np.ones(len(cal), dtype=bool)
    for start, n in holes:
        keep[start : start + n] = False
    keep[:150] = True  # room for the estimation window
    days = cal[keep]
    m = _market(days)
    ev_dates = pd.Timestamp("2022-01-03") + pd.to_timedelta(events, unit="D")
    ev = pd.DataFrame({"event_id": range(len(events)), "date": ev_dates})
    old = gaps.DAY0_TOLERANCE
    try:
        study = _study_with_tolerance(to_changes(m), ev, tol)
    finally:
        gaps.DAY0_TOLERANCE = old
    assert len(study.pairs) + len(study.excluded) == study.n_requested
    sess = cal.as_unit("ns").asi8
    date_of = dict(zip(ev["event_id"], ev["date"]))
    for eid, d0 in zip(study.pairs["event_id"], study.pairs["day0"]):
        d = date_of[eid]
        skipped = np.searchsorted(sess, pd.Timestamp(d0).value) - np.searchsorted(sess, pd.Timestamp(d).value)
        assert skipped <= tol, (d, d0)
        assert pd.Timestamp(d0) in days  # day 0 has an observation
    ex = study.excluded
    for d, why in zip(ex["date"], ex["reason"]):
        if why == "day0_in_data_gap":
            nxt = days[days.searchsorted(pd.Timestamp(d))]
            assert np.searchsorted(sess, nxt.value) - np.searchsorted(sess, pd.Timestamp(d).value) > tol


def _study_with_tolerance(changes, ev, tol):
    import backtests.study_steps as study_mod  # the gaps step of event_study

    orig = study_mod.study_gap_rule

    def rule(*a, **k):
        return orig(*a, **k, day0_tolerance=tol)

    study_mod.study_gap_rule = rule
    try:
        return backtests.event_study(changes, ev, window=(-1, 3), estimation=(-100, -5), model="raw",
                                     calendar="observed")  # fmt: skip
    finally:
        study_mod.study_gap_rule = orig


def test_window_gaps_matches_a_direct_scan():
    rng = np.random.default_rng(3)
    g = rng.integers(0, 8, 300) * (rng.random(300) < 0.1)
    pos = rng.integers(0, 300, 200)
    bad, first = gaps.window_gaps(g, pos, -5, 10, 2)
    for p, b, f in zip(pos, bad, first):
        ks = [k for k in range(max(p - 5, 0), min(p + 10, 299) + 1) if g[k] > 2]
        assert b == bool(ks)
        assert f == (ks[0] if ks else -1)


def test_missing_between_counts_sessions():
    sess = pd.bdate_range("2024-01-01", "2024-01-31").as_unit("ns").asi8
    obs = sess[[0, 1, 5, 6, 20]]
    assert list(gaps.missing_between(obs, sess)) == [0, 0, 3, 0, 13]


# ---------------------------------------------------------------- early closes


def test_sifma_early_close_before_independence_day_2024():
    days = trading_days("SIFMA", "2024-06-03", "2024-07-31")
    m = _market(days)
    ev = pd.DataFrame(
        {
            "event_id": ["13:55", "14:30", "15:20"],
            "timestamp": pd.to_datetime(
                ["2024-07-03 13:55", "2024-07-03 14:30", "2024-07-02 15:20"]
            ).tz_localize("America/New_York"),
        }
    )
    out = align_events(ev, m)
    assert list(out.day0) == list(pd.to_datetime(["2024-07-03", "2024-07-05", "2024-07-02"]))
    assert out.day0_close.iloc[0] == pd.Timestamp("2024-07-03 14:00", tz="America/New_York")


def test_sifma_early_closes_rules():
    ec = early_closes("SIFMA", "2024-01-01", "2024-12-31")
    want = ["2024-03-28", "2024-05-24", "2024-07-03", "2024-11-29", "2024-12-24", "2024-12-31"]
    assert list(ec.index) == list(pd.to_datetime(want))
    assert set(ec) == {dt.time(14)}
    # 2021: Good Friday 2 April fell on the jobs report, open until noon
    ec21 = early_closes("SIFMA", "2021-04-01", "2021-04-02")
    assert ec21.loc["2021-04-02"] == dt.time(12)


def test_exchange_early_close_black_friday_xnys():
    spx = SeriesSpec("spx", "S&P", "price", "points", "America/New_York", dt.time(16), "XNYS")
    days = trading_days("XNYS", "2024-10-01", "2024-12-31")
    m = Market(pd.DataFrame({"spx": np.linspace(5000, 5100, len(days))}, index=days), {"spx": spx})
    ev = pd.DataFrame(
        {"event_id": [1], "timestamp": [pd.Timestamp("2024-11-29 13:30", tz="America/New_York")]}
    )
    assert align_events(ev, m).day0.iloc[0] == pd.Timestamp("2024-12-02")


def test_sifma_is_an_exchange_calendars_calendar():
    import exchange_calendars as xc

    from backtests.calendar import register_bond_calendars

    register_bond_calendars()
    cal = xc.get_calendar("SIFMA", start="2015-01-01", end="2025-12-31")
    got = pd.DatetimeIndex(cal.sessions).tz_localize(None)
    assert list(got) == list(trading_days("SIFMA", "2015-01-01", "2025-12-31"))
    closes = cal.schedule.loc["2024-07-03", "close"].tz_convert("America/New_York")
    assert closes.time() == dt.time(14)


# ---------------------------------------------------------------- calendars


def test_unknown_calendar_is_an_error_naming_the_series():
    with pytest.raises(CalendarError, match="my_series.*XXXX.*SIFMA"):
        check_calendar("XXXX", "my_series")
    bad = SeriesSpec("odd", "odd", "yield", "percent", "America/New_York", dt.time(15), "NOPE")
    days = trading_days("SIFMA", "2024-01-01", "2024-03-01")
    m = Market(pd.DataFrame({"odd": np.ones(len(days))}, index=days), {"odd": bad})
    ev = pd.DataFrame({"event_id": [1], "timestamp": [pd.Timestamp("2024-02-01 10:00", tz="UTC")]})
    with pytest.raises(CalendarError, match="'odd'.*'NOPE'"):
        align_events(ev, m)
    with pytest.raises(CalendarError, match="'odd'"):
        backtests.register_series(bad)


def test_frb_calendar_matches_h10_usdjpy():
    f = MARKET_DIR / "usdjpy_daily.csv"
    if not f.is_file():
        pytest.skip(f"real data not available: {f}")
    s = pd.read_csv(f, parse_dates=["date"], index_col="date")["usdjpy"].dropna()
    s = s[s.index >= "1986-01-01"]
    cal = trading_days("FRB", s.index[0], s.index[-1])
    missing = cal.difference(s.index)
    # the remaining H.10 holes are single days none of the Fed's rules explain
    assert len(missing) <= 6, list(missing.date)
    assert len(s.index.difference(cal)) <= 4
