"""The one-pass scanner of a theme book: every alternative of every pattern in one trie-factored
regex, and the article x pattern incidence matrix it yields (see :class:`_Matcher`)."""

from __future__ import annotations

import re

import numpy as np
from scipy import sparse

# curly quotes, dashes and non-breaking spaces to plain ASCII before matching
_TRANSLATE = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2013": " ",
        "\u2014": " ",
        "\u2011": "-",
        "\u2010": "-",
        "\u00a0": " ",
    }
)


def _structure(pattern: str):
    """``(index, char, depth)`` of each character of a regex that is neither escaped nor inside a
    character class (a ``]`` right after ``[`` or ``[^`` is a class member); ``depth`` counts the
    groups open after that character."""
    depth, cls, esc, cls_start = 0, False, False, 0
    for i, ch in enumerate(pattern):
        if esc:
            esc = False
        elif ch == "\\":
            esc = True
        elif cls:
            cls = ch != "]" or pattern[cls_start:i] in ("", "^")
        elif ch == "[":
            cls, cls_start = True, i + 1
        else:
            depth += (ch == "(") - (ch == ")")
            yield i, ch, depth


def _split_top(pattern: str, keep_empty: bool = False) -> list[str]:
    """Split a regex on its top-level ``|`` (outside groups and character classes); empty
    alternatives are dropped unless ``keep_empty`` (inside a group, ``(?:new |)x`` means ``x`` too)."""
    out, start = [], 0
    for i, ch, depth in _structure(pattern):
        if ch == "|" and depth == 0:
            out.append(pattern[start:i])
            start = i + 1
    out.append(pattern[start:])
    return out if keep_empty else [p for p in out if p]


def _leading_group_end(a: str) -> int:
    """Index of the ``)`` closing a leading ``(?:`` group of ``a``, or -1."""
    if not a.startswith("(?:"):
        return -1
    return next((i for i, ch, depth in _structure(a) if ch == ")" and depth == 0), -1)


def _expand_leading(a: str, depth: int = 0) -> list[str]:
    """Distribute a leading group: ``(?:x|y) z`` -> ``x z``, ``y z``; an optional one
    ``(?:x)? z`` -> ``z``, ``x z``; a starred one ``(?:x)* z`` -> ``z``, ``x (?:x)* z`` (same
    language, but every alternative now starts with a literal the scanner can bucket on)."""
    j = _leading_group_end(a)
    if j < 0 or depth > 3:
        return [a]
    q = a[j + 1] if j + 1 < len(a) else ""
    if (q and q in "+{") or (q and q in "?*" and j + 2 < len(a) and a[j + 2] in "?+"):
        return [a]
    inner = _split_top(a[3:j], keep_empty=True) or [""]
    if q == "?":
        heads, tail = [*inner, ""], a[j + 2 :]
    elif q == "*":
        heads, tail = [*(x + a[: j + 2] for x in inner), ""], a[j + 2 :]
    else:
        heads, tail = inner, a[j + 1 :]
    out = []
    for h in heads:
        out.extend(_expand_leading(h + tail, depth + 1))
    return out


def _factor(exps: list[str], depth: int) -> str:
    """Alternation of ``exps`` factored on leading literal characters, recursively (a trie):
    the regex engine then tries only the alternatives that can start with the next characters.
    Literal continuations are tried before non-literal ones and the end of a pattern last, so the
    longer of two patterns sharing a prefix wins ("jgb purchases" over "jgbs?")."""
    buckets: dict[str, list[str]] = {}
    rest: list[str] = []
    for e in exps:
        if depth < 6 and e and (e[0].isalnum() or e[0] == " ") and not (len(e) > 1 and e[1] in "?*+{"):
            buckets.setdefault(e[0], []).append(e[1:])
        else:
            rest.append(e)
    parts = [re.escape(c) + "(?:" + _factor(buckets[c], depth + 1) + ")" for c in sorted(buckets)]
    parts += [f"(?:{e})" for e in sorted(set(rest), key=lambda x: (-len(x), x)) if e]
    if "" in rest:
        parts.append("")
    return "|".join(parts)


def _trie_alternation(alts: list[str]) -> str:
    """One alternation of all alternatives (top-level ``|`` split, leading groups distributed),
    factored as a trie."""
    return _factor([e for p in alts for a in _split_top(p) for e in _expand_leading(a)], 0)


def _wrap(p: str) -> str:
    return rf"(?<!\w)(?:{p})(?!\w)"


_META = set(".^$*+?{}[]()|\\")
# lookarounds, \b-type escapes and anchors (not '[^' nor an escaped '\$')
_CONTEXT_RE = re.compile(r"\(\?<?[=!]|(?<!\\)\\[bBAZ]|(?<![\[\\])\^|(?<!\\)\$")


def _literal_prefixes(a: str, limit: int = 16) -> set[str]:
    """The literal starts every match of the alternative ``a`` begins with one of ("" = unknown):
    plain characters and escaped punctuation up to the first other regex construct, branching on
    a literal made optional by ``?`` ("u\\.?s\\.? bonds" -> "us bonds", "u.s bonds", ...; at most
    ``limit`` branches, shorter starts beyond that)."""
    outs = [("", 0)]
    done: set[str] = set()
    while outs:
        pre, i = outs.pop()
        while i < len(a):
            ch = a[i]
            if ch == "\\" and i + 1 < len(a) and not a[i + 1].isalnum():
                lit, step = a[i + 1], 2
            elif ch not in _META:
                lit, step = ch, 1
            else:
                break
            q = a[i + step] if i + step < len(a) else ""
            if q == "?" and (i + step + 1 >= len(a) or a[i + step + 1] not in "?+"):
                if len(outs) + len(done) + 2 > limit:
                    break
                outs.append((pre, i + step + 1))  # without the optional literal
                pre, i = pre + lit.lower(), i + step + 1
                continue
            if q in ("*", "{", "+"):
                break
            pre, i = pre + lit.lower(), i + step
        done.add(pre)
    return done


class _Matcher:
    """One compiled scanner over all alternatives of all patterns of a book."""

    def __init__(self, patterns: list[str], compiler=re.compile, factor=None) -> None:
        alts: dict[str, int] = {}
        alt_parents: list[set[int]] = []
        for pi, pat in enumerate(patterns):
            for a in _split_top(pat):
                if a not in alts:
                    alts[a] = len(alts)
                    alt_parents.append(set())
                alt_parents[alts[a]].add(pi)
        body = (factor or _trie_alternation)(list(alts))
        self.scan = compiler(rf"(?<!\w)(?=((?:{body}))(?!\w))")
        self.alt_res = [compiler(_wrap(a)) for a in alts]
        self.alt_parents = [np.fromiter(sorted(s), dtype=np.int64) for s in alt_parents]
        # literal starts of each alternative (leading groups distributed), to find the ones that a
        # shorter alternative may shadow at the same position (the scan keeps one match there)
        self.alt_prefixes = [tuple(set().union(*(_literal_prefixes(e) for e in _expand_leading(a)))) for a in alts]
        # alternatives whose match depends on the text around it (lookarounds, anchors, \b): a hit
        # inside an isolated span is confirmed on the text
        self.alt_context = [bool(_CONTEXT_RE.search(a)) for a in alts]
        self.n_patterns = len(patterns)
        self._span_cache: dict[str, tuple] = {}

    def span_patterns(self, span: str) -> tuple[tuple[int, ...], tuple[tuple, ...]]:
        """Ids of the patterns found inside one matched span, and the alternatives that may match
        at the span's start beyond it (a longer match the scan did not keep: "trade deal hopes"
        where it kept "trade deal"), to be checked on the text; cached per distinct span."""
        hit = self._span_cache.get(span)
        if hit is None:
            found: set[int] = set()
            # (alternative, offsets in the span to match it at, literal starts the text must have there)
            verify: list[tuple[int, tuple[int, ...], tuple[str, ...]]] = []
            for i, r in enumerate(self.alt_res):
                if r.search(span):
                    if self.alt_context[i]:  # confirm where it matched, with the text around it
                        verify.append((i, tuple(mm.start() for mm in r.finditer(span)), ()))
                    else:
                        found.update(self.alt_parents[i].tolist())
                else:
                    pre = [p for p in self.alt_prefixes[i] if span[: len(p)] == p[: len(span)]]
                    if pre:  # may match more text here; literal starts longer than the span first
                        longer = () if any(len(p) <= len(span) for p in pre) else tuple(pre)
                        verify.append((i, (0,), longer))
            hit = (tuple(sorted(found)), tuple(verify))
            if len(self._span_cache) < 1_000_000:
                self._span_cache[span] = hit
        return hit

    def incidence(self, texts: list[str]) -> tuple[sparse.csr_matrix, list[list[str]]]:
        """Boolean article x pattern matrix and the matched spans per text.

        The scan keeps one match per start position; an alternative that would match a longer
        text there (shadowed) is checked on the text itself, so a pattern is found wherever its
        own regex matches."""
        finditer = self.scan.finditer
        tr = _TRANSLATE
        sp = self.span_patterns
        alt_res, parents = self.alt_res, self.alt_parents
        rows: list[int] = []
        cols: list[int] = []
        spans: list[list[str]] = []
        for i, t in enumerate(texts):
            t = t if t.isascii() else t.translate(tr)
            ss: list[str] = []
            found: set[int] = set()
            for m in finditer(t):
                span = m.group(1)
                ss.append(span)
                hit, verify = sp(span)
                found.update(hit)
                pos = m.start()
                for ai, offsets, longer in verify:
                    if longer and not any(t.startswith(p, pos) for p in longer):
                        continue
                    if any(alt_res[ai].match(t, pos + o) for o in offsets):
                        found.update(parents[ai].tolist())
            spans.append(ss)
            if found:
                cols.extend(found)
                rows.extend([i] * len(found))
        m = sparse.csr_matrix(
            (
                np.ones(len(rows), dtype=np.float64),
                (np.asarray(rows, dtype=np.int64), np.asarray(cols, dtype=np.int64)),
            ),
            shape=(len(texts), self.n_patterns),
        )
        return m, spans
