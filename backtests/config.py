"""TOML study configs: schema, defaults and validation with messages that name the key.

The whole config is checked before any work (:mod:`backtests._config_schema`: strict pydantic v2
models built from :data:`SCHEMA`, :data:`CHOICES` and :data:`RANGES`): types, valid choices,
numeric ranges and unknown sections or keys, every error at once, each naming the file and the
``[section].key`` and listing the valid choices.

A config describes one run: where the articles come from, the theme book, the events, the market
series, the event study, the backtest, the official-intervention comparison and the report. Every
key is optional except ``[market].series``; see :data:`SCHEMA` for types and defaults.

Paths are relative to the config file. A path starting with ``newsbt:`` names a file shipped with
the package (``newsbt:news/sample_articles.jsonl``), so the shipped demo config works from any folder.
"""

from __future__ import annotations

import copy
import datetime as dt
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from signals._paths import data_path
from signals.errors import ConfigError, InputNotFoundError

_STR, _INT, _FLOAT, _BOOL = str, int, (int, float), bool
_LIST = list
_DATE = (str, dt.date)
_AMOUNTS = ((int, float), dict)  # a positive number, or a table {series = number, default = number}

#: section -> key -> (accepted types, default, help)
SCHEMA: dict[str, dict[str, tuple[Any, Any, str]]] = {
    "run": {
        "title": (_STR, "newsbt report", "report title"),
        "as_of": (_DATE, None, "as-of date (YYYY-MM-DD); market data after it is not used"),
    },
    "articles": {
        "paths": (_LIST, [], "article files, folders, globs or feed URLs"),
        "tz": (_STR, None, "time zone of naive timestamps in the files (IANA name)"),
        "format": (_STR, None, "force a reader format (jsonl, json, csv, parquet, feed/rss, gdelt)"),
        "published_column": (_STR, None, "column holding the timestamp (default: published/date/...)"),
        "title_column": (_STR, None, "column holding the headline (default: title/headline)"),
        "epoch": (_STR, None, "the timestamp column holds epoch 's' or 'ms' (numbers are never guessed)"),
        "encoding": (_STR, None, "text encoding of the files, e.g. 'cp932' (default: detected)"),
        "published_range": (_LIST, None, "plausible [start, end] dates (default 1900-01-01 .. now + 1 day)"),
        "store": (_STR, None, "article store folder (newsbt ingest) instead of files"),
        "start": (_DATE, None, "first UTC day read from the store"),
        "end": (_DATE, None, "last UTC day read from the store (default: the as-of date)"),
        "lookback_days": (_INT, None, "without start: read this many days up to end / the as-of date"),
    },
    "compute": {
        "engine": (_STR, "pandas", "signals engine for a store: pandas | dask | auto"),
        "scheduler": (_STR, None, "Dask scheduler address (tcp://host:8786); none: a local cluster"),
        "workers": (_INT, None, "local Dask workers (default: one per core)"),
    },
    "themes": {
        "book": (_STR, "default", "'default' or a path to a TOML theme book"),
        "only": (_LIST, [], "restrict to these theme names"),
        "source": (_STR, "text", "for a store: text (book rules + VADER) | gkg (GKG codes + V2Tone) | auto"),
    },
    "events": {
        "table": (_STR, None, "a user event table (CSV) instead of extracting events from articles"),
        "gap": (_STR, "6h", "articles closer than this form one burst (pandas offset)"),
        "min_articles": (_INT, 1, "minimum articles per event"),
    },
    "market": {
        "series": (_LIST, None, "series ids, e.g. ['ust_10y', 'jgb_10y', 'usdjpy'] (required)"),
        "source": (_STR, "auto", "auto | sample | cache | yfinance | fred | mof | files"),
        "files": ((str, dict), None, "for source='files': a CSV/Parquet path, or {series = path}"),
        "date_format": (_STR, None, "strftime format of the files' dates (needed for dd/mm/yyyy)"),
        "start": (_DATE, None, "first date of market data"),
        "end": (_DATE, None, "last date of market data"),
    },
    "study": {
        "window": (_LIST, [-5, 10], "event window [a, b] in trading days"),
        "estimation": (_LIST, [-120, -11], "estimation window [c, d], d < a"),
        "model": (_STR, "raw", "raw | mean | market | factor"),  # [honest answers] default raw
        "benchmark": ((str, list), None, "benchmark column(s) for market/factor models"),
        "group_by": (_LIST, ["theme"], "grouping columns (theme, series, sentiment_bucket, direction)"),
        "car_windows": (_LIST, [[0, 0], [0, 1], [-1, 1], [0, 5]], "extra CAR windows"),
        "tests": (_LIST, None, "test families (default all)"),
        "calendar": (_STR, "observed", "index | observed"),
        "overlap": (_STR, "keep", "keep | drop | merge"),
        "placebo_draws": (_INT, 1000, "placebo draws"),
        "seed": (_INT, 0, "random seed (placebo)"),
    },
    "backtest": {
        "enabled": (_BOOL, True, "run the signal backtest"),
        "holding": (_INT, 5, "holding period, trading days"),
        "cost_bp": (_FLOAT, 0.5, "cost per unit turnover, bp"),
        "combine": (_STR, "sum", "sum | max | last"),
        "placebo": (_INT, 200, "placebo runs"),
        "seed": (_INT, 0, "random seed"),
        "position_cap": (_FLOAT, None, "cap on |position| per series (units)"),
        "stop_loss_bp": (_FLOAT, None, "stop-loss per trade, bp (on closes)"),
        "take_profit_bp": (_FLOAT, None, "take-profit per trade, bp (on closes)"),
        "rules": (_LIST, [], "[[backtest.rules]] tables: themes, min_abs_sentiment, direction, size, ..."),
        "dv01": (_AMOUNTS, None, "currency per bp of yield per unit position (number or table)"),
        "fx_notional": (_AMOUNTS, None, "currency notional per unit FX position (number or table)"),
        "currency": (_STR, "USD", "label of dv01 / fx_notional; with them the book is in currency"),
    },
    "interventions": {
        "enabled": (_BOOL, False, "also study Japan's official intervention days (bundled MOF records)"),
        "series": (_LIST, ["usdjpy", "jgb_10y", "ust_10y"], "series for the intervention study"),
        "start": (_DATE, "1995-01-01", "first intervention date"),
        "window": (_LIST, [-5, 10], "event window"),
        "estimation": (_LIST, [-120, -11], "estimation window"),
        "overlap": (_STR, "merge", "how to handle clustered consecutive days: keep | drop | merge"),
        "match_days": (
            _INT,
            3,
            "a news event within this many days before/after an official day 'caught' it",
        ),
    },
    "highlight": {
        "theme": (_STR, None, "theme of the highlighted (seed) event"),
        "date": (_DATE, None, "UTC date of the highlighted event"),
        "timeline_start": (_DATE, None, "timeline chart start"),
        "timeline_end": (_DATE, None, "timeline chart end"),
        "note": (_STR, None, "a paragraph of context shown in the highlighted-event section"),
        "markers": (
            _LIST,
            [],
            "[[highlight.markers]] tables: date (YYYY-MM-DD) and label, drawn on the timeline",
        ),
    },
    "report": {
        "out": (_STR, "reports/{date}", "output folder; {date} = as-of date, {name} = config name"),
        "formats": (_LIST, ["html", "md"], "html and/or md"),
        "figure_formats": (_LIST, ["png", "svg"], "png and/or svg"),
    },
}

REQUIRED = {("market", "series")}

#: [section].key -> valid choices (checked before any work)
CHOICES: dict[tuple[str, str], tuple[str, ...]] = {
    ("articles", "format"): ("jsonl", "json", "csv", "parquet", "feed", "rss", "atom", "gdelt"),
    ("articles", "epoch"): ("s", "ms"),
    ("compute", "engine"): ("pandas", "dask", "auto"),
    ("themes", "source"): ("text", "gkg", "auto"),
    ("market", "source"): ("auto", "sample", "cache", "yfinance", "fred", "mof", "files"),
    ("study", "model"): ("raw", "mean", "market", "factor"),
    ("study", "calendar"): ("index", "observed"),
    ("study", "overlap"): ("keep", "drop", "merge"),
    ("backtest", "combine"): ("sum", "max", "last"),
    ("interventions", "overlap"): ("keep", "drop", "merge"),
}

#: [section].key -> (minimum, maximum) for numbers (None: unbounded)
RANGES: dict[tuple[str, str], tuple[float | None, float | None]] = {
    ("events", "min_articles"): (1, None),
    ("study", "placebo_draws"): (1, None),
    ("backtest", "holding"): (1, None),
    ("backtest", "cost_bp"): (0, None),
    ("backtest", "placebo"): (0, None),
    ("backtest", "position_cap"): (0, None),
    ("backtest", "stop_loss_bp"): (0, None),
    ("backtest", "take_profit_bp"): (0, None),
    ("interventions", "match_days"): (0, None),
    ("compute", "workers"): (1, None),
    ("articles", "lookback_days"): (1, None),
}


def _check_choices_and_ranges(cfg: dict, origin: str) -> None:
    """Choices and numeric ranges: every message names the file, [section].key and what is valid."""
    for (sec, key), ok in CHOICES.items():
        v = cfg[sec][key]
        if v is not None and v not in ok:
            raise ConfigError(f"{origin}: [{sec}].{key} = {v!r} is not a valid choice; choose one of: {', '.join(ok)}")
    for (sec, key), (lo, hi) in RANGES.items():
        v = cfg[sec][key]
        if v is None:
            continue
        if (lo is not None and v < lo) or (hi is not None and v > hi):
            want = f">= {lo}" if hi is None else f"between {lo} and {hi}"
            raise ConfigError(f"{origin}: [{sec}].{key} = {v!r} is out of range; it must be {want}")
    if cfg["themes"]["source"] != "text" and not cfg["articles"].get("store"):
        raise ConfigError(
            f"{origin}: [themes].source = {cfg['themes']['source']!r} reads the GKG codes kept in an article "
            "store; set [articles].store, or leave source = 'text' for article files"
        )
    if cfg["market"]["source"] == "files" and not cfg["market"]["files"]:
        raise ConfigError(
            f"{origin}: [market].source = 'files' needs [market].files (a CSV/Parquet path, or a table "
            "{series = path})"
        )


def _type_name(t) -> str:
    if t == (int, float):
        return "number"
    if isinstance(t, tuple):
        return " or ".join(_type_name(x) for x in t)
    return {
        str: "string",
        int: "integer",
        float: "number",
        bool: "true/false",
        list: "list",
        dt.date: "date",
    }.get(t, t.__name__)


def defaults() -> dict[str, dict[str, Any]]:
    """A config with every default filled in."""
    return {sec: {k: copy.deepcopy(v[1]) for k, v in keys.items()} for sec, keys in SCHEMA.items()}


def _merge_keys(raw: Mapping[str, Any], cfg: dict, origin: str) -> None:
    """Copy the keys of ``raw`` into ``cfg``, checking section, key and type (ConfigError naming them)."""
    for sec, body in raw.items():
        if sec not in SCHEMA:
            raise ConfigError(f"{origin}: unknown section [{sec}]; known sections: {', '.join(SCHEMA)}")
        if not isinstance(body, Mapping):
            raise ConfigError(f"{origin}: [{sec}] must be a table of keys, got {type(body).__name__}")
        for key, val in body.items():
            if key not in SCHEMA[sec]:
                raise ConfigError(
                    f"{origin}: unknown key [{sec}].{key}; known keys: {', '.join(SCHEMA[sec])}"
                )
            types = SCHEMA[sec][key][0]
            bad_bool = (
                isinstance(val, bool)
                and types is not bool
                and (types in (int, float) or (isinstance(types, tuple) and bool not in types))
            )
            if not isinstance(val, types) or bad_bool:
                raise ConfigError(
                    f"{origin}: [{sec}].{key} must be a {_type_name(types)}, got "
                    f"{type(val).__name__} {val!r} ({SCHEMA[sec][key][2]})"
                )
            cfg[sec][key] = val


def _check_windows(cfg: dict, origin: str) -> None:
    """Check the event windows (two integers, start <= end, in days) and ``[study].car_windows``."""
    for sec, key in (
        ("study", "window"),
        ("study", "estimation"),
        ("interventions", "window"),
        ("interventions", "estimation"),
    ):
        v = cfg[sec][key]
        if not (
            len(v) == 2 and all(isinstance(x, int) and not isinstance(x, bool) for x in v) and v[0] <= v[1]
        ):
            raise ConfigError(
                f"{origin}: [{sec}].{key} must be two integers [start, end] with start <= end, got {v!r}"
            )
    for w in cfg["study"]["car_windows"]:
        ints = isinstance(w, list) and all(isinstance(x, int) and not isinstance(x, bool) for x in w)
        if not (ints and len(w) == 2 and w[0] <= w[1]):
            raise ConfigError(
                f"{origin}: [study].car_windows entries must be [start, end] integer pairs, got {w!r}"
            )


def _check_rules(cfg: dict, origin: str) -> None:
    """Check every ``[[backtest.rules]]`` entry by building its :class:`~backtests.strategy.Rule`."""
    from backtests.strategy import Rule

    for i, r in enumerate(cfg["backtest"]["rules"]):
        if not isinstance(r, Mapping):
            raise ConfigError(f"{origin}: [[backtest.rules]] entry {i + 1} must be a table, got {r!r}")
        try:
            Rule.from_dict(r)
        except ConfigError as e:
            raise ConfigError(f"{origin}: [[backtest.rules]] entry {i + 1}: {e}") from None


def _check_markers(cfg: dict, origin: str) -> None:
    """Check every ``[[highlight.markers]]`` entry: a table of exactly ``date`` (ISO) and ``label``."""
    for i, m in enumerate(cfg["highlight"]["markers"]):
        if not (isinstance(m, Mapping) and set(m) == {"date", "label"} and isinstance(m["label"], str)):
            raise ConfigError(
                f"{origin}: [[highlight.markers]] entry {i + 1} must be a table with exactly date and label, got {m!r}"
            )
        try:
            dt.date.fromisoformat(str(m["date"]))
        except ValueError:
            raise ConfigError(
                f"{origin}: [[highlight.markers]] entry {i + 1}: date {m['date']!r} is not a date (use YYYY-MM-DD)"
            ) from None


def _check_report_formats(cfg: dict, origin: str) -> None:
    """Check ``[report].formats`` (html, md) and ``[report].figure_formats`` (png, svg)."""
    for k in ("formats", "figure_formats"):
        allowed = {"formats": {"html", "md"}, "figure_formats": {"png", "svg"}}[k]
        bad = set(cfg["report"][k]) - allowed
        if bad:
            raise ConfigError(f"{origin}: [report].{k} has {sorted(bad)}; allowed: {sorted(allowed)}")


def _check_dates(cfg: dict, origin: str) -> None:
    """Check that the date keys given as strings are ISO dates (YYYY-MM-DD)."""
    for sec, key in (
        ("run", "as_of"),
        ("articles", "start"),
        ("articles", "end"),
        ("market", "start"),
        ("market", "end"),
        ("interventions", "start"),
        ("articles", "start"),
        ("articles", "end"),
        ("highlight", "date"),
        ("highlight", "timeline_start"),
        ("highlight", "timeline_end"),
    ):
        v = cfg[sec][key]
        if isinstance(v, str):
            try:
                dt.date.fromisoformat(v)
            except ValueError:
                raise ConfigError(f"{origin}: [{sec}].{key} = {v!r} is not a date (use YYYY-MM-DD)") from None


def validate(raw: Mapping[str, Any], *, origin: str = "config") -> dict[str, dict[str, Any]]:
    """Check ``raw`` against :data:`SCHEMA` and return it with defaults filled in.

    Raises
    ------
    ConfigError
        Naming ``origin``, the ``[section].key`` and what is accepted.
    """
    from backtests._config_schema import schema_errors

    errors = schema_errors(raw)  # types, choices, ranges, unknown keys: all at once (pydantic)
    if errors:
        raise ConfigError("\n".join(f"{origin}: {e}" for e in errors))
    cfg = defaults()
    _merge_keys(raw, cfg, origin)
    for sec, key in REQUIRED:
        if not cfg[sec][key]:
            raise ConfigError(f"{origin}: [{sec}].{key} is required ({SCHEMA[sec][key][2]})")
    _check_windows(cfg, origin)
    _check_choices_and_ranges(cfg, origin)
    if cfg["articles"]["format"] in ("rss", "atom"):  # the reader calls RSS/Atom "feed"
        cfg["articles"]["format"] = "feed"
    _check_rules(cfg, origin)
    _check_markers(cfg, origin)
    _check_report_formats(cfg, origin)
    _check_dates(cfg, origin)
    return cfg


def load_config(path: str | Path) -> dict[str, dict[str, Any]]:
    """Read and validate a TOML study config.

    Relative paths inside it are resolved against the config's folder (``newsbt:`` paths name
    shipped files). The returned dict has a ``_meta`` entry with the config's path and name.

    Raises
    ------
    InputNotFoundError
        The file does not exist.
    ConfigError
        Invalid TOML or schema violation (the message names the key).
    """
    p = resolve_path(str(path), Path.cwd())
    if not p.is_file():
        raise InputNotFoundError(
            f"config file {path} does not exist: check the path "
            "(an example ships as newsbt:configs/demo.toml)"
        )
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{p}: invalid TOML: {e}") from None
    cfg = validate(raw, origin=str(p))
    cfg["_meta"] = {"path": str(p), "dir": str(p.parent), "name": p.stem}
    return cfg


def resolve_path(value: str, base: Path) -> Path:
    """Resolve a config path: ``newsbt:`` prefix -> shipped data, relative -> against ``base``."""
    if value.startswith("newsbt:"):
        return data_path(*value[len("newsbt:") :].split("/"))
    p = Path(value).expanduser()
    return p if p.is_absolute() else base / p


def public(cfg: Mapping[str, Any]) -> dict[str, Any]:
    """The config without private entries (``_meta``), for hashing and the summary."""
    return {k: v for k, v in cfg.items() if not k.startswith("_")}
