"""Data gaps: day 0 and event windows never jump over missing data silently.

A **gap** is a run of sessions of a series' trading calendar (SIFMA, FRB, XTKS, ... see
:mod:`backtests.calendar`) on which the series has no observation. Rules:

* **Day 0** is the first session of the series' *calendar* at or after the event. The pair is kept
  only when that session has an observation, or the next observation follows within
  :data:`DAY0_TOLERANCE` missing sessions (default 0: day 0 must have data). Otherwise it is
  excluded with reason ``day0_in_data_gap`` and the gap's dates (``study.excluded.detail``). An
  event in a ten-year hole therefore no longer gets day 0 ten years later.
* **Every relative day** of the event window and of the estimation window: the change on an
  observation spans the sessions since the previous observation; when more than
  :data:`WINDOW_TOLERANCE` sessions are missing between two consecutive observations inside a
  window, the pair is excluded (``window_in_data_gap`` / ``estimation_in_data_gap``) with the
  dates of the jump. This matters most for ``calendar="observed"``, where relative days count
  observations and would otherwise step over the gap as if it were one day.
* Where ``exchange_calendars`` does not cover the date (it knows XTKS from 1997 only), the
  calendar falls back to weekdays, which include local holidays: the tolerance there is at least
  :data:`FALLBACK_TOLERANCE` sessions.
* A frame without a calendar (no ``attrs["newsbt_series"]``, or calendar ``"data"``) has its
  observed dates as sessions: no gap rule applies (nothing to measure against).

Everything here is vectorised over pairs (``numpy.searchsorted`` on sorted session arrays and
prefix sums of the gap flags); the only loop is over series.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

__all__ = [
    "DAY0_TOLERANCE",
    "FALLBACK_TOLERANCE",
    "WINDOW_TOLERANCE",
    "day0_gaps",
    "missing_between",
    "study_gap_rule",
    "window_gaps",
]

#: Missing calendar sessions allowed between an event's calendar day 0 and the next observation.
DAY0_TOLERANCE = 0
#: Missing calendar sessions allowed between two consecutive observations inside a window.
WINDOW_TOLERANCE = 5
#: Minimum tolerance where the calendar is only a weekday fallback (holidays unknown): the longest
#: regular weekday closure of a market we serve (Tokyo's New Year, 31 December to 3 January).
FALLBACK_TOLERANCE = 4

DAY0_IN_DATA_GAP = "day0_in_data_gap"
WINDOW_IN_DATA_GAP = "window_in_data_gap"
ESTIMATION_IN_DATA_GAP = "estimation_in_data_gap"


def missing_between(obs_ns: np.ndarray, sessions_ns: np.ndarray) -> np.ndarray:
    """Calendar sessions strictly between each observation and the previous one.

    Parameters
    ----------
    obs_ns : ndarray of int64, shape (n,)
        Observation dates (ns since epoch, midnight), ascending.
    sessions_ns : ndarray of int64
        Calendar sessions (ns), ascending.

    Returns
    -------
    ndarray of int64, shape (n,)
        Element k: sessions s with ``obs[k-1] < s < obs[k]`` (0 for k = 0).
    """
    obs_ns = np.asarray(obs_ns, dtype=np.int64)
    out = np.zeros(len(obs_ns), dtype=np.int64)
    if len(obs_ns) > 1:
        hi = np.searchsorted(sessions_ns, obs_ns[1:], side="left")
        lo = np.searchsorted(sessions_ns, obs_ns[:-1], side="right")
        out[1:] = np.maximum(hi - lo, 0)
    return out


def day0_gaps(
    event_ns: np.ndarray, day0_ns: np.ndarray, sessions_ns: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Missing sessions between each event date and its day 0 (the next observation).

    Parameters
    ----------
    event_ns, day0_ns : ndarray of int64, shape (N,)
        Event dates and the observation chosen as day 0 (ns, midnight); ``day0 >= event``.
    sessions_ns : ndarray of int64
        Calendar sessions (ns), ascending.

    Returns
    -------
    n_missing : ndarray of int64
        Sessions s with ``event <= s < day0``: calendar days with no data skipped to reach day 0.
    first, last : ndarray of datetime64[ns]
        First and last missing session (NaT where none).
    """
    sessions_ns = np.asarray(sessions_ns, dtype=np.int64)
    i0 = np.searchsorted(sessions_ns, event_ns, side="left")
    i1 = np.searchsorted(sessions_ns, day0_ns, side="left")
    n = np.maximum(i1 - i0, 0).astype(np.int64)
    nat = np.datetime64("NaT", "ns")
    first = np.full(len(n), nat, dtype="datetime64[ns]")
    last = np.full(len(n), nat, dtype="datetime64[ns]")
    has = n > 0
    if has.any():
        first[has] = sessions_ns[i0[has]].astype("datetime64[ns]")
        last[has] = sessions_ns[i1[has] - 1].astype("datetime64[ns]")
    return n, first, last


def window_gaps(
    gap_counts: np.ndarray, pos: np.ndarray, lo: int, hi: int, tolerance: int | np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Whether the window ``[pos + lo, pos + hi]`` contains a jump of more than ``tolerance`` sessions.

    Parameters
    ----------
    gap_counts : ndarray of int64, shape (n,)
        :func:`missing_between` of one series' observations (the rows the positions count).
    pos : ndarray of int64, shape (N,)
        Day-0 position of each pair in those observations.
    lo, hi : int
        Relative days (inclusive). The change on day ``lo`` spans from the observation before.
    tolerance : int or ndarray of int, shape (n,)
        Per observation when an array.

    Returns
    -------
    bad : ndarray of bool, shape (N,)
    first : ndarray of int64, shape (N,)
        Observation index of the first jump in the window (-1 where none).
    """
    n = len(gap_counts)
    flags = np.asarray(gap_counts) > tolerance
    csum = np.concatenate([[0], np.cumsum(flags)])
    a = np.clip(pos + lo, 0, n)
    b = np.clip(pos + hi + 1, 0, n)
    bad = (csum[b] - csum[a]) > 0
    first = np.full(len(pos), -1, dtype=np.int64)
    if bad.any():
        where = np.flatnonzero(flags)
        first[bad] = where[np.searchsorted(where, a[bad], side="left")]
    return bad, first


def _d(x: np.datetime64 | int) -> str:
    return str(np.datetime64(int(x), "ns").astype("datetime64[D]"))


def gap_text(
    series: str, calendar: str, sessions_ns: np.ndarray, obs_ns: np.ndarray, k: int, event_ns: int
) -> str:
    """Description of the gap before observation ``k`` for an event dated ``event_ns``."""
    i0 = np.searchsorted(sessions_ns, obs_ns[k - 1], side="right") if k > 0 else 0
    i1 = np.searchsorted(sessions_ns, obs_ns[k], side="left")
    return (
        f"no {series} data from {_d(sessions_ns[i0])} to {_d(sessions_ns[i1 - 1])} ({i1 - i0} {calendar} "
        f"sessions missing); the event ({_d(event_ns)}) falls in that gap, the next observation is "
        f"{_d(obs_ns[k])}"
    )


def study_gap_rule(
    changes: pd.DataFrame,
    idx: pd.DatetimeIndex,
    valid: np.ndarray,
    s_arr: np.ndarray,
    pos: np.ndarray,
    date_ns: np.ndarray,
    open_: np.ndarray,
    reason: np.ndarray,
    detail: np.ndarray,
    *,
    window: tuple[int, int],
    estimation: tuple[int, int],
    day0_tolerance: int = DAY0_TOLERANCE,
    window_tolerance: int = WINDOW_TOLERANCE,
) -> np.ndarray:
    """Apply the gap rules to the open pairs of an event study (writes ``reason``/``detail``).

    Parameters
    ----------
    changes : DataFrame
        The study's changes; ``attrs["newsbt_series"][series]["calendar"]`` names each calendar.
    idx : DatetimeIndex
        Naive dates of ``changes``' rows.
    valid : ndarray of bool, shape (T, S)
        Cells that count as observations (non-missing under ``calendar="observed"``, all rows
        under ``"index"``).
    s_arr, pos, date_ns : ndarray, shape (N,)
        Series column, day-0 position (in that series' observations) and event date (ns).
    open_ : ndarray of bool, shape (N,)
        Pairs still in the study.
    reason, detail : ndarray of object, shape (N,)
        Written in place for the pairs excluded here.
    window, estimation : (int, int)
    day0_tolerance, window_tolerance : int
        Missing sessions allowed (see the module notes).

    Returns
    -------
    ndarray of bool
        ``open_`` without the pairs excluded here.
    """
    from backtests.calendar import calendar_start, trading_days

    meta = changes.attrs.get("newsbt_series")
    if not isinstance(meta, Mapping) or not open_.any():
        return open_
    open_ = open_.copy()
    dates_ns = idx.as_unit("ns").asi8
    for j, col in enumerate(changes.columns):
        m = meta.get(str(col))
        cal = str(m.get("calendar", "data")) if isinstance(m, Mapping) else "data"
        sel = np.flatnonzero(open_ & (s_arr == j))
        if cal.upper() == "DATA" or sel.size == 0:
            continue
        obs_ns = dates_ns[np.asarray(valid[:, j])]
        if obs_ns.size == 0:
            continue
        lo_date = min(int(obs_ns[0]), int(date_ns[sel].min()))
        sess = trading_days(cal, pd.Timestamp(lo_date), pd.Timestamp(int(obs_ns[-1]))).as_unit("ns").asi8
        exact_from = calendar_start(cal)
        exact_ns = (
            np.iinfo(np.int64).min if exact_from is None else pd.Timestamp(exact_from).as_unit("ns").value
        )
        p = pos[sel]
        # day 0: calendar sessions skipped between the event date and the observation used
        n_miss, _, _ = day0_gaps(date_ns[sel], obs_ns[p], sess)
        tol = np.where(date_ns[sel] >= exact_ns, day0_tolerance, max(day0_tolerance, FALLBACK_TOLERANCE))
        bad0 = n_miss > tol
        rows = sel[bad0]
        reason[rows] = DAY0_IN_DATA_GAP
        detail[rows] = [
            gap_text(str(col), cal, sess, obs_ns, int(k), int(e)) for k, e in zip(p[bad0], date_ns[rows])
        ]
        open_[rows] = False
        # every relative day of both windows
        gaps = missing_between(obs_ns, sess)
        wtol = np.where(obs_ns >= exact_ns, window_tolerance, max(window_tolerance, FALLBACK_TOLERANCE))
        keep = ~bad0
        for (lo, hi), code in ((window, WINDOW_IN_DATA_GAP), (estimation, ESTIMATION_IN_DATA_GAP)):
            rest = sel[keep]
            bad, k = window_gaps(gaps, pos[rest], lo, hi, wtol)
            rows = rest[bad]
            reason[rows] = code
            detail[rows] = [
                f"{col} data jump from {_d(obs_ns[i - 1])} to {_d(obs_ns[i])} ({gaps[i]} {cal} sessions "
                f"missing) inside the {'event' if code == WINDOW_IN_DATA_GAP else 'estimation'} window"
                for i in k[bad]
            ]
            open_[rows] = False
            keep[np.isin(sel, rows)] = False
    return open_
