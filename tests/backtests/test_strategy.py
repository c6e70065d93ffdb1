"""Tests of the signal backtest (backtests/strategy.py).

Independent checks: hand-computed P&L; a naive per-trade loop for positions; quantstats for Sharpe,
Sortino and volatility; a brute-force O(n^2) scan for max drawdown and its duration.
"""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from backtests.market.spec import Market, SeriesSpec
from backtests.strategy import BacktestResult, Rule, backtest, default_sessions, perf_stats, simulate
from signals.errors import ConfigError, InputFormatError, UnknownSeriesError

#: these tests use short markets (no 110-session window before the first entry); the risk-unit
#: warning is tested in test_bt_units.py
pytestmark = pytest.mark.filterwarnings(
    r"ignore:backtest. series '[^']*' (has \d+ daily changes in|did not move in) its risk-unit window"
)


HYP = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# ------------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------------

_SPECS = {
    "jgb_10y": ("yield", "percent", "Asia/Tokyo", dt.time(15, 0), "XTKS"),
    "ust_10y": ("yield", "percent", "America/New_York", dt.time(15, 30), "XNYS"),
    "usdjpy": ("fx", "JPY per USD", "America/New_York", dt.time(12, 0), "FX"),
}


def make_market(levels: pd.DataFrame) -> Market:
    specs = {}
    for c in levels.columns:
        kind, unit, tz, close, cal = _SPECS[c]
        specs[c] = SeriesSpec(c, c, kind, unit, tz, close, cal)
    return Market(levels, specs)


def small_market() -> Market:
    """JGB with Golden Week 2025 holidays (29 Apr, 5-6 May), UST and USD/JPY, Apr-May 2025."""
    idx = pd.bdate_range("2025-04-01", "2025-05-30")
    n = len(idx)
    k = np.arange(n)
    lv = pd.DataFrame(
        {
            "jgb_10y": 1.30 + 0.01 * k,  # +1 bp per session
            "ust_10y": 4.00 - 0.02 * k,  # -2 bp per session
            "usdjpy": 140.0 * np.exp(0.001 * k),  # +10 bp log return per session
        },
        index=idx,
    )
    lv.loc[pd.to_datetime(["2025-04-29", "2025-05-05", "2025-05-06"]), "jgb_10y"] = np.nan
    lv.loc[pd.to_datetime(["2025-05-26"]), ["ust_10y"]] = np.nan  # Memorial Day
    return make_market(lv)


def ev_frame(ts: list[str], **cols) -> pd.DataFrame:
    d = {"event_id": [f"e{i}" for i in range(len(ts))], "timestamp": pd.to_datetime(ts, utc=True)}
    d.update(cols)
    return pd.DataFrame(d)


class FakeBook:
    """Tiny theme book: boj_hawkish -> JGB and USD/JPY down... as a table."""

    names = ("boj_hawkish", "us_inflation")
    table = {("boj_hawkish", "jgb_10y"): 1, ("boj_hawkish", "usdjpy"): -1, ("us_inflation", "ust_10y"): 1}

    def direction(self, theme: str, series: str) -> int:
        return self.table.get((theme, series), 0)


def naive_positions(T, S, sessions, rows, sidx, q, holding):
    """Per-trade loop (independent of simulate's cumulative sums), combine='sum'."""
    pos = np.zeros((T, S))
    for i in range(len(rows)):
        s = sidx[i]
        srows = np.flatnonzero(sessions[:, s])
        k0 = np.searchsorted(srows, rows[i])
        if k0 >= len(srows):
            continue
        k1 = k0 + holding[i]
        start = srows[k0]
        end = srows[k1] if k1 < len(srows) else T
        pos[start:end, s] += q[i]
    return pos


# ------------------------------------------------------------------------------------------------
# core: hand-computed cases
# ------------------------------------------------------------------------------------------------


def test_simulate_one_trade_exact_pnl_net_of_costs():
    C = np.array([[np.nan], [1.0], [2.0], [3.0], [4.0], [5.0], [6.0], [7.0]])
    r = simulate(C, [2], [0], [1], [2.0], [3], cost_bp=0.5)
    # on from the close of row 2 to the close of row 5 (3 sessions), size 2
    np.testing.assert_array_equal(r.positions[:, 0], [0, 0, 2, 2, 2, 0, 0, 0])
    np.testing.assert_array_equal(r.gross[:, 0], [0, 0, 0, 6, 8, 10, 0, 0])
    np.testing.assert_array_equal(r.costs[:, 0], [0, 0, 1, 0, 0, 1, 0, 0])
    assert (r.gross - r.costs).sum() == 22.0
    assert r.trade_gross[0] == 24.0
    assert r.trade_cost[0] == 2.0
    assert r.entry_row[0] == 2
    assert r.exit_row[0] == 5
    assert r.sessions_held[0] == 3
    assert r.closed[0]


def test_simulate_short_and_holidays_count_sessions_of_the_series():
    # series 1 is closed on rows 3 and 4: its 2-session holding spans rows 2 -> 6
    C = np.array([[np.nan, np.nan], [1, 1], [1, 1], [1, np.nan], [1, np.nan], [1, 4], [1, 8], [1, 16.0]])
    S = default_sessions(C)
    assert S[0].all()
    assert not S[3, 1]
    assert not S[4, 1]
    r = simulate(C, [2, 2], [0, 1], [-1, -1], 1.0, 2, cost_bp=[0.0, 0.25])
    np.testing.assert_array_equal(r.positions[:, 1], [0, 0, -1, -1, -1, -1, 0, 0])
    np.testing.assert_array_equal(r.gross[:, 1], [0, 0, 0, 0, 0, -4, -8, 0])
    np.testing.assert_array_equal(r.positions[:, 0], [0, 0, -1, -1, 0, 0, 0, 0])
    assert r.exit_row.tolist() == [4, 6]
    assert r.trade_gross.tolist() == [-2.0, -12.0]
    assert r.costs.sum() == 0.5  # only series 1 has costs: in and out


def test_simulate_entry_on_non_session_moves_to_next_session_and_open_trade():
    C = np.array([[np.nan], [np.nan], [2.0], [3.0]])
    S = np.array([[True], [False], [True], [True]])
    r = simulate(C, [1], [0], [1], 1.0, 5, sessions=S, cost_bp=1.0)
    assert r.entry_row[0] == 2
    assert not r.closed[0]
    assert r.trade_gross[0] == 3.0
    assert r.trade_cost[0] == 1.0
    np.testing.assert_array_equal(r.positions[:, 0], [0, 0, 1, 1])
    # an entry after the last session is not valid
    r2 = simulate(C, [9], [0], [1], 1.0, 2, sessions=S)
    assert not r2.valid[0]
    assert r2.positions.sum() == 0


@pytest.mark.parametrize(
    ("combine", "expected"),
    [
        # held after the closes of rows: A +1 rows 1-3 (h 3); B +2 rows 2-3 (h 2); C -1 rows 3-4 (h 2)
        ("sum", [0, 1, 3, 2, -1, 0, 0]),
        ("max", [0, 1, 2, 1, -1, 0, 0]),  # largest long + largest short
        ("last", [0, 1, 2, -1, -1, 0, 0]),  # latest active entry wins
    ],
)
def test_combine_overlapping_signals(combine, expected):
    C = np.zeros((7, 1))
    C[0] = np.nan
    r = simulate(C, [1, 2, 3], [0, 0, 0], [1, 1, -1], [1.0, 2.0, 1.0], [3, 2, 2], combine=combine)
    np.testing.assert_array_equal(r.positions[:, 0], expected)


def test_last_sums_same_day_signals_and_cap_clips():
    C = np.zeros((6, 1))
    r = simulate(C, [1, 1, 2], [0, 0, 0], [1, 1, 1], [1.0, 1.0, 0.5], [4, 1, 1], combine="last")
    # row 1: two entries same day -> 2; row 2: latest is the 0.5 trade; row 3: only A left -> 1
    np.testing.assert_array_equal(r.positions[:, 0], [0, 2, 0.5, 1, 1, 0])
    r = simulate(C, [1, 1, 2], [0, 0, 0], [1, 1, 1], [1.0, 1.0, 0.5], [4, 1, 1], position_cap=1.5)
    np.testing.assert_array_equal(r.positions[:, 0], [0, 1.5, 1.5, 1, 1, 0])


def test_stop_loss_and_take_profit():
    C = np.array([[np.nan], [0], [-3.0], [-4.0], [10.0], [0]])
    r = simulate(C, [1], [0], [1], 1.0, 4, stop_loss_bp=5.0)
    # cumulative per unit: -3, -7 -> stopped at row 3
    assert r.stopped[0] == -1
    assert r.exit_row[0] == 3
    assert r.trade_gross[0] == -7.0
    np.testing.assert_array_equal(r.positions[:, 0], [0, 1, 1, 0, 0, 0])
    r = simulate(C, [1], [0], [-1], 1.0, 4, take_profit_bp=6.0)
    assert r.stopped[0] == 1
    assert r.exit_row[0] == 3
    assert r.trade_gross[0] == 7.0
    r = simulate(C, [1], [0], [1], 1.0, 4, stop_loss_bp=50.0, take_profit_bp=50.0)
    assert r.stopped[0] == 0
    assert r.exit_row[0] == 5
    assert r.trade_gross[0] == 3.0


# ------------------------------------------------------------------------------------------------
# core: properties
# ------------------------------------------------------------------------------------------------


@st.composite
def trade_sets(draw):
    T = draw(st.integers(3, 30))
    S = draw(st.integers(1, 3))
    C = draw(
        hnp.arrays(float, (T, S), elements=st.floats(-50, 50, allow_nan=False).map(lambda x: round(x, 2)))
    )
    holes = draw(hnp.arrays(bool, (T, S), elements=st.booleans()))
    holes[0] = False
    C[holes] = np.nan
    C[0] = np.nan
    N = draw(st.integers(0, 12))
    rows = np.array(draw(st.lists(st.integers(0, T - 1), min_size=N, max_size=N)), dtype=np.int64)
    sidx = np.array(draw(st.lists(st.integers(0, S - 1), min_size=N, max_size=N)), dtype=np.int64)
    d = np.array(draw(st.lists(st.sampled_from([-1, 1]), min_size=N, max_size=N)), dtype=float)
    q = np.array(draw(st.lists(st.sampled_from([0.5, 1.0, 2.0]), min_size=N, max_size=N)))
    h = np.array(draw(st.lists(st.integers(1, 6), min_size=N, max_size=N)), dtype=np.int64)
    return C, rows, sidx, d, q, h


@HYP
@given(trade_sets())
def test_sum_positions_match_naive_loop_and_trades_add_up(ts):
    C, rows, sidx, d, q, h = ts
    T, S = C.shape
    M = ~np.isnan(C)
    M[0] = True
    r = simulate(C, rows, sidx, d, q, h, sessions=M, cost_bp=0.3)
    pos = naive_positions(T, S, M, rows, sidx, d * q, h)
    np.testing.assert_allclose(r.positions, pos, atol=1e-9)
    # P&L_t = position_{t-1} x change_t on each series' sessions
    prev = np.vstack([np.zeros((1, S)), pos[:-1]])
    np.testing.assert_allclose(r.gross, prev * np.nan_to_num(C), atol=1e-9)
    np.testing.assert_allclose(r.trade_gross.sum(), r.gross.sum(), atol=1e-6)
    turnover = np.abs(np.diff(np.vstack([np.zeros((1, S)), pos]), axis=0))
    np.testing.assert_allclose(r.costs, 0.3 * turnover, atol=1e-9)


@HYP
@given(trade_sets(), st.sampled_from(["sum", "max", "last"]), st.data())
def test_no_look_ahead_pnl_ignores_changes_up_to_entry(ts, combine, data):
    """Changes on or before a trade's entry date never enter its P&L; positions do not depend on
    any change at all (they are set from entry rows only)."""
    C, rows, sidx, d, q, h = ts
    r = simulate(C, rows, sidx, d, q, h, combine=combine)
    if not len(rows):
        return
    i = data.draw(st.integers(0, len(rows) - 1))
    C2 = C.copy()
    upto = r.entry_row[i] if r.valid[i] else C.shape[0] - 1
    noise = data.draw(st.floats(-100, 100, allow_nan=False))
    C2[: upto + 1, sidx[i]] += noise  # alter everything known at the entry close
    r2 = simulate(C2, rows, sidx, d, q, h, combine=combine)
    np.testing.assert_allclose(r2.trade_gross[i], r.trade_gross[i], atol=1e-6)
    np.testing.assert_array_equal(r2.positions, r.positions)


@HYP
@given(trade_sets(), st.floats(0, 5), st.floats(0, 5), st.sampled_from(["sum", "max", "last"]))
def test_costs_monotonic(ts, c1, c2, combine):
    C, rows, sidx, d, q, h = ts
    lo, hi = sorted([c1, c2])
    a = simulate(C, rows, sidx, d, q, h, cost_bp=lo, combine=combine)
    b = simulate(C, rows, sidx, d, q, h, cost_bp=hi, combine=combine)
    np.testing.assert_array_equal(a.gross, b.gross)
    # the placebo's fast path (daily book total only) equals the full computation
    total, valid = simulate(C, rows, sidx, d, q, h, cost_bp=hi, combine=combine, _total_only=True)
    np.testing.assert_allclose(total, (b.gross - b.costs).sum(axis=1), atol=1e-9)
    np.testing.assert_array_equal(valid, b.valid)
    assert (b.gross - b.costs).sum() <= (a.gross - a.costs).sum() + 1e-9
    assert np.all(b.trade_cost >= a.trade_cost)


@HYP
@given(trade_sets(), st.sampled_from(["max", "last"]))
def test_max_and_last_never_exceed_sum_gross_exposure(ts, combine):
    C, rows, sidx, d, q, h = ts
    s = simulate(C, rows, sidx, np.ones_like(d), q, h)  # all long: sum is the upper bound
    o = simulate(C, rows, sidx, np.ones_like(d), q, h, combine=combine)
    assert np.all(o.positions <= s.positions + 1e-12)
    assert np.all((o.positions > 0) == (s.positions > 0))


# ------------------------------------------------------------------------------------------------
# statistics against independent computations
# ------------------------------------------------------------------------------------------------


def brute_drawdown(r):
    eq = np.concatenate([[0.0], np.cumsum(r)])
    mdd = 0.0
    for i in range(len(eq)):
        for j in range(i, len(eq)):
            mdd = min(mdd, eq[j] - eq[i])
    longest = run = 0
    for t in range(1, len(eq)):
        run = run + 1 if eq[t] < eq[:t].max() - 1e-9 else 0
        longest = max(longest, run)
    return mdd, longest


@settings(max_examples=40, deadline=None)
@given(
    hnp.arrays(
        float, st.integers(3, 60), elements=st.floats(-20, 20, allow_nan=False).map(lambda x: round(x, 1))
    )
)
def test_drawdown_matches_brute_force(r):
    s = perf_stats(r)
    mdd, dur = brute_drawdown(r)
    assert s["max_drawdown_bp"] == pytest.approx(mdd, abs=1e-9)
    assert s["max_dd_days"] == dur


def test_sharpe_sortino_vol_match_quantstats():
    qs = pytest.importorskip("quantstats")
    rng = np.random.default_rng(7)
    r = pd.Series(rng.normal(0.3, 5.0, 750), index=pd.bdate_range("2020-01-01", periods=750))
    r[rng.random(750) < 0.4] = 0.0  # flat days, as in a backtest
    s = perf_stats(r.to_numpy())
    assert s["sharpe"] == pytest.approx(qs.stats.sharpe(r, periods=252), rel=1e-12)
    assert s["sortino"] == pytest.approx(qs.stats.sortino(r, periods=252), rel=1e-12)
    assert s["ann_vol_bp"] == pytest.approx(qs.stats.volatility(r, periods=252), rel=1e-12)
    # and by hand (252-day convention)
    assert s["sharpe"] == pytest.approx(r.mean() / r.std(ddof=1) * math.sqrt(252), rel=1e-12)
    assert s["ann_return_bp"] == pytest.approx(252 * r.mean(), rel=1e-12)


def test_trade_stats_by_hand():
    C = np.array([[np.nan], [4.0], [-1.0], [2.0], [-6.0], [1.0]])
    # three one-day trades: +4, -1 (long) and +6 (short over the -6)
    r = simulate(C, [0, 1, 3], [0, 0, 0], [1, 1, -1], 1.0, 1)
    assert r.trade_gross.tolist() == [4.0, -1.0, 6.0]


# ------------------------------------------------------------------------------------------------
# the Market path
# ------------------------------------------------------------------------------------------------


def test_entry_strictly_after_close_one_minute_shift_moves_a_day():
    m = small_market()
    ev = ev_frame(
        ["2025-05-01 14:59+09:00", "2025-05-01 15:00+09:00", "2025-05-01 15:01+09:00"], direction=[1, 1, 1]
    )
    bt = backtest(m, ev, series=["jgb_10y"], placebo=0, holding=1)
    entry = bt.trades.set_index("event_id")["entry"]
    assert entry["e0"] == pd.Timestamp("2025-05-01")
    # exactly at the close cannot trade at that close; after it -> next JGB session (2 May)
    assert entry["e1"] == pd.Timestamp("2025-05-02")
    assert entry["e2"] == pd.Timestamp("2025-05-02")
    # USD/JPY's close is 12:00 New York: 23:59 New York time on 1 May trades on 2 May ...
    ev2 = ev_frame(["2025-05-01 11:59-04:00", "2025-05-01 12:00-04:00"], direction=[1, 1])
    e2 = backtest(m, ev2, series=["usdjpy"], placebo=0).trades.set_index("event_id")["entry"]
    assert e2.tolist() == [pd.Timestamp("2025-05-01"), pd.Timestamp("2025-05-02")]


def test_golden_week_and_holding_in_series_sessions():
    m = small_market()
    ev = ev_frame(["2025-05-02 16:00+09:00"], direction=[1])
    bt = backtest(m, ev, placebo=0, holding=2, cost_bp=0.0)
    tr = bt.trades.set_index("series")
    # 16:00 Tokyo: JGB trades on 7 May (after Golden Week); 03:00 New York 2 May -> UST 2 May
    assert tr.loc["jgb_10y", "entry"] == pd.Timestamp("2025-05-07")
    assert tr.loc["jgb_10y", "exit"] == pd.Timestamp("2025-05-09")
    assert tr.loc["ust_10y", "entry"] == pd.Timestamp("2025-05-02")
    assert tr.loc["ust_10y", "exit"] == pd.Timestamp("2025-05-06")


def test_sign_conventions_yields_and_fx():
    """+1 earns the series' rise: JGB +1 bp/session (yield up = pay-fixed gains), UST -2 bp/session,
    USD/JPY +10 bp log return/session (long dollars gains)."""
    m = small_market()
    ev = ev_frame(["2025-04-07 00:00+00:00"], direction=[1])
    bt = backtest(m, ev, placebo=0, holding=3, cost_bp=0.5)
    g = bt.trades.set_index("series")["gross_bp"]
    assert g["jgb_10y"] == pytest.approx(3.0, abs=1e-9)
    assert g["ust_10y"] == pytest.approx(-6.0, abs=1e-9)
    assert g["usdjpy"] == pytest.approx(30.0, abs=1e-9)
    n = bt.trades.set_index("series")["net_bp"]
    assert n["jgb_10y"] == pytest.approx(2.0, abs=1e-9)  # a unit round trip costs 2 x 0.5 bp
    # per kind, never yield bp + FX bp (#18: no "total" column when both kinds are traded)
    assert bt.pnl["kind:yield"].sum() == pytest.approx(3 - 6 - 2.0, abs=1e-9)
    assert bt.pnl["kind:fx"].sum() == pytest.approx(30 - 1.0, abs=1e-9)
    assert "total" not in bt.pnl and "total" not in bt.stats
    # a short (direction -1) flips every sign
    bt2 = backtest(m, ev.assign(direction=-1), placebo=0, holding=3, cost_bp=0.5)
    g2 = bt2.trades.set_index("series")["gross_bp"]
    assert (g2 == -g).all()


def test_directions_precedence_and_book_and_skipped():
    m = small_market()
    ev = ev_frame(
        ["2025-04-07 00:00+00:00", "2025-04-08 00:00+00:00", "2025-04-09 00:00+00:00"],
        theme=["boj_hawkish", "us_inflation", "unknown"],
    )
    bt = backtest(m, ev, themes=FakeBook(), placebo=0)
    got = {(r.event_id, r.series): r.direction for r in bt.trades.itertuples()}
    assert got == {("e0", "jgb_10y"): 1, ("e0", "usdjpy"): -1, ("e1", "ust_10y"): 1}
    sk = bt.skipped
    assert set(sk["reason"]) == {"no_direction"}
    assert len(sk) == 9 - 3  # nothing silently dropped: every event x series is traded or listed
    # scalar direction overrides the book; direction_<series> overrides the scalar
    ev2 = ev.assign(direction=-1.0, direction_usdjpy=[1.0, np.nan, 1.0])
    bt2 = backtest(m, ev2, themes=FakeBook(), placebo=0)
    got2 = {(r.event_id, r.series): r.direction for r in bt2.trades.itertuples()}
    assert got2[("e0", "jgb_10y")] == -1
    assert got2[("e0", "usdjpy")] == 1
    assert ("e1", "usdjpy") not in got2
    assert bt2.skipped.set_index(["event_id", "series"]).loc[("e1", "usdjpy"), "reason"] == "no_direction"


def test_rules_filter_size_and_sentiment_sign():
    m = small_market()
    ev = ev_frame(
        ["2025-04-07 00:00+00:00", "2025-04-08 00:00+00:00", "2025-04-09 00:00+00:00"],
        theme=["boj_hawkish", "boj_hawkish", "us_inflation"],
        sentiment=[0.8, -0.5, 0.9],
        n_articles=[3, 1, 4],
    )
    r = Rule(
        name="boj",
        themes=["boj_hawkish"],
        series=["jgb_10y"],
        direction="book",
        sentiment_sign=True,
        size_by="sentiment",
        max_size=0.6,
        holding=2,
    )
    bt = backtest(m, ev, rules=r, themes=FakeBook(), placebo=0, cost_bp=0.0)
    tr = bt.trades.set_index("event_id")
    assert list(tr.index) == ["e0", "e1"]
    assert tr.loc["e0", "direction"] == 1
    assert tr.loc["e0", "size"] == pytest.approx(0.6)
    assert tr.loc["e1", "direction"] == -1
    assert tr.loc["e1", "size"] == pytest.approx(0.5)
    assert tr.loc["e0", "gross_bp"] == pytest.approx(0.6 * 2.0)  # +1 bp per JGB session
    sk = bt.skipped
    assert sk.loc[sk["event_id"] == "e2", "reason"].tolist() == ["rule_filter"]
    # several rules, min_abs_sentiment and n_articles
    r2 = Rule(name="strong", min_abs_sentiment=0.85, direction=1, series=["usdjpy"])
    r3 = Rule(name="many", min_articles=4, direction=-1, series=["usdjpy"], size_by="n_articles")
    bt2 = backtest(m, ev, rules=[r2, r3], placebo=0)
    assert sorted(zip(bt2.trades["rule"], bt2.trades["event_id"], bt2.trades["size"])) == [
        ("many", "e2", 4.0),
        ("strong", "e2", 1.0),
    ]
    assert bt2.positions["usdjpy"].min() == -3.0  # sum of +1 and -4


def test_after_and_before_data_are_listed():
    m = small_market()
    ev = ev_frame(
        ["2025-01-01 00:00+00:00", "2025-05-30 23:00+00:00", "2026-05-01 00:00+00:00"], direction=[1, 1, 1]
    )
    bt = backtest(m, ev, placebo=0)
    assert len(bt.trades) == 0
    reasons = bt.skipped.groupby("event_id")["reason"].agg(set).to_dict()
    assert reasons["e0"] == {"before_data"}
    assert reasons["e1"] == {"after_data"}
    assert reasons["e2"] == {"after_data"}
    assert len(bt.skipped) == 9


def test_levels_frame_with_attrs_and_changes_frame_give_same_result():
    from backtests import to_changes
    from backtests.market.changes import series_attrs

    m = small_market()
    ev = ev_frame(["2025-04-07 00:00+00:00", "2025-05-02 16:00+09:00"], direction=[1, -1])
    a = backtest(m, ev, placebo=5)
    lv = m.levels.copy()
    lv.attrs["newsbt_series"] = series_attrs(m)
    b = backtest(lv, ev, placebo=5)
    c = backtest(to_changes(m), ev, placebo=5)
    for x in (b, c):
        pd.testing.assert_frame_equal(a.pnl, x.pnl)
        pd.testing.assert_frame_equal(a.trades, x.trades)
        pd.testing.assert_frame_equal(a.placebo, x.placebo)


def test_placebo_deterministic_with_seed():
    m = small_market()
    ev = ev_frame([f"2025-04-{d:02d} 00:00+00:00" for d in (3, 8, 15, 22)], direction=[1, -1, 1, -1])
    # yields and FX: the placebo ranks the book in currency (#18: was the bp sum across kinds)
    ccy = {"dv01": 850.0, "fx_notional": 1e6}
    a = backtest(m, ev, placebo=30, seed=3, **ccy)
    b = backtest(m, ev, placebo=30, seed=3, **ccy)
    c = backtest(m, ev, placebo=30, seed=4, **ccy)
    pd.testing.assert_frame_equal(a.placebo, b.placebo)
    pd.testing.assert_frame_equal(a.placebo_paths, b.placebo_paths)
    assert not a.placebo["total"].equals(c.placebo["total"])
    assert len(a.placebo) == 30 and (a.placebo["unit"] == "USD").all()
    assert a.placebo_paths.shape == (len(m.levels), 30)
    p = a.book["placebo_pvalue"]
    ours = a.book["sharpe"]
    assert a.book["figure"] == "ccy_total"
    assert p == pytest.approx((1 + (a.placebo["sharpe"] >= ours).sum()) / 31)
    # a placebo draw is the same computation on shifted dates: its total matches its path's end
    np.testing.assert_allclose(a.placebo_paths.iloc[-1].to_numpy(), a.placebo["total"].to_numpy())


def test_stats_frame_consistent_with_pnl():
    m = small_market()
    ev = ev_frame(["2025-04-07 00:00+00:00", "2025-04-09 00:00+00:00"], direction=[1, 1])
    bt = backtest(m, ev, placebo=0, holding=3, cost_bp=0.5)
    st_ = bt.stats
    # #18: per kind, no "total" column across yields and FX
    assert list(st_.columns) == ["kind:fx", "kind:yield", "jgb_10y", "ust_10y", "usdjpy"]
    assert st_.loc["total_bp", "kind:yield"] == pytest.approx(bt.pnl["kind:yield"].sum())
    yields = st_.loc["total_bp", ["jgb_10y", "ust_10y"]].sum()
    assert st_.loc["total_bp", "kind:yield"] == pytest.approx(yields)
    assert st_.loc["total_bp", "kind:fx"] == pytest.approx(st_.loc["total_bp", "usdjpy"])
    assert st_.loc["gross_total_bp", "kind:yield"] - st_.loc["cost_total_bp", "kind:yield"] == pytest.approx(
        st_.loc["total_bp", "kind:yield"]
    )
    # overlapping same-direction trades: turnover in 1+1 at entries, out 1+1 at exits per series
    assert st_.loc["turnover", "jgb_10y"] == 4.0
    assert st_.loc["turnover", "kind:yield"] == 8.0
    assert st_.loc["n_trades", "kind:yield"] == 4 and st_.loc["n_trades", "kind:fx"] == 2
    assert st_.loc["exposure", "jgb_10y"] == pytest.approx(5 / len(m.levels))


def test_result_views():
    m = small_market()
    ev = ev_frame(["2025-04-07 00:00+00:00"], direction=[1])
    bt = backtest(m, ev, placebo=10)
    assert isinstance(bt, BacktestResult)
    s = bt.summary()
    assert "Sharpe" in s
    assert "252" in s
    assert "placebo" in s
    h = bt._repr_html_()
    assert "<table" in h
    assert "sharpe" in h
    # #18: yields and FX traded -> the book is the risk-unit total (constant series: no risk unit)
    assert bt.book["figure"] == "risk_total" and bt.equity.attrs["unit"] == "vol units"
    assert bt.equity.iloc[-1] == pytest.approx(bt.pnl_risk["risk_total"].sum())
    assert (bt.drawdown <= 0).all()
    assert "Book: risk_total in vol units" in s
    frames = {"pnl", "trades", "stats", "placebo", "skipped", "book", "stats_units", "pnl_risk"}
    assert set(bt.to_frames()) >= frames


def test_plot_delegates_to_plots():
    pytest.importorskip("matplotlib")
    m = small_market()
    bt = backtest(m, ev_frame(["2025-04-07 00:00+00:00"], direction=[1]), placebo=5)
    fig = bt.plot()
    assert fig.axes
    import matplotlib.pyplot as plt

    plt.close(fig)


def test_errors_name_the_input():
    m = small_market()
    ev = ev_frame(["2025-04-07 00:00+00:00"], direction=[1])
    with pytest.raises(InputFormatError, match="event_id"):
        backtest(m, ev.drop(columns="event_id"))
    with pytest.raises(InputFormatError, match="duplicate"):
        backtest(m, pd.concat([ev, ev]))
    with pytest.raises(InputFormatError, match="time zone"):
        backtest(m, ev.assign(timestamp=ev["timestamp"].dt.tz_localize(None)))
    with pytest.raises(ConfigError, match="combine"):
        backtest(m, ev, combine="mean")
    with pytest.raises(ConfigError, match="holding"):
        backtest(m, ev, holding=0)
    with pytest.raises(ConfigError, match="cost_bp"):
        backtest(m, ev, cost_bp={"usdjpy": 0.1})
    with pytest.raises(UnknownSeriesError, match="nope"):
        backtest(m, ev, series=["nope"])
    with pytest.raises(ConfigError, match="unknown rule key"):
        Rule.from_dict({"holdin": 3})
    with pytest.raises(ConfigError, match="direction"):
        Rule(direction="up")
    with pytest.raises(InputFormatError, match="sentiment"):
        backtest(m, ev, rules=Rule(min_abs_sentiment=0.5))


def test_per_series_costs():
    m = small_market()
    ev = ev_frame(["2025-04-07 00:00+00:00"], direction=[1])
    bt = backtest(m, ev, placebo=0, cost_bp={"usdjpy": 2.0, "default": 0.0})
    c = bt.costs.sum()
    assert c["usdjpy"] == 4.0
    assert c["jgb_10y"] == 0.0
    assert c["kind:fx"] == 4.0 and c["kind:yield"] == 0.0


def test_empty_events():
    m = small_market()
    ev = ev_frame([], direction=[])
    bt = backtest(m, ev, placebo=5)
    assert len(bt.trades) == 0
    assert (bt.positions == 0).all().all()
    assert len(bt.placebo) == 0


# ------------------------------------------------------------------------------------------------
# real-format data: official Japanese interventions traded on H.10 USD/JPY
# ------------------------------------------------------------------------------------------------


def test_mof_interventions_on_usdjpy_real_files(shared_data):
    lv = pd.read_csv(shared_data / "market" / "usdjpy_daily.csv", parse_dates=["date"], index_col="date")
    lv = lv.loc["2010":"2023"]
    m = make_market(lv[["usdjpy"]])
    iv = pd.read_csv(shared_data / "market" / "mof_fx_interventions.csv", parse_dates=["date"])
    iv = iv[(iv["pair"] == "USD/JPY") & iv["jpy_direction"].isin(["buy_jpy", "sell_jpy"])]
    iv = iv[(iv["date"] >= "2010-01-01") & (iv["date"] <= "2023-12-31")]
    ev = pd.DataFrame(
        {
            "event_id": [f"mof-{d:%Y%m%d}" for d in iv["date"]],
            "date": iv["date"].to_numpy(),  # date-only: end of the Tokyo day -> next NY noon fix
            "tz": "Asia/Tokyo",
            # yen bought -> USD/JPY expected down
            "direction_usdjpy": np.where(iv["jpy_direction"] == "buy_jpy", -1.0, 1.0),
        }
    )
    assert len(ev) >= 10  # 2010-2011 yen selling, 2022 yen buying
    bt = backtest(m, ev, holding=5, cost_bp=0.0, placebo=20)
    assert len(bt.trades) + len(bt.skipped) == len(ev)
    # one trade recomputed from the raw file by hand: 1e4 x ln(level at exit / level at entry)
    t = bt.trades.iloc[0]
    s = lv["usdjpy"].dropna()
    assert t["event_id"] == "mof-20100915"
    assert t["entry"] == pd.Timestamp("2010-09-15")
    # entry close (12:00 New York on the entry date) is strictly after the end of the Tokyo day
    entry_close = (t["entry"] + pd.Timedelta(hours=12)).tz_localize("America/New_York")
    day = pd.Timestamp(ev.set_index("event_id").loc[t["event_id"], "date"])
    end_tokyo = (day + pd.Timedelta(days=1) - pd.Timedelta(microseconds=1)).tz_localize("Asia/Tokyo")
    assert entry_close > end_tokyo
    prev_close = (s.index[s.index.get_loc(t["entry"]) - 1] + pd.Timedelta(hours=12)).tz_localize(
        "America/New_York"
    )
    assert prev_close <= end_tokyo  # and it is the first such close
    hand = t["direction"] * 1e4 * math.log(s.loc[t["exit"]] / s.loc[t["entry"]])
    assert t["gross_bp"] == pytest.approx(hand, rel=1e-9)
    assert s.index.get_loc(t["exit"]) - s.index.get_loc(t["entry"]) == 5


# ------------------------------------------------------------------------------------------------
# more Market-path properties
# ------------------------------------------------------------------------------------------------

_T0 = pd.Timestamp("2025-04-01 00:00", tz="UTC")


@settings(max_examples=25, deadline=None)
@given(st.lists(st.integers(0, 50 * 24 * 60), min_size=1, max_size=6))
def test_no_look_ahead_entry_is_first_close_strictly_after(minutes):
    """Independent of align_events: the entry date's close (series zone) is strictly after the
    event, and the series' previous session's close is not."""
    m = small_market()
    ts = [_T0 + pd.Timedelta(minutes=x) for x in minutes]
    ev = pd.DataFrame({"event_id": range(len(ts)), "timestamp": pd.DatetimeIndex(ts), "direction": 1})
    bt = backtest(m, ev, placebo=0)
    for t in bt.trades.itertuples():
        _, _, tz, close, _ = _SPECS[t.series]
        sess = m.levels[t.series].dropna().index
        ts_ev = ts[t.event_id]

        def close_of(d, close=close, tz=tz):
            return (d + pd.Timedelta(hours=close.hour, minutes=close.minute)).tz_localize(tz)

        assert close_of(t.entry) > ts_ev
        k = sess.get_loc(t.entry)
        if k > 0:
            assert close_of(sess[k - 1]) <= ts_ev
    # every event x series is either traded or listed as skipped
    assert len(bt.trades) + len(bt.skipped) == 3 * len(ts)


def test_book_sentiment_sign_followed_by_default_and_rule_override():
    class SignedBook(FakeBook):
        def sentiment_sign(self, theme):
            return theme == "boj_hawkish"

    m = small_market()
    ev = ev_frame(
        ["2025-04-07 00:00+00:00", "2025-04-08 00:00+00:00", "2025-04-09 00:00+00:00"],
        theme=["boj_hawkish", "boj_hawkish", "us_inflation"],
        sentiment=[0.5, -0.5, -0.5],
    )
    bt = backtest(m, ev, themes=SignedBook(), placebo=0)
    got = {(r.event_id, r.series): r.direction for r in bt.trades.itertuples()}
    # boj_hawkish flips with sentiment; us_inflation does not
    assert got == {
        ("e0", "jgb_10y"): 1,
        ("e0", "usdjpy"): -1,
        ("e1", "jgb_10y"): -1,
        ("e1", "usdjpy"): 1,
        ("e2", "ust_10y"): 1,
    }
    off = backtest(m, ev, rules=Rule(sentiment_sign=False), themes=SignedBook(), placebo=0)
    assert off.trades.set_index(["event_id", "series"]).loc[("e1", "jgb_10y"), "direction"] == 1
    on = backtest(m, ev, rules=Rule(sentiment_sign=True), themes=SignedBook(), placebo=0)
    assert on.trades.set_index(["event_id", "series"]).loc[("e2", "ust_10y"), "direction"] == -1
    assert on.trades.set_index(["event_id", "series"]).loc[("e1", "jgb_10y"), "direction"] == -1


def test_series_subset_and_event_series_column():
    m = small_market()
    ev = ev_frame(
        ["2025-04-07 00:00+00:00", "2025-04-08 00:00+00:00"], direction=[1, 1], series=["usdjpy", "jgb_10y"]
    )
    bt = backtest(m, ev, series=["usdjpy"], placebo=0)
    assert bt.trades[["event_id", "series"]].to_numpy().tolist() == [["e0", "usdjpy"]]
    assert bt.skipped[["event_id", "series", "reason"]].to_numpy().tolist() == [
        ["e1", "jgb_10y", "series_not_selected"]
    ]
    assert list(bt.positions.columns) == ["usdjpy"]


def test_end_to_end_with_bundled_market_and_default_theme_book():
    import signals
    from backtests import load_market

    m = load_market(["jgb_10y", "ust_10y", "usdjpy"], start="2022-01-01", end="2024-12-31", source="sample")
    ev = pd.DataFrame(
        {
            "event_id": ["boj-2022-12-20", "mof-2022-09-22", "mof-2024-04-29"],
            "timestamp": pd.to_datetime(
                ["2022-12-20 12:30+09:00", "2022-09-22 17:00+09:00", "2024-04-29 13:00+09:00"], utc=True
            ),
            "theme": ["treasury_selloff", "yen_intervention", "yen_intervention"],
            "sentiment": [-0.4, -0.3, -0.2],
        }
    )
    bt = backtest(m, ev, themes=signals.default_themes(), holding=5, placebo=50)
    tr = bt.trades.set_index(["event_id", "series"])
    # BoJ YCC band widening at lunchtime Tokyo: JGB enters the same day's 15:00 close
    assert tr.loc[("boj-2022-12-20", "jgb_10y"), "entry"] == pd.Timestamp("2022-12-20")
    assert tr.loc[("boj-2022-12-20", "jgb_10y"), "direction"] == 1
    # 22 Sep 2022 intervention after the Tokyo close: USD/JPY enters at the New York noon fix that day
    assert tr.loc[("mof-2022-09-22", "usdjpy"), "entry"] == pd.Timestamp("2022-09-22")
    assert tr.loc[("mof-2022-09-22", "usdjpy"), "direction"] == -1
    # the book has no view for yen_intervention on yields: listed, not dropped
    sk = bt.skipped.set_index(["event_id", "series"])
    assert sk.loc[("mof-2022-09-22", "jgb_10y"), "reason"] == "no_direction"
    assert len(bt.trades) + len(bt.skipped) == 9
    lv = m.levels["usdjpy"].dropna()
    t = tr.loc[("mof-2022-09-22", "usdjpy")]
    assert t["gross_bp"] == pytest.approx(-1e4 * math.log(lv[t["exit"]] / lv[t["entry"]]), rel=1e-9)


def test_result_pickles_and_names_its_options_settings():
    import pickle

    from backtests import load_market

    m = load_market(["usdjpy"], start="2023-01-01", end="2023-12-31", source="sample")
    ev = pd.DataFrame(
        {"event_id": ["a", "b"], "date": pd.to_datetime(["2023-03-01", "2023-06-01"]), "direction": [1, -1]}
    )
    bt = backtest(m, ev, holding=3, placebo=5, seed=2)
    back = pickle.loads(pickle.dumps(bt))
    pd.testing.assert_frame_equal(back.trades, bt.trades)
    pd.testing.assert_frame_equal(back.stats, bt.stats)
    assert back.settings == bt.settings
    assert bt.settings["holding"] == 3 and bt.settings["placebo"] == 5 and bt.settings["seed"] == 2
    assert not hasattr(bt, "params")  # one name for the options


def test_a_broken_theme_book_is_an_error_not_no_view():
    class Broken:
        def direction(self, theme, series):
            raise RuntimeError("book file is corrupt")

    from backtests import load_market

    m = load_market(["usdjpy"], start="2023-01-01", end="2023-12-31", source="sample")
    ev = pd.DataFrame({"event_id": ["a"], "date": pd.to_datetime(["2023-03-01"]), "theme": ["x"]})
    with pytest.raises(RuntimeError, match="corrupt"):
        backtest(m, ev, themes=Broken(), placebo=0)
