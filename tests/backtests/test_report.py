"""Report writer and charts: atomic writes, deterministic tables, banners, labelled figures."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

import backtests
from backtests import plots
from backtests.report import Section, _banners, data_sources, write_report


@pytest.fixture(scope="module")
def small():
    market = backtests.load_market(
        ["ust_10y", "usdjpy"], start="2024-01-01", end="2025-06-30", source="sample"
    )
    ev = pd.DataFrame(
        {
            "event_id": ["a", "b", "c"],
            "theme": ["t1", "t1", "t2"],
            "timestamp": pd.to_datetime(["2025-04-02T20:30Z", "2025-04-09T17:00Z", "2025-05-02T01:50Z"]),
            "sentiment": [-0.5, 0.4, -0.2],
            "direction": [1.0, -1.0, 1.0],
        }
    )
    study = backtests.event_study(
        backtests.to_changes(market),
        ev,
        window=(-2, 3),
        estimation=(-60, -5),
        group_by=["theme", "series"],
        calendar="observed",
        placebo_draws=50,
    )
    bt = backtests.backtest(market, ev, holding=3, cost_bp=0.5, placebo=10)
    return market, ev, study, bt


def test_each_chart_is_a_labelled_figure(small):
    market, ev, study, bt = small
    figs = [
        plots.plot_caar(study),
        plots.plot_event_paths(study, event_id="c"),
        plots.plot_timeline(market, ev, start="2025-03-15", end="2025-05-20"),
        plots.plot_car_heatmap(study),
        plots.plot_car_distribution(study),
        plots.plot_backtest(bt),
    ]
    for f in figs:
        assert isinstance(f, Figure)
        assert f.get_suptitle()
        labelled = [ax.get_ylabel() for ax in f.axes if ax.get_ylabel()]
        assert labelled, f.get_suptitle()
    assert "bp" in figs[0].axes[0].get_ylabel()
    assert "percent" in figs[2].axes[0].get_ylabel()
    assert "bp" in figs[5].axes[0].get_ylabel()


def test_report_is_complete_and_deterministic(small, tmp_path):
    market, ev, study, bt = small
    out = write_report(study, bt, tmp_path / "r", market=market, events=ev, config={"a": 1})
    first = {p.name: p.read_bytes() for p in (out / "tables").iterdir()}
    s1 = json.loads((out / "summary.json").read_text())
    out = write_report(study, bt, tmp_path / "r", market=market, events=ev, config={"a": 1})  # replaces
    assert first == {p.name: p.read_bytes() for p in (out / "tables").iterdir()}
    s2 = json.loads((out / "summary.json").read_text())
    s1.pop("run"), s2.pop("run")
    assert s1 == s2
    assert {"events.csv", "car.csv", "caar.csv", "tests.csv", "excluded.csv"} <= set(first)
    assert [p.name for p in tmp_path.iterdir()] == ["r"]  # no temp or old folder left behind
    srcs = {d["series"]: d for d in s1["data_sources"]}
    assert srcs["ust_10y"]["code"] == "DGS10" and srcs["usdjpy"]["close"] == "12:00"


def test_failed_write_leaves_nothing(small, tmp_path):
    market, ev, study, bt = small

    class Boom(Figure):
        def savefig(self, *a, **k):
            raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_report(study, None, tmp_path / "r", sections=[Section("x", figures=[("boom", Boom(), "")])])
    assert list(tmp_path.iterdir()) == []
    # an existing report survives a failed re-write untouched
    write_report(study, None, tmp_path / "r")
    before = (tmp_path / "r" / "summary.json").read_bytes()
    with pytest.raises(RuntimeError):
        write_report(study, None, tmp_path / "r", sections=[Section("x", figures=[("boom", Boom(), "")])])
    assert (tmp_path / "r" / "summary.json").read_bytes() == before


def test_banners_for_stale_and_unknown_sources(small):
    market = small[0]
    srcs = data_sources(market)
    assert _banners(srcs) == []
    market.provenance["ust_10y"].stale = True
    try:
        b = _banners(data_sources(market))
    finally:
        market.provenance["ust_10y"].stale = False
    assert len(b) == 1 and "ust_10y" in b[0] and "Stale" in b[0]
    lv = pd.DataFrame({"x": np.arange(3.0)}, index=pd.bdate_range("2025-01-01", periods=3))
    anon = backtests.Market(lv, {}, {})
    assert "Unknown origin" in _banners(data_sources(anon))[0]
