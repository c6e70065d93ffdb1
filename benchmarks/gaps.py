"""Benchmark: cost of the data-gap rules (backtests.gaps) inside event_study and align_events.

Run: ``python benchmarks/gaps.py``. 100,000 random date events x 3 bundled series (1995-2026),
model raw, one test: event_study with the calendars known (gap rules on) and with the frame's
metadata removed (no calendar: rules off); plus align_events on 20,000 timestamps (calendar day 0,
early closes and the day-0 gap rule included). Prints seconds and the share the gap rules add.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

import backtests


def main() -> None:
    m = backtests.load_market(["ust_10y", "jgb_10y", "usdjpy"], start="1995-01-01", source="sample")
    ch = backtests.to_changes(m)
    rng = np.random.default_rng(0)
    n = 100_000
    dates = pd.Timestamp("1996-01-01") + pd.to_timedelta(rng.integers(0, 30 * 365, n), unit="D")
    ev = pd.DataFrame({"event_id": np.arange(n), "date": dates})
    kw = {"window": (-5, 10), "estimation": (-120, -11), "model": "raw", "calendar": "observed"}
    kw["tests"] = ["t_cross_section"]
    backtests.event_study(ch, ev.head(100), **kw)  # warm-up (numba, calendars)
    t0 = time.perf_counter()
    on = backtests.event_study(ch, ev, **kw)
    t1 = time.perf_counter()
    bare = ch.copy()
    bare.attrs = {}
    off = backtests.event_study(bare, ev, **kw)
    t2 = time.perf_counter()
    reasons = on.excluded["reason"].value_counts().to_dict()
    print(f"event_study {n} events x 3 series: gap rules on {t1 - t0:.2f} s, off {t2 - t1:.2f} s "
          f"(+{(t1 - t0) / (t2 - t1) - 1:.0%}); kept {len(on.pairs)} vs {len(off.pairs)}; reasons {reasons}")  # fmt: skip
    ts = pd.Timestamp("1996-01-01", tz="UTC") + pd.to_timedelta(
        rng.integers(0, 30 * 365 * 1440, 20_000), unit="min"
    )
    t3 = time.perf_counter()
    al = backtests.align_events(pd.DataFrame({"event_id": np.arange(len(ts)), "timestamp": ts}), ch)
    t4 = time.perf_counter()
    print(
        f"align_events 20000 timestamps x 3 series: {t4 - t3:.2f} s; reasons {al['reason'].value_counts().to_dict()}"
    )


if __name__ == "__main__":
    main()
