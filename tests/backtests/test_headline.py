"""The headline table: one test per cell by the documented rule, n_eff, BH/Holm q-values, stars."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as hst

import backtests
from backtests import event_study
from backtests import headline as hl

statsmodels = pytest.importorskip("statsmodels.stats.multitest")

KW = {"window": (-2, 3), "estimation": (-60, -5), "placebo_draws": 199, "confounders": "ignore"}


def _panel(n_days=400, cols=("a", "b"), seed=0):
    rng = np.random.default_rng(seed)
    idx = pd.bdate_range("2020-01-01", periods=n_days)
    return pd.DataFrame(rng.normal(0, 1, (n_days, len(cols))), index=idx, columns=list(cols)), idx


# ------------------------------------------------------------------------------ multiple testing
@given(hst.lists(hst.one_of(hst.floats(0, 1), hst.just(np.nan)), min_size=1, max_size=40))
@settings(max_examples=30, deadline=None)
def test_bh_and_holm_match_statsmodels(ps):
    p = np.array(ps, dtype=float)
    ok = np.isfinite(p)
    for mine, theirs in (("bh", "fdr_bh"), ("holm", "holm")):
        got = hl.adjust_pvalues(p, mine)
        assert np.isnan(got[~ok]).all()
        if ok.any():
            want = statsmodels.multipletests(p[ok], method=theirs)[1]
            np.testing.assert_allclose(got[ok], want, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(hl.adjust_pvalues(p, "none")[ok], p[ok])


def test_bh_hand_case_and_bad_option():
    # m = 4: sorted 0.01 0.02 0.03 0.5 -> 0.04 0.04 0.04 0.5
    np.testing.assert_allclose(hl.adjust_pvalues([0.03, 0.5, 0.01, 0.02]), [0.04, 0.5, 0.04, 0.04])
    with pytest.raises(ValueError, match="adjust"):
        hl.adjust_pvalues([0.1], "bonferroni-ish")


def test_stars_from_q_only_and_never_below_three_independent_events():
    q = np.array([0.001, 0.001, 0.03, 0.07, 0.2, np.nan])
    n_eff = np.array([3, 2, 10, 10, 10, 10])
    assert hl.stars(q, n_eff).tolist() == ["***", "", "**", "*", "", ""]


# ------------------------------------------------------------------------------ n_eff
def test_cluster_ids_chain_overlaps_within_a_cell():
    d = pd.to_datetime(["2025-05-01", "2025-05-10", "2025-05-09", "2025-05-20", "2025-06-30", "2025-05-01"])
    e = pd.to_datetime(["2025-05-09", "2025-05-15", "2025-05-12", "2025-05-25", "2025-07-05", "2025-05-09"])
    cell = np.array([0, 0, 0, 0, 0, 1])
    ids = hl.cluster_ids(cell, d.asi8, e.asi8)
    # 1st and 3rd share 05-09, 3rd and 2nd share 05-10..12: one chain; 05-20 and 06-30 alone; cell 1 apart
    assert ids[0] == ids[1] == ids[2]
    assert len({ids[0], ids[3], ids[4], ids[5]}) == 4


def test_n_eff_counts_overlapping_windows_as_one_event():
    ch, idx = _panel()
    # e1/e2 two sessions apart (windows of 6 sessions overlap), e3 far away
    ev = pd.DataFrame({"event_id": ["e1", "e2", "e3"], "series": "a", "date": idx[[200, 202, 300]]})
    st = event_study(ch, ev, **KW)
    h = st.headline
    assert h[["n", "n_eff"]].iloc[0].tolist() == [3, 2]
    # the definition checked directly: window dates [day0-2, day0+3] on the series' sessions
    assert (idx[202 - 2] <= idx[200 + 3]) and (idx[300 - 2] > idx[202 + 3])


# ------------------------------------------------------------------------------ the rule
def test_choose_test_rule_on_constructed_counts():
    n = np.array([1, 5, 12, 12, 30])
    n_eff = np.array([1, 5, 9, 12, 20])
    assert hl.choose_test(n, n_eff).tolist() == [
        "single_event",
        "placebo",
        "placebo",
        "bmp",
        "kolari_pynnonen",
    ]


def test_single_event_cell_is_the_standardised_move_with_placebo_p():
    ch, idx = _panel()
    ch.iloc[250, 0] += 8.0
    ev = pd.DataFrame({"event_id": ["e1"], "series": "a", "date": [idx[250]]})
    st = event_study(ch, ev, **KW)
    h = st.headline.iloc[0]
    assert h["test"] == "single_event" and h["n"] == 1 and h["n_eff"] == 1
    c = st.car.iloc[0]
    assert h["statistic"] == pytest.approx(c["car"] / c["se"])
    # p from the placebo of that cell (its own series, same window)
    want = st.tests.query("test == 'placebo'")["pvalue"].iloc[0]
    assert h["pvalue"] == pytest.approx(want)
    assert h["stars"] == ""  # never stars for n_eff < 3


@pytest.mark.parametrize(
    ("case", "want"), [("spread", "bmp"), ("few", "placebo"), ("twins", "kolari_pynnonen")]
)
def test_headline_rule_picks_the_test_and_reads_its_battery_row(case, want):
    ch, idx = _panel(n_days=700)
    base = 150 + np.arange(15 if case != "few" else 6) * 30
    if case == "twins":  # 12 pairs of events two sessions apart: n = 24, n_eff = 12
        base = np.sort(np.concatenate([base[:12], base[:12] + 2]))
    ev = pd.DataFrame({"event_id": [f"e{i}" for i in range(len(base))], "date": idx[base]})
    st = event_study(ch[["a"]], ev, **KW, group_by="series")
    h = st.headline.iloc[0]
    assert h["test"] == want, h
    assert h["n"] == len(base) and h["n_eff"] == (12 if case == "twins" else len(base))
    row = st.tests.query("test == @want and start == -2 and end == 3").iloc[0]
    assert h["pvalue"] == pytest.approx(row["pvalue"])
    assert h["statistic"] == pytest.approx(row["statistic"])


def test_qvalue_is_bh_over_every_cell_of_the_study():
    ch, idx = _panel(cols=("a", "b", "c"))
    ev = pd.DataFrame({"date": idx[150 + np.arange(12) * 18], "theme": ["x", "y"] * 6})
    st = event_study(ch, ev, **KW, group_by="theme", car_windows=[(0, 1)])
    h = st.headline
    assert len(h) == 2 * 3 * 2  # theme x series x window
    assert h.attrs["m"] == len(h) and h.attrs["adjust"] == "bh"
    want = statsmodels.multipletests(h["pvalue"], method="fdr_bh")[1]
    np.testing.assert_allclose(h["qvalue"], want)
    holm = event_study(ch, ev, **KW, group_by="theme", car_windows=[(0, 1)], adjust="holm").headline
    np.testing.assert_allclose(holm["qvalue"], statsmodels.multipletests(holm["pvalue"], method="holm")[1])
    star = h["stars"] != ""
    assert (h.loc[star, "qvalue"] < 0.1).all() and (h.loc[star, "n_eff"] >= 3).all()


def test_summary_prints_the_headline_with_units_and_cell_count():
    ch, idx = _panel()
    ev = pd.DataFrame({"date": idx[150 + np.arange(6) * 30]})
    text = event_study(ch, ev, **KW).summary()
    assert "headline: one test per cell (2 cells tested, q = Benjamini-Hochberg)" in text
    assert "qvalue" in text and "pvalue" in text and "model=raw" in text
    assert "t_cross_section" not in text
    assert "t_cross_section" in event_study(ch, ev, **KW).summary(all_tests=True)


# ------------------------------------------------------------------------------ grouping
def test_continuous_group_column_is_binned_never_one_group_per_value():
    ch, idx = _panel()
    rng = np.random.default_rng(7)
    ev = pd.DataFrame({"date": idx[100 + np.arange(20) * 12], "sentiment": rng.uniform(-1, 1, 20)})
    ev.loc[0, "sentiment"] = 0.05  # on the threshold: positive (>= 0.05)
    st = event_study(ch, ev, **KW, group_by="sentiment", tests=["bmp"])
    want = np.select([ev["sentiment"] <= -0.05, ev["sentiment"] >= 0.05], ["negative", "positive"], "neutral")
    got = st.pairs.drop_duplicates("event_id").set_index("event_id")["sentiment"]
    assert got.tolist() == list(want)
    assert set(st.tests["sentiment"]) <= {"negative", "neutral", "positive"}
    assert any("VADER thresholds" in n for n in st.notes)
    assert ev["sentiment"].dtype == float  # the caller's table is untouched
    q = event_study(ch, ev.assign(score=ev["sentiment"] * 10), **KW, group_by="score", bins=2, tests=["bmp"])
    assert q.pairs["score"].nunique() == 2 and q.pairs["score"].str.startswith("q").all()


def test_group_mixing_yield_and_fx_is_split_by_kind_with_a_note():
    market = backtests.load_market(["ust_10y", "usdjpy"], start="2023-01-01", source="sample")
    changes = backtests.to_changes(market)
    idx = changes["usdjpy"].dropna().index
    ev = pd.DataFrame({"date": idx[200 + np.arange(8) * 20], "theme": "x"})
    st = event_study(changes, ev, **KW, group_by="theme", tests=["bmp"])
    assert st.settings["group_by"] == ["theme", "kind"]
    assert set(st.tests["kind"]) == {"yield", "fx"} and (st.tests["n"] == 8).all()
    assert any("split by kind" in n for n in st.notes) and "split by kind" in st.summary()
    assert set(st.headline["kind"]) == {"yield", "fx"}


@given(
    hst.lists(
        hst.tuples(hst.integers(0, 2), hst.integers(0, 60), hst.integers(0, 8)), min_size=1, max_size=25
    )
)
@settings(max_examples=80, deadline=None)
def test_cluster_ids_equal_brute_force_connected_components(rows):
    cell = np.array([r[0] for r in rows])
    start = np.array([r[1] for r in rows], dtype=np.int64)
    end = start + np.array([r[2] for r in rows], dtype=np.int64)
    ids = hl.cluster_ids(cell, start, end)
    # brute force: union-find over every pair of one cell sharing at least one date
    parent = list(range(len(rows)))

    def find(i):
        while parent[i] != i:
            i = parent[i]
        return i

    for i in range(len(rows)):
        for j in range(i):
            if cell[i] == cell[j] and start[i] <= end[j] and start[j] <= end[i]:
                parent[find(i)] = find(j)
    roots = [find(i) for i in range(len(rows))]
    for i in range(len(rows)):
        for j in range(len(rows)):
            assert (ids[i] == ids[j]) == (roots[i] == roots[j])


def test_integer_group_column_is_a_label_unless_bins_names_it():
    ch, idx = _panel()
    ev = pd.DataFrame({"date": idx[100 + np.arange(24) * 10], "study": np.arange(24) % 12})
    st = event_study(ch, ev, **KW, group_by="study", tests=["bmp"])
    assert st.pairs["study"].nunique() == 12 and not st.notes
    b = event_study(ch, ev, **KW, group_by="study", bins={"study": 2}, tests=["bmp"])
    assert b.pairs["study"].nunique() == 2 and b.notes
