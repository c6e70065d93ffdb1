"""Clause-aware rules of a theme book: a subject and a movement within one clause, with negation scope.

A *rule* (``[[themes.<name>.rules]]`` in a TOML book) matches when its ``subject`` pattern and its
``move`` pattern occur in the same clause (or sentence, or anywhere: ``scope``) with at most
``within`` tokens between them, in the given ``order``. A rule with only ``pattern`` is a phrase
with an id and a stance. ``unless`` vetoes a match when found in the same clause. Each rule carries
a ``stance`` (+1 escalation, 0 neutral, -1 de-escalation) which is reversed when a negation cue
("not", "no plans to", "denies", "ruled out", "won't", "unlikely to", ...) stands in the same
clause within ``negation_window`` tokens before the match or inside it (between subject and movement),
or a denial right after it, unless an
affirming double negation ("not ruling out", "won't hesitate") is there.

Clauses are split at ``; : | ! ?``, a sentence-ending full stop, a spaced dash, a line break and at
the conjunctions listed in :data:`BREAK_WORDS` ("as", "but", "while", "after", ...); commas do not
split (headlines list assets with commas: "Treasuries, euro sink"). Texts are lower case ASCII
(see :mod:`signals.themes`) when they reach these functions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

BREAK_WORDS = (
    "as",
    "but",
    "while",
    "whilst",
    "after",
    "although",
    "though",
    "whereas",
    "despite",
    "amid",
    "amidst",
    "before",
    "because",
    "yet",
    "since",
    "until",
    "even",
)
_BREAK_WORD_RE = "|".join(BREAK_WORDS)
# a hard clause break: punctuation, a sentence end (not an abbreviation like u.s.), a spaced dash
_PUNCT_BREAK = r"[;:|!?\n]|(?<!\b\w)\.(?=\s)|\s-\s|\s--\s"
CLAUSE_BREAK = re.compile(rf"(?:{_PUNCT_BREAK})|(?<![\w-])(?:{_BREAK_WORD_RE})(?![\w-])")
SENTENCE_BREAK = re.compile(r"[|\n!?]|(?<!\b\w)\.(?=\s)")
# separators allowed inside a clause, and one token (periods only inside abbreviations/numbers)
_SEP = r"""[\s,'"()\[\]]+"""
_TOKEN = r"""(?:[^\s,;:|!?()\[\]'".]|\.(?!\s)|(?<=\b\w)\.)+"""
_TOKEN_RE = re.compile(_TOKEN)

NEGATION_BEFORE = (
    r"not|no|never|\w+n't|nor|without|cannot|won't|wont|don't|doesn't|didn't|isn't|aren't|wasn't|"
    r"den(?:y|ies|ied|ying)|dismiss(?:es|ed|ing)?|rul(?:e|es|ed|ing) out|no plans? to|"
    r"unlikely to|refrain(?:s|ed|ing)? from|reject(?:s|ed|ing)?|play(?:s|ed|ing)? down|"
    r"hold(?:s|ing)? off|held off|rather than|instead of|spared|spares|exempt(?:s|ed|ing)? from"
)
NEGATION_AFTER = (
    r"ruled out|denied|not needed|not necessary|unlikely|off the table|not so fast|"
    r"(?:is |are |was |were |will be |won't be )?not (?:be )?(?:extended|renewed|granted)|expire[sd]?|lapse[sd]?"
)
BLOCKERS = (
    r"support\w*|comment\w*|link\w*|join|joins|joined|joining|target\w*|reflect\w*|say|says|said|tell\w*|told|"
    r"know\w*|think\w*|believ\w*|mention\w*|confirm\w*|disclos\w*|specify|elaborate|stop\w*|"
    r"prevent\w*|oppos\w*|blame\w*|worry|worried|fear\w*|because|due"
)
AFFIRM = (
    r"not rul(?:e|es|ed|ing) out|won't rule out|no options? (?:are |is )?ruled out|"
    r"(?:won't|will not|not|never) hesitate|(?:cannot|can't|won't|will not|not) (?:tolerate|allow|overlook|ignore)|"
    r"not (?:only|just)"
)


@dataclass(frozen=True)
class Rule:
    """One clause rule of a theme (see the module docstring).

    Attributes
    ----------
    id : str
        Unique within the book (``<theme>.<name>``), reported in ``theme_rules`` and by explain.
    subject, move : str
        Regexes (matched on whole words); ``move`` empty = the rule is the ``subject`` phrase alone.
    within : int
        Maximum number of tokens between the subject and the movement.
    order : str
        ``"any"``, ``"subject_first"`` or ``"move_first"``.
    scope : str
        ``"clause"`` (default), ``"sentence"`` (title or one sentence) or ``"text"`` (anywhere:
        only co-occurrence, ``within`` ignored).
    unless : str
        Regex that vetoes a match found in the same clause ("" = none).
    weight : float
        Added to the theme score when the rule matches (0 = a stance-only rule).
    stance : int
        +1 / 0 / -1 implied by the match when not negated.
    negatable : bool
        Whether negation cues reverse the stance.
    title_only : bool
        Match only in the first text field (the headline).
    strength : float
        Weight of this rule's stance when the stances of several matched rules are summed
        (e.g. 2 for "optimism fades", which reverses a de-escalation cue in the same headline).
        For a neutral rule (stance 0) it is the weight of neutrality: the summed signed stances
        must exceed the summed strengths of the matched neutral rules, else the stance is 0
        (the book's default for a neutral rule is 0: it does not damp).
    """

    id: str
    subject: str
    move: str = ""
    within: int = 6
    order: str = "any"
    scope: str = "clause"
    unless: str = ""
    weight: float = 1.0
    stance: int = 1
    negatable: bool = True
    title_only: bool = False
    strength: float = 1.0
    note: str = ""


def _w(p: str) -> str:
    return rf"(?<![\w-])(?:{p})(?![\w-])"


def _gap(n: int, scope: str) -> str:
    """At most ``n`` tokens between two patterns; in a clause no break word or clause punctuation,
    in a sentence also ``; :`` and dashes."""
    if scope == "sentence":
        sep, tok = r"""[\s,;:'"()\[\]-]+""", _TOKEN
    else:
        sep, tok = _SEP, rf"(?!(?:{_BREAK_WORD_RE})(?![\w-])){_TOKEN}"
    return rf"(?:{sep}{tok}){{0,{int(n)}}}?{sep}"


def rule_regex(rule: Rule, factor=None, compiler=re.compile) -> re.Pattern:
    """The compiled proximity regex of a rule (subject, bounded gap, movement; both orders for any).

    The subject is captured as group ``s0`` (subject first) or ``s1`` (movement first), the
    movement as ``m0`` / ``m1``, so that negation can be scoped on them. ``factor``: optional
    function turning a list of alternatives into an equivalent, faster alternation (the theme
    book's trie factoring); ``compiler``: the compiling function (the theme book passes its on-disk
    regex cache)."""
    f = factor or (lambda alts: "|".join(alts))
    s = _w(f([rule.subject]))
    m = _w(f([rule.move])) if rule.move else ""
    if not m:
        return compiler(rf"(?P<s0>{s})")
    if rule.scope == "text":  # co-occurrence anywhere, either order
        return compiler(rf"(?P<s0>{s})(?=[\s\S]*?(?P<m0>{m}))|(?P<m1>{m})[\s\S]*?(?P<s1>{s})")
    gap = _gap(rule.within, rule.scope)
    alts = []
    if rule.order in ("any", "subject_first"):
        alts.append(rf"(?P<s0>{s}){gap}(?P<m0>{m})")
    if rule.order in ("any", "move_first"):
        alts.append(rf"(?P<m1>{m}){gap}(?P<s1>{s})")
    return compiler("|".join(f"(?:{a})" for a in alts))


def clause_bounds(text: str, start: int, end: int, scope: str = "clause") -> tuple[int, int]:
    """Start and end offsets of the clause (or sentence) holding ``text[start:end]``."""
    brk = SENTENCE_BREAK if scope == "sentence" else CLAUSE_BREAK
    lo = 0
    for mm in brk.finditer(text, 0, start):
        lo = mm.end()
    nxt = brk.search(text, end)
    return lo, (nxt.start() if nxt else len(text))


@dataclass(frozen=True)
class Negation:
    """Negation cues of a book (regexes; see the module docstring)."""

    before: str = NEGATION_BEFORE
    after: str = NEGATION_AFTER
    affirm: str = AFFIRM
    block: str = BLOCKERS
    window: int = 5

    def compiled(self) -> tuple[re.Pattern, ...]:
        return tuple(re.compile(_w(p)) for p in (self.before, self.after, self.affirm, self.block))


def negation_cue(
    text: str,
    subj: tuple[int, int],
    span: tuple[int, int],
    clause: tuple[int, int],
    neg: tuple[re.Pattern, ...],
    window: int,
    move: tuple[int, int] | None = None,
    gaps: bool = True,
) -> str:
    """The negation cue scoping over a rule match, or "".

    A cue counts when it stands within ``window`` tokens before the subject (``subj``, inside the
    clause) or between a leading subject and its movement ("tariffs will not be raised"), with
    no *blocking* verb between it and the trigger ("did not support Japan's intervention" does
    not deny an intervention); or when a denial follows the match ("intervention ruled out").
    An affirming double negation ("not ruling out", "won't hesitate", a denial "not ruled out")
    cancels it. A cue at the start of the rule's own movement (``move``: its span) is part of the
    match, not a negation of it: "holds off on new tariffs" is a de-escalation rule's match; a cue
    inside the movement counts ("G7 did not discuss the yen", where the movement's wildcard
    tokens took "did not"). ``gaps=False`` (scope "text": subject and movement anywhere) reads only
    the window before the match's first part."""
    before, after, affirm, block = neg
    (sa, sb), (_a, b), (lo, hi) = subj, span, clause
    ma, mb = move if move is not None else (b, b)
    first = min(sa, ma)  # the window stands before the match's first part
    toks = list(_TOKEN_RE.finditer(text, lo, first))
    z0 = toks[-window].start() if len(toks) >= window else lo
    while z0 > lo and not text[z0 - 1].isspace():  # whole words: "won't" is one cue, not "t"
        z0 -= 1
    zones = [(z0, first, -1)]
    if gaps and sb <= ma:  # subject first: the gap before the movement
        zones.append((sb, ma, -1))
    elif gaps and mb <= sa:  # movement first: the gap before the subject
        zones.append((mb, sa, -1))
    if any(affirm.search(text[z:e]) for z, e, _ in zones):
        return ""
    if gaps and mb > ma:  # inside the movement, except a cue it starts with
        zones.append((ma, mb, 0))
    for z, e, skip in zones:
        seg = text[z:e]
        for m in before.finditer(seg):
            if m.start() != skip and not block.search(seg, m.end()):
                return m.group(0)
    post_toks = list(_TOKEN_RE.finditer(text, b, hi))[:window]
    seg = text[b : post_toks[-1].end()] if post_toks else ""
    m = after.search(seg)
    return m.group(0) if m and not affirm.search(text[max(lo, b - 12) : b + len(seg)]) else ""


def find_rule(
    text: str,
    rule: Rule,
    rx: re.Pattern,
    unless: re.Pattern | None,
    neg: tuple[re.Pattern, ...],
    window: int,
    title_end: int | None = None,
) -> tuple[int, int, int, str] | None:
    """First match of ``rule`` in ``text`` that no ``unless`` vetoes: (start, end, stance, cue).
    ``title_end``: length of the headline (a ``title_only`` rule matches only before it)."""
    stop = title_end if (rule.title_only and title_end is not None) else len(text)
    need_neg = rule.negatable and rule.stance != 0
    for mm in rx.finditer(text, 0, stop):
        a, b = mm.span()
        g = "s0" if mm.groupdict().get("s0") is not None else "s1"
        if unless is None and not need_neg:
            return a, b, rule.stance, ""
        if rule.scope == "text":
            lo, hi = 0, len(text)
        else:
            lo, hi = clause_bounds(text, a, b, "sentence" if rule.scope == "sentence" else "clause")
        if unless is not None and unless.search(text, lo, hi):
            continue
        mg = "m0" if g == "s0" else "m1"
        mv = mm.span(mg) if mm.groupdict().get(mg) is not None else None
        gaps = rule.scope != "text"
        cue = negation_cue(text, mm.span(g), (a, b), (lo, hi), neg, window, mv, gaps) if need_neg else ""
        return a, b, (-rule.stance if cue else rule.stance), cue
    return None


_RULE_KEYS = {
    "id",
    "subject",
    "pattern",
    "move",
    "within",
    "order",
    "scope",
    "unless",
    "weight",
    "stance",
    "negatable",
    "note",
    "title_only",
    "strength",
}


def parse_rule(theme: str, d: object, where: str) -> Rule:
    """One ``[[themes.<theme>.rules]]`` table to a :class:`Rule` (``ConfigError`` on bad fields)."""
    from signals.errors import ConfigError

    if not isinstance(d, dict):
        raise ConfigError(f"{where}: each rule is a table {{id=..., subject=..., move=...}}")
    extra = set(d) - _RULE_KEYS
    if extra:
        raise ConfigError(
            f"{where}: unknown rule key(s) {sorted(extra)}; known keys are {sorted(_RULE_KEYS)}"
        )
    subj = d.get("subject", d.get("pattern"))
    if not isinstance(subj, str) or not subj or not isinstance(d.get("id"), str):
        raise ConfigError(f"{where}: a rule needs an id and a subject (or pattern) regex; got {d!r}")
    order, scope = d.get("order", "any"), d.get("scope", "clause")
    if order not in ("any", "subject_first", "move_first"):
        raise ConfigError(f"{where} rule {d['id']!r}: order must be any, subject_first or move_first")
    if scope not in ("clause", "sentence", "text"):
        raise ConfigError(f"{where} rule {d['id']!r}: scope must be clause, sentence or text")
    stance, within = d.get("stance", 1), d.get("within", 6)
    if stance not in (-1, 0, 1):
        raise ConfigError(f"{where} rule {d['id']!r}: stance must be -1, 0 or 1")
    if not isinstance(within, int) or within < 0:
        raise ConfigError(f"{where} rule {d['id']!r}: within must be a non-negative integer (tokens)")
    weight = d.get("weight", 1.0)
    if not isinstance(weight, (int, float)):
        raise ConfigError(f"{where} rule {d['id']!r}: weight must be a number")
    return Rule(
        id=f"{theme}.{d['id']}",
        subject=subj,
        move=str(d.get("move", "")),
        within=within,
        order=order,
        scope=scope,
        unless=str(d.get("unless", "")),
        weight=float(weight),
        stance=int(stance),
        negatable=bool(d.get("negatable", True)),
        title_only=bool(d.get("title_only", False)),
        strength=float(d.get("strength", 1.0 if int(stance) else 0.0)),
        note=str(d.get("note", "")),
    )


def parse_negation(d: object, where: str) -> Negation:
    """The ``[book.negation]`` table (``before``, ``after``, ``affirm`` regexes, ``window`` tokens)."""
    from signals.errors import ConfigError

    if d is None:
        return Negation()
    if not isinstance(d, dict) or set(d) - {"before", "after", "affirm", "block", "window"}:
        raise ConfigError(f"{where}: [book.negation] takes before, after, affirm, block (regexes) and window")
    base = Negation()
    neg = Negation(
        before=str(d.get("before", base.before)),
        after=str(d.get("after", base.after)),
        affirm=str(d.get("affirm", base.affirm)),
        block=str(d.get("block", base.block)),
        window=int(d.get("window", base.window)),
    )
    if neg.window < 1:
        raise ConfigError(f"{where}: [book.negation] window must be >= 1 (tokens before a match), got {neg.window}")
    try:
        neg.compiled()
    except re.error as exc:
        raise ConfigError(f"{where}: bad regex in [book.negation] ({exc})") from exc
    return neg
