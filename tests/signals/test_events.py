"""Events: bursts, statistics, directions, determinism, user tables, and the shipped sample corpus."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import signals
from signals.errors import ConfigError, InputFormatError

SERIES = list(signals.themes.SERIES)  # the literal list is asserted in test_themes.py


def frame(rows):
    """rows: (id, iso time, themes tuple, compound, title, score)."""
    df = pd.DataFrame(rows, columns=["article_id", "published", "themes", "compound", "title", "score"])
    df["published"] = pd.to_datetime(df["published"], utc=True)
    for t in ("tariffs", "yen_intervention", "boj_policy"):
        df[f"{t}_score"] = np.where(df["themes"].map(lambda x, t=t: t in x), df["score"], 0.0)
    return df.drop(columns="score")


ROWS = [
    ("a1", "2025-04-02T20:25Z", ("tariffs",), -0.4, "Trump announces tariffs", 2.5),
    ("a2", "2025-04-03T01:20Z", ("tariffs",), -0.6, "Japan calls tariffs regrettable", 3.0),  # 4h55 later
    ("a3", "2025-04-03T07:30Z", ("tariffs", "yen_intervention"), 0.2, "x", 1.0),  # 6h10 later: new burst
    ("b1", "2024-04-29T06:05Z", ("yen_intervention",), 0.1, "Yen rebounds", 2.0),
    ("c1", "2024-03-19T03:45Z", ("boj_policy",), 0.0, "BOJ ends negative rates", 2.0),
    ("z1", "2024-03-19T03:45Z", (), 0.9, "untagged", 0.0),
]


def test_bursts_statistics_and_directions():
    ev = signals.extract_events(frame(ROWS), gap="6h")
    assert list(ev.columns) == signals.EVENT_COLUMNS + [f"direction_{s}" for s in SERIES]
    assert len(ev) == 5
    t = ev[ev["theme"] == "tariffs"].reset_index(drop=True)
    assert t["n_articles"].tolist() == [2, 1]
    assert t["article_ids"].iloc[0] == ("a1", "a2")
    assert t["timestamp"].iloc[0] == pd.Timestamp("2025-04-02 20:25", tz="UTC")
    assert t["end"].iloc[0] == pd.Timestamp("2025-04-03 01:20", tz="UTC")
    assert t["sentiment"].iloc[0] == pytest.approx(np.mean([-0.4, -0.6]))
    assert t["sentiment_sd"].iloc[0] == pytest.approx(np.std([-0.4, -0.6]))
    assert t["headline"].iloc[0] == "Japan calls tariffs regrettable"  # highest theme score
    # tariffs: directions are those of an escalation; without stance columns in the tagged table
    # the book sign is used as is (the theme is no longer sentiment-signed: stance decides)
    assert t["direction_spx"].tolist() == [-1.0, -1.0]
    assert t["direction_usdjpy"].tolist() == [-1.0, -1.0]
    assert t["stance"].isna().all() and (t["stance_kind"] == "").all()
    assert np.isnan(t["direction_jgb_2y"]).all()  # no view
    y = ev[ev["theme"] == "yen_intervention"]
    assert (y["direction_usdjpy"] == -1).all() and y[
        [f"direction_{s}" for s in SERIES if s != "usdjpy"]
    ].isna().all().all()
    b = ev[ev["theme"] == "boj_policy"]
    assert b[[f"direction_{s}" for s in SERIES]].isna().all().all()
    assert ev["timestamp"].is_monotonic_increasing
    assert ev["event_id"].is_unique
    assert ev.attrs["newsbt_events"]["events"] == 5


def test_gap_and_min_articles():
    ev = signals.extract_events(frame(ROWS), gap="7h")
    assert ev[ev["theme"] == "tariffs"]["n_articles"].tolist() == [3]
    ev2 = signals.extract_events(frame(ROWS), gap="6h", min_articles=2)
    assert ev2["theme"].tolist() == ["tariffs"]
    assert ev2.attrs["newsbt_events"]["dropped_min_articles"] == 4
    with pytest.raises(ConfigError):
        signals.extract_events(frame(ROWS), gap="soon")
    with pytest.raises(ConfigError):
        signals.extract_events(frame(ROWS), min_articles=0)
    with pytest.raises(InputFormatError):
        signals.extract_events(frame(ROWS).drop(columns="themes"))


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 72),
            st.sampled_from([("tariffs",), ("yen_intervention",), ("tariffs", "yen_intervention"), ()]),
            st.floats(-1, 1),
        ),
        min_size=1,
        max_size=25,
    ),
    st.integers(0, 1000),
)
def test_deterministic_in_any_order_and_bursts_respect_gap(rows, seed):
    df = pd.DataFrame(
        {
            "article_id": [f"id{i:03d}" for i in range(len(rows))],
            "published": [pd.Timestamp("2025-01-01", tz="UTC") + pd.Timedelta(hours=h) for h, _, _ in rows],
            "themes": [t for _, t, _ in rows],
            "compound": [c for _, _, c in rows],
            "title": "t",
        }
    )
    ev = signals.extract_events(df, gap="6h")
    ev2 = signals.extract_events(df.sample(frac=1, random_state=seed), gap="6h")
    pd.testing.assert_frame_equal(ev, ev2)
    n_tagged = sum(len(t) for _, t, _ in rows)
    assert ev["n_articles"].sum() == n_tagged
    for _, e in ev.iterrows():
        times = df.set_index("article_id").loc[list(e["article_ids"]), "published"].sort_values()
        assert (times.diff().dropna() <= pd.Timedelta("6h")).all()


def test_events_from_table():
    df = pd.DataFrame(
        {
            "Theme": ["yen_intervention", "tariffs", "my_theme"],
            "timestamp": [
                "2022-09-22T17:30:00+09:00",
                "2025-04-02T16:00:00-04:00",
                "2025-05-02T10:50:00+09:00",
            ],
            "note": ["a", "b", "c"],
        }
    )
    ev = signals.events_from_table(df)
    assert ev["timestamp"].tolist() == [
        pd.Timestamp("2022-09-22 08:30", tz="UTC"),
        pd.Timestamp("2025-04-02 20:00", tz="UTC"),
        pd.Timestamp("2025-05-02 01:50", tz="UTC"),
    ]
    assert ev["event_id"].is_unique and ev["note"].tolist() == ["a", "b", "c"]
    assert ev["direction_usdjpy"].iloc[0] == -1
    # tariffs: stance-based theme, a hand-made event has no stance: the book's escalation view
    assert ev["direction_spx"].iloc[1] == -1
    assert ev[[f"direction_{s}" for s in SERIES]].iloc[2].isna().all()  # theme unknown to the book
    dates = signals.events_from_table(
        pd.DataFrame({"theme": ["x"], "date": ["2024-04-29"], "direction": [-1]})
    )
    assert dates["date"].iloc[0] == pd.Timestamp("2024-04-29") and dates["direction"].iloc[0] == -1
    assert not any(c.startswith("direction_") for c in dates.columns)
    with pytest.raises(InputFormatError, match="tz="):
        signals.events_from_table(pd.DataFrame({"theme": ["x"], "timestamp": ["2024-04-29 13:00"]}))
    ok = signals.events_from_table(
        pd.DataFrame({"theme": ["x"], "timestamp": ["2024-04-29 13:00"]}), tz="Asia/Tokyo"
    )
    assert ok["timestamp"].iloc[0] == pd.Timestamp("2024-04-29 04:00", tz="UTC")
    with pytest.raises(InputFormatError, match="direction"):
        signals.events_from_table(pd.DataFrame({"theme": ["x"], "date": ["2024-04-29"], "direction": [2]}))
    with pytest.raises(InputFormatError, match="theme"):
        signals.events_from_table(pd.DataFrame({"date": ["2024-04-29"]}))


# ----------------------------------------------------------------------------- sample corpus
@pytest.fixture(scope="module")
def sample_events():
    arts = signals.sample_articles()
    tagged = signals.score_sentiment(signals.tag_themes(arts))
    return arts, signals.extract_events(tagged)


def local_dates(ev, theme, tz):
    e = ev[ev["theme"] == theme]
    return set(e["timestamp"].dt.tz_convert(tz).dt.date.astype(str))


def test_sample_corpus_shape(sample_events):
    arts, _ = sample_events
    assert len(arts) >= 40 and arts.attrs["newsbt_read"]["rejected"] == 0
    assert arts.attrs["newsbt_read"]["duplicates"] == 0
    assert (arts["source"] == "newsbt sample").all()


def test_sample_corpus_events_match_reference(sample_events, shared_data):
    _, ev = sample_events
    ref = pd.read_csv(shared_data / "news" / "events_reference.csv", dtype=str, keep_default_na=False)
    yen = ref[(ref["theme"] == "yen_intervention") & ref["date"].str[:4].isin(["2022", "2024"])]
    yen = yen[~yen["description"].str.contains("data release")]
    assert len(yen) == 7
    for _, r in yen.iterrows():  # one event on each intervention day, in the market's own zone
        assert r["date"] in local_dates(ev, "yen_intervention", r["date_tz"]), r["date"]
    # tariffs: the announcement (2025-04-02, Rose Garden 20:00 UTC = after the NY close) and the pause
    tar = ev[ev["theme"] == "tariffs"]
    apr2 = tar[tar["timestamp"].dt.tz_convert("America/New_York").dt.date.astype(str) == "2025-04-02"]
    assert len(apr2) == 1 and apr2["timestamp"].iloc[0] >= pd.Timestamp("2025-04-02 20:00", tz="UTC")
    assert apr2["direction_spx"].iloc[0] == -1
    assert "2025-04-09" in local_dates(ev, "tariffs", "America/New_York")
    sell = local_dates(ev, "treasury_selloff", "America/New_York")
    assert {"2025-04-07", "2025-04-08", "2025-04-09", "2025-04-10", "2025-04-11"} <= sell
    ts = ev[ev["theme"] == "treasury_selloff"]
    denial = ts["headline"].str.contains("not considering selling Treasuries")
    assert denial.sum() == 1  # Kato, 4 May 2025: a reassurance, not a sell-off threat (issue #19)
    assert (ts.loc[~denial, "direction_ust_10y"] == 1).all()
    assert (ts.loc[denial, "direction_ust_10y"] == -1).all() and (ts.loc[denial, "stance"] == -1).all()


def test_sample_corpus_japan_treasury_holdings_2_may_2025(sample_events):
    _, ev = sample_events
    j = ev[ev["theme"] == "japan_treasury_holdings"]
    first = j.iloc[0]
    assert first["timestamp"].tz_convert("Asia/Tokyo").date().isoformat() == "2025-05-02"  # Friday, Tokyo
    assert first["timestamp"].tz_convert("Asia/Tokyo").hour < 15  # before the JGB close
    assert first["n_articles"] >= 2
    # the representative headline is the burst's highest-scoring article (title and lede are matched)
    assert first["headline"] in {
        "Japan signals US Treasury holdings could be a card in tariff talks",
        "Japan's remark on selling U.S. Treasuries puts bond holdings in focus",
    }
    assert first["direction_ust_10y"] == 1 and first["direction_usdjpy"] == -1


def test_events_from_table_direction_words_and_blanks():
    df = pd.DataFrame(
        {
            "theme": ["a", "b", "c", "d", "e"],
            "date": ["2024-04-29", "2024-05-01", pd.Timestamp("2024-07-11"), "2024-07-12", "2022-09-22"],
            "direction": ["down", "+1", None, -1, "Long"],
        }
    )
    ev = signals.events_from_table(df)
    assert ev["direction"].tolist()[:2] == [-1.0, 1.0] and np.isnan(ev["direction"].iloc[2])
    assert ev["direction"].tolist()[3:] == [-1.0, 1.0]
    assert ev["date"].tolist()[2] == pd.Timestamp("2024-07-11")
    with pytest.raises(InputFormatError, match=r"rows \[2\] have \['sideways'\]"):
        signals.events_from_table(
            pd.DataFrame({"theme": ["x", "y"], "date": ["2024-04-29"] * 2, "direction": ["up", "sideways"]})
        )
    with pytest.raises(InputFormatError, match=r"unparseable date in row\(s\) \[1\]"):
        signals.events_from_table(pd.DataFrame({"theme": ["x"], "date": ["someday"]}))


def test_sample_corpus_geneva_truce_and_trade_deal_are_risk_on(sample_events):
    _, ev = sample_events
    tar = ev[ev["theme"] == "tariffs"]
    geneva = tar[tar["timestamp"].dt.tz_convert("Europe/Zurich").dt.date.astype(str) == "2025-05-12"]
    assert len(geneva) >= 1 and (geneva["sentiment"] > 0).all()
    assert (geneva["direction_spx"] == 1).all() and (geneva["direction_ust_10y"] == 1).all()
    deal = tar[tar["timestamp"].dt.tz_convert("America/New_York").dt.date.astype(str) == "2025-07-22"]
    assert len(deal) == 1 and deal["direction_spx"].iloc[0] == 1
    # the deal was reported at 08:23 JST on 23 July (events_reference.csv): first article not earlier
    # than the evening of 22 July in New York, and Japan's reaction comes after Trump's announcement
    assert deal["timestamp"].iloc[0] >= pd.Timestamp("2025-07-22 22:00", tz="UTC")
    assert (
        deal["headline"].iloc[0].startswith("Trump announces trade deal") or deal["n_articles"].iloc[0] >= 2
    )


def test_direction_is_book_sign_times_stance():
    """Escalation keeps the book's sign, de-escalation reverses it, neutral and balanced bursts
    are marked and not traded (NaN directions)."""
    df = frame(ROWS)
    df["tariffs_stance"] = [1.0, -1.0, -1.0, np.nan, np.nan, np.nan]  # burst 1 balanced, burst 2 pause
    df["yen_intervention_stance"] = [np.nan, np.nan, 0.0, -1.0, np.nan, np.nan]
    ev = signals.extract_events(df, gap="6h")
    t = ev[ev["theme"] == "tariffs"].reset_index(drop=True)
    assert t["stance"].tolist() == [0.0, -1.0]
    assert t["stance_kind"].tolist() == ["mixed", "de-escalation"]
    assert np.isnan(t["direction_spx"].iloc[0])  # balanced: not traded
    assert t["direction_spx"].iloc[1] == 1.0 and t["direction_ust_10y"].iloc[1] == 1.0  # pause: risk-on
    y = ev[ev["theme"] == "yen_intervention"].sort_values("timestamp").reset_index(drop=True)
    assert y["stance_kind"].tolist() == ["de-escalation", "neutral"]
    assert y["direction_usdjpy"].iloc[0] == 1.0  # a denial: the book's -1 reversed
    assert np.isnan(y["direction_usdjpy"].iloc[1])  # neutral: not traded
