"""Event studies: :func:`event_study` and its :class:`EventStudy` result.

The numeric work is in :mod:`backtests.engine` (windows, estimation) and :mod:`backtests.stats`
(test statistics); this module validates the inputs, turns events into event-series pairs,
accounts for every pair that cannot be studied (``EventStudy.excluded``), handles overlapping
windows and assembles the result tables.

Kolari-Pynnonen: rbar is the mean over pairs i != j of rho_ij * o_ij, with rho_ij the mean
product of the two pairs' standardised estimation residuals (residual / RMS residual, missing
days count as 0) over the calendar days their estimation windows share, divided by that
number of days; o_ij the share of the tested window's days both windows cover (daily test: 1
on the same date). It equals the mean Pearson correlation when every event has the same
date and no data are missing (Kolari & Pynnonen 2010). rbar is estimated over all pairs of
the group; N in the adjustment is the number of pairs in the test.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Callable, Sequence
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from backtests import study_steps as steps
from backtests.study_steps import CALENDARS, MODELS, OVERLAPS  # noqa: F401 (the option lists)
from signals.errors import ConfigError

log = logging.getLogger(__name__)

__all__ = ["EventStudy", "event_study"]


#: the tables of the steps that are arguments of EventStudy
_TABLES = ("pairs", "ar", "car", "caar", "daily_tests", "tests", "excluded", "overlaps", "placebo_draws", "unit")  # fmt: skip
#: a table given as a DataFrame, or as a picklable zero-argument builder run on first read
Table = pd.DataFrame | Callable[[], pd.DataFrame]


class EventStudy:
    """Result of :func:`event_study` (all tables are pandas DataFrames, values in the input unit).

    Attributes
    ----------
    pairs : DataFrame
        One row per kept event-series pair (by series in the column order of ``changes``, events
        in their input order within a series; ``ar`` and ``car`` follow the same order):
        ``event_id``, ``series``, ``day0``, ``n_est`` (L_i,
        days), ``sigma`` (input unit), ``dof``, model parameters (``mean``; or ``alpha``, ``beta``;
        or ``alpha`` and ``beta_<column>``), group columns.
    ar : DataFrame
        Abnormal returns, index (``event_id``, ``series``), columns = relative days (int).
    car : DataFrame
        Long: ``event_id``, ``series``, ``start``, ``end``, ``car``, ``se`` (forecast-error
        standard error of the CAR), ``scar`` (sum of SAR / sqrt(T)), ``n_days`` (+ group columns).
    caar : DataFrame
        Long: group columns, ``rel_day``, ``aar``, ``caar`` (mean cumulative AR from the window
        start), ``n``, ``caar_se`` (cross-sectional standard error of the CAAR: sample sd, ddof 1,
        of the pairs' cumulative ARs divided by the square root of their number; input unit).
    daily_tests, tests : DataFrame
        Long: group columns, ``test``, ``rel_day`` (daily) or ``start``/``end`` (windows),
        ``statistic``, ``pvalue``, ``n``, ``n_pos``; ``tests`` also has ``caar`` (the group's
        mean CAR over the window, input unit).
    excluded : DataFrame
        One row per dropped pair: ``event_id``, ``series``, ``date``, ``day0``, ``reason``,
        ``detail``, ``n_est``, ``n_missing``.
        Reason codes of ``study.excluded``: ``unknown_series``, ``missing_date``,
        ``date_outside_data`` (before the series' first or after its last observation),
        ``window_outside_data`` (event window runs off the data), ``overlap`` / ``merged``
        (``overlap=`` option), ``short_estimation`` (fewer than ``min_estimation`` usable days; an
        estimation window running off the start counts its missing days), ``nonpositive_variance``,
        ``singular_benchmark``, ``missing_in_window``, ``day0_in_data_gap`` / ``window_in_data_gap``
        / ``estimation_in_data_gap`` (day 0 or a window day across missing calendar sessions, see
        :mod:`backtests.gaps`), and the codes of :func:`backtests.calendar.align_events`.
    overlaps : DataFrame
        Pairs of events on the same series whose event windows overlap.
    placebo_draws : DataFrame or None
        Pseudo-event CAARs of the placebo test: group columns, ``draw``, ``start``, ``end``,
        ``caar`` (None when ``placebo`` was not requested).
    unit : str or None
        Unit of the changes (from ``changes.attrs["newsbt_series"]``), None when unknown.
    n_requested : int
        Event-series pairs requested (= kept + excluded).
    settings : dict
        The options of the study (:meth:`backtests.study_steps.StudySpec.settings`).
    extra : dict
        Tables added by extra steps (:data:`backtests.study_steps.STEPS`), by name.

    ``ar``, ``excluded`` and ``overlaps`` are built on first read (``functools.cached_property``;
    ``ar`` wraps the engine's matrix without a copy); before that the result holds their
    builders, which pickle like the tables (module functions over plain arrays).
    """

    def __init__(
        self,
        *,
        pairs: pd.DataFrame,
        ar: Table,
        car: pd.DataFrame,
        caar: pd.DataFrame,
        daily_tests: pd.DataFrame,
        tests: pd.DataFrame,
        excluded: Table,
        overlaps: Table,
        settings: dict,
        n_requested: int,
        placebo_draws: pd.DataFrame | None = None,
        unit: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        self.pairs = pairs
        self.car = car
        self.caar = caar
        self.daily_tests = daily_tests
        self.tests = tests
        self.settings = settings
        self.n_requested = n_requested
        self.placebo_draws = placebo_draws
        self.unit = unit
        self.extra = dict(extra or {})
        self._builders: dict[str, Table] = {"ar": ar, "excluded": excluded, "overlaps": overlaps}
        # honest answers (set by backtests.answers.finish): scheduled releases inside the windows,
        # notes on grouping, and the call the headline and the single-event view re-use
        self.confounders: pd.DataFrame = pd.DataFrame()
        self.notes: list[str] = []
        self._call: dict[str, Any] | None = None

    def _table(self, name: str) -> pd.DataFrame:
        value = self._builders.pop(name)
        return value() if callable(value) else value

    @cached_property
    def ar(self) -> pd.DataFrame:
        """Abnormal returns (pairs x relative days), input unit."""
        return self._table("ar")

    @cached_property
    def excluded(self) -> pd.DataFrame:
        """Every requested pair not studied, with its reason."""
        return self._table("excluded")

    def excluded_counts(self) -> pd.Series:
        """Excluded pairs per reason, most frequent first (without assembling ``excluded`` when it
        has not been read yet)."""
        builder = self._builders.get("excluded")
        if "excluded" not in self.__dict__ and hasattr(builder, "reason_counts"):  # not read or set yet
            return builder.reason_counts()
        return self.excluded["reason"].value_counts()

    @cached_property
    def overlaps(self) -> pd.DataFrame:
        """Pairs of events on one series whose event windows overlap."""
        return self._table("overlaps")

    @cached_property
    def headline(self) -> pd.DataFrame:
        """One row per group x series x CAR window: the test chosen by the documented rule, ``n``,
        ``n_eff``, p, q (multiple-testing adjusted over every cell) and stars from q only
        (:mod:`backtests.headline`)."""
        from backtests import answers

        return answers.headline_of(self)

    def event(self, event_id: Any, market: Any = None) -> pd.DataFrame:
        """Single-event view (:func:`backtests.answers.event_view`): per series and CAR window the
        raw move (bp), its size in estimation-window sd units, AR/CAR under the model, the placebo
        p-value and the confounders; ``market`` adds the levels before and after."""
        from backtests import answers

        return answers.event_view(self, self._call, event_id, market=market)

    # -- presentation -----------------------------------------------------------------------------
    def to_frames(self) -> dict[str, pd.DataFrame]:
        """All result tables by name (``pairs``, ``ar``, ``car``, ``caar``, ``daily_tests``,
        ``tests``, ``excluded``, ``overlaps``, ``headline`` (one test per cell, p and q; reading it
        may run the engine once more, see :attr:`headline`), ``confounders`` (scheduled releases in
        the windows; empty with ``confounders="ignore"``), and ``placebo_draws`` when computed)."""
        out = {
            "pairs": self.pairs,
            "ar": self.ar,
            "car": self.car,
            "caar": self.caar,
            "daily_tests": self.daily_tests,
            "tests": self.tests,
            "excluded": self.excluded,
            "overlaps": self.overlaps,
            "headline": self.headline,
            "confounders": self.confounders,
        }
        if self.placebo_draws is not None:
            out["placebo_draws"] = self.placebo_draws
        return out

    def _tests_table(self) -> pd.DataFrame:
        t = self.tests.copy()
        stars = np.select([t["pvalue"] < 0.01, t["pvalue"] < 0.05, t["pvalue"] < 0.1], ["***", "**", "*"], "")
        t["sig"] = stars
        return t

    def summary(self, all_tests: bool = False) -> str:
        """Compact text summary: settings, pairs kept/excluded, confounders and the headline table
        (one test per cell, p and q; see :mod:`backtests.headline`); ``all_tests`` adds the battery."""
        from backtests import answers

        return answers.summary_text(self, all_tests)

    def __repr__(self) -> str:
        return f"<EventStudy {len(self.pairs)} pairs, {len(self.excluded)} excluded>"

    def _repr_html_(self) -> str:
        head = html.escape(self.summary().split("\n")[1])
        tab = self.headline.to_html(index=False, float_format=lambda v: f"{v:.4g}")
        return f"<div><p><b>EventStudy</b>: {head}</p>{tab}</div>"

    def plot(self, kind: str = "caar", **kw: Any):
        """Chart of the study (delegates to :mod:`backtests.plots`, imported lazily).

        Parameters
        ----------
        kind : str
            ``"caar"`` (default) calls ``plots.plot_caar(study, **kw)``; another kind ``k`` calls
            ``plots.plot_<k>(study, **kw)``.

        Returns
        -------
        matplotlib.figure.Figure
        """
        from backtests import plots

        fn = getattr(plots, f"plot_{kind}", None)
        if fn is None:
            raise ConfigError(f"unknown plot kind {kind!r}: backtests.plots has no plot_{kind}")
        return fn(self, **kw)


# ---------------------------------------------------------------------------------------------------


def event_study(
    changes: pd.DataFrame,
    events: pd.DataFrame,
    *,
    window: tuple[int, int] = (-5, 10),
    estimation: tuple[int, int] = (-120, -11),
    model: str = "raw",
    benchmark: str | Sequence[str] | pd.Series | pd.DataFrame | None = None,
    group_by: str | Sequence[str] | None = None,
    calendar: str = "observed",
    car_windows: Sequence[tuple[int, int]] | None = None,
    tests: Sequence[str] | None = None,
    overlap: str = "keep",
    min_estimation: int | None = None,
    allow_gaps: bool = False,
    placebo_draws: int = 1000,
    seed: int = 0,
    confounders: str | dict = "flag",
    releases: Any = None,
    adjust: str = "bh",
    bins: Any = None,
) -> EventStudy:
    """Event study of ``changes`` around ``events``: abnormal returns, CARs and a test battery.

    Parameters
    ----------
    changes : DataFrame
        DatetimeIndex (sorted, unique dates) x series columns, float; NaN = missing. Any unit
        (bp from :func:`backtests.to_changes`, percent, fractions); every output is in that unit.
    events : DataFrame
        ``date`` (day 0 = that date if it is a trading day of the series, else the next one) or
        tz-aware ``timestamp`` (aligned with :func:`backtests.calendar.align_events`); optional
        ``series`` (absent: one pair per column, benchmark columns excepted), optional
        ``event_id`` (else ``E1``, ``E2``, ...), other columns kept (usable in ``group_by``).
    window, estimation : (int, int)
        Inclusive relative trading days; ``estimation`` must end before ``window`` starts.
    model : {"raw", "mean", "market", "factor"}
        Normal-return model: 0, the estimation mean, OLS on one benchmark, OLS on several.
    benchmark : str, list of str, Series or DataFrame
        Benchmark column(s) of ``changes`` or series aligned on its index (``market``/``factor``).
    group_by : str or list of str, optional
        Event columns (or ``"series"``) defining groups; every test is computed per group.
    calendar : {"index", "observed"}
        ``"index"``: every row is a trading day of every series. ``"observed"``: each series
        trades on its own non-missing dates.
    car_windows : list of (int, int), optional
        Extra CAR windows (inside ``window``); the event window is always the first.
    tests : list of str, optional
        Test families to compute (default: all of ``backtests.stats.TEST_NAMES``).
    overlap : {"keep", "drop", "merge"}
        Overlapping event windows on one series: keep all, keep only the first of each cluster
        (the others excluded, reason ``overlap``), or merge each cluster into its first event
        (the others excluded, reason ``merged``; the kept pair lists them in ``merged_ids``).
    min_estimation : int, optional
        Usable estimation observations required (default: ceil(0.8 x estimation length), at
        least the model's parameters + 3).
    allow_gaps : bool
        Keep pairs with missing ARs in the event window (CARs then sum the available days).
    placebo_draws : int
        Pseudo-event sets for the ``placebo`` test.
    seed : int
        Seed of the placebo draws.
    confounders : {"flag", "exclude", "ignore"} or dict
        Scheduled macro releases in each window (``study.confounders``, :mod:`backtests.confounders`):
        list them, also exclude the pairs (reason ``confounded``; ``{"policy": "exclude", "days":
        (d0, d1)}`` restricts the days), or skip.
    releases : DataFrame, str or Path, optional
        Release calendar (default :func:`backtests.macro_calendar`, or your own CSV).
    adjust : {"bh", "holm", "none"}
        Multiple-testing adjustment of the headline p-values over every cell.
    bins : int, list of float or dict, optional
        Bins of continuous ``group_by`` columns (:mod:`backtests.grouping`).

    Returns
    -------
    EventStudy
        ``len(study.pairs) + len(study.excluded) == study.n_requested`` always (reason codes of
        ``study.excluded``: see :class:`EventStudy`; Kolari-Pynnonen's rbar: module notes).

    Raises
    ------
    ConfigError
        Invalid option (names the option and the fix).
    InputFormatError
        Malformed ``changes`` or ``events``.
    """
    from backtests import answers, grouping
    events, group_by, notes = grouping.prepare(events, changes, group_by, bins, benchmark)
    call = {k: v for k, v in locals().items() if k not in ("answers", "grouping", "notes")}
    spec = steps.make_spec(
        window=window, estimation=estimation, model=model, group_by=group_by, calendar=calendar,
        car_windows=car_windows, tests=tests, overlap=overlap, allow_gaps=allow_gaps,
        placebo_draws=placebo_draws, seed=seed,
    )  # fmt: skip
    state = steps.StudyState(changes, events, spec, benchmark=benchmark, min_estimation=min_estimation)
    for _name, step in steps.STEPS:
        step(state)
    frames = {name: state.tables.pop(name) for name in _TABLES}  # what is left: tables of extra steps
    study = EventStudy(**frames, settings=state.spec.settings(), n_requested=state.n_req, extra=state.tables)
    return answers.finish(study, call, notes)  # confounders, headline, exclusion warning
