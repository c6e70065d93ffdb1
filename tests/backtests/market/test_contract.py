"""One contract suite run against EVERY source: fred, mof, files, sample, yfinance (fake download).

Each case loads one series through ``load_market`` (and the source module's ``fetch`` where there is
one) over the same window and checks the same invariants: naive, sorted, unique, normalised
DatetimeIndex; float values in the spec's unit (equal to the publisher's numbers, which the bundled
snapshot also holds); an empty range or a network failure raises ``DataUnavailableError`` naming the
code and the fix, never an empty result; provenance filled. yfinance frames are shaped exactly as
``yfinance.download`` returns them (MultiIndex ``(Price, Ticker)`` columns, ``Date`` index, tz-aware or
naive, ``Adj Close`` present or not).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from backtests.market import files as files_src
from backtests.market import fred, load_market, mof, yahoo
from backtests.market.registry import get_spec
from backtests.market.sample import snapshot_values
from signals.errors import DataUnavailableError, NewsbtWarning, NoDataInRangeError

START, END = "2020-03-02", "2020-03-31"  # covered by every publisher file (FRED old files end 2021)
EMPTY = ("1950-01-02", "1950-12-29")  # no source has values then


def yf_frame(ticker: str, s: pd.Series, *, tz: str | None, adj: bool) -> pd.DataFrame:
    """``s`` as ``yfinance.download(ticker)`` returns it (1.x: MultiIndex (Price, Ticker))."""
    idx = pd.DatetimeIndex(s.index, name="Date")
    if tz:
        idx = idx.tz_localize(tz)
    fields = (
        ["Adj Close", "Close", "High", "Low", "Open", "Volume"]
        if adj
        else ["Close", "High", "Low", "Open", "Volume"]
    )
    v = s.to_numpy(dtype=float)
    data = {
        (f, ticker): (
            np.zeros(len(v), dtype=np.int64) if f == "Volume" else v * (1.001 if f == "High" else 1.0)
        )
        for f in fields
    }
    df = pd.DataFrame(data, index=idx)
    df.columns = pd.MultiIndex.from_tuples(df.columns, names=["Price", "Ticker"])
    return df


def fake_download(series: pd.Series, *, tz: str | None = None, adj: bool = False, calls: list | None = None):
    """A ``yfinance.download`` stand-in serving ``series`` (start inclusive, end exclusive, like Yahoo)."""

    def download(ticker, start=None, end=None, **kw):
        if calls is not None:
            calls.append((ticker, start, end))
        s = series
        if start is not None:
            s = s.loc[pd.Timestamp(start) :]
        if end is not None:
            s = s.loc[: pd.Timestamp(end) - pd.Timedelta(days=1)]
        if s.empty:  # what yfinance returns for a range without data (it prints the error)
            return pd.DataFrame(
                columns=pd.MultiIndex.from_product([["Close"], [ticker]], names=["Price", "Ticker"])
            )
        return yf_frame(ticker, s, tz=tz, adj=adj)

    return download


@dataclass(frozen=True)
class Case:
    """How to get ``series`` from ``source`` (``kw(shared)`` -> load_market keywords)."""

    name: str
    series: str
    source: str
    kw: Callable[[Path], dict]
    code: str
    origin: str
    fail: Callable[[], dict] | None = None  # load_market keywords making the source's download fail


def _sample(sid: str) -> pd.Series:
    return snapshot_values(sid)[0]


def _nosleep(seconds: float) -> None:
    return None


def _boom_opener(url, timeout):
    raise OSError("network unreachable")


def _boom_download(ticker, **kw):
    raise ConnectionError("connection reset by peer")


CASES = [
    Case(
        "fred-old-format",
        "ust_10y",
        "fred",
        lambda sh: {"fetch_kw": {"fred": {"path": sh / "market" / "fred_ust_1962_2021" / "DGS10.csv"}}},
        "DGS10",
        "live",
        lambda: {"fetch_kw": {"fred": {"opener": _boom_opener}}},
    ),
    Case(
        "fred-new-format",
        "usdjpy",
        "fred",
        lambda sh: {"fetch_kw": {"fred": {"path": sh / "market" / "fred_DEXJPUS.csv"}}},
        "DEXJPUS",
        "live",
    ),
    Case(
        "mof-japanese",
        "jgb_10y",
        "mof",
        lambda sh: {"fetch_kw": {"mof": {"path": sh / "market" / "mof_jgbcm_all.csv"}}},
        "10Y",
        "live",
        lambda: {"fetch_kw": {"mof": {"opener": _boom_opener}}},
    ),
    Case(
        "files-tidy",
        "ust_2y",
        "files",
        lambda sh: {"files": sh / "market" / "ust_yields_daily.csv"},
        "ust_2y",
        "user_file",
    ),
    Case("sample-ust", "ust_30y", "sample", lambda sh: {}, "DGS30", "snapshot"),
    Case("sample-jgb", "jgb_2y", "sample", lambda sh: {}, "2Y", "snapshot"),
    Case("sample-fx", "usdjpy", "sample", lambda sh: {}, "DEXJPUS", "snapshot"),
    Case(
        "yfinance-tnx-naive",
        "ust_10y",
        "yfinance",
        lambda sh: {
            "fetch_kw": {"yfinance": {"download": fake_download(_sample("ust_10y")), "sleep": _nosleep}}
        },
        "^TNX",
        "live",
        lambda: {"fetch_kw": {"yfinance": {"download": _boom_download, "sleep": lambda s: None}}},
    ),
    Case(
        "yfinance-irx-tz-adj",
        "ust_3m",
        "yfinance",
        lambda sh: {
            "fetch_kw": {
                "yfinance": {
                    "download": fake_download(_sample("ust_3m"), tz="America/Chicago", adj=True),
                    "sleep": _nosleep,
                }
            }
        },
        "^IRX",
        "live",
    ),
    Case(
        "yfinance-jpy-london",
        "usdjpy",
        "yfinance",
        lambda sh: {
            "fetch_kw": {
                "yfinance": {
                    "download": fake_download(_sample("usdjpy"), tz="Europe/London"),
                    "sleep": _nosleep,
                }
            }
        },
        "JPY=X",
        "live",
        lambda: {
            "fetch_kw": {"yfinance": {"download": lambda t, **k: pd.DataFrame(), "sleep": lambda s: None}}
        },
    ),
]
IDS = [c.name for c in CASES]

#: plausible level ranges per unit (checks the unit, not the market): 4.5 means 4.5 %, ~150 yen/$
UNIT_RANGE = {"percent": (-1.0, 20.0), "JPY per USD": (70.0, 400.0)}


def check_levels(s: pd.Series, unit: str, start=None, end=None) -> None:
    """The invariants every source's output satisfies."""
    assert isinstance(s.index, pd.DatetimeIndex)
    assert s.index.tz is None
    assert s.index.is_monotonic_increasing
    assert not s.index.has_duplicates
    assert (s.index == s.index.normalize()).all()
    assert s.dtype == np.float64
    v = s.dropna()
    assert len(v) > 0
    assert np.isfinite(v.to_numpy()).all()
    lo, hi = UNIT_RANGE[unit]
    assert v.between(lo, hi).all(), (unit, v.min(), v.max())
    if start is not None:
        assert s.index[0] >= pd.Timestamp(start)
    if end is not None:
        assert s.index[-1] <= pd.Timestamp(end)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_levels_provenance_and_publisher_values(case, shared_data):
    m = load_market(case.series, start=START, end=END, source=case.source, **case.kw(shared_data))
    spec = get_spec(case.series)
    assert list(m.levels.columns) == [case.series]
    assert m.levels.index.name == "date"
    s = m.levels[case.series]
    check_levels(s, spec.unit, START, END)
    # the same publisher numbers whatever the source (the snapshot holds H.15 / H.10 / MOF exactly)
    ref = _sample(case.series).loc[START:END]
    pd.testing.assert_series_equal(s.dropna(), ref, check_names=False, check_freq=False)
    p = m.provenance[case.series]
    assert p.series == case.series
    assert p.source == case.source
    assert p.origin == case.origin
    assert case.code in p.code
    assert p.unit == spec.unit
    assert isinstance(p.close, dt.time) and p.tz
    assert p.start == s.dropna().index[0] and p.end == s.dropna().index[-1]
    assert p.retrieved
    if case.source != "files":
        assert p.publisher
    if case.source == "sample":
        assert p.snapshot_last and p.attribution
    d = p.to_dict()
    assert d["start"] == START  # 2020-03-02 is a session everywhere
    assert m.close_time(case.series) == (p.close, p.tz)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_empty_range_is_an_error_not_an_empty_result(case, shared_data):
    with pytest.raises(DataUnavailableError, match=r"no values|no data") as ei:
        load_market(case.series, start=EMPTY[0], end=EMPTY[1], source=case.source, **case.kw(shared_data))
    msg = str(ei.value)
    assert case.series in msg or case.code in msg
    if case.source in ("fred", "mof"):  # the publisher's file answered: "no data", not "failed"
        assert isinstance(ei.value, NoDataInRangeError)


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.fail is not None], ids=[c.name for c in CASES if c.fail]
)
def test_network_failure_names_code_and_fix(case):
    with pytest.raises(DataUnavailableError) as ei:
        load_market(case.series, start=START, end=END, source=case.source, **case.fail())
    msg = str(ei.value)
    assert case.code in msg
    assert "cache" in msg and "sample" in msg  # what to do instead


@pytest.mark.parametrize(
    "case", [c for c in CASES if c.source in ("fred", "mof", "yfinance")], ids=lambda c: c.name
)
def test_second_load_comes_from_cache_identically(case, shared_data):
    kw = case.kw(shared_data)
    a = load_market(case.series, start=START, end=END, source=case.source, **kw)
    b = load_market(case.series, start=START, end=END, source=case.source, **kw)
    assert b.provenance[case.series].origin == "cache"
    pd.testing.assert_frame_equal(a.levels, b.levels)
    assert b.close_time(case.series) == a.close_time(case.series)


# --- the source modules' own fetch functions, same invariants -------------------------------------


def _fetchers(sh: Path):
    m = sh / "market"
    return {
        "fred": lambda s, e: fred.fetch("DGS10", start=s, end=e, path=m / "fred_ust_1962_2021" / "DGS10.csv"),
        "mof": lambda s, e: mof.fetch("10Y", start=s, end=e, path=m / "mof_jgbcm_all.csv"),
        "files": lambda s, e: files_src.fetch("ust_10y", start=s, end=e, path=m / "ust_yields_daily.csv"),
        "yfinance": lambda s, e: yahoo.fetch(
            "^TNX",
            start=s,
            end=e,
            kind="yield",
            download=fake_download(_sample("ust_10y")),
            sleep=lambda x: None,
        ),
    }


@pytest.mark.parametrize("name", ["fred", "mof", "files", "yfinance"])
def test_fetch_contract(name, shared_data):
    fn = _fetchers(shared_data)[name]
    s = fn(START, END)
    check_levels(s, "percent", START, END)
    assert s.notna().all()  # missing days are dropped, not passed on as NaN
    with pytest.raises(DataUnavailableError):
        fn(*EMPTY)


def test_yfinance_quotes_are_percent_not_x10():
    """Yahoo's ^TNX is in percent: 4.01 on 2025-04-04 is 4.01 % (H.15 DGS10 that day: 4.01)."""
    s = _sample("ust_10y").loc["2025-04-01":"2025-04-11"]
    m = load_market(
        "ust_10y",
        start="2025-04-01",
        end="2025-04-11",
        source="yfinance",
        fetch_kw={"yfinance": {"download": fake_download(s)}},
    )
    assert m.levels.loc["2025-04-04", "ust_10y"] == 4.01
    assert m.levels.loc["2025-04-11", "ust_10y"] == 4.48
    assert get_spec("ust_10y").source("yfinance").scale == 1.0


def test_yfinance_x10_quotes_detected_by_level():
    s = _sample("ust_10y").loc["2025-04-01":"2025-04-11"] * 10  # Cboe convention: 40.1
    with pytest.warns(NewsbtWarning, match="x 10"):
        got = yahoo.fetch("^TNX", kind="yield", download=fake_download(s))
    np.testing.assert_allclose(got.to_numpy(), s.to_numpy() / 10, rtol=0, atol=1e-12)


def test_yfinance_x10_of_low_yields_detected_against_reference():
    """2020-21: ^IRX x 10 is ~0.5, a plausible percent level; only the H.15 reference tells."""
    s = _sample("ust_3m").loc["2020-06-01":"2021-06-30"]
    assert s.median() < 0.2
    with pytest.warns(NewsbtWarning, match="x 10"):
        m = load_market(
            "ust_3m",
            start="2020-06-01",
            end="2021-06-30",
            source="yfinance",
            fetch_kw={"yfinance": {"download": fake_download(s * 10)}},
        )
    np.testing.assert_allclose(m.levels["ust_3m"].to_numpy(), s.to_numpy(), atol=1e-12)


def test_yfinance_wrong_series_is_flagged():
    s = _sample("ust_10y").loc["2025-04-01":"2025-04-11"] + 2.0  # not the 10-year yield
    with pytest.warns(NewsbtWarning, match="differs from the reference"):
        load_market(
            "ust_10y",
            start="2025-04-01",
            end="2025-04-11",
            source="yfinance",
            fetch_kw={"yfinance": {"download": fake_download(s)}},
        )


def test_user_yield_ticker_above_25_percent_is_not_rescaled():
    """Only the Cboe UST tickers get the x 10 check: an emerging-market yield can exceed 25 %."""
    s = pd.Series([38.5, 39.0, 40.2], index=pd.bdate_range("2024-06-03", periods=3))
    got = yahoo.fetch("TRY10Y=X", kind="yield", download=fake_download(s))
    assert list(got) == [38.5, 39.0, 40.2]
