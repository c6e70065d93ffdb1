"""Levels to daily changes in basis points.

Yields (percent) become first differences x 100 (bp); FX rates and prices become log returns
x 1e4 (bp). Changes are taken between consecutive *non-missing* observations of each series on
its own, so a holiday in Tokyo does not create a NaN (or a two-day change) in New York series: the
change after a gap is the change between the two sessions around it (not divided by the gap) and is
placed on the date of the later observation. The first observation of each series has no change
(NaN).
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from backtests.market.spec import Market
from signals.errors import InputFormatError

log = logging.getLogger(__name__)

__all__ = ["series_attrs", "to_changes"]

# bp changes of yields quoted with <= 3 decimals have <= 1 decimal; rounding at 1e-9 bp removes
# the binary floating-point noise of the subtraction without touching any real digit.
_YIELD_ROUND = 9


def series_attrs(market: Market) -> dict[str, dict[str, Any]]:
    """Per-series alignment metadata as a plain JSON-able dict.

    Parameters
    ----------
    market : Market

    Returns
    -------
    dict
        ``{series_id: {"kind", "tz", "close" ("HH:MM", local), "calendar", "unit": "bp",
        "source", "level_unit"}}``; close and tz come from the provenance (the source actually
        used), else from the spec.
    """
    out: dict[str, dict[str, Any]] = {}
    for sid in market.levels.columns:
        spec = market.specs[sid]
        close, tz = market.close_time(sid)
        prov = market.provenance.get(sid)
        out[str(sid)] = {
            "kind": spec.kind,
            "tz": tz,
            "close": close.strftime("%H:%M"),
            "calendar": spec.calendar,
            "unit": "bp",
            "level_unit": spec.unit,
            "source": prov.source if prov is not None else "",
        }
    return out


def to_changes(market: Market, gaps: bool = False) -> pd.DataFrame | tuple[pd.DataFrame, pd.DataFrame]:
    """Daily changes of every series of ``market``, in basis points.

    Parameters
    ----------
    market : Market
        Levels (yields in percent, FX in units of quote currency, prices in points/dollars).
    gaps : bool, default False
        Also return the gap lengths.

    Returns
    -------
    changes : pandas.DataFrame
        Same index and columns as ``market.levels``. ``yield``: ``100 * (y_t - y_prev)`` bp;
        ``fx``/``price``: ``1e4 * ln(p_t / p_prev)`` bp, where ``prev`` is the series' previous
        non-missing observation. NaN where the series has no level and on its first observation.
        ``changes.attrs["newsbt_series"]`` carries each series' kind, zone, close, calendar and unit
        so that :func:`backtests.calendar.align_events` works from this frame alone.
    gap_days : pandas.DataFrame, only if ``gaps=True``
        Calendar days between the observation and the previous one of the same series (1 for
        consecutive days, 3 over a weekend, 5 over Golden Week ...), float with NaN where the
        change is NaN.

    Raises
    ------
    InputFormatError
        If ``market`` is not a Market, the index is not a DatetimeIndex, or an ``fx``/``price``
        series has a level <= 0 (a log return would be undefined).
    """
    if not isinstance(market, Market):
        raise InputFormatError(
            f"to_changes needs a backtests.Market (from backtests.load_market), got {type(market).__name__}"
        )
    lv = market.levels
    if not isinstance(lv.index, pd.DatetimeIndex):
        raise InputFormatError("Market.levels must have a DatetimeIndex of trading dates")
    idx = lv.index
    chg = pd.DataFrame(np.nan, index=idx, columns=lv.columns, dtype=float)
    gap = pd.DataFrame(np.nan, index=idx, columns=lv.columns, dtype=float)
    for sid in lv.columns:
        spec = market.specs.get(sid)
        if spec is None:
            raise InputFormatError(f"Market has no SeriesSpec for column {sid!r}: build it with load_market")
        col = lv[sid].to_numpy(dtype=float)
        ok = np.flatnonzero(~np.isnan(col))
        if ok.size == 0:
            continue
        v = col[ok]
        if spec.kind == "yield":
            d = np.round(np.diff(v) * 100.0, _YIELD_ROUND)
        elif spec.kind in ("fx", "price"):
            if np.any(v <= 0):
                bad = idx[ok[np.flatnonzero(v <= 0)[0]]]
                raise InputFormatError(
                    f"series {sid!r} ({spec.kind}) has a level <= 0 on {bad:%Y-%m-%d}: a log return is "
                    "undefined; fix the data or declare the series kind='yield'"
                )
            d = np.diff(np.log(v)) * 1e4
        else:
            raise InputFormatError(f"series {sid!r} has unknown kind {spec.kind!r} (yield, fx or price)")
        j = chg.columns.get_loc(sid)
        chg.iloc[ok[1:], j] = d
        if gaps:
            gap.iloc[ok[1:], j] = np.asarray((idx[ok[1:]] - idx[ok[:-1]]) / pd.Timedelta(days=1))
    chg.index.name = lv.index.name
    meta = series_attrs(market)
    for sid in lv.columns:
        first = lv[sid].first_valid_index()
        # the first observation is a session although its change is NaN (used by align_events)
        meta[str(sid)]["first_obs"] = None if first is None else pd.Timestamp(first).date().isoformat()
    chg.attrs["newsbt_series"] = meta
    if gaps:
        gap.attrs["newsbt_series"] = chg.attrs["newsbt_series"]
        return chg, gap
    return chg
