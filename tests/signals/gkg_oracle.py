"""The GKG reader as it was before the vectorised one (line by line in Python): the oracle that
``test_gkg.py`` compares :func:`signals._gkg.read_gkg_bytes` against. Test code only."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from signals._encoding import decode_bytes
from signals._normalise import ReadOptions, normalise, rejects
from signals._readers import Read
from signals._timeparse import parse_timestamps, resolve_range
from signals.errors import InputFormatError

_GKG_FIELDS = 27
_GKG_TS_RE = re.compile(r"<PAGE_PRECISEPUBTIMESTAMP>(\d{14})</PAGE_PRECISEPUBTIMESTAMP>")
_GKG_TITLE_RE = re.compile(r"<PAGE_TITLE>(.*?)</PAGE_TITLE>", re.S)


def _gdelt_bytes(path: Path) -> bytes:
    if path.suffix.lower() != ".zip":
        return path.read_bytes()
    try:
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if not n.endswith("/")]
            if not names:
                raise InputFormatError(f"{path}: empty zip archive")
            return zf.read(names[0])
    except zipfile.BadZipFile as exc:
        raise InputFormatError(f"{path}: not a readable zip archive ({exc})") from None


def read_gdelt_oracle(path: Path, opts: ReadOptions) -> Read:
    """GDELT GKG 2.1: exactly 27 tab-separated fields and a ``YYYYMMDDhhmmss`` DATE per row."""
    text, enc = decode_bytes(_gdelt_bytes(path), str(path), opts.encoding)
    fields: list[list[str]] = []
    rows: list[int] = []
    bad: list[tuple[int, str, str, str]] = []  # row, field, value, reason
    n = 0
    for i, line in enumerate(text.split("\n"), 1):
        line = line.rstrip("\r")
        if not line:
            continue
        n += 1
        parts = line.split("\t")
        if len(parts) != _GKG_FIELDS:
            bad.append(
                (i, "(line)", f"{len(parts)} fields, expected {_GKG_FIELDS}", "gdelt_wrong_field_count")
            )
        elif not (len(parts[1]) == 14 and parts[1].isdigit()):
            bad.append((i, "V2.1DATE", parts[1][:40], "gdelt_bad_date"))
        else:
            fields.append(parts)
            rows.append(i)
    g = pd.DataFrame(fields, columns=range(_GKG_FIELDS), dtype=object)
    extras = g[26].astype(str)
    title = extras.str.extract(_GKG_TITLE_RE, expand=False).fillna("")
    page_ts = extras.str.extract(_GKG_TS_RE, expand=False).fillna("")
    page_pub, _, page_reason = parse_timestamps(
        page_ts, assume_tz="UTC", valid_range=resolve_range(opts.valid_range)
    )
    v2 = g[8].astype(str).str.replace(r",\d+", "", regex=True)
    themes_raw = v2.where(v2.str.strip(";") != "", g[7].astype(str))
    themes = themes_raw.map(lambda t: ";".join(sorted({x for x in t.split(";") if x})))
    tone = pd.to_numeric(g[15].astype(str).str.split(",").str[0], errors="coerce")
    raw = pd.DataFrame({"published": g[1], "title": title, "body": "", "source": g[3], "url": g[4]})
    extra = {
        "gdelt_themes": themes,
        "tone": tone,
        "page_published": page_pub.where(page_reason == ""),
        "gkg_record_id": g[0].astype(str),
    }
    arts, rej = normalise(
        raw, origin=str(path), rows=np.asarray(rows, dtype=int), opts=opts, mapping={}, assume_tz="UTC",
        extra=extra,
    )  # fmt: skip
    rej["field"] = rej["field"].replace({"published": "V2.1DATE"})
    if bad:
        b = list(zip(*bad))
        rej = pd.concat([rej, rejects(str(path), b[0], np.array(b[1]), list(b[2]), np.array(b[3]))])
    return Read(arts, rej.reset_index(drop=True), n, enc)
