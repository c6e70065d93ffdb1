"""Shared fixtures. Real data is read from ``../shared/data`` (never copied into the repo)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# CI runs the same hypothesis examples every time (a red CI is then reproducible, not a coin
# toss); developers' runs explore new examples and print the blob of any failure.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("dev", deadline=None, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("NEWSBT_SHARED_DATA", REPO.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path to ``../shared/data``; skips the test when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"../shared/data not found at {SHARED_DATA} (set NEWSBT_SHARED_DATA to its path)")
    return SHARED_DATA


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path_factory, monkeypatch):
    """Keep every test's cache out of the repo and the user's cache dir."""
    monkeypatch.setenv("NEWSBT_DATA", str(tmp_path_factory.mktemp("newsbt_data")))
    monkeypatch.setenv("MPLBACKEND", "Agg")
