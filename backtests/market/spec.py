"""Core market types: :class:`SeriesSpec` (what a series is), :class:`Provenance` (where its
numbers came from) and :class:`Market` (levels plus both).

Close times and time zones belong to the *source actually used* (H.15 yields are 15:30 New York
quotes, H.10 USD/JPY is the 12:00 New York buying rate, MOF JGB yields are 15:00 Tokyo values), so
alignment reads them from :attr:`Market.provenance` first and falls back to the spec's default.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

Kind = Literal["yield", "fx", "price"]


@dataclass(frozen=True)
class SourceRef:
    """One way of getting a series: source name, its code there, and that source's close.

    Parameters
    ----------
    source : str
        ``"fred"``, ``"mof"``, ``"yfinance"``, ``"sample"`` or ``"files"``.
    code : str
        The series code at that source (``"DGS10"``, ``"10Y"``, ``"^TNX"``, ...).
    close : datetime.time
        Local time at which the source's daily value is taken.
    tz : str
        IANA time zone of ``close``.
    scale : float
        Multiply the source's number by this to get the spec's unit (1.0 for most).
    publisher : str
        Who publishes the numbers (for report attribution).
    """

    source: str
    code: str
    close: dt.time
    tz: str
    scale: float = 1.0
    publisher: str = ""


#: Default plausible level range per kind (spec units): yields in percent, FX and prices positive.
PLAUSIBLE: dict[str, tuple[float, float]] = {
    "yield": (-5.0, 40.0),
    "fx": (0.0, float("inf")),
    "price": (0.0, float("inf")),
}


@dataclass(frozen=True)
class SeriesSpec:
    """What a market series is.

    Parameters
    ----------
    id : str
        Series id used as column name (``"ust_10y"``).
    description : str
        Human description.
    kind : {"yield", "fx", "price"}
        ``yield`` levels are in percent; changes become first differences in bp.
        ``fx`` and ``price`` changes become log returns in bp.
    unit : str
        Unit of the levels (``"percent"``, ``"JPY per USD"``, ``"index points"``).
    tz : str
        Default market time zone (IANA).
    close : datetime.time
        Default daily close (local time in ``tz``) used for day-0 alignment.
    calendar : str
        Trading calendar: an exchange_calendars code (``"XNYS"``, ``"XTKS"``) or ``"FX"``
        (24/5, Monday to Friday) or ``"data"`` (observed dates only).
    sources : tuple of SourceRef
        Sources in order of preference.
    valid_range : (float, float), optional
        Plausible levels (inclusive, spec units) checked on import: a value outside is refused.
        Default by kind (:data:`PLAUSIBLE`): yields -5..40 percent, FX and prices above 0.
    """

    id: str
    description: str
    kind: Kind
    unit: str
    tz: str
    close: dt.time
    calendar: str
    sources: tuple[SourceRef, ...] = ()
    valid_range: tuple[float, float] | None = None

    def plausible(self) -> tuple[float, float]:
        """(low, high) plausible levels: :attr:`valid_range`, else the default of the kind.

        A zero or negative FX rate or price is never plausible (low bound exclusive for those
        kinds is enforced as ``> 0`` by the importer).
        """
        return self.valid_range if self.valid_range is not None else PLAUSIBLE[self.kind]

    def source(self, name: str) -> SourceRef | None:
        """Return the :class:`SourceRef` for source ``name``, or None."""
        for s in self.sources:
            if s.source == name:
                return s
        return None


@dataclass
class Provenance:
    """Where one column of a :class:`Market` came from.

    ``origin`` is ``"snapshot"`` (bundled sample), ``"live"`` (fetched this run), ``"cache"``,
    or ``"user_file"``. ``stale`` is True when an offline run fell back to an old cache.
    ``snapshot_last`` is the bundled snapshot's last date (ISO) when ``origin == "snapshot"``.
    ``notes``: what the run had to work around for this series (a corrupt cache file quarantined,
    a cache that could not be updated); listed in the report's data-sources banner.
    """

    series: str
    source: str
    code: str
    publisher: str
    unit: str
    tz: str
    close: dt.time
    start: pd.Timestamp | None = None
    end: pd.Timestamp | None = None
    retrieved: str = ""
    origin: str = "live"
    stale: bool = False
    attribution: str = ""
    snapshot_last: str | None = None
    notes: list[str] = field(default_factory=list)  # e.g. a quarantined cache file (report banner)

    def to_dict(self) -> dict:
        """JSON-friendly dict (dates as ISO strings)."""
        d = dict(self.__dict__)
        d["notes"] = list(self.notes)
        d["close"] = self.close.strftime("%H:%M")
        for k in ("start", "end"):
            d[k] = None if d[k] is None else pd.Timestamp(d[k]).date().isoformat()
        return d


@dataclass
class Market:
    """Daily levels plus what each column is and where it came from.

    Attributes
    ----------
    levels : pandas.DataFrame
        DatetimeIndex of trading dates (naive, local market dates) x one column per series id.
        NaN where a series has no value on a date (another market's holiday).
    specs : dict of str to SeriesSpec
    provenance : dict of str to Provenance
    """

    levels: pd.DataFrame
    specs: dict[str, SeriesSpec]
    provenance: dict[str, Provenance] = field(default_factory=dict)

    @property
    def series(self) -> list[str]:
        """Series ids, in column order."""
        return list(self.levels.columns)

    def close_time(self, series: str) -> tuple[dt.time, str]:
        """(close time, IANA zone) of ``series``, from the source used, else the spec."""
        p = self.provenance.get(series)
        if p is not None:
            return p.close, p.tz
        s = self.specs[series]
        return s.close, s.tz

    def __getitem__(self, series: str | list[str]) -> Market:
        cols = [series] if isinstance(series, str) else list(series)
        return Market(
            self.levels[cols],
            {c: self.specs[c] for c in cols},
            {c: self.provenance[c] for c in cols if c in self.provenance},
        )

    def __repr__(self) -> str:
        lv = self.levels
        rng = f"{lv.index.min():%Y-%m-%d}..{lv.index.max():%Y-%m-%d}" if len(lv) else "empty"
        return f"Market({', '.join(map(str, lv.columns))}; {len(lv)} dates {rng})"
