"""The headline answer of an event study: one test per cell, chosen by a documented rule, with
the effective number of independent events and multiple-testing q-values.

Cells
-----
One cell per group x series x CAR window (a cell never pools two series, so never yield bp with
FX bp). ``n`` counts its event-series pairs.

Effective number of events (``n_eff``)
--------------------------------------
Each pair covers the calendar dates from the session at ``day0 + start`` to the session at
``day0 + end`` of its series (the CAR window, on the study's calendar). Pairs of one cell whose
date ranges overlap (share at least one calendar date), directly or through a chain of
overlapping pairs, form one cluster; ``n_eff`` is the number of clusters. Two remarks two
sessions apart with a 16-day window are one cluster (``n_eff = 1``); events far apart count
once each (``n_eff = n``).

Rule (one test per cell)
------------------------
1. ``n == 1``: ``single_event``: the standardised move, CAR / its forecast-error sd (``se`` of
   ``study.car``), with the placebo p-value (the CAR's rank among pseudo-event CARs of the same
   series and window).
2. ``n_eff < 10``: ``placebo`` (statistic: the CAAR over the pseudo-event CAAR sd; p: share of
   pseudo-event CAARs at least as large in absolute value). Parametric tests lean on
   cross-sectional normality that fewer than ten independent events cannot support.
3. ``n_eff < n`` (windows share calendar days, so the pairs' abnormal returns are correlated):
   ``kolari_pynnonen`` (BMP corrected for the cross-correlation of the standardised ARs).
4. otherwise ``bmp`` (Boehmer-Musumeci-Poulsen: robust to event-induced variance).

The full battery stays in ``study.tests``. ``qvalue`` adjusts the headline p-values of all cells
of one study together: Benjamini-Hochberg (default), Holm, or none. Stars come from ``qvalue``
only (``*`` q < 0.1, ``**`` q < 0.05, ``***`` q < 0.01) and are never given when ``n_eff < 3``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from backtests.confounders import series_sessions
from signals.errors import ConfigError

__all__ = [
    "HEADLINE_COLUMNS",
    "HEADLINE_TESTS",
    "MIN_N_EFF_PARAMETRIC",
    "MIN_N_EFF_STARS",
    "adjust_pvalues",
    "choose_test",
    "cluster_ids",
    "headline_table",
    "stars",
    "window_dates",
]

#: Below this many independent events the placebo test is the headline (rule 2).
MIN_N_EFF_PARAMETRIC = 10
#: Below this many independent events no stars are shown.
MIN_N_EFF_STARS = 3
#: The battery tests the headline reads (``single_event`` reads ``placebo``).
HEADLINE_TESTS = ("bmp", "kolari_pynnonen", "placebo")
ADJUST = ("bh", "holm", "none")
HEADLINE_COLUMNS = [
    "series", "kind", "start", "end", "n", "n_eff", "car", "unit", "test", "statistic", "pvalue",
    "qvalue", "stars",
]  # fmt: skip


def choose_test(n: np.ndarray, n_eff: np.ndarray) -> np.ndarray:
    """The headline test of each cell from its pairs ``n`` and independent events ``n_eff``."""
    n = np.asarray(n)
    n_eff = np.asarray(n_eff)
    return np.select(
        [n == 1, n_eff < MIN_N_EFF_PARAMETRIC, n_eff < n],
        ["single_event", "placebo", "kolari_pynnonen"],
        "bmp",
    ).astype(object)


def adjust_pvalues(p: Sequence[float] | np.ndarray, method: str = "bh") -> np.ndarray:
    """Multiple-testing adjusted p-values over every finite p (NaN stays NaN, not counted).

    Parameters
    ----------
    p : array of float
    method : {"bh", "holm", "none"}
        Benjamini-Hochberg (false discovery rate), Holm (family-wise error), or no adjustment.

    Returns
    -------
    ndarray
        Same shape; BH: q_(i) = min over j >= i of m p_(j) / j; Holm: max over j <= i of
        (m - j + 1) p_(j); both capped at 1 (m = number of finite p-values).
    """
    if method not in ADJUST:
        raise ConfigError(f"adjust={method!r}: choose 'bh', 'holm' or 'none'")
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    ok = np.isfinite(p)
    if method == "none" or not ok.any():
        out[ok] = p[ok]
        return out
    pv = p[ok]
    m = pv.size
    order = np.argsort(pv, kind="stable")
    ps = pv[order]
    j = np.arange(1, m + 1)
    if method == "bh":
        adj = np.minimum.accumulate((m / j * ps)[::-1])[::-1]
    else:
        adj = np.maximum.accumulate((m - j + 1) * ps)
    res = np.empty(m)
    res[order] = np.minimum(adj, 1.0)
    out[ok] = res
    return out


def stars(q: np.ndarray, n_eff: np.ndarray) -> np.ndarray:
    """Stars from q-values; none when ``n_eff < MIN_N_EFF_STARS`` or q is NaN."""
    q = np.asarray(q, dtype=float)
    s = np.select([q < 0.01, q < 0.05, q < 0.1], ["***", "**", "*"], "")
    s[~np.isfinite(q) | (np.asarray(n_eff) < MIN_N_EFF_STARS)] = ""
    return s.astype(object)


def window_dates(
    pairs: pd.DataFrame, changes: pd.DataFrame, calendar: str, w0: int, w1: int
) -> tuple[np.ndarray, np.ndarray]:
    """First and last calendar date (int64 ns) of each pair's window [w0, w1] on its series' sessions."""
    start = np.zeros(len(pairs), dtype=np.int64)
    end = np.zeros(len(pairs), dtype=np.int64)
    codes, uniq = pd.factorize(pairs["series"].astype(str))
    by = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[by], np.arange(len(uniq) + 1))
    d0 = pd.DatetimeIndex(pairs["day0"]).as_unit("ns").to_numpy().view(np.int64)
    cache: dict = {}
    for k, sid in enumerate(uniq):
        m = by[bounds[k] : bounds[k + 1]]
        sess = series_sessions(changes, sid, calendar, cache)[0].to_numpy().view(np.int64)
        pos = np.searchsorted(sess, d0[m])
        start[m] = sess[np.clip(pos + w0, 0, len(sess) - 1)]
        end[m] = sess[np.clip(pos + w1, 0, len(sess) - 1)]
    return start, end


def cluster_ids(cell: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Cluster number of each pair: pairs of one cell whose [start, end] ranges overlap (chained)
    share a cluster. Numbers are global (0, 1, ...); ``n_eff`` of a cell = its distinct clusters."""
    n = len(cell)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    order = np.lexsort((start, cell))
    c, s, e = np.asarray(cell)[order], np.asarray(start)[order], np.asarray(end)[order]
    new_cell = np.concatenate([[True], c[1:] != c[:-1]])
    run_end = pd.Series(e).groupby(np.cumsum(new_cell)).cummax().to_numpy()
    new = new_cell | np.concatenate([[True], s[1:] > run_end[:-1]])
    out = np.empty(n, dtype=np.int64)
    out[order] = np.cumsum(new) - 1
    return out


def _kinds(changes: pd.DataFrame, series: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    meta = changes.attrs.get("newsbt_series") if hasattr(changes, "attrs") else None
    meta = meta if isinstance(meta, dict) else {}
    kind = np.array([str(meta.get(s, {}).get("kind", "")) for s in series], dtype=object)
    unit = np.array([str(meta.get(s, {}).get("unit", "")) for s in series], dtype=object)
    return kind, unit


def headline_table(
    car: pd.DataFrame,
    pairs: pd.DataFrame,
    cell_tests: pd.DataFrame,
    changes: pd.DataFrame,
    group_cols: Sequence[str],
    calendar: str,
    adjust: str = "bh",
) -> pd.DataFrame:
    """The headline table: one row per group x series x CAR window.

    Parameters
    ----------
    car : DataFrame
        ``study.car`` (per pair and window: ``car``, ``se``, group columns).
    pairs : DataFrame
        ``study.pairs`` (``event_id``, ``series``, ``day0``).
    cell_tests : DataFrame
        Battery results grouped by ``group_cols + ["series"]`` with at least the tests of
        :data:`HEADLINE_TESTS` (``test``, ``start``, ``end``, ``statistic``, ``pvalue``).
    changes : DataFrame
        The study's changes (sessions, kinds, units).
    group_cols : list of str
        The study's grouping columns (``series`` may be among them).
    calendar : {"observed", "index"}
    adjust : {"bh", "holm", "none"}

    Returns
    -------
    DataFrame
        Group columns, then :data:`HEADLINE_COLUMNS`: ``car`` mean CAR of the cell (input unit,
        ``unit``), ``statistic``/``pvalue`` of ``test`` (module docstring), ``qvalue`` adjusted
        over every cell, ``stars`` from ``qvalue``. ``attrs["adjust"]`` and ``attrs["m"]`` (cells
        with a p-value) say how the q-values were formed.
    """
    keys = [g for g in group_cols if g != "series"] + ["series"]
    c = car.copy()
    if "day0" not in c.columns:
        c = c.merge(pairs[["event_id", "series", "day0"]], on=["event_id", "series"], how="left")
    c["_cell"] = c.groupby([*keys, "start", "end"], dropna=False, sort=False).ngroup()
    c["_z"] = c["car"] / c["se"]
    start = np.zeros(len(c), dtype=np.int64)
    end = np.zeros(len(c), dtype=np.int64)
    for (w0, w1), idx in c.groupby(["start", "end"]).indices.items():
        s, e = window_dates(c.iloc[idx], changes, calendar, int(w0), int(w1))
        start[idx], end[idx] = s, e
    c["_cluster"] = cluster_ids(c["_cell"].to_numpy(), start, end)
    cells = (
        c.groupby([*keys, "start", "end"], dropna=False, sort=False)
        .agg(n=("car", "size"), n_eff=("_cluster", "nunique"), car=("car", "mean"), _z=("_z", "first"))
        .reset_index()
    )
    cells["n"] = cells["n"].astype(np.int64)
    cells["n_eff"] = cells["n_eff"].astype(np.int64)
    cells["kind"], cells["unit"] = _kinds(changes, cells["series"].astype(str).to_numpy())
    cells["test"] = choose_test(cells["n"].to_numpy(), cells["n_eff"].to_numpy())
    t = cell_tests[cell_tests["test"].isin(HEADLINE_TESTS)]
    t = t[[*keys, "test", "start", "end", "statistic", "pvalue"]]
    look = cells[[*keys, "start", "end", "test"]].copy()
    look["_test"] = look["test"].replace({"single_event": "placebo"})
    got = look.merge(
        t.rename(columns={"test": "_test"}), on=[*keys, "start", "end", "_test"], how="left", sort=False
    )
    cells["statistic"] = np.where(cells["test"] == "single_event", cells["_z"], got["statistic"].to_numpy())
    cells["pvalue"] = got["pvalue"].to_numpy(dtype=float)
    cells["qvalue"] = adjust_pvalues(cells["pvalue"].to_numpy(), adjust)
    cells["stars"] = stars(cells["qvalue"].to_numpy(), cells["n_eff"].to_numpy())
    out = cells[[*[g for g in group_cols if g not in ("series", "kind")], *HEADLINE_COLUMNS]].reset_index(
        drop=True
    )
    out.attrs["adjust"] = adjust
    out.attrs["m"] = int(np.isfinite(out["pvalue"].to_numpy(dtype=float)).sum())
    return out
