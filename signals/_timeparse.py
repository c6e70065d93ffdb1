"""Vectorised parsing of real-world news timestamps to UTC.

Handles ISO 8601 with offsets (``Z``, ``+09:00``, ``+0900``), naive ISO date-times (need a zone),
bare dates (``published_precision="day"``, placed at the END of the day in the given zone),
RFC 822 feed dates with or without seconds (``Mon, 29 Jul 2019 13:55 GMT``), GDELT
``YYYYMMDDhhmmss`` (naive: the GDELT reader passes ``tz="UTC"``), epoch seconds / milliseconds,
and, as a last resort, dateutil with US/Japan zone abbreviations (``Wed Sep 15, 2010 12:30am EDT``,
``7:51 PM ET Fri, 17 July 2020``). The fast paths work on whole columns; only the rare
free-form strings are parsed one unique value at a time.
"""

from __future__ import annotations

import datetime as dt
import email.utils
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from signals.errors import ConfigError

__all__ = ["parse_timestamps", "resolve_tz"]

_ISO_AWARE = (
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?P<sec>:\d{2}(?:[.,]\d+)?)?\s*(?:Z|[+-]\d{2}:?\d{2}|UTC|GMT)$"
)
_ISO_NAIVE = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?P<sec>:\d{2}(?:\.\d+)?)?$"
_DATE_ONLY = r"^\d{4}-\d{2}-\d{2}$|^\d{8}$"
_COMPACT = r"^\d{14}$"  # GDELT YYYYMMDDhhmmss
_EPOCH = r"^-?\d{9,13}(?:\.\d+)?$"

_NY = ZoneInfo("America/New_York")
_TZINFOS = {
    "EST": -5 * 3600,
    "EDT": -4 * 3600,
    "CST": -6 * 3600,
    "CDT": -5 * 3600,
    "MST": -7 * 3600,
    "MDT": -6 * 3600,
    "PST": -8 * 3600,
    "PDT": -7 * 3600,
    "JST": 9 * 3600,
    "KST": 9 * 3600,
    "HKT": 8 * 3600,
    "SGT": 8 * 3600,
    "BST": 3600,
    "CET": 3600,
    "CEST": 2 * 3600,
    "GMT": 0,
    "UTC": 0,
    "UT": 0,
    "Z": 0,
    "ET": _NY,
    "PT": ZoneInfo("America/Los_Angeles"),
    "CT": ZoneInfo("America/Chicago"),
}

# reasons (stable codes, used in rejects tables)
NAIVE = "naive_timestamp"
DATE_NEEDS_TZ = "date_only_without_tz"
UNPARSEABLE = "unparseable_timestamp"
MISSING = "missing_timestamp"
LOCAL_GAP = "nonexistent_or_ambiguous_local_time"


def resolve_tz(tz: str | dt.tzinfo | None) -> dt.tzinfo | None:
    """Return a tzinfo for an IANA name (or pass a tzinfo through); ``None`` stays ``None``."""
    if tz is None or isinstance(tz, dt.tzinfo):
        return tz
    try:
        return ZoneInfo(str(tz))
    except Exception as exc:  # ZoneInfoNotFoundError, ValueError
        raise ConfigError(
            f"tz={tz!r} is not an IANA time zone name: use e.g. 'UTC', 'America/New_York', 'Asia/Tokyo'"
        ) from exc


def _end_of_day(dates: pd.Series, tz: dt.tzinfo) -> pd.Series:
    """Midnight-naive dates -> 23:59:59 local on that date, in UTC."""
    local = (dates + pd.Timedelta(hours=23, minutes=59, seconds=59)).dt.tz_localize(
        tz, ambiguous="NaT", nonexistent="shift_backward"
    )
    return local.dt.tz_convert("UTC")


def _parse_free(value: str) -> tuple[pd.Timestamp | None, str, str]:
    """Parse one free-form string. Returns (utc timestamp or None-if-naive-local, precision, reason).

    For naive values the timestamp is returned naive with reason NAIVE so the caller can localise.
    """
    parsed = email.utils.parsedate_tz(value)
    if parsed is not None and parsed[0] > 1900:
        y, mo, d, h, mi, s, _, _, _, off = parsed
        has_sec = value.count(":") >= 2
        try:
            naive = pd.Timestamp(y, mo, d, h, mi, s)
        except ValueError:
            return None, "", UNPARSEABLE
        prec = "second" if has_sec else "minute"
        if off is None:
            return naive, prec, NAIVE
        return (naive - pd.Timedelta(seconds=off)).tz_localize("UTC"), prec, ""
    from dateutil import parser as du

    try:
        a = du.parse(value, default=dt.datetime(1904, 1, 1, 0, 0, 0), tzinfos=_TZINFOS)
        b = du.parse(value, default=dt.datetime(1908, 2, 2, 1, 1, 1), tzinfos=_TZINFOS)
    except (ValueError, OverflowError, TypeError):
        return None, "", UNPARSEABLE
    if a.date() != b.date():
        return None, "", UNPARSEABLE  # year, month or day missing: not a timestamp
    if (a.hour, a.minute) != (b.hour, b.minute):
        return pd.Timestamp(a.date()), "day", "day"
    prec = "second" if a.second == b.second else "minute"
    if a.tzinfo is None:
        return pd.Timestamp(a.replace(second=a.second if prec == "second" else 0)), prec, NAIVE
    ts = pd.Timestamp(a if prec == "second" else a.replace(second=0))
    return ts.tz_convert("UTC"), prec, ""


def parse_timestamps(
    values: pd.Series, tz: str | dt.tzinfo | None = None, *, assume_tz: dt.tzinfo | str | None = None
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Parse a column of timestamps to UTC.

    Parameters
    ----------
    values : pandas.Series
        Strings, numbers (epoch seconds or milliseconds, UTC) or datetimes.
    tz : str or tzinfo, optional
        Zone of naive date-times and bare dates. ``None``: naive values are rejected.
    assume_tz : str or tzinfo, optional
        Zone that overrides ``tz`` for this column (used for formats whose spec fixes the zone,
        e.g. GDELT dates are UTC).

    Returns
    -------
    published : Series of datetime64[ns, UTC]
        NaT where rejected.
    precision : Series of str
        ``"day"`` (bare date, placed at 23:59:59 local), ``"minute"`` or ``"second"``.
    reason : Series of str
        ``""`` when parsed, else a reject code (``naive_timestamp``, ``date_only_without_tz``,
        ``unparseable_timestamp``, ``missing_timestamp``, ``nonexistent_or_ambiguous_local_time``).
    """
    zone = resolve_tz(assume_tz if assume_tz is not None else tz)
    n = len(values)
    idx = values.index
    out = pd.Series(pd.NaT, index=idx, dtype="datetime64[ns, UTC]")
    prec = pd.Series("second", index=idx, dtype=object)
    reason = pd.Series("", index=idx, dtype=object)
    if n == 0:
        return out, prec, reason

    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        if getattr(values.dt, "tz", None) is not None:
            out[:] = values.dt.tz_convert("UTC")
            reason[values.isna()] = MISSING
            return out, prec, reason
        if zone is None:
            reason[:] = NAIVE
            reason[values.isna()] = MISSING
            return out, prec, reason
        loc = values.dt.tz_localize(zone, ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC")
        out[:] = loc
        reason[loc.isna()] = LOCAL_GAP
        reason[values.isna()] = MISSING
        return out, prec, reason

    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        v = values.astype("float64")
        ms = v.abs() > 1e11
        secs = np.where(ms, v / 1000.0, v)
        out[:] = pd.to_datetime(secs, unit="s", utc=True)
        reason[v.isna()] = MISSING
        return out, prec, reason

    s = values.astype("string").str.strip()
    missing = s.isna() | (s == "")
    reason[missing.to_numpy()] = MISSING
    s = s.fillna("")

    m_aware = s.str.match(_ISO_AWARE).to_numpy(dtype=bool)
    m_naive = s.str.match(_ISO_NAIVE).to_numpy(dtype=bool)
    m_date = s.str.match(_DATE_ONLY).to_numpy(dtype=bool)
    m_compact = s.str.match(_COMPACT).to_numpy(dtype=bool)
    m_epoch = s.str.match(_EPOCH).to_numpy(dtype=bool) & ~m_date & ~m_compact
    has_sec = s.str.contains(r"\d{2}:\d{2}:\d{2}", regex=True).to_numpy(dtype=bool)

    if m_aware.any():
        sub = s[m_aware].str.replace(r"\s*(?:UTC|GMT)$", "+00:00", regex=True).str.replace(",", ".")
        parsed = pd.to_datetime(sub, utc=True, format="ISO8601", errors="coerce")
        out[m_aware] = parsed
        prec[m_aware] = np.where(has_sec[m_aware], "second", "minute")
        bad = m_aware.copy()
        bad[m_aware] = parsed.isna().to_numpy()
        reason[bad] = UNPARSEABLE

    naive_vals = pd.Series(pd.NaT, index=idx, dtype="datetime64[ns]")
    is_naive = np.zeros(n, dtype=bool)
    if m_naive.any():
        naive_vals[m_naive] = pd.to_datetime(s[m_naive], format="ISO8601", errors="coerce")
        is_naive |= m_naive
        prec[m_naive] = np.where(has_sec[m_naive], "second", "minute")
    if m_compact.any():
        naive_vals[m_compact] = pd.to_datetime(s[m_compact], format="%Y%m%d%H%M%S", errors="coerce")
        is_naive |= m_compact
        prec[m_compact] = "second"

    day_vals = pd.Series(pd.NaT, index=idx, dtype="datetime64[ns]")
    is_day = m_date.copy()
    if m_date.any():
        d = s[m_date]
        day_vals[m_date] = pd.to_datetime(d.str.replace("-", ""), format="%Y%m%d", errors="coerce")

    if m_epoch.any():
        v = s[m_epoch].astype("float64")
        secs = np.where(v.abs() > 1e11, v / 1000.0, v)
        out[m_epoch] = pd.to_datetime(secs, unit="s", utc=True)

    rest = ~(m_aware | m_naive | m_date | m_compact | m_epoch | missing.to_numpy())
    if rest.any():
        cache: dict[str, tuple] = {}
        for pos in np.flatnonzero(rest):
            text = s.iat[pos]
            r = cache.get(text)
            if r is None:
                r = cache[text] = _parse_free(text)
            ts, p, why = r
            if why == "":
                out.iat[pos] = ts
                prec.iat[pos] = p
            elif why == NAIVE:
                naive_vals.iat[pos] = ts
                is_naive[pos] = True
                prec.iat[pos] = p
            elif why == "day":
                day_vals.iat[pos] = ts
                is_day[pos] = True
            else:
                reason.iat[pos] = why

    bad_naive = is_naive & naive_vals.isna().to_numpy()
    reason[bad_naive] = UNPARSEABLE
    ok_naive = is_naive & ~bad_naive
    if ok_naive.any():
        if zone is None:
            reason[ok_naive] = NAIVE
        else:
            loc = (
                naive_vals[ok_naive]
                .dt.tz_localize(zone, ambiguous="NaT", nonexistent="NaT")
                .dt.tz_convert("UTC")
            )
            out[ok_naive] = loc
            gap = ok_naive.copy()
            gap[ok_naive] = loc.isna().to_numpy()
            reason[gap] = LOCAL_GAP

    bad_day = is_day & day_vals.isna().to_numpy()
    reason[bad_day] = UNPARSEABLE
    ok_day = is_day & ~bad_day
    if ok_day.any():
        prec[ok_day] = "day"
        if zone is None:
            reason[ok_day] = DATE_NEEDS_TZ
        else:
            out[ok_day] = _end_of_day(day_vals[ok_day], zone)

    out[(reason != "").to_numpy()] = pd.NaT
    return out, prec, reason
