"""Charts on a small real-data study: panels, lines per panel, one legend, maturity order, end
labels that do not collide, heatmap stars from the headline q only, bands from the study's sd."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from matplotlib.figure import Figure

import backtests
from backtests import plots
from backtests._labels import ordered, series_colour, series_label, theme_label
from backtests.verdict import HEADLINE_COLUMNS

SERIES = ["usdjpy", "ust_30y", "jgb_10y", "ust_2y", "ust_10y", "jgb_2y"]  # deliberately unordered


@pytest.fixture(scope="module")
def small():
    market = backtests.load_market(SERIES, start="2024-01-01", end="2025-06-30", source="sample")
    ev = pd.DataFrame(
        {
            "event_id": ["a", "b", "c", "d"],
            "theme": ["tariffs", "tariffs", "japan_treasury_holdings", "boj_policy"],
            "timestamp": pd.to_datetime(
                ["2025-04-02T20:30Z", "2025-04-09T17:00Z", "2025-05-02T01:50Z", "2025-05-01T03:00Z"]
            ),
            "sentiment": [-0.5, 0.4, -0.2, 0.1],
        }
    )
    study = backtests.event_study(
        backtests.to_changes(market), ev, window=(-2, 3), estimation=(-60, -5),
        group_by=["theme", "series"], calendar="observed", placebo_draws=50, car_windows=[(0, 1)],
    )  # fmt: skip
    return market, ev, study


def test_maturity_order_and_labels():
    assert ordered(SERIES) == ["jgb_2y", "jgb_10y", "ust_2y", "ust_10y", "ust_30y", "usdjpy"]
    assert [series_label(s) for s in ("ust_10y", "jgb_2y", "usdjpy")] == ["UST 10y", "JGB 2y", "USD/JPY"]
    assert theme_label("boj_policy") == "BoJ policy"
    assert len({series_colour(s) for s in SERIES}) == len(SERIES)  # one colour per series


def test_caar_small_multiples(small):
    _, _, study = small
    fig = plots.plot_caar(study)
    assert isinstance(fig, Figure)
    axes = [ax for ax in fig.axes if ax.get_visible() and ax.axison]
    themes = study.caar["theme"].nunique()
    assert len(axes) == themes * 3  # JGB yields | UST yields | FX per theme
    assert all(len(ax.get_lines()) - 2 <= plots.MAX_LINES for ax in axes)  # minus day-0 and zero lines
    assert len(fig.legends) == 1 and not any(ax.get_legend() for ax in axes)
    assert [t.get_text() for t in fig.legends[0].get_texts()] == [series_label(s) for s in ordered(SERIES)]
    titles = [ax.get_title(loc="left") for ax in axes[:3]]
    assert titles[0].startswith(theme_label(sorted(study.caar["theme"].unique())[0]) + " · JGB yields")
    assert "UST yields" in titles[1] and "USD/JPY" in titles[2]
    # the UST panel's lines in maturity order (2y, 10y, 30y), each in its series' colour
    ust = axes[1].get_lines()[:3]
    assert [ln.get_color() for ln in ust] == [series_colour(s) for s in ("ust_2y", "ust_10y", "ust_30y")]


def _renderer(fig):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig).draw()
    return fig.canvas.get_renderer()


def _overlaps(fig, ax) -> bool:
    r = _renderer(fig)
    boxes = [t.get_window_extent(r) for t in ax.texts]
    return any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])


def test_end_labels_never_collide(small):
    _, _, study = small
    fig = plots.plot_caar(study)
    for ax in fig.axes:
        assert not _overlaps(fig, ax), ax.get_title(loc="left")


@given(st.lists(st.floats(-100, 100), min_size=1, max_size=8), st.floats(0.1, 10))
def test_spread_labels_keeps_the_gap_and_the_centre(ys, gap):
    out = plots.spread_labels(ys, gap)
    s = np.sort(out)
    assert np.all(np.diff(s) >= gap - 1e-9)
    assert np.mean(out) == pytest.approx(np.mean(ys), abs=1e-9)
    assert np.array_equal(np.argsort(out, kind="stable"), np.argsort(ys, kind="stable")) or len(
        set(ys)
    ) < len(ys)


def _headline(study) -> pd.DataFrame:
    t = study.tests[(study.tests["test"] == "placebo")]
    h = pd.DataFrame({"group": t["theme"], "series": t["series"], "start": t["start"], "end": t["end"],
                      "n": t["n"], "n_eff": 1.0, "car": t["caar"], "test": "placebo",
                      "statistic": t["statistic"], "pvalue": t["pvalue"], "qvalue": 0.5, "stars": ""})  # fmt: skip
    return h[list(HEADLINE_COLUMNS)].reset_index(drop=True)


def test_heatmap_stars_from_headline_only_and_kinds_on_their_own_scale(small):
    _, _, study = small
    h = _headline(study)
    pick = (h["series"] == "ust_10y") & (h["group"] == "tariffs") & (h["start"] == 0) & (h["end"] == 1)
    h.loc[pick, "stars"] = "**"
    fig = plots.plot_car_heatmap(study, headline=h)
    cells = [t.get_text() for ax in fig.axes for t in ax.texts]
    starred = [c for c in cells if "*" in c]
    car = float(h.loc[pick, "car"].iloc[0])
    assert starred == [f"{car:+.1f}**\nN={int(h.loc[pick, 'n'].iloc[0])}"]
    images = [ax.images[0] for ax in fig.axes if ax.images]
    assert len(images) == 2  # yields | FX
    lims = [im.get_clim()[1] for im in images]
    sub = h[(h["start"] == 0) & (h["end"] == 1)]
    assert lims[0] == pytest.approx(sub.loc[sub["series"] != "usdjpy", "car"].abs().max())
    assert lims[1] == pytest.approx(sub.loc[sub["series"] == "usdjpy", "car"].abs().max())
    xt = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert xt == ["JGB 2y", "JGB 10y", "UST 2y", "UST 10y", "UST 30y"]
    own = plots.plot_car_heatmap(study)  # the study's own headline: stars only where its q says so
    n_star = int((own_h := study.headline)[(own_h["start"] == 0) & (own_h["end"] == 1)]["stars"].str.len().gt(0).sum())
    assert sum("*" in t.get_text() for ax in own.axes for t in ax.texts) == n_star
    assert "q-value" in own.get_suptitle()


def test_event_paths_bands_from_the_study_sd(small):
    _, _, study = small
    fig = plots.plot_event_paths(study, event_id="c", title="Japan treasury holdings, Fri 02 May 2025")
    assert fig.get_suptitle() == "Japan treasury holdings, Fri 02 May 2025"
    axes = [ax for ax in fig.axes if ax.axison]
    names = [ax.get_title(loc="left").split(" · ")[0] for ax in axes]
    kept = study.pairs[study.pairs["event_id"] == "c"]
    assert names == [series_label(s) for s in ordered(kept["series"])]
    sig = kept.set_index("series")["sigma"]
    for ax, s in zip(axes, ordered(kept["series"]), strict=True):
        bands = [p for p in ax.patches if p.zorder == 0]
        assert len(bands) == 2
        assert sorted(p.get_y() + p.get_height() for p in bands) == pytest.approx([sig[s], 2 * sig[s]])
        assert sorted(p.get_y() for p in bands) == pytest.approx([-2 * sig[s], -sig[s]])
        bars = [p for p in ax.patches if p.zorder == 2]
        assert len({p.get_facecolor() for p in bars}) == 1  # up and down bars in one colour
    assert len(fig.legends) == 1


def test_timeline_numbers_its_markers_in_a_key(small):
    market, ev, _ = small
    ann = pd.DataFrame({"date": ["2025-04-02", "2025-04-09", "2025-04-10"], "label": ["x", "pause", "z"]})
    fig = plots.plot_timeline(market, ev, start="2025-03-15", end="2025-05-20", annotations=ann)
    top = fig.axes[0]
    nums = [t for t in top.texts if t.get_text().isdigit()]
    assert [t.get_text() for t in nums] == ["1", "2", "3"]
    r = _renderer(fig)
    boxes = [t.get_window_extent(r) for t in nums]
    assert not any(a.overlaps(b) for i, a in enumerate(boxes) for b in boxes[i + 1 :])  # 9 and 10 Apr
    key = [t.get_text() for t in fig.legends[0].get_texts()]
    assert "2  09 Apr: pause" in key
    assert [ax.get_ylabel().split("\n")[0] for ax in fig.axes] == [series_label(s) for s in ordered(SERIES)]
