"""newsbt news side: articles in, tagged and scored articles, dated theme events out.

``signals`` never imports ``backtests``.
"""

from signals._version import __version__
from signals.articles import read_articles
from signals.errors import (
    ConfigError,
    InputFormatError,
    InputNotFoundError,
    NewsbtError,
    NewsbtWarning,
)
from signals.events import events_from_table, extract_events
from signals.sentiment import score_sentiment
from signals.themes import ThemeBook, default_themes, load_themes, tag_themes

__all__ = [
    "ConfigError",
    "InputFormatError",
    "InputNotFoundError",
    "NewsbtError",
    "NewsbtWarning",
    "ThemeBook",
    "__version__",
    "default_themes",
    "events_from_table",
    "extract_events",
    "load_themes",
    "read_articles",
    "score_sentiment",
    "tag_themes",
]
