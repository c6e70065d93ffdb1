"""The verdict's sentences on constructed honest-answers tables (the shapes of issue #18's
``study.headline``, ``study.confounders`` and single-event view): significant, not significant,
single event, with a confounder. Every number in a sentence is the table's own, formatted."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from backtests.errors import InputFormatError
from backtests.sections import verdict_section
from backtests.verdict import (
    CONFOUNDER_COLUMNS,
    HEADLINE_COLUMNS,
    confounder_phrases,
    event_sentences,
    pick_window,
    theme_sentences,
)


def headline(rows) -> pd.DataFrame:
    base = {"start": 0, "end": 1, "statistic": 2.0, "n_eff": 10.0, "stars": ""}
    return pd.DataFrame([base | r for r in rows], columns=list(HEADLINE_COLUMNS))


SIG = headline(
    [
        {"group": "tariffs", "series": "ust_10y", "n": 12, "car": 12.34, "test": "bmp", "pvalue": 0.001,
         "qvalue": 0.0123, "stars": "**"},
        {"group": "tariffs", "series": "jgb_10y", "n": 12, "car": -3.21, "test": "bmp", "pvalue": 0.2,
         "qvalue": 0.4},
        {"group": "tariffs", "series": "ust_2y", "n": 12, "car": 5.55, "test": "bmp", "pvalue": 0.08,
         "qvalue": 0.31},
    ]
)  # fmt: skip


def test_significant_cell_is_named_with_its_test_p_q_and_stars():
    (s,) = theme_sentences(SIG)
    assert s.startswith("Tariffs (12 events, effective N 10), CAR over day 0 and day 1:")
    assert "UST 10y +12.3 bp** (BMP p 0.00100, q 0.0123)" in s
    # the rest: counted, largest move (UST 2y +5.5 beats JGB 10y -3.2) and the lowest q of the rest
    assert "the other 2 series not distinguishable from noise (largest move UST 2y +5.5 bp, BMP p 0.0800" in s
    assert "lowest q 0.310" in s


def test_nothing_significant_says_so_with_the_largest_move():
    h = SIG.assign(stars="", qvalue=[0.2, 0.5, 0.31])
    (s,) = theme_sentences(h)
    assert (
        "no series distinguishable from noise (largest move UST 10y +12.3 bp, BMP p 0.00100; lowest q 0.200)"
        in s
    )
    assert "**" not in s


def test_single_event_and_too_few_independent_events():
    one = headline([{"group": "japan_treasury_holdings", "series": "usdjpy", "n": 1, "n_eff": 1.0, "car": 88.6,
                     "test": "placebo", "pvalue": 0.27, "qvalue": 0.8}])  # fmt: skip
    (s,) = theme_sentences(one)
    assert s.startswith("Japan treasury holdings (1 event, effective N 1)")
    assert "USD/JPY +88.6 bp, placebo p 0.270" in s and s.endswith("One event: an anecdote, not a pattern.")
    two = one.assign(n=2, n_eff=2.0)
    assert theme_sentences(two)[0].endswith("Fewer than 3 independent events: no stars by rule.")


def test_window_choice():
    h = pd.concat([SIG, SIG.assign(start=-5, end=10, car=99.0)])
    assert pick_window(h) == (0, 1)
    assert pick_window(h.query("start == -5")) == (-5, 10)
    assert "+99.0 bp" in theme_sentences(h, window=(-5, 10))[0]
    assert "+99.0 bp" not in theme_sentences(h)[0]


PAYROLLS = pd.DataFrame(
    {
        "event_id": ["e1"] * 3,
        "series": ["ust_10y", "usdjpy", "jgb_10y"],
        "release": ["US payrolls"] * 3,
        "release_time": pd.Timestamp("2025-05-02T12:30Z"),
        "rel_day": [0, 0, 0],
        "before_close": [True, True, False],
    },
    columns=list(CONFOUNDER_COLUMNS),
)


def test_confounder_named_in_local_time_and_closes():
    assert confounder_phrases(PAYROLLS, "e1") == [
        "US payrolls 08:30 New York on day 0, before the UST 10y and USD/JPY closes"
    ]
    assert confounder_phrases(PAYROLLS, "other") == []
    boj = PAYROLLS.assign(release="BoJ policy decision", release_time=pd.Timestamp("2025-05-01T03:00Z"),
                          rel_day=-1, before_close=False)  # fmt: skip
    assert confounder_phrases(boj, "e1") == ["BoJ policy decision 12:00 Tokyo on day -1"]


VIEW = pd.DataFrame(
    {
        "series": ["usdjpy", "ust_10y"],
        "level_before": [145.5, 4.25],
        "level_after": [144.6, 4.33],
        "change_bp": [-66.2, 8.0],
        "change_sd": [-0.8, 1.4],
        "ar": [-58.7, 7.9],
        "car": [-58.7, 7.9],
        "placebo_p": [0.27, 0.012],
    }
)


def test_event_sentences_with_and_without_confounder():
    lead, *s = event_sentences(VIEW, confounders=PAYROLLS, event_id="e1", model="raw")
    assert "abnormal change under the 'raw' model" in lead
    assert s[0] == (
        "UST 10y +8.0 bp on day 0 (+1.4 sd); abnormal +7.9 bp: larger than on nearly all normal days "
        "(placebo p 0.0120)."
    )  # maturity order first, then FX
    assert (
        s[1].startswith("USD/JPY -66.2 bp on day 0 (-0.8 sd)")
        and "not distinguishable from a normal day (placebo p 0.270)" in s[1]
    )
    assert (
        s[2]
        == "Also in the window: US payrolls 08:30 New York on day 0, before the UST 10y and USD/JPY closes."
    )
    quiet = event_sentences(VIEW, confounders=PAYROLLS.iloc[:0], event_id="e1")
    assert quiet[-1].startswith("No scheduled release")
    assert len(event_sentences(VIEW)) == 2  # no confounder table: nothing claimed either way


def test_missing_columns_are_a_clear_error():
    with pytest.raises(InputFormatError, match=r"study.headline lacks column\(s\) \['qvalue'\]"):
        theme_sentences(SIG.drop(columns="qvalue"))
    with pytest.raises(InputFormatError, match="placebo_p"):
        event_sentences(VIEW.drop(columns="placebo_p"))


class _Study:
    """The attributes the verdict reads, nothing else."""

    def __init__(self, headline, confounders=None):
        self.headline = headline
        self.confounders = confounders
        self.settings = {"model": "raw", "window": (-5, 10), "estimation": (-120, -11)}
        self.unit = "bp"
        self.tests = pd.DataFrame()


def test_verdict_section_reads_the_study_tables():
    st = _Study(SIG, PAYROLLS)
    ev = {
        "event_id": "e1",
        "theme": "tariffs",
        "timestamp": pd.Timestamp("2025-05-02T01:50Z"),
        "headline": "H",
    }
    sec = verdict_section(st, None, event_view=VIEW, event=ev)
    assert sec.key == "verdict"
    assert "Fri 02 May 2025 10:50 Tokyo" in sec.paragraphs[0]
    assert sec.bullets[0].startswith("UST 10y +8.0 bp on day 0")
    assert any("US payrolls 08:30 New York" in b for b in sec.bullets)
    assert any("UST 10y +12.3 bp**" in b for b in sec.bullets)
    assert "Benjamini-Hochberg adjusted over all 3 cells" in sec.note
    assert not np.isnan(SIG["qvalue"]).any()


def test_backtest_verdict_never_adds_yield_bp_to_fx_bp():
    from types import SimpleNamespace

    from backtests.sections import _bt_verdict

    def row(scope, kind, unit, total, n_bets, hit, t, sharpe=0.5, exposure=0.1):
        return {"scope": scope, "kind": kind, "unit": unit, "total": total, "n_bets": n_bets,
                "hit_rate_bets": hit, "t_bet": t, "sharpe": sharpe, "exposure": exposure}  # fmt: skip

    two = pd.DataFrame([
        row("series", "yield", "bp of yield", -100.0, 9, 0.2, -1.0),
        row("kind", "yield", "bp of yield", -205.0, 16, 0.25, -2.06),
        row("kind", "fx", "bp (log return)", 1069.0, 17, 0.71, 1.65),
        row("risk", "all", "vol units", -31.1, 33, 0.48, -0.92, sharpe=-0.64, exposure=0.09),
    ])  # fmt: skip
    text = _bt_verdict(SimpleNamespace(stats_units=two), 0.144)
    assert "yield -205 bp of yield (16 bets, hit 25%, t -2.06)" in text
    assert "fx +1069 bp (log return) (17 bets, hit 71%, t 1.65)" in text
    assert "Sharpe -0.64 at 9% exposure" in text
    assert "+864" not in text and "placebo" not in text  # no bp sum across kinds, no placebo of that sum
    one = two[two["kind"].isin(["fx", "all"])]
    assert "placebo p 0.144" in _bt_verdict(SimpleNamespace(stats_units=one), 0.144)
    assert _bt_verdict(SimpleNamespace(stats_units=None), 0.1) is None


def test_backtest_verdict_ranks_the_placebo_on_the_book():
    from types import SimpleNamespace

    from backtests.sections import _bt_verdict

    rows = [
        {"scope": "kind", "kind": "yield", "unit": "bp of yield", "total": -205.0, "n_bets": 16, "hit_rate_bets": 0.25,
         "t_bet": -2.06, "sharpe": 0.1, "exposure": 0.1},
        {"scope": "kind", "kind": "fx", "unit": "bp (log return)", "total": 1069.0, "n_bets": 17, "hit_rate_bets": 0.71,
         "t_bet": 1.65, "sharpe": 0.4, "exposure": 0.1},
        {"scope": "risk", "kind": "all", "unit": "vol units", "total": -31.1, "n_bets": 33, "hit_rate_bets": 0.48,
         "t_bet": -0.92, "sharpe": -0.64, "exposure": 0.09},
    ]  # fmt: skip
    su = pd.DataFrame(rows)
    risk = pd.Series({"figure": "risk_total", "unit": "vol units", "total": -31.1})
    text = _bt_verdict(SimpleNamespace(stats_units=su, book=risk), 0.144)
    assert "placebo p 0.144 for the risk-unit total (rank of its total net P&L" in text and "+864" not in text
    ccy = pd.Series({"figure": "ccy_total", "unit": "USD", "total": 45874.2})
    text = _bt_verdict(SimpleNamespace(stats_units=su, book=ccy), 0.2)
    assert "in USD (DV01 / notional): +45,874" in text
    assert "placebo p 0.2" in text and "for the currency total" in text


def test_verdict_and_summary_quote_the_same_labelled_placebo_p():
    import datetime as dt

    from backtests.market.spec import Market, SeriesSpec
    from backtests.report import portfolio_stats
    from backtests.sections import _bt_verdict
    from backtests.strategy import backtest

    rng = np.random.default_rng(0)
    idx = pd.bdate_range("2024-01-01", periods=260)
    lv = pd.DataFrame({"ust_10y": 4 + np.cumsum(rng.normal(0, 0.05, 260)),
                       "usdjpy": 150 * np.exp(np.cumsum(rng.normal(0, 0.005, 260)))}, index=idx)  # fmt: skip
    ny = ("America/New_York", dt.time(15, 30), "XNYS")
    specs = {"ust_10y": SeriesSpec("ust_10y", "UST 10y", "yield", "percent", *ny),
             "usdjpy": SeriesSpec("usdjpy", "USD/JPY", "fx", "JPY per USD", "America/New_York", dt.time(12, 0), "FX")}  # fmt: skip
    ts = [pd.Timestamp(idx[d]).tz_localize("America/New_York") + pd.Timedelta(hours=9) for d in (150, 180, 210)]
    ev = pd.DataFrame({"event_id": ["a", "b", "c"], "timestamp": ts, "direction": [1, -1, 1]})
    bt = backtest(Market(lv, specs), ev, holding=3, placebo=19, seed=1)
    p = bt.book["placebo_total_pvalue"]
    want = f"placebo p {p:.3f} for the risk-unit total (rank of its total net P&L"
    assert want in bt.summary()
    line = _bt_verdict(bt, portfolio_stats(bt).get("placebo_total_pvalue"))
    from backtests.verdict import _p

    # the same p (the total's rank, not the Sharpe's) with the same label in both
    assert f"placebo p {_p(p)} for the risk-unit total (rank of its total net P&L" in line
    assert float(_p(p)) == pytest.approx(p, abs=5e-4)
    assert f"placebo p {bt.book['placebo_pvalue']:.3f} for its Sharpe" in bt.summary()
