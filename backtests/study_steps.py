"""The steps of :func:`backtests.study.event_study`, in order, on one :class:`StudyState`.

``event_study`` turns its options into a frozen :class:`StudySpec` (:func:`make_spec`), then runs
each step of :data:`STEPS` on a :class:`StudyState`:

1. ``panel``: the changes matrix and the benchmark (:func:`read_panel`);
2. ``pairs``: events -> requested event-series pairs, unknown series, missing dates;
3. ``day0``: day 0 of every pair in its series' calendar, dates and windows outside the data;
4. ``overlaps``: overlapping windows on one series (``overlap=`` option);
5. ``engine``: groups, then :func:`backtests.engine.run_engine` on the pairs still open;
6. ``tests``: the registered tests of ``tests=`` per group (:mod:`backtests.tests_registry`);
7. ``tables``: the result tables.

Extending: a step is a function ``step(state) -> None`` that reads and writes the state; insert
it into :data:`STEPS` (e.g. an exclusion rule between ``day0`` and ``overlaps``: it sets
``state.reason``/``state.detail`` and clears ``state.open`` for the pairs it excludes; a table
after ``tables``: it writes into ``state.tables``, which become attributes of the result).
Every pair excluded by a step must get a reason code, so that kept + excluded = requested.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from backtests import engine as eng
from backtests import stats as st
from backtests import tests_registry as reg
from backtests._study_inputs import (
    _EXCLUDED_COLS,
    _benchmark,
    _check_range,
    _check_unique_pairs,
    _compact_rows,
    _engine_details,
    _overlaps,
    _pairs_from_events,
    _row_of,
    _take,
    _unit_of,
)
from backtests.gaps import study_gap_rule
from signals.errors import ConfigError, InputFormatError

__all__ = ["STEPS", "StudySpec", "StudyState", "make_spec"]

MODELS = ("raw", "mean", "market", "factor")
CALENDARS = ("index", "observed")
OVERLAPS = ("keep", "drop", "merge")


@dataclass(frozen=True)
class StudySpec:
    """The checked options of one study (see :func:`backtests.study.event_study`).

    ``car_windows`` starts with ``window``; ``min_estimation`` and ``benchmark`` (names) are
    resolved once the benchmark is known (``min_estimation`` None until then).
    """

    window: tuple[int, int]
    estimation: tuple[int, int]
    model: str
    calendar: str
    car_windows: tuple[tuple[int, int], ...]
    tests: tuple[str, ...]
    overlap: str
    allow_gaps: bool
    placebo_draws: int
    seed: int
    group_by: tuple[str, ...] = ()
    min_estimation: int | None = None
    benchmark: tuple[str, ...] = ()

    @property
    def l_nom(self) -> int:
        """Estimation-window length, days."""
        return self.estimation[1] - self.estimation[0] + 1

    def settings(self) -> dict:
        """The options as the result's ``settings`` dict (lists where the user gave lists)."""
        return {
            "window": self.window,
            "estimation": self.estimation,
            "model": self.model,
            "benchmark": list(self.benchmark),
            "group_by": list(self.group_by),
            "calendar": self.calendar,
            "car_windows": list(self.car_windows),
            "tests": self.tests,
            "overlap": self.overlap,
            "min_estimation": self.min_estimation,
            "allow_gaps": self.allow_gaps,
            "placebo_draws": self.placebo_draws,
            "seed": self.seed,
        }


def make_spec(*, window, estimation, model, group_by, calendar, car_windows, tests, overlap,
              allow_gaps, placebo_draws, seed) -> StudySpec:  # fmt: skip
    """Check the options of :func:`backtests.study.event_study` (ConfigError naming the fix)."""
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
    tests = reg.check_names(st.TEST_NAMES if tests is None else tests)
    if "placebo" in tests and (not isinstance(placebo_draws, int | np.integer) or placebo_draws < 1):
        raise ConfigError(f"placebo_draws={placebo_draws!r}: must be a positive integer")
    gcols = (group_by,) if isinstance(group_by, str) else tuple(group_by or ())
    return StudySpec((a, b), (c, d), model, calendar, tuple(wins), tests, overlap, allow_gaps,
                     placebo_draws, seed, gcols)  # fmt: skip


def _min_estimation(spec: StudySpec, min_estimation: int | None, k: int) -> int:
    """The minimum number of usable estimation days (default 80 % of the window)."""
    n_par = {"raw": 0, "mean": 1}.get(spec.model, k + 1)
    l_nom = spec.l_nom
    if min_estimation is None:
        min_est = max(math.ceil(0.8 * l_nom), n_par + 3)
        if min_est > l_nom:
            raise ConfigError(
                f"estimation={spec.estimation} has {l_nom} days; the {spec.model} model needs at least {n_par + 3}"
            )
        return min_est
    min_est = int(min_estimation)
    if min_est < n_par + 3 or min_est > l_nom:
        raise ConfigError(
            f"min_estimation={min_estimation}: must be between {n_par + 3} (parameters + 3, for the "
            f"Patell variance) and the estimation length {l_nom}"
        )
    return min_est


@dataclass
class StudyState:
    """Everything the steps share: the inputs, the spec, the requested pairs and their status.

    Per requested pair (arrays of length ``n_req``): ``reason`` ("" while open) and ``detail``,
    ``s`` (series column), ``pos`` (day-0 position in the series' calendar, -1 unknown),
    ``open`` (not excluded yet). ``cand`` are the pairs given to the engine, ``tables`` the
    result tables built so far (by name).
    """

    changes: pd.DataFrame
    events: pd.DataFrame
    spec: StudySpec
    benchmark: Any = None
    min_estimation: int | None = None
    values: np.ndarray | None = None
    index: pd.DatetimeIndex | None = None
    columns: list[str] = field(default_factory=list)
    bench: np.ndarray | None = None
    bench_cols: set = field(default_factory=set)
    pairs: pd.DataFrame | None = None
    reason: np.ndarray | None = None
    detail: np.ndarray | None = None
    open: np.ndarray | None = None
    located: np.ndarray | None = None
    s: np.ndarray | None = None
    pos: np.ndarray | None = None
    valid: np.ndarray | None = None
    eid_codes: np.ndarray | None = None
    eid_levels: pd.Index | None = None
    cand: np.ndarray | None = None
    codes: np.ndarray | None = None
    group_keys: list = field(default_factory=list)
    merged_ids: dict | None = None
    result: eng.EngineResult | None = None
    kept_local: np.ndarray | None = None
    tables: dict[str, Any] = field(default_factory=dict)

    @property
    def n_req(self) -> int:
        """Requested event-series pairs."""
        return len(self.pairs)

    def exclude(self, mask: np.ndarray, code: str, detail: Any) -> np.ndarray:
        """Exclude the open pairs in ``mask`` with reason ``code``; returns the pairs excluded."""
        hit = self.open & mask
        self.reason[hit] = code
        self.open &= ~hit
        if hit.any():
            self.detail[hit] = detail(hit) if callable(detail) else detail
        return hit


# ---------------------------------------------------------------------------------------------------
def read_panel(state: StudyState) -> None:
    """Step ``panel``: the changes as a float matrix, the benchmark matrix and its names."""
    changes, spec = state.changes, state.spec
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
    bench, names, state.bench_cols = _benchmark(spec.model, state.benchmark, changes, idx, columns)
    k = 0 if bench is None else bench.shape[1]
    min_est = _min_estimation(spec, state.min_estimation, k)
    state.spec = replace(spec, min_estimation=min_est, benchmark=tuple(names))
    state.values, state.index, state.columns, state.bench = values, idx, columns, bench


def requested_pairs(state: StudyState) -> None:
    """Step ``pairs``: one row per requested event-series pair; unknown series, missing dates."""
    pairs, reason, detail = _pairs_from_events(state.events, state.changes, state.columns, state.bench_cols)
    for gc in state.spec.group_by:
        if gc not in pairs.columns:
            raise ConfigError(
                f"group_by: {gc!r} is not a column of events (columns: {list(state.events.columns)})"
            )
    # integer codes of the event ids (also the level codes of study.ar) and of the series
    state.eid_codes, state.eid_levels = pd.factorize(pairs["event_id"])
    ser_codes, ser_levels = pd.factorize(pairs["series"])
    _check_unique_pairs(pairs, state.eid_codes, len(state.eid_levels), ser_codes, len(ser_levels))
    s_idx = np.append(pd.Index(state.columns).get_indexer(ser_levels), -1)[ser_codes]  # code -1: missing
    state.pairs, state.reason, state.detail = pairs, reason, detail
    state.open = reason == ""  # pairs not excluded yet (kept in step with reason)
    series = pairs["series"]
    unknown = state.exclude(
        s_idx < 0, "unknown_series", lambda m: [f"series {v!r} is not a column of changes" for v in series[m]]
    )
    state.s = np.maximum(s_idx, 0).astype(np.int64)
    nat = state.exclude(pairs["date"].isna().to_numpy(), "missing_date", "event has no date")
    state.located = ~unknown & ~nat  # pairs whose day 0 can be looked up


def day0(state: StudyState) -> None:
    """Step ``day0``: day 0 in each series' calendar; dates and windows outside the data."""
    spec, idx = state.spec, state.index
    a, b = spec.window
    if spec.calendar == "observed" and np.isinf(state.values).any():  # own trading days: finite values only
        state.values = eng.inf_to_nan(state.values)
    values = state.values
    valid = ~np.isnan(values) if spec.calendar == "observed" else np.broadcast_to(True, values.shape)
    dates_ns = idx.to_numpy(dtype="datetime64[ns]").astype(np.int64)
    date_ns = state.pairs["date"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    pos, n_obs = eng.locate_day0(valid, dates_ns, state.s, date_ns, spec.calendar)
    state.exclude(
        pos < 0,
        "date_outside_data",
        f"date outside the data ({idx[0].date()} to {idx[-1].date()}, own observations)",
    )
    n_s = n_obs[state.s]

    def window_text(m):
        return [
            f"data cover relative days {-p} to {n - 1 - p}, window needs {a} to {b}"
            for p, n in zip(pos[m], n_s[m])
        ]

    state.exclude((pos + a < 0) | (pos + b >= n_s), "window_outside_data", window_text)
    d0 = np.full(state.n_req, np.datetime64("NaT"), dtype="datetime64[ns]")
    okp = state.located & (pos >= 0)
    if okp.any():
        d0[okp] = idx.to_numpy(dtype="datetime64[ns]")[_row_of(valid, state.s[okp], pos[okp], spec.calendar)]
    state.pairs["day0"] = d0
    state.pos, state.valid = pos, valid


def overlaps(state: StudyState) -> None:
    """Step ``overlaps``: overlapping event windows on one series (``overlap=``)."""
    a, b = state.spec.window
    cand = np.flatnonzero(state.open)
    table, state.merged_ids = _overlaps(
        state.pairs, cand, state.s, state.pos, a, b, state.spec.overlap, state.reason, state.detail
    )
    state.tables["overlaps"] = table
    state.open &= state.reason == ""


def engine_run(state: StudyState) -> None:
    """Step ``engine``: group codes, pairs sorted by series, then the engine."""
    spec = state.spec
    cand = np.flatnonzero(state.open)
    if spec.group_by:
        keys = state.pairs.loc[:, list(spec.group_by)].iloc[cand]
        codes, uniques = pd.MultiIndex.from_frame(keys).factorize()
        state.group_keys = list(uniques)
    else:
        codes = np.zeros(len(cand), dtype=np.int64)
        state.group_keys = [()]
    codes = np.asarray(codes, dtype=np.int64)
    # kept pairs come out sorted by series (the column order of changes), events in their input
    # order within a series: the engine then reads each column while it is in cache and writes
    # its per-pair outputs in sequence (not scattered), and every table follows that order
    s_cand = state.s[cand]
    small = len(cand) and s_cand.max() < 2**15
    by_series = np.argsort(s_cand.astype(np.int16) if small else s_cand, kind="stable")
    state.cand, state.codes = cand[by_series], codes[by_series]
    s_c, p_c = state.s[state.cand], state.pos[state.cand]
    res = eng.run_engine(
        state.values, state.bench, s_c, p_c, state.codes, len(state.group_keys),
        calendar=spec.calendar, window=spec.window, estimation=spec.estimation, model=spec.model,
        car_windows=list(spec.car_windows), min_estimation=spec.min_estimation, allow_gaps=spec.allow_gaps,
        need=reg.engine_needs(spec.tests, spec.calendar), excl_windows=(s_c, p_c),
        placebo_draws=int(spec.placebo_draws) if "placebo" in spec.tests else 0, seed=spec.seed,
    )  # fmt: skip
    state.reason[state.cand] = res.reason
    state.open[state.cand] = res.reason == ""
    state.kept_local = np.flatnonzero(res.reason == "")
    state.result = res


def run_battery(state: StudyState) -> None:
    """Step ``tests``: the requested tests per group (first, so that the engine's accumulators
    are freed before the long tables are built); the AR matrix is compacted to the kept pairs."""
    spec, res, kl_all = state.spec, state.result, state.kept_local
    # compact the AR matrix to the kept pairs in place (kept_local is ascending, so every row
    # moves up or stays: a short copy per step, never a second full matrix)
    ar_k = _compact_rows(res.ar, kl_all)
    if ar_k.base is res.ar and res.ar.flags.owndata and ar_k.shape[0] < res.ar.shape[0]:
        buf, res.ar = res.ar, None
        buf.resize(ar_k.shape, refcheck=False)  # give the unused tail back (realloc, no copy)
        ar_k = buf
    res.ar = None
    state.tables["_ar_k"] = ar_k
    per_pair = {
        "car": res.car[kl_all], "scar": res.scar[kl_all], "dof": res.fit.dof[kl_all], "n_est": res.fit.n_est[kl_all]
    }  # fmt: skip
    kcodes = state.codes[kl_all]
    parts: dict[str, list] = {"caar": [], "daily": [], "tests": [], "placebo": []}
    order_k = np.argsort(kcodes, kind="stable")
    bounds = np.searchsorted(kcodes[order_k], np.arange(len(state.group_keys) + 1))
    for g in range(len(state.group_keys)):
        kl = order_k[bounds[g] : bounds[g + 1]]  # rows of the kept arrays
        if len(kl) == 0:
            continue
        gl = kl_all[kl]  # rows of the engine arrays
        if kl[-1] - kl[0] + 1 == len(kl) and (np.diff(kl) == 1).all():
            kl = slice(int(kl[0]), int(kl[-1]) + 1)  # a view, no copy (e.g. one group)
        day = eng.ar_day_stats(ar_k, kl)
        parts["caar"].append(
            (g, {"aar": day["mean"], "caar": day["caar"], "n": day["n"], "caar_se": day["caar_se"]})
        )
        gi = reg.GroupInput(
            g=g, ar=ar_k[kl], car=per_pair["car"][kl], scar=per_pair["scar"][kl], dof=per_pair["dof"][kl],
            n_est=per_pair["n_est"][kl], day=day, acc=res.acc, rows=res.rows, gl=gl, windows=list(spec.car_windows),
            window=spec.window, l_nom=spec.l_nom, calendar=spec.calendar,
        )  # fmt: skip
        daily, windows = reg.run_tests(gi, spec.tests)
        parts["daily"].extend((g, name, r) for name, r in daily.items())
        parts["tests"].extend((g, name, r) for name, r in windows.items())
        if "placebo" in windows:
            parts["placebo"].append((g, windows["placebo"].pop("_draws")))
    res.acc = res.rows = None  # the accumulators (Kolari-Pynnonen days: large)
    state.tables["_parts"] = parts


def _long_frame(parts, gcols, group_keys, index_vals: dict, cols) -> pd.DataFrame:
    """Stack per-group result arrays ``(g, [test,] dict)`` into one long frame (one build)."""
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


def _pairs_table(state: StudyState, kept: np.ndarray, eid_k, ser_k) -> pd.DataFrame:
    """The ``pairs`` table: ids, day 0, estimation results and model parameters of kept pairs."""
    spec, fit, kl = state.spec, state.result.fit, state.kept_local
    pdf = pd.DataFrame(
        {"event_id": eid_k, "series": ser_k, "day0": state.pairs["day0"].to_numpy()[kept],
         "n_est": fit.n_est[kl], "sigma": fit.sigma[kl], "dof": fit.dof[kl]},
        copy=False,  # fresh arrays: no second copy
    )  # fmt: skip
    if spec.model == "mean":
        pdf["mean"] = fit.params[kl, 0]
    elif spec.model in ("market", "factor"):
        pdf["alpha"] = fit.params[kl, 0]
    if spec.model == "market":
        pdf["beta"] = fit.params[kl, 1]
    elif spec.model == "factor":
        for j, name in enumerate(spec.benchmark):
            pdf[f"beta_{name}"] = fit.params[kl, 1 + j]
    for gc in spec.group_by:
        if gc not in pdf.columns:
            pdf[gc] = _take(state.pairs[gc], kept)
    if state.merged_ids is not None:
        pdf["merged_ids"] = [state.merged_ids.get(i, "") for i in kept]
    return pdf


def _car_table(state: StudyState, kept: np.ndarray, eid_k, ser_k) -> pd.DataFrame:
    """The long ``car`` table: one row per kept pair and CAR window."""
    res, kl, wins, pairs = state.result, state.kept_local, state.spec.car_windows, state.pairs
    rep = np.repeat(kept, len(wins))
    car_df = pd.DataFrame(
        {  # one window: the pairs table's ids (a new array object over the same buffers, so
            # that editing one table never changes the other)
            "event_id": eid_k.copy() if len(wins) == 1 else _take(pairs["event_id"], rep),
            "series": ser_k.copy() if len(wins) == 1 else _take(pairs["series"], rep),
            "start": np.tile([w[0] for w in wins], len(kept)),
            "end": np.tile([w[1] for w in wins], len(kept)),
            "car": res.car[kl].ravel(),
            "se": res.car_se[kl].ravel(),
            "scar": res.scar[kl].ravel(),
            "n_days": res.car_days[kl].ravel(),
        },
        copy=False,
    )
    for gc in state.spec.group_by:
        if gc not in ("event_id", "series"):
            car_df[gc] = _take(pairs[gc], rep)
    return car_df


def _test_tables(state: StudyState) -> dict[str, Any]:
    """``caar``, ``daily_tests``, ``tests`` and ``placebo_draws`` from the per-group parts."""
    spec, parts = state.spec, state.tables.pop("_parts")
    gcols, keys = list(spec.group_by), state.group_keys
    a, b = spec.window
    rel = {"rel_day": np.arange(a, b + 1)}
    wins = {
        "start": np.array([w[0] for w in spec.car_windows]),
        "end": np.array([w[1] for w in spec.car_windows]),
    }
    test_cols = ["statistic", "pvalue", "n", "n_pos"]
    out: dict[str, Any] = {}
    if parts["caar"]:
        out["caar"] = _long_frame(parts["caar"], gcols, keys, rel, ["aar", "caar", "n", "caar_se"])
    else:
        out["caar"] = pd.DataFrame(columns=[*gcols, "rel_day", "aar", "caar", "n", "caar_se"])
    if parts["daily"]:
        out["daily_tests"] = _long_frame(parts["daily"], gcols, keys, rel, test_cols)
        out["tests"] = _long_frame(parts["tests"], gcols, keys, wins, [*test_cols, "caar"])
    else:
        out["daily_tests"] = pd.DataFrame(columns=[*gcols, "test", "rel_day", *test_cols])
        out["tests"] = pd.DataFrame(columns=[*gcols, "test", "start", "end", *test_cols, "caar"])
    out["placebo_draws"] = None
    if "placebo" in spec.tests:
        frames = []
        for g, dr in parts["placebo"]:  # dr: (K, n windows) pseudo CAARs
            k_draws = dr.shape[0]
            frame = {gc: [keys[g][j]] * dr.size for j, gc in enumerate(gcols)}
            frame.update({"draw": np.repeat(np.arange(k_draws), len(wins["start"])),
                          "start": np.tile(wins["start"], k_draws), "end": np.tile(wins["end"], k_draws),
                          "caar": dr.ravel()})  # fmt: skip
            frames.append(pd.DataFrame(frame))
        cols = [*gcols, "draw", "start", "end", "caar"]
        out["placebo_draws"] = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)
    return out


def build_tables(state: StudyState) -> None:
    """Step ``tables``: ``pairs``, ``car``, ``caar``, tests, placebo draws; ``ar`` and
    ``excluded`` as picklable builders run on first read."""
    spec, res, pairs = state.spec, state.result, state.pairs
    kept = state.cand[state.kept_local]
    eid_k, ser_k = _take(pairs["event_id"], kept), _take(pairs["series"], kept)
    t = state.tables
    t.update(_test_tables(state))
    t["pairs"] = _pairs_table(state, kept, eid_k, ser_k)
    t["car"] = _car_table(state, kept, eid_k, ser_k)
    a, b = spec.window
    codes = (state.eid_codes[kept], state.s[kept])
    t["ar"] = partial(
        _ar_frame, t.pop("_ar_k"), state.eid_levels, list(state.columns), codes, list(range(a, b + 1))
    )
    n_est_all = np.full(state.n_req, -1, dtype=np.int64)
    n_est_all[state.cand] = res.fit.n_est
    n_miss_all = np.full(state.n_req, -1, dtype=np.int64)
    n_miss_all[state.cand] = res.n_missing
    eng_bad = state.cand[res.reason != ""]
    exc = np.flatnonzero(state.reason != "")
    assert len(t["pairs"]) + len(exc) == state.n_req
    t["excluded"] = ExcludedTable((
        pairs, exc, eng_bad, state.reason, state.detail,
        n_est_all, n_miss_all, (spec.l_nom, spec.min_estimation, b - a + 1),
    ))  # fmt: skip
    state.result = None  # free the engine's arrays
    t["unit"] = _unit_of(state.changes)


def _ar_frame(ar_k, eid_levels, columns, codes, rel) -> pd.DataFrame:
    """The ``ar`` table over the kept AR matrix (no copy), from the integer codes of its index
    (no second hashing of the event ids)."""
    mi = pd.MultiIndex(
        levels=[eid_levels, pd.Index(columns)],
        codes=list(codes),
        names=["event_id", "series"],
        verify_integrity=False,
    )
    return pd.DataFrame(ar_k, index=mi, columns=pd.Index(rel, name="rel_day"), copy=False)


@dataclass(frozen=True)
class ExcludedTable:
    """Builder of the ``excluded`` table (run on first read); its reason counts come without
    assembling the table (the exclusion warning of every study reads them)."""

    args: tuple

    def __call__(self) -> pd.DataFrame:
        return _excluded_frame(*self.args)

    def reason_counts(self) -> pd.Series:
        """Excluded pairs per reason, most frequent first (as ``excluded["reason"].value_counts()``)."""
        reason, exc = self.args[3], self.args[1]
        return pd.Series(reason[exc].astype(str), name="reason").value_counts()


def _excluded_frame(pairs, exc, eng_bad, reason, detail, n_est_all, n_miss_all, sizes) -> pd.DataFrame:
    """The ``excluded`` table; the engine's reasons get their detail text here."""
    l_nom, min_est, w_len = sizes
    detail = detail.copy()
    _engine_details(detail, reason, eng_bad, n_est_all, n_miss_all, l_nom, min_est, w_len)
    n_est_x, n_miss_x = n_est_all[exc], n_miss_all[exc]
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


def data_gaps(state: StudyState) -> None:
    """Step ``gaps``: no day 0 and no window day across a data gap of the series' own calendar
    (reasons ``day0_in_data_gap`` / ``window_in_data_gap`` / ``estimation_in_data_gap`` with the
    gap's dates; rules and tolerances in :mod:`backtests.gaps`)."""
    spec = state.spec
    date_ns = state.pairs["date"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
    state.open = study_gap_rule(
        state.changes, state.index, state.valid, state.s, state.pos, date_ns, state.open,
        state.reason, state.detail, window=spec.window, estimation=spec.estimation,
    )  # fmt: skip


#: the steps of event_study, in order (see the module docstring to add one)
STEPS: list[tuple[str, Callable[[StudyState], None]]] = [
    ("panel", read_panel),
    ("pairs", requested_pairs),
    ("day0", day0),
    ("gaps", data_gaps),
    ("overlaps", overlaps),
    ("engine", engine_run),
    ("tests", run_battery),
    ("tables", build_tables),
]
