"""`newsbt import` / `newsbt fetch` / `newsbt series` behind the CLI: cache management."""

from __future__ import annotations

import pandas as pd
import pytest

from backtests import market as mk
from backtests.cli import main
from signals.errors import DataUnavailableError, InputFormatError


def test_import_fred_file_then_load_from_cache(shared_data, capsys):
    f = shared_data / "market" / "fred_ust_1962_2021" / "DGS10.csv"
    assert main(["import", str(f), "--format", "fred"]) == 0
    assert "ust_10y" in capsys.readouterr().out
    m = mk.load_market("ust_10y", start="2020-03-02", end="2020-03-31", source="cache")
    p = m.provenance["ust_10y"]
    assert p.origin == "user_file" and "DGS10.csv" in p.retrieved
    raw = pd.read_csv(f, na_values=".", index_col=0, parse_dates=True)["DGS10"]
    pd.testing.assert_series_equal(
        m.levels["ust_10y"],
        raw.loc["2020-03-02":"2020-03-31"].dropna(),
        check_names=False,
        check_freq=False,
        check_index_type=False,
    )
    # the status table lists what is cached
    st = mk.cache_status().set_index("series")
    assert st.loc["ust_10y", "cached"].startswith("fred: 1962-01-02")
    assert main(["series"]) == 0
    assert "ust_10y" in capsys.readouterr().out


def test_import_mof_file(shared_data):
    done = mk.import_file(shared_data / "market" / "mof_jgbcm_all.csv", format="mof", series=["jgb_10y"])
    assert set(done) == {"jgb_10y"} and done["jgb_10y"] > 9000
    m = mk.load_market("jgb_10y", start="2019-04-26", end="2019-05-07", source="cache")
    assert list(m.levels.index.strftime("%Y-%m-%d")) == ["2019-04-26", "2019-05-07"]  # Golden Week gap


def test_import_csv_is_user_file_of_unknown_origin(tmp_path):
    f = tmp_path / "mine.csv"
    f.write_text("date,usdjpy\n2025-01-06,157.5\n2025-01-07,158.0\n")
    assert mk.import_file(f, format="csv") == {"usdjpy": 2}
    m = mk.load_market("usdjpy", source="cache")
    assert m.provenance["usdjpy"].origin == "user_file"
    assert m.provenance["usdjpy"].publisher == ""
    from backtests.report import _banners, data_sources

    assert any("Unknown origin" in b for b in _banners(data_sources(m)))


def test_import_unknown_fred_code_is_clear(tmp_path):
    f = tmp_path / "x.csv"
    f.write_text("observation_date,FOO\n2025-01-02,1.0\n")
    with pytest.raises(InputFormatError, match="FOO"):
        mk.import_file(f, format="fred")


def test_fetch_offline_fails_clearly(monkeypatch):
    monkeypatch.setenv("NEWSBT_OFFLINE", "1")
    with pytest.raises(DataUnavailableError, match="ust_10y.*newsbt import"):
        mk.fetch(["ust_10y"], start="2025-01-01")
    assert main(["fetch", "ust_10y", "--start", "2025-01-01"]) == 3
