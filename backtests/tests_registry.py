"""The event-study test registry: one table maps a test name to what it needs and its function.

Each entry is a :class:`TestSpec`: the test's ``name``, the engine inputs it ``needs`` and the
function computing its daily and window results for one group from a :class:`GroupInput`.
``event_study(tests=...)`` asks the engine for the union of the needs of the requested tests
(:func:`engine_needs`) and runs each test's function per group (:func:`run_tests`). Adding a test
is one entry (:func:`register`) plus one function.

Needs (what the engine accumulates, besides the abnormal returns, which every test may read):

- ``"sar"``: daily SAR moments per group (Patell, BMP, Kolari-Pynnonen);
- ``"bw"``: estimation-window AR sums per relative day (Brown-Warner);
- ``"gsign"``: positive estimation-window ARs (generalised sign);
- ``"rank"``: Corrado rank-deviation sums per window;
- ``"kp"``: Kolari-Pynnonen residual cross sums (the engine's form depends on the calendar);
- ``"placebo"``: pseudo-event AR sums per draw.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

import numpy as np

from backtests import stats as st
from signals.errors import ConfigError

__all__ = [
    "NEEDS",
    "REGISTRY",
    "GroupInput",
    "TestSpec",
    "engine_needs",
    "register",
    "run_tests",
    "unregister",
]

NEEDS = frozenset({"sar", "bw", "gsign", "rank", "kp", "placebo"})

#: one test's result: (daily, window) dicts of arrays (``statistic``, ``pvalue``, ``n``, ``n_pos``)
Result = tuple[dict, dict]


@dataclass
class GroupInput:
    """What a test function reads for one group of kept pairs (arrays of the group's pairs).

    ``acc`` holds the engine's per-group accumulators (index ``g``); ``ar`` (pairs x relative
    days), ``car``, ``scar`` (pairs x CAR windows), ``dof``, ``n_est`` are the group's pairs;
    ``day`` the per-day AR statistics (:func:`backtests.engine.ar_day_stats`); ``rows`` and
    ``gl`` the calendar rows of the window days and the pairs' rows in the engine arrays (the
    Kolari-Pynnonen observed-calendar form); ``cache`` shares intermediate results between tests.
    """

    g: int
    ar: np.ndarray
    car: np.ndarray
    scar: np.ndarray
    dof: np.ndarray
    n_est: np.ndarray
    day: dict
    acc: dict
    rows: np.ndarray
    gl: np.ndarray
    windows: list[tuple[int, int]]
    window: tuple[int, int]
    l_nom: int
    calendar: str
    cache: dict = field(default_factory=dict)

    @property
    def n(self) -> int:
        """Number of pairs of the group."""
        return self.car.shape[0]


@dataclass(frozen=True)
class TestSpec:
    """One registry entry: the test ``name``, its engine ``needs`` and its ``compute`` function."""

    name: str
    needs: frozenset[str]
    compute: Callable[[GroupInput], Result]

    def __post_init__(self) -> None:
        bad = set(self.needs) - NEEDS
        if bad:
            raise ConfigError(f"test {self.name!r}: unknown needs {sorted(bad)}; choose from {sorted(NEEDS)}")


# ---------------------------------------------------------------------------------------------------
def _t_cross_section(gi: GroupInput) -> Result:
    return st.t_cross_section(None, moments=gi.day), st.t_cross_section(gi.car)


def _brown_warner(gi: GroupInput) -> Result:
    a = gi.window[0]
    return st.brown_warner(
        None, gi.acc["bw_sum"][gi.g], gi.acc["bw_cnt"][gi.g], float(gi.n_est.mean()), gi.windows, a, gi.day
    )


def _patell(gi: GroupInput) -> Result:
    acc, g = gi.acc, gi.g
    daily = st.patell_from_sums(acc["sar_s1"][g], acc["sar_var"][g], acc["sar_n"][g], acc["sar_pos"][g])
    return daily, st.patell(gi.scar, gi.dof)


def _bmp(gi: GroupInput) -> Result:
    if "bmp" not in gi.cache:  # shared with Kolari-Pynnonen
        acc, g = gi.acc, gi.g
        daily = st.bmp_from_sums(acc["sar_s1"][g], acc["sar_s2"][g], acc["sar_n"][g], acc["sar_pos"][g])
        gi.cache["bmp"] = (daily, st.bmp(gi.scar))
    return gi.cache["bmp"]


def _kolari_pynnonen(gi: GroupInput) -> Result:
    bmp_d, bmp_w = _bmp(gi)
    acc, g, n = gi.acc, gi.g, gi.n
    a, b = gi.window
    lengths = [w1 - w0 + 1 for (w0, w1) in gi.windows]
    if gi.calendar == "index":  # lagged cross sums of the day-0 row sums (the engine's kp_lag_sums)
        rd, rw = st.kp_rbar_from_lags(acc["kp_lags"][g], acc["kp_self"][g], gi.l_nom, n, lengths)
        rd = np.full(b - a + 1, rd)
    else:
        ncols = int(gi.rows.max(initial=0)) + 1  # the event windows' rows bound the dates used
        rd, rw = st.kp_rbar_pairs(acc["kp_u"], acc["kp_rows"], gi.rows, ncols, gi.windows, a, rows=gi.gl)
    return st.kolari_pynnonen(bmp_d, rd), st.kolari_pynnonen(bmp_w, rw)


def _corrado_rank(gi: GroupInput) -> Result:
    acc, g = gi.acc, gi.g
    daily, wl = None, []
    for wi in range(len(gi.windows)):
        dres, wres = st.corrado_rank(acc["rank_sum"][wi][g], acc["rank_cnt"][wi][g], gi.l_nom, gi.n)
        if wi == 0:
            daily = dres
        wl.append(wres)
    return daily, {key: np.concatenate([w[key] for w in wl]) for key in wl[0]}


def _sign(gi: GroupInput) -> Result:
    return st.sign(gi.ar), st.sign(gi.car)


def _generalized_sign(gi: GroupInput) -> Result:
    acc, g = gi.acc, gi.g
    p_hat = acc["gs_pos"][g] / acc["gs_n"][g] if acc["gs_n"][g] > 0 else np.nan
    return st.generalized_sign(gi.ar, p_hat), st.generalized_sign(gi.car, p_hat)


def _wilcoxon(gi: GroupInput) -> Result:
    return st.wilcoxon(gi.ar), st.wilcoxon(gi.car)


def _placebo(gi: GroupInput) -> Result:
    a = gi.window[0]
    acc, g, ar, car = gi.acc, gi.g, gi.ar, gi.car
    with np.errstate(invalid="ignore", divide="ignore"):
        pl = acc["pl_sum"][g] / acc["pl_n"][g][:, None]  # (K, W) pseudo AARs
    nt = (~np.isnan(ar)).sum(axis=0)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        daily = st.placebo(np.nanmean(ar, axis=0), pl, nt)
        obs_w = np.array([np.nanmean(car[:, i]) for i in range(len(gi.windows))])
    draws_w = np.stack([pl[:, w0 - a : w1 - a + 1].sum(axis=1) for (w0, w1) in gi.windows], axis=1)
    windows = st.placebo(obs_w, draws_w, (~np.isnan(car)).sum(axis=0))
    windows["_draws"] = draws_w  # the pseudo CAARs (study.placebo_draws)
    return daily, windows


REGISTRY: dict[str, TestSpec] = {
    spec.name: spec
    for spec in (
        TestSpec("t_cross_section", frozenset(), _t_cross_section),
        TestSpec("brown_warner", frozenset({"bw"}), _brown_warner),
        TestSpec("patell", frozenset({"sar"}), _patell),
        TestSpec("bmp", frozenset({"sar"}), _bmp),
        TestSpec("kolari_pynnonen", frozenset({"sar", "kp"}), _kolari_pynnonen),
        TestSpec("corrado_rank", frozenset({"rank"}), _corrado_rank),
        TestSpec("sign", frozenset(), _sign),
        TestSpec("generalized_sign", frozenset({"gsign"}), _generalized_sign),
        TestSpec("wilcoxon", frozenset(), _wilcoxon),
        TestSpec("placebo", frozenset({"placebo"}), _placebo),
    )
}
assert tuple(REGISTRY) == st.TEST_NAMES  # the built-in tests (the default battery)


def register(spec: TestSpec) -> None:
    """Add (or replace) a test; ``event_study(tests=[spec.name])`` then runs it."""
    REGISTRY[spec.name] = spec


def unregister(name: str) -> None:
    """Remove a test added with :func:`register` (the built-in tests stay)."""
    if name in st.TEST_NAMES:
        raise ConfigError(f"{name!r} is a built-in test and cannot be removed")
    REGISTRY.pop(name, None)


def check_names(tests: Iterable[str]) -> tuple[str, ...]:
    """The requested test names as a tuple; raises ConfigError naming unknown ones."""
    tests = (tests,) if isinstance(tests, str) else tuple(tests)
    bad = [t for t in tests if t not in REGISTRY]
    if bad:
        raise ConfigError(f"tests: unknown {bad}; choose from {', '.join(REGISTRY)}")
    return tests


def engine_needs(tests: Iterable[str], calendar: str) -> frozenset[str]:
    """Union of the needs of ``tests``, in the engine's terms (``kp`` is ``kp_pairs`` under the
    observed calendar: per-pair residuals instead of sums by day-0 row)."""
    need: set[str] = set()
    for name in tests:
        need |= REGISTRY[name].needs
    if "kp" in need and calendar != "index":
        need = (need - {"kp"}) | {"kp_pairs"}
    return frozenset(need)


def run_tests(gi: GroupInput, tests: Iterable[str]) -> tuple[dict[str, dict], dict[str, dict]]:
    """Daily and window results of ``tests`` for one group, by test name; every window result
    also gets ``caar`` (the group's mean CAR over each window, input unit)."""
    daily: dict[str, dict] = {}
    windows: dict[str, dict] = {}
    wanted = set(tests)
    for name in [t for t in REGISTRY if t in wanted]:  # registry order, whatever the order asked
        daily[name], windows[name] = REGISTRY[name].compute(gi)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        caar_w = np.array(
            [np.nanmean(c) if (~np.isnan(c)).any() else np.nan for c in gi.car.T[: len(gi.windows)]]
        )
    for r in windows.values():
        r["caar"] = caar_w
    return daily, windows
