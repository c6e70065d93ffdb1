"""Confounders: scheduled macro releases inside each event-series pair's event window.

A release is placed on a series' calendar like an event (:func:`backtests.align_events`): its
session is the first session of the series whose close is at or after the release instant. Its
``rel_day`` is that session's offset from the pair's day 0, counted in the series' own sessions
(the calendar of the study: ``"observed"`` = the series' own dates, ``"index"`` = every row).
``before_close`` is True when the release fell on the session's own local date (before that
day's close, e.g. US payrolls 08:30 New York before the 15:30 Treasury close), False when it came
after the previous close (an evening, a weekend or a holiday: it is first priced on that session).

Series without zone and close metadata (no ``attrs["newsbt_series"]`` entry) are treated as
closing at the end of the UTC date; their ``series_tz`` says ``UTC (assumed)``.

Policies (``event_study(..., confounders=...)``): ``"flag"`` (default) lists them in
``study.confounders``; ``"exclude"`` also excludes every pair with a release on the relative days
of ``days`` (default the whole event window), reason ``confounded``; ``"ignore"`` builds no table.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from signals.errors import ConfigError

__all__ = [
    "CONFOUNDER_COLUMNS",
    "POLICIES",
    "confounder_table",
    "describe",
    "empty_table",
    "parse_policy",
    "series_sessions",
]

POLICIES = ("flag", "exclude", "ignore")
CONFOUNDER_COLUMNS = [
    "event_id",
    "series",
    "release",
    "name",
    "release_time",
    "local_time",
    "series_tz",
    "session",
    "rel_day",
    "before_close",
    "time_exact",
]
_EOD = dt.time(23, 59, 59, 999999)
_DAY_NS = 86_400 * 10**9


def parse_policy(confounders: Any, window: tuple[int, int]) -> tuple[str, tuple[int, int]]:
    """``"flag"|"exclude"|"ignore"`` or ``{"policy": ..., "days": (d0, d1)}`` -> (policy, days)."""
    days = tuple(window)
    if isinstance(confounders, Mapping):
        policy = confounders.get("policy", "flag")
        days = tuple(confounders.get("days", days))
    else:
        policy = confounders
    if policy not in POLICIES:
        raise ConfigError(f"confounders={confounders!r}: choose 'flag', 'exclude' or 'ignore'")
    if len(days) != 2 or days[0] > days[1] or days[0] < window[0] or days[1] > window[1]:
        raise ConfigError(f"confounders days={days}: need (d0, d1) with d0 <= d1 inside window={window}")
    return policy, (int(days[0]), int(days[1]))


def _meta(meta: Any, sid: str) -> tuple[str, dt.time, str | None, bool]:
    m = meta.get(sid) if isinstance(meta, Mapping) else None
    if not isinstance(m, Mapping) or "tz" not in m or "close" not in m:
        return "UTC", _EOD, None, False
    close = m["close"] if isinstance(m["close"], dt.time) else dt.time.fromisoformat(str(m["close"]))
    return str(m["tz"]), close, m.get("first_obs"), True


def series_sessions(
    changes: pd.DataFrame, sid: str, calendar: str, cache: dict | None = None
) -> tuple[pd.DatetimeIndex, np.ndarray, str, bool]:
    """Sessions of series ``sid`` (naive dates), their close instants (UTC ns int64), zone, known.

    ``calendar="observed"``: the dates with a value (plus the first observation, whose change is
    NaN); ``"index"``: every row of ``changes``. ``cache`` (a dict shared across calls) keeps the
    close instants of the whole index per (zone, close), so many series cost one conversion.
    """
    from backtests.calendar import session_closes

    cache = {} if cache is None else cache
    if "idx" not in cache:  # once per frame: no per-column pandas access (each copies the attrs)
        idx = pd.DatetimeIndex(changes.index)
        cache["idx"] = (idx.tz_localize(None) if idx.tz is not None else idx).normalize().as_unit("ns")
        cache["meta"] = changes.attrs.get("newsbt_series") if hasattr(changes, "attrs") else None
        cache["col"] = {str(c): j for j, c in enumerate(changes.columns)}
        cache["valid"] = None
    tz, close, first_obs, known = _meta(cache["meta"], sid)
    idx = cache["idx"]
    if (tz, close) not in cache:
        cache[(tz, close)] = (
            session_closes(idx, close, tz).tz_localize(None).as_unit("ns").to_numpy().view(np.int64)
        )
    all_closes = cache[(tz, close)]
    if calendar != "observed":
        return idx, all_closes, tz, known
    if cache["valid"] is None:
        cache["valid"] = ~np.isnan(changes.to_numpy(dtype=float, na_value=np.nan))
    mask = cache["valid"][:, cache["col"][sid]]
    if first_obs:  # a changes frame has NaN on the first observation, which is still a session
        j = idx.searchsorted(pd.Timestamp(first_obs))
        if j < len(idx) and idx[j] == pd.Timestamp(first_obs):
            mask = mask.copy()
            mask[j] = True
    return idx[mask], all_closes[mask], tz, known


def confounder_table(
    pairs: pd.DataFrame,
    changes: pd.DataFrame,
    releases: pd.DataFrame,
    window: tuple[int, int],
    calendar: str = "observed",
) -> pd.DataFrame:
    """One row per pair and release inside the pair's event window.

    Parameters
    ----------
    pairs : DataFrame
        ``event_id``, ``series``, ``day0`` (naive session date), e.g. ``study.pairs``.
    changes : DataFrame
        The study's changes (dates x series, ``attrs["newsbt_series"]`` for zones and closes).
    releases : DataFrame
        ``release``, ``name``, ``release_time`` (UTC), ``time_exact`` (:func:`backtests.macro_calendar`).
    window : (int, int)
        Event window, relative sessions, inclusive.
    calendar : {"observed", "index"}
        The study's calendar.

    Returns
    -------
    DataFrame
        :data:`CONFOUNDER_COLUMNS`: ``release_time`` (UTC), ``local_time`` (naive wall time in the
        series' zone), ``session`` (the series' session the release is first priced on),
        ``rel_day`` (that session minus day 0, in the series' sessions), ``before_close``.
        Sorted by the pairs' order, then release time.
    """
    a, b = window
    rt = pd.DatetimeIndex(releases["release_time"])
    if rt.tz is None:
        rt = rt.tz_localize("UTC")
    rt_ns = rt.tz_convert("UTC").tz_localize(None).as_unit("ns").to_numpy().view(np.int64)
    order = np.argsort(rt_ns, kind="stable")
    rel = releases.iloc[order].reset_index(drop=True)
    rt_ns = rt_ns[order]
    parts = []
    pair_pos = np.arange(len(pairs))
    codes, uniq = pd.factorize(pairs["series"].astype(str))
    by = np.argsort(codes, kind="stable")
    bounds = np.searchsorted(codes[by], np.arange(len(uniq) + 1))
    d0_all = pd.DatetimeIndex(pairs["day0"]).as_unit("ns").to_numpy().view(np.int64)
    cache: dict = {}
    have = {str(c) for c in changes.columns}
    for k, sid in enumerate(uniq):
        m = by[bounds[k] : bounds[k + 1]]  # this series' pairs, in their order
        if sid not in have:
            continue
        sess, closes, tz, known = series_sessions(changes, sid, calendar, cache)
        if len(sess) == 0:
            continue
        r_sess = np.searchsorted(closes, rt_ns, side="left")  # first close at or after the release
        d0 = d0_all[m]
        p_sess = np.searchsorted(sess.to_numpy().view(np.int64), d0)
        lo = np.searchsorted(r_sess, p_sess + a, side="left")
        hi = np.searchsorted(r_sess, p_sess + b, side="right")
        cnt = hi - lo
        if cnt.sum() == 0:
            continue
        pi = np.repeat(pair_pos[m], cnt)
        ri = np.repeat(lo, cnt) + np.arange(cnt.sum()) - np.repeat(np.cumsum(cnt) - cnt, cnt)
        ps = np.repeat(p_sess, cnt)
        if ("local", tz) not in cache:  # wall time of every release in this zone, once per zone
            wall = pd.DatetimeIndex(rt_ns).tz_localize("UTC").tz_convert(tz).tz_localize(None)
            cache[("local", tz)] = wall.as_unit("ns").to_numpy().view(np.int64)
        local = cache[("local", tz)][ri]
        session = sess.to_numpy().view(np.int64)[r_sess[ri]]
        parts.append(
            {
                "_pair": pi,
                "_rel": ri,
                "series": np.full(len(pi), sid, dtype=object),
                "local_time": local.view("datetime64[ns]"),
                "series_tz": np.full(len(pi), tz if known else "UTC (assumed)", dtype=object),
                "session": session.view("datetime64[ns]"),
                "rel_day": (r_sess[ri] - ps).astype(np.int64),
                "before_close": (local - local % _DAY_NS) == session,
            }
        )
    if not parts:
        return empty_table()
    cols = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    order = np.lexsort((rt_ns[cols["_rel"]], cols["_pair"]))
    cols = {k: v[order] for k, v in cols.items()}
    pi, ri = cols.pop("_pair"), cols.pop("_rel")
    out = pd.DataFrame(
        {
            "event_id": pairs["event_id"].to_numpy()[pi],
            "release": rel["release"].to_numpy()[ri],
            "name": rel["name"].to_numpy()[ri],
            "release_time": pd.DatetimeIndex(rt_ns[ri]).tz_localize("UTC"),
            "time_exact": rel["time_exact"].to_numpy(dtype=bool)[ri],
            **cols,
        }
    )
    return out[CONFOUNDER_COLUMNS]


def empty_table() -> pd.DataFrame:
    """A confounder table without rows (``confounders="ignore"``, or no release in any window)."""
    out = pd.DataFrame({c: pd.Series(dtype=object) for c in CONFOUNDER_COLUMNS})
    out["release_time"] = pd.Series(dtype="datetime64[ns, UTC]")
    out["rel_day"] = pd.Series(dtype=np.int64)
    return out


def describe(row: Mapping[str, Any]) -> str:
    """One confounder in words: "US payrolls 08:30 America/New_York on day 0, before the close"."""
    t = pd.Timestamp(row["release_time"])
    when = "on" if row["rel_day"] == 0 else "priced on"
    side = "before the close" if row["before_close"] else "after the previous close"
    exact = "" if row.get("time_exact", True) else " (time assumed)"
    day = f"day {int(row['rel_day']):+d}" if row["rel_day"] else "day 0"
    return f"{row['name']} {t:%Y-%m-%d %H:%M} UTC{exact} {when} {day}, {side}"
