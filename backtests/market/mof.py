"""Japan Ministry of Finance JGB yields: ``jgbcme_all.csv`` (English, Gregorian dates
``1974/9/24``) and ``jgbcm_all.csv`` (Japanese, dates in Japanese eras ``S49.9.24``,
``H31.4.26``, ``R1.5.7``), columns ``1Y``..``40Y`` / ``1年``..``40年``, ``-`` for missing.

Values are constant-maturity yields in percent per annum, Tokyo end of day (15:00 JST). MOF's
files may start with a title line (``Interest Rate`` / ``国債金利情報``) above the header; the
Japanese file is Shift_JIS at MOF and UTF-8 in some copies: both are read.
"""

from __future__ import annotations

import io
import logging
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from backtests.market._net import Opener, fetch_bytes
from backtests.market._parse import require_unique_dates, to_float
from signals.errors import DataUnavailableError, InputFormatError, InputNotFoundError, NoDataInRangeError

log = logging.getLogger(__name__)

__all__ = ["ERAS", "MOF_URL", "MOF_URL_CURRENT", "era_to_date", "fetch", "read_mof_csv"]

MOF_URL = "https://www.mof.go.jp/english/policy/jgbs/reference/interest_rate/historical/jgbcme_all.csv"
MOF_URL_CURRENT = "https://www.mof.go.jp/english/policy/jgbs/reference/interest_rate/jgbcme.csv"

#: era letter -> (Gregorian year of era year 0, first day, last day) of the Japanese eras.
ERAS: dict[str, tuple[int, str, str]] = {
    "M": (1867, "1868-10-23", "1912-07-29"),
    "T": (1911, "1912-07-30", "1926-12-24"),
    "S": (1925, "1926-12-25", "1989-01-07"),
    "H": (1988, "1989-01-08", "2019-04-30"),
    "R": (2018, "2019-05-01", "2200-12-31"),
}
_KANJI = {"明治": "M", "大正": "T", "昭和": "S", "平成": "H", "令和": "R"}
_ERA_RE = re.compile(r"^\s*([MTSHR])\s*(\d{1,2}|元)[./年-](\d{1,2})[./月-](\d{1,2})日?\s*$")


def era_to_date(
    values: pd.Series | list[str], *, label: str = "MOF file", rows: Any = None
) -> pd.DatetimeIndex:
    """Convert Japanese-era dates (``S49.9.24``, ``H31.4.26``, ``R1.5.7``, ``令和元年5月7日``).

    Parameters
    ----------
    values : sequence of str
    label : str
        Input name for error messages.

    Returns
    -------
    pandas.DatetimeIndex
        Naive Gregorian dates.

    Raises
    ------
    InputFormatError
        Unparseable value, or a date outside its era (e.g. ``H31.5.7``: Heisei ended 30 April 2019).
    """
    s = pd.Series(list(values), dtype=object).astype(str)
    rows = np.arange(len(s)) + 1 if rows is None else np.asarray(rows)  # file row of each value
    for k, v in _KANJI.items():
        s = s.str.replace(k, v, regex=False)
    parts = s.str.extract(_ERA_RE)
    bad = parts[0].isna()
    if bad.any():
        i = int(bad.to_numpy().argmax())
        raise InputFormatError(
            f"{label}: row {rows[i]}: {s.iloc[i]!r} is not a Japanese-era date like H31.4.26"
        )
    era = parts[0]
    yy = parts[1].replace("元", "1").astype(int)
    base = era.map({k: v[0] for k, v in ERAS.items()}).astype(int)
    iso = (base + yy).astype(str) + "-" + parts[2] + "-" + parts[3]
    dates = pd.to_datetime(iso, format="%Y-%m-%d", errors="coerce")
    if dates.isna().any():
        i = int(dates.isna().to_numpy().argmax())
        raise InputFormatError(f"{label}: row {rows[i]}: {s.iloc[i]!r} is not a valid date")
    lo = pd.to_datetime(era.map({k: v[1] for k, v in ERAS.items()}))
    hi = pd.to_datetime(era.map({k: v[2] for k, v in ERAS.items()}))
    out = (dates < lo) | (dates > hi)
    if out.any():
        i = int(out.to_numpy().argmax())
        raise InputFormatError(
            f"{label}: row {rows[i]}: {s.iloc[i]!r} ({dates.iloc[i]:%Y-%m-%d}) falls outside its era "
            f"({lo.iloc[i]:%Y-%m-%d}..{hi.iloc[i]:%Y-%m-%d})"
        )
    return pd.DatetimeIndex(dates, name="date").as_unit("ns")


def _decode(data: bytes, label: str) -> str:
    for enc in ("utf-8-sig", "cp932"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise InputFormatError(f"{label}: neither UTF-8 nor Shift_JIS text")


def read_mof_csv(src: str | Path | bytes) -> pd.DataFrame:
    """Read MOF's ``jgbcme_all.csv`` (English) or ``jgbcm_all.csv`` (Japanese eras).

    Returns
    -------
    pandas.DataFrame
        Naive DatetimeIndex ``date`` (Tokyo dates) x columns ``jgb_1y`` .. ``jgb_40y`` (as present),
        percent per annum, NaN for ``-``.

    Raises
    ------
    InputNotFoundError, InputFormatError
    """
    if isinstance(src, bytes):
        label, data = "MOF CSV", src
    else:
        p = Path(src)
        if not p.is_file():
            raise InputNotFoundError(f"MOF file {p} not found")
        label, data = str(p), p.read_bytes()
    text = _decode(data, label)
    lines = text.splitlines()
    hdr = next(
        (i for i, ln in enumerate(lines[:10]) if ln.split(",")[0].strip().strip('"') in ("Date", "基準日")),
        None,
    )
    if hdr is None:
        raise InputFormatError(
            f"{label}: no header line starting with 'Date' or '基準日' in the first 10 lines"
        )
    raw = pd.read_csv(io.StringIO("\n".join(lines[hdr:])), dtype=str, keep_default_na=False)
    raw = raw.loc[:, [c for c in raw.columns if not str(c).startswith("Unnamed")]]
    dcol = raw.columns[0]
    raw = raw[raw[dcol].str.strip() != ""]
    first = raw[dcol].str.strip()
    file_rows = raw.index.to_numpy() + hdr + 2  # 1-based line numbers in the file
    if first.str.match(r"^[MTSHR明大昭平令]").all():
        idx = era_to_date(first, label=label, rows=file_rows)
    else:
        idx = pd.to_datetime(first.str.replace("/", "-", regex=False), format="%Y-%m-%d", errors="coerce")
        if idx.isna().any():
            i = int(idx.isna().to_numpy().argmax())
            raise InputFormatError(f"{label}: row {file_rows[i]}: bad date {first.iloc[i]!r}")
        idx = pd.DatetimeIndex(idx, name="date").as_unit("ns")
    out = pd.DataFrame(index=idx)
    for c in raw.columns[1:]:
        m = re.fullmatch(r"\s*(\d+)\s*(?:Y|年)\s*", str(c))
        if not m:
            raise InputFormatError(f"{label}: unexpected column {c!r} (expected 1Y..40Y or 1年..40年)")
        v, bad = to_float(raw[c], ("-", "", "－", "―"))
        if bad.any():
            i = int(bad.argmax())
            raise InputFormatError(
                f"{label}: row {file_rows[i]}, column {c!r}: not a number {raw[c].iloc[i]!r}"
            )
        out[f"jgb_{int(m.group(1))}y"] = v
    return require_unique_dates(out, label, file_rows)


def fetch(
    code: str,
    *,
    start: Any = None,
    end: Any = None,
    path: str | Path | None = None,
    opener: Opener | None = None,
) -> pd.Series:
    """One JGB maturity (``code`` ``"10Y"``) in percent, from ``path`` or MOF online.

    Online, the historical file and the current month's file are both read and joined.

    Raises
    ------
    DataUnavailableError
        Network failure or no values in range.
    """
    m = re.fullmatch(r"(\d+)Y", code.strip().upper())
    if not m:
        raise InputFormatError(f"MOF code {code!r} must look like '10Y'")
    col = f"jgb_{int(m.group(1))}y"
    if path is not None:
        df = read_mof_csv(path)
    else:
        df = read_mof_csv(fetch_bytes(MOF_URL, f"MOF JGB {code}", opener=opener))
        try:
            cur = read_mof_csv(fetch_bytes(MOF_URL_CURRENT, f"MOF JGB {code} (current month)", opener=opener))
            df = pd.concat([df, cur[~cur.index.isin(df.index)]]).sort_index()
        except (DataUnavailableError, InputFormatError) as exc:
            log.info("MOF current-month file unavailable (%s); using the historical file only", exc)
    if col not in df.columns:
        raise DataUnavailableError(f"MOF file {path or MOF_URL}: no {code} column (has {list(df.columns)})")
    s = df[col].dropna()
    s = s.loc[
        pd.Timestamp(start) if start is not None else None : pd.Timestamp(end) if end is not None else None
    ]
    if s.empty:
        raise NoDataInRangeError(f"MOF JGB {code}: no values between {start or 'start'} and {end or 'end'}")
    s.name = code
    return s.astype(np.float64)
