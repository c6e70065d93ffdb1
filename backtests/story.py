"""Narrative report sections built from a :class:`~backtests.pipeline.RunResult`: the
highlighted (seed) event, the market timeline, results by theme and market, and the official
intervention comparison. Only selection and wording happen here; every number comes from the
engine, the backtest or the market loader.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from backtests import plots
from backtests.report import Section, portfolio_stats

# dated context markers for the April-May 2025 timeline (facts: ../shared/data/news/events_reference.csv)
APRIL_2025 = pd.DataFrame(
    {
        "date": ["2025-04-02", "2025-04-07", "2025-04-09", "2025-04-11", "2025-05-02"],
        "label": [
            "tariffs announced (after NY close)",
            "Treasury sell-off begins",
            "90-day tariff pause",
            "sell-off week ends",
            "Japan FM: Treasuries a card",
        ],
    }
)


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
            "article (local time)": f"{ts.tz_convert(tz):%a %d %b %Y %H:%M} {tz}",
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
    table = pd.DataFrame(rows)
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
    sec = Section(f"Highlighted event: {cfg['theme']} ({ts:%d %B %Y})", text)
    sec.figures.append(
        (
            f"event_{cfg['theme']}",
            plots.plot_event_paths(st, event_id=eid),
            "Abnormal changes (bars) and cumulative abnormal change (line), bp, per series",
        )
    )
    sec.tables.append(("highlight", table, "Day 0, CAR (bp) and p-values per series"))
    return sec


def timeline_section(res) -> Section | None:
    """Market levels with events coloured by theme over the highlight period."""
    cfg = res.config["highlight"]
    if not cfg["timeline_start"]:
        return None
    start, end = str(cfg["timeline_start"]), str(cfg["timeline_end"] or cfg["timeline_start"])
    ann = APRIL_2025[(APRIL_2025["date"] >= start) & (APRIL_2025["date"] <= end)]
    sec = Section(
        f"Market timeline {start} to {end}",
        [
            "Levels in their own units (yields in percent, USD/JPY in yen per dollar); markers are "
            "news events (colour: theme, size: |sentiment|); dotted lines mark dated facts."
        ],
    )
    sec.figures.append(
        (
            "timeline",
            plots.plot_timeline(res.market, res.events, start=start, end=end, annotations=ann),
            "Market levels and news events",
        )
    )
    ev = res.events
    t = pd.to_datetime(ev["timestamp"])
    sel = ev[(t >= pd.Timestamp(start, tz="UTC")) & (t <= pd.Timestamp(end, tz="UTC") + pd.Timedelta(days=1))]
    cols = [c for c in ("event_id", "theme", "timestamp", "n_articles", "sentiment", "headline") if c in sel]
    sec.tables.append(("timeline_events", sel[cols], "Events in the period"))
    return sec


def themes_section(res) -> Section | None:
    """CAAR heatmap by theme x series."""
    if res.study is None:
        return None
    sec = Section(
        "Results by theme and market",
        [
            "Mean CAR over the event window per theme and series with the cross-sectional t-test's "
            "stars. With few events per theme, read the placebo p-values in the tests table."
        ],
    )
    sec.figures.append(("car_heatmap", plots.plot_car_heatmap(res.study), "CAAR by theme and series (bp)"))
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
    sec = Section("Official intervention days (MOF) since 1995", text)
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
    m = res.matches
    if m is not None and len(m):
        news = res.events[res.events["theme"] == "yen_intervention"]
        if len(news):
            t = pd.to_datetime(news["timestamp"])
            lo, hi = t.min().tz_convert(None).normalize(), t.max().tz_convert(None).normalize()
            span = m[(m["date"] >= lo - pd.Timedelta(days=7)) & (m["date"] <= hi + pd.Timedelta(days=7))]
            caught = span[span["caught"]]
            lag = caught["lag_days"]
            sec.paragraphs.append(
                f"News-derived yen_intervention events ({len(news)} events, {lo:%Y-%m-%d} to {hi:%Y-%m-%d}) "
                f"caught {len(caught)} of the {len(span)} official days in that span within "
                f"±{res.config['interventions']['match_days']} days; median lag "
                f"{lag.median() if len(lag) else float('nan'):+.1f} days (news date minus MOF date; "
                "negative = the news came first)."
            )
            sec.tables.append(("interventions_news_match", span, "Official days vs news events"))
    return sec


def _fmt_p(p: float) -> str:
    return "n/a" if not np.isfinite(p) else ("< 0.001" if p < 0.001 else f"{p:.3f}")


def summary_section(res) -> Section:
    """Headline findings in a few sentences (numbers from the results, nothing recomputed)."""
    paras = []
    if res.market is not None:
        prov = res.market.provenance.values()
        origins = sorted({p.origin for p in prov})
        last = max((p.end for p in prov if p.end is not None), default=None)
        paras.append(
            f"Data: {len(res.market.series)} real daily series ({', '.join(res.market.series)}) from "
            f"{', '.join(sorted({p.publisher.split(',')[0] for p in prov if p.publisher}))}; origin "
            f"{'/'.join(origins)}; last date used {last:%Y-%m-%d}."
            if last is not None
            else ""
        )
    if res.events is not None:
        counts = res.events["theme"].value_counts().sort_index()
        src = f"{len(res.articles)} articles -> " if res.articles is not None else ""
        paras.append(
            f"News: {src}{len(res.events)} events (" + ", ".join(f"{k} {v}" for k, v in counts.items()) + ")."
        )
    st = res.highlight_study
    if st is not None:
        c = st.car[(st.car["start"] == 0) & (st.car["end"] == 1)].set_index("series")["car"]
        t = st.tests[(st.tests["test"] == "placebo") & (st.tests["start"] == 0) & (st.tests["end"] == 1)]
        p = t.set_index("series")["pvalue"] if len(t) else pd.Series(dtype=float)
        parts = [f"{s} {c[s]:+.1f} bp (placebo p {_fmt_p(p.get(s, np.nan))})" for s in c.index]
        paras.append(
            f"Highlighted event ({res.config['highlight']['theme']}, "
            f"{pd.Timestamp(res.highlight_event['timestamp']):%d %b %Y}): CAR[0,1] " + "; ".join(parts) + "."
        )
    ist = res.intervention_study
    if ist is not None:
        t = ist.tests[
            (ist.tests["test"] == "kolari_pynnonen") & (ist.tests["start"] == 0) & (ist.tests["end"] == 1)
        ]
        t = t[t["series"] == "usdjpy"] if "series" in t else t
        parts = (
            [
                f"{r.jpy_direction}: CAAR[0,1] {r.caar:+.1f} bp on USD/JPY, N={int(r.n)}, Kolari-Pynnönen p "
                f"{_fmt_p(r.pvalue)}"
                for r in t.itertuples()
            ]
            if "caar" in t
            else []
        )
        if parts:
            paras.append("Official interventions since 1995: " + "; ".join(parts) + ".")
    bt = res.backtest
    if bt is not None:
        get = portfolio_stats(bt).get
        tot, sh, pp = get("total_bp"), get("sharpe"), get("placebo_total_pvalue")
        if tot is not None:
            paras.append(
                f"Backtest: {tot:+.0f} bp net of costs over the period, Sharpe {sh:.2f} (252-day), "
                f"placebo p {_fmt_p(pp if pp is not None else np.nan)} (same rules on random dates)."
            )
    return Section("Summary", [p for p in paras if p])


def sections(res) -> list[Section]:
    """All narrative sections that apply to this run, in reading order."""
    out = [
        summary_section(res),
        highlight_section(res),
        timeline_section(res),
        themes_section(res),
        interventions_section(res),
    ]
    notes = [n for n in res.notes if n]
    if res.rejects is not None and len(res.rejects):
        notes.append(f"{len(res.rejects)} article rows were rejected by the readers (table below).")
    secs = [s for s in out if s is not None]
    if notes or (res.rejects is not None and len(res.rejects)):
        s = Section("Run notes", notes)
        if res.rejects is not None and len(res.rejects):
            s.tables.append(("article_rejects", res.rejects, "Rejected article rows, with reasons"))
        secs.append(s)
    return secs
