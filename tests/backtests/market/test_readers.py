"""fred / mof / files readers on the real publisher-format files, and the shared source contract."""

from __future__ import annotations

import pandas as pd
import pytest

from backtests.market import files, fred, mof
from signals.errors import DataUnavailableError, InputFormatError, InputNotFoundError


def _contract(s: pd.Series, start=None, end=None) -> None:
    """What every source's fetch must return."""
    assert isinstance(s, pd.Series)
    assert s.dtype == float
    assert isinstance(s.index, pd.DatetimeIndex)
    assert s.index.tz is None
    assert s.index.is_monotonic_increasing
    assert not s.index.has_duplicates
    assert (s.index == s.index.normalize()).all()
    assert s.notna().all()
    assert len(s) > 0
    if start is not None:
        assert s.index[0] >= pd.Timestamp(start)
    if end is not None:
        assert s.index[-1] <= pd.Timestamp(end)


def test_fred_old_format_dot_missing(shared_data):
    df = fred.read_fred_csv(shared_data / "market" / "fred_ust_1962_2021" / "DGS10.csv")
    assert list(df.columns) == ["DGS10"]
    assert df.loc["1962-01-02", "DGS10"] == 4.06
    assert pd.isna(df.loc["2021-01-01", "DGS10"])  # '.' on New Year's Day
    assert df.loc["2021-01-04", "DGS10"] == 0.93
    s = fred.fetch(
        "DGS10", path=shared_data / "market" / "fred_ust_1962_2021" / "DGS10.csv", start="2020-01-01"
    )
    _contract(s, start="2020-01-01")
    assert pd.Timestamp("2021-01-01") not in s.index


def test_fred_new_format_matches_tidy_file(shared_data):
    df = fred.read_fred_csv(shared_data / "market" / "fred_DEXJPUS.csv")
    assert df.index[0] == pd.Timestamp("2015-07-13")
    assert df.iloc[0, 0] == 123.35
    assert pd.isna(df.loc["2015-09-07", "DEXJPUS"])  # Labor Day: empty cell in the new format
    tidy = files.read_table(shared_data / "market" / "usdjpy_daily.csv")
    s = df["DEXJPUS"].dropna()
    assert (tidy.loc[s.index, "usdjpy"] == s).all()
    assert len(s) > 2400


def test_fred_old_value_format_and_errors(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("DATE,VALUE\n2020-01-02,1.5\n2020-01-03,.\n")
    s = fred.fetch("DGS2", path=p)
    assert s.to_dict() == {pd.Timestamp("2020-01-02"): 1.5}
    p.write_text("DATE,VALUE\n2020-01-02,abc\n")
    with pytest.raises(InputFormatError, match="row 2.*abc"):
        fred.read_fred_csv(p)
    p.write_text("when,VALUE\n2020-01-02,1\n")
    with pytest.raises(InputFormatError, match="observation_date"):
        fred.read_fred_csv(p)
    with pytest.raises(InputNotFoundError):
        fred.read_fred_csv(tmp_path / "nope.csv")
    p.write_text("DATE,VALUE\n2020-01-02,1.5\n")
    with pytest.raises(DataUnavailableError, match="no values"):
        fred.fetch("DGS2", path=p, start="2021-01-01")


def test_fred_online_with_injected_opener_and_failure():
    body = b"observation_date,DGS10\n2025-04-04,4.01\n2025-04-07,4.15\n"
    s = fred.fetch("DGS10", opener=lambda url, timeout: body)
    _contract(s)
    assert s.iloc[0] == 4.01

    def boom(url, timeout):
        raise OSError("network unreachable")

    with pytest.raises(DataUnavailableError, match=r"FRED DGS10.*network unreachable.*sample"):
        fred.fetch("DGS10", opener=boom)


def test_mof_japanese_eras_real_file(shared_data):
    df = mof.read_mof_csv(shared_data / "market" / "mof_jgbcm_all.csv")
    assert df.index[0] == pd.Timestamp("1974-09-24")  # S49.9.24
    assert df.index[-1] == pd.Timestamp("2026-02-27")  # R8.2.27
    assert len(df) == 13166
    assert list(df.columns)[:2] == ["jgb_1y", "jgb_2y"]
    assert df.columns[-1] == "jgb_40y"
    # Golden Week 2019 and the Heisei -> Reiwa change: H31.4.26 then R1.5.7
    gw = df.loc["2019-04-24":"2019-05-09"].index
    assert list(gw) == list(
        pd.to_datetime(["2019-04-24", "2019-04-25", "2019-04-26", "2019-05-07", "2019-05-08", "2019-05-09"])
    )
    # Showa -> Heisei on 8 Jan 1989 (S64.1.6 then H1.1.9)
    assert pd.Timestamp("1989-01-06") in df.index
    assert pd.Timestamp("1989-01-09") in df.index
    assert df.loc["1974-09-24", "jgb_1y"] == 10.327
    assert pd.isna(df.loc["1974-09-24", "jgb_10y"])  # '-'
    tidy = files.read_table(shared_data / "market" / "jgb_yields_daily.csv")
    pd.testing.assert_frame_equal(df, tidy, check_freq=False)
    s = mof.fetch("10Y", path=shared_data / "market" / "mof_jgbcm_all.csv", start="2025-01-01")
    _contract(s, start="2025-01-01")


def test_era_conversion():
    got = mof.era_to_date(
        ["S49.9.24", "S64.1.7", "H1.1.9", "H31.4.26", "R1.5.7", "R8.2.27", "令和元年5月7日"]
    )
    assert [d.date().isoformat() for d in got] == [
        "1974-09-24",
        "1989-01-07",
        "1989-01-09",
        "2019-04-26",
        "2019-05-07",
        "2026-02-27",
        "2019-05-07",
    ]
    with pytest.raises(InputFormatError, match="outside its era"):
        mof.era_to_date(["H31.5.7"])  # Heisei ended 30 April 2019
    with pytest.raises(InputFormatError, match="outside its era"):
        mof.era_to_date(["R1.4.30"])
    with pytest.raises(InputFormatError, match="outside its era"):
        mof.era_to_date(["S64.1.8"])  # Showa ended 7 January 1989
    assert mof.era_to_date(["H元.1.8", "H1.1.8"])[0] == pd.Timestamp("1989-01-08")
    with pytest.raises(InputFormatError, match="not a Japanese-era date"):
        mof.era_to_date(["2019-05-07"])


def test_mof_english_format_matches_japanese_file(tmp_path, shared_data):
    """jgbcme_all.csv (English, Gregorian dates) gives the same frame as jgbcm_all.csv (eras)."""
    ja = mof.read_mof_csv(shared_data / "market" / "mof_jgbcm_all.csv")
    part = ja.loc["1989-01-05":"1989-01-10"].combine_first(ja.loc["2019-04-25":"2019-05-08"])
    lines = ["Interest Rate", "Date," + ",".join(c.split("_")[1].upper() for c in ja.columns)]
    for d, row in part.iterrows():
        cells = ["-" if pd.isna(v) else repr(float(v)) for v in row]
        lines.append(f"{d.year}/{d.month}/{d.day}," + ",".join(cells))
    p = tmp_path / "jgbcme_all.csv"
    p.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    en = mof.read_mof_csv(p)
    pd.testing.assert_frame_equal(en, part, check_freq=False)
    assert list(en.index.strftime("%Y-%m-%d")) == [
        "1989-01-05",
        "1989-01-06",
        "1989-01-09",
        "1989-01-10",  # S64.1.6 -> H1.1.9
        "2019-04-25",
        "2019-04-26",
        "2019-05-07",
        "2019-05-08",  # H31.4.26 -> R1.5.7
    ]
    s = mof.fetch("10Y", path=p, start="2019-01-01")
    assert s.loc["2019-05-07"] == ja.loc["2019-05-07", "jgb_10y"]


def test_mof_english_format_with_title_line(tmp_path):
    p = tmp_path / "jgbcme_all.csv"
    p.write_text(
        "Interest Rate,,,\nDate,1Y,2Y,40Y\n2019/4/26,-0.157,-0.15,-\n2019/5/7,-0.161,-0.155,0.5\n",
        encoding="utf-8",
    )
    df = mof.read_mof_csv(p)
    assert list(df.columns) == ["jgb_1y", "jgb_2y", "jgb_40y"]
    assert df.loc["2019-05-07", "jgb_40y"] == 0.5
    assert pd.isna(df.loc["2019-04-26", "jgb_40y"])


def test_mof_shift_jis(tmp_path):
    p = tmp_path / "jgbcm_all.csv"
    p.write_bytes("国債金利情報,,\n基準日,1年,10年\nR1.5.7,-0.161,-0.049\n".encode("cp932"))
    df = mof.read_mof_csv(p)
    assert df.loc["2019-05-07", "jgb_10y"] == -0.049


def test_files_reader_csv_parquet_and_errors(tmp_path, shared_data):
    df = files.read_table(shared_data / "market" / "ust_yields_daily.csv")
    assert df.loc["2025-04-04", "ust_10y"] == 4.01
    assert df.loc["2025-04-11", "ust_10y"] == 4.48
    pq = tmp_path / "x.parquet"
    df.loc["2025"].to_parquet(pq)
    back = files.read_table(pq)
    pd.testing.assert_frame_equal(back, df.loc["2025"], check_freq=False)
    s = files.fetch(
        "ust_2y", path=shared_data / "market" / "ust_yields_daily.csv", start="2025-01-01", end="2025-06-30"
    )
    _contract(s, "2025-01-01", "2025-06-30")
    bad = tmp_path / "bad.csv"
    bad.write_text("date,a\n2020-01-01,1\n2020-01-01,2\n")
    with pytest.raises(InputFormatError, match="appears in rows 2 and 3 with different values"):
        files.read_table(bad)
    bad.write_text("date,a\n2020-01-01,x1\n")
    with pytest.raises(InputFormatError, match=r"row 2, column 'a'"):
        files.read_table(bad)
    bad.write_text("day,a\n2020-01-01,1\n")
    with pytest.raises(InputFormatError, match="no date column"):
        files.read_table(bad)
    with pytest.raises(DataUnavailableError, match="no file given"):
        files.fetch("a")
