"""The one timestamp parser: every README form to the right UTC instant, abbreviations through the
table only, epochs only when declared, out-of-range rejects, and no exception on any text."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from signals._timeparse import REASONS, parse_timestamps, resolve_range
from signals._tzabbrev import AMBIGUOUS, TZ_ABBREVIATIONS
from signals.errors import ConfigError

UTC = dt.UTC


def parse(values, tz=None, **kw):
    kw.setdefault("valid_range", resolve_range())  # the articles' default range
    out, prec, why = parse_timestamps(pd.Series(values, dtype=object), tz, **kw)
    return list(out), list(prec), list(why)


# (value, tz, expected UTC or None, reason) -- one row per form of the README table
TABLE = [
    ("2025-05-02T10:50:00+09:00", None, "2025-05-02 01:50:00", ""),
    ("2025-05-02T10:50:00+0900", None, "2025-05-02 01:50:00", ""),
    ("2025-05-02T10:50+09", None, "2025-05-02 01:50:00", ""),
    ("2025-05-02T01:50:00Z", None, "2025-05-02 01:50:00", ""),
    ("2025-05-02 01:50:00 UTC", None, "2025-05-02 01:50:00", ""),
    ("2025-05-02T01:50:00.250Z", None, "2025-05-02 01:50:00.250", ""),
    ("2025-05-02 09:00 JST", None, "2025-05-02 00:00:00", ""),
    ("2025-05-02 09:00 (KST)", None, "2025-05-02 00:00:00", ""),
    ("2025-05-02 09:00 HKT", None, "2025-05-02 01:00:00", ""),
    ("2025-07-02 09:00 BST", None, "2025-07-02 08:00:00", ""),
    ("2025-07-02 09:00 CEST", None, "2025-07-02 07:00:00", ""),
    ("2025-07-02 09:00 ET", None, "2025-07-02 13:00:00", ""),  # generic: EDT in July
    ("2025-01-02 09:00 ET", None, "2025-01-02 14:00:00", ""),  # EST in January
    ("2025-05-02T10:50:00", "Asia/Tokyo", "2025-05-02 01:50:00", ""),
    ("2025-05-02T10:50:00", None, None, "naive_timestamp"),
    ("2025-05-02", "Asia/Tokyo", "2025-05-02 14:59:59", ""),  # end of the day in Tokyo
    ("20250502", "Asia/Tokyo", "2025-05-02 14:59:59", ""),
    ("2025-05-02", None, None, "date_only_without_tz"),
    ("202505020900", "UTC", "2025-05-02 09:00:00", ""),
    ("20250502090000", "UTC", "2025-05-02 09:00:00", ""),
    ("Fri, 02 May 2025 10:50:00 +0900", None, "2025-05-02 01:50:00", ""),
    ("Fri, 02 May 2025 10:50:00 JST", None, "2025-05-02 01:50:00", ""),
    ("Mon, 29 Jul 2019 13:55 GMT", None, "2019-07-29 13:55:00", ""),
    ("Fri, 02 May 2025 10:50:00 +0900 (JST)", None, "2025-05-02 01:50:00", ""),
    ("Wed Sep 15, 2010 12:30am EDT", None, "2010-09-15 04:30:00", ""),
    (" 7:51  PM ET Fri, 17 July 2020", None, "2020-07-17 23:51:00", ""),
    ("May 2, 2025 9:00 AM EDT", None, "2025-05-02 13:00:00", ""),
    ("2 May 2025", "Europe/London", "2025-05-02 22:59:59", ""),
    ("2025-05-02 09:00:00 +09:00", None, "2025-05-02 00:00:00", ""),
    ("Fri, 02 May 2025 09:00:00+0900", None, "2025-05-02 00:00:00", ""),
    ("Fri May 02 2025 09:00:00 GMT+0900 (Japan Standard Time)", None, "2025-05-02 00:00:00", ""),
    ("2025-05-02 09:00:00 UTC+9", None, "2025-05-02 00:00:00", ""),
    ("2025-05-02T09:00:00+09:00[Asia/Tokyo]", None, "2025-05-02 00:00:00", ""),
    ("2025-07-02T09:00:00[America/New_York]", None, "2025-07-02 13:00:00", ""),
    ("2025-05-02T09:00:00+02:00[Asia/Tokyo]", None, None, "conflicting_tz_offset"),
    ("2025-05-02T09:00:00[Mars/Olympus]", None, None, "unknown_tz_abbreviation"),
    # the cases: never UTC, never 1970 / 1976 / 2034
    ("2025-05-02 09:00 XYZ", None, None, "unknown_tz_abbreviation"),
    ("2025-05-02 09:00 IST", None, None, "unknown_tz_abbreviation"),  # India, Israel or Ireland
    ("May 2, 2025 9:00 am foo", "UTC", None, "unknown_tz_abbreviation"),
    ("9:00 AM EDT", "UTC", None, "unparseable_timestamp"),  # no date
    ("1746150600", "UTC", None, "epoch_not_declared"),
    ("202505020900001", "UTC", None, "unparseable_timestamp"),  # GDELT DATE with a stray digit
    ("2034-01-01T00:00:00Z", None, None, "out_of_range"),
    ("0001-01-01T00:00:00Z", None, None, "out_of_range"),
    ("9999-12-31", "UTC", None, "out_of_range"),
    ("1850-01-01T00:00:00Z", None, None, "out_of_range"),
    ("Fri, 02 May 2025 10:50:00 +0900 (EST)", None, None, "conflicting_tz_offset"),
    ("not a date", "UTC", None, "unparseable_timestamp"),
    # numeric day/month: never guessed (02/05 is 2 May in London, 5 February in New York)
    ("02/05/2025 09:00 +0900", None, None, "ambiguous_day_month"),
    ("02.05.2025 09:00 JST", None, None, "ambiguous_day_month"),
    ("13/05/2025 09:00 +0900", None, "2025-05-13 00:00:00", ""),
    ("05/13/2025 09:00 +0900", None, "2025-05-13 00:00:00", ""),
    ("05/05/2025 09:00 +0900", None, "2025-05-05 00:00:00", ""),
    ("", "UTC", None, "missing_timestamp"),
]


@pytest.mark.parametrize(("value", "tz", "want", "reason"), TABLE)
def test_every_form_of_the_table(value, tz, want, reason):
    out, _, why = parse([value], tz)
    assert why == [reason]
    if want is None:
        assert pd.isna(out[0])
    else:
        assert out[0] == pd.Timestamp(want, tz="UTC")


def test_same_story_as_jst_and_as_offset_is_one_instant():
    out, _, why = parse(["2025-05-02 09:00 JST", "2025-05-02T09:00:00+09:00", "Fri, 02 May 2025 09:00 JST"])
    assert why == ["", "", ""] and len(set(out)) == 1


def test_numbers_are_dates_unless_declared_epochs():
    ints = pd.Series([20250502, 202505020900, 20250502090000])
    out, prec, why = parse_timestamps(ints, "UTC")
    assert list(why) == ["", "", ""]
    assert list(out) == [
        pd.Timestamp("2025-05-02 23:59:59", tz="UTC"),
        pd.Timestamp("2025-05-02 09:00", tz="UTC"),
        pd.Timestamp("2025-05-02 09:00", tz="UTC"),
    ]
    assert list(prec) == ["day", "minute", "second"]
    secs = pd.Series([1746150600, 1746150660])
    assert set(parse_timestamps(secs, "UTC")[2]) == {"epoch_not_declared"}
    assert parse_timestamps(secs, None, epoch="s")[0].iloc[0] == pd.Timestamp("2025-05-02 01:50", tz="UTC")
    assert parse_timestamps(secs * 1000, None, epoch="ms")[0].iloc[1] == pd.Timestamp(
        "2025-05-02 01:51", tz="UTC"
    )
    # named column: inferred only when every value is a plausible epoch of one unit
    assert set(parse_timestamps(secs, None, named=True)[2]) == {""}
    mixed = pd.Series([1746150600, 20250502])
    assert parse_timestamps(mixed, None, named=True)[2].iloc[0] == "epoch_not_declared"
    # a declared epoch outside the range is out_of_range, not 1970 or 2286
    assert list(parse_timestamps(pd.Series([1e16]), None, epoch="s")[2]) == ["out_of_range"]
    # without an article range (event tables) a future instant is fine, a year pandas cannot hold is not
    assert list(parse_timestamps(pd.Series(["2030-01-01T00:00Z", "3000-01-01T00:00Z"]))[2]) == [
        "",
        "out_of_range",
    ]
    with pytest.raises(ConfigError, match="--epoch"):
        parse_timestamps(secs, None, epoch="us")


def test_range_is_configurable():
    vals = ["1995-01-01T00:00:00Z", "2025-01-01T00:00:00Z"]
    _, _, why = parse(vals, valid_range=("2000-01-01", "2030-01-01"))
    assert why == ["out_of_range", ""]
    with pytest.raises(ConfigError):
        parse(vals, valid_range=("2030-01-01", "2000-01-01"))


def test_readme_table_lists_every_abbreviation():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Timestamps") :]
    section = section[: section.index("\n## ", 5)] if "\n## " in section[5:] else section
    for abbr in TZ_ABBREVIATIONS:
        if abbr != "Z":
            assert re.search(rf"\b{abbr}\b", section), abbr
    for abbr in AMBIGUOUS - {"MST7"}:
        assert re.search(rf"\b{abbr}\b", section), abbr


ZONES = {
    "Asia/Tokyo": None,
    "Asia/Seoul": None,
    "Asia/Hong_Kong": None,
    "Europe/London": None,
    "Europe/Paris": None,
    "America/New_York": "ET",
    "America/Chicago": "CT",
    "America/Los_Angeles": "PT",
    "UTC": None,
}


WIDE = ("1900-01-01", "2100-01-01")  # the property is about forms; the range has its own test


def _forms(instant: dt.datetime, zone: str) -> list[tuple[str, str | None, str | None]]:
    """(value, tz, epoch) renderings of one instant that must all parse to it."""
    z = ZoneInfo(zone)
    loc = instant.astimezone(z)
    off = loc.strftime("%z")
    off_colon = f"{off[:3]}:{off[3:]}"
    wall = loc.strftime("%Y-%m-%d %H:%M:%S")
    forms = [
        (f"{wall.replace(' ', 'T')}{off_colon}", None, None),
        (f"{wall}{off}", None, None),
        (loc.strftime("%a, %d %b %Y %H:%M:%S ") + off, None, None),
        (str(int(instant.timestamp())), None, "s"),
        (str(int(instant.timestamp()) * 1000), None, "ms"),
        (instant.strftime("%Y%m%d%H%M%S"), "UTC", None),
    ]
    name = loc.tzname()
    if name in TZ_ABBREVIATIONS:
        forms.append((f"{wall} {name}", None, None))
        forms.append((loc.strftime("%a %b %d, %Y %I:%M:%S%p ") + name, None, None))
    ambiguous = loc.replace(fold=1 - loc.fold).utcoffset() != loc.utcoffset()
    if not ambiguous:  # a wall time that occurs twice is a reject, tested below
        forms.append((wall, zone, None))
        if ZONES[zone]:
            forms.append((f"{wall} {ZONES[zone]}", None, None))
    return forms


@settings(max_examples=150, deadline=None)
@given(
    instant=st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2030, 12, 31)).map(
        lambda d: d.replace(microsecond=0, tzinfo=UTC)
    ),
    zone=st.sampled_from(sorted(ZONES)),
)
@example(
    instant=dt.datetime(2024, 3, 10, 6, 59, 59, tzinfo=UTC), zone="America/New_York"
)  # before spring-forward
@example(instant=dt.datetime(2024, 3, 10, 7, 0, 0, tzinfo=UTC), zone="America/New_York")  # after it
@example(
    instant=dt.datetime(2024, 11, 3, 5, 30, tzinfo=UTC), zone="America/New_York"
)  # 01:30 EDT (ambiguous)
@example(
    instant=dt.datetime(2024, 11, 3, 6, 30, tzinfo=UTC), zone="America/New_York"
)  # 01:30 EST (ambiguous)
@example(instant=dt.datetime(2024, 3, 31, 1, 0, tzinfo=UTC), zone="Europe/London")
@example(instant=dt.datetime(2024, 10, 27, 0, 30, tzinfo=UTC), zone="Europe/London")
@example(instant=dt.datetime(2024, 10, 27, 1, 30, tzinfo=UTC), zone="Europe/Paris")
def test_same_instant_in_every_form_gives_the_same_utc(instant, zone):
    want = pd.Timestamp(instant)
    for value, tz, epoch in _forms(instant, zone):
        out, _, why = parse_timestamps(pd.Series([value]), tz, epoch=epoch, valid_range=WIDE)
        assert why.iloc[0] == "", (value, tz, why.iloc[0])
        assert out.iloc[0] == want, (value, tz, out.iloc[0], want)


def test_ambiguous_and_missing_wall_times_are_rejected_not_shifted():
    # 01:30 happens twice in New York on 2024-11-03; 02:30 never happens on 2024-03-10
    _, _, why = parse(["2024-11-03 01:30:00", "2024-03-10 02:30:00"], "America/New_York")
    assert why == ["nonexistent_or_ambiguous_local_time"] * 2
    _, _, why = parse(["2024-11-03 01:30:00 ET"])
    assert why == ["nonexistent_or_ambiguous_local_time"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=40), st.from_regex(r"\d{1,16}", fullmatch=True)), max_size=8))
def test_any_text_gives_a_result_or_a_known_reason(values):
    out, _, why = parse_timestamps(pd.Series(values, dtype=object), "UTC", valid_range=resolve_range())
    assert set(why) <= {"", *REASONS}
    assert (out.notna() == (why == "")).all()
    lo, hi = pd.Timestamp("1900-01-01", tz="UTC"), pd.Timestamp.now(tz="UTC") + pd.Timedelta(days=1)
    assert ((out.dropna() >= lo) & (out.dropna() <= hi)).all()


def test_datetime_columns_of_any_unit_never_raise():
    far = pd.Series(pd.to_datetime(["2025-05-02 01:50:00", "3000-01-01 00:00:00"]).as_unit("s"))
    out, _, why = parse_timestamps(far, "UTC")
    assert list(why) == ["", "out_of_range"] and out.iloc[0] == pd.Timestamp("2025-05-02 01:50", tz="UTC")
    aware = far.dt.tz_localize("Asia/Tokyo")
    out, _, why = parse_timestamps(aware, None)
    assert list(why) == ["", "out_of_range"] and out.iloc[0] == pd.Timestamp("2025-05-01 16:50", tz="UTC")


def test_epoch_inference_needs_every_value_to_be_a_number():
    mixed = pd.Series(["1746150600", "2025-05-02T01:50:00Z"])
    _, _, why = parse_timestamps(mixed, None, named=True)
    assert list(why) == ["epoch_not_declared", ""]
    _, _, why = parse_timestamps(pd.Series(["1746150600", "1746150660", ""]), None, named=True)
    assert list(why) == ["", "", "missing_timestamp"]
