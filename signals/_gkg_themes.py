"""GDELT-native signals: themes from GKG theme codes mapped in the theme book, sentiment from V2Tone.

A theme of the book may carry two optional keys (``data/themes/default.toml`` documents them)::

    [themes.tariffs]
    gkg_themes = ["ECON_TRADE_DISPUTE", "TAX_TARIFFS"]     # any of these; CODE* = a prefix
    gkg_require = [["ECON_WORLDCURRENCIES_JAPANESE_YEN*"]]  # optional AND of ORs

A GKG row is tagged with the theme when at least one ``gkg_themes`` code is among its
``gdelt_themes`` (the store keeps V2Themes without offsets, else V1 themes, ``;``-joined) and
every ``gkg_require`` group has a code present; ``<theme>_score`` is the number of distinct
``gkg_themes`` codes present. Sentiment (``compound``) is the V2Tone average tone / 10 clipped to
[-1, 1]. No text is read: a year of GKG needs no text pass.

The matching is vectorised with pyarrow kernels: one RE2 pass over the joined code strings keeps
the candidate rows (those that may hold any mapped code), only those are split into codes, the
codes are dictionary-encoded once and each pattern is matched against the (small) dictionary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from signals.errors import ConfigError

__all__ = ["GkgRule", "as_gkg_rules", "gkg_rules_from_book", "gkg_scores", "parse_gkg_keys", "tag_gkg"]

_CODE_RE = re.compile(r"^[A-Z0-9][A-Z0-9_\-]*\*?$")
GKG_KEYS = ("gkg_themes", "gkg_require")


@dataclass(frozen=True)
class GkgRule:
    """How one theme is read from GKG codes.

    Attributes
    ----------
    codes : tuple of str
        Any of these codes tags the row (``CODE*``: every code starting with ``CODE``); the score
        is how many distinct codes of the row match.
    require : tuple of tuple of str
        Each group needs at least one code present (AND of ORs), e.g. a yen code for an FX theme.
    """

    codes: tuple[str, ...]
    require: tuple[tuple[str, ...], ...] = ()

    def patterns(self) -> list[str]:
        return [*self.codes, *(c for g in self.require for c in g)]


def _codes(v: Any, where: str) -> tuple[str, ...]:
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, (list, tuple)) or not v:
        raise ConfigError(f"{where}: expected a non-empty list of GKG theme codes, e.g. ['ECON_DEBT']")
    bad = [c for c in v if not isinstance(c, str) or not _CODE_RE.match(c)]
    if bad:
        raise ConfigError(
            f"{where}: {bad!r} are not GKG theme codes (upper case letters, digits, _ and -; a "
            "trailing * for a prefix, e.g. 'ECON_INTEREST_RATE*')"
        )
    return tuple(v)


def parse_gkg_keys(name: str, d: dict, source: str) -> GkgRule | None:
    """The :class:`GkgRule` of one ``[themes.<name>]`` table (None without ``gkg_themes``)."""
    where = f"theme book {source}: [themes.{name}]"
    if "gkg_themes" not in d:
        if "gkg_require" in d:
            raise ConfigError(f"{where}: gkg_require needs gkg_themes (the codes that tag the theme)")
        return None
    codes = _codes(d["gkg_themes"], f"{where}.gkg_themes")
    req = d.get("gkg_require", [])
    if not isinstance(req, list):
        raise ConfigError(f"{where}.gkg_require: expected a list of code lists, e.g. [['ECON_DEBT']]")
    groups = tuple(_codes(g, f"{where}.gkg_require") for g in req)
    return GkgRule(codes, groups)


def gkg_rules_from_book(book, where: str = "") -> dict[str, GkgRule]:
    """The GKG rules of a theme book (themes without ``gkg_themes`` are not read from GKG)."""
    rules = dict(getattr(book, "gkg_themes", {}) or {})
    if not rules:
        raise ConfigError(
            f"{where}theme book {book.name!r} has no gkg_themes keys: add gkg_themes = [...] to its "
            "[themes.<name>] tables (see data/themes/default.toml), pass gkg_map=, or use source='text'"
        )
    return rules


def as_gkg_rules(gkg_map: dict, book_names: tuple[str, ...]) -> dict[str, GkgRule]:
    """``gkg_map`` (theme -> code list, or -> :class:`GkgRule`) as rules, checked against the book."""
    unknown = sorted(set(gkg_map) - set(book_names))
    if unknown:
        raise ConfigError(f"gkg_map themes {unknown} are not in the theme book ({', '.join(book_names)})")
    return {
        k: v if isinstance(v, GkgRule) else GkgRule(_codes(list(v), f"gkg_map[{k!r}]"))
        for k, v in gkg_map.items()
    }


def _pattern_mask(dictionary: pa.Array, pats: list[str]) -> np.ndarray:
    """Which dictionary codes match any of ``pats`` (exact, or prefix for ``CODE*``)."""
    m = np.zeros(len(dictionary), dtype=bool)
    exact = [p for p in pats if not p.endswith("*")]
    if exact:
        m |= np.asarray(pc.is_in(dictionary, value_set=pa.array(exact, pa.string())), dtype=bool)
    for p in pats:
        if p.endswith("*"):
            m |= np.asarray(pc.starts_with(dictionary, p[:-1]), dtype=bool)
    return m


def gkg_scores(codes: Any, rules: dict[str, GkgRule]) -> dict[str, np.ndarray]:
    """Per theme, the score of every row (0 = not tagged): distinct ``codes`` matches, or 0 when a
    ``require`` group has no match.

    Parameters
    ----------
    codes : pyarrow Array/ChunkedArray or sequence of str
        Per row the ``;``-joined GKG codes (null or "" = none).
    rules : dict
        Theme -> :class:`GkgRule`.
    """
    arr = codes if isinstance(codes, (pa.Array, pa.ChunkedArray)) else pa.array(list(codes), pa.string())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks else pa.array([], pa.string())
    arr = pc.fill_null(arr.cast(pa.string()), "")
    n = len(arr)
    out = {t: np.zeros(n) for t in rules}
    pats = sorted({p for r in rules.values() for p in r.patterns()})
    if not n or not pats:
        return out
    # 1. candidate rows: a code starting with one of the patterns (superset of the exact matches)
    alt = "|".join(re.escape(p.rstrip("*")) for p in pats)
    cand = np.flatnonzero(np.asarray(pc.match_substring_regex(arr, f"(?:^|;)(?:{alt})"), dtype=bool))
    if not len(cand):
        return out
    # 2. split only those rows; dictionary-encode the codes once
    lists = pc.split_pattern(arr.take(pa.array(cand)), ";")
    parent = np.asarray(pc.list_parent_indices(lists))
    enc = pc.dictionary_encode(pc.list_flatten(lists))
    dictionary, idx = enc.dictionary, np.asarray(enc.indices)
    hit = _pattern_mask(dictionary, pats)[idx]  # keep only the codes that match some pattern
    idx, parent, k = idx[hit], parent[hit], len(cand)
    # distinct codes per row: a code repeated in one row counts once
    pair = np.unique(parent.astype(np.int64) * len(dictionary) + idx)
    parent, idx = pair // len(dictionary), pair % len(dictionary)

    def present(p: list[str]) -> np.ndarray:  # per candidate row: number of matching codes
        return np.bincount(parent[_pattern_mask(dictionary, p)[idx]], minlength=k)

    for theme, rule in rules.items():
        score = present(list(rule.codes)).astype(float)
        for group in rule.require:
            score[present(list(group)) == 0] = 0.0
        out[theme][cand] = score
    return out


def tag_gkg(articles: pa.Table | pd.DataFrame, gkg_map: dict, *, tagged_only: bool = False) -> pd.DataFrame:
    """Themes and sentiment from GDELT's own fields, without a text pass.

    Parameters
    ----------
    articles : pandas.DataFrame or pyarrow.Table
        Store rows with ``gdelt_themes`` (``;``-joined GKG theme codes) and ``tone`` (V2Tone's
        average tone: percent of positive minus negative words, roughly -10..10).
    gkg_map : dict
        Theme name -> :class:`GkgRule` or a list of GKG codes (``CODE*`` = a prefix).
    tagged_only : bool
        Return only the rows with at least one theme (the others are never converted to pandas:
        most GKG rows carry none of a book's codes).

    Returns
    -------
    pandas.DataFrame
        The rows (without ``gdelt_themes``) with ``<theme>_score`` (number of the theme's codes
        present), ``themes`` (tuple, map order) and ``compound`` = clip(tone / 10, -1, 1) (0 without
        a tone): the columns :func:`signals.extract_events` reads. No ``<theme>_stance``: events
        read from GKG carry no stance (their direction follows the book, signed by sentiment for
        ``sentiment_sign`` themes).
    """
    rules = {k: v if isinstance(v, GkgRule) else GkgRule(tuple(v)) for k, v in gkg_map.items()}
    is_arrow = isinstance(articles, pa.Table)
    cols = articles.column_names if is_arrow else list(articles.columns)
    if "gdelt_themes" not in cols:
        codes = pa.nulls(len(articles), pa.string())
    elif is_arrow:
        codes = articles.column("gdelt_themes")
    else:
        codes = pa.array(
            articles["gdelt_themes"].astype(object).where(articles["gdelt_themes"].notna(), None)
        )
    scores = gkg_scores(codes, rules)
    if tagged_only:
        keep_rows = np.zeros(len(articles), dtype=bool)
        for sc in scores.values():
            keep_rows |= sc > 0
        rows = np.flatnonzero(keep_rows)
        scores = {t: sc[rows] for t, sc in scores.items()}
        articles = articles.take(pa.array(rows)) if is_arrow else articles.iloc[rows]
    if is_arrow:
        from signals.store import _to_pandas

        keep = articles.drop_columns([c for c in ("gdelt_themes",) if c in cols])
        out = _to_pandas(keep.replace_schema_metadata(None))
    else:
        out = articles.drop(columns=[c for c in ("gdelt_themes",) if c in cols])
    for theme, sc in scores.items():
        out[f"{theme}_score"] = sc
    names = list(rules)
    bits = np.zeros(len(out), dtype=np.int64)
    for j, theme in enumerate(names):
        bits |= (scores[theme] > 0).astype(np.int64) << j
    uniq, inv = np.unique(bits, return_inverse=True)
    combos = np.empty(len(uniq), dtype=object)
    combos[:] = [tuple(n for j, n in enumerate(names) if int(b) >> j & 1) for b in uniq]
    out["themes"] = combos[inv] if len(out) else np.empty(0, dtype=object)
    tone = out["tone"].to_numpy(dtype=float) if "tone" in out else np.zeros(len(out))
    out["compound"] = np.clip(np.nan_to_num(tone, nan=0.0) / 10.0, -1.0, 1.0)
    return out
