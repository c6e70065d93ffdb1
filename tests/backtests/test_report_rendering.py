"""The report's shared work: figures drawn in a helper process byte-identical to a serial drawing,
errors and ticks carried back; the single-event view reads the placebo a one-event study holds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from matplotlib.figure import Figure

import backtests
from backtests import _figures, answers
from backtests.report import write_report
from backtests.sections import Section

SEED_TS = pd.Timestamp("2025-05-02T01:00Z")


def _fig(n_axes: int, seed: int) -> Figure:
    fig = Figure(figsize=(4, 1.5 * n_axes))
    axes = fig.subplots(n_axes, 1, squeeze=False)[:, 0]
    rng = np.random.default_rng(seed)
    for i, ax in enumerate(axes):
        ax.plot(rng.normal(size=30).cumsum(), label=f"line {i}")
        ax.set_title(f"panel {i}", loc="left", y=1.0)
    fig.suptitle(f"figure {seed}")
    return fig


@pytest.fixture
def helper_on(monkeypatch):
    """The helper process allowed (the library's default is serial; the CLI turns it on)."""
    monkeypatch.setenv(_figures.ENV_PROCESSES, "2")
    if not _figures.helper_allowed(2):
        pytest.skip("no helper process here (not Linux or one CPU)")


def test_split_balances_longest_first():
    here, there = _figures.split([18, 8, 7, 6, 4, 2], own_load=8)
    assert sorted(here + there) == list(range(6)) and not set(here) & set(there)
    load = [8 + sum([18, 8, 7, 6, 4, 2][i] for i in here), sum([18, 8, 7, 6, 4, 2][i] for i in there)]
    assert abs(load[0] - load[1]) <= 6  # at most the smallest job but one apart
    assert _figures.split([5], own_load=0) == ([0], [])


def test_helper_draws_the_same_bytes_and_runs_the_jobs_meanwhile(helper_on):
    figs = [_fig(k, k) for k in (3, 1, 2, 1)]
    serial = [_figures.render(f, ["png", "svg"]) for f in figs]
    got, jobs = {}, []
    _figures.render_all(figs, ["png", "svg"], own_load=1.0, on_done=lambda i, b: got.__setitem__(i, b),
                        between=[lambda: jobs.append(1), lambda: jobs.append(2)])  # fmt: skip
    assert jobs == [1, 2]
    assert sorted(got) == [0, 1, 2, 3]
    for i, blobs in got.items():
        assert blobs == serial[i], i


def test_serial_when_disabled(monkeypatch):
    monkeypatch.setenv(_figures.ENV_PROCESSES, "1")
    assert not _figures.helper_allowed(10)
    order = []
    _figures.render_all([_fig(1, 0), _fig(1, 1)], ["png"], on_done=lambda i, b: order.append(i),
                        between=[lambda: order.append("t")])  # fmt: skip
    assert order == [0, 1, "t"]


class _Boom(Figure):
    def savefig(self, *a, **k):
        raise RuntimeError("disk full")


def test_an_error_in_the_helper_is_raised_here(helper_on):
    figs = [_fig(1, 0), _Boom(), _fig(1, 1), _fig(1, 2)]
    here, there = _figures.split([_figures.cost(f) for f in figs], own_load=0)
    assert 1 in there and 1 not in here  # only the helper meets the failing figure
    with pytest.raises(RuntimeError, match="disk full"):
        _figures.render_all(figs, ["png"], on_done=lambda i, b: None)


def test_library_default_is_serial(monkeypatch):
    """Notebooks and services may draw figures in other threads: the library never forks unless asked
    (``NEWSBT_FIGURE_PROCESSES=2``; the CLI sets the default while a command runs)."""
    monkeypatch.delenv(_figures.ENV_PROCESSES, raising=False)
    monkeypatch.setattr(_figures, "DEFAULT_PROCESSES", 1)
    assert not _figures.helper_allowed(10)
    monkeypatch.setattr(_figures, "DEFAULT_PROCESSES", 2)
    monkeypatch.setattr(_figures.os, "sched_getaffinity", lambda pid: {0, 1})
    assert _figures.helper_allowed(10)


def test_fork_refused_draws_everything_here(helper_on, monkeypatch):
    figs = [_fig(k, k) for k in (2, 1, 1)]
    serial = [_figures.render(f, ["png"]) for f in figs]

    def refuse():
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(_figures.os, "fork", refuse)
    got = {}
    _figures.render_all(figs, ["png"], on_done=lambda i, b: got.__setitem__(i, b))
    assert [got[i] for i in range(3)] == serial


class _Slow(Figure):
    """Takes 60 s to draw in a child process (as a fork that inherited a held lock would hang),
    draws at once in the parent."""

    parent = None

    def savefig(self, *a, **k):
        import os
        import time

        if os.getpid() != _Slow.parent:
            time.sleep(60)
        return super().savefig(*a, **k)


def test_a_stuck_helper_is_stopped_and_its_figures_drawn_here(helper_on, monkeypatch):
    import os

    _Slow.parent = os.getpid()
    monkeypatch.setattr(_figures, "HELPER_TIMEOUT", 1.0)
    figs = [_fig(1, 0), _Slow(figsize=(2, 2)), _fig(1, 1), _fig(1, 2)]
    _, there = _figures.split([_figures.cost(f) for f in figs], own_load=0)
    assert 1 in there
    got = {}
    _figures.render_all(figs, ["png"], on_done=lambda i, b: got.__setitem__(i, b))
    assert sorted(got) == [0, 1, 2, 3]


class _Needy(Exception):
    def __init__(self, msg, where):
        super().__init__(msg)
        self.where = where


class _NeedyFig(Figure):
    def savefig(self, *a, **k):
        raise _Needy("needy failure", "at draw")


def test_an_exception_that_cannot_be_rebuilt_keeps_its_message(helper_on):
    figs = [_fig(1, 0), _NeedyFig(), _fig(1, 1), _fig(1, 2)]
    with pytest.raises(Exception, match="needy failure"):
        _figures.render_all(figs, ["png"], on_done=lambda i, b: None)


@pytest.fixture(scope="module")
def seed():
    market = backtests.load_market(["ust_10y", "jgb_10y", "usdjpy"], start="2024-06-01", source="sample")
    changes = backtests.to_changes(market)
    ev = pd.DataFrame({"event_id": ["seed"], "timestamp": [SEED_TS], "theme": ["japan_treasury_holdings"]})
    return market, changes, ev


def test_event_view_reads_the_placebo_of_a_one_event_study(seed, monkeypatch):
    market, changes, ev = seed
    st = backtests.event_study(
        changes, ev, group_by=["series"], tests=("patell", "placebo"), placebo_draws=99
    )
    shared = st.event("seed")
    # the same numbers as the engine run the view does for any other study
    p = st.pairs[["event_id", "series", "day0"]].rename(columns={"day0": "date"})
    rerun = answers._rerun(st._call, events=p, group_by=["series"], tests=["placebo"],
                           car_windows=st.settings["car_windows"][1:])  # fmt: skip
    ref = rerun.tests.set_index(["series", "start", "end"])["pvalue"]
    got = shared.set_index(["series", "start", "end"])["placebo_p"]
    assert np.array_equal(got.to_numpy(), ref.reindex(got.index).to_numpy())
    # ... and no engine run for it
    monkeypatch.setattr(answers, "_rerun", lambda *a, **k: pytest.fail("re-ran the study"))
    pd.testing.assert_frame_equal(st.event("seed"), shared)


def test_event_view_reruns_when_the_study_has_no_placebo(seed):
    _, changes, ev = seed
    st = backtests.event_study(changes, ev, group_by=["series"], tests=("patell",), placebo_draws=99)
    v = st.event("seed")
    assert v["placebo_p"].between(0, 1).all()


def test_report_ticks_once_per_figure_and_table(seed, tmp_path):
    market, changes, ev = seed
    st = backtests.event_study(changes, ev, placebo_draws=99)
    extra = Section("More", figures=[("a", _fig(2, 0), ""), ("b", lambda: _fig(1, 1), "")])
    ticks = []
    out = write_report(st, None, tmp_path / "r", market=market, events=ev, sections=[extra],
                       progress=ticks.append)  # fmt: skip
    n_fig = len(list((out / "figures").glob("*.png")))
    assert sum(t.startswith("figure ") for t in ticks) == n_fig >= 3
    assert sum(t.startswith("table ") for t in ticks) >= 1
    assert (out / "figures" / "a.png").read_bytes() == _figures.render(_fig(2, 0), ["png"])["png"]
