"""Scheduled macro releases (FOMC, Bank of Japan, US payrolls, US CPI): the confounder calendar.

:func:`macro_calendar` returns the shipped snapshot (``data/market/macro_calendar.csv.gz``, built
by ``python -m backtests.market.build_macro`` from the compiled public calendars; sources, coverage
and gaps in ``data/market/MACRO_CALENDAR.md``), optionally with the user's own releases from a
CSV file or a DataFrame (:func:`read_releases`).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from backtests.market.build_macro import COLUMNS, SNAPSHOT_FILE
from signals._paths import data_path
from signals.errors import ConfigError, InputFormatError, InputNotFoundError

__all__ = ["macro_calendar", "read_releases"]


def _utc(values: pd.Series, where: str) -> pd.Series:
    """Parse instants (tz-aware text or datetimes) to UTC; naive values are an error."""
    try:
        t = pd.to_datetime(values, utc=False, format="mixed")
    except (ValueError, TypeError) as exc:
        raise InputFormatError(f"{where}: 'release_time' has values that are not instants ({exc})") from None
    if getattr(t.dt, "tz", None) is None:
        raise InputFormatError(
            f"{where}: 'release_time' has no time zone; write e.g. 2025-05-02T08:30-04:00 or "
            "give 'local_date', 'local_time' and 'tz' columns"
        )
    return t.dt.tz_convert("UTC").astype("datetime64[ns, UTC]")


def read_releases(source: str | Path | pd.DataFrame) -> pd.DataFrame:
    """Your own releases (CSV path or DataFrame) in the calendar's columns.

    Parameters
    ----------
    source : str, Path or DataFrame
        Needs ``release`` (a short code, e.g. ``"ecb"``) and either ``release_time`` (tz-aware,
        any zone) or ``local_date`` + ``local_time`` (HH:MM) + ``tz`` (IANA zone). Optional
        ``name`` (default: the code), ``kind``, ``time_exact``, ``reference_month``, ``source``.

    Returns
    -------
    DataFrame
        :data:`backtests.market.build_macro.COLUMNS`, ``release_time`` as datetime64 UTC.

    Raises
    ------
    InputNotFoundError, InputFormatError
        Missing file; missing columns or naive instants (the message names the file and row).
    """
    where = "releases" if isinstance(source, pd.DataFrame) else str(source)
    if isinstance(source, pd.DataFrame):
        df = source.copy()
    else:
        if not Path(source).exists():
            raise InputNotFoundError(f"{source}: releases file not found")
        df = pd.read_csv(source, dtype=str, keep_default_na=False)
    if "release" not in df.columns:
        raise InputFormatError(f"{where}: column 'release' missing (have {list(df.columns)})")
    if "release_time" not in df.columns or (df["release_time"].astype(str) == "").all():
        need = {"local_date", "local_time", "tz"} - set(df.columns)
        if need:
            raise InputFormatError(
                f"{where}: give 'release_time' (tz-aware) or 'local_date', 'local_time', 'tz'; missing {sorted(need)}"
            )
        rows = []
        for i, (d, t, z) in enumerate(zip(df["local_date"], df["local_time"], df["tz"])):
            try:
                rows.append(pd.Timestamp(f"{d} {t}").tz_localize(z).tz_convert("UTC"))
            except (ValueError, TypeError, KeyError) as exc:
                raise InputFormatError(f"{where} row {i}: {d} {t} {z}: {exc}") from None
        df["release_time"] = pd.Series(rows, index=df.index, dtype="datetime64[ns, UTC]")
    else:
        df["release_time"] = _utc(df["release_time"], where)
    if df["release_time"].isna().any():
        raise InputFormatError(
            f"{where} row {int(df['release_time'].isna().to_numpy().argmax())}: no release time"
        )
    defaults = {
        "name": df["release"],
        "kind": "scheduled",
        "time_exact": True,
        "reference_month": "",
        "source": where,
    }
    for col, val in defaults.items():
        if col not in df.columns:
            df[col] = val
    for col in ("local_date", "local_time", "tz"):
        if col not in df.columns:
            df[col] = ""
    return df[COLUMNS].reset_index(drop=True)


def macro_calendar(
    releases: Iterable[str] | None = None, extra: str | Path | pd.DataFrame | None = None
) -> pd.DataFrame:
    """The shipped calendar of scheduled macro releases, with UTC release times.

    Parameters
    ----------
    releases : iterable of str, optional
        Keep these release codes only (``"fomc"``, ``"boj"``, ``"us_nfp"``, ``"us_cpi"``, or codes
        of ``extra``); default all.
    extra : str, Path or DataFrame, optional
        Your own releases (:func:`read_releases`), appended to the snapshot.

    Returns
    -------
    DataFrame
        One row per release sorted by ``release_time`` (datetime64 UTC): ``release``, ``name``,
        ``local_date``, ``local_time``, ``tz`` (the publisher's zone), ``release_time``,
        ``time_exact`` (False for BoJ decisions, placed at 12:00 Tokyo by convention),
        ``kind``, ``reference_month``, ``source``. Coverage 1994-2026 (BoJ from 1998); see
        ``data/market/MACRO_CALENDAR.md`` for the gaps and the attribution.
    """
    cal = pd.read_csv(data_path("market", SNAPSHOT_FILE), dtype=str, keep_default_na=False)
    cal["release_time"] = pd.to_datetime(cal["release_time"], utc=True).astype("datetime64[ns, UTC]")
    cal["time_exact"] = cal["time_exact"] == "True"
    if extra is not None:
        cal = pd.concat([cal, read_releases(extra)], ignore_index=True)
    if releases is not None:
        want = [releases] if isinstance(releases, str) else list(releases)
        unknown = sorted(set(want) - set(cal["release"]))
        if unknown:
            raise ConfigError(f"releases: unknown {unknown}; known: {sorted(set(cal['release']))}")
        cal = cal[cal["release"].isin(want)]
    cal = cal.sort_values(["release_time", "release"], kind="stable").reset_index(drop=True)
    cal.attrs["source"] = "data/market/MACRO_CALENDAR.md"
    return cal
