"""Command-line options of ``newsbt backtest`` for the book in currency (``--dv01``,
``--fx-notional``, ``--currency``; see :func:`backtests.backtest`). Light: no numpy/pandas import,
so building the CLI parser stays fast."""

from __future__ import annotations

from typing import Any

from signals.errors import ConfigError

__all__ = ["add_backtest_args", "add_ccy_args", "ccy_kwargs", "parse_amounts", "run_kwargs"]


def parse_amounts(values: list[str] | None, flag: str) -> float | dict[str, float] | None:
    """CLI amounts: ``["850"]`` -> 850.0; ``["ust_10y=850", "default=400"]`` -> a mapping; None/[]
    -> None. ConfigError naming ``flag`` on anything else."""
    if not values:
        return None
    if len(values) == 1 and "=" not in values[0]:
        try:
            return float(values[0])
        except ValueError:
            raise ConfigError(f"{flag} {values[0]!r}: give a number or SERIES=AMOUNT pairs") from None
    out = {}
    for v in values:
        key, sep, num = v.partition("=")
        try:
            out[key.strip()] = float(num)
        except ValueError:
            sep = ""
        if not sep or not key.strip():
            raise ConfigError(f"{flag} {v!r}: give SERIES=AMOUNT (e.g. ust_10y=850 or default=400)")
    return out


def add_backtest_args(parser: Any) -> None:
    """The ``newsbt backtest`` options ``--holding``, ``--cost-bp``, ``--combine``,
    ``--position-cap``, ``--placebo``, ``--seed`` (as :func:`backtests.backtest` and the config's
    ``[backtest]`` keys) and :func:`add_ccy_args`."""
    parser.add_argument("--holding", type=int, default=5, help="holding period, trading days")
    parser.add_argument("--cost-bp", type=float, default=0.5, help="cost per unit turnover, bp")
    parser.add_argument("--combine", choices=["sum", "max", "last"], default="sum",
                        help="overlapping positions in one series: add, keep the largest, or the latest")  # fmt: skip
    parser.add_argument("--position-cap", type=float, default=None, help="largest absolute position per series, units")
    parser.add_argument("--placebo", type=int, default=200, help="placebo draws (same rules on random dates); 0 = none")
    parser.add_argument("--seed", type=int, default=0, help="seed of the placebo draws")
    add_ccy_args(parser)


def run_kwargs(args: Any) -> dict[str, Any]:
    """``combine``, ``position_cap``, ``placebo`` and ``seed`` for :func:`backtests.backtest`."""
    return {"combine": args.combine, "position_cap": args.position_cap, "placebo": args.placebo, "seed": args.seed}


def add_ccy_args(parser: Any) -> None:
    """The ``newsbt backtest`` options ``--dv01``, ``--fx-notional`` and ``--currency``."""
    amt = {"nargs": "+", "default": None, "metavar": "AMOUNT|SERIES=AMOUNT"}
    parser.add_argument("--dv01", **amt, help="currency per bp of yield per unit position; book in currency")
    parser.add_argument("--fx-notional", **amt, help="currency notional per unit FX position (x log return)")
    parser.add_argument("--currency", default="USD", help="label of the --dv01 / --fx-notional amounts")


def ccy_kwargs(args: Any) -> dict[str, Any]:
    """``dv01``, ``fx_notional`` and ``currency`` for :func:`backtests.backtest` from CLI arguments."""
    return {
        "dv01": parse_amounts(args.dv01, "--dv01"),
        "fx_notional": parse_amounts(args.fx_notional, "--fx-notional"),
        "currency": args.currency,
    }
