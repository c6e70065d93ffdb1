"""Local Parquet cache of market series, one file per (series, source), with provenance.

Location: ``$NEWSBT_DATA/cache/market`` when ``NEWSBT_DATA`` is set; else ``data/cache/market`` of a
source checkout; else the user cache dir (``platformdirs.user_cache_dir("newsbt")/market``).

* Each file holds one float column ``value`` indexed by naive local ``date``; the provenance
  (source, code, publisher, unit, close, tz, fetched-at, requested range) is stored as JSON in the
  Parquet schema metadata under ``newsbt``.
* Writes are atomic (temporary file in the same folder + ``os.replace``, with the user's umask)
  and serialised with a ``filelock`` per file. Reads take **no lock** (a rename is atomic, so a
  reader always sees a complete file), so a read-only ``NEWSBT_DATA`` can be read; a stale cache
  is then used with a notice (the refresh cannot be written).
* A file that cannot be read, lacks the metadata, or fails the checks (sorted unique dates, float
  values) is moved aside to ``<name>.corrupt-<UTC time>`` (left in place, and ignored, when the
  folder is read-only) and treated as absent (so it is refetched), never silently used. The
  quarantine is logged through ``logging`` (warning: shown unless ``-q``, written to ``run.log``)
  and kept as a notice (:func:`take_notices`) that ``load_market`` attaches to the series'
  provenance, so the report's data-sources banner lists it.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from backtests._io import file_mode
from signals.errors import CacheError

log = logging.getLogger(__name__)

__all__ = ["CacheEntry", "cache_dir", "cache_path", "read_cache", "take_notices", "write_cache"]

_NOTICES: dict[str, list[str]] = {}


def take_notices(series_id: str) -> list[str]:
    """Notices (quarantined cache files) recorded for ``series_id`` since the last call; cleared."""
    return _NOTICES.pop(series_id, [])

SCHEMA_VERSION = 1
_LOCK_TIMEOUT = 120.0


def cache_dir() -> Path:
    """Folder of the market cache (created on first write)."""
    env = os.environ.get("NEWSBT_DATA")
    if env:
        return Path(env).expanduser() / "cache" / "market"
    repo = Path(__file__).resolve().parents[2]
    if (repo / "pyproject.toml").is_file() and (repo / "data" / "cache").is_dir():
        return repo / "data" / "cache" / "market"
    import platformdirs

    return Path(platformdirs.user_cache_dir("newsbt")) / "market"


def cache_path(series_id: str, source: str) -> Path:
    """Path of the cache file of ``series_id`` fetched from ``source``."""
    safe = re.sub(r"[^A-Za-z0-9_.=-]", "_", f"{series_id}.{source}")
    return cache_dir() / f"{safe}.parquet"


@dataclass
class CacheEntry:
    """A cached series: values (spec units) and its metadata dict."""

    values: pd.Series
    meta: dict[str, Any]

    @property
    def fetched_at(self) -> pd.Timestamp:
        """UTC time of the last successful fetch."""
        return pd.Timestamp(self.meta["fetched_at"])

    @property
    def range_start(self) -> pd.Timestamp | None:
        """Start of the range requested from the source (None: full history)."""
        v = self.meta.get("range_start")
        return None if v is None else pd.Timestamp(v)

    @property
    def last_date(self) -> pd.Timestamp:
        """Last date with a value."""
        return self.values.index.max()

    def age(self, now: pd.Timestamp | None = None) -> pd.Timedelta:
        """Time since the last fetch."""
        now = now if now is not None else pd.Timestamp.now(tz="UTC")
        return now - self.fetched_at


class _Guard:
    """The per-file ``filelock`` guard; a timeout becomes a :class:`CacheError` naming the lock."""

    def __init__(self, path: Path) -> None:
        from filelock import FileLock

        self.path = path
        self.lock = FileLock(str(path) + ".lock", timeout=_LOCK_TIMEOUT, mode=file_mode())

    def __enter__(self) -> _Guard:
        from filelock import Timeout

        try:
            self.lock.acquire()
        except Timeout as exc:
            raise CacheError(
                f"cache file {self.path} is locked by another newsbt run (lock {self.lock.lock_file} held "
                f"for more than {_LOCK_TIMEOUT:.0f} s); wait for it to finish, or delete the lock file if "
                "no other run is active"
            ) from exc
        return self

    def __exit__(self, *exc: object) -> None:
        self.lock.release()


def _lock(path: Path) -> _Guard:
    return _Guard(path)


def _quarantine(path: Path, why: str, series_id: str) -> None:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
    dest = path.with_name(f"{path.name}.corrupt-{stamp}")
    try:
        os.replace(path, dest)
        msg = f"cache file {path} is corrupt ({why}); moved aside to {dest.name} and will be refetched"
    except OSError as exc:  # read-only data folder: leave it, ignore it
        msg = f"cache file {path} is corrupt ({why}) and ignored; it cannot be moved aside ({exc.strerror or exc}): delete it"
    log.warning("%s", msg)
    _NOTICES.setdefault(series_id, []).append(msg)


def read_cache(series_id: str, source: str) -> CacheEntry | None:
    """The cached entry, or None when absent (or corrupt: then quarantined, logged, noted).

    Takes no lock: writers replace files atomically, so this works on a read-only folder.
    """
    path = cache_path(series_id, source)
    if not path.exists():
        return None
    import pyarrow.parquet as pq

    try:
        with open(path, "rb") as fh:  # one open file: a concurrent rename cannot mix two versions
            table = pq.read_table(fh)
        md = table.schema.metadata or {}
        if b"newsbt" not in md:
            raise ValueError("no newsbt metadata")
        meta = json.loads(md[b"newsbt"].decode("utf-8"))
        df = table.to_pandas()
        if "value" not in df.columns:
            raise ValueError("no 'value' column")
        s = df["value"].astype(float)
        idx = pd.DatetimeIndex(s.index)
        if not idx.is_monotonic_increasing or idx.has_duplicates:
            raise ValueError("dates not sorted/unique")
        if meta.get("series") != series_id or meta.get("source") != source:
            raise ValueError(f"holds {meta.get('series')}/{meta.get('source')}")
        pd.Timestamp(meta["fetched_at"])
        if len(s) != meta.get("n"):
            raise ValueError("row count differs from metadata")
    except FileNotFoundError:  # replaced or removed by another run between exists() and read
        return None
    except Exception as exc:  # any unreadable/inconsistent file is corrupt
        with _lock_if_writable(path):
            if path.exists():
                _quarantine(path, f"{type(exc).__name__}: {exc}", series_id)
        return None
    s.index = pd.DatetimeIndex(idx, name="date").as_unit("ns")
    s.name = series_id
    return CacheEntry(s, meta)


def _lock_if_writable(path: Path):
    """The file's write lock when its folder is writable, else a no-op context."""
    import contextlib

    return _lock(path) if os.access(path.parent, os.W_OK) else contextlib.nullcontext()


def write_cache(series_id: str, source: str, values: pd.Series, meta: dict[str, Any]) -> Path:
    """Atomically write ``values`` (float, naive date index) with ``meta`` to the cache.

    ``meta`` must be JSON-able; ``series``, ``source``, ``n``, ``start``, ``end``, ``schema`` and
    (if absent) ``fetched_at`` are filled in.

    Raises
    ------
    CacheError
        The folder or file cannot be written.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = cache_path(series_id, source)
    s = values.astype(float).dropna().sort_index()
    s = s[~s.index.duplicated(keep="last")]
    m = dict(meta)
    m.update(
        series=series_id,
        source=source,
        n=len(s),
        start=None if s.empty else s.index[0].date().isoformat(),
        end=None if s.empty else s.index[-1].date().isoformat(),
        schema=SCHEMA_VERSION,
    )
    m.setdefault("fetched_at", pd.Timestamp.now(tz="UTC").isoformat())
    df = pd.DataFrame({"value": s.to_numpy()}, index=pd.DatetimeIndex(s.index, name="date"))
    table = pa.Table.from_pandas(df)
    table = table.replace_schema_metadata(
        {**(table.schema.metadata or {}), b"newsbt": json.dumps(m).encode()}
    )
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CacheError(
            f"cannot create cache folder {path.parent} ({exc}); set NEWSBT_DATA to a writable folder"
        ) from exc
    with _lock(path):
        try:
            fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
            os.close(fd)
        except OSError as exc:
            raise CacheError(
                f"cannot write cache file {path} ({exc}); set NEWSBT_DATA to a writable folder"
            ) from exc
        try:
            pq.write_table(table, tmp)
            os.chmod(tmp, file_mode())  # the user's umask, not mkstemp's 0600
            os.replace(tmp, path)
        except OSError as exc:
            raise CacheError(
                f"cannot write cache file {path} ({exc}); the previous version is kept. Free disk space "
                "or set NEWSBT_DATA to a writable folder"
            ) from exc
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    log.info("cached %s from %s: %d values to %s", series_id, source, len(s), path)
    return path
