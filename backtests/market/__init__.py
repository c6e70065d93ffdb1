"""Market data: series registry, sources, cache (stub: filled by the market-data issue)."""

from backtests.market.changes import to_changes
from backtests.market.spec import Market, Provenance, SeriesSpec, SourceRef


def load_market(series, *, start=None, end=None, source="auto"):
    raise NotImplementedError


def get_spec(series_id):
    raise NotImplementedError


def list_series():
    raise NotImplementedError


def register_series(spec):
    raise NotImplementedError


def load_interventions():
    raise NotImplementedError


__all__ = [
    "Market",
    "Provenance",
    "SeriesSpec",
    "SourceRef",
    "get_spec",
    "list_series",
    "load_interventions",
    "load_market",
    "register_series",
    "to_changes",
]
