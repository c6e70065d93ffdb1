"""`--events` and `[events].table` share one reader and its messages; `--files` reaches load_market."""

from __future__ import annotations

import pandas as pd
import pytest

from backtests import cli
from backtests.events_io import read_events_table
from signals.errors import InputFormatError, InputNotFoundError


def test_ragged_csv_names_the_option_and_file(tmp_path):
    p = tmp_path / "ev.csv"
    p.write_text("date,theme\n2024-01-02,a\n2024-01-03,b,extra,cells\n")
    with pytest.raises(InputFormatError, match=r"\[events\]\.table .*ev\.csv: not a readable events table"):
        read_events_table(p, what="[events].table")
    with pytest.raises(InputFormatError, match=r"--events .*ev\.csv: not a readable events table"):
        read_events_table(p)


def test_parquet_and_binary_given_as_csv(tmp_path):
    good = tmp_path / "ev.parquet"
    pd.DataFrame({"date": pd.to_datetime(["2024-01-02"]), "theme": ["a"]}).to_parquet(good)
    assert len(read_events_table(good)) == 1
    bad = tmp_path / "ev.csv"
    bad.write_bytes(good.read_bytes())  # Parquet bytes under a .csv name
    with pytest.raises(InputFormatError, match="ev.csv: not a readable events table"):
        read_events_table(bad)
    broken = tmp_path / "b.parquet"
    broken.write_bytes(b"PAR1 not really")
    with pytest.raises(InputFormatError, match="b.parquet: not a readable events table"):
        read_events_table(broken)
    with pytest.raises(InputNotFoundError, match="nope.csv"):
        read_events_table(tmp_path / "nope.csv")


def test_config_events_table_uses_the_same_reader(tmp_path, capsys):
    p = tmp_path / "ev.csv"
    p.write_text("date,theme\n2024-01-02,a\n2024-01-03,b,extra\n")
    cfg = tmp_path / "c.toml"
    cfg.write_text('[events]\ntable = "ev.csv"\n[market]\nseries = ["ust_10y"]\nsource = "sample"\n')
    assert cli.main(["run", str(cfg), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    assert "[events].table" in err and "ev.csv" in err and "not a readable events table" in err


def test_study_with_source_files_and_date_format(tmp_path, capsys):
    idx = pd.bdate_range("2023-01-02", "2024-06-28")
    lv = pd.DataFrame({"date": idx.strftime("%d/%m/%Y"), "ust_10y": 4 + (idx.dayofyear % 7) / 100})
    lv.to_csv(tmp_path / "lv.csv", index=False)
    ev = tmp_path / "ev.csv"
    ev.write_text("date,theme\n2024-03-01,a\n2024-04-02,a\n2024-05-01,a\n")
    base = [
        "study",
        "--events",
        str(ev),
        "--series",
        "ust_10y",
        "--source",
        "files",
        "--files",
        str(tmp_path / "lv.csv"),
    ]
    assert cli.main(base) == 2
    assert "ambiguous" in capsys.readouterr().err
    assert cli.main([*base, "--date-format", "%d/%m/%Y", "--model", "raw"]) == 0
