"""One reader for user event tables: ``newsbt study/backtest --events`` and ``[events].table``.

CSV, Parquet and JSON Lines/JSON files; any failure to read (ragged rows, a binary file given as
CSV, bad encoding, a corrupt Parquet file) becomes one :class:`~signals.errors.InputFormatError`
naming the option, the file and what to give instead.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from signals.errors import InputFormatError, InputNotFoundError

__all__ = ["read_events_table"]


def read_events_table(path: str | Path, *, what: str = "--events") -> pd.DataFrame:
    """Read a user events table and normalise it with :func:`signals.events_from_table`.

    Parameters
    ----------
    path : path
        ``.csv`` (any other suffix is read as CSV), ``.parquet``/``.pq``, ``.jsonl`` or ``.json``.
    what : str
        How the user named the file (``"--events"``, ``"[events].table"``), for messages.

    Returns
    -------
    pandas.DataFrame
        The events (see :func:`signals.events_from_table`).

    Raises
    ------
    InputNotFoundError
        No such file.
    InputFormatError
        The file cannot be read as a table, or lacks the event columns.
    """
    import signals

    p = Path(path)
    if not p.is_file():
        raise InputNotFoundError(f"{what} file {p} does not exist: check the path")
    suffix = "".join(p.suffixes[-2:]).lower()
    try:
        if suffix.endswith((".parquet", ".pq")):
            table = pd.read_parquet(p)
        elif suffix.endswith((".jsonl", ".json")):
            table = pd.read_json(p, lines=suffix.endswith(".jsonl"))
        else:
            table = pd.read_csv(p)
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError, OSError) as e:
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise InputFormatError(
            f"{what} {p}: not a readable events table ({first}); give a CSV/Parquet/JSONL table with date or "
            "timestamp and theme columns (make one from articles with `newsbt events`)"
        ) from None
    except Exception as e:  # pyarrow's own errors for a corrupt Parquet file
        raise InputFormatError(f"{what} {p}: not a readable events table ({type(e).__name__}: {e})") from None
    try:
        return signals.events_from_table(table)
    except InputFormatError as e:
        raise InputFormatError(f"{what} {p}: {e}") from None
