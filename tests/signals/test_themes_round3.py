"""Round 3 of the default theme book (issue #19) and the compiled-regex cache.

Every rule family changed in round 3 with positive and hard-negative phrases (our own wording,
never corpus text), negation/denial per theme, and the on-disk regex cache (hit, stale, corrupt,
never shared between books).
"""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

import signals
from signals import _regex_cache as rc
from signals import themes as th


def tagged(title: str, body: str = "") -> pd.Series:
    return signals.tag_themes(pd.DataFrame({"title": [title], "body": [body]})).iloc[0]


def has(theme: str, title: str, body: str = "") -> bool:
    return theme in tagged(title, body)["themes"]


def stance(theme: str, title: str, body: str = "") -> float:
    row = tagged(title, body)
    assert theme in row["themes"], (title, row["theme_rules"])
    return float(row[f"{theme}_stance"])


# ----------------------------------------------------------------------------- tariffs stance
@pytest.mark.parametrize(
    ("title", "want"),
    [
        # a request or appeal reports no tariff move: neutral
        ("Carmaker urges tariff exemption for imported engine parts", 0),
        ("Farm groups ask Washington for relief from retaliatory duties", 0),
        ("Retailers lobby Congress to scrap the new import duties", 0),
        # ... but a decision is a move (hard negative of the neutral rule)
        ("Commerce Department grants tariff exemption for imported engine parts", -1),
        ("Washington slaps new duties on imported engine parts", 1),
        # tariffs taking effect: the tariffs' own start is an escalation ...
        ("New duties on steel take effect at midnight", 1),
        ("Retaliatory tariffs on soybeans kick in on Monday", 1),
        # ... a pact taking effect that cuts tariffs, or a pause on tariffs about to start, is not
        ("Free trade pact takes effect, cutting tariffs on cars", -1),
        ("Brussels announces a pause on tariffs set to kick in next week", -1),
        # a trade war denied or averted
        ("Minister says there will be no trade war with Washington", -1),
        ("Negotiators strike tomato deal to avert a trade war", -1),
        ("Markets slide as Washington threatens a trade war", 1),
        # market worry about trade: escalation; the cost of tariffs to firms: an impact story
        ("Trade war fears spook investors in Asia", 1),
        ("Tariff worries weigh on stocks ahead of the summit", 1),
        ("Tariffs hurt profits at a Midwest machinery maker", 0),
        ("State launches tariff relief program for soybean growers", 0),
        ("Trade war weighs on factory output in the second quarter", 0),
        # scaling back trade restrictions
        ("Officials may scale back trade restrictions on chip exports", -1),
    ],
)
def test_tariff_stance_families(title, want):
    assert stance("tariffs", title) == want


def test_tariff_negation_and_denial():
    assert stance("tariffs", "Canada raises duties on U.S. lumber") == 1
    assert stance("tariffs", "Canada has no plans to raise duties on U.S. lumber") == -1
    assert stance("tariffs", "Officials say duties on lumber will not be raised this year") == -1
    assert stance("tariffs", "Ottawa denies it will impose tariffs on U.S. lumber") == -1
    # an impact denial is not a tariff move
    assert not has("tariffs", "Power company says electricity tariffs will not rise")


# ----------------------------------------------------------------------------- yen
@pytest.mark.parametrize(
    ("title", "body", "theme_on", "want"),
    [
        # official concern about a sharp yen move: on the theme, escalation
        ("Japan's finance minister voices concern over the rapid yen rise", "", True, 1),
        # an official's stated view, or a refusal to comment, on a yen move: on the theme, neutral
        ("Tokyo official declines to comment on the yen's surge", "", True, 0),
        # market commentary with no official: not the theme
        ("Exporters worry as the yen climbs to a three-month high", "", False, None),
        ("Investors uneasy about the strong yen", "", False, None),
        # intervention as background: neutral; a report of action: escalation
        ("Trade ministry plans tax breaks for exporters",
         "Tokyo's recent currency intervention has not stopped the yen's climb.", True, 0),
        ("Japan intervenes to stem the yen's rise", "", True, 1),
        ("Japan's central bank will not link its policy to currency intervention", "", True, 0),
        # joint intervention expected by the market, with the dollar as the pair's other leg
        ("Dealers brace for joint intervention as the dollar sinks against the yen", "", True, 1),
    ],
)
def test_yen_commentary_and_background(title, body, theme_on, want):
    row = tagged(title, body)
    assert ("yen_intervention" in row["themes"]) is theme_on, row["theme_rules"]
    if theme_on:
        assert row["yen_intervention_stance"] == want, row["theme_rules"]


def test_yen_negation_and_denial():
    assert stance("yen_intervention", "Japan stepped into the currency market to buy yen") == 1
    assert stance("yen_intervention", "Japan's currency chief denies intervening in the yen market") == -1
    assert stance("yen_intervention", "Finance minister says there is no need to intervene in the yen") == -1
    # contractions: "can't" and "couldn't" negate like "not"
    assert stance("yen_intervention", "Officials say Japan can't intervene in the yen market alone") == -1
    # a double negation affirms
    assert stance("yen_intervention", "Finance minister won't rule out intervention to support the yen") == 1


# ----------------------------------------------------------------------------- treasury
@pytest.mark.parametrize(
    ("title", "want"),
    [
        ("Bond investors brace for a sharp sell-off in U.S. Treasuries", True),
        ("U.S. Treasuries look ripe for a sell-off, strategists warn", True),
        ("Equity traders brace for a sell-off in tech shares", False),  # not bonds
        ("Bond investors brace for Fed minutes", False),  # no sell-off
    ],
)
def test_treasury_selloff_warning(title, want):
    assert has("treasury_selloff", title) is want


def test_treasury_weapon_and_negation_across_as():
    # "as" ends a clause, but the weapon rule reads the whole sentence, so the denial scopes over it
    assert stance("treasury_selloff", "Beijing is not considering U.S. Treasuries as a trade war weapon") == -1
    assert stance("treasury_selloff", "Beijing could use U.S. Treasuries as a trade war weapon") == 1
    assert stance("treasury_selloff", "Investors dump U.S. Treasuries as inflation jumps") == 1
    assert stance("treasury_selloff", "China says it will not dump U.S. Treasuries") == -1


# ----------------------------------------------------------------------------- regex cache
SMALL_BOOK = """
[book]
name = "small"
series = ["usdjpy"]
[themes.fx]
phrases = ['yen|jpy']
[[themes.fx.rules]]
id = "act"
subject = 'interven(?:e|es|ed|tion)'
move = 'yen|currency'
within = 4
"""


def _load(tmp_path, text: str, name: str = "b.toml") -> th.ThemeBook:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return th.load_themes(p)


def _tags(book: th.ThemeBook) -> list:
    df = pd.DataFrame({"title": ["Japan intervenes in the yen market", "Yen flat", "Nothing here"]})
    out = th.tag_themes(df, book)
    return [out["themes"].tolist(), out["fx_stance"].fillna(9).tolist(), out["theme_rules"].tolist()]


def test_regex_cache_miss_then_hit_gives_same_tags(tmp_path, monkeypatch):
    monkeypatch.setenv("NEWSBT_THEME_CACHE", str(tmp_path / "cache"))
    first = _load(tmp_path, SMALL_BOOK)
    assert first.cache_status.startswith("new") and "0 cached" in first.cache_status
    files = list((tmp_path / "cache").glob("book-*.json"))
    assert len(files) == 1
    second = _load(tmp_path, SMALL_BOOK)
    assert second.cache_status.startswith("read") and "0 compiled" in second.cache_status
    assert _tags(first) == _tags(second)
    monkeypatch.setenv("NEWSBT_THEME_CACHE", "off")
    plain = _load(tmp_path, SMALL_BOOK)
    assert plain.cache_status.startswith("off")
    assert _tags(plain) == _tags(second)


def test_regex_cache_never_shared_between_books(tmp_path, monkeypatch):
    monkeypatch.setenv("NEWSBT_THEME_CACHE", str(tmp_path / "cache"))
    _load(tmp_path, SMALL_BOOK)
    other = SMALL_BOOK.replace("within = 4", "within = 1")  # a changed (stale) book
    b = _load(tmp_path, other, "c.toml")
    assert b.cache_status.startswith("new")  # its own file, compiled afresh
    assert len(list((tmp_path / "cache").glob("book-*.json"))) == 2
    # the changed rule is honoured, not the cached one: 2 tokens between subject and movement
    df = pd.DataFrame({"title": ["Japan intervenes again today in yen"]})
    assert th.tag_themes(df, b)["theme_rules"].iloc[0] == ()
    assert _load(tmp_path, SMALL_BOOK, "d.toml").cache_status.startswith("read")


@pytest.mark.parametrize("damage", ["truncate", "garbage", "edit_code", "wrong_key", "head_null", "head_list", "deep"])
def test_regex_cache_corrupt_is_ignored_and_rebuilt(tmp_path, monkeypatch, caplog, damage):
    monkeypatch.setenv("NEWSBT_THEME_CACHE", str(tmp_path / "cache"))
    good = _tags(_load(tmp_path, SMALL_BOOK))
    (f,) = (tmp_path / "cache").glob("book-*.json")
    raw = f.read_bytes()
    if damage == "truncate":
        f.write_bytes(raw[: len(raw) // 2])
    elif damage == "garbage":
        f.write_bytes(b"\x00\xff not json at all")
    elif damage in ("head_null", "head_list"):  # valid JSON that is not a table (crashed before review)
        f.write_bytes((b"null" if damage == "head_null" else b"[1, 2]") + b"\n" + raw.partition(b"\n")[2])
    elif damage == "deep":
        f.write_bytes(b"[" * 100_000 + b"\n{}")
    elif damage == "edit_code":  # valid JSON, wrong checksum
        head, _, body = raw.partition(b"\n")
        entries = json.loads(body)
        k = next(iter(entries))
        entries[k][1] = [0] * len(entries[k][1])
        f.write_bytes(head + b"\n" + json.dumps(entries).encode())
    else:  # a file of another book under this name
        head, _, body = raw.partition(b"\n")
        meta = json.loads(head)
        meta["key"] = "0" * 64
        f.write_bytes(json.dumps(meta).encode() + b"\n" + body)
    with caplog.at_level("WARNING", logger="signals._regex_cache"):
        book = _load(tmp_path, SMALL_BOOK)
    assert book.cache_status.startswith("corrupt")
    assert "corrupt" in caplog.text
    assert _tags(book) == good
    assert _load(tmp_path, SMALL_BOOK).cache_status.startswith("read")  # rewritten


def test_regex_cache_bad_entry_with_good_checksum_falls_back(tmp_path):
    """Even a well-formed file with invalid byte code never yields a wrong pattern."""
    cache = rc.RegexCache(["k"], tmp_path)
    rx = cache.compile(r"ab(?P<x>c)|d")
    cache.save()
    entries = rc.RegexCache(["k"], tmp_path).entries
    k = next(iter(entries))
    entries[k][1] = [999999] * 5  # invalid SRE code
    again = rc.RegexCache(["k"], tmp_path)
    again.entries = entries
    rx2 = again.compile(r"ab(?P<x>c)|d")
    assert rx2.pattern == rx.pattern and rx2.search("zabc").group("x") == "c"
    assert again.misses == 1


def test_regex_cache_write_is_atomic_and_unwritable_folder_is_harmless(tmp_path, monkeypatch):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        cache = rc.RegexCache(["k"], ro / "sub")
        assert cache.compile("x+y").fullmatch("xxy")
        cache.save()  # cannot write: logged at debug, no exception
    finally:
        ro.chmod(0o700)
    cache = rc.RegexCache(["k"], tmp_path / "ok")
    cache.compile("x+y")
    cache.save()
    assert [p.suffix for p in (tmp_path / "ok").iterdir()] == [".json"]  # no temp file left
    assert rc.RegexCache(["k"], tmp_path / "ok").compile("x+y").flags == re.compile("x+y").flags


def test_default_book_cached_equals_uncached(tmp_path, monkeypatch):
    titles = [
        "Treasuries slump as 10-year yield hits a 14-month high",
        "Japan intervenes to support the yen",
        "EU suspends retaliatory duties while talks continue",
        "Regulator caps household electricity tariffs",
    ]
    df = pd.DataFrame({"title": titles})
    monkeypatch.setenv("NEWSBT_THEME_CACHE", "off")
    ref = th.tag_themes(df, th.load_themes(th.data_path("themes", "default.toml")))
    monkeypatch.setenv("NEWSBT_THEME_CACHE", str(tmp_path))
    th.load_themes(th.data_path("themes", "default.toml"))
    hit = th.load_themes(th.data_path("themes", "default.toml"))
    assert "0 compiled" in hit.cache_status
    got = th.tag_themes(df, hit)
    pd.testing.assert_frame_equal(got, ref)


def test_regex_cache_remembers_string_work_and_still_refuses_unsafe_patterns(tmp_path, monkeypatch):
    monkeypatch.setenv("NEWSBT_THEME_CACHE", str(tmp_path / "cache"))
    book = _load(tmp_path, SMALL_BOOK)
    (f,) = (tmp_path / "cache").glob("book-*.json")
    entries = json.loads(f.read_bytes().partition(b"\n")[2])
    kinds = {k.split(":")[1] for k in entries if k.startswith("memo:")}
    assert kinds == {"safe", "trie"}
    assert _tags(_load(tmp_path, SMALL_BOOK)) == _tags(book)
    unsafe = SMALL_BOOK.replace("phrases = ['yen|jpy']", "phrases = ['(a+)+b']")
    for _ in range(2):  # the refusal is never cached as a pass
        with pytest.raises(signals.errors.ConfigError, match="backtrack|nested"):
            _load(tmp_path, unsafe, "u.toml")


def test_regex_cache_refuses_a_folder_others_can_write(tmp_path, monkeypatch, caplog):
    """Compiled code is only read from a private folder: a group/world-writable one turns the cache
    off with a warning (the checksum guards against damage, not against another user)."""
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    monkeypatch.setenv("NEWSBT_THEME_CACHE", str(shared))
    with caplog.at_level("WARNING", logger="signals._regex_cache"):
        book = _load(tmp_path, SMALL_BOOK)
    assert book.cache_status.startswith("off") and "writable by other users" in caplog.text
    assert not list(shared.glob("book-*.json"))


def test_regex_cache_key_covers_the_code_and_files_are_bounded(tmp_path, monkeypatch):
    import signals._regex_cache as rc

    monkeypatch.setenv("NEWSBT_THEME_CACHE", str(tmp_path / "cache"))
    k1 = rc.RegexCache(["x"]).key
    monkeypatch.setattr(rc, "_code_tag", lambda: "another release")
    assert rc.RegexCache(["x"]).key != k1  # results of older code are never reused
    monkeypatch.setattr(rc, "MAX_FILES", 2)
    for i in range(4):
        c = rc.RegexCache([f"book {i}"])
        c.compile(f"word{i}")
        c.save()
    assert len(list((tmp_path / "cache").glob("book-*.json"))) == 2
