"""The study config as pydantic v2 models, built from :data:`backtests.config.SCHEMA`.

One place declares every key (type, default, help: ``SCHEMA``; valid choices: ``CHOICES``; numeric
ranges: ``RANGES``); this module turns them into strict pydantic models (no coercion: ``"1"`` is
not a number, ``true`` is not an integer; unknown sections and keys are refused) and turns
pydantic's errors into messages that name the file, the ``[section].key`` (and list index) and
what is valid. All errors of a config are reported at once, before any work starts.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, create_model

__all__ = ["schema_errors"]

#: list keys whose items have a known type (default: list of anything)
_ITEMS: dict[tuple[str, str], Any] = {
    ("articles", "paths"): list[str],
    ("themes", "only"): list[str],
    ("market", "series"): list[str],
    ("study", "window"): list[int],
    ("study", "estimation"): list[int],
    ("study", "group_by"): list[str],
    ("study", "car_windows"): list[list[int]],
    ("backtest", "rules"): list[dict[str, Any]],
    ("interventions", "series"): list[str],
    ("interventions", "window"): list[int],
    ("interventions", "estimation"): list[int],
    ("report", "formats"): list[Literal["html", "md"]],
    ("report", "figure_formats"): list[Literal["png", "svg"]],
}

_STRICT = ConfigDict(extra="forbid", strict=True)


def _scalar(types: Any) -> Any:
    if types is str:
        return str
    if types is int:
        return int
    if types is bool:
        return bool
    if types == (int, float):
        return float
    if types == (str, dt.date):
        return dt.date | str
    if types == (str, list):
        return str | list[str]
    if types == (str, dict):
        return str | dict[str, str]
    if types == ((int, float), dict):  # backtest dv01 / fx_notional: a positive amount or a table of them
        pos = Annotated[float, Field(gt=0)]
        return pos | dict[str, pos]
    if types is list:
        return list[Any]
    raise TypeError(f"no pydantic type for {types!r}")  # pragma: no cover - schema bug


def _field_type(sec: str, key: str, types: Any, default: Any) -> Any:
    from backtests import config

    t = _ITEMS.get((sec, key)) or _scalar(types)
    if (sec, key) == ("study", "tests"):
        from backtests.stats import TEST_NAMES

        t = list[Literal[tuple(TEST_NAMES)]]  # type: ignore[misc]
    choices = config.CHOICES.get((sec, key))
    if choices:
        t = Literal[choices]  # type: ignore[valid-type]
    lo, hi = config.RANGES.get((sec, key), (None, None))
    if lo is not None or hi is not None:
        t = Annotated[t, Field(ge=lo, le=hi)]
    return t | None if default is None else t


@functools.cache
def _model() -> type[BaseModel]:
    from backtests import config

    sections = {}
    for sec, keys in config.SCHEMA.items():
        fields = {k: (_field_type(sec, k, v[0], v[1]), v[1]) for k, v in keys.items()}
        sections[sec] = (create_model(f"Config_{sec}", __config__=_STRICT, **fields), None)
    return create_model("Config", __config__=_STRICT, **sections)


def _type_word(t: str) -> str:
    return {
        "string_type": "a string",
        "int_type": "an integer",
        "float_type": "a number",
        "bool_type": "true/false",
        "list_type": "a list",
        "dict_type": "a table",
        "model_type": "a table of keys",
        "date_type": "a date",
    }.get(t, t)


def _message(err: Mapping[str, Any]) -> str | None:
    from backtests import config

    union = ("function-", "str", "constrained-")  # pydantic's names of union members, not keys
    loc = [x for x in err["loc"] if not (isinstance(x, str) and ("[" in x or x.startswith(union)))]
    typ, inp = err["type"], err.get("input")
    if not loc:
        return None
    sec = str(loc[0])
    if typ == "extra_forbidden" and len(loc) == 1:
        return f"unknown section [{sec}]; known sections: {', '.join(config.SCHEMA)}"
    if len(loc) == 1:
        return f"[{sec}] must be a table of keys, got {type(inp).__name__}"
    key = str(loc[1])
    where = f"[{sec}].{key}" + "".join(f"[{i}]" for i in loc[2:] if isinstance(i, int))
    if typ == "extra_forbidden":
        return f"unknown key [{sec}].{key}; known keys: {', '.join(config.SCHEMA[sec])}"
    if typ == "literal_error":
        ok = config.CHOICES.get((sec, key))
        listed = ", ".join(ok) if ok else err["ctx"]["expected"].replace("'", "").replace(" or ", ", ")
        return f"{where} = {inp!r} is not a valid choice; choose one of: {listed}"
    if typ in ("greater_than_equal", "less_than_equal"):
        lo, hi = config.RANGES.get((sec, key), (None, None))
        want = f">= {lo}" if hi is None else f"<= {hi}" if lo is None else f"between {lo} and {hi}"
        return f"{where} = {inp!r} is out of range; it must be {want}"
    types, _, help_ = config.SCHEMA.get(sec, {}).get(key, (None, None, ""))
    if typ == "greater_than":  # dv01 / fx_notional (or one entry of their table)
        sub = "".join(f".{i}" for i in loc[2:] if isinstance(i, str))
        return f"{where}{sub} = {inp!r} must be > {err['ctx']['gt']:g} ({help_})"
    word = _type_word(typ) if where != f"[{sec}].{key}" or types is None else f"a {config._type_name(types)}"
    return f"{where} must be {word}, got {type(inp).__name__} {inp!r} ({help_})"


def schema_errors(raw: Mapping[str, Any]) -> list[str]:
    """Every schema violation of ``raw`` as a message naming ``[section].key`` (empty: valid)."""
    try:
        _model().model_validate(dict(raw))
    except ValidationError as exc:
        out: dict[str, str] = {}  # first message per [section].key (a union reports each member)
        # a value of the right type but out of range (dv01 = -1) explains itself better than the
        # other union member's type error ("must be a number or dict")
        errs = sorted(exc.errors(include_url=False), key=lambda e: e["type"] != "greater_than")
        for e in errs:
            m = _message(e)
            if m:
                out.setdefault(".".join(m.split(" ", 1)[0].split(".")[:2]), m)
        return list(out.values())
    return []
