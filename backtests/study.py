"""Event studies: :func:`event_study` and its :class:`EventStudy` result.

The numeric work is in :mod:`backtests.engine` (windows, estimation) and :mod:`backtests.stats`
(test statistics); this module validates the inputs, turns events into event-series pairs,
accounts for every pair that cannot be studied (``EventStudy.excluded``), handles overlapping
windows and assembles the result tables.
"""

from __future__ import annotations

import html
import logging
import math
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from backtests import engine as eng
from backtests import stats as st
from signals.errors import ConfigError, InputFormatError

log = logging.getLogger(__name__)

__all__ = ["EventStudy", "event_study"]

MODELS = ("raw", "mean", "market", "factor")
CALENDARS = ("index", "observed")
OVERLAPS = ("keep", "drop", "merge")

_EXCLUDED_COLS = ["event_id", "series", "date", "day0", "reason", "detail", "n_est", "n_missing"]
_OVERLAP_COLS = ["series", "event_id", "other_event_id", "day0", "other_day0", "distance", "action"]


class _Table:
    """A result table attribute: a DataFrame, or a builder (callable) run on first access."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.key = "_" + name

    def __get__(self, obj: Any, objtype: type | None = None) -> Any:
        if obj is None:
            return self
        value = obj.__dict__[self.key]
        if callable(value):
            value = obj.__dict__[self.key] = value()
        return value

    def __set__(self, obj: Any, value: Any) -> None:
        obj.__dict__[self.key] = value


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
        The arguments of the study.
    """

    # built on first access: ``ar`` wraps the engine's matrix (no copy); ``excluded`` and
    # ``overlaps`` are assembled (with their text) only when read
    ar = _Table()
    excluded = _Table()
    overlaps = _Table()
    headline = _Table()  # [honest answers] hook 4/5: headline (lazy), confounders, notes, event()
    _LAZY = ("ar", "excluded", "overlaps", "headline")

    def __init__(self, **frames: Any) -> None:
        self.pairs: pd.DataFrame = frames["pairs"]
        self.ar = frames["ar"]  # a DataFrame, or a callable building it on first access
        self.car: pd.DataFrame = frames["car"]
        self.caar: pd.DataFrame = frames["caar"]
        self.daily_tests: pd.DataFrame = frames["daily_tests"]
        self.tests: pd.DataFrame = frames["tests"]
        self.excluded = frames["excluded"]
        self.overlaps = frames["overlaps"]
        self.settings: dict = frames["settings"]
        self.n_requested: int = frames["n_requested"]
        self.placebo_draws: pd.DataFrame | None = frames.get("placebo_draws")
        self.unit: str | None = frames.get("unit")
        if "headline" in frames:  # [honest answers] hook 4/5 (else set by answers.finish)
            self.headline = frames["headline"]
        self.confounders: pd.DataFrame = frames.get("confounders", pd.DataFrame())
        self.notes: list[str] = list(frames.get("notes", []))

    def __getstate__(self) -> dict:
        for name in self._LAZY:  # pickle the tables, not their builders
            getattr(self, name)
        return self.__dict__.copy()

    # -- presentation -----------------------------------------------------------------------------
    def to_frames(self) -> dict[str, pd.DataFrame]:
        """All result tables by name (``pairs``, ``ar``, ``car``, ``caar``, ``daily_tests``,
        ``tests``, ``excluded``, ``overlaps``, and ``placebo_draws`` when computed)."""
        out = {
            "pairs": self.pairs,
            "ar": self.ar,
            "car": self.car,
            "caar": self.caar,
            "daily_tests": self.daily_tests,
            "tests": self.tests,
            "excluded": self.excluded,
            "overlaps": self.overlaps,
        }
        if self.placebo_draws is not None:
            out["placebo_draws"] = self.placebo_draws
        return out

    def _tests_table(self) -> pd.DataFrame:
        t = self.tests.copy()
        stars = np.select([t["pvalue"] < 0.01, t["pvalue"] < 0.05, t["pvalue"] < 0.1], ["***", "**", "*"], "")
        t["sig"] = stars
        return t

    def event(self, event_id: Any, market: Any = None) -> pd.DataFrame:
        """Single-event view (see :func:`backtests.answers.event_view`); ``market`` adds levels."""
        from backtests import answers  # [honest answers] hook 4/5

        return answers.event_view(self, self._call, event_id, market=market)

    def summary(self, all_tests: bool = False) -> str:
        """Compact text summary: settings, pairs kept/excluded, confounders and the headline table
        (one test per cell, p and q; see :mod:`backtests.headline`); ``all_tests`` adds the battery."""
        from backtests import answers  # [honest answers] hook 5/5: summary from the headline

        return answers.summary_text(self, all_tests)

    def __repr__(self) -> str:
        return f"<EventStudy {len(self.pairs)} pairs, {len(self.excluded)} excluded>"

    def _repr_html_(self) -> str:
        head = html.escape(self.summary().split("\n")[1])
        tab = self.headline.to_html(index=False, float_format=lambda v: f"{v:.4g}")  # [honest answers]
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
def _unit_of(changes: pd.DataFrame) -> str | None:
    """The common unit of the series (``attrs["newsbt_series"][id]["unit"]``), if any."""
    meta = changes.attrs.get("newsbt_series") if hasattr(changes, "attrs") else None
    if not isinstance(meta, dict):
        return None
    units = {str(v.get("unit")) for v in meta.values() if isinstance(v, dict) and v.get("unit")}
    return units.pop() if len(units) == 1 else None


def _check_range(name: str, v: Any) -> tuple[int, int]:
    try:
        a, b = (int(v[0]), int(v[1]))
        if len(v) != 2 or a != v[0] or b != v[1]:
            raise ValueError
    except (TypeError, ValueError, IndexError):
        raise ConfigError(f"{name}={v!r}: expected a pair of integer relative days (start, end)") from None
    if a > b:
        raise ConfigError(f"{name}={v!r}: start is after end; write ({b}, {a})")
    return a, b


def _normalise_dates(values: pd.Series, field: str) -> pd.Series:
    try:
        d = pd.to_datetime(values)
    except (ValueError, TypeError) as exc:
        raise InputFormatError(f"events: column {field!r} has values that are not dates ({exc})") from None
    if getattr(d.dt, "tz", None) is not None:
        d = d.dt.tz_localize(None)
    ns = d.to_numpy(dtype="datetime64[ns]").view(np.int64)
    if not d.isna().any() and (ns % (86_400 * 10**9) == 0).all():
        return d  # already dates (midnight)
    return d.dt.normalize()


def event_study(
    changes: pd.DataFrame,
    events: pd.DataFrame,
    *,
    window: tuple[int, int] = (-5, 10),
    estimation: tuple[int, int] = (-120, -11),
    model: str = "raw",  # [honest answers] default: raw (was "mean")
    benchmark: str | Sequence[str] | pd.Series | pd.DataFrame | None = None,
    group_by: str | Sequence[str] | None = None,
    calendar: str = "observed",  # [honest answers] default: observed (was "index")
    car_windows: Sequence[tuple[int, int]] | None = None,
    tests: Sequence[str] | None = None,
    overlap: str = "keep",
    min_estimation: int | None = None,
    allow_gaps: bool = False,
    placebo_draws: int = 1000,
    seed: int = 0,
    confounders: str | dict = "flag",  # [honest answers] hook 1/5: new keyword arguments
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
        Scheduled macro releases inside each event window (``study.confounders``, see
        :mod:`backtests.confounders`): list them (default), also exclude the pairs concerned
        (reason ``confounded``; ``{"policy": "exclude", "days": (d0, d1)}`` restricts the days),
        or skip. [honest answers]
    releases : DataFrame, str or Path, optional
        The release calendar (default :func:`backtests.macro_calendar`; a CSV of your own releases
        is read with :func:`backtests.macro.read_releases`).
    adjust : {"bh", "holm", "none"}
        Multiple-testing adjustment of the headline p-values over every cell (``study.headline``).
    bins : int, list of float or dict, optional
        Binning of continuous ``group_by`` columns (:mod:`backtests.grouping`; default: VADER
        thresholds for ``sentiment``, terciles otherwise).

    Returns
    -------
    EventStudy
        ``len(study.pairs) + len(study.excluded) == study.n_requested`` always. Reason codes of
        ``study.excluded``: ``unknown_series``, ``missing_date``, ``date_outside_data`` (before the
        series' first or after its last observation), ``window_outside_data`` (event window runs
        off the data), ``overlap`` / ``merged`` (``overlap=`` option), ``short_estimation`` (fewer
        than ``min_estimation`` usable days; an estimation window running off the start counts
        its missing days), ``nonpositive_variance``, ``singular_benchmark``,
        ``missing_in_window``, and the codes of :func:`backtests.calendar.align_events`.

    Notes
    -----
    Kolari-Pynnonen: rbar is the mean over pairs i != j of rho_ij * o_ij, with rho_ij the mean
    product of the two pairs' standardised estimation residuals (residual / RMS residual, missing
    days count as 0) over the calendar days their estimation windows share, divided by that
    number of days; o_ij the share of the tested window's days both windows cover (daily test: 1
    on the same date). It equals the mean Pearson correlation when every event has the same
    date and no data are missing (Kolari & Pynnonen 2010). rbar is estimated over all pairs of
    the group; N in the adjustment is the number of pairs in the test.

    Raises
    ------
    ConfigError
        Invalid option (names the option and the fix).
    InputFormatError
        Malformed ``changes`` or ``events``.
    """
    # [honest answers] hook 2/5: bin continuous group columns, split kind-mixing groups; keep the call
    from backtests import answers, grouping

    events, group_by, _notes = grouping.prepare(events, changes, group_by, bins, benchmark)
    _call = {k: v for k, v in locals().items() if not k.startswith("_") and k not in ("answers", "grouping")}
    # ---------------------------------------------------------------- options
    a, b = _check_range("window", window)
    c, d = _check_range("estimation", estimation)
    if d >= a:
        raise ConfigError(
            f"estimation={estimation} overlaps or follows window={window}: the estimation window must "
            f"end before the event window starts (e.g. estimation=({a - 116}, {a - 6}))"
        )
    if model not in MODELS:
        raise ConfigError(f"model={model!r}: choose one of {', '.join(MODELS)}")
    if calendar not in CALENDARS:
        raise ConfigError(f"calendar={calendar!r}: choose 'index' or 'observed'")
    if overlap not in OVERLAPS:
        raise ConfigError(f"overlap={overlap!r}: choose 'keep', 'drop' or 'merge'")
    wins = [(a, b)]
    for w in car_windows or []:
        w0, w1 = _check_range("car_windows", w)
        if w0 < a or w1 > b:
            raise ConfigError(
                f"car_windows: {w} is not inside window={window}; widen window or the CAR window"
            )
        if (w0, w1) not in wins:
            wins.append((w0, w1))
    if tests is None:
        tests = st.TEST_NAMES
    tests = tuple(tests) if not isinstance(tests, str) else (tests,)
    bad = [t for t in tests if t not in st.TEST_NAMES]
    if bad:
        raise ConfigError(f"tests: unknown {bad}; choose from {', '.join(st.TEST_NAMES)}")
    if "placebo" in tests and (not isinstance(placebo_draws, int | np.integer) or placebo_draws < 1):
        raise ConfigError(f"placebo_draws={placebo_draws!r}: must be a positive integer")

    # ---------------------------------------------------------------- changes and benchmark
    if not isinstance(changes, pd.DataFrame):
        raise InputFormatError(
            "changes: expected a DataFrame (dates x series), e.g. backtests.to_changes(market)"
        )
    if not isinstance(changes.index, pd.DatetimeIndex):
        raise InputFormatError("changes: the index must be a DatetimeIndex of trading dates")
    idx = changes.index
    if idx.tz is not None:
        idx = idx.tz_localize(None)
    if not idx.is_monotonic_increasing or not idx.is_unique:
        raise InputFormatError("changes: the date index must be sorted and unique (use .sort_index())")
    cols_in = changes.columns
    if isinstance(cols_in.dtype, pd.StringDtype) and not cols_in.hasnans:
        columns = cols_in.tolist()  # already text (no per-label str() over Arrow strings)
    else:
        columns = [str(x) for x in cols_in]
    if len(set(columns)) != len(columns):
        raise InputFormatError("changes: duplicated column names")
    try:
        if (changes.dtypes == np.float64).all():
            values = changes.to_numpy()  # no copy for a single float block
        else:
            values = changes.to_numpy(dtype=float, na_value=np.nan)
    except (ValueError, TypeError):
        raise InputFormatError("changes: every column must be numeric (NaN for missing)") from None

    bench, bench_names, bench_cols = _benchmark(model, benchmark, changes, idx, columns)
    k = 0 if bench is None else bench.shape[1]
    n_par = {"raw": 0, "mean": 1}.get(model, k + 1)
    l_nom = d - c + 1
    if min_estimation is None:
        min_est = max(math.ceil(0.8 * l_nom), n_par + 3)
        if min_est > l_nom:
            raise ConfigError(
                f"estimation={estimation} has {l_nom} days; the {model} model needs at least {n_par + 3}"
            )
    else:
        min_est = int(min_estimation)
        if min_est < n_par + 3 or min_est > l_nom:
            raise ConfigError(
                f"min_estimation={min_estimation}: must be between {n_par + 3} (parameters + 3, for the "
                f"Patell variance) and the estimation length {l_nom}"
            )

    # ---------------------------------------------------------------- events -> pairs
    pairs, reason, detail = _pairs_from_events(events, changes, columns, bench_cols)
    gcols = [group_by] if isinstance(group_by, str) else list(group_by or [])
    for gc in gcols:
        if gc not in pairs.columns:
            raise ConfigError(f"group_by: {gc!r} is not a column of events (columns: {list(events.columns)})")
    n_req = len(pairs)
    # integer codes of the event ids (also the level codes of study.ar) and of the series
    eid_codes, eid_levels = pd.factorize(pairs["event_id"])
    ser_codes, ser_levels = pd.factorize(pairs["series"])
    _check_unique_pairs(pairs, eid_codes, len(eid_levels), ser_codes, len(ser_levels))
    s_idx = np.append(pd.Index(columns).get_indexer(ser_levels), -1)[ser_codes]  # code -1: missing
    del ser_codes, ser_levels
    open_ = reason == ""  # pairs not excluded yet (kept in step with reason)
    unknown = open_ & (s_idx < 0)
    reason[unknown] = "unknown_series"
    open_ &= ~unknown
    detail[unknown] = [f"series {v!r} is not a column of changes" for v in pairs["series"][unknown]]
    s_arr = np.maximum(s_idx, 0).astype(np.int64)
    date_ns = pairs["date"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    nat = open_ & pairs["date"].isna().to_numpy()
    reason[nat] = "missing_date"
    open_ &= ~nat
    detail[nat] = "event has no date"
    if calendar == "observed" and np.isinf(values).any():  # own trading days: finite values only
        values = eng.inf_to_nan(values)
    valid = ~np.isnan(values) if calendar == "observed" else np.broadcast_to(True, values.shape)
    dates_ns = idx.to_numpy(dtype="datetime64[ns]").astype(np.int64)
    pos, n_obs = eng.locate_day0(valid, dates_ns, s_arr, date_ns, calendar)
    out_d = open_ & (pos < 0)
    reason[out_d] = "date_outside_data"
    open_ &= ~out_d
    if out_d.any():
        detail[out_d] = f"date outside the data ({idx[0].date()} to {idx[-1].date()}, own observations)"
    out_w = open_ & ((pos + a < 0) | (pos + b >= n_obs[s_arr]))
    reason[out_w] = "window_outside_data"
    open_ &= ~out_w
    if out_w.any():
        first = -pos[out_w]
        last = n_obs[s_arr][out_w] - 1 - pos[out_w]
        detail[out_w] = [
            f"data cover relative days {f} to {la}, window needs {a} to {b}" for f, la in zip(first, last)
        ]
    day0 = np.full(n_req, np.datetime64("NaT"), dtype="datetime64[ns]")
    okp = (pos >= 0) & ~unknown & ~nat
    if okp.any():
        rows = _row_of(valid, s_arr[okp], pos[okp], calendar)
        day0[okp] = idx.to_numpy(dtype="datetime64[ns]")[rows]
    pairs["day0"] = day0

    # ---------------------------------------------------------------- overlaps
    cand = np.flatnonzero(open_)
    overlaps, merged_ids = _overlaps(pairs, cand, s_arr, pos, a, b, overlap, reason, detail)

    # ---------------------------------------------------------------- groups and engine
    if overlap != "keep":
        cand = cand[reason[cand] == ""]
    if gcols:
        keys = pairs.loc[:, gcols].iloc[cand]
        codes, uniques = pd.MultiIndex.from_frame(keys).factorize()
        group_keys = list(uniques)
    else:
        codes = np.zeros(len(cand), dtype=np.int64)
        group_keys = [()]
    codes = np.asarray(codes, dtype=np.int64)
    # kept pairs come out sorted by series (the column order of changes), events in their input
    # order within a series: the engine then reads each column while it is in cache and writes
    # its per-pair outputs in sequence (not scattered), and every table follows that order
    s_cand = s_arr[cand]
    by_series = np.argsort(
        s_cand.astype(np.int16) if len(cand) and s_cand.max() < 2**15 else s_cand, kind="stable"
    )
    cand, codes = cand[by_series], codes[by_series]
    need = set()
    if "brown_warner" in tests:
        need.add("bw")
    if "generalized_sign" in tests:
        need.add("gsign")
    if "corrado_rank" in tests:
        need.add("rank")
    if "kolari_pynnonen" in tests:
        need.add("kp" if calendar == "index" else "kp_pairs")
    if "placebo" in tests:
        need.add("placebo")
    if {"patell", "bmp", "kolari_pynnonen"} & set(tests):
        need.add("sar")
    del s_idx, date_ns, day0, okp, out_d, out_w, unknown, nat, open_
    s_c, p_c = s_arr[cand], pos[cand]
    del s_arr, pos
    res = eng.run_engine(
        values,
        bench,
        s_c,
        p_c,
        codes,
        len(group_keys),
        calendar=calendar,
        window=(a, b),
        estimation=(c, d),
        model=model,
        car_windows=wins,
        min_estimation=min_est,
        allow_gaps=allow_gaps,
        need=frozenset(need),
        excl_windows=(s_c, p_c),
        placebo_draws=int(placebo_draws) if "placebo" in tests else 0,
        seed=seed,
    )
    ereason = res.reason
    reason[cand] = ereason
    fit = res.fit
    bad = ereason != ""
    # the engine's reasons get their detail text when study.excluded is first read
    eng_bad = cand[bad]
    n_est_all = np.full(n_req, -1, dtype=np.int64)
    n_est_all[cand] = fit.n_est
    n_miss_all = np.full(n_req, -1, dtype=np.int64)
    n_miss_all[cand] = res.n_missing

    # ---------------------------------------------------------------- result tables
    kept_local = np.flatnonzero(~bad)
    kept = cand[kept_local]
    kcodes = codes[kept_local]
    rel = list(range(a, b + 1))
    nk = len(kept)
    # compact the AR matrix to the kept pairs in place (kept_local is ascending, so every row
    # moves up or stays: a short copy per step, never a second full matrix)
    ar_k = _compact_rows(res.ar, kept_local)
    if ar_k.base is res.ar and res.ar.flags.owndata and ar_k.shape[0] < res.ar.shape[0]:
        buf, res.ar = res.ar, None
        buf.resize(ar_k.shape, refcheck=False)  # give the unused tail back (realloc, no copy)
        ar_k = buf
    res.ar = None

    ar_codes = (eid_codes[kept], s_c[kept_local])

    def ar_frame(ar_k=ar_k, eid_levels=eid_levels, codes=ar_codes) -> pd.DataFrame:
        # from the integer codes: no second hashing of the event ids
        levels = [eid_levels, pd.Index(columns)]
        mi = pd.MultiIndex(
            levels=levels, codes=list(codes), names=["event_id", "series"], verify_integrity=False
        )
        return pd.DataFrame(ar_k, index=mi, columns=pd.Index(rel, name="rel_day"), copy=False)

    # ---------------------------------------------------------------- tests, per group
    # (first, so that the engine's test accumulators are freed before the long tables are built)
    per_pair = {
        "car": res.car[kept_local],
        "scar": res.scar[kept_local],
        "dof": fit.dof[kept_local],
        "n_est": fit.n_est[kept_local],
    }
    caar_parts: list[tuple[int, dict]] = []
    placebo_parts: list[tuple[int, np.ndarray]] = []
    daily_parts: list[tuple[int, str, dict]] = []
    test_parts: list[tuple[int, str, dict]] = []
    order_k = np.argsort(kcodes, kind="stable")
    bounds = np.searchsorted(kcodes[order_k], np.arange(len(group_keys) + 1))
    for g in range(len(group_keys)):
        kl = order_k[bounds[g] : bounds[g + 1]]  # rows of the kept arrays
        if len(kl) == 0:
            continue
        gl = kept_local[kl]  # rows of the engine arrays
        if kl[-1] - kl[0] + 1 == len(kl) and (np.diff(kl) == 1).all():
            kl = slice(int(kl[0]), int(kl[-1]) + 1)  # a view, no copy (e.g. one group)
        arg = ar_k[kl]
        day = eng.ar_day_stats(ar_k, kl)
        caar_parts.append(
            (g, {"aar": day["mean"], "caar": day["caar"], "n": day["n"], "caar_se": day["caar_se"]})
        )
        daily, windows = _battery(res, per_pair, arg, day, kl, gl, g, tests, wins, (a, b), l_nom, calendar)
        daily_parts.extend((g, name, r) for name, r in daily.items())
        test_parts.extend((g, name, r) for name, r in windows.items())
        if "placebo" in windows:
            placebo_parts.append((g, windows["placebo"].pop("_draws")))
    res.acc = res.rows = per_pair = None  # the accumulators (Kolari-Pynnonen days: large)

    # ---------------------------------------------------------------- pairs and CARs
    eid_k, ser_k = _take(pairs["event_id"], kept), _take(pairs["series"], kept)
    pdf = pd.DataFrame(
        {
            "event_id": eid_k,
            "series": ser_k,
            "day0": pairs["day0"].to_numpy()[kept],
            "n_est": fit.n_est[kept_local],
            "sigma": fit.sigma[kept_local],
            "dof": fit.dof[kept_local],
        },
        copy=False,  # fresh arrays: no second copy
    )
    if model == "mean":
        pdf["mean"] = fit.params[kept_local, 0]
    elif model == "market":
        pdf["alpha"] = fit.params[kept_local, 0]
        pdf["beta"] = fit.params[kept_local, 1]
    elif model == "factor":
        pdf["alpha"] = fit.params[kept_local, 0]
        for j, name in enumerate(bench_names):
            pdf[f"beta_{name}"] = fit.params[kept_local, 1 + j]
    for gc in gcols:
        if gc not in pdf.columns:
            pdf[gc] = _take(pairs[gc], kept)
    if merged_ids is not None:
        pdf["merged_ids"] = [merged_ids.get(i, "") for i in kept]
    res.fit = fit = None
    rep = np.repeat(kept, len(wins))
    car_df = pd.DataFrame(
        {  # one window: the pairs table's ids (a new array object over the same buffers, so
            # that editing one table never changes the other)
            "event_id": eid_k.copy() if len(wins) == 1 else _take(pairs["event_id"], rep),
            "series": ser_k.copy() if len(wins) == 1 else _take(pairs["series"], rep),
            "start": np.tile([w[0] for w in wins], nk),
            "end": np.tile([w[1] for w in wins], nk),
            "car": res.car[kept_local].ravel(),
            "se": res.car_se[kept_local].ravel(),
            "scar": res.scar[kept_local].ravel(),
            "n_days": res.car_days[kept_local].ravel(),
        },
        copy=False,
    )
    res = None  # free the engine's arrays before the last tables
    for gc in gcols:
        if gc not in ("event_id", "series"):
            car_df[gc] = _take(pairs[gc], rep)

    def _frame(parts, index_name, index_vals, cols):
        """Stack per-group result arrays into one long frame (one DataFrame build)."""
        if not isinstance(index_vals, dict):
            index_vals = {index_name: index_vals}
        m = len(next(iter(index_vals.values())))
        gcode = np.repeat([pt[0] for pt in parts], m)
        out: dict[str, Any] = {}
        for j, gc in enumerate(gcols):
            vals = np.empty(len(group_keys), dtype=object)
            vals[:] = [key[j] for key in group_keys]
            out[gc] = vals[gcode]
        if len(parts[0]) == 3:
            out["test"] = np.repeat([pt[1] for pt in parts], m)
        for name, vals in index_vals.items():
            out[name] = np.tile(vals, len(parts))
        for c in cols:
            out[c] = np.concatenate([np.asarray(pt[-1][c], dtype=float) for pt in parts])
            if c == "n":  # counts of pairs
                out[c] = out[c].astype(np.int64)
        df = pd.DataFrame(out)
        for gc in gcols:  # restore the dtype of the group column
            df[gc] = df[gc].infer_objects()
        return df

    test_cols = ["statistic", "pvalue", "n", "n_pos"]
    win_index = {"start": np.array([w[0] for w in wins]), "end": np.array([w[1] for w in wins])}
    if caar_parts:
        caar_df = _frame(caar_parts, "rel_day", np.array(rel), ["aar", "caar", "n", "caar_se"])
    else:
        caar_df = pd.DataFrame(columns=[*gcols, "rel_day", "aar", "caar", "n", "caar_se"])
    if daily_parts:
        daily_df = _frame(daily_parts, "rel_day", np.array(rel), test_cols)
        tests_df = _frame(test_parts, None, win_index, [*test_cols, "caar"])
    else:
        daily_df = pd.DataFrame(columns=[*gcols, "test", "rel_day", *test_cols])
        tests_df = pd.DataFrame(columns=[*gcols, "test", "start", "end", *test_cols, "caar"])

    placebo_df = None
    if "placebo" in tests:
        rows_pl = []
        for g, dr in placebo_parts:  # dr: (K, n windows) pseudo CAARs
            k_draws = dr.shape[0]
            frame = {gc: [group_keys[g][j]] * dr.size for j, gc in enumerate(gcols)}
            frame.update(
                {
                    "draw": np.repeat(np.arange(k_draws), len(wins)),
                    "start": np.tile(win_index["start"], k_draws),
                    "end": np.tile(win_index["end"], k_draws),
                    "caar": dr.ravel(),
                }
            )
            rows_pl.append(pd.DataFrame(frame))
        cols_pl = [*gcols, "draw", "start", "end", "caar"]
        placebo_df = pd.concat(rows_pl, ignore_index=True) if rows_pl else pd.DataFrame(columns=cols_pl)

    exc = np.flatnonzero(reason != "")
    assert len(pdf) + len(exc) == n_req

    def excluded() -> pd.DataFrame:
        n_est_x = n_est_all[exc]
        n_miss_x = n_miss_all[exc]
        _engine_details(detail, reason, eng_bad, n_est_all, n_miss_all, l_nom, min_est, b - a + 1)
        return pd.DataFrame(
            {
                "event_id": np.asarray(_take(pairs["event_id"], exc), dtype=object),
                "series": np.asarray(_take(pairs["series"], exc), dtype=object),
                "date": pairs["date"].to_numpy()[exc],
                "day0": pairs["day0"].to_numpy()[exc],
                "reason": reason[exc].astype(str),
                "detail": pd.Series(detail[exc], dtype=object).astype(str).array,
                "n_est": np.where(n_est_x >= 0, n_est_x, np.nan),
                "n_missing": np.where(n_miss_x >= 0, n_miss_x, np.nan),
            },
            columns=_EXCLUDED_COLS,
        )

    settings = {
        "window": (a, b),
        "estimation": (c, d),
        "model": model,
        "benchmark": bench_names,
        "group_by": gcols,
        "calendar": calendar,
        "car_windows": wins,
        "tests": tests,
        "overlap": overlap,
        "min_estimation": min_est,
        "allow_gaps": allow_gaps,
        "placebo_draws": placebo_draws,
        "seed": seed,
    }
    study = EventStudy(
        pairs=pdf,
        ar=ar_frame,
        car=car_df,
        caar=caar_df,
        daily_tests=daily_df,
        tests=tests_df,
        excluded=excluded,
        overlaps=overlaps,
        settings=settings,
        n_requested=n_req,
        placebo_draws=placebo_df,
        unit=_unit_of(changes),
    )
    return answers.finish(study, _call, _notes)  # [honest answers] hook 3/5: confounders, headline, warning


# ---------------------------------------------------------------------------------------------------
def _benchmark(model, benchmark, changes, idx, columns):
    """Benchmark matrix (T, k), its names and the benchmark columns of ``changes``."""
    if model in ("raw", "mean"):
        if benchmark is not None:
            raise ConfigError(f"benchmark is only used by model='market' or 'factor' (model={model!r})")
        return None, [], set()
    if benchmark is None:
        raise ConfigError(f"model={model!r} needs benchmark= (a column of changes or a Series on its dates)")
    cols: set[str] = set()
    if isinstance(benchmark, pd.Series):
        frame = benchmark.to_frame(name=str(benchmark.name or "benchmark"))
    elif isinstance(benchmark, pd.DataFrame):
        frame = benchmark
    else:
        names = [benchmark] if isinstance(benchmark, str) else list(benchmark)
        missing = [x for x in names if str(x) not in columns]
        if missing:
            raise ConfigError(f"benchmark: {missing} not among the columns of changes ({columns})")
        frame = changes.loc[:, [x for x in changes.columns if str(x) in {str(n) for n in names}]]
        cols = {str(x) for x in names}
    if frame.shape[1] == 0:
        raise ConfigError("benchmark: no column given")
    if model == "market" and frame.shape[1] != 1:
        raise ConfigError(f"model='market' takes one benchmark, got {frame.shape[1]}; use model='factor'")
    fidx = frame.index
    if isinstance(fidx, pd.DatetimeIndex) and fidx.tz is not None:
        frame = frame.set_axis(fidx.tz_localize(None))
    if not frame.index.equals(changes.index):
        if not isinstance(frame.index, pd.DatetimeIndex):
            raise InputFormatError("benchmark: a Series/DataFrame benchmark needs a DatetimeIndex")
        frame = frame.reindex(idx)
    try:
        mat = frame.to_numpy(dtype=float, na_value=np.nan)
    except (ValueError, TypeError):
        raise InputFormatError("benchmark: values must be numeric") from None
    mat = np.where(np.isfinite(mat), mat, np.nan)
    return mat, [str(x) for x in frame.columns], cols


def _pairs_from_events(events, changes, columns, bench_cols):
    """Event rows -> requested event-series pairs (DataFrame with event_id, series, date + extras)."""
    if not isinstance(events, pd.DataFrame):
        raise InputFormatError("events: expected a DataFrame with a 'date' or 'timestamp' column")
    ev = events.reset_index(drop=True).copy()
    if "event_id" not in ev.columns:
        ev["event_id"] = [f"E{i + 1}" for i in range(len(ev))]
    align_reason = None
    if "date" not in ev.columns:
        if "timestamp" not in ev.columns:
            raise InputFormatError(
                f"events: need a 'date' (day 0) or a tz-aware 'timestamp' column; got {list(events.columns)}"
            )
        from backtests.calendar import align_events

        try:
            al = align_events(ev, changes)
        except NotImplementedError:
            raise ConfigError(
                "events with 'timestamp' need backtests.calendar.align_events, which is not available "
                "in this build; pass a 'date' column (day 0) instead"
            ) from None
        al = al.reset_index(drop=True)
        if "series" not in events.columns and bench_cols:  # as with dates: not the benchmark itself
            al = al[~al["series"].astype(str).isin(bench_cols)].reset_index(drop=True)
        al["date"] = pd.to_datetime(al["day0"])
        align_reason = al["reason"].fillna("").astype(str).to_numpy()
        ev = al.drop(columns=["day0"])
        if getattr(ev["date"].dt, "tz", None) is not None:
            ev["date"] = ev["date"].dt.tz_localize(None)
        ev["date"] = ev["date"].dt.normalize()
        pairs = ev
    else:
        ev["date"] = _normalise_dates(ev["date"], "date")
        if "series" in ev.columns:
            pairs = ev.copy()
            if not _is_str_col(pairs["series"]):
                pairs["series"] = pairs["series"].astype(object).where(pairs["series"].notna(), None)
        else:
            cols = [x for x in columns if x not in bench_cols]
            rep = np.repeat(np.arange(len(ev)), len(cols))
            pairs = ev.iloc[rep].reset_index(drop=True)
            pairs["series"] = np.tile(np.array(cols, dtype=object), len(ev))
    if not _is_str_col(pairs["series"]):  # already strings (NaN = missing): nothing to convert
        vals = pairs["series"].to_numpy(dtype=object)
        if pd.api.types.infer_dtype(vals, skipna=False) == "string":
            pairs["series"] = vals
        else:
            pairs["series"] = [None if v is None else str(v) for v in vals]
    n = len(pairs)
    reason = np.full(n, "", dtype=object)
    detail = np.full(n, "", dtype=object)
    if align_reason is not None:
        bad = align_reason != ""
        reason[bad] = align_reason[bad]
        detail[bad] = "timestamp could not be aligned to a trading day (backtests.calendar.align_events)"
    return pairs, reason, detail


def _engine_details(detail, reason, rows, n_est, n_miss, l_nom, min_est, w_len) -> None:
    """Detail text of the pairs ``rows`` excluded by the engine (written into ``detail``)."""
    er = reason[rows]
    for code, text in (
        (eng.SHORT_ESTIMATION, f" usable estimation days of {l_nom}, {min_est} required"),
        (eng.MISSING_IN_WINDOW, f" of {w_len} abnormal returns missing in the event window (allow_gaps=True keeps it)"),
    ):  # fmt: skip
        sel = rows[er == code]
        if len(sel):
            nums = (n_est if code == eng.SHORT_ESTIMATION else n_miss)[sel]
            detail[sel] = np.char.add(nums.astype(str), text).astype(object)
    detail[rows[er == eng.NONPOSITIVE_VARIANCE]] = (
        "estimation-window residual variance is zero (constant series?)"
    )
    detail[rows[er == eng.SINGULAR_BENCHMARK]] = "benchmark has no variation in the estimation window"


def _check_unique_pairs(pairs, eid_codes, n_eid, ser_codes, n_ser) -> None:
    """Raise when an (event_id, series) pair occurs twice (codes -1 = missing, equal)."""
    if n_eid == len(pairs) and (eid_codes >= 0).all():
        return  # every event id is distinct
    key = (eid_codes.astype(np.int64) + 1) * (n_ser + 1) + (ser_codes + 1)
    dup = pd.Series(key).duplicated(keep=False).to_numpy()
    if dup.any():
        ex = pairs.loc[dup, ["event_id", "series"]].head(3).to_dict("records")
        raise InputFormatError(
            f"events: {int(dup.sum())} rows repeat an (event_id, series) pair, e.g. {ex}; give each event a "
            "unique event_id"
        )


def _row_of(valid: np.ndarray, s: np.ndarray, pos: np.ndarray, calendar: str) -> np.ndarray:
    """Calendar row of position ``pos`` in series ``s``'s calendar."""
    if calendar == "index":
        return pos
    n_obs = valid.sum(axis=0)
    start = np.concatenate([[0], np.cumsum(n_obs)[:-1]])
    _, rr = np.nonzero(valid.T)
    return rr[start[s] + pos]


def _overlaps(pairs, cand, s_arr, pos, a, b, overlap, reason, detail, defer=True):
    """Detect overlapping event windows on one series; apply ``overlap``.

    Returns a builder of the ``overlaps`` table (called on first access) and the merged ids.
    With ``overlap="keep"`` nothing changes for the pairs, so the detection itself waits for
    the first access to the table."""

    def empty():
        return pd.DataFrame(columns=_OVERLAP_COLS)

    merged = {} if overlap == "merge" else None
    if len(cand) < 2:
        return empty, merged
    if overlap == "keep" and defer:

        def later(cand=cand, s_arr=s_arr, pos=pos) -> pd.DataFrame:
            table, _ = _overlaps(pairs, cand, s_arr, pos, a, b, overlap, reason, detail, defer=False)
            return table()

        return later, merged
    # by series, then day 0, then input order: one sort of one unique integer key
    span = int(pos[cand].max()) + 1
    key = s_arr[cand].astype(np.int64) * span + pos[cand]
    if (int(s_arr[cand].max()) + 1) * span * len(cand) < 2**62:
        order = cand[np.argsort(key * len(cand) + np.arange(len(cand)))]
    else:  # pragma: no cover - astronomically large panels
        order = cand[np.argsort(key, kind="stable")]
    ss, pp = s_arr[order], pos[order]
    touch = (ss[1:] == ss[:-1]) & (pp[1:] - pp[:-1] <= b - a)
    if not touch.any():
        return empty, merged
    i1, i2 = order[:-1][touch], order[1:][touch]
    log.info("%d overlapping event windows on the same series (overlap=%r)", len(i1), overlap)

    def table(i1=i1, i2=i2, dist=pos[i2] - pos[i1]) -> pd.DataFrame:
        ii = np.concatenate([i1, i2])
        eid_12 = np.asarray(_take(pairs["event_id"], ii), dtype=object)
        d0 = pairs["day0"].to_numpy()
        return pd.DataFrame(
            {
                "series": np.asarray(_take(pairs["series"], i1), dtype=object),
                "event_id": eid_12[: len(i1)],
                "other_event_id": eid_12[len(i1) :],
                "day0": d0[i1],
                "other_day0": d0[i2],
                "distance": dist,
                "action": overlap,
            },
            columns=_OVERLAP_COLS,
        )

    if overlap != "keep":
        eid = pairs["event_id"].to_numpy()
        # clusters of chained overlaps: keep the first event of each, exclude the rest
        new_cluster = np.concatenate([[True], ~touch])
        cluster = np.cumsum(new_cluster) - 1
        first = order[new_cluster][cluster]
        later = ~new_cluster
        code = "overlap" if overlap == "drop" else "merged"
        drop = order[later]
        reason[drop] = code
        word = "overlaps the window of" if overlap == "drop" else "merged into"
        detail[drop] = [f"{word} event {eid[f]!r} on the same series" for f in first[later]]
        if overlap == "merge":
            for f, x in zip(first[later], drop):
                merged[f] = f"{merged[f]}+{eid[x]}" if f in merged else f"{eid[f]}+{eid[x]}"
    return table, merged


def _is_str_col(col: pd.Series) -> bool:
    """True for pandas' default string dtype (NaN for missing)."""
    return isinstance(col.dtype, pd.StringDtype) and col.dtype.na_value is np.nan


def _take(col: pd.Series, idx: np.ndarray):
    """``col.to_numpy()[idx]`` without turning Arrow-backed strings into Python objects."""
    if isinstance(col.dtype, pd.StringDtype):
        return col.array.take(idx)
    return col.to_numpy()[idx]


def _compact_rows(mat: np.ndarray, rows: np.ndarray, step: int = 4096) -> np.ndarray:
    """``mat[rows]`` for ascending ``rows``, written in place into the first rows of ``mat``.

    Returns a view of ``mat`` (no second matrix: only ``step`` rows are copied at a time).
    """
    n = len(rows)
    if n == mat.shape[0]:
        return mat
    for j0 in range(0, n, step):
        r = rows[j0 : j0 + step]
        mat[j0 : j0 + len(r)] = mat[r]
    return mat[:n]


def _battery(res, per_pair, ar, day, kl, gl, g, tests, wins, window, l_nom, calendar):
    """Daily and window test results for one group: its ARs and their per-day statistics
    ``day`` (:func:`backtests.engine.ar_day_stats`), ``kl`` (rows of its pairs in the kept
    arrays ``per_pair``) and ``gl`` (rows in the engine arrays); daily SAR statistics come
    from the engine's group sums."""
    a, b = window
    car = per_pair["car"][kl]
    scar = per_pair["scar"][kl]
    dof = per_pair["dof"][kl]
    n = len(gl)
    acc = res.acc
    daily: dict[str, dict] = {}
    windows: dict[str, dict] = {}
    if "t_cross_section" in tests:
        daily["t_cross_section"] = st.t_cross_section(None, moments=day)
        windows["t_cross_section"] = st.t_cross_section(car)
    if "brown_warner" in tests:
        daily["brown_warner"], windows["brown_warner"] = st.brown_warner(
            None, acc["bw_sum"][g], acc["bw_cnt"][g], float(per_pair["n_est"][kl].mean()), wins, a, day
        )
    if "patell" in tests:
        daily["patell"] = st.patell_from_sums(
            acc["sar_s1"][g], acc["sar_var"][g], acc["sar_n"][g], acc["sar_pos"][g]
        )
        windows["patell"] = st.patell(scar, dof)
    bmp_d = bmp_w = None
    if "bmp" in tests or "kolari_pynnonen" in tests:
        bmp_d = st.bmp_from_sums(acc["sar_s1"][g], acc["sar_s2"][g], acc["sar_n"][g], acc["sar_pos"][g])
        bmp_w = st.bmp(scar)
    if "bmp" in tests:
        daily["bmp"], windows["bmp"] = bmp_d, bmp_w
    if "kolari_pynnonen" in tests:
        lengths = [w1 - w0 + 1 for (w0, w1) in wins]
        if calendar == "index" and acc.get("kp_lags") is not None:  # compiled path
            rd, rw = st.kp_rbar_from_lags(acc["kp_lags"][g], acc["kp_self"][g], l_nom, n, lengths)
            rd = np.full(b - a + 1, rd)
        elif calendar == "index":
            p_rows, a_rows = eng.kp_group(acc, g)
            rd, rw = st.kp_rbar_delta(a_rows, acc["kp_self"][g], l_nom, n, lengths, p=p_rows)
            rd = np.full(b - a + 1, rd)
        else:
            est_cols = acc["kp_rows"][gl]
            win_cols = res.rows[gl]
            ncols = int(max(est_cols.max(initial=0), win_cols.max(initial=0))) + 1
            rd, rw = st.kp_rbar_pairs(acc["kp_u"][gl], est_cols, win_cols, ncols, wins, a)
        daily["kolari_pynnonen"] = st.kolari_pynnonen(bmp_d, rd)
        windows["kolari_pynnonen"] = st.kolari_pynnonen(bmp_w, rw)
    if "corrado_rank" in tests:
        dl, wl = [], []
        for wi in range(len(wins)):
            dres, wres = st.corrado_rank(acc["rank_sum"][wi][g], acc["rank_cnt"][wi][g], l_nom, n)
            if wi == 0:
                dl = dres
            wl.append(wres)
        daily["corrado_rank"] = dl
        windows["corrado_rank"] = {key: np.concatenate([w[key] for w in wl]) for key in wl[0]}
    if "sign" in tests:
        daily["sign"] = st.sign(ar)
        windows["sign"] = st.sign(car)
    if "generalized_sign" in tests:
        p_hat = acc["gs_pos"][g] / acc["gs_n"][g] if acc["gs_n"][g] > 0 else np.nan
        daily["generalized_sign"] = st.generalized_sign(ar, p_hat)
        windows["generalized_sign"] = st.generalized_sign(car, p_hat)
    if "wilcoxon" in tests:
        daily["wilcoxon"] = st.wilcoxon(ar)
        windows["wilcoxon"] = st.wilcoxon(car)
    if "placebo" in tests:
        with np.errstate(invalid="ignore", divide="ignore"):
            pl = acc["pl_sum"][g] / acc["pl_n"][g][:, None]  # (K, W) pseudo AARs
        nt = (~np.isnan(ar)).sum(axis=0)
        with np.errstate(invalid="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            daily["placebo"] = st.placebo(np.nanmean(ar, axis=0), pl, nt)
            obs_w = np.array([np.nanmean(car[:, i]) for i in range(len(wins))])
        draws_w = np.stack([pl[:, w0 - a : w1 - a + 1].sum(axis=1) for (w0, w1) in wins], axis=1)
        windows["placebo"] = st.placebo(obs_w, draws_w, (~np.isnan(car)).sum(axis=0))
        windows["placebo"]["_draws"] = draws_w
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        caar_w = np.array(
            [np.nanmean(car[:, i]) if (~np.isnan(car[:, i])).any() else np.nan for i in range(len(wins))]
        )
    for r in windows.values():
        r["caar"] = caar_w
    return daily, windows
