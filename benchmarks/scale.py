"""Scale benchmark: GKG-shaped articles over a year in the store -> events with pandas and Dask.

Run: ``.venv/bin/python benchmarks/scale.py [--rows 10000000] [--store PATH] [--text-days 7]``

Builds a corpus of ``--rows`` GKG-shaped rows by resampling the 81 real rows of
``../shared/data/news/raw/gdelt_20230702153000_subset.gkg.csv`` (read with the GKG reader; each
copy gets its own id and URL) over the 365 days of 2024 at uniform random times. BENCHMARK
SHORTCUT: the store's day partitions are written directly as Parquet files in the store schema
(what ``ArticleStore.add`` would write for these rows, without its per-batch dedup/index/ledger:
ingestion speed is #21's benchmark), so 10 million rows take ~1.5 min instead of 16.

It then times events (tags + sentiment + bursts) on the same store with

- the pandas engine (partition by partition in this process: the "chunks"),
- Dask ``LocalCluster`` with 1 worker and with 2 workers (processes, one thread each),

for the GDELT-native path (``source="gkg"``: the shipped book's GKG codes and V2Tone, no text)
over the whole store, and for the text path (``source="text"``: book rules + VADER on titles) over
the first ``--text-days`` days; checks that pandas and Dask give identical events, and prints
rows/s, rows/s per worker, the 2-vs-1 worker ratio, the RSS of each worker before the run and its
peak during it (psutil sampled every 20 ms inside the worker), the load average, and the
projected worker-hours for one year of GDELT (266 million records). The resampled rows come from
a subset chosen for its economic codes, so far more rows carry a mapped theme than in real GKG
(about 5 % here for the shipped book): a conservative load for the event stage.
Goals: >= 100,000 GKG rows/s per worker, 2 workers >= 1.7x one, <= 2 GB per worker whatever the
corpus size.
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
import pyarrow.compute  # noqa: F401  (pa.compute in build)

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
YEAR_GDELT = 266_000_000


def build(store: ArticleStore, rows: int, seed: int = 0) -> None:
    """Write ``rows`` resampled GKG rows straight into the store's day partitions.

    A BENCHMARK SHORTCUT: one Parquet file per UTC day written with pyarrow from resampled
    columns in the store schema, without :meth:`ArticleStore.add` (no per-batch dedup, id index
    or ledger), so that a 10-million-row store takes minutes instead of the 16 min of ``add``.
    The files are what ``add`` would write for these rows (same schema, one part file per day,
    ids unique by construction); the ingestion speed itself is #21's benchmark.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    from signals.store import STORE_SCHEMA

    base = signals.read_articles(RAW, dedup=False)
    base["source_id"] = "gdelt"
    base["ingested_at"] = pd.Timestamp("2025-01-01", tz="UTC")
    for c in STORE_SCHEMA.names:
        if c not in base:
            base[c] = None
    base_tab = pa.Table.from_pandas(base[STORE_SCHEMA.names], schema=STORE_SCHEMA, preserve_index=False)
    rng = np.random.default_rng(seed)
    per_day = np.bincount(rng.integers(0, 365, rows), minlength=365)
    n = 0
    t0 = time.perf_counter()
    for day, k in enumerate(per_day):
        tab = base_tab.take(pa.array(rng.integers(0, len(base), k)))
        d0 = pd.Timestamp("2024-01-01", tz="UTC") + pd.Timedelta(days=day)
        ts = d0.value + np.sort(rng.integers(0, 86_400, k)) * 1_000_000_000
        ids = np.arange(n, n + k)
        hexid = np.char.mod("%016x", ids)
        url = pa.compute.binary_join_element_wise(tab.column("url"), pa.array(np.char.mod("%d", ids)), "?r=")
        tab = (
            tab.set_column(0, "article_id", pa.array(hexid, pa.string()))
            .set_column(1, "published", pa.array(ts, STORE_SCHEMA.field("published").type))
            .set_column(STORE_SCHEMA.get_field_index("url"), "url", url)
        )
        d = store._day_dir(d0.strftime("%Y-%m-%d"))
        d.mkdir(parents=True, exist_ok=True)
        pq.write_table(tab, d / "part-bench-00000.parquet", compression="zstd")
        n += k
    print(
        f"built {rows:,} rows over 365 days in {time.perf_counter() - t0:.0f} s (direct Parquet "
        f"write, a benchmark shortcut); {sum(f.stat().st_size for f in store.files()) / 1e6:.0f} MB on disk"
    )


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _rss_mb() -> float:
    import psutil

    return psutil.Process().memory_info().rss / 2**20


def _sampler(action: str) -> tuple[float, float]:
    """In a worker: "start" a thread that samples this process's RSS every 20 ms; "peak" stops it.
    Returns (RSS in MB: at start / the highest sample, CPU seconds of this process since start).
    ru_maxrss is useless here (a worker inherits the parent's); CPU seconds give a rate that does
    not depend on how many other processes share the cores."""
    import threading
    import types

    import psutil

    st = sys.modules.setdefault("_newsbt_rss", types.ModuleType("_newsbt_rss"))
    cpu = sum(psutil.Process().cpu_times()[:2])
    if action == "start":
        st.peak, st.stop, st.cpu0 = _rss_mb(), threading.Event(), cpu

        def loop() -> None:
            while not st.stop.wait(0.02):
                st.peak = max(st.peak, _rss_mb())

        threading.Thread(target=loop, daemon=True).start()
        return st.peak, 0.0
    st.stop.set()
    return max(st.peak, _rss_mb()), cpu - st.cpu0


def _warm() -> None:  # imports and the shipped book's compiled patterns, before the clock starts
    signals.default_themes()._compile()


def run_dask(
    store: ArticleStore, n_workers: int, rows: int, kw: dict, label: str
) -> tuple[pd.DataFrame, float]:
    from dask.distributed import Client, LocalCluster

    with (
        LocalCluster(n_workers=n_workers, threads_per_worker=1, processes=True, dashboard_address=None) as cl,
        Client(cl) as client,
    ):
        client.run(_warm)
        base = [b for b, _ in client.run(_sampler, "start").values()]
        c0 = sum(os.times()[:2])
        t0 = time.perf_counter()
        ev = events_from_store(store, engine="dask", client=client, **kw)
        dt = time.perf_counter() - t0
        c_driver = sum(os.times()[:2]) - c0  # driver + scheduler: plan, gather, stitch
        peaks, cpus = zip(*client.run(_sampler, "peak").values())
    print(
        f"  {label} dask {n_workers} worker(s): {dt:7.1f} s = {rows / dt:9,.0f} rows/s "
        f"({rows / dt / n_workers:,.0f} per worker; {rows / sum(cpus):,.0f} rows per worker CPU-second); "
        f"worker CPU {', '.join(f'{c:.1f}' for c in cpus)} s, driver+scheduler CPU {c_driver:.1f} s; "
        f"worker RSS before {', '.join(f'{b:.0f}' for b in base)} MB, "
        f"peak {', '.join(f'{p:.0f}' for p in peaks)} MB; load {os.getloadavg()[0]:.1f}"
    )
    return ev, dt


def measure(store: ArticleStore, label: str, rows: int, kw: dict, workers: list[int]) -> dict:
    """pandas engine (partition by partition in this process), then Dask with 1 and 2 workers;
    asserts identical events."""
    _warm()
    rss0, _ = _sampler("start")
    t0 = time.perf_counter()
    ref = events_from_store(store, engine="pandas", **kw)
    t_pd = time.perf_counter() - t0
    peak, cpu = _sampler("peak")
    print(
        f"  {label} pandas (partition by partition): {t_pd:7.1f} s = {rows / t_pd:9,.0f} rows/s "
        f"({rows / cpu:,.0f} per CPU-second); "
        f"{len(ref):,} events, {ref.attrs['newsbt_events']['articles_tagged']:,} rows tagged; "
        f"RSS before {rss0:.0f} MB, peak {peak:.0f} MB; load {os.getloadavg()[0]:.1f}"
    )
    out = {"pandas": t_pd}
    for n in workers:
        ev, out[n] = run_dask(store, n, rows, kw, label)
        pd.testing.assert_frame_equal(ev, ref, check_exact=True)
    if 1 in out and 2 in out:
        print(f"  {label}: identical events (pandas == dask); 2 workers / 1 worker = {out[1] / out[2]:.2f}x")
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--store", default=None, help="reuse/build the store here (default: a temp folder)")
    ap.add_argument("--text-days", type=int, default=7, help="days of the store timed on the text path")
    ap.add_argument(
        "--text-corpus",
        default=str(RAW.parents[1] / "reuters_2006_2013_themes.csv"),
        help="real news file timed on the text path ('' to skip)",
    )
    ap.add_argument("--gap", default="2min", help="burst gap (dense GKG themes chain for hours at 6h)")
    ap.add_argument("--target-rows", type=int, default=200_000, help="rows per partition (task)")
    ap.add_argument("--workers", default="1,2", help="Dask worker counts to time")
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
    workers = [int(w) for w in args.workers.split(",") if w]
    rows = store.count()
    print(f"{rows:,} rows, gap {args.gap}, partitions of ~{args.target_rows:,} rows; {os.cpu_count()} cores")
    kw = {"cache": False, "gap": args.gap, "target_rows": args.target_rows}
    gkg = measure(store, "GKG-native", rows, {**kw, "source": "gkg"}, workers)
    best = max([rows / gkg["pandas"]] + [rows / gkg[n] / n for n in workers])
    print(
        f"projected: one year of GDELT ({YEAR_GDELT / 1e6:.0f} M records) = {YEAR_GDELT / best / 3600:.2f} "
        "worker-hours (GKG-native) at the best measured rate per worker"
    )
    if args.text_days:
        end = (pd.Timestamp(store.days()[0]) + pd.Timedelta(days=args.text_days - 1)).strftime("%Y-%m-%d")
        n_text = store.count(store.days()[0], end)
        tkw = {**kw, "source": "text", "start": store.days()[0], "end": end}
        text = measure(store, f"text ({args.text_days} days, {n_text:,} rows)", n_text, tkw, workers)
        best_t = max([n_text / text["pandas"]] + [n_text / text[n] / n for n in workers])
        print(
            f"projected text path on these GKG titles: {YEAR_GDELT / best_t / 3600:.1f} worker-hours per GDELT year"
        )
    if args.text_corpus:  # the text path on real news with real tags (the GKG titles above rarely tag)
        with tempfile.TemporaryDirectory() as d:
            real = ArticleStore(d)
            real.add(signals.read_articles(args.text_corpus), source_id="files")
            n_real = real.count()
            label = f"text, real corpus {Path(args.text_corpus).name} ({n_real:,} rows)"
            res = measure(real, label, n_real, {**kw, "source": "text", "gap": "6h"}, workers)
            best_r = max([n_real / res["pandas"]] + [n_real / res[n] / n for n in workers])
            print(
                f"projected text path on real news: {YEAR_GDELT / best_r / 3600:.1f} worker-hours per GDELT year"
            )
    print(f"driver ru_maxrss {_peak_mb():.0f} MB")
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    sys.exit(main())
