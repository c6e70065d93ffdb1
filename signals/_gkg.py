"""GDELT GKG 2.1 reader, vectorised: Arrow's CSV parser on the kept columns, Arrow compute for the rest.

A GKG line is 27 tab-separated fields with no quoting, ~14 kB of which the Articles table keeps a
few hundred bytes (record id, DATE, source, URL, themes, tone, the page title and precise time
from the extras XML). Arrow tokenises the bytes once in C++ and converts only those columns; a
line with a field count other than 27 comes back through Arrow's invalid-row handler, so it is a
reject naming its file and physical line number like a bad DATE, and nothing is dropped silently.

Zip members are inflated with ISA-L (``isal``, 2.5-3x zlib's speed on GKG files) when installed,
with the member's CRC-32 checked either way.
"""

from __future__ import annotations

import re
import struct
import zipfile

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from signals._encoding import decode_bytes
from signals._normalise import ReadOptions, normalise, rejects
from signals._timeparse import _PANDAS_YEARS, MISSING, OUT_OF_RANGE, UNPARSEABLE, resolve_range
from signals.errors import InputFormatError

try:  # ISA-L's inflate (raw deflate, GIL released); the standard zlib gives the same bytes, slower
    from isal import isal_zlib as _zlib
except ImportError:  # pragma: no cover - isal ships wheels for the usual platforms
    import zlib as _zlib

__all__ = ["GKG_FIELDS", "TONE_COLUMNS", "gkg_member", "read_gkg_bytes"]

GKG_FIELDS = 27
#: V1.5TONE's seven components, in the file's order (store column names)
TONE_COLUMNS = (
    "tone",
    "tone_positive",
    "tone_negative",
    "tone_polarity",
    "tone_activity",
    "tone_self_group",
    "word_count",
)
_NAMES = [f"f{i}" for i in range(GKG_FIELDS)]
_KEEP = {"id": 0, "date": 1, "source": 3, "url": 4, "themes": 7, "v2themes": 8, "tone": 15, "extras": 26}
_TITLE_RE = r"(?s)<PAGE_TITLE>(?P<v>.*?)</PAGE_TITLE>"
_PAGE_TS_RE = r"<PAGE_PRECISEPUBTIMESTAMP>(?P<v>\d{14})</PAGE_PRECISEPUBTIMESTAMP>"
_CR_RUN = re.compile(rb"\r+(?=\n|$)")
_ZIP_LOCAL = b"PK\x03\x04"


# ----------------------------------------------------------------------------- zip
def gkg_member(body: bytes, origin: str) -> bytes:
    """The first file of a zip archive, inflated and CRC-checked (a GKG ``.gkg.csv.zip``).

    Parameters
    ----------
    body : bytes
        The archive.
    origin : str
        File or URL named in errors.

    Returns
    -------
    bytes
        The member's bytes.

    Raises
    ------
    InputFormatError
        Not a zip, an empty archive, a damaged member (inflate error, wrong size or CRC-32).
    """
    import io

    try:
        with zipfile.ZipFile(io.BytesIO(body)) as zf:
            infos = [i for i in zf.infolist() if not i.filename.endswith("/")]
            if not infos:
                raise InputFormatError(f"{origin}: empty zip archive")
            info = infos[0]
            if info.compress_type != zipfile.ZIP_DEFLATED or info.flag_bits & 0x1:
                return zf.read(info)  # stored / other methods / encrypted: the standard reader
    except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError, RuntimeError) as exc:
        raise InputFormatError(f"{origin}: not a readable zip archive ({exc})") from None
    off = info.header_offset
    if body[off : off + 4] != _ZIP_LOCAL:
        raise InputFormatError(f"{origin}: not a readable zip archive (bad local header)")
    n_name, n_extra = struct.unpack("<HH", body[off + 26 : off + 30])
    start = off + 30 + n_name + n_extra
    raw = memoryview(body)[start : start + info.compress_size]
    try:
        data = _zlib.decompress(raw, -15, max(info.file_size, 1))
    except _zlib.error as exc:
        raise InputFormatError(f"{origin}: damaged zip member {info.filename} ({exc})") from None
    if len(data) != info.file_size or (_zlib.crc32(data) & 0xFFFFFFFF) != info.CRC:
        raise InputFormatError(f"{origin}: damaged zip member {info.filename} (size or CRC-32 differs)")
    return data


# ----------------------------------------------------------------------------- tokenising
def _utf8(data: bytes, origin: str, opts: ReadOptions) -> tuple[bytes, str]:
    """The bytes as UTF-8 and the encoding name ``decode_bytes`` would report (it is the
    fallback for anything that is not valid UTF-8, so the detection rules stay the same)."""
    # ISO-2022-JP is 7-bit, so also valid UTF-8: its escape sequences send it to the detection
    if opts.encoding is None and b"\x1b$" not in data and b"\x1b(" not in data:
        buf = pa.py_buffer(data)
        offsets = pa.array([0, len(data)], pa.int64()).buffers()[1]
        arr = pa.Array.from_buffers(pa.large_string(), 1, [None, offsets, buf])
        try:
            arr.validate(full=True)
            return data, ("utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8")
        except pa.ArrowInvalid:
            pass
    text, enc = decode_bytes(data, origin, opts.encoding)
    return text.encode("utf-8"), enc


def _blank_lines(data: bytes, lines: np.ndarray) -> np.ndarray:
    """Which of the given 1-based line numbers are empty (only looked at for candidate rows)."""
    nl = np.flatnonzero(np.frombuffer(data, np.uint8) == 10)
    starts = np.r_[3 if data.startswith(b"\xef\xbb\xbf") else 0, nl + 1]  # a BOM is not text
    ends = np.r_[nl, len(data)]
    return ends[lines - 1] == starts[lines - 1]


def _tokenise(data: bytes) -> tuple[pa.Table, list[tuple[int, int]]]:
    """Arrow table of the kept columns (strings, one row per line with 27 fields or blank) and the
    (line number, field count) of lines with another count; line numbers are 1-based."""
    bad: list[tuple[int, int]] = []

    def invalid(row: pacsv.InvalidRow) -> str:
        bad.append((row.number, row.actual_columns))
        return "skip"

    table = pacsv.read_csv(
        pa.py_buffer(data),
        read_options=pacsv.ReadOptions(column_names=_NAMES, use_threads=False, block_size=1 << 26),
        parse_options=pacsv.ParseOptions(
            delimiter="\t",
            quote_char=False,
            double_quote=False,
            escape_char=False,
            newlines_in_values=False,
            ignore_empty_lines=False,  # blank lines become rows: row numbers are line numbers
            invalid_row_handler=invalid,
        ),
        convert_options=pacsv.ConvertOptions(
            include_columns=[_NAMES[i] for i in _KEEP.values()],
            column_types={_NAMES[i]: pa.string() for i in _KEEP.values()},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )
    return table.rename_columns(list(_KEEP)), bad


# ----------------------------------------------------------------------------- columns
def _str(arr: pa.Array) -> pd.Series:
    """An Arrow string array as ``Series.astype(str)`` gives it (pandas 3: the ``str`` dtype)."""
    return pd.Series(arr.to_numpy(zero_copy_only=False), dtype=object).astype(str)


def _v2_names(tokens: pa.Array) -> pa.Array | None:
    """``NAME,offset`` -> ``NAME`` when every token with a comma is exactly that (None otherwise)."""
    parts = pc.split_pattern(tokens, ",", max_splits=1)
    n = pc.list_value_length(parts)
    if pc.max(n).as_py() is None or pc.max(n).as_py() < 2:
        return tokens
    two = pc.equal(n, 2)
    offs = pc.list_element(pc.filter(parts, two), 1)
    if not pc.all(pc.ascii_is_decimal(offs)).as_py():
        return None
    return pc.list_element(parts, 0)


def _row_tokens(col: pa.Array, rows: np.ndarray) -> tuple[np.ndarray, pa.Array]:
    """(row index, token) of the ``;``-separated tokens of ``col``'s rows ``rows``."""
    lists = pc.split_pattern(col.take(pa.array(rows)), ";")
    return rows[pc.list_parent_indices(lists).to_numpy()], pc.list_flatten(lists)


def _themes(v1: pa.Array, v2: pa.Array) -> pa.Array:
    """V2ENHANCEDTHEMES without offsets (V1THEMES where it is empty), each row's distinct themes
    sorted and joined by ``;`` (code-point order, as Python's ``sorted``)."""
    n = len(v1)
    r2, t2 = _row_tokens(v2, np.arange(n))
    names = _v2_names(t2)
    if names is None:  # an odd token (text after a comma that is not an offset): the exact regex
        r2, t2 = _row_tokens(pc.replace_substring_regex(v2, r",\d+", ""), np.arange(n))
    else:
        t2 = names
    keep2 = pc.not_equal(t2, "").to_numpy(zero_copy_only=False)
    has_v2 = np.bincount(r2[keep2], minlength=n) > 0
    r1, t1 = _row_tokens(v1, np.flatnonzero(~has_v2))
    rows = np.r_[r2[keep2], r1]
    tok = pa.concat_arrays([t2.filter(pa.array(keep2)), t1])
    keep = pc.not_equal(tok, "").to_numpy(zero_copy_only=False)
    rows, enc = rows[keep], pc.dictionary_encode(tok.filter(pa.array(keep)))
    words = enc.dictionary
    order = pc.sort_indices(words).to_numpy()  # byte order of UTF-8 == code-point order
    rank = np.empty(len(words), np.int64)
    rank[order] = np.arange(len(words))
    key = np.sort(rows.astype(np.int64) * len(words) + rank[enc.indices.to_numpy()])
    key = key[np.r_[True, key[1:] != key[:-1]]] if len(key) else key  # distinct (row, theme)
    r, w = np.divmod(key, max(len(words), 1))
    offsets = pa.array(np.r_[0, np.cumsum(np.bincount(r, minlength=n))].astype(np.int32))
    values = words.take(pa.array(order[w]))
    return pc.binary_join(pa.ListArray.from_arrays(offsets, values), ";")


def _tone(col: pa.Array) -> dict[str, np.ndarray]:
    """V1.5TONE's seven comma-separated numbers (NaN where absent or not a number)."""
    parts = pc.split_pattern(col, ",", max_splits=len(TONE_COLUMNS))
    out = {}
    for i, name in enumerate(TONE_COLUMNS):
        vals = pd.Series(_element(parts, i), dtype=object)
        out[name] = pd.to_numeric(vals, errors="coerce").to_numpy(dtype="float64")
    return out


def _element(lists: pa.Array, i: int) -> np.ndarray:
    """Element ``i`` of each list ("" where the list is shorter)."""
    sl = pc.list_slice(lists, i, i + 1)
    flat = pc.list_flatten(sl)
    has = pc.greater(pc.list_value_length(sl), 0).to_numpy(zero_copy_only=False)
    out = np.full(len(lists), "", dtype=object)
    out[has] = flat.to_numpy(zero_copy_only=False)
    return out


def _extract(col: pa.Array, pattern: str) -> np.ndarray:
    """First match of the group ``v`` per row ("" where none)."""
    got = pc.struct_field(pc.extract_regex(col, pattern), [0])
    return pc.fill_null(got, "").to_numpy(zero_copy_only=False)


# ----------------------------------------------------------------------------- reader
def read_gkg_bytes(
    data: bytes, origin: str, opts: ReadOptions, *, tone_components: bool = False
) -> tuple[pd.DataFrame, pd.DataFrame, int, str]:
    """Read the bytes of one GKG 2.1 file into Articles rows and rejects.

    Parameters
    ----------
    data : bytes
        The (unzipped) ``.gkg.csv`` bytes.
    origin : str
        File or URL: rejects and ``origin`` name it with the line number (``<origin>:<line>``).
    opts : ReadOptions
        Encoding and plausible date range (GDELT DATEs are UTC).
    tone_components : bool
        Add V1.5TONE's six other components (``tone_positive`` ... ``word_count``) besides ``tone``.

    Returns
    -------
    articles : DataFrame
        Articles columns plus ``gdelt_themes``, ``tone`` (+ components), ``page_published``,
        ``gkg_record_id``, in file order.
    rejects : DataFrame
        A line without 27 fields (``gdelt_wrong_field_count``), a DATE that is not 14 digits
        (``gdelt_bad_date``), then what :func:`normalise` rejects (``field`` ``V2.1DATE``).
    rows_in : int
        Non-blank lines read.
    encoding : str
        The text encoding (``utf-8`` unless detected otherwise).
    """
    data, enc = _utf8(data, origin, opts)
    # CRs ending a line are removed (as str.rstrip("\r")); a CR inside a line becomes a space
    if b"\r" in data:
        data = _CR_RUN.sub(b"", data).replace(b"\r", b" ")
    if not data.removeprefix(b"\xef\xbb\xbf"):
        data = b"\n"  # an empty file: one blank line for Arrow (which refuses an empty CSV), no rows
    table, bad = _tokenise(data)
    n_lines = table.num_rows + len(bad)
    bad_no = np.array([b[0] for b in bad], dtype=np.int64)
    number = np.setdiff1d(np.arange(1, n_lines + 1), bad_no, assume_unique=True)  # of the table's rows
    date = table.column("date").combine_chunks()
    blank = pc.and_(pc.equal(date, ""), pc.equal(table.column("id").combine_chunks(), ""))
    if pc.any(blank).as_py():  # blank lines (or 27 empty fields): blank ones are not rows
        cand = blank.to_numpy(zero_copy_only=False)
        is_blank = np.zeros(len(number), bool)
        is_blank[cand] = _blank_lines(data, number[cand])
        table, number, date = (
            table.filter(pa.array(~is_blank)),
            number[~is_blank],
            date.filter(pa.array(~is_blank)),
        )
    ok_date = pc.match_substring_regex(date, r"^[0-9]{14}$").to_numpy(zero_copy_only=False)
    cols = {k: table.column(k).combine_chunks().filter(pa.array(ok_date)) for k in _KEEP}
    rows = number[ok_date]
    extras = cols["extras"]
    rng = resolve_range(opts.valid_range)
    page_pub, page_reason = _utc_times(_extract(extras, _PAGE_TS_RE), rng)
    published, reason = _utc_times(cols["date"].to_numpy(zero_copy_only=False), rng)
    precision = pd.Series(np.full(len(rows), "second", dtype=object))
    tone = _tone(cols["tone"]) if tone_components else {"tone": _tone(cols["tone"])["tone"]}
    obj = {k: cols[k].to_numpy(zero_copy_only=False) for k in ("date", "source", "url")}
    raw = pd.DataFrame(
        {"published": obj["date"], "title": _extract(extras, _TITLE_RE), "body": "", "source": obj["source"],
         "url": obj["url"]},
        dtype=object,
    )  # fmt: skip
    extra = {
        "gdelt_themes": _str(_themes(cols["themes"], cols["v2themes"])),
        **{k: pd.Series(v) for k, v in tone.items()},
        "page_published": page_pub,
        "gkg_record_id": _str(cols["id"]),
    }
    arts, rej = normalise(
        raw, origin=origin, rows=rows, opts=opts, mapping={}, extra=extra,
        timestamps=(published, precision, reason),
    )  # fmt: skip
    rej["field"] = rej["field"].replace({"published": "V2.1DATE"})
    rej = pd.concat([rej, _line_rejects(origin, bad, number[~ok_date], date.filter(pa.array(~ok_date)))])
    return arts, rej.reset_index(drop=True), len(bad) + len(number), enc


def _line_rejects(
    origin: str, bad: list[tuple[int, int]], date_rows: np.ndarray, dates: pa.Array
) -> pd.DataFrame:
    """Wrong field counts and bad DATEs, in line order."""
    row = np.r_[[b[0] for b in bad], date_rows].astype(np.int64)
    field = np.array(["(line)"] * len(bad) + ["V2.1DATE"] * len(dates), dtype=object)
    value = [f"{b[1]} fields, expected {GKG_FIELDS}" for b in bad] + [v[:40] for v in dates.to_pylist()]
    reason = np.array(["gdelt_wrong_field_count"] * len(bad) + ["gdelt_bad_date"] * len(dates), dtype=object)
    order = np.argsort(row, kind="stable")
    return rejects(origin, row[order], field[order], np.array(value, dtype=object)[order], reason[order])


def _utc_times(text: np.ndarray, rng: tuple[pd.Timestamp, pd.Timestamp]) -> tuple[pd.Series, pd.Series]:
    """``YYYYmmddHHMMSS`` strings (UTC; "" = missing) -> (datetime64[ns, UTC] with NaT, reject reason),
    by the rules :func:`parse_timestamps` applies to that shape."""
    s = pd.Series(text, dtype=object)
    year = pd.to_numeric(s.str.slice(0, 4), errors="coerce").to_numpy()
    ok_year = (year >= _PANDAS_YEARS[0]) & (year <= _PANDAS_YEARS[1])
    parsed = pd.to_datetime(s.where(ok_year, None), format="%Y%m%d%H%M%S", errors="coerce", utc=True)
    utc = pd.Series(pd.DatetimeIndex(parsed).as_unit("ns"))
    reason = np.full(len(s), "", dtype=object)
    reason[utc.isna().to_numpy()] = UNPARSEABLE
    reason[~ok_year] = OUT_OF_RANGE
    reason[(s == "").to_numpy()] = MISSING
    reason[((utc < rng[0]) | (utc > rng[1])).to_numpy()] = OUT_OF_RANGE
    return utc.where(reason == ""), pd.Series(reason)
