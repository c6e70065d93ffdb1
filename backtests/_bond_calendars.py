"""US bond-market (SIFMA) and Federal Reserve (FRB) calendars: holiday and early-close rules, and
their ``exchange_calendars`` classes (``xc.get_calendar("SIFMA")`` after :func:`register_bond_calendars`).

Re-exported by :mod:`backtests.calendar`, which documents the rules and how day 0 uses them.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd

__all__ = [
    "FRB_SPECIAL_CLOSES",
    "SIFMA_EARLY_CLOSE",
    "SIFMA_GOOD_FRIDAY_CLOSE",
    "SIFMA_SPECIAL_CLOSES",
    "fed_holidays",
    "register_bond_calendars",
    "sifma_early_closes",
    "sifma_holidays",
]

#: One-off full closures of the US bond market (not in the holiday rules): state funerals of
#: Presidents Nixon (1994), Reagan (2004) and G.H.W. Bush (2018), 11-12 September 2001, Hurricane
#: Sandy (30 October 2012). Seen as missing days in the H.15 Treasury data.
SIFMA_SPECIAL_CLOSES = pd.DatetimeIndex(
    ["1994-04-27", "2001-09-11", "2001-09-12", "2004-06-11", "2012-10-30", "2018-12-05"]
).as_unit("ns")


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



#: Early close (local time) of the US bond market on the days SIFMA recommends one.
SIFMA_EARLY_CLOSE = dt.time(14, 0)
#: Close of a Good Friday kept open because the employment report falls on it.
SIFMA_GOOD_FRIDAY_CLOSE = dt.time(12, 0)

_BOND_YEARS = (1990, 2100)



#: One-off days without H.10/H.15 values besides the Fed's holiday rules (federal offices closed by
#: executive order or a national day of mourning), seen as missing in the H.10 data.
FRB_SPECIAL_CLOSES = pd.DatetimeIndex(
    ["2001-09-11", "2014-12-26", "2018-12-05", "2018-12-24", "2020-12-24"]
).as_unit("ns")


def fed_holidays(start_year: int, end_year: int) -> pd.DatetimeIndex:
    """Days without Federal Reserve H.10 noon rates (calendar ``FRB``), inclusive years.

    Federal holidays as the Fed observes them: New Year's Day, Martin Luther King Jr. Day (from
    1986), Presidents Day, Memorial Day, Juneteenth (from 2022), Independence Day, Labor Day,
    Columbus Day, Veterans Day, Thanksgiving, Christmas; Lincoln's Birthday and Election Day up to
    1985. A Sunday holiday moves to Monday; a Saturday one to Friday from 2010 only (H.10 has
    values on those Fridays before). No Good Friday. Plus :data:`FRB_SPECIAL_CLOSES`. Checked
    against the H.10 USD/JPY file 1986-2026: every remaining difference is a single missing day.

    Returns
    -------
    pandas.DatetimeIndex
        Naive dates, sorted.
    """
    days: list[pd.Timestamp | None] = []
    for y in range(start_year, end_year + 1):
        fri = y >= 2010
        days += [
            _observed(y, 1, 1, saturday_to_friday=fri),
            _nth_weekday(y, 1, 0, 3) if y >= 1986 else None,
            _observed(y, 2, 12, saturday_to_friday=False) if y <= 1985 else None,  # Lincoln
            _nth_weekday(y, 2, 0, 3),
            _last_weekday(y, 5, 0),
            _observed(y, 6, 19, saturday_to_friday=fri) if y >= 2022 else None,
            _observed(y, 7, 4, saturday_to_friday=fri),
            _nth_weekday(y, 9, 0, 1),
            _nth_weekday(y, 10, 0, 2),
            _nth_weekday(y, 11, 0, 1) + pd.Timedelta(days=1) if y <= 1985 else None,  # Election Day
            _observed(y, 11, 11, saturday_to_friday=fri),
            _nth_weekday(y, 11, 3, 4),
            _observed(y, 12, 25, saturday_to_friday=fri),
        ]
    special = FRB_SPECIAL_CLOSES[(FRB_SPECIAL_CLOSES.year >= start_year) & (FRB_SPECIAL_CLOSES.year <= end_year)]
    return pd.DatetimeIndex([d for d in days if d is not None]).as_unit("ns").union(special)


def sifma_early_closes(start_year: int, end_year: int) -> pd.Series:
    """Early closes of the US bond market (SIFMA recommendations), inclusive years.

    14:00 New York on the last session before New Year's Day, before Good Friday (the Thursday),
    before Memorial Day, before Independence Day and before Christmas (each as observed), and on
    the day after Thanksgiving; 12:00 on a Good Friday kept open for the employment report.

    Returns
    -------
    pandas.Series
        Index: naive session dates; values: :class:`datetime.time` local close.
    """
    from pandas.tseries.offsets import Easter

    hol = sifma_holidays(start_year - 1, end_year + 1)
    sess = pd.bdate_range(f"{start_year - 1}-12-01", f"{end_year + 1}-01-31").as_unit("ns").difference(hol)
    before: list[pd.Timestamp] = []
    noon: list[pd.Timestamp] = []
    for y in range(start_year, end_year + 1):
        good_friday = pd.Timestamp(y, 1, 1) + Easter() - pd.Timedelta(days=2)
        if good_friday not in hol:
            noon.append(good_friday)
        targets = [
            pd.Timestamp(y + 1, 1, 1),
            good_friday,
            _last_weekday(y, 5, 0),
            _observed(y, 7, 4),
            _observed(y, 12, 25),
        ]
        for t in targets:
            i = sess.searchsorted(t) - 1
            if i >= 0:
                before.append(sess[i])
        before.append(_nth_weekday(y, 11, 3, 4) + pd.Timedelta(days=1))
    out = pd.Series(SIFMA_EARLY_CLOSE, index=pd.DatetimeIndex(before).as_unit("ns"), dtype=object)
    out = out[~out.index.isin(noon)]
    out = pd.concat([out, pd.Series(SIFMA_GOOD_FRIDAY_CLOSE, index=pd.DatetimeIndex(noon).as_unit("ns"))])
    out = out[~out.index.duplicated()].sort_index()
    return out[(out.index.year >= start_year) & (out.index.year <= end_year)]


def _bond_calendar_class(code: str):
    """An ``exchange_calendars`` class for the rule calendars ``SIFMA`` and ``FRB`` (cached)."""
    from zoneinfo import ZoneInfo

    from exchange_calendars.exchange_calendar import ExchangeCalendar, HolidayCalendar

    lo, hi = _BOND_YEARS
    holidays = sifma_holidays(lo, hi) if code == "SIFMA" else fed_holidays(lo, hi)

    class _BondCalendar(ExchangeCalendar):
        name = code
        tz = ZoneInfo("America/New_York")
        open_times = ((None, dt.time(8, 0)),)
        close_times = ((None, dt.time(17, 0)),)

        @classmethod
        def bound_min(cls) -> pd.Timestamp:
            return pd.Timestamp(f"{lo}-01-01")

        @classmethod
        def bound_max(cls) -> pd.Timestamp:
            return pd.Timestamp(f"{hi}-12-31")

        @classmethod
        def default_start(cls) -> pd.Timestamp:
            return pd.Timestamp(f"{lo}-01-02")

        @classmethod
        def default_end(cls) -> pd.Timestamp:
            return pd.Timestamp(f"{hi}-12-31")

        @property
        def regular_holidays(self):
            return HolidayCalendar([])

        @property
        def adhoc_holidays(self):
            return list(holidays)

        @property
        def special_closes(self):
            return []

        @property
        def special_closes_adhoc(self):
            if code != "SIFMA":
                return []
            ec = sifma_early_closes(lo, hi)
            return [
                (t, pd.DatetimeIndex(ec.index[ec.to_numpy() == t]))
                for t in (SIFMA_EARLY_CLOSE, SIFMA_GOOD_FRIDAY_CLOSE)
            ]

    _BondCalendar.__name__ = f"{code}ExchangeCalendar"
    _BondCalendar.__qualname__ = _BondCalendar.__name__
    _BondCalendar.__doc__ = (
        "US bond market (SIFMA recommendations): holidays and early closes by rule."
        if code == "SIFMA"
        else "Federal Reserve holidays (days without H.10/H.15 values)."
    )
    return _BondCalendar


def register_bond_calendars() -> None:
    """Register ``SIFMA`` and ``FRB`` with ``exchange_calendars`` (``xc.get_calendar("SIFMA")``)."""
    import exchange_calendars as xc

    for code in ("SIFMA", "FRB"):
        if code not in xc.get_calendar_names(include_aliases=False):
            xc.register_calendar_type(code, _bond_calendar_class(code), force=True)
