"""Ingest benchmark: one day of GDELT GKG files served from 127.0.0.1 into the article store.

Run: ``.venv/bin/python benchmarks/ingest.py [--rows 100000] [--files 96] [--month-rows 20000] [--stages]``

Builds ``--files`` 15-minute GKG 2.1 zips for one day by resampling the 81 real rows of
``../shared/data/news/raw/gdelt_20230702153000_subset.gkg.csv`` to ``--rows`` rows (each copy gets
its own URL, ``?r=<n>``, so every row is a new article; record ids and V2.1DATE rewritten per
batch), serves them with ``lastupdate.txt`` / ``masterfilelist.txt`` on 127.0.0.1 and runs
``signals.ingest.ingest`` (download, size and MD5 check, GKG reader, V1.5 tone, store write).
Prints rows/s (goal >= 50,000 rows/s, parsing included), store bytes per million rows, then fills
a month (``--month-rows`` rows a day) and times one theme's articles for the month with DuckDB
(``ArticleStore.query``) against pandas reading the same Parquet files and filtering.
``--stages`` also times each step alone, serially (download, MD5, inflate with ISA-L and with the
standard zipfile/zlib, GKG parse, one store write), in microseconds per row. The load average is
printed: the machine is shared, so compare runs made one after the other.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests" / "signals"))

from ingest_server import FixtureServer, batch_times, gkg_lines, make_gkg_zip  # noqa: E402

from signals.ingest import HttpPolicy, ingest  # noqa: E402
from signals.store import ArticleStore  # noqa: E402


def resampled_day(n_rows: int, n_files: int, seed: int = 0) -> dict[str, bytes]:
    lines = gkg_lines()
    rng = np.random.default_rng(seed)
    pick = rng.integers(0, len(lines), n_rows)
    out, per = {}, int(np.ceil(n_rows / n_files))
    for f, ts in enumerate(batch_times("2025-04-02 00:00", n_files)):
        chunk = []
        for j in range(f * per, min(n_rows, (f + 1) * per)):
            parts = lines[pick[j]].split(b"\t")
            parts[4] = parts[4] + f"?r={j}".encode()
            parts[26] = parts[26].replace(b"</PAGE_TITLE>", f" (r{j})</PAGE_TITLE>".encode())
            chunk.append(b"\t".join(parts))
        out[ts] = make_gkg_zip(ts, chunk)
    return out


def stages(srv_url: str, files: dict[str, bytes], d: str) -> None:
    """Each step of the ingest on its own, serially over the day's files (one thread): where the
    time goes. The ingest itself overlaps download, MD5, inflate and parsing in threads."""
    import hashlib

    from signals._gkg import gkg_member, read_gkg_bytes
    from signals._normalise import ReadOptions
    from signals.ingest import http_get

    t = dict.fromkeys(["download", "md5", "inflate (isal)", "inflate (zlib)", "parse", "store.add"], 0.0)
    frames, n = [], 0
    for ts in files:
        t0 = time.perf_counter()
        body = http_get(f"{srv_url}/gdeltv2/{ts}.gkg.csv.zip", policy=HttpPolicy(timeout=30)).body
        t1 = time.perf_counter()
        hashlib.md5(body).hexdigest()
        t2 = time.perf_counter()
        data = gkg_member(body, ts)
        t3 = time.perf_counter()
        with zipfile.ZipFile(io.BytesIO(body)) as zf:
            zf.read(zf.namelist()[0])
        t4 = time.perf_counter()
        arts, _, _, _ = read_gkg_bytes(data, ts, ReadOptions(), tone_components=True)
        t5 = time.perf_counter()
        frames.append(arts)
        n += len(arts)
        for k, v in zip(t, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)):
            t[k] += v
    t0 = time.perf_counter()
    ArticleStore(d).add(pd.concat(frames, ignore_index=True), source_id="stages")
    t["store.add"] = time.perf_counter() - t0
    print(
        f"stages, serial, {n:,} rows (us per row): "
        + ", ".join(f"{k} {v / n * 1e6:.1f}" for k, v in t.items())
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--files", type=int, default=96)
    ap.add_argument("--month-rows", type=int, default=20_000, help="rows per day for the month query")
    ap.add_argument("--stages", action="store_true", help="also time each step serially (download ... store)")
    args = ap.parse_args()

    t0 = time.perf_counter()
    files = resampled_day(args.rows, args.files)
    print(
        f"built {len(files)} GKG zips, {args.rows:,} rows, {sum(map(len, files.values())) / 1e6:.1f} MB "
        f"zipped in {time.perf_counter() - t0:.1f} s"
    )
    srv = FixtureServer()
    srv.publish_gkg(files)
    with tempfile.TemporaryDirectory() as d:
        cfg = {
            "store": d,
            "feeds": [],
            "http": HttpPolicy(timeout=30, retries=2, backoff=0.1),
            "gdelt": {"base_url": srv.url + "/gdeltv2/", "start": "2025-04-02", "max_files": 10_000},
        }
        load0 = os.getloadavg()[0]
        t0, c0 = time.perf_counter(), time.process_time()
        run = ingest(cfg)
        dt, cpu = time.perf_counter() - t0, time.process_time() - c0
        print(
            f"load average (1 min) {load0:.2f} before, {os.getloadavg()[0]:.2f} after the ingest; {os.cpu_count()} CPUs"
        )
        g = run["sources"][0]
        print(
            f"CPU time of this process (ingest and the 127.0.0.1 server): {cpu:.1f} s = "
            f"{g['new'] / cpu:,.0f} rows per CPU-second (wall-clock rows/s depend on the machine's load)"
        )
        store = ArticleStore(d)
        size = sum(f.stat().st_size for f in store.files())
        print(
            f"ingest: {g['fetched']} files, {g['new']:,} new rows in {dt:.1f} s = {g['new'] / dt:,.0f} rows/s "
            f"(goal >= 50,000); store {size / 1e6:.1f} MB = {size / g['new'] * 1e6 / 1e6:.0f} MB per million rows"
        )
        if args.stages:
            with tempfile.TemporaryDirectory() as d2:
                stages(srv.url, files, d2)
        t0 = time.perf_counter()
        run2 = ingest(cfg)
        print(
            f"second ingest (nothing new): {time.perf_counter() - t0:.2f} s, {run2['sources'][0]['new']} new"
        )

        # a month: resampled stored rows re-dated over 30 days (store.add, not HTTP)
        base = store.articles()
        rng = np.random.default_rng(1)
        for day in range(30):
            take = base.iloc[rng.integers(0, len(base), args.month_rows)].copy()
            take["published"] = (
                pd.Timestamp("2025-05-01", tz="UTC")
                + pd.Timedelta(days=day)
                + pd.to_timedelta(rng.integers(0, 86_400, len(take)), unit="s")
            )
            take["url"] = (
                take["url"] + f"&m={day}-" + pd.Series(range(len(take)), index=take.index).astype(str)
            )
            take["article_id"] = [f"{day:02d}{i:014x}" for i in range(len(take))]
            store.add(take, source_id="month")
        files_m = store.files("2025-05-01", "2025-05-30")
        q = (
            "SELECT article_id, published, title, tone FROM articles WHERE published >= TIMESTAMPTZ '2025-05-01' "
            "AND published < TIMESTAMPTZ '2025-05-31' AND gdelt_themes LIKE '%ECON_CENTRALBANK%'"
        )
        t0 = time.perf_counter()
        a = store.query(q)
        t_duck = time.perf_counter() - t0
        t0 = time.perf_counter()
        df = pd.concat([pd.read_parquet(f) for f in files_m], ignore_index=True)
        b = df[df["gdelt_themes"].str.contains("ECON_CENTRALBANK", regex=False, na=False)]
        t_pd = time.perf_counter() - t0
        assert len(a) == len(b)
        print(
            f"month query ({30 * args.month_rows:,} rows, {len(a):,} central-bank articles): DuckDB {t_duck:.2f} s, "
            f"pandas read+filter {t_pd:.2f} s ({t_pd / t_duck:.1f}x)"
        )
    srv.close()


if __name__ == "__main__":
    main()
