"""Checks on imported levels: finite, plausible for the series, no conflict with the cache.

Used by ``newsbt import`` (:func:`backtests.market.manage.import_file`) and by
``load_market(source="files")``. Plausible ranges come from the registry
(:meth:`backtests.market.spec.SeriesSpec.plausible`): yields -5..40 percent, ``usdjpy`` 50..400,
other FX and prices above zero. Each error names the file, the row, the value and the fix.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from backtests.market._parse import source_rows
from backtests.market.spec import SeriesSpec
from signals.errors import InputFormatError

__all__ = ["check_levels", "conflicts"]

#: Two values for the same date that differ by more than this (spec units) conflict.
CONFLICT_TOL = 1e-9


def _row(values: pd.Series, rows: np.ndarray | None, i: int) -> str:
    d = f"{values.index[i]:%Y-%m-%d}"
    return f"row {int(rows[i])} ({d})" if rows is not None and len(rows) == len(values) else f"date {d}"


def check_levels(values: pd.Series, spec: SeriesSpec, label: str, rows: np.ndarray | None = None) -> None:
    """Raise unless every value of ``values`` is finite and plausible for ``spec``.

    Parameters
    ----------
    values : pandas.Series
        Levels in the spec's unit (NaN = missing, allowed), date index.
    spec : SeriesSpec
    label : str
        The file (for messages).
    rows : ndarray of int, optional
        File row of each value (default: what the reader remembered, ``_parse.source_rows``).

    Raises
    ------
    InputFormatError
        Infinite value (``inf``, ``1e400``), a zero or negative FX rate or price, or a value outside
        the series' plausible range (names the row, the value, the range and the fix).
    """
    v = values.to_numpy(dtype=float)
    if rows is None:
        rows = source_rows(values)
    inf = np.isinf(v)
    if inf.any():
        i = int(inf.argmax())
        raise InputFormatError(
            f"{label}: {_row(values, rows, i)}: {spec.id} value {v[i]!r} is not finite; fix or blank the cell"
        )
    lo, hi = spec.plausible()
    fin = ~np.isnan(v)
    if spec.kind in ("fx", "price"):
        nonpos = fin & (v <= 0)
        if nonpos.any():
            i = int(nonpos.argmax())
            raise InputFormatError(
                f"{label}: {_row(values, rows, i)}: {spec.id} value {v[i]!r} is zero or negative, impossible "
                f"for {'an FX rate' if spec.kind == 'fx' else 'a price'}; fix or blank the cell"
            )
    out = fin & ((v < lo) | (v > hi))
    if out.any():
        i = int(out.argmax())
        raise InputFormatError(
            f"{label}: {_row(values, rows, i)}: {spec.id} value {v[i]!r} is outside the plausible range "
            f"{lo:g}..{hi:g} {spec.unit} of a {spec.kind} series ({spec.description}); is this the right "
            "file and series (--series), and in the right unit? Set valid_range on the series spec if "
            "the value is real"
        )


def conflicts(old: pd.Series, new: pd.Series) -> pd.DataFrame:
    """Dates where ``old`` and ``new`` both have a value and the values differ.

    Returns
    -------
    pandas.DataFrame
        Columns ``cached`` and ``file``, index the conflicting dates (empty when none).
    """
    both = old.dropna().index.intersection(new.dropna().index)
    a, b = old.reindex(both), new.reindex(both)
    diff = (a - b).abs() > CONFLICT_TOL * np.maximum(1.0, a.abs())
    return pd.DataFrame({"cached": a[diff], "file": b[diff]})
