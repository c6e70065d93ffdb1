"""Per-format article readers: CSV/TSV, JSON (JSONL, JSON documents), Parquet, RSS/Atom, GDELT GKG.

Each reader returns a :class:`Read`: the articles and rejects of one input plus how many input
rows it saw (``rows_in``), so the ledger can check ``rows_in == kept + rejected + duplicates`` per
file. A bad row is a reject (file, row, field, raw value, reason) and the rest is read; a file
that cannot be read at all raises :class:`InputFormatError` naming it (the caller turns that into
an ``unreadable_file`` ledger row when several inputs are read).
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from signals._encoding import decode_bytes, decode_xml
from signals._gkg import GKG_FIELDS, gkg_member, read_gkg_bytes
from signals._normalise import DEFAULT_NAMES, FIELDS, ReadOptions, normalise, pick_column, rejects
from signals.errors import InputFormatError

__all__ = ["FORMATS", "READERS", "Read", "read_feed", "sniff"]

FORMATS = ("jsonl", "json", "csv", "parquet", "feed", "gdelt")
_FORMAT_HOW = "pass format= (CLI --format, config [articles].format)"
_GKG_ID_RE = re.compile(r"^\d{14}-T?\d+$")
_WS_RE = re.compile(r"\s+")
EXT_FORMAT = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".csv": "csv",
    ".tsv": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".xml": "feed",
    ".rss": "feed",
    ".atom": "feed",
}
#: keys under which JSON APIs put their list of articles (NewsAPI: "articles")
_LIST_KEYS = ("articles", "items", "results", "data", "entries", "news", "stories", "docs")


@dataclass
class Read:
    """One input's articles, rejects and row count (and the text encoding used)."""

    articles: pd.DataFrame
    rejects: pd.DataFrame
    rows_in: int
    encoding: str = ""


def _text(path: Path, opts: ReadOptions) -> tuple[str, str]:
    return decode_bytes(path.read_bytes(), str(path), opts.encoding)


# ----------------------------------------------------------------------------- CSV
def _dedupe_header(header: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for h in header:
        k = seen.get(h, 0)
        out.append(h if k == 0 else f"{h}.{k}")
        seen[h] = k + 1
    return out


def _delimiter(text: str) -> str:
    """``,`` unless the header line has none and has ``;``, tab or ``|`` (European Excel exports)."""
    header = text[: text.find("\n")] if "\n" in text else text
    if "," in header:
        return ","
    counts = {d: header.count(d) for d in (";", "\t", "|")}
    best = max(counts, key=counts.get)
    return best if counts[best] else ","


def read_csv(path: Path, opts: ReadOptions) -> Read:
    """CSV/TSV: a line with the wrong number of fields is a reject of that line, not the file."""
    text, enc = _text(path, opts)
    sep = "\t" if path.suffix.lower() == ".tsv" else _delimiter(text)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=sep)
    try:
        header = next(reader)
    except StopIteration:
        raise InputFormatError(f"{path}: empty file (no header line)") from None
    except csv.Error as exc:
        raise InputFormatError(f"{path}: not a readable CSV ({exc}); {_FORMAT_HOW}") from None
    header = _dedupe_header([h.strip() for h in header])
    ncols = len(header)
    good: list[list[str]] = []
    good_rows: list[int] = []
    bad_rows: list[int] = []
    bad_vals: list[str] = []
    row = 0
    try:
        for rec in reader:
            if not rec:
                continue  # blank line: not a row
            row += 1
            if len(rec) == ncols:
                good.append(rec)
                good_rows.append(row)
            else:
                bad_rows.append(row)
                bad_vals.append(
                    f"line {reader.line_num}: {len(rec)} fields, expected {ncols}: {sep.join(rec)[:80]}"
                )
    except csv.Error as exc:  # e.g. a NUL byte: the rest of the file cannot be split into rows
        raise InputFormatError(f"{path} line {reader.line_num}: {exc}; the file is not a valid CSV") from None
    raw = pd.DataFrame(good, columns=header, dtype=object) if good else pd.DataFrame(columns=header)
    arts, rej = normalise(raw, origin=str(path), rows=np.asarray(good_rows, dtype=int), opts=opts)
    if bad_rows:
        rej = pd.concat([rej, rejects(str(path), bad_rows, "(line)", bad_vals, "csv_wrong_field_count")])
    return Read(arts, rej.reset_index(drop=True), row, enc)


# ----------------------------------------------------------------------------- JSON
class _Columns:
    """JSON records collected column-wise, keeping only keys that can hold an article field."""

    def __init__(self, opts: ReadOptions):
        self.wanted = {n for names in DEFAULT_NAMES.values() for n in names}
        self.named = {str(v) for v in opts.mapping.values()}
        self.keys: dict[object, bool] = {}  # every key seen, in order -> kept?
        self.cols: dict[object, list] = {}
        self.rows: list[int] = []
        self.bad: list[tuple[int, str, str]] = []  # row, raw, reason

    def add(self, rows: list[int], recs: list[object], raws: list[str] | None = None) -> None:
        """Add a batch of parsed records (column-wise list comprehensions, no per-key loop)."""
        good, good_rows = [], []
        for i, (row, rec) in enumerate(zip(rows, recs)):
            if type(rec) is dict:
                good.append(rec)
                good_rows.append(row)
            else:
                raw = raws[i] if raws is not None else json.dumps(rec)
                self.bad.append((row, raw[:80], "not_an_object"))
        n0 = len(self.rows)
        for k in dict.fromkeys(itertools.chain.from_iterable(good)):
            if k not in self.keys:
                self.keys[k] = str(k) in self.named or str(k).lower() in self.wanted
        for k, keep in self.keys.items():
            if keep:
                col = self.cols.get(k)
                if col is None:
                    col = self.cols[k] = [None] * n0
                col.extend([r.get(k) for r in good])
        self.rows.extend(good_rows)

    def frame(self, origin: str, opts: ReadOptions) -> pd.DataFrame:
        names = [str(k) for k in self.keys]
        picked = [pick_column(names, f, opts.mapping.get(f), origin) for f in FIELDS]
        if picked[0] is None or (picked[1] is None and picked[2] is None):
            return pd.DataFrame(columns=names)  # normalise raises the error naming every key
        data = {str(k): v for k, v in self.cols.items() if str(k) in picked}
        src = picked[FIELDS.index("source")]
        if src is not None:
            data[src] = [_source_name(v) for v in data[src]]
        return pd.DataFrame(data, dtype=object)


def _json_lines(text: str, acc: _Columns, batch: int = 20_000) -> None:
    # json.loads(line) without its per-call wrapper: the C scanner, then "nothing but JSON
    # whitespace after the value" (the same acceptance as json.loads)
    scan, start, i = json.JSONDecoder().scan_once, 0, 0
    rows: list[int] = []
    recs: list[object] = []
    raws: list[str] = []
    while start <= len(text):  # no list of lines in memory; records go to acc in batches
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        line = text[start:end].strip(" \t\r\n")
        start, i = end + 1, i + 1
        if not line:
            continue
        try:
            rec, stop = scan(line, 0)
            if stop != len(line):
                raise ValueError("extra data")
        except (StopIteration, ValueError):  # JSONDecodeError is a ValueError
            acc.bad.append((i, line[:80], "invalid_json"))
            continue
        recs.append(rec)
        rows.append(i)
        raws.append(line if type(recs[-1]) is not dict else "")
        if len(recs) >= batch:
            acc.add(rows, recs, raws)
            rows, recs, raws = [], [], []
    acc.add(rows, recs, raws)


def _json_records(text: str, origin: str, acc: _Columns) -> None:
    """Fill ``acc``: JSON documents (a list, or an object holding one) vs JSONL by content."""
    stripped = text.lstrip()
    if not stripped:
        return
    doc = None
    if stripped[0] == "[":
        doc = _load_doc(text, origin)
    elif stripped[0] == "{":
        try:
            json.loads(stripped.split("\n", 1)[0])
        except json.JSONDecodeError:  # the first line is not a whole object: a (pretty) document
            doc = _load_doc(text, origin)
    if doc is None:
        _json_lines(text, acc)
        return
    items = _doc_items(doc, origin)
    acc.add(list(range(1, len(items) + 1)), items)


def _load_doc(text: str, origin: str) -> object:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputFormatError(
            f"{origin}: invalid JSON document at line {exc.lineno} column {exc.colno} ({exc.msg}); "
            "fix the file, or write one JSON object per line (JSONL)"
        ) from None


def _doc_items(doc: object, origin: str) -> list[object]:
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict):
        for k in _LIST_KEYS:
            if isinstance(doc.get(k), list):
                return doc[k]
        return [doc]  # one article as one object
    raise InputFormatError(f"{origin}: a JSON {type(doc).__name__} is not a list of articles")


def _source_name(src: object) -> object:
    """NewsAPI-style nested ``source: {id, name}`` -> its name."""
    if isinstance(src, dict):
        return src.get("name") or src.get("title") or src.get("id") or ""
    return src


def read_json(path: Path, opts: ReadOptions) -> Read:
    """JSONL (one object per line) or a JSON document (a list, or ``{"articles": [...]}``)."""
    text, enc = _text(path, opts)
    acc = _Columns(opts)
    _json_records(text, str(path), acc)
    del text
    raw = acc.frame(str(path), opts) if acc.rows else pd.DataFrame({"published": [], "title": []})
    arts, rej = normalise(raw, origin=str(path), rows=np.asarray(acc.rows, dtype=int), opts=opts)
    if acc.bad:
        b = list(zip(*sorted(acc.bad)))
        rej = pd.concat([rej, rejects(str(path), b[0], "(line)", list(b[1]), np.array(b[2], dtype=object))])
    return Read(arts, rej.reset_index(drop=True), len(acc.rows) + len(acc.bad), enc)


# ----------------------------------------------------------------------------- Parquet
def read_parquet(path: Path, opts: ReadOptions) -> Read:
    """Parquet (any columns; timestamps may be datetime64, strings or declared epochs)."""
    try:
        raw = pd.read_parquet(path)
    except Exception as exc:  # pyarrow raises several types for a damaged file
        raise InputFormatError(f"{path}: not a readable Parquet file ({type(exc).__name__}: {exc})") from None
    arts, rej = normalise(raw, origin=str(path), rows=np.arange(1, len(raw) + 1), opts=opts)
    return Read(arts, rej, len(raw), "")


# ----------------------------------------------------------------------------- feeds
def read_feed(src: str | Path, opts: ReadOptions) -> Read:
    """RSS 2.0 / Atom from a file (decoded by its bytes) or an http(s) URL (feedparser)."""
    import feedparser

    enc = ""
    if isinstance(src, Path):
        data, enc = decode_xml(src.read_bytes(), str(src), opts.encoding)
        parsed = feedparser.parse(io.BytesIO(data))
    else:
        parsed = feedparser.parse(src)
    if not parsed.entries and getattr(parsed, "bozo", False):
        raise InputFormatError(f"{src}: not a readable RSS/Atom feed ({parsed.get('bozo_exception')})")
    feed_title = _WS_RE.sub(" ", str(parsed.feed.get("title", ""))).strip()
    recs = []
    for e in parsed.entries:
        source = e.get("source")
        recs.append(
            {
                "published": e.get("published") or e.get("updated") or e.get("created") or "",
                "title": e.get("title", ""),
                "body": e.get("summary", "") or "",
                "source": source.get("title", "") if isinstance(source, dict) else "",
                "url": e.get("link", ""),
            }
        )
    raw = pd.DataFrame.from_records(recs, columns=["published", "title", "body", "source", "url"])
    arts, rej = normalise(
        raw.astype(object),
        origin=str(src),
        rows=np.arange(1, len(raw) + 1),
        opts=opts,
        mapping={},
        default_source=feed_title,
    )
    return Read(arts, rej, len(raw), enc)


# ----------------------------------------------------------------------------- GDELT
def read_gdelt(path: Path, opts: ReadOptions) -> Read:
    """GDELT GKG 2.1: exactly 27 tab-separated fields and a ``YYYYMMDDhhmmss`` DATE per row
    (the vectorised reader in :mod:`signals._gkg`)."""
    body = path.read_bytes()
    data = gkg_member(body, str(path)) if path.suffix.lower() == ".zip" else body
    arts, rej, n, enc = read_gkg_bytes(data, str(path), opts)
    return Read(arts, rej, n, enc)


# ----------------------------------------------------------------------------- format sniffing
def sniff(path: Path) -> str:
    """The format of ``path``: GDELT by name or content, else the extension, else the content."""
    name = path.name.lower()
    if name.endswith((".gkg.csv", ".gkg.csv.zip", ".gkg.zip")):
        return "gdelt"
    if path.suffix.lower() == ".zip":
        try:
            with zipfile.ZipFile(path) as zf:
                inner = [n.lower() for n in zf.namelist()]
        except zipfile.BadZipFile as exc:
            raise InputFormatError(f"{path}: not a readable zip archive ({exc})") from None
        if any(".gkg" in n for n in inner):
            return "gdelt"
        raise InputFormatError(f"{path}: zip files are read only for GDELT GKG (.gkg.csv.zip); {_FORMAT_HOW}")
    with path.open("rb") as fh:
        head_bytes = fh.read(4096)
    head = head_bytes.decode("utf-8", errors="ignore")  # a peek for the format only; decoding is strict later
    parts = head.split("\n", 1)[0].split("\t")
    if len(parts) >= GKG_FIELDS - 2 and _GKG_ID_RE.match(parts[0]):
        return "gdelt"
    fmt = EXT_FORMAT.get(path.suffix.lower())
    if fmt:
        return fmt
    if head_bytes.startswith(b"PAR1"):
        return "parquet"
    stripped = head.replace("\x00", "").lstrip("\ufeff \t\r\n")
    if stripped.startswith("<"):
        return "feed"
    if stripped.startswith(("{", "[")):
        return "json"
    raise InputFormatError(
        f"{path}: cannot tell the format from its name or content; {_FORMAT_HOW} (one of {FORMATS})"
    )


READERS = {
    "csv": read_csv,
    "jsonl": read_json,
    "json": read_json,
    "parquet": read_parquet,
    "gdelt": read_gdelt,
    "feed": read_feed,
}
