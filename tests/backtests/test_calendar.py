"""Day-0 alignment: close times per source, DST, holidays, date-only events, errors."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backtests.calendar import (
    SIFMA_SPECIAL_CLOSES,
    align_events,
    early_closes,
    session_closes,
    sifma_holidays,
    trading_days,
)
from backtests.market.changes import to_changes
from backtests.market.spec import Market, SeriesSpec
from signals._paths import data_path
from signals.errors import InputFormatError

JGB = SeriesSpec("jgb_10y", "JGB 10y", "yield", "percent", "Asia/Tokyo", dt.time(15), "XTKS")
UST = SeriesSpec("ust_10y", "UST 10y", "yield", "percent", "America/New_York", dt.time(15, 30), "SIFMA")
# the synthetic usdjpy below trades on SIFMA days, so its spec says so (real H.10 data: "FRB")
FX = SeriesSpec("usdjpy", "USD/JPY", "fx", "JPY per USD", "America/New_York", dt.time(12), "SIFMA")


def _market(start="2025-02-24", end="2025-05-16") -> Market:
    """Real sessions: JGB on Tokyo business days, UST on US bond-market days (SIFMA)."""
    tokyo = trading_days("XTKS", start, end)
    ny = trading_days("SIFMA", start, end)
    idx = tokyo.union(ny)
    rng = np.random.default_rng(0)
    lv = pd.DataFrame(
        {
            "jgb_10y": np.where(idx.isin(tokyo), 1.3 + rng.normal(0, 0.01, len(idx)), np.nan),
            "ust_10y": np.where(idx.isin(ny), 4.3 + rng.normal(0, 0.01, len(idx)), np.nan),
            "usdjpy": np.where(idx.isin(ny), 145 + rng.normal(0, 0.5, len(idx)), np.nan),
        },
        index=idx,
    )
    return Market(lv, {"jgb_10y": JGB, "ust_10y": UST, "usdjpy": FX})


def _ev(*stamps, tz="Asia/Tokyo", **cols):
    ts = pd.DatetimeIndex(pd.to_datetime(list(stamps))).tz_localize(tz)
    return pd.DataFrame({"event_id": range(len(ts)), "timestamp": ts, **cols})


def _day0(out, eid, series):
    r = out[(out.event_id == eid) & (out.series == series)]
    assert len(r) == 1
    return r.iloc[0]


def test_golden_week_2025_tokyo_10_vs_16():
    out = align_events(_ev("2025-05-02 10:00", "2025-05-02 16:00"), _market())
    assert _day0(out, 0, "jgb_10y").day0 == pd.Timestamp("2025-05-02")
    assert _day0(out, 1, "jgb_10y").day0 == pd.Timestamp("2025-05-07")  # after Golden Week
    # 16:00 JST = 03:00 New York on 2 May: before the 15:30 NY close that day
    r = _day0(out, 1, "ust_10y")
    assert r.local_time == pd.Timestamp("2025-05-02 03:00")
    assert r.day0 == pd.Timestamp("2025-05-02")
    # 10:00 JST = 21:00 New York on 1 May: after the 1 May close -> 2 May
    assert _day0(out, 0, "ust_10y").day0 == pd.Timestamp("2025-05-02")
    assert (out.reason == "").all()
    assert len(out) == 2 * 3


def test_one_row_per_event_and_series_keeps_event_columns():
    ev = _ev("2025-05-02 10:00", "2025-05-02 16:00", theme=["boj", "tariffs"])
    out = align_events(ev, _market())
    assert {"event_id", "series", "timestamp", "local_time", "day0", "reason", "theme"} <= set(out.columns)
    assert out.groupby("event_id").size().tolist() == [3, 3]
    assert str(out["timestamp"].dt.tz) == "UTC"


def test_us_dst_boundary_march_2025():
    # US clocks move forward on Sunday 9 March 2025: NY close 15:30 = 20:30 UTC before, 19:30 UTC after
    ev = _ev(
        "2025-03-07 20:00",  # 15:00 EST -> before close -> 7 Mar
        "2025-03-07 20:45",  # 15:45 EST -> after close -> 10 Mar
        "2025-03-10 19:45",  # 15:45 EDT -> after close -> 11 Mar (a fixed UTC-5 offset would say 10 Mar)
        "2025-03-10 19:15",  # 15:15 EDT -> 10 Mar
        tz="UTC",
    )
    out = align_events(ev, _market())
    ust = out[out.series == "ust_10y"].set_index("event_id").day0
    assert list(ust) == list(pd.to_datetime(["2025-03-07", "2025-03-10", "2025-03-11", "2025-03-10"]))
    # Tokyo has no DST: 15:00 JST = 06:00 UTC on both sides of the US change
    ev2 = _ev("2025-03-07 05:59", "2025-03-07 06:01", "2025-03-10 05:59", "2025-03-10 06:01", tz="UTC")
    jgb = align_events(ev2, _market()).query("series == 'jgb_10y'").set_index("event_id").day0
    assert list(jgb) == list(pd.to_datetime(["2025-03-07", "2025-03-10", "2025-03-10", "2025-03-11"]))


def test_us_dst_end_november():
    m = _market("2024-10-21", "2024-11-15")
    # 3 Nov 2024 clocks go back: 4 Nov close is 15:30 EST = 20:30 UTC
    ev = _ev("2024-11-04 20:00", "2024-11-01 20:00", tz="UTC")  # 15:00 EST; 16:00 EDT
    out = align_events(ev, m).query("series == 'ust_10y'").set_index("event_id").day0
    assert list(out) == list(pd.to_datetime(["2024-11-04", "2024-11-04"]))


def test_close_time_from_provenance_source():
    m = _market()
    # USD/JPY from H.10: noon NY. 13:00 NY on 2 May is after that fixing -> 5 May
    ev = _ev("2025-05-02 13:00", "2025-05-02 11:59", tz="America/New_York", series=["usdjpy", "usdjpy"])
    out = align_events(ev, m)
    assert list(out.day0) == list(pd.to_datetime(["2025-05-05", "2025-05-02"]))
    assert list(out.series_close) == ["12:00", "12:00"]


def test_at_close_vs_strict():
    ev = _ev("2025-05-02 15:00", series=["jgb_10y"])
    assert align_events(ev, _market()).day0.iloc[0] == pd.Timestamp("2025-05-02")
    assert align_events(ev, _market(), strict=True).day0.iloc[0] == pd.Timestamp("2025-05-07")


def test_date_only_events_use_end_of_date():
    ev = pd.DataFrame({"event_id": [1, 2], "date": ["2025-05-02", "2025-05-03"]})
    out = align_events(ev, _market())
    assert out.date_only.all()
    assert _day0(out, 1, "jgb_10y").day0 == pd.Timestamp("2025-05-07")
    assert _day0(out, 1, "ust_10y").day0 == pd.Timestamp("2025-05-05")
    assert _day0(out, 2, "ust_10y").day0 == pd.Timestamp("2025-05-05")  # Saturday
    assert _day0(out, 1, "jgb_10y").local_time == pd.Timestamp("2025-05-02 23:59:59.999999999")
    # a stated zone per row
    ev["tz"] = ["America/New_York", None]
    out = align_events(ev, _market())
    # end of 2 May in New York = 3 May 12:59 Tokyo -> next JGB session 7 May; NY -> 5 May
    assert _day0(out, 1, "jgb_10y").local_time == pd.Timestamp("2025-05-03 12:59:59.999999999")


def test_naive_timestamp_is_an_error():
    ev = pd.DataFrame({"event_id": [1], "timestamp": pd.to_datetime(["2025-05-02 10:00"])})
    with pytest.raises(InputFormatError, match="naive"):
        align_events(ev, _market())
    ev = pd.DataFrame({"event_id": [1], "timestamp": ["2025-05-02 10:00"]})
    with pytest.raises(InputFormatError, match="time zone"):
        align_events(ev, _market())
    # strings with offsets are fine
    ev = pd.DataFrame({"event_id": [1], "timestamp": ["2025-05-02T16:00+09:00"], "series": ["jgb_10y"]})
    assert align_events(ev, _market()).day0.iloc[0] == pd.Timestamp("2025-05-07")


def test_missing_columns_are_errors():
    with pytest.raises(InputFormatError, match="event_id"):
        align_events(pd.DataFrame({"timestamp": []}), _market())
    with pytest.raises(InputFormatError, match="timestamp"):
        align_events(pd.DataFrame({"event_id": [1]}), _market())
    with pytest.raises(InputFormatError, match="newsbt_series"):
        align_events(_ev("2025-05-02 10:00"), pd.DataFrame({"x": [1.0]}))


def test_reasons_unknown_before_after_missing():
    m = _market()
    ev = pd.DataFrame(
        {
            "event_id": [1, 2, 3, 4],
            "timestamp": pd.to_datetime(
                ["2025-05-02 10:00", "2020-01-01 10:00", "2026-01-05 10:00", None]
            ).tz_localize("Asia/Tokyo"),
            "series": ["nope", "jgb_10y", "jgb_10y", "jgb_10y"],
        }
    )
    out = align_events(ev, m).set_index("event_id")
    assert list(out.reason) == ["unknown_series", "before_data", "after_data", "missing_timestamp"]
    assert out.day0.isna().all()
    assert out.timestamp.iloc[0] == pd.Timestamp("2025-05-02 01:00", tz="UTC")


def test_extends_past_last_observation_with_exchange_calendar():
    m = _market(end="2025-05-02")
    out = align_events(_ev("2025-05-02 16:00", "2025-05-03 16:00", series=["jgb_10y", "ust_10y"]), m)
    assert list(out.day0) == list(pd.to_datetime(["2025-05-07", "2025-05-05"]))


def test_changes_frame_alone_gives_same_alignment():
    m = _market()
    ev = _ev("2025-02-24 10:00", "2025-03-20 16:00", "2025-05-02 16:00", "2025-05-06 09:00")
    a = align_events(ev, m)
    b = align_events(ev, to_changes(m))
    pd.testing.assert_series_equal(a.day0, b.day0)
    assert (a.reason == b.reason).all()


def test_session_closes_dst_aware():
    c = session_closes(pd.to_datetime(["2025-03-07", "2025-03-10"]), dt.time(15, 30), "America/New_York")
    assert list(c) == [pd.Timestamp("2025-03-07 20:30", tz="UTC"), pd.Timestamp("2025-03-10 19:30", tz="UTC")]


def test_trading_days_xtks_golden_week_and_fx():
    assert list(trading_days("XTKS", "2025-05-01", "2025-05-08")) == list(
        pd.to_datetime(["2025-05-01", "2025-05-02", "2025-05-07", "2025-05-08"])
    )
    assert len(trading_days("FX", "2025-05-01", "2025-05-08")) == 6


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=60 * 24 * 70 - 1), min_size=1, max_size=20), st.booleans())
def test_day0_is_first_close_at_or_after(minutes, strict):
    m = _market()
    ts = pd.Timestamp("2025-03-01", tz="UTC") + pd.to_timedelta(minutes, unit="min")
    ev = pd.DataFrame({"event_id": range(len(ts)), "timestamp": ts})
    out = align_events(ev, m, strict=strict)
    for sid in ("jgb_10y", "ust_10y", "usdjpy"):
        o = out[out.series == sid]
        close, tz = m.close_time(sid)
        days = m.levels[sid].dropna().index
        closes = session_closes(days, close, tz, early_closes(m.specs[sid].calendar, days[0], days[-1]))
        for t, d0 in zip(o.timestamp, o.day0):
            ok = closes[closes > t] if strict else closes[closes >= t]
            assert d0 == ok[0].tz_convert(tz).tz_localize(None).normalize()


def test_holidays_from_real_data_columbus_day_and_vernal_equinox():
    """Sessions are the observed dates: the US bond market (H.15, H.10) closes on Columbus Day
    although the NYSE is open; Tokyo closes on 20 March 2025 (Vernal Equinox) while New York trades."""
    from backtests.market import load_market

    m = load_market(["ust_10y", "usdjpy", "jgb_10y"], start="2024-10-01", end="2025-04-30", source="sample")
    assert pd.Timestamp("2024-10-14") not in m.levels["ust_10y"].dropna().index
    assert pd.Timestamp("2024-10-14") in trading_days("XNYS", "2024-10-14", "2024-10-14")  # NYSE open
    ev = pd.DataFrame(
        {
            "event_id": ["columbus", "equinox", "memorial_eve"],
            "timestamp": [
                pd.Timestamp("2024-10-11 16:00", tz="America/New_York"),  # after Friday's close
                pd.Timestamp("2025-03-19 16:00", tz="Asia/Tokyo"),  # after the Tokyo close
                pd.Timestamp("2024-12-24 13:00", tz="America/New_York"),  # after the noon H.10 fixing
            ],
        }
    )
    out = align_events(ev, m).set_index(["event_id", "series"]).day0
    assert out[("columbus", "ust_10y")] == pd.Timestamp("2024-10-15")
    assert out[("columbus", "usdjpy")] == pd.Timestamp("2024-10-15")
    assert out[("columbus", "jgb_10y")] == pd.Timestamp(
        "2024-10-15"
    )  # 05:00 JST 12 Oct; 14 Oct Tokyo holiday
    assert out[("equinox", "jgb_10y")] == pd.Timestamp("2025-03-21")
    assert out[("equinox", "ust_10y")] == pd.Timestamp("2025-03-19")  # 03:00 New York (EDT)
    assert out[("memorial_eve", "usdjpy")] == pd.Timestamp("2024-12-26")  # Christmas closed


def test_dst_gap_week_tokyo_vs_new_york_offsets():
    """16:00 JST is 02:00 New York in winter (EST) and 03:00 in summer (EDT); Tokyo's close is
    06:00 UTC all year while New York's 15:30 moves between 20:30 and 19:30 UTC."""
    m = _market("2025-02-24", "2025-05-16")
    ev = _ev("2025-03-07 16:00", "2025-03-10 16:00", series=["ust_10y", "ust_10y"])
    out = align_events(ev, m)
    assert list(out.local_time) == [pd.Timestamp("2025-03-07 02:00"), pd.Timestamp("2025-03-10 03:00")]
    assert list(out.day0_close) == [
        pd.Timestamp("2025-03-07 20:30", tz="UTC"),
        pd.Timestamp("2025-03-10 19:30", tz="UTC"),
    ]
    c = session_closes(pd.to_datetime(["2025-03-07", "2025-03-10"]), dt.time(15), "Asia/Tokyo")
    assert list(c) == [pd.Timestamp("2025-03-07 06:00", tz="UTC"), pd.Timestamp("2025-03-10 06:00", tz="UTC")]


def test_audit_columns_explain_every_row():
    m = _market()
    ev = _ev("2025-05-02 16:00", "2019-01-01 10:00", series=["jgb_10y", "jgb_10y"], theme=["boj", "boj"])
    out = align_events(ev, m)
    r0, r1 = out.iloc[0], out.iloc[1]
    assert (r0.series_tz, r0.series_close, bool(r0.date_only), r0.reason) == (
        "Asia/Tokyo",
        "15:00",
        False,
        "",
    )
    assert r0.local_time == pd.Timestamp("2025-05-02 16:00")
    assert r0.day0_close == pd.Timestamp("2025-05-07 06:00", tz="UTC")
    assert r0.theme == "boj"
    assert r1.reason == "before_data" and pd.isna(r1.day0) and pd.isna(r1.day0_close)


def test_sifma_calendar_is_every_h15_treasury_session_1994_2026():
    """The US bond-market calendar equals the dates H.15 publishes a 10-year yield on, every
    weekday of the bundled snapshot (1994 to its end): Columbus and Veterans Days closed, Good
    Fridays open when the jobs report falls on them, the one-off closures included."""
    ust = pd.read_csv(data_path("market", "ust_h15.csv.gz"), index_col=0, parse_dates=True)["ust_10y"]
    obs = ust.dropna().index
    got = trading_days("SIFMA", obs[0], obs[-1])
    assert got.equals(pd.DatetimeIndex(obs).as_unit("ns")), (
        sorted(got.difference(obs).date),
        sorted(obs.difference(got).date),
    )
    hol = sifma_holidays(2023, 2024)
    assert pd.Timestamp("2023-10-09") in hol and pd.Timestamp("2024-11-11") in hol  # Columbus, Veterans
    assert pd.Timestamp("2023-04-07") not in hol  # Good Friday with the jobs report: early close
    assert pd.Timestamp("2024-03-29") in hol  # Good Friday
    assert pd.Timestamp("2023-11-10") not in hol  # Veterans Day on a Saturday: no closure
    assert set(SIFMA_SPECIAL_CLOSES.year) <= set(range(1994, 2019))


def test_past_the_data_ust_skips_bond_market_holidays():
    """Past the last observation, US Treasuries follow SIFMA, not the NYSE: an event after the
    Friday close before Columbus Day is day 0 on Tuesday (NYSE is open on Monday)."""
    m = _market(start="2024-09-02", end="2024-10-11")
    ev = _ev("2024-10-11 16:00", tz="America/New_York", series=["ust_10y"])
    out = align_events(ev, m)
    assert out.day0.iloc[0] == pd.Timestamp("2024-10-15")
    assert pd.Timestamp("2024-10-14") in trading_days("XNYS", "2024-10-14", "2024-10-14")
