"""Event-study engine benchmark: throughput, speed-up vs per-event loops, peak memory, parity.

Run: ``.venv/bin/python benchmarks/engine.py [--series 2000 --days 5000 --pairs 100000]``

Builds a synthetic panel (series x days of N(0, 1) changes loaded on a common market factor, 1 %
missing), draws event-series pairs at random dates (so many windows overlap), and times
``backtests.event_study`` with the market model, estimation 250 days, window 21 days:

1. AR/CAR/CAAR + ``t_cross_section``, ``brown_warner``, ``patell``, ``bmp``;
2. every test but ``placebo`` (rank tests and ``kolari_pynnonen`` included).

The engine has one implementation, the compiled numba kernels (``backtests._kernels``; numba is
required); the path that ran is printed. A third line times the parametric tests under the
``factor`` model with two benchmarks (the market and a second factor; its own kernel,
``backtests._kernels_factor``). Numba's compilation is excluded from the timings (warm-up call),
and reported separately: the first call in a fresh process with an empty kernel cache (cold
compile) and with the on-disk cache.

It then times two per-event loops on a subset of pairs: the test oracle
(``tests/backtests/naive_oracle.py``, pandas look-ups, literal definitions) and a plain numpy
per-pair loop (slices + ``lstsq``, the way one would write it by hand), checks that the engine
agrees with the oracle on that subset (AR, sigma, CAR to 1e-9), and prints pairs/s and speed-up
ratios (engine time = best of three runs, each including the construction of the result
tables ``pairs``, ``ar``, ``car``, ``caar``, ``daily_tests``, ``tests``; a second figure adds
``excluded`` and ``overlaps``, which are assembled on first read). Peak memory is measured with ``tracemalloc`` (numpy allocations are traced) and
reported relative to the size of the AR matrix (pairs x window x 8 bytes); the input panel is
allocated before tracing starts.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "backtests"))

import naive_oracle  # noqa: E402

from backtests import engine as eng  # noqa: E402
from backtests.errors import NewsbtWarning  # noqa: E402
from backtests.stats import ALL_BUT_PLACEBO, PARAMETRIC  # noqa: E402
from backtests.study import event_study  # noqa: E402

# the random panel excludes ~19 % of pairs by design (missing_in_window); the count is printed
warnings.filterwarnings("ignore", category=NewsbtWarning)

WINDOW = (-10, 10)
ESTIMATION = (-260, -11)


def make_panel(n_series: int, n_days: int, n_pairs: int, seed: int = 0):
    """Synthetic changes (DataFrame), market Series and events (one row per pair)."""
    rng = np.random.default_rng(seed)
    idx = pd.bdate_range("2000-01-03", periods=n_days)
    mkt = rng.standard_normal(n_days)
    beta = rng.uniform(0.5, 1.5, n_series)
    x = rng.standard_normal((n_days, n_series)) + mkt[:, None] * beta[None, :]
    x[rng.random(x.shape) < 0.01] = np.nan
    changes = pd.DataFrame(x, index=idx, columns=[f"S{i:04d}" for i in range(n_series)])
    lo, hi = -ESTIMATION[0], n_days - WINDOW[1] - 1
    events = pd.DataFrame(
        {
            "event_id": [f"E{i}" for i in range(n_pairs)],
            "series": changes.columns[rng.integers(0, n_series, n_pairs)],
            "date": idx[rng.integers(lo, hi, n_pairs)],
        }
    )
    return changes, pd.Series(mkt, index=idx, name="market"), events


def numpy_loop(values: np.ndarray, mkt: np.ndarray, s: np.ndarray, p: np.ndarray):
    """Hand-written per-pair loop (market model): returns AR (n, W) and CAR (n,)."""
    a, b = WINDOW
    c, d = ESTIMATION
    out_ar = np.empty((len(s), b - a + 1))
    out_car = np.empty(len(s))
    for i in range(len(s)):
        x = values[p[i] + c : p[i] + d + 1, s[i]]
        m = mkt[p[i] + c : p[i] + d + 1]
        ok = ~np.isnan(x) & ~np.isnan(m)
        z = np.column_stack([np.ones(ok.sum()), m[ok]])
        coef, *_ = np.linalg.lstsq(z, x[ok], rcond=None)
        xw = values[p[i] + a : p[i] + b + 1, s[i]]
        arw = xw - coef[0] - coef[1] * mkt[p[i] + a : p[i] + b + 1]
        out_ar[i] = arw
        out_car[i] = np.nansum(arw)
    return out_ar, out_car


def run_study(changes, events, tests, kw, bookkeeping: bool = False):
    """The study plus its result tables (``ar`` is built on first access, so it is touched
    here: the figures include building the tables). ``bookkeeping``: also build ``excluded``
    and ``overlaps`` (assembled on first read, with their text)."""
    study = event_study(changes, events, tests=tests, **kw)
    for frame in (study.pairs, study.ar, study.car, study.caar, study.daily_tests, study.tests):
        assert frame is not None
    if bookkeeping:
        assert len(study.excluded) + len(study.pairs) == study.n_requested
        assert study.overlaps is not None
    return study


def first_call_seconds(cache_dir: str | None) -> float:
    """Import + first small study in a fresh process (numba compile or cache load included)."""
    here = repr(str(Path(__file__).resolve().parent))
    code = (
        "import time; t0 = time.perf_counter(); import sys; sys.path.insert(0, " + here + "); "
        "import engine as b; from backtests.study import event_study; "
        "ch, m, ev = b.make_panel(50, 400, 200); "
        "t1 = time.perf_counter(); event_study(ch, ev, tests=b.ALL_BUT_PLACEBO, window=b.WINDOW, "
        "estimation=b.ESTIMATION, model='market', benchmark=m); print(time.perf_counter() - t1)"
    )
    env = dict(os.environ)
    env.pop("NEWSBT_NO_NUMBA", None)
    if cache_dir:
        env["NUMBA_CACHE_DIR"] = cache_dir
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


class _PathSpy:
    """Records which engine path (``EngineResult.path``) each ``run_engine`` call took."""

    def __init__(self):
        self.seen: list[str] = []
        self._orig = eng.run_engine

    def __enter__(self):
        def spy(*args, **kwargs):
            res = self._orig(*args, **kwargs)
            self.seen.append(res.path)
            return res

        eng.run_engine = spy
        return self

    def __exit__(self, *exc):
        eng.run_engine = self._orig


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--series", type=int, default=2000)
    ap.add_argument("--days", type=int, default=5000)
    ap.add_argument("--pairs", type=int, default=100_000)
    ap.add_argument("--oracle-pairs", type=int, default=60)
    ap.add_argument("--loop-pairs", type=int, default=5000)
    args = ap.parse_args()

    changes, mkt, events = make_panel(args.series, args.days, args.pairs)
    n = len(events)
    ar_bytes = n * (WINDOW[1] - WINDOW[0] + 1) * 8
    print(
        f"panel {args.series} series x {args.days} days, {n} pairs, window {WINDOW}, estimation {ESTIMATION}"
    )

    # the engine as before the honest-answers defaults: index calendar (the panel has no gaps), no
    # confounder table (a separate layer, timed by benchmarks/honest.py)
    kw = {
        "window": WINDOW,
        "estimation": ESTIMATION,
        "model": "market",
        "benchmark": mkt,
        "calendar": "index",
        "confounders": "ignore",
    }
    if eng.numba_enabled():
        with tempfile.TemporaryDirectory() as tmp:
            cold = first_call_seconds(tmp)
            cached = first_call_seconds(tmp)
        print(
            f"numba first call (small study, all but placebo): {cold:.2f} s cold compile, "
            f"{cached:.2f} s from the on-disk cache"
        )
    event_study(changes, events.head(1000), tests=ALL_BUT_PLACEBO, **kw)  # warm-up (and compile)

    results = {}
    f2 = pd.Series(np.sin(np.arange(len(changes)) / 7.0), index=changes.index)
    kw_f = {**kw, "model": "factor", "benchmark": pd.DataFrame({"mkt": mkt, "f2": f2})}
    event_study(changes, events.head(1000), tests=PARAMETRIC, **kw_f)  # warm-up (and compile)
    runs = (
        ("parametric", PARAMETRIC, kw),
        ("all_but_placebo", ALL_BUT_PLACEBO, kw),
        ("factor_param", PARAMETRIC, kw_f),
    )
    for label, tests, kw_run in runs:
        with _PathSpy() as spy:
            dt = min(timed(lambda t=tests, k=kw_run: run_study(changes, events, t, k))[1] for _ in range(3))
            dt_all = min(
                timed(lambda t=tests, k=kw_run: run_study(changes, events, t, k, True))[1] for _ in range(3)
            )
        ran = "/".join(sorted(set(spy.seen)))
        # memory in a second, traced run (tracing slows numpy down, so it is not timed)
        tracemalloc.start()
        study = run_study(changes, events, tests, kw_run)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        results[label] = (study, dt)
        print(
            f"engine [{label:15s}] path {ran:5s}: {dt:7.3f} s  {n / dt:12,.0f} pairs/s  kept "
            f"{len(study.pairs)}  peak mem {peak / 2**20:8.1f} MiB = {peak / ar_bytes:5.2f} x AR "
            f"matrix ({ar_bytes / 2**20:.1f} MiB); with excluded + overlaps tables {dt_all:.3f} s "
            f"= {n / dt_all:,.0f} pairs/s"
        )
    results.pop("factor_param")
    study = results["parametric"][0]
    t_engine = results["parametric"][1]

    # --- per-event loops on a subset --------------------------------------------------------------
    sub = events.head(args.oracle_pairs)
    (kept, _), t_or = timed(
        lambda: naive_oracle.naive_pairs(
            changes.assign(market=mkt),
            sub,
            window=WINDOW,
            estimation=ESTIMATION,
            model="market",
            benchmark="market",
        )
    )
    rate_or = len(sub) / t_or
    worst = 0.0
    ar = study.ar
    sig = study.pairs.set_index(["event_id", "series"])["sigma"]
    car = study.car.set_index(["event_id", "series"])["car"]
    for kp in kept:
        key = (kp["event_id"], kp["series"])
        worst = max(
            worst,
            float(np.nanmax(np.abs(ar.loc[key].to_numpy() - kp["ar"]))),
            abs(sig.loc[key] - kp["sigma"]),
            abs(car.loc[key] - kp["car"][0]),
        )
    print(
        f"parity vs oracle on {len(kept)} kept pairs: max abs diff {worst:.2e} ({'OK' if worst < 1e-9 else 'FAIL'})"
    )

    values = changes.to_numpy()
    pos = changes.index.get_indexer(events["date"])
    scol = changes.columns.get_indexer(events["series"])
    m = min(args.loop_pairs, n)
    _, t_loop = timed(lambda: numpy_loop(values, mkt.to_numpy(), scol[:m], pos[:m]))
    rate_loop = m / t_loop
    for label, (_, dt) in results.items():
        rate = n / dt
        print(
            f"speed-up [{label:15s}]: {rate / rate_or:10,.0f} x the oracle loop ({rate_or:,.0f} pairs/s), "
            f"{rate / rate_loop:8,.1f} x a numpy per-pair loop ({rate_loop:,.0f} pairs/s)"
        )
    print(f"goal: >= 1,000,000 pairs/s parametric ({n / t_engine:,.0f}), >= 100,000 all but placebo "
          f"({n / results['all_but_placebo'][1]:,.0f}), >= 100x naive loop")  # fmt: skip


if __name__ == "__main__":
    main()
