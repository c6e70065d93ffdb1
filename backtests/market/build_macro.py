"""Build the shipped macro calendar snapshot (``data/market/macro_calendar.csv.gz``).

Run from the repository root::

    python -m backtests.market.build_macro --shared ../shared/data/reference/macro_calendar

Inputs (see that folder's README for sources, coverage, gaps and cross-checks): ``fomc.csv``
(FOMC policy announcements, New York time), ``boj_mpm.csv`` (Bank of Japan policy meetings, final
day, Tokyo date, no time), ``us_nfp.csv`` (BLS Employment Situation) and ``us_cpi.csv`` (BLS CPI),
both with New York release times.

Output: one gzip CSV (no timestamp in the gzip header: byte-reproducible) with one row per release:
``release`` (``fomc``, ``boj``, ``us_nfp``, ``us_cpi``), ``name``, ``local_date``, ``local_time``,
``tz``, ``release_time`` (UTC, ISO 8601), ``time_exact`` (False for the BoJ: see
:data:`BOJ_TIME`), ``kind`` (``scheduled`` / ``unscheduled``), ``reference_month``, ``source`` (the
input's source tag). Only dates, times and kinds are carried over (facts); the attribution is in
``data/market/MACRO_CALENDAR.md``.
"""

from __future__ import annotations

import argparse
import gzip
import io
import logging
from pathlib import Path

import pandas as pd

from signals.errors import InputFormatError, InputNotFoundError

log = logging.getLogger(__name__)

#: Output file name inside ``data/market``.
SNAPSHOT_FILE = "macro_calendar.csv.gz"
#: BoJ decisions have no fixed time (usually late morning to early afternoon Tokyo): this
#: convention puts them at 12:00 Tokyo on the meeting's final day, before the 15:00 JGB close and
#: before both New York closes of that date; rows carry ``time_exact = False``.
BOJ_TIME = "12:00"
NY, TOKYO = "America/New_York", "Asia/Tokyo"
NAMES = {
    "fomc": "FOMC decision",
    "boj": "BoJ policy decision",
    "us_nfp": "US payrolls",
    "us_cpi": "US CPI",
}
COLUMNS = [
    "release",
    "name",
    "local_date",
    "local_time",
    "tz",
    "release_time",
    "time_exact",
    "kind",
    "reference_month",
    "source",
]
_INPUTS = {"fomc": "fomc.csv", "boj": "boj_mpm.csv", "us_nfp": "us_nfp.csv", "us_cpi": "us_cpi.csv"}


def _read(shared: Path, release: str) -> pd.DataFrame:
    path = shared / _INPUTS[release]
    if not path.exists():
        raise InputNotFoundError(f"{path}: macro calendar input missing (see the folder's README)")
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    need = {"date", "source"} | ({"time_ny"} if release != "boj" else set())
    missing = need - set(df.columns)
    if missing:
        raise InputFormatError(f"{path}: columns {sorted(missing)} missing (have {list(df.columns)})")
    return df


def to_releases(df: pd.DataFrame, release: str, where: str = "") -> pd.DataFrame:
    """One input table (README format) -> rows of the snapshot, UTC release instants.

    Parameters
    ----------
    df : DataFrame
        ``date`` (ISO), ``time_ny`` (HH:MM New York; absent for the BoJ), optional ``kind``,
        ``reference_month``, ``source``.
    release : {"fomc", "boj", "us_nfp", "us_cpi"}
    where : str
        Name of the input, for error messages.
    """
    if release == "boj":
        tz, times, exact = TOKYO, pd.Series(BOJ_TIME, index=df.index), False
    else:
        tz, times, exact = NY, df["time_ny"], True
    try:
        local = pd.to_datetime(df["date"] + " " + times, format="%Y-%m-%d %H:%M")
    except ValueError as exc:
        raise InputFormatError(f"{where or release}: bad date/time ({exc})") from None
    utc = local.dt.tz_localize(tz, ambiguous="raise", nonexistent="raise").dt.tz_convert("UTC")
    return pd.DataFrame(
        {
            "release": release,
            "name": NAMES[release],
            "local_date": df["date"],
            "local_time": times,
            "tz": tz,
            "release_time": utc.dt.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "time_exact": exact,
            "kind": df["kind"] if "kind" in df.columns else "scheduled",
            "reference_month": df["reference_month"] if "reference_month" in df.columns else "",
            "source": df["source"],
        },
        columns=COLUMNS,
    )


def build(shared: Path) -> pd.DataFrame:
    """All four calendars as one table sorted by release time, then release."""
    parts = [to_releases(_read(shared, r), r, str(shared / _INPUTS[r])) for r in _INPUTS]
    out = pd.concat(parts, ignore_index=True)
    dup = out.duplicated(["release", "release_time"])
    if dup.any():
        raise InputFormatError(
            f"{shared}: duplicated releases {out.loc[dup, ['release', 'local_date']].head(3)}"
        )
    return out.sort_values(["release_time", "release"], kind="stable").reset_index(drop=True)


def write(table: pd.DataFrame, out_dir: Path) -> Path:
    """Write the gzip CSV without a gzip timestamp (same bytes for the same table)."""
    buf = io.StringIO()
    table.to_csv(buf, index=False, lineterminator="\n")
    path = out_dir / SNAPSHOT_FILE
    with open(path, "wb") as fh, gzip.GzipFile(filename="", mode="wb", fileobj=fh, mtime=0) as gz:
        gz.write(buf.getvalue().encode("utf-8"))
    return path


def main(argv: list[str] | None = None) -> int:
    """Command line entry: build the snapshot into ``--out`` (default ``data/market``)."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--shared", default="../shared/data/reference/macro_calendar")
    p.add_argument("--out", default="data/market")
    args = p.parse_args(argv)
    table = build(Path(args.shared))
    path = write(table, Path(args.out))
    log.info("%d releases -> %s", len(table), path)
    return 0


if __name__ == "__main__":  # pragma: no cover
    logging.basicConfig(level=logging.INFO)
    raise SystemExit(main())
