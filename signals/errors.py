"""The newsbt exception and warning family, shared by ``signals`` and ``backtests``.

It lives in ``signals`` (the upstream package) so that both packages can use it without an
import from ``signals`` into ``backtests``. Every error derives from :class:`NewsbtError` and from
the matching built-in exception, so ``except ValueError`` still works for callers who do not know
newsbt. Messages name the input (file, row, field) and say what to do.
"""

from __future__ import annotations


class NewsbtError(Exception):
    """Base class of every error newsbt raises on purpose."""

    exit_code: int = 1


class ConfigError(NewsbtError, ValueError):
    """A study config, theme book or option is invalid (names the key and the fix)."""

    exit_code = 2


class InputFormatError(NewsbtError, ValueError):
    """An input file or frame has the wrong shape, a bad value or a naive timestamp."""

    exit_code = 2


class InputNotFoundError(NewsbtError, FileNotFoundError):
    """A named input file, folder or glob matched nothing."""

    exit_code = 2


class UnknownSeriesError(NewsbtError, KeyError):
    """A series id is not in the registry."""

    exit_code = 2

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class DataUnavailableError(NewsbtError, RuntimeError):
    """Market data could not be had: network down, empty download, nothing cached."""

    exit_code = 3


class NoDataInRangeError(DataUnavailableError):
    """The source answered, but has no values in the requested date range (not a failure: the
    range is outside what it publishes, e.g. before a series begins)."""


class CacheError(NewsbtError, OSError):
    """The local cache is corrupt or cannot be written."""

    exit_code = 3


class NewsbtWarning(UserWarning):
    """Warnings newsbt issues on purpose (stale cache, dropped rows, overlaps)."""
