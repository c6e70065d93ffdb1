"""``newsbt study`` at scale: wall time and peak memory of the command line on a large event set.

Run: ``.venv/bin/python benchmarks/study_cli.py [--events 100000] [--code /work/main]``

Writes a CSV of random events (``date`` uniform over the trading days of the bundled series,
``theme`` one of five, ids ``B1`` ...) and runs ``newsbt study`` on it with three bundled series
(``ust_10y jgb_10y usdjpy``, source ``sample``: the files shipped in the repository's data folder),
the CLI's defaults (model ``mean``, calendar ``observed``, group by theme and series) and every
test, the placebo test with its default 1,000 draws. So each event gives three event-series
pairs. The command runs in a child process (``python -m backtests.cli``); the figures are its
wall time and its peak resident memory (``ru_maxrss`` of that child, from ``os.wait4``).

``--code DIR`` runs the command with the packages of another checkout first on ``PYTHONPATH``
(e.g. ``/work/main`` to measure the code before a change on the same machine in the same run).
Goal (issue 17): <= 20 s and <= 2 GB peak RSS for 100,000 events.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SERIES = ("ust_10y", "jgb_10y", "usdjpy")
THEMES = ("boj_policy", "fed_policy", "intervention", "inflation", "trade")


def make_events(n: int, start: str = "2000-01-01", end: str = "2024-12-31", seed: int = 0) -> pd.DataFrame:
    """``n`` random events (``event_id``, ``date``, ``theme``) on business days in [start, end]."""
    rng = np.random.default_rng(seed)
    days = pd.bdate_range(start, end)
    return pd.DataFrame(
        {
            "event_id": [f"B{i + 1}" for i in range(n)],
            "date": days[rng.integers(0, len(days), n)].strftime("%Y-%m-%d"),
            "theme": np.array(THEMES)[rng.integers(0, len(THEMES), n)],
        }
    )


def run_cli(events_csv: Path, code: Path | None) -> tuple[float, float, int, float]:
    """Run ``newsbt study`` in a child process: (wall seconds, peak RSS in MiB, exit code, CPU
    seconds (user + system, all threads): less sensitive than the wall time to other load)."""
    env = dict(os.environ)
    if code is not None:
        env["PYTHONPATH"] = os.pathsep.join([str(code), env.get("PYTHONPATH", "")])
    cmd = [sys.executable, "-m", "backtests.cli", "--quiet", "study", "--events", str(events_csv),
           "--series", *SERIES, "--source", "sample"]  # fmt: skip
    with tempfile.TemporaryFile("w+") as fo, tempfile.TemporaryFile("w+") as fe:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=fo, stderr=fe, cwd=str(code or ROOT))
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own resource usage
        dt = time.perf_counter() - t0
        proc.returncode = rc = os.waitstatus_to_exitcode(status)
        fo.seek(0)
        fe.seek(0)
        if rc:
            sys.stderr.write(fe.read()[-3000:])
        else:
            sys.stdout.write("\n".join(fo.read().splitlines()[:4]) + "\n")
    peak = usage.ru_maxrss  # KiB on Linux
    cpu = usage.ru_utime + usage.ru_stime
    return dt, peak / 1024, rc, cpu


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--events", type=int, default=100_000)
    ap.add_argument("--code", action="append", default=None,
                    help="checkout(s) to run instead of this one (repeat: measured in the order given)")  # fmt: skip
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "events.csv"
        make_events(args.events).to_csv(csv, index=False)
        for code in args.code or [None]:
            where = Path(code).resolve() if code else None
            dt, rss, rc, cpu = run_cli(csv, where)
            print(
                f"newsbt study [{where or ROOT}]: {args.events:,} events x {len(SERIES)} series, all tests "
                f"(1,000 placebo draws): {dt:7.1f} s wall, {cpu:7.1f} s CPU, peak RSS {rss:8.0f} MiB, "
                f"exit {rc}, load {os.getloadavg()[0]:.1f}"
            )
    print("goal: <= 20 s and <= 2048 MiB peak RSS (100,000 events)")


if __name__ == "__main__":
    main()
