"""Signal backtest: trade the news events on the market series, after costs, with no look-ahead.

Conventions
-----------
- **Units.** Every P&L figure is in basis points (bp) of the series' own change as returned by
  :func:`backtests.to_changes`: yields -> first differences x 100 (bp of yield); FX and prices ->
  1e4 x log return (bp). A position of size 1 earns exactly the series' change.
- **Sign (DV01-free).** A position of +1 profits when the series *rises*:
  ``P&L_t = position_{t-1} x change_t``. For a yield this is a pay-fixed / short-bond view
  (+1 gains 1 bp per 1 bp rise in yield, whatever the bond's duration: no DV01 scaling); for
  FX and prices it is long the quoted rate (``usdjpy`` +1 = long dollars against yen).
  An event's ``direction`` is the expected sign of the series' move, so a correct call earns.
- **Entry (no look-ahead).** An event is entered at the first close of each series STRICTLY after
  its timestamp (:func:`backtests.calendar.align_events` with ``strict=True``: the series' own
  calendar and close cut-off). The position is on from that close, so the first change it earns
  is the next session's. It is held ``holding`` sessions *of that series* (a Tokyo holiday does
  not count for JGBs) and closed at the close of the last one, or earlier at a close where the
  trade's own cumulative P&L per unit breaches ``-stop_loss_bp`` or ``+take_profit_bp``
  (close-to-close checks: no intraday fills).
- **Costs.** ``cost_bp`` per unit of turnover, charged on every change of position
  (``cost_bp x |position_t - position_{t-1}|``): a unit round trip costs ``2 x cost_bp``.
- **Overlaps.** Signals on one series combine by ``"sum"`` (positions add), ``"max"`` (no
  pyramiding: the largest active long plus the largest active short) or ``"last"`` (the most
  recently entered active signal wins; signals entered on the same session add), then are clipped
  to ``+/- position_cap``.
- **Statistics.** From the daily net P&L on the market's dates (flat days count as 0),
  annualised with 252 trading days: return = 252 x mean, volatility = sqrt(252) x sd (ddof 1),
  Sharpe = sqrt(252) x mean / sd (no risk-free rate: the P&L is already an excess return),
  Sortino = sqrt(252) x mean / sqrt(mean(min(P&L, 0)^2)) (target 0, full-sample denominator, as
  in quantstats), max drawdown of the cumulative P&L from its running peak (starting at 0), its
  duration in trading days under water. Trade statistics (hit rate, average win/loss, profit
  factor) use each trade's stand-alone net P&L (``trades.net_bp``), i.e. before netting with
  overlapping trades; with ``combine="sum"`` and no cap, trades' gross P&L adds up to the
  portfolio's gross P&L.
- **Placebo.** The same rules on ``placebo`` seeded random entry dates: every traded event keeps
  its directions and sizes but gets one date drawn uniformly from the market's dates (and enters
  each series at its first session on or after it); the distribution of Sharpe ratio and total P&L
  shows where the real events fall.

The core, :func:`simulate`, is a pure function of a changes matrix and per-trade arrays (entry
rows, directions, sizes, holding): positions are built from entry/exit deltas with cumulative
sums in each series' session coordinates (no Python loop per event).
"""

from __future__ import annotations

import dataclasses
import html
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

import numpy as np
import pandas as pd

from signals.errors import ConfigError, InputFormatError

log = logging.getLogger(__name__)

ANNUALISATION = 252
"""Trading days per year used to annualise returns, volatility, Sharpe and Sortino."""

Combine = Literal["sum", "max", "last"]
_COMBINE = ("sum", "max", "last")
_SKIP_COLUMNS = ["event_id", "series", "rule", "reason", "detail"]
_TRADE_COLUMNS = [
    "event_id",
    "series",
    "rule",
    "theme",
    "entry",
    "exit",
    "direction",
    "size",
    "holding",
    "sessions_held",
    "exit_reason",
    "gross_bp",
    "cost_bp",
    "net_bp",
]


# --------------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """How events become positions on the market series.

    Parameters
    ----------
    name : str
        Label used in ``trades.rule`` and ``skipped.rule``.
    themes : sequence of str, optional
        Only events whose ``theme`` is one of these (None: every theme).
    series : sequence of str, optional
        Only these series of the market (None: every series).
    min_abs_sentiment : float
        Only events with ``|sentiment| >= min_abs_sentiment`` (VADER compound, unitless, 0..1).
    sentiment_range : (float, float), optional
        Only events with ``lo <= sentiment <= hi`` (a sentiment bucket, signed).
    min_articles : int
        Only events with ``n_articles >= min_articles``.
    direction : {"auto", "book", "column"} or {+1, -1}
        Where the expected sign of each series' move comes from. ``"auto"``: the event's
        ``direction_<series>`` column if present, else its scalar ``direction`` column, else the
        theme book's ``book.direction(theme, series)``. ``"column"``: the columns only.
        ``"book"``: the theme book only. ``+1``/``-1``: that sign on every series.
    sentiment_sign : bool, optional
        Multiply the direction by the sign of the event's ``sentiment``. None (default): only
        directions taken from the theme book, for themes whose ``book.sentiment_sign(theme)`` is
        True (``direction_<series>`` columns from :func:`signals.extract_events` already include
        it). True: every direction (the book's own flag is then not applied a second time).
        False: never.
    size : float
        Position size in units (1 unit earns 1 bp per bp of change).
    size_by : {None, "sentiment", "n_articles"}
        Scale ``size`` by ``|sentiment|`` or by ``n_articles``.
    max_size : float, optional
        Cap on the (scaled) size, units.
    holding : int, optional
        Holding period in sessions of each series (None: the ``holding`` given to
        :func:`backtest`).
    stop_loss_bp, take_profit_bp : float, optional
        Close a trade at the first close where its cumulative P&L per unit is ``<= -stop_loss_bp``
        or ``>= take_profit_bp`` (bp, > 0).
    """

    name: str = "rule"
    themes: tuple[str, ...] | None = None
    series: tuple[str, ...] | None = None
    min_abs_sentiment: float = 0.0
    sentiment_range: tuple[float, float] | None = None
    min_articles: int = 1
    direction: str | int = "auto"
    sentiment_sign: bool | None = None
    size: float = 1.0
    size_by: str | None = None
    max_size: float | None = None
    holding: int | None = None
    stop_loss_bp: float | None = None
    take_profit_bp: float | None = None

    def __post_init__(self) -> None:
        for f in ("themes", "series"):
            v = getattr(self, f)
            if isinstance(v, str):
                object.__setattr__(self, f, (v,))
            elif v is not None:
                object.__setattr__(self, f, tuple(v))
        if self.sentiment_range is not None:
            lo, hi = self.sentiment_range
            if not lo <= hi:
                raise ConfigError(
                    f"Rule {self.name!r}: sentiment_range {self.sentiment_range} needs lo <= hi"
                )
            object.__setattr__(self, "sentiment_range", (float(lo), float(hi)))
        if self.direction not in ("auto", "book", "column", 1, -1):
            raise ConfigError(
                f"Rule {self.name!r}: direction={self.direction!r}; use 'auto', 'book', 'column', 1 or -1"
            )
        if self.size_by not in (None, "sentiment", "n_articles"):
            raise ConfigError(
                f"Rule {self.name!r}: size_by={self.size_by!r}; use None, 'sentiment' or 'n_articles'"
            )
        if not (np.isfinite(self.size) and self.size > 0):
            raise ConfigError(f"Rule {self.name!r}: size={self.size!r} must be a positive number of units")
        if self.max_size is not None and not self.max_size > 0:
            raise ConfigError(f"Rule {self.name!r}: max_size={self.max_size!r} must be > 0")
        if self.holding is not None:
            _check_holding(self.holding, f"Rule {self.name!r}: holding")
        for f in ("stop_loss_bp", "take_profit_bp"):
            v = getattr(self, f)
            if v is not None and not v > 0:
                raise ConfigError(f"Rule {self.name!r}: {f}={v!r} must be > 0 bp (or None)")
        if self.min_abs_sentiment < 0:
            raise ConfigError(f"Rule {self.name!r}: min_abs_sentiment must be >= 0")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Rule:
        """Build a rule from a plain mapping (e.g. a ``[[backtest.rules]]`` TOML table).

        Raises
        ------
        ConfigError
            On an unknown key (the message lists the valid ones).
        """
        names = {f.name for f in dataclasses.fields(cls)}
        bad = sorted(set(d) - names)
        if bad:
            raise ConfigError(f"unknown rule key(s) {bad}; valid keys: {sorted(names)}")
        return cls(**dict(d))


def _check_holding(h: Any, what: str) -> int:
    if isinstance(h, bool) or not isinstance(h, int | np.integer) or h < 1:
        raise ConfigError(f"{what}={h!r} must be an integer >= 1 (trading sessions)")
    return int(h)


# --------------------------------------------------------------------------------------------
# Core: a pure function of arrays
# --------------------------------------------------------------------------------------------


class CoreResult(NamedTuple):
    """Arrays returned by :func:`simulate` (T dates x S series; N trades)."""

    positions: np.ndarray  # (T, S) position held after each date's close, units
    gross: np.ndarray  # (T, S) gross daily P&L, bp
    costs: np.ndarray  # (T, S) transaction costs charged on each date, bp (>= 0)
    turnover: np.ndarray  # (T, S) |change of position| at each date's close, units
    valid: np.ndarray  # (N,) trade has an entry session within the data
    entry_row: np.ndarray  # (N,) row of the entry session (-1 if not valid)
    exit_row: np.ndarray  # (N,) row of the exit session (last row of data if still open)
    sessions_held: np.ndarray  # (N,) number of changes earned
    closed: np.ndarray  # (N,) position closed within the data
    stopped: np.ndarray  # (N,) int8: 0 none, -1 stop-loss, +1 take-profit
    trade_gross: np.ndarray  # (N,) stand-alone gross P&L, bp
    trade_cost: np.ndarray  # (N,) stand-alone costs (entry, plus exit if closed), bp


def _as_col(x: Any, n: int, dtype: Any, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=dtype)
    if a.ndim == 0:
        a = np.full(n, a, dtype=dtype)
    if a.shape != (n,):
        raise InputFormatError(f"simulate: {name} has shape {a.shape}; expected ({n},)")
    return a


def _per_series(x: Any, s: int, name: str, default: float) -> np.ndarray:
    if x is None:
        return np.full(s, default, dtype=float)
    a = np.asarray(x, dtype=float)
    if a.ndim == 0:
        a = np.full(s, float(a))
    if a.shape != (s,):
        raise InputFormatError(f"simulate: {name} has shape {a.shape}; expected a scalar or ({s},)")
    return a


def default_sessions(changes: np.ndarray) -> np.ndarray:
    """Sessions implied by a changes matrix: non-NaN changes plus each series' first observation.

    Parameters
    ----------
    changes : ndarray (T, S)
        Changes in bp, NaN where a series has no observation (and at its first observation).

    Returns
    -------
    ndarray of bool (T, S)
    """
    c = np.asarray(changes, dtype=float)
    m = ~np.isnan(c)
    has = m.any(axis=0)
    first = np.argmax(m, axis=0)
    cols = np.flatnonzero(has & (first > 0))
    m[first[cols] - 1, cols] = True
    return m


def _session_layout(C: np.ndarray, M: np.ndarray) -> tuple:
    """Per-series session coordinates of a (T, S) changes matrix and session mask (reusable)."""
    T, S = C.shape
    Mc = M.copy()
    nsess = Mc.sum(axis=0).astype(np.int64)  # (S,)
    K = int(nsess.max()) if S else 0
    sessnum = np.cumsum(Mc, axis=0) - 1  # (T, S): last session at or before each row
    ss, tt = np.nonzero(Mc.T)  # sorted by series then row
    kk = sessnum[tt, ss]
    R = np.full((S, max(K, 1)), T - 1, dtype=np.int64)
    R[ss, kk] = tt
    chg = np.zeros((S, K + 1))
    chg[ss, kk] = np.nan_to_num(C[tt, ss])
    chg[:, 0] = 0.0  # the first session has no prior observation inside the data
    cum = np.cumsum(chg, axis=1)  # cum[s, k] = sum of changes of sessions 1..k
    return Mc, nsess, K, sessnum, ss, tt, kk, R, chg, cum


def simulate(
    changes: np.ndarray,
    entry_rows: Any,
    series_idx: Any,
    directions: Any,
    sizes: Any = 1.0,
    holding: Any = 5,
    *,
    sessions: np.ndarray | None = None,
    combine: Combine = "sum",
    position_cap: Any = None,
    cost_bp: Any = 0.0,
    stop_loss_bp: Any = None,
    take_profit_bp: Any = None,
    _layout: tuple | None = None,
    _total_only: bool = False,
) -> CoreResult:
    """Positions, daily P&L and costs of a set of trades: the backtest's pure core.

    Parameters
    ----------
    changes : ndarray (T, S)
        Changes of each series in bp, on a common date index; NaN where the series has no
        observation (treated as no change).
    entry_rows : array of int (N,)
        Row of each trade's entry close. A row that is not a session of the trade's series enters
        at the series' first session at or after it.
    series_idx : array of int (N,)
        Column of each trade's series.
    directions : array of float (N,)
        Expected sign of the move, +1 or -1 (only the sign is used; 0 gives no position).
    sizes : float or array (N,)
        Position size, units (>= 0).
    holding : int or array of int (N,)
        Sessions (of the trade's series) the position is held, >= 1.
    sessions : ndarray of bool (T, S), optional
        Which rows are sessions of each series (default: :func:`default_sessions`).
    combine : {"sum", "max", "last"}
        How overlapping trades on one series combine (see the module docstring).
    position_cap : float or array (S,), optional
        Absolute position limit per series, units (None: no cap).
    cost_bp : float or array (S,)
        Cost per unit of turnover, bp.
    stop_loss_bp, take_profit_bp : float or array (N,), optional
        Per-unit stop-loss / take-profit thresholds in bp (> 0; NaN or None: none).

    Returns
    -------
    CoreResult
    """
    C = np.asarray(changes, dtype=float)
    if C.ndim != 2:
        raise InputFormatError(f"simulate: changes must be 2-D (dates x series); got shape {C.shape}")
    T, S = C.shape
    M = default_sessions(C) if sessions is None else np.asarray(sessions, dtype=bool)
    if M.shape != (T, S):
        raise InputFormatError(f"simulate: sessions has shape {M.shape}; expected {(T, S)}")
    if combine not in _COMBINE:
        raise ConfigError(f"combine={combine!r}; use one of {_COMBINE}")
    er = np.asarray(entry_rows, dtype=np.int64).ravel()
    N = er.size
    si = _as_col(series_idx, N, np.int64, "series_idx")
    d = np.sign(_as_col(directions, N, float, "directions"))
    sz = _as_col(sizes, N, float, "sizes")
    h = _as_col(holding, N, np.int64, "holding")
    if N and (h.min() < 1):
        raise ConfigError("simulate: holding must be >= 1 session")
    if N and ((si.min() < 0) or (si.max() >= S)):
        raise InputFormatError("simulate: series_idx out of range")
    if np.any(~np.isfinite(sz)) or np.any(sz < 0):
        raise InputFormatError("simulate: sizes must be finite and >= 0")
    d = np.nan_to_num(d)
    q = d * sz  # signed units
    cap = _per_series(position_cap, S, "position_cap", np.inf)
    cost = _per_series(cost_bp, S, "cost_bp", 0.0)
    stop = _as_col(np.nan if stop_loss_bp is None else stop_loss_bp, N, float, "stop_loss_bp")
    take = _as_col(np.nan if take_profit_bp is None else take_profit_bp, N, float, "take_profit_bp")

    # Session coordinates: k-th session of series s sits at row R[s, k].
    lay = _layout if _layout is not None else _session_layout(C, M)
    Mc, nsess, K, sessnum, ss, tt, kk, R, chg, cum = lay

    # Entry session: first session at or after the entry row.
    in_rows = (er >= 0) & (er < T)
    if T:
        erc = np.clip(er, 0, T - 1)
        k0 = np.where(in_rows, sessnum[erc, si] + (~Mc[erc, si]).astype(np.int64), K + 1)
    else:
        k0 = np.full(N, K + 1, dtype=np.int64)
    k0 = k0.astype(np.int64)
    valid = in_rows & (k0 >= 0) & (k0 < nsess[si])
    last = nsess[si] - 1
    k1 = np.minimum(k0 + h, last)
    stopped = np.zeros(N, dtype=np.int8)
    has_st = valid & (np.isfinite(stop) | np.isfinite(take))
    if has_st.any():
        idx = np.flatnonzero(has_st)
        hmax = int(h[idx].max())
        off = np.arange(1, hmax + 1)
        kp = k0[idx, None] + off[None, :]
        ok = (off[None, :] <= h[idx, None]) & (kp <= last[idx, None])
        kp = np.where(ok, kp, k0[idx, None])
        path = d[idx, None] * (cum[si[idx, None], kp] - cum[si[idx], k0[idx]][:, None])  # per unit, bp
        hit_sl = ok & (path <= -np.nan_to_num(stop[idx], nan=np.inf)[:, None])
        hit_tp = ok & (path >= np.nan_to_num(take[idx], nan=np.inf)[:, None])
        hit = hit_sl | hit_tp
        anyhit = hit.any(axis=1)
        first = np.argmax(hit, axis=1)
        j = idx[anyhit]
        k1[j] = k0[j] + off[first[anyhit]]
        stopped[j] = np.where(hit_sl[anyhit, first[anyhit]], -1, 1)
    closed = valid & ((k0 + h <= last) | (stopped != 0))
    k1 = np.where(valid, k1, k0)
    held = np.where(valid, k1 - k0, 0)

    # Positions in session space: pos[s, k] = position after the close of session k.
    pos = np.zeros((S, K + 1))
    v = np.flatnonzero(valid & (q != 0))
    if combine == "sum":
        D = np.zeros((S, K + 2))
        np.add.at(D, (si[v], k0[v]), q[v])
        c = v[closed[v]]
        np.add.at(D, (si[c], k1[c]), -q[c])
        pos = np.cumsum(D, axis=1)[:, : K + 1]
    elif v.size:
        # active sessions of each trade: k0 .. k1-1 if closed, k0 .. last if still open
        n_act = np.where(closed[v], k1[v] - k0[v], last[v] - k0[v] + 1)
        rep = np.repeat(np.arange(v.size), n_act)
        starts = np.cumsum(n_act) - n_act
        ka = k0[v][rep] + (np.arange(rep.size) - starts[rep])
        sa, qa = si[v][rep], q[v][rep]
        if combine == "max":
            lo = np.zeros((S, K + 1))
            hi = np.zeros((S, K + 1))
            lng = qa > 0
            np.maximum.at(hi, (sa[lng], ka[lng]), qa[lng])
            np.minimum.at(lo, (sa[~lng], ka[~lng]), qa[~lng])
            pos = hi + lo
        else:  # last
            latest = np.full((S, K + 1), -1, dtype=np.int64)
            e0 = k0[v][rep]
            np.maximum.at(latest, (sa, ka), e0)
            sel = e0 == latest[sa, ka]
            np.add.at(pos, (sa[sel], ka[sel]), qa[sel])
    pos = np.clip(pos, -cap[:, None], cap[:, None])
    beyond = np.arange(K + 1)[None, :] >= nsess[:, None]
    pos[beyond] = 0.0  # no session there; never mapped to a row

    prev = np.concatenate([np.zeros((S, 1)), pos[:, :-1]], axis=1)
    pnl_s = prev * chg
    turn_s = np.abs(pos - prev)

    if _total_only:  # placebo: only the book's daily net P&L (T,) is needed
        net_s = pnl_s - turn_s * cost[:, None]
        total = np.bincount(tt, weights=net_s[ss, kk], minlength=T) if T else np.zeros(0)
        return total, valid  # type: ignore[return-value]

    # Back to date rows.
    positions = np.zeros((T, S))
    gross = np.zeros((T, S))
    turnover = np.zeros((T, S))
    if T and S:
        sn = np.maximum(sessnum, 0)
        cols = np.arange(S)[None, :]
        positions = np.where(sessnum >= 0, pos[cols, sn], 0.0)
        gross[tt, ss] = pnl_s[ss, kk]
        turnover[tt, ss] = turn_s[ss, kk]
    costs = turnover * cost[None, :]

    entry_row = np.where(valid, R[si, np.minimum(k0, max(K - 1, 0))], -1) if N else np.zeros(0, np.int64)
    exit_row = np.where(valid, R[si, np.minimum(k1, max(K - 1, 0))], -1) if N else np.zeros(0, np.int64)
    tg = (
        np.where(valid, q * (cum[si, np.minimum(k1, K)] - cum[si, np.minimum(k0, K)]), 0.0)
        if N
        else np.zeros(0)
    )
    tc = np.where(valid, np.abs(q) * cost[si] * (1 + closed), 0.0) if N else np.zeros(0)
    return CoreResult(
        positions=positions,
        gross=gross,
        costs=costs,
        turnover=turnover,
        valid=valid,
        entry_row=entry_row,
        exit_row=exit_row,
        sessions_held=held,
        closed=closed,
        stopped=stopped,
        trade_gross=tg,
        trade_cost=tc,
    )


# --------------------------------------------------------------------------------------------
# Statistics
# --------------------------------------------------------------------------------------------


def _drawdown(pnl: np.ndarray) -> tuple[float, int]:
    """Max drawdown (bp, <= 0) of the cumulative P&L from its running peak (start 0) and the
    longest spell under water (days)."""
    if pnl.size == 0:
        return 0.0, 0
    eq = np.cumsum(pnl)
    peak = np.maximum.accumulate(np.maximum(eq, 0.0))
    dd = eq - peak
    under = dd < -1e-9 * max(1.0, float(np.abs(eq).max()))
    if not under.any():
        return float(dd.min()) if dd.min() < 0 else 0.0, 0
    # longest run of True
    x = np.concatenate([[0], under.astype(np.int8), [0]])
    dx = np.diff(x)
    starts, ends = np.flatnonzero(dx == 1), np.flatnonzero(dx == -1)
    return float(dd.min()), int((ends - starts).max())


def perf_stats(pnl: Any, *, periods: int = ANNUALISATION) -> dict[str, float]:
    """Return statistics of a daily P&L series (bp): total, annualised return and volatility,
    Sharpe, Sortino, max drawdown and its duration.

    Parameters
    ----------
    pnl : array-like of float
        Daily P&L in bp (NaN treated as 0).
    periods : int
        Periods per year for annualisation (252 trading days).

    Returns
    -------
    dict
        ``total_bp``, ``ann_return_bp``, ``ann_vol_bp``, ``sharpe``, ``sortino``,
        ``max_drawdown_bp`` (<= 0), ``max_dd_days`` (trading days), ``n_days``.
    """
    r = np.nan_to_num(np.asarray(pnl, dtype=float))
    n = r.size
    mean = r.mean() if n else np.nan
    sd = r.std(ddof=1) if n > 1 else np.nan
    down = math.sqrt(float(np.mean(np.minimum(r, 0.0) ** 2))) if n else np.nan
    mdd, mdd_days = _drawdown(r)
    sharpe = mean / sd * math.sqrt(periods) if n > 1 and sd > 0 else np.nan
    sortino = mean / down * math.sqrt(periods) if n and down > 0 else np.nan
    return {
        "total_bp": float(r.sum()),
        "ann_return_bp": float(mean * periods) if n else np.nan,
        "ann_vol_bp": float(sd * math.sqrt(periods)) if n > 1 else np.nan,
        "sharpe": float(sharpe),
        "sortino": float(sortino),
        "max_drawdown_bp": mdd,
        "max_dd_days": float(mdd_days),
        "n_days": float(n),
    }


def _trade_stats(net: np.ndarray) -> dict[str, float]:
    n = net.size
    wins, losses = net[net > 0], net[net < 0]
    gl = -losses.sum()
    return {
        "n_trades": float(n),
        "hit_rate": float((net > 0).mean()) if n else np.nan,
        "avg_win_bp": float(wins.mean()) if wins.size else np.nan,
        "avg_loss_bp": float(losses.mean()) if losses.size else np.nan,
        "profit_factor": float(wins.sum() / gl) if gl > 0 else (np.inf if wins.size else np.nan),
    }


# --------------------------------------------------------------------------------------------
# Result
# --------------------------------------------------------------------------------------------


@dataclass
class BacktestResult:
    """Result of :func:`backtest` (all P&L in bp, sizes in units; see the module docstring).

    Attributes
    ----------
    positions : DataFrame
        Date x series: position after each date's close, units.
    pnl : DataFrame
        Date x (series..., ``total``): daily P&L net of costs, bp.
    gross, costs : DataFrame
        Date x (series..., ``total``): gross P&L and costs, bp.
    trades : DataFrame
        One row per event-trade: ``event_id, series, rule, theme, entry, exit`` (session dates),
        ``direction, size, holding, sessions_held, exit_reason`` ("holding", "stop_loss",
        "take_profit", "open" at the end of the data), ``gross_bp, cost_bp, net_bp``
        (stand-alone trade P&L, bp).
    stats : DataFrame
        Metric x (``total``, series...): see the module docstring; placebo rows in ``total``.
    placebo : DataFrame
        One row per placebo draw: ``draw, sharpe, total_bp, n_trades``.
    placebo_paths : DataFrame
        Date x draw: cumulative net P&L of each placebo draw, bp.
    skipped : DataFrame
        ``event_id, series, rule, reason, detail``: every event (or event-series pair) not traded.
    params : dict
        The arguments used (holding, cost_bp, combine, position_cap, placebo, seed, rules).
    """

    positions: pd.DataFrame
    pnl: pd.DataFrame
    gross: pd.DataFrame
    costs: pd.DataFrame
    trades: pd.DataFrame
    stats: pd.DataFrame
    placebo: pd.DataFrame
    placebo_paths: pd.DataFrame
    skipped: pd.DataFrame
    params: dict = field(default_factory=dict)

    @property
    def equity(self) -> pd.Series:
        """Cumulative net P&L of the whole book, bp."""
        return self.pnl["total"].cumsum()

    @property
    def drawdown(self) -> pd.Series:
        """Cumulative net P&L minus its running peak (starting at 0), bp (<= 0)."""
        eq = self.equity
        return eq - eq.clip(lower=0).cummax()

    def summary(self) -> str:
        """Plain-text summary: parameters, headline statistics, placebo rank, skipped counts."""
        st = self.stats["total"] if "total" in self.stats else pd.Series(dtype=float)
        p = self.params
        lines = [
            f"Signal backtest: {int(st.get('n_trades', 0))} trades on {self.positions.shape[1]} series, "
            f"{len(self.pnl)} days; holding {p.get('holding')} sessions, cost {p.get('cost_bp')} bp/unit "
            f"turnover, combine={p.get('combine')!r}, cap={p.get('position_cap')}",
            "P&L in bp of each series' change (yields: bp of yield, +1 = pay fixed; FX/prices: "
            "log-return bp, +1 = long the quoted rate); annualised with 252 days.",
        ]
        fmt = [
            ("total_bp", "total net P&L (bp)", "{:.1f}"),
            ("ann_return_bp", "annual return (bp)", "{:.1f}"),
            ("ann_vol_bp", "annual volatility (bp)", "{:.1f}"),
            ("sharpe", "Sharpe", "{:.2f}"),
            ("sortino", "Sortino", "{:.2f}"),
            ("max_drawdown_bp", "max drawdown (bp)", "{:.1f}"),
            ("max_dd_days", "max drawdown duration (days)", "{:.0f}"),
            ("hit_rate", "hit rate", "{:.1%}"),
            ("profit_factor", "profit factor", "{:.2f}"),
            ("cost_total_bp", "costs (bp)", "{:.1f}"),
            ("exposure", "exposure (share of days)", "{:.1%}"),
        ]
        for k, lab, f in fmt:
            v = st.get(k, np.nan)
            lines.append(f"  {lab:<30} {'n/a' if pd.isna(v) else f.format(v)}")
        if len(self.placebo):
            lines.append(
                f"  placebo ({len(self.placebo)} random-date runs): Sharpe above "
                f"{st.get('placebo_sharpe_pctile', np.nan):.1%} of draws, one-sided p = "
                f"{st.get('placebo_pvalue', np.nan):.3f}"
            )
        if len(self.skipped):
            counts = self.skipped["reason"].value_counts()
            lines.append("  not traded: " + ", ".join(f"{r} {n}" for r, n in counts.items()))
        from backtests import _bt_units  # [honest answers] hook B2: per-kind / risk-unit headline

        return "\n".join(_bt_units.finalize_summary(lines, self))

    def plot(self, **kw: Any) -> Any:
        """Equity curve, drawdown and placebo band (matplotlib Figure; see ``plots.plot_backtest``)."""
        from backtests import plots

        return plots.plot_backtest(self, **kw)

    def to_frames(self) -> dict[str, pd.DataFrame]:
        """Every table by name (for reports and CSV export)."""
        return {
            "positions": self.positions,
            "pnl": self.pnl,
            "trades": self.trades,
            "stats": self.stats,
            "placebo": self.placebo,
            "skipped": self.skipped,
        }

    def _repr_html_(self) -> str:
        st = self.stats
        keep = [
            k
            for k in ("total_bp", "sharpe", "sortino", "max_drawdown_bp", "hit_rate", "n_trades")
            if k in st.index
        ]
        table = st.loc[keep].to_html(float_format=lambda x: f"{x:.3g}") if keep else ""
        head = html.escape(self.summary().splitlines()[0])
        return f"<div><p><b>{head}</b></p>{table}<p>{len(self.skipped)} skipped rows</p></div>"

    def __repr__(self) -> str:
        return self.summary().splitlines()[0]


# --------------------------------------------------------------------------------------------
# Market and events -> arrays
# --------------------------------------------------------------------------------------------


def _market_frames(market: Any) -> tuple[pd.DataFrame, pd.DataFrame, Any]:
    """(changes in bp, sessions mask, object for align_events) from a Market or a frame."""
    from backtests.market.changes import to_changes
    from backtests.market.spec import Market, SeriesSpec

    if isinstance(market, Market):
        chg = to_changes(market)
        sess = market.levels.notna().reindex(index=chg.index, columns=chg.columns, fill_value=False)
        return chg, sess, market
    if isinstance(market, pd.DataFrame):
        meta = market.attrs.get("newsbt_series")
        if not isinstance(meta, Mapping):
            raise InputFormatError(
                "backtest: the market DataFrame carries no attrs['newsbt_series'] (series kind, zone and "
                "close); pass the Market from backtests.load_market instead"
            )
        missing = [c for c in market.columns if str(c) not in meta]
        if missing:
            raise InputFormatError(f"backtest: columns {missing} have no entry in attrs['newsbt_series']")
        if all("first_obs" in meta[str(c)] for c in market.columns):
            # a changes frame from backtests.to_changes: sessions are its non-NaN cells + first obs
            chg = market.astype(float)
            sess = chg.notna()
            for c in chg.columns:
                fo = meta[str(c)].get("first_obs")
                if fo and pd.Timestamp(fo) in sess.index:
                    sess.loc[pd.Timestamp(fo), c] = True
            return chg, sess, market
        import datetime as dt

        specs = {}
        for c in market.columns:
            m = meta[str(c)]
            try:
                specs[c] = SeriesSpec(
                    id=str(c),
                    description=str(m.get("description", "")),
                    kind=m["kind"],
                    unit=str(m.get("level_unit", m.get("unit", ""))),
                    tz=m["tz"],
                    close=m["close"]
                    if isinstance(m["close"], dt.time)
                    else dt.time.fromisoformat(str(m["close"])),
                    calendar=str(m.get("calendar", "data")),
                )
            except KeyError as exc:
                raise InputFormatError(
                    f"backtest: attrs['newsbt_series'][{c!r}] lacks {exc}; it needs kind, tz and close"
                ) from None
        mk = Market(market, specs)
        return _market_frames(mk)
    raise InputFormatError(
        f"backtest: market must be a backtests.Market (or a levels frame with attrs['newsbt_series']), got "
        f"{type(market).__name__}"
    )


def _normalise_rules(rules: Any, rule: Any) -> list[Rule]:
    if rules is not None and rule is not None:
        raise ConfigError("backtest: give rules= or rule=, not both")
    r = rules if rules is not None else rule
    if r is None:
        return [Rule(name="default")]
    if isinstance(r, Rule):
        return [r]
    if isinstance(r, Mapping):
        return [Rule.from_dict(r)]
    out = [x if isinstance(x, Rule) else Rule.from_dict(x) for x in r]
    if not out:
        raise ConfigError("backtest: rules is empty; pass None for the default rule")
    names = [x.name for x in out]
    if len(set(names)) != len(names):
        out = [dataclasses.replace(x, name=f"{x.name}#{i}") for i, x in enumerate(out)]
    return out


def _per_series_value(x: Any, series: Sequence[str], what: str, *, allow_none: bool) -> np.ndarray:
    if x is None:
        if not allow_none:
            raise ConfigError(f"backtest: {what} must be given")
        return np.full(len(series), np.inf)
    if isinstance(x, Mapping | pd.Series):
        d = dict(x)
        unknown = sorted(set(map(str, d)) - set(series) - {"default"})
        if unknown:
            raise ConfigError(f"backtest: {what} names unknown series {unknown}; market has {list(series)}")
        miss = [s for s in series if s not in d and "default" not in d]
        if miss:
            raise ConfigError(f"backtest: {what} has no value for {miss}; add them or a 'default' key")
        a = np.array([float(d.get(s, d.get("default"))) for s in series])
    else:
        a = np.full(len(series), float(x))
    if np.any(a < 0) or np.any(np.isnan(a)):
        raise ConfigError(f"backtest: {what} must be >= 0 (got {a.tolist()})")
    return a


class _Directions:
    """Lazily computed direction matrices (events x series, NaN = no view) by source."""

    def __init__(self, events: pd.DataFrame, series: list[str], themes: Any) -> None:
        self.ev, self.series, self.themes = events, series, themes
        self._book: Any = None
        self._book_err = ""
        self._cache: dict[str, tuple[pd.DataFrame, pd.DataFrame, np.ndarray, np.ndarray]] = {}

    def book(self) -> Any:
        if self._book is None and not self._book_err:
            if self.themes is not None:
                self._book = self.themes
            else:
                try:
                    import signals

                    self._book = signals.default_themes()
                except Exception as exc:  # noqa: BLE001 - reported per pair as no_direction
                    self._book_err = f"no theme book ({type(exc).__name__}: {exc})"
        return self._book

    def from_book(self) -> tuple[pd.DataFrame, str, np.ndarray]:
        """(book directions, why missing, per-event flag: theme's direction flips with sentiment)."""
        idx = self.ev.index
        out = pd.DataFrame(np.nan, index=idx, columns=self.series)
        flip = np.zeros(len(idx), dtype=bool)
        if "theme" not in self.ev.columns:
            return out, "events have no 'theme' column for the theme book", flip
        b = self.book()
        if b is None:
            return out, self._book_err, flip
        themes = self.ev["theme"]
        uniq = pd.unique(themes.dropna())
        table: dict[tuple[Any, str], float] = {}
        signed: dict[Any, bool] = {}
        ss = getattr(b, "sentiment_sign", None)
        for th in uniq:  # loop over distinct themes x series (small), not events
            signed[th] = bool(ss(th)) if callable(ss) else False
            for s in self.series:
                try:
                    table[(th, s)] = float(b.direction(th, s))
                except Exception:  # noqa: BLE001 - unknown theme: no view
                    table[(th, s)] = 0.0
        for s in self.series:
            out[s] = themes.map({th: table[(th, s)] for th in uniq}).astype(float)
        flip = themes.map(signed).astype("boolean").fillna(False).to_numpy(dtype=bool)
        return out.replace(0.0, np.nan), "theme book has no view", flip

    def get(self, mode: str | int) -> tuple[pd.DataFrame, pd.DataFrame, np.ndarray, np.ndarray]:
        """(direction matrix, detail strings for missing ones, from-book mask, per-event book flip)."""
        key = str(mode)
        if key in self._cache:
            return self._cache[key]
        idx, ev = self.ev.index, self.ev
        out = pd.DataFrame(np.nan, index=idx, columns=self.series)
        detail = pd.DataFrame("", index=idx, columns=self.series, dtype=object)
        from_book = np.zeros(out.shape, dtype=bool)
        flip = np.zeros(len(idx), dtype=bool)
        if mode in (1, -1):
            out[:] = float(mode)
        elif mode == "book":
            out, why, flip = self.from_book()
            detail[:] = why
            from_book[:] = True
        else:
            book_cols = []
            for s in self.series:
                c = f"direction_{s}"
                if c in ev.columns:
                    out[s] = pd.to_numeric(ev[c], errors="coerce")
                    detail[s] = f"{c} is NaN/0 (theme has no view)"
                elif "direction" in ev.columns:
                    out[s] = pd.to_numeric(ev["direction"], errors="coerce")
                    detail[s] = "direction is NaN/0"
                elif mode == "auto":
                    book_cols.append(s)
                else:
                    detail[s] = f"no {c} or direction column"
            if book_cols:
                b, why, flip = self.from_book()
                out[book_cols] = b[book_cols]
                detail[book_cols] = why
                from_book[:, [self.series.index(s) for s in book_cols]] = True
        out = out.where(out != 0)
        self._cache[key] = (out, detail, from_book, flip)
        return self._cache[key]


def _rule_mask(ev: pd.DataFrame, r: Rule) -> tuple[np.ndarray, np.ndarray]:
    """(selected events, detail of why each unselected one failed)."""
    n = len(ev)
    keep = np.ones(n, dtype=bool)
    why = np.full(n, "", dtype=object)

    def need(col: str) -> pd.Series:
        if col not in ev.columns:
            raise InputFormatError(
                f"Rule {r.name!r} filters on {col!r} but the events have no {col!r} column"
            )
        return ev[col]

    def apply(cond: np.ndarray, text: str) -> None:
        fail = keep & ~cond
        why[fail] = text
        keep[fail] = False

    if r.themes is not None:
        apply(need("theme").isin(r.themes).to_numpy(), f"theme not in {list(r.themes)}")
    if (
        r.min_abs_sentiment > 0
        or r.sentiment_range is not None
        or r.sentiment_sign
        or r.size_by == "sentiment"
    ):
        sent = pd.to_numeric(need("sentiment"), errors="coerce").to_numpy(dtype=float)
        apply(~np.isnan(sent), "sentiment is NaN")
        if r.min_abs_sentiment > 0:
            apply(np.abs(np.nan_to_num(sent)) >= r.min_abs_sentiment, f"|sentiment| < {r.min_abs_sentiment}")
        if r.sentiment_range is not None:
            lo, hi = r.sentiment_range
            s0 = np.nan_to_num(sent)
            apply((s0 >= lo) & (s0 <= hi), f"sentiment outside [{lo}, {hi}]")
    if r.min_articles > 1 or r.size_by == "n_articles":
        na = pd.to_numeric(need("n_articles"), errors="coerce").to_numpy(dtype=float)
        apply(np.nan_to_num(na) >= max(r.min_articles, 1), f"n_articles < {max(r.min_articles, 1)}")
    return keep, why


def _rule_sizes(ev: pd.DataFrame, r: Rule) -> np.ndarray:
    size = np.full(len(ev), float(r.size))
    if r.size_by == "sentiment":
        size = size * np.abs(pd.to_numeric(ev["sentiment"], errors="coerce").to_numpy(dtype=float))
    elif r.size_by == "n_articles":
        size = size * pd.to_numeric(ev["n_articles"], errors="coerce").to_numpy(dtype=float)
    if r.max_size is not None:
        size = np.minimum(size, r.max_size)
    return np.nan_to_num(size)


def _skip_frame(parts: list[pd.DataFrame]) -> pd.DataFrame:
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in _SKIP_COLUMNS})
    return pd.concat(parts, ignore_index=True)[_SKIP_COLUMNS]


# --------------------------------------------------------------------------------------------
# backtest
# --------------------------------------------------------------------------------------------


def backtest(
    market: Any,
    events: pd.DataFrame,
    *,
    rules: Rule | Sequence[Rule] | None = None,
    rule: Rule | None = None,
    holding: int = 5,
    cost_bp: float | Mapping[str, float] = 0.5,
    combine: Combine = "sum",
    position_cap: float | Mapping[str, float] | None = None,
    placebo: int = 200,
    seed: int = 0,
    themes: Any = None,
    series: Sequence[str] | None = None,
    stop_loss_bp: float | None = None,
    take_profit_bp: float | None = None,
) -> BacktestResult:
    """Trade news events on market series, net of costs, entering strictly after publication.

    Parameters
    ----------
    market : Market or pandas.DataFrame
        A :class:`backtests.Market`, or a levels frame whose ``attrs["newsbt_series"]`` gives each
        column's ``kind``, ``tz`` and ``close`` (a frame from :func:`backtests.to_changes`, whose
        attrs carry ``first_obs``, is used as changes directly).
    events : pandas.DataFrame
        ``event_id`` (unique) and ``timestamp`` (tz-aware) or ``date``; optional ``series``,
        ``theme``, ``sentiment``, ``n_articles``, ``direction`` or ``direction_<series>``.
    rules : Rule or sequence of Rule, optional
        How events become positions (default: every event on every series in its direction,
        unit size). ``rule=`` is an alias.
    holding : int
        Default holding period, sessions of each series (a rule's ``holding`` overrides it).
    cost_bp : float or mapping of series to float
        Cost per unit of turnover, bp (mapping: per series, with an optional ``"default"``).
    combine : {"sum", "max", "last"}
        How overlapping signals on one series combine.
    position_cap : float or mapping, optional
        Absolute position limit per series, units.
    placebo : int
        Number of random-date placebo runs (0: none).
    seed : int
        Seed of the placebo draws (same seed, same draws).
    themes : ThemeBook-like, optional
        Object with ``direction(theme, series) -> int`` (default :func:`signals.default_themes`),
        used when the events carry no direction column.
    series : sequence of str, optional
        Trade only these series of the market.
    stop_loss_bp, take_profit_bp : float, optional
        Defaults for rules that set none (bp per unit, > 0).

    Returns
    -------
    BacktestResult

    Raises
    ------
    InputFormatError
        Events without ``event_id`` or with duplicate ids; naive timestamps; a bad market.
    ConfigError
        Bad ``holding``, ``combine``, costs, caps or rules.
    """
    holding = _check_holding(holding, "holding")
    if combine not in _COMBINE:
        raise ConfigError(f"backtest: combine={combine!r}; use one of {_COMBINE}")
    if isinstance(placebo, bool) or not isinstance(placebo, int | np.integer) or placebo < 0:
        raise ConfigError(f"backtest: placebo={placebo!r} must be an integer >= 0 (number of draws)")
    rule_list = _normalise_rules(rules, rule)
    if not isinstance(events, pd.DataFrame):
        raise InputFormatError(f"backtest: events must be a DataFrame, got {type(events).__name__}")
    if "event_id" not in events.columns:
        raise InputFormatError(
            "backtest: events have no 'event_id' column: add one (e.g. range(len(events)))"
        )
    dup = events["event_id"][events["event_id"].duplicated()]
    if len(dup):
        raise InputFormatError(
            f"backtest: duplicate event_id values {dup.unique()[:5].tolist()}: ids must be unique"
        )

    chg_df, sess_df, align_target = _market_frames(market)
    all_series = [str(c) for c in chg_df.columns]
    full_series = set(all_series)
    if series is not None:
        series = [series] if isinstance(series, str) else list(series)
        unknown = sorted(set(series) - set(all_series))
        if unknown:
            from signals.errors import UnknownSeriesError

            raise UnknownSeriesError(f"backtest: series {unknown} not in the market (has {all_series})")
        attrs = dict(chg_df.attrs)
        chg_df, sess_df = chg_df[series].copy(), sess_df[series]
        chg_df.attrs = attrs
        all_series = list(series)
    if series is not None:
        align_target = chg_df  # carries attrs["newsbt_series"] (zones, closes, first observations)
    cost = _per_series_value(cost_bp, all_series, "cost_bp", allow_none=False)
    cap = _per_series_value(position_cap, all_series, "position_cap", allow_none=True)
    if np.any(cap == 0):
        raise ConfigError("backtest: position_cap must be > 0 (None: no cap)")
    dates = chg_df.index
    T, S = chg_df.shape
    sidx = {s: i for i, s in enumerate(all_series)}

    ev = events.reset_index(drop=True)
    skipped: list[pd.DataFrame] = []

    # ---- alignment: entry = first close STRICTLY after the event
    acols = [c for c in ("event_id", "timestamp", "date", "tz", "series") if c in ev.columns]
    if len(ev):
        aligned = align_events_strict(ev[acols], align_target)
    else:
        aligned = pd.DataFrame({"event_id": [], "series": [], "day0": [], "reason": []})
    not_sel = (aligned["reason"] == "unknown_series") & aligned["series"].isin(list(full_series))
    aligned.loc[not_sel, "reason"] = "series_not_selected"
    aligned = aligned[["event_id", "series", "day0", "reason"]].reset_index(drop=True)
    row = dates.get_indexer(pd.DatetimeIndex(aligned["day0"]))
    beyond = (aligned["reason"] == "") & (row < 0)
    aligned.loc[beyond, "reason"] = "after_data"
    bad = aligned[aligned["reason"] != ""]
    if len(bad):
        skipped.append(
            bad.assign(
                rule="*",
                detail=np.where(
                    bad["reason"] == "after_data",
                    "no close of the series after the event within the data",
                    "",
                ),
            )
        )
    aligned["row"] = row
    ok = aligned[aligned["reason"] == ""]
    ev_pos = pd.Index(ev["event_id"]).get_indexer(ok["event_id"])
    ok_series = ok["series"].map(sidx).to_numpy(dtype=np.int64) if len(ok) else np.zeros(0, np.int64)
    ok_rows = ok["row"].to_numpy(dtype=np.int64)

    dirs = _Directions(ev, all_series, themes)
    parts: dict[str, list[np.ndarray]] = {
        k: [] for k in ("ev", "s", "row", "d", "q", "h", "sl", "tp", "rule")
    }
    for ri, r in enumerate(rule_list):
        keep, why = _rule_mask(ev, r)
        if (~keep).any():
            skipped.append(
                pd.DataFrame(
                    {
                        "event_id": ev["event_id"][~keep].to_numpy(),
                        "series": "*",
                        "rule": r.name,
                        "reason": "rule_filter",
                        "detail": why[~keep],
                    }
                )
            )
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
        sizes = _rule_sizes(ev, r)
        sel = keep[ev_pos]
        if r.series is not None:
            unknown = sorted(set(r.series) - set(all_series))
            if unknown:
                from signals.errors import UnknownSeriesError

                raise UnknownSeriesError(
                    f"Rule {r.name!r}: series {unknown} not in the market (has {all_series})"
                )
            sel &= np.isin(ok["series"].to_numpy(dtype=object), np.asarray(r.series, dtype=object))
        e, s, rw = ev_pos[sel], ok_series[sel], ok_rows[sel]
        d = np.sign(dvals[e, s]) if e.size else np.zeros(0)
        q = sizes[e]
        nodir = np.isnan(d) | (d == 0)
        zero = ~nodir & (q <= 0)
        for m, reason, det in (
            (nodir, "no_direction", dwhy[e, s] if e.size else []),
            (zero, "zero_size", "size is 0 (scaled by |sentiment| or n_articles)"),
        ):
            if m.any():
                skipped.append(
                    pd.DataFrame(
                        {
                            "event_id": ev["event_id"].to_numpy()[e[m]],
                            "series": np.asarray(all_series, dtype=object)[s[m]],
                            "rule": r.name,
                            "reason": reason,
                            "detail": np.asarray(det, dtype=object)[m] if not isinstance(det, str) else det,
                        }
                    )
                )
        t = ~nodir & ~zero
        n = int(t.sum())
        parts["ev"].append(e[t])
        parts["s"].append(s[t])
        parts["row"].append(rw[t])
        parts["d"].append(d[t])
        parts["q"].append(q[t])
        parts["h"].append(np.full(n, r.holding if r.holding is not None else holding, dtype=np.int64))
        sl = r.stop_loss_bp if r.stop_loss_bp is not None else stop_loss_bp
        tp = r.take_profit_bp if r.take_profit_bp is not None else take_profit_bp
        parts["sl"].append(np.full(n, np.nan if sl is None else float(sl)))
        parts["tp"].append(np.full(n, np.nan if tp is None else float(tp)))
        parts["rule"].append(np.full(n, ri, dtype=np.int64))
    arr = {k: (np.concatenate(v) if v else np.zeros(0)) for k, v in parts.items()}
    for k in ("ev", "s", "row", "h", "rule"):
        arr[k] = arr[k].astype(np.int64)

    C = chg_df.to_numpy(dtype=float)
    M = sess_df.to_numpy(dtype=bool)
    kw = {"sessions": M, "combine": combine, "position_cap": cap, "cost_bp": cost}
    core = simulate(
        C,
        arr["row"],
        arr["s"],
        arr["d"],
        arr["q"],
        arr["h"],
        stop_loss_bp=arr["sl"],
        take_profit_bp=arr["tp"],
        **kw,
    )

    # ---- trades
    v = core.valid
    if (~v).any():
        skipped.append(
            pd.DataFrame(
                {
                    "event_id": ev["event_id"].to_numpy()[arr["ev"][~v]],
                    "series": np.asarray(all_series, dtype=object)[arr["s"][~v]],
                    "rule": np.asarray([r.name for r in rule_list], dtype=object)[arr["rule"][~v]],
                    "reason": "after_data",
                    "detail": "no session of the series at or after day 0",
                }
            )
        )
    ids = ev["event_id"].to_numpy()[arr["ev"][v]]
    exit_reason = np.where(
        core.stopped[v] == -1,
        "stop_loss",
        np.where(core.stopped[v] == 1, "take_profit", np.where(core.closed[v], "holding", "open")),
    )
    trades = pd.DataFrame(
        {
            "event_id": ids,
            "series": np.asarray(all_series, dtype=object)[arr["s"][v]],
            "rule": np.asarray([r.name for r in rule_list], dtype=object)[arr["rule"][v]],
            "theme": ev["theme"].to_numpy()[arr["ev"][v]] if "theme" in ev.columns else None,
            "entry": dates[core.entry_row[v]],
            "exit": dates[core.exit_row[v]],
            "direction": arr["d"][v].astype(int),
            "size": arr["q"][v],
            "holding": arr["h"][v],
            "sessions_held": core.sessions_held[v],
            "exit_reason": exit_reason,
            "gross_bp": core.trade_gross[v],
            "cost_bp": core.trade_cost[v],
            "net_bp": core.trade_gross[v] - core.trade_cost[v],
        }
    )[_TRADE_COLUMNS]
    trades = trades.sort_values(["entry", "series", "event_id"], kind="stable").reset_index(drop=True)

    # ---- frames
    def frame(a: np.ndarray, total: bool = True) -> pd.DataFrame:
        f = pd.DataFrame(a, index=dates, columns=all_series)
        if total:
            f["total"] = a.sum(axis=1)
        return f

    positions = frame(core.positions, total=False)
    gross = frame(core.gross)
    costs = frame(core.costs)
    pnl = gross - costs

    # ---- stats
    stats = _stats_frame(pnl, gross, costs, core, trades, all_series)

    # ---- placebo
    pl_rows, paths = [], {}
    if placebo and arr["ev"].size and T > 1:
        rng = np.random.default_rng(seed)
        uniq, inv = np.unique(arr["ev"], return_inverse=True)
        layout = _session_layout(C, M)
        for k in range(int(placebo)):  # loop over draws, each one vectorised over all trades
            draw = rng.integers(0, T - 1, size=uniq.size)
            daily, pvalid = simulate(
                C,
                draw[inv],
                arr["s"],
                arr["d"],
                arr["q"],
                arr["h"],
                stop_loss_bp=arr["sl"],
                take_profit_bp=arr["tp"],
                _layout=layout,
                _total_only=True,
                **kw,
            )
            ps = perf_stats(daily)
            pl_rows.append(
                {
                    "draw": k,
                    "sharpe": ps["sharpe"],
                    "total_bp": ps["total_bp"],
                    "n_trades": int(pvalid.sum()),
                }
            )
            paths[k] = np.cumsum(daily)
    placebo_df = pd.DataFrame(pl_rows, columns=["draw", "sharpe", "total_bp", "n_trades"])
    placebo_paths = pd.DataFrame(paths, index=dates)
    placebo_paths.columns.name = "draw"
    if len(placebo_df):
        ours = stats.loc["sharpe", "total"]
        ps_ = placebo_df["sharpe"].to_numpy(dtype=float)
        pt_ = placebo_df["total_bp"].to_numpy(dtype=float)
        ours_t = stats.loc["total_bp", "total"]
        extra = {
            "placebo_draws": float(len(placebo_df)),
            "placebo_sharpe_median": float(np.nanmedian(ps_)),
            "placebo_sharpe_pctile": float(np.mean(ps_ < ours)) if np.isfinite(ours) else np.nan,
            "placebo_pvalue": float((1 + np.sum(ps_ >= ours)) / (1 + len(ps_)))
            if np.isfinite(ours)
            else np.nan,
            "placebo_total_pctile": float(np.mean(pt_ < ours_t)),
            "placebo_total_pvalue": float((1 + np.sum(pt_ >= ours_t)) / (1 + len(pt_))),
        }
        for k2, val in extra.items():
            stats.loc[k2] = np.nan
            stats.loc[k2, "total"] = val

    skipped_df = _skip_frame(skipped)
    if len(skipped_df):
        log.info(
            "backtest: %d event/series rows not traded (%s)",
            len(skipped_df),
            ", ".join(f"{k}: {n}" for k, n in skipped_df["reason"].value_counts().items()),
        )
    params = {
        "holding": holding,
        "cost_bp": cost_bp if not isinstance(cost_bp, Mapping) else dict(cost_bp),
        "combine": combine,
        "position_cap": position_cap if not isinstance(position_cap, Mapping) else dict(position_cap),
        "placebo": int(placebo),
        "seed": seed,
        "stop_loss_bp": stop_loss_bp,
        "take_profit_bp": take_profit_bp,
        "rules": [dataclasses.asdict(r) for r in rule_list],
        "annualisation_days": ANNUALISATION,
        "series": all_series,
    }
    result = BacktestResult(
        positions=positions,
        pnl=pnl,
        gross=gross,
        costs=costs,
        trades=trades,
        stats=stats,
        placebo=placebo_df,
        placebo_paths=placebo_paths,
        skipped=skipped_df,
        params=params,
    )
    from backtests import _bt_units  # [honest answers] hook B1: per-kind and risk-unit stats, bets

    return _bt_units.attach(result, chg_df)


def align_events_strict(events: pd.DataFrame, market: Any) -> pd.DataFrame:
    """:func:`backtests.calendar.align_events` with ``strict=True`` (the backtest's entry rule)."""
    from backtests.calendar import align_events

    return align_events(events, market, strict=True)


def _stats_frame(
    pnl: pd.DataFrame,
    gross: pd.DataFrame,
    costs: pd.DataFrame,
    core: CoreResult,
    trades: pd.DataFrame,
    series: list[str],
) -> pd.DataFrame:
    cols = ["total", *series]
    out: dict[str, dict[str, float]] = {}
    pos = core.positions
    turn = core.turnover
    n_days = max(len(pnl), 1)
    for c in cols:
        st = perf_stats(pnl[c].to_numpy())
        tr = trades if c == "total" else trades[trades["series"] == c]
        st.update(_trade_stats(tr["net_bp"].to_numpy(dtype=float)))
        st["gross_total_bp"] = float(gross[c].sum())
        st["cost_total_bp"] = float(costs[c].sum())
        if c == "total":
            tu = float(turn.sum())
            ex = float(np.mean(np.any(pos != 0, axis=1))) if len(pos) else np.nan
        else:
            j = series.index(c)
            tu = float(turn[:, j].sum())
            ex = float(np.mean(pos[:, j] != 0)) if len(pos) else np.nan
        st["turnover"] = tu
        st["ann_turnover"] = tu / n_days * ANNUALISATION
        st["exposure"] = ex
        out[c] = st
    return pd.DataFrame(out)[cols]
