"""``files`` source: any CSV (optionally gzip) or Parquet with a date column and series columns.

This is also how users bring their own data (Bloomberg exports, the tidy files of
``shared/data/market``): ``load_market(["my_series"], source="files", files="my.csv")``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd

from backtests.market._parse import require_unique_dates, to_float
from signals.errors import DataUnavailableError, InputFormatError, InputNotFoundError

log = logging.getLogger(__name__)

__all__ = ["fetch", "read_table"]

_DATE_NAMES = ("date", "Date", "DATE", "observation_date", "timestamp", "Datetime")


def read_table(
    path: str | Path, *, date_col: str | None = None, columns: list[str] | None = None
) -> pd.DataFrame:
    """Read a table of daily levels.

    Parameters
    ----------
    path : path
        ``.csv``, ``.csv.gz``, ``.txt`` or ``.parquet``/``.pq``.
    date_col : str, optional
        Name of the date column (default: the first of ``date``, ``Date``, ``DATE``,
        ``observation_date`` present, else a DatetimeIndex of a Parquet file).
    columns : list of str, optional
        Keep only these series columns (each must exist).

    Returns
    -------
    pandas.DataFrame
        Naive DatetimeIndex ``date`` (sorted) x float columns; empty cells, ``.``, ``-`` and
        ``NA`` are NaN.

    Raises
    ------
    InputNotFoundError, InputFormatError
        Missing file, no date column, bad dates, duplicate dates, non-numeric cells (row and
        column named).
    """
    p = Path(path)
    if not p.is_file():
        raise InputNotFoundError(f"market file {p} not found")
    name = p.name.lower()
    if name.endswith((".parquet", ".pq")):
        df = pd.read_parquet(p)
        if isinstance(df.index, pd.DatetimeIndex) and (date_col is None or date_col not in df.columns):
            df = df.reset_index().rename(columns={df.index.name or "index": date_col or "date"})
        df = df.astype({c: object for c in df.columns if df[c].dtype == "string"})
    elif name.endswith((".csv", ".csv.gz", ".txt", ".gz")):
        df = pd.read_csv(p, dtype=str, keep_default_na=False, comment=None)
    else:
        raise InputFormatError(f"{p}: unknown market file type (use .csv, .csv.gz or .parquet)")
    dcol = date_col or next((c for c in _DATE_NAMES if c in df.columns), None)
    if dcol is None or dcol not in df.columns:
        raise InputFormatError(
            f"{p}: no date column (looked for {date_col or ', '.join(_DATE_NAMES)}); columns: {list(df.columns)}"
        )
    d = df[dcol]
    if pd.api.types.is_datetime64_any_dtype(d.dtype):
        dates = pd.to_datetime(d)
    else:
        dates = pd.to_datetime(d.astype(str).str.strip(), errors="coerce", format="mixed")
    if dates.isna().any():
        i = int(dates.isna().to_numpy().argmax())
        raise InputFormatError(f"{p}: row {i + 2}, column {dcol!r}: bad date {d.iloc[i]!r}")
    if isinstance(dates.dtype, pd.DatetimeTZDtype):
        dates = dates.dt.tz_localize(None)
    keep = [c for c in df.columns if c != dcol]
    if columns is not None:
        miss = [c for c in columns if c not in keep]
        if miss:
            raise InputFormatError(f"{p}: no column(s) {miss}; columns: {keep}")
        keep = list(columns)
    out = pd.DataFrame(index=pd.DatetimeIndex(dates.to_numpy(), name="date").as_unit("ns"))
    for c in keep:
        col = df[c]
        if pd.api.types.is_numeric_dtype(col.dtype):
            out[c] = col.to_numpy(dtype=float)
            continue
        v, bad = to_float(col, ("", ".", "-", "NA", "NaN", "nan", "None", "#N/A", "<NA>"))
        if bad.any():
            i = int(bad.argmax())
            raise InputFormatError(f"{p}: row {i + 2}, column {c!r}: not a number {col.iloc[i]!r}")
        out[c] = v
    return require_unique_dates(out, str(p))


def fetch(
    code: str,
    *,
    start: Any = None,
    end: Any = None,
    path: str | Path | None = None,
    date_col: str | None = None,
) -> pd.Series:
    """Column ``code`` of the table at ``path`` (``code`` may be ``"file.csv#column"``).

    Raises
    ------
    DataUnavailableError
        No path given, or no values in range.
    """
    if "#" in code and path is None:
        path, code = code.rsplit("#", 1)
    if path is None:
        raise DataUnavailableError(
            f"files source for {code!r}: no file given; pass files='your.csv' (or {{series: path}}) to "
            "load_market, or register a SourceRef('files', 'path.csv#column', ...)"
        )
    df = read_table(path, date_col=date_col, columns=[code])
    s = df[code].dropna()
    s = s.loc[
        pd.Timestamp(start) if start is not None else None : pd.Timestamp(end) if end is not None else None
    ]
    if s.empty:
        raise DataUnavailableError(f"{path}: column {code!r} has no values between {start} and {end}")
    return s
