"""Theme patterns that can backtrack catastrophically are a config error at load, never a hang."""

from __future__ import annotations

import pytest

import signals
from signals._safe_regex import check_pattern
from signals.errors import ConfigError

REFUSED = [
    r"(a+)+$",
    r"(a|a)*b",
    r"(\w+\s?)*x",
    r"(x+x+)+y",
    r"(.*a){20}",
    r".*a.*b.*c",
    r"(yen)\1",
    r"(\s*,\s*)+x",
    r"(?:yields? )+(?:yields?)+",
    r"(a|ab)*c",  # the parser factors it into a(?:|b): caught as a non-prefix-free word set
    r"(?:x|xx)+y",
    r"(?:(?:us|u\.?s\.?) )*yields",  # "us " two ways: 2^n parses of "us us us ..."
    r"(?:[^,]+ ){0,2}x",  # the class also matches the space that ends each word
]
ACCEPTED = [
    r"yields? (?:jump|surge)",
    r"\d+(?:\.\d+)?%",
    r"(?:its |their |some |japan\S* )*treasur(?:y|ies)",
    r"(?:\S+ ){0,3}high",
    r"(?:y|ies)+",
    r"(\w|\d)+z",  # one character class after parsing
    r"sell-?offs?|routs?",
    # a repeat over a finite prefix-free set of words parses a text one way only
    r"(?:(?:u\.?s\.?|treasury|treasuries|bond|government bond|10-year) )*yields?",
    r"(?:[^\s,]+ ){0,2}bonds",  # each word ends at the first space: one parse
]


@pytest.mark.parametrize("pattern", REFUSED)
def test_pathological_patterns_are_refused(pattern):
    with pytest.raises(ConfigError, match="refused"):
        check_pattern(pattern, "book")


@pytest.mark.parametrize("pattern", ACCEPTED)
def test_ordinary_patterns_pass(pattern):
    check_pattern(pattern, "book")


def test_shipped_book_passes():
    assert len(signals.default_themes()) >= 6


@pytest.mark.parametrize("pattern", REFUSED[:3])
def test_user_book_names_theme_and_pattern(tmp_path, pattern):
    book = tmp_path / "book.toml"
    book.write_text(
        f"[themes.yen_crash]\nphrases = [{{ pattern = '''{pattern}''', weight = 1.0 }}]\n", encoding="utf-8"
    )
    with pytest.raises(ConfigError) as err:
        signals.load_themes(book)
    msg = str(err.value)
    assert "yen_crash.phrases" in msg and repr(pattern) in msg and str(book) in msg
