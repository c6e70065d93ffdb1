"""newsbt news side: articles in, tagged and scored articles, dated theme events out.

``signals`` never imports ``backtests``.
"""

from signals._version import __version__
from signals.articles import ARTICLE_COLUMNS, dedupe_articles, read_articles, sample_articles
from signals.errors import (
    ConfigError,
    InputFormatError,
    InputNotFoundError,
    NewsbtError,
    NewsbtWarning,
)
from signals.evaluate import evaluate_themes
from signals.events import EVENT_COLUMNS, events_from_table, extract_events
from signals.explain import explain
from signals.sentiment import FINANCE_LEXICON, FINANCE_PHRASES, score_sentiment
from signals.themes import Theme, ThemeBook, default_themes, load_themes, tag_themes

#: names imported on first use (PEP 562): the article store needs pyarrow.parquet and the Dask
#: path toolz/cloudpickle, which a study from a news file never uses (about 0.1 s of every start)
_LAZY = {"ArticleStore": "signals.store", "events_from_store": "signals.distributed"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'signals' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "ARTICLE_COLUMNS",
    "ArticleStore",
    "EVENT_COLUMNS",
    "FINANCE_LEXICON",
    "FINANCE_PHRASES",
    "ConfigError",
    "InputFormatError",
    "InputNotFoundError",
    "NewsbtError",
    "NewsbtWarning",
    "Theme",
    "ThemeBook",
    "__version__",
    "dedupe_articles",
    "default_themes",
    "evaluate_themes",
    "events_from_store",
    "events_from_table",
    "explain",
    "extract_events",
    "load_themes",
    "read_articles",
    "sample_articles",
    "score_sentiment",
    "tag_themes",
]
