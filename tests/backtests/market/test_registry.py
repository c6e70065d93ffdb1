"""register_series from Python and TOML, including any yfinance ticker, loaded end to end."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

import backtests
from backtests.market import load_market, register_series, yfinance_spec
from backtests.market.registry import _reset_registry, get_spec
from signals.errors import ConfigError, InputNotFoundError


@pytest.fixture(autouse=True)
def _clean_registry():
    yield
    _reset_registry()


def _download(values, tz="Asia/Tokyo"):
    def download(ticker, **kw):
        idx = pd.DatetimeIndex(pd.bdate_range("2025-04-01", periods=len(values)), name="Date").tz_localize(tz)
        cols = pd.MultiIndex.from_product([["Close", "Open"], [ticker]], names=["Price", "Ticker"])
        v = np.asarray(values, dtype=float)
        return pd.DataFrame(np.column_stack([v, v]), index=idx, columns=cols)

    return download


def test_register_yfinance_ticker_from_python_and_load():
    spec = yfinance_spec(
        "^N225",
        series_id="nikkei",
        tz="Asia/Tokyo",
        close=dt.time(15, 30),
        calendar="XTKS",
        unit="index points",
    )
    (got,) = register_series(spec)
    assert get_spec("nikkei") is got
    m = load_market(
        "nikkei",
        start="2025-04-01",
        end="2025-04-03",
        source="auto",
        fetch_kw={"yfinance": {"download": _download([35624.48, 35725.87, 34735.93])}},
    )
    assert list(m.levels["nikkei"]) == [35624.48, 35725.87, 34735.93]
    p = m.provenance["nikkei"]
    assert (p.source, p.code, p.origin) == ("yfinance", "^N225", "live")
    assert m.close_time("nikkei") == (dt.time(15, 30), "Asia/Tokyo")
    c = backtests.to_changes(m)
    assert c.loc["2025-04-02", "nikkei"] == pytest.approx(1e4 * np.log(35725.87 / 35624.48))
    assert c.attrs["newsbt_series"]["nikkei"]["calendar"] == "XTKS"
    # the same id again is fine; a different spec under it needs replace=True
    register_series(spec)
    with pytest.raises(ConfigError, match="replace=True"):
        register_series(yfinance_spec("^N225", series_id="nikkei"))
    register_series(yfinance_spec("^N225", series_id="nikkei"), replace=True)
    assert get_spec("nikkei").tz == "America/New_York"


def test_yf_prefix_needs_no_registration():
    m = load_market(
        "yf:^N225",
        start="2025-04-01",
        end="2025-04-02",
        source="yfinance",
        fetch_kw={"yfinance": {"download": _download([1.0, 2.0])}},
    )
    assert m.provenance["yf:^N225"].code == "^N225"


def test_register_from_toml_with_yfinance_source(tmp_path):
    toml = tmp_path / "series.toml"
    toml.write_text(
        """
[series.dax]
description = "DAX index"
kind = "price"
unit = "index points"
tz = "Europe/Berlin"
close = "17:30"
calendar = "XETR"
[[series.dax.sources]]
source = "yfinance"
code = "^GDAXI"

[series.bund_10y]
kind = "yield"
unit = "percent"
tz = "Europe/Berlin"
close = "17:15"
calendar = "XETR"
[[series.bund_10y.sources]]
source = "files"
code = "bund.csv#value"
close = "16:00"
""",
        encoding="utf-8",
    )
    specs = register_series(toml)
    assert [s.id for s in specs] == ["dax", "bund_10y"]
    dax = get_spec("dax")
    assert dax.sources[0].source == "yfinance" and dax.sources[0].close == dt.time(17, 30)
    assert get_spec("bund_10y").sources[0].close == dt.time(16)  # per-source close wins
    m = load_market(
        "dax",
        start="2025-04-01",
        end="2025-04-02",
        fetch_kw={"yfinance": {"download": _download([22539.98, 22390.84], "Europe/Berlin")}},
    )
    assert m.levels["dax"].iloc[0] == 22539.98
    assert m.close_time("dax") == (dt.time(17, 30), "Europe/Berlin")
    # a file source with its own path: no files= needed
    (tmp_path / "bund.csv").write_text("date,value\n2025-04-01,2.69\n2025-04-02,2.72\n")
    import os

    cwd = os.getcwd()
    os.chdir(tmp_path)
    try:
        b = load_market("bund_10y", source="files")
    finally:
        os.chdir(cwd)
    assert list(b.levels["bund_10y"]) == [2.69, 2.72]
    assert b.close_time("bund_10y") == (dt.time(16), "Europe/Berlin")


def test_toml_errors_name_the_file_and_fix(tmp_path):
    with pytest.raises(InputNotFoundError):
        register_series(tmp_path / "none.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[series.x]\nkind = 'yield'\n")
    with pytest.raises(ConfigError, match=r"bad\.toml.*'x' lacks unit, tz, close, calendar"):
        register_series(bad)
    bad.write_text("[series.x]\nkind='price'\nunit='p'\ntz='UTC'\nclose='25:00'\ncalendar='data'\n")
    with pytest.raises(ConfigError, match="HH:MM"):
        register_series(bad)
    bad.write_text("not toml [")
    with pytest.raises(ConfigError, match="invalid TOML"):
        register_series(bad)
