"""The backtest's core: :func:`simulate` (positions and P&L from per-trade arrays) and performance
statistics. Re-exported by :mod:`backtests.strategy`; see its docstring for the definitions.
"""

from __future__ import annotations

import logging
import math
from typing import Any, Literal, NamedTuple

import numpy as np

from signals.errors import ConfigError, InputFormatError

log = logging.getLogger(__name__)

ANNUALISATION = 252
"""Trading days per year used to annualise returns, volatility, Sharpe and Sortino."""

Combine = Literal["sum", "max", "last"]
_COMBINE = ("sum", "max", "last")


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


def _exits(k0, k1, h, d, si, cum, last, stop, take, valid) -> np.ndarray:
    """Stop-loss / take-profit exits: moves ``k1`` (exit session, in place) to the first session
    where the trade's cumulative P&L per unit (bp) reaches ``-stop`` or ``take``; returns -1
    (stopped), 1 (profit taken) or 0 per trade."""
    N = len(k0)
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
    return stopped


def _session_positions(S, K, nsess, si, k0, k1, q, valid, closed, last, combine, cap) -> np.ndarray:
    """Positions after the close of each session (S x K + 1), trades combined by ``combine``."""
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

    return pos


def _to_rows(T, S, N, K, sessnum, ss, tt, kk, R, cum, pos, pnl_s, turn_s, cost, si, k0, k1, q, valid, closed,
             held, stopped) -> CoreResult:  # fmt: skip
    """Session-space positions and P&L back to date rows; per-trade entry/exit rows and P&L."""
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


def _trade_args(entry_rows, series_idx, directions, sizes, holding, S, position_cap, cost_bp, stop_loss_bp,
                take_profit_bp):  # fmt: skip
    """The per-trade arguments of :func:`simulate` as checked arrays (InputFormatError /
    ConfigError naming the argument), per-series caps and costs."""
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
    cap = _per_series(position_cap, S, "position_cap", np.inf)
    cost = _per_series(cost_bp, S, "cost_bp", 0.0)
    stop = _as_col(np.nan if stop_loss_bp is None else stop_loss_bp, N, float, "stop_loss_bp")
    take = _as_col(np.nan if take_profit_bp is None else take_profit_bp, N, float, "take_profit_bp")

    return er, si, d, sz, h, cap, cost, stop, take


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
    _weights: np.ndarray | None = None,
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
        (Private ``_total_only``: (book's daily net P&L = sum of series' net x ``_weights``, valid).)
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
    trade_args = (entry_rows, series_idx, directions, sizes, holding, S, position_cap, cost_bp, stop_loss_bp, take_profit_bp)  # fmt: skip
    er, si, d, sz, h, cap, cost, stop, take = _trade_args(*trade_args)
    N = er.size
    q = d * sz  # signed units

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
    stopped = _exits(k0, k1, h, d, si, cum, last, stop, take, valid)
    closed = valid & ((k0 + h <= last) | (stopped != 0))
    k1 = np.where(valid, k1, k0)
    held = np.where(valid, k1 - k0, 0)

    # Positions in session space: pos[s, k] = position after the close of session k.
    pos = _session_positions(S, K, nsess, si, k0, k1, q, valid, closed, last, combine, cap)

    prev = np.concatenate([np.zeros((S, 1)), pos[:, :-1]], axis=1)
    pnl_s = prev * chg
    turn_s = np.abs(pos - prev)

    if _total_only:  # placebo: only the book's daily net P&L (T,) is needed
        net_s = pnl_s - turn_s * cost[:, None]
        net_s = net_s if _weights is None else net_s * np.nan_to_num(np.asarray(_weights, float))[:, None]
        total = np.bincount(tt, weights=net_s[ss, kk], minlength=T) if T else np.zeros(0)
        return total, valid  # type: ignore[return-value]

    return _to_rows(T, S, N, K, sessnum, ss, tt, kk, R, cum, pos, pnl_s, turn_s, cost, si, k0, k1, q, valid, closed, held, stopped)  # fmt: skip


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
