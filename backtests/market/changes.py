"""Levels to changes in bp (stub: filled by the market-data issue)."""


def to_changes(market):
    raise NotImplementedError
