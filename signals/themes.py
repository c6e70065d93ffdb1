"""Theme book (TOML) and theme tagging with one compiled matcher.

A theme book is data (see ``data/themes/default.toml`` for the documented format): per theme a
description, weighted phrase patterns, required co-occurrences (AND of OR-groups), exclusions
(with ``unless`` rescues), a score threshold, and the expected direction of each market series
(optionally signed by sentiment). :func:`tag_themes` adds one ``<theme>_score`` column per theme,
a ``themes`` tuple and the matched phrases (``theme_matches``) for audit.

Matching: every pattern of every theme is split into its top-level alternatives, and all of them
are compiled into ONE regular expression (an overlapping look-ahead scan, longest alternatives
first). Each distinct matched span is then resolved once (cached) to the set of patterns it
contains, and theme scores, requirements and exclusions are computed for all articles at once
with sparse matrix products. No Python loop per phrase; one ``findall`` per text.

Clause rules (:mod:`signals._clauses`: a subject and a movement in one clause within a bounded
token distance, with exclusions and a stance reversed by negation cues) put their subjects into the
same scan; each rule's proximity regex then runs only on the rows holding its subject, and the
stance-only rules only on rows where their theme was tagged.
"""

from __future__ import annotations

import logging
import re
import tomllib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import sparse

from signals._clauses import Negation, Rule, find_rule, parse_negation, parse_rule, rule_regex
from signals._gkg_themes import GKG_KEYS, parse_gkg_keys
from signals._matcher import _TRANSLATE, _Matcher, _trie_alternation, _wrap  # noqa: F401 (re-exported)
from signals._paths import data_path
from signals._regex_cache import RegexCache
from signals._safe_regex import check_pattern
from signals.errors import ConfigError, InputFormatError

__all__ = ["Theme", "ThemeBook", "default_themes", "load_themes", "tag_themes"]

log = logging.getLogger(__name__)

SERIES = (
    "ust_3m",
    "ust_2y",
    "ust_5y",
    "ust_10y",
    "ust_30y",
    "jgb_2y",
    "jgb_5y",
    "jgb_10y",
    "jgb_20y",
    "jgb_30y",
    "usdjpy",
    "spx",
)
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
@dataclass(frozen=True)
class Theme:
    """One theme of a book.

    Attributes
    ----------
    name : str
        Identifier (lower case, digits, underscores); used in column names.
    description : str
    threshold : float
        Minimum score (sum of distinct matched phrase weights, unitless).
    phrases : tuple of (pattern, weight)
    require : tuple of patterns
        Each must be found (each pattern is usually an alternation: an OR-group).
    exclude : tuple of (pattern, tuple of unless-patterns)
        A found exclusion vetoes the theme unless one of its ``unless`` patterns is found too.
    direction : dict
        Series id -> +1 / -1 expected sign of the move; missing = no view.
    sentiment_sign : bool
        Multiply the direction by the sign of the event's mean sentiment.
    rules : tuple of Rule
        Clause rules (subject + movement within one clause, with stance; see
        :mod:`signals._clauses`); a matched rule adds its weight to the score.
    default_stance : int
        Stance (+1 / 0 / -1) when no matched rule or phrase gives one.
    """

    name: str
    description: str = ""
    threshold: float = 1.0
    phrases: tuple[tuple[str, float], ...] = ()
    require: tuple[str, ...] = ()
    exclude: tuple[tuple[str, tuple[str, ...]], ...] = ()
    direction: Mapping[str, int] = field(default_factory=dict)
    sentiment_sign: bool = False
    rules: tuple[Rule, ...] = ()
    default_stance: int = 1


class ThemeBook:
    """A set of themes with their patterns and market views.

    Parameters
    ----------
    themes : list of Theme
    series : sequence of str
        Series ids the book has views on (``direction_<series>`` columns of events).
    fields : sequence of str
        Article columns matched (default title and body).
    body_chars : int
        Characters of ``body`` used (the lede); 0 = the whole body.
    name, source : str
        For messages and provenance.
    negation : Negation, optional
        Negation cues for rule stances (default :class:`signals._clauses.Negation`).
    neutral_headline : str, optional
        Regex on the lower-case headline; where it matches, every tagged theme gets stance 0
        (e.g. ``^analysis\b``: analysis pieces report no escalation or de-escalation).
    cache : bool
        Keep the compiled regexes in the on-disk cache keyed by the book's content
        (:mod:`signals._regex_cache`; ``NEWSBT_THEME_CACHE=off`` disables it for every book).
    """

    def __init__(
        self,
        themes: list[Theme],
        *,
        series: tuple[str, ...] = SERIES,
        fields: tuple[str, ...] = ("title", "body"),
        body_chars: int = 300,
        name: str = "custom",
        source: str = "<memory>",
        negation: Negation | None = None,
        neutral_headline: str = "",
        cache: bool = True,
    ) -> None:
        if not themes:
            raise ConfigError(f"theme book {source}: no themes defined ([themes.<name>] tables)")
        seen = set()
        for t in themes:
            if not _NAME_RE.match(t.name):
                raise ConfigError(
                    f"theme book {source}: theme name {t.name!r} must be lower case letters, digits, underscores"
                )
            if t.name in seen:
                raise ConfigError(f"theme book {source}: theme {t.name!r} defined twice")
            seen.add(t.name)
            for s, v in t.direction.items():
                if s not in series:
                    raise ConfigError(
                        f"theme book {source}: theme {t.name!r} has a direction for {s!r}, which is not in "
                        f"[book].series {list(series)}; add it there or fix the name"
                    )
                if v not in (-1, 0, 1):
                    raise ConfigError(f"theme book {source}: {t.name}.direction.{s} = {v!r}: use -1, 0 or +1")
        self.themes = {t.name: t for t in themes}
        self.series = tuple(series)
        self.fields = tuple(fields)
        self.body_chars = int(body_chars)
        self.name = name
        self.source = source
        self.negation = negation or Negation()
        try:
            self.neutral_headline = re.compile(neutral_headline) if neutral_headline else None
        except re.error as exc:
            raise ConfigError(f"theme book {source}: bad regex in [book].neutral_headline ({exc})") from exc
        ids = [r.id for t in themes for r in t.rules]
        dup = sorted({i for i in ids if ids.count(i) > 1})
        if dup:
            raise ConfigError(f"theme book {source}: rule id(s) {dup} used twice; rule ids must be unique")
        self.cache = bool(cache)
        self.cache_status = "not compiled"
        self._compiled: tuple | None = None
        self.gkg_themes: dict = {}  # theme -> signals._gkg_themes.GkgRule, from gkg_themes keys

    # -- introspection ---------------------------------------------------------------------
    @property
    def names(self) -> tuple[str, ...]:
        """Theme names in book order."""
        return tuple(self.themes)

    def __iter__(self) -> Iterator[Theme]:
        return iter(self.themes.values())

    def __len__(self) -> int:
        return len(self.themes)

    def __contains__(self, name: object) -> bool:
        return name in self.themes

    def __getitem__(self, name: str) -> Theme:
        try:
            return self.themes[name]
        except KeyError:
            raise ConfigError(
                f"theme {name!r} is not in theme book {self.name!r}: themes are {self.names}"
            ) from None

    def __repr__(self) -> str:
        return f"ThemeBook({self.name!r}, themes={list(self.names)})"

    def direction(self, theme: str, series: str) -> int:
        """Expected sign (+1/-1) of ``series``' move on ``theme`` news; 0 when the book has no view
        (also for a theme or series the book does not know)."""
        t = self.themes.get(theme)
        return 0 if t is None else int(t.direction.get(series, 0))

    def sentiment_sign(self, theme: str) -> bool:
        """Whether ``theme``'s directions flip with the sign of sentiment (False for unknown themes)."""
        t = self.themes.get(theme)
        return bool(t and t.sentiment_sign)

    # -- matching --------------------------------------------------------------------------
    def _compile(self) -> tuple:
        if self._compiled is not None:
            return self._compiled
        pats: dict[str, int] = {}
        cache = RegexCache(self._cache_key(), enabled=self.cache)

        def pid(p: str, where: str) -> int:
            if p not in pats:
                try:
                    cache.compile(p)
                except re.error as exc:
                    raise ConfigError(
                        f"theme book {self.source}: bad regex in {where}: {p!r} ({exc})"
                    ) from exc
                # no catastrophic backtracking (a passed check is remembered per pattern)
                cache.memo("safe", p, lambda: check_pattern(p, f"theme book {self.source}: {where}") or True)
                pats[p] = len(pats)
            return pats[p]

        def trie(alts: list[str]) -> str:
            return cache.memo("trie", "\0".join(alts), lambda: _trie_alternation(alts))

        k = len(self.themes)
        w_entries, req_entries, exc_entries, unl_entries = [], [], [], []
        n_req = np.zeros(k)
        exc_owner: list[int] = []
        for j, t in enumerate(self.themes.values()):
            for p, w in t.phrases:
                w_entries.append((pid(p, f"{t.name}.phrases"), j, float(w)))
            for p in t.require:
                req_entries.append((pid(p, f"{t.name}.require"), j))
            n_req[j] = len(t.require)
            for p, unless in t.exclude:
                e = len(exc_owner)
                exc_owner.append(j)
                exc_entries.append((pid(p, f"{t.name}.exclude"), e))
                for u in unless:
                    unl_entries.append((pid(u, f"{t.name}.exclude.unless"), e))
        rules = []
        for j, t in enumerate(self.themes.values()):
            for r in t.rules:
                where = f"{t.name}.rules[{r.id}]"
                try:
                    rx = rule_regex(r, trie, cache.compile)
                    un = cache.compile(rf"(?<![\w-])(?:{r.unless})(?![\w-])") if r.unless else None
                except re.error as exc:
                    raise ConfigError(f"theme book {self.source}: bad regex in {where} ({exc})") from exc
                rules.append((r, j, pid(r.subject, where), -1, rx, un))
        n = len(pats)

        def mat(entries, ncols, weighted=False):
            if not entries:
                return sparse.csr_matrix((n, ncols))
            a = np.asarray(entries, dtype=float)
            vals = a[:, 2] if weighted else np.ones(len(a))
            m = sparse.coo_matrix((vals, (a[:, 0].astype(int), a[:, 1].astype(int))), shape=(n, ncols))
            return m.tocsr()

        ne = len(exc_owner)
        W = mat(w_entries, k, weighted=True)
        R = mat(req_entries, k)
        E = mat(exc_entries, ne)
        U = mat(unl_entries, ne)
        owner = np.zeros((ne, k))
        owner[np.arange(ne), np.asarray(exc_owner, dtype=int)] = 1.0
        matcher = _Matcher(list(pats), cache.compile, trie)
        cache.save()
        self.cache_status = f"{cache.status}: {cache.hits} cached, {cache.misses} compiled"
        log.debug("theme book %s regexes: %s (%s)", self.name, self.cache_status, cache.path)
        self._compiled = (matcher, W, R, n_req, E, U, owner, rules)
        return self._compiled

    def _cache_key(self) -> list[str]:
        """The book's content as strings (the regex cache's key): themes, negation, headline rule."""
        return [repr(list(self.themes.values())), repr(self.negation), self.neutral_headline.pattern
                if self.neutral_headline is not None else "", repr((self.fields, self.body_chars))]

    def _texts(self, articles: pd.DataFrame) -> tuple[list[str], np.ndarray]:
        """Lower-case match texts (fields joined by `` | ``, a clause break) and the length of
        the first field (the title) per row, so that stance can prefer the headline."""
        parts = []
        for f in self.fields:
            if f not in articles.columns:
                continue
            col = articles[f].astype("string").fillna("")
            if f == "body" and self.body_chars > 0:
                col = col.str.slice(0, self.body_chars)
            parts.append(col)
        if not parts:
            raise InputFormatError(
                f"articles have none of the theme book's fields {list(self.fields)}; columns are "
                f"{list(articles.columns)}"
            )
        text = parts[0]
        for p in parts[1:]:
            text = text + " | " + p
        # curly quotes and dashes to ASCII (one character each: offsets stay) for the clause rules too
        tr = _TRANSLATE
        texts = [t if t.isascii() else t.translate(tr) for t in text.str.lower().tolist()]
        return texts, parts[0].str.len().to_numpy(dtype=np.int64)

    def _rule_hits(
        self, texts: list[str], M: sparse.csr_matrix, title_len: np.ndarray, on: np.ndarray | None = None
    ) -> list[tuple]:
        """Clause-rule matches ``(row, theme index, rule, start, end, stance, cue)``.

        A rule is tried only on rows whose text holds its subject (a column of the one-scan
        incidence matrix), so the per-row regex work is limited to those candidates. Without
        ``on`` the scoring rules (weight > 0) run; with ``on`` (rows x themes, bool) the stance-only
        rules (weight 0) run on the rows where their theme was tagged."""
        rules = self._compile()[7]
        C = M.tocsc()
        neg = self.negation.compiled()
        win = self.negation.window
        hits = []
        for rule, j, sp, _mp, rx, un in rules:
            if (on is None) != (rule.weight > 0):
                continue
            cand = C.indices[C.indptr[sp] : C.indptr[sp + 1]]
            if on is not None:
                cand = cand[on[cand, j]]
            for i in cand.tolist():
                h = find_rule(texts[i], rule, rx, un, neg, win, int(title_len[i]))
                if h is not None:
                    hits.append((i, j, rule, *h))
        return hits

    def _stances(
        self, hits: list[tuple], on: np.ndarray, texts: list[str], title_len: np.ndarray
    ) -> np.ndarray:
        """Stance per row and theme from the matched rules of the headline (when one of them gives a
        stance or is a neutral rule with strength), else of the whole text:
        the sign of the strength-weighted sum S of their stances, or 0 when S cancels, when only
        neutral rules matched, or when ``|S|`` does not exceed the summed strengths N of the
        matched neutral (stance 0) rules ("opposes yen intervention" is a view on an
        intervention, not one; a neutral rule's strength defaults to 0); the theme's
        ``default_stance`` when no rule matched; 0 where the headline matches the book's
        ``neutral_headline``; NaN = no theme."""
        out = np.full(on.shape, np.nan)
        default = np.array([t.default_stance for t in self.themes.values()], dtype=float)
        r, c = np.nonzero(on)
        out[r, c] = default[c]
        acc: dict[tuple[int, int], list[float]] = {}
        for i, j, rule, a, _b, st, _cue in hits:
            if on[i, j]:
                # title: signed sum, rules, neutral strength; whole text: the same
                v = acc.setdefault((i, j), [0.0, 0, 0.0, 0.0, 0, 0.0])
                k = (0, 3) if a < title_len[i] else (3,)
                for o in k:  # a neutral rule without strength does not make the headline decide
                    v[o] += st * rule.strength
                    v[o + 1] += 1 if (st != 0 or rule.strength > 0) else 0
                    v[o + 2] += rule.strength if st == 0 else 0.0
        for (i, j), v in acc.items():
            s_, _n, neutral = v[0:3] if v[1] else v[3:6]
            out[i, j] = np.sign(s_) if abs(s_) > neutral + 1e-12 else 0.0
        if self.neutral_headline is not None and len(r):
            hit = np.fromiter(
                (self.neutral_headline.search(texts[i], 0, title_len[i]) is not None for i in r.tolist()),
                dtype=bool,
                count=len(r),
            )
            out[r[hit], c[hit]] = 0.0
        return out

    def tag(self, articles: pd.DataFrame) -> pd.DataFrame:
        """See :func:`tag_themes`."""
        matcher, W, R, n_req, E, U, owner, _rules = self._compile()
        texts, title_len = self._texts(articles)
        M, spans = matcher.incidence(texts)
        score = (M @ W).toarray()
        hits = self._rule_hits(texts, M, title_len)
        fired_rules: dict[int, dict[int, list]] = {}
        for i, j, rule, a, b, *_ in hits:
            per = fired_rules.setdefault(i, {}).setdefault(j, [])
            if all(r.id != rule.id for r, *_ in per):
                per.append((rule, a, b))
                score[i, j] += rule.weight
        req_ok = (M @ R).toarray() >= n_req
        if E.shape[1]:
            fired = (M @ E).toarray() > 0
            rescued = (M @ U).toarray() > 0
            veto = ((fired & ~rescued).astype(float) @ owner) > 0
        else:
            veto = np.zeros_like(req_ok)
        thr = np.array([t.threshold for t in self.themes.values()])
        on = (score >= thr - 1e-12) & req_ok & ~veto
        stance_hits = self._rule_hits(texts, M, title_len, on)
        for i, j, rule, a, b, *_ in stance_hits:
            fired_rules.setdefault(i, {}).setdefault(j, []).append((rule, a, b))
        hits += stance_hits
        stance = self._stances(hits, on, texts, title_len)
        out = articles.copy()
        names = np.array(self.names, dtype=object)
        for j, name in enumerate(self.names):
            out[f"{name}_score"] = np.where(on[:, j], score[:, j], 0.0)
            out[f"{name}_stance"] = stance[:, j]
        # one tuple per distinct combination of themes (bit masks), not per row
        k = on.shape[1]
        mask = (
            on.astype(np.int64) @ (np.int64(1) << np.arange(k, dtype=np.int64))
            if k
            else np.zeros(len(on), np.int64)
        )
        combos = {int(m): tuple(names[[(int(m) >> j) & 1 == 1 for j in range(k)]]) for m in np.unique(mask)}
        out["themes"] = [combos[m] for m in mask.tolist()]
        tagged_rows = np.flatnonzero(mask)
        matches: list[tuple[str, ...]] = [()] * len(texts)
        rule_ids: list[tuple[str, ...]] = [()] * len(texts)
        for i in tagged_rows.tolist():
            fr = fired_rules.get(i, {})
            ids = [r.id for j, lst in fr.items() if on[i, j] for r, _a, _b in lst]
            extra = [texts[i][a:b] for j, lst in fr.items() if on[i, j] for _r, a, b in lst]
            matches[i] = tuple(sorted(set(spans[i]) | set(extra)))
            rule_ids[i] = tuple(sorted(ids))
        out["theme_matches"] = matches
        out["theme_rules"] = rule_ids
        return out


# ----------------------------------------------------------------------------- loading
def _as_list(v: Any, where: str) -> list:
    if v is None:
        return []
    if isinstance(v, str):
        return [v]
    if not isinstance(v, list):
        raise ConfigError(f"{where}: expected a list, got {type(v).__name__}")
    return v


def _parse_theme(name: str, d: dict, source: str) -> Theme:
    where = f"theme book {source}: [themes.{name}]"
    known = {
        "description",
        "threshold",
        "phrases",
        "require",
        "exclude",
        "direction",
        "sentiment_sign",
        "rules",
        "default_stance",
        *GKG_KEYS,  # read by signals._gkg_themes (GDELT-native themes)
    }
    extra = set(d) - known
    if extra:
        raise ConfigError(f"{where}: unknown key(s) {sorted(extra)}; known keys are {sorted(known)}")
    phrases = []
    for p in _as_list(d.get("phrases"), f"{where}.phrases"):
        if isinstance(p, str):
            phrases.append((p, 1.0))
        elif isinstance(p, dict) and "pattern" in p:
            w = p.get("weight", 1.0)
            if not isinstance(w, (int, float)):
                raise ConfigError(f"{where}.phrases: weight of {p['pattern']!r} must be a number")
            phrases.append((str(p["pattern"]), float(w)))
        else:
            raise ConfigError(f"{where}.phrases: entries are strings or {{pattern=..., weight=...}}")
    require = []
    for g in _as_list(d.get("require"), f"{where}.require"):
        group = _as_list(g, f"{where}.require")
        require.append("|".join(f"(?:{x})" if len(group) > 1 else str(x) for x in group))
    exclude = []
    for e in _as_list(d.get("exclude"), f"{where}.exclude"):
        if isinstance(e, str):
            exclude.append((e, ()))
        elif isinstance(e, dict) and "pattern" in e:
            exclude.append(
                (str(e["pattern"]), tuple(map(str, _as_list(e.get("unless"), f"{where}.exclude"))))
            )
        else:
            raise ConfigError(f"{where}.exclude: entries are strings or {{pattern=..., unless=[...]}}")
    direction = d.get("direction", {}) or {}
    if not isinstance(direction, dict):
        raise ConfigError(f"{where}.direction: expected a table of series = +1/-1")
    thr = d.get("threshold", 1.0)
    if not isinstance(thr, (int, float)) or thr <= 0:
        raise ConfigError(f"{where}.threshold must be a positive number, got {thr!r}")
    rules = tuple(parse_rule(name, r, f"{where}.rules") for r in _as_list(d.get("rules"), f"{where}.rules"))
    if not phrases and not rules:
        raise ConfigError(f"{where}: no phrases and no rules; add phrases = [{{pattern='...', weight=1.0}}]")
    ds = d.get("default_stance", 1)
    if ds not in (-1, 0, 1):
        raise ConfigError(f"{where}.default_stance must be -1, 0 or 1, got {ds!r}")
    return Theme(
        name=name,
        description=str(d.get("description", "")).strip(),
        threshold=float(thr),
        phrases=tuple(phrases),
        require=tuple(require),
        exclude=tuple(exclude),
        direction={str(k): int(v) for k, v in direction.items()},
        sentiment_sign=bool(d.get("sentiment_sign", False)),
        rules=rules,
        default_stance=int(ds),
    )


def load_themes(path: str | Path) -> ThemeBook:
    """Load a theme book from a TOML file.

    Parameters
    ----------
    path : str or Path
        TOML file with a ``[book]`` table (``series``, ``fields``, ``body_chars``) and one
        ``[themes.<name>]`` table per theme (format documented in ``data/themes/default.toml``).

    Raises
    ------
    InputNotFoundError
        The file does not exist.
    ConfigError
        Invalid TOML, unknown keys, bad regexes, directions for unknown series.
    """
    from signals.errors import InputNotFoundError

    p = Path(path)
    if not p.is_file():
        raise InputNotFoundError(
            f"theme book {p} not found; pass a TOML path or use signals.default_themes()"
        )
    try:
        d = tomllib.loads(p.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"theme book {p}: invalid TOML ({exc})") from exc
    book = d.get("book", {})
    themes_d = d.get("themes")
    if not isinstance(themes_d, dict) or not themes_d:
        raise ConfigError(f"theme book {p}: no [themes.<name>] tables")
    themes = [_parse_theme(n, t, str(p)) for n, t in themes_d.items()]
    tb = ThemeBook(
        themes,
        series=tuple(book.get("series", SERIES)),
        fields=tuple(book.get("fields", ("title", "body"))),
        body_chars=int(book.get("body_chars", 300)),
        name=str(book.get("name", p.stem)),
        source=str(p),
        negation=parse_negation(book.get("negation"), f"theme book {p}"),
        neutral_headline=str(book.get("neutral_headline", "")),
    )
    tb._compile()  # validate regexes now, not at first use
    gkg = {n: parse_gkg_keys(n, t, str(p)) for n, t in themes_d.items()}
    tb.gkg_themes = {n: r for n, r in gkg.items() if r is not None}
    return tb


@lru_cache(maxsize=1)
def _default_book() -> ThemeBook:
    return load_themes(data_path("themes", "default.toml"))


def default_themes() -> ThemeBook:
    """The theme book shipped with newsbt (``data/themes/default.toml``): ``treasury_selloff``,
    ``yen_intervention``, ``tariffs``, ``boj_policy``, ``fed_policy``, ``japan_treasury_holdings``."""
    return _default_book()


def _resolve_book(themes: ThemeBook | str | Path | None) -> ThemeBook:
    if themes is None:
        return default_themes()
    if isinstance(themes, ThemeBook):
        return themes
    if isinstance(themes, (str, Path)):
        return load_themes(themes)
    raise ConfigError(f"themes= must be a ThemeBook, a TOML path or None, got {type(themes).__name__}")


def tag_themes(articles: pd.DataFrame, themes: ThemeBook | str | Path | None = None) -> pd.DataFrame:
    """Tag articles with the themes of a theme book.

    Parameters
    ----------
    articles : pandas.DataFrame
        Needs the book's text fields (``title`` and/or ``body``); other columns pass through.
    themes : ThemeBook, str or Path, optional
        A book or a TOML path; default :func:`default_themes`.

    Returns
    -------
    pandas.DataFrame
        A copy with ``<theme>_score`` (float, sum of matched phrase and rule weights, 0 = theme
        absent) and ``<theme>_stance`` (+1 escalation, 0 neutral/mixed, -1 de-escalation; NaN =
        theme absent) per theme, ``themes`` (tuple of theme names, book order),
        ``theme_matches`` (tuple of the matched text spans, for audit) and ``theme_rules`` (tuple of
        the ids of the clause rules that matched for the assigned themes); both empty when no theme
        was assigned. :func:`signals.explain` shows the details for one article.

    Notes
    -----
    Row-wise: safe to run partition by partition.
    """
    if not isinstance(articles, pd.DataFrame):
        raise InputFormatError(f"tag_themes needs a DataFrame of articles, got {type(articles).__name__}")
    book = _resolve_book(themes)
    out = book.tag(articles)
    out.attrs["newsbt_theme_book"] = book.name  # extract_events checks it is given the same book
    return out
