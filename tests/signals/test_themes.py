"""Theme book: format, default book views, tagging precision on real headlines, matcher parity."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import signals
from signals import themes as th
from signals._clauses import find_rule, rule_regex
from signals.errors import ConfigError, InputNotFoundError

SERIES = [
    "ust_3m",
    "ust_2y",
    "ust_5y",
    "ust_10y",
    "ust_30y",
    "jgb_2y",
    "jgb_5y",
    "jgb_10y",
    "jgb_20y",
    "jgb_30y",
    "usdjpy",
    "spx",
]


def tags(*titles: str) -> list[tuple[str, ...]]:
    return signals.tag_themes(pd.DataFrame({"title": list(titles)}))["themes"].tolist()


def naive_tags(book: th.ThemeBook, title: str) -> tuple[str, ...]:
    """Independent evaluation: one re.search per pattern and every clause rule run on the whole
    text (no candidate filtering by the one-scan matcher), literal reading of the book's rules."""
    t = title.lower().translate(th._TRANSLATE)

    def found(p: str) -> bool:
        return re.search(rf"(?<!\w)(?:{p})(?!\w)", t) is not None

    neg = book.negation.compiled()
    out = []
    for theme in book:
        score = sum(w for p, w in theme.phrases if found(p))
        for r in theme.rules:
            un = re.compile(rf"(?<![\w-])(?:{r.unless})(?![\w-])") if r.unless else None
            if r.weight and find_rule(t, r, rule_regex(r), un, neg, book.negation.window, len(t)):
                score += r.weight
        if (
            score >= theme.threshold
            and all(found(p) for p in theme.require)
            and not any(found(p) and not any(found(u) for u in un) for p, un in theme.exclude)
        ):
            out.append(theme.name)
    return tuple(out)


def test_default_book_names_series_and_directions():
    book = signals.default_themes()
    assert book.names == (
        "treasury_selloff",
        "yen_intervention",
        "tariffs",
        "boj_policy",
        "fed_policy",
        "japan_treasury_holdings",
    )
    assert list(book.series) == SERIES
    assert book.direction("yen_intervention", "usdjpy") == -1
    assert book.direction("treasury_selloff", "ust_10y") == 1
    assert book.direction("japan_treasury_holdings", "ust_10y") == 1
    assert book.direction("japan_treasury_holdings", "usdjpy") == -1
    # tariffs: directions of an escalation (risk-off); stance (not sentiment) signs events
    assert book.direction("tariffs", "spx") == -1 and not book.sentiment_sign("tariffs")
    assert book.direction("tariffs", "usdjpy") == -1 and book.direction("tariffs", "ust_10y") == -1
    assert not book.sentiment_sign("yen_intervention")
    assert book.direction("boj_policy", "jgb_10y") == 0  # no view
    assert book.direction("no_such_theme", "usdjpy") == 0
    for t in book:
        assert t.description and (t.phrases or t.rules)
        assert set(t.direction) <= set(SERIES) and set(t.direction.values()) <= {-1, 1}


def test_api_contract_headline():
    df = pd.DataFrame({"title": ["Japan signals US Treasury holdings could be a card in tariff talks"]})
    out = signals.score_sentiment(signals.tag_themes(df))
    for c in ("themes", "compound", "pos", "neu", "neg"):
        assert c in out.columns
    assert out["themes"].iloc[0] == ("tariffs", "japan_treasury_holdings")
    assert out["japan_treasury_holdings_score"].iloc[0] >= 2.0
    assert "treasury holdings" in out["theme_matches"].iloc[0]


# positives and tricky negatives, all verbatim titles from ../shared/data/news
POSITIVE = {
    "Japan intervenes to prop up the yen for first time in 24 years": "yen_intervention",
    "Japan intervenes to weaken yen; more to come": "yen_intervention",
    "US Treasury intervenes to support yen after Japan steps in, FT reports": "yen_intervention",
    "Japan to announce joint yen intervention with US, sources say - Reuters": "yen_intervention",
    "Trump threatens to hit all $505bn of Chinese imports with tariffs": "tariffs",
    "FTSE 100 hits record high as markets digest US-China tariff truce": "tariffs",
    "Timeline: Key dates in the U.S.-China trade war": "tariffs",
    "U.S. bond yields hit two-year high; emerging currencies slide": "treasury_selloff",
    "Foreigners flee from U.S. government bonds in April: Treasury": "treasury_selloff",
    "Japan mulling another FX intervention: report": "yen_intervention",
    "U.S. Treasuries sell-off has ripple effect across globe, stocks sink": "treasury_selloff",
    "BOJ eases policy to fight yen rise but impact seen slim": "boj_policy",
    "Fed cuts interest rates, signals holding pattern for now": "fed_policy",
}
NEGATIVE = {
    "Supreme Court rejects Trump's request to intervene in Mar-a-Lago documents fight": "yen_intervention",
    "British-Egyptian activist 'given medical intervention'": "yen_intervention",
    "Paulson won't rule out intervention on dollar": "yen_intervention",
    "Psyence Biomedical stock surges on Trump ibogaine announcement": "yen_intervention",
    "Japan mulls 4th extra budget of 1-2 trillion yen: report": "yen_intervention",
    "Trump sending treasury secretary to China as trade tensions mount": "treasury_selloff",
    "Former Treasury Secretary Larry Summers urges Fed to keep hiking rates": "treasury_selloff",
    "Devolved nations call on Treasury for billions in extra spending": "treasury_selloff",
    "U.S. Treasury yields hit lowest since late 2017, global stocks fall": "treasury_selloff",
    "Portugal bond yield jumps": "treasury_selloff",
    "Stocks up, Treasuries rally after strong auction": "treasury_selloff",
    "Scottish Power launches 100% green energy tariff": "tariffs",
    "BOJ offers virtual tour as headquarters off limits amid pandemic": "boj_policy",
    "MetLife CFO John Hele retires, treasurer to succeed him": "treasury_selloff",
    "Foreigners flee from U.S. government bonds in April: Treasury": "japan_treasury_holdings",
    # a selloff of stocks while yields sink is a bond RALLY; steady yields; other bond markets
    "U.S. stock rout continues as virus spreads, Treasury yields sink": "treasury_selloff",
    "Equities advance after week-long selloff, bond yields steady": "treasury_selloff",
    "Wall Street falls as bond yields hit high dividend stocks": "treasury_selloff",
    "Everything Jim Cramer said on 'Mad Money,' including bond market, Adobe vs. Salesforce, sell-off buys": (
        "treasury_selloff"
    ),
    # FX intervention that is not about the yen
    "Asia to scale back FX intervention as focus shifts": "yen_intervention",
    # Japan and Treasuries, but no use/sale of the holdings (reassurance, private buyers, China)
    "Japan's Noda: U.S. Treasuries still attractive to Japan": "japan_treasury_holdings",
    "Japan Post bought US Treasuries in Oct-Dec: report": "japan_treasury_holdings",
    "China should cut U.S. Treasury holdings: economist": "japan_treasury_holdings",
    "US Treasury intervenes to support yen after Japan steps in, FT reports": "japan_treasury_holdings",
    "Treasury watching markets after Japan quake": "japan_treasury_holdings",
}


@pytest.fixture(scope="module")
def real_titles(shared_data) -> set[str]:
    d = shared_data / "news"
    titles: set[str] = set()
    for f in (
        "reuters_2006_2013_themes.csv",
        "financial_headlines_2017_2020.csv",
        "rss_general_news_2022_subset.csv",
    ):
        titles |= set(pd.read_csv(d / f, dtype=str, keep_default_na=False, usecols=["title"])["title"])
    titles |= set(pd.read_json(d / "rss_business_headlines_2026.jsonl", lines=True, dtype=False)["title"])
    return titles


def test_examples_are_real_titles(real_titles):
    missing = [t for t in (*POSITIVE, *NEGATIVE) if t not in real_titles]
    assert not missing


@pytest.mark.parametrize(("title", "theme"), POSITIVE.items())
def test_positive_examples(title, theme):
    assert theme in tags(title)[0]


@pytest.mark.parametrize(("title", "theme"), NEGATIVE.items())
def test_negative_examples(title, theme):
    assert theme not in tags(title)[0]


def test_matcher_equals_naive_rules_on_real_headlines(real_titles):
    book = signals.default_themes()
    sample = sorted(real_titles)[::7]  # ~9,000 real headlines, deterministic
    got = signals.tag_themes(pd.DataFrame({"title": sample}), book)["themes"].tolist()
    want = [naive_tags(book, t) for t in sample]
    assert got == want
    assert sum(map(bool, got)) > 300  # the sample really exercises the themes


WORDS = [
    "japan",
    "yen",
    "intervenes",
    "intervention",
    "treasury",
    "treasuries",
    "holdings",
    "yields",
    "jump",
    "sell-off",
    "tariffs",
    "trade",
    "talks",
    "fed",
    "boj",
    "rates",
    "hike",
    "card",
    "in",
    "the",
    "u.s.",
    "medical",
    "secretary",
    "bond",
    "market",
    "rout",
    "energy",
    "tariff",
    "10-year",
    "yield",
    "tops",
    "5%",
    "prop",
    "up",
    "buy",
    "sell",
    "us",
    "debt",
    "kato",
    "not",
    "rally",
    "low",
    "swiss",
    "franc",
    "a",
    "for",
]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.sampled_from(WORDS), min_size=1, max_size=14))
def test_matcher_equals_naive_rules_property(words):
    book = signals.default_themes()
    title = " ".join(words)
    assert tags(title)[0] == naive_tags(book, title)


def test_scores_and_audit_columns():
    out = signals.tag_themes(
        pd.DataFrame({"title": ["Yen jumps", "Japan intervenes to buy yen"], "x": [1, 2]})
    )
    assert out["x"].tolist() == [1, 2]
    assert out["yen_intervention_score"].tolist()[0] == 0.0
    # rules "intervene" (intervenes ... yen, 1.0) + "yen_trade" (to buy yen, 1.0)
    assert out["yen_intervention_score"].tolist()[1] == pytest.approx(2.0)
    assert out["theme_rules"].tolist()[1] == ("yen_intervention.intervene", "yen_intervention.yen_trade")
    assert out["yen_intervention_stance"].tolist()[1] == 1.0 and np.isnan(out["yen_intervention_stance"][0])
    assert out["theme_matches"].tolist()[0] == ()


def test_custom_book_and_errors(tmp_path):
    good = tmp_path / "b.toml"
    good.write_text(
        """[book]
series = ["usdjpy"]
[themes.rate_check]
description = "NY Fed rate checks"
phrases = [{pattern = 'rate checks?', weight = 2.0}, 'yen']
threshold = 2.0
require = [['yen|dollar'], ['checks?']]
exclude = ['bank rate check']
[themes.rate_check.direction]
usdjpy = -1
""",
        encoding="utf-8",
    )
    book = signals.load_themes(good)
    assert book.names == ("rate_check",) and book.direction("rate_check", "usdjpy") == -1
    out = signals.tag_themes(
        pd.DataFrame({"title": ["NY Fed rate check on the yen", "rate check", "Bank rate check on yen"]}),
        good,
    )
    assert out["themes"].tolist() == [("rate_check",), (), ()]
    bad = tmp_path / "bad.toml"
    bad.write_text("[themes.x]\nphrases = ['(unclosed']\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="bad regex"):
        signals.load_themes(bad)
    bad.write_text("[themes.x]\nphrases = ['a']\n[themes.x.direction]\neurusd = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="eurusd"):
        signals.load_themes(bad)
    bad.write_text("[themes.x]\nphrase = ['a']\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown key"):
        signals.load_themes(bad)
    with pytest.raises(InputNotFoundError):
        signals.load_themes(tmp_path / "none.toml")
