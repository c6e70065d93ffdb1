"""FRED source: the CSV that FRED serves (``observation_date,DGS10`` or the older ``DATE,DGS10`` /
``DATE,VALUE``; ``.`` or an empty cell for missing), from a local file or from FRED when online.

Units are FRED's: H.15 yields (``DGS*``) in percent, H.10 ``DEXJPUS`` in yen per US dollar.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path
from typing import Any

import pandas as pd

from backtests.market._net import Opener, fetch_bytes
from backtests.market._parse import require_unique_dates, to_float
from signals.errors import InputFormatError, InputNotFoundError, NoDataInRangeError

log = logging.getLogger(__name__)

__all__ = ["FRED_URL", "fetch", "read_fred_csv"]

FRED_URL = "https://fred.stlouisfed.org/graph/fredgraph.csv?id={code}"
_DATE_COLS = ("observation_date", "date", "DATE")


def read_fred_csv(src: str | Path | io.IOBase | bytes, *, name: str | None = None) -> pd.DataFrame:
    """Read a FRED CSV download.

    Parameters
    ----------
    src : path, bytes or file-like
    name : str, optional
        Name to use for a ``VALUE`` column (old format ``DATE,VALUE``).

    Returns
    -------
    pandas.DataFrame
        Naive DatetimeIndex named ``date`` (sorted, unique), one float column per FRED series in
        the file, NaN where FRED has ``.`` or an empty cell. Rows are kept as in the file.

    Raises
    ------
    InputNotFoundError, InputFormatError
    """
    label = str(src) if isinstance(src, str | Path) else "FRED CSV"
    if isinstance(src, str | Path) and not Path(src).is_file():
        raise InputNotFoundError(f"FRED file {src} not found")
    buf = io.BytesIO(src) if isinstance(src, bytes) else src
    try:
        raw = pd.read_csv(buf, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise InputFormatError(f"{label}: not a FRED CSV ({exc})") from exc
    cols = [c.strip() for c in raw.columns]
    raw.columns = cols
    dcol = next((c for c in cols if c in _DATE_COLS), None)
    if dcol is None or len(cols) < 2:
        raise InputFormatError(
            f"{label}: expected a FRED CSV with a first column 'observation_date' or 'DATE' and series "
            f"columns; got header {cols}"
        )
    dates = pd.to_datetime(raw[dcol].str.strip(), format="%Y-%m-%d", errors="coerce")
    if dates.isna().any():
        row = int(dates.isna().to_numpy().argmax())
        raise InputFormatError(f"{label}: row {row + 2}, column {dcol!r}: bad date {raw[dcol].iloc[row]!r}")
    out = pd.DataFrame(index=pd.DatetimeIndex(dates, name="date").as_unit("ns"))
    for c in cols:
        if c == dcol:
            continue
        v, bad = to_float(raw[c], ("", ".", "#N/A", "NA"))
        if bad.any():
            row = int(bad.argmax())
            raise InputFormatError(f"{label}: row {row + 2}, column {c!r}: not a number {raw[c].iloc[row]!r}")
        out[name if (c == "VALUE" and name) else c] = v
    return require_unique_dates(out, label)


def fetch(
    code: str,
    *,
    start: Any = None,
    end: Any = None,
    path: str | Path | None = None,
    opener: Opener | None = None,
) -> pd.Series:
    """One FRED series as a float Series (missing days dropped), from ``path`` or FRED online.

    Parameters
    ----------
    code : str
        FRED series code (``"DGS10"``, ``"DEXJPUS"``).
    start, end : date-like, optional
        Inclusive date range.
    path : path, optional
        Local FRED CSV; when absent the series is downloaded (``opener`` injectable for tests).

    Raises
    ------
    DataUnavailableError
        Network failure, or the file/download has no values for ``code`` in the range.
    """
    if path is not None:
        df = read_fred_csv(path, name=code)
    else:
        data = fetch_bytes(FRED_URL.format(code=code), f"FRED {code}", opener=opener)
        df = read_fred_csv(data, name=code)
    if code not in df.columns:
        if df.shape[1] == 1:
            df.columns = [code]
        else:
            raise InputFormatError(f"FRED file {path or code}: no column {code!r} (has {list(df.columns)})")
    s = df[code].dropna()
    s = s.loc[
        pd.Timestamp(start) if start is not None else None : pd.Timestamp(end) if end is not None else None
    ]
    if s.empty:
        raise NoDataInRangeError(
            f"FRED {code}: no values between {start or 'start'} and {end or 'end'}"
            f"{' in ' + str(path) if path else ''}; check the code and dates"
        )
    s.name = code
    return s
