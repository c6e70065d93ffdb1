"""Market data: series registry, sources (fred, mof, yfinance, files, sample), cache, changes.

Public names: :func:`load_market`, :func:`get_spec`, :func:`list_series`,
:func:`register_series`, :func:`load_interventions`, :func:`to_changes`, and the types
:class:`Market`, :class:`SeriesSpec`, :class:`SourceRef`, :class:`Provenance`.
"""

from backtests.market.changes import to_changes
from backtests.market.interventions import load_interventions
from backtests.market.load import load_market
from backtests.market.manage import cache_status, fetch, import_file
from backtests.market.registry import get_spec, list_series, register_series, yfinance_spec
from backtests.market.sample import snapshot_meta, snapshot_series
from backtests.market.spec import Market, Provenance, SeriesSpec, SourceRef

__all__ = [
    "Market",
    "Provenance",
    "cache_status",
    "fetch",
    "import_file",
    "SeriesSpec",
    "SourceRef",
    "get_spec",
    "list_series",
    "load_interventions",
    "load_market",
    "register_series",
    "snapshot_meta",
    "snapshot_series",
    "to_changes",
    "yfinance_spec",
]
