"""Benchmark of the signal backtest: 10,000 events x 10 series x 5,000 days.

Prints the wall time of :func:`backtests.backtest` end to end (changes, strict alignment,
directions, vectorised positions/P&L, statistics; with and without 200 placebo draws), the time of
the vectorised core :func:`backtests.strategy.simulate` alone, and its speed ratio against a naive
per-event Python loop run on a subset (extrapolated to all trades). The naive loop's P&L on the
subset is checked against the core's before any figure is printed.

Run: ``.venv/bin/python benchmarks/backtest.py [--events 10000 --series 10 --days 5000 --subset 500]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import time

import numpy as np
import pandas as pd

from backtests.market.spec import Market, SeriesSpec
from backtests.strategy import backtest, default_sessions, simulate


def make_market(n_series: int, n_days: int, seed: int = 0) -> Market:
    """Synthetic market: half yields (Tokyo/New York closes), half FX, random holidays."""
    rng = np.random.default_rng(seed)
    idx = pd.bdate_range("2000-01-03", periods=n_days)
    cols, specs = {}, {}
    for j in range(n_series):
        sid = f"s{j}"
        if j % 2 == 0:
            lv = 2.0 + np.cumsum(rng.normal(0, 0.05, n_days))
            tz, close, kind, unit = (
                ("Asia/Tokyo", dt.time(15), "yield", "percent")
                if j % 4 == 0
                else ("America/New_York", dt.time(15, 30), "yield", "percent")
            )
        else:
            lv = 100 * np.exp(np.cumsum(rng.normal(0, 0.006, n_days)))
            tz, close, kind, unit = "America/New_York", dt.time(12), "fx", "quote per base"
        lv[rng.random(n_days) < 0.03] = np.nan  # holidays of that market
        cols[sid] = lv
        specs[sid] = SeriesSpec(sid, "synthetic", kind, unit, tz, close, "data")
    return Market(pd.DataFrame(cols, index=idx), specs)


def make_events(market: Market, n_events: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    idx = market.levels.index
    t0, t1 = idx[0].tz_localize("UTC"), idx[-1].tz_localize("UTC")
    ts = t0 + pd.to_timedelta(rng.uniform(0, (t1 - t0).total_seconds(), n_events), unit="s")
    ev = pd.DataFrame({"event_id": np.arange(n_events), "timestamp": ts, "theme": "t"})
    for s in market.series:
        ev[f"direction_{s}"] = rng.choice([-1.0, 1.0, np.nan], size=n_events, p=[0.45, 0.45, 0.1])
    return ev


def naive(C, M, rows, sidx, q, holding):
    """Per-trade Python loop: positions by slicing each series' session array."""
    T, S = C.shape
    pnl = np.zeros((T, S))
    for s in range(S):
        srows = np.flatnonzero(M[:, s])
        chg = np.nan_to_num(C[srows, s])
        chg[0] = 0.0
        pos = np.zeros(srows.size)
        for i in np.flatnonzero(sidx == s):  # the loop per event
            k0 = np.searchsorted(srows, rows[i])
            if k0 >= srows.size:
                continue
            pos[k0 : min(k0 + holding, srows.size)] += q[i]
        pnl[srows[1:], s] = pos[:-1] * chg[1:]
    return pnl


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--events", type=int, default=10_000)
    ap.add_argument("--series", type=int, default=10)
    ap.add_argument("--days", type=int, default=5_000)
    ap.add_argument("--subset", type=int, default=500, help="events in the naive-loop subset")
    ap.add_argument("--placebo", type=int, default=200)
    a = ap.parse_args()

    market = make_market(a.series, a.days)
    events = make_events(market, a.events)

    t = time.perf_counter()
    bt = backtest(market, events, holding=5, cost_bp=0.5, placebo=0)
    t_bt = time.perf_counter() - t
    t = time.perf_counter()
    bt_p = backtest(market, events, holding=5, cost_bp=0.5, placebo=a.placebo, seed=0)
    t_btp = time.perf_counter() - t
    assert np.allclose(bt.pnl.to_numpy(), bt_p.pnl.to_numpy())

    # the core alone on the same trades (entry rows from the backtest's trades)
    tr = bt.trades
    dates = bt.pnl.index
    rows = dates.get_indexer(pd.DatetimeIndex(tr["entry"]))
    sidx = pd.Index(market.series).get_indexer(tr["series"])
    q = (tr["direction"] * tr["size"]).to_numpy(dtype=float)
    from backtests import to_changes

    C = to_changes(market).to_numpy()
    M = market.levels.notna().to_numpy()
    reps = 5
    t = time.perf_counter()
    for _ in range(reps):
        core = simulate(C, rows, sidx, q, 1.0, 5, sessions=M)
    t_core = (time.perf_counter() - t) / reps

    # naive loop on a subset of events
    sub_ids = np.sort(tr["event_id"].unique())[: a.subset]
    m = tr["event_id"].isin(sub_ids).to_numpy()
    t = time.perf_counter()
    pn = naive(C, M, rows[m], sidx[m], q[m], 5)
    t_naive_sub = time.perf_counter() - t
    check = simulate(C, rows[m], sidx[m], q[m], 1.0, 5, sessions=M)
    assert np.allclose(pn, check.gross), "naive loop and vectorised core disagree"
    t_naive = t_naive_sub * len(tr) / max(int(m.sum()), 1)

    _ = core, default_sessions
    print(
        f"backtest: {a.events:,} events x {a.series} series x {a.days:,} days -> {len(tr):,} trades, "
        f"{len(bt.skipped):,} skipped rows"
    )
    print(f"  backtest() end to end, no placebo     : {t_bt:8.3f} s")
    print(f"  backtest() with {a.placebo} placebo draws   : {t_btp:8.3f} s")
    print(f"  vectorised core simulate()            : {t_core * 1e3:8.1f} ms")
    print(
        f"  naive per-event loop, {int(m.sum()):,} trades     : {t_naive_sub:8.3f} s "
        f"(extrapolated to {len(tr):,} trades: {t_naive:.2f} s)"
    )
    print(f"  speed-up core vs naive loop           : {t_naive / t_core:8.1f} x")


if __name__ == "__main__":
    main()
