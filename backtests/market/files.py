"""``files`` source: any CSV (optionally gzip) or Parquet with a date column and series columns.

This is also how users bring their own data (Bloomberg exports, the tidy files of
``shared/data/market``): ``load_market(["my_series"], source="files", files="my.csv")``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd

from backtests.market._parse import require_unique_dates, set_source_rows, source_rows, to_float
from signals.errors import DataUnavailableError, InputFormatError, InputNotFoundError

log = logging.getLogger(__name__)

__all__ = ["fetch", "read_table"]

_DATE_NAMES = ("date", "Date", "DATE", "observation_date", "timestamp", "Datetime")


_ISO = r"^\d{4}-\d{1,2}-\d{1,2}([ T].*)?$"
_DAY_MONTH = r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{2}|\d{4})$"


def parse_dates(d: pd.Series, label: str, column: str, date_format: str | None = None) -> pd.DatetimeIndex:
    """Dates of a file column: ISO ``YYYY-MM-DD`` (optionally with a time), ``YYYY/MM/DD``, or any
    form given by ``date_format`` (strftime codes, e.g. ``%d/%m/%Y``).

    ``01/02/2024`` style dates are refused without ``date_format``: whether 02/01 is 2 January or 1
    February cannot be told from the text (pandas would guess row by row).

    Raises
    ------
    InputFormatError
        Names the file, the row (1-based, header = 1), the value and the fix.
    """
    if pd.api.types.is_datetime64_any_dtype(d.dtype):
        out = pd.to_datetime(d)
    else:
        text = d.astype(str).str.strip()
        if date_format:
            out = pd.to_datetime(text, format=date_format, errors="coerce")
            what = f"does not match --date-format {date_format!r}"
        elif text.str.match(_ISO).all() or text.str.match(r"^\d{4}/\d{1,2}/\d{1,2}$").all():
            out = pd.to_datetime(text.str.replace("/", "-", regex=False), format="ISO8601", errors="coerce")
            what = "is not a date"
        else:
            dm = text.str.extract(_DAY_MONTH)
            if dm[0].notna().any():
                i = int(dm[0].notna().to_numpy().argmax())
                a, b = dm[0].dropna().astype(int), dm[1].dropna().astype(int)
                hint = "%d/%m/%Y" if (a > 12).any() else "%m/%d/%Y" if (b > 12).any() else "%d/%m/%Y or %m/%d/%Y"
                raise InputFormatError(
                    f"{label}: row {i + 2}, column {column!r}: date {text.iloc[i]!r} is ambiguous (day/month or "
                    f"month/day); give the format, e.g. --date-format '{hint}' (date_format= in Python), or "
                    "write dates as YYYY-MM-DD"
                )
            out = pd.to_datetime(text, errors="coerce")
            what = "is not a date (use YYYY-MM-DD or give --date-format)"
    if out.isna().any():
        i = int(out.isna().to_numpy().argmax())
        raise InputFormatError(f"{label}: row {i + 2}, column {column!r}: {d.iloc[i]!r} {what}")
    if isinstance(out.dtype, pd.DatetimeTZDtype):
        out = out.dt.tz_localize(None)
    return pd.DatetimeIndex(out.to_numpy(), name="date").as_unit("ns")


def read_table(
    path: str | Path,
    *,
    date_col: str | None = None,
    columns: list[str] | None = None,
    date_format: str | None = None,
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
    date_format : str, optional
        strftime format of the dates (needed for ``dd/mm/yyyy`` or ``mm/dd/yyyy``; see
        :func:`parse_dates`).

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
        try:
            df = pd.read_parquet(p)
        except Exception as exc:  # pyarrow raises several types for a bad file
            raise InputFormatError(f"{p}: not a readable Parquet file ({type(exc).__name__}: {exc})") from None
        if isinstance(df.index, pd.DatetimeIndex) and (date_col is None or date_col not in df.columns):
            df = df.reset_index().rename(columns={df.index.name or "index": date_col or "date"})
        df = df.astype({c: object for c in df.columns if df[c].dtype == "string"})
    elif name.endswith((".csv", ".csv.gz", ".txt", ".gz")):
        try:
            df = pd.read_csv(p, dtype=str, keep_default_na=False, comment=None)
        except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
            raise InputFormatError(f"{p}: not a readable CSV table ({str(exc).splitlines()[0]})") from None
    else:
        raise InputFormatError(f"{p}: unknown market file type (use .csv, .csv.gz or .parquet)")
    dcol = date_col or next((c for c in _DATE_NAMES if c in df.columns), None)
    if dcol is None or dcol not in df.columns:
        raise InputFormatError(
            f"{p}: no date column (looked for {date_col or ', '.join(_DATE_NAMES)}); columns: {list(df.columns)}"
        )
    dates = parse_dates(df[dcol], str(p), dcol, date_format)
    keep = [c for c in df.columns if c != dcol]
    if columns is not None:
        miss = [c for c in columns if c not in keep]
        if miss:
            raise InputFormatError(f"{p}: no column(s) {miss}; columns: {keep}")
        keep = list(columns)
    out = pd.DataFrame(index=dates)
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
    date_format: str | None = None,
) -> pd.Series:
    """Column ``code`` of the table at ``path`` (``code`` may be ``"file.csv#column"``).

    The file row of each value is kept for messages (``_parse.source_rows``).

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
    df = read_table(path, date_col=date_col, columns=[code], date_format=date_format)
    rows = pd.Series(source_rows(df), index=df.index, dtype=float)
    s = df[code].dropna()
    s = s.loc[
        pd.Timestamp(start) if start is not None else None : pd.Timestamp(end) if end is not None else None
    ]
    if s.empty:
        raise DataUnavailableError(f"{path}: column {code!r} has no values between {start} and {end}")
    set_source_rows(s, rows.reindex(s.index).to_numpy())
    return s
