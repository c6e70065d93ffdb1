"""Events from the article store, partition by partition, in one process or on a Dask cluster.

``events_from_store`` runs tagging and sentiment on each partition of the store (one UTC day, or a
smaller ``partition`` span) and extracts the theme bursts of that partition. A burst that lies
farther than ``gap`` from both edges of its partition cannot chain with any article outside it, so
it is final. The others (first article within ``gap`` of the partition's start, or last article
within ``gap`` of its end) are sent back as thin rows (id, time, theme, title, compound, score) and
re-chained together in one small second pass. The result equals
``extract_events(score_sentiment(tag_themes(store.articles(start, end))))`` exactly (same ids,
timestamps, counts and sentiment bits), whatever the partitioning: both passes call the same
:func:`signals.extract_events` on the same rows in the same order.

Only events and boundary rows travel back to the driver; a worker holds one partition at a time.
Per-partition results are cached under ``<store>/_cache/signals`` keyed by the partition's files,
its bounds, the theme book and the options, so a daily run only computes new partitions.
"""

from __future__ import annotations

import copy
import hashlib
import logging
import os
import pickle
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from signals._gkg_themes import GkgRule, as_gkg_rules, gkg_rules_from_book, tag_gkg
from signals.errors import ConfigError, InputNotFoundError
from signals.events import EVENT_COLUMNS, extract_events
from signals.sentiment import score_sentiment
from signals.store import STORE_SCHEMA, ArticleStore, _bounds, _to_pandas
from signals.themes import ThemeBook, _resolve_book, tag_themes

__all__ = ["AUTO_DASK_ROWS", "SOURCES", "events_from_store", "tag_gkg"]

log = logging.getLogger(__name__)

#: ``engine="auto"`` uses Dask above this many articles in the requested range
AUTO_DASK_ROWS = 2_000_000
#: where themes and sentiment come from (see :func:`events_from_store`)
SOURCES = ("text", "gkg", "auto")
_CACHE_VERSION = "3"  # 3: the book key covers rules, negation and neutral headlines


@dataclass(frozen=True)
class _Part:
    store: str
    lo: pd.Timestamp
    hi: pd.Timestamp
    files: tuple[str, ...]


def _book_key(book: ThemeBook) -> str:
    desc = repr(
        (
            [(t, sorted(dict(t.direction).items())) for t in book],
            book.series,
            book.fields,
            getattr(book, "body_chars", None),
            sorted(getattr(book, "gkg_themes", {}).items()),
            book._cache_key(),  # every rule and phrase, negation scope, neutral headlines (tags and stances)
        )
    )
    return hashlib.sha1(desc.encode()).hexdigest()[:16]


def _part_key(part: _Part, opts: dict) -> str:
    files = [(Path(f).name, os.path.getsize(f)) for f in part.files]  # part files are immutable
    raw = repr((_CACHE_VERSION, files, part.lo.value, part.hi.value, sorted(opts.items())))
    return hashlib.sha1(raw.encode()).hexdigest()


def _thin(tagged: pd.DataFrame, ev: pd.DataFrame) -> pd.DataFrame:
    """One row per (article, theme) of the given events: what the second pass needs."""
    pairs = ev[["theme", "article_ids"]].explode("article_ids").rename(columns={"article_ids": "article_id"})
    t = tagged.set_index("article_id")
    rows = t.loc[pairs["article_id"].to_numpy()]
    themes = pairs["theme"].to_numpy(dtype=object)
    score = np.zeros(len(pairs))
    stance = np.full(len(pairs), np.nan)  # the article's stance on that theme (NaN: none)
    for th in pd.unique(themes):  # one pass per theme, not per row
        m = themes == th
        if f"{th}_score" in rows:
            score[m] = rows[f"{th}_score"].to_numpy(dtype=float)[m]
        if f"{th}_stance" in rows:
            stance[m] = rows[f"{th}_stance"].to_numpy(dtype=float)[m]
    return pd.DataFrame(
        {
            "article_id": pairs["article_id"].to_numpy(dtype=object),
            "published": rows["published"].to_numpy(),
            "theme": themes,
            "title": rows["title"].to_numpy(dtype=object) if "title" in rows else "",
            "compound": rows["compound"].to_numpy(dtype=float),
            "score": score,
            "stance": stance,
        }
    )


def _tag_part(arts: pa.Table, book: ThemeBook, opts: dict) -> pd.DataFrame:
    """Tag and score one partition's rows (only the tagged rows are returned).

    ``source="gkg"``: every row from its GKG codes and V2Tone; ``"text"``: the theme book's text
    rules and VADER; ``"auto"``: rows with GKG codes as ``"gkg"``, the others as ``"text"``.
    """
    src, rules = opts["source"], dict(opts["gkg_rules"] or ())
    if src == "auto":
        codes = pc.fill_null(arts.column("gdelt_themes"), "")
        is_gkg = pc.not_equal(codes, "")
        gkg = _tag_part(arts.filter(is_gkg), book, {**opts, "source": "gkg"})
        text = _tag_part(arts.filter(pc.invert(is_gkg)), book, {**opts, "source": "text"})
        return (
            pd.concat([x for x in (gkg, text) if len(x)], ignore_index=True) if len(gkg) or len(text) else gkg
        )
    if src == "gkg":
        return tag_gkg(arts.select([c for c in arts.column_names if c != "body"]), rules, tagged_only=True)
    text = _to_pandas(arts.select([c for c in arts.column_names if c not in ("gdelt_themes", "tone")]))
    tagged = tag_themes(text, themes=book)
    has = tagged["themes"].map(len).to_numpy() > 0
    return score_sentiment(tagged.loc[has], lexicon=opts["lexicon"]) if has.any() else tagged.loc[has]


def _compute_part(part: _Part, book: ThemeBook, opts: dict) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Tag, score and extract one partition; split its bursts into final ones and boundary rows."""
    cols = {"text": ["title", "body"], "gkg": ["title", "gdelt_themes", "tone"]}.get(
        opts["source"], ["title", "body", "gdelt_themes", "tone"]
    )  # only what the taggers read
    arts = _read_part(part, cols, arrow=True)
    n_arts = arts.num_rows
    gap = pd.Timedelta(opts["gap"])
    tagged = _tag_part(arts, book, opts)
    del arts
    if not len(tagged):  # nothing tagged: no events, no boundary rows
        return (
            _EMPTY_EVENTS,
            _EMPTY_THIN,
            {"articles": n_arts, "articles_tagged": 0, "bursts_final": 0, "dropped_min_articles": 0},
        )
    ev = extract_events(tagged, gap=gap, min_articles=1, themes=book, only=opts["only"])
    edge = ((ev["timestamp"] - part.lo) <= gap) | ((part.hi - ev["end"]) <= gap)
    final = ev.loc[~edge.to_numpy()]
    final = final[final["n_articles"] >= opts["min_articles"]]
    info = {
        "articles": n_arts,
        "articles_tagged": len(tagged),
        "bursts_final": int((~edge).sum()),
        "dropped_min_articles": int((~edge).sum()) - len(final),
    }
    return final.reset_index(drop=True), _thin(tagged, ev.loc[edge.to_numpy()]), info


_EMPTY_EVENTS = pd.DataFrame()
_EMPTY_THIN = pd.DataFrame(
    {
        "article_id": pd.Series(dtype=object),
        "published": pd.Series(dtype="datetime64[ns, UTC]"),
        "theme": pd.Series(dtype=object),
        "title": pd.Series(dtype=object),
        "compound": pd.Series(dtype=float),
        "score": pd.Series(dtype=float),
        "stance": pd.Series(dtype=float),
    }
)


def _run_part(
    part: _Part, book: ThemeBook, opts: dict, cache: bool
) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """:func:`_compute_part` through the per-partition cache (a missing or unwritable cache is skipped)."""
    for attempt in range(5):
        try:
            return _run_part_once(_live(part), book, opts, cache)
        except FileNotFoundError:  # a compaction replaced a listed file meanwhile: list again
            if attempt == 4 or all(os.path.exists(f) for f in part.files):
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _retry_listing(fn: Callable[[], Any], attempts: int = 5) -> Any:
    """``fn()`` again when a file it listed was removed by a compaction meanwhile."""
    for attempt in range(attempts):
        try:
            return fn()
        except FileNotFoundError:
            if attempt == attempts - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _live(part: _Part) -> _Part:
    """``part`` with today's files when a compaction has replaced some since the plan (same rows)."""
    if all(os.path.exists(f) for f in part.files):
        return part
    files = tuple(str(f) for f in ArticleStore(part.store).files(part.lo, part.hi))
    return _Part(part.store, part.lo, part.hi, files)


def _run_part_once(part: _Part, book: ThemeBook, opts: dict, cache: bool) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    f = Path(part.store) / "_cache" / "signals" / f"{_part_key(part, {**opts, 'book': _book_key(book)})}.pkl"
    if cache and f.exists():
        try:
            with open(f, "rb") as fh:
                return pickle.load(fh)
        except (OSError, pickle.UnpicklingError, EOFError):
            log.info("cache file %s unreadable; recomputing", f)
    out = _compute_part(part, book, opts)
    if cache:
        try:
            f.parent.mkdir(parents=True, exist_ok=True)
            tmp = f.with_name(f".tmp-{os.getpid()}-{f.name}")
            with open(tmp, "wb") as fh:
                pickle.dump(out, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, f)
        except OSError as e:
            log.info("cannot cache %s (%s)", f, e)
    return out


def _stitch(thin: pd.DataFrame, book: ThemeBook, opts: dict) -> pd.DataFrame:
    """Re-chain the boundary rows of every partition with :func:`extract_events`."""
    if not len(thin):
        return extract_events(_empty_tagged(book), gap=opts["gap"], themes=book)
    thin = thin.sort_values(["theme", "published", "article_id"], kind="mergesort").reset_index(drop=True)
    tagged = pd.DataFrame(
        {
            "article_id": thin["article_id"],
            "published": pd.to_datetime(thin["published"], utc=True),
            "themes": [(t,) for t in thin["theme"]],
            "title": thin["title"],
            "compound": thin["compound"],
        }
    )
    for t in pd.unique(thin["theme"]):
        tagged[f"{t}_score"] = np.where(thin["theme"] == t, thin["score"], 0.0)
        if "stance" in thin:
            tagged[f"{t}_stance"] = np.where(thin["theme"] == t, thin["stance"], np.nan)
    return extract_events(tagged, gap=opts["gap"], min_articles=opts["min_articles"], themes=book)


def _empty_tagged(book: ThemeBook) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "article_id": pd.Series(dtype=object),
            "published": pd.Series(dtype="datetime64[ns, UTC]"),
            "themes": pd.Series(dtype=object),
            "title": pd.Series(dtype=object),
            "compound": pd.Series(dtype=float),
        }
    )


def _day_rows(files: list[Path]) -> int:
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(f).metadata.num_rows for f in files)


def _plan(store: ArticleStore, lo, hi, partition: str | pd.Timedelta, target_rows: int) -> list[_Part]:
    """Partitions covering [lo, hi): ``"auto"`` joins whole consecutive days until ``target_rows``
    articles (a sparse corpus is not cut into thousands of tiny tasks); a span (``"1D"``, ``"6h"``)
    cuts every day into pieces of that length."""
    days = []
    for day in store.days():
        d0 = pd.Timestamp(day, tz="UTC")
        if (lo is None or d0 + pd.Timedelta(days=1) > lo) and (hi is None or d0 < hi):
            days.append((d0, store.day_files(day)))  # live files only (a compaction may be half-way)

    def clip(a, b):
        return (max(a, lo) if lo is not None else a), (min(b, hi) if hi is not None else b)

    parts: list[_Part] = []
    if str(partition) == "auto":
        group: list = []
        rows = 0
        for k, (d0, files) in enumerate(days):
            group.append((d0, files))
            rows += _day_rows(files)
            if rows >= target_rows or k == len(days) - 1:
                a, b = clip(group[0][0], group[-1][0] + pd.Timedelta(days=1))
                parts.append(_Part(str(store.path), a, b, tuple(str(f) for _, fs in group for f in fs)))
                group, rows = [], 0
        return parts
    step = pd.Timedelta(partition)
    if step <= pd.Timedelta(0) or pd.Timedelta(days=1) % step != pd.Timedelta(0):
        raise ConfigError(
            f"partition={partition!r}: use 'auto' or a span that divides a day ('1D', '6h', '1h')"
        )
    for d0, files in days:
        for k in range(int(pd.Timedelta(days=1) / step)):
            a, b = clip(d0 + k * step, d0 + (k + 1) * step)
            if a < b:
                parts.append(_Part(str(store.path), a, b, tuple(str(f) for f in files)))
    return parts


def _read_part(part: _Part, columns: list[str], arrow: bool = False, sort: bool = False):
    """The articles of one partition straight from its Parquet files (no catalogue scan); in file
    order (tagging is row-wise and extract_events sorts), or sorted like
    :meth:`ArticleStore.articles` with ``sort=True``; a pyarrow Table with ``arrow=True``."""
    import pyarrow.parquet as pq

    cols = list(dict.fromkeys(["article_id", "published", *columns]))
    if not part.files:
        empty = STORE_SCHEMA.empty_table().select(cols)
        return empty if arrow else _to_pandas(empty)
    # one thread: a worker is one core (pyarrow's pool would make workers fight for the same cores);
    # the pandas metadata (the reader's attrs) is dropped: attrs are deep-copied by every groupby chop
    tab = pq.read_table(
        list(part.files) if len(part.files) > 1 else part.files[0], columns=cols, use_threads=False
    ).replace_schema_metadata(None)
    t = tab.column("published")
    keep = pc.and_(
        pc.greater_equal(t, pa.scalar(part.lo.value, STORE_SCHEMA.field("published").type)),
        pc.less(t, pa.scalar(part.hi.value, STORE_SCHEMA.field("published").type)),
    )
    tab = tab.filter(keep)
    if sort:
        tab = tab.sort_by([("published", "ascending"), ("article_id", "ascending")])
    return tab if arrow else _to_pandas(tab)


def _store_options(
    lexicon: str,
    book: ThemeBook,
    gap_td: pd.Timedelta,
    min_articles: int,
    only: list[str] | None,
    gkg_map: dict | None,
    source: str | None,
) -> dict:
    """Check ``source`` and ``gkg_map`` against the book; the per-partition options (hashable values)."""
    src = source or ("gkg" if gkg_map is not None else "text")
    if src not in SOURCES:
        raise ConfigError(f"source={source!r}: use 'text', 'gkg' or 'auto'")
    rules: dict[str, GkgRule] = {}
    if gkg_map is not None:
        rules = as_gkg_rules(gkg_map, book.names)
    elif src == "gkg" or (src == "auto" and book.gkg_themes):
        rules = gkg_rules_from_book(book, f"source={src!r}: ")
    if src == "auto" and not rules:
        src = "text"  # a book without GKG codes reads every row as text
    return {
        "gap": gap_td,
        "min_articles": int(min_articles),
        "only": None if only is None else tuple(only),
        "lexicon": lexicon,
        "source": src,
        "gkg_rules": tuple(rules.items()) if src != "text" else None,
    }


def _combine_results(results: list, book: ThemeBook, opts: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The partitions' final events plus the stitched boundary events, sorted, in one set of dtypes.

    Returns the events and the stitched piece (its ``attrs`` carry the stitched counts).
    """
    finals = [r[0] for r in results if len(r[0])]
    thin = pd.concat([r[1] for r in results], ignore_index=True) if results else pd.DataFrame()
    stitched = _stitch(thin, book, opts)
    ev = pd.concat([*finals, stitched], ignore_index=True) if finals else stitched
    ev = ev.sort_values(["timestamp", "theme", "event_id"], kind="mergesort").reset_index(drop=True)
    template = next((f for f in [*finals, stitched] if len(f)), stitched)
    ev = ev[template.columns].astype(template.dtypes.to_dict())  # an empty piece must not change dtypes
    for c in ("timestamp", "end"):
        ev[c] = ev[c].astype("datetime64[ns, UTC]")
    ev["n_articles"] = ev["n_articles"].astype("int64")
    return ev, stitched


def events_from_store(
    store: ArticleStore | str | Path,
    start: Any = None,
    end: Any = None,
    *,
    themes: ThemeBook | str | Path | None = None,
    gap: str | pd.Timedelta = "6h",
    min_articles: int = 1,
    only: list[str] | None = None,
    lexicon: Literal["vader", "vader+finance"] = "vader+finance",
    engine: Literal["pandas", "dask", "auto"] = "pandas",
    client: Any = None,
    workers: int | None = None,
    partition: str | pd.Timedelta = "auto",
    target_rows: int = 200_000,
    gkg_map: dict[str, list[str]] | None = None,
    source: Literal["text", "gkg", "auto"] | None = None,
    cache: bool = True,
) -> pd.DataFrame:
    """Theme events from the articles of a store, partition by partition (pandas or Dask).

    Parameters
    ----------
    store : ArticleStore, str or Path
        The store (workers must reach the same path: a shared file system on a cluster).
    start, end : date, str or Timestamp, optional
        UTC range; a date as ``end`` includes that day (as :meth:`ArticleStore.articles`).
    themes, gap, min_articles, only
        As :func:`signals.extract_events` (``gap`` a time span such as ``"6h"``).
    lexicon : {"vader", "vader+finance"}
        As :func:`signals.score_sentiment`.
    engine : {"pandas", "dask", "auto"}
        ``"pandas"``: partitions one after another in this process (memory bounded by one
        partition). ``"dask"``: partitions as tasks on a Dask cluster. ``"auto"``: Dask when the
        range holds more than :data:`AUTO_DASK_ROWS` articles.
    client : dask.distributed.Client or str, optional
        A client, or a scheduler address (``"tcp://host:8786"``). Without one, ``engine="dask"``
        starts a ``LocalCluster`` (``workers`` processes, default one per core) and closes it.
    workers : int, optional
        Worker processes of the local cluster.
    partition : str or Timedelta
        ``"auto"`` (default): whole consecutive UTC days joined until ``target_rows`` articles;
        or a span dividing a day (``"1D"``, ``"6h"``...). The events do not depend on it.
    target_rows : int
        Articles per partition with ``partition="auto"`` (memory per task grows with it).
    gkg_map : dict, optional
        Theme -> GKG theme codes (``CODE*`` a prefix), overriding the book's ``gkg_themes`` keys
        (see :func:`tag_gkg`); implies ``source="gkg"`` unless ``source`` is given.
    source : {"text", "gkg", "auto"}, optional
        Where themes and sentiment come from. ``"text"`` (default without ``gkg_map``): the theme
        book's rules on title/body and VADER. ``"gkg"``: GDELT-native, for stores of GKG rows:
        themes from the stored GKG theme codes mapped by the book's ``gkg_themes`` keys (or
        ``gkg_map``), sentiment = V2Tone / 10 clipped to [-1, 1]; no text is read (the
        benchmark's rate: ``benchmarks/scale.py``); themes without GKG codes are not tagged and
        events carry no stance.
        ``"auto"``: rows with GKG codes as ``"gkg"``, the other rows as ``"text"`` (a store
        mixing GDELT and feeds); ``"text"`` for every row when the book has no GKG codes.
    cache : bool
        Reuse per-partition results cached in the store (keyed by files, bounds, book, options).

    Returns
    -------
    pandas.DataFrame
        The Events table of :func:`signals.extract_events`, identical to running it on
        ``store.articles(start, end)`` tagged and scored in one piece. ``attrs["newsbt_events"]``
        adds ``articles``, ``partitions`` and ``engine``.
    """
    if engine not in ("pandas", "dask", "auto"):
        raise ConfigError(f"engine={engine!r}: use 'pandas', 'dask' or 'auto'")
    if lexicon not in ("vader", "vader+finance"):
        raise ConfigError(f"lexicon={lexicon!r}: use 'vader' or 'vader+finance' on the store")
    st = store if isinstance(store, ArticleStore) else ArticleStore(store)
    if not st.articles_dir.is_dir():
        raise InputNotFoundError(
            f"{st.path}: no article store here (no articles/ folder); check the path, or fill the store "
            "first (`newsbt ingest CONFIG`, or ArticleStore(path).add(articles))"
        )
    book = _resolve_book(themes)
    gap_td = pd.Timedelta(gap)
    opts = _store_options(lexicon, book, gap_td, min_articles, only, gkg_map, source)
    lo, hi = _bounds(start, end)
    parts = _retry_listing(lambda: _plan(st, lo, hi, partition, int(target_rows)))
    if engine == "auto":
        n = st.count(lo, hi) if parts else 0
        engine = "dask" if n > AUTO_DASK_ROWS or client is not None else "pandas"
    if engine == "dask":
        results = _run_dask(parts, book, opts, cache, client, workers)
    else:
        results = [_run_part(p, book, opts, cache) for p in parts]
    ev, stitched = _combine_results(results, book, opts)
    ev.attrs["newsbt_events"] = _run_counts(results, stitched, ev, gap_td, len(parts), engine, opts["source"])
    assert list(ev.columns[: len(EVENT_COLUMNS)]) == EVENT_COLUMNS
    return ev


def _run_counts(results: list, stitched: pd.DataFrame, ev: pd.DataFrame, gap_td, n_parts: int, engine: str,
                source: str) -> dict:
    """The run's counts for ``attrs["newsbt_events"]`` (partitions plus the stitch pass)."""
    infos = [r[2] for r in results]
    sattrs = stitched.attrs.get("newsbt_events", {})
    return {
        "articles": sum(i["articles"] for i in infos),
        "articles_tagged": sum(i["articles_tagged"] for i in infos),
        "bursts": sum(i["bursts_final"] for i in infos) + sattrs.get("bursts", 0),
        "dropped_min_articles": sum(i["dropped_min_articles"] for i in infos)
        + sattrs.get("dropped_min_articles", 0),
        "events": len(ev),
        "gap": str(gap_td),
        "partitions": n_parts,
        "engine": engine,
        "source": source,
    }


def _run_dask(parts: list[_Part], book: ThemeBook, opts: dict, cache: bool, client: Any, workers: int | None):
    """Map the partitions over a Dask cluster; gather only their (small) results."""
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as e:  # pragma: no cover - a declared dependency
        raise ConfigError(
            f"engine='dask' needs dask[distributed] ({e}); pip install 'dask[distributed]'"
        ) from None
    own_cluster = own_client = None
    if client is None:
        n = int(workers or os.cpu_count() or 1)
        own_cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None)
        client = own_client = Client(own_cluster)
    elif isinstance(client, str):
        try:
            client = own_client = Client(client, timeout="20s")
        except OSError as e:
            raise ConfigError(
                f"cannot reach the Dask scheduler at {client!r} ({e}); start one with "
                "`dask scheduler` and `dask worker <address>`, or omit the address"
            ) from None
    try:
        # the book travels once per worker and without its compiled patterns (unpickling them
        # recompiles ~1,000 regexes, seconds per copy; the GKG path never needs them)
        light = copy.copy(book)
        light._compiled = None
        book_f = client.scatter(light, broadcast=True, hash=False)
        futures = client.map(_run_part, parts, book=book_f, opts=opts, cache=cache, pure=False)
        return client.gather(futures)
    finally:
        if own_client is not None:
            own_client.close()
        if own_cluster is not None:
            own_cluster.close()
