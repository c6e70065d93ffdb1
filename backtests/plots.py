"""Charts. Each function takes a result object (or a Market and events) and returns a
:class:`matplotlib.figure.Figure`; none recomputes a statistic (they only draw the numbers the
engine, the market loader and the backtest already produced).

Figures are built with the object-oriented API (no pyplot state), so they are safe in scripts,
report jobs and notebooks alike (Jupyter displays a returned Figure).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

__all__ = [
    "plot_backtest",
    "plot_caar",
    "plot_car_distribution",
    "plot_car_heatmap",
    "plot_event_paths",
    "plot_timeline",
    "save_figure",
]

# one palette for themes everywhere (colour-blind-safe Okabe-Ito, then tab10)
_PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442"]
_RC = {"axes.grid": True, "grid.alpha": 0.3, "axes.spines.top": False, "axes.spines.right": False}


def _colour(i: int) -> str:
    return _PALETTE[i % len(_PALETTE)]


def _theme_colours(themes: Sequence[str]) -> dict[str, str]:
    return {t: _colour(i) for i, t in enumerate(sorted(set(map(str, themes))))}


def _figure(nrows: int = 1, ncols: int = 1, *, width: float = 9.0, height: float = 3.2, **kw):
    fig = Figure(figsize=(width, height * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    for ax in axes.flat:
        for k, v in _RC.items():
            if k == "axes.grid":
                ax.grid(v, alpha=_RC["grid.alpha"])
            elif k.startswith("axes.spines."):
                ax.spines[k.rsplit(".", 1)[1]].set_visible(v)
    return fig, axes


def _unit(study) -> str:
    return getattr(study, "unit", "bp") or "bp"


def _group_cols(frame: pd.DataFrame, exclude: Sequence[str]) -> list[str]:
    return [c for c in frame.columns if c not in exclude]


def _label(key) -> str:
    if isinstance(key, tuple):
        return " · ".join(str(k) for k in key)
    return str(key)


def _empty(fig: Figure, ax, msg: str) -> Figure:
    ax.text(0.5, 0.5, msg, ha="center", va="center", transform=ax.transAxes, color="0.4")
    ax.set_axis_off()
    return fig


def plot_caar(
    study, *, level: float = 0.95, panel: str = "series", max_panels: int = 12, title: str | None = None
) -> Figure:
    """CAAR path per group with a confidence band and the day-0 line: one panel per ``panel``
    value (each market on its own scale), one line per remaining group.

    Parameters
    ----------
    study : EventStudy
        Uses ``study.caar`` (group columns, ``rel_day``, ``aar``, ``caar``, ``n`` and, when
        present, ``caar_se``: the cross-sectional standard error of the CAAR, in the study's unit).
    level : float
        Two-sided confidence level of the band (normal quantile), default 0.95.
    panel : str
        Group column that gets its own panel (default ``series``); ignored when absent.
    max_panels : int
        At most this many panels; the rest are named in the title.
    title : str, optional

    Returns
    -------
    matplotlib.figure.Figure
        y axis in the study's unit (bp for the market pipeline), x axis in trading days.
    """
    from scipy.stats import norm

    caar = study.caar
    unit = _unit(study)
    gcols = _group_cols(caar, ["rel_day", "aar", "caar", "n", "caar_se", "aar_se"])
    pcol = panel if panel in gcols else None
    lcols = [c for c in gcols if c != pcol]
    panels = list(caar.groupby(pcol, sort=True)) if pcol else [("all events", caar)]
    shown = panels[:max_panels]
    ncols = 1 if len(shown) == 1 else 2
    nrows = max(1, int(np.ceil(len(shown) / ncols)))
    fig, axes = _figure(nrows, ncols, width=9.0 if ncols == 1 else 11.0, height=2.9, sharex=True)
    z = norm.ppf(0.5 + level / 2)
    line_keys = sorted({k for k, _ in caar.groupby(lcols, sort=True)}, key=str) if lcols else ["all"]
    colours = {k: _colour(i) for i, k in enumerate(line_keys)}
    for ax, (pkey, pg) in zip(axes.flat, shown, strict=False):
        lines = list(pg.groupby(lcols, sort=True)) if lcols else [("all", pg)]
        for key, g in lines:
            g = g.sort_values("rel_day")
            x = g["rel_day"].to_numpy()
            y = g["caar"].to_numpy(dtype=float)
            n = int(g["n"].max()) if len(g) else 0
            col = colours.get(key, _colour(0))
            ax.plot(x, y, marker="o", ms=2.5, lw=1.3, color=col, label=f"{_label(key)} (N={n})")
            ax.annotate(
                f"N={n}",
                (x[-1], y[-1]),
                fontsize=6,
                color=col,
                xytext=(2, 0),
                textcoords="offset points",
                va="center",
            )
            if "caar_se" in g:
                se = g["caar_se"].to_numpy(dtype=float)
                ax.fill_between(x, y - z * se, y + z * se, color=col, alpha=0.12, lw=0)
        ax.axvline(0, color="0.3", lw=1, ls="--")
        ax.axhline(0, color="0.6", lw=0.8)
        ax.set_title(_label(pkey), fontsize=10)
        ax.set_ylabel(f"CAAR ({unit})")
        ax.legend(fontsize=7, frameon=False, loc="best")
    for ax in axes.flat[len(shown) :]:
        ax.set_axis_off()
    for ax in axes[-1]:
        ax.set_xlabel("trading days relative to day 0")
    more = f" (+{len(panels) - len(shown)} more panels not drawn)" if len(panels) > len(shown) else ""
    band = f"; shaded: {level:.0%} band" if "caar_se" in caar else ""
    fig.suptitle((title or "Cumulative average abnormal change around events") + band + more, fontsize=11)
    return fig


def plot_event_paths(study, *, event_id=None, title: str | None = None) -> Figure:
    """Abnormal-change path (AR bars and cumulative AR line) of one event on each of its series.

    Parameters
    ----------
    study : EventStudy
        Uses ``study.ar`` (index ``event_id``, ``series``; columns relative days) and ``study.pairs``.
    event_id : optional
        Event to draw; default the first event in ``study.ar``.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per series, y in the study's unit.
    """
    ar = study.ar
    unit = _unit(study)
    if ar is None or len(ar) == 0:
        fig, axes = _figure()
        return _empty(fig, axes[0, 0], "no event-series pair survived")
    if event_id is None:
        event_id = ar.index.get_level_values("event_id")[0]
    sub = ar.xs(event_id, level="event_id")
    ncols = 1 if len(sub) <= 3 else 2
    nrows = int(np.ceil(len(sub) / ncols))
    fig, axes = _figure(nrows, ncols, width=9.0 if ncols == 1 else 11.0, height=2.3, sharex=True)
    pairs = study.pairs.set_index(["event_id", "series"]) if len(study.pairs) else None
    for ax, (series, row) in zip(axes.flat, sub.iterrows(), strict=False):
        x = np.asarray(row.index, dtype=int)
        y = row.to_numpy(dtype=float)
        ax.bar(x, y, color=np.where(y >= 0, _colour(0), _colour(1)), alpha=0.7, label="AR")
        ax.plot(x, np.nancumsum(y), color="k", lw=1.5, label="cumulative AR")
        ax.axvline(0, color="0.3", lw=1, ls="--")
        ax.axhline(0, color="0.6", lw=0.8)
        d0 = ""
        if pairs is not None and (event_id, series) in pairs.index:
            d0 = f", day 0 = {pd.Timestamp(pairs.loc[(event_id, series), 'day0']):%a %d %b %Y}"
        ax.set_title(f"{series}{d0}", fontsize=9)
        ax.set_ylabel(unit)
    for ax in axes.flat[len(sub) :]:
        ax.set_axis_off()
    axes.flat[0].legend(fontsize=8, frameon=False, loc="upper left")
    for ax in axes.flat[max(0, len(sub) - ncols) : len(sub)]:
        ax.xaxis.set_tick_params(labelbottom=True)
        ax.set_xlabel("trading days relative to day 0")
    fig.suptitle(title or f"Abnormal changes around event {event_id}", fontsize=11)
    return fig


def plot_timeline(
    market,
    events: pd.DataFrame | None = None,
    *,
    start=None,
    end=None,
    series: Sequence[str] | None = None,
    title: str | None = None,
    annotations: pd.DataFrame | None = None,
) -> Figure:
    """Each series' level over the period with event markers coloured by theme.

    Parameters
    ----------
    market : Market
        Levels in their own units (percent for yields, yen per dollar for USD/JPY).
    events : DataFrame, optional
        Needs ``timestamp`` (or ``date``) and ``theme``; ``sentiment`` (VADER compound, -1..1) sets
        the marker size when present.
    start, end : date-like, optional
    series : list of str, optional
    annotations : DataFrame, optional
        ``date`` and ``label`` columns: vertical labelled lines (e.g. the tariff pause).

    Returns
    -------
    matplotlib.figure.Figure
    """
    levels = market.levels if hasattr(market, "levels") else market
    cols = list(series) if series is not None else list(levels.columns)
    lv = levels.loc[start:end, cols]
    fig, axes = _figure(len(cols), 1, height=1.9, sharex=True)
    ev = None
    if events is not None and len(events):
        ev = events.copy()
        t = ev["timestamp"] if "timestamp" in ev else pd.to_datetime(ev["date"])
        t = pd.to_datetime(t)
        ev["_d"] = (t.dt.tz_convert("UTC").dt.tz_localize(None) if t.dt.tz is not None else t).dt.normalize()
        ev = ev[(ev["_d"] >= lv.index.min()) & (ev["_d"] <= lv.index.max())]
    colours = _theme_colours(ev["theme"]) if ev is not None and len(ev) else {}
    for ax, c in zip(axes[:, 0], cols, strict=False):
        s = lv[c].dropna()
        ax.plot(s.index, s.to_numpy(), color="0.25", lw=1.1)
        unit = (
            "%" if getattr(market, "specs", {}).get(c) is not None and market.specs[c].kind == "yield" else ""
        )
        if hasattr(market, "specs") and c in market.specs:
            unit = market.specs[c].unit
        ax.set_ylabel(f"{c}\n({unit})" if unit else c, fontsize=8)
        if ev is not None and len(ev) and len(s):
            pos = s.index.searchsorted(ev["_d"].to_numpy())
            pos = np.clip(pos, 0, len(s) - 1)
            y = s.to_numpy()[pos]
            size = 20 + 60 * ev["sentiment"].abs().fillna(0).to_numpy() if "sentiment" in ev else 30
            ax.scatter(
                s.index[pos],
                y,
                s=size,
                c=[colours[str(t)] for t in ev["theme"]],
                edgecolor="k",
                linewidth=0.4,
                zorder=3,
            )
        if annotations is not None:
            for _, a in annotations.iterrows():
                ax.axvline(pd.Timestamp(a["date"]), color="0.5", lw=0.8, ls=":")
    if annotations is not None:
        for _, a in annotations.iterrows():
            axes[0, 0].annotate(
                str(a["label"]),
                (pd.Timestamp(a["date"]), 1.0),
                xycoords=("data", "axes fraction"),
                fontsize=7,
                rotation=90,
                va="top",
                ha="right",
                color="0.3",
            )
    if colours:
        from matplotlib.lines import Line2D

        handles = [
            Line2D([], [], marker="o", ls="", color=col, markeredgecolor="k", label=t)
            for t, col in colours.items()
        ]
        fig.legend(
            handles=handles,
            loc="outside lower center",
            ncols=min(4, len(handles)),
            fontsize=8,
            frameon=False,
            title="event theme (marker size: |sentiment|)",
            title_fontsize=8,
        )
    rng = f"{lv.index.min():%d %b %Y} to {lv.index.max():%d %b %Y}" if len(lv) else ""
    fig.suptitle(title or f"Market levels and news events, {rng}", fontsize=11)
    fig.autofmt_xdate()
    return fig


def plot_car_heatmap(
    study,
    *,
    window: tuple[int, int] | None = None,
    test: str = "t_cross_section",
    row: str = "theme",
    col: str = "series",
    title: str | None = None,
) -> Figure:
    """Heatmap of mean CAR (study unit) with significance stars, ``row`` x ``col``.

    Reads the CAAR over ``window`` and the p-value of ``test`` from ``study.tests`` /
    ``study.car_table`` as computed by the engine for groups that include ``row`` and ``col``.

    Parameters
    ----------
    study : EventStudy
        Must have been run with ``group_by`` containing both ``row`` and ``col``.
    window : (int, int), optional
        CAR window; default the study's event window.
    test : str
        Test whose p-value sets the stars (* 10 %, ** 5 %, *** 1 %).

    Returns
    -------
    matplotlib.figure.Figure
    """
    tests = study.tests
    unit = _unit(study)
    if window is None:
        window = tuple(study.settings["window"])
    sel = tests[(tests["test"] == test) & (tests["start"] == window[0]) & (tests["end"] == window[1])]
    fig, axes = _figure(width=8.0, height=4.0)
    ax = axes[0, 0]
    if row not in sel or col not in sel or "caar" not in sel or sel.empty:
        return _empty(fig, ax, f"no {test} results grouped by {row} and {col}")
    val = sel.pivot_table(index=row, columns=col, values="caar", aggfunc="first")
    pv = sel.pivot_table(index=row, columns=col, values="pvalue", aggfunc="first").reindex_like(val)
    n = sel.pivot_table(index=row, columns=col, values="n", aggfunc="first").reindex_like(val)
    lim = float(np.nanmax(np.abs(val.to_numpy()))) if np.isfinite(val.to_numpy()).any() else 1.0
    im = ax.imshow(val.to_numpy(dtype=float), cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto")
    ax.set_xticks(range(val.shape[1]), val.columns, rotation=30, ha="right")
    ax.set_yticks(range(val.shape[0]), val.index)
    ax.grid(False)
    for i in range(val.shape[0]):
        for j in range(val.shape[1]):
            v, p, k = val.iat[i, j], pv.iat[i, j], n.iat[i, j]
            if np.isfinite(v):
                stars = "***" if p < 0.01 else "**" if p < 0.05 else "*" if p < 0.1 else ""
                ax.text(
                    j,
                    i,
                    f"{v:+.1f}{stars}\nN={int(k)}",
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if abs(v) > 0.6 * lim else "black",
                )
    fig.colorbar(im, ax=ax, label=f"CAAR [{window[0]}, {window[1]}] ({unit})")
    fig.suptitle(
        title or f"Mean CAR [{window[0]}, {window[1]}] by {row} and {col} (stars: {test} p < .1/.05/.01)",
        fontsize=11,
    )
    return fig


def plot_car_distribution(
    study,
    *,
    window: tuple[int, int] | None = None,
    by: str = "theme",
    panel: str = "series",
    placebo: pd.DataFrame | None = None,
    max_panels: int = 12,
    title: str | None = None,
) -> Figure:
    """Per-event CARs (strip + box) per ``by`` group in one panel per ``panel`` value, with the
    placebo CAAR distribution of the same group (grey violin) behind them.

    Parameters
    ----------
    study : EventStudy
        Uses ``study.car`` rows for ``window`` (default: the event window).
    by : str
        Column of ``study.car`` for the boxes within a panel (default ``theme``).
    panel : str
        Column of ``study.car`` for the panels (default ``series``: each market on its own scale).
    placebo : DataFrame, optional
        Placebo CAAR draws with columns ``by``, ``panel`` and ``caar``; default
        ``study.placebo_draws`` (the engine's pseudo-event CAARs for the same window).

    Returns
    -------
    matplotlib.figure.Figure
        y axes in the study's unit (bp for the market pipeline).
    """
    car = study.car
    unit = _unit(study)
    if window is None:
        window = tuple(study.settings["window"])
    sel = car[(car["start"] == window[0]) & (car["end"] == window[1])].dropna(subset=["car"])
    if placebo is None and getattr(study, "placebo_draws", None) is not None:
        pl = study.placebo_draws
        placebo = pl[(pl["start"] == window[0]) & (pl["end"] == window[1])]
    if sel.empty or by not in sel or panel not in sel:
        fig, axes = _figure(width=9.0, height=4.0)
        return _empty(fig, axes[0, 0], "no CARs to draw")
    panels = sorted(sel[panel].astype(str).unique())[:max_panels]
    ncols = 1 if len(panels) == 1 else 2
    nrows = int(np.ceil(len(panels) / ncols))
    fig, axes = _figure(nrows, ncols, width=11.0 if ncols == 2 else 8.0, height=2.8)
    rng = np.random.default_rng(0)  # jitter only (display), fixed for reproducible images
    has_placebo = placebo is not None and len(placebo) and by in placebo and panel in placebo
    for ax, pv in zip(axes.flat, panels, strict=False):
        sub = sel[sel[panel].astype(str) == pv]
        keys = sorted(sub[by].astype(str).unique())
        data = [sub.loc[sub[by].astype(str) == k, "car"].to_numpy(dtype=float) for k in keys]
        pos = np.arange(1, len(keys) + 1)
        if has_placebo:
            pp = placebo[placebo[panel].astype(str) == pv]
            pdata = [pp.loc[pp[by].astype(str) == k, "caar"].dropna().to_numpy(dtype=float) for k in keys]
            okp = [i for i, d in enumerate(pdata) if len(d) > 1]
            if okp:
                vp = ax.violinplot([pdata[i] for i in okp], positions=pos[okp], widths=0.8, showextrema=False)
                for b in vp["bodies"]:
                    b.set_facecolor("0.8")
                    b.set_alpha(0.6)
        ax.boxplot(data, positions=pos, widths=0.35, showfliers=False, medianprops={"color": "k"})
        for p, d in zip(pos, data, strict=False):
            ax.scatter(p + rng.uniform(-0.12, 0.12, len(d)), d, s=14, color=_colour(0), alpha=0.7, zorder=3)
        ax.set_xticks(pos, keys, rotation=15, ha="right", fontsize=8)
        ax.axhline(0, color="0.6", lw=0.8)
        ax.set_title(pv, fontsize=10)
        ax.set_ylabel(f"CAR ({unit})")
    for ax in axes.flat[len(panels) :]:
        ax.set_axis_off()
    note = "; grey: placebo CAAR distribution of the group" if has_placebo else ""
    fig.suptitle(title or f"Per-event CAR [{window[0]}, {window[1]}] by {by} and {panel}{note}", fontsize=11)
    return fig


def plot_backtest(bt, *, title: str | None = None) -> Figure:
    """Equity curve (cumulative net P&L, bp) and drawdown, with the placebo band when present.

    Parameters
    ----------
    bt : BacktestResult
        Uses ``bt.pnl`` (daily net P&L in bp; a ``total`` column) and, if present,
        ``bt.placebo_paths`` (date x draw cumulative P&L of the placebo runs) or ``bt.placebo``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    pnl = bt.pnl
    total = pnl["total"] if "total" in pnl else pnl.sum(axis=1)
    eq = total.cumsum()
    dd = eq - eq.cummax()
    fig, axes = _figure(2, 1, height=2.6, sharex=True, gridspec_kw={"height_ratios": [2, 1]})
    ax, ax2 = axes[0, 0], axes[1, 0]
    paths = getattr(bt, "placebo_paths", None)
    if isinstance(paths, pd.DataFrame) and paths.shape[1] > 1:
        q = paths.quantile([0.05, 0.5, 0.95], axis=1).T.reindex(eq.index).ffill()
        ax.fill_between(q.index, q[0.05], q[0.95], color="0.85", label="placebo 5-95 %")
        ax.plot(q.index, q[0.5], color="0.6", lw=0.8, ls="--", label="placebo median")
    ax.plot(eq.index, eq.to_numpy(), color=_colour(0), lw=1.4, label="strategy (net of costs)")
    ax.axhline(0, color="0.6", lw=0.8)
    ax.set_ylabel("cumulative P&L (bp)")
    ax.legend(fontsize=8, frameon=False, loc="upper left")
    ax2.fill_between(dd.index, dd.to_numpy(), 0, color=_colour(1), alpha=0.5)
    ax2.set_ylabel("drawdown (bp)")
    fig.autofmt_xdate()
    fig.suptitle(
        title or "Signal backtest: equity and drawdown (bp, unit position, net of costs)", fontsize=11
    )
    return fig


def save_figure(fig: Figure, path_stem, *, formats: Sequence[str] = ("png", "svg"), dpi: int = 200) -> list:
    """Save ``fig`` as ``path_stem.<fmt>`` for each format (PNG at print resolution).

    Metadata that would change between runs (creation date, software version) is stripped so that
    re-running a report gives byte-identical images.

    Returns
    -------
    list of pathlib.Path
    """
    from pathlib import Path

    out = []
    stem = Path(path_stem)
    for fmt in formats:
        p = stem.with_suffix(f".{fmt}")
        meta = {"Software": None} if fmt == "png" else {"Date": None, "Creator": None} if fmt == "svg" else {}
        kw = {"metadata": meta}
        if fmt == "svg":
            import matplotlib

            with matplotlib.rc_context({"svg.hashsalt": "newsbt"}):
                fig.savefig(p, format=fmt, dpi=dpi, **kw)
        else:
            fig.savefig(p, format=fmt, dpi=dpi, **kw)
        out.append(p)
    return out
