"""newsbt market side: market data, calendars, the event-study engine, the signal backtest,
charts, reports and the ``newsbt`` command.
"""

from backtests.calendar import align_events
from backtests.errors import (
    CacheError,
    ConfigError,
    DataUnavailableError,
    InputFormatError,
    InputNotFoundError,
    NewsbtError,
    NewsbtWarning,
    NoDataInRangeError,
    UnknownSeriesError,
)
from backtests.macro import macro_calendar  # [honest answers] scheduled releases (confounders)
from backtests.market import (
    Market,
    SeriesSpec,
    get_spec,
    list_series,
    load_interventions,
    load_market,
    register_series,
    to_changes,
)
from backtests.report import write_report
from backtests.strategy import BacktestResult, Rule, backtest
from backtests.study import EventStudy, event_study
from signals._version import __version__

__all__ = [
    "BacktestResult",
    "CacheError",
    "ConfigError",
    "DataUnavailableError",
    "NoDataInRangeError",
    "EventStudy",
    "InputFormatError",
    "InputNotFoundError",
    "Market",
    "NewsbtError",
    "NewsbtWarning",
    "Rule",
    "SeriesSpec",
    "UnknownSeriesError",
    "__version__",
    "align_events",
    "backtest",
    "event_study",
    "get_spec",
    "list_series",
    "load_interventions",
    "load_market",
    "macro_calendar",
    "register_series",
    "to_changes",
    "write_report",
]
