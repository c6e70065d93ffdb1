"""Theme-book pattern safety: refuse regexes that can backtrack catastrophically, before any match.

Python's ``re`` has no timeout, so a user pattern such as ``(a+)+$`` or ``(\\w|\\d)*x`` can hang a
run on one unlucky headline. :func:`check_pattern` walks the parsed pattern and refuses, with a
:class:`ConfigError` naming the theme and the pattern:

- a repeat (``*``, ``+``, ``{m,n}`` with n > 1) around something that can itself match a varying
  number of characters (``(a+)+``, ``(\\S+ ?){2,9}``, ``(a|ab)*``): nested quantifiers;
- a repeat around an alternation whose branches can start with the same character (``(a|a)*``,
  ``(\\w|\\d)+``): overlapping quantified alternation;
- more than two unbounded repeats of overlapping character sets in one sequence (``.*a.*b.*c``,
  polynomial blow-up);
- back-references (not regular).

What remains (literals, classes, alternations, optional groups, single-level repeats) runs in time
linear or at worst quadratic in the text length, and theme texts are short (title + body prefix).
"""

from __future__ import annotations

try:  # Python 3.11+: the parser moved to re._parser (sre_parse is a deprecated alias)
    from re import _constants as C  # type: ignore[attr-defined]
    from re import _parser as P  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover - older Pythons
    import sre_constants as C  # type: ignore[no-redef]
    import sre_parse as P  # type: ignore[no-redef]

from signals.errors import ConfigError

__all__ = ["check_pattern"]

# A first-set is ("pos", chars) or ("neg", chars) = every character except those; None = any.
_SPACE = frozenset(map(ord, " \t\n\r\f\v\x1c\x1d\x1e\x1f\x85\xa0"))
_NONWORD = frozenset(c for c in range(128) if not (chr(c).isalnum() or chr(c) == "_"))
_CATEGORIES = {
    C.CATEGORY_SPACE: ("pos", _SPACE),
    C.CATEGORY_NOT_SPACE: ("neg", _SPACE),
    C.CATEGORY_DIGIT: ("neg", _NONWORD),  # over-approximated: any word character
    C.CATEGORY_NOT_DIGIT: None,
    C.CATEGORY_WORD: ("neg", _NONWORD),
    C.CATEGORY_NOT_WORD: None,
}
_REPEATS = (C.MAX_REPEAT, C.MIN_REPEAT, getattr(C, "POSSESSIVE_REPEAT", C.MAX_REPEAT))


def _union(a, b):
    if a is None or b is None:
        return None
    (ka, sa), (kb, sb) = a, b
    if ka == kb == "pos":
        return ("pos", sa | sb)
    if ka == kb == "neg":
        return ("neg", sa & sb)
    pos, neg = (sa, sb) if ka == "pos" else (sb, sa)
    return ("neg", neg - pos)


def _overlap(a, b) -> bool:
    if a is None or b is None:
        return True
    (ka, sa), (kb, sb) = a, b
    if ka == kb == "pos":
        return bool(sa & sb)
    if ka == kb == "neg":
        return True
    pos, neg = (sa, sb) if ka == "pos" else (sb, sa)
    return bool(pos - neg)


def _set_of(op, av):
    if op is C.LITERAL:
        return ("pos", frozenset({av, ord(chr(av).lower()), ord(chr(av).upper())}))
    if op is C.IN:
        acc = ("pos", frozenset())
        if av and av[0][0] is C.NEGATE:  # [^...]: every character but literals and \s
            chars: set[int] = set()
            for o, x in av[1:]:
                if o is C.LITERAL:
                    chars |= {x, ord(chr(x).lower()), ord(chr(x).upper())}
                elif o is C.CATEGORY and x is C.CATEGORY_SPACE:
                    chars |= _SPACE
                else:
                    return None
            return ("neg", frozenset(chars))
        for iop, iav in av:
            if iop is C.LITERAL:
                part = ("pos", frozenset({iav, ord(chr(iav).lower()), ord(chr(iav).upper())}))
            elif iop is C.RANGE and iav[1] - iav[0] < 512:
                rng = range(iav[0], iav[1] + 1)
                part = ("pos", frozenset(rng) | {ord(chr(c).swapcase()[0]) for c in rng})
            elif iop is C.CATEGORY:
                part = _CATEGORIES.get(iav)
            else:
                part = None
            acc = _union(acc, part)
        return acc
    return None


def _first(items):
    """Characters a sequence can start with (``None`` = any); ("pos", {}) for an empty one."""
    out = ("pos", frozenset())
    for op, av in items:
        if op is C.AT:
            continue
        if op in (C.LITERAL, C.IN):
            return _union(out, _set_of(op, av))
        if op is C.SUBPATTERN:
            if _nullable(av[-1]):
                out = _union(out, _first(av[-1]))
                continue
            return _union(out, _first(av[-1]))
        if op is C.BRANCH:
            acc = out
            for b in av[1]:
                acc = _union(acc, _first(b))
            if any(_nullable(b) for b in av[1]):
                out = acc
                continue
            return acc
        if op in _REPEATS:
            out = _union(out, _first(av[2]))
            if av[0] == 0 or _nullable(av[2]):
                continue  # optional: the next item can start too
            return out
        return None
    return out


def _follow(rest):
    """What can come right after a point: ``None`` (anything) when the rest can be empty."""
    return None if _nullable(rest) else _first(rest)


def _problem(items) -> str | None:
    """The first unsafe construct in a parsed sequence, as a short explanation."""
    unbounded_sets: list[set[int] | None] = []
    for op, av in items:
        if op in (C.GROUPREF, getattr(C, "GROUPREF_EXISTS", None)):
            return "a back-reference"
        if op in _REPEATS:
            lo, hi, body = av
            words = _literals(body) if hi > 1 else None
            if words is not None and not _prefix_free(words):
                return "a repeat around alternatives that can match alike (one is a prefix of another)"
            if hi > 1 and words is None:
                if _has_var_repeat(body):
                    return "a repeat around a repeat of varying length (nested quantifiers)"
                if _ambiguous_branch(body):
                    return "a repeat around alternatives that can match alike"
            if hi == C.MAXREPEAT:
                f = _first(body)
                if sum(_overlap(f, g) for g in unbounded_sets) >= 2:
                    return "three or more unbounded repeats of overlapping characters"
                unbounded_sets.append(f)
            sub = _problem(body)
            if sub:
                return sub
        elif op is C.SUBPATTERN:
            sub = _problem(av[-1])
            if sub:
                return sub
        elif op is C.BRANCH:
            for b in av[1]:
                sub = _problem(b)
                if sub:
                    return sub
        elif op in (C.ASSERT, C.ASSERT_NOT):
            sub = _problem(av[1])
            if sub:
                return sub
    return None


def _children(op, av) -> list:
    if op is C.SUBPATTERN:
        return [av[-1]]
    if op is C.BRANCH:
        return list(av[1])
    if op in _REPEATS:
        return [av[2]]
    if op in (C.ASSERT, C.ASSERT_NOT):
        return [av[1]]
    return []


def _has_var_repeat(items) -> bool:
    """A repeat of varying count anywhere inside that is not guarded by a different next character
    (``japan\\S* `` is guarded by the space; ``\\w+\\s?`` is not)."""
    items = list(items)
    for i, (op, av) in enumerate(items):
        if op in _REPEATS and av[0] != av[1] and _overlap(_first(av[2]), _follow(items[i + 1 :])):
            return True
        if any(_has_var_repeat(c) for c in _children(op, av)):
            return True
    return False


def _literals(items, limit: int = 4096) -> list[str] | None:
    """Every (lower-cased) string a sequence of literals, classes of literals, groups, alternations
    and small bounded repeats can match, one entry per way of matching it (so ``a|a`` gives ``a``
    twice); ``None`` when it is not such a finite set."""
    out = [""]
    for op, av in items:
        if op is C.LITERAL:
            opts = [chr(av).lower()]
        elif op is C.IN and av and all(o is C.LITERAL for o, _ in av):
            opts = sorted({chr(x).lower() for _, x in av})
            if len(opts) < len(av):
                return None  # the same character twice in a class: ambiguous
        elif op is C.SUBPATTERN:
            opts = _literals(av[-1], limit)
        elif op is C.BRANCH:
            opts = []
            for b in av[1]:
                sub = _literals(b, limit)
                if sub is None:
                    return None
                opts += sub
        elif op in _REPEATS and av[1] <= 3:
            sub = _literals(av[2], limit)
            if sub is None:
                return None
            opts, power = [], [""]
            for k in range(av[1] + 1):
                if k >= av[0]:
                    opts += power
                power = [a + b for a in power for b in sub]
        else:
            return None
        if opts is None:
            return None
        out = [a + b for a in out for b in opts]
        if len(out) > limit:
            return None
    return out


def _prefix_free(words: list[str]) -> bool:
    """A repeat body matching a finite, prefix-free set of non-empty strings, each in one way only
    (e.g. ``(?:(?:us|treasury|10-year) )*``) is safe: at any point at most one string can match, so
    the repeat parses a text one way only and backtracks just by giving back whole iterations."""
    if not words or "" in words:
        return False
    ordered = sorted(words)
    return not any(b.startswith(a) for a, b in zip(ordered, ordered[1:]))


def _nullable(items) -> bool:
    return P.SubPattern(P.State(), list(items)).getwidth()[0] == 0


def _ambiguous_branch(items) -> bool:
    """An alternation inside whose branches can start with the same character (or both match "")."""
    for op, av in items:
        if op is C.BRANCH:
            alts = list(av[1])
            firsts = [_first(b) for b in alts]
            empty = [_nullable(b) for b in alts]
            for i in range(len(alts)):
                for j in range(i):
                    if (empty[i] and empty[j]) or _overlap(firsts[i], firsts[j]):
                        return True
        if any(_ambiguous_branch(c) for c in _children(op, av)):
            return True
    return False


def check_pattern(pattern: str, where: str) -> None:
    """Refuse a pattern that can backtrack catastrophically.

    Parameters
    ----------
    pattern : str
        A theme-book regex (already known to compile).
    where : str
        The theme book and entry, for the message (e.g. ``"book.toml: [themes.yen].phrases"``).

    Raises
    ------
    ConfigError
        Naming ``where``, the pattern and the construct, with a safe rewrite hint.
    """
    try:
        parsed = P.parse(pattern)
    except Exception as exc:  # re.error and friends: compile errors are reported by the caller
        raise ConfigError(f"{where}: bad regex {pattern!r} ({exc})") from None
    why = _problem(list(parsed))
    if why:
        raise ConfigError(
            f"{where}: pattern {pattern!r} is refused: it has {why}, which can make matching take "
            "exponential time on some texts. Rewrite it without nesting repeats (e.g. '(?:ab)+' "
            "not '(a+b?)+', 'yields? (?:jump|surge)' not '(\\w+ ?)+')"
        )
