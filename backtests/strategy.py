"""Signal backtest: trade the news events on the market series, after costs, with no look-ahead.

Conventions
-----------
- **Units.** Every P&L figure is in basis points (bp) of the series' own change as returned by
  :func:`backtests.to_changes`: yields -> first differences x 100 (bp of yield); FX and prices ->
  1e4 x log return (bp). A position of size 1 earns exactly the series' change.
- **Sign (DV01-free).** A position of +1 profits when the series *rises*:
  ``P&L_t = position_{t-1} x change_t``. For a yield this is a pay-fixed / short-bond view
  (+1 gains 1 bp per 1 bp rise in yield, whatever the bond's duration: no DV01 scaling); for
  FX and prices it is long the quoted rate (``usdjpy`` +1 = long dollars against yen).
  An event's ``direction`` is the expected sign of the series' move, so a correct call earns.
- **Entry (no look-ahead).** An event is entered at the first close of each series STRICTLY after
  its timestamp (:func:`backtests.calendar.align_events` with ``strict=True``: the series' own
  calendar and close cut-off). The position is on from that close, so the first change it earns
  is the next session's. It is held ``holding`` sessions *of that series* (a Tokyo holiday does
  not count for JGBs) and closed at the close of the last one, or earlier at a close where the
  trade's own cumulative P&L per unit breaches ``-stop_loss_bp`` or ``+take_profit_bp``
  (close-to-close checks: no intraday fills).
- **Costs.** ``cost_bp`` per unit of turnover, charged on every change of position
  (``cost_bp x |position_t - position_{t-1}|``): a unit round trip costs ``2 x cost_bp``.
- **Overlaps.** Signals on one series combine by ``"sum"`` (positions add), ``"max"`` (no
  pyramiding: the largest active long plus the largest active short) or ``"last"`` (the most
  recently entered active signal wins; signals entered on the same session add), then are clipped
  to ``+/- position_cap``.
- **Totals and the book.** Yield bp and FX bp are different units and are never added. ``pnl``,
  ``gross``, ``costs`` and ``stats`` carry one column per series and one ``kind:<kind>`` column per
  kind (``kind:yield`` in bp of yield, ``kind:fx`` in bp of log return); the ``total`` column
  exists only when every traded series is of one kind (then bp add up honestly) and is absent
  otherwise. The cross-asset figure is in risk units (``pnl_risk``: each series' P&L divided by
  its estimation-window daily sd, ``risk_total``) or, when the caller gives ``dv01`` /
  ``fx_notional``, in currency (``pnl_ccy``, ``ccy_total``). One of them is **the book**
  (``book_pnl``, ``book``): ``ccy_total`` if a currency scale is given, else ``total`` for one kind,
  else ``risk_total``; the equity curve, drawdown, summary headline and placebo ranking read it
  (see :mod:`backtests._bt_units`).
- **Statistics.** From the daily net P&L on the market's dates (flat days count as 0),
  annualised with 252 trading days: return = 252 x mean, volatility = sqrt(252) x sd (ddof 1),
  Sharpe = sqrt(252) x mean / sd (no risk-free rate: the P&L is already an excess return),
  Sortino = sqrt(252) x mean / sqrt(mean(min(P&L, 0)^2)) (target 0, full-sample denominator, as
  in quantstats), max drawdown of the cumulative P&L from its running peak (starting at 0), its
  duration in trading days under water. Trade statistics (hit rate, average win/loss, profit
  factor) use each trade's stand-alone net P&L (``trades.net_bp``), i.e. before netting with
  overlapping trades; with ``combine="sum"`` and no cap, trades' gross P&L adds up to the
  portfolio's gross P&L.
- **Placebo.** The same rules on ``placebo`` seeded random entry dates: every traded event keeps
  its directions and sizes but gets one date drawn uniformly from the market's dates (and enters
  each series at its first session on or after it); the distribution of the book's Sharpe ratio and
  total P&L (same figure, unit and per-series weights as the real book) shows where the real
  events fall.

The core, :func:`simulate`, is a pure function of a changes matrix and per-trade arrays (entry
rows, directions, sizes, holding): positions are built from entry/exit deltas with cumulative
sums in each series' session coordinates (no Python loop per event).
"""

from __future__ import annotations

import dataclasses
import html
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from backtests import _bt_steps as steps
from backtests import _bt_units
from backtests._bt_inputs import (
    _Directions,
    _market_frames,
    _skip_frame,
)
from backtests._bt_simulate import (  # noqa: F401 (public: backtests.strategy.simulate, ...)
    _COMBINE,
    ANNUALISATION,
    Combine,
    CoreResult,
    _session_layout,
    _trade_stats,
    default_sessions,
    perf_stats,
    simulate,
)
from signals.errors import ConfigError, InputFormatError

log = logging.getLogger(__name__)

_TRADE_COLUMNS = [
    "event_id",
    "series",
    "rule",
    "theme",
    "entry",
    "exit",
    "direction",
    "size",
    "holding",
    "sessions_held",
    "exit_reason",
    "gross_bp",
    "cost_bp",
    "net_bp",
]


# --------------------------------------------------------------------------------------------
# Rules
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rule:
    """How events become positions on the market series.

    Parameters
    ----------
    name : str
        Label used in ``trades.rule`` and ``skipped.rule``.
    themes : sequence of str, optional
        Only events whose ``theme`` is one of these (None: every theme).
    series : sequence of str, optional
        Only these series of the market (None: every series).
    min_abs_sentiment : float
        Only events with ``|sentiment| >= min_abs_sentiment`` (VADER compound, unitless, 0..1).
    sentiment_range : (float, float), optional
        Only events with ``lo <= sentiment <= hi`` (a sentiment bucket, signed).
    min_articles : int
        Only events with ``n_articles >= min_articles``.
    direction : {"auto", "book", "column"} or {+1, -1}
        Where the expected sign of each series' move comes from. ``"auto"``: the event's
        ``direction_<series>`` column if present, else its scalar ``direction`` column, else the
        theme book. ``"column"``: the columns only. ``"book"``: the theme book only. A direction
        from the theme book is ``book.direction(theme, series) x stance`` for an event with a
        ``stance`` (+1 escalation keeps the sign, -1 de-escalation reverses it, 0 neutral: not
        traded, reason ``no_direction``), as :func:`signals.extract_events` builds its
        ``direction_<series>`` columns. ``+1``/``-1``: that sign on every series (stance ignored).
    sentiment_sign : bool, optional
        Multiply the direction by the sign of the event's ``sentiment``. None (default): only
        directions taken from the theme book, for events *without* a stance whose theme has
        ``book.sentiment_sign(theme)`` True (the stance replaces the sentiment sign; the
        ``direction_<series>`` columns of :func:`signals.extract_events` already include stance or
        sentiment). True: every direction (the book's own flag is then not applied a second time).
        False: never.
    trade_mixed : bool
        Events whose ``stance_kind`` is ``"mixed"`` (articles both escalate and de-escalate) are not
        traded (reason ``mixed_stance``) unless True; then they trade their net stance's direction.
        Does not apply to ``direction=+1/-1``.
    size : float
        Position size in units (1 unit earns 1 bp per bp of change).
    size_by : {None, "sentiment", "n_articles"}
        Scale ``size`` by ``|sentiment|`` or by ``n_articles``.
    max_size : float, optional
        Cap on the (scaled) size, units.
    holding : int, optional
        Holding period in sessions of each series (None: the ``holding`` given to
        :func:`backtest`).
    stop_loss_bp, take_profit_bp : float, optional
        Close a trade at the first close where its cumulative P&L per unit is ``<= -stop_loss_bp``
        or ``>= take_profit_bp`` (bp, > 0).
    """

    name: str = "rule"
    themes: tuple[str, ...] | None = None
    series: tuple[str, ...] | None = None
    min_abs_sentiment: float = 0.0
    sentiment_range: tuple[float, float] | None = None
    min_articles: int = 1
    direction: str | int = "auto"
    sentiment_sign: bool | None = None
    trade_mixed: bool = False
    size: float = 1.0
    size_by: str | None = None
    max_size: float | None = None
    holding: int | None = None
    stop_loss_bp: float | None = None
    take_profit_bp: float | None = None

    def __post_init__(self) -> None:
        for f in ("themes", "series"):
            v = getattr(self, f)
            if isinstance(v, str):
                object.__setattr__(self, f, (v,))
            elif v is not None:
                object.__setattr__(self, f, tuple(v))
        if self.sentiment_range is not None:
            lo, hi = self.sentiment_range
            if not lo <= hi:
                raise ConfigError(
                    f"Rule {self.name!r}: sentiment_range {self.sentiment_range} needs lo <= hi"
                )
            object.__setattr__(self, "sentiment_range", (float(lo), float(hi)))
        if self.direction not in ("auto", "book", "column", 1, -1):
            raise ConfigError(
                f"Rule {self.name!r}: direction={self.direction!r}; use 'auto', 'book', 'column', 1 or -1"
            )
        if self.size_by not in (None, "sentiment", "n_articles"):
            raise ConfigError(
                f"Rule {self.name!r}: size_by={self.size_by!r}; use None, 'sentiment' or 'n_articles'"
            )
        if not (np.isfinite(self.size) and self.size > 0):
            raise ConfigError(f"Rule {self.name!r}: size={self.size!r} must be a positive number of units")
        if self.max_size is not None and not self.max_size > 0:
            raise ConfigError(f"Rule {self.name!r}: max_size={self.max_size!r} must be > 0")
        if self.holding is not None:
            _check_holding(self.holding, f"Rule {self.name!r}: holding")
        for f in ("stop_loss_bp", "take_profit_bp"):
            v = getattr(self, f)
            if v is not None and not v > 0:
                raise ConfigError(f"Rule {self.name!r}: {f}={v!r} must be > 0 bp (or None)")
        if self.min_abs_sentiment < 0:
            raise ConfigError(f"Rule {self.name!r}: min_abs_sentiment must be >= 0")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Rule:
        """Build a rule from a plain mapping (e.g. a ``[[backtest.rules]]`` TOML table).

        Raises
        ------
        ConfigError
            On an unknown key (the message lists the valid ones).
        """
        names = {f.name for f in dataclasses.fields(cls)}
        bad = sorted(set(d) - names)
        if bad:
            raise ConfigError(f"unknown rule key(s) {bad}; valid keys: {sorted(names)}")
        return cls(**dict(d))


def _check_holding(h: Any, what: str) -> int:
    if isinstance(h, bool) or not isinstance(h, int | np.integer) or h < 1:
        raise ConfigError(f"{what}={h!r} must be an integer >= 1 (trading sessions)")
    return int(h)


# --------------------------------------------------------------------------------------------
# Core: a pure function of arrays
# --------------------------------------------------------------------------------------------


@dataclass
class BacktestResult:
    """Result of :func:`backtest` (all P&L in bp, sizes in units; see the module docstring).

    Attributes
    ----------
    positions : DataFrame
        Date x series: position after each date's close, units.
    pnl : DataFrame
        Date x (series..., ``kind:<kind>``..., [``total``]): daily P&L net of costs, bp of each
        series / kind. ``total`` only when every traded series is of one kind (absent otherwise:
        read ``book_pnl`` or the ``kind:`` columns).
    gross, costs : DataFrame
        The same columns: gross P&L and costs, bp.
    trades : DataFrame
        One row per event-trade: ``event_id, series, rule, theme, entry, exit`` (session dates),
        ``direction, size, holding, sessions_held, exit_reason`` ("holding", "stop_loss",
        "take_profit", "open" at the end of the data), ``gross_bp, cost_bp, net_bp``
        (stand-alone trade P&L, bp).
    stats : DataFrame
        Metric x ([``total``], ``kind:<kind>``..., series...), each column in bp of its own unit
        (``total`` only for one traded kind, as in ``pnl``); placebo rows are in ``book``.
    placebo : DataFrame
        One row per placebo draw: ``draw, sharpe, total, n_trades, unit`` (the book's figure).
    placebo_paths : DataFrame
        Date x draw: cumulative book P&L of each placebo draw, in the book's unit.
    skipped : DataFrame
        ``event_id, series, rule, reason, detail``: every event (or event-series pair) not traded.
    settings : dict
        The arguments used (holding, cost_bp, combine, position_cap, placebo, seed, rules).
    stats_units : DataFrame
        Per series, per kind (``yield``: bp of yield, ``fx``: bp of log return; never summed across
        kinds) and a cross-asset total in risk units (1 = one estimation-window daily sd), with
        distinct bets, per-bet hit rate, mean and t, and a Sharpe that states its exposure.
    bets : DataFrame
        One row per distinct bet (offsetting trades in one series and session netted).
    pnl_risk : DataFrame
        Date x (series..., ``risk_total``): daily net P&L in vol units (NaN for untraded series).
    pnl_ccy : DataFrame or None
        Date x (series..., ``ccy_total``): daily net P&L in currency (with ``dv01``/``fx_notional``).
    book_pnl : Series
        The book's daily net P&L (name: ``total``, ``risk_total`` or ``ccy_total``; ``attrs["unit"]``).
    book : Series
        The book's headline: ``figure``, ``unit``, ``scaling``, ``total``, ``sharpe`` ... and the
        placebo rows (``placebo_pvalue``, ``placebo_total_pvalue`` ...).
    """

    positions: pd.DataFrame
    pnl: pd.DataFrame
    gross: pd.DataFrame
    costs: pd.DataFrame
    trades: pd.DataFrame
    stats: pd.DataFrame
    placebo: pd.DataFrame
    placebo_paths: pd.DataFrame
    skipped: pd.DataFrame
    settings: dict = field(default_factory=dict)
    #: statistics per series, per kind (yield bp, fx bp) and a cross-asset total in risk units
    stats_units: pd.DataFrame | None = None
    #: distinct bets (offsetting trades in one series and session netted) with their P&L
    bets: pd.DataFrame | None = None
    #: daily net P&L in risk units per series and ``risk_total``
    pnl_risk: pd.DataFrame | None = None
    #: daily net P&L in currency per series and ``ccy_total`` (with dv01 / fx_notional)
    pnl_ccy: pd.DataFrame | None = None
    #: the book's daily net P&L in its unit (``attrs["unit"]``)
    book_pnl: pd.Series | None = None
    #: the book's headline statistics and placebo rank (figure, unit, scaling, total, sharpe, ...)
    book: pd.Series | None = None

    @property
    def equity(self) -> pd.Series:
        """Cumulative net P&L of the book, in the book's unit (``equity.attrs["unit"]``; bp only when
        one kind is traded, else risk units or currency: never a bp sum across kinds)."""
        eq = self.book_pnl.cumsum()
        eq.attrs["unit"] = self.book["unit"]
        return eq

    @property
    def drawdown(self) -> pd.Series:
        """Cumulative book P&L minus its running peak (starting at 0), in the book's unit (<= 0)."""
        eq = self.equity
        dd = eq - eq.clip(lower=0).cummax()
        dd.attrs["unit"] = self.book["unit"]
        return dd

    def summary(self) -> str:
        """Plain-text summary: parameters, the book (its figure and unit stated), per-kind and
        risk-unit lines with distinct bets, placebo rank, skipped counts."""
        p = self.settings
        lines = [
            f"Signal backtest: {len(self.trades)} trades on {self.positions.shape[1]} series, "
            f"{len(self.pnl)} days; holding {p.get('holding')} sessions, cost {p.get('cost_bp')} bp/unit "
            f"turnover, combine={p.get('combine')!r}, cap={p.get('position_cap')}",
            "P&L in bp of each series' change (yields: bp of yield, +1 = pay fixed; FX/prices: "
            "log-return bp, +1 = long the quoted rate); annualised with 252 days.",
            *_bt_units.book_lines(self),
        ]
        if len(self.skipped):
            counts = self.skipped["reason"].value_counts()
            lines.append("  not traded: " + ", ".join(f"{r} {n}" for r, n in counts.items()))
        return "\n".join(lines + _bt_units.summary_lines(self))

    def plot(self, **kw: Any) -> Any:
        """Equity curve, drawdown and placebo band (matplotlib Figure; see ``plots.plot_backtest``)."""
        from backtests import plots

        return plots.plot_backtest(self, **kw)

    def to_frames(self) -> dict[str, pd.DataFrame]:
        """Every table by name (for reports and CSV export): ``positions``, ``pnl``, ``trades``,
        ``stats``, ``stats_units``, ``book`` (one column), ``bets``, ``pnl_risk``, ``placebo``,
        ``skipped`` and ``pnl_ccy`` with a currency scale."""
        out = {
            "positions": self.positions,
            "pnl": self.pnl,
            "trades": self.trades,
            "stats": self.stats,
            "stats_units": self.stats_units,
            "book": self.book.to_frame() if self.book is not None else None,
            "bets": self.bets,
            "pnl_risk": self.pnl_risk,
            "pnl_ccy": self.pnl_ccy,
            "placebo": self.placebo,
            "skipped": self.skipped,
        }
        return {k: v for k, v in out.items() if v is not None}

    def _repr_html_(self) -> str:
        st = self.stats
        keep = [
            k
            for k in ("total_bp", "sharpe", "sortino", "max_drawdown_bp", "hit_rate", "n_trades")
            if k in st.index
        ]
        table = st.loc[keep].to_html(float_format=lambda x: f"{x:.3g}") if keep else ""
        head = html.escape(self.summary().splitlines()[0])
        book = html.escape(self.summary().splitlines()[2]) if self.book is not None else ""
        return f"<div><p><b>{head}</b></p><p>{book}</p>{table}<p>{len(self.skipped)} skipped rows</p></div>"

    def __repr__(self) -> str:
        return self.summary().splitlines()[0]


def _normalise_rules(rules: Any, rule: Any) -> list[Rule]:
    if rules is not None and rule is not None:
        raise ConfigError("backtest: give rules= or rule=, not both")
    r = rules if rules is not None else rule
    if r is None:
        return [Rule(name="default")]
    if isinstance(r, Rule):
        return [r]
    if isinstance(r, Mapping):
        return [Rule.from_dict(r)]
    out = [x if isinstance(x, Rule) else Rule.from_dict(x) for x in r]
    if not out:
        raise ConfigError("backtest: rules is empty; pass None for the default rule")
    names = [x.name for x in out]
    if len(set(names)) != len(names):
        out = [dataclasses.replace(x, name=f"{x.name}#{i}") for i, x in enumerate(out)]
    return out


def _check_backtest_args(events: Any, combine: Any, placebo: Any) -> None:
    """ConfigError / InputFormatError for a bad ``combine``, ``placebo`` or events table."""
    if combine not in _COMBINE:
        raise ConfigError(f"backtest: combine={combine!r}; use one of {_COMBINE}")
    if isinstance(placebo, bool) or not isinstance(placebo, int | np.integer) or placebo < 0:
        raise ConfigError(f"backtest: placebo={placebo!r} must be an integer >= 0 (number of draws)")
    if not isinstance(events, pd.DataFrame):
        raise InputFormatError(f"backtest: events must be a DataFrame, got {type(events).__name__}")
    if "event_id" not in events.columns:
        raise InputFormatError(
            "backtest: events have no 'event_id' column: add one (e.g. range(len(events)))"
        )
    dup = events["event_id"][events["event_id"].duplicated()]
    if len(dup):
        raise InputFormatError(
            f"backtest: duplicate event_id values {dup.unique()[:5].tolist()}: ids must be unique"
        )


def backtest(
    market: Any,
    events: pd.DataFrame,
    *,
    rules: Rule | Sequence[Rule] | None = None,
    rule: Rule | None = None,
    holding: int = 5,
    cost_bp: float | Mapping[str, float] = 0.5,
    combine: Combine = "sum",
    position_cap: float | Mapping[str, float] | None = None,
    placebo: int = 200,
    seed: int = 0,
    themes: Any = None,
    series: Sequence[str] | None = None,
    stop_loss_bp: float | None = None,
    take_profit_bp: float | None = None,
    dv01: float | Mapping[str, float] | None = None,
    fx_notional: float | Mapping[str, float] | None = None,
    currency: str = "USD",
) -> BacktestResult:
    """Trade news events on market series, net of costs, entering strictly after publication.

    Parameters
    ----------
    market : Market or pandas.DataFrame
        A :class:`backtests.Market`, or a levels frame whose ``attrs["newsbt_series"]`` gives each
        column's ``kind``, ``tz`` and ``close`` (a frame from :func:`backtests.to_changes`, whose
        attrs carry ``first_obs``, is used as changes directly).
    events : pandas.DataFrame
        ``event_id`` (unique) and ``timestamp`` (tz-aware) or ``date``; optional ``series``,
        ``theme``, ``sentiment``, ``n_articles``, ``direction`` or ``direction_<series>``.
    rules : Rule or sequence of Rule, optional
        How events become positions (default: every event on every series in its direction,
        unit size). ``rule=`` is an alias.
    holding : int
        Default holding period, sessions of each series (a rule's ``holding`` overrides it).
    cost_bp : float or mapping of series to float
        Cost per unit of turnover, bp (mapping: per series, with an optional ``"default"``).
    combine : {"sum", "max", "last"}
        How overlapping signals on one series combine.
    position_cap : float or mapping, optional
        Absolute position limit per series, units.
    placebo : int
        Number of random-date placebo runs (0: none).
    seed : int
        Seed of the placebo draws (same seed, same draws).
    themes : ThemeBook-like, optional
        Object with ``direction(theme, series) -> int`` (default :func:`signals.default_themes`),
        used when the events carry no direction column.
    series : sequence of str, optional
        Trade only these series of the market.
    stop_loss_bp, take_profit_bp : float, optional
        Defaults for rules that set none (bp per unit, > 0).
    dv01, fx_notional : float or mapping of series to float, optional
        Currency per bp of yield per unit position (yield series) and currency notional per unit
        position (FX/price series: P&L = notional x log return); keys: series or ``"default"``.
        With either, the book is ``ccy_total`` (every traded series then needs a scale).
    currency : str
        Label of those amounts (no conversion).

    Returns
    -------
    BacktestResult

    Raises
    ------
    InputFormatError
        Events without ``event_id`` or with duplicate ids; naive timestamps; a bad market.
    ConfigError
        Bad ``holding``, ``combine``, costs, caps, rules or ``dv01``/``fx_notional``.
    """
    holding = _check_holding(holding, "holding")
    _check_backtest_args(events, combine, placebo)
    rule_list = _normalise_rules(rules, rule)
    mk = steps.market_side(_market_frames(market), series, cost_bp, position_cap)
    ev, skipped = events.reset_index(drop=True), []  # skipped: DataFrames of rows not traded
    ent = steps.entries(ev, mk, align_events_strict, skipped)
    dirs = _Directions(ev, mk.series, themes)
    defaults = {"holding": holding, "stop_loss_bp": stop_loss_bp, "take_profit_bp": take_profit_bp}
    tr = steps.TradeArrays.concat([steps.rule_trades(ev, ri, r, dirs, ent, mk.series, defaults, skipped) for ri, r in enumerate(rule_list)])  # fmt: skip
    C, M = mk.changes.to_numpy(dtype=float), mk.sessions.to_numpy(dtype=bool)
    kw = {"sessions": M, "combine": combine, "position_cap": mk.cap, "cost_bp": mk.cost}
    args = (tr.series, tr.direction, tr.size, tr.holding)
    exits = {"stop_loss_bp": tr.stop_loss_bp, "take_profit_bp": tr.take_profit_bp}
    core = simulate(C, tr.row, *args, **exits, **kw)
    trades = steps.trades_table(ev, tr, core, mk, [r.name for r in rule_list], _TRADE_COLUMNS, skipped)
    dates, all_series = mk.changes.index, mk.series
    spec = _bt_units.book_spec(mk.changes, trades, dv01, fx_notional, currency)
    positions, gross, costs, pnl = _frames(core, dates, all_series, spec, trades)
    stats = _stats_frame(pnl, gross, costs, core, trades, all_series, spec.kinds)
    placebo_df, placebo_paths = _placebo((C, M, args, exits, kw), tr, placebo, seed, dates, spec)
    settings = _settings(
        rule_list, all_series, spec.figure, holding=holding, cost_bp=cost_bp, combine=combine,
        position_cap=position_cap, placebo=int(placebo), seed=seed, stop_loss_bp=stop_loss_bp,
        take_profit_bp=take_profit_bp, dv01=dv01, fx_notional=fx_notional, currency=currency,
    )  # fmt: skip
    bt = _bt_units.attach(BacktestResult(positions=positions, pnl=pnl, gross=gross, costs=costs, trades=trades, stats=stats,
                          placebo=placebo_df, placebo_paths=placebo_paths, skipped=_skipped_table(skipped), settings=settings), spec, perf_stats)  # fmt: skip
    bt.book = steps.placebo_stats(bt.book, placebo_df)
    return bt


def _placebo(sim: tuple, tr: steps.TradeArrays, n: int, seed: int, dates: pd.Index, spec: Any) -> tuple:
    """The placebo draws on the book's figure (its per-series weights; see :func:`steps.placebo_draws`)."""
    C, M, args, exits, kw = sim
    layout = _session_layout(C, M) if n and tr.event.size else None

    def run(rows: np.ndarray):  # the placebo's fast path: the book's daily net P&L only
        return simulate(
            C, rows, *args, **exits, _layout=layout, _total_only=True, _weights=spec.weights, **kw
        )

    return steps.placebo_draws(run, tr, n, seed, dates, perf_stats, spec.unit)


def _frames(core: CoreResult, dates: pd.Index, series: list[str], spec: Any, trades: pd.DataFrame) -> tuple:
    """(positions, gross, costs, pnl): date x series frames; the P&L frames with ``kind:<kind>``
    columns and ``total`` only when the traded series are of one kind."""
    one_kind = len(_bt_units.traded_kinds(spec.kinds, trades)) == 1
    positions = pd.DataFrame(core.positions, index=dates, columns=series)
    frames = (core.gross, core.costs, core.gross - core.costs)
    return positions, *(
        _bt_units.add_totals(pd.DataFrame(a, index=dates, columns=series), spec.kinds, one_kind)
        for a in frames
    )


def _skipped_table(skipped: list[pd.DataFrame]) -> pd.DataFrame:
    """The skipped rows as one table (counts per reason logged)."""
    out = _skip_frame(skipped)
    if len(out):
        counts = ", ".join(f"{k}: {n}" for k, n in out["reason"].value_counts().items())
        log.info("backtest: %d event/series rows not traded (%s)", len(out), counts)
    return out


def _settings(rule_list: list[Rule], series: list[str], book: str, **kw: Any) -> dict:
    """The arguments used (mappings as plain dicts), the rules, the series and the book figure."""
    out = {k: dict(v) if isinstance(v, Mapping) else v for k, v in kw.items()}
    out.update(rules=[dataclasses.asdict(r) for r in rule_list], annualisation_days=ANNUALISATION)
    return {**out, "series": series, "book": book}


def align_events_strict(events: pd.DataFrame, market: Any) -> pd.DataFrame:
    """:func:`backtests.calendar.align_events` with ``strict=True`` (the backtest's entry rule)."""
    from backtests.calendar import align_events

    return align_events(events, market, strict=True)


def _stats_frame(
    pnl: pd.DataFrame,
    gross: pd.DataFrame,
    costs: pd.DataFrame,
    core: CoreResult,
    trades: pd.DataFrame,
    series: list[str],
    kinds: Mapping[str, str],
) -> pd.DataFrame:
    """Metric x ([``total``], ``kind:<kind>``..., series...): each column's statistics in its own
    bp unit; a ``kind:``/``total`` column covers the series whose P&L it adds up."""
    groups = {"total": list(series)} if "total" in pnl.columns else {}
    for c in pnl.columns:
        if str(c).startswith(_bt_units.KIND_PREFIX):
            groups[c] = [s for s in series if kinds[s] == c.removeprefix(_bt_units.KIND_PREFIX)]
    groups.update({s: [s] for s in series})
    out: dict[str, dict[str, float]] = {}
    pos, turn = core.positions, core.turnover
    n_days = max(len(pnl), 1)
    for c, members in groups.items():
        j = [series.index(m) for m in members]
        st = perf_stats(pnl[c].to_numpy())
        st.update(_trade_stats(trades.loc[trades["series"].isin(members), "net_bp"].to_numpy(dtype=float)))
        st["gross_total_bp"] = float(gross[c].sum())
        st["cost_total_bp"] = float(costs[c].sum())
        tu = float(turn[:, j].sum())
        st["turnover"] = tu
        st["ann_turnover"] = tu / n_days * ANNUALISATION
        st["exposure"] = float(np.mean(np.any(pos[:, j] != 0, axis=1))) if len(pos) and j else np.nan
        out[c] = st
    return pd.DataFrame(out)[list(groups)]
