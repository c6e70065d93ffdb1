"""The article store: partitions by UTC day, unique ids across the store, atomic writes, DuckDB reads."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import signals
from signals.errors import InputFormatError
from signals.store import ArticleStore, StoreBusyError

RAW = (
    Path(os.environ.get("NEWSBT_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))
    / "news"
    / "raw"
)
pytestmark = pytest.mark.skipif(not RAW.is_dir(), reason="../shared/data/news/raw is absent (real fixtures)")


@pytest.fixture(scope="module")
def gkg() -> pd.DataFrame:
    return signals.read_articles(RAW / "gdelt_20230702153000_subset.gkg.csv")


@pytest.fixture(scope="module")
def cnbc() -> pd.DataFrame:
    return signals.read_articles(RAW / "cnbc_finance_rss_20190729.xml")


def test_add_partitions_by_utc_day_and_round_trips(tmp_path, gkg, cnbc):
    store = ArticleStore(tmp_path / "s")
    a = store.add(gkg, source_id="gdelt")
    b = store.add(cnbc, source_id="feed:cnbc")
    assert (a.new, a.duplicates, len(a.rejects)) == (len(gkg), 0, 0)
    assert (b.new, b.duplicates) == (len(cnbc), 0)
    days = sorted(set(cnbc["published"].dt.strftime("%Y-%m-%d")) | {"2023-07-02"})
    assert store.days() == days
    for d in days:  # every file of a day holds only that UTC day
        for f in store.files(d, d):
            if f.parent.name == f"date={d}":
                got = pd.read_parquet(f)["published"]
                assert (got.dt.strftime("%Y-%m-%d") == d).all()
    out = store.articles()
    assert len(out) == len(gkg) + len(cnbc)
    both = (
        pd.concat([gkg, cnbc], ignore_index=True)
        .sort_values(["published", "article_id"])
        .reset_index(drop=True)
    )
    for c in ["article_id", "published", "title", "body", "source", "url", "published_raw"]:
        pd.testing.assert_series_equal(out[c], both[c].astype(out[c].dtype), check_names=False)
    tone = out.set_index("article_id")["tone"]
    np.testing.assert_array_equal(tone[gkg["article_id"]].to_numpy(), gkg["tone"].to_numpy())
    g = store.articles(sources=["gdelt"])
    assert (
        g.set_index("article_id")["gdelt_themes"]
        .sort_index()
        .equals(gkg.set_index("article_id")["gdelt_themes"].astype(object).sort_index())
    )
    assert (store.articles(sources=["gdelt"])["source_id"] == "gdelt").all()


def test_end_date_includes_the_day_and_bounds_are_utc(tmp_path, cnbc):
    store = ArticleStore(tmp_path)
    store.add(cnbc, source_id="feed:cnbc")
    pub = cnbc["published"]
    got = store.articles("2019-07-26", "2019-07-28")
    want = pub[(pub >= pd.Timestamp("2019-07-26", tz="UTC")) & (pub < pd.Timestamp("2019-07-29", tz="UTC"))]
    assert len(got) == len(want) > 0
    t = pub.iloc[10]
    assert len(store.articles(t, None)) == int((pub >= t).sum())
    assert len(store.articles(None, t)) == int((pub < t).sum())  # a Timestamp end is exclusive


def test_ids_unique_across_runs_sources_and_within_a_batch(tmp_path, cnbc):
    store = ArticleStore(tmp_path)
    first = store.add(cnbc.iloc[:20], source_id="feed:a")
    second = store.add(pd.concat([cnbc.iloc[10:], cnbc.iloc[25:]]), source_id="feed:b")
    assert (first.new, first.duplicates) == (20, 0)
    assert second.rows == 25 and second.new == 10 and second.duplicates == 15  # 10 stored + 5 repeated
    ids = store.query("SELECT article_id FROM articles")["article_id"]
    assert ids.is_unique and len(ids) == 30
    # a fresh object (new process) re-reads the index and still refuses repeats
    assert ArticleStore(tmp_path).add(cnbc, source_id="feed:c").new == 0


def test_rejects_and_future_flags_are_counted(tmp_path, cnbc):
    df = cnbc.copy()
    df.loc[0, "published"] = pd.NaT
    df.loc[1, "article_id"] = ""
    led = ArticleStore(tmp_path).add(df, source_id="feed:x", now="2019-07-26T00:00Z")
    assert len(led.rejects) == 2 and set(led.rejects["reason"]) == {"missing_published", "missing_article_id"}
    later = df["published"].iloc[2:] > pd.Timestamp("2019-07-26T00:15Z")
    assert led.future == int(later.sum()) > 0
    assert led.rows == led.new + led.duplicates + len(led.rejects)
    flagged = ArticleStore(tmp_path).query(
        "SELECT count(*) AS n FROM articles WHERE flags = 'future_timestamp'"
    )
    assert int(flagged["n"].iloc[0]) == led.future


def test_add_checks_its_input(tmp_path, cnbc):
    store = ArticleStore(tmp_path)
    with pytest.raises(InputFormatError, match="published"):
        store.add(cnbc.drop(columns=["published"]), source_id="x")
    with pytest.raises(InputFormatError, match="tz-aware"):
        store.add(cnbc.assign(published=cnbc["published"].dt.tz_localize(None)), source_id="x")
    with pytest.raises(InputFormatError, match="source_id"):
        store.add(cnbc, source_id="bad id/with slash")


def test_query_and_stats_match_pandas(tmp_path, gkg, cnbc):
    store = ArticleStore(tmp_path)
    store.add(gkg, source_id="gdelt")
    store.add(cnbc, source_id="feed:cnbc")
    got = store.query("SELECT source, count(*) AS n FROM articles GROUP BY source ORDER BY n DESC, source")
    both = pd.concat([gkg, cnbc])
    want = (
        both.groupby("source")
        .size()
        .rename("n")
        .reset_index()
        .sort_values(["n", "source"], ascending=[False, True])
    )
    assert got["n"].tolist() == want["n"].tolist() and got["source"].tolist() == want["source"].tolist()
    stats = store.stats()
    want = both.assign(date=both["published"].dt.strftime("%Y-%m-%d")).groupby("date").size()
    assert stats.groupby("date")["rows"].sum().to_dict() == want.to_dict()
    assert stats.attrs["newsbt_store"]["rows"] == len(both)
    with pytest.raises(InputFormatError, match="store query failed"):
        store.query("SELECT nope FROM articles")


def test_empty_store_reads_empty(tmp_path):
    store = ArticleStore(tmp_path / "none")
    assert len(store.articles()) == 0 and list(store.articles().columns)[:2] == ["article_id", "published"]
    assert int(store.query("SELECT count(*) AS n FROM articles")["n"].iloc[0]) == 0


def test_leftover_temp_files_are_invisible_and_cleaned(tmp_path, cnbc):
    store = ArticleStore(tmp_path)
    store.add(cnbc.iloc[:5], source_id="feed:x")
    day = store.days()[0]
    junk = tmp_path / "articles" / f"date={day}" / ".tmp-part-killed.parquet"
    junk.write_bytes(b"PAR1 half a file")
    assert len(store.articles()) == 5  # readers never see temp files
    store.add(cnbc.iloc[5:], source_id="feed:x")
    assert not junk.exists() and len(store.articles()) == 30


def test_stale_index_is_rebuilt_from_the_parquet_files(tmp_path, cnbc):
    store = ArticleStore(tmp_path)
    store.add(cnbc, source_id="feed:x")
    for f in (tmp_path / "_index").glob("*.npz"):  # a writer killed before its index update
        f.unlink()
    assert ArticleStore(tmp_path).add(cnbc, source_id="feed:y").duplicates == 30


def test_second_writer_gets_a_clear_busy_error(tmp_path, cnbc):
    store = ArticleStore(tmp_path)
    store.add(cnbc.iloc[:3], source_id="feed:x")
    code = textwrap.dedent(f"""
        import sys, time
        from signals.store import ArticleStore
        s = ArticleStore({str(tmp_path)!r})
        with s.writing():
            print("locked", flush=True)
            time.sleep(30)
    """)
    p = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "locked"
        with pytest.raises(StoreBusyError, match="another process"):
            ArticleStore(tmp_path).add(cnbc, source_id="feed:x")
        assert len(store.articles()) == 3  # readers are not blocked by the writer
    finally:
        p.kill()
        p.wait()
    assert ArticleStore(tmp_path).add(cnbc, source_id="feed:x").new == 27


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cuts=st.lists(st.integers(0, 30), min_size=1, max_size=5), rep=st.integers(0, 3))
def test_any_batching_stores_each_id_once(tmp_path_factory, cnbc, cuts, rep):
    """Property: however the rows are batched and repeated, the store holds each id once and the
    ledgers add up (rows = new + duplicates)."""
    path = tmp_path_factory.mktemp("prop")
    store = ArticleStore(path)
    bounds = sorted({0, 30, *cuts})
    total_new = total_dup = 0
    for k in range(rep + 1):
        for a, b in zip(bounds[:-1], bounds[1:]):
            led = store.add(cnbc.iloc[a:b], source_id=f"feed:s{k}")
            assert led.rows == led.new + led.duplicates + len(led.rejects)
            total_new += led.new
            total_dup += led.duplicates
    assert total_new == 30 and total_dup == 30 * rep
    assert (
        store.articles()["article_id"].tolist()
        == cnbc.sort_values(["published", "article_id"])["article_id"].tolist()
    )
