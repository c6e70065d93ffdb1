"""Study config validation: every error names the key; defaults fill in; shipped demo config loads."""

from __future__ import annotations

import pytest

from backtests import config
from signals._paths import data_path
from signals.errors import ConfigError, InputNotFoundError


def test_demo_config_loads_and_is_complete():
    cfg = config.load_config(data_path("configs", "demo.toml"))
    assert cfg["market"]["series"]
    assert cfg["study"]["window"] == [-5, 10]
    assert cfg["interventions"]["enabled"] is True
    assert cfg["_meta"]["name"] == "demo"
    # every newsbt: path in it resolves to a shipped file
    for p in cfg["articles"]["paths"]:
        assert config.resolve_path(p, data_path("configs")).is_file()


def test_defaults_fill_in():
    cfg = config.validate({"market": {"series": ["ust_10y"]}})
    assert cfg["study"]["model"] == "raw"  # default changed by issue 18 (raw for yields and FX)
    assert cfg["backtest"]["cost_bp"] == 0.5
    assert cfg["report"]["formats"] == ["html", "md"]


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        ({"market": {"series": ["x"]}, "studdy": {}}, "unknown section [studdy]"),
        ({"market": {"series": ["x"], "sauce": "x"}}, "unknown key [market].sauce"),
        ({"market": {"series": "ust_10y"}}, "[market].series must be a list"),
        ({"market": {}}, "[market].series is required"),
        ({"market": {"series": ["x"]}, "study": {"window": [5, -5]}}, "[study].window"),
        ({"market": {"series": ["x"]}, "study": {"window": [-5, 10.5]}}, "[study].window"),
        ({"market": {"series": ["x"]}, "backtest": {"holding": True}}, "[backtest].holding"),
        ({"market": {"series": ["x"]}, "backtest": {"cost_bp": "1"}}, "[backtest].cost_bp must be a number"),
        ({"market": {"series": ["x"]}, "report": {"formats": ["pdf"]}}, "[report].formats"),
        ({"market": {"series": ["x"], "start": "2025-13-01"}}, "[market].start"),
        ({"market": {"series": ["x"]}, "study": {"car_windows": [[1]]}}, "[study].car_windows"),
        (
            {"market": {"series": ["x"]}, "backtest": {"rules": [{"themez": ["a"]}]}},
            "[[backtest.rules]] entry 1",
        ),
    ],
)
def test_bad_configs_name_the_key(raw, needle):
    with pytest.raises(ConfigError) as e:
        config.validate(raw, origin="my.toml")
    assert needle in str(e.value)
    assert "my.toml" in str(e.value)


def test_backtest_rules_are_validated_and_built():
    cfg = config.validate(
        {
            "market": {"series": ["x"]},
            "backtest": {"rules": [{"themes": ["tariffs"], "min_abs_sentiment": 0.2}]},
        }
    )
    from backtests.strategy import Rule

    r = Rule.from_dict(cfg["backtest"]["rules"][0])
    assert r.themes == ["tariffs"] or tuple(r.themes) == ("tariffs",)


def test_missing_and_invalid_files(tmp_path):
    with pytest.raises(InputNotFoundError, match="nope.toml"):
        config.load_config(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[market\nseries = 1")
    with pytest.raises(ConfigError, match="invalid TOML"):
        config.load_config(bad)


def test_relative_paths_resolve_against_config_dir(tmp_path):
    assert config.resolve_path("a/b.csv", tmp_path) == tmp_path / "a" / "b.csv"
    assert config.resolve_path("/x/y.csv", tmp_path).as_posix() == "/x/y.csv"


def test_config_hash_is_order_independent():
    a = {"market": {"series": ["a"], "start": "2020-01-01"}, "study": {"model": "mean"}}
    b = {"study": {"model": "mean"}, "market": {"start": "2020-01-01", "series": ["a"]}}
    from backtests.report import config_hash

    assert config_hash(a) == config_hash(b)
    assert config_hash(a) != config_hash({**a, "study": {"model": "raw"}})


def test_sentiment_bucket_uses_vader_cutoffs():
    import pandas as pd

    from backtests.pipeline import sentiment_bucket

    got = sentiment_bucket(pd.Series([-0.5, -0.05, 0.0, 0.049, 0.05, float("nan")])).tolist()
    assert got == ["negative", "negative", "neutral", "neutral", "positive", "unknown"]


# ---------------------------------------------------------------- i16: choices, ranges, new keys


@pytest.mark.parametrize(
    ("section", "key", "value", "match"),
    [
        ("study", "model", "bogus", r"\[study\]\.model = 'bogus' is not a valid choice; choose one of: raw, mean"),
        ("study", "placebo_draws", -5, r"\[study\]\.placebo_draws = -5 is out of range; it must be >= 1"),
        ("backtest", "holding", 0, r"\[backtest\]\.holding = 0 is out of range"),
        ("study", "car_windows", [[0, True]], r"\[study\]\.car_windows\[0\]\[1\] must be an integer, got bool"),
        ("study", "calendar", "weekly", r"\[study\]\.calendar.*choose one of: index, observed"),
        ("market", "source", "bloomberg", r"\[market\]\.source.*choose one of: auto, sample"),
        ("compute", "engine", "spark", r"\[compute\]\.engine.*pandas, dask"),
        ("compute", "workers", 0, r"\[compute\]\.workers = 0 is out of range"),
        ("articles", "format", "xml", r"\[articles\]\.format.*rss"),
        ("events", "min_articles", 0, r"\[events\]\.min_articles"),
    ],
)
def test_every_section_choice_and_range_named_with_the_file(tmp_path, section, key, value, match):
    from backtests.config import validate

    raw = {"market": {"series": ["ust_10y"]}}
    raw.setdefault(section, {})[key] = value
    with pytest.raises(ConfigError, match=r"my\.toml: " + match):
        validate(raw, origin="my.toml")


def test_all_errors_reported_at_once():
    from backtests.config import validate

    with pytest.raises(ConfigError) as e:
        validate({"market": {"series": ["x"]}, "study": {"model": "bogus", "placebo_draws": -5}}, origin="c.toml")
    msg = str(e.value)
    assert "[study].model" in msg and "[study].placebo_draws" in msg and msg.count("c.toml") == 2


def test_files_source_needs_its_file_and_new_keys_are_known():
    from backtests.config import validate

    with pytest.raises(ConfigError, match=r"\[market\]\.source = 'files' needs \[market\]\.files"):
        validate({"market": {"series": ["x"], "source": "files"}}, origin="c.toml")
    cfg = validate(
        {
            "market": {"series": ["x"], "source": "files", "files": "levels.csv", "date_format": "%d/%m/%Y"},
            "articles": {"format": "rss", "tz": "Asia/Tokyo", "published_column": "ts", "epoch": "s",
                         "encoding": "utf-8", "store": "store", "start": "2024-01-01", "end": "2024-12-31"},
            "compute": {"engine": "dask", "scheduler": "threads", "workers": 2},
        },
        origin="c.toml",
    )  # fmt: skip
    assert cfg["compute"]["workers"] == 2 and cfg["articles"]["format"] == "feed"  # the reader's name
    from signals.articles import FORMATS

    assert set(config.CHOICES[("articles", "format")]) - {"rss", "atom"} == set(FORMATS)
