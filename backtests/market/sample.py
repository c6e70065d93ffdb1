"""``sample`` source: the bundled snapshot of real daily levels (package data ``data/market``).

US Treasury yields (H.15) and USD/JPY (H.10) from the Federal Reserve via FRED, JGB yields from
Japan's Ministry of Finance, 1994-01-01 (a year before the 1995 intervention days, for estimation windows) to the last date of the files they were built from (see
``snapshot.json`` and :mod:`backtests.market.build_sample`). Located only through
:func:`signals._paths.data_path`, so it works from a wheel too.
"""

from __future__ import annotations

import functools
import json
import logging
from typing import Any

import pandas as pd

from signals._paths import data_path
from signals.errors import DataUnavailableError

log = logging.getLogger(__name__)

__all__ = ["snapshot_meta", "snapshot_series", "snapshot_values"]


@functools.lru_cache(maxsize=1)
def snapshot_meta() -> dict[str, Any]:
    """Contents of ``data/market/snapshot.json`` (per-series metadata, files, last date)."""
    return json.loads(data_path("market", "snapshot.json").read_text(encoding="utf-8"))


def snapshot_series() -> list[str]:
    """Series ids in the bundled snapshot."""
    return sorted(snapshot_meta()["series"])


@functools.lru_cache(maxsize=8)
def _file(name: str) -> pd.DataFrame:
    df = pd.read_csv(data_path("market", name), index_col="date")
    df = df.astype(float)
    df.index = pd.DatetimeIndex(pd.to_datetime(df.index, format="%Y-%m-%d"), name="date").as_unit("ns")
    return df


def snapshot_values(series_id: str) -> tuple[pd.Series, dict[str, Any]]:
    """Levels of ``series_id`` from the snapshot (missing days dropped) and its metadata dict.

    Raises
    ------
    DataUnavailableError
        The series is not in the snapshot (the message lists those that are).
    """
    meta = snapshot_meta()["series"].get(series_id)
    if meta is None:
        raise DataUnavailableError(
            f"series {series_id!r} is not in the bundled snapshot (it has {', '.join(snapshot_series())}); "
            "fetch it online once (it is then cached) or load your own file with source='files'"
        )
    s = _file(meta["file"])[meta["column"]].dropna().copy()
    s.name = series_id
    return s, meta
