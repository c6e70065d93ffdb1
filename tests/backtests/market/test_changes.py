"""to_changes: bp units, per-series consecutive observations, gaps, attrs."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backtests.market.changes import to_changes
from backtests.market.spec import Market, Provenance, SeriesSpec
from signals.errors import InputFormatError

JGB = SeriesSpec("jgb_10y", "JGB 10y", "yield", "percent", "Asia/Tokyo", dt.time(15), "XTKS")
UST = SeriesSpec("ust_10y", "UST 10y", "yield", "percent", "America/New_York", dt.time(15, 30), "XNYS")
FX = SeriesSpec("usdjpy", "USD/JPY", "fx", "JPY per USD", "America/New_York", dt.time(12), "FX")


def _market() -> Market:
    idx = pd.to_datetime(["2025-05-01", "2025-05-02", "2025-05-05", "2025-05-06", "2025-05-07"])
    lv = pd.DataFrame(
        {
            "jgb_10y": [1.300, 1.283, np.nan, np.nan, 1.310],
            "ust_10y": [4.22, 4.33, 4.34, 4.30, 4.28],
            "usdjpy": [145.0, 144.52, np.nan, 143.0, 142.5],
        },
        index=idx,
    )
    return Market(lv, {"jgb_10y": JGB, "ust_10y": UST, "usdjpy": FX})


def test_yield_changes_are_bp_first_differences():
    c = to_changes(_market())
    assert math.isnan(c.loc["2025-05-01", "ust_10y"])
    assert c.loc["2025-05-02", "ust_10y"] == pytest.approx(11.0, abs=1e-9)
    assert c.loc["2025-05-02", "jgb_10y"] == pytest.approx(-1.7, abs=1e-9)
    # 2025-05-07 JGB: change since the previous Tokyo session (2 May), not divided by the gap
    assert c.loc["2025-05-07", "jgb_10y"] == pytest.approx(2.7, abs=1e-9)
    # Tokyo holidays leave NaN for JGB only; UST keeps its changes
    assert c.loc[["2025-05-05", "2025-05-06"], "jgb_10y"].isna().all()
    assert c.loc[["2025-05-05", "2025-05-06"], "ust_10y"].notna().all()


def test_yield_changes_have_no_float_noise():
    # 4.48 - 4.01 in binary is 0.47000000000000064; bp change must be exactly 47.0
    lv = pd.DataFrame({"ust_10y": [4.01, 4.48]}, index=pd.to_datetime(["2025-04-04", "2025-04-11"]))
    c = to_changes(Market(lv, {"ust_10y": UST}))
    assert c.iloc[1, 0] == 47.0


def test_fx_changes_are_log_returns_in_bp():
    c = to_changes(_market())
    assert c.loc["2025-05-02", "usdjpy"] == pytest.approx(1e4 * math.log(144.52 / 145.0), rel=1e-12)
    assert c.loc["2025-05-06", "usdjpy"] == pytest.approx(1e4 * math.log(143.0 / 144.52), rel=1e-12)
    assert math.isnan(c.loc["2025-05-05", "usdjpy"])


def test_gaps_in_calendar_days():
    c, g = to_changes(_market(), gaps=True)
    assert g.loc["2025-05-07", "jgb_10y"] == 5.0
    assert g.loc["2025-05-05", "ust_10y"] == 3.0
    assert g.loc["2025-05-06", "usdjpy"] == 4.0
    assert (g.isna() == c.isna()).all().all()


def test_attrs_carry_alignment_metadata_from_provenance():
    m = _market()
    m.provenance["ust_10y"] = Provenance(
        "ust_10y", "yfinance", "^TNX", "Yahoo", "percent", "America/New_York", dt.time(16)
    )
    c = to_changes(m)
    meta = c.attrs["newsbt_series"]
    assert meta["jgb_10y"]["tz"] == "Asia/Tokyo"
    assert meta["jgb_10y"]["close"] == "15:00"
    assert meta["jgb_10y"]["calendar"] == "XTKS"
    assert meta["jgb_10y"]["unit"] == "bp"
    assert meta["jgb_10y"]["kind"] == "yield"
    assert meta["ust_10y"]["close"] == "16:00"  # provenance wins over the spec's 15:30
    assert meta["usdjpy"]["kind"] == "fx"
    import json

    json.dumps(meta)  # plain JSON-able


def test_rejects_non_market_and_non_positive_prices():
    with pytest.raises(InputFormatError, match="Market"):
        to_changes(pd.DataFrame({"a": [1.0]}))
    lv = pd.DataFrame({"usdjpy": [1.0, 0.0]}, index=pd.to_datetime(["2025-01-01", "2025-01-02"]))
    with pytest.raises(InputFormatError, match="2025-01-02"):
        to_changes(Market(lv, {"usdjpy": FX}))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.one_of(st.none(), st.floats(min_value=-1.0, max_value=20.0, allow_nan=False)),
        min_size=2,
        max_size=40,
    ),
    st.lists(
        st.one_of(st.none(), st.floats(min_value=1.0, max_value=400.0, allow_nan=False)),
        min_size=2,
        max_size=40,
    ),
)
def test_changes_telescope_to_total_move(ys, fx):
    n = min(len(ys), len(fx))
    idx = pd.bdate_range("2020-01-01", periods=n)
    y = np.array([np.nan if v is None else v for v in ys[:n]], dtype=float)
    f = np.array([np.nan if v is None else v for v in fx[:n]], dtype=float)
    c, g = to_changes(
        Market(pd.DataFrame({"ust_10y": y, "usdjpy": f}, index=idx), {"ust_10y": UST, "usdjpy": FX}),
        gaps=True,
    )
    for col, v, total in (
        ("ust_10y", y, lambda a: 100 * (a[-1] - a[0])),
        ("usdjpy", f, lambda a: 1e4 * math.log(a[-1] / a[0])),
    ):
        obs = v[~np.isnan(v)]
        assert c[col].notna().sum() == max(len(obs) - 1, 0)
        if len(obs) >= 2:
            assert c[col].sum() == pytest.approx(total(obs), abs=1e-6)
            span = (idx[~np.isnan(v)][-1] - idx[~np.isnan(v)][0]).days
            assert g[col].sum() == span
