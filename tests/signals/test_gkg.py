"""The vectorised GKG reader gives the line-by-line reader's Articles and rejects, frame for frame.

The oracle (``gkg_oracle.read_gdelt_oracle``) is the reader as it was before: Python ``split`` per
line, ``re`` per row. Inputs are the real GKG subset from ``../shared/data/news/raw/``, whole, in
15-minute pieces (as the ingest tests serve it) and with lines damaged in the ways a file can be.
"""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from signals._gkg import gkg_member, read_gkg_bytes
from signals._normalise import ReadOptions
from signals._readers import read_gdelt
from signals.errors import InputFormatError

sys.path.insert(0, str(Path(__file__).parent))
from gkg_oracle import read_gdelt_oracle  # noqa: E402

RAW = "gdelt_20230702153000_subset.gkg.csv"


@pytest.fixture(scope="module")
def gkg_bytes(shared_data) -> bytes:
    return (shared_data / "news" / "raw" / RAW).read_bytes()


def _same(path: Path, opts: ReadOptions | None = None) -> pd.DataFrame:
    opts = opts or ReadOptions()
    old, new = read_gdelt_oracle(path, opts), read_gdelt(path, opts)
    # the old reader's tone was int64 when every tone in the file happened to be a whole number
    # (pd.to_numeric picks the dtype from the data); the new one is always float64
    assert new.articles["tone"].dtype == "float64"
    old.articles["tone"] = old.articles["tone"].astype("float64")
    pd.testing.assert_frame_equal(new.articles, old.articles)
    pd.testing.assert_frame_equal(new.rejects, old.rejects)
    assert (new.rows_in, new.encoding) == (old.rows_in, old.encoding)
    assert new.rows_in == len(new.articles) + len(new.rejects)
    return new.articles


def test_every_real_gkg_file_reads_as_before(shared_data):
    files = sorted((shared_data / "news" / "raw").glob("*.gkg.csv"))
    assert files, "no real GKG file in ../shared/data/news/raw"
    for f in files:
        arts = _same(f)
        assert len(arts) > 0 and arts["gdelt_themes"].str.len().gt(0).mean() > 0.9


def test_real_file_in_pieces_and_zipped(gkg_bytes, tmp_path):
    lines = [ln for ln in gkg_bytes.split(b"\n") if ln]
    for k in range(4):
        p = tmp_path / f"piece{k}.gkg.csv"
        p.write_bytes(b"\n".join(lines[k::4]) + b"\n")
        _same(p)
        z = tmp_path / f"2023070215{k}000.gkg.csv.zip"
        with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.write(p, p.name)
        _same(z)


def test_damaged_lines_are_the_same_rejects(gkg_bytes, tmp_path):
    lines = [ln.split(b"\t") for ln in gkg_bytes.split(b"\n") if ln][:12]
    lines[1] = [*lines[1], b"spurious"]  # 28 fields
    lines[2] = lines[2][:20]  # 20 fields
    lines[3][1] = lines[3][1] + b"1"  # 15-digit DATE
    lines[4][1] = b"2023-07-02 15:30"  # other DATE format
    lines[5][1] = b"20341302153000"  # month 13
    lines[6][1] = b"20990702153000"  # beyond the plausible range
    lines[7][1] = b"15000702153000"  # before pandas' years
    lines[8][4] = lines[9][4] = b""  # no URL (ids from source + title + time)
    lines[10][26] = b""  # no extras: no title
    lines[11][8] = b";;"  # V2 themes empty: V1 themes
    body = b"\n".join(b"\t".join(x) for x in lines)
    p = tmp_path / "damaged.gkg.csv"
    for variant in (
        body + b"\n",
        b"\n" + body.replace(b"\n", b"\n\n", 3) + b"\n\n",  # blank lines: line numbers keep counting
        body.replace(b"\n", b"\r\n") + b"\r\n",  # CRLF
        b"\xef\xbb\xbf" + body,  # BOM, no final newline
        b"",  # empty file
        b"\xef\xbb\xbf\n\n",  # BOM and blank lines only
        b"a\tb\n\nc\n",  # no line with 27 fields
        body + b"\n" + b"\t" * 26 + b"\n",  # a line of 27 empty fields: a bad DATE, not a blank
    ):
        p.write_bytes(variant)
        _same(p)
    got = read_gdelt(p, ReadOptions()).rejects.set_index("row")["reason"].to_dict()
    assert got[2] == got[3] == "gdelt_wrong_field_count" and got[4] == got[5] == "gdelt_bad_date"
    assert got[13] == "gdelt_bad_date"


def test_not_utf8_falls_back_to_the_detected_encoding(gkg_bytes, tmp_path):
    lines = [ln for ln in gkg_bytes.split(b"\n") if ln][:5]
    lines[0] = lines[0].replace(b"<PAGE_TITLE>", b"<PAGE_TITLE>Caf\xe9 ")  # cp1252 byte
    p = tmp_path / "latin.gkg.csv"
    p.write_bytes(b"\n".join(lines) + b"\n")
    arts = _same(p)
    assert arts["title"].str.startswith("Café").any()


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    picks=st.lists(st.integers(0, 80), min_size=1, max_size=12),
    cut=st.lists(st.tuples(st.integers(0, 11), st.integers(0, 30)), max_size=3),
    blank=st.lists(st.integers(0, 12), max_size=3),
    crlf=st.booleans(),
    dup_theme=st.booleans(),
    bom=st.booleans(),
)
def test_random_cuts_of_real_lines(gkg_bytes, tmp_path, picks, cut, blank, crlf, dup_theme, bom):
    lines = [ln for ln in gkg_bytes.split(b"\n") if ln]
    chosen = [lines[i].split(b"\t") for i in picks]
    for i, n in cut:  # a line cut after n fields (or given extra ones)
        if i < len(chosen):
            chosen[i] = chosen[i][:n] if n < 27 else [*chosen[i], b"x"] * (n > 27)
    if dup_theme and len(chosen[0]) > 8:  # every V2 theme twice (same offsets)
        chosen[0][8] = chosen[0][8] + b";" + chosen[0][8]
    out = [b"\t".join(x) for x in chosen]
    for j in sorted(blank, reverse=True):
        out.insert(min(j, len(out)), b"")
    sep = b"\r\n" if crlf else b"\n"
    p = tmp_path / "random.gkg.csv"
    p.write_bytes(b"\xef\xbb\xbf" * bom + sep.join(out) + sep)
    _same(p)


def test_ingest_reader_adds_the_tone_components(gkg_bytes):
    arts, rej, n, enc = read_gkg_bytes(gkg_bytes, "x", ReadOptions(), tone_components=True)
    assert n == len(arts) == 81 and len(rej) == 0 and enc == "utf-8"
    tone = [ln.split(b"\t")[15].split(b",") for ln in gkg_bytes.split(b"\n") if ln]
    for k, col in enumerate(["tone", "tone_positive", "tone_negative", "tone_polarity", "word_count"]):
        i = 6 if col == "word_count" else k
        assert arts[col].tolist() == [float(t[i]) for t in tone]


def test_zip_member_crc_and_damage_are_errors(gkg_bytes):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("x.gkg.csv", gkg_bytes)
    body = buf.getvalue()
    assert gkg_member(body, "x.zip") == gkg_bytes
    off = len(body) // 3
    flipped = body[:off] + bytes([body[off] ^ 0xFF]) + body[off + 1 :]
    with pytest.raises(InputFormatError, match=r"x\.zip: damaged zip member|x\.zip: not a readable zip"):
        gkg_member(flipped, "x.zip")
    with pytest.raises(InputFormatError, match="not a readable zip"):
        gkg_member(body[: len(body) // 2], "x.zip")
    empty = io.BytesIO()
    zipfile.ZipFile(empty, "w").close()
    with pytest.raises(InputFormatError, match="empty zip archive"):
        gkg_member(empty.getvalue(), "e.zip")


def test_iso_2022_jp_file_is_decoded_as_before(gkg_bytes, tmp_path):
    """ISO-2022-JP is 7-bit, so it also validates as UTF-8: its escape sequences send the file to
    the detection the old reader used, and the title is Japanese text, not escape codes (review)."""
    lines = [ln for ln in gkg_bytes.split(b"\n") if ln][:3]
    jp = "日本語のニュース ".encode("iso2022_jp")
    lines[0] = lines[0].replace(b"<PAGE_TITLE>", b"<PAGE_TITLE>" + jp)
    f = tmp_path / "jp.gkg.csv"
    f.write_bytes(b"\n".join(lines) + b"\n")
    arts = _same(f)
    assert arts["title"].iloc[0].startswith("日本語のニュース")
