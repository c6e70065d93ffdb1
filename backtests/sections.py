"""The standard report sections, the same for ``write_report`` from the API and for the CLI's
``run``/``demo`` (whose story adds the highlighted event, the timeline and the official
interventions): verdict, events, themes x markets, backtest, data and method, excluded pairs.

Only selection and wording happen here; every number comes from the study, the backtest or the
market loader (see :mod:`backtests.verdict`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from backtests import _bt_units
from backtests import verdict as vd
from backtests._labels import join_words, ordered, series_label, theme_label

#: reading order of the sections (``key`` of :class:`Section`); unkeyed custom sections follow
#: the verdict
ORDER = (
    "verdict",
    "event",
    "timeline",
    "events",
    "themes",
    "interventions",
    "backtest",
    "data",
    "notes",  # run notes (article ledger, rejects) belong with data and method
    "excluded",
)
_EVENT_COLS = ("event_id", "theme", "timestamp", "n_articles", "sentiment", "headline")


@dataclass
class Section:
    """One report section: a heading, paragraphs, bullets, figures and tables.

    ``figures`` holds (name, Figure or a callable returning one, caption): a callable is drawn
    only when the report is written (so the progress bar ticks per figure). ``tables`` holds
    (name, DataFrame, caption); names become ``tables/<name>.csv`` too when ``export`` is True.
    ``key`` places the section in :data:`ORDER` and lets a custom section replace the standard one
    of the same key; ``note`` states the section's units and model; ``tz`` is the time zone of its
    tables' timestamps (one IANA name or a column -> zone mapping; default UTC).
    """

    title: str
    paragraphs: list[str] = field(default_factory=list)
    figures: list[tuple[str, Any, str]] = field(default_factory=list)
    tables: list[tuple[str, pd.DataFrame, str]] = field(default_factory=list)
    export: bool = True
    key: str = ""
    note: str = ""
    bullets: list[str] = field(default_factory=list)
    tz: str | Mapping[str, str] | None = None


def arrange(sections: list[Section]) -> list[Section]:
    """Sections in reading order; a later section with the same key replaces an earlier one;
    each table name appears once (first wins)."""
    by_key: dict[str, Section] = {}
    free: list[Section] = []
    for s in sections:
        if s.key:
            by_key[s.key] = s
        else:
            free.append(s)
    out = [by_key[k] for k in ORDER[:1] if k in by_key] + free
    out += [by_key[k] for k in ORDER[1:] if k in by_key]
    out += [s for k, s in by_key.items() if k not in ORDER]
    seen: set[str] = set()
    for s in out:
        s.tables = [t for t in s.tables if not (t[0] in seen or seen.add(t[0]))]
    return out


def model_note(study) -> str:
    """Units and model of a study in one line."""
    st = study.settings
    unit = getattr(study, "unit", None) or "bp"
    return (
        f"Units: {unit} (yield changes in bp; FX and prices as log returns in bp). Model '{st['model']}' "
        f"(expected change fitted over trading days {list(st['estimation'])}), event window "
        f"{list(st['window'])}, calendar '{st.get('calendar', 'observed')}'."
    )


def headline_of(study) -> pd.DataFrame | None:
    """The study's headline table with a ``group`` column (None without a study)."""
    return None if study is None else vd.with_group(study.headline)


#: the book's figure in words (bt.book["figure"])
_BOOK_WORDS = _bt_units.BOOK_WORDS


def _bt_verdict(bt, placebo_p) -> str | None:
    """The backtest in one sentence, per kind (yield bp and FX bp are never added) and in risk units
    (``bt.stats_units``), with distinct bets, hit rate and the per-bet t-statistic."""
    su = getattr(bt, "stats_units", None)
    if su is None or su.empty:
        return None
    parts = []
    for _, r in su[su["scope"] == "kind"].iterrows():
        parts.append(
            f"{r['kind']} {r['total']:+.0f} {r['unit']} ({int(r['n_bets'])} bets, "
            f"hit {_bt_units.fmt_num(r['hit_rate_bets'], '.0%')}, t {_bt_units.fmt_num(r['t_bet'], '.2f')})"
        )
    risk = su[su["scope"] == "risk"]
    tail = ""
    if len(risk):
        r = risk.iloc[0]
        tail = f"; all kinds in risk units: Sharpe {r['sharpe']:.2f} at {r['exposure']:.0%} exposure"
    book = getattr(bt, "book", None)
    if isinstance(book, pd.Series) and book["figure"] == "ccy_total":
        tail += f"; in {book['unit']} (DV01 / notional): {book['total']:+,.0f}"
    # the placebo ranks the book (one kind's bp, risk units or currency); a result without a book
    # ranked a bp total, meaningful for one kind only
    if isinstance(book, pd.Series):
        what = _BOOK_WORDS.get(book["figure"], book["figure"])
        plc = (
            f"; placebo p {vd._p(placebo_p)} for the {what} (rank of its total net P&L among the same "
            "rules on random dates)"
        )
    else:
        plc = (
            f"; placebo p {vd._p(placebo_p)} for the total (same rules on random dates)" if len(parts) == 1 else ""
        )
    return "Signal backtest, net of costs: " + "; ".join(parts) + tail + plc + "."


def verdict_section(
    study=None,
    bt=None,
    *,
    event_view: pd.DataFrame | None = None,
    event: Mapping | None = None,
    event_study=None,
    intervention_line: str | None = None,
) -> Section:
    """Verdict first: the highlighted event (if any), each theme, the official interventions and
    the backtest, in plain words from the study's tables."""
    from backtests.report import portfolio_stats

    sec = Section("Verdict", key="verdict")
    if event is not None and event_view is not None and len(event_view):
        ts = pd.Timestamp(event["timestamp"])
        sec.paragraphs.append(
            f"Highlighted event: {theme_label(event.get('theme', ''))}, {ts.tz_convert('Asia/Tokyo'):%a %d %b %Y %H:%M} "
            f"Tokyo: “{event.get('headline', '')}”."
        )
        src = event_study if event_study is not None else study
        conf = getattr(src, "confounders", None) if src is not None else None
        lines = vd.event_sentences(
            event_view,
            confounders=conf if isinstance(conf, pd.DataFrame) else None,
            event_id=event.get("event_id"),
            model=src.settings["model"] if src is not None else None,
        )
        if src is not None:  # the model's sentence leads the paragraph
            sec.paragraphs[-1] += " " + lines.pop(0)
        sec.bullets += lines
    h = headline_of(study)
    if h is not None:
        sec.bullets += vd.theme_sentences(h, unit=getattr(study, "unit", None) or "bp")
        sec.note = vd.method_note(h)
    if intervention_line:
        sec.bullets.append(intervention_line)
    if bt is not None:
        line = _bt_verdict(bt, portfolio_stats(bt).get("placebo_total_pvalue"))
        if line:
            sec.bullets.append(line)
    if not sec.bullets and not sec.paragraphs:
        sec.paragraphs.append("No study or backtest results to judge.")
    return sec


def events_section(events: pd.DataFrame) -> Section:
    """The events studied, once."""
    cols = [c for c in _EVENT_COLS if c in events]
    counts = events["theme"].value_counts().sort_index() if "theme" in events else pd.Series(dtype=int)
    text = f"{len(events)} events" + (
        " (" + ", ".join(f"{theme_label(k)} {v}" for k, v in counts.items()) + ")." if len(counts) else "."
    )
    return Section(
        "Events studied", [text], tables=[("events", events[cols] if cols else events, "Events studied")],
        key="events", note="Times: first article of each burst, UTC.",
    )  # fmt: skip


def themes_section(study, *, headline: pd.DataFrame | None = None) -> Section:
    """Themes x markets: heatmap of the headline CARs, CAAR small multiples, the headline table."""
    from backtests import plots

    h = vd.with_group(headline) if headline is not None else headline_of(study)
    sec = Section(
        "Results by theme and market",
        ["Each cell is one theme on one series; read p and q together (several cells are tested at once)."],
        key="themes",
        note=model_note(study),
    )
    sec.figures.append(("car_heatmap", lambda: plots.plot_car_heatmap(study, headline=h),
                        "Mean CAR by theme and series (bp printed; colour on each kind's own scale)"))  # fmt: skip
    sec.figures.append(
        ("caar", lambda: plots.plot_caar(study), "CAAR paths by theme and family of series (bp)")
    )
    if h is not None:
        sec.tables.append(("headline", h, "Headline test per theme, series and CAR window"))
    sec.tables += [
        ("tests", study.tests, "Full test battery (two-sided p-values)"),
        ("car", study.car, "CAR per event-series pair"),
        ("caar", study.caar, "AAR and CAAR per relative day"),
    ]
    return sec


def backtest_section(bt) -> Section:
    """Equity and drawdown, statistics, trades, placebo."""
    from backtests import plots
    from backtests.report import _bt_text

    book = getattr(bt, "book", None)
    unit = str(book["unit"]) if isinstance(book, pd.Series) else "bp"
    b = Section("Signal backtest", [_bt_text(bt)], key="backtest",
                note="Units: bp of a unit position per series and per kind (yield bp and FX bp never added); "
                     "the book in its stated unit; net of costs; Sharpe annualised over 252 days.")  # fmt: skip
    b.figures.append(
        (
            "backtest",
            lambda: plots.plot_backtest(bt),
            f"Equity curve and drawdown of the book vs placebo ({unit})",
        )
    )
    stats = bt.stats if isinstance(bt.stats, pd.DataFrame) else pd.Series(bt.stats).to_frame("value")
    su = getattr(bt, "stats_units", None)
    if isinstance(su, pd.DataFrame):
        su = su.rename_axis(su.index.name or "line")  # series, kind:<kind>, or the cross-asset total
        b.tables.append(("backtest_units", su, "Per series, per kind and cross-asset (unit in each row)"))
    b.tables += [
        ("backtest_stats", stats, "Performance per series and per kind (bp of each; 252-day annualisation)"),
        ("backtest_trades", bt.trades, "Trades"),
        ("backtest_placebo", getattr(bt, "placebo", pd.DataFrame()), "Placebo runs"),
    ]
    skipped = getattr(bt, "skipped", None)
    if isinstance(skipped, pd.DataFrame) and len(skipped):
        b.tables.append(("backtest_skipped", skipped, "Events not traded, with reasons"))
    return b


def data_dates(sources: list[dict]) -> pd.DataFrame:
    """Per series: publisher, code, unit, close, first and last observation loaded, origin."""
    rows = [
        {
            "series": series_label(s["series"]),
            "id": s["series"],
            "publisher": s.get("publisher"),
            "code": s.get("code"),
            "unit": s.get("unit"),
            "close (local)": f"{s.get('close') or ''} {s.get('tz') or ''}".strip(),
            "first": s.get("start"),
            "last": s.get("end"),
            "origin": f"{s.get('origin')}{' (stale)' if s.get('stale') else ''}",
            "retrieved": s.get("retrieved"),
        }
        for s in sources
    ]
    order = {s: i for i, s in enumerate(ordered([d["series"] for d in sources]))}
    out = pd.DataFrame(rows)
    return out.sort_values("id", key=lambda c: c.map(order)).reset_index(drop=True) if len(out) else out


def data_section(
    study, sources: list[dict], events: pd.DataFrame | None, articles: pd.DataFrame | None = None
) -> Section:
    """Data and method: per-series dates actually loaded, sources, the news input and the model."""
    sec = Section("Data and method", key="data")
    if sources:
        pubs = sorted({str(s.get("publisher") or "unknown").split(",")[0] for s in sources})
        sec.paragraphs.append(
            f"Market: {len(sources)} daily series from {join_words(pubs)}; each series' first and last "
            "observation loaded is in the table (series end on different dates)."
        )
        sec.tables.append(("data_sources", data_dates(sources), "Market data per series"))
    if events is not None:
        src = f"{len(articles)} articles → " if articles is not None else ""
        sec.paragraphs.append(f"News: {src}{len(events)} events.")
    if study is not None:
        sec.note = model_note(study)
        sec.paragraphs.append(
            f"{len(study.pairs)} event-series pairs kept, {len(study.excluded)} excluded (section "
            "'Excluded pairs'). Day 0 is the first session of each series whose close is at or after "
            "the first article."
        )
    attrs = sorted({s["attribution"] for s in sources if s.get("attribution")})
    sec.paragraphs += attrs
    return sec


def excluded_section(study) -> Section | None:
    """Every pair not used, with its reason, and overlapping windows."""
    ex = study.excluded
    reasons = ex["reason"].value_counts().sort_index() if len(ex) and "reason" in ex else pd.Series(dtype=int)
    text = (
        f"{len(ex)} event-series pairs excluded: " + ", ".join(f"{k} {v}" for k, v in reasons.items()) + "."
        if len(ex)
        else "No event-series pair was excluded."
    )
    sec = Section(
        "Excluded pairs",
        [text],
        key="excluded",
        tables=[("excluded", ex, "Pairs not used, with reasons")],
        note="Pairs dropped before any statistic was computed (n_est, n_missing: trading days).",
    )
    ov = getattr(study, "overlaps", None)
    if isinstance(ov, pd.DataFrame) and len(ov):
        sec.tables.append(("overlaps", ov, "Overlapping event windows on the same series"))
    return sec


def standard_sections(
    study=None,
    bt=None,
    *,
    sources: list[dict] | None = None,
    events: pd.DataFrame | None = None,
    articles: pd.DataFrame | None = None,
) -> list[Section]:
    """Verdict, events, themes x markets, backtest, data and method, excluded pairs."""
    secs = [verdict_section(study, bt)]
    if events is not None:
        secs.append(events_section(events))
    if study is not None:
        secs.append(themes_section(study))
    if bt is not None:
        secs.append(backtest_section(bt))
    secs.append(data_section(study, sources or [], events, articles))
    if study is not None:
        secs.append(excluded_section(study))
    return secs
