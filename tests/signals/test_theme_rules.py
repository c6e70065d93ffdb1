"""Clause rules, stance with negation scope, explain, evaluation and measured quality (issue #19).

Phrases here are our own wording (real-style), not copied from the labelled items."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import signals
from signals._clauses import CLAUSE_BREAK, Rule, clause_bounds, find_rule, rule_regex
from signals.errors import ConfigError, InputFormatError
from signals.evaluate import PARTS, evaluate_themes, load_labelled
from signals.explain import explain_event, format_explanation


def tag(*titles: str, body: tuple[str, ...] | None = None) -> pd.DataFrame:
    df = pd.DataFrame({"title": list(titles)})
    if body is not None:
        df["body"] = list(body)
    return signals.tag_themes(df)


def has(theme: str, title: str, body: str = "") -> bool:
    return theme in tag(title, body=(body,))["themes"].iloc[0]


def stance(theme: str, title: str, body: str = "") -> float:
    return float(tag(title, body=(body,))[f"{theme}_stance"].iloc[0])


# ----------------------------------------------------------------------------- rule families
TREASURY_POS = [
    "Treasuries, dollar sink on renewed deficit fears",  # comma list: one clause
    "Investors dump U.S. Treasuries as inflation jumps",
    "Ten-year Treasury yield climbs to a nine-month high",
    "Long bond yield tops 5% for first time since 2007",
    "U.S. bonds resume sell-off as payrolls beat forecasts",
    "Wall Street slides as U.S. yields rise",  # stocks fall as yields rise
    "Surging Treasury yields rattle homebuilders",
    "Foreign central banks sell U.S. government debt at record pace",
    "Selloff in U.S. Treasuries deepens after weak auction",
]
TREASURY_NEG = [
    "Treasury yields fall as investors seek safety",
    "Stocks rout deepens, Treasury yields sink to record low",  # stock rout, bond rally
    "Ten-year yield edges up 2 basis points before Fed minutes",  # tiny move
    "Treasury Secretary says sanctions on bank take effect Monday",  # the department
    "German Bund yields jump after ECB comments",  # other country
    "Utility shares and bonds tumble after wildfire",  # company debt
    "Yields hit a six-month low as Treasuries rally",
    "Treasury yields retreat from a low near 4% as stocks slip",
]
TARIFF_POS = [
    "Washington to raise duties on $200bn of Chinese goods to 25%",
    "EU slaps anti-dumping duties on Chinese steel",
    "Stocks tumble as tariff fears grip markets",
    "White House pauses tariffs on Mexican imports for 90 days",
]
TARIFF_NEG = [
    "Regulator caps household electricity tariffs for winter",
    "Stamp duty cut lifts London house sales",
    "Japan's exports rise for third month on car shipments",
    "Broadband provider launches cheapest tariff yet",
]
YEN_POS = [
    "Japan intervenes in currency market to support yen",
    "Tokyo sells yen for first time in six years",
    "Finance minister ready to take decisive action against excessive yen moves",
    "Traders brace for intervention as yen slides past 160",
    "BOJ conducts rate check as yen tumbles",
]
YEN_NEG = [
    "Swiss central bank steps in to weaken franc",
    "Supreme Court declines to intervene in election dispute",
    "Yen hits two-week high on safe-haven demand",
    "Yen slips as BOJ keeps rates near zero",
    "Doctors urge early intervention for diabetes patients",
]


CASES = [
    *(("treasury_selloff", t, True) for t in TREASURY_POS),
    *(("treasury_selloff", t, False) for t in TREASURY_NEG),
    *(("tariffs", t, True) for t in TARIFF_POS),
    *(("tariffs", t, False) for t in TARIFF_NEG),
    *(("yen_intervention", t, True) for t in YEN_POS),
    *(("yen_intervention", t, False) for t in YEN_NEG),
]


@pytest.mark.parametrize(("theme", "title", "want"), CASES)
def test_rule_families_positive_and_hard_negative(theme, title, want):
    assert has(theme, title) is want


def test_lede_counts_but_stays_in_its_clause():
    # the lede's market wrap names the move; the headline alone has none
    assert has(
        "treasury_selloff",
        "Markets wrap: stocks mixed",
        "NEW YORK - Treasury yields soared to a 16-year high on Monday.",
    )
    # a clause break ("as") keeps a stock rout away from the bond subject
    assert not has("treasury_selloff", "Stocks rout continues as Treasury prices rise")


# ----------------------------------------------------------------------------- stance table
STANCE = [
    ("tariffs", "Washington to raise duties on $200bn of Chinese goods", 1),
    ("tariffs", "EU suspends retaliatory duties while talks continue", -1),
    ("tariffs", "US and China sign phase one trade deal", -1),
    ("tariffs", "Trump says he will not raise tariffs on European cars", -1),  # negated escalation
    ("tariffs", "Tariff exemption for laptops is not extended", 1),  # negated de-escalation
    ("yen_intervention", "Japan intervenes to prop up yen", 1),
    ("yen_intervention", "Finance minister warns on yen, ready to act decisively", 1),
    ("yen_intervention", "Japan's currency chief says no intervention was made this week", -1),
    ("yen_intervention", "Japan has no plans to intervene in currency markets, minister says", -1),
    ("yen_intervention", "Officials deny Japan intervened to support yen", -1),
    ("yen_intervention", "Japan not ruling out intervention as yen weakens", 1),  # double negation
    ("treasury_selloff", "Investors dump U.S. Treasuries", 1),
    ("treasury_selloff", "Kato says Japan is not considering selling Treasuries", -1),
    ("treasury_selloff", "China says it will not dump U.S. Treasuries", -1),
]


@pytest.mark.parametrize(("theme", "title", "want"), STANCE)
def test_stance_table(theme, title, want):
    out = tag(title)
    assert theme in out["themes"].iloc[0], out["theme_rules"].iloc[0]
    assert out[f"{theme}_stance"].iloc[0] == want


def test_negation_does_not_reach_across_clauses_or_blocking_verbs():
    # "not" governs "support", not the intervention: never a denial (-1); a third party's view of
    # an intervention is neutral (adjudicated labels), the view rule holds it at 0
    assert stance("yen_intervention", "US did not support Japan's currency intervention") == 0
    # a negation in another clause does not reverse this one
    assert stance("yen_intervention", "Japan intervenes to support yen, but analysts doubt it will last") == 1
    assert stance("tariffs", "Trump imposes tariffs on steel but says he won't hurt allies") == 1


def test_stance_prefers_headline_and_mixed_is_zero():
    out = tag(
        "Trump raises tariffs on China", body=("Earlier the White House had paused tariffs on Mexico.",)
    )
    assert out["tariffs_stance"].iloc[0] == 1  # the headline decides
    out = tag("EU pauses some tariffs, raises others")
    assert out["tariffs_stance"].iloc[0] == 0  # both in the headline: mixed


def test_stance_nan_where_no_theme_and_rule_ids_kept():
    out = tag("Cat rescued from tree", "Japan intervenes to support yen")
    assert math.isnan(out["yen_intervention_stance"].iloc[0]) and out["theme_rules"].iloc[0] == ()
    assert "yen_intervention.intervene" in out["theme_rules"].iloc[1]


# ----------------------------------------------------------------------------- machinery
def test_clause_bounds_and_breaks():
    text = "stocks fall as u.s. yields rise; oil slips"
    a = text.index("yields")
    lo, hi = clause_bounds(text, a, a + 6)
    assert text[lo:hi].strip() == "u.s. yields rise"
    assert CLAUSE_BREAK.search("u.s. yields") is None  # an abbreviation is not a sentence end


def test_within_and_order_are_enforced():
    r = Rule(id="x.r", subject="yields?", move="jump", within=2, order="subject_first")
    rx = rule_regex(r)
    neg = signals.default_themes().negation.compiled()
    assert find_rule("yields jump", r, rx, None, neg, 5)
    assert find_rule("yields on the long end jump", r, rx, None, neg, 5) is None  # 4 tokens > 2
    assert find_rule("jump in yields", r, rx, None, neg, 5) is None  # order


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            ["japan", "not", "intervene", "yen", "as", "but", "no", "plans", "to", "support", ","]
        ),
        min_size=1,
        max_size=10,
    )
)
def test_rule_stance_is_plus_or_minus_rule_stance(words):
    """Property: a matched rule's stance is its own stance or its reverse, never anything else,
    and the factored (trie) regex finds the same match as the plain one."""
    from signals.themes import _trie_alternation

    r = Rule(id="x.r", subject="interven(?:e|es|ed|tion)", move="yen|japan", within=4)
    text = " ".join(words)
    neg = signals.default_themes().negation.compiled()
    a = find_rule(text, r, rule_regex(r), None, neg, 5)
    b = find_rule(text, r, rule_regex(r, _trie_alternation), None, neg, 5)
    assert a == b
    if a is not None:
        assert a[2] in (1, -1) and (a[2] == -1) == bool(a[3])


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ("subject = 'x'\norder = 'sideways'", "order"),
        ("subject = 'x'\nstance = 2", "stance"),
        ("subject = '(x'", "bad regex"),
        ("subject = 'x'\nfoo = 1", "unknown rule key"),
        ("move = 'x'", "needs an id and a subject"),
    ],
)
def test_rule_config_errors(tmp_path, fields, message):
    p = tmp_path / "b.toml"
    p.write_text(f"[themes.t]\ndescription = 'x'\n[[themes.t.rules]]\nid = 'a'\n{fields}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=message):
        signals.load_themes(p)


def test_user_book_with_rules(tmp_path):
    p = tmp_path / "b.toml"
    p.write_text(
        """[book]
series = ["usdjpy"]
[themes.rate_check]
description = "rate checks"
[[themes.rate_check.rules]]
id = "check"
subject = 'rate checks?'
move = 'yen|dollar'
within = 4
[themes.rate_check.direction]
usdjpy = -1
""",
        encoding="utf-8",
    )
    out = signals.tag_themes(
        pd.DataFrame(
            {"title": ["NY Fed conducts rate check on the yen", "No rate check on the yen, officials say"]}
        ),
        p,
    )
    assert out["themes"].tolist() == [("rate_check",), ("rate_check",)]
    assert out["rate_check_stance"].tolist() == [1.0, -1.0]
    assert out["theme_rules"].iloc[0] == ("rate_check.check",)


NEUTRAL_BOOK = """[book]
series = ["usdjpy"]
[themes.fx]
description = "intervention"
default_stance = 1
[[themes.fx.rules]]
id = "act"
subject = 'intervention'
move = 'yen'
within = 4
[[themes.fx.rules]]
id = "view"
subject = 'intervention'
move = 'opposes|criticises'
order = "move_first"
within = 4
weight = 0.0
stance = 0
strength = {strength}
[[themes.fx.rules]]
id = "bg"
pattern = 'history'
weight = 0.0
stance = 0
[themes.fx.direction]
usdjpy = -1
"""


@pytest.mark.parametrize(("strength", "want"), [(0.0, [1.0, 1.0, -1.0]), (1.0, [0.0, 1.0, -1.0])])
def test_neutral_rule_strength_holds_stance_at_zero(tmp_path, strength, want):
    """A neutral rule with strength N keeps the stance at 0 unless |signed sum| > N; without a
    strength it changes nothing; a neutral rule without strength in the headline does not stop
    the lede's stance from counting."""
    p = tmp_path / "b.toml"
    p.write_text(NEUTRAL_BOOK.format(strength=strength), encoding="utf-8")
    df = pd.DataFrame(
        {
            "title": ["Business group opposes yen intervention", "A history of yen intervention", "History"],
            "body": ["", "", "No intervention in the yen, minister says."],
        }
    )
    out = signals.tag_themes(df, p)
    assert out["themes"].tolist() == [("fx",)] * 3
    assert out["fx_stance"].tolist() == want


@pytest.mark.parametrize(
    ("theme", "title", "want"),
    [
        # round 2 (dev part): a view on an intervention is neutral, the intervention itself is not
        ("yen_intervention", "European business lobby opposes Japan's yen intervention", 0),
        ("yen_intervention", "How will Japan judge the success of its currency intervention?", 0),
        ("yen_intervention", "Japan intervenes to weaken yen", 1),
        # tariffs as the object of a raise is an escalation; tariffs raising prices is an impact
        ("tariffs", "Canada raises duties on U.S. steel", 1),
        ("tariffs", "Steel tariffs will be raised to 25% next month", 1),
        ("tariffs", "Tariffs raise appliance prices for shoppers", 0),
        # tariffs already in force as background are neutral
        ("tariffs", "Biden reviews the China tariffs imposed by his predecessor", 0),
    ],
)
def test_round2_stance_rules(theme, title, want):
    out = tag(title)
    assert theme in out["themes"].iloc[0], out["theme_rules"].iloc[0]
    assert out[f"{theme}_stance"].iloc[0] == want, out["theme_rules"].iloc[0]


@pytest.mark.parametrize(
    ("theme", "title", "want"),
    [
        ("tariffs", "Markets cheer as trade talks with China resume in Washington", True),
        ("tariffs", "Vice premier lands in Washington as China trade negotiations begin", True),
        ("tariffs", "China's trade surplus with the world narrows in May", False),
        ("tariffs", "U.S. opens import probe into foreign trucks", True),
        (
            "treasury_selloff",
            "Wall Street slips on China trade worries, bonds fall",
            True,
        ),  # the comma ends "China ..."
        ("treasury_selloff", "Rising U.S. bond yields weigh on homebuilders", True),
        ("treasury_selloff", "Chinese bonds fall as property fears grow", False),
    ],
)
def test_round2_recall_rules(theme, title, want):
    assert has(theme, title) is want


# ----------------------------------------------------------------------------- explain
def test_explain_shows_rule_words_and_negation():
    e = signals.explain("Kato says Japan is not considering selling Treasuries", only=["treasury_selloff"])
    verdict = e[e["kind"] == "theme"].iloc[0]
    assert verdict["matched"] == "tagged" and verdict["stance"] == -1
    rule = e[e["kind"] == "rule"].iloc[0]
    assert rule["id"] == "treasury_selloff.dump_debt" and rule["matched"] == "selling treasuries"
    assert rule["negation"] == "not" and rule["stance"] == -1 and rule["where"] == "headline"
    text = format_explanation(e)
    assert "negated by 'not'" in text and "treasury_selloff.dump_debt" in text
    # an untagged theme says why
    e = signals.explain({"title": "Yen hits two-week high", "body": ""}, only=["yen_intervention"])
    assert e.iloc[0]["matched"] == "not tagged"
    with pytest.raises(InputFormatError):
        signals.explain(pd.DataFrame({"title": ["a", "b"]}))


def test_explain_event_and_cli(capsys):
    arts = signals.sample_articles()
    ev = signals.extract_events(signals.tag_themes(arts))
    eid = ev.loc[ev["theme"] == "treasury_selloff", "event_id"].iloc[0]
    text = explain_event(eid, ev, arts)
    assert eid in text and "treasury_selloff." in text and "stance" in text
    with pytest.raises(InputFormatError, match="no event_id"):
        explain_event("nope", ev, arts)
    from backtests.cli import main
    from signals._paths import data_path

    assert main(["events", str(data_path("news", "sample_articles.jsonl")), "--explain", eid]) == 0
    assert "rule" in capsys.readouterr().out


# ----------------------------------------------------------------------------- evaluation
def test_evaluate_themes_against_hand_counts():
    tagged = pd.DataFrame(
        {
            "item": list("abcdef"),
            "themes": [("x",), ("x",), (), ("x", "y"), (), ("y",)],
            "x_stance": [1.0, -1.0, np.nan, 0.0, np.nan, np.nan],
            "y_stance": [np.nan, np.nan, np.nan, 1.0, np.nan, 1.0],
        }
    )
    labels = pd.DataFrame(
        {
            "item": list("fedcba"),  # any order
            "x": [0, 1, 1, 1, 0, 1],  # f e d c b a
            "y": [1, 0, 1, 0, 0, 0],
            "stance_x": ["", "1", "0", "-1", "", "1"],
            "stance_y": ["1", "", "-1", "", "", ""],
        }
    )
    ev = evaluate_themes(tagged, labels)
    # x: tagged a b d; labelled a c d e -> tp a,d = 2; fp b = 1; fn c,e = 2
    x = ev.loc["x"]
    assert (x["tp"], x["fp"], x["fn"], x["labelled"], x["tagged"]) == (2, 1, 2, 4, 3)
    assert x["precision"] == pytest.approx(2 / 3) and x["recall"] == pytest.approx(2 / 4)
    assert x["f1"] == pytest.approx(2 * 2 / (2 * 2 + 1 + 2))
    # stance on tp: a (1 vs 1 ok), d (0 vs 0 ok)
    assert (x["stance_n"], x["stance_correct"]) == (2, 2)
    y = ev.loc["y"]  # tagged d f; labelled d f -> perfect; stance d: -1 vs 1 wrong, f: 1 vs 1 ok
    assert (y["tp"], y["fp"], y["fn"], y["stance_n"], y["stance_correct"]) == (2, 0, 0, 2, 1)
    assert y["stance_accuracy"] == 0.5


def test_evaluate_themes_errors():
    t = pd.DataFrame({"item": ["a"], "themes": [()]})
    with pytest.raises(InputFormatError, match="not in tagged"):
        evaluate_themes(t, pd.DataFrame({"item": ["b"], "x": [1]}))
    with pytest.raises(InputFormatError, match="0 or 1"):
        evaluate_themes(t, pd.DataFrame({"item": ["a"], "x": [2]}))
    with pytest.raises(InputFormatError, match="duplicated"):
        evaluate_themes(t, pd.DataFrame({"item": ["a", "a"], "x": [1, 0]}))
    ev = evaluate_themes(t, pd.DataFrame({"item": ["a"], "x": [0]}))
    assert math.isnan(ev.loc["x", "precision"]) and math.isnan(ev.loc["x", "f1"])


# ----------------------------------------------------------------------------- measured quality
# Figures of the final book on every labelled part (benchmarks/themes.py --part ..., shipped labels),
# 3 Dec 2026, floored to 3 decimals; a change to the default book must not lower them. heldout5 was
# scored once, with this book, before any item of it was read; every other part has been tuned on
# (see data/themes/labels/README.md for the history: each held-out set was first scored untouched).
# F1 on parts with a handful of positives (treasury/yen in heldout2-5) moves ~0.1-0.5 per item.
HELDOUT = {
    "dev": ({"treasury_selloff": 0.909, "tariffs": 0.958, "yen_intervention": 0.975}, 0.92),  # 301/327
    "heldout": ({"treasury_selloff": 0.925, "tariffs": 0.935, "yen_intervention": 0.964}, 0.877),  # 115/131
    "heldout2": ({"treasury_selloff": 0.444, "tariffs": 0.959, "yen_intervention": 0.5}, 0.794),  # 89/112
    "heldout3": ({"treasury_selloff": 0.4, "tariffs": 0.97, "yen_intervention": 0.5}, 0.769),  # 130/169
    "heldout4": ({"treasury_selloff": 0.333, "tariffs": 0.954, "yen_intervention": 1.0}, 0.862),  # 220/255
    "heldout5": ({"tariffs": 0.955}, 0.682),  # 170/249; 2 treasury positives (both missed), no yen one
}


@pytest.mark.parametrize("part", sorted(HELDOUT))
def test_heldout_f1_does_not_drop(shared_data, part):
    floors, stance_floor = HELDOUT[part]
    arts, labels = load_labelled(part, shared_data / "news")
    ev = evaluate_themes(signals.tag_themes(arts), labels, themes=list(floors))
    for theme, f1 in floors.items():
        assert ev.loc[theme, "f1"] >= f1 - 1e-9, (part, theme, ev.loc[theme, "f1"])
    pooled = ev["stance_correct"].sum() / ev["stance_n"].sum()
    assert pooled >= stance_floor - 1e-9, (part, pooled)


def test_labels_are_references_only():
    """The shipped label files hold item references and labels, never text."""
    from signals._paths import data_path

    parts = {}
    for part in PARTS:
        df = pd.read_csv(data_path("themes", "labels", f"{part}.csv"), dtype=str, keep_default_na=False)
        parts[part] = set(df["item"])
        assert list(df.columns) == [
            "item",
            "treasury_selloff",
            "tariffs",
            "yen_intervention",
            "stance_treasury_selloff",
            "stance_tariffs",
            "stance_yen_intervention",
        ]
        assert df["item"].str.fullmatch(r"[\w./-]+#\d+").all()
        assert df[["treasury_selloff", "tariffs", "yen_intervention"]].isin(["0", "1"]).all().all()
    names = list(parts)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert not parts[a] & parts[b], (a, b)
    assert len(parts["dev"]) + len(parts["heldout"]) >= 1200
    assert all(len(parts[f"heldout{n}"]) == 400 for n in (2, 3, 4, 5))


def test_load_labelled_names_the_parts(tmp_path):
    with pytest.raises(InputFormatError, match="'heldout5'"):
        load_labelled("heldout9", tmp_path)
