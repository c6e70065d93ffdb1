"""Benchmark: market loading, to_changes and align_events on the bundled snapshot.

Run: ``python benchmarks/market.py``. Prints seconds and the ratio of align_events to a naive
per-event loop (searchsorted per event) on a subset, as a scaling check.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

import backtests
from backtests.calendar import session_closes


def main() -> None:
    t0 = time.perf_counter()
    m = backtests.load_market(["ust_10y", "jgb_10y", "usdjpy"], source="sample")
    t1 = time.perf_counter()
    c = backtests.to_changes(m)
    t2 = time.perf_counter()
    rng = np.random.default_rng(0)
    n = 20_000
    ts = pd.Timestamp("1995-01-01", tz="UTC") + pd.to_timedelta(
        rng.integers(0, 30 * 365 * 1440, n), unit="min"
    )
    ev = pd.DataFrame({"event_id": np.arange(n), "timestamp": ts})
    t3 = time.perf_counter()
    out = backtests.align_events(ev, c)
    t4 = time.perf_counter()
    k = 500
    close, tz = m.close_time("ust_10y")
    closes = session_closes(m.levels["ust_10y"].dropna().index, close, tz)
    t5 = time.perf_counter()
    naive = [closes[closes >= t][0] if (closes >= t).any() else None for t in ts[:k]]
    t6 = time.perf_counter()
    per_vec = (t4 - t3) / (n * 3)
    per_naive = (t6 - t5) / k
    print(f"load_market(sample, 3 series): {t1 - t0:.3f} s; to_changes: {t2 - t1:.3f} s")
    print(f"align_events {n} events x 3 series = {len(out)} rows: {t4 - t3:.3f} s")
    print(
        f"per pair: vectorised {per_vec * 1e6:.2f} us vs naive loop {per_naive * 1e6:.1f} us (ratio {per_naive / per_vec:.0f}x)"
    )
    assert len(naive) == k


if __name__ == "__main__":
    main()
