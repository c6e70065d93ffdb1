"""The explicit table of time-zone abbreviations newsbt accepts in timestamps.

An abbreviation is only ever read through this table: one that is not in it, or that names
different offsets in different places (``IST``: India, Israel or Ireland; ``AST``: Arabia or
Atlantic), is a reject with reason ``unknown_tz_abbreviation``, never UTC.

Fixed abbreviations are taken literally (``EST`` is UTC-5 even in July: the writer said so);
the generic US names (``ET``, ``CT``, ``MT``, ``PT``) follow the zone's daylight-saving rules
on that date. The README's timestamp table lists the same entries (a test keeps them equal).
"""

from __future__ import annotations

import calendar
import datetime as dt
from zoneinfo import ZoneInfo

__all__ = ["AMBIGUOUS", "NOT_ZONES", "TZ_ABBREVIATIONS", "lookup"]

_H = 3600

#: abbreviation -> UTC offset in seconds (fixed) or an IANA zone name (daylight-saving aware)
TZ_ABBREVIATIONS: dict[str, int | str] = {
    # universal
    "UTC": 0,
    "UT": 0,
    "GMT": 0,
    "Z": 0,
    # Asia-Pacific
    "JST": 9 * _H,  # Japan
    "KST": 9 * _H,  # Korea
    "HKT": 8 * _H,  # Hong Kong
    "SGT": 8 * _H,  # Singapore
    "AWST": 8 * _H,  # Australia West
    "PHT": 8 * _H,  # Philippines
    "ICT": 7 * _H,  # Indochina
    "WIB": 7 * _H,  # Western Indonesia
    "AEST": 10 * _H,  # Australia East, standard
    "AEDT": 11 * _H,  # Australia East, daylight
    "NZST": 12 * _H,
    "NZDT": 13 * _H,
    # Europe
    "WET": 0,
    "WEST": _H,
    "BST": _H,  # British Summer Time
    "CET": _H,
    "CEST": 2 * _H,
    "EET": 2 * _H,
    "EEST": 3 * _H,
    "MSK": 3 * _H,
    # North America, fixed
    "EST": -5 * _H,
    "EDT": -4 * _H,
    "CST": -6 * _H,  # US Central (not China: write +08:00 or HKT/SGT for China)
    "CDT": -5 * _H,
    "MST": -7 * _H,
    "MDT": -6 * _H,
    "PST": -8 * _H,
    "PDT": -7 * _H,
    "AKST": -9 * _H,
    "AKDT": -8 * _H,
    "HST": -10 * _H,
    # North America, generic (follow daylight saving on the date)
    "ET": "America/New_York",
    "CT": "America/Chicago",
    "MT": "America/Denver",
    "PT": "America/Los_Angeles",
}

#: abbreviations in real use for more than one offset: always rejected
AMBIGUOUS = frozenset({"IST", "AST", "ADT", "SST", "CCT", "BT", "GST", "ECT", "MST7"})

#: upper-case words that may sit in a timestamp and are not zones
NOT_ZONES = frozenset(
    {
        "AM",
        "PM",
        "A",
        "P",
        "T",
        "ON",
        "AT",
        "OF",
        "THE",
        "JAN",
        "FEB",
        "MAR",
        "APR",
        "MAY",
        "JUN",
        "JUL",
        "AUG",
        "SEP",
        "SEPT",
        "OCT",
        "NOV",
        "DEC",
        "MON",
        "TUE",
        "TUES",
        "WED",
        "THU",
        "THUR",
        "THURS",
        "FRI",
        "SAT",
        "SUN",
        "UPDATED",
        "PUBLISHED",
    }
)

NOT_ZONES = NOT_ZONES | frozenset(
    w.upper() for w in (*calendar.month_name[1:], *calendar.day_name, "st", "nd", "rd", "th", "noon")
)

_ZONES: dict[str, dt.tzinfo] = {}


def lookup(abbr: str) -> dt.tzinfo | None:
    """The tzinfo of an abbreviation from :data:`TZ_ABBREVIATIONS` (case-insensitive).

    Parameters
    ----------
    abbr : str
        E.g. ``"JST"``, ``"edt"``, ``"ET"``.

    Returns
    -------
    datetime.tzinfo or None
        A fixed ``datetime.timezone`` or a ``ZoneInfo``; ``None`` when the abbreviation is unknown
        or ambiguous (the caller rejects the value with ``unknown_tz_abbreviation``).
    """
    key = abbr.upper()
    if key in AMBIGUOUS or key not in TZ_ABBREVIATIONS:
        return None
    z = _ZONES.get(key)
    if z is None:
        v = TZ_ABBREVIATIONS[key]
        z = ZoneInfo(v) if isinstance(v, str) else dt.timezone(dt.timedelta(seconds=v), key)
        _ZONES[key] = z
    return z
