"""Cache: incremental refresh asks only for missing ranges, atomic writes, concurrency guard,
corruption recovery, staleness warnings, close time stored with the data."""

from __future__ import annotations

import datetime as dt
import threading

import pandas as pd
import pytest

import backtests.market.load as load_mod
from backtests.market import cache, load_market
from signals.errors import CacheError, DataUnavailableError, NewsbtWarning, NoDataInRangeError

D = pd.Timestamp


def _series(dates, values) -> pd.Series:
    return pd.Series([float(v) for v in values], index=pd.to_datetime(dates))


#: what the "publisher" has: business days of March-April 2025, a revision on 2025-04-01
TRUTH = pd.Series(
    [4.0 + 0.01 * i for i in range(len(pd.bdate_range("2025-03-03", "2025-04-30")))],
    index=pd.bdate_range("2025-03-03", "2025-04-30").as_unit("ns"),
)


@pytest.fixture
def fake_fred(monkeypatch):
    """Replace the fred fetcher by a recorder serving TRUTH; returns the list of (start, end) asked."""
    calls: list[tuple] = []

    def fetch(code, *, start=None, end=None, **kw):
        calls.append((start, end))
        s = TRUTH.loc[start:end]
        if s.empty:  # as fred.fetch: the publisher answered, with nothing in the range
            raise NoDataInRangeError(f"FRED {code}: no values between {start} and {end}")
        return s.rename(code)

    monkeypatch.setitem(load_mod.LIVE_SOURCES, "fred", (fetch, "fred.stlouisfed.org"))
    # an injected 'path' marks the source as reachable without probing the network
    return calls


KW = {"fetch_kw": {"fred": {"path": "unused"}}, "source": "fred"}


def _seed(values: pd.Series, *, age_days: float, range_start: str | None) -> None:
    fetched = (pd.Timestamp.now(tz="UTC") - pd.Timedelta(days=age_days)).isoformat()
    cache.write_cache(
        "ust_10y",
        "fred",
        values,
        {"fetched_at": fetched, "range_start": range_start, "close": "15:30", "tz": "America/New_York"},
    )


def test_first_load_fetches_exactly_the_requested_range(fake_fred):
    m = load_market("ust_10y", start="2025-03-10", end="2025-03-21", **KW)
    assert fake_fred == [(D("2025-03-10"), D("2025-03-21"))]
    assert len(m.levels) == 10
    e = cache.read_cache("ust_10y", "fred")
    assert e.range_start == D("2025-03-10")
    assert e.meta["close"] == "15:30" and e.meta["tz"] == "America/New_York"


def test_incremental_refresh_fetches_only_head_and_tail(fake_fred):
    _seed(TRUTH.loc["2025-03-17":"2025-04-04"], age_days=3, range_start="2025-03-17")
    m = load_market("ust_10y", start="2025-03-03", **KW)
    # head: from the new start up to the old range start; tail: from a week before the last value
    assert fake_fred == [(D("2025-03-03"), D("2025-03-17")), (D("2025-03-28"), None)]
    pd.testing.assert_series_equal(m.levels["ust_10y"], TRUTH, check_names=False, check_freq=False)
    e = cache.read_cache("ust_10y", "fred")
    assert e.range_start == D("2025-03-03") and e.last_date == D("2025-04-30")


def test_head_before_the_series_begins_is_asked_once(fake_fred):
    """The publisher has nothing before 2025-03-03: the cache is used, and that is remembered.

    (The cached range starts on Saturday 1 March, so the head range has no value at all.)"""
    _seed(TRUTH.loc["2025-03-03":"2025-04-30"], age_days=0.1, range_start="2025-03-01")
    m = load_market("ust_10y", start="2024-12-02", end="2025-04-30", **KW)
    assert fake_fred == [(D("2024-12-02"), D("2025-03-01"))]  # the head only; the tail is fresh
    assert m.levels["ust_10y"].index[0] == D("2025-03-03")
    assert m.provenance["ust_10y"].source == "fred"
    assert cache.read_cache("ust_10y", "fred").range_start == D("2024-12-02")
    fake_fred.clear()
    load_market("ust_10y", start="2024-12-02", end="2025-04-30", **KW)
    assert fake_fred == []  # not asked again


def test_failed_head_fetch_keeps_the_cache_and_says_so(monkeypatch):
    """The head fetch fails (network): the cached range is used with a warning, auto does not
    move on to another source, and the cache's range is not widened."""
    asked = []

    def flaky(code, *, start=None, end=None, **kw):
        asked.append((start, end))
        if start is not None and start < D("2025-03-03"):
            raise DataUnavailableError(f"FRED {code}: download failed (timed out)")
        return TRUTH.loc[start:end].rename(code)

    def other(code, **kw):
        raise AssertionError("auto must not move on to another source")

    monkeypatch.setitem(load_mod.LIVE_SOURCES, "fred", (flaky, "fred.stlouisfed.org"))
    monkeypatch.setitem(load_mod.LIVE_SOURCES, "yfinance", (other, "query1.finance.yahoo.com"))
    _seed(TRUTH.loc["2025-03-03":"2025-04-30"], age_days=0.1, range_start="2025-03-03")
    with pytest.warns(NewsbtWarning, match=r"could not fetch 2024-12-02 to 2025-03-03 from fred.*timed out"):
        m = load_market("ust_10y", start="2024-12-02", end="2025-04-30", fetch_kw={"fred": {"path": "x"}})
    assert m.provenance["ust_10y"].source == "fred"
    assert m.levels["ust_10y"].index[0] == D("2025-03-03")
    assert cache.read_cache("ust_10y", "fred").range_start == D("2025-03-03")


def test_tail_overlap_takes_publisher_revisions(fake_fred):
    old = TRUTH.loc["2025-03-03":"2025-04-04"].copy()
    old.loc["2025-04-01"] = 9.99  # since revised by the publisher
    _seed(old, age_days=2, range_start="2025-03-03")
    m = load_market("ust_10y", start="2025-03-03", end="2025-04-15", **KW)
    assert fake_fred == [(D("2025-03-28"), D("2025-04-15"))]
    assert m.levels.loc["2025-04-01", "ust_10y"] == TRUTH.loc["2025-04-01"]


def test_covered_range_is_not_fetched_even_if_old(fake_fred):
    _seed(TRUTH, age_days=30, range_start="2025-03-03")
    m = load_market("ust_10y", start="2025-03-10", end="2025-04-10", **KW)
    assert fake_fred == []
    assert m.provenance["ust_10y"].origin == "cache"
    # open-ended request on a fresh cache: no fetch either
    _seed(TRUTH, age_days=0.1, range_start="2025-03-03")
    load_market("ust_10y", start="2025-03-10", **KW)
    assert fake_fred == []


def test_open_ended_request_on_old_cache_fetches_tail_only(fake_fred):
    _seed(TRUTH.loc[:"2025-04-18"], age_days=1, range_start=None)
    load_market("ust_10y", start="2025-03-10", **KW)
    assert fake_fred == [(D("2025-04-11"), None)]


def test_refresh_refetches_whole_range(fake_fred):
    _seed(TRUTH, age_days=0, range_start="2025-03-03")
    load_market("ust_10y", start="2025-03-10", end="2025-03-14", refresh=True, **KW)
    assert fake_fred == [(D("2025-03-10"), D("2025-03-14"))]


def test_write_is_atomic_old_version_kept_on_failure(monkeypatch):
    s = _series(["2025-01-02", "2025-01-03"], [1, 2])
    p = cache.write_cache("ust_10y", "fred", s, {"code": "DGS10"})
    before = p.read_bytes()
    import pyarrow.parquet as pq

    def half_write(table, where, **kw):
        with open(where, "wb") as f:
            f.write(b"PAR1 half a file")
        raise OSError("No space left on device")

    monkeypatch.setattr(pq, "write_table", half_write)
    with pytest.raises(CacheError, match="No space left.*previous version is kept"):
        cache.write_cache("ust_10y", "fred", _series(["2025-01-06"], [3]), {"code": "DGS10"})
    assert p.read_bytes() == before
    assert not list(p.parent.glob("*.tmp"))
    assert list(cache.read_cache("ust_10y", "fred").values) == [1.0, 2.0]


def test_lock_held_by_another_run_is_a_clear_error(monkeypatch):
    from filelock import FileLock

    monkeypatch.setattr(cache, "_LOCK_TIMEOUT", 0.2)
    s = _series(["2025-01-02"], [1])
    p = cache.write_cache("ust_10y", "fred", s, {})
    held, release = threading.Event(), threading.Event()

    def other_run():
        with FileLock(str(p) + ".lock"):
            held.set()
            release.wait(10)

    t = threading.Thread(target=other_run)
    t.start()
    try:
        assert held.wait(10)
        with pytest.raises(CacheError, match="locked by another newsbt run"):
            cache.write_cache("ust_10y", "fred", _series(["2025-01-03"], [2]), {})
        # reads take no lock (writes are atomic renames): the old complete file is read
        assert list(cache.read_cache("ust_10y", "fred").values) == [1.0]
    finally:
        release.set()
        t.join()
    assert list(cache.read_cache("ust_10y", "fred").values) == [1.0]  # untouched


def test_concurrent_writers_and_readers_never_see_a_partial_file():
    versions = {n: _series(pd.bdate_range("2020-01-01", periods=n), range(n)) for n in (50, 300, 1000, 2000)}
    errors: list[BaseException] = []
    seen: set[int] = set()

    def writer(n):
        try:
            for _ in range(8):
                cache.write_cache("usdjpy", "fred", versions[n], {"code": "DEXJPUS"})
        except BaseException as exc:  # noqa: BLE001 (collected and re-raised below)
            errors.append(exc)

    def reader():
        try:
            for _ in range(30):
                e = cache.read_cache("usdjpy", "fred")
                if e is not None:
                    n = len(e.values)
                    assert n in versions
                    assert list(e.values) == list(versions[n])
                    seen.add(n)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in versions] + [
        threading.Thread(target=reader) for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    assert not list(cache.cache_dir().glob("*.corrupt-*"))
    assert not list(cache.cache_dir().glob("*.tmp"))
    assert len(cache.read_cache("usdjpy", "fred").values) in versions


def _break(kind: str):
    p = cache.write_cache("ust_10y", "fred", _series(["2025-04-03", "2025-04-04"], [4.06, 4.01]), {})
    if kind == "truncated":
        p.write_bytes(p.read_bytes()[: p.stat().st_size // 2])
    elif kind == "garbage":
        p.write_bytes(b"PAR1 not parquet at all")
    elif kind == "other_series":
        q = cache.write_cache("ust_2y", "fred", _series(["2025-04-04"], [3.68]), {})
        q.replace(p)
    elif kind == "no_metadata":
        pd.DataFrame({"value": [1.0]}, index=pd.to_datetime(["2025-04-04"])).to_parquet(p)
    elif kind == "unsorted":
        import pyarrow.parquet as pq

        t = pq.read_table(p)
        df = t.to_pandas().iloc[::-1]
        import pyarrow as pa

        pq.write_table(pa.Table.from_pandas(df).replace_schema_metadata(t.schema.metadata), p)
    return p


@pytest.mark.parametrize("kind", ["truncated", "garbage", "other_series", "no_metadata", "unsorted"])
def test_corrupt_file_moved_aside_and_refetched(kind, fake_fred, caplog):
    p = _break(kind)
    with caplog.at_level("WARNING", logger="backtests.market.cache"):
        m = load_market("ust_10y", start="2025-04-01", end="2025-04-04", **KW)
    assert any("corrupt" in r.getMessage() and "moved aside" in r.getMessage() for r in caplog.records)
    assert len(m.provenance["ust_10y"].notes) == 1 and "corrupt" in m.provenance["ust_10y"].notes[0]
    assert fake_fred == [(D("2025-04-01"), D("2025-04-04"))]  # refetched, not used
    assert m.provenance["ust_10y"].origin == "live"
    assert len(list(p.parent.glob(p.name + ".corrupt-*"))) == 1
    pd.testing.assert_series_equal(
        cache.read_cache("ust_10y", "fred").values,
        TRUTH.loc["2025-04-01":"2025-04-04"],
        check_names=False,
        check_freq=False,
    )


def test_failed_refresh_is_stale_cache_not_live(monkeypatch):
    """Online but the refresh fails: the old cache is used, warned about, marked stale, not re-stamped."""

    def down(code, **kw):
        raise DataUnavailableError(f"FRED {code}: download failed (timed out)")

    monkeypatch.setitem(load_mod.LIVE_SOURCES, "fred", (down, "fred.stlouisfed.org"))
    _seed(TRUTH, age_days=40, range_start=None)
    stamp = cache.read_cache("ust_10y", "fred").meta["fetched_at"]
    with pytest.warns(
        NewsbtWarning, match=r"could not refresh from fred.*timed out.*2025-04-30, 40 days old"
    ):
        m = load_market("ust_10y", fetch_kw={"fred": {"path": "x"}})
    p = m.provenance["ust_10y"]
    assert p.stale and p.origin == "cache" and p.source == "fred"
    assert cache.read_cache("ust_10y", "fred").meta["fetched_at"] == stamp  # still reads as old
    with pytest.warns(NewsbtWarning, match="could not refresh"):
        load_market("ust_10y", source="fred", fetch_kw={"fred": {"path": "x"}})


def test_other_source_cache_used_when_live_sources_fail(monkeypatch):
    """fred has no cache and fails; the yfinance cache is used, stale, with ITS close time."""

    def down(code, **kw):
        raise DataUnavailableError(f"{code}: download failed")

    monkeypatch.setitem(load_mod.LIVE_SOURCES, "fred", (down, "fred.stlouisfed.org"))
    monkeypatch.setitem(load_mod.LIVE_SOURCES, "yfinance", (down, "query1.finance.yahoo.com"))
    cache.write_cache(
        "ust_10y",
        "yfinance",
        TRUTH,
        {"fetched_at": "2025-05-01T00:00:00+00:00", "close": "15:00", "tz": "America/Chicago"},
    )
    with pytest.warns(NewsbtWarning, match=r"could not refresh from yfinance.*last value 2025-04-30"):
        m = load_market("ust_10y", fetch_kw={"fred": {"path": "x"}, "yfinance": {"download": None}})
    p = m.provenance["ust_10y"]
    assert p.stale and p.source == "yfinance"
    assert m.close_time("ust_10y") == (dt.time(15), "America/Chicago")  # that source's close


def test_offline_stale_warning_names_age(monkeypatch):
    monkeypatch.setenv("NEWSBT_OFFLINE", "1")
    _seed(TRUTH, age_days=10, range_start=None)
    with pytest.warns(NewsbtWarning, match=r"offline.*last value 2025-04-30, 10 days old"):
        load_market("ust_10y", source="fred")


def test_close_time_comes_from_the_cached_data(fake_fred):
    """The close stored with the data wins: a cache written from a 16:00 source stays 16:00."""
    cache.write_cache(
        "ust_10y",
        "fred",
        TRUTH,
        {
            "fetched_at": pd.Timestamp.now(tz="UTC").isoformat(),
            "range_start": None,
            "close": "16:00",
            "tz": "America/New_York",
        },
    )
    m = load_market("ust_10y", start="2025-03-10", end="2025-03-14", **KW)
    assert m.provenance["ust_10y"].origin == "cache"
    assert m.close_time("ust_10y") == (dt.time(16), "America/New_York")
