"""Re-export of the newsbt error family (defined in :mod:`signals.errors`)."""

from signals.errors import (
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

__all__ = [
    "CacheError",
    "ConfigError",
    "DataUnavailableError",
    "NoDataInRangeError",
    "InputFormatError",
    "InputNotFoundError",
    "NewsbtError",
    "NewsbtWarning",
    "UnknownSeriesError",
]
