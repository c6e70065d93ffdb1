"""Every writer is atomic, locked and reports file-system errors in one line; reads never lock."""

from __future__ import annotations

import errno
import os
import stat
import threading

import pandas as pd
import pytest

from backtests import _io, cli
from backtests.market import cache, load_market
from signals.errors import CacheError


def test_atomic_write_keeps_the_old_file_when_the_disk_fills(tmp_path):
    p = tmp_path / "events.csv"
    p.write_text("good,file\n1,2\n")

    def full(tmp):
        tmp.write_text("half")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(
        _io.OutputError, match=f"cannot write {p}: No space left on device \\(free disk space"
    ):
        _io.atomic_write(p, full)
    assert p.read_text() == "good,file\n1,2\n"
    assert [x.name for x in tmp_path.iterdir()] == ["events.csv"]  # no temp file left


def test_files_get_the_users_umask(tmp_path):
    old = os.umask(0o027)
    try:
        p = _io.atomic_write(tmp_path / "a.txt", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE(p.stat().st_mode) == 0o640


def test_cache_file_permissions_follow_umask(tmp_path, monkeypatch):
    monkeypatch.setenv("NEWSBT_DATA", str(tmp_path))
    old = os.umask(0o022)
    try:
        p = cache.write_cache("ust_10y", "fred", pd.Series([1.0], index=pd.to_datetime(["2024-01-02"])), {})
    finally:
        os.umask(old)
    assert stat.S_IMODE(p.stat().st_mode) == 0o644


def test_folder_lock_second_writer_fails_at_once(tmp_path):
    out = tmp_path / "report"
    with (
        _io.folder_lock(out),
        pytest.raises(_io.OutputError, match="another newsbt run is writing"),
        _io.folder_lock(out),
    ):
        pass
    with _io.folder_lock(out):  # released
        pass


def test_two_concurrent_study_outs_one_fails_cleanly(tmp_path, monkeypatch, capsys):
    """The second `study --out` on the same folder while the first holds the lock: exit 1, one line."""
    out = tmp_path / "rep"
    held, release = threading.Event(), threading.Event()

    def first():
        with _io.folder_lock(out):
            held.set()
            release.wait(10)

    t = threading.Thread(target=first)
    t.start()
    try:
        assert held.wait(10)
        with pytest.raises(_io.OutputError), cli._run_lock(out):
            pass
    finally:
        release.set()
        t.join()


def test_events_output_is_atomic(tmp_path, monkeypatch, capsys):
    from signals._paths import data_path

    src = data_path("news", "sample_articles.jsonl")
    out = tmp_path / "ev.csv"
    out.write_text("previous,good\n")
    calls = {}

    def boom(self, path, *a, **k):
        calls["path"] = str(path)
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", boom)
    rc = cli.main(["events", str(src), "-o", str(out)])
    err = capsys.readouterr().err
    # the error is one line (the reader's ledger line "articles: N rows in, ..." comes before it)
    errors = [ln for ln in err.splitlines() if "error" in ln]
    assert rc == 1 and "No space left" in err and str(out) in err and len(errors) == 1 and "Traceback" not in err
    assert out.read_text() == "previous,good\n"
    assert calls["path"] != str(out)  # written to a temp file, never in place


def test_unwritable_output_folder_is_one_line(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    from signals._paths import data_path

    rc = cli.main(["events", str(data_path("news", "sample_articles.jsonl")), "-o", str(blocker / "ev.csv")])
    err = capsys.readouterr().err
    errors = [ln for ln in err.splitlines() if "error" in ln]  # after the reader's ledger line
    assert rc == 1 and len(errors) == 1 and "Traceback" not in err and str(blocker) in err


def test_reads_take_no_lock(tmp_path, monkeypatch):
    monkeypatch.setenv("NEWSBT_DATA", str(tmp_path))
    p = cache.write_cache("ust_10y", "fred", pd.Series([1.0], index=pd.to_datetime(["2024-01-02"])), {})
    for f in p.parent.glob("*.lock"):
        f.unlink()
    assert cache.read_cache("ust_10y", "fred") is not None
    assert not list(p.parent.glob("*.lock"))


@pytest.mark.skipif(
    os.geteuid() == 0, reason="root ignores file permissions; covered by the patched test below"
)
def test_read_only_data_folder_with_chmod(tmp_path, monkeypatch):
    monkeypatch.setenv("NEWSBT_DATA", str(tmp_path))
    p = cache.write_cache("ust_10y", "fred", pd.Series([4.0], index=pd.to_datetime(["2024-01-02"])), {})
    for f in p.parent.glob("*.lock"):
        f.unlink()
    os.chmod(p.parent, 0o555)
    try:
        m = load_market("ust_10y", source="cache")
        assert list(m.levels["ust_10y"]) == [4.0]
    finally:
        os.chmod(p.parent, 0o755)


def test_unwritable_cache_is_a_notice_not_a_failure(tmp_path, monkeypatch):
    """A read-only data folder: the refresh cannot be saved, the values fetched are used, noted."""
    monkeypatch.setenv("NEWSBT_DATA", str(tmp_path))

    def ro(*a, **k):
        raise CacheError(f"cannot write cache file {tmp_path} (Read-only file system)")

    monkeypatch.setattr(cache, "write_cache", ro)
    body = b"observation_date,DGS10\n2025-04-04,4.01\n2025-04-07,4.15\n"
    m = load_market("ust_10y", source="fred", fetch_kw={"fred": {"opener": lambda u, t: body}})
    assert list(m.levels["ust_10y"]) == [4.01, 4.15]
    assert "not updated" in m.provenance["ust_10y"].notes[0]


def test_corrupt_cache_read_only_folder_is_ignored_and_noted(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("NEWSBT_DATA", str(tmp_path))
    p = cache.cache_path("ust_10y", "fred")
    p.parent.mkdir(parents=True)
    p.write_bytes(b"PAR1 garbage")

    def no_move(a, b):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(os, "replace", no_move)
    with caplog.at_level("WARNING"):
        assert cache.read_cache("ust_10y", "fred") is None
    assert "cannot be moved aside" in caplog.text and p.exists()
    assert "corrupt" in cache.take_notices("ust_10y")[0]


def test_corrupt_cache_through_newsbt_run_quiet_and_not(tmp_path, monkeypatch, capsys):
    """Quarantine is shown on stderr without -q, hidden with -q, and written to run.log and the banner."""
    import json

    from signals._paths import data_path

    monkeypatch.setenv("NEWSBT_DATA", str(tmp_path / "data"))
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'[articles]\npaths = ["{data_path("news", "sample_articles.jsonl")}"]\n'
        '[market]\nseries = ["ust_10y"]\nsource = "auto"\n'
        '[study]\nplacebo_draws = 10\n[backtest]\nenabled = false\n[report]\nformats = ["md"]\nfigure_formats = ["png"]\n'
    )
    for quiet in (False, True):
        s = pd.read_csv(data_path("market", "ust_yields_daily.csv") if False else _ust_csv(tmp_path),
                        parse_dates=["date"], index_col="date")["ust_10y"].dropna()  # fmt: skip
        cache.write_cache("ust_10y", "fred", s, {})
        p = cache.cache_path("ust_10y", "fred")
        cache.write_cache("ust_2y", "fred", s, {})
        os.replace(cache.cache_path("ust_2y", "fred"), p)  # holds the wrong series: corrupt
        out = tmp_path / f"rep{quiet}"
        rc = cli.main(["run", str(cfg), "--out", str(out)] + (["-q"] if quiet else []))
        err = capsys.readouterr()
        if rc != 0:
            pytest.skip(f"run failed for another reason: {err.err}")
        assert ("corrupt" in err.err) != quiet
        assert "report.md" in err.out and "index.html" not in err.out
        assert "corrupt" in (out / "run.log").read_text()
        assert "corrupt" in json.dumps(json.loads((out / "summary.json").read_text())["banners"])


def _ust_csv(tmp_path):
    p = tmp_path / "ust.csv"
    if not p.exists():
        idx = pd.bdate_range("2023-01-02", "2025-06-30")
        pd.DataFrame({"date": idx, "ust_10y": 4.0}).to_csv(p, index=False)
    return p


def test_report_folder_gets_the_users_umask(tmp_path):
    from backtests.report import write_report

    old = os.umask(0o022)
    try:
        out = write_report(None, None, tmp_path / "rep", title="t", formats=["md"])
    finally:
        os.umask(old)
    assert stat.S_IMODE(out.stat().st_mode) == 0o755


def test_two_concurrent_study_out_on_one_folder(tmp_path, monkeypatch, capsys):
    """`newsbt study --out R` while another run writes R: the second exits 1 with one line, the first
    finishes its report."""
    import backtests

    ev = tmp_path / "ev.csv"
    ev.write_text("date,theme\n2024-03-01,a\n2024-04-02,a\n2024-05-01,a\n")
    out = tmp_path / "R"
    real = backtests.write_report
    inside, go = threading.Event(), threading.Event()

    def slow(*a, **k):
        inside.set()
        go.wait(30)
        return real(*a, **k)

    monkeypatch.setattr(backtests, "write_report", slow)
    args = ["study", "--events", str(ev), "--series", "ust_10y", "--source", "sample", "--model", "raw", "-q"]
    rc1 = []
    t = threading.Thread(target=lambda: rc1.append(cli.main([*args, "--out", str(out)])))
    t.start()
    try:
        assert inside.wait(60)
        monkeypatch.setattr(backtests, "write_report", real)
        rc2 = cli.main([*args, "--out", str(out)])
    finally:
        go.set()
        t.join(60)
    err = capsys.readouterr().err
    assert rc2 == 1 and "another newsbt run is writing" in err and "Traceback" not in err
    assert rc1 == [0] and (out / "index.html").exists()
