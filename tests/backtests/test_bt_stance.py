"""direction="book" uses the event's stance (#19): theme direction x stance; neutral and mixed events
are not traded unless a rule says so; the sentiment sign is never applied on top of a stance."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from backtests.market.spec import Market, SeriesSpec
from backtests.strategy import Rule, backtest

#: these tests use short markets (no 110-session window before the first entry); the risk-unit
#: warning is tested in test_bt_units.py
pytestmark = pytest.mark.filterwarnings(
    r"ignore:backtest. series '[^']*' (has \d+ daily changes in|did not move in) its risk-unit window"
)


ROOT = Path(__file__).resolve().parents[2]


class Book:
    """tariffs: UST 10y up, USD/JPY down; direction flips with sentiment for events without stance."""

    series = ("ust_10y", "usdjpy")
    table = {("tariffs", "ust_10y"): 1, ("tariffs", "usdjpy"): -1}

    def direction(self, theme: str, series: str) -> int:
        return self.table.get((theme, series), 0)

    def sentiment_sign(self, theme: str) -> bool:
        return theme == "tariffs"


def _market() -> Market:
    idx = pd.bdate_range("2025-03-03", periods=40)
    k = np.arange(len(idx))
    lv = pd.DataFrame({"ust_10y": 4.0 + 0.01 * k, "usdjpy": 150 * np.exp(0.001 * k)}, index=idx)
    specs = {
        "ust_10y": SeriesSpec(
            "ust_10y", "UST 10y", "yield", "percent", "America/New_York", dt.time(15, 30), "XNYS"
        ),
        "usdjpy": SeriesSpec(
            "usdjpy", "USD/JPY", "fx", "JPY per USD", "America/New_York", dt.time(12, 0), "FX"
        ),
    }
    return Market(lv, specs)


def _events() -> pd.DataFrame:
    # escalation with a negative sentiment: the stance decides, the sentiment sign is not applied on top
    rows = [
        ("esc", 1.0, "escalation", -0.8),
        ("deesc", -1.0, "de-escalation", 0.6),
        ("neutral", 0.0, "neutral", -0.5),
        ("mixed", 1.0, "mixed", 0.1),
        ("nostance", np.nan, "", -0.4),  # no stance: the old rule, book sign x sentiment sign
    ]
    ts = pd.date_range("2025-03-10 14:00", periods=len(rows), freq="3D", tz="UTC")
    return pd.DataFrame(
        {
            "event_id": [r[0] for r in rows],
            "timestamp": ts,
            "theme": "tariffs",
            "stance": [r[1] for r in rows],
            "stance_kind": [r[2] for r in rows],
            "sentiment": [r[3] for r in rows],
        }
    )


def _dirs(bt) -> dict:
    return {(r.event_id, r.series): r.direction for r in bt.trades.itertuples()}


def test_book_direction_is_theme_direction_times_stance():
    bt = backtest(_market(), _events(), rules=Rule(direction="book"), themes=Book(), placebo=0)
    got = _dirs(bt)
    assert got[("esc", "ust_10y")] == 1 and got[("esc", "usdjpy")] == -1  # escalation: the book's sign
    assert got[("deesc", "ust_10y")] == -1 and got[("deesc", "usdjpy")] == 1  # de-escalation reverses it
    assert got[("nostance", "ust_10y")] == -1 and got[("nostance", "usdjpy")] == 1  # sentiment -0.4 flips
    sk = bt.skipped.set_index(["event_id", "series"])
    assert sk.loc[("neutral", "ust_10y"), "reason"] == "no_direction"
    assert "neutral event" in sk.loc[("neutral", "usdjpy"), "detail"]
    assert (sk.loc["mixed", "reason"] == "mixed_stance").all()
    assert set(bt.trades["event_id"]) == {"esc", "deesc", "nostance"}


def test_mixed_events_trade_only_when_the_rule_says_so():
    bt = backtest(
        _market(), _events(), rules=Rule(direction="book", trade_mixed=True), themes=Book(), placebo=0
    )
    got = _dirs(bt)
    assert got[("mixed", "ust_10y")] == 1 and got[("mixed", "usdjpy")] == -1  # net stance +1
    assert "neutral" not in set(bt.trades["event_id"])  # neutral never has a direction
    # an explicit sign ignores stance: every event is traded with that sign
    fixed = backtest(_market(), _events(), rules=Rule(direction=-1), themes=Book(), placebo=0)
    assert len(fixed.trades) == 10 and (fixed.trades["direction"] == -1).all()


def test_sentiment_sign_true_is_the_users_explicit_choice():
    bt = backtest(
        _market(), _events(), rules=Rule(direction="book", sentiment_sign=True), themes=Book(), placebo=0
    )
    got = _dirs(bt)
    assert got[("esc", "ust_10y")] == -1  # stance +1 x book +1, times the sign of sentiment -0.8, once
    assert got[("nostance", "ust_10y")] == -1  # book +1 x sentiment -0.4: not applied twice


def test_book_mode_matches_the_event_direction_columns_on_real_news():
    import backtests
    import signals

    arts = signals.read_articles(ROOT / "data/news/sample_articles.jsonl")
    events = signals.extract_events(signals.score_sentiment(signals.tag_themes(arts)), gap="6h")
    assert {"escalation", "de-escalation", "neutral"} <= set(events["stance_kind"])
    market = backtests.load_market(["ust_10y", "jgb_10y", "usdjpy"], start="2024-06-01", source="sample")
    book = backtest(market, events, rules=Rule(direction="book"), placebo=0)
    cols = backtest(market, events, rules=Rule(direction="column"), placebo=0)
    pd.testing.assert_frame_equal(book.trades, cols.trades)
    assert len(book.trades) > 0
    neutral = set(events.loc[events["stance_kind"] == "neutral", "event_id"])
    assert not neutral & set(book.trades["event_id"])
    mixed = events.loc[events["stance_kind"] == "mixed", "event_id"]
    assert (book.skipped.set_index("event_id").loc[list(mixed), "reason"] == "mixed_stance").all()


@pytest.mark.parametrize("stance", [1.0, -1.0])
def test_auto_falls_back_to_book_times_stance(stance):
    ev = _events().iloc[[0]].assign(stance=stance)
    bt = backtest(_market(), ev, themes=Book(), placebo=0)  # no direction columns: auto -> book
    assert _dirs(bt)[("esc", "ust_10y")] == int(stance)


@pytest.mark.parametrize("bad", ["escalation", 0.5, "up"])
def test_a_stance_that_is_not_plus_one_zero_minus_one_or_nan_is_refused(bad):
    from signals.errors import InputFormatError

    ev = _events()
    ev["stance"] = ev["stance"].astype(object)
    ev.loc[1, "stance"] = bad  # one bad row among numbers: never coerced to NaN and traded as "no stance"
    with pytest.raises(InputFormatError, match=r"'stance'.*rows \[1\].*" + repr(bad) + r".*\+1.*0.*-1.*NaN"):
        backtest(_market(), ev, rule=Rule(direction="book"), themes=Book(), holding=2, placebo=0)


def test_stance_accepts_numbers_as_text_and_empty_cells():
    ev = _events()
    ev["stance"] = ["1", "-1", "0", "1", ""]  # a CSV read as text: the same trades as the numbers
    got = backtest(_market(), ev, rule=Rule(direction="book"), themes=Book(), holding=2, placebo=0)
    want = backtest(_market(), _events(), rule=Rule(direction="book"), themes=Book(), holding=2, placebo=0)
    pd.testing.assert_frame_equal(got.trades, want.trades)
