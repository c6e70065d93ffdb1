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
from matplotlib.ticker import MaxNLocator

__all__ = [
    "plot_backtest",
    "plot_caar",
    "plot_car_distribution",
    "plot_car_heatmap",
    "plot_event_paths",
    "plot_timeline",
    "save_figure",
]

from backtests._labels import family, ordered, series_colour, series_label, tenor_months, theme_label

# one palette for themes everywhere (colour-blind-safe Okabe-Ito); series have fixed colours
_PALETTE = ["#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#999999"]
#: display resolution of PNG figures: 9-11 inch figures are 900-1100 px, the report's column width
SCREEN_DPI = 100
#: most lines drawn in one CAAR panel
MAX_LINES = 4


def _colour(i: int) -> str:
    return _PALETTE[i % len(_PALETTE)]


def _theme_colours(themes: Sequence[str]) -> dict[str, str]:
    return {t: _colour(i) for i, t in enumerate(sorted(set(map(str, themes))))}


#: fixed margins in inches (no layout engine: constrained layout costs about a third of a big
#: figure's drawing time and these grids have predictable labels)
_MARGINS = {"left": 0.8, "right": 0.2, "top": 0.5, "bottom": 0.8, "hspace": 0.45, "wspace": 0.6}


def _figure(
    nrows: int = 1,
    ncols: int = 1,
    *,
    width: float = 9.0,
    height: float = 3.2,
    margins: dict | None = None,
    **kw,
):
    """A figure of ``nrows`` x ``ncols`` axes, ``height`` inches per row; with ``margins``
    (inches, see :data:`_MARGINS`) a fixed layout instead of the constrained layout engine."""
    fig = Figure(figsize=(width, height * nrows), layout=None if margins is not None else "constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, **kw)
    if margins is not None:
        m = _MARGINS | margins
        w, h = fig.get_size_inches()
        aw = (w - m["left"] - m["right"] - m["wspace"] * (ncols - 1)) / ncols
        ah = (h - m["top"] - m["bottom"] - m["hspace"] * (nrows - 1)) / nrows
        fig.subplots_adjust(
            left=m["left"] / w, right=1 - m["right"] / w, top=1 - m["top"] / h, bottom=m["bottom"] / h,
            wspace=m["wspace"] / aw, hspace=m["hspace"] / ah,
        )  # fmt: skip
    for ax in axes.flat:
        ax.grid(True, alpha=0.3)
        ax.spines["top"].set_visible(False)
        ax.spines["right"].set_visible(False)
    return fig, axes


def _unit(study) -> str:
    return getattr(study, "unit", "bp") or "bp"


def _group_cols(frame: pd.DataFrame, exclude: Sequence[str]) -> list[str]:
    return [c for c in frame.columns if c not in exclude]


def _label(key) -> str:
    if isinstance(key, tuple):
        return " · ".join(theme_label(k) for k in key)
    return theme_label(key)


def _empty(fig: Figure, ax, msg: str) -> Figure:
    ax.text(0.5, 0.5, msg, ha="center", va="center", transform=ax.transAxes, color="0.4")
    ax.set_axis_off()
    return fig


def spread_labels(y: Sequence[float], gap: float) -> np.ndarray:
    """Label positions near ``y`` with neighbours at least ``gap`` apart (same order as ``y``):
    sorted, pushed apart upwards, then shifted back so their mean equals the mean of ``y``."""
    y = np.asarray(y, dtype=float)
    if len(y) < 2:
        return y.copy()
    order = np.argsort(y, kind="stable")
    v = y[order].copy()
    for i in range(1, len(v)):
        v[i] = max(v[i], v[i - 1] + gap)
    v += y.mean() - v.mean()
    out = np.empty_like(v)
    out[order] = v
    return out


def kind_blocks(series: Sequence[str], max_lines: int = MAX_LINES) -> list[list[str]]:
    """Series grouped for panels: one block per family (UST, JGB, FX ...), tenors in maturity
    order, at most ``max_lines`` per block."""
    blocks: dict[str, list[str]] = {}
    for s in ordered(series):
        blocks.setdefault(family(s) if tenor_months(s) is not None else "other", []).append(s)
    out = []
    for b in blocks.values():
        out += [b[i : i + max_lines] for i in range(0, len(b), max_lines)]
    return out


def _block_name(block: Sequence[str]) -> str:
    fams = {family(s) for s in block}
    if len(fams) == 1 and tenor_months(block[0]) is not None:
        return series_label(block[0]).split(" ")[0] + " yields"
    return " / ".join(series_label(s) for s in block) if len(block) <= 2 else "other series"


def _end_labels(ax, ends: list[tuple[float, float, str, str]]) -> None:
    """Right-end labels (x, y, text, colour) spread so that they never overlap."""
    if not ends:
        return
    lo, hi = ax.get_ylim()
    ys = spread_labels([e[1] for e in ends], gap=0.09 * (hi - lo))
    for (x, y, text, col), yl in zip(ends, ys, strict=False):
        ax.annotate(text, (x, y), xytext=(x + 0.4, yl), textcoords="data", fontsize=7, color=col,
                    va="center", annotation_clip=False)  # fmt: skip


def plot_caar(
    study,
    *,
    level: float = 0.95,
    max_lines: int = MAX_LINES,
    max_rows: int = 12,
    title: str | None = None,
    panel: str | None = None,
) -> Figure:
    """CAAR paths as small multiples: one row of panels per group (theme), one panel per family of
    series (UST yields, JGB yields, FX), at most ``max_lines`` lines per panel, tenors in maturity
    order, one colour per series, one legend for the figure and end labels that never collide.

    Parameters
    ----------
    study : EventStudy
        Uses ``study.caar`` (group columns, ``rel_day``, ``caar``, ``n`` and, when present,
        ``caar_se``: the engine's cross-sectional standard error of the CAAR, in the study's unit).
    level : float
        Two-sided level of the band drawn when a panel has one line (normal quantile).
    max_lines : int
    max_rows : int
        At most this many groups (rows); the rest are named in the title.
    title : str, optional
    panel : str, optional
        Ignored (kept for callers of the old signature).

    Returns
    -------
    matplotlib.figure.Figure
        y in the study's unit (bp for the market pipeline), x in trading days; panels of one family
        share their y axis.
    """
    from matplotlib.lines import Line2D
    from scipy.special import ndtri  # the normal quantile (scipy.stats.norm.ppf calls it)

    caar = study.caar
    unit = _unit(study)
    gcols = _group_cols(caar, ["rel_day", "aar", "caar", "n", "caar_se", "aar_se", "series"])
    has_series = "series" in caar
    series = ordered(caar["series"]) if has_series else ["all"]
    blocks = kind_blocks(series, max_lines) if has_series else [["all"]]
    groups = list(caar.groupby(gcols, sort=True)) if gcols else [("all events", caar)]
    shown = groups[:max_rows]
    fig, axes = _figure(len(shown), len(blocks), width=min(12.0, 3.6 * len(blocks) + 1.5), height=2.0,
                        sharex=True, sharey="col", margins={"right": 0.1, "wspace": 0.55, "top": 0.7})  # fmt: skip
    z = ndtri(0.5 + level / 2)
    pending = []
    for r, (gkey, gg) in enumerate(shown):
        by_s = dict(list(gg.groupby("series", sort=False))) if has_series else {"all": gg}
        for c, block in enumerate(blocks):
            ax = axes[r, c]
            ends, ns = [], []
            for s in block:
                g = by_s.get(s)
                if g is None or g.empty:
                    continue
                g = g.sort_values("rel_day")
                x, y = g["rel_day"].to_numpy(), g["caar"].to_numpy(dtype=float)
                col = series_colour(s) if has_series else _colour(0)
                ax.plot(x, y, lw=1.4, color=col)
                ns.append(int(g["n"].max()))
                if len(block) == 1 and "caar_se" in g:
                    se = g["caar_se"].to_numpy(dtype=float)
                    ax.fill_between(x, y - z * se, y + z * se, color=col, alpha=0.15, lw=0)
                ends.append((float(x[-1]), float(y[-1]), series_label(s).split(" ")[-1], col))
            ax.axvline(0, color="0.3", lw=0.8, ls="--")
            ax.axhline(0, color="0.6", lw=0.8)
            nn = (
                f"N={min(ns)}"
                if ns and min(ns) == max(ns)
                else f"N={min(ns)}-{max(ns)}"
                if ns
                else "no pairs"
            )
            ax.set_title(f"{_label(gkey)} · {_block_name(block)} ({nn})", fontsize=8, loc="left", y=1.0)
            if c == 0:
                ax.set_ylabel(f"CAAR ({unit})", fontsize=8)
            ax.tick_params(labelsize=7)
            pending.append((ax, ends))
    if len(caar):  # room on the right for the end labels (shared x: set once)
        axes[0, 0].set_xlim(
            caar["rel_day"].min() - 0.5, caar["rel_day"].max() + 0.12 * np.ptp(caar["rel_day"]) + 0.8
        )
    for ax, ends in pending:  # after every line is drawn, so the shared y limits are final
        _end_labels(ax, ends)
    for ax in axes[-1]:
        ax.set_xlabel("trading days from day 0", fontsize=8)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    if has_series:
        handles = [Line2D([], [], color=series_colour(s), lw=2, label=series_label(s)) for s in series]
        fig.legend(handles=handles, loc="lower center", ncols=min(8, len(handles)), fontsize=8,
                   frameon=False)  # fmt: skip
    more = f" (+{len(groups) - len(shown)} groups not drawn)" if len(groups) > len(shown) else ""
    band = f"; shaded: {level:.0%} band where a panel has one line" if "caar_se" in caar else ""
    fig.suptitle((title or "Cumulative average abnormal change around events") + band + more, fontsize=10)
    return fig


def plot_event_paths(study, *, event_id=None, title: str | None = None) -> Figure:
    """Daily abnormal changes (bars) and their running sum (line) of one event on each of its
    series, with the ±1 sd and ±2 sd bands of a normal day (the estimation window's sd from
    ``study.pairs['sigma']``); series in maturity order.

    Parameters
    ----------
    study : EventStudy
        Uses ``study.ar`` (index ``event_id``, ``series``; columns relative days) and ``study.pairs``.
    event_id : optional
        Event to draw; default the first event in ``study.ar``.
    title : str, optional
        A human title (theme, date, headline); default names the event id.

    Returns
    -------
    matplotlib.figure.Figure
        One panel per series, y in the study's unit.
    """
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    ar = study.ar
    unit = _unit(study)
    if ar is None or len(ar) == 0:
        fig, axes = _figure()
        return _empty(fig, axes[0, 0], "no event-series pair survived")
    if event_id is None:
        event_id = ar.index.get_level_values("event_id")[0]
    sub = ar.xs(event_id, level="event_id")
    names = ordered(sub.index)
    ncols = 1 if len(names) <= 2 else 2
    nrows = int(np.ceil(len(names) / ncols))
    fig, axes = _figure(nrows, ncols, width=9.0 if ncols == 1 else 11.0, height=2.0, sharex=True,
                        margins={"hspace": 0.55, "bottom": 0.85, "top": 0.7})  # fmt: skip
    pairs = study.pairs[study.pairs["event_id"] == event_id].set_index("series") if len(study.pairs) else None
    bar_col = "0.55"
    for ax, s in zip(axes.flat, names, strict=False):
        row = sub.loc[s]
        x = np.asarray(row.index, dtype=int)
        y = row.to_numpy(dtype=float)
        d0 = ""
        if pairs is not None and s in pairs.index:
            sd = float(pairs.loc[s, "sigma"]) if "sigma" in pairs else np.nan
            if np.isfinite(sd):
                ax.axhspan(-2 * sd, 2 * sd, color="0.93", lw=0, zorder=0)
                ax.axhspan(-sd, sd, color="0.84", lw=0, zorder=0)
            d0 = f" · day 0 {pd.Timestamp(pairs.loc[s, 'day0']):%a %d %b %Y}"
        ax.bar(x, y, color=bar_col, width=0.7, zorder=2)
        ax.plot(x, np.nancumsum(y), color=series_colour(s), lw=1.8, zorder=3)
        ax.axvline(0, color="0.3", lw=0.8, ls="--")
        ax.axhline(0, color="0.5", lw=0.6)
        ax.set_title(f"{series_label(s)}{d0}", fontsize=9, loc="left", y=1.0)
        ax.set_ylabel(unit, fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes.flat[len(names) :]:
        ax.set_axis_off()
    for ax in axes.flat[max(0, len(names) - ncols) : len(names)]:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.xaxis.set_tick_params(labelbottom=True)
        ax.set_xlabel("trading days from day 0", fontsize=8)
    handles = [
        Patch(color=bar_col, label=f"abnormal change that day ({unit})"),
        Line2D([], [], color="0.2", lw=1.8, label="cumulative (line in the series' colour)"),
        Patch(color="0.84", label="±1 sd of a normal day"),
        Patch(color="0.93", label="±2 sd"),
    ]
    fig.legend(handles=handles, loc="lower center", ncols=4, fontsize=8, frameon=False)
    fig.suptitle(title or f"Abnormal changes around event {event_id}", fontsize=10)
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
    """Each series' level over the period (maturity order) with event markers coloured by theme
    and numbered date markers whose labels are listed in a key (never printed over the data).

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
        ``date`` and ``label`` columns: numbered vertical lines (e.g. the tariff pause).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from matplotlib.lines import Line2D

    levels = market.levels if hasattr(market, "levels") else market
    cols = list(series) if series is not None else ordered(levels.columns)
    lv = levels.loc[start:end, cols]
    ev = None
    if events is not None and len(events):
        ev = events.copy()
        t = pd.to_datetime(ev["timestamp"] if "timestamp" in ev else ev["date"])
        ev["_d"] = (t.dt.tz_convert("UTC").dt.tz_localize(None) if t.dt.tz is not None else t).dt.normalize()
        ev = ev[(ev["_d"] >= lv.index.min()) & (ev["_d"] <= lv.index.max())]
    colours = _theme_colours(ev["theme"]) if ev is not None and len(ev) else {}
    ann = None
    if annotations is not None and len(annotations):
        ann = annotations.assign(_t=pd.to_datetime(annotations["date"])).sort_values("_t")
        ann = ann[(ann["_t"] >= lv.index.min()) & (ann["_t"] <= lv.index.max())]
    n_key = len(colours) + (0 if ann is None else len(ann))
    bottom = 0.4 + (0.22 + 0.15 * int(np.ceil(n_key / 3)) if n_key else 0)
    per_row = (1.15 * len(cols) + 0.12 * (len(cols) - 1) + 0.6 + bottom) / max(1, len(cols))
    fig, axes = _figure(len(cols), 1, width=10.0, height=per_row, sharex=True,
                        margins={"top": 0.6, "bottom": bottom, "hspace": 0.12, "left": 0.85})  # fmt: skip
    specs = getattr(market, "specs", {}) or {}
    for ax, c in zip(axes[:, 0], cols, strict=False):
        s = lv[c].dropna()
        ax.plot(s.index, s.to_numpy(), color=series_colour(c), lw=1.2)
        unit = specs[c].unit if c in specs else ""
        ax.set_ylabel(f"{series_label(c)}\n({unit})" if unit else series_label(c), fontsize=8)
        ax.tick_params(labelsize=7)
        if ev is not None and len(ev) and len(s):
            pos = np.clip(s.index.searchsorted(ev["_d"].to_numpy()), 0, len(s) - 1)
            size = 14 + 50 * ev["sentiment"].abs().fillna(0).to_numpy() if "sentiment" in ev else 24
            ax.scatter(s.index[pos], s.to_numpy()[pos], s=size, c=[colours[str(t)] for t in ev["theme"]],
                       edgecolor="k", linewidth=0.4, zorder=3)  # fmt: skip
        if ann is not None:
            for t in ann["_t"]:
                ax.axvline(t, color="0.45", lw=0.8, ls=":", zorder=1)
    handles = [
        Line2D([], [], marker="o", ls="", color=col, markeredgecolor="k", label=theme_label(t))
        for t, col in colours.items()
    ]
    if ann is not None and len(ann):
        top = axes[0, 0]
        x = top.get_xlim()
        frac = (mdates_num(ann["_t"]) - x[0]) / (x[1] - x[0])
        xs = spread_labels(frac, gap=0.022)
        for i, (xf, t) in enumerate(zip(xs, ann["_t"], strict=False)):
            top.annotate(str(i + 1), (t, 1.0), xycoords=("data", "axes fraction"),
                         xytext=(xf, 1.12), textcoords="axes fraction", ha="center", va="center",
                         fontsize=7, color="0.2", arrowprops={"arrowstyle": "-", "color": "0.6", "lw": 0.6},
                         bbox={"boxstyle": "circle,pad=0.2", "fc": "white", "ec": "0.45", "lw": 0.6})  # fmt: skip
        handles += [
            Line2D([], [], ls=":", color="0.45", label=f"{i + 1}  {t:%d %b}: {lab}")
            for i, (t, lab) in enumerate(zip(ann["_t"], ann["label"], strict=False))
        ]
    if handles:
        fig.legend(handles=handles, loc="lower center", ncols=3, fontsize=7, frameon=False,
                   title="markers: news events by theme (size: |sentiment|); numbered lines: dated facts",
                   title_fontsize=7)  # fmt: skip
    _date_axis(axes[-1, 0], lv.index)
    rng = f"{lv.index.min():%d %b %Y} to {lv.index.max():%d %b %Y}" if len(lv) else ""
    fig.suptitle(title or f"Market levels and news events, {rng}", fontsize=10)
    return fig


def _date_axis(ax, index: pd.DatetimeIndex) -> None:
    """Weekly ticks (Mondays, ``03 Apr``) over spans up to 4 months, else concise automatic dates."""
    from matplotlib import dates as mdates

    if len(index) and (index.max() - index.min()).days <= 120:
        ax.xaxis.set_major_locator(mdates.WeekdayLocator(byweekday=mdates.MO))
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))
    else:
        loc = mdates.AutoDateLocator()
        ax.xaxis.set_major_locator(loc)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc))
    ax.tick_params(axis="x", labelsize=7)


def mdates_num(t) -> np.ndarray:
    """Matplotlib date numbers of timestamps (days since the epoch)."""
    from matplotlib import dates as mdates

    return np.asarray(mdates.date2num(pd.to_datetime(t).to_numpy()), dtype=float)


_KIND_NAMES = {"yield": "yields", "fx": "FX", "price": "prices"}


def _kind(series: str, kinds: dict | None) -> str:
    if kinds and series in kinds:
        return str(kinds[series])
    return "yield" if tenor_months(series) is not None else "fx" if family(series) == "fx" else "other"


def plot_car_heatmap(
    study,
    *,
    headline: pd.DataFrame | None = None,
    window: tuple[int, int] | None = None,
    kinds: dict | None = None,
    title: str | None = None,
) -> Figure:
    """Mean CAR per group (rows) and series (columns, maturity order) from the headline table: bp
    printed in each cell, stars from the headline q-value only, one colour scale per series kind
    (yields and FX in separate blocks, so a ±300 bp FX move does not wash out the yields).

    Parameters
    ----------
    study : EventStudy
        ``study.headline`` is read when ``headline`` is not given.
    headline : DataFrame, optional
        Columns ``group``, ``series``, ``start``, ``end``, ``n``, ``car``, ``qvalue``, ``stars``.
    window : (int, int), optional
        CAR window; default as the verdict (day 0 and day 1 when present).
    kinds : dict, optional
        series -> kind (``yield``, ``fx`` ...); default from the id (``ust_10y`` is a yield).

    Returns
    -------
    matplotlib.figure.Figure
    """
    from backtests.verdict import pick_window, with_group

    unit = _unit(study)
    h = with_group(headline if headline is not None else study.headline)
    if h is None or h.empty:
        fig, axes = _figure(width=8.0, height=3.0)
        return _empty(fig, axes[0, 0], "no headline results to draw")
    a, b = pick_window(h, window)
    sel = h[(h["start"] == a) & (h["end"] == b)]
    val = sel.pivot_table(index="group", columns="series", values="car", aggfunc="first")
    val = val[ordered(val.columns)]
    n = sel.pivot_table(index="group", columns="series", values="n", aggfunc="first").reindex_like(val)
    st = (
        sel.pivot_table(index="group", columns="series", values="stars", aggfunc="first")
        .reindex_like(val)
        .fillna("")
    )
    blocks: dict[str, list[str]] = {}
    for c in val.columns:
        blocks.setdefault(_kind(c, kinds), []).append(c)
    fig = Figure(
        figsize=(min(12.0, 2.5 + 1.05 * val.shape[1]), 0.9 + 0.48 * val.shape[0]), layout="constrained"
    )
    axs = fig.subplots(1, len(blocks), squeeze=False, width_ratios=[len(v) for v in blocks.values()])[0]
    for ax, (kind, cols) in zip(axs, blocks.items(), strict=False):
        v = val[cols].to_numpy(dtype=float)
        lim = float(np.nanmax(np.abs(v))) if np.isfinite(v).any() else 1.0
        lim = lim or 1.0
        im = ax.imshow(v, cmap="RdBu_r", vmin=-lim, vmax=lim, aspect="auto")
        ax.set_xticks(range(len(cols)), [series_label(c) for c in cols], fontsize=8)
        ax.set_yticks(
            range(val.shape[0]), [theme_label(g) for g in val.index] if ax is axs[0] else [], fontsize=8
        )
        ax.tick_params(length=0)
        if ax is axs[0]:
            ax.set_ylabel("group (theme)", fontsize=8)
        for i in range(v.shape[0]):
            for j, c in enumerate(cols):
                if np.isfinite(v[i, j]):
                    k = n.iat[i, list(val.columns).index(c)]
                    ax.text(j, i, f"{v[i, j]:+.1f}{st.iat[i, list(val.columns).index(c)]}\nN={int(k)}",
                            ha="center", va="center", fontsize=7,
                            color="white" if abs(v[i, j]) > 0.6 * lim else "black")  # fmt: skip
        for sp in ax.spines.values():
            sp.set_visible(False)
        fig.colorbar(im, ax=ax, location="bottom", shrink=0.8, aspect=30, pad=0.02).set_label(
            f"{_KIND_NAMES.get(kind, kind)} ({unit})", fontsize=7
        )
    how = "stars from the headline test's q-value"
    fig.suptitle(title or f"Mean CAR [{a}, {b}] by theme and series ({unit}; {how})", fontsize=10)
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
    """Equity curve (cumulative net P&L of the book) and drawdown, with the placebo band when present.

    Parameters
    ----------
    bt : BacktestResult
        Uses ``bt.book_pnl`` (the book's daily net P&L: bp when one kind is traded, else risk units
        or currency; ``bt.book["unit"]`` names it; never a bp sum across yields and FX) or, for a
        result without it, ``bt.pnl["total"]`` (bp); and, if present, ``bt.placebo_paths`` (date x
        draw cumulative P&L of the placebo runs, same unit).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    InputFormatError
        Neither ``book_pnl`` nor a ``total`` column in ``bt.pnl``.
    """
    book = getattr(bt, "book_pnl", None)
    if book is not None:
        total, unit, fig_name = book, str(bt.book["unit"]), str(bt.book["figure"])
    elif "total" in bt.pnl:
        total, unit, fig_name = bt.pnl["total"], "bp", "total"
    else:
        from signals.errors import InputFormatError

        raise InputFormatError("plot_backtest: the result has no book_pnl and no 'total' P&L column")
    eq = total.cumsum()
    dd = eq - eq.clip(lower=0).cummax()
    fig, axes = _figure(2, 1, height=2.6, sharex=True, gridspec_kw={"height_ratios": [2, 1]})
    ax, ax2 = axes[0, 0], axes[1, 0]
    paths = getattr(bt, "placebo_paths", None)
    if isinstance(paths, pd.DataFrame) and paths.shape[1] > 1:
        q = paths.quantile([0.05, 0.5, 0.95], axis=1).T.reindex(eq.index).ffill()
        ax.fill_between(q.index, q[0.05], q[0.95], color="0.85", label="placebo 5-95 %")
        ax.plot(q.index, q[0.5], color="0.6", lw=0.8, ls="--", label="placebo median")
    ax.plot(eq.index, eq.to_numpy(), color=_colour(0), lw=1.4, label=f"strategy ({fig_name}, net of costs)")
    ax.axhline(0, color="0.6", lw=0.8)
    ax.set_ylabel(f"cumulative P&L ({unit})")
    ax.legend(fontsize=8, frameon=False, loc="upper left")
    ax2.fill_between(dd.index, dd.to_numpy(), 0, color=_colour(1), alpha=0.5)
    ax2.set_ylabel(f"drawdown ({unit})")
    fig.autofmt_xdate()
    fig.suptitle(title or f"Signal backtest: equity and drawdown ({unit}, net of costs)", fontsize=11)
    return fig


def render_figure(fig: Figure, fmt: str = "png", *, dpi: int = SCREEN_DPI) -> bytes:
    """``fig`` as PNG (at ``dpi``; screen resolution by default) or SVG bytes, without the metadata
    that would change between runs (creation date, software version), so re-running a report gives
    byte-identical images."""
    import io

    import matplotlib

    buf = io.BytesIO()
    meta = {"Software": None} if fmt == "png" else {"Date": None, "Creator": None} if fmt == "svg" else {}
    with matplotlib.rc_context({"svg.hashsalt": "newsbt", "svg.fonttype": "none"}):
        fig.savefig(buf, format=fmt, dpi=dpi, metadata=meta)
    if fmt != "png":
        return buf.getvalue()
    # charts use a few dozen colours plus anti-aliasing: a 256-colour palette looks the same and is
    # about a third of the size (Pillow ships with matplotlib)
    from PIL import Image

    img = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    out = io.BytesIO()
    img.quantize(256, method=Image.Quantize.FASTOCTREE, dither=Image.Dither.NONE).save(out, format="png")
    return out.getvalue()


def save_figure(
    fig: Figure, path_stem, *, formats: Sequence[str] = ("png", "svg"), dpi: int = SCREEN_DPI
) -> list:
    """Save ``fig`` as ``path_stem.<fmt>`` for each format (see :func:`render_figure`).

    Returns
    -------
    list of pathlib.Path
    """
    from pathlib import Path

    out = []
    stem = Path(path_stem)
    for fmt in formats:
        p = stem.with_suffix(f".{fmt}")
        p.write_bytes(render_figure(fig, fmt, dpi=dpi))
        out.append(p)
    return out
