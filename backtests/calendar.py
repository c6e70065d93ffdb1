"""Trading calendars, close cut-offs and day-0 alignment of events to market series.

Which calendar is the truth
---------------------------
* A series' **sessions** are the sessions of its calendar (``SeriesSpec.calendar``) plus the dates
  on which it has a value (the data may know more: Saturdays in Tokyo up to 1989, or an exchange
  calendar's blind spots). Day 0 is the first session whose close is at or after the event. When
  that session has no value, the event falls in a **data gap**: it is moved to the next value only
  if at most ``max_gap`` sessions are missing (default 0, :mod:`backtests.gaps`), else it is
  ``day0_in_data_gap`` with the gap's dates. So an event in a ten-year hole of a file no longer
  gets day 0 after the hole.
* **Beyond the last observation** (an event newer than the data) the calendar alone is used, for up
  to :data:`EXTEND_DAYS` calendar days; an event later than that is ``after_data``.
* Calendars: ``SIFMA`` (US bond market, for US Treasuries; holiday rules below, early closes in
  :func:`sifma_early_closes`), ``FRB`` (Federal Reserve days, for the H.10 noon FX rates:
  :func:`fed_holidays`), ``exchange_calendars`` codes for exchanges (``XNYS`` for equities,
  ``XTKS`` for JGBs), ``FX`` = Monday to Friday, ``data`` = no calendar (observed dates only).
  ``SIFMA`` and ``FRB`` are ``exchange_calendars`` calendars too (:func:`register_bond_calendars`).
  An unknown code is an error naming the series (:func:`check_calendar`), never a silent fallback.
  ``SIFMA``: New Year's Day, Martin Luther King Jr. Day, Presidents Day, Good Friday (open, with an
  early close, when the employment report falls on it: a Good Friday in the first week of the
  month, from 1996), Memorial Day, Juneteenth (from 2022), Independence Day, Labor Day, Columbus
  Day, Veterans Day, Thanksgiving and Christmas; a Sunday holiday moves to Monday, a Saturday one
  to Friday except New Year's Day and Veterans Day (then no closure); plus the one-off closures
  in :data:`SIFMA_SPECIAL_CLOSES`. Checked against every H.15 Treasury session 1994-2026.
  ``exchange_calendars`` only covers a limited past (XTKS from 1997); before a calendar's first
  session weekdays are used (documented, logged; the gap rule is then more tolerant).

Close times
-----------
Each series is aligned with the close of the *source actually used* (``Market.close_time``, or the
``attrs["newsbt_series"]`` of a levels/changes frame): H.15 Treasury yields 15:30 New York, H.10
USD/JPY 12:00 New York, MOF JGB yields 15:00 Tokyo. Close instants are computed in the market's
own zone, so they follow daylight saving time (New York's 15:30 is 20:30 UTC in winter and 19:30
UTC in summer; Tokyo has no DST). On an **early close** of the series' calendar (SIFMA: 14:00 New
York the day before Independence Day, Black Friday, Christmas Eve, ...; 12:00 on a jobs-report Good
Friday; exchanges: ``exchange_calendars``' early closes) the close is the earlier of the series'
close and the early close (:func:`early_closes`, :func:`session_closes`).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from backtests._bond_calendars import (
    FRB_SPECIAL_CLOSES,
    SIFMA_SPECIAL_CLOSES,
    fed_holidays,
    register_bond_calendars,
    sifma_early_closes,
    sifma_holidays,
)
from signals.errors import ConfigError, InputFormatError

log = logging.getLogger(__name__)

DAY0_IN_DATA_GAP = "day0_in_data_gap"

__all__ = [
    "EXTEND_DAYS",
    "FRB_SPECIAL_CLOSES",
    "SIFMA_SPECIAL_CLOSES",
    "CalendarError",
    "align_events",
    "calendar_start",
    "check_calendar",
    "early_closes",
    "fed_holidays",
    "register_bond_calendars",
    "session_closes",
    "sifma_early_closes",
    "sifma_holidays",
    "trading_days",
]

#: How far (calendar days) sessions are extended with the exchange calendar past the last observation.
EXTEND_DAYS = 14

class CalendarError(ConfigError):
    """A calendar code names no known calendar (the message names the series and the fix)."""


#: Calendars known by rule in this module (besides every ``exchange_calendars`` code).
RULE_CALENDARS = ("SIFMA", "FRB", "FX")

_END_OF_DAY = pd.Timedelta(days=1) - pd.Timedelta(nanoseconds=1)


@functools.lru_cache(maxsize=16)
def _xcal(code: str):
    """The exchange_calendars calendar ``code`` over the widest range it supports (cached)."""
    import exchange_calendars as xc

    with warnings.catch_warnings():
        # exchange_calendars 4.x trips pandas 3 deprecation warnings while building a calendar
        warnings.simplefilter("ignore", FutureWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        for start in ("1990-01-01", "1997-01-01", None):
            try:
                return xc.get_calendar(code, start=start) if start else xc.get_calendar(code)
            except ValueError:
                continue
        return xc.get_calendar(code)


def check_calendar(code: str, series: str | None = None) -> str:
    """Return ``code`` upper-cased if it names a known calendar, else raise :class:`CalendarError`.

    Known: ``SIFMA``, ``FRB``, ``FX`` and every ``exchange_calendars`` code (``XNYS``, ``XTKS``, ...);
    ``data`` (no calendar: observed dates only) is accepted too.
    """
    import exchange_calendars as xc

    c = str(code).upper()
    if c in (*RULE_CALENDARS, "DATA"):
        return c
    register_bond_calendars()
    if c in xc.get_calendar_names(include_aliases=True):
        return c
    who = f"series {series!r}: " if series else ""
    raise CalendarError(
        f"{who}unknown trading calendar {code!r}; use SIFMA (US bond market), FRB (Federal Reserve "
        "days), FX (Monday-Friday) or an exchange_calendars code such as XNYS or XTKS "
        "(register_series(..., calendar=...) or the 'calendar' key of the series TOML)"
    )


def calendar_start(calendar: str) -> pd.Timestamp | None:
    """First date from which ``calendar`` is exact (None: exact at every date, e.g. by rule).

    Before it :func:`trading_days` uses weekdays (``exchange_calendars`` covers a limited past).
    """
    c = check_calendar(calendar)
    if c in (*RULE_CALENDARS, "DATA"):
        return None
    return pd.Timestamp(_xcal(c).first_session).tz_localize(None)


def early_closes(calendar: str, start: Any, end: Any) -> pd.Series:
    """Early-close times (local) of ``calendar`` between ``start`` and ``end`` (inclusive).

    Returns
    -------
    pandas.Series
        Index: naive session dates with an early close; values: :class:`datetime.time`. Empty for
        ``FX``, ``FRB``, ``data`` and calendars without early closes.
    """
    c = check_calendar(calendar)
    s, e = pd.Timestamp(start).normalize(), pd.Timestamp(end).normalize()
    empty = pd.Series([], index=pd.DatetimeIndex([], dtype="datetime64[ns]"), dtype=object)
    if c in ("FX", "FRB", "DATA") or e < s:
        return empty
    if c == "SIFMA":
        out = sifma_early_closes(s.year, e.year)
        return out[(out.index >= s) & (out.index <= e)]
    cal = _xcal(c)
    ec = cal.early_closes
    ec = ec[(ec >= max(s, cal.first_session)) & (ec <= min(e, cal.last_session))]
    if not len(ec):
        return empty
    closes = cal.schedule.loc[ec, "close"].dt.tz_convert(cal.tz)
    idx = pd.DatetimeIndex(ec).tz_localize(None).as_unit("ns")
    return pd.Series([t.time() for t in closes], index=idx, dtype=object)


def trading_days(calendar: str, start: Any, end: Any) -> pd.DatetimeIndex:
    """Trading dates of ``calendar`` between ``start`` and ``end`` (both inclusive).

    Parameters
    ----------
    calendar : str
        ``"SIFMA"`` (US bond market: weekdays without :func:`sifma_holidays`), ``"FRB"``
        (weekdays without :func:`fed_holidays`), an ``exchange_calendars`` code (``"XNYS"``,
        ``"XTKS"``, ...), ``"FX"`` (Monday to Friday, 24/5 market) or ``"data"`` (no calendar:
        returns weekdays, the best guess).
    start, end : date-like
        Local calendar dates.

    Returns
    -------
    pandas.DatetimeIndex
        Naive local dates (midnight). Weekdays (logged) where ``exchange_calendars`` does not
        cover the range (see :func:`calendar_start`).

    Raises
    ------
    CalendarError
        Unknown calendar code.
    """
    code = check_calendar(calendar)
    s = pd.Timestamp(start).normalize()
    e = pd.Timestamp(end).normalize()
    if e < s:
        return pd.DatetimeIndex([], dtype="datetime64[ns]")
    days = pd.bdate_range(s, e).as_unit("ns")
    if code in ("FX", "DATA"):
        return days
    if code == "SIFMA":
        return days.difference(sifma_holidays(s.year, e.year))
    if code == "FRB":
        return days.difference(fed_holidays(s.year, e.year))
    cal = _xcal(code)
    lo, hi = cal.first_session.tz_localize(None), cal.last_session.tz_localize(None)
    if s >= lo and e <= hi:
        return pd.DatetimeIndex(cal.sessions_in_range(s, e)).tz_localize(None).as_unit("ns")
    log.info("calendar %s covers %s..%s only; weekdays used outside", calendar, lo.date(), hi.date())
    inner = cal.sessions_in_range(max(s, lo), min(e, hi)) if max(s, lo) <= min(e, hi) else []
    inner = pd.DatetimeIndex(inner).tz_localize(None).as_unit("ns") if len(inner) else days[:0]
    return days[(days < lo) | (days > hi)].union(inner)


def session_closes(
    dates: pd.DatetimeIndex, close: dt.time, tz: str, early: pd.Series | None = None
) -> pd.DatetimeIndex:
    """UTC instants of the daily close on each local date (DST-aware).

    Parameters
    ----------
    dates : pandas.DatetimeIndex
        Naive local trading dates.
    close : datetime.time
        Local close time of the series (its fixing time).
    tz : str
        IANA zone of the market.
    early : pandas.Series, optional
        Early closes of the market (:func:`early_closes`: date -> local time): on those dates the
        close is the earlier of ``close`` and the early close.

    Returns
    -------
    pandas.DatetimeIndex
        tz-aware (UTC), nanosecond unit.
    """
    dates = pd.DatetimeIndex(dates).normalize()
    off = pd.Timedelta(hours=close.hour, minutes=close.minute, seconds=close.second)
    offs = np.full(len(dates), off.value, dtype=np.int64)
    if early is not None and len(early):
        e_off = np.array([pd.Timedelta(hours=t.hour, minutes=t.minute).value for t in early.to_numpy()])
        pos = pd.DatetimeIndex(early.index).as_unit("ns").get_indexer(dates.as_unit("ns"))
        hit = pos >= 0
        offs[hit] = np.minimum(offs[hit], e_off[pos[hit]])
    local = dates.as_unit("ns") + pd.to_timedelta(offs, unit="ns")
    return local.tz_localize(tz, ambiguous="NaT", nonexistent="shift_forward").tz_convert("UTC").as_unit("ns")


def _parse_close(v: Any) -> dt.time:
    if isinstance(v, dt.time):
        return v
    return dt.time.fromisoformat(str(v))


def _series_info(market: Any) -> tuple[dict[str, dict[str, Any]], pd.DataFrame]:
    """Per-series {tz, close, calendar} and the frame whose non-NaN cells are sessions."""
    from backtests.market.spec import Market

    if isinstance(market, Market):
        info = {}
        for sid in market.levels.columns:
            close, tz = market.close_time(sid)
            info[str(sid)] = {
                "tz": tz,
                "close": close,
                "calendar": market.specs[sid].calendar,
                "first_obs": None,
            }
        return info, market.levels
    if isinstance(market, pd.DataFrame):
        meta = market.attrs.get("newsbt_series")
        if not isinstance(meta, Mapping):
            raise InputFormatError(
                "align_events: the DataFrame carries no attrs['newsbt_series'] (series zones and close "
                "times); pass the Market from backtests.load_market or the frame from backtests.to_changes"
            )
        info = {}
        for sid in market.columns:
            m = meta.get(str(sid))
            if m is None:
                log.warning("align_events: column %r has no entry in attrs['newsbt_series']; skipped", sid)
                continue
            info[str(sid)] = {
                "tz": m["tz"],
                "close": _parse_close(m["close"]),
                "calendar": m.get("calendar", "data"),
                "first_obs": m.get("first_obs"),
            }
        return info, market
    raise InputFormatError(
        f"align_events: market must be a backtests.Market or a DataFrame from to_changes, got "
        f"{type(market).__name__}"
    )


def _event_instants(events: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """(UTC timestamps or NaT, naive dates or NaT) per event row, validated."""
    n = len(events)
    ts = pd.Series(pd.NaT, index=events.index, dtype="datetime64[ns, UTC]")
    dates = pd.Series(pd.NaT, index=events.index, dtype="datetime64[ns]")
    if "timestamp" not in events.columns and "date" not in events.columns:
        raise InputFormatError(
            "events need a 'timestamp' column (tz-aware) or a 'date' column (date-only events); "
            f"got columns {list(events.columns)}"
        )
    if "timestamp" in events.columns and n:
        col = events["timestamp"]
        if isinstance(col.dtype, pd.DatetimeTZDtype):
            ts = col.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")
        elif pd.api.types.is_datetime64_dtype(col.dtype):
            if col.notna().any():
                raise InputFormatError(
                    "events column 'timestamp' is naive (no time zone): localise it first, e.g. "
                    "events['timestamp'] = events['timestamp'].dt.tz_localize('Asia/Tokyo'), or use a "
                    "'date' column for date-only events"
                )
        else:
            nonnull = col.dropna()
            parsed = nonnull.map(pd.Timestamp) if len(nonnull) else nonnull
            naive = parsed.map(lambda t: t is pd.NaT or t.tzinfo is None) if len(parsed) else parsed
            if len(parsed) and bool(naive.any()):
                first = naive[naive].index[0]
                raise InputFormatError(
                    f"events row {first!r}: 'timestamp' {col[first]!r} has no time zone; give an offset "
                    "(e.g. 2025-05-02T10:00+09:00) or localise the column"
                )
            if len(parsed):
                ts.loc[parsed.index] = pd.to_datetime(parsed.map(lambda t: t.tz_convert("UTC")), utc=True)
    if "date" in events.columns and n:
        d = pd.to_datetime(events["date"], errors="raise")
        if isinstance(d.dtype, pd.DatetimeTZDtype):
            d = d.dt.tz_localize(None)
        dates = d.dt.normalize().astype("datetime64[ns]")
    return ts, dates


def _sessions_of(sid: str, meta: dict, obs: pd.DatetimeIndex) -> tuple[pd.DatetimeIndex, np.ndarray, np.ndarray]:
    """Sessions of one series (its calendar's sessions over its data, its observed dates, and the
    calendar past the last observation), their close instants (UTC wall, ns) and the observations."""
    cal = check_calendar(meta["calendar"], sid)
    first, last = obs.min(), obs.max()
    horizon = last + pd.Timedelta(days=EXTEND_DAYS)
    if cal == "DATA":  # no calendar: observed dates, weekdays past the last one
        days, early = trading_days("FX", last + pd.Timedelta(days=1), horizon), None
    else:
        days, early = trading_days(cal, first, horizon), early_closes(cal, first, horizon)
    sess = obs.union(days).unique().sort_values().as_unit("ns")
    closes = session_closes(sess, meta["close"], meta["tz"], early).tz_localize(None).to_numpy()
    keep = ~np.isnat(closes)
    return sess[keep], closes[keep], obs.as_unit("ns").asi8


def _skip_to_data(
    sid: str, calendar: str, sess: pd.DatetimeIndex, obs_ns: np.ndarray, pos: np.ndarray, good: np.ndarray, max_gap: int
) -> tuple[np.ndarray, np.ndarray]:
    """Move day 0 from a calendar session without data to the next observation when at most
    ``max_gap`` sessions are missing; else give the gap's description (``day0_in_data_gap``)."""
    from backtests.gaps import FALLBACK_TOLERANCE

    sess_ns = sess.asi8
    detail = np.full(len(pos), "", dtype=object)
    pos = pos.copy()
    p = np.where(good, pos, 0)
    cand = sess_ns[p] if len(sess_ns) else np.zeros(len(p), dtype=np.int64)
    j = np.searchsorted(obs_ns, cand, side="left")
    in_data = j < len(obs_ns)  # past the last observation: calendar sessions (after_data later)
    nxt = obs_ns[np.minimum(j, len(obs_ns) - 1)]
    no_obs = good & in_data & (nxt != cand)
    if not no_obs.any():
        return pos, detail
    target = np.searchsorted(sess_ns, nxt, side="left")
    n_missing = target - p
    start = calendar_start(calendar)
    tol = np.full(len(pos), max_gap)
    if start is not None:
        tol = np.where(cand >= start.as_unit("ns").value, max_gap, max(max_gap, FALLBACK_TOLERANCE))
    move = no_obs & (n_missing <= tol)
    pos[move] = target[move]
    bad = no_obs & ~move
    if bad.any():
        from backtests.gaps import gap_text

        k = np.searchsorted(obs_ns, nxt[bad], side="left")
        detail[bad] = [gap_text(sid, calendar, sess_ns, obs_ns, int(i), int(c)) for i, c in zip(k, cand[bad])]
    return pos, detail


def _check_events(events: Any) -> None:
    """Raise :class:`InputFormatError` unless ``events`` is a DataFrame with an ``event_id`` column."""
    if not isinstance(events, pd.DataFrame):
        raise InputFormatError(f"events must be a DataFrame, got {type(events).__name__}")
    if "event_id" not in events.columns:
        raise InputFormatError(
            "events have no 'event_id' column: add one (e.g. events['event_id'] = range(len(events)))"
        )


def _expand_pairs(ev: pd.DataFrame, all_series: list[str]) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Event rows and series ids of every event x series pair, and the output frame they start.

    An event's ``series`` (when the column exists) restricts it to that series; NaN or "" means
    every series.
    """
    if "series" in ev.columns:
        req = ev["series"]
        targets = pd.Series(
            [all_series if (not isinstance(s, str) and pd.isna(s)) or s == "" else [s] for s in req],
            index=ev.index,
            dtype=object,
        )
        pairs = targets.explode()
        rows = pairs.index.to_numpy()
        ser = pairs.to_numpy(dtype=object)
    else:
        rows = np.repeat(np.arange(len(ev)), len(all_series))
        ser = np.tile(np.asarray(all_series, dtype=object), len(ev))
    out = ev.drop(columns=[c for c in ("series", "timestamp") if c in ev.columns]).iloc[rows]
    out = out.reset_index(drop=True)
    out.insert(1 if "event_id" in out.columns else 0, "series", pd.array(ser, dtype=object))
    return rows, ser, out


def _empty_results(t_all: np.ndarray) -> dict[str, np.ndarray]:
    """Result arrays of :func:`align_events`, one entry per pair, before alignment."""
    n = len(t_all)
    return {
        "timestamp": t_all.copy(),
        "local_time": np.full(n, np.datetime64("NaT", "ns"), dtype="datetime64[ns]"),
        "series_tz": np.full(n, "", dtype=object),
        "series_close": np.full(n, "", dtype=object),
        "date_only": np.zeros(n, dtype=bool),
        "day0": np.full(n, np.datetime64("NaT", "ns"), dtype="datetime64[ns]"),
        "day0_close": np.full(n, np.datetime64("NaT", "ns"), dtype="datetime64[ns]"),
        "reason": np.full(n, "", dtype=object),
        "detail": np.full(n, "", dtype=object),
    }


def _date_only_instants(
    t: np.ndarray, d: np.ndarray, row_tz: np.ndarray | None, tz: str
) -> tuple[np.ndarray, np.ndarray]:
    """Fill the instants (naive UTC ns) of date-only events with the end of their local date.

    The zone is the row's ``tz`` (when given and not empty) else the series' ``tz``. Returns the
    filled copy of ``t`` and the mask of date-only events.
    """
    t = t.copy()
    has_t = ~np.isnat(t)
    use_d = ~has_t & ~np.isnat(d)
    if use_d.any():
        local_end = pd.DatetimeIndex(d[use_d]) + _END_OF_DAY
        if row_tz is None:
            inst = local_end.tz_localize(tz, nonexistent="shift_forward", ambiguous="NaT").tz_convert("UTC")
        else:
            zones = pd.Series(row_tz[use_d]).fillna(tz).replace("", tz).to_numpy(dtype=object)
            inst = pd.DatetimeIndex(
                [
                    pd.Timestamp(x).tz_localize(z, nonexistent="shift_forward").tz_convert("UTC")
                    for x, z in zip(local_end, zones)
                ]
            )
        t[use_d] = inst.tz_localize(None).as_unit("ns").to_numpy()
    return t, use_d


def _observed_dates(frame: pd.DataFrame, sid: str, meta: dict) -> pd.DatetimeIndex:
    """Dates on which series ``sid`` has a value (its first observation included)."""
    col = frame[sid] if sid in frame.columns else None
    obs = (
        pd.DatetimeIndex(frame.index[col.notna().to_numpy()]).normalize()
        if col is not None
        else pd.DatetimeIndex([])
    )
    if meta["first_obs"]:
        # a changes frame has NaN on the first observation, which is still a session
        obs = obs.union(pd.DatetimeIndex([pd.Timestamp(meta["first_obs"])]))
    return obs


def _place_day0(
    sid: str,
    meta: dict,
    obs: pd.DatetimeIndex,
    tv: np.ndarray,
    local: pd.DatetimeIndex,
    mv: np.ndarray,
    res: dict[str, np.ndarray],
    strict: bool,
    max_gap: int,
) -> None:
    """Set day 0, its close and the reason of the pairs ``mv`` (valid instants ``tv``) of one series."""
    reason = res["reason"]
    sess, closes, obs_ns = _sessions_of(sid, meta, obs)
    tv = tv.astype("datetime64[ns]")
    pos = np.searchsorted(closes, tv, side="right" if strict else "left")
    after = pos >= len(closes)
    local_dates = pd.DatetimeIndex(local).normalize()
    before = (pos == 0) & np.asarray(local_dates < sess[0])
    good = ~after & ~before
    reason[mv[after]] = "after_data"
    reason[mv[before]] = "before_data"
    pos, gap_detail = _skip_to_data(sid, meta["calendar"], sess, obs_ns, pos, good, max_gap)
    ingap = gap_detail != ""
    reason[mv[ingap]] = DAY0_IN_DATA_GAP
    res["detail"][mv[ingap]] = gap_detail[ingap]
    good &= ~ingap
    res["day0"][mv[good]] = sess.to_numpy()[pos[good]]
    res["day0_close"][mv[good]] = closes[pos[good]]


def _align_series(
    sid: str,
    meta: dict,
    m: np.ndarray,
    frame: pd.DataFrame,
    t_all: np.ndarray,
    d_all: np.ndarray,
    row_tz: np.ndarray | None,
    res: dict[str, np.ndarray],
    strict: bool,
    max_gap: int,
) -> None:
    """Align the pairs at positions ``m`` (all of series ``sid``), filling ``res`` in place."""
    tz, close = meta["tz"], meta["close"]
    res["series_tz"][m] = tz
    res["series_close"][m] = close.strftime("%H:%M")
    # event instants (UTC ns) for this series
    t, use_d = _date_only_instants(t_all[m], d_all[m], None if row_tz is None else row_tz[m], tz)
    res["date_only"][m[use_d]] = True
    valid = ~np.isnat(t)
    res["reason"][m[~valid]] = "missing_timestamp"
    res["timestamp"][m] = t
    loc = pd.DatetimeIndex(t).tz_localize("UTC").tz_convert(tz).tz_localize(None)
    res["local_time"][m] = loc.as_unit("ns").to_numpy()
    # sessions: observed dates, extended with the calendar past the last one
    obs = _observed_dates(frame, sid, meta)
    if len(obs) == 0:
        res["reason"][m[valid]] = "no_data"
        return
    _place_day0(sid, meta, obs, t[valid], loc[valid], m[valid], res, strict, max_gap)


def _finish_alignment(out: pd.DataFrame, res: dict[str, np.ndarray]) -> pd.DataFrame:
    """Add the result columns to ``out`` (UTC instants tz-aware) and log the pairs not aligned."""
    for name, values in res.items():
        utc = name in ("timestamp", "day0_close")
        out[name] = pd.DatetimeIndex(values).tz_localize("UTC") if utc else values
    reason = res["reason"]
    bad = pd.Series(reason[reason != ""]).value_counts()
    if len(bad):
        log.info(
            "align_events: %d of %d event-series pairs not aligned (%s)",
            int(bad.sum()),
            len(reason),
            ", ".join(f"{k}: {v}" for k, v in bad.items()),
        )
    return out


def align_events(
    events: pd.DataFrame, market: Any, *, strict: bool = False, max_gap: int | None = None
) -> pd.DataFrame:
    """Day 0 of every event for every series: the first session whose close is at or after it.

    Parameters
    ----------
    events : pandas.DataFrame
        Must have ``event_id`` and either ``timestamp`` (tz-aware; any zone) or ``date``
        (date-only: placed at the end of that local date, 23:59:59.999999999, in the series' zone,
        or in the row's ``tz`` column when present). Both may be present: ``timestamp`` wins where
        it is not NaT. Optional ``series``: align that series only (NaN: every series).
    market : Market or pandas.DataFrame
        A :class:`~backtests.market.spec.Market`, or a levels/changes frame carrying
        ``attrs["newsbt_series"]`` (as :func:`backtests.to_changes` returns).
    strict : bool, default False
        If True day 0 is the first session whose close is STRICTLY after the event (entry rule of
        the backtest: an event exactly at the close cannot trade at that close).
    max_gap : int, optional
        Calendar sessions without data allowed between the calendar's day 0 and the next
        observation (default :data:`backtests.gaps.DAY0_TOLERANCE` = 0): more, and the pair is
        ``day0_in_data_gap`` (``detail`` gives the gap's dates).

    Returns
    -------
    pandas.DataFrame
        One row per event x series: the events' columns plus ``series``, ``timestamp`` (UTC instant
        used; for date-only events the end of the date), ``local_time`` (naive wall time in the
        series' zone), ``series_tz``, ``series_close`` ("HH:MM" local), ``date_only``, ``day0``
        (naive local trading date, NaT when not aligned), ``day0_close`` (UTC instant of the close
        on day 0), ``reason`` ("" when aligned, else ``before_data``, ``after_data``,
        ``unknown_series``, ``missing_timestamp``, ``no_data``, ``day0_in_data_gap``) and ``detail``
        (the gap's dates for ``day0_in_data_gap``).

    Raises
    ------
    InputFormatError
        Naive timestamps, no ``timestamp``/``date`` column, no ``event_id``, or a market frame
        without series metadata.

    Notes
    -----
    Sessions are the series' calendar sessions plus the dates on which it has a value; past its last
    value the calendar alone, for up to :data:`EXTEND_DAYS` days. Day 0 is the first session whose
    close (the early close on early-close days) is at or after the event; when that session has no
    value, see ``max_gap``. An event before the first session's close whose local date is earlier
    than the first session is ``before_data``.
    """
    _check_events(events)
    from backtests.gaps import DAY0_TOLERANCE

    max_gap = DAY0_TOLERANCE if max_gap is None else int(max_gap)
    info, frame = _series_info(market)
    all_series = list(info)
    ev = events.reset_index(drop=True)
    ts_utc, dates = _event_instants(ev)

    rows, ser, out = _expand_pairs(ev, all_series)
    t_all = ts_utc.dt.tz_localize(None).astype("datetime64[ns]").to_numpy()[rows]
    d_all = dates.to_numpy()[rows]
    row_tz = ev["tz"].to_numpy(dtype=object)[rows] if "tz" in ev.columns else None
    res = _empty_results(t_all)

    known = np.isin(ser, np.asarray(all_series, dtype=object))
    res["reason"][~known] = "unknown_series"
    for sid in all_series:
        m = np.flatnonzero(ser == sid)
        if m.size:
            _align_series(sid, info[sid], m, frame, t_all, d_all, row_tz, res, strict, max_gap)
    return _finish_alignment(out, res)
