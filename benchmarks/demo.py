"""Benchmark of ``newsbt demo`` after the first run (issue #20: goal <= 8 s wall on this machine).

One warm-up run (fills numba's and newsbt's caches), then ``--runs`` runs, each into a fresh output
folder, each in its own process. Prints wall, user and system CPU seconds per run and their medians,
and the load average before and after (the machine is shared: user CPU time is the less noisy figure;
wall time also measures the neighbours). ``--profile`` adds one more run under cProfile in-process
and prints the top functions by cumulative time; ``--importtime`` prints the slowest top-level
imports of ``python -X importtime -m backtests.cli --help``.

``--baseline DIR`` (a source tree of another commit, e.g. ``git archive HEAD | tar -x -C DIR``)
alternates runs of that tree and of this one, so that both see the same load; the runs of each are
reported as above, then the median ratios.

Run: ``.venv/bin/python benchmarks/demo.py [--runs 5] [--baseline DIR] [--profile 40] [--importtime]``
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def demo_once(out: Path, src: Path | None = None) -> tuple[float, float, float]:
    """Wall, user and system seconds of one ``newsbt demo`` run in a child process (its helper
    processes included); ``src``: a source tree put first on ``PYTHONPATH`` (e.g. a baseline)."""
    env = os.environ | {"MPLBACKEND": "Agg"}
    if src is not None:
        env["PYTHONPATH"] = str(src)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "backtests.cli", "demo", "--out", str(out), "-q"],
        check=True,
        cwd=tempfile.gettempdir() if src is not None else None,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime


def profile(out: Path, top: int) -> None:
    """One demo run in this process under cProfile; the top functions by cumulative time."""
    import cProfile
    import pstats

    from backtests import cli

    prof = cProfile.Profile()
    prof.enable()
    cli.main(["demo", "--out", str(out), "-q"])
    prof.disable()
    pstats.Stats(prof).sort_stats("cumulative").print_stats(top)


def importtime(top: int = 25) -> None:
    """The slowest imports (cumulative microseconds) of ``newsbt --help``."""
    r = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "backtests.cli", "--help"],
        capture_output=True,
        text=True,
        check=True,
    )
    rows = []
    for line in r.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _self_us, cum_us, name = line.replace("import time:", "").split("|")
        if not name.startswith("  "):  # top-level imports only (nested ones are indented)
            rows.append((int(cum_us), name.strip()))
    for cum, name in sorted(rows, reverse=True)[:top]:
        print(f"{cum / 1e3:8.1f} ms  {name}")


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--profile", type=int, default=0, metavar="TOP", help="cProfile top list of one run")
    ap.add_argument("--baseline", type=Path, default=None, help="source tree to compare with")
    ap.add_argument("--importtime", action="store_true", help="slowest imports of `newsbt --help`")
    args = ap.parse_args()
    print(f"load before: {_load()}")
    with tempfile.TemporaryDirectory() as tmp:
        trees = (
            {"this tree": None} if args.baseline is None else {"baseline": args.baseline, "this tree": None}
        )
        for name, src in trees.items():
            w0, u0, s0 = demo_once(Path(tmp) / "warm", src)
            print(f"{name}: warm-up run: wall {w0:.2f} s, user {u0:.2f} s, sys {s0:.2f} s")
        runs: dict[str, list] = {name: [] for name in trees}
        for i in range(args.runs):
            for name, src in trees.items():
                runs[name].append(demo_once(Path(tmp) / f"run{i}-{len(runs[name])}-{name[0]}", src))
        med = {}
        for name, rr in runs.items():
            if not rr:
                continue
            for i, (w, u, s) in enumerate(rr, 1):
                print(f"{name}: run {i}: wall {w:.2f} s, user {u:.2f} s, sys {s:.2f} s")
            med[name] = [statistics.median(x) for x in zip(*rr, strict=True)]
            m = med[name]
            print(f"{name}: median of {args.runs}: wall {m[0]:.2f} s, user {m[1]:.2f} s, sys {m[2]:.2f} s")
        if args.baseline is not None and args.runs:
            b, t = med["baseline"], med["this tree"]
            print(f"this tree / baseline (medians): wall {t[0] / b[0]:.2f}x ({t[0] - b[0]:+.2f} s), "
                  f"user {t[1] / b[1]:.2f}x ({t[1] - b[1]:+.2f} s)")  # fmt: skip
        print(f"load after: {_load()} (goal: <= 8 s wall after the first run)")
        if args.importtime:
            importtime()
        if args.profile:
            profile(Path(tmp) / "profiled", args.profile)


if __name__ == "__main__":
    main()
