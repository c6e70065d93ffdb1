"""``newsbt import`` / ``load_market(source="files")`` refuse what would lower the cache's quality."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from backtests import cli
from backtests.market import cache, load_market
from backtests.market.manage import import_file
from signals.errors import InputFormatError

MARKET_DIR = Path(__file__).resolve().parents[4] / "shared" / "data" / "market"


@pytest.fixture(autouse=True)
def _data(tmp_path, monkeypatch):
    monkeypatch.setenv("NEWSBT_DATA", str(tmp_path / "data"))


def _csv(tmp_path, text, name="in.csv"):
    p = tmp_path / name
    p.write_text(text)
    return p


@pytest.mark.parametrize("bad", ["inf", "1e400", "-inf"])
def test_non_finite_value_is_refused_with_its_row(tmp_path, bad):
    p = _csv(tmp_path, f"date,ust_10y\n2024-01-02,4.0\n2024-01-03,{bad}\n")
    with pytest.raises(InputFormatError, match=r"row 3 \(2024-01-03\).*not finite"):
        import_file(p, format="csv")
    assert cache.read_cache("ust_10y", "fred") is None  # nothing written


def test_usdjpy_file_imported_as_a_yield_is_refused(tmp_path):
    p = _csv(tmp_path, "observation_date,DEXJPUS\n2024-01-02,147.1\n")
    with pytest.raises(InputFormatError, match="DEXJPUS.*'usdjpy'.*ust_10y"):
        import_file(p, format="fred", series=["ust_10y"])
    q = _csv(tmp_path, "date,ust_10y\n2024-01-02,147.1\n", "t.csv")
    with pytest.raises(InputFormatError, match=r"row 2 \(2024-01-02\).*147.1.*plausible range -5..40"):
        import_file(q, format="csv")


@pytest.mark.parametrize("bad", ["0", "-150.2"])
def test_zero_or_negative_fx_never_overwrites_a_good_cache(tmp_path, bad):
    good = _csv(tmp_path, "date,usdjpy\n2024-01-02,141.0\n2024-01-03,142.0\n", "good.csv")
    import_file(good, format="csv")
    p = _csv(tmp_path, f"date,usdjpy\n2024-01-03,{bad}\n")
    with pytest.raises(InputFormatError, match="zero or negative|plausible"):
        import_file(p, format="csv", replace=True)
    assert list(cache.read_cache("usdjpy", "fred").values) == [141.0, 142.0]


def test_ambiguous_day_month_dates_need_a_format(tmp_path):
    p = _csv(tmp_path, "date,ust_10y\n02/01/2024,4.0\n13/01/2024,4.1\n")
    with pytest.raises(InputFormatError, match=r"row 2.*ambiguous.*--date-format '%d/%m/%Y'"):
        import_file(p, format="csv")
    import_file(p, format="csv", date_format="%d/%m/%Y")
    got = cache.read_cache("ust_10y", "fred").values
    assert list(got.index) == list(pd.to_datetime(["2024-01-02", "2024-01-13"]))


def test_duplicate_dates_with_conflicting_values_name_both_rows(tmp_path):
    p = _csv(tmp_path, "observation_date,DGS10\n2024-01-02,4.0\n2024-01-03,4.1\n2024-01-02,4.2\n")
    with pytest.raises(InputFormatError, match="2024-01-02 appears in rows 2 and 4.*4.0.*4.2"):
        import_file(p, format="fred")
    same = _csv(tmp_path, "observation_date,DGS10\n2024-01-03,4.1\n2024-01-02,4.0\n2024-01-02,4.0\n", "s.csv")
    assert import_file(same, format="fred") == {"ust_10y": 2}  # identical repeat and unsorted: fine


def test_conflicting_overlap_needs_replace_and_provenance_is_the_files(tmp_path):
    a = _csv(tmp_path, "observation_date,DGS10\n2024-01-02,4.0\n2024-01-03,4.1\n", "a.csv")
    import_file(a, format="fred")
    b = _csv(tmp_path, "observation_date,DGS10\n2024-01-03,4.5\n2024-01-04,4.2\n", "b.csv")
    with pytest.raises(InputFormatError, match="differs from the cached values.*2024-01-03.*--replace"):
        import_file(b, format="fred")
    assert list(cache.read_cache("ust_10y", "fred").values) == [4.0, 4.1]
    import_file(b, format="fred", replace=True)
    e = cache.read_cache("ust_10y", "fred")
    assert list(e.values) == [4.0, 4.5, 4.2]
    assert "b.csv" in e.meta["publisher"] and "Board of Governors" not in e.meta["publisher"]
    assert e.meta["imported_from"].endswith("b.csv") and len(e.meta["file_sha256"]) == 64


def test_mof_bad_era_names_the_right_row(tmp_path):
    p = tmp_path / "jgb.csv"
    p.write_bytes("国債金利情報\n基準日,1年,10年\nH31.4.26,-0.1,0.0\nH31.5.7,-0.1,0.0\n".encode("cp932"))
    with pytest.raises(InputFormatError, match=r"row 4: 'H31.5.7'"):
        import_file(p, format="mof")


def test_load_market_files_checks_values_and_dates(tmp_path):
    p = _csv(tmp_path, "date,usdjpy\n2024-01-02,141.0\n2024-01-03,1e400\n")
    with pytest.raises(InputFormatError, match="not finite"):
        load_market("usdjpy", source="files", files=p)
    q = _csv(tmp_path, "date,usdjpy\n01/02/2024,141.0\n", "q.csv")
    with pytest.raises(InputFormatError, match="ambiguous"):
        load_market("usdjpy", source="files", files=q)
    m = load_market("usdjpy", source="files", files=q, date_format="%m/%d/%Y")
    assert m.levels.index[0] == pd.Timestamp("2024-01-02")


def test_cli_import_flags_and_one_line_errors(tmp_path, capsys):
    p = _csv(tmp_path, "date,ust_10y\n02/01/2024,4.0\n")
    assert cli.main(["import", str(p), "--format", "csv"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "ambiguous" in err and "Traceback" not in err
    assert cli.main(["import", str(p), "--format", "csv", "--date-format", "%d/%m/%Y"]) == 0
    q = _csv(tmp_path, "date,ust_10y\n2024-01-02,4.3\n", "q.csv")
    assert cli.main(["import", str(q), "--format", "csv"]) == 2
    assert cli.main(["import", str(q), "--format", "csv", "--replace"]) == 0


def test_real_fred_file_imports_cleanly(tmp_path):
    f = MARKET_DIR / "fred_DEXJPUS.csv"
    if not f.is_file():
        pytest.skip(f"real data not available: {f}")
    n = import_file(f, format="fred")
    assert n["usdjpy"] > 1000
