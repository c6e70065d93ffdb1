"""Benchmark of the demo report: ``newsbt demo`` wall and CPU time after a warm-up run, the share
of the report writing spent on figures and on tables (from the report's own progress ticks), and
the size of ``index.html``.

CPU time is printed beside wall time because the machine may be shared: wall time then measures the
neighbours as much as newsbt. Goals (issue #20): index.html <= 1.5 MB, demo <= 8 s after the first run.

Run: ``.venv/bin/python benchmarks/report.py [--runs 3]``
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def demo_once(out: Path) -> tuple[float, float]:
    """Wall and CPU (user + system of the child) seconds of one ``newsbt demo`` run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "backtests.cli", "demo", "--out", str(out), "-q"],
        check=True,
        env=os.environ | {"MPLBACKEND": "Agg"},
        stdout=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def breakdown(out: Path) -> dict[str, float]:
    """In-process: pipeline, then the report with time per progress tick (figure / table)."""
    from backtests import pipeline, story
    from backtests.config import load_config
    from backtests.report import write_report
    from signals._paths import data_path

    cfg = load_config(data_path("configs", "demo.toml"))
    t0 = time.process_time()
    res = pipeline.run(cfg)
    t1 = time.process_time()
    marks: list[tuple[str, float]] = []
    write_report(
        res.study, res.backtest, out, market=res.market, events=res.events, title=cfg["run"]["title"],
        sections=story.sections(res), summary=res.headline, formats=cfg["report"]["formats"],
        figure_formats=cfg["report"]["figure_formats"], articles=res.articles,
        progress=lambda label: marks.append((label, time.process_time())),
    )  # fmt: skip
    t2 = time.process_time()
    ends = [m[1] for m in marks[1:]] + [t2]
    spent = {"figure": 0.0, "table": 0.0}
    for (label, start), end in zip(marks, ends, strict=True):
        spent[label.split(" ")[0]] += end - start
    return {
        "pipeline_cpu_s": t1 - t0,
        "report_cpu_s": t2 - t1,
        "figures_cpu_s": spent["figure"],
        "tables_cpu_s": spent["table"],
        "n_figures": sum(m[0].startswith("figure") for m in marks),
        "n_tables": sum(m[0].startswith("table") for m in marks),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "demo"
        w0, c0 = demo_once(out)
        print(f"first run (cold caches): wall {w0:.1f} s, cpu {c0:.1f} s")
        runs = [demo_once(out) for _ in range(args.runs)]
        for i, (w, c) in enumerate(runs, 1):
            print(f"run {i}: wall {w:.1f} s, cpu {c:.1f} s")
        best = min(runs)
        print(f"best of {args.runs} after the first: wall {best[0]:.1f} s, cpu {best[1]:.1f} s (goal <= 8 s)")
        size = (out / "index.html").stat().st_size
        print(f"index.html: {size / 1e6:.2f} MB (goal <= 1.5 MB)")
        b = breakdown(Path(tmp) / "inproc")
        print(
            f"in-process cpu: pipeline {b['pipeline_cpu_s']:.1f} s, report {b['report_cpu_s']:.1f} s of which "
            f"{b['n_figures']} figures {b['figures_cpu_s']:.1f} s and {b['n_tables']} tables {b['tables_cpu_s']:.1f} s"
        )


if __name__ == "__main__":
    main()
