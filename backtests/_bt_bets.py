"""Bets from the positions actually held: each day's P&L of a series shared among its trades.

A **bet** is one event (``event_id``) in one kind (yield, fx, price): all its trades in the series
of that kind (2y/10y/30y of one event are one yield bet, whichever close each leg enters on); in
the cross-asset (risk-unit, currency) rows a bet is one event across kinds. Its P&L is read from
the book actually held (``bt.gross`` / ``bt.costs``: after ``combine``, ``position_cap``, stops and
netting), never from the trades' own P&L, so the bets of a kind add up to that kind's P&L total.

Sharing rule, per series and day ``t``. Gross (from the position after close ``t-1``): the trades
holding then (entry < ``t`` <= exit) share it by their signed sizes when these add up to the
position held (``combine="sum"`` below the cap: each trade's own P&L, exactly); otherwise (``max``,
``last``, a binding cap) the trades pointing the way of the position share it by size. Cost (from
the trade at close ``t``): the trades entering or exiting at ``t`` share it by size (offsetting
trades cost nothing, so share nothing). A day with P&L and no such trade (a position kept after a
trade's nominal exit) goes to the series' latest trade entered on or before it. An event none of
whose trades ever shared a day's gross (fully netted against others) is no bet.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

__all__ = ["trade_shares"]


def _spans(e: np.ndarray, x: np.ndarray, first: int, last: int) -> tuple[np.ndarray, np.ndarray]:
    """(trade row, day row) of every day from ``e + first`` to ``x + last`` inclusive, per trade."""
    lo, hi = e + first, x + last
    n = np.maximum(hi - lo + 1, 0)
    rows = np.repeat(np.arange(len(e)), n)
    start = np.repeat(np.cumsum(n) - n, n)
    return rows, lo[rows] + (np.arange(n.sum()) - start)


def _leftover(tr: pd.DataFrame, dates: pd.Index, sidx: np.ndarray, cells: np.ndarray) -> np.ndarray:
    """For each (day, series) cell with P&L and no active trade: the series' latest trade entered
    on or before that day (-1 when none)."""
    out = np.full(len(cells), -1)
    e = dates.get_indexer(pd.DatetimeIndex(tr["entry"]))
    for s in np.unique(cells[:, 1]):  # loop over series (few)
        mine = np.flatnonzero(sidx == s)
        order = mine[np.argsort(e[mine], kind="stable")]
        at = np.flatnonzero(cells[:, 1] == s)
        k = np.searchsorted(e[order], cells[at, 0], side="right") - 1
        out[at] = np.where(k >= 0, order[np.maximum(k, 0)], -1)
    return out


def trade_shares(bt: Any) -> pd.DataFrame:
    """Per trade of ``bt.trades`` (same rows): ``gross``, ``cost``, ``net`` (bp of its series) shared
    from the book held (module docstring) and ``held`` (it shared a day on the side of the position).

    The shares of a series' trades add up to that series' total gross and cost over the period.
    """
    tr = bt.trades
    series = list(bt.positions.columns)
    dates = bt.positions.index
    out = pd.DataFrame({"gross": np.zeros(len(tr)), "cost": 0.0, "held": False}, index=tr.index)
    if tr.empty:
        return out.assign(net=0.0)
    sidx = pd.Index(series).get_indexer(tr["series"])  # one hashed lookup, not a list search per trade
    pos = bt.positions[series].to_numpy(dtype=float)
    T, S = pos.shape
    prev = np.vstack([np.zeros((1, S)), pos[:-1]])
    e = dates.get_indexer(pd.DatetimeIndex(tr["entry"]))
    x = dates.get_indexer(pd.DatetimeIndex(tr["exit"]))
    x = np.where(x < 0, T - 1, x)
    signed = (tr["direction"].to_numpy(dtype=float) * tr["size"].to_numpy(dtype=float))
    size = np.abs(signed)
    # gross of day t: the trades holding after close t-1 (entry < t <= exit)
    rows, days = _spans(e, x, 1, 0)
    flat = days * S + sidx[rows]
    tot = np.bincount(flat, weights=signed[rows], minlength=T * S)
    p_prev = prev.ravel()
    own = (np.abs(tot - p_prev) < 1e-9) & (p_prev != 0)  # sum of the trades = the position held
    agree = signed[rows] * np.sign(p_prev[flat]) > 0
    w_side = size[rows] * agree
    d_side = np.bincount(flat, weights=w_side, minlength=T * S)
    w = np.where(own[flat], signed[rows] / np.where(own[flat], tot[flat], 1.0), np.divide(
        w_side, d_side[flat], out=np.zeros_like(w_side), where=d_side[flat] > 0))
    gross = bt.gross[series].to_numpy(dtype=float).ravel()
    out["gross"] = np.bincount(rows, weights=gross[flat] * w, minlength=len(tr))
    out["held"] = np.bincount(rows, weights=(w != 0) & (p_prev[flat] != 0), minlength=len(tr)) > 0
    # cost of close t: the trades entering or exiting at t, by size
    cost = bt.costs[series].to_numpy(dtype=float).ravel()
    crow = np.concatenate([np.arange(len(tr)), np.arange(len(tr))])
    cflat = np.concatenate([e, x]) * S + sidx[crow]
    crow, cflat = crow[np.r_[np.ones(len(tr), bool), x != e]], cflat[np.r_[np.ones(len(tr), bool), x != e]]
    d_c = np.bincount(cflat, weights=size[crow], minlength=T * S)
    wc = np.divide(size[crow], d_c[cflat], out=np.zeros(len(crow)), where=d_c[cflat] > 0)
    out["cost"] = np.bincount(crow, weights=cost[cflat] * wc, minlength=len(tr))
    for col, a, covered in (("gross", gross, np.bincount(flat, weights=np.abs(w), minlength=T * S) > 0), ("cost", cost, d_c > 0)):  # fmt: skip
        left = np.flatnonzero(~covered & (a != 0))
        if left.size:
            cells = np.column_stack(np.unravel_index(left, (T, S)))
            who = _leftover(tr, dates, sidx, cells)
            ok = who >= 0
            out[col] += np.bincount(who[ok], weights=a[left[ok]], minlength=len(tr))
            if col == "gross":
                out.loc[out.index[np.unique(who[ok])], "held"] = True
    out["net"] = out["gross"] - out["cost"]
    return out
