"""One set of defaults for the API, the CLI, configs and the demo (calendar "observed", model "raw"),
and the exclusion warning."""

from __future__ import annotations

import inspect
import tomllib
import warnings

import numpy as np
import pandas as pd
import pytest

import backtests
import signals
from backtests import cli, config
from signals._paths import data_path


def test_api_cli_config_and_demo_share_the_defaults(tmp_path, monkeypatch):
    sig = inspect.signature(backtests.event_study).parameters
    api = {k: sig[k].default for k in ("model", "calendar", "window", "estimation", "confounders")}
    assert api == {"model": "raw", "calendar": "observed", "window": (-5, 10), "estimation": (-120, -11),
                   "confounders": "flag"}  # fmt: skip
    # the CLI: what `newsbt study` actually passes to event_study
    seen = {}
    real = backtests.event_study

    def spy(changes, events, **kw):
        seen.update(kw)
        return real(changes, events, **kw)

    monkeypatch.setattr(backtests, "event_study", spy)
    ev = tmp_path / "ev.csv"
    pd.DataFrame({"event_id": ["seed"], "timestamp": ["2025-05-02T01:00:00Z"], "theme": ["x"]}).to_csv(
        ev, index=False
    )
    code = cli.main(
        ["study", "--events", str(ev), "--series", "ust_10y", "--source", "sample", "--start", "2024-06-01"]
    )
    assert code == 0
    assert {k: seen[k] for k in ("model", "calendar", "window", "estimation")} == {
        k: api[k] for k in ("model", "calendar", "window", "estimation")
    }
    assert seen.get("confounders", api["confounders"]) == "flag"
    # configs: the validated defaults and the shipped demo config
    cfg = config.validate({"market": {"series": ["ust_10y"]}})["study"]
    assert (cfg["model"], cfg["calendar"], tuple(cfg["window"]), tuple(cfg["estimation"])) == (
        "raw", "observed", (-5, 10), (-120, -11)
    )  # fmt: skip
    demo = tomllib.loads(data_path("configs", "demo.toml").read_text())["study"]
    assert (demo["model"], demo["calendar"]) == ("raw", "observed")


def test_readme_notebook_block_excludes_under_five_percent_on_shipped_data():
    arts = signals.read_articles(data_path("news", "sample_articles.jsonl"))
    tagged = signals.score_sentiment(signals.tag_themes(arts))
    events = signals.extract_events(tagged, gap="6h")
    market = backtests.load_market(["ust_10y", "jgb_10y", "usdjpy"], start="2022-01-01", source="sample")
    with warnings.catch_warnings():
        warnings.simplefilter("error", backtests.NewsbtWarning)  # no exclusion warning
        study = backtests.event_study(
            backtests.to_changes(market), events, window=(-5, 10), estimation=(-120, -11),
            group_by=["theme", "series"], placebo_draws=99,
        )  # fmt: skip
    assert len(study.excluded) < 0.05 * study.n_requested
    assert (study.pairs["series"] == "jgb_10y").sum() == len(events)  # the JGB pairs are all kept
    # the old API default (index calendar) dropped JGB pairs on Tokyo-only sessions: it warns, per reason
    with pytest.warns(backtests.NewsbtWarning, match=r"pairs excluded .*missing_in_window"):
        old = backtests.event_study(
            backtests.to_changes(market),
            events,
            calendar="index",
            model="mean",
            tests=["bmp"],
            confounders="ignore",
        )
    assert "missing_in_window" in old.summary()
    assert "model=raw" in study.summary() and "calendar=observed" in study.summary()


def test_warning_counts_per_reason_only_above_five_percent():
    idx = pd.bdate_range("2020-01-01", periods=300)
    ch = pd.DataFrame(np.random.default_rng(0).normal(size=(300, 1)), index=idx, columns=["a"])
    dates = list(idx[100 + np.arange(40) * 4])
    ev = pd.DataFrame({"date": [*dates, idx[2]]})  # 1 of 41 excluded: 2.4 %, no warning
    with warnings.catch_warnings():
        warnings.simplefilter("error", backtests.NewsbtWarning)
        backtests.event_study(
            ch, ev, window=(-2, 2), estimation=(-60, -5), tests=["bmp"], confounders="ignore"
        )
    ev = pd.DataFrame({"date": [*dates, idx[2], idx[3], idx[-1]]})  # 3 of 43: 7 %
    with pytest.warns(backtests.NewsbtWarning, match=r"3 of 43 .*short_estimation 2, window_outside_data 1"):
        backtests.event_study(
            ch, ev, window=(-2, 2), estimation=(-60, -5), tests=["bmp"], confounders="ignore"
        )
