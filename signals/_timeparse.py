"""One vectorised parser of real-world news timestamps to UTC, used by every reader.

Forms accepted (the README's timestamp table says the same, with examples):

- ISO 8601 with an offset (``Z``, ``+09:00``, ``+0900``, ``+09``, `` UTC``/`` GMT``) or with a
  zone abbreviation from :data:`signals._tzabbrev.TZ_ABBREVIATIONS` (``2025-05-02 09:00 JST``);
- ISO 8601 without a zone, ``YYYYMMDDhhmm`` and ``YYYYMMDDhhmmss`` (GDELT): naive, placed in
  ``tz`` (the GDELT reader fixes UTC); without ``tz`` they are rejected (``naive_timestamp``);
- bare dates ``YYYY-MM-DD`` and ``YYYYMMDD`` (also as integers): placed at 23:59:59 of that day
  in ``tz`` (never used before the news could be known), ``published_precision="day"``;
- RFC 822 / free-form (``Mon, 29 Jul 2019 13:55 GMT``, ``Wed Sep 15, 2010 12:30am EDT``,
  ``7:51 PM ET Fri, 17 July 2020``): numeric offsets, or abbreviations through the table;
- epoch seconds / milliseconds ONLY where declared (``epoch="s"|"ms"``), or in a column the user
  named whose every value is a number in the plausible epoch range of one unit. An undeclared
  number is a reject (``epoch_not_declared``); 8/12/14-digit numbers are dates, never epochs.

Every value outside the plausible range (default 1900-01-01 to now + 1 day) is a reject
``out_of_range``. No pandas exception reaches the caller: a value pandas cannot hold (year 0001,
9999) is ``out_of_range`` too. The fast paths work on whole columns; only free-form strings are
parsed one distinct value at a time.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from signals._tzabbrev import NOT_ZONES, lookup
from signals.errors import ConfigError

__all__ = ["REASONS", "parse_timestamps", "resolve_range", "resolve_tz"]

# reasons (stable codes, used in rejects tables)
NAIVE = "naive_timestamp"
DATE_NEEDS_TZ = "date_only_without_tz"
UNPARSEABLE = "unparseable_timestamp"
MISSING = "missing_timestamp"
LOCAL_GAP = "nonexistent_or_ambiguous_local_time"
UNKNOWN_TZ = "unknown_tz_abbreviation"
CONFLICT_TZ = "conflicting_tz_offset"
OUT_OF_RANGE = "out_of_range"
EPOCH_UNDECLARED = "epoch_not_declared"
AMBIGUOUS_DM = "ambiguous_day_month"
REASONS = (NAIVE, DATE_NEEDS_TZ, UNPARSEABLE, MISSING, LOCAL_GAP, UNKNOWN_TZ, CONFLICT_TZ, OUT_OF_RANGE,
           EPOCH_UNDECLARED, AMBIGUOUS_DM)  # fmt: skip
#: a numeric day/month/year or month/day/year date: "02/05/2025" is 2 May or 5 February
_NUMERIC_DMY = re.compile(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4})(?!\d)")

_NAT = np.iinfo(np.int64).min
_ISO_BODY = r"(?P<y>\d{4})-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?"
_ISO_AWARE = re.compile(rf"^{_ISO_BODY}\s*(?P<z>Z|[+-]\d{{2}}(?::?\d{{2}})?|UTC|GMT)$")
_ISO_ABBR = re.compile(rf"^(?P<t>{_ISO_BODY})\s*\(?(?P<a>[A-Za-z]{{2,5}})\)?$")
_ISO_NAIVE = re.compile(rf"^{_ISO_BODY}$")
_DATE = re.compile(r"^(?P<y>\d{4})-?\d{2}-?\d{2}$")
_COMPACT = re.compile(r"^(?P<y>\d{4})\d{8}(?:\d{2})?$")  # YYYYMMDDhhmm[ss]
_NUMBER = re.compile(r"^[+-]?\d+(?:\.\d*)?$")
# a numeric offset right after a time (09:00:00+0900) or after a space, never a date's hyphen
_NUM_OFFSET = re.compile(r"(?:(?<=:\d\d)|(?<=\s)|^)([+-])(\d{2}):?(\d{2})\b")
_GMT_OFFSET = re.compile(r"\b(?:GMT|UTC|UT)([+-])(\d{1,2})(?::?(\d{2}))?\b")  # JavaScript "GMT+0900", "UTC+9"
_IANA_SUFFIX = re.compile(r"\[([A-Za-z_]+(?:/[A-Za-z0-9_+\-]+)+)\]\s*$")  # RFC 9557 "...+09:00[Asia/Tokyo]"
_COMMENT = re.compile(r"\(([^()]*)\)")
_ALPHA = re.compile(r"(?<![A-Za-z])[A-Za-z]+(?![A-Za-z])")
_RFC822 = re.compile(r"^(?:[A-Za-z]{3},?\s+)?\d{1,2}\s+[A-Za-z]{3}\s+\d{4}\s+\d{1,2}:\d{2}(?::\d{2})?$")
_PANDAS_YEARS = (1678, 2261)


def resolve_tz(tz: str | dt.tzinfo | None) -> dt.tzinfo | None:
    """Return a tzinfo for an IANA name (or pass a tzinfo through); ``None`` stays ``None``."""
    if tz is None or isinstance(tz, dt.tzinfo):
        return tz
    try:
        return ZoneInfo(str(tz))
    except Exception as exc:  # ZoneInfoNotFoundError, ValueError
        raise ConfigError(
            f"tz={tz!r} is not an IANA time zone name: use e.g. 'UTC', 'America/New_York', "
            "'Asia/Tokyo' (CLI --tz, config [articles].tz)"
        ) from exc


_PANDAS_RANGE = (
    pd.Timestamp("1678-01-01", tz="UTC").as_unit("ns"),
    pd.Timestamp("2261-12-31", tz="UTC").as_unit("ns"),
)


def resolve_range(valid_range=None) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The plausible range of article timestamps as two UTC Timestamps.

    Parameters
    ----------
    valid_range : (start, end), optional
        Dates or date-times (naive = UTC); either may be ``None``. Default 1900-01-01 to now + 1 day.
    """
    lo, hi = (None, None) if valid_range is None else tuple(valid_range)
    try:
        lo = pd.Timestamp("1900-01-01", tz="UTC") if lo is None else pd.Timestamp(lo)
        hi = pd.Timestamp.now(tz="UTC") + pd.Timedelta(days=1) if hi is None else pd.Timestamp(hi)
    except (ValueError, TypeError, OverflowError) as exc:
        raise ConfigError(
            f"published_range={valid_range!r}: give two dates YYYY-MM-DD "
            "(CLI --published-range, config [articles].published_range)"
        ) from exc
    lo = lo.tz_localize("UTC") if lo.tzinfo is None else lo.tz_convert("UTC")
    hi = hi.tz_localize("UTC") if hi.tzinfo is None else hi.tz_convert("UTC")
    if lo >= hi:
        raise ConfigError(f"published_range={valid_range!r}: the start must be before the end")
    return lo.as_unit("ns"), hi.as_unit("ns")


class _Acc:
    """Per-row results as numpy arrays (int64 ns with a NaT sentinel)."""

    def __init__(self, n: int):
        self.utc = np.full(n, _NAT, dtype=np.int64)
        self.naive = np.full(n, _NAT, dtype=np.int64)
        self.zone = np.empty(n, dtype=object)  # tzinfo for naive values with their own zone
        self.is_naive = np.zeros(n, dtype=bool)
        self.is_day = np.zeros(n, dtype=bool)
        self.prec = np.full(n, "second", dtype=object)
        self.reason = np.full(n, "", dtype=object)

    def set_utc(self, mask: np.ndarray, ts) -> None:
        self.utc[mask] = _ns(ts)


def _ns(ts) -> np.ndarray:
    """int64 ns (UTC for aware input), NaT -> sentinel."""
    idx = pd.DatetimeIndex(ts)
    if idx.tz is not None:
        idx = idx.tz_convert("UTC").tz_localize(None)
    return idx.as_unit("ns").asi8


def _year_ok(years: pd.Series) -> np.ndarray:
    y = pd.to_numeric(years, errors="coerce").to_numpy()
    return (y >= _PANDAS_YEARS[0]) & (y <= _PANDAS_YEARS[1])


def _localise(acc: _Acc, zone: dt.tzinfo | None) -> None:
    """Place naive values (own zone first, else ``zone``) and bare dates (end of day) in UTC."""
    for is_day in (False, True):
        rows = acc.is_naive & (acc.is_day == is_day) & (acc.reason == "")
        if not rows.any():
            continue
        own = np.array([z is not None for z in acc.zone]) & rows
        groups: dict[dt.tzinfo | None, np.ndarray] = {None: rows & ~own}
        for z in {acc.zone[i] for i in np.flatnonzero(own)}:
            groups[z] = own & np.array([zz == z for zz in acc.zone])
        for z, m in groups.items():
            if not m.any():
                continue
            z = z if z is not None else zone
            if z is None:
                acc.reason[m] = DATE_NEEDS_TZ if is_day else NAIVE
                continue
            naive = pd.DatetimeIndex(acc.naive[m].view("datetime64[ns]"))
            if is_day:  # a day's last second; a rare gap there moves it back, never forward
                naive = naive + pd.Timedelta(hours=23, minutes=59, seconds=59)
                loc = naive.tz_localize(z, ambiguous="NaT", nonexistent="shift_backward")
            else:
                loc = naive.tz_localize(z, ambiguous="NaT", nonexistent="NaT")
            v = _ns(loc)
            acc.utc[m] = v
            sub = acc.reason[m]
            sub[v == _NAT] = LOCAL_GAP
            acc.reason[m] = sub


def _epoch_unit(v: np.ndarray, epoch: str | None, named: bool, lo_s: float, hi_s: float) -> str | None:
    """``"s"``/``"ms"`` when the numbers are epochs (declared, or named and all plausible)."""
    if epoch is not None:
        return epoch
    if not named or len(v) == 0 or not np.isfinite(v).all():
        return None
    for unit, k in (("s", 1.0), ("ms", 1000.0)):
        if ((v >= max(lo_s, 1e8) * k) & (v <= hi_s * k)).all():
            return unit
    return None


def _numbers(acc: _Acc, m: np.ndarray, v: np.ndarray, digits: np.ndarray, epoch, named, rng) -> None:
    """Numbers: declared epochs, else 8-digit dates and 12/14-digit date-times, else rejects."""
    lo_s, hi_s = rng[0].value / 1e9, rng[1].value / 1e9
    unit = _epoch_unit(v[m], epoch, named and epoch is None and not np.isin(digits[m], (8, 12, 14)).any(),
                       lo_s, hi_s)  # fmt: skip
    if unit is not None:
        secs = v / (1000.0 if unit == "ms" else 1.0)
        ok = m & np.isfinite(secs) & (secs >= lo_s) & (secs <= hi_s)
        acc.utc[ok] = np.round(secs[ok] * 1e9).astype(np.int64)
        acc.reason[m & ~ok] = OUT_OF_RANGE
        return
    whole = np.isfinite(v) & (np.floor(v) == v)
    as_text = np.where(whole & m, np.abs(v), 0).astype(np.int64).astype(str)
    for nd, fmt, prec in ((8, "%Y%m%d", "day"), (12, "%Y%m%d%H%M", "minute"), (14, "%Y%m%d%H%M%S", "second")):
        k = m & whole & (v > 0) & (digits == nd)
        if k.any():
            _compact(acc, k, pd.Series(as_text[k]), fmt, prec)
    rest = m & ~(whole & (v > 0) & np.isin(digits, (8, 12, 14)))
    acc.reason[rest & (digits >= 9) & (digits <= 13)] = EPOCH_UNDECLARED
    acc.reason[rest & ~((digits >= 9) & (digits <= 13))] = UNPARSEABLE


def _compact(acc: _Acc, k: np.ndarray, text: pd.Series, fmt: str, prec: str) -> None:
    """YYYYMMDD[hhmm[ss]] strings at rows ``k`` -> naive values (or out_of_range/unparseable)."""
    ok_year = _year_ok(text.str.slice(0, 4))
    parsed = pd.to_datetime(text.where(ok_year, ""), format=fmt, errors="coerce")
    v = _ns(parsed)
    acc.naive[k] = v
    acc.is_naive[k] = True
    acc.is_day[k] = prec == "day"
    acc.prec[k] = prec
    sub = acc.reason[k]
    sub[(v == _NAT) & ok_year] = UNPARSEABLE
    sub[~ok_year] = OUT_OF_RANGE
    acc.reason[k] = sub


def _strings(acc: _Acc, s: pd.Series, todo: np.ndarray, epoch, named, rng) -> None:
    """The vectorised string forms; free-form leftovers one distinct value at a time."""
    n_values = int(todo.sum())  # epochs are inferred only when EVERY value is a number
    has_sec = s.str.contains(r"\d:\d{2}:\d{2}", regex=True).to_numpy(dtype=bool)

    def match(rx: re.Pattern) -> np.ndarray:
        out = np.zeros(len(s), dtype=bool)
        if todo.any():
            out[todo] = s[todo].str.match(rx.pattern).to_numpy(dtype=bool)  # a str: Arrow's RE2
            todo[out] = False
        return out

    m = match(_ISO_AWARE)
    if m.any():
        sub = s[m]
        ok = _year_ok(sub.str.slice(0, 4))
        plain = sub.str.match(r"^[0-9T:. -]+(?:Z|[+-]\d{2}:\d{2})$").to_numpy(dtype=bool) & ok
        parsed = pd.Series(pd.NaT, index=sub.index, dtype="datetime64[ns, UTC]")
        if plain.any():  # the usual shapes pandas reads as they are
            parsed[plain] = pd.to_datetime(sub[plain], utc=True, format="ISO8601", errors="coerce")
        odd = ok & ~plain
        if odd.any():
            norm = (
                sub[odd]
                .str.replace(r"\s*(?:UTC|GMT|Z)$", "+00:00", regex=True)
                .str.replace(r"([+-]\d{2})$", r"\1:00", regex=True)
                .str.replace(",", ".", regex=False)
                .str.replace(r"\s+([+-]\d)", r"\1", regex=True)
            )
            parsed[odd] = pd.to_datetime(norm, utc=True, format="ISO8601", errors="coerce")
        acc.utc[m] = _ns(parsed)
        acc.prec[m] = np.where(has_sec[m], "second", "minute")
        r = acc.reason[m]
        r[(acc.utc[m] == _NAT) & ok] = UNPARSEABLE
        r[~ok] = OUT_OF_RANGE
        acc.reason[m] = r
    m = match(_ISO_ABBR)
    if m.any():
        parts = s[m].str.extract(_ISO_ABBR)
        _naive_iso(acc, m, parts["t"], has_sec)
        zones = [lookup(a) for a in parts["a"]]
        acc.zone[m] = zones
        r = acc.reason[m]
        r[[z is None for z in zones]] = UNKNOWN_TZ
        acc.reason[m] = np.where(acc.reason[m] == "", r, acc.reason[m])
    m = match(_ISO_NAIVE)
    if m.any():
        _naive_iso(acc, m, s[m], has_sec)
    if epoch is not None:  # declared: every number is an epoch, whatever its digits
        _number_strings(acc, s, match(_NUMBER), epoch, named, rng)
    m = match(_DATE)
    if m.any():
        _compact(acc, m, s[m].str.replace("-", "", regex=False), "%Y%m%d", "day")
    m = match(_COMPACT)
    if m.any():
        for nd, fmt, prec in ((12, "%Y%m%d%H%M", "minute"), (14, "%Y%m%d%H%M%S", "second")):
            k = m & (s.str.len().to_numpy() == nd)
            if k.any():
                _compact(acc, k, s[k], fmt, prec)
    m = match(_NUMBER)
    _number_strings(acc, s, m, epoch, named and int(m.sum()) == n_values, rng)
    if todo.any():
        _free_forms(acc, s, todo)


def _number_strings(acc: _Acc, s: pd.Series, m: np.ndarray, epoch, named, rng) -> None:
    if m.any():
        num = np.full(len(s), np.nan)
        num[m] = pd.to_numeric(s[m], errors="coerce").to_numpy(dtype=float)
        digits = np.zeros(len(s), dtype=int)
        digits[m] = s[m].str.replace(r"^[+-]", "", regex=True).str.split(".").str[0].str.len().to_numpy()
        _numbers(acc, m, num, digits, epoch, named, rng)


def _naive_iso(acc: _Acc, m: np.ndarray, text: pd.Series, has_sec: np.ndarray) -> None:
    ok = _year_ok(text.str.slice(0, 4))
    parsed = pd.to_datetime(text.where(ok, "").str.replace(",", ".", regex=False), format="ISO8601",
                            errors="coerce")  # fmt: skip
    v = _ns(parsed)
    acc.naive[m] = v
    acc.is_naive[m] = True
    acc.prec[m] = np.where(has_sec[m], "second", "minute")
    r = acc.reason[m]
    r[(v == _NAT) & ok] = UNPARSEABLE
    r[~ok] = OUT_OF_RANGE
    acc.reason[m] = r


def _zone_of(text: str) -> tuple[str, dt.tzinfo | None, str, bool]:
    """Strip the zone from a free-form value.

    Returns (rest, tzinfo or None, reject reason or "", whether an unknown word was removed).
    A numeric offset wins; a bracketed IANA zone or a parenthesised abbreviation must agree with
    it; a parenthesised comment that is not a zone (``(Japan Standard Time)``) is ignored when
    an offset is given.
    """
    zone: dt.tzinfo | None = None
    iana = _IANA_SUFFIX.search(text)
    if iana:
        try:
            zone = ZoneInfo(iana.group(1))
        except Exception:  # ZoneInfoNotFoundError, ValueError
            return text, None, UNKNOWN_TZ, False
        text = text[: iana.start()]
    text = _GMT_OFFSET.sub(lambda m: f" {m[1]}{int(m[2]):02d}{m[3] or '00'}", text)
    num = _NUM_OFFSET.search(text)
    if num:
        sign = -1 if num.group(1) == "-" else 1
        off = sign * (int(num.group(2)) * 3600 + int(num.group(3)) * 60)
        if abs(off) > 14 * 3600:
            return text, None, UNPARSEABLE, False
        fixed = dt.timezone(dt.timedelta(seconds=off))
        if zone is not None and not _agrees(fixed, zone):
            return text, None, CONFLICT_TZ, False
        zone = fixed
        text = text[: num.start()] + " " + text[num.end() :]
        comments = [c.strip() for c in _COMMENT.findall(text)]
        text = _COMMENT.sub(" ", text)
        for c in comments:  # "(JST)" must agree; "(Japan Standard Time)" is a comment
            z = lookup(c) if c.isalpha() else None
            if z is not None and not _agrees(zone, z):
                return text, None, CONFLICT_TZ, False
    unknown = False
    for a in [w for w in _ALPHA.findall(text) if w.upper() not in NOT_ZONES]:
        z = lookup(a)
        if z is None:
            unknown = True
        elif zone is not None and not _agrees(zone, z):
            return text, None, CONFLICT_TZ, False
        zone = zone or z
        text = re.sub(rf"\(?(?<![A-Za-z]){a}(?![A-Za-z])\)?", " ", text)
    return " ".join(text.split()), zone, "", unknown


def _agrees(a: dt.tzinfo, b: dt.tzinfo) -> bool:
    """Offsets that can be the same zone (b in winter or in summer)."""
    jan, jul = dt.datetime(2020, 1, 15), dt.datetime(2020, 7, 15)
    return a.utcoffset(jan) in (b.utcoffset(jan), b.utcoffset(jul)) or a.utcoffset(jul) in (
        b.utcoffset(jan),
        b.utcoffset(jul),
    )


def _parse_free(value: str) -> tuple[str, object, str, dt.tzinfo | None]:
    """One free-form value -> (kind, value, precision, zone); kind "naive", "day" or a reason.

    A word that is neither a known zone nor a date word makes the value a reject:
    ``unknown_tz_abbreviation`` when the rest is a date-time (the word was its zone),
    ``unparseable_timestamp`` otherwise.
    """
    rest, zone, why, unknown = _zone_of(value)
    if why:
        return why, None, "", None
    r = _parse_rest(rest, zone)
    if unknown:
        return (UNKNOWN_TZ if r[0] == "naive" else UNPARSEABLE), None, "", None
    return r


def _parse_rest(rest: str, zone: dt.tzinfo | None) -> tuple[str, object, str, dt.tzinfo | None]:
    parsed = email.utils.parsedate(rest) if _RFC822.match(rest) else None
    if parsed is not None:
        try:
            naive = dt.datetime(*parsed[:6])
        except ValueError:
            return UNPARSEABLE, None, "", None
        return "naive", naive, "second" if rest.count(":") >= 2 else "minute", zone
    m = _NUMERIC_DMY.match(rest)
    if m and int(m[1]) <= 12 and int(m[2]) <= 12 and m[1].lstrip("0") != m[2].lstrip("0"):
        return AMBIGUOUS_DM, None, "", None  # never guess: 02/05 is 2 May or 5 February
    from dateutil import parser as du

    try:
        a = du.parse(rest, default=dt.datetime(1904, 1, 1, 0, 0, 0))
        b = du.parse(rest, default=dt.datetime(1908, 2, 2, 1, 1, 1))
    except (ValueError, OverflowError, TypeError):
        return UNPARSEABLE, None, "", None
    if a.date() != b.date():
        return UNPARSEABLE, None, "", None  # year, month or day missing: not a timestamp
    if a.tzinfo is not None or b.tzinfo is not None:
        return UNKNOWN_TZ, None, "", None  # a zone dateutil saw that the table does not hold
    if a.hour != b.hour:
        return "day", dt.datetime(a.year, a.month, a.day), "day", zone
    if a.minute != b.minute:  # "3pm": the hour is known, the minute is 0
        return "naive", a.replace(minute=0, second=0), "minute", zone
    prec = "second" if a.second == b.second else "minute"
    return "naive", a.replace(second=a.second if prec == "second" else 0), prec, zone


def _free_forms(acc: _Acc, s: pd.Series, rows: np.ndarray) -> None:
    cache: dict[str, tuple] = {}
    for pos in np.flatnonzero(rows):
        text = s.iat[pos]
        r = cache.get(text)
        if r is None:
            r = cache[text] = _parse_free(text)
        kind, value, prec, zone = r
        if kind not in ("naive", "day"):
            acc.reason[pos] = kind
            continue
        if not (_PANDAS_YEARS[0] <= value.year <= _PANDAS_YEARS[1]):
            acc.reason[pos] = OUT_OF_RANGE
            continue
        acc.naive[pos] = pd.Timestamp(value).as_unit("ns").value
        acc.is_naive[pos] = True
        acc.is_day[pos] = kind == "day"
        acc.prec[pos] = prec
        acc.zone[pos] = zone


def _datetimes(acc: _Acc, values: pd.Series) -> None:
    """datetime64 columns of any unit (Parquet may hold years nanoseconds cannot)."""
    aware = getattr(values.dt, "tz", None) is not None
    lo, hi = (
        _PANDAS_RANGE if aware else (_PANDAS_RANGE[0].tz_localize(None), _PANDAS_RANGE[1].tz_localize(None))
    )
    inside = ((values >= lo) & (values <= hi)).to_numpy(dtype=bool)
    v = np.full(len(values), _NAT, dtype=np.int64)
    v[inside] = _ns(values[inside])
    if aware:
        acc.utc[:] = v
    else:
        acc.naive[:] = v
        acc.is_naive[:] = True
    acc.reason[~inside] = OUT_OF_RANGE
    acc.reason[values.isna().to_numpy()] = MISSING


def parse_timestamps(
    values: pd.Series,
    tz: str | dt.tzinfo | None = None,
    *,
    assume_tz: dt.tzinfo | str | None = None,
    epoch: str | None = None,
    valid_range=None,
    named: bool = False,
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Parse a column of timestamps to UTC.

    Parameters
    ----------
    values : pandas.Series
        Strings, numbers or datetimes.
    tz : str or tzinfo, optional
        Zone of naive date-times and bare dates. ``None``: naive values are rejected.
    assume_tz : str or tzinfo, optional
        Zone that overrides ``tz`` for this column (formats whose spec fixes it: GDELT is UTC).
    epoch : {"s", "ms"}, optional
        The column holds epoch seconds / milliseconds (UTC).
    valid_range : (start, end), optional
        Plausible range (see :func:`resolve_range`; ``read_articles`` passes 1900-01-01 .. now +
        1 day by default). ``None``: only the years pandas can hold (1678-2261).
    named : bool
        The user named this column: a numeric column whose every value is a plausible epoch in
        one unit is then read as epochs without ``epoch=``.

    Returns
    -------
    published : Series of datetime64[ns, UTC]
        NaT where rejected.
    precision : Series of str
        ``"day"`` (bare date, placed at 23:59:59 local), ``"minute"`` or ``"second"``.
    reason : Series of str
        ``""`` when parsed, else a reject code from :data:`REASONS`.
    """
    if epoch not in (None, "s", "ms"):
        raise ConfigError(f"epoch={epoch!r}: use 's' or 'ms' (CLI --epoch, config [articles].epoch)")
    zone = resolve_tz(assume_tz if assume_tz is not None else tz)
    # articles pass their plausible range; other tables (events) only the bounds pandas can hold
    rng = resolve_range(valid_range) if valid_range is not None else _PANDAS_RANGE
    idx = values.index
    acc = _Acc(len(values))
    if len(values):
        kind = values.dtype
        if pd.api.types.is_datetime64_any_dtype(kind):
            _datetimes(acc, values)
        elif pd.api.types.is_bool_dtype(kind):
            acc.reason[:] = UNPARSEABLE
        elif pd.api.types.is_numeric_dtype(kind):
            v = values.astype("float64").to_numpy()
            miss = np.isnan(v)
            acc.reason[miss] = MISSING
            digits = np.where(miss, 0, np.floor(np.log10(np.maximum(np.abs(np.nan_to_num(v)), 1))) + 1)
            _numbers(acc, ~miss, v, digits.astype(int), epoch, named, rng)
        else:
            s = values.astype("string").str.strip()
            missing = (s.isna() | (s == "")).to_numpy()
            acc.reason[missing] = MISSING
            _strings(acc, s.fillna(""), ~missing, epoch, named, rng)
        _localise(acc, zone)
    ok = (acc.reason == "") & (acc.utc != _NAT)
    acc.reason[(acc.reason == "") & ~ok] = UNPARSEABLE
    far = ok & ((acc.utc < rng[0].value) | (acc.utc > rng[1].value))
    acc.reason[far] = OUT_OF_RANGE
    acc.utc[~ok | far] = _NAT
    out = pd.Series(pd.DatetimeIndex(acc.utc.view("datetime64[ns]")).tz_localize("UTC"), index=idx)
    return out, pd.Series(acc.prec, index=idx), pd.Series(acc.reason, index=idx)
