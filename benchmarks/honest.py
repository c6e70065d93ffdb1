"""Cost of the honest-answers layer: confounder table, headline table, single-event view.

Run: ``.venv/bin/python benchmarks/honest.py [--series 200 --days 5000 --pairs 20000]``

Synthetic panel (N(0, 1) changes, 1 % missing, series carrying New York / Tokyo zones and closes
as ``to_changes`` frames do), pairs at random dates 1995-2014 (the shipped macro calendar covers
them). Times, best of three: ``event_study(..., confounders="ignore")`` (the engine alone),
``confounders="flag"`` (default: + the confounder table), the first read of ``study.headline``
(one more engine run grouped by series, then the rule, n_eff and q-values) and ``study.event()``.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

from backtests import event_study
from backtests.confounders import confounder_table
from backtests.errors import NewsbtWarning
from backtests.macro import macro_calendar

TESTS = ["t_cross_section", "patell", "bmp", "kolari_pynnonen", "placebo"]


def panel(n_series: int, n_days: int, n_pairs: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    idx = pd.bdate_range("1994-01-03", periods=n_days)
    x = rng.normal(size=(n_days, n_series))
    x[rng.random(x.shape) < 0.01] = np.nan
    cols = [f"s{i}" for i in range(n_series)]
    ch = pd.DataFrame(x, index=idx, columns=cols)
    zones = [
        ("America/New_York", "15:30", "yield"),
        ("Asia/Tokyo", "15:00", "yield"),
        ("America/New_York", "12:00", "fx"),
    ]
    ch.attrs["newsbt_series"] = {
        c: {
            "tz": zones[i % 3][0],
            "close": zones[i % 3][1],
            "kind": zones[i % 3][2],
            "unit": "bp",
            "calendar": "data",
        }
        for i, c in enumerate(cols)
    }
    day = rng.integers(300, n_days - 30, n_pairs)
    ev = pd.DataFrame({"event_id": [f"e{i}" for i in range(n_pairs)], "series": rng.choice(cols, n_pairs),
                       "date": idx[day], "theme": rng.choice(["a", "b", "c"], n_pairs)})  # fmt: skip
    return ch, ev.drop_duplicates(["series", "date"])


def best(fn, k=3):
    out = []
    for _ in range(k):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return min(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--series", type=int, default=200)
    ap.add_argument("--days", type=int, default=5000)
    ap.add_argument("--pairs", type=int, default=20000)
    a = ap.parse_args()
    ch, ev = panel(a.series, a.days, a.pairs)
    kw = {
        "window": (-5, 10),
        "estimation": (-120, -11),
        "tests": TESTS,
        "group_by": "theme",
        "placebo_draws": 200,
    }
    warnings.simplefilter("ignore", NewsbtWarning)
    event_study(ch, ev.head(500), **kw)  # warm-up (numba compile)
    t_ign = best(lambda: event_study(ch, ev, confounders="ignore", **kw))
    t_flag = best(lambda: event_study(ch, ev, **kw))
    st = event_study(ch, ev, **kw)
    t_head = best(lambda: _headline(st), 1)
    t_ev = best(lambda: st.event(st.pairs["event_id"].iloc[0]), 3)
    cal = macro_calendar()
    t_conf = best(lambda: confounder_table(st.pairs, ch, cal, (-5, 10), "observed"))
    print(f"panel {a.series} series x {a.days} days, {len(ev)} pairs, {len(st.confounders)} confounder rows")
    print(f"event_study confounders='ignore' (engine)  {t_ign:7.3f} s")
    print(f"event_study confounders='flag' (default)   {t_flag:7.3f} s  (+{t_flag - t_ign:.3f} s)")
    print(f"confounder_table alone                    {t_conf:7.3f} s")
    print(f"first read of study.headline              {t_head:7.3f} s  ({len(st.headline)} cells)")
    print(f"study.event(one event)                    {t_ev:7.3f} s")


def _headline(st):
    from backtests import answers

    return answers._headline(st, st._call, "bh")


if __name__ == "__main__":
    main()
