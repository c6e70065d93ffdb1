"""Backtest statistics in the right units: per kind, risk-unit totals, netting, distinct bets."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from backtests import _bt_units as bu
from backtests.market.spec import Market, SeriesSpec
from backtests.strategy import backtest

NY = ("America/New_York", dt.time(15, 30), "XNYS")
SPECS = {
    "ust_2y": ("yield", "percent", *NY),
    "ust_10y": ("yield", "percent", *NY),
    "usdjpy": ("fx", "JPY per USD", "America/New_York", dt.time(12, 0), "FX"),
}


def _market(seed=0, n=300):
    rng = np.random.default_rng(seed)
    idx = pd.bdate_range("2024-01-01", periods=n)
    lv = pd.DataFrame(
        {
            "ust_2y": 4.0 + np.cumsum(rng.normal(0, 0.05, n)),
            "ust_10y": 4.2 + np.cumsum(rng.normal(0, 0.06, n)),
            "usdjpy": 150 * np.exp(np.cumsum(rng.normal(0, 0.005, n))),
        },
        index=idx,
    )
    specs = {c: SeriesSpec(c, c, s[0], s[1], s[2], s[3], s[4]) for c, s in SPECS.items()}
    return Market(lv.round(6), specs)


def _events(idx, rows):
    return pd.DataFrame(
        {
            "event_id": [r[0] for r in rows],
            "timestamp": [
                pd.Timestamp(idx[r[1]]).tz_localize("America/New_York") + pd.Timedelta(hours=9) for r in rows
            ],
            "direction": [r[2] for r in rows],
            **({"series": [r[3] for r in rows]} if len(rows[0]) > 3 else {}),
        }
    )


def test_offsetting_trades_in_one_series_and_session_are_netted_before_costs():
    m = _market()
    ev = _events(m.levels.index, [("long", 200, 1, "usdjpy"), ("short", 200, -1, "usdjpy")])
    bt = backtest(m, ev, holding=3, cost_bp=0.5, placebo=0)
    assert len(bt.trades) == 2 and bt.trades["cost_bp"].sum() == pytest.approx(2 * 2 * 0.5)
    assert bt.costs["usdjpy"].sum() == 0  # the book never moved
    legs = bu.net_legs(bt.trades)
    assert len(legs) == 1 and legs["net_size"].iloc[0] == 0 and legs["cost"].iloc[0] == 0
    assert len(bt.bets) == 0
    assert bt.stats_units.loc["usdjpy", "n_bets"] == 0 and bt.stats_units.loc["usdjpy", "n_trades"] == 2


def test_per_kind_totals_risk_units_and_distinct_bets_by_hand():
    m = _market(seed=4)
    idx = m.levels.index
    ev = _events(idx, [("e1", 150, 1), ("e2", 200, -1), ("e3", 250, 1)])  # every series
    bt = backtest(m, ev, holding=4, cost_bp=0.25, placebo=0)
    su = bt.stats_units
    # per kind: the same-unit sum of the series of that kind, never yields + FX
    assert su.loc["kind:yield", "total"] == pytest.approx(bt.pnl[["ust_2y", "ust_10y"]].to_numpy().sum())
    assert su.loc["kind:fx", "total"] == pytest.approx(bt.pnl["usdjpy"].sum())
    assert su.loc["kind:yield", "unit"] == "bp of yield" and su.loc["kind:fx", "unit"] == "bp (log return)"
    assert su.loc["risk_total", "unit"] == "vol units"
    # risk units: each series' P&L over the sd of its daily changes over sessions (-120, -11) of its first entry
    ch = pd.DataFrame(
        {"ust_2y": m.levels["ust_2y"].diff() * 100, "ust_10y": m.levels["ust_10y"].diff() * 100,
         "usdjpy": np.log(m.levels["usdjpy"]).diff() * 1e4}
    )  # fmt: skip
    risk = 0.0
    for sid in SPECS:
        first = idx.get_loc(bt.trades.loc[bt.trades["series"] == sid, "entry"].min())
        sd = ch[sid].iloc[first - 120 : first - 10].std(ddof=1)
        assert su.loc[sid, "vol_unit"] == pytest.approx(sd)
        risk += bt.pnl[sid].sum() / sd
    assert su.loc["risk_total", "total"] == pytest.approx(risk)
    # bets: the 2y and 10y legs of one event are one yield bet; three events -> 3 yield + 3 FX bets
    assert su.loc["kind:yield", "n_bets"] == 3 and su.loc["kind:yield", "n_trades"] == 6
    assert su.loc["risk_total", "n_bets"] == 6
    yb = bt.bets[bt.bets["kind"] == "yield"]["net"].to_numpy()
    want = bt.trades[bt.trades["series"] != "usdjpy"].groupby("event_id")["net_bp"].sum().to_numpy()
    np.testing.assert_allclose(np.sort(yb), np.sort(want))
    assert su.loc["kind:yield", "t_bet"] == pytest.approx(yb.mean() / (yb.std(ddof=1) / np.sqrt(3)))
    assert su.loc["kind:yield", "hit_rate"] == pytest.approx((yb > 0).mean())
    # exposure stated beside the Sharpe; the summary never prints a bp total across kinds
    assert su.loc["kind:fx", "exposure"] == pytest.approx((bt.positions["usdjpy"] != 0).mean())
    text = bt.summary()
    assert "total net P&L (bp)" not in text and "risk_total" in text and "distinct bets" in text


def test_one_kind_keeps_the_bp_summary():
    m = _market()
    ev = _events(m.levels.index, [("e1", 150, 1, "ust_10y"), ("e2", 220, -1, "ust_2y")])
    bt = backtest(m, ev, holding=3, placebo=0)
    assert "total net P&L (bp)" in bt.summary()
    assert bt.stats_units.loc["kind:yield", "n_bets"] == 2


def test_default_start_is_one_estimation_window_before_the_first_event():
    ev = pd.DataFrame({"timestamp": pd.to_datetime(["2025-05-02T01:00Z", "2025-03-01T00:00Z"])})
    start = pd.Timestamp(bu.default_start(ev))
    assert len(pd.bdate_range(start, "2025-02-28")) == 120  # 120 business days before (a Saturday)
    assert bu.default_start(pd.DataFrame({"date": ["2025-05-02"]})) == "2024-11-15"
