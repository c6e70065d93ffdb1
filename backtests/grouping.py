"""Grouping columns of an event study, made meaningful before the study runs.

* A **continuous** ``group_by`` column (float; an integer column, usually an id or a count, only
  when ``bins={column: ...}`` names it) is binned, never one group per value. ``sentiment`` (VADER compound, -1..1)
  uses the VADER thresholds: ``negative`` (<= -0.05), ``neutral``, ``positive`` (>= 0.05).
  Any other continuous column is cut into quantile bins (terciles by default) labelled
  ``"q1 [lo, hi]"``. ``bins=`` overrides: an int (that many quantile bins), a list of edges, or a
  mapping ``{column: int | edges}``. The binned column replaces the raw one in the events of the
  study (the raw scores stay in the caller's table); a note says how.
* A group that would mix **series kinds** (yield bp with FX bp) is split by kind: when the
  grouping does not include ``series`` and the studied series have more than one kind, a ``kind``
  column is added to the events (one row per event and series) and to ``group_by``, with a note.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from signals.errors import ConfigError

__all__ = ["SENTIMENT_THRESHOLDS", "bin_column", "prepare"]

#: VADER's conventional compound-score thresholds (Hutto & Gilbert 2014).
SENTIMENT_THRESHOLDS = (-0.05, 0.05)


def _is_continuous(col: pd.Series, asked: bool = False) -> bool:
    """Float columns are continuous; integer columns (ids, counts) only when ``bins`` names them."""
    if pd.api.types.is_bool_dtype(col) or not pd.api.types.is_numeric_dtype(col):
        return False
    return pd.api.types.is_float_dtype(col) or asked


def bin_column(col: pd.Series, spec: Any = None) -> tuple[pd.Series, str]:
    """Bin one continuous column; returns (labels, note).

    Parameters
    ----------
    col : Series of float
    spec : None, int or sequence of float
        None: VADER thresholds for ``sentiment``, else terciles; int: that many quantile bins;
        sequence: bin edges (values outside fall in the first/last bin).
    """
    name = str(col.name)
    x = col.astype(float)
    if spec is None and name == "sentiment":
        lo, hi = SENTIMENT_THRESHOLDS
        lab = np.select([x <= lo, x >= hi], ["negative", "positive"], "neutral").astype(object)
        lab[x.isna().to_numpy()] = None
        return pd.Series(lab, index=col.index, name=name), (
            f"{name} binned by the VADER thresholds: negative <= {lo}, positive >= {hi}, else neutral"
        )
    if spec is None or isinstance(spec, int | np.integer):
        k = 3 if spec is None else int(spec)
        if k < 1:
            raise ConfigError(f"bins={spec!r} for {name!r}: need a positive number of bins")
        codes, edges = pd.qcut(x, k, labels=False, retbins=True, duplicates="drop")
        how = f"{len(edges) - 1} quantile bins"
    else:
        edges = np.asarray(sorted(spec), dtype=float)
        if edges.size < 2:
            raise ConfigError(f"bins={spec!r} for {name!r}: give at least two edges")
        codes = np.clip(np.searchsorted(edges, x.to_numpy(), side="right") - 1, 0, edges.size - 2)
        codes = pd.Series(np.where(x.isna(), np.nan, codes), index=col.index)
        how = f"edges {list(edges)}"
    labels = [f"q{i + 1} [{edges[i]:.3g}, {edges[i + 1]:.3g}]" for i in range(len(edges) - 1)]
    lab = np.array([None if pd.isna(c) else labels[int(c)] for c in codes], dtype=object)
    return pd.Series(lab, index=col.index, name=name), f"{name} binned into {how}"


def _kinds(changes: pd.DataFrame) -> dict[str, str]:
    meta = changes.attrs.get("newsbt_series") if hasattr(changes, "attrs") else None
    if not isinstance(meta, Mapping):
        return {}
    return {str(k): str(v.get("kind", "")) for k, v in meta.items() if isinstance(v, Mapping)}


def prepare(
    events: pd.DataFrame,
    changes: pd.DataFrame,
    group_by: str | Sequence[str] | None,
    bins: Any = None,
    benchmark: Any = None,
) -> tuple[pd.DataFrame, str | list[str] | None, list[str]]:
    """Bin continuous grouping columns and split kind-mixing groups (module docstring).

    Returns
    -------
    (events, group_by, notes)
        Unchanged objects when nothing applies (no copy).
    """
    if not group_by or not isinstance(events, pd.DataFrame):
        return events, group_by, []
    gcols = [group_by] if isinstance(group_by, str) else list(group_by)
    notes: list[str] = []
    ev = events
    for gc in gcols:
        asked = isinstance(bins, Mapping) and gc in bins
        if gc in ev.columns and _is_continuous(ev[gc], asked):
            spec = bins.get(gc) if isinstance(bins, Mapping) else bins
            if ev is events:
                ev = events.copy()
            ev[gc], note = bin_column(ev[gc], spec)
            notes.append(note)
    kinds = _kinds(changes)
    if "series" in gcols or "kind" in gcols or not kinds:
        return ev, (gcols if notes else group_by), notes
    bench = (
        {benchmark}
        if isinstance(benchmark, str)
        else set(benchmark or [])
        if isinstance(benchmark, list | tuple)
        else set()
    )
    cols = [str(c) for c in changes.columns if str(c) not in bench]
    if "series" in ev.columns:
        used = ev["series"].dropna().astype(str).unique()
        mixed = len({kinds.get(s, "") for s in used}) > 1
    else:
        mixed = len({kinds.get(s, "") for s in cols}) > 1
    if not mixed:
        return ev, (gcols if notes else group_by), notes
    if "series" not in ev.columns:
        rep = ev.index.repeat(len(cols))
        ev = ev.loc[rep].reset_index(drop=True)
        ev["series"] = np.tile(np.array(cols, dtype=object), len(events))
        if "event_id" not in events.columns:
            ev.insert(0, "event_id", np.repeat([f"E{i + 1}" for i in range(len(events))], len(cols)))
    else:
        ev = ev.copy() if ev is events else ev
    ev["kind"] = ev["series"].astype(str).map(kinds).fillna("")
    notes.append(
        "groups mixed series kinds (" + ", ".join(sorted({kinds[c] for c in cols if c in kinds})) + "): "
        "split by kind (yield bp and FX bp are never pooled)"
    )
    return ev, [*gcols, "kind"], notes
