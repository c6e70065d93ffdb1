"""Ingestion against a real HTTP server on 127.0.0.1 serving the real GKG subset and CNBC RSS.

For each case: rows in the store == unique items served, and the ledger adds up
(items = new + duplicates + rejects)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from backtests.cli import main
from signals.ingest import FetchError, HttpPolicy, http_get, ingest, load_ingest_config, parse_filelist
from signals.store import ArticleStore, StoreBusyError

sys.path.insert(0, str(Path(__file__).parent))
from ingest_server import CNBC_RSS, GKG_RAW, FixtureServer, batch_times, split_gkg  # noqa: E402

pytestmark = pytest.mark.skipif(
    not GKG_RAW.exists(), reason="../shared/data/news/raw is absent (real fixtures)"
)
N_GKG = 81
N_RSS = 30
TIMES = batch_times("2023-07-02 15:30", 4)


@pytest.fixture
def srv():
    s = FixtureServer()
    s.publish_gkg(split_gkg(TIMES))
    s.files["/cnbc.xml"] = CNBC_RSS.read_bytes()
    yield s
    s.close()


def write_cfg(tmp: Path, srv: FixtureServer, *, feeds=("/cnbc.xml",), gdelt=True, extra="") -> Path:
    lines = [f'[store]\npath = "{tmp / "store"}"\n', "[http]\ntimeout = 0.5\nretries = 3\nbackoff = 0.01\n"]
    for i, f in enumerate(feeds):
        lines.append(f'[[feeds]]\nurl = "{srv.url}{f}"\nname = "f{i}"\n')
    if gdelt:
        lines.append(f'[gdelt]\nbase_url = "{srv.url}/gdeltv2/"\nstart = "2023-07-02"\n')
    p = tmp / "ingest.toml"
    p.write_text("\n".join(lines) + extra)
    return p


def check(run: dict, store_path: Path, unique_served: int) -> None:
    for s in run["sources"]:
        assert s["items"] == s["new"] + s["duplicates"] + s["rejects"], s
    ids = ArticleStore(store_path).query("SELECT article_id FROM articles")["article_id"]
    assert ids.is_unique and len(ids) == unique_served


def by_source(run):
    return {s["source"]: s for s in run["sources"]}


def test_first_then_second_ingest_nothing_new(tmp_path, srv, capsys):
    cfg = write_cfg(tmp_path, srv)
    assert main(["ingest", str(cfg)]) == 0
    out = capsys.readouterr().out
    assert (
        "feed:f0: ok, 1 fetched, 30 items, 30 new" in out and "gdelt: ok, 4 fetched, 81 items, 81 new" in out
    )
    run = ingest(load_ingest_config(cfg))
    check(run, tmp_path / "store", N_GKG + N_RSS)
    rows = by_source(run)
    assert rows["feed:f0"]["status"] == "not_modified" and srv.count("/cnbc.xml", 304) == 1
    assert rows["gdelt"]["fetched"] == 0 and rows["gdelt"]["new"] == 0
    assert all(srv.count(f"/gdeltv2/{t}.gkg.csv.zip") == 1 for t in TIMES)  # no file read twice
    assert main(["ingest", "-q", str(cfg)]) == 0
    assert (
        capsys.readouterr().out.strip().startswith("ingest: 2 source(s), 0 items, 0 new")
    )  # summary even with -q
    assert len(ArticleStore(tmp_path / "store").ledgers()) == 6  # 3 runs x 2 sources


def test_new_file_appears(tmp_path, srv):
    files = split_gkg(TIMES)
    srv.files = {k: v for k, v in srv.files.items() if not k.endswith(".gkg.csv.zip")}
    srv.publish_gkg({t: files[t] for t in TIMES[:3]})
    cfg = load_ingest_config(write_cfg(tmp_path, srv, feeds=()))
    check(ingest(cfg), tmp_path / "store", N_GKG - len(range(3, N_GKG, 4)))
    n_master = srv.count("/gdeltv2/masterfilelist.txt")
    srv.publish_gkg({TIMES[3]: files[TIMES[3]]})
    run = ingest(cfg)
    g = by_source(run)["gdelt"]
    assert g["fetched"] == 1 and g["new"] == g["items"] == len(range(3, N_GKG, 4))
    assert srv.count("/gdeltv2/masterfilelist.txt") == n_master  # one step after the last: lastupdate only
    check(run, tmp_path / "store", N_GKG)


def test_gap_of_several_files_is_filled_from_the_master_list(tmp_path, srv):
    srv.publish_gkg({})
    first = split_gkg(TIMES)
    srv.files = {k: v for k, v in srv.files.items() if not k.endswith(".gkg.csv.zip")}
    srv.publish_gkg({TIMES[0]: first[TIMES[0]]})
    cfg = load_ingest_config(write_cfg(tmp_path, srv, feeds=()))
    cfg["gdelt"].pop("start")
    assert by_source(ingest(cfg))["gdelt"]["fetched"] == 1  # no state, no start: the latest file only
    srv.publish_gkg({t: first[t] for t in TIMES[1:]})
    run = ingest(cfg)
    assert by_source(run)["gdelt"]["fetched"] == 3
    check(run, tmp_path / "store", N_GKG)


def test_5xx_then_success_is_retried(tmp_path, srv):
    srv.faults["/cnbc.xml"] = ["500", "503"]
    srv.faults[f"/gdeltv2/{TIMES[1]}.gkg.csv.zip"] = ["503"]
    run = ingest(load_ingest_config(write_cfg(tmp_path, srv)))
    assert run["exit_code"] == 0 and by_source(run)["feed:f0"]["attempts"] == 3
    assert srv.count("/cnbc.xml", 500) == srv.count("/cnbc.xml", 503) == 1
    check(run, tmp_path / "store", N_GKG + N_RSS)


def test_4xx_is_not_retried_and_other_sources_still_ingest(tmp_path, srv, capsys):
    cfg = write_cfg(tmp_path, srv, feeds=("/missing.xml", "/cnbc.xml"))
    assert main(["ingest", str(cfg)]) == 3
    assert srv.count("/missing.xml") == 1
    out = capsys.readouterr().out
    assert "feed:f0: error" in out and "HTTP 404" in out and "FAILED: feed:f0" in out
    check(ingest(load_ingest_config(cfg)), tmp_path / "store", N_GKG + N_RSS)


def test_timeout_then_success(tmp_path, srv):
    srv.stall = 1.5  # client timeout is 0.5 s
    srv.faults["/cnbc.xml"] = ["timeout"]
    run = ingest(load_ingest_config(write_cfg(tmp_path, srv, gdelt=False)))
    assert run["exit_code"] == 0 and run["sources"][0]["attempts"] == 2
    check(run, tmp_path / "store", N_RSS)


def test_unreachable_source_exit_3(tmp_path, srv):
    cfg = load_ingest_config(write_cfg(tmp_path, srv, gdelt=False))
    cfg["feeds"].append({"url": "http://127.0.0.1:9/closed.xml", "name": "closed"})
    run = ingest(cfg)
    assert run["exit_code"] == 3 and "unreachable" in by_source(run)["feed:closed"]["errors"][0]
    check(run, tmp_path / "store", N_RSS)


@pytest.mark.parametrize("fault", ["truncate", "corrupt"])
def test_truncated_zip_or_wrong_md5_rejected_then_retried(tmp_path, srv, fault):
    bad = f"/gdeltv2/{TIMES[2]}.gkg.csv.zip"
    srv.faults[bad] = [fault]
    cfg = load_ingest_config(write_cfg(tmp_path, srv, feeds=()))
    run = ingest(cfg)
    g = by_source(run)["gdelt"]
    assert run["exit_code"] == 3 and g["fetched"] == 3
    assert ("bytes, the file list says" if fault == "truncate" else "MD5") in g["errors"][0]
    n_bad = len(range(2, N_GKG, 4))  # rows of the third file
    check(run, tmp_path / "store", N_GKG - n_bad)  # nothing of the bad file stored
    state = ArticleStore(tmp_path / "store").get_state("gdelt")
    assert list(state["retry"]) == [srv.url + bad]
    run = ingest(cfg)
    assert run["exit_code"] == 0 and by_source(run)["gdelt"]["new"] == n_bad
    check(run, tmp_path / "store", N_GKG)
    assert ArticleStore(tmp_path / "store").get_state("gdelt")["retry"] == {}


def test_html_page_with_200_is_an_error_not_data(tmp_path, srv):
    srv.faults["/cnbc.xml"] = ["html"]
    srv.faults["/gdeltv2/lastupdate.txt"] = ["html"]
    cfg = load_ingest_config(write_cfg(tmp_path, srv))
    run = ingest(cfg)
    rows = by_source(run)
    assert run["exit_code"] == 3
    assert (
        "HTML page" in rows["feed:f0"]["errors"][0] and "not a GDELT file list" in rows["gdelt"]["errors"][0]
    )
    check(run, tmp_path / "store", 0)
    assert ArticleStore(tmp_path / "store").get_state("feed:f0") == {}  # nothing remembered
    check(ingest(cfg), tmp_path / "store", N_GKG + N_RSS)


def test_duplicates_across_polls_and_sources(tmp_path, srv):
    srv.files["/copy.xml"] = CNBC_RSS.read_bytes()  # same items from a second source
    cfg = load_ingest_config(write_cfg(tmp_path, srv, feeds=("/cnbc.xml", "/copy.xml"), gdelt=False))
    run = ingest(cfg)
    rows = by_source(run)
    assert rows["feed:f0"]["new"] == N_RSS and rows["feed:f1"]["duplicates"] == N_RSS
    # next poll: the feed changed (one item removed -> new ETag) but its items are known
    xml = CNBC_RSS.read_text()
    cut = xml.index("<item>")
    srv.files["/cnbc.xml"] = (xml[:cut] + xml[xml.index("</item>", cut) + 7 :]).encode()
    run = ingest(cfg)
    rows = by_source(run)
    assert rows["feed:f0"]["status"] == "ok" and rows["feed:f0"]["duplicates"] == N_RSS - 1
    assert rows["feed:f1"]["status"] == "not_modified"
    check(run, tmp_path / "store", N_RSS)


def test_future_dates_are_flagged(tmp_path, srv):
    cfg = load_ingest_config(write_cfg(tmp_path, srv, gdelt=False))
    run = ingest(cfg, now="2019-07-27T00:00Z")  # the feed's clock is ahead of ours
    f = run["sources"][0]
    assert f["future"] > 0 and f["new"] == N_RSS
    got = ArticleStore(tmp_path / "store").query(
        "SELECT count(*) AS n FROM articles WHERE published > TIMESTAMPTZ '2019-07-27 00:15:00+00'"
    )
    assert int(got["n"].iloc[0]) == f["future"]


def test_config_errors_exit_2(tmp_path, capsys):
    p = tmp_path / "bad.toml"
    p.write_text('[store]\npath = "s"\n[gdelt]\nbase_url = "x"\nbogus = 1\n')
    assert main(["ingest", str(p)]) == 2
    assert "bogus" in capsys.readouterr().err
    p.write_text("[[feeds]]\nurl = 'http://127.0.0.1/x'\n")
    assert main(["ingest", str(p)]) == 2
    assert "[store].path is required" in capsys.readouterr().err


def test_http_get_policy(srv):
    srv.faults["/cnbc.xml"] = ["503", "503", "503"]
    with pytest.raises(FetchError, match="after 2 attempts"):
        http_get(srv.url + "/cnbc.xml", policy=HttpPolicy(retries=1, backoff=0.01))
    assert srv.count("/cnbc.xml", 503) == 2
    with pytest.raises(FetchError, match="HTTP 503"):
        http_get(srv.url + "/cnbc.xml", policy=HttpPolicy(retries=0))
    assert srv.count("/cnbc.xml", 503) == 3
    assert http_get(srv.url + "/cnbc.xml").body == CNBC_RSS.read_bytes()


def test_parse_filelist_real_format():
    text = (
        "150383 297a16b493de7cf6ca809a7cc31d0b93 http://data.gdeltproject.org/gdeltv2/20150218230000.export.CSV.zip\n"
        "318084 bb27f78ba45f69a17ea6ed7755e9f8ff http://data.gdeltproject.org/gdeltv2/20150218230000.mentions.CSV.zip\n"
        "10768507 ea8dde0beb0ba98810a92db068c0ce99 http://data.gdeltproject.org/gdeltv2/20150218230000.gkg.csv.zip\n"
    )
    got = parse_filelist(text, "lastupdate.txt")
    assert got.to_dict("records") == [
        {
            "size": 10768507,
            "md5": "ea8dde0beb0ba98810a92db068c0ce99",
            "url": "http://data.gdeltproject.org/gdeltv2/20150218230000.gkg.csv.zip",
            "ts": "20150218230000",
        }
    ]
    with pytest.raises(FetchError, match="not a GDELT file list"):
        parse_filelist("<html><body>oops</body></html>", "x")


def _cli(*args, light=True):
    """``newsbt ingest`` in a child process; ``light``: ``python -m signals.ingest`` (the same run
    without importing ``backtests``: a faster start on a loaded CI machine)."""
    cmd = (
        [sys.executable, "-m", "signals.ingest", *args[1:]]
        if light
        else [str(Path(sys.executable).parent / "newsbt"), *args]
    )
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_sigkill_mid_write_then_rerun(tmp_path, srv):
    times = batch_times("2023-07-02 15:30", 8)
    srv.files = {k: v for k, v in srv.files.items() if not k.startswith("/gdeltv2/")}
    srv.publish_gkg(split_gkg(times))
    srv.delay = 0.05
    cfg = write_cfg(tmp_path, srv, feeds=())
    store = tmp_path / "store"
    for wait_parts in (2,):  # kill once files are being written (the next file is mid-write or mid-fetch)
        p = _cli("ingest", str(cfg))
        t0 = time.time()
        while len(list(store.glob("articles/*/part-*.parquet"))) < wait_parts and time.time() - t0 < 30:
            time.sleep(0.005)
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        ids = ArticleStore(store).query("SELECT article_id FROM articles")["article_id"]
        assert ids.is_unique  # a reader right after the kill sees whole files only
    p = _cli("ingest", str(cfg))
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    assert "gdelt: ok" in out
    run_rows = ArticleStore(store).ledgers()
    assert (run_rows["items"] == run_rows["new"] + run_rows["duplicates"] + run_rows["rejects"]).all()
    check({"sources": []}, store, N_GKG)  # nothing doubled, nothing skipped
    assert not list(store.glob("articles/*/.tmp-*"))


def test_two_ingests_at_once(tmp_path, srv, capsys):
    srv.delay = 0.3
    cfg = write_cfg(tmp_path, srv)
    p = _cli("ingest", str(cfg))
    t0 = time.time()
    while not srv.log and time.time() - t0 < 30:  # the first ingest has the lock and is fetching
        time.sleep(0.01)
    assert main(["ingest", str(cfg)]) == 4
    assert "being written by another process" in capsys.readouterr().err
    with pytest.raises(StoreBusyError):
        ingest(load_ingest_config(cfg))
    out, err = p.communicate(timeout=60)
    assert p.returncode == 0, err
    check({"sources": []}, tmp_path / "store", N_GKG + N_RSS)


@contextlib.contextmanager
def read_only(folder: Path):
    """Make ``folder`` read-only: permissions for a normal user; a read-only bind mount for root
    (root ignores permissions); skip when neither is possible."""
    if os.geteuid() != 0:
        paths = [folder, *folder.rglob("*")]
        for f in paths:
            os.chmod(f, 0o555 if f.is_dir() else 0o444)
        try:
            yield
        finally:
            for f in paths:
                os.chmod(f, 0o755 if f.is_dir() else 0o644)
        return
    ok = subprocess.run(["mount", "--bind", str(folder), str(folder)], capture_output=True).returncode == 0
    if ok and subprocess.run(["mount", "-o", "remount,ro,bind", str(folder)], capture_output=True).returncode:
        subprocess.run(["umount", str(folder)], check=False)
        ok = False
    if not ok:
        pytest.skip("running as root without permission to mount read-only: cannot make a read-only store")
    try:
        yield
    finally:
        subprocess.run(["umount", str(folder)], check=False)


def test_read_only_store_is_a_clear_error(tmp_path, srv, capsys):
    cfg = write_cfg(tmp_path, srv, gdelt=False)
    assert main(["ingest", "-q", str(cfg)]) == 0
    store = tmp_path / "store"
    srv.files["/cnbc.xml"] += b" "  # changed feed: the run would have to write
    with read_only(store):
        assert main(["ingest", str(cfg)]) == 3
        err = capsys.readouterr().err
        assert "not writable" in err and str(store) in err
        assert len(ArticleStore(store).articles()) == N_RSS  # still readable


@pytest.mark.parametrize("batch_rows", [1, 30, 1_000_000])
def test_batched_writes_store_the_same_rows_as_one_file_at_a_time(tmp_path, srv, batch_rows):
    """Several files' rows written together (batch_rows) give the store and ledger of file-by-file
    writes; a damaged file in the middle still leaves the state after the written files only."""
    srv.faults[f"/gdeltv2/{TIMES[2]}.gkg.csv.zip"] = ["truncate"] * 20  # every attempt of both runs
    out = {}
    for i, b in enumerate((1, batch_rows)):
        d = tmp_path / f"run{i}"
        d.mkdir()
        cfg = load_ingest_config(write_cfg(d, srv, feeds=(), extra=f"batch_rows = {b}\n"))
        run = ingest(cfg)
        g = by_source(run)["gdelt"]
        assert g["fetched"] == 3 and len(g["errors"]) == 1 and TIMES[2] in g["errors"][0], g
        store = ArticleStore(d / "store")
        assert store.get_state("gdelt")["last"] == TIMES[3] and list(store.get_state("gdelt")["retry"])
        out[i] = (
            store.articles().drop(columns=["ingested_at"]).sort_values("article_id", ignore_index=True),
            {k: g[k] for k in ("items", "new", "duplicates", "rejects")},
        )
        check(run, d / "store", N_GKG - len(range(2, N_GKG, 4)))
    pd.testing.assert_frame_equal(out[0][0], out[1][0])
    assert out[0][1] == out[1][1]
