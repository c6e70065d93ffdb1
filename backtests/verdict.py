"""The verdict that opens every report: for the highlighted event and for each theme, in plain
words, what moved, by how much, whether that is distinguishable from noise, and what else happened.

Every number is read from the study's own tables (the honest-answers tables of issue #18), never
recomputed here:

- ``headline``: one row per group x series x CAR window with :data:`HEADLINE_COLUMNS`
  (``car`` in the study's unit, ``pvalue``/``qvalue`` of the headline test, ``stars`` from q only);
- ``confounders``: scheduled releases inside a pair's window, :data:`CONFOUNDER_COLUMNS`
  (``release_time`` UTC, ``rel_day`` on the series' calendar, ``before_close`` bool);
- the single-event view (``study.event(event_id)``): one row per series and CAR window
  (levels in the series' own unit, ``change_bp`` raw change in bp, ``change_sd`` that change in
  estimation-window sd units, ``car`` abnormal change in bp, ``placebo_p``); the verdict reads the
  day-0 window (else days 0 to 1, else the first).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from backtests._labels import join_words, ordered, series_label, theme_label
from backtests.tables import fmt_value

HEADLINE_COLUMNS = (
    "group", "series", "start", "end", "n", "n_eff", "car", "test", "statistic", "pvalue", "qvalue", "stars",
)  # fmt: skip
CONFOUNDER_COLUMNS = ("event_id", "series", "release", "release_time", "rel_day", "before_close")
#: significance level for the plain-words "distinguishable from noise" of a single p-value
ALPHA = 0.05
#: windows the theme verdict prefers (day 0 and the next day first), else the widest
PREFERRED_WINDOWS = ((0, 1), (0, 0))

_TEST_NAMES = {
    "placebo": "placebo",
    "kolari_pynnonen": "Kolari-Pynnönen",
    "bmp": "BMP",
    "patell": "Patell",
    "t_cross_section": "cross-sectional t",
    "single_event": "single-event z",
}
# release name prefix -> the zone its clock time is quoted in
_RELEASE_TZ = (("us", "America/New_York"), ("fomc", "America/New_York"), ("boj", "Asia/Tokyo"))
_TZ_CITY = {"America/New_York": "New York", "Asia/Tokyo": "Tokyo", "UTC": "UTC"}


def _p(v) -> str:
    return fmt_value(v, "p") or "n/a"


def _bp(v) -> str:
    return "n/a" if v is None or not np.isfinite(v) else f"{float(v):+.1f} bp"


def _window(a: int, b: int) -> str:
    if (a, b) == (0, 0):
        return "on day 0"
    if (a, b) == (0, 1):
        return "over day 0 and day 1"
    return f"over days [{a}, {b}]"


def check_columns(frame: pd.DataFrame, needed: Sequence[str], what: str) -> None:
    """Raise a clear error when ``frame`` lacks a column the verdict reads."""
    from backtests.errors import InputFormatError

    missing = [c for c in needed if c not in frame]
    if missing:
        raise InputFormatError(
            f"{what} lacks column(s) {missing} (has {list(frame.columns)}); the report reads "
            f"{list(needed)} from it"
        )


def _release_tz(release: str) -> str:
    low = str(release).lower()
    return next((tz for k, tz in _RELEASE_TZ if low.startswith(k)), "UTC")


def confounder_phrases(confounders: pd.DataFrame | None, event_id) -> list[str]:
    """One phrase per scheduled release in the event's window, e.g. "US payrolls 08:30 New York on
    day 0, before the UST 10y and USD/JPY closes"."""
    if confounders is None or len(confounders) == 0:
        return []
    check_columns(confounders, CONFOUNDER_COLUMNS, "study.confounders")
    c = confounders[confounders["event_id"] == event_id]
    out = []
    for (rel, when), g in c.groupby(["release", "release_time"], sort=True):
        tz = _release_tz(rel)
        if "name" in g and g["name"].notna().any():  # the calendar's human name ("US payrolls")
            rel = str(g["name"].dropna().iloc[0])
        t = pd.Timestamp(when)
        t = (t.tz_localize("UTC") if t.tzinfo is None else t).tz_convert(tz)
        days = sorted({int(d) for d in g["rel_day"]})
        day = f"day {days[0]}" if len(days) == 1 else "days " + join_words(map(str, days))
        before = ordered(g.loc[g["before_close"].astype(bool) & (g["rel_day"] == 0), "series"])
        tail = f", before the {join_words(map(series_label, before))} close{'s' if len(before) > 1 else ''}"
        out.append(f"{rel} {t:%H:%M} {_TZ_CITY.get(tz, tz)} on {day}" + (tail if before else ""))
    return out


def _one_window(view: pd.DataFrame) -> tuple[pd.DataFrame, str]:
    """The rows of one CAR window of a single-event view (day 0 alone when the study has that
    window, else days 0 to 1, else the first window) and how to say it."""
    if not {"start", "end"} <= set(view.columns):
        return view, "on day 0"
    wins = list(dict.fromkeys(zip(view["start"].astype(int), view["end"].astype(int))))
    a, b = next((w for w in ((0, 0), (0, 1)) if w in wins), wins[0]) if wins else (0, 0)
    rows = view[(view["start"] == a) & (view["end"] == b)]
    return rows, "on day 0" if (a, b) == (0, 0) else f"over days {a} to {b}"


def event_sentences(
    view: pd.DataFrame, *, confounders: pd.DataFrame | None = None, event_id=None, model: str | None = None
) -> list[str]:
    """One sentence per series of a single event, from its single-event view.

    Example: "UST 10y +8.0 bp on day 0 (+1.4 sd; abnormal +7.9 bp): not distinguishable from a
    normal day (placebo p 0.230)." With ``model``, a first sentence says what "abnormal" means.
    """
    check_columns(view, ("series", "change_bp", "placebo_p"), "the single-event view")
    view, when = _one_window(view)
    v = view.set_index(view["series"].astype(str))
    out = []
    if model:
        out.append(
            f"Day-0 change per series, in sd of a normal day, and abnormal change under the '{model}' "
            "model; placebo p compares it with random days of the same series."
        )
    for s in ordered(v.index):
        r = v.loc[s]
        sd = r.get("change_sd", np.nan)
        sd_txt = f" ({float(sd):+.1f} sd)" if sd is not None and np.isfinite(sd) else ""
        ab = r.get("car", r.get("ar", np.nan))
        ab_txt = f"; abnormal {_bp(ab)}" if ab is not None and np.isfinite(ab) else ""
        p = r["placebo_p"]
        judged = (
            "larger than on nearly all normal days"
            if p is not None and np.isfinite(p) and p < ALPHA
            else "not distinguishable from a normal day"
        )
        out.append(
            f"{series_label(s)} {_bp(r['change_bp'])} {when}{sd_txt}{ab_txt}: {judged} (placebo p {_p(p)})."
        )
    conf = confounder_phrases(confounders, event_id) if event_id is not None else []
    if conf:
        out.append("Also in the window: " + "; ".join(conf) + ".")
    elif confounders is not None and event_id is not None:
        out.append("No scheduled release (FOMC, BoJ, US payrolls, US CPI) in the window.")
    return out


def pick_window(headline: pd.DataFrame, window: tuple[int, int] | None = None) -> tuple[int, int]:
    """The CAR window the theme verdict reads: ``window`` if given, else [0, 1], else [0, 0], else
    the widest in the table."""
    have = {(int(a), int(b)) for a, b in zip(headline["start"], headline["end"], strict=False)}
    if window is not None:
        return tuple(window)
    for w in PREFERRED_WINDOWS:
        if w in have:
            return w
    return max(have, key=lambda w: (w[1] - w[0], w))


def theme_sentences(
    headline: pd.DataFrame, *, window: tuple[int, int] | None = None, unit: str = "bp"
) -> list[str]:
    """One sentence per group of the headline table over one CAR window.

    Significant cells are those with stars (the study gives stars from q only and never for
    effective N < 3); the rest are summarised by the largest move and the lowest q.
    """
    if headline is None or len(headline) == 0:
        return []
    check_columns(headline, HEADLINE_COLUMNS, "study.headline")
    a, b = pick_window(headline, window)
    h = headline[(headline["start"] == a) & (headline["end"] == b)]
    out = []
    for grp, g in h.groupby("group", sort=True):
        g = g.set_index(g["series"].astype(str)).loc[ordered(g["series"])]
        n, ne = int(g["n"].max()), g["n_eff"].min()
        ne_txt = f", effective N {fmt_value(ne, 'int')}" if np.isfinite(ne) else ""
        head = f"{theme_label(grp)} ({n} event{'s' if n != 1 else ''}{ne_txt}), CAR {_window(a, b)}:"
        starred = g[g["stars"].fillna("").astype(str).str.len() > 0]
        parts = [
            f"{series_label(s)} {_bp(r.car)}{r.stars} ({_TEST_NAMES.get(r.test, r.test)} p {_p(r.pvalue)}, "
            f"q {_p(r.qvalue)})"
            for s, r in starred.iterrows()
        ]
        rest = g.drop(index=starred.index)
        if len(rest):
            big = rest.loc[rest["car"].abs().idxmax()] if rest["car"].notna().any() else rest.iloc[0]
            lowq = rest["qvalue"].min()
            big_txt = (
                f"largest move {series_label(big.name)} {_bp(big['car'])}, "
                f"{_TEST_NAMES.get(big['test'], big['test'])} p {_p(big['pvalue'])}"
            )
            if not np.isfinite(lowq):  # no q-values (adjust='none' or no test): no judgement
                parts.append(f"{big_txt}, q n/a")
            else:
                who = f"the other {len(rest)} series not" if parts else "no series"
                parts.append(f"{who} distinguishable from noise ({big_txt}; lowest q {_p(lowq)})")
        note = ""
        if n == 1:
            note = " One event: an anecdote, not a pattern."
        elif np.isfinite(ne) and ne < 3:
            note = " Fewer than 3 independent events: no stars by rule."
        out.append(f"{head} {'; '.join(parts)}.{note}")
    if unit != "bp":
        out = [s.replace(" bp", f" {unit}") for s in out]
    return out


def with_group(headline: pd.DataFrame) -> pd.DataFrame:
    """``study.headline`` with a ``group`` column (the study's group columns joined with " · ",
    "all events" when it has none) for the report's per-group sentences and heatmap rows."""
    if "group" in headline.columns:
        return headline
    gcols = [c for c in headline.columns if c not in (*HEADLINE_COLUMNS, "kind", "unit")]
    grp = (
        headline[gcols].astype(str).agg(" · ".join, axis=1)
        if gcols
        else pd.Series("all events", index=headline.index)
    )
    return headline.assign(group=grp)


def method_note(headline: pd.DataFrame | None) -> str:
    """How to read p, q and stars, with the number of cells tested."""
    if headline is None or len(headline) == 0:
        return ""
    return (
        "p: two-sided p-value of each cell's headline test (the test named; chosen by the study's "
        f"documented rule); q: Benjamini-Hochberg adjusted over all {len(headline)} cells of the "
        "headline table; stars come from q only and never for an effective N below 3."
    )
