"""events_from_store: partition-wise (pandas or Dask) events equal the one-piece pandas events exactly."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import signals
import signals.distributed
from backtests.cli import main
from signals.store import ArticleStore

NEWS = (
    Path(os.environ.get("NEWSBT_SHARED_DATA", Path(__file__).resolve().parents[3] / "shared" / "data"))
    / "news"
)
pytestmark = pytest.mark.skipif(not NEWS.is_dir(), reason="../shared/data/news is absent (real corpora)")
SETTINGS = {"deadline": None, "suppress_health_check": [HealthCheck.function_scoped_fixture]}


def reference(arts: pd.DataFrame, **kw) -> pd.DataFrame:
    """The one-piece pandas pipeline the partition-wise engines must reproduce bit for bit."""
    return signals.extract_events(signals.score_sentiment(signals.tag_themes(arts)), **kw)


@pytest.fixture(scope="module")
def reuters_store(tmp_path_factory) -> ArticleStore:
    """Real Reuters stories of Jul-Nov 2011 (the August and October yen interventions), by UTC day."""
    arts = signals.read_articles(NEWS / "reuters_2006_2013_themes.csv")
    arts = arts[(arts["published"] >= "2011-07-01") & (arts["published"] < "2011-11-15")]
    store = ArticleStore(tmp_path_factory.mktemp("reuters"))
    store.add(arts, source_id="files")
    return store


@pytest.fixture(scope="module")
def reuters_ref(reuters_store) -> pd.DataFrame:
    return reference(reuters_store.articles())


def test_pandas_engine_equals_one_piece_pipeline(reuters_store, reuters_ref):
    ev = signals.events_from_store(reuters_store, cache=False)
    assert len(ev) > 20  # real bursts (yen, treasuries) in the period
    pd.testing.assert_frame_equal(ev, reuters_ref, check_exact=True)
    assert ev.attrs["newsbt_events"]["articles"] == len(reuters_store.articles())


def test_date_range_and_options(reuters_store):
    arts = reuters_store.articles("2011-08-01", "2011-08-31")
    for kw in ({"gap": "2h"}, {"gap": "3D", "min_articles": 3}):
        got = signals.events_from_store(reuters_store.path, "2011-08-01", "2011-08-31", cache=False, **kw)
        pd.testing.assert_frame_equal(got, reference(arts, **kw), check_exact=True)


@settings(max_examples=6, **SETTINGS)
@given(
    target=st.integers(5, 150),
    gap=st.sampled_from(["30min", "6h", "30h", "3D"]),
    min_articles=st.integers(1, 3),
)
def test_any_day_grouping_gives_the_same_events(reuters_store, target, gap, min_articles):
    """Property: whatever the partitioning (days grouped at random sizes; gaps shorter and longer
    than a partition, so bursts chain across one or several edges), the events are identical."""
    arts = reuters_store.articles("2011-08-01", "2011-09-15")
    got = signals.events_from_store(
        reuters_store,
        "2011-08-01",
        "2011-09-15",
        gap=gap,
        min_articles=min_articles,
        target_rows=target,
        cache=False,
    )
    pd.testing.assert_frame_equal(got, reference(arts, gap=gap, min_articles=min_articles), check_exact=True)
    assert got.attrs["newsbt_events"]["partitions"] >= 1


@pytest.fixture(scope="module")
def edge_store(tmp_path_factory, reuters_store) -> ArticleStore:
    """Real Reuters stories of one theme re-dated to put bursts across midnight UTC and partition edges."""
    tagged = signals.tag_themes(reuters_store.articles())
    top = tagged["themes"].explode().value_counts().index[0]
    arts = reuters_store.articles()[tagged["themes"].map(lambda t: top in t).to_numpy()].head(12).copy()
    stamps = [
        "2024-03-01T22:00Z",
        "2024-03-01T23:50Z",
        "2024-03-02T00:10Z",
        "2024-03-02T05:59Z",  # midnight
        "2024-03-02T11:59Z",
        "2024-03-02T12:01Z",  # across a 12h edge
        "2024-03-04T08:00Z",  # alone in its partition; 03-03 is empty
        "2024-03-05T00:00Z",
        "2024-03-05T06:00Z",
        "2024-03-05T23:59:59Z",
        "2024-03-06T05:59:59Z",
        "2024-03-06T12:00Z",
    ]
    arts["published"] = pd.to_datetime(stamps[: len(arts)], utc=True, format="ISO8601")
    store = ArticleStore(tmp_path_factory.mktemp("edge"))
    store.add(arts, source_id="edge")
    return store


@pytest.mark.parametrize("partition", ["1D", "12h", "1h", "auto"])
def test_bursts_across_midnight_and_partition_edges(edge_store, partition):
    ref = reference(edge_store.articles())
    assert (ref["n_articles"] > 1).any() and (ref["end"].dt.date > ref["timestamp"].dt.date).any()
    got = signals.events_from_store(edge_store, partition=partition, target_rows=1, cache=False)
    pd.testing.assert_frame_equal(got, ref, check_exact=True)


def test_empty_range_gives_an_empty_events_table(edge_store):
    got = signals.events_from_store(edge_store, "2030-01-01", "2030-01-31")
    assert len(got) == 0 and list(got.columns) == list(reference(edge_store.articles()).columns)


def test_partition_cache_reused_and_extended(tmp_path):
    arts = signals.read_articles(NEWS / "reuters_2006_2013_themes.csv")
    arts = arts[(arts["published"] >= "2011-10-01") & (arts["published"] < "2011-11-01")]
    store = ArticleStore(tmp_path)
    store.add(arts[arts["published"] < "2011-10-20"], source_id="files")
    first = signals.events_from_store(store, partition="1D")
    cache = tmp_path / "_cache" / "signals"
    n1 = len(list(cache.glob("*.pkl")))
    assert n1 == len(store.days())
    pd.testing.assert_frame_equal(signals.events_from_store(store, partition="1D"), first, check_exact=True)
    store.add(arts, source_id="files")  # the later days arrive
    again = signals.events_from_store(store, partition="1D")
    assert len(list(cache.glob("*.pkl"))) == len(store.days())  # only the new days were computed
    pd.testing.assert_frame_equal(again, reference(store.articles()), check_exact=True)


def test_unknown_engine_and_partition_are_config_errors(edge_store):
    with pytest.raises(signals.ConfigError, match="engine"):
        signals.events_from_store(edge_store, engine="spark")
    with pytest.raises(signals.ConfigError, match="partition"):
        signals.events_from_store(edge_store, partition="7h")


def test_dask_local_cluster_two_processes(reuters_store, reuters_ref):
    from dask.distributed import Client, LocalCluster

    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cl,
        Client(cl) as client,
    ):
        got = signals.events_from_store(
            reuters_store, engine="dask", client=client, target_rows=40, cache=False
        )
        assert got.attrs["newsbt_events"]["partitions"] > 5
        pd.testing.assert_frame_equal(got, reuters_ref, check_exact=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dask_cli_scheduler_and_worker_by_address(edge_store, tmp_path, capsys):
    dask = shutil.which("dask", path=str(Path(sys.executable).parent)) or shutil.which("dask")
    if dask is None:
        pytest.skip("the dask command is not installed")
    port = _free_port()
    addr = f"tcp://127.0.0.1:{port}"
    env = {**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    sched = subprocess.Popen(
        [
            dask,
            "scheduler",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--dashboard-address",
            ":0",
            "--no-show",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    worker = subprocess.Popen(
        [dask, "worker", addr, "--nworkers", "1", "--nthreads", "1", "--host", "127.0.0.1", "--no-dashboard"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        out = tmp_path / "ev.csv"
        code = main(
            [
                "events",
                "--store",
                str(edge_store.path),
                "--start",
                "2024-03-01",
                "--end",
                "2024-03-06",
                "--engine",
                "dask",
                "--scheduler",
                addr,
                "-o",
                str(out),
            ]
        )
        assert code == 0
        got = pd.read_csv(out)
        ref = reference(edge_store.articles())
        assert got["event_id"].tolist() == ref["event_id"].tolist()
        assert got["n_articles"].tolist() == ref["n_articles"].tolist()
    finally:
        for p in (worker, sched):
            p.terminate()
        for p in (worker, sched):
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


def test_cli_events_from_store_matches_files(reuters_store, tmp_path, capsys):
    out = tmp_path / "ev.csv"
    assert (
        main(
            [
                "events",
                "--store",
                str(reuters_store.path),
                "--start",
                "2011-08-01",
                "--end",
                "2011-08-31",
                "-o",
                str(out),
            ]
        )
        == 0
    )
    got = pd.read_csv(out)
    ref = reference(reuters_store.articles("2011-08-01", "2011-08-31"))
    assert got["event_id"].tolist() == ref["event_id"].tolist()
    assert (
        main(["events", "--store", str(reuters_store.path), str(out)]) == 2
    )  # files and --store: one or other


GKG_MAP = {
    "fed_policy": ["ECON_CENTRALBANK", "TAX_FNCACT_CENTRAL_BANK"],
    "tariffs": ["TAX_TARIFFS", "ECON_TRADE_DISPUTE"],
    "treasury_selloff": ["ECON_INTEREST_RATE*", "ECON_DEBT"],
}


@pytest.fixture(scope="module")
def gkg_store(tmp_path_factory) -> ArticleStore:
    """The real GKG subset spread over four 15-minute batches around 16:00 UTC."""
    arts = signals.read_articles(NEWS / "raw" / "gdelt_20230702153000_subset.gkg.csv")
    k = pd.Series(range(len(arts))) % 4
    arts["published"] = pd.Timestamp("2023-07-02T15:30Z") + pd.to_timedelta(15 * k.to_numpy(), unit="min")
    store = ArticleStore(tmp_path_factory.mktemp("gkg"))
    store.add(arts, source_id="gdelt")
    return store


def test_gkg_native_themes_and_tone(gkg_store):
    arts = gkg_store.articles()
    tagged = signals.distributed.tag_gkg(arts, GKG_MAP)
    for _, r in arts.iterrows():  # independent check of the code matching, row by row
        codes = [c for c in str(r["gdelt_themes"]).split(";") if c]
        n = sum(c.startswith("ECON_INTEREST_RATE") or c == "ECON_DEBT" for c in codes)
        assert tagged.loc[_, "treasury_selloff_score"] == n
    assert (tagged["compound"] == (arts["tone"] / 10).clip(-1, 1)).all()
    ref = signals.extract_events(tagged, gap="10min")
    assert len(ref) > 0
    for partition in ("1h", "auto"):
        got = signals.events_from_store(
            gkg_store, gap="10min", gkg_map=GKG_MAP, partition=partition, target_rows=10, cache=False
        )
        pd.testing.assert_frame_equal(got, ref, check_exact=True)
    with pytest.raises(signals.ConfigError, match="not in the theme book"):
        signals.events_from_store(gkg_store, gkg_map={"nope": ["X"]})


def test_study_config_reads_the_store(tmp_path, reuters_store):
    from backtests.config import load_config
    from backtests.pipeline import _store_events

    p = tmp_path / "study.toml"
    p.write_text(
        f'[run]\nas_of = "2011-08-31"\n[articles]\nstore = "{reuters_store.path}"\nlookback_days = 31\n'
        '[compute]\nengine = "pandas"\n[market]\nseries = ["usdjpy"]\n'
    )
    got = _store_events(load_config(p))
    pd.testing.assert_frame_equal(
        got, reference(reuters_store.articles("2011-08-01", "2011-08-31")), check_exact=True
    )


def test_partition_cache_keyed_by_every_book_setting(tmp_path):
    """A book differing only in its neutral-headline rule (or negation scope) never reads another
    book's cached partitions: the cached run equals the uncached one (found by review)."""
    arts = signals.read_articles(NEWS / "reuters_2006_2013_themes.csv")
    arts = arts[(arts["published"] >= "2011-10-01") & (arts["published"] < "2011-10-15")]
    store = ArticleStore(tmp_path / "store")
    store.add(arts, source_id="files")
    src = Path(signals.themes.__file__).resolve().parents[1] / "data" / "themes" / "default.toml"
    text = src.read_text(encoding="utf-8")
    assert "\nneutral_headline" in text
    changed = tmp_path / "neutral_all.toml"
    changed.write_text(text.replace("\nneutral_headline = ", "\nneutral_headline = '.' # ", 1), encoding="utf-8")
    a = signals.events_from_store(store, themes=src)
    b_cached = signals.events_from_store(store, themes=changed)
    b_fresh = signals.events_from_store(store, themes=changed, cache=False)
    pd.testing.assert_frame_equal(b_cached, b_fresh, check_exact=True)
    assert (b_fresh["stance"].fillna(0) == 0).all() and not (a["stance"].fillna(0) == 0).all()


def test_a_missing_store_or_gkg_source_without_a_store_is_an_error(tmp_path, monkeypatch, capsys):
    """A typo in the store path is an error naming it, not an empty events table; --source gkg
    without --store (or [themes] source without [articles] store) is refused, not ignored; a relative
    store path is made absolute (Dask workers may start in another folder). Found by review."""
    with pytest.raises(signals.InputNotFoundError, match="no article store here"):
        signals.events_from_store(tmp_path / "nonexistent")
    assert main(["events", "--store", str(tmp_path / "nonexistent")]) == 2
    assert "no article store here" in capsys.readouterr().err
    f = tmp_path / "a.csv"
    pd.DataFrame({"published": ["2025-05-02T01:00Z"], "title": ["Yen jumps"], "url": ["https://x/1"]}).to_csv(f)
    assert main(["events", str(f), "--source", "gkg"]) == 2
    assert "--store" in capsys.readouterr().err
    monkeypatch.chdir(tmp_path)
    assert ArticleStore("rel").path == tmp_path / "rel"
