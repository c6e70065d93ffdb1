"""Report tables: one format per unit, alignment by type, sortable values, collapsed long tables."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from backtests.tables import (
    SHOW_ROWS,
    column_unit,
    fmt_value,
    format_frame,
    html_table,
    md_table,
)


@pytest.mark.parametrize(
    ("name", "dtype", "unit"),
    [
        ("car", float, "bp"),
        ("CAR[0,1] (bp)", float, "bp"),
        ("total_bp", float, "bp"),
        ("pvalue", float, "p"),
        ("qvalue", float, "p"),
        ("placebo p [0,1]", float, "p"),
        ("patell p [-5,10]", float, "p"),
        ("scar", float, "sd"),
        ("change_sd", float, "sd"),
        ("statistic", float, "stat"),
        ("n", np.int64, "int"),
        ("n_eff", float, "int"),
        ("headline", object, "text"),
        ("timestamp", "datetime64[ns, UTC]", "time"),
        ("caught", bool, "text"),
    ],
)
def test_column_units(name, dtype, unit):
    assert column_unit(name, pd.Series([], dtype=dtype).dtype) == unit


def test_each_unit_has_its_precision():
    assert fmt_value(354.26, "bp") == "354.3"
    assert fmt_value(-0.04, "bp") == "-0.0"
    assert fmt_value(0.008659, "p") == "0.00866"
    assert fmt_value(0.23, "p") == "0.230"  # three significant digits, zeros kept
    assert fmt_value(1.0, "p") == "1.00"
    assert fmt_value(3.2e-7, "p") == "3.20e-07"
    assert fmt_value(1.44, "sd") == "1.4"
    assert fmt_value(2.0, "int") == "2"
    assert fmt_value(1050.0, "float") == "1050"  # no trailing decimal point
    assert fmt_value(np.nan, "bp") == "" and fmt_value(None, "p") == ""
    assert fmt_value(True, "text") == "yes"


def test_timestamps_in_the_named_zone():
    t = pd.Timestamp("2025-05-02T01:50Z")
    assert fmt_value(t, "time", "Asia/Tokyo") == "Fri 02 May 2025 10:50 JST"
    assert fmt_value(t, "time") == "Fri 02 May 2025 01:50 UTC"
    assert fmt_value(t, "time", "America/New_York") == "Thu 01 May 2025 21:50 EDT"
    assert fmt_value(pd.Timestamp("2025-05-02"), "time") == "Fri 02 May 2025"  # a date stays a date


@given(st.floats(min_value=-1e5, max_value=1e5, allow_nan=False))
def test_bp_text_is_the_value_to_a_tenth(v):
    s = fmt_value(v, "bp")
    assert re.fullmatch(r"-?\d+\.\d", s)
    assert abs(float(s) - v) <= 0.05 + 1e-9


@given(st.floats(min_value=1e-4, max_value=1.0, allow_nan=False))
def test_p_text_has_three_significant_digits(p):
    s = fmt_value(p, "p")
    digits = s.replace(".", "").lstrip("0")
    assert len(digits) == 3, s
    assert abs(float(s) - p) <= 0.005 * p + 1e-12


class _Cells(HTMLParser):
    def __init__(self):
        super().__init__()
        self.rows, self.cur, self.hidden = [], None, 0

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "tr":
            self.hidden += a.get("class") == "more"
        if tag in ("td", "th"):
            self.cur = {"tag": tag, "class": a.get("class", ""), "v": a.get("data-v"), "text": ""}

    def handle_data(self, data):
        if self.cur is not None:
            self.cur["text"] += data

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self.cur is not None:
            self.rows.append(self.cur)
            self.cur = None


def _frame(n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "series": [f"ust_{i}y" for i in range(n)],
            "car": np.linspace(-10.04, 30.06, n),
            "pvalue": np.linspace(0.001, 0.9, n),
            "n": np.arange(n),
            "timestamp": pd.date_range("2025-05-02T01:50Z", periods=n, freq="D"),
        }
    )


def test_html_table_aligns_and_carries_sort_values():
    p = _Cells()
    p.feed(html_table(_frame(3), tz="Asia/Tokyo"))
    heads = [c for c in p.rows if c["tag"] == "th"]
    assert [c["text"] for c in heads] == ["series", "car", "pvalue", "n", "timestamp"]
    cells = [c for c in p.rows if c["tag"] == "td"]
    by_col = [cells[i::5] for i in range(5)]
    assert all("txt" in c["class"] for c in by_col[0])  # text left
    assert all(c["class"] == "num" for col in by_col[1:4] for c in col)  # numbers right
    assert [c["text"] for c in by_col[1]] == ["-10.0", "10.0", "30.1"]
    assert [float(c["v"]) for c in by_col[1]] == pytest.approx([-10.04, 10.01, 30.06])  # exact for sorting
    assert by_col[4][0]["text"] == "Fri 02 May 2025 10:50 JST"
    assert float(by_col[4][1]["v"]) - float(by_col[4][0]["v"]) == 86400.0


def test_long_tables_collapse_after_twenty_rows_and_cap():
    p = _Cells()
    html = html_table(_frame(30))
    p.feed(html)
    assert p.hidden == 30 - SHOW_ROWS
    assert "show all 30 rows" in html
    capped = html_table(_frame(250), max_rows=200)
    assert capped.count("<tr") == 201 and "50 more rows in the CSV" in capped
    assert "show all" not in html_table(_frame(SHOW_ROWS))


def test_markdown_uses_the_same_text_and_alignment():
    md = md_table(_frame(3)).splitlines()
    assert md[1] == "|---|---:|---:|---:|---|"
    assert md[2].startswith("| ust_0y | -10.0 | 0.00100 | 0 | Fri 02 May 2025 01:50 UTC |")
    assert "more rows in the CSV" in md_table(_frame(25), max_rows=20)


def test_statistics_tables_format_by_row():
    stats = pd.DataFrame(
        {"total": [-258.4, -0.1139, 106.0, 0.537], "ust_10y": [-141.2, -0.835, 20.0, np.nan]},
        index=pd.Index(["total_bp", "sharpe", "n_trades", "placebo_total_pvalue"], name="statistic"),
    )
    text, _ = format_frame(stats)
    assert text.iloc[:, 0].tolist() == ["total_bp", "sharpe", "n_trades", "placebo_total_pvalue"]
    assert text["total"].tolist() == ["-258.4", "-0.11", "106", "0.537"]
    assert text["ust_10y"].tolist() == ["-141.2", "-0.83", "20", ""]


def test_empty_table_says_none():
    assert "(none)" in html_table(pd.DataFrame())
    assert md_table(pd.DataFrame()) == "_(none)_"
