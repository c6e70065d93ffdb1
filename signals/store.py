"""The article store: a Parquet dataset partitioned by UTC day, queried with DuckDB.

Layout under the store folder::

    articles/date=YYYY-MM-DD/part-<time>-<uuid>.parquet   the articles (one file per add and day)
    _index/date=YYYY-MM-DD.npz                             article ids of that day (a cache, rebuilt
                                                           from the Parquet files when stale)
    _state/<source>.json                                   per-source ingest state (ETag, last file)
    _ledger/<run>.json                                     one ledger per ingest run
    _cache/                                                per-partition signal results
    .writer.lock                                           held by the one writer

Every write is atomic per partition: the rows of one day go to a hidden temporary file which is
renamed into place, so a reader (or a writer killed at any point) sees the whole file or nothing.
Readers take no lock. ``article_id`` is unique across the whole store: :meth:`ArticleStore.add`
drops (and counts) rows whose id is already stored or repeated in the batch.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from signals.errors import InputFormatError, NewsbtError

__all__ = ["STORE_COLUMNS", "AddLedger", "ArticleStore", "StoreBusyError", "StoreError"]

log = logging.getLogger(__name__)

_TS = pa.timestamp("ns", tz="UTC")
#: the stored schema (Articles columns, provenance, GDELT fields; absent fields are null)
STORE_SCHEMA = pa.schema(
    [
        ("article_id", pa.string()),
        ("published", _TS),
        ("published_precision", pa.string()),
        ("title", pa.string()),
        ("body", pa.string()),
        ("source", pa.string()),
        ("url", pa.string()),
        ("published_raw", pa.string()),
        ("origin", pa.string()),
        ("source_id", pa.string()),
        ("ingested_at", _TS),
        ("flags", pa.string()),
        ("gdelt_themes", pa.string()),
        ("gkg_record_id", pa.string()),
        ("page_published", _TS),
        ("tone", pa.float64()),
        ("tone_positive", pa.float64()),
        ("tone_negative", pa.float64()),
        ("tone_polarity", pa.float64()),
        ("tone_activity", pa.float64()),
        ("tone_self_group", pa.float64()),
        ("word_count", pa.float64()),
    ]
)
STORE_COLUMNS = STORE_SCHEMA.names
_STR_COLS = [f.name for f in STORE_SCHEMA if pa.types.is_string(f.type)]
_TS_COLS = [f.name for f in STORE_SCHEMA if pa.types.is_timestamp(f.type)]
#: a timestamp this far after the ingest clock is flagged ``future_timestamp`` (clock skew)
FUTURE_TOLERANCE = pd.Timedelta(minutes=15)
_SOURCE_RE = re.compile(r"^[A-Za-z0-9_.:-]+$")
#: name ending of a part file written by :meth:`ArticleStore.compact`
_COMPACT_SUFFIX = ".c.parquet"
_REPLACES_KEY = b"newsbt_replaces"


def _replaced(path: Path) -> list[str]:
    """Names of the part files a compacted file replaces (from its Parquet metadata)."""
    try:
        meta = pq.read_metadata(path).metadata or {}
    except (OSError, pa.ArrowException):
        return []
    return json.loads(meta.get(_REPLACES_KEY, b"[]"))


class StoreError(NewsbtError, OSError):
    """The article store cannot be opened, written or read (names the folder and the fix)."""

    exit_code = 3


class StoreBusyError(StoreError):
    """Another writer holds the store's lock (a second ``newsbt ingest`` at the same time)."""

    exit_code = 4


@dataclass
class AddLedger:
    """What one :meth:`ArticleStore.add` did (counts of rows).

    ``rows`` = ``new`` + ``duplicates`` + ``len(rejects)``; ``future`` counts new rows flagged
    ``future_timestamp`` (stored, but dated after the ingest clock plus 15 minutes).
    """

    source_id: str
    rows: int = 0
    new: int = 0
    duplicates: int = 0
    future: int = 0
    rejects: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["article_id", "reason"]))
    partitions: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        reasons = self.rejects["reason"].value_counts().to_dict() if len(self.rejects) else {}
        return {
            "source_id": self.source_id,
            "rows": self.rows,
            "new": self.new,
            "duplicates": self.duplicates,
            "rejects": len(self.rejects),
            "reject_reasons": {str(k): int(v) for k, v in reasons.items()},
            "future": self.future,
            "partitions": list(self.partitions),
        }


def _utc_now() -> pd.Timestamp:
    return pd.Timestamp.now(tz="UTC")


def _ids_to_u64(ids: np.ndarray) -> np.ndarray:
    """Article ids as uint64 keys, each on its own (never depending on the rest of the batch): a
    lower-case 16-hex-digit id (what the readers make) is its own value, any other id a 64-bit hash."""
    if len(ids) == 0:
        return np.zeros(0, dtype=np.uint64)
    ids = np.asarray(ids, dtype=object)
    hexy = pd.Series(ids).str.fullmatch(r"[0-9a-f]{16}").fillna(False).to_numpy(dtype=bool)
    out = np.empty(len(ids), dtype=np.uint64)
    if hexy.any():
        out[hexy] = np.frombuffer(bytes.fromhex("".join(ids[hexy].tolist())), dtype=">u8").astype(np.uint64)
    if not hexy.all():
        out[~hexy] = pd.util.hash_array(ids[~hexy])
    return out


#: version of the id keys in ``_index/`` (2: each id keyed on its own; older indexes are rebuilt)
_KEY_VERSION = 2


def _atomic_write_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".tmp-{uuid.uuid4().hex}-{path.name}")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def _bounds(start: Any, end: Any) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """[start, end) in UTC; a date (``YYYY-MM-DD`` or ``datetime.date``) as ``end`` includes that day."""

    def ts(v: Any) -> pd.Timestamp:
        try:
            t = pd.Timestamp(v)
        except (ValueError, TypeError) as exc:
            raise InputFormatError(f"{v!r} is not a date or timestamp (use YYYY-MM-DD)") from exc
        return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")

    lo = None if start is None else ts(start)
    hi = None
    if end is not None:
        hi = ts(end)
        is_date = (isinstance(end, dt.date) and not isinstance(end, dt.datetime)) or (
            isinstance(end, str) and len(end.strip()) == 10
        )
        if is_date:
            hi = hi + pd.Timedelta(days=1)
    return lo, hi


class ArticleStore:
    """A folder of articles partitioned by UTC day (Parquet), with DuckDB queries.

    Parameters
    ----------
    path : str or Path
        The store folder; created on the first write.
    lock_timeout : float
        Seconds a writer waits for another writer before :class:`StoreBusyError` (default 0:
        fail at once).

    Examples
    --------
    >>> store = ArticleStore("data/store")                        # doctest: +SKIP
    >>> store.add(signals.read_articles("news.jsonl"), source_id="files")  # doctest: +SKIP
    >>> store.articles("2025-04-01", "2025-04-30")                # doctest: +SKIP
    >>> store.query("SELECT source_id, count(*) FROM articles GROUP BY 1")  # doctest: +SKIP
    """

    def __init__(self, path: str | Path, *, lock_timeout: float = 0.0) -> None:
        self.path = Path(path).expanduser().absolute()  # Dask workers may run in another folder
        self.lock_timeout = float(lock_timeout)
        self._lock = None
        self._depth = 0
        self._index: dict[str, np.ndarray] | None = None

    def __repr__(self) -> str:
        return f"ArticleStore({str(self.path)!r})"

    def __reduce__(self):  # picklable for Dask workers (no lock, no index)
        return (ArticleStore, (str(self.path),))

    # ------------------------------------------------------------------ layout
    @property
    def articles_dir(self) -> Path:
        return self.path / "articles"

    def _day_dir(self, day: str) -> Path:
        return self.articles_dir / f"date={day}"

    def days(self) -> list[str]:
        """UTC days (``YYYY-MM-DD``) that hold at least one part file, sorted."""
        if not self.articles_dir.is_dir():
            return []
        out = []
        for d in self.articles_dir.iterdir():
            if d.name.startswith("date=") and any(d.glob("part-*.parquet")):
                out.append(d.name[5:])
        return sorted(out)

    def files(self, start: Any = None, end: Any = None) -> list[Path]:
        """Part files of the days that overlap ``[start, end)`` (see :meth:`articles`), sorted."""
        lo, hi = _bounds(start, end)
        out: list[Path] = []
        for day in self.days():
            d0 = pd.Timestamp(day, tz="UTC")
            if (lo is not None and d0 + pd.Timedelta(days=1) <= lo) or (hi is not None and d0 >= hi):
                continue
            out.extend(self.day_files(day))
        return out

    def day_files(self, day: str) -> list[Path]:
        """The live part files of one UTC day, sorted.

        A compacted file (``part-*.c.parquet``) names the files it replaces in its Parquet
        metadata; while those still exist (a compaction between its rename and their removal,
        or killed there) they are left out, so a reader sees every row exactly once.
        """
        parts = sorted(self._day_dir(day).glob("part-*.parquet"))
        if len(parts) < 2:
            return parts
        gone = set()
        for p in parts:
            if p.name.endswith(_COMPACT_SUFFIX):
                gone.update(_replaced(p))
        return [p for p in parts if p.name not in gone]

    # ------------------------------------------------------------------ writer lock
    @contextlib.contextmanager
    def writing(self) -> Iterator[ArticleStore]:
        """Hold the writer lock (re-entrant). Readers are never blocked.

        Raises
        ------
        StoreError
            The folder cannot be created or written (read-only store).
        StoreBusyError
            Another writer holds the lock for longer than ``lock_timeout`` seconds.
        """
        from filelock import FileLock, Timeout

        if self._depth == 0:
            try:
                self.path.mkdir(parents=True, exist_ok=True)
                probe = self.path / f".probe-{uuid.uuid4().hex}"
                probe.touch()
                probe.unlink()
            except OSError as exc:
                raise StoreError(
                    f"article store {self.path} is not writable ({exc.strerror or exc}); give a writable "
                    "folder in [store].path or fix its permissions (reading it needs no write access)"
                ) from None
            self._lock = FileLock(str(self.path / ".writer.lock"), timeout=self.lock_timeout)
            try:
                self._lock.acquire()
            except Timeout:
                raise StoreBusyError(
                    f"article store {self.path} is being written by another process (lock "
                    f"{self.path / '.writer.lock'}); try again when it has finished"
                ) from None
            self._cleanup_temp()
        self._depth += 1
        try:
            yield self
        finally:
            self._depth -= 1
            if self._depth == 0:
                self._lock.release()
                self._index = None

    def _cleanup_temp(self) -> None:
        """Remove temporary files left by a writer that was killed (they were never visible)."""
        for pattern in ("articles/date=*/.tmp-*", "_index/.tmp-*", "_state/.tmp-*", "_ledger/.tmp-*"):
            for f in self.path.glob(pattern):
                log.info("removing %s left by an interrupted write", f)
                with contextlib.suppress(OSError):
                    f.unlink()
        for c in self.path.glob(f"articles/date=*/part-*{_COMPACT_SUFFIX}"):
            for name in _replaced(c):  # a compaction killed after its rename: finish it
                with contextlib.suppress(OSError):
                    (c.parent / name).unlink()

    # ------------------------------------------------------------------ id index
    def _day_ids(self, day: str) -> np.ndarray:
        parts = [p.name for p in self.day_files(day)]
        idx = self.path / "_index" / f"date={day}.npz"
        if idx.exists():
            with contextlib.suppress(OSError, ValueError, KeyError), np.load(idx) as z:
                if list(z["files"]) == parts and "version" in z.files and int(z["version"]) == _KEY_VERSION:
                    return z["ids"]
        ids = [pq.read_table(self._day_dir(day) / p, columns=["article_id"]).column(0) for p in parts]
        arr = np.sort(_ids_to_u64(np.concatenate([c.to_numpy(zero_copy_only=False) for c in ids])))
        if self._depth:  # only a writer refreshes the cache
            self._save_day_index(day, arr, parts)
        return arr

    def _save_day_index(self, day: str, ids: np.ndarray, parts: list[str]) -> None:
        import io

        (self.path / "_index").mkdir(exist_ok=True)
        buf = io.BytesIO()
        np.savez(buf, ids=ids, files=np.asarray(parts, dtype=str), version=np.asarray(_KEY_VERSION))
        _atomic_write_bytes(self.path / "_index" / f"date={day}.npz", buf.getvalue())

    def _load_index(self) -> dict[str, np.ndarray]:
        if self._index is None:
            self._index = {day: self._day_ids(day) for day in self.days()}
        return self._index

    # ------------------------------------------------------------------ add
    def _coerce(self, articles: pd.DataFrame, source_id: str, now: pd.Timestamp) -> pd.DataFrame:
        for c in ("article_id", "published"):
            if c not in articles.columns:
                raise InputFormatError(
                    f"ArticleStore.add: the articles lack column {c!r}; pass signals.read_articles output"
                )
        if not isinstance(articles["published"].dtype, pd.DatetimeTZDtype):
            raise InputFormatError(
                "ArticleStore.add: 'published' must be tz-aware (UTC) datetimes, as read_articles returns"
            )
        df = pd.DataFrame(index=pd.RangeIndex(len(articles)))
        for f in STORE_SCHEMA:
            c = f.name
            if c in articles.columns:
                col = articles[c].reset_index(drop=True)
                if c in _TS_COLS:
                    df[c] = pd.to_datetime(col, utc=True).dt.as_unit("ns")
                elif c in _STR_COLS:
                    df[c] = col.astype(object).where(col.notna(), None)
                else:
                    df[c] = pd.to_numeric(col, errors="coerce").astype("float64")
            elif c in _TS_COLS:
                df[c] = pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns, UTC]")
            elif c in _STR_COLS:
                df[c] = pd.Series([None] * len(df), dtype=object)
            else:
                df[c] = np.nan
        extra = sorted(set(articles.columns) - set(STORE_COLUMNS) - {"n_duplicates"})
        if extra:
            log.info("ArticleStore.add: columns not stored (not in the store schema): %s", extra)
        df["source_id"] = source_id
        df["ingested_at"] = now.as_unit("ns")
        future = (df["published"] > now + FUTURE_TOLERANCE).to_numpy()
        old = df["flags"].fillna("").astype(str)
        df["flags"] = np.where(
            future, np.where(old == "", "future_timestamp", old + ";future_timestamp"), old
        )
        return df

    def add(self, articles: pd.DataFrame, *, source_id: str, now: Any = None) -> AddLedger:
        """Append articles; ids already in the store (or repeated in ``articles``) are counted, not stored.

        Parameters
        ----------
        articles : pandas.DataFrame
            An Articles table (:func:`signals.read_articles` output; GDELT extras kept).
        source_id : str
            Where the rows came from (e.g. ``"gdelt"``, ``"feed:cnbc"``); letters, digits, ``_.:-``.
        now : timestamp, optional
            The ingest clock (default: now, UTC); stored as ``ingested_at``. Rows dated more than
            15 minutes after it are stored with ``flags = "future_timestamp"`` and counted.

        Returns
        -------
        AddLedger
            ``rows``, ``new``, ``duplicates``, ``future`` (counts) and ``rejects`` (rows without an
            id or a timestamp, with the reason); rows = new + duplicates + rejects.

        Raises
        ------
        StoreError, StoreBusyError
            Read-only store; another writer holds the lock.
        """
        if not isinstance(source_id, str) or not _SOURCE_RE.match(source_id):
            raise InputFormatError(f"source_id={source_id!r}: use letters, digits and _ . : - only")
        now_ts = _utc_now() if now is None else _bounds(now, None)[0]
        df = self._coerce(articles, source_id, now_ts)
        led = AddLedger(source_id=source_id, rows=len(df))
        bad_id = df["article_id"].isna() | (df["article_id"].astype(str) == "")
        bad_ts = df["published"].isna()
        bad = (bad_id | bad_ts).to_numpy()
        if bad.any():
            led.rejects = pd.DataFrame(
                {
                    "article_id": df.loc[bad, "article_id"].to_numpy(),
                    "reason": np.where(bad_id[bad], "missing_article_id", "missing_published"),
                }
            )
            df = df.loc[~bad]
        df = df.sort_values(["published", "article_id"], kind="mergesort").reset_index(drop=True)
        keys = _ids_to_u64(df["article_id"].to_numpy(dtype=object))
        with self.writing():
            seen = pd.Series(keys).duplicated().to_numpy().copy()
            for known in self._load_index().values():  # one sorted id array per stored day
                if len(known):
                    pos = np.minimum(np.searchsorted(known, keys), len(known) - 1)
                    seen |= known[pos] == keys
            led.duplicates = int(seen.sum())
            df, keys = df.loc[~seen].reset_index(drop=True), keys[~seen]
            led.new = len(df)
            led.future = int(df["flags"].str.contains("future_timestamp", regex=False).sum())
            if len(df):
                days = df["published"].dt.strftime("%Y-%m-%d").to_numpy()
                for day in pd.unique(days):
                    m = days == day
                    self._write_day(str(day), df.loc[m], keys[m])
                    led.partitions.append(str(day))
        assert led.rows == led.new + led.duplicates + len(led.rejects)
        if led.future:
            log.warning(
                "%s: %d article(s) dated more than %s after the ingest clock (clock skew?); stored with "
                "flags='future_timestamp'",
                source_id,
                led.future,
                FUTURE_TOLERANCE,
            )
        return led

    def _write_part(self, day: str, table: pa.Table, suffix: str = ".parquet") -> Path:
        """One part file, atomically: a hidden temp file, fsync, then rename into place."""
        d = self._day_dir(day)
        d.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        name = f"part-{stamp}-{uuid.uuid4().hex[:12]}{suffix}"
        tmp = d / f".tmp-{name}"
        with open(tmp, "wb") as fh:
            pq.write_table(table, fh, compression="zstd")
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, d / name)
        return d / name

    def _write_day(self, day: str, rows: pd.DataFrame, keys: np.ndarray) -> None:
        """Write one day's rows atomically (temp file + rename), then refresh that day's id index."""
        table = pa.Table.from_pandas(rows[STORE_COLUMNS], schema=STORE_SCHEMA, preserve_index=False)
        self._write_part(day, table)
        index = self._load_index()
        old = index.get(day, np.zeros(0, np.uint64))
        merged = np.sort(np.concatenate([old, keys]))
        index[day] = merged
        self._save_day_index(day, merged, [p.name for p in self.day_files(day)])

    # ------------------------------------------------------------------ compaction
    def compact(self, days: list[str] | None = None, *, min_files: int = 2) -> dict[str, int]:
        """Merge each day's part files into one, atomically; readers are never blocked.

        The merged file (sorted by ``published``, ``article_id``) is renamed into place with the
        names of the files it replaces in its metadata, so from that instant readers read it
        instead of them; the old files are then removed. Killed at any point, the store reads
        every row once (the next writer removes what was left).

        Parameters
        ----------
        days : list of str, optional
            UTC days (``YYYY-MM-DD``); default every day.
        min_files : int
            Compact a day only when it has at least this many part files.

        Returns
        -------
        dict
            ``days`` compacted, ``files_before``, ``files_after``, ``rows``.

        Raises
        ------
        StoreError, StoreBusyError
            Read-only store; another writer holds the lock.
        """
        out = {"days": 0, "files_before": 0, "files_after": 0, "rows": 0}
        with self.writing():
            for day in self.days() if days is None else list(days):
                parts = self.day_files(day)
                if len(parts) < max(2, min_files):
                    continue
                table = pa.concat_tables([pq.read_table(p, schema=STORE_SCHEMA) for p in parts])
                table = table.sort_by([("published", "ascending"), ("article_id", "ascending")])
                ids = table.column("article_id")
                if pc.count_distinct(ids).as_py() != len(ids):  # the store's invariant
                    raise StoreError(f"{self._day_dir(day)}: repeated article_id; not compacted")
                meta = {
                    **(table.schema.metadata or {}),
                    _REPLACES_KEY: json.dumps([p.name for p in parts]).encode(),
                }
                new = self._write_part(day, table.replace_schema_metadata(meta), _COMPACT_SUFFIX)
                for p in parts:  # readers already skip them (see day_files)
                    p.unlink()
                keys = np.sort(_ids_to_u64(ids.to_numpy(zero_copy_only=False)))
                self._save_day_index(day, keys, [new.name])
                if self._index is not None:
                    self._index[day] = keys
                out["days"] += 1
                out["files_before"] += len(parts)
                out["files_after"] += 1
                out["rows"] += len(table)
        log.info(
            "compacted %d day(s): %d part files -> %d", out["days"], out["files_before"], out["files_after"]
        )
        return out

    # ------------------------------------------------------------------ state and ledgers
    def _state_file(self, source_id: str) -> Path:
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", source_id)
        return self.path / "_state" / f"{safe}.json"

    def get_state(self, source_id: str) -> dict[str, Any]:
        """The ingest state of one source (``{}`` before its first successful ingest)."""
        f = self._state_file(source_id)
        if not f.exists():
            return {}
        try:
            return json.loads(f.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise StoreError(
                f"{f}: unreadable ingest state ({exc}); delete it to re-read the source"
            ) from None

    def set_state(self, source_id: str, state: dict[str, Any]) -> None:
        """Replace the ingest state of one source atomically (call after its data is written)."""
        with self.writing():
            f = self._state_file(source_id)
            f.parent.mkdir(exist_ok=True)
            _atomic_write_bytes(f, json.dumps(state, indent=1, sort_keys=True, default=str).encode())

    def write_ledger(self, run: dict[str, Any]) -> Path:
        """Store one ingest run's ledger (``_ledger/<run_id>.json``) and return its path."""
        with self.writing():
            d = self.path / "_ledger"
            d.mkdir(exist_ok=True)
            f = d / f"{run['run_id']}.json"
            _atomic_write_bytes(f, json.dumps(run, indent=1, default=str).encode())
            return f

    def ledgers(self) -> pd.DataFrame:
        """Every stored ingest ledger, one row per (run, source), oldest first."""
        rows = []
        for f in sorted((self.path / "_ledger").glob("*.json")):
            run = json.loads(f.read_text(encoding="utf-8"))
            for s in run.get("sources", []):
                rows.append({"run_id": run["run_id"], "started": run.get("started"), **s})
        return pd.DataFrame(rows)

    # ------------------------------------------------------------------ reading (DuckDB)
    def _connect(self, files: list[Path]):
        import duckdb

        con = duckdb.connect()
        con.execute("SET TimeZone='UTC'")
        if files:
            flist = ", ".join("'" + str(f).replace("'", "''") + "'" for f in files)
            con.execute(
                f"CREATE VIEW articles AS SELECT * FROM read_parquet([{flist}], hive_partitioning=false)"
            )
        else:
            con.register("_empty", STORE_SCHEMA.empty_table())
            con.execute("CREATE VIEW articles AS SELECT * FROM _empty")
        return con

    def query(self, sql: str, params: list | None = None) -> pd.DataFrame:
        """Run SQL (DuckDB dialect) over a view named ``articles`` holding the whole store.

        Parameters
        ----------
        sql : str
            E.g. ``"SELECT source_id, count(*) AS n FROM articles GROUP BY 1"``.
        params : list, optional
            Values for ``?`` placeholders.

        Returns
        -------
        pandas.DataFrame
        """
        import duckdb

        try:
            return self._over_files(None, None, lambda con: con.sql(sql, params=params or None).to_arrow_table()).to_pandas()
        except duckdb.Error as exc:
            raise InputFormatError(f"store query failed: {exc}") from None

    def _over_files(self, lo, hi, run: Callable):
        """``run(con)`` over a view of the live part files of ``[lo, hi)``; when a compaction removes a
        listed file meanwhile (readers are never blocked), the files are listed again."""
        import duckdb

        for attempt in range(5):
            files = self.files(lo, hi)
            con = None
            try:
                con = self._connect(files)
                return run(con)
            except duckdb.Error:  # IO errors come under several classes; a vanished file is the test
                if attempt == 4 or all(f.exists() for f in files):
                    raise
            finally:
                if con is not None:
                    con.close()
        raise AssertionError("unreachable")  # pragma: no cover

    def articles(
        self,
        start: Any = None,
        end: Any = None,
        *,
        sources: list[str] | None = None,
        columns: list[str] | None = None,
    ) -> pd.DataFrame:
        """Articles published in ``[start, end)`` as an Articles DataFrame, sorted by time and id.

        Parameters
        ----------
        start, end : date, str or Timestamp, optional
            UTC bounds; a date as ``end`` (``"2025-04-30"``) includes that whole day.
        sources : list of str, optional
            Only these ``source_id`` values.
        columns : list of str, optional
            Only these columns (``article_id`` and ``published`` always come).

        Returns
        -------
        pandas.DataFrame
            ``published`` as datetime64[ns, UTC]; text columns as str ("" for missing title, body,
            source, url).
        """
        lo, hi = _bounds(start, end)
        cols = (
            list(STORE_COLUMNS)
            if columns is None
            else list(dict.fromkeys(["article_id", "published", *columns]))
        )
        unknown = set(cols) - set(STORE_COLUMNS)
        if unknown:
            raise InputFormatError(
                f"ArticleStore.articles: unknown column(s) {sorted(unknown)}; known: {STORE_COLUMNS}"
            )
        where, params = _where(lo, hi, sources)
        sel = ", ".join(f'"{c}"' for c in cols)
        sql = f"SELECT {sel} FROM articles WHERE {' AND '.join(where)} ORDER BY published, article_id"
        tab = self._over_files(lo, hi, lambda con: con.sql(sql, params=params or None).to_arrow_table())
        return _to_pandas(tab)

    def count(self, start: Any = None, end: Any = None, *, sources: list[str] | None = None) -> int:
        """Number of articles published in ``[start, end)`` (bounds as :meth:`articles`)."""
        lo, hi = _bounds(start, end)
        where, params = _where(lo, hi, sources)
        sql = f"SELECT count(*) FROM articles WHERE {' AND '.join(where)}"
        return int(self._over_files(lo, hi, lambda con: con.sql(sql, params=params or None).fetchall()[0][0]))

    def stats(self) -> pd.DataFrame:
        """Rows per UTC day and source (``date``, ``source_id``, ``rows``, ``future``), plus totals in attrs."""
        df = self.query(
            "SELECT strftime(published, '%Y-%m-%d') AS date, source_id, count(*) AS rows, "
            "count(*) FILTER (WHERE flags LIKE '%future_timestamp%') AS future "
            "FROM articles GROUP BY 1, 2 ORDER BY 1, 2"
        )
        size = sum(f.stat().st_size for f in self.files())
        df.attrs["newsbt_store"] = {
            "rows": int(df["rows"].sum()) if len(df) else 0,
            "bytes": size,
            "files": len(self.files()),
            "days": len(self.days()),
        }
        return df


def _where(lo, hi, sources) -> tuple[list[str], list]:
    where, params = ["TRUE"], []
    if lo is not None:
        where.append("published >= ?")
        params.append(lo.to_pydatetime())
    if hi is not None:
        where.append("published < ?")
        params.append(hi.to_pydatetime())
    if sources is not None:
        where.append(f"source_id IN ({', '.join('?' * len(sources)) or 'NULL'})")
        params.extend(sources)
    return where, params


def _to_pandas(tab: pa.Table) -> pd.DataFrame:
    df = tab.to_pandas()
    for c in df.columns:
        if c in _TS_COLS:
            df[c] = pd.to_datetime(df[c], utc=True).dt.as_unit("ns")
        elif c in _STR_COLS:
            s = df[c].astype(object)
            df[c] = s.where(s.notna(), "" if c in ("title", "body", "source", "url", "flags") else None)
    return df
