"""Backtest statistics in the right units: per series, per kind, and a cross-asset total in risk units.

Units
-----
* Per series: bp of the series' change (yields: bp of yield, +1 = pay fixed; FX: 1e4 x log return).
* Per kind (``yield``, ``fx``, ``price``): the daily P&L of the series of that kind added up (the
  same unit); yield bp and FX bp are never added together.
* ``risk_total``: every series' daily P&L divided by its **estimation-window daily volatility**
  (sd, ddof 1, of its daily changes over the sessions ``estimation`` = (-120, -11) relative to
  its first entry), then added: a position of 1 in any series risks one daily sd. Unit: ``vol``.

Netting and distinct bets
-------------------------
Trades in one series entered on the same session and closed on the same session are netted
(signed sizes added) before costs: a long and a short USD/JPY on the same day is no position
and costs nothing; the netted leg's cost is the legs' costs x |net size| / sum of sizes. A
**bet** is all netted legs of one kind entered on one session (the 2y/10y/30y legs of one event
are one yield bet, not three). Per-bet statistics (``n_bets``, ``hit_rate``, ``mean_bet``,
``t_bet`` = mean / (sd / sqrt(N))) use each bet's net P&L (kind unit; risk units for the total).
The annualised Sharpe (252 days, over every day of the period, flat days count as 0) is shown
beside ``exposure`` (share of days with a position) and ``sharpe_exposed`` (over exposed days).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "BET_COLUMNS",
    "attach",
    "default_start",
    "finalize_summary",
    "net_legs",
    "summary_lines",
    "units_stats",
]

ESTIMATION = (-120, -11)
ANNUALISATION = 252
UNITS = {"yield": "bp of yield", "fx": "bp (log return)", "price": "bp (log return)", "vol": "vol units"}
BET_COLUMNS = ["kind", "entry", "n_legs", "n_trades", "size", "gross", "cost", "net", "net_vol", "event_ids"]


def default_start(events: pd.DataFrame, estimation: tuple[int, int] = ESTIMATION) -> str:
    """ISO date one estimation window (``-estimation[0]`` business days) before the first event."""
    col = events["timestamp"] if "timestamp" in events.columns else events["date"]
    first = pd.to_datetime(col).min()
    if getattr(first, "tzinfo", None) is not None:
        first = first.tz_convert("UTC").tz_localize(None)
    return (pd.Timestamp(first).normalize() - pd.offsets.BDay(-estimation[0])).date().isoformat()


def _kinds(changes: pd.DataFrame) -> dict[str, str]:
    meta = changes.attrs.get("newsbt_series", {}) if hasattr(changes, "attrs") else {}
    return {str(c): str(meta.get(str(c), {}).get("kind", "price")) for c in changes.columns}


def vol_units(changes: pd.DataFrame, trades: pd.DataFrame, estimation=ESTIMATION) -> pd.Series:
    """Per series: sd (ddof 1) of daily changes over ``estimation`` sessions before its first entry."""
    out = {}
    for sid in changes.columns:
        col = changes[sid].dropna()
        t = trades.loc[trades["series"] == sid, "entry"]
        if t.empty or col.empty:
            out[str(sid)] = np.nan
            continue
        pos = int(np.searchsorted(col.index.to_numpy(), np.datetime64(pd.Timestamp(t.min()))))
        win = col.iloc[max(pos + estimation[0], 0) : max(pos + estimation[1] + 1, 0)]
        out[str(sid)] = float(win.std(ddof=1)) if len(win) > 2 else float(col.std(ddof=1))
    return pd.Series(out, dtype=float)


def net_legs(trades: pd.DataFrame) -> pd.DataFrame:
    """Trades netted per (series, entry, exit): signed size, gross, cost scaled to the net size."""
    if trades.empty:
        cols = [
            "series",
            "entry",
            "exit",
            "net_size",
            "abs_size",
            "gross",
            "n_trades",
            "event_ids",
            "cost",
            "net",
        ]
        return pd.DataFrame(
            {c: pd.Series(dtype=float if c not in ("series", "event_ids") else object) for c in cols}
        )
    t = trades.assign(_signed=trades["direction"] * trades["size"])
    g = t.groupby(["series", "entry", "exit"], sort=True)
    legs = g.agg(
        net_size=("_signed", "sum"),
        abs_size=("size", "sum"),
        gross=("gross_bp", "sum"),
        cost_raw=("cost_bp", "sum"),
        n_trades=("event_id", "size"),
        event_ids=("event_id", lambda s: ",".join(map(str, s))),
    ).reset_index()
    scale = np.where(legs["abs_size"] > 0, legs["net_size"].abs() / legs["abs_size"], 0.0)
    legs["cost"] = legs["cost_raw"] * scale
    legs["net"] = legs["gross"] - legs["cost"]
    return legs.drop(columns="cost_raw")


def _bets(legs: pd.DataFrame, kinds: dict[str, str], vol: pd.Series) -> pd.DataFrame:
    legs = legs[legs["net_size"].abs() > 1e-12].copy()
    if legs.empty:
        return pd.DataFrame(
            {c: pd.Series(dtype=object if c in ("kind", "event_ids") else float) for c in BET_COLUMNS}
        )
    legs["kind"] = legs["series"].map(kinds)
    legs["net_vol"] = legs["net"] / legs["series"].map(vol)
    b = legs.groupby(["kind", "entry"], sort=True).agg(
        n_legs=("series", "size"),
        n_trades=("n_trades", "sum"),
        size=("net_size", lambda s: float(np.abs(s).sum())),
        gross=("gross", "sum"),
        cost=("cost", "sum"),
        net=("net", "sum"),
        net_vol=("net_vol", "sum"),
        event_ids=("event_ids", lambda s: ",".join(sorted(set(",".join(s).split(","))))),
    )
    return b.reset_index()[BET_COLUMNS]


def _daily(pnl: np.ndarray, exposed: np.ndarray) -> dict[str, float]:
    n = pnl.size
    sd = pnl.std(ddof=1) if n > 1 else np.nan
    ex = pnl[exposed]
    sd_ex = ex.std(ddof=1) if ex.size > 1 else np.nan
    root = np.sqrt(ANNUALISATION)
    return {
        "total": float(pnl.sum()),
        "ann_return": float(pnl.mean() * ANNUALISATION) if n else np.nan,
        "ann_vol": float(sd * root) if n > 1 else np.nan,
        "sharpe": float(pnl.mean() / sd * root) if n > 1 and sd > 0 else np.nan,
        "exposure": float(exposed.mean()) if n else np.nan,
        "sharpe_exposed": float(ex.mean() / sd_ex * root) if ex.size > 1 and sd_ex > 0 else np.nan,
        "n_days": float(n),
    }


def _per_bet(x: np.ndarray) -> dict[str, float]:
    n = x.size
    sd = x.std(ddof=1) if n > 1 else np.nan
    return {
        "n_bets": float(n),
        "hit_rate": float((x > 0).mean()) if n else np.nan,
        "mean_bet": float(x.mean()) if n else np.nan,
        "t_bet": float(x.mean() / (sd / np.sqrt(n))) if n > 1 and sd > 0 else np.nan,
    }


def units_stats(bt: Any, changes: pd.DataFrame, estimation=ESTIMATION) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(stats, bets): statistics per series, per kind and in risk units; the distinct bets.

    Returns
    -------
    stats : DataFrame
        Index: series ids, ``kind:<kind>``, ``risk_total``. Columns ``scope``, ``kind``, ``unit``,
        ``total``, ``ann_return``, ``ann_vol``, ``sharpe``, ``exposure``, ``sharpe_exposed``,
        ``n_days``, ``n_trades``, ``n_bets``, ``hit_rate``, ``mean_bet``, ``t_bet``, ``vol_unit``
        (the series' daily sd used for risk units, its own unit).
    bets : DataFrame
        :data:`BET_COLUMNS` (``net`` in the kind's unit, ``net_vol`` in risk units).
    """
    series = [c for c in bt.pnl.columns if c != "total"]
    kinds = _kinds(changes[series])
    vol = vol_units(changes[series], bt.trades, estimation)
    legs = net_legs(bt.trades)
    bets = _bets(legs, kinds, vol)
    pos = bt.positions[series].to_numpy() != 0
    pnl = bt.pnl[series].to_numpy(dtype=float)
    rows = {}
    for j, sid in enumerate(series):
        k = kinds[sid]
        lg = legs[(legs["series"] == sid) & (legs["net_size"].abs() > 1e-12)]
        r = {"scope": "series", "kind": k, "unit": UNITS.get(k, "bp"), **_daily(pnl[:, j], pos[:, j])}
        r.update(
            n_trades=float((bt.trades["series"] == sid).sum()), **_per_bet(lg["net"].to_numpy(dtype=float))
        )
        rows[sid] = {**r, "vol_unit": vol[sid]}
    for k in sorted(set(kinds.values())):
        m = np.array([kinds[s] == k for s in series])
        b = bets[bets["kind"] == k]
        r = {
            "scope": "kind",
            "kind": k,
            "unit": UNITS.get(k, "bp"),
            **_daily(pnl[:, m].sum(axis=1), pos[:, m].any(axis=1)),
        }
        r.update(n_trades=float(b["n_trades"].sum()), **_per_bet(b["net"].to_numpy(dtype=float)))
        rows[f"kind:{k}"] = {**r, "vol_unit": np.nan}
    risk = np.nansum(pnl / vol[series].to_numpy()[None, :], axis=1) if len(series) else np.zeros(len(pnl))
    r = {"scope": "risk", "kind": "all", "unit": UNITS["vol"], **_daily(risk, pos.any(axis=1))}
    r.update(n_trades=float(len(bt.trades)), **_per_bet(bets["net_vol"].to_numpy(dtype=float)))
    rows["risk_total"] = {**r, "vol_unit": np.nan}
    return pd.DataFrame.from_dict(rows, orient="index"), bets


def attach(bt: Any, changes: pd.DataFrame, estimation=ESTIMATION) -> Any:
    """Set ``bt.stats_units`` and ``bt.bets`` (see :func:`units_stats`); returns ``bt``."""
    bt.stats_units, bt.bets = units_stats(bt, changes, estimation)
    return bt


def summary_lines(bt: Any) -> list[str]:
    """Headline lines: per kind and the risk-unit total, with per-bet statistics and exposure."""
    st = getattr(bt, "stats_units", None)
    if st is None:
        return []
    lines = [
        "By kind (never summed across kinds) and cross-asset in risk units (1 = one estimation-window daily sd):"
    ]
    for name, r in st[st["scope"] != "series"].iterrows():
        lines.append(
            f"  {name:<12} total {r['total']:9.1f} {r['unit']:<16} Sharpe {r['sharpe']:5.2f} at exposure "
            f"{r['exposure']:.0%} (while exposed {r['sharpe_exposed']:5.2f}); {int(r['n_bets'])} distinct bets "
            f"({int(r['n_trades'])} trades): hit {r['hit_rate']:.0%}, mean {r['mean_bet']:.2f}, t {r['t_bet']:.2f}"
        )
    return lines


_BP_TOTAL_LABELS = (
    "total net P&L", "annual return", "annual volatility", "Sharpe ", "Sortino", "max drawdown",
    "hit rate", "profit factor", "costs (bp)", "exposure",
)  # fmt: skip


def finalize_summary(lines: list[str], bt: Any) -> list[str]:
    """The backtest summary with the per-kind/risk lines; with several kinds, without the bp
    figures summed across kinds (and the placebo line marked as computed on that sum)."""
    st = getattr(bt, "stats_units", None)
    if st is None:
        return lines
    traded = st[(st["scope"] == "series") & (st["n_trades"] > 0)]
    if traded["kind"].nunique() > 1:
        keep = [ln for ln in lines if not ln.strip().startswith(_BP_TOTAL_LABELS)]
        keep = [ln + " (on the bp sum across kinds)" if "placebo (" in ln else ln for ln in keep]
        keep.insert(
            2, "  no bp total across yields and FX (different units): see per kind and risk units below"
        )
        lines = keep
    return lines + summary_lines(bt)
