"""Series registry: built-in :class:`SeriesSpec` per series id, user additions (Python or TOML).

Close times belong to the source (see :mod:`backtests.market.spec`):

======================  =========================  ==========================================
source                  close (local)              notes
======================  =========================  ==========================================
fred H.15 (DGS*)        15:30 America/New_York     bid-side quotes near 15:30 NY (H.15)
fred H.10 (DEXJPUS)     12:00 America/New_York     noon buying rate in New York
mof (JGB)               15:00 Asia/Tokyo           MOF end-of-day constant-maturity yields
yfinance ^IRX/^FVX/...  15:00 America/Chicago      Cboe yield indices, last value of the day
yfinance ^GSPC          16:00 America/New_York     NYSE close
yfinance JPY=X          23:59 Europe/London        Yahoo FX daily bars end at London midnight
sample                  same as the publisher      (the snapshot is H.15, H.10 and MOF data)
======================  =========================  ==========================================

Yahoo quotes the Cboe Treasury yield indices (``^IRX``, ``^FVX``, ``^TNX``, ``^TYX``) in percent
(``^TNX`` 4.48 = 4.48 %), so their scale is 1.0; quotes in Cboe's yield x 10 convention (older Yahoo
data) are detected by level and by comparison with the cache or the H.15 snapshot, and rescaled with
a warning (see :mod:`backtests.market.yahoo` and :func:`backtests.market.load.load_market`). ``^IRX``
is the 13-week bill rate, close to but not identical with H.15 ``DGS3MO``; there is no Cboe 2-year
index, so ``ust_2y`` has no yfinance source. Close times of Yahoo bars are
approximate (Yahoo publishes no fixing time).

Plausible levels (checked by ``newsbt import`` and ``load_market(source="files")``; a value outside
is refused with its row): yields -5..40 percent (every ``ust_*`` and ``jgb_*``), ``usdjpy`` 50..400
JPY per USD, other FX and prices above 0. Set ``valid_range`` on a :class:`SeriesSpec` (or
``range = [low, high]`` in a series TOML) for your own series.

Calendars: ``SIFMA`` (US bond market, with its early closes) for Treasuries, ``FRB`` (Federal
Reserve days) for the H.10 noon rate, ``XTKS`` for JGBs, ``XNYS`` for US equities; an unknown code
is an error naming the series (see :func:`backtests.calendar.check_calendar`).
"""

from __future__ import annotations

import datetime as dt
import logging
import tomllib
from collections.abc import Iterable
from pathlib import Path

from backtests.market.spec import SeriesSpec, SourceRef
from signals.errors import ConfigError, InputNotFoundError, UnknownSeriesError

log = logging.getLogger(__name__)

__all__ = ["get_spec", "list_series", "register_series", "yfinance_spec"]

NY, TOKYO = "America/New_York", "Asia/Tokyo"
H15 = "Board of Governors of the Federal Reserve System, H.15 Selected Interest Rates (via FRED)"
H10 = "Board of Governors of the Federal Reserve System, H.10 Foreign Exchange Rates (via FRED)"
MOF = "Ministry of Finance Japan, Interest Rate (JGB constant-maturity yields)"
YAHOO = "Yahoo Finance (via yfinance)"
_H15_CLOSE = dt.time(15, 30)
_H10_CLOSE = dt.time(12, 0)
_MOF_CLOSE = dt.time(15, 0)
_CBOE = (dt.time(15, 0), "America/Chicago")

_UST = {  # id: (FRED code, Yahoo ticker or None, description)
    "ust_3m": ("DGS3MO", "^IRX", "US Treasury 3-month constant-maturity yield"),
    "ust_2y": ("DGS2", None, "US Treasury 2-year constant-maturity yield"),
    "ust_5y": ("DGS5", "^FVX", "US Treasury 5-year constant-maturity yield"),
    "ust_10y": ("DGS10", "^TNX", "US Treasury 10-year constant-maturity yield"),
    "ust_30y": ("DGS30", "^TYX", "US Treasury 30-year constant-maturity yield"),
}
JGB_TENORS = (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40)


def _builtin() -> dict[str, SeriesSpec]:
    out: dict[str, SeriesSpec] = {}
    for sid, (fred, yahoo, desc) in _UST.items():
        srcs = [
            SourceRef("fred", fred, _H15_CLOSE, NY, 1.0, H15),
            SourceRef("sample", fred, _H15_CLOSE, NY, 1.0, H15),
        ]
        if yahoo:
            srcs.insert(1, SourceRef("yfinance", yahoo, *_CBOE, 1.0, YAHOO))
        out[sid] = SeriesSpec(
            sid,
            desc + " (percent, bond-equivalent)",
            "yield",
            "percent",
            NY,
            _H15_CLOSE,
            "SIFMA",
            tuple(srcs),
        )
    out["usdjpy"] = SeriesSpec(
        "usdjpy",
        "Japanese yen per US dollar",
        "fx",
        "JPY per USD",
        NY,
        _H10_CLOSE,
        "FRB",  # H.10 noon rates: Federal Reserve days (not every weekday)
        (
            SourceRef("fred", "DEXJPUS", _H10_CLOSE, NY, 1.0, H10),
            SourceRef("yfinance", "JPY=X", dt.time(23, 59), "Europe/London", 1.0, YAHOO),
            SourceRef("sample", "DEXJPUS", _H10_CLOSE, NY, 1.0, H10),
        ),
        valid_range=(50.0, 400.0),  # JPY per USD: 1971-2026 range 75.7..360, with room
    )
    for n in JGB_TENORS:
        sid = f"jgb_{n}y"
        out[sid] = SeriesSpec(
            sid,
            f"Japanese Government Bond {n}-year constant-maturity yield",
            "yield",
            "percent",
            TOKYO,
            _MOF_CLOSE,
            "XTKS",
            (
                SourceRef("mof", f"{n}Y", _MOF_CLOSE, TOKYO, 1.0, MOF),
                SourceRef("sample", f"{n}Y", _MOF_CLOSE, TOKYO, 1.0, MOF),
            ),
        )
    out["spx"] = SeriesSpec(
        "spx",
        "S&P 500 index (price)",
        "price",
        "index points",
        NY,
        dt.time(16),
        "XNYS",
        (
            SourceRef("yfinance", "^GSPC", dt.time(16), NY, 1.0, YAHOO),
            SourceRef("fred", "SP500", dt.time(16), NY, 1.0, "S&P Dow Jones Indices LLC (via FRED)"),
        ),
    )
    return out


_BUILTIN = _builtin()
_REGISTRY: dict[str, SeriesSpec] = dict(_BUILTIN)


def get_spec(series_id: str) -> SeriesSpec:
    """The :class:`SeriesSpec` of ``series_id``.

    ``"yf:<ticker>"`` ids (e.g. ``"yf:^N225"``) are specs made on the fly for any yfinance ticker
    (kind ``price``, NYSE calendar, 16:00 New York close; register your own spec for better).

    Raises
    ------
    UnknownSeriesError
        If the id is not registered (the message lists the known ids).
    """
    spec = _REGISTRY.get(series_id)
    if spec is not None:
        return spec
    if isinstance(series_id, str) and series_id.startswith("yf:") and len(series_id) > 3:
        return yfinance_spec(series_id[3:], series_id=series_id)
    raise UnknownSeriesError(
        f"unknown series {series_id!r}; known: {', '.join(sorted(_REGISTRY))}. Add one with "
        "backtests.register_series(SeriesSpec(...)) or a TOML file, or use 'yf:<ticker>'"
    )


def list_series() -> list[str]:
    """Registered series ids, sorted."""
    return sorted(_REGISTRY)


def yfinance_spec(
    ticker: str,
    *,
    series_id: str | None = None,
    kind: str = "price",
    unit: str = "price",
    tz: str = NY,
    close: dt.time = dt.time(16),
    calendar: str = "XNYS",
) -> SeriesSpec:
    """A spec for any yfinance ticker (not registered; pass it to :func:`register_series`)."""
    sid = series_id or ticker
    return SeriesSpec(
        sid,
        f"Yahoo Finance {ticker}",
        kind,  # type: ignore[arg-type]
        unit,
        tz,
        close,
        calendar,
        (SourceRef("yfinance", ticker, close, tz, 1.0, YAHOO),),
    )


def _time(v: object, where: str) -> dt.time:
    if isinstance(v, dt.time):
        return v
    try:
        return dt.time.fromisoformat(str(v))
    except ValueError as exc:
        raise ConfigError(f"{where}: close time {v!r} is not HH:MM") from exc


def _spec_from_table(sid: str, t: dict, where: str) -> SeriesSpec:
    need = ("kind", "unit", "tz", "close", "calendar")
    miss = [k for k in need if k not in t]
    if miss:
        raise ConfigError(f"{where}: series {sid!r} lacks {', '.join(miss)}")
    if t["kind"] not in ("yield", "fx", "price"):
        raise ConfigError(f"{where}: series {sid!r} kind {t['kind']!r} must be yield, fx or price")
    srcs = []
    for i, s in enumerate(t.get("sources", [])):
        if "source" not in s or "code" not in s:
            raise ConfigError(f"{where}: series {sid!r} sources[{i}] needs 'source' and 'code'")
        srcs.append(
            SourceRef(
                str(s["source"]),
                str(s["code"]),
                _time(s.get("close", t["close"]), where),
                str(s.get("tz", t["tz"])),
                float(s.get("scale", 1.0)),
                str(s.get("publisher", "")),
            )
        )
    return SeriesSpec(
        sid,
        str(t.get("description", sid)),
        t["kind"],
        str(t["unit"]),
        str(t["tz"]),
        _time(t["close"], where),
        str(t["calendar"]),
        tuple(srcs),
        _range(t.get("range"), sid, where),
    )


def _range(v: object, sid: str, where: str) -> tuple[float, float] | None:
    if v is None:
        return None
    ok = isinstance(v, list) and len(v) == 2 and all(isinstance(x, int | float) and not isinstance(x, bool) for x in v)
    if not ok or v[0] >= v[1]:
        raise ConfigError(f"{where}: series {sid!r} range {v!r} must be [low, high] numbers with low < high")
    return float(v[0]), float(v[1])


def _validate(spec: SeriesSpec) -> None:
    import zoneinfo

    from backtests.calendar import check_calendar

    check_calendar(spec.calendar, spec.id)
    if spec.kind not in ("yield", "fx", "price"):
        raise ConfigError(f"series {spec.id!r}: kind {spec.kind!r} must be yield, fx or price")
    for z in {spec.tz, *(s.tz for s in spec.sources)}:
        try:
            zoneinfo.ZoneInfo(z)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigError(f"series {spec.id!r}: unknown time zone {z!r} (use an IANA name)") from exc


def register_series(spec: SeriesSpec | str | Path, *, replace: bool = False) -> list[SeriesSpec]:
    """Add series to the registry (for this process).

    Parameters
    ----------
    spec : SeriesSpec, or path of a TOML file
        TOML: one table per series under ``[series.<id>]`` with ``kind``, ``unit``, ``tz``,
        ``close`` ("HH:MM"), ``calendar``, optional ``description``, optional ``range = [low,
        high]`` (plausible levels checked on import) and ``[[series.<id>.sources]]``
        (``source``, ``code``, optional ``close``, ``tz``, ``scale``, ``publisher``).
    replace : bool
        Allow replacing an already registered, different spec with the same id.

    Returns
    -------
    list of SeriesSpec
        The specs registered.

    Raises
    ------
    ConfigError
        Invalid spec or TOML, or an id clash without ``replace=True``.
    """
    if isinstance(spec, SeriesSpec):
        specs: Iterable[SeriesSpec] = [spec]
    elif isinstance(spec, str | Path):
        p = Path(spec)
        if not p.is_file():
            raise InputNotFoundError(f"series TOML {p} not found")
        try:
            doc = tomllib.loads(p.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{p}: invalid TOML ({exc})") from exc
        tables = doc.get("series")
        if not isinstance(tables, dict) or not tables:
            raise ConfigError(f"{p}: no [series.<id>] tables found")
        specs = [_spec_from_table(sid, t, str(p)) for sid, t in tables.items()]
    else:
        raise ConfigError(f"register_series takes a SeriesSpec or a TOML path, got {type(spec).__name__}")
    specs = list(specs)
    for s in specs:
        _validate(s)
        old = _REGISTRY.get(s.id)
        if old is not None and old != s and not replace:
            raise ConfigError(f"series {s.id!r} is already registered; pass replace=True to replace it")
    for s in specs:
        _REGISTRY[s.id] = s
        log.info("registered series %s", s.id)
    return specs


def _reset_registry() -> None:
    """Back to the built-in specs (for tests)."""
    _REGISTRY.clear()
    _REGISTRY.update(_BUILTIN)
