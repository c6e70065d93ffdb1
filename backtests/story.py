"""Narrative report sections built from a :class:`~backtests.pipeline.RunResult`: the
highlighted (seed) event, the market timeline, results by theme and market, and the official
intervention comparison. Only selection and wording happen here; every number comes from the
engine, the backtest or the market loader.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from backtests import plots
from backtests._labels import series_label, sort_key, theme_label
from backtests.sections import Section, verdict_section

#: ``source`` of every article in the project's own sample corpus (data/news/sample_articles.jsonl)
SAMPLE_SOURCE = "newsbt sample"


def markers(cfg) -> pd.DataFrame:
    """Dated context markers for the timeline from ``[[highlight.markers]]`` (``date``, ``label``)."""
    rows = cfg["highlight"].get("markers") or []
    return pd.DataFrame(
        {"date": [str(r["date"]) for r in rows], "label": [str(r["label"]) for r in rows]},
        columns=["date", "label"],
    )


def news_corpus(articles: pd.DataFrame | None) -> str | None:
    """``None`` for the project's sample corpus (or no articles), else the real sources named."""
    if articles is None or not len(articles) or "source" not in articles:
        return None
    src = articles["source"].astype(str)
    if (src == SAMPLE_SOURCE).all():
        return None
    top = src[src != SAMPLE_SOURCE].value_counts().head(3).index.tolist()
    return ", ".join(top)


def _pvalue(tests: pd.DataFrame, test: str, start: int, end: int) -> float:
    r = tests[(tests["test"] == test) & (tests["start"] == start) & (tests["end"] == end)]
    return float(r["pvalue"].iloc[0]) if len(r) else float("nan")


def highlight_section(res) -> Section | None:
    """The seed event: day 0 per series, AR path and CAR with Patell and placebo p-values."""
    from backtests.calendar import align_events

    cfg = res.config["highlight"]
    if not cfg["theme"]:
        return None
    if res.highlight_study is None:
        return Section(
            f"Highlighted event ({cfg['theme']}, {cfg['date']})",
            ["No event of this theme on this date was extracted from the articles."],
        )
    row, st = res.highlight_event, res.highlight_study
    eid = row["event_id"]
    ts = pd.Timestamp(row["timestamp"])
    w = tuple(st.settings["window"])
    # the same article after the Tokyo close: where would each day 0 be?
    late = ts.tz_convert("Asia/Tokyo").normalize() + pd.Timedelta(hours=16)
    alt = align_events(pd.DataFrame({"event_id": [eid], "timestamp": [late.tz_convert("UTC")]}), res.market)
    alt_day0 = dict(zip(alt["series"], alt["day0"], strict=False))
    rows = []
    for _, p in st.pairs.iterrows():
        s = p["series"]
        close, tz = res.market.close_time(s)
        car = st.car[st.car["series"] == s]
        tests = st.tests[st.tests["series"] == s]
        rec = {
            "series": s,
            "name": series_label(s),
            "article (local time)": f"{ts.tz_convert(tz):%a %d %b %Y %H:%M} {ts.tz_convert(tz).tzname()}",
            "close": f"{close:%H:%M}",
            "day 0": f"{pd.Timestamp(p['day0']):%a %d %b %Y}",
            "day 0 if 16:00 Tokyo": f"{pd.Timestamp(alt_day0[s]):%a %d %b %Y}"
            if pd.notna(alt_day0.get(s))
            else "",
        }
        for a, b in sorted({(int(x), int(y)) for x, y in zip(car["start"], car["end"], strict=False)}):
            v = car[(car["start"] == a) & (car["end"] == b)]["car"]
            rec[f"CAR[{a},{b}] (bp)"] = float(v.iloc[0]) if len(v) else np.nan
        for t in ("patell", "placebo"):
            rec[f"{t} p [{w[0]},{w[1]}]"] = _pvalue(tests, t, *w)
            rec[f"{t} p [0,1]"] = _pvalue(tests, t, 0, 1)
        rows.append(rec)
    table = (
        pd.DataFrame(rows)
        .sort_values("series", key=lambda c: c.map(sort_key), kind="stable")
        .reset_index(drop=True)
    )
    d0 = table["day 0"].unique()
    alt_d0 = table["day 0 if 16:00 Tokyo"].unique()
    differ = (
        f"Here the day 0s are {', '.join(d0)}."
        if len(d0) > 1
        else f"This article came before every close, so all day 0s are {d0[0]}; had it come at 16:00 "
        f"Tokyo, after the JGB close, day 0 would be {' / '.join(alt_d0)} (column 'day 0 if 16:00 "
        "Tokyo'): JGBs move to the next Tokyo session, New York series stay on the same date."
    )
    text = [
        f"“{row['headline']}” — first article {ts:%a %d %b %Y %H:%M} UTC "
        f"({ts.tz_convert('Asia/Tokyo'):%H:%M} Tokyo, {ts.tz_convert('America/New_York'):%H:%M} New York), "
        f"{int(row.get('n_articles', 1))} article(s), mean sentiment {row.get('sentiment', np.nan):+.2f}.",
        "Day 0 is the first session of each series whose close (of the source used) is at or after the "
        "article: JGB yields are 15:00 Tokyo values, H.15 Treasury yields 15:30 New York quotes and the "
        "H.10 USD/JPY rate the noon New York buying rate. " + differ,
        "Abnormal changes are measured against each series' own mean change over the estimation window "
        f"{list(st.settings['estimation'])} (trading days, model '{st.settings['model']}'). For one event the "
        "Patell test asks whether the CAR is large relative to the series' own estimation-window "
        "volatility; the placebo p-value compares it with CARs on random non-event days of the same series "
        "(same window): the honest test for a single macro news event.",
    ]
    if cfg.get("note"):
        text.insert(0, str(cfg["note"]))
    sec = Section(
        f"Highlighted event: {theme_label(cfg['theme'])}, {ts.tz_convert('Asia/Tokyo'):%a %d %b %Y}",
        text,
        key="event",
        note=f"Units: bp; model '{st.settings['model']}' fitted over trading days {list(st.settings['estimation'])}.",
    )
    fig_title = f"{theme_label(cfg['theme'])}, {ts.tz_convert('Asia/Tokyo'):%a %d %b %Y %H:%M} Tokyo: “{_short(row['headline'])}”"
    sec.figures.append(
        (
            f"event_{cfg['theme']}",
            lambda: plots.plot_event_paths(st, event_id=eid, title=fig_title),
            "Daily abnormal change (bars) and its running sum (line) per series, bp; grey bands: ±1 and ±2 sd of a normal day",
        )
    )
    sec.tables.append(("highlight", table, "Day 0, CAR (bp) and p-values per series"))
    return sec


def _short(text, n: int = 90) -> str:
    t = str(text)
    return t if len(t) <= n else t[: n - 1].rsplit(" ", 1)[0] + "…"


def timeline_section(res) -> Section | None:
    """Market levels with events coloured by theme over the highlight period (the events table is
    in 'Events studied', once)."""
    cfg = res.config["highlight"]
    if not cfg["timeline_start"]:
        return None
    start, end = str(cfg["timeline_start"]), str(cfg["timeline_end"] or cfg["timeline_start"])
    ann = markers(res.config)
    ann = ann[(ann["date"] >= start) & (ann["date"] <= end)]
    sec = Section(
        f"Market timeline {start} to {end}",
        [
            "Markers are news events (colour: theme, size: |sentiment|); numbered dotted lines mark the dated facts listed under the chart."
        ],
        key="timeline",
        note="Units: levels in each series' own unit (yields in percent, USD/JPY in yen per dollar).",
    )
    sec.figures.append(
        (
            "timeline",
            lambda: plots.plot_timeline(res.market, res.events, start=start, end=end, annotations=ann),
            "Market levels and news events",
        )
    )
    return sec


def interventions_section(res) -> Section | None:
    """Official intervention days: study, overlap handling, news coverage."""
    st = res.intervention_study
    if st is None:
        return None
    iv = res.interventions
    n_buy = int((iv["jpy_direction"] == "buy_jpy").sum())
    n_sell = int((iv["jpy_direction"] == "sell_jpy").sum())
    ov = getattr(st, "overlaps", pd.DataFrame())
    text = [
        f"{len(iv)} official intervention days since {res.config['interventions']['start']} "
        f"(Japan Ministry of Finance daily records; {n_buy} yen-buying, {n_sell} yen-selling), studied with "
        f"the same engine on {', '.join(st.pairs['series'].unique()) if len(st.pairs) else 'no series'}.",
        f"Interventions cluster on consecutive days: {len(ov)} pairs of event windows on the same series "
        f"overlap (table below); they are handled with overlap='{res.config['interventions']['overlap']}'. "
        "With overlapping windows the events are not independent: read the Kolari-Pynnönen test, which "
        "discounts the cross-correlation of residuals by how much two windows share calendar days, rather "
        f"than BMP or the cross-sectional t-test. {len(st.excluded)} event-series pairs were excluded, each "
        "with its reason (table below).",
        "USD/JPY here is the H.10 noon New York rate: on intervention days it can sit far from the "
        "intraday extremes, so day-0 moves understate what traders saw.",
    ]
    sec = Section(
        f"Official intervention days (MOF) since {str(res.config['interventions']['start'])[:4]}",
        text,
        key="interventions",
        note=f"Units: bp (USD/JPY log returns, yield changes); model '{st.settings['model']}' over trading days "
        f"{list(st.settings['estimation'])}, grouped by yen leg and series.",
    )
    sec.figures.append(
        (
            "interventions_caar",
            plots.plot_caar(st, title="CAAR around official intervention days, by yen leg and series"),
            "CAAR (bp) around official intervention days with 95 % band",
        )
    )
    sec.tables.append(("interventions_tests", st.tests, "Tests by yen leg and series"))
    if len(ov):
        sec.tables.append(
            ("interventions_overlaps", ov, "Overlapping windows of clustered intervention days")
        )
    sec.tables.append(("interventions_excluded", st.excluded, "Excluded intervention pairs, with reasons"))
    sec.paragraphs.append(_news_match_text(res, sec))
    return sec


def _news_match_text(res, sec: Section) -> str:
    """How many official days the news events caught: only for a real news corpus."""
    m = res.matches
    corpus = news_corpus(res.articles)
    if corpus is None:
        n = len(res.articles) if res.articles is not None else 0
        return (
            f"News coverage of these days is not measured here: the news input is the project's own sample "
            f"corpus ({n} articles written for this demo around known dates), so counting the official days "
            "it 'catches' would measure nothing. Run the config on a real news corpus to get that count."
        )
    news = res.events[res.events["theme"] == "yen_intervention"]
    if m is None or not len(m) or not len(news):
        return f"No yen_intervention events in the real news corpus ({corpus}) to compare with the official days."
    t = pd.to_datetime(news["timestamp"])
    lo, hi = t.min().tz_convert(None).normalize(), t.max().tz_convert(None).normalize()
    span = m[(m["date"] >= lo - pd.Timedelta(days=7)) & (m["date"] <= hi + pd.Timedelta(days=7))]
    caught = span[span["caught"]]
    lag = caught["lag_days"]
    sec.tables.append(("interventions_news_match", span, "Official days vs news events"))
    return (
        f"Real news ({corpus}): {len(news)} yen_intervention events, {lo:%Y-%m-%d} to {hi:%Y-%m-%d}, caught "
        f"{len(caught)} of the {len(span)} official days in that span within ±{res.config['interventions']['match_days']} "
        f"days; median lag {lag.median() if len(lag) else float('nan'):+.1f} days (news date minus MOF date; "
        "negative = the news came first)."
    )


def _fmt_p(p: float) -> str:
    return "n/a" if not np.isfinite(p) else ("< 0.001" if p < 0.001 else f"{p:.3f}")


def _intervention_line(res) -> str | None:
    """One verdict line on the official interventions: Kolari-Pynnönen (clustered days) on USD/JPY."""
    ist = res.intervention_study
    if ist is None:
        return None
    t = ist.tests[
        (ist.tests["test"] == "kolari_pynnonen") & (ist.tests["start"] == 0) & (ist.tests["end"] == 1)
    ]
    t = t[t["series"] == "usdjpy"] if "series" in t else t
    if "caar" not in t or t.empty:
        return None
    parts = [
        f"{'yen buying' if r.jpy_direction == 'buy_jpy' else 'yen selling'} {r.caar:+.1f} bp (N={int(r.n)}, "
        f"Kolari-Pynnönen p {_fmt_p(r.pvalue)})"
        for r in t.itertuples()
    ]
    return "Official interventions, USD/JPY over day 0 and day 1: " + "; ".join(parts) + "."


def event_view(res) -> pd.DataFrame | None:
    """The highlighted event's single-event view (``study.event(event_id)``)."""
    st, row = res.highlight_study, res.highlight_event
    if st is None or row is None:
        return None
    return st.event(row["event_id"])


def verdict(res) -> Section:
    """The demo's verdict: the shared verdict plus the highlighted event and the interventions."""
    return verdict_section(
        res.study,
        res.backtest,
        event_view=event_view(res),
        event=None if res.highlight_event is None else res.highlight_event.to_dict(),
        event_study=res.highlight_study,
        intervention_line=_intervention_line(res),
    )


def sections(res) -> list[Section]:
    """The narrative sections of a run (the report adds the standard ones around them)."""
    out = [verdict(res), highlight_section(res), timeline_section(res), interventions_section(res)]
    notes = [n for n in res.notes if n]
    if res.rejects is not None and len(res.rejects):
        notes.append(f"{len(res.rejects)} article rows were rejected by the readers (table below).")
    secs = [s for s in out if s is not None]
    if notes or (res.rejects is not None and len(res.rejects)):
        s = Section("Run notes", notes, key="notes")
        if res.rejects is not None and len(res.rejects):
            s.tables.append(("article_rejects", res.rejects, "Rejected article rows, with reasons"))
        secs.append(s)
    return secs
