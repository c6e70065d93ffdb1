"""Locate shipped data files (theme book, sample corpus, market snapshot, demo config).

In a checkout they live in the repository's ``data/`` folder; in a wheel, hatch's force-include
copies them to ``signals/_data`` and ``backtests/_data`` (see pyproject.toml), so a non-editable
install works from any folder.
"""

from __future__ import annotations

from pathlib import Path

from signals.errors import InputNotFoundError

_HERE = Path(__file__).resolve().parent


def data_path(*parts: str) -> Path:
    """Path of a shipped data file, e.g. ``data_path("themes", "default.toml")``.

    Raises
    ------
    InputNotFoundError
        If the file is in none of the places a checkout or a wheel puts it.
    """
    bases = (_HERE / "_data", _HERE.parent / "backtests" / "_data", _HERE.parent / "data")
    for base in bases:
        p = base.joinpath(*parts)
        if p.exists():
            return p
    raise InputNotFoundError(
        f"shipped data file {'/'.join(parts)} not found in {', '.join(map(str, bases))}: "
        "reinstall newsbt (pip install .) or run from a checkout"
    )
