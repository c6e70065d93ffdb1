"""The steps of :func:`backtests.strategy.backtest`, in order.

1. :func:`market_side`: changes and sessions of the selected series, per-series costs and caps;
2. :func:`entries`: events aligned to their entry (first close strictly after the event);
3. :func:`rule_trades`: per rule, the selected (event, series) pairs with their direction, size,
   holding and exits, as :class:`TradeArrays`;
4. simulation (:func:`backtests.strategy.simulate`);
5. :func:`trades_table`: the ``trades`` table;
6. :func:`placebo_draws` and :func:`placebo_stats`: the same trades on random dates, ranked on the
   book figure (never a bp sum across yields and FX; see :mod:`backtests._bt_units`).

Every (event, series, rule) not traded is appended to ``skipped`` with its reason.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from backtests._bt_inputs import _per_series_value, _rule_mask, _rule_sizes
from signals.errors import ConfigError, UnknownSeriesError


@dataclass(frozen=True)
class TradeArrays:
    """Candidate trades, one entry per (event, series, rule) (arrays of equal length).

    ``event`` row of the event in the events table, ``series`` column of the series, ``row``
    day-0 row (entry at the series' first session at or after it), ``direction`` (+1/-1),
    ``size`` (units), ``holding`` (sessions), ``stop_loss_bp``/``take_profit_bp`` (bp, NaN =
    none), ``rule`` (index into the rules).
    """

    event: np.ndarray
    series: np.ndarray
    row: np.ndarray
    direction: np.ndarray
    size: np.ndarray
    holding: np.ndarray
    stop_loss_bp: np.ndarray
    take_profit_bp: np.ndarray
    rule: np.ndarray

    @classmethod
    def concat(cls, parts: Sequence[TradeArrays]) -> TradeArrays:
        """All trades of ``parts`` in order (integer fields int64, the others float)."""
        out = {}
        for f in dataclasses.fields(cls):
            vals = [getattr(p, f.name) for p in parts]
            arr = np.concatenate(vals) if vals else np.zeros(0)
            ints = f.name in ("event", "series", "row", "holding", "rule")
            out[f.name] = arr.astype(np.int64 if ints else float)
        return cls(**out)


@dataclass(frozen=True)
class MarketSide:
    """The market as the backtest uses it (selected series only)."""

    changes: pd.DataFrame
    sessions: pd.DataFrame
    align_target: Any
    series: list[str]
    all_series: set[str]
    cost: np.ndarray
    cap: np.ndarray


def market_side(frames: tuple, series: Any, cost_bp: Any, position_cap: Any) -> MarketSide:
    """Step 1: restrict the market frames to ``series``; costs and caps per series."""
    chg_df, sess_df, align_target = frames
    all_series = [str(c) for c in chg_df.columns]
    full_series = set(all_series)
    if series is not None:
        series = [series] if isinstance(series, str) else list(series)
        unknown = sorted(set(series) - set(all_series))
        if unknown:
            raise UnknownSeriesError(f"backtest: series {unknown} not in the market (has {all_series})")
        attrs = dict(chg_df.attrs)
        chg_df, sess_df = chg_df[series].copy(), sess_df[series]
        chg_df.attrs = attrs
        all_series = list(series)
        align_target = chg_df  # carries attrs["newsbt_series"] (zones, closes, first observations)
    cost = _per_series_value(cost_bp, all_series, "cost_bp", allow_none=False)
    cap = _per_series_value(position_cap, all_series, "position_cap", allow_none=True)
    if np.any(cap == 0):
        raise ConfigError("backtest: position_cap must be > 0 (None: no cap)")
    return MarketSide(chg_df, sess_df, align_target, all_series, full_series, cost, cap)


def entries(ev: pd.DataFrame, mk: MarketSide, align: Callable, skipped: list) -> pd.DataFrame:
    """Step 2: the aligned (event, series) pairs that have an entry: ``event`` (row in
    ``ev``), ``series`` (name), ``s`` (column), ``row`` (day-0 row); the others to ``skipped``."""
    dates = mk.changes.index
    acols = [c for c in ("event_id", "timestamp", "date", "tz", "series") if c in ev.columns]
    if len(ev):
        aligned = align(ev[acols], mk.align_target)
    else:
        aligned = pd.DataFrame({"event_id": [], "series": [], "day0": [], "reason": []})
    not_sel = (aligned["reason"] == "unknown_series") & aligned["series"].isin(list(mk.all_series))
    aligned.loc[not_sel, "reason"] = "series_not_selected"
    aligned = aligned[["event_id", "series", "day0", "reason"]].reset_index(drop=True)
    row = dates.get_indexer(pd.DatetimeIndex(aligned["day0"]))
    beyond = (aligned["reason"] == "") & (row < 0)
    aligned.loc[beyond, "reason"] = "after_data"
    bad = aligned[aligned["reason"] != ""]
    if len(bad):
        detail = np.where(
            bad["reason"] == "after_data", "no close of the series after the event within the data", ""
        )
        skipped.append(bad.assign(rule="*", detail=detail))
    aligned["row"] = row
    ok = aligned[aligned["reason"] == ""]
    sidx = {s: i for i, s in enumerate(mk.series)}
    return pd.DataFrame(
        {
            "event": pd.Index(ev["event_id"]).get_indexer(ok["event_id"]),
            "series": ok["series"].to_numpy(dtype=object),
            "s": ok["series"].map(sidx).to_numpy(dtype=np.int64) if len(ok) else np.zeros(0, np.int64),
            "row": ok["row"].to_numpy(dtype=np.int64),
        }
    )


def _directions(ev: pd.DataFrame, r: Any, dirs: Any) -> tuple[np.ndarray, np.ndarray]:
    """Direction matrix (events x series, NaN = no view) of rule ``r`` and why each is missing."""
    dmat, dwhy, from_book, book_flip = dirs.get(r.direction)
    dvals = dmat.to_numpy(dtype=float)
    dwhy = dwhy.to_numpy(dtype=object).copy()
    flip = np.ones(dvals.shape, dtype=bool) if r.sentiment_sign else np.zeros(dvals.shape, dtype=bool)
    if r.sentiment_sign is None:  # follow the theme book where the direction came from it
        flip = from_book & book_flip[:, None]
    if flip.any():
        if "sentiment" not in ev.columns:
            sgn = np.full(len(ev), np.nan)
        else:
            sgn = np.sign(pd.to_numeric(ev["sentiment"], errors="coerce").to_numpy(dtype=float))
        unsigned = flip & ~(np.abs(sgn) > 0)[:, None] & ~np.isnan(dvals)
        dvals = np.where(flip, dvals * sgn[:, None], dvals)
        dwhy[unsigned] = "direction flips with the sign of sentiment, which is missing or 0"
    return dvals, dwhy


def rule_trades(
    ev, ri, r, dirs, ent: pd.DataFrame, series: list[str], defaults: dict, skipped: list
) -> TradeArrays:
    """Step 3: the trades of rule ``r`` (number ``ri``) among the entries ``ent``; events the
    rule filters out, pairs without a direction and zero sizes go to ``skipped``.
    ``defaults``: ``holding``, ``stop_loss_bp``, ``take_profit_bp`` of the backtest."""
    keep, why = _rule_mask(ev, r)
    ids = ev["event_id"].to_numpy()
    if (~keep).any():
        skipped.append(
            pd.DataFrame({"event_id": ids[~keep], "series": "*", "rule": r.name, "reason": "rule_filter", "detail": why[~keep]})
        )  # fmt: skip
    dvals, dwhy = _directions(ev, r, dirs)
    sizes = _rule_sizes(ev, r)
    ev_pos = ent["event"].to_numpy()
    sel = keep[ev_pos]
    if r.series is not None:
        unknown = sorted(set(r.series) - set(series))
        if unknown:
            raise UnknownSeriesError(f"Rule {r.name!r}: series {unknown} not in the market (has {series})")
        sel &= np.isin(ent["series"].to_numpy(dtype=object), np.asarray(r.series, dtype=object))
    e, s, rw = ev_pos[sel], ent["s"].to_numpy()[sel], ent["row"].to_numpy()[sel]
    d = np.sign(dvals[e, s]) if e.size else np.zeros(0)
    q = sizes[e]
    mixed = np.zeros(e.size, dtype=bool)
    if r.direction not in (1, -1) and not r.trade_mixed and "stance_kind" in ev.columns:
        mixed = (ev["stance_kind"].to_numpy(dtype=object) == "mixed")[e]
    nodir = ~mixed & (np.isnan(d) | (d == 0))
    zero = ~mixed & ~nodir & (q <= 0)
    for m, reason, det in (
        (
            mixed,
            "mixed_stance",
            "mixed event (articles escalate and de-escalate): Rule(trade_mixed=True) trades it",
        ),
        (nodir, "no_direction", dwhy[e, s] if e.size else []),
        (zero, "zero_size", "size is 0 (scaled by |sentiment| or n_articles)"),
    ):
        if m.any():
            detail = np.asarray(det, dtype=object)[m] if not isinstance(det, str) else det
            skipped.append(
                pd.DataFrame({"event_id": ids[e[m]], "series": np.asarray(series, dtype=object)[s[m]],
                              "rule": r.name, "reason": reason, "detail": detail})
            )  # fmt: skip
    t = ~mixed & ~nodir & ~zero
    n = int(t.sum())
    sl = r.stop_loss_bp if r.stop_loss_bp is not None else defaults["stop_loss_bp"]
    tp = r.take_profit_bp if r.take_profit_bp is not None else defaults["take_profit_bp"]
    return TradeArrays(
        event=e[t], series=s[t], row=rw[t], direction=d[t], size=q[t],
        holding=np.full(n, r.holding if r.holding is not None else defaults["holding"], dtype=np.int64),
        stop_loss_bp=np.full(n, np.nan if sl is None else float(sl)),
        take_profit_bp=np.full(n, np.nan if tp is None else float(tp)),
        rule=np.full(n, ri, dtype=np.int64),
    )  # fmt: skip


def trades_table(
    ev, tr: TradeArrays, core: Any, mk: MarketSide, rule_names, columns, skipped
) -> pd.DataFrame:
    """Step 5: one row per simulated trade (sorted by entry, series, event id); trades without
    a session at or after day 0 go to ``skipped``."""
    v = core.valid
    ids = ev["event_id"].to_numpy()
    ser = np.asarray(mk.series, dtype=object)
    names = np.asarray(rule_names, dtype=object)
    dates = mk.changes.index
    if (~v).any():
        skipped.append(
            pd.DataFrame({"event_id": ids[tr.event[~v]], "series": ser[tr.series[~v]], "rule": names[tr.rule[~v]],
                          "reason": "after_data", "detail": "no session of the series at or after day 0"})
        )  # fmt: skip
    exit_reason = np.where(
        core.stopped[v] == -1,
        "stop_loss",
        np.where(core.stopped[v] == 1, "take_profit", np.where(core.closed[v], "holding", "open")),
    )
    trades = pd.DataFrame(
        {
            "event_id": ids[tr.event[v]],
            "series": ser[tr.series[v]],
            "rule": names[tr.rule[v]],
            "theme": ev["theme"].to_numpy()[tr.event[v]] if "theme" in ev.columns else None,
            "entry": dates[core.entry_row[v]],
            "exit": dates[core.exit_row[v]],
            "direction": tr.direction[v].astype(int),
            "size": tr.size[v],
            "holding": tr.holding[v],
            "sessions_held": core.sessions_held[v],
            "exit_reason": exit_reason,
            "gross_bp": core.trade_gross[v],
            "cost_bp": core.trade_cost[v],
            "net_bp": core.trade_gross[v] - core.trade_cost[v],
        }
    )[columns]
    return trades.sort_values(["entry", "series", "event_id"], kind="stable").reset_index(drop=True)


def placebo_draws(
    run: Callable, tr: TradeArrays, n_draws: int, seed: int, dates: pd.Index, perf: Callable, unit: str = "bp"
):
    """Step 6: the trades on random dates, ``n_draws`` times. Each traded event gets one date
    drawn uniformly from the market's dates (its series keep their directions and sizes); events
    that share their day 0 move together (one news day stays one day: trades that offset on the
    real day offset in every draw, so a netted book is not ranked against draws that pay its costs).
    ``run(rows)`` simulates the trades with entry rows ``rows`` and returns the book's daily net
    P&L (in the book's ``unit``: the same per-series weights as the real book) and the valid-trade
    mask. Returns (table: ``draw, sharpe, total, n_trades, unit``; date x draw: cumulative book
    P&L of each draw, in ``unit``)."""
    rows, paths, n_dates = [], {}, len(dates)
    if n_draws and tr.event.size and n_dates > 1:
        rng = np.random.default_rng(seed)
        # one random date per day 0 shared by the events (their earliest day-0 row)
        uniq, inv = np.unique(tr.event, return_inverse=True)
        ev_row = np.full(uniq.size, np.iinfo(np.int64).max, dtype=np.int64)
        np.minimum.at(ev_row, inv, tr.row.astype(np.int64))
        day0s, day_of_event = np.unique(ev_row, return_inverse=True)
        trade_day = day_of_event[inv]
        for k in range(int(n_draws)):  # loop over draws, each one vectorised over all trades
            draw = rng.integers(0, n_dates - 1, size=day0s.size)
            daily, pvalid = run(draw[trade_day])
            ps = perf(daily)
            rows.append(
                {"draw": k, "sharpe": ps["sharpe"], "total": ps["total_bp"], "n_trades": int(pvalid.sum())}
            )
            paths[k] = np.cumsum(daily)
    placebo_paths = pd.DataFrame(paths, index=dates)
    placebo_paths.columns.name = "draw"
    placebo_paths.attrs["unit"] = unit
    table = pd.DataFrame(rows, columns=["draw", "sharpe", "total", "n_trades"]).assign(unit=unit)
    return table, placebo_paths


def placebo_stats(book: pd.Series, placebo_df: pd.DataFrame) -> pd.Series:
    """``book`` (the book's headline, :func:`backtests._bt_units.book_stats`) with the placebo rows:
    median Sharpe, percentiles and one-sided p-values of the book's Sharpe and total among the draws
    (the same figure and unit as the book)."""
    if not len(placebo_df):
        return book
    ours = float(book["sharpe"])
    ps_ = placebo_df["sharpe"].to_numpy(dtype=float)
    pt_ = placebo_df["total"].to_numpy(dtype=float)
    ours_t = float(book["total"])
    extra = {
        "placebo_draws": float(len(placebo_df)),
        "placebo_sharpe_median": float(np.nanmedian(ps_)) if np.isfinite(ps_).any() else np.nan,
        "placebo_sharpe_pctile": float(np.mean(ps_ < ours)) if np.isfinite(ours) else np.nan,
        "placebo_pvalue": float((1 + np.sum(ps_ >= ours)) / (1 + len(ps_))) if np.isfinite(ours) else np.nan,
        "placebo_total_pctile": float(np.mean(pt_ < ours_t)),
        "placebo_total_pvalue": float((1 + np.sum(pt_ >= ours_t)) / (1 + len(pt_))),
    }
    return pd.concat([book, pd.Series(extra, dtype=object)]).rename(book.name)
