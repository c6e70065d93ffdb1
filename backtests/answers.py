"""What a study answers: the glue between :func:`backtests.event_study` and the headline,
confounder and single-event tables (:mod:`backtests.headline`, :mod:`backtests.confounders`).

:func:`finish` runs at the end of :func:`backtests.event_study` with the call's arguments: it
lists the confounders (and, with ``confounders="exclude"``, re-runs the study without the
confounded pairs, reason ``confounded``), warns when more than :data:`WARN_EXCLUDED_SHARE` of the
requested pairs are excluded, and attaches ``study.headline`` (built on first read: one extra
engine run grouped by series when the study is not) and ``study.confounders``.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

import numpy as np
import pandas as pd

from backtests import confounders as cf
from backtests import headline as hl
from signals.errors import ConfigError, NewsbtWarning

log = logging.getLogger(__name__)

__all__ = ["WARN_EXCLUDED_SHARE", "event_view", "finish", "summary_text"]

#: Share of requested pairs above which an exclusion warning is raised.
WARN_EXCLUDED_SHARE = 0.05


def _rerun(call: dict[str, Any], events: pd.DataFrame | None = None, **over: Any):
    """The same study with some arguments replaced (no warnings, no confounders)."""
    from backtests.study import event_study

    kw = {k: v for k, v in call.items() if k not in ("changes", "events")}
    kw.update(confounders="ignore", **over)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NewsbtWarning)
        return event_study(call["changes"], call["events"] if events is None else events, **kw)


def _kept_events(study, gcols: list[str]) -> pd.DataFrame:
    """The kept pairs as explicit events (``date`` = day 0, already a session of the series)."""
    cols = ["event_id", "series", "day0", *[g for g in gcols if g not in ("event_id", "series")]]
    return study.pairs[cols].rename(columns={"day0": "date"})


def _releases(call: dict[str, Any]) -> pd.DataFrame:
    from backtests.macro import macro_calendar, read_releases

    rel = call.get("releases")
    if rel is None:
        return macro_calendar()
    return rel if isinstance(rel, pd.DataFrame) and "time_exact" in rel else read_releases(rel)


def _exclude(study, call, conf: pd.DataFrame, days: tuple[int, int]):
    """Re-run on the kept pairs without those with a release on ``days`` (reason ``confounded``)."""
    hit = conf[(conf["rel_day"] >= days[0]) & (conf["rel_day"] <= days[1])]
    if hit.empty:
        return study
    text = hit.groupby(["event_id", "series"], sort=False)["name"].agg(", ".join)
    pk = pd.MultiIndex.from_frame(study.pairs[["event_id", "series"]])
    bad = pk.isin(text.index)
    ev = _kept_events(study, list(study.settings["group_by"]))
    new = _rerun(call, events=ev[~bad].reset_index(drop=True))
    p = study.pairs[bad]
    x = pd.DataFrame(
        {
            "event_id": p["event_id"].to_numpy(dtype=object),
            "series": p["series"].to_numpy(dtype=object),
            "date": p["day0"].to_numpy(),
            "day0": p["day0"].to_numpy(),
            "reason": "confounded",
            "detail": [f"{text[k]} on relative days {days[0]} to {days[1]}" for k in pk[bad]],
            "n_est": p["n_est"].to_numpy(dtype=float),
            "n_missing": np.nan,
        }
    )
    prev = study.excluded
    new.excluded = pd.concat([prev, x], ignore_index=True) if len(prev) else x
    new.overlaps = study.overlaps
    new.n_requested = study.n_requested
    return new


def finish(study, call: dict[str, Any], notes: list[str] | None = None):
    """Attach confounders and the headline to ``study`` (see the module docstring)."""
    a, b = study.settings["window"]
    policy, days = cf.parse_policy(call.get("confounders", "flag"), (a, b))
    adjust = call.get("adjust", "bh") or "bh"
    if adjust not in hl.ADJUST:
        raise ConfigError(f"adjust={adjust!r}: choose 'bh', 'holm' or 'none'")
    calendar = study.settings["calendar"]
    if policy == "ignore":
        conf = cf.empty_table()
    else:
        conf = cf.confounder_table(study.pairs, call["changes"], _releases(call), (a, b), calendar)
    if policy == "exclude":
        study = _exclude(study, call, conf, days)
    study.confounders = conf
    study.notes = list(notes or [])
    study.settings = {**study.settings, "confounders": policy, "adjust": adjust}
    study._call = call
    _warn_excluded(study)
    return study


def _warn_excluded(study) -> None:
    n_req = study.n_requested
    n_x = n_req - len(study.pairs)  # without building study.excluded (assembled on first read)
    if n_req and n_x > WARN_EXCLUDED_SHARE * n_req:
        counts = study.excluded_counts()
        why = ", ".join(f"{k} {v}" for k, v in counts.items())
        warnings.warn(
            f"event_study: {n_x} of {n_req} event-series pairs excluded ({n_x / n_req:.0%}): {why}; "
            "see study.excluded (detail column) for the fix",
            NewsbtWarning,
            stacklevel=3,
        )


def headline_of(study) -> pd.DataFrame:
    """``study.headline`` (built on first read from the call kept by :func:`finish`)."""
    if study._call is None:  # a study not made by event_study: no cells to answer
        return pd.DataFrame(columns=[*study.settings.get("group_by", []), *hl.HEADLINE_COLUMNS])
    return _headline(study, study._call, study.settings.get("adjust", "bh"))


def _headline(study, call: dict[str, Any], adjust: str) -> pd.DataFrame:
    gcols = list(study.settings["group_by"])
    if "series" in gcols and set(hl.HEADLINE_TESTS) <= set(study.settings["tests"]):
        cell_tests = study.tests
    elif len(study.pairs) == 0:
        cell_tests = pd.DataFrame(columns=[*gcols, "series", "test", "start", "end", "statistic", "pvalue"])
    else:  # one more engine run on the kept pairs, grouped by series too
        keys = [g for g in gcols if g != "series"] + ["series"]
        cell_tests = _rerun(
            call, events=_kept_events(study, keys), group_by=keys, tests=list(hl.HEADLINE_TESTS)
        ).tests
    return hl.headline_table(
        study.car, study.pairs, cell_tests, call["changes"], gcols, study.settings["calendar"], adjust
    )


# ------------------------------------------------------------------------------------------ event
def event_view(study, call: dict[str, Any], event_id: Any, market: Any = None) -> pd.DataFrame:
    """Single-event view: per series and CAR window the raw move, its size in estimation-window
    sd units, AR/CAR under the study's model, the placebo p-value and the confounders.

    Returns
    -------
    DataFrame
        ``event_id``, ``series``, ``kind``, ``day0``, ``start``, ``end``, ``level_before`` /
        ``level_after`` (the series' level at the close before the window and at its last
        session; NaN without ``market``), ``change_bp`` (sum of raw changes over the window, input
        unit), ``sd_bp`` (estimation-window sd of daily raw changes, ddof 1), ``change_sd``
        (change / (sd x sqrt(days))), ``car``, ``car_se``, ``scar`` (car / car_se), ``ar_day0``,
        ``placebo_p`` (this event alone against pseudo-events of the same series), ``model``,
        ``confounders`` (text, ``; ``-separated).
    """
    p = study.pairs[study.pairs["event_id"].astype(str) == str(event_id)]
    if p.empty:
        raise ConfigError(f"event {event_id!r} is not among the kept pairs (see study.excluded)")
    changes = call["changes"]
    cal = study.settings["calendar"]
    (c0, c1) = study.settings["estimation"]
    placebo = _event_placebo(study, call, p)
    car = study.car[study.car["event_id"].astype(str) == str(event_id)]
    rows = []
    kinds, _ = hl._kinds(changes, car["series"].astype(str).to_numpy())
    for (_, r), kind in zip(car.iterrows(), kinds):
        sid = str(r["series"])
        d0 = p.loc[p["series"].astype(str) == sid, "day0"].iloc[0]
        col = changes[sid] if cal == "index" else changes[sid].dropna()
        col = col.set_axis(pd.DatetimeIndex(col.index).tz_localize(None) if col.index.tz else col.index)
        pos = int(np.searchsorted(col.index.to_numpy(), np.datetime64(d0)))
        w = col.iloc[pos + int(r["start"]) : pos + int(r["end"]) + 1]
        est = col.iloc[max(pos + c0, 0) : pos + c1 + 1]
        sd = float(est.std(ddof=1))
        chg = float(w.sum())
        lv_b = lv_a = np.nan
        if market is not None and sid in market.levels.columns:
            lv = market.levels[sid].dropna()
            i0 = int(np.searchsorted(lv.index.to_numpy(), np.datetime64(w.index[0])))
            i1 = int(np.searchsorted(lv.index.to_numpy(), np.datetime64(w.index[-1])))
            lv_b, lv_a = float(lv.iloc[i0 - 1]) if i0 > 0 else np.nan, float(lv.iloc[i1])
        cx = study.confounders
        cx = cx[(cx["event_id"].astype(str) == str(event_id)) & (cx["series"].astype(str) == sid)]
        rows.append(
            {
                "event_id": r["event_id"], "series": sid, "kind": kind, "day0": d0,
                "start": int(r["start"]), "end": int(r["end"]),
                "level_before": lv_b, "level_after": lv_a, "change_bp": chg, "sd_bp": sd,
                "change_sd": chg / (sd * np.sqrt(len(w))) if sd > 0 else np.nan,
                "car": r["car"], "car_se": r["se"], "scar": r["car"] / r["se"] if r["se"] > 0 else np.nan,
                "ar_day0": float(study.ar.loc[(r["event_id"], sid), 0]) if 0 in study.ar.columns else np.nan,
                "placebo_p": float(placebo.get((sid, int(r["start"]), int(r["end"])), np.nan)),
                "model": study.settings["model"],
                "confounders": "; ".join(cf.describe(x) for _, x in cx.iterrows()),
            }
        )  # fmt: skip
    return pd.DataFrame(rows)


def _event_placebo(study, call: dict[str, Any], p: pd.DataFrame) -> pd.Series:
    """Placebo p-value per (series, start, end) of one event's kept pairs ``p``: this event alone
    against pseudo-events of the same series. A study of this one event grouped by series that ran
    the placebo test already holds exactly these numbers (the same pairs, draws and seed: the
    highlight study of ``newsbt demo``), so they are read from ``study.tests``; otherwise one
    engine run on the event's pairs."""
    s = study.settings
    t = study.tests
    if (
        list(s["group_by"]) == ["series"]
        and "placebo" in s["tests"]
        and study.pairs["event_id"].nunique() == 1
        and call.get("confounders", "flag") != "exclude"
    ):
        own = t[t["test"] == "placebo"].set_index(["series", "start", "end"])["pvalue"]
        need = study.car[["series", "start", "end"]].drop_duplicates()
        if pd.MultiIndex.from_frame(need).isin(own.index).all():
            return own
    one = p[["event_id", "series", "day0"]].rename(columns={"day0": "date"})
    pl = _rerun(call, events=one, group_by=["series"], tests=["placebo"], car_windows=s["car_windows"][1:])
    return pl.tests.set_index(["series", "start", "end"])["pvalue"]


# ------------------------------------------------------------------------------------------ text
def summary_text(study, all_tests: bool = False) -> str:
    """Compact summary: settings, pairs and exclusions, confounders, the headline table (one line
    per cell, units in the header), and the full battery when ``all_tests``."""
    s = study.settings
    lines = [
        f"Event study: model={s['model']}, calendar={s['calendar']}, window={s['window']}, "
        f"estimation={s['estimation']}, confounders={s.get('confounders', 'flag')}",
        f"pairs: {len(study.pairs)} kept, {len(study.excluded)} excluded of {study.n_requested} requested",
    ]
    if len(study.excluded):
        counts = study.excluded_counts()
        lines.append("excluded: " + ", ".join(f"{k} {v}" for k, v in counts.items()))
    if len(study.overlaps):
        lines.append(f"overlapping windows: {len(study.overlaps)} (overlap={s['overlap']!r})")
    conf = getattr(study, "confounders", None)
    if conf is not None and len(conf):
        per = conf.groupby("name").size()
        lines.append(
            f"confounders: {len(conf)} scheduled releases inside event windows ("
            + ", ".join(f"{k} {v}" for k, v in per.items())
            + "); see study.confounders"
        )
    lines.extend(f"note: {n}" for n in getattr(study, "notes", []))
    h = study.headline
    if len(h):
        units = sorted({u for u in h["unit"] if u}) or ["input unit"]
        show = h.drop(columns=["unit"]).rename(columns={"car": f"car [{'/'.join(units)}]"})
        lines.append(
            f"headline: one test per cell ({h.attrs.get('m', len(h))} cells tested, q = "
            f"{ {'bh': 'Benjamini-Hochberg', 'holm': 'Holm', 'none': 'unadjusted p'}[h.attrs.get('adjust', 'bh')] })"
        )
        lines.append(
            show.to_string(
                index=False,
                formatters={
                    show.columns[list(show.columns).index(f"car [{'/'.join(units)}]")]: "{:9.2f}".format,
                    "statistic": "{:8.2f}".format,
                    "pvalue": "{:6.3f}".format,
                    "qvalue": "{:6.3f}".format,
                },
            )  # fmt: skip
        )
        lines.append(
            "stars from q only: * q<0.1 ** q<0.05 *** q<0.01; none when n_eff<3. Test rule: "
            "backtests.headline (single event -> standardised move + placebo p; n_eff<10 -> placebo; "
            "shared days -> Kolari-Pynnonen; else BMP). All tests: study.tests / summary(all_tests=True)."
        )
    if all_tests and len(study.tests):
        t = study.tests
        gcols = s["group_by"] or []
        show = [*gcols, "test", "start", "end", "statistic", "pvalue", "n"]
        lines.append("full battery (unadjusted p; no stars):")
        lines.append(
            t[show].to_string(
                index=False,
                formatters={"statistic": "{:8.3f}".format, "pvalue": "{:7.4f}".format, "n": "{:.0f}".format},
            )
        )
    return "\n".join(lines)
