"""Exact text -> float conversion shared by the readers (Python's correctly rounded ``float``)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def require_unique_dates(frame: pd.DataFrame, label: str) -> pd.DataFrame:
    """``frame`` sorted by date; a date that appears twice is an error naming ``label``."""
    from signals.errors import InputFormatError

    if frame.index.has_duplicates:
        dup = frame.index[frame.index.duplicated()][0]
        raise InputFormatError(f"{label}: date {dup:%Y-%m-%d} appears more than once")
    return frame.sort_index()


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
