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
    # UST and USD/JPY are traded: the book is in risk units, never a bp sum across kinds (#18)
    assert figs[5].axes[0].get_ylabel() == "cumulative P&L (vol units)"


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


# --- structure, parity with the demo, honest claims, size ----------------------------------------

STANDARD = ["Verdict", "Events studied", "Results by theme and market", "Signal backtest", "Data and method",
            "Excluded pairs"]  # fmt: skip


def _titles(html: str) -> list[str]:
    import re

    return re.findall(r"<h2>([^<]+)</h2>", html)


class _Ticks(list):
    def __init__(self):
        super().__init__()
        self.expected = 0

    def extend(self, n):  # the CLI bar's hook: how many ticks to expect
        self.expected += n

    def __call__(self, label):
        self.append(label)


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from backtests.cli import main

    out = tmp_path_factory.mktemp("demo") / "r"
    assert main(["demo", "--out", str(out), "-q"]) == 0
    return out


def test_api_report_has_the_demo_sections(small, demo, tmp_path):
    market, ev, study, bt = small
    ticks = _Ticks()
    out = write_report(study, bt, tmp_path / "api", market=market, events=ev, progress=ticks)
    html = (out / "index.html").read_text()
    api, dem = _titles(html), _titles((demo / "index.html").read_text())
    assert api == STANDARD
    assert [t for t in dem if t in STANDARD] == STANDARD  # same standard sections, same order
    assert dem[0] == "Verdict" and dem[1].startswith("Highlighted event") and dem[-1] == "Excluded pairs"
    assert dem.index("Results by theme and market") < [i for i, t in enumerate(dem) if "intervention" in t][0]
    assert dem.index("Signal backtest") < dem.index("Data and method")
    title = json.loads((out / "summary.json").read_text())["title"]
    assert title != "newsbt report" and "T1" in title and "UST 10y" in title
    # the progress callback ticks once per figure and table, as announced
    n_fig = len(list((out / "figures").glob("*.png")))
    assert len(ticks) == ticks.expected and sum(t.startswith("figure ") for t in ticks) == n_fig >= 3
    assert sum(t.startswith("table ") for t in ticks) >= len(list((out / "tables").glob("*.csv")))
    # table of contents: one anchor per section
    for t in api:
        assert f">{t}</a></li>" in html


def test_data_dates_are_per_series(small, tmp_path):
    market, ev, study, bt = small
    out = write_report(study, None, tmp_path / "r", market=market, events=ev)
    d = pd.read_csv(out / "tables" / "data_sources.csv").set_index("id")
    for s in market.levels.columns:
        col = market.levels[s].dropna()
        assert (
            d.loc[s, "first"] == f"{col.index.min():%Y-%m-%d}"
            and d.loc[s, "last"] == f"{col.index.max():%Y-%m-%d}"
        )


def test_each_table_once_and_formatted(demo):
    html = (demo / "index.html").read_text()
    for name in ("events", "headline", "highlight", "tests", "interventions_tests"):
        assert html.count(f"id='tbl-{name}'") == 1, name
    assert "timeline_events" not in html
    assert "Fri 02 May 2025 01:50 UTC" in html  # dates as weekday day month year time zone
    assert "class='num'" in html and "sortable" in html


def test_demo_size_and_story_from_config(demo):
    from backtests.config import load_config
    from signals._paths import data_path

    size = (demo / "index.html").stat().st_size
    assert size <= 1.5e6, f"index.html is {size / 1e6:.2f} MB"
    html = (demo / "index.html").read_text()
    cfg = load_config(data_path("configs", "demo.toml"))
    labels = [m["label"] for m in cfg["highlight"]["markers"]]
    assert "90-day tariff pause" in labels
    import backtests.story as story

    assert not hasattr(story, "APRIL_2025")  # story content lives in the config, not the library
    assert (
        "Katsunobu Kato said on TV Tokyo" in cfg["highlight"]["note"]
        and "Katsunobu Kato said on TV Tokyo" in html
    )
    # the sample corpus is our own: no "caught N of N official days" claim
    assert "caught" not in html and "sample corpus" in html


def test_news_match_claim_only_for_real_news():
    from backtests.story import news_corpus

    assert news_corpus(pd.DataFrame({"source": ["newsbt sample"] * 3})) is None
    assert news_corpus(None) is None
    real = pd.DataFrame({"source": ["Reuters", "Reuters", "Nikkei", "newsbt sample"]})
    assert news_corpus(real) == "Reuters, Nikkei"


def test_bad_timeline_marker_is_a_clear_config_error():
    from backtests.config import validate
    from signals.errors import ConfigError

    ok = validate(
        {
            "market": {"series": ["ust_10y"]},
            "highlight": {"markers": [{"date": "2025-04-09", "label": "pause"}]},
        }
    )
    assert ok["highlight"]["markers"][0]["label"] == "pause"
    with pytest.raises(
        ConfigError, match=r"\[\[highlight.markers\]\] entry 1: date '2025-13-01' is not a date"
    ):
        validate(
            {"market": {"series": ["x"]}, "highlight": {"markers": [{"date": "2025-13-01", "label": "x"}]}}
        )
    with pytest.raises(ConfigError, match=r"entry 2 must be a table with exactly date and label"):
        validate(
            {
                "market": {"series": ["x"]},
                "highlight": {"markers": [{"date": "2025-04-09", "label": "a"}, {"date": "2025-04-10"}]},
            }
        )
