"""Re-export of the newsbt error family (defined in :mod:`signals.errors`)."""

from signals.errors import (
    CacheError,
    ConfigError,
    DataUnavailableError,
    InputFormatError,
    InputNotFoundError,
    NewsbtError,
    NewsbtWarning,
    UnknownSeriesError,
)

__all__ = [
    "CacheError",
    "ConfigError",
    "DataUnavailableError",
    "InputFormatError",
    "InputNotFoundError",
    "NewsbtError",
    "NewsbtWarning",
    "UnknownSeriesError",
]
