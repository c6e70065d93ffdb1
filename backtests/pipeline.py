"""One run of a study config: articles -> events -> market -> event study -> backtest ->
(optional) official-intervention study -> report. The CLI's ``run`` and ``demo`` are thin wrappers.

Computation lives in the library modules; this module only wires them together and builds the
report's narrative sections (text and the choice of figures).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import signals
from backtests._articles_cli import config_read_kwargs, ledger_line
from backtests.config import public, resolve_path
from signals.errors import ConfigError

log = logging.getLogger(__name__)

Progress = Callable[[str], None]


@dataclass
class RunResult:
    """Everything one run produced (all DataFrames / result objects; nothing written yet)."""

    config: dict[str, Any]
    articles: pd.DataFrame | None = None
    rejects: pd.DataFrame | None = None
    tagged: pd.DataFrame | None = None
    events: pd.DataFrame | None = None
    market: Any = None
    changes: pd.DataFrame | None = None
    study: Any = None
    backtest: Any = None
    interventions: pd.DataFrame | None = None
    intervention_study: Any = None
    intervention_market: Any = None
    matches: pd.DataFrame | None = None
    highlight_event: pd.Series | None = None
    highlight_study: Any = None
    headline: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _base(cfg) -> Path:
    return Path(cfg.get("_meta", {}).get("dir", "."))


def _read_articles(cfg) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One read over every configured path: one dedup and one ledger, nothing dropped outside it."""
    a = cfg["articles"]
    if not a["paths"]:
        raise ConfigError("[articles].paths is empty and [events].table is not set: give one of them")
    srcs = [raw if "://" in raw else str(resolve_path(raw, _base(cfg))) for raw in a["paths"]]
    return signals.read_articles(srcs, errors="collect", **config_read_kwargs(a))


#: VADER's own convention: compound >= 0.05 positive, <= -0.05 negative, else neutral
SENTIMENT_EDGES = (-0.05, 0.05)


def sentiment_bucket(sentiment: pd.Series) -> pd.Series:
    """``negative`` / ``neutral`` / ``positive`` from mean VADER compound (VADER's +-0.05 cut-offs)."""
    lo, hi = SENTIMENT_EDGES
    out = np.where(sentiment <= lo, "negative", np.where(sentiment >= hi, "positive", "neutral"))
    return pd.Series(np.where(sentiment.isna(), "unknown", out), index=sentiment.index)


def _theme_book(cfg):
    book = cfg["themes"]["book"]
    if book in (None, "", "default"):
        return signals.default_themes()
    return signals.load_themes(resolve_path(book, _base(cfg)))


def _store_events(cfg) -> pd.DataFrame:
    """Events from ``[articles].store`` between start and end (end defaults to the as-of date;
    ``lookback_days`` before it without a start), on the ``[compute]`` engine."""
    a, c = cfg["articles"], cfg["compute"]
    end = a["end"] or cfg["run"]["as_of"]
    start = a["start"]
    if start is None and a["lookback_days"] and end is not None:
        start = (pd.Timestamp(str(end)) - pd.Timedelta(days=int(a["lookback_days"]) - 1)).strftime("%Y-%m-%d")
    return signals.events_from_store(
        resolve_path(a["store"], _base(cfg)),
        None if start is None else str(start),
        None if end is None else str(end),
        themes=_theme_book(cfg),
        gap=cfg["events"]["gap"],
        min_articles=cfg["events"]["min_articles"],
        engine=c["engine"],
        client=c["scheduler"],
        workers=c["workers"],
        source=cfg["themes"]["source"],
    )


def build_events(cfg, res: RunResult, progress: Progress) -> pd.DataFrame:
    """Events from the user table or extracted from the articles."""
    ev_cfg = cfg["events"]
    if ev_cfg["table"]:
        from backtests.events_io import read_events_table  # i16: same reader as `study --events`

        events = read_events_table(resolve_path(ev_cfg["table"], _base(cfg)), what="[events].table")
    elif cfg["articles"].get("store"):
        progress("events from the article store")
        events = _store_events(cfg)
    else:
        progress("reading articles")
        res.articles, res.rejects = _read_articles(cfg)
        res.notes.append(f"Articles read: {ledger_line(res.articles)} (every input row counted once).")
        book = _theme_book(cfg)
        progress("tagging themes and scoring sentiment")
        res.tagged = signals.score_sentiment(signals.tag_themes(res.articles, themes=book))
        progress("extracting events")
        events = signals.extract_events(
            res.tagged, gap=ev_cfg["gap"], min_articles=ev_cfg["min_articles"], themes=book
        )
    only = cfg["themes"]["only"]
    if only:
        n0 = len(events)
        events = events[events["theme"].isin(only)].reset_index(drop=True)
        res.notes.append(f"{n0 - len(events)} events outside [themes].only {only} not studied.")
    as_of = cfg["run"]["as_of"]
    if as_of is not None and "timestamp" in events:
        cut = pd.Timestamp(str(as_of), tz="UTC") + pd.Timedelta(days=1)
        late = events["timestamp"] >= cut
        if late.any():
            res.notes.append(f"{int(late.sum())} events after the as-of date {as_of} not studied.")
            events = events[~late].reset_index(drop=True)
    if "sentiment" in events and "sentiment_bucket" not in events:
        events = events.assign(sentiment_bucket=sentiment_bucket(events["sentiment"]))
    if events.empty:
        raise ConfigError("no events: the articles matched no theme (check [articles].paths and [themes])")
    return events


def load_run_market(cfg, series, start, end):
    """Load market series honouring ``[run].as_of`` (no data after it)."""
    import backtests

    m = cfg["market"]
    as_of = cfg["run"]["as_of"]
    end = end if as_of is None else (min(str(end), str(as_of)) if end else str(as_of))
    return backtests.load_market(
        list(series),
        start=None if start is None else str(start),
        end=None if end is None else str(end),
        source=m["source"],
        files=_market_files(m, cfg),  # i16: [market].files / date_format for source="files"
        date_format=m["date_format"],
    )


def _market_files(m, cfg):
    """[market].files resolved against the config's folder (a path, or {series: path})."""
    f = m["files"]
    if isinstance(f, dict):
        return {k: resolve_path(v, _base(cfg)) for k, v in f.items()}
    return None if f is None else resolve_path(f, _base(cfg))


def run(cfg: Mapping[str, Any], *, progress: Progress | None = None) -> RunResult:
    """Run a validated config (see :mod:`backtests.config`) and return every result.

    Parameters
    ----------
    cfg : mapping
        From :func:`backtests.config.load_config` or :func:`backtests.config.validate`.
    progress : callable, optional
        Called with a short label before each step (the CLI shows it as a progress bar).

    Returns
    -------
    RunResult
    """
    import backtests

    progress = progress or (lambda s: log.info("%s", s))
    res = RunResult(config=dict(cfg))
    res.events = build_events(cfg, res, progress)
    m = cfg["market"]
    progress("loading market data")
    res.market = load_run_market(cfg, m["series"], m["start"], m["end"])
    res.changes = backtests.to_changes(res.market)
    s = cfg["study"]
    group_by = list(s["group_by"])
    if "series" not in group_by:
        group_by.append("series")  # never average bp of yields with bp of FX returns
    progress("event study")
    res.study = backtests.event_study(
        res.changes,
        res.events,
        window=tuple(s["window"]),
        estimation=tuple(s["estimation"]),
        model=s["model"],
        benchmark=s["benchmark"],
        group_by=group_by,
        calendar=s["calendar"],
        car_windows=[tuple(w) for w in s["car_windows"]],
        tests=s["tests"],
        overlap=s["overlap"],
        placebo_draws=s["placebo_draws"],
        seed=s["seed"],
    )
    hl = cfg["highlight"]
    if hl["theme"]:
        run_highlight(cfg, res)
    b = cfg["backtest"]
    if b["enabled"]:
        progress("signal backtest")
        res.backtest = backtests.backtest(
            res.market,
            res.events,
            holding=b["holding"],
            cost_bp=b["cost_bp"],
            combine=b["combine"],
            placebo=b["placebo"],
            seed=b["seed"],
            rules=b["rules"] or None,  # #18: these keys were validated but not passed before
            position_cap=b["position_cap"],
            stop_loss_bp=b["stop_loss_bp"],
            take_profit_bp=b["take_profit_bp"],
            dv01=b["dv01"],
            fx_notional=b["fx_notional"],
            currency=b["currency"],
        )
    iv = cfg["interventions"]
    if iv["enabled"]:
        progress("official intervention study")
        run_interventions(cfg, res)
    res.headline = headline(res)
    return res


def run_highlight(cfg, res: RunResult) -> None:
    """Single-event study of the highlighted event: per-series CAR, Patell and placebo p-values."""
    import backtests

    hl, s = cfg["highlight"], cfg["study"]
    ev = res.events[res.events["theme"] == hl["theme"]]
    if hl["date"]:
        d = pd.Timestamp(str(hl["date"])).date()
        ev = ev[pd.to_datetime(ev["timestamp"]).dt.tz_convert("UTC").dt.date == d]
    if ev.empty:
        res.notes.append(f"[highlight]: no {hl['theme']} event on {hl['date']} among the extracted events.")
        return
    res.highlight_event = ev.iloc[0]
    res.highlight_study = backtests.event_study(
        res.changes,
        ev.iloc[:1],
        window=tuple(s["window"]),
        estimation=tuple(s["estimation"]),
        model=s["model"],
        benchmark=s["benchmark"],
        group_by=["series"],
        calendar=s["calendar"],
        car_windows=[tuple(w) for w in s["car_windows"]],
        tests=("patell", "placebo"),
        placebo_draws=s["placebo_draws"],
        seed=s["seed"],
    )


def run_interventions(cfg, res: RunResult) -> None:
    """Study the market around Japan's official intervention days and match news events to them."""
    import backtests

    iv = cfg["interventions"]
    ev = backtests.load_interventions()
    ev = ev[pd.to_datetime(ev["date"]) >= pd.Timestamp(str(iv["start"]))].reset_index(drop=True)
    as_of = cfg["run"]["as_of"]
    if as_of is not None:
        ev = ev[pd.to_datetime(ev["date"]) <= pd.Timestamp(str(as_of))].reset_index(drop=True)
    if "pair" in ev:
        # one event per date: the yen leg decides the group (USD/JPY, EUR/JPY rows on one day agree)
        ev = ev[ev["jpy_direction"].isin(["buy_jpy", "sell_jpy"])]
        ev = ev.sort_values(["date", "pair"]).drop_duplicates("date").reset_index(drop=True)
    res.interventions = ev
    start = pd.Timestamp(str(iv["start"])) - pd.DateOffset(years=1)
    mk = load_run_market(cfg, iv["series"], start.date().isoformat(), None)
    res.intervention_market = mk
    ev_study = ev.drop(columns=[c for c in ("timestamp",) if c in ev])
    res.intervention_study = backtests.event_study(
        backtests.to_changes(mk),
        ev_study,
        window=tuple(iv["window"]),
        estimation=tuple(iv["estimation"]),
        model="raw",  # [honest answers] the macro convention for yields and FX
        group_by=["jpy_direction", "series"],
        calendar="observed",
        car_windows=[(0, 0), (0, 1), (-1, 1), (0, 5)],
        overlap=iv["overlap"],
        placebo_draws=cfg["study"]["placebo_draws"],
        seed=cfg["study"]["seed"],
    )
    res.matches = match_news_to_official(res.events, ev, days=iv["match_days"])


def match_news_to_official(
    events: pd.DataFrame, official: pd.DataFrame, *, days: int = 3, theme: str = "yen_intervention"
) -> pd.DataFrame:
    """For each official intervention day, the nearest news event of ``theme`` within ``days``.

    Parameters
    ----------
    events : DataFrame
        News events with ``timestamp`` (UTC) and ``theme``.
    official : DataFrame
        Official days with ``date`` (MOF's operation date).
    days : int
        Calendar days either side that count as "caught".

    Returns
    -------
    DataFrame
        One row per official day: ``date``, ``jpy_direction``, ``news_event_id``, ``news_date``,
        ``lag_days`` (news date minus official date, calendar days; negative = news first), ``caught``.
    """
    off = official[["date", *[c for c in ("jpy_direction", "amount_jpy_bn") if c in official]]].copy()
    off["date"] = pd.to_datetime(off["date"]).dt.normalize()
    news = events[events["theme"] == theme]
    if news.empty:
        off["news_event_id"] = None
        off["news_date"] = pd.NaT
        off["lag_days"] = np.nan
        off["caught"] = False
        return off
    nd = pd.to_datetime(news["timestamp"]).dt.tz_convert("Asia/Tokyo").dt.tz_localize(None).dt.normalize()
    nd_sorted = np.sort(nd.to_numpy())
    order = np.argsort(nd.to_numpy(), kind="stable")
    ids = news["event_id"].to_numpy()[order]
    pos = np.searchsorted(nd_sorted, off["date"].to_numpy())
    lo = np.clip(pos - 1, 0, len(nd_sorted) - 1)
    hi = np.clip(pos, 0, len(nd_sorted) - 1)
    dlo = (nd_sorted[lo] - off["date"].to_numpy()) / np.timedelta64(1, "D")
    dhi = (nd_sorted[hi] - off["date"].to_numpy()) / np.timedelta64(1, "D")
    pick = np.where(np.abs(dhi) < np.abs(dlo), hi, lo)
    lag = np.where(np.abs(dhi) < np.abs(dlo), dhi, dlo)
    caught = np.abs(lag) <= days
    off["news_event_id"] = np.where(caught, ids[pick], None)
    off["news_date"] = np.where(caught, nd_sorted[pick], np.datetime64("NaT"))
    off["lag_days"] = np.where(caught, lag, np.nan)
    off["caught"] = caught
    return off.reset_index(drop=True)


def headline(res: RunResult) -> dict[str, Any]:
    """Machine-readable headline numbers for ``summary.json``."""
    h: dict[str, Any] = {"n_events": len(res.events) if res.events is not None else 0}
    if res.articles is not None:
        h["n_articles"] = len(res.articles)
        h["n_rejected_articles"] = 0 if res.rejects is None else len(res.rejects)
    if res.study is not None:
        h["n_pairs"] = len(res.study.pairs)
        h["n_excluded_pairs"] = len(res.study.excluded)
    if res.intervention_study is not None:
        h["n_official_days"] = len(res.interventions)
        h["n_official_pairs"] = len(res.intervention_study.pairs)
    if res.matches is not None and len(res.matches):
        recent = res.matches
        h["official_days_caught_by_news"] = int(recent["caught"].sum())
    return h


def public_config(cfg) -> dict[str, Any]:
    """Config as hashed into the summary."""
    return public(cfg)
