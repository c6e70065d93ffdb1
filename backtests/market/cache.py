"""Local Parquet cache of market series, one file per (series, source), with provenance.

Location: ``$NEWSBT_DATA/cache/market`` when ``NEWSBT_DATA`` is set; else ``data/cache/market`` of a
source checkout; else the user cache dir (``platformdirs.user_cache_dir("newsbt")/market``).

* Each file holds one float column ``value`` indexed by naive local ``date``; the provenance
  (source, code, publisher, unit, close, tz, fetched-at, requested range) is stored as JSON in the
  Parquet schema metadata under ``newsbt``.
* Writes are atomic (temporary file in the same folder + ``os.replace``) and serialised with a
  ``filelock`` per file, so concurrent runs never see half-written files.
* A file that cannot be read, lacks the metadata, or fails the checks (sorted unique dates, float
  values) is moved aside to ``<name>.corrupt-<UTC time>`` with a :class:`NewsbtWarning` and
  treated as absent (so it is refetched), never silently used.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from signals.errors import CacheError, NewsbtWarning

log = logging.getLogger(__name__)

__all__ = ["CacheEntry", "cache_dir", "cache_path", "read_cache", "write_cache"]

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
        self.lock = FileLock(str(path) + ".lock", timeout=_LOCK_TIMEOUT)

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


def _quarantine(path: Path, why: str) -> None:
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%f")
    dest = path.with_name(f"{path.name}.corrupt-{stamp}")
    try:
        os.replace(path, dest)
    except OSError as exc:
        raise CacheError(
            f"cache file {path} is corrupt ({why}) and cannot be moved aside ({exc}); delete it"
        ) from exc
    warnings.warn(
        f"cache file {path} is corrupt ({why}); moved aside to {dest.name} and will be refetched",
        NewsbtWarning,
        stacklevel=3,
    )


def read_cache(series_id: str, source: str) -> CacheEntry | None:
    """The cached entry, or None when absent (or corrupt: then moved aside with a warning)."""
    path = cache_path(series_id, source)
    if not path.exists():
        return None
    import pyarrow.parquet as pq

    with _lock(path):
        if not path.exists():
            return None
        try:
            table = pq.read_table(path)
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
        except Exception as exc:  # any unreadable/inconsistent file is corrupt
            _quarantine(path, f"{type(exc).__name__}: {exc}")
            return None
    s.index = pd.DatetimeIndex(idx, name="date").as_unit("ns")
    s.name = series_id
    return CacheEntry(s, meta)


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
