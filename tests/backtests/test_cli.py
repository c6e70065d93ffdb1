"""The `newsbt` command end to end, with real subprocesses."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[2]


def newsbt(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    env = {**os.environ, "MPLBACKEND": "Agg"}
    return subprocess.run(
        [sys.executable, "-m", "backtests.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
    )


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.imgs: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "img":
            self.imgs.append(dict(attrs).get("src", ""))


@pytest.fixture(scope="module")
def demo_runs(tmp_path_factory):
    """Two demo runs into separate folders (idempotence), from an empty working folder."""
    base = tmp_path_factory.mktemp("demo")
    out1, out2 = base / "r1", base / "r2"
    r1 = newsbt("demo", "--out", str(out1), cwd=base)
    r2 = newsbt("demo", "--out", str(out2), cwd=base)
    return r1, r2, out1, out2


def test_demo_writes_a_complete_report(demo_runs):
    r1, _, out, _ = demo_runs
    assert r1.returncode == 0, r1.stderr
    assert str(out / "index.html") in r1.stdout
    for f in (
        "index.html",
        "report.md",
        "summary.json",
        "tables/events.csv",
        "tables/car.csv",
        "tables/caar.csv",
        "tables/tests.csv",
        "tables/excluded.csv",
        "run.log",
    ):
        assert (out / f).is_file(), f
    p = _Collector()
    p.feed((out / "index.html").read_text())
    assert "table" in p.tags
    assert p.imgs and all(src.startswith("data:image/png;base64,") and len(src) > 5000 for src in p.imgs)
    pngs = list((out / "figures").glob("*.png"))
    assert pngs and all(f.stat().st_size > 5000 for f in pngs)
    from backtests.config import load_config
    from signals._paths import data_path

    svg_asked = "svg" in load_config(data_path("configs", "demo.toml"))["report"]["figure_formats"]
    assert bool(list((out / "figures").glob("*.svg"))) == svg_asked  # SVG only when the config asks
    md = (out / "report.md").read_text()
    for link in re.findall(r"\]\((figures/[^)]+)\)", md):
        assert (out / link).is_file(), link


def test_demo_summary_schema_and_story(demo_runs):
    _, _, out, _ = demo_runs
    s = json.loads((out / "summary.json").read_text())
    for key in ("title", "config_hash", "headline", "data_sources", "versions", "run", "study", "backtest"):
        assert key in s, key
    srcs = {d["series"]: d for d in s["data_sources"]}
    assert {"ust_10y", "jgb_10y", "usdjpy"} <= set(srcs)
    for d in srcs.values():
        assert d["publisher"] and d["start"] and d["end"] and d["origin"] == "snapshot"
    assert s["headline"]["n_official_days"] > 200  # distinct MOF dates since 1995 with a yen leg
    html = (out / "index.html").read_text()
    assert "Highlighted event" in html and "02 May 2025" in html
    assert "Official intervention days" in html
    hl = pd.read_csv(out / "tables" / "highlight.csv")
    d0 = dict(zip(hl["series"], hl["day 0"], strict=False))
    assert len(set(d0.values())) >= 1


def test_demo_is_idempotent(demo_runs):
    r1, r2, out1, out2 = demo_runs
    assert r2.returncode == 0, r2.stderr
    t1 = sorted(p.name for p in (out1 / "tables").iterdir())
    assert t1 == sorted(p.name for p in (out2 / "tables").iterdir())
    for name in t1:
        assert (out1 / "tables" / name).read_bytes() == (out2 / "tables" / name).read_bytes(), name
    s1, s2 = (json.loads((o / "summary.json").read_text()) for o in (out1, out2))
    s1.pop("run"), s2.pop("run")
    assert s1 == s2


def test_bad_config_exit_codes(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[market]\nseries = ["ust_10y"]\nsauce = "x"\n')
    r = newsbt("run", str(bad))
    assert r.returncode == 2
    assert "[market].sauce" in r.stderr and "Traceback" not in r.stderr
    wrong = tmp_path / "wrong.toml"
    wrong.write_text('[market]\nseries = ["ust_10y"]\n[study]\nwindow = "x"\n')
    r = newsbt("run", str(wrong))
    assert r.returncode == 2 and "[study].window" in r.stderr
    r = newsbt("run", str(tmp_path / "missing.toml"))
    assert r.returncode == 2 and "missing.toml" in r.stderr


def test_naive_timestamps_are_a_clear_error(tmp_path):
    ev = tmp_path / "events.csv"
    ev.write_text("timestamp,theme\n2025-05-02 10:00,tariffs\n")
    r = newsbt("study", "--events", str(ev), "--series", "ust_10y", "--source", "sample")
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    assert "naive" in r.stderr.lower() or "time zone" in r.stderr.lower()


def test_unknown_series_is_exit_2(tmp_path):
    ev = tmp_path / "events.csv"
    ev.write_text("date,theme\n2025-05-02,tariffs\n")
    r = newsbt("study", "--events", str(ev), "--series", "no_such_series", "--source", "sample")
    assert r.returncode == 2, r.stderr
    assert "no_such_series" in r.stderr


def test_killed_run_leaves_no_partial_report(tmp_path):
    """SIGKILL while the report is being written: no report folder; the next run cleans up."""
    out = tmp_path / "killed"
    env = {**os.environ, "MPLBACKEND": "Agg"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "backtests.cli", "demo", "--out", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    deadline = time.time() + 240
    while (
        time.time() < deadline and proc.poll() is None and not list(tmp_path.glob(".killed.tmp-*/figures/*"))
    ):
        time.sleep(0.02)
    assert proc.poll() is None, "the demo finished before it could be killed mid-write"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not out.exists()
    assert list(tmp_path.glob(".killed.tmp-*"))  # it was killed mid-write
    r = newsbt("demo", "--out", str(out), "-q")
    assert r.returncode == 0, r.stderr
    assert (out / "summary.json").is_file()
    assert not list(tmp_path.glob(".killed.tmp-*"))


def test_lock_blocks_a_concurrent_run(tmp_path):
    from filelock import FileLock

    out = tmp_path / "locked"
    with FileLock(str(tmp_path / ".locked.lock")):
        r = newsbt("demo", "--out", str(out))
    assert r.returncode == 1
    assert "another newsbt run" in r.stderr
    assert not out.exists()


def test_every_command_is_documented_in_readme():
    from backtests.cli import build_parser

    readme = (REPO / "README.md").read_text()
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    for name in sub.choices:
        assert f"newsbt {name}" in readme, name


def test_every_command_has_help_with_example():
    from backtests.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    for name, p in sub.choices.items():
        assert "Example: newsbt" in p.format_help(), name


def _small_config(tmp_path: Path) -> Path:
    corpus = REPO / "data" / "news" / "sample_articles.jsonl"
    cfg = tmp_path / "seed.toml"
    cfg.write_text(f"""
[run]
title = "seed case, small"
[articles]
paths = ["{corpus}"]
[market]
series = ["ust_10y", "jgb_10y", "usdjpy"]
source = "sample"
start = "2021-06-01"
[study]
placebo_draws = 100
group_by = ["sentiment_bucket"]
[backtest]
placebo = 20
[[backtest.rules]]
themes = ["tariffs", "yen_intervention"]
[report]
out = "{tmp_path}/out/{{date}}-{{name}}"
formats = ["html"]
figure_formats = ["png"]
""")
    return cfg


def test_run_config_as_of_with_placeholders_and_log(tmp_path):
    cfg = _small_config(tmp_path)
    r = newsbt("run", str(cfg), "--as-of", "2025-05-09", "-q")
    assert r.returncode == 0, r.stderr
    out = tmp_path / "out" / "2025-05-09-seed"
    assert (out / "index.html").is_file() and not (out / "report.md").exists()
    assert (tmp_path / "out" / "2025-05-09-seed.log").is_file()  # log beside the report
    s = json.loads((out / "summary.json").read_text())
    assert s["as_of"] == "2025-05-09"
    ev = pd.read_csv(out / "tables" / "events.csv")
    assert pd.to_datetime(ev["timestamp"]).max() < pd.Timestamp("2025-05-10", tz="UTC")
    tests = pd.read_csv(out / "tables" / "tests.csv")
    assert {"sentiment_bucket", "series"} <= set(tests.columns)
    trades = pd.read_csv(out / "tables" / "backtest_trades.csv")
    assert len(trades) > 0


def test_events_study_backtest_commands(tmp_path):
    corpus = REPO / "data" / "news" / "sample_articles.jsonl"
    ev = tmp_path / "events.csv"
    r = newsbt("events", str(corpus), "-o", str(ev))
    assert r.returncode == 0, r.stderr
    table = pd.read_csv(ev)
    assert {"event_id", "theme", "timestamp"} <= set(table.columns) and len(table) > 10
    r = newsbt(
        "study",
        "--events",
        str(ev),
        "--series",
        "ust_10y",
        "usdjpy",
        "--source",
        "sample",
        "--window=-2,5",
        "--estimation=-100,-10",
        "--all-tests",
        "--out",
        str(tmp_path / "study"),
    )
    assert r.returncode == 0, r.stderr
    assert "t_cross_section" in r.stdout and (tmp_path / "study" / "index.html").is_file()
    r = newsbt("backtest", "--events", str(ev), "--series", "usdjpy", "--source", "sample", "--holding", "3")
    assert r.returncode == 0, r.stderr
    assert "Sharpe" in r.stdout or "sharpe" in r.stdout
    r = newsbt("study", "--events", str(ev), "--series", "ust_10y", "--window=5,-2")
    assert r.returncode == 2 and "window" in r.stderr


def test_articles_file_given_as_events_is_a_clear_error(tmp_path):
    bad = tmp_path / "events.csv"
    bad.write_text("a,b\n1,2\n1,2,3,4\n")
    r = newsbt("study", "--events", str(bad), "--series", "ust_10y", "--source", "sample")
    assert r.returncode == 2, r.stderr
    assert "not a readable events table" in r.stderr and "newsbt events" in r.stderr
