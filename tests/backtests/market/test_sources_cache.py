"""yfinance source (injected fakes), cache (atomic, corrupt, stale, incremental), registry, load_market."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

import backtests
from backtests.market import cache, load_market, register_series, yahoo
from backtests.market.registry import _reset_registry, get_spec, list_series
from backtests.market.spec import SeriesSpec, SourceRef
from signals.errors import ConfigError, DataUnavailableError, NewsbtWarning, UnknownSeriesError


def _yf_frame(ticker, values, *, tz=None, adj=True, start="2025-04-01"):
    """A frame shaped as yfinance.download returns it (MultiIndex (Price, Ticker) columns)."""
    idx = pd.bdate_range(start, periods=len(values), name="Date")
    if tz:
        idx = idx.tz_localize(tz)
    fields = (
        ["Adj Close", "Close", "High", "Low", "Open", "Volume"]
        if adj
        else ["Close", "High", "Low", "Open", "Volume"]
    )
    cols = pd.MultiIndex.from_product([fields, [ticker]], names=["Price", "Ticker"])
    v = np.asarray(values, dtype=float)
    data = np.column_stack(
        [v * (0.99 if f == "Adj Close" else 1.0) if f != "Volume" else np.zeros(len(v)) for f in fields]
    )
    return pd.DataFrame(data, index=idx, columns=cols)


@pytest.mark.parametrize("tz", [None, "America/New_York"])
@pytest.mark.parametrize("adj", [True, False])
def test_yfinance_shapes(tz, adj):
    calls = []

    def fake(ticker, **kw):
        calls.append((ticker, kw))
        return _yf_frame(ticker, [4.2, 4.06, 4.01], tz=tz, adj=adj)

    s = yahoo.fetch("^TNX", start="2025-04-01", end="2025-04-03", kind="yield", download=fake)
    assert list(s) == [4.2, 4.06, 4.01]  # Close, in percent
    assert s.index.tz is None
    assert s.index[0] == pd.Timestamp("2025-04-01")
    assert calls[0][1]["end"] == "2025-04-04"  # yfinance end is exclusive
    if adj:
        s2 = yahoo.fetch("^TNX", field="Adj Close", download=fake)
        assert s2.iloc[0] == pytest.approx(4.2 * 0.99)


def test_yfinance_flat_columns_and_x10_quotes():
    flat = _yf_frame("^TNX", [44.8, 45.0]).droplevel("Ticker", axis=1)
    with pytest.warns(NewsbtWarning, match="x 10"):
        s = yahoo.fetch("^TNX", kind="yield", download=lambda t, **k: flat)
    assert s.iloc[0] == pytest.approx(4.48)


def test_yfinance_retries_with_backoff_then_clear_error():
    sleeps, n = [], {"calls": 0}

    def flaky(ticker, **kw):
        n["calls"] += 1
        if n["calls"] < 3:
            raise ConnectionError("reset by peer")
        return _yf_frame(ticker, [150.0, 151.0])

    s = yahoo.fetch("JPY=X", download=flaky, retries=3, backoff=1.5, sleep=sleeps.append)
    assert len(s) == 2
    assert sleeps == [1.5, 3.0]
    sleeps.clear()
    with pytest.raises(DataUnavailableError, match=r"yfinance \^GSPC.*empty frame.*cache.*sample"):
        yahoo.fetch("^GSPC", download=lambda t, **k: pd.DataFrame(), retries=2, sleep=sleeps.append)
    assert sleeps == [2.0]
    with pytest.raises(DataUnavailableError, match=r"\^GSPC.*ConnectionError"):
        yahoo.fetch(
            "^GSPC", download=lambda t, **k: (_ for _ in ()).throw(ConnectionError("x")), sleep=sleeps.append
        )


def test_cache_roundtrip_atomic_and_location(tmp_path, monkeypatch):
    monkeypatch.setenv("NEWSBT_DATA", str(tmp_path))
    s = pd.Series([1.0, 2.0], index=pd.to_datetime(["2025-01-02", "2025-01-03"]))
    p = cache.write_cache("ust_10y", "fred", s, {"code": "DGS10"})
    assert p.parent == tmp_path / "cache" / "market"
    assert not list(p.parent.glob("*.tmp"))
    e = cache.read_cache("ust_10y", "fred")
    assert list(e.values) == [1.0, 2.0]
    assert e.meta["code"] == "DGS10"
    assert e.meta["n"] == 2
    assert cache.read_cache("ust_10y", "yfinance") is None


def test_corrupt_cache_is_moved_aside_and_refetched(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("NEWSBT_DATA", str(tmp_path))
    p = cache.cache_path("ust_10y", "fred")
    p.parent.mkdir(parents=True)
    p.write_bytes(b"PAR1 this is not parquet")
    body = b"observation_date,DGS10\n2025-04-04,4.01\n2025-04-07,4.15\n"
    with caplog.at_level("WARNING"):
        m = load_market("ust_10y", source="fred", fetch_kw={"fred": {"opener": lambda u, t: body}})
    assert "corrupt" in caplog.text
    assert list(m.levels["ust_10y"]) == [4.01, 4.15]
    assert m.provenance["ust_10y"].origin == "live"
    assert len(list(p.parent.glob("*.corrupt-*"))) == 1
    assert cache.read_cache("ust_10y", "fred").values.iloc[0] == 4.01


def test_incremental_refresh_fetches_only_missing_tail(tmp_path, monkeypatch):
    monkeypatch.setenv("NEWSBT_DATA", str(tmp_path))
    s = pd.Series([4.2, 4.06], index=pd.to_datetime(["2025-04-02", "2025-04-03"]))
    old = (pd.Timestamp.now(tz="UTC") - pd.Timedelta(days=3)).isoformat()
    cache.write_cache("ust_10y", "fred", s, {"fetched_at": old, "range_start": None})
    asked = []

    def download(ticker, **kw):
        raise AssertionError("not used")

    def opener(url, timeout):
        asked.append(url)
        return b"observation_date,DGS10\n2025-04-03,4.06\n2025-04-04,4.01\n"

    monkeypatch.setattr("backtests.market.fred.fetch", _recording_fetch(asked))
    m = load_market("ust_10y", source="fred", fetch_kw={"fred": {"opener": opener}})
    assert list(m.levels["ust_10y"]) == [4.2, 4.06, 4.01]
    starts = [a for a in asked if isinstance(a, tuple)]
    assert starts
    assert starts[0][0] == pd.Timestamp("2025-04-03") - pd.Timedelta(days=7)
    # now fresh: a second call does not fetch
    asked.clear()
    m2 = load_market("ust_10y", source="fred", fetch_kw={"fred": {"opener": opener}})
    assert m2.provenance["ust_10y"].origin == "cache"
    assert not asked


def _recording_fetch(log):
    from backtests.market import fred as fred_mod

    real = fred_mod.read_fred_csv

    def fetch(code, *, start=None, end=None, path=None, opener=None):
        log.append((start, end))
        df = real(opener("u", 1), name=code)
        return df[code].dropna().loc[start:end]

    import backtests.market.load as load_mod

    load_mod.LIVE_SOURCES["fred"] = (fetch, "fred.stlouisfed.org")
    return fetch


@pytest.fixture(autouse=True)
def _restore():
    import backtests.market.load as load_mod
    from backtests.market import fred as fred_mod

    saved = dict(load_mod.LIVE_SOURCES)
    yield
    load_mod.LIVE_SOURCES.clear()
    load_mod.LIVE_SOURCES.update(saved)
    load_mod.LIVE_SOURCES["fred"] = (fred_mod.fetch, "fred.stlouisfed.org")
    _reset_registry()


def test_offline_old_cache_warns_stale(tmp_path, monkeypatch):
    monkeypatch.setenv("NEWSBT_DATA", str(tmp_path))
    monkeypatch.setenv("NEWSBT_OFFLINE", "1")
    s = pd.Series([4.2], index=pd.to_datetime(["2025-04-02"]))
    cache.write_cache("ust_10y", "fred", s, {"fetched_at": "2025-04-03T00:00:00+00:00", "range_start": None})
    with pytest.warns(NewsbtWarning, match="offline.*cache"):
        m = load_market("ust_10y")
    p = m.provenance["ust_10y"]
    assert p.origin == "cache"
    assert p.stale
    assert p.source == "fred"


def test_yfinance_through_load_market_and_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("NEWSBT_DATA", str(tmp_path))
    fake = lambda t, **k: _yf_frame(t, [5670.97, 5396.52, 5074.08], tz="America/New_York")  # noqa: E731
    m = load_market("spx", source="yfinance", fetch_kw={"yfinance": {"download": fake}})
    assert m.levels["spx"].iloc[-1] == 5074.08
    assert m.provenance["spx"].code == "^GSPC"
    assert m.close_time("spx") == (dt.time(16), "America/New_York")
    assert cache.read_cache("spx", "yfinance") is not None


def test_registry_builtins_and_errors(tmp_path):
    for sid in [
        "ust_3m",
        "ust_2y",
        "ust_5y",
        "ust_10y",
        "ust_30y",
        "jgb_2y",
        "jgb_5y",
        "jgb_10y",
        "jgb_20y",
        "jgb_30y",
        "usdjpy",
        "spx",
    ]:
        assert sid in list_series()
    assert get_spec("ust_10y").source("fred").close == dt.time(15, 30)
    assert get_spec("usdjpy").source("fred").close == dt.time(12)
    assert get_spec("jgb_10y").source("mof") == SourceRef(
        "mof", "10Y", dt.time(15), "Asia/Tokyo", 1.0, get_spec("jgb_10y").source("mof").publisher
    )
    assert get_spec("yf:^N225").sources[0].code == "^N225"
    with pytest.raises(UnknownSeriesError, match="ust_10y"):
        get_spec("bund_10y")
    toml = tmp_path / "s.toml"
    toml.write_text(
        '[series.bund_10y]\nkind = "yield"\nunit = "percent"\ntz = "Europe/Berlin"\nclose = "17:30"\n'
        'calendar = "XETR"\n[[series.bund_10y.sources]]\nsource = "files"\ncode = "bund.csv#bund"\n'
    )
    (spec,) = register_series(toml)
    assert get_spec("bund_10y").close == dt.time(17, 30)
    assert spec.sources[0].tz == "Europe/Berlin"
    with pytest.raises(ConfigError, match="already registered"):
        register_series(SeriesSpec("bund_10y", "x", "yield", "percent", "UTC", dt.time(16), "data"))
    with pytest.raises(ConfigError, match="time zone"):
        register_series(SeriesSpec("x", "x", "yield", "percent", "Mars/Base", dt.time(16), "data"))
    toml.write_text('[series.x]\nkind = "rate"\nunit = "p"\ntz = "UTC"\nclose = "16:00"\ncalendar = "data"\n')
    with pytest.raises(ConfigError, match="kind"):
        register_series(toml)


def test_load_market_files_and_errors(tmp_path, shared_data):
    m = load_market(
        ["ust_10y", "usdjpy"],
        source="files",
        start="2025-04-01",
        end="2025-04-30",
        files={
            "ust_10y": shared_data / "market" / "ust_yields_daily.csv",
            "usdjpy": shared_data / "market" / "usdjpy_daily.csv",
        },
    )
    assert m.levels.loc["2025-04-04", "ust_10y"] == 4.01
    assert m.provenance["usdjpy"].origin == "user_file"
    assert m.provenance["usdjpy"].close == dt.time(12)
    with pytest.raises(ConfigError, match="source="):
        load_market("ust_10y", source="bloomberg")
    with pytest.raises(UnknownSeriesError):
        load_market("nope", source="sample")
    with pytest.raises(DataUnavailableError, match="not in the bundled snapshot"):
        load_market("spx", source="sample")
    with pytest.raises(DataUnavailableError, match="no values"):
        load_market("ust_10y", source="sample", start="1980-01-01", end="1990-01-01")
    with pytest.raises(ConfigError, match="no 'mof' source"):
        load_market("ust_10y", source="mof")
    with pytest.raises(DataUnavailableError, match="nothing cached"):
        load_market("ust_10y", source="cache")


def test_end_to_end_changes_and_alignment_from_snapshot():
    m = backtests.load_market(
        ["ust_10y", "jgb_10y", "usdjpy"], start="2025-04-01", end="2025-05-31", source="sample"
    )
    c = backtests.to_changes(m)
    assert c.loc["2025-04-04", "ust_10y"] == -5.0  # 4.06 -> 4.01
    ev = pd.DataFrame(
        {
            "event_id": [1, 2],
            "timestamp": pd.to_datetime(["2025-05-02 10:00", "2025-05-02 16:00"]).tz_localize("Asia/Tokyo"),
        }
    )
    out = backtests.align_events(ev, c).set_index(["event_id", "series"]).day0
    assert out[(1, "jgb_10y")] == pd.Timestamp("2025-05-02")
    assert out[(2, "jgb_10y")] == pd.Timestamp("2025-05-07")
    assert out[(2, "ust_10y")] == pd.Timestamp("2025-05-02")
