"""Scale benchmark: GKG-shaped articles over a year in the store -> events with pandas and Dask.

Run: ``.venv/bin/python benchmarks/scale.py [--rows 10000000] [--store PATH] [--text-rows 20000]``

Builds a corpus of ``--rows`` GKG-shaped rows by resampling the 81 real rows of
``../shared/data/news/raw/gdelt_20230702153000_subset.gkg.csv`` (read with the GKG reader; each
copy gets its own id and URL) over the 365 days of 2024 at uniform random times, writes it to an
article store one day at a time (memory bounded), then times GDELT-native signals (themes from
GKG codes, sentiment from V1.5 tone: no text pass) + burst extraction with

- the pandas engine (partition by partition in this process),
- Dask ``LocalCluster`` with 1 worker and with 2 workers (processes, one thread each),

checks all three give identical events, and prints rows/s, rows/s per worker, the 2-vs-1 worker
ratio, peak RSS of each worker (``ru_maxrss``) and the projected worker-hours for one year of
GDELT (266 million records). ``--text-rows`` also times text tagging + VADER on titles for that
many rows (the path a corpus without GKG codes takes). Goals: >= 100,000 GKG rows/s per worker,
2 workers >= 1.7x one, <= 2 GB per worker whatever the corpus size.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

import signals
from signals.distributed import events_from_store
from signals.store import ArticleStore

REPO = Path(__file__).resolve().parents[1]
RAW = (
    Path(os.environ.get("NEWSBT_SHARED_DATA", REPO.parent / "shared" / "data"))
    / "news"
    / "raw"
    / "gdelt_20230702153000_subset.gkg.csv"
)
GKG_MAP = {
    "fed_policy": ["ECON_CENTRALBANK", "TAX_FNCACT_CENTRAL_BANK"],
    "tariffs": ["TAX_TARIFFS", "ECON_TRADE_DISPUTE"],
    "treasury_selloff": ["ECON_INTEREST_RATE*", "ECON_DEBT"],
    "yen_intervention": ["ECON_CURRENCY_EXCHANGE_RATE"],
}
YEAR_GDELT = 266_000_000


def build(store: ArticleStore, rows: int, seed: int = 0) -> None:
    base = signals.read_articles(RAW, dedup=False)
    rng = np.random.default_rng(seed)
    per_day = np.bincount(rng.integers(0, 365, rows), minlength=365)
    n = 0
    t0 = time.perf_counter()
    for day, k in enumerate(per_day):
        d = base.iloc[rng.integers(0, len(base), k)].reset_index(drop=True)
        d0 = pd.Timestamp("2024-01-01", tz="UTC") + pd.Timedelta(days=day)
        d["published"] = d0 + pd.to_timedelta(np.sort(rng.integers(0, 86_400, k)), unit="s")
        ids = np.arange(n, n + k)
        d["article_id"] = [f"{i:016x}" for i in ids]
        d["url"] = d["url"] + "?r=" + pd.Series(ids).astype(str)
        store.add(d, source_id="gdelt")
        n += k
    print(
        f"built {rows:,} rows over 365 days in {time.perf_counter() - t0:.0f} s; "
        f"{sum(f.stat().st_size for f in store.files()) / 1e6:.0f} MB on disk"
    )


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_dask(
    store: ArticleStore, n_workers: int, rows: int, kw: dict
) -> tuple[pd.DataFrame, float, list[float]]:
    from dask.distributed import Client, LocalCluster

    with (
        LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None) as cl,
        Client(cl) as client,
    ):
        client.run(lambda: None)
        t0 = time.perf_counter()
        ev = events_from_store(store, engine="dask", client=client, **kw)
        dt = time.perf_counter() - t0
        peaks = list(client.run(_peak_mb).values())
    print(
        f"dask {n_workers} worker(s): {dt:.1f} s = {rows / dt:,.0f} rows/s ({rows / dt / n_workers:,.0f} per "
        f"worker); peak RSS per worker {', '.join(f'{p:.0f}' for p in peaks)} MB"
    )
    return ev, dt, peaks


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--store", default=None, help="reuse/build the store here (default: a temp folder)")
    ap.add_argument("--text-rows", type=int, default=20_000)
    ap.add_argument("--gap", default="2min", help="burst gap (dense GKG themes chain for hours at 6h)")
    ap.add_argument("--target-rows", type=int, default=100_000, help="rows per partition (task)")
    ap.add_argument("--build-only", action="store_true")
    args = ap.parse_args()
    tmp = None
    if args.store is None:
        tmp = tempfile.TemporaryDirectory()
        args.store = tmp.name
    store = ArticleStore(args.store)
    if args.build_only:
        return build(store, args.rows)
    if not store.days():  # built in a child process, so that this one's peak memory is the run's
        import subprocess

        subprocess.run(
            [sys.executable, __file__, "--store", args.store, "--rows", str(args.rows), "--build-only"],
            check=True,
        )
    rows = store.count()
    kw = {"gkg_map": GKG_MAP, "cache": False, "gap": args.gap, "target_rows": args.target_rows}

    t0 = time.perf_counter()
    ref = events_from_store(store, engine="pandas", **kw)
    t_pd = time.perf_counter() - t0
    print(f"{rows:,} rows, gap {args.gap}, partitions of ~{args.target_rows:,} rows")
    print(
        f"pandas engine (partition by partition): {t_pd:.1f} s = {rows / t_pd:,.0f} rows/s; "
        f"{len(ref):,} events; driver peak RSS {_peak_mb():.0f} MB"
    )
    ev1, t1, _ = run_dask(store, 1, rows, kw)
    ev2, t2, _ = run_dask(store, 2, rows, kw)
    for ev in (ev1, ev2):
        pd.testing.assert_frame_equal(ev, ref, check_exact=True)
    print(
        f"identical events: pandas == dask(1) == dask(2); 2 workers / 1 worker = {t1 / t2:.2f}x (goal >= 1.7)"
    )
    best = max(rows / t1, rows / t2 / 2)
    print(
        f"projected: one year of GDELT ({YEAR_GDELT / 1e6:.0f} M records) = {YEAR_GDELT / best / 3600:.1f} "
        "worker-hours at the best measured rate per worker"
    )
    if args.text_rows:
        arts = store.articles("2024-01-01", "2024-12-31", columns=["title", "body"]).head(args.text_rows)
        t0 = time.perf_counter()
        signals.extract_events(signals.score_sentiment(signals.tag_themes(arts)))
        dt = time.perf_counter() - t0
        print(f"text path (tag_themes + VADER on titles, {len(arts):,} rows): {len(arts) / dt:,.0f} rows/s")
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    sys.exit(main())
