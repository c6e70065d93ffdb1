"""GDELT-native signals: the theme book's gkg_themes / gkg_require keys, the vectorised code mapping
(checked by hand on real GKG rows and against a naive oracle), and events_from_store(source=...)
equal to the one-piece pipeline with pandas and with a 2-process Dask cluster."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import signals
from signals._gkg_themes import GkgRule, gkg_scores, tag_gkg
from signals.store import ArticleStore

NEWS = (
    Path(os.environ.get("NEWSBT_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))
    / "news"
)
RAW = NEWS / "raw" / "gdelt_20230702153000_subset.gkg.csv"
needs_data = pytest.mark.skipif(not RAW.is_file(), reason="../shared/data/news/raw (real GKG rows) is absent")

BOOK = """
[book]
name = "gkg-test"
series = ["ust_10y", "usdjpy", "spx"]
fields = ["title"]

[themes.rates_debt]
phrases = ['bond yields?']
gkg_themes = ["ECON_DEBT", "WB_450_DEBT", "WB_1045_TREASURY"]
gkg_require = [["ECON_INTEREST_RATES"]]
[themes.rates_debt.direction]
ust_10y = 1

[themes.fx]
phrases = ['exchange rates?']
sentiment_sign = true
gkg_themes = ["ECON_CURRENCY*"]
[themes.fx.direction]
usdjpy = 1

[themes.stocks]
phrases = ['stocks?']
gkg_themes = ["ECON_STOCKMARKET"]
[themes.stocks.direction]
spx = 1
"""


@pytest.fixture(scope="module")
def gkg_rows() -> pd.DataFrame:
    return signals.read_articles(RAW, dedup=False)


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    p = tmp_path_factory.mktemp("book") / "gkg.toml"
    p.write_text(BOOK)
    return signals.load_themes(p)


@pytest.fixture(scope="module")
def gkg_store(tmp_path_factory, gkg_rows) -> ArticleStore:
    """The 81 real GKG rows spread over 2024-05-01 .. 05-03 (two rows a 40-minute step), so that
    bursts cross midnight and partition edges."""
    arts = gkg_rows.copy()
    arts["published"] = pd.Timestamp("2024-05-01T20:00Z") + pd.to_timedelta(
        40 * (np.arange(len(arts)) // 2), unit="min"
    )
    store = ArticleStore(tmp_path_factory.mktemp("gkg"))
    store.add(arts, source_id="gdelt")
    return store


def _by_record(tagged: pd.DataFrame, theme: str) -> dict[str, float]:
    s = tagged.set_index("gkg_record_id")[f"{theme}_score"]
    return {k: v for k, v in s.items() if v > 0}


@needs_data
def test_default_book_on_real_gkg_rows(gkg_rows):
    """Hand-checked on the real 2023-07-02 15:30 batch: four rows carry ECON_INTEREST_RATES with a
    debt code (a Zimbabwe economy story, RBA and mortgages, a US recession/stock-market piece, a
    medical-bill piece: GKG codes are topic-level, not a US Treasury sell-off); the seven crypto
    'exchange rate' rows name no yen, so the yen theme's gkg_require keeps them out; no row has
    TAX_TARIFFS or ECON_TRADE_DISPUTE."""
    book = signals.default_themes()
    assert set(book.gkg_themes) == {"treasury_selloff", "tariffs", "yen_intervention"}
    tagged = tag_gkg(gkg_rows, book.gkg_themes)
    assert _by_record(tagged, "treasury_selloff") == {
        "20230702153000-324": 1.0,
        "20230702153000-430": 1.0,
        "20230702153000-311": 1.0,
        "20230702153000-598": 1.0,
    }
    assert _by_record(tagged, "yen_intervention") == {}
    assert _by_record(tagged, "tariffs") == {}
    # rates without a debt code (RBA rate worries, Australian home prices) are not tagged
    assert "20230702153000-856" not in _by_record(tagged, "treasury_selloff")
    row = tagged.set_index("gkg_record_id").loc["20230702153000-430"]
    assert row["themes"] == ("treasury_selloff",)
    # V1.5TONE of that raw line: "-3.09859154929577,0.4225...,3.5211...": average tone / 10
    assert row["compound"] == pytest.approx(-0.309859154929577, abs=1e-15)


@needs_data
def test_prefix_require_and_scores_on_real_rows(gkg_rows, book):
    tagged = tag_gkg(gkg_rows, book.gkg_themes)
    # distinct debt codes, only where ECON_INTEREST_RATES is present (read off the raw lines)
    assert _by_record(tagged, "rates_debt") == {
        "20230702153000-324": 3.0,  # ECON_DEBT, WB_1045_TREASURY, WB_450_DEBT
        "20230702153000-430": 2.0,  # ECON_DEBT, WB_450_DEBT
        "20230702153000-311": 1.0,  # WB_1045_TREASURY
        "20230702153000-598": 2.0,  # ECON_DEBT, WB_450_DEBT
    }
    # ECON_CURRENCY* is a prefix: the 7 ECON_CURRENCY_EXCHANGE_RATE rows, one code each
    fx = _by_record(tagged, "fx")
    assert len(fx) == 7 and set(fx.values()) == {1.0}
    assert "20230702153000-360" in fx and "20230702153000-386" in fx
    # ECON_STOCKMARKET: 21 rows (its count in the batch's V2 themes)
    assert len(_by_record(tagged, "stocks")) == 21
    both = tagged.set_index("gkg_record_id").loc["20230702153000-324", "themes"]
    assert both == ("rates_debt", "fx")  # book order


def _oracle(rows: list[str], rule: GkgRule) -> float:
    codes = {c for c in rows.split(";") if c}

    def hits(pats):
        return sum(any(c == p or (p.endswith("*") and c.startswith(p[:-1])) for p in pats) for c in codes)

    if any(hits(g) == 0 for g in rule.require):
        return 0.0
    return float(hits(rule.codes))


ALPHABET = ["ECON_DEBT", "ECON_DEBT_RELIEF", "ECON_CURRENCY_RESERVES", "ECON_CURRENCY", "TAX_TARIFFS", "X-1"]


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.lists(st.sampled_from(ALPHABET), max_size=6), max_size=30),  # repeats count once
    nulls=st.lists(st.booleans(), max_size=30),
)
def test_scores_equal_a_naive_oracle(rows, nulls):
    """Property: exact codes never match a longer code (ECON_DEBT vs ECON_DEBT_RELIEF), prefixes
    do, require groups gate, nulls and empty strings hold no codes."""
    rules = {
        "a": GkgRule(("ECON_DEBT", "ECON_CURRENCY*")),
        "b": GkgRule(("TAX_TARIFFS", "X-1"), (("ECON_DEBT_RELIEF", "ECON_CURRENCY"),)),
    }
    joined = [None if (k < len(nulls) and nulls[k]) else ";".join(r) for k, r in enumerate(rows)]
    got = gkg_scores(joined, rules)
    for t, rule in rules.items():
        want = [_oracle(r or "", rule) for r in joined]
        assert got[t].tolist() == want


def test_book_key_errors(tmp_path):
    def load(extra: str):
        p = tmp_path / "b.toml"
        p.write_text(f"[themes.x]\nphrases = ['x']\n{extra}\n")
        return signals.load_themes(p)

    assert load("").gkg_themes == {}
    with pytest.raises(signals.ConfigError, match="not GKG theme codes"):
        load('gkg_themes = ["econ_debt"]')
    with pytest.raises(signals.ConfigError, match="needs gkg_themes"):
        load('gkg_require = [["ECON_DEBT"]]')
    with pytest.raises(signals.ConfigError, match="non-empty list"):
        load("gkg_themes = []")


def _ref_gkg(arts: pd.DataFrame, book, **kw) -> pd.DataFrame:
    """The one-piece GDELT-native pipeline the partition-wise engines must reproduce."""
    return signals.extract_events(tag_gkg(arts, book.gkg_themes), themes=book, **kw)


@needs_data
@pytest.mark.parametrize("partition", ["1D", "1h", "auto"])
def test_source_gkg_equals_one_piece(gkg_store, book, partition):
    ref = _ref_gkg(gkg_store.articles(), book, gap="90min")
    assert len(ref) > 5 and (ref["n_articles"] > 1).any()
    assert (ref["end"].dt.date > ref["timestamp"].dt.date).any()  # a burst across midnight
    got = signals.events_from_store(
        gkg_store, themes=book, source="gkg", gap="90min", partition=partition, target_rows=7, cache=False
    )
    pd.testing.assert_frame_equal(got, ref, check_exact=True)
    assert got.attrs["newsbt_events"]["source"] == "gkg"


@needs_data
def test_source_gkg_on_dask_equals_pandas(gkg_store, book):
    from dask.distributed import Client, LocalCluster

    ref = signals.events_from_store(gkg_store, themes=book, source="gkg", gap="90min", cache=False)
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cl,
        Client(cl) as client,
    ):
        got = signals.events_from_store(
            gkg_store, themes=book, source="gkg", gap="90min", engine="dask", client=client,
            partition="1h", cache=False,
        )  # fmt: skip
    pd.testing.assert_frame_equal(got, ref, check_exact=True)


@needs_data
def test_source_auto_mixes_gkg_and_text_rows(tmp_path, gkg_rows, book):
    """A store with GDELT rows and feed rows: GKG rows by their codes, the others by text rules."""
    gkg = gkg_rows.copy()
    gkg["published"] = pd.Timestamp("2024-05-01T10:00Z") + pd.to_timedelta(np.arange(len(gkg)), unit="min")
    text = pd.DataFrame(
        {
            "published": pd.to_datetime(["2024-05-01T10:05Z", "2024-05-01T11:30Z", "2024-05-02T09:00Z"]),
            "title": ["Stocks rally as exchange rates calm", "Bond yields jump", "Nothing here"],
            "body": "",
            "source": "feed",
            "url": ["https://example.org/a", "https://example.org/b", "https://example.org/c"],
        }
    )
    text = signals.read_articles(_write_csv(tmp_path, text))
    store = ArticleStore(tmp_path / "store")
    store.add(gkg, source_id="gdelt")
    store.add(text, source_id="feed")
    arts = store.articles()
    is_gkg = arts["gdelt_themes"].fillna("").ne("")
    assert is_gkg.sum() == len(gkg) - (gkg["gdelt_themes"] == "").sum() and (~is_gkg).sum() >= 3
    t_text = signals.score_sentiment(signals.tag_themes(arts[~is_gkg].drop(columns=["gdelt_themes"]), book))
    t_text = t_text[t_text["themes"].map(len) > 0]
    t_gkg = tag_gkg(arts[is_gkg], book.gkg_themes)
    t_gkg = t_gkg[t_gkg["themes"].map(len) > 0]
    ref = signals.extract_events(pd.concat([t_gkg, t_text], ignore_index=True), themes=book, gap="30min")
    assert len(t_text) == 2  # the two feed headlines with a theme phrase
    for partition in ("1D", "1h"):
        got = signals.events_from_store(
            store, themes=book, source="auto", gap="30min", partition=partition, cache=False
        )
        pd.testing.assert_frame_equal(got, ref, check_exact=True)


def _write_csv(tmp_path: Path, df: pd.DataFrame) -> Path:
    p = tmp_path / "feed.csv"
    df.assign(published=df["published"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")).to_csv(p, index=False)
    return p


def test_source_errors(gkg_store):
    with pytest.raises(signals.ConfigError, match="source="):
        signals.events_from_store(gkg_store, source="tags")
    plain = signals.ThemeBook([signals.default_themes()["tariffs"]], name="plain")
    with pytest.raises(signals.ConfigError, match="no gkg_themes"):
        signals.events_from_store(gkg_store, themes=plain, source="gkg")
    # auto with a book without GKG codes reads every row as text
    ev = signals.events_from_store(gkg_store, themes=plain, source="auto", cache=False)
    assert ev.attrs["newsbt_events"]["source"] == "text"


@needs_data
def test_cli_and_config_source_gkg(gkg_store, book, tmp_path):
    from backtests.cli import main
    from backtests.config import load_config
    from backtests.pipeline import _store_events

    ref = _ref_gkg(gkg_store.articles(), book, gap="90min")
    out = tmp_path / "ev.csv"
    args = ["events", "--store", str(gkg_store.path), "--themes", str(book.source), "--gap", "90min"]
    assert main([*args, "--source", "gkg", "-o", str(out)]) == 0
    assert pd.read_csv(out)["event_id"].tolist() == ref["event_id"].tolist()
    p = tmp_path / "study.toml"
    p.write_text(
        f'[run]\nas_of = "2024-05-03"\n[articles]\nstore = "{gkg_store.path}"\n'
        f'[themes]\nbook = "{book.source}"\nsource = "gkg"\n[events]\ngap = "90min"\n'
        '[market]\nseries = ["usdjpy"]\n'
    )
    pd.testing.assert_frame_equal(_store_events(load_config(p)), ref, check_exact=True)
    p.write_text(p.read_text().replace('source = "gkg"', 'source = "codes"'))
    with pytest.raises(signals.ConfigError, match="source"):
        load_config(p)
