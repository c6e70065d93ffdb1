"""Scheduled ingestion into the article store: RSS/Atom feeds and GDELT GKG 2.0 15-minute files.

``ingest(config)`` (and ``newsbt ingest CONFIG.toml``) reads an ingest config::

    [store]
    path = "data/store"

    [[feeds]]
    url = "https://www.cnbc.com/id/10000664/device/rss/rss.html"
    name = "cnbc_finance"          # source id "feed:cnbc_finance" (default: from the URL)

    [gdelt]
    base_url = "http://data.gdeltproject.org/gdeltv2/"   # default
    start = "2025-04-01"           # optional back-fill start (UTC); without it: the latest file only
    max_files = 200                # per run; the rest comes next run
    prefetch = 3                   # files downloaded and parsed ahead (threads); written in order
    batch_rows = 250000            # rows of several files written together (one part file per day)

    [http]                          # optional
    timeout = 30                    # seconds per request
    retries = 4                     # extra attempts on 5xx, timeouts and dropped connections
    backoff = 1.0                   # seconds; attempt k waits uniform(0, backoff * 2**k), capped

Feeds use conditional GET (ETag / Last-Modified remembered per feed). GDELT files are listed from
``lastupdate.txt`` (and ``masterfilelist.txt`` for gaps and back-fills), each ``*.gkg.csv.zip``
checked against the listed size and MD5 before it is read. A source's state is written only after
the data it describes is in the store, so a killed run re-reads what it had not finished.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import random
import re
import tempfile
import time
import tomllib
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass
from http.client import HTTPException
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from signals._gkg import gkg_member, read_gkg_bytes
from signals._normalise import ReadOptions
from signals._version import __version__
from signals.articles import read_articles
from signals.errors import ConfigError, InputFormatError, InputNotFoundError, NewsbtError
from signals.store import AddLedger, ArticleStore

__all__ = ["FetchError", "HttpPolicy", "http_get", "ingest", "load_ingest_config", "parse_filelist"]

log = logging.getLogger(__name__)

GDELT_BASE_URL = "http://data.gdeltproject.org/gdeltv2/"
_LIST_RE = re.compile(r"^\s*(\d+)\s+([0-9a-fA-F]{32})\s+(\S+)\s*$")
_GKG_NAME_RE = re.compile(r"(\d{14})\.gkg\.csv\.zip$", re.I)
_SECTIONS = {
    "store": {"path"},
    "feeds": {"url", "name", "tz", "timeout"},
    "gdelt": {
        "base_url",
        "start",
        "max_files",
        "enabled",
        "timeout",
        "max_attempts",
        "prefetch",
        "batch_rows",
    },
    "http": {"timeout", "retries", "backoff", "max_backoff", "user_agent"},
}


class FetchError(NewsbtError, RuntimeError):
    """A download failed (HTTP error, timeout, bad content); ``retryable`` says whether it was a
    server-side or network failure (5xx, timeout) rather than a client error (4xx)."""

    exit_code = 3

    def __init__(self, message: str, *, status: int | None = None, retryable: bool = False) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable


@dataclass
class HttpPolicy:
    """Timeouts and retries (seconds; ``retries`` extra attempts after the first)."""

    timeout: float = 30.0
    retries: int = 4
    backoff: float = 1.0
    max_backoff: float = 60.0
    user_agent: str = f"newsbt/{__version__} (+https://github.com/newsbt)"


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    attempts: int


def _once(url: str, headers: dict[str, str], policy: HttpPolicy) -> Response:
    req = urllib.request.Request(url, headers={"User-Agent": policy.user_agent, **headers})
    try:
        with urllib.request.urlopen(req, timeout=policy.timeout) as r:
            return Response(r.status, {k.lower(): v for k, v in r.headers.items()}, r.read(), 1)
    except urllib.error.HTTPError as e:
        if e.code == 304:
            return Response(304, {k.lower(): v for k, v in e.headers.items()}, b"", 1)
        raise FetchError(f"{url}: HTTP {e.code} {e.reason}", status=e.code, retryable=e.code >= 500) from None
    except TimeoutError as e:
        raise FetchError(f"{url}: timed out after {policy.timeout:g} s", retryable=True) from e
    except urllib.error.URLError as e:
        timeout = isinstance(e.reason, TimeoutError)
        what = f"timed out after {policy.timeout:g} s" if timeout else f"unreachable ({e.reason})"
        raise FetchError(f"{url}: {what}", retryable=True) from None
    except (HTTPException, ConnectionError, OSError) as e:
        raise FetchError(f"{url}: connection failed ({type(e).__name__}: {e})", retryable=True) from None


def http_get(
    url: str, *, headers: dict[str, str] | None = None, policy: HttpPolicy | None = None, rng=None
) -> Response:
    """GET with retries: exponential back-off with full jitter on 5xx, timeouts and dropped
    connections; no retry on 4xx. A 304 is returned, not raised.

    Parameters
    ----------
    url : str
        ``http://`` or ``https://`` URL.
    headers : dict, optional
        Extra request headers (e.g. ``If-None-Match``).
    policy : HttpPolicy, optional
        Timeout (s), retries, back-off base and cap (s).
    rng : random.Random, optional
        Jitter source (tests pass a seeded one).

    Raises
    ------
    FetchError
        After the last attempt, or at once on a 4xx; the message names the URL and the status.
    """
    policy = policy or HttpPolicy()
    rng = rng or random.Random()
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise ConfigError(f"{url!r}: only http:// and https:// URLs can be ingested")
    for attempt in range(policy.retries + 1):
        try:
            r = _once(url, headers or {}, policy)
            r.attempts = attempt + 1
            return r
        except FetchError as e:
            if not e.retryable or attempt == policy.retries:
                if attempt:
                    e.args = (f"{e.args[0]} (after {attempt + 1} attempts)",)
                raise
            wait = rng.uniform(0, min(policy.max_backoff, policy.backoff * 2**attempt))
            log.info("%s; retrying in %.2f s", e, wait)
            time.sleep(wait)
    raise AssertionError("unreachable")  # pragma: no cover


# ----------------------------------------------------------------------------- config
def load_ingest_config(path: str | Path) -> dict[str, Any]:
    """Read and check an ingest config (TOML); relative ``[store].path`` is against the file's folder.

    Raises
    ------
    InputNotFoundError, ConfigError
        Missing file; invalid TOML, unknown section or key, missing ``[store].path``, no source.
    """
    p = Path(path).expanduser()
    if not p.is_file():
        raise InputNotFoundError(f"ingest config {path} does not exist; see `newsbt ingest --help`")
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{p}: invalid TOML: {e}") from None
    for sec, body in raw.items():
        if sec not in _SECTIONS:
            raise ConfigError(f"{p}: unknown section [{sec}]; known: {', '.join(_SECTIONS)}")
        for item in body if isinstance(body, list) else [body]:
            if not isinstance(item, dict):
                raise ConfigError(f"{p}: [{sec}] must be a table")
            bad = set(item) - _SECTIONS[sec]
            if bad:
                raise ConfigError(
                    f"{p}: unknown key(s) {sorted(bad)} in [{sec}]; known: {sorted(_SECTIONS[sec])}"
                )
    store = raw.get("store", {}).get("path")
    if not isinstance(store, str) or not store:
        raise ConfigError(f'{p}: [store].path is required (the store folder, e.g. path = "data/store")')
    feeds = raw.get("feeds", [])
    if not isinstance(feeds, list):
        raise ConfigError(f"{p}: feeds must be [[feeds]] tables, each with url = ...")
    for i, f in enumerate(feeds, 1):
        if not isinstance(f.get("url"), str) or not re.match(r"^https?://", f["url"]):
            raise ConfigError(f'{p}: [[feeds]] entry {i} needs url = "http(s)://..."')
    gd = raw.get("gdelt")
    if gd is not None and gd.get("start") is not None:
        try:
            pd.Timestamp(str(gd["start"]))
        except ValueError:
            raise ConfigError(f"{p}: [gdelt].start = {gd['start']!r} is not a date (YYYY-MM-DD)") from None
    if not feeds and (gd is None or gd.get("enabled") is False):
        raise ConfigError(f"{p}: nothing to ingest: add [[feeds]] tables and/or a [gdelt] table")
    http = raw.get("http", {})
    try:
        policy = HttpPolicy(
            **{k: (float(v) if k not in ("retries", "user_agent") else v) for k, v in http.items()}
        )
        policy.retries = int(policy.retries)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{p}: [http]: {e}") from None
    return {
        "store": str((p.parent / Path(store).expanduser()).resolve()),
        "feeds": feeds,
        "gdelt": gd if gd is not None and gd.get("enabled", True) else None,
        "http": policy,
        "path": str(p),
    }


# ----------------------------------------------------------------------------- helpers
def _feed_id(feed: dict[str, Any]) -> str:
    if feed.get("name"):
        return "feed:" + re.sub(r"[^A-Za-z0-9_.-]", "_", str(feed["name"]))
    u = urllib.parse.urlsplit(feed["url"])
    return "feed:" + re.sub(r"[^A-Za-z0-9_.-]+", "_", (u.netloc + u.path).strip("/"))[:80]


def _read_payload(body: bytes, suffix: str, fmt: str, where: str, tz: str | None = None, dedup: bool = True):
    """Read downloaded bytes with the file readers; origins name the URL, not the temp file."""
    with tempfile.TemporaryDirectory(prefix="newsbt-ingest-") as d:
        f = Path(d) / f"payload{suffix}"
        f.write_bytes(body)
        arts, rej = read_articles(f, format=fmt, tz=tz, errors="collect", dedup=dedup)
        for t in (arts, rej):
            if "origin" in t and len(t):
                t["origin"] = t["origin"].astype(str).str.replace(str(f), where, regex=False)
    return arts, rej


def _source_row(source: str, kind: str) -> dict[str, Any]:
    return {
        "source": source,
        "kind": kind,
        "status": "ok",
        "fetched": 0,
        "items": 0,
        "new": 0,
        "duplicates": 0,
        "rejects": 0,
        "reject_reasons": {},
        "future": 0,
        "errors": [],
    }


def _account(row: dict[str, Any], rej: pd.DataFrame, led: AddLedger) -> None:
    """Add one payload's reader rejects and store ledger to a source's ledger row."""
    reason = rej["reason"].astype(str) if len(rej) else pd.Series(dtype=str)
    is_dup = reason.str.startswith("duplicate")
    n_dup = int(is_dup.sum())
    row["items"] += led.rows + len(rej)
    row["new"] += led.new
    row["duplicates"] += led.duplicates + n_dup
    row["rejects"] += len(rej) - n_dup + len(led.rejects)
    row["future"] += led.future
    for r in [*reason[~is_dup], *led.rejects["reason"].astype(str)]:
        row["reject_reasons"][r] = row["reject_reasons"].get(r, 0) + 1


# ----------------------------------------------------------------------------- feeds
def _ingest_feed(store: ArticleStore, feed: dict[str, Any], policy: HttpPolicy, now: pd.Timestamp) -> dict:
    sid = _feed_id(feed)
    row = _source_row(sid, "feed")
    state = store.get_state(sid)
    headers = {}
    if state.get("etag"):
        headers["If-None-Match"] = state["etag"]
    if state.get("last_modified"):
        headers["If-Modified-Since"] = state["last_modified"]
    pol = HttpPolicy(
        **{**policy.__dict__, **({"timeout": float(feed["timeout"])} if "timeout" in feed else {})}
    )
    r = http_get(feed["url"], headers=headers, policy=pol)
    row["attempts"] = r.attempts
    if r.status == 304:
        row["status"] = "not_modified"
        return row
    head = r.body[:512].lstrip().lower()
    if (
        head.startswith((b"<!doctype html", b"<html"))
        or "html" in r.headers.get("content-type", "")
        and b"<rss" not in r.body[:4096]
        and b"<feed" not in r.body[:4096]
    ):
        raise FetchError(
            f"{feed['url']}: answered 200 with an HTML page, not an RSS/Atom feed (an error or "
            "login page?); check the URL"
        )
    row["fetched"] = 1
    try:
        arts, rej = _read_payload(r.body, ".xml", "feed", feed["url"], feed.get("tz"))
    except InputFormatError as e:
        raise FetchError(f"{feed['url']}: not a readable feed ({e})") from None
    led = store.add(arts, source_id=sid, now=now)
    _account(row, rej, led)
    last_item = arts["published"].max() if len(arts) else None
    store.set_state(
        sid,
        {
            "url": feed["url"],
            "etag": r.headers.get("etag"),
            "last_modified": r.headers.get("last-modified"),
            "last_item": None if last_item is None or pd.isna(last_item) else last_item.isoformat(),
            "updated": now.isoformat(),
        },
    )
    return row


# ----------------------------------------------------------------------------- GDELT
def parse_filelist(text: str, where: str) -> pd.DataFrame:
    """Parse GDELT's ``lastupdate.txt`` / ``masterfilelist.txt`` (lines ``size md5 url``).

    Returns
    -------
    pandas.DataFrame
        ``size`` (bytes), ``md5``, ``url``, ``ts`` (``YYYYmmddHHMMSS``) of the GKG files only,
        sorted by ``ts``; ``attrs["bad_lines"]`` counts lines that are not ``size md5 url``.

    Raises
    ------
    FetchError
        No line of the text has the format (an HTML error page, an empty answer).
    """
    rows, bad = [], 0
    for line in text.splitlines():
        if not line.strip():
            continue
        m = _LIST_RE.match(line)
        if not m:
            bad += 1
            continue
        g = _GKG_NAME_RE.search(m.group(3))
        if g:
            rows.append((int(m.group(1)), m.group(2).lower(), m.group(3), g.group(1)))
    if bad and not rows and bad >= len([ln for ln in text.splitlines() if ln.strip()]):
        raise FetchError(f"{where}: not a GDELT file list (no 'size md5 url' line; an HTML error page?)")
    out = pd.DataFrame(rows, columns=["size", "md5", "url", "ts"]).sort_values("ts", kind="mergesort")
    out = out.drop_duplicates("ts", keep="last").reset_index(drop=True)
    out.attrs["bad_lines"] = bad
    return out


def _gkg_file(entry: dict, policy: HttpPolicy) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Download, verify (size, MD5, zip CRC) and read one GKG file; FetchError names what was wrong.

    Runs in a worker thread: MD5, inflate and Arrow's CSV parser release the GIL."""
    r = http_get(entry["url"], policy=policy)
    body = r.body
    if len(body) != int(entry["size"]):
        raise FetchError(
            f"{entry['url']}: {len(body)} bytes, the file list says {entry['size']} (truncated?)",
            retryable=True,
        )
    md5 = hashlib.md5(body).hexdigest()
    if md5 != entry["md5"]:
        raise FetchError(f"{entry['url']}: MD5 {md5} differs from the listed {entry['md5']}", retryable=True)
    name = urllib.parse.urlsplit(entry["url"]).path.rsplit("/", 1)[-1]
    try:
        data = gkg_member(body, entry["url"])
        del body
        # the store's id dedup catches repeated URLs (no title dedup: that is for curated files)
        arts, rej, _, _ = read_gkg_bytes(data, name, ReadOptions(), tone_components=True)
    except InputFormatError as e:
        raise FetchError(str(e), retryable=True) from None
    return arts, rej


def _gdelt_plan(cfg: dict, state: dict, policy: HttpPolicy) -> tuple[list[dict], dict]:
    """Which GKG files to fetch this run: retries first, then everything after the last file."""
    base = str(cfg.get("base_url") or GDELT_BASE_URL).rstrip("/") + "/"
    latest = parse_filelist(
        http_get(base + "lastupdate.txt", policy=policy).body.decode("utf-8", "replace"),
        base + "lastupdate.txt",
    )
    if not len(latest):
        raise FetchError(f"{base}lastupdate.txt lists no .gkg.csv.zip file")
    top = latest.iloc[-1].to_dict()
    last = state.get("last")
    start = cfg.get("start")
    lo = last or (pd.Timestamp(str(start)).strftime("%Y%m%d%H%M%S") if start else None)
    if lo is None:
        todo = [top]
    elif top["ts"] <= lo and last:
        todo = []
    else:
        step = (pd.Timestamp(top["ts"]) - pd.Timestamp(lo)) if last else None
        if step is not None and step <= pd.Timedelta(minutes=15):
            todo = [top]
        else:
            master = parse_filelist(
                http_get(base + "masterfilelist.txt", policy=policy).body.decode("utf-8", "replace"),
                base + "masterfilelist.txt",
            )
            keep = (master["ts"] > lo) if last else (master["ts"] >= lo)
            todo = master[keep & (master["ts"] <= top["ts"])].to_dict("records")
            if not todo or todo[-1]["ts"] != top["ts"]:
                todo.append(top)
    retry = [dict(v, url=u) for u, v in state.get("retry", {}).items()]
    todo = retry + [t for t in todo if t["url"] not in state.get("retry", {})]
    cap = int(cfg.get("max_files", 200))
    return todo[:cap], {"listed": len(todo), "deferred": max(0, len(todo) - cap)}


def _prefetched(todo: list[dict], policy: HttpPolicy, depth: int):
    """Yield (entry, future of :func:`_gkg_file`) in list order, with up to ``depth`` files being
    downloaded, checked and parsed ahead in threads (zlib, MD5 and sockets release the GIL). The
    caller writes them one by one, in order, so the state still only moves past written files."""
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    it = iter(todo)
    with ThreadPoolExecutor(max_workers=max(1, depth)) as ex:
        window = deque((e, ex.submit(_gkg_file, e, policy)) for e in itertools.islice(it, max(1, depth)))
        while window:
            entry, fut = window.popleft()
            nxt = next(it, None)
            if nxt is not None:
                window.append((nxt, ex.submit(_gkg_file, nxt, policy)))
            yield entry, fut


def _ingest_gdelt(store: ArticleStore, cfg: dict, policy: HttpPolicy, now: pd.Timestamp) -> dict:
    row = _source_row("gdelt", "gdelt")
    state = store.get_state("gdelt")
    pol = HttpPolicy(
        **{**policy.__dict__, **({"timeout": float(cfg["timeout"])} if "timeout" in cfg else {})}
    )
    todo, info = _gdelt_plan(cfg, state, pol)
    row["deferred"] = info["deferred"]
    max_attempts = int(cfg.get("max_attempts", 5))
    batch_rows = int(cfg.get("batch_rows", 250_000))
    pending: list[tuple[dict, pd.DataFrame, pd.DataFrame]] = []

    def flush() -> None:
        """Write the pending files' rows (one part file per day), then move the state past them."""
        nonlocal state
        if not pending:
            return
        arts = pd.concat([p[1] for p in pending if len(p[1])] or [pending[0][1]], ignore_index=True)
        rej = pd.concat([p[2] for p in pending], ignore_index=True)
        led = store.add(arts, source_id="gdelt", now=now)
        row["fetched"] += len(pending)
        _account(row, rej, led)
        retry = {u: v for u, v in state.get("retry", {}).items() if u not in {p[0]["url"] for p in pending}}
        last = max([state.get("last") or "", *(p[0]["ts"] for p in pending)])
        state = {**state, "retry": retry, "last": last, "updated": now.isoformat()}
        store.set_state("gdelt", state)  # after the files' rows are in the store
        pending.clear()

    for entry, fut in _prefetched(todo, pol, int(cfg.get("prefetch", 3))):
        try:
            arts, rej = fut.result()
        except FetchError as e:
            flush()  # the state below must not move past files that are not written yet
            retry = dict(state.get("retry", {}))
            n = int(retry.get(entry["url"], {}).get("attempts", 0)) + 1
            if n >= max_attempts:
                retry.pop(entry["url"], None)
                row["errors"].append(f"{e}; gave up after {n} runs")
            else:
                retry[entry["url"]] = {
                    "size": int(entry["size"]),
                    "md5": entry["md5"],
                    "ts": entry["ts"],
                    "attempts": n,
                    "reason": str(e),
                }
                row["errors"].append(f"{e}; will retry next run")
            state = {**state, "retry": retry, "last": max(state.get("last") or "", entry["ts"])}
            store.set_state("gdelt", state)
            continue
        pending.append((entry, arts, rej))
        if sum(len(p[1]) + len(p[2]) for p in pending) >= batch_rows:
            flush()
    flush()
    if row["errors"]:
        row["status"] = "error"
    return row


# ----------------------------------------------------------------------------- run
def ingest(
    config: dict[str, Any] | str | Path, *, now: Any = None, lock_timeout: float = 0.0
) -> dict[str, Any]:
    """Ingest every source of an ingest config into its store; one ledger for the run.

    Parameters
    ----------
    config : dict, str or Path
        :func:`load_ingest_config` output or a TOML path.
    now : timestamp, optional
        The ingest clock (default: now, UTC).
    lock_timeout : float
        Seconds to wait for another ingest holding the store (default 0: fail at once).

    Returns
    -------
    dict
        ``run_id``, ``started``, ``finished``, ``store``, ``sources`` (one dict per source: ``source``,
        ``status`` ok/not_modified/error, ``fetched``, ``items``, ``new``, ``duplicates``,
        ``rejects``, ``reject_reasons``, ``future``, ``errors``) and ``exit_code`` (0 every source
        succeeded, 3 at least one failed; the others were still ingested).

    Raises
    ------
    StoreError, StoreBusyError, ConfigError
        Read-only store, another ingest running, bad config.
    """
    cfg = config if isinstance(config, dict) else load_ingest_config(config)
    now_ts = pd.Timestamp.now(tz="UTC") if now is None else pd.Timestamp(now).tz_convert("UTC")
    store = ArticleStore(cfg["store"], lock_timeout=lock_timeout)
    run = {
        "run_id": time.strftime("%Y%m%dT%H%M%SZ", time.gmtime()) + "-" + uuid.uuid4().hex[:6],
        "started": pd.Timestamp.now(tz="UTC").isoformat(),
        "store": str(store.path),
        "sources": [],
    }
    jobs = [(_feed_id(f), lambda f=f: _ingest_feed(store, f, cfg["http"], now_ts)) for f in cfg["feeds"]]
    if cfg.get("gdelt"):
        jobs.append(("gdelt", lambda: _ingest_gdelt(store, cfg["gdelt"], cfg["http"], now_ts)))
    with store.writing():
        for sid, job in jobs:
            try:
                row = job()
            except (FetchError, InputFormatError) as e:
                row = _source_row(sid, "gdelt" if sid == "gdelt" else "feed")
                row.update(status="error", errors=[str(e)])
            log.log(logging.WARNING if row["status"] == "error" else logging.INFO, "%s", format_row(row))
            run["sources"].append(row)
        run["finished"] = pd.Timestamp.now(tz="UTC").isoformat()
        run["exit_code"] = 3 if any(s["status"] == "error" for s in run["sources"]) else 0
        run["ledger"] = str(store.write_ledger(run))
    return run


def format_row(row: dict[str, Any]) -> str:
    """One ledger line for a source (what ``newsbt ingest`` prints)."""
    reasons = ", ".join(f"{k}={v}" for k, v in sorted(row["reject_reasons"].items()))
    s = (
        f"{row['source']}: {row['status']}, {row['fetched']} fetched, {row['items']} items, {row['new']} new, "
        f"{row['duplicates']} duplicates, {row['rejects']} rejected" + (f" ({reasons})" if reasons else "")
    )
    if row.get("future"):
        s += f", {row['future']} future-dated (flagged)"
    if row["errors"]:
        s += "; errors: " + " | ".join(row["errors"])
    return s


def format_summary(run: dict[str, Any]) -> str:
    """The one summary line of a run."""
    tot = {k: int(np.sum([s[k] for s in run["sources"]])) for k in ("items", "new", "duplicates", "rejects")}
    bad = [s["source"] for s in run["sources"] if s["status"] == "error"]
    return (
        f"ingest: {len(run['sources'])} source(s), {tot['items']} items, {tot['new']} new, "
        f"{tot['duplicates']} duplicates, {tot['rejects']} rejected; "
        + (f"FAILED: {', '.join(bad)}" if bad else "all sources ok")
    )


def main(argv: list[str] | None = None) -> int:
    """``python -m signals.ingest CONFIG.toml [-q]``: the same run as ``newsbt ingest`` with a lighter
    start (no ``backtests`` import), for cron jobs every 15 minutes. Returns the exit code."""
    import sys

    from signals.store import StoreError

    args = list(sys.argv[1:] if argv is None else argv)
    quiet = "-q" in args
    args = [a for a in args if a != "-q"]
    if len(args) != 1:
        print("usage: python -m signals.ingest CONFIG.toml [-q]", file=sys.stderr)
        return 2
    logging.basicConfig(
        level=logging.ERROR if quiet else logging.WARNING, format="newsbt: %(levelname)s: %(message)s"
    )
    try:
        run = ingest(load_ingest_config(args[0]))
    except (NewsbtError, StoreError) as e:
        print(f"newsbt: error: {e}", file=sys.stderr)
        return int(getattr(e, "exit_code", 1))
    if not quiet:
        for row in run["sources"]:
            print(format_row(row))
    print(format_summary(run))
    return int(run["exit_code"])


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
