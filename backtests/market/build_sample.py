"""Build the bundled market snapshot (``data/market/``) from the publisher files.

Run from the repository root::

    python -m backtests.market.build_sample --shared ../shared/data/market

Inputs (``shared/data/market``, see its README for provenance):

* ``fred_ust_1962_2021/DGS{3MO,2,5,10,30}.csv`` (FRED format) read with :mod:`backtests.market.fred`
  up to 2021-01-04, and ``ust_yields_daily.csv`` (same FRED H.15 numbers, tidy) read with
  :mod:`backtests.market.files` after that; both must agree exactly on the common dates;
* ``fred_DEXJPUS.csv`` (FRED format, 2015-07-13..2025-07-11) with :mod:`~backtests.market.fred`, and
  ``usdjpy_daily.csv`` (tidy H.10) with :mod:`~backtests.market.files` outside that range;
* ``mof_jgbcm_all.csv`` (MOF, Japanese eras) with :mod:`backtests.market.mof`, cross-checked cell by
  cell against ``jgb_yields_daily.csv``;
* ``mof_fx_interventions.csv`` (MOF daily intervention records), validated and re-written gzip-compressed.

Outputs: ``ust_h15.csv.gz``, ``usdjpy_h10.csv.gz``, ``jgb_mof.csv.gz`` (date + one column per
series, values written with Python's shortest round-trip repr so that they read back bit-identical),
``mof_fx_interventions_daily.csv.gz`` and ``snapshot.json`` (per-series publisher, code, unit, kind, close,
tz, date range, attribution; SHA-256 of every file). Gzip headers carry no timestamp, so the build
is byte-reproducible.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from backtests.market import files, fred, mof
from backtests.market.registry import H10, H15, MOF, get_spec
from signals.errors import InputFormatError

log = logging.getLogger(__name__)

START = "1994-01-01"  # a year before 1995 so the first 1995 intervention days have estimation windows
FED_ATTRIBUTION = (
    "Source: Board of Governors of the Federal Reserve System (US), {release}, retrieved from FRED, "
    "Federal Reserve Bank of St. Louis (series {code}). Public domain (US government data); "
    "citation requested."
)
MOF_ATTRIBUTION = (
    "Source: Ministry of Finance Japan, Interest Rate (https://www.mof.go.jp/english/policy/jgbs/"
    "reference/interest_rate/), processed by newsbt (Japanese-era dates converted to ISO dates). "
    "Reused under the Government of Japan Standard Terms of Use (Version 2.0), compatible with CC BY 4.0."
)
MOF_FX_ATTRIBUTION = (
    "Source: Ministry of Finance Japan, Foreign Exchange Intervention Operations "
    "(https://www.mof.go.jp/english/policy/international_policy/reference/feio/), daily records "
    "1991-2024, processed by newsbt (pair/direction split, amounts in billion yen). Reused under the "
    "Government of Japan Standard Terms of Use (Version 2.0), compatible with CC BY 4.0."
)
UST_CODES = {"ust_3m": "DGS3MO", "ust_2y": "DGS2", "ust_5y": "DGS5", "ust_10y": "DGS10", "ust_30y": "DGS30"}
FRED_UST_END = pd.Timestamp("2021-01-04")


def _check_equal(a: pd.DataFrame, b: pd.DataFrame, what: str) -> int:
    """Exact equality of two frames on their common dates (NaN == NaN); returns #dates compared."""
    common = a.index.intersection(b.index)
    x, y = a.loc[common, b.columns.intersection(a.columns)], b.loc[common, a.columns.intersection(b.columns)]
    diff = ~((x == y) | (x.isna() & y.isna()))
    if diff.to_numpy().any():
        r, c = np.argwhere(diff.to_numpy())[0]
        raise InputFormatError(
            f"{what}: sources disagree on {common[r]:%Y-%m-%d} {x.columns[c]}: {x.iat[r, c]} vs {y.iat[r, c]}"
        )
    return len(common)


def build_ust(shared: Path) -> tuple[pd.DataFrame, dict]:
    """H.15 yields: FRED-format files to 2021-01-04, the tidy FRED file after; cross-checked."""
    parts = []
    for sid, code in UST_CODES.items():
        df = fred.read_fred_csv(shared / "fred_ust_1962_2021" / f"{code}.csv")
        parts.append(df[code].rename(sid))
    old = pd.concat(parts, axis=1, sort=True)
    tidy = files.read_table(shared / "ust_yields_daily.csv", columns=list(UST_CODES))
    n = _check_equal(old.loc[START:].dropna(how="all"), tidy.loc[START:FRED_UST_END], "UST FRED vs tidy")
    out = pd.concat([old.loc[:FRED_UST_END], tidy.loc[FRED_UST_END + pd.Timedelta(days=1) :]])
    out = out.loc[START:].dropna(how="all")
    return out, {"checked_dates": n, "inputs": ["fred_ust_1962_2021/DGS*.csv", "ust_yields_daily.csv"]}


def build_usdjpy(shared: Path) -> tuple[pd.DataFrame, dict]:
    """H.10 USD/JPY: FRED-format file for its range, tidy file outside; cross-checked."""
    f = fred.read_fred_csv(shared / "fred_DEXJPUS.csv")["DEXJPUS"].dropna().rename("usdjpy").to_frame()
    tidy = files.read_table(shared / "usdjpy_daily.csv", columns=["usdjpy"]).dropna()
    n = _check_equal(f, tidy, "USD/JPY FRED vs tidy")
    lo, hi = f.index.min(), f.index.max()
    out = pd.concat([tidy.loc[: lo - pd.Timedelta(days=1)], f, tidy.loc[hi + pd.Timedelta(days=1) :]])
    return out.loc[START:], {"checked_dates": n, "inputs": ["fred_DEXJPUS.csv", "usdjpy_daily.csv"]}


def build_jgb(shared: Path) -> tuple[pd.DataFrame, dict]:
    """MOF JGB yields from the Japanese-era file, cross-checked against the tidy copy."""
    m = mof.read_mof_csv(shared / "mof_jgbcm_all.csv")
    tidy = files.read_table(shared / "jgb_yields_daily.csv")
    n = _check_equal(m, tidy, "MOF jgbcm_all vs tidy")
    if len(m) != len(tidy):
        raise InputFormatError(f"MOF file has {len(m)} dates, tidy copy {len(tidy)}")
    return m.loc[START:].dropna(how="all"), {"checked_dates": n, "inputs": ["mof_jgbcm_all.csv"]}


IV_FILE = "mof_fx_interventions_daily.csv.gz"


def _gz_csv(df: pd.DataFrame) -> bytes:
    text = df.to_csv(index_label="date", date_format="%Y-%m-%d", lineterminator="\n")
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as gz:
        gz.write(text.encode("utf-8"))
    return buf.getvalue()


def build(shared: Path, out: Path) -> dict:
    """Build every snapshot file into ``out``; returns the metadata written to ``snapshot.json``."""
    shared, out = Path(shared), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    meta: dict = {"built_from": "shared/data/market (see data/market/README.md)", "start": START, "files": {}}
    series: dict[str, dict] = {}
    jobs = {
        "ust_h15.csv.gz": (build_ust, "fred", H15, "H.15 Selected Interest Rates"),
        "usdjpy_h10.csv.gz": (build_usdjpy, "fred", H10, "H.10 Foreign Exchange Rates"),
        "jgb_mof.csv.gz": (build_jgb, "mof", MOF, None),
    }
    for fname, (fn, src, publisher, release) in jobs.items():
        df, info = fn(shared)
        data = _gz_csv(df)
        (out / fname).write_bytes(data)
        meta["files"][fname] = {
            "sha256": hashlib.sha256(data).hexdigest(),
            "rows": len(df),
            "first": f"{df.index.min():%Y-%m-%d}",
            "last": f"{df.index.max():%Y-%m-%d}",
            **info,
        }
        for sid in df.columns:
            s = df[sid].dropna()
            spec = get_spec(sid)
            ref = spec.source("sample")
            code = ref.code if ref else sid
            series[sid] = {
                "file": fname,
                "column": sid,
                "publisher": publisher,
                "source": src,
                "code": code,
                "kind": spec.kind,
                "unit": spec.unit,
                "close": ref.close.strftime("%H:%M") if ref else spec.close.strftime("%H:%M"),
                "tz": ref.tz if ref else spec.tz,
                "start": f"{s.index.min():%Y-%m-%d}",
                "end": f"{s.index.max():%Y-%m-%d}",
                "n": len(s),
                "attribution": FED_ATTRIBUTION.format(release=release, code=code)
                if release
                else MOF_ATTRIBUTION,
                "license": "public domain" if release else "Government of Japan Standard Terms of Use 2.0",
            }
    meta["series"] = series
    meta["snapshot_last"] = max(v["end"] for v in series.values())
    # the intervention table is re-derived (validated, re-written gzip-compressed), not copied
    ivdf = pd.read_csv(shared / "mof_fx_interventions.csv", dtype={"date": str})
    need = [
        "date",
        "pair",
        "currency_sold",
        "currency_bought",
        "jpy_direction",
        "amount_jpy_100m",
        "amount_jpy_bn",
    ]
    missing = [c for c in need if c not in ivdf]
    if missing:
        raise InputFormatError(f"mof_fx_interventions.csv lacks columns {missing}")
    ivdf["date"] = pd.to_datetime(ivdf["date"], format="%Y-%m-%d")
    if (ivdf["date"].dt.day_of_week >= 5).any():
        raise InputFormatError("mof_fx_interventions.csv has an intervention on a weekend")
    iv = _gz_csv(ivdf[need].set_index("date"))
    (out / IV_FILE).write_bytes(iv)
    meta["interventions"] = {
        "file": IV_FILE,
        "sha256": hashlib.sha256(iv).hexdigest(),
        "rows": len(ivdf),
        "first": str(ivdf["date"].min()),
        "last": str(ivdf["date"].max()),
        "publisher": "Ministry of Finance Japan",
        "attribution": MOF_FX_ATTRIBUTION,
        "license": "Government of Japan Standard Terms of Use 2.0",
    }
    (out / "snapshot.json").write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    log.info("snapshot written to %s (last date %s)", out, meta["snapshot_last"])
    return meta


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--shared", type=Path, default=Path("../shared/data/market"), help="shared/data/market folder"
    )
    ap.add_argument(
        "--out", type=Path, default=Path("data/market"), help="output folder (default data/market)"
    )
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    meta = build(a.shared, a.out)
    total = sum((a.out / f).stat().st_size for f in [*meta["files"], IV_FILE, "snapshot.json"])
    log.info("%d series, %d bytes in total", len(meta["series"]), total)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
