"""Exact text -> float conversion shared by the readers (Python's correctly rounded ``float``)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def require_unique_dates(frame: pd.DataFrame, label: str, rows: np.ndarray | None = None) -> pd.DataFrame:
    """``frame`` sorted by date, one row per date.

    A date repeated with the same values (NaN equal to NaN) is kept once; repeated with different
    values it is an error naming ``label``, both file rows, the column and the two values. The
    file row of each (sorted) date is kept for later messages (:func:`source_rows`).

    Parameters
    ----------
    frame : DataFrame
        Date index (file order) x float columns.
    label : str
        The file, for messages.
    rows : ndarray of int, optional
        File row (1-based, header = 1) of each row of ``frame``; default position + 2.
    """
    from signals.errors import InputFormatError

    rows = np.arange(len(frame)) + 2 if rows is None else np.asarray(rows)
    if frame.index.has_duplicates:
        vals = frame.to_numpy(dtype=float)
        order = np.argsort(frame.index.asi8, kind="stable")
        d = frame.index.asi8[order]
        same_date = np.flatnonzero(d[1:] == d[:-1])
        a, b = vals[order[same_date]], vals[order[same_date + 1]]
        differ = ~((a == b) | (np.isnan(a) & np.isnan(b)))
        if differ.any():
            i, j = np.argwhere(differ)[0]
            r1, r2 = rows[order[same_date[i]]], rows[order[same_date[i] + 1]]
            raise InputFormatError(
                f"{label}: date {frame.index[order[same_date[i]]]:%Y-%m-%d} appears in rows {r1} and {r2} "
                f"with different values in column {frame.columns[j]!r} ({float(a[i, j])!r} vs {float(b[i, j])!r}); keep the "
                "right row and delete the other"
            )
        keep = ~frame.index.duplicated(keep="first")
        frame, rows = frame[keep], rows[keep]
    order = np.argsort(frame.index.asi8, kind="stable")
    out = frame.iloc[order]
    set_source_rows(out, rows[order])
    return out


def set_source_rows(obj: pd.DataFrame | pd.Series, rows: np.ndarray | None) -> None:
    """Remember the file row of each row of ``obj`` (not copied by pandas operations, never saved)."""
    object.__setattr__(obj, "_newsbt_source_rows", None if rows is None else np.asarray(rows))


def source_rows(obj: pd.DataFrame | pd.Series) -> np.ndarray | None:
    """File rows remembered by :func:`set_source_rows` (None when unknown)."""
    rows = obj.__dict__.get("_newsbt_source_rows")
    return rows if rows is not None and len(rows) == len(obj) else None


def to_float(text: pd.Series, missing: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """(values, bad) for a Series of strings: ``missing`` tokens become NaN, ``bad`` marks cells
    that are neither a number nor a missing token. Conversion uses Python's ``float`` so values are
    bit-identical to the decimal text (no fast-path rounding)."""
    s = text.astype(object).where(text.notna(), "").map(lambda x: str(x).strip()).to_numpy(dtype=object)
    miss = np.isin(s, np.asarray(missing, dtype=object))
    out = np.full(len(s), np.nan)
    bad = np.zeros(len(s), dtype=bool)
    keep = ~miss
    try:
        out[keep] = s[keep].astype(float)
    except ValueError:
        conv = pd.to_numeric(pd.Series(s[keep]), errors="coerce").to_numpy(dtype=float)
        b = np.isnan(conv)
        idx = np.flatnonzero(keep)
        bad[idx[b]] = True
        good = idx[~b]
        out[good] = s[good].astype(float)
    return out, bad
