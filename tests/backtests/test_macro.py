"""The shipped macro calendar: built from ../shared/data/reference/macro_calendar, byte-reproducible,
UTC release times (DST-aware), user releases from CSV."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

import backtests
from backtests.macro import read_releases
from backtests.market import build_macro
from signals._paths import data_path

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data" / "reference" / "macro_calendar"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason=f"{SHARED} absent (shared reference data)")


def test_snapshot_rows_and_seed_case():
    cal = backtests.macro_calendar()
    assert str(cal["release_time"].dtype) == "datetime64[ns, UTC]"
    assert cal["release_time"].is_monotonic_increasing
    assert cal["release"].value_counts().to_dict() == {"us_cpi": 395, "us_nfp": 393, "boj": 374, "fomc": 277}
    nfp = cal[(cal["release"] == "us_nfp") & (cal["local_date"] == "2025-05-02")].iloc[0]
    # 08:30 New York in May is EDT (UTC-4)
    assert nfp["release_time"] == pd.Timestamp("2025-05-02T12:30Z") and nfp["name"] == "US payrolls"
    dec = cal[(cal["release"] == "us_nfp") & (cal["local_date"] == "2024-12-06")].iloc[0]
    assert dec["release_time"] == pd.Timestamp("2024-12-06T13:30Z")  # EST (UTC-5)
    leak = cal[(cal["release"] == "us_nfp") & (cal["local_date"] == "1998-11-05")].iloc[0]
    assert leak["local_time"] == "13:30"
    boj = cal[cal["release"] == "boj"]
    assert not boj["time_exact"].any() and (boj["local_time"] == "12:00").all()
    assert cal.loc[cal["release"] != "boj", "time_exact"].all()
    assert backtests.macro_calendar(releases=["fomc"])["release"].eq("fomc").all()
    with pytest.raises(ValueError, match="unknown"):
        backtests.macro_calendar(releases=["ecb"])


@needs_shared
def test_build_is_reproducible_and_equals_the_shipped_file(tmp_path):
    table = build_macro.build(SHARED)
    path = build_macro.write(table, tmp_path)
    assert path.read_bytes() == data_path("market", build_macro.SNAPSHOT_FILE).read_bytes()
    for name, rel in (
        ("fomc.csv", "fomc"),
        ("us_nfp.csv", "us_nfp"),
        ("us_cpi.csv", "us_cpi"),
        ("boj_mpm.csv", "boj"),
    ):
        src = pd.read_csv(SHARED / name, dtype=str)
        got = table[table["release"] == rel]
        assert got["local_date"].tolist() == src["date"].tolist()  # every row, nothing added or lost
        if "time_ny" in src:
            assert got["local_time"].tolist() == src["time_ny"].tolist()


def test_user_releases_from_csv(tmp_path):
    p = tmp_path / "mine.csv"
    p.write_text("release,name,local_date,local_time,tz\necb,ECB decision,2025-04-17,14:15,Europe/Berlin\n")
    mine = read_releases(p)
    assert mine["release_time"].iloc[0] == pd.Timestamp("2025-04-17T12:15Z")
    cal = backtests.macro_calendar(extra=p)
    assert (cal["release"] == "ecb").sum() == 1 and cal["release_time"].is_monotonic_increasing
    p2 = tmp_path / "utc.csv"
    p2.write_text("release,release_time\nboe,2025-05-08T12:00+01:00\n")
    assert read_releases(p2)["release_time"].iloc[0] == pd.Timestamp("2025-05-08T11:00Z")


def test_user_releases_bad_input_names_the_file(tmp_path):
    p = tmp_path / "naive.csv"
    p.write_text("release,release_time\nx,2025-05-08 12:00\n")
    with pytest.raises(backtests.InputFormatError, match=r"naive\.csv.*time zone"):
        read_releases(p)
    with pytest.raises(backtests.InputFormatError, match="release"):
        read_releases(pd.DataFrame({"when": [1]}))
    with pytest.raises(backtests.InputNotFoundError):
        read_releases(tmp_path / "nope.csv")
