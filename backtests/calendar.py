"""Trading calendars, close cut-offs and day-0 alignment of events to market series.

Which calendar is the truth
---------------------------
* Inside the data's range, the **observed dates of each series** are its sessions: FRED lists US
  holidays as missing (``.``), MOF's JGB file simply skips Tokyo holidays, so the data themselves
  are the best record of when a value was actually fixed (including the US bond-market-only
  holidays such as Columbus Day that the NYSE calendar does not know, Saturdays in Tokyo up to
  1989, and one-off closures).
* **Beyond the last observation** (an event newer than the data) the series' exchange calendar is
  used, for up to :data:`EXTEND_DAYS` calendar days; an event later than that is ``after_data``:
  ``SIFMA`` (the US bond market's holidays, below) for US Treasuries, ``exchange_calendars`` for
  the rest (``XNYS`` for equities, ``XTKS`` for JGBs), ``FX`` = Monday to Friday.
  ``SIFMA``: New Year's Day, Martin Luther King Jr. Day, Presidents Day, Good Friday (open, with an
  early close, when the employment report falls on it: a Good Friday in the first week of the
  month, from 1996), Memorial Day, Juneteenth (from 2022), Independence Day, Labor Day, Columbus
  Day, Veterans Day, Thanksgiving and Christmas; a Sunday holiday moves to Monday, a Saturday one
  to Friday except New Year's Day and Veterans Day (then no closure); plus the one-off closures
  in :data:`SIFMA_SPECIAL_CLOSES`. Checked against every H.15 Treasury session 1994-2026. ``exchange_calendars`` only covers roughly the last 20 years by default; when a
  calendar cannot answer, weekdays are used (documented fallback, logged).

Close times
-----------
Each series is aligned with the close of the *source actually used* (``Market.close_time``, or the
``attrs["newsbt_series"]`` of a levels/changes frame): H.15 Treasury yields 15:30 New York, H.10
USD/JPY 12:00 New York, MOF JGB yields 15:00 Tokyo. Close instants are computed in the market's
own zone, so they follow daylight saving time (New York's 15:30 is 20:30 UTC in winter and 19:30
UTC in summer; Tokyo has no DST).
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

from signals.errors import InputFormatError

log = logging.getLogger(__name__)

__all__ = [
    "EXTEND_DAYS",
    "SIFMA_SPECIAL_CLOSES",
    "align_events",
    "session_closes",
    "sifma_holidays",
    "trading_days",
]

#: How far (calendar days) sessions are extended with the exchange calendar past the last observation.
EXTEND_DAYS = 14

#: One-off full closures of the US bond market (not in the holiday rules): state funerals of
#: Presidents Nixon (1994), Reagan (2004) and G.H.W. Bush (2018), 11-12 September 2001, Hurricane
#: Sandy (30 October 2012). Seen as missing days in the H.15 Treasury data.
SIFMA_SPECIAL_CLOSES = pd.DatetimeIndex(
    ["1994-04-27", "2001-09-11", "2001-09-12", "2004-06-11", "2012-10-30", "2018-12-05"]
).as_unit("ns")

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


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> pd.Timestamp:
    first = pd.Timestamp(year, month, 1)
    return first + pd.Timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def _last_weekday(year: int, month: int, weekday: int) -> pd.Timestamp:
    last = pd.Timestamp(year, month, 1) + pd.offsets.MonthEnd(0)
    return last - pd.Timedelta(days=(last.weekday() - weekday) % 7)


def _observed(year: int, month: int, day: int, saturday_to_friday: bool = True) -> pd.Timestamp | None:
    d = pd.Timestamp(year, month, day)
    if d.weekday() == 6:
        return d + pd.Timedelta(days=1)
    if d.weekday() == 5:
        return d - pd.Timedelta(days=1) if saturday_to_friday else None
    return d


def sifma_holidays(start_year: int, end_year: int) -> pd.DatetimeIndex:
    """Full-day closures of the US bond market (SIFMA recommendations) in the years given.

    Parameters
    ----------
    start_year, end_year : int
        Inclusive.

    Returns
    -------
    pandas.DatetimeIndex
        Naive dates, sorted (rules in the module notes, plus :data:`SIFMA_SPECIAL_CLOSES`).
    """
    from pandas.tseries.offsets import Easter

    days: list[pd.Timestamp | None] = []
    for y in range(start_year, end_year + 1):
        good_friday = pd.Timestamp(y, 1, 1) + Easter() - pd.Timedelta(days=2)
        days += [
            _observed(y, 1, 1, saturday_to_friday=False),
            _nth_weekday(y, 1, 0, 3),  # Martin Luther King Jr. Day
            _nth_weekday(y, 2, 0, 3),  # Presidents Day
            None if (y >= 1996 and good_friday.day <= 7) else good_friday,  # jobs report: open
            _last_weekday(y, 5, 0),  # Memorial Day
            _observed(y, 6, 19) if y >= 2022 else None,  # Juneteenth
            _observed(y, 7, 4),
            _nth_weekday(y, 9, 0, 1),  # Labor Day
            _nth_weekday(y, 10, 0, 2),  # Columbus Day
            _observed(y, 11, 11, saturday_to_friday=False),  # Veterans Day
            _nth_weekday(y, 11, 3, 4),  # Thanksgiving
            _observed(y, 12, 25),
        ]
    special = SIFMA_SPECIAL_CLOSES[
        (SIFMA_SPECIAL_CLOSES.year >= start_year) & (SIFMA_SPECIAL_CLOSES.year <= end_year)
    ]
    return pd.DatetimeIndex([d for d in days if d is not None]).as_unit("ns").union(special)


def trading_days(calendar: str, start: Any, end: Any) -> pd.DatetimeIndex:
    """Trading dates of ``calendar`` between ``start`` and ``end`` (both inclusive).

    Parameters
    ----------
    calendar : str
        ``"SIFMA"`` (US bond market: weekdays without :func:`sifma_holidays`), an
        ``exchange_calendars`` code (``"XNYS"``, ``"XTKS"``, ...), ``"FX"`` (Monday to Friday,
        24/5 market) or ``"data"`` (no calendar: returns weekdays, the best guess).
    start, end : date-like
        Local calendar dates.

    Returns
    -------
    pandas.DatetimeIndex
        Naive local dates (midnight). Falls back to weekdays (logged) when ``exchange_calendars``
        does not know the code or the range.
    """
    s = pd.Timestamp(start).normalize()
    e = pd.Timestamp(end).normalize()
    if e < s:
        return pd.DatetimeIndex([], dtype="datetime64[ns]")
    days = pd.bdate_range(s, e).as_unit("ns")
    if calendar.upper() in ("FX", "DATA"):
        return days
    if calendar.upper() == "SIFMA":
        return days.difference(sifma_holidays(s.year, e.year))
    try:
        cal = _xcal(calendar.upper())
    except Exception as exc:  # unknown code: documented fallback
        log.info("calendar %s unavailable (%s); using weekdays", calendar, exc)
        return days
    lo, hi = cal.first_session.tz_localize(None), cal.last_session.tz_localize(None)
    if s >= lo and e <= hi:
        return pd.DatetimeIndex(cal.sessions_in_range(s, e)).tz_localize(None).as_unit("ns")
    log.info("calendar %s covers %s..%s only; weekdays used outside", calendar, lo.date(), hi.date())
    inner = cal.sessions_in_range(max(s, lo), min(e, hi)) if max(s, lo) <= min(e, hi) else []
    inner = pd.DatetimeIndex(inner).tz_localize(None).as_unit("ns") if len(inner) else days[:0]
    return days[(days < lo) | (days > hi)].union(inner)


def session_closes(dates: pd.DatetimeIndex, close: dt.time, tz: str) -> pd.DatetimeIndex:
    """UTC instants of the daily close on each local date (DST-aware).

    Parameters
    ----------
    dates : pandas.DatetimeIndex
        Naive local trading dates.
    close : datetime.time
        Local close time.
    tz : str
        IANA zone of the market.

    Returns
    -------
    pandas.DatetimeIndex
        tz-aware (UTC), nanosecond unit.
    """
    off = pd.Timedelta(hours=close.hour, minutes=close.minute, seconds=close.second)
    local = pd.DatetimeIndex(dates).normalize() + off
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


def align_events(events: pd.DataFrame, market: Any, *, strict: bool = False) -> pd.DataFrame:
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

    Returns
    -------
    pandas.DataFrame
        One row per event x series: the events' columns plus ``series``, ``timestamp`` (UTC instant
        used; for date-only events the end of the date), ``local_time`` (naive wall time in the
        series' zone), ``series_tz``, ``series_close`` ("HH:MM" local), ``date_only``, ``day0``
        (naive local trading date, NaT when not aligned), ``day0_close`` (UTC instant of the close
        on day 0) and ``reason`` ("" when aligned, else ``before_data``, ``after_data``,
        ``unknown_series``, ``missing_timestamp``).

    Raises
    ------
    InputFormatError
        Naive timestamps, no ``timestamp``/``date`` column, no ``event_id``, or a market frame
        without series metadata.

    Notes
    -----
    Sessions are the dates on which the series has a value; past its last value they are extended
    with the exchange calendar for up to :data:`EXTEND_DAYS` days. An event before the first
    session's close whose local date is earlier than the first session is ``before_data``.
    """
    if not isinstance(events, pd.DataFrame):
        raise InputFormatError(f"events must be a DataFrame, got {type(events).__name__}")
    if "event_id" not in events.columns:
        raise InputFormatError(
            "events have no 'event_id' column: add one (e.g. events['event_id'] = range(len(events)))"
        )
    info, frame = _series_info(market)
    all_series = list(info)
    ev = events.reset_index(drop=True)
    ts_utc, dates = _event_instants(ev)

    # expand to event x series
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
    n = len(rows)
    out = ev.drop(columns=[c for c in ("series", "timestamp") if c in ev.columns]).iloc[rows]
    out = out.reset_index(drop=True)
    out.insert(1 if "event_id" in out.columns else 0, "series", pd.array(ser, dtype=object))

    t_all = ts_utc.dt.tz_localize(None).astype("datetime64[ns]").to_numpy()[rows]
    d_all = dates.to_numpy()[rows]
    row_tz = ev["tz"].to_numpy(dtype=object)[rows] if "tz" in ev.columns else None

    res_ts = t_all.copy()
    res_local = np.full(n, np.datetime64("NaT", "ns"), dtype="datetime64[ns]")
    res_day0 = np.full(n, np.datetime64("NaT", "ns"), dtype="datetime64[ns]")
    res_close = np.full(n, np.datetime64("NaT", "ns"), dtype="datetime64[ns]")
    reason = np.full(n, "", dtype=object)
    s_tz = np.full(n, "", dtype=object)
    s_close = np.full(n, "", dtype=object)
    date_only = np.zeros(n, dtype=bool)

    known = np.isin(ser, np.asarray(all_series, dtype=object))
    reason[~known] = "unknown_series"
    for sid in all_series:
        m = np.flatnonzero(ser == sid)
        if m.size == 0:
            continue
        meta = info[sid]
        tz, close = meta["tz"], meta["close"]
        s_tz[m] = tz
        s_close[m] = close.strftime("%H:%M")

        # event instants (UTC ns) for this series
        t = t_all[m].copy()
        has_t = ~np.isnat(t)
        d = d_all[m]
        use_d = ~has_t & ~np.isnat(d)
        date_only[m[use_d]] = True
        if use_d.any():
            local_end = pd.DatetimeIndex(d[use_d]) + _END_OF_DAY
            if row_tz is None:
                inst = local_end.tz_localize(tz, nonexistent="shift_forward", ambiguous="NaT").tz_convert(
                    "UTC"
                )
            else:
                zones = pd.Series(row_tz[m][use_d]).fillna(tz).replace("", tz).to_numpy(dtype=object)
                inst = pd.DatetimeIndex(
                    [
                        pd.Timestamp(x).tz_localize(z, nonexistent="shift_forward").tz_convert("UTC")
                        for x, z in zip(local_end, zones)
                    ]
                )
            t[use_d] = inst.tz_localize(None).as_unit("ns").to_numpy()
        valid = ~np.isnat(t)
        reason[m[~valid]] = "missing_timestamp"
        res_ts[m] = t
        loc = pd.DatetimeIndex(t).tz_localize("UTC").tz_convert(tz).tz_localize(None)
        res_local[m] = loc.as_unit("ns").to_numpy()

        # sessions: observed dates, extended with the calendar past the last one
        col = frame[sid] if sid in frame.columns else None
        obs = (
            pd.DatetimeIndex(frame.index[col.notna().to_numpy()]).normalize()
            if col is not None
            else pd.DatetimeIndex([])
        )
        if meta["first_obs"]:
            # a changes frame has NaN on the first observation, which is still a session
            obs = obs.union(pd.DatetimeIndex([pd.Timestamp(meta["first_obs"])]))
        if len(obs) == 0:
            reason[m[valid]] = "no_data"
            continue
        last = obs.max()
        ext = trading_days(
            meta["calendar"], last + pd.Timedelta(days=1), last + pd.Timedelta(days=EXTEND_DAYS)
        )
        sess = obs.union(ext).unique().sort_values().as_unit("ns")
        closes = session_closes(sess, close, tz).tz_localize(None).to_numpy()  # UTC wall, ns
        keep = ~np.isnat(closes)
        sess, closes = sess[keep], closes[keep]

        tv = t[valid].astype("datetime64[ns]")
        pos = np.searchsorted(closes, tv, side="right" if strict else "left")
        mv = m[valid]
        after = pos >= len(closes)
        local_dates = pd.DatetimeIndex(loc[valid]).normalize()
        before = (pos == 0) & np.asarray(local_dates < sess[0])
        good = ~after & ~before
        reason[mv[after]] = "after_data"
        reason[mv[before]] = "before_data"
        res_day0[mv[good]] = sess.to_numpy()[pos[good]]
        res_close[mv[good]] = closes[pos[good]]

    out["timestamp"] = pd.DatetimeIndex(res_ts).tz_localize("UTC")
    out["local_time"] = res_local
    out["series_tz"] = s_tz
    out["series_close"] = s_close
    out["date_only"] = date_only
    out["day0"] = res_day0
    out["day0_close"] = pd.DatetimeIndex(res_close).tz_localize("UTC")
    out["reason"] = reason
    bad = pd.Series(reason[reason != ""]).value_counts()
    if len(bad):
        log.info(
            "align_events: %d of %d event-series pairs not aligned (%s)",
            int(bad.sum()),
            n,
            ", ".join(f"{k}: {v}" for k, v in bad.items()),
        )
    return out
