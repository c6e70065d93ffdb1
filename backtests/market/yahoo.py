"""``yfinance`` source: daily closes from Yahoo Finance through the ``yfinance`` package.

* ``yfinance.download`` returns (version 0.2.5x and later) a frame with MultiIndex columns
  ``(Price, Ticker)`` (``Close``, ``High``, ``Low``, ``Open``, ``Volume`` and, with
  ``auto_adjust=False``, ``Adj Close``), indexed by a ``Date`` DatetimeIndex that may be tz-aware
  (exchange zone) or naive. Older versions return flat columns. All shapes are handled; the
  ``Close`` field is used unless asked otherwise.
* Units: the Cboe Treasury yield indices ``^IRX`` (13-week bill), ``^FVX`` (5y), ``^TNX`` (10y) and
  ``^TYX`` (30y) are quoted by Yahoo (and returned by yfinance 0.2.x / 1.x) in **percent**:
  ``^TNX`` 4.48 means 4.48 % (the H.15 ``DGS10`` of the same day is within a few bp). This module
  assumes percent (scale 1.0). Cboe's own index convention, and older Yahoo data, quoted them as
  yield x 10 (``^TNX`` 44.8). Two guards catch that convention: here, for these four tickers
  only, a median above :data:`X10_THRESHOLD` (25: no US Treasury yield has ever reached 25 %, the
  1981 peak was about 17 %) is taken as yield x 10, scaled by 0.1 and warned about
  (:class:`NewsbtWarning`); a x 10 quote of a low yield (0.5 % -> 5) cannot be told apart by level,
  so :func:`backtests.market.load.load_market` also compares each yfinance yield download with the
  cache, else the bundled H.15 snapshot, on common dates and rescales (with a warning) when the
  x 0.1 version matches. Other tickers, including user-registered yield tickers (an emerging-market
  yield can exceed 25 %), are never rescaled.
* Failures: network errors are retried with exponential back-off (``retries``, ``backoff``;
  ``sleep`` is injectable so tests do not wait); an empty frame is retried too, then becomes a
  :class:`DataUnavailableError` naming the ticker and what to do. Never an empty result.
"""

from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from signals.errors import DataUnavailableError, InputFormatError, NewsbtWarning

log = logging.getLogger(__name__)

__all__ = ["CBOE_YIELD_TICKERS", "X10_THRESHOLD", "extract_close", "fetch"]

#: Yahoo tickers of the Cboe US Treasury yield indices (percent at Yahoo; yield x 10 at Cboe).
CBOE_YIELD_TICKERS = frozenset({"^IRX", "^FVX", "^TNX", "^TYX"})
#: A median above this (percent) cannot be a US Treasury yield: taken as the yield x 10 convention.
X10_THRESHOLD = 25.0


def extract_close(df: pd.DataFrame, ticker: str, field: str = "Close") -> pd.Series:
    """The ``field`` column of ``ticker`` from a yfinance frame of any shape.

    Returns
    -------
    pandas.Series
        Float, naive DatetimeIndex of local exchange dates (a tz-aware index keeps its local date),
        NaN rows dropped.
    """
    cols = df.columns
    if isinstance(cols, pd.MultiIndex):
        names = list(cols.names)
        if "Ticker" in names and "Price" in names:
            sub = df.xs(ticker, axis=1, level="Ticker") if ticker in cols.get_level_values("Ticker") else None
        else:  # unnamed levels: find the level holding the ticker
            lvl = next((i for i in range(cols.nlevels) if ticker in cols.get_level_values(i)), None)
            sub = df.xs(ticker, axis=1, level=lvl) if lvl is not None else None
        if sub is None:
            raise InputFormatError(f"yfinance frame has no ticker {ticker!r} (columns {list(cols)[:6]}...)")
        if isinstance(sub.columns, pd.MultiIndex):
            sub.columns = sub.columns.get_level_values(0)
    else:
        sub = df
    if field not in sub.columns:
        if field == "Adj Close" and "Close" in sub.columns:
            field = "Close"  # auto_adjust=True frames have no Adj Close: Close is already adjusted
        else:
            raise InputFormatError(
                f"yfinance frame for {ticker!r} has no {field!r} column: {list(sub.columns)}"
            )
    s = pd.to_numeric(sub[field], errors="coerce").astype(float)
    idx = pd.DatetimeIndex(s.index)
    if idx.tz is not None:
        idx = idx.tz_localize(None)
    s.index = pd.DatetimeIndex(idx.normalize(), name="date").as_unit("ns")
    s = s.dropna()
    s = s[~s.index.duplicated(keep="last")].sort_index()
    s.name = ticker
    return s


def fetch(
    code: str,
    *,
    start: Any = None,
    end: Any = None,
    kind: str = "price",
    field: str = "Close",
    download: Callable[..., pd.DataFrame] | None = None,
    retries: int = 3,
    backoff: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
) -> pd.Series:
    """Daily ``field`` of Yahoo ticker ``code``.

    Parameters
    ----------
    code : str
        Yahoo ticker (``"^TNX"``, ``"JPY=X"``, ``"^GSPC"``).
    start, end : date-like, optional
        Inclusive local dates.
    kind : str
        Series kind; ``"yield"`` with a Cboe ticker (:data:`CBOE_YIELD_TICKERS`) enables the
        yield x 10 check.
    download : callable, optional
        ``yfinance.download``-compatible function (tests inject fakes).
    retries : int
        Attempts in total (>= 1).
    backoff : float
        Seconds before the 2nd attempt, doubled each time.
    sleep : callable
        Sleep function (tests pass a no-op).

    Returns
    -------
    pandas.Series
        Float values (Cboe yields in percent, ``JPY=X`` in yen per dollar, indices in points),
        naive DatetimeIndex of local dates, sorted, unique, non-empty.

    Raises
    ------
    DataUnavailableError
        Every attempt failed or returned an empty frame (the message names the ticker and the fix).
    """
    if download is None:
        import yfinance

        download = yfinance.download
    kw: dict[str, Any] = {"progress": False, "auto_adjust": False, "actions": False, "threads": False}
    if start is not None:
        kw["start"] = pd.Timestamp(start).strftime("%Y-%m-%d")
    if end is not None:  # yfinance's end is exclusive
        kw["end"] = (pd.Timestamp(end) + pd.Timedelta(days=1)).strftime("%Y-%m-%d")
    last: str = ""
    for attempt in range(max(1, retries)):
        if attempt:
            wait = backoff * 2 ** (attempt - 1)
            log.info("yfinance %s: retry %d in %.1f s (%s)", code, attempt, wait, last)
            sleep(wait)
        try:
            df = download(code, **kw)
        except Exception as exc:  # yfinance raises many types on network trouble
            last = f"{type(exc).__name__}: {exc}"
            continue
        if df is None or len(df) == 0:
            last = "empty frame"
            continue
        s = extract_close(df, code, field)
        if s.empty:
            last = f"no {field} values"
            continue
        if (
            kind == "yield"
            and code in CBOE_YIELD_TICKERS
            and float(np.nanmedian(s.to_numpy())) > X10_THRESHOLD
        ):
            warnings.warn(
                f"yfinance {code}: values look like yield x 10 (median {np.nanmedian(s):.1f}); scaled by 0.1",
                NewsbtWarning,
                stacklevel=2,
            )
            s = s * 0.1
        return s
    raise DataUnavailableError(
        f"yfinance {code}: no data after {max(1, retries)} attempt(s) ({last}); check the ticker and the "
        "connection, or use the cache, source='sample', or your own file (source='files')"
    )
