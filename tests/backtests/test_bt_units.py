"""Backtest statistics in the right units: per kind, risk-unit totals, netting, distinct bets."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


#: the risk-unit warning of a market that starts too late (tested below; expected elsewhere)
SHORT = pytest.mark.filterwarnings(
    r"ignore:backtest. series '[^']*' (has \d+ daily changes in|did not move in) its risk-unit window"
)


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
    # cross-asset: one bet per event (its yield and FX legs together), in risk units
    assert su.loc["risk_total", "n_bets"] == 3 and su.loc["risk_total", "n_trades"] == 9
    yb = bt.bets[bt.bets["kind"] == "yield"]["net"].to_numpy()
    want = bt.trades[bt.trades["series"] != "usdjpy"].groupby("event_id")["net_bp"].sum().to_numpy()
    np.testing.assert_allclose(np.sort(yb), np.sort(want))
    assert su.loc["kind:yield", "t_bet"] == pytest.approx(yb.mean() / (yb.std(ddof=1) / np.sqrt(3)))
    assert su.loc["kind:yield", "hit_rate_bets"] == pytest.approx((yb > 0).mean())
    # exposure stated beside the Sharpe; the summary never prints a bp total across kinds
    assert su.loc["kind:fx", "exposure"] == pytest.approx((bt.positions["usdjpy"] != 0).mean())
    text = bt.summary()
    assert "total net P&L (bp)" not in text and "risk_total" in text and "distinct bets" in text


def test_one_kind_keeps_the_bp_summary():
    m = _market()
    ev = _events(m.levels.index, [("e1", 150, 1, "ust_10y"), ("e2", 220, -1, "ust_2y")])
    bt = backtest(m, ev, holding=3, placebo=0)
    # one kind traded: bp add up, so the bp total is the book (labelled with the kind's unit)
    assert "total net P&L (bp of yield)" in bt.summary()
    assert bt.book["figure"] == "total" and "total" in bt.pnl and "total" in bt.stats
    assert bt.stats_units.loc["kind:yield", "n_bets"] == 2


def test_default_start_is_one_estimation_window_before_the_first_event():
    ev = pd.DataFrame({"timestamp": pd.to_datetime(["2025-05-02T01:00Z", "2025-03-01T00:00Z"])})
    start = pd.Timestamp(bu.default_start(ev))
    assert len(pd.bdate_range(start, "2025-02-28")) == 120  # 120 business days before (a Saturday)
    assert bu.default_start(pd.DataFrame({"date": ["2025-05-02"]})) == "2024-11-15"


# ------------------------------------------------------------------ the book: per kind, risk units, DV01


def _linear_market():
    """UST 2y +1 bp and 10y -2 bp of yield per session, USD/JPY +10 bp of log return per session."""
    idx = pd.bdate_range("2024-01-01", periods=60)
    k = np.arange(len(idx))
    lv = pd.DataFrame(
        {"ust_2y": 4.0 + 0.01 * k, "ust_10y": 4.2 - 0.02 * k, "usdjpy": 150 * np.exp(0.001 * k)}, index=idx
    )
    specs = {c: SeriesSpec(c, c, s[0], s[1], s[2], s[3], s[4]) for c, s in SPECS.items()}
    return Market(lv, specs)


@SHORT
def test_dv01_and_fx_notional_give_a_currency_total_by_hand():
    m = _linear_market()
    ev = _events(m.levels.index, [("e1", 20, 1)])  # every series, long, 3 sessions, 0.5 bp per unit turnover
    bt = backtest(m, ev, holding=3, cost_bp=0.5, placebo=0,
                  dv01={"ust_2y": 200.0, "ust_10y": 850.0}, fx_notional=1e6)  # fmt: skip
    # net bp: 2y 3 - 1 = 2, 10y -6 - 1 = -7, USD/JPY 30 - 1 = 29; currency: DV01 x bp, notional x bp / 1e4
    want = 200 * 2 + 850 * -7 + 1e6 * 29 / 1e4  # = 400 - 5950 + 2900 = -2650 USD
    assert bt.book["figure"] == "ccy_total" and bt.book["unit"] == "USD"
    assert bt.book["total"] == pytest.approx(want)
    assert bt.pnl_ccy["ccy_total"].sum() == pytest.approx(-2650.0)
    assert bt.pnl_ccy["ust_10y"].sum() == pytest.approx(-5950.0)
    assert bt.stats_units.loc["ccy_total", "total"] == pytest.approx(-2650.0)
    assert bt.stats_units.loc["ccy_total", "unit"] == "USD" and bool(bt.stats_units.loc["ccy_total", "book"])
    assert bt.equity.iloc[-1] == pytest.approx(-2650.0) and bt.equity.attrs["unit"] == "USD"
    assert bt.book["cost_total"] == pytest.approx(200 * 1 + 850 * 1 + 100 * 1)
    nets = bt.bets.set_index("kind")["net_ccy"]
    assert nets["yield"] == pytest.approx(400 - 5950) and nets["fx"] == pytest.approx(2900)
    # the bp figures are unchanged and never added across kinds
    assert bt.pnl["kind:yield"].sum() == pytest.approx(-5.0)
    assert bt.pnl["kind:fx"].sum() == pytest.approx(29.0)
    assert "total" not in bt.pnl
    text = bt.summary()
    assert "Book: ccy_total in USD" in text and "total net P&L (USD)" in text
    # a "default" key, and a label
    bt2 = backtest(m, ev, holding=3, cost_bp=0.5, placebo=0, dv01={"default": 100.0},
                   fx_notional={"usdjpy": 1e6}, currency="JPY")  # fmt: skip
    assert bt2.book["total"] == pytest.approx(100 * (2 - 7) + 2900) and bt2.book["unit"] == "JPY"


@SHORT
def test_currency_scales_are_checked():
    from signals.errors import ConfigError

    m = _linear_market()
    ev = _events(m.levels.index, [("e1", 20, 1)])
    with pytest.raises(ConfigError, match=r"usdjpy.*fx_notional"):
        backtest(m, ev, placebo=0, dv01={"usdjpy": 1.0, "default": 1.0})
    with pytest.raises(ConfigError, match=r"\['usdjpy'\] have no currency scale"):
        backtest(m, ev, placebo=0, dv01=850.0)
    with pytest.raises(ConfigError, match="positive"):
        backtest(m, ev, placebo=0, dv01=-1.0, fx_notional=1e6)
    with pytest.raises(ConfigError, match="nope"):
        backtest(m, ev, placebo=0, dv01={"nope": 1.0}, fx_notional=1e6)
    # only yields traded: dv01 alone is enough
    ev_y = _events(m.levels.index, [("e1", 20, 1, "ust_2y")])
    only_y = backtest(m, ev_y, holding=3, cost_bp=0.5, placebo=0, dv01=10.0)
    assert only_y.book["total"] == pytest.approx(20.0)


@SHORT
def test_total_column_only_when_one_kind_is_traded():
    m = _linear_market()
    idx = m.levels.index
    one = backtest(m, _events(idx, [("e1", 20, 1, "ust_2y"), ("e2", 30, -1, "ust_10y")]), holding=3, cost_bp=0.5,
                   placebo=0)  # fmt: skip
    # 2y: +3 - 1; 10y short: +6 - 1 -> 7 bp of yield, an honest bp total
    assert one.book["figure"] == "total" and one.book["unit"] == "bp of yield"
    assert one.pnl["total"].sum() == pytest.approx(7.0)
    assert one.stats.loc["total_bp", "total"] == pytest.approx(7.0)
    pd.testing.assert_series_equal(one.pnl["total"], one.pnl["kind:yield"], check_names=False)
    assert one.equity.iloc[-1] == pytest.approx(7.0)
    both = backtest(m, _events(idx, [("e1", 20, 1)]), holding=3, cost_bp=0.5, placebo=0)
    assert "total" not in both.pnl and "total" not in both.stats and "total" not in both.costs
    assert both.book["figure"] == "risk_total"


def test_placebo_ranks_the_book_with_the_same_weights():
    m = _market(seed=2)
    idx = m.levels.index
    ev = _events(idx, [("e1", 150, 1), ("e2", 200, -1), ("e3", 250, 1)])
    risk = backtest(m, ev, holding=4, cost_bp=0.25, placebo=40, seed=7)
    assert risk.book["figure"] == "risk_total" and (risk.placebo["unit"] == "vol units").all()
    # currency scales equal to 1 / sd (yields) and 1e4 / sd (FX) give the same numbers in "currency"
    vol = risk.stats_units["vol_unit"]
    ccy = backtest(m, ev, holding=4, cost_bp=0.25, placebo=40, seed=7,
                   dv01={s: 1 / vol[s] for s in ("ust_2y", "ust_10y")}, fx_notional=1e4 / vol["usdjpy"])  # fmt: skip
    np.testing.assert_allclose(ccy.placebo["total"], risk.placebo["total"], rtol=1e-10)
    np.testing.assert_allclose(ccy.placebo["sharpe"], risk.placebo["sharpe"], rtol=1e-10)
    assert ccy.book["total"] == pytest.approx(risk.book["total"])
    assert risk.book["placebo_pvalue"] == pytest.approx(
        (1 + (risk.placebo["sharpe"] >= risk.book["sharpe"]).sum()) / 41
    )
    # one kind: the placebo is in bp and scales linearly with a common DV01
    ev_y = ev.assign(series="ust_10y")
    bp = backtest(m, ev_y, holding=4, placebo=20, seed=1)
    usd = backtest(m, ev_y, holding=4, placebo=20, seed=1, dv01=850.0)
    assert bp.book["figure"] == "total" and usd.book["figure"] == "ccy_total"
    np.testing.assert_allclose(usd.placebo["total"], 850.0 * bp.placebo["total"], rtol=1e-10)


def test_weighted_placebo_path_matches_the_full_simulation():
    from backtests.strategy import simulate

    rng = np.random.default_rng(3)
    C = rng.normal(0, 5, (80, 3))
    rows, si, d = rng.integers(0, 70, 12), rng.integers(0, 3, 12), rng.choice([-1.0, 1.0], 12)
    w = np.array([0.5, 2.0, np.nan])  # NaN: a series without a scale counts 0
    full = simulate(C, rows, si, d, 1.0, 4, cost_bp=0.3)
    total, _ = simulate(C, rows, si, d, 1.0, 4, cost_bp=0.3, _total_only=True, _weights=w)
    np.testing.assert_allclose(total, (full.gross - full.costs) @ np.nan_to_num(w), atol=1e-12)


_MARKET = _market(seed=5)  # built once for the property test


@settings(max_examples=15, deadline=None)
@given(st.lists(st.tuples(st.integers(130, 290), st.sampled_from([1, -1]), st.sampled_from(list(SPECS))),
                min_size=1, max_size=6))  # fmt: skip
def test_kind_columns_and_book_invariants(rows):
    m = _MARKET
    ev = _events(m.levels.index, [(f"e{i}", r, d, s) for i, (r, d, s) in enumerate(rows)])
    bt = backtest(m, ev, holding=3, cost_bp=0.5, placebo=0)
    kinds = {s: SPECS[s][0] for s in SPECS}
    for k in ("yield", "fx"):
        cols = [s for s in SPECS if kinds[s] == k]
        np.testing.assert_allclose(bt.pnl[f"kind:{k}"], bt.pnl[cols].sum(axis=1), atol=1e-9)
    traded = {kinds[s] for s in bt.trades["series"]}
    assert ("total" in bt.pnl) == (len(traded or set(kinds.values())) == 1)  # no trade: the market's kinds
    vol = bt.stats_units["vol_unit"]
    risk = sum(bt.pnl[s].sum() / vol[s] for s in SPECS if np.isfinite(vol[s]))
    assert bt.pnl_risk["risk_total"].sum() == pytest.approx(risk, abs=1e-9)
    assert bt.equity.iloc[-1] == pytest.approx(bt.book["total"], abs=1e-9)
    if len(traded) > 1:
        assert bt.book["figure"] == "risk_total" and bt.book["total"] == pytest.approx(risk, abs=1e-9)


# ------------------------------------------------------------------ dv01 from the CLI and the config


def test_parse_amounts():
    from backtests._bt_cli import parse_amounts
    from signals.errors import ConfigError

    assert parse_amounts(None, "--dv01") is None and parse_amounts([], "--dv01") is None
    assert parse_amounts(["850"], "--dv01") == 850.0
    assert parse_amounts(["ust_10y=850", "default=400"], "--dv01") == {"ust_10y": 850.0, "default": 400.0}
    for bad in (["abc"], ["ust_10y=x"], ["=5"], ["ust_10y"]):
        with pytest.raises(ConfigError, match="--dv01"):
            parse_amounts(bad, "--dv01")


def test_cli_backtest_in_currency(tmp_path, capsys):
    from backtests.cli import main

    ev = tmp_path / "events.csv"
    ev.write_text(
        "event_id,theme,timestamp,direction\na,t,2025-04-02T20:30:00Z,1\nb,t,2025-04-09T17:00:00Z,-1\n"
        "c,t,2025-05-02T01:50:00Z,1\n"
    )
    base = ["backtest", "--events", str(ev), "--series", "ust_10y", "usdjpy", "--source", "sample"]
    assert main([*base, "--dv01", "ust_10y=850", "--fx-notional", "1000000", "--currency", "USD"]) == 0
    out = capsys.readouterr().out
    assert "Book: ccy_total in USD" in out and "ccy_total" in out
    assert main(base) == 0
    assert "Book: risk_total in vol units" in capsys.readouterr().out  # yields and FX without DV01
    assert main([*base, "--dv01", "850"]) == 2  # USD/JPY traded without a notional: one clear line
    assert "usdjpy" in capsys.readouterr().err


def test_config_accepts_dv01_tables_and_refuses_bad_amounts():
    from backtests import config
    from signals.errors import ConfigError

    cfg = config.validate(
        {
            "market": {"series": ["ust_10y"]},
            "backtest": {"dv01": {"ust_10y": 850, "default": 400.0}, "fx_notional": 1e6},
        }
    )
    assert (
        cfg["backtest"]["dv01"] == {"ust_10y": 850, "default": 400.0} and cfg["backtest"]["currency"] == "USD"
    )
    assert config.validate({"market": {"series": ["x"]}})["backtest"]["dv01"] is None
    for bad, msg in (
        (-1.0, r"\[backtest\]\.dv01 = -1.0 must be > 0"),  # the range, not "must be a number or dict"
        (-1, r"\[backtest\]\.dv01 = -1 must be > 0"),
        ({"ust_10y": 0}, r"\[backtest\]\.dv01\.ust_10y = 0 must be > 0"),
        ("850", r"\[backtest\]\.dv01 must be a number or dict, got str"),
    ):
        with pytest.raises(ConfigError, match=msg) as exc:
            config.validate({"market": {"series": ["x"]}, "backtest": {"dv01": bad}}, origin="c.toml")
        assert "number or dict" not in str(exc.value) or isinstance(bad, str)
    with pytest.raises(ConfigError, match=r"\[backtest\]\.fx_notional = 0 must be > 0"):
        config.validate({"market": {"series": ["x"]}, "backtest": {"fx_notional": 0}})


def _changes(m):
    lv = m.levels
    return pd.DataFrame(
        {"ust_2y": lv["ust_2y"].diff() * 100, "ust_10y": lv["ust_10y"].diff() * 100,
         "usdjpy": np.log(lv["usdjpy"]).diff() * 1e4}
    ).iloc[1:]  # fmt: skip


def test_risk_unit_uses_only_data_before_the_entry():
    m = _market(seed=5)
    idx = m.levels.index
    ev = _events(idx, [("e1", 60, 1)])  # entry at day 60's close: changes of days 1..49 in the window
    bt = backtest(m, ev, holding=3, placebo=0)
    ch = _changes(m)
    for sid in SPECS:
        pos = ch.index.get_loc(bt.trades.loc[bt.trades["series"] == sid, "entry"].iloc[0])
        want = ch[sid].iloc[max(pos - 120, 0) : pos - 10].std(ddof=1)  # changes -120..-11, clipped at the start
        assert len(ch[sid].iloc[max(pos - 120, 0) : pos - 10]) == pos - 10
        assert bt.stats_units.loc[sid, "vol_unit"] == pytest.approx(want)
    # no look-ahead: scrambling every level after the window leaves the risk units unchanged
    lv = m.levels.copy()
    lv.iloc[52:] = lv.iloc[52:] * np.linspace(1.0, 1.5, len(lv) - 52)[:, None]
    bt2 = backtest(Market(lv, m.specs), ev, holding=3, placebo=0)
    pd.testing.assert_series_equal(bt2.stats_units.loc[list(SPECS), "vol_unit"], bt.stats_units.loc[list(SPECS), "vol_unit"])


def test_short_window_gives_no_risk_unit_and_a_warning_never_the_full_sample():
    from signals.errors import NewsbtWarning

    m = _market(seed=6)
    idx = m.levels.index
    # entry at day 25's close; changes start at day 1: sessions -120..-11 hold days 1..14 = 14 changes (< 20)
    ev = _events(idx, [("y", 25, 1, "ust_10y"), ("f", 200, -1, "usdjpy")])
    with pytest.warns(NewsbtWarning, match=r"'ust_10y' has 14 daily changes.*start the market data") as rec:
        bt = backtest(m, ev, holding=3, placebo=0)
    assert [str(w.message) for w in rec if "usdjpy" in str(w.message)] == []
    su = bt.stats_units
    assert np.isnan(su.loc["ust_10y", "vol_unit"]) and np.isfinite(su.loc["usdjpy", "vol_unit"])
    # left out of the risk-unit total, its bet statistics and the book; stated in the note
    assert su.loc["risk_total", "total"] == pytest.approx(bt.pnl["usdjpy"].sum() / su.loc["usdjpy", "vol_unit"])
    assert su.loc["risk_total", "n_bets"] == 1 and su.loc["risk_total", "n_trades"] == 1
    assert "ust_10y" in su.loc["risk_total", "note"] and "ust_10y" in bt.summary()
    assert bt.book["figure"] == "risk_total" and bt.book["total"] == pytest.approx(su.loc["risk_total", "total"])
    # its bp statistics are unchanged: one yield bet in bp of yield
    assert su.loc["kind:yield", "n_bets"] == 1
    assert su.loc["kind:yield", "total"] == pytest.approx(bt.pnl["ust_10y"].sum())


def test_constant_series_is_never_a_zero_pnl_loser():
    from signals.errors import NewsbtWarning

    m = _market(seed=7)
    lv = m.levels.copy()
    lv.loc[lv.index[:180], "ust_10y"] = 1.0  # pinned (e.g. under yield-curve control), then moves
    m = Market(lv, m.specs)
    ev = _events(m.levels.index, [("y", 150, 1, "ust_10y"), ("f", 150, 1, "usdjpy")])
    with pytest.warns(NewsbtWarning, match=r"'ust_10y' did not move in its risk-unit window"):
        bt = backtest(m, ev, holding=3, placebo=0)
    su = bt.stats_units
    assert np.isnan(su.loc["ust_10y", "vol_unit"])
    # one bet (FX) in risk units, not two with a 0 loser
    assert su.loc["risk_total", "n_bets"] == 1
    assert su.loc["risk_total", "hit_rate_bets"] == float(bt.pnl["usdjpy"].sum() > 0)
    assert bt.bets["net_vol"].notna().sum() == 1


def _zigzag_market():
    """Every series alternates two daily changes, so any 2 sessions add up to a known move: UST 10y
    +1/+3 bp of yield (4 per 2 sessions), JGB 10y +2/+4 (6), USD/JPY +10/+30 bp of log return (40)."""
    idx = pd.bdate_range("2024-01-01", periods=200)
    alt = np.where(np.arange(len(idx)) % 2 == 0, 1.0, 3.0)
    alt[0] = 0.0
    specs = dict(SPECS, jgb_10y=("yield", "percent", "Asia/Tokyo", dt.time(15, 0), "XTKS"))
    lv = pd.DataFrame(
        {"ust_10y": 4.0 + np.cumsum(alt) / 100, "jgb_10y": 1.0 + np.cumsum(alt + 1) / 100,
         "usdjpy": 150 * np.exp(np.cumsum(alt * 10) / 1e4)}, index=idx,
    )  # fmt: skip
    return Market(lv, {c: SeriesSpec(c, c, *specs[c]) for c in lv.columns})


def test_a_bet_is_one_event_per_kind_and_one_event_across_kinds():
    m = _zigzag_market()
    idx = m.levels.index
    # "a" trades all series at 09:00 New York on Mon 29 Jul 2024: UST and USD/JPY enter that day,
    # the JGB at the next Tokyo close (its close had passed); "b" and "c", unrelated, both buy the
    # UST 10y on 26 Aug
    ev = pd.concat([_events(idx, [("a", 150, 1)]), _events(idx, [("b", 170, 1, "ust_10y"), ("c", 170, 1, "ust_10y")])])
    bt = backtest(m, ev.reset_index(drop=True), holding=2, cost_bp=0.0, placebo=0)
    a = bt.trades[bt.trades["event_id"] == "a"].set_index("series")["entry"]
    assert a["jgb_10y"] > a["ust_10y"]  # the legs of "a" enter on different closes
    yb = bt.bets[bt.bets["kind"] == "yield"].set_index("event_id")
    # one yield bet for "a" (UST 4 + JGB 6 bp), and "b", "c" are two bets (4 bp each, sharing the 2-unit position)
    assert list(yb.index) == ["a", "b", "c"]
    np.testing.assert_allclose(yb["net"], [10.0, 4.0, 4.0])
    assert yb.loc["a", "n_legs"] == 2
    su = bt.stats_units
    assert su.loc["kind:yield", "n_bets"] == 3 and su.loc["kind:fx", "n_bets"] == 1
    assert su.loc["kind:yield", "mean_bet"] == pytest.approx(6.0)
    assert su.loc["kind:yield", "t_bet"] == pytest.approx(6.0 / (np.std([10, 4, 4], ddof=1) / np.sqrt(3)))
    # across kinds: one bet per event: a = 4/sd + 6/sd + 40/(10 sd) with sd the sd of +1/+3 changes
    vol = su["vol_unit"]
    assert vol["ust_10y"] == pytest.approx(np.std([1.0, 3.0] * 55, ddof=1))
    assert su.loc["risk_total", "n_bets"] == 3 and su.loc["risk_total", "n_trades"] == 5
    want_a = 4 / vol["ust_10y"] + 6 / vol["jgb_10y"] + 40 / vol["usdjpy"]
    assert su.loc["risk_total", "mean_bet"] == pytest.approx((want_a + 2 * 4 / vol["ust_10y"]) / 3)


def test_fully_netted_trades_are_counted_alike_and_are_no_bet():
    m = _market()
    ev = _events(m.levels.index, [("long", 200, 1, "usdjpy"), ("short", 200, -1, "usdjpy"), ("y", 200, 1, "ust_2y")])
    bt = backtest(m, ev, holding=3, cost_bp=0.5, placebo=0)
    su = bt.stats_units
    # every row counts every trade (netted ones too); bets exclude the netted pair
    assert su.loc["usdjpy", "n_trades"] == su.loc["kind:fx", "n_trades"] == 2
    assert su.loc["risk_total", "n_trades"] == 3
    assert su.loc["usdjpy", "n_bets"] == su.loc["kind:fx", "n_bets"] == 0
    assert su.loc["risk_total", "n_bets"] == 1 and list(bt.bets["event_id"]) == ["y"]
    assert "hit_rate" in bt.stats.index and "hit_rate_bets" in su.columns and "hit_rate" not in su.columns


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.tuples(st.integers(130, 290), st.sampled_from([1, -1]), st.sampled_from(list(SPECS))),
             min_size=1, max_size=8),
    st.sampled_from(["sum", "max", "last"]), st.sampled_from([None, 1.0]), st.sampled_from([None, 8.0]),
    st.integers(1, 6),
)  # fmt: skip
def test_bets_add_up_to_the_pnl_held(rows, combine, cap, stop, holding):
    m = _MARKET
    ev = _events(m.levels.index, [(f"e{i}", r, d, s) for i, (r, d, s) in enumerate(rows)])
    bt = backtest(m, ev, holding=holding, cost_bp=0.5, placebo=0, combine=combine, position_cap=cap, stop_loss_bp=stop)
    su = bt.stats_units
    for k in ("yield", "fx"):
        assert bt.bets.loc[bt.bets["kind"] == k, "net"].sum() == pytest.approx(bt.pnl[f"kind:{k}"].sum(), abs=1e-8)
        n = su.loc[f"kind:{k}", "n_bets"]
        got = su.loc[f"kind:{k}", "mean_bet"] * n if n else 0.0
        assert got == pytest.approx(su.loc[f"kind:{k}", "total"], abs=1e-8)
    for s in SPECS:
        n = su.loc[s, "n_bets"]
        assert (su.loc[s, "mean_bet"] * n if n else 0.0) == pytest.approx(bt.pnl[s].sum(), abs=1e-8)
    n = su.loc["risk_total", "n_bets"]
    assert (su.loc["risk_total", "mean_bet"] * n if n else 0.0) == pytest.approx(su.loc["risk_total", "total"], abs=1e-8)


@pytest.mark.parametrize(("combine", "want"), [("sum", {"L": 4.0, "S": -4.0}), ("last", {"L": 4.0, "S": -8.0})])
def test_bets_share_the_position_held(combine, want):
    m = _zigzag_market()  # UST 10y changes: +3 on odd days, +1 on even days
    # long at the close of day 150 for 4 sessions (days 151-154), short at day 152 for 4 (153-156)
    ev = _events(m.levels.index, [("L", 150, 1, "ust_10y"), ("S", 152, -1, "ust_10y")])
    bt = backtest(m, ev, holding=4, cost_bp=0.0, placebo=0, combine=combine)
    # sum: days 151-152 long (+3+1: L's), 153-154 flat (netted: nothing to share; their own P&L
    # +-4 cancels), 155-156 short (-3-1: S's); last: from day 153 the short is the position, so
    # the overlap (-3-1) is the short's too
    got = bt.bets.set_index("event_id")["net"].to_dict()
    assert got == pytest.approx(want)
    assert sum(want.values()) == pytest.approx(bt.pnl["ust_10y"].sum())


def test_placebo_moves_events_of_one_day_together():
    """Two offsetting events on one day: the real book never holds a position and pays nothing,
    and so does every placebo draw (each event on its own random date paid costs in every draw and
    ranked the flat book above 68 % of them before review)."""
    m = _market()
    ev = _events(m.levels.index, [("long", 200, 1, "usdjpy"), ("short", 200, -1, "usdjpy")])
    bt = backtest(m, ev, holding=3, cost_bp=0.5, placebo=30, seed=3)
    assert bt.costs["usdjpy"].sum() == 0
    assert (bt.placebo["total"] == 0).all()
    # events on different days still get their own dates
    ev2 = _events(m.levels.index, [("a", 150, 1, "usdjpy"), ("b", 200, -1, "usdjpy")])
    assert (backtest(m, ev2, holding=3, cost_bp=0.5, placebo=30, seed=3).placebo["total"] != 0).any()


def test_summary_of_a_book_without_bets_says_n_a():
    m = _market()
    ev = _events(m.levels.index, [("long", 200, 1, "usdjpy"), ("short", 200, -1, "usdjpy")])
    text = backtest(m, ev, holding=3, cost_bp=0.5, placebo=0).summary()
    assert "0 distinct bets" in text and "hit n/a of bets" in text and "nan%" not in text


def test_cli_backtest_passes_combine_cap_placebo_and_seed(tmp_path, capsys, monkeypatch):
    """The CLI sets what the config and the API set (found by review: only the config could)."""
    import backtests
    from backtests.cli import main

    seen = {}
    real = backtests.backtest

    def spy(*a, **k):
        seen.update(k)
        return real(*a, **k)

    monkeypatch.setattr(backtests, "backtest", spy)
    ev = tmp_path / "events.csv"
    ev.write_text("event_id,theme,timestamp,direction\na,t,2025-04-02T20:30:00Z,1\nb,t,2025-04-09T17:00:00Z,-1\n")
    args = ["backtest", "--events", str(ev), "--series", "ust_10y", "--source", "sample", "--combine", "max",
            "--position-cap", "1", "--placebo", "0", "--seed", "3"]  # fmt: skip
    assert main(args) == 0
    assert (seen["combine"], seen["position_cap"], seen["placebo"], seen["seed"]) == ("max", 1.0, 0, 3)
    assert main([*args[:-8], "--combine", "avg"]) == 2  # a choice outside sum/max/last: a usage error
