"""The bundled snapshot: real values equal the publisher files, known values, units, provenance."""

from __future__ import annotations

import hashlib
import json

import pandas as pd
import pytest

import backtests
from backtests.market import files, fred, load_interventions, load_market, mof, snapshot_meta
from backtests.market.build_sample import build
from signals._paths import data_path

UST = {"ust_3m": "DGS3MO", "ust_2y": "DGS2", "ust_5y": "DGS5", "ust_10y": "DGS10", "ust_30y": "DGS30"}
JGB = [f"jgb_{n}y" for n in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15, 20, 25, 30, 40)]


@pytest.fixture(scope="module")
def snap():
    return load_market([*UST, "usdjpy", *JGB], source="sample")


def _exact_on_common(a: pd.Series, b: pd.Series) -> int:
    a, b = a.dropna(), b.dropna()
    common = a.index.intersection(b.index)
    assert len(common) > 0
    assert (a.loc[common].to_numpy() == b.loc[common].to_numpy()).all()
    return len(common)


def test_snapshot_equals_publisher_files_exactly(snap, shared_data):
    m = shared_data / "market"
    lv = snap.levels
    for sid, code in UST.items():
        pub = fred.read_fred_csv(m / "fred_ust_1962_2021" / f"{code}.csv")[code]
        n = _exact_on_common(lv[sid], pub)
        assert n > 6000
        # FRED's '.' holidays are absent from the snapshot, not zero or filled
        miss = pub[pub.isna()].index
        assert lv[sid].reindex(miss).isna().all()
        tidy = files.read_table(m / "ust_yields_daily.csv")[sid]
        _exact_on_common(lv[sid], tidy)
        # every tidy value since 1994 is in the snapshot
        assert lv[sid].dropna().index.equals(tidy.loc["1994":].dropna().index)
    fx = fred.read_fred_csv(m / "fred_DEXJPUS.csv")["DEXJPUS"]
    assert _exact_on_common(lv["usdjpy"], fx) > 2400
    assert (
        lv["usdjpy"]
        .dropna()
        .index.equals(files.read_table(m / "usdjpy_daily.csv")["usdjpy"].loc["1994":].dropna().index)
    )
    pubj = mof.read_mof_csv(m / "mof_jgbcm_all.csv")
    for sid in JGB:
        _exact_on_common(lv[sid], pubj[sid])
        assert lv[sid].dropna().index.equals(pubj[sid].loc["1994":].dropna().index)


def test_known_values_and_units(snap):
    lv = snap.levels
    assert lv.loc["2025-04-04", "ust_10y"] == 4.01
    assert lv.loc["2025-04-11", "ust_10y"] == 4.48
    assert lv.loc["2022-09-22", "usdjpy"] == 142.16
    assert lv.loc["2022-09-22", "jgb_10y"] == 0.270
    assert lv.loc["2025-05-02", "jgb_2y"] == 0.609
    jgb_dates = lv["jgb_10y"].dropna().index
    assert pd.Timestamp("2025-05-05") not in jgb_dates
    assert pd.Timestamp("2025-05-06") not in jgb_dates
    assert pd.Timestamp("2025-05-07") in jgb_dates
    # units: a 10-year yield of 4.5 means 4.5 %, USD/JPY ~150 is yen per dollar
    assert snap.specs["ust_10y"].unit == "percent"
    assert snap.specs["usdjpy"].unit == "JPY per USD"
    assert 0 < lv["ust_10y"].max() < 10
    assert lv["ust_10y"].loc["2023":].dropna().between(3, 5.5).all()
    assert lv["usdjpy"].loc["2024"].dropna().between(139, 162).all()
    assert lv["jgb_10y"].loc["2016":"2020"].min() < 0  # negative yields are real
    assert snap.levels.index[0] >= pd.Timestamp("1994-01-01")
    assert lv["ust_10y"].first_valid_index() == pd.Timestamp("1994-01-03")


def test_provenance_names_snapshot_and_last_date(snap):
    meta = snapshot_meta()
    p = snap.provenance["ust_10y"]
    assert p.origin == "snapshot"
    assert p.source == "sample"
    assert p.code == "DGS10"
    assert p.snapshot_last == meta["series"]["ust_10y"]["end"] == "2026-02-20"
    assert "H.15" in p.publisher
    assert "public domain" in p.attribution.lower()
    assert snap.provenance["jgb_10y"].snapshot_last == "2026-02-27"
    assert "Standard Terms of Use" in snap.provenance["jgb_10y"].attribution
    assert snap.close_time("usdjpy")[0].strftime("%H:%M") == "12:00"
    assert snap.close_time("jgb_10y") == (pd.Timestamp("15:00").time(), "Asia/Tokyo")
    assert snap.close_time("ust_2y")[0].strftime("%H:%M") == "15:30"
    d = p.to_dict()
    json.dumps(d)
    assert d["snapshot_last"] == "2026-02-20"


def test_auto_offline_falls_back_to_snapshot(monkeypatch, caplog):
    monkeypatch.setenv("NEWSBT_OFFLINE", "1")
    with caplog.at_level("WARNING"):
        m = backtests.load_market(["ust_10y", "jgb_10y"], start="2025-04-01", end="2025-04-30")
    assert all(p.origin == "snapshot" for p in m.provenance.values())
    assert "bundled snapshot" in caplog.text
    assert "2026-02-20" in caplog.text
    assert m.levels.index[0] >= pd.Timestamp("2025-04-01")
    assert m.levels.index[-1] <= pd.Timestamp("2025-04-30")


def test_snapshot_small_reproducible_and_hashes(tmp_path, shared_data):
    meta = snapshot_meta()
    total = 0
    for name, info in meta["files"].items():
        data = data_path("market", name).read_bytes()
        total += len(data)
        assert hashlib.sha256(data).hexdigest() == info["sha256"]
    assert total < 1_000_000
    rebuilt = build(shared_data / "market", tmp_path)
    for name in meta["files"]:
        assert (tmp_path / name).read_bytes() == data_path("market", name).read_bytes()
    assert rebuilt["series"] == meta["series"]


def test_interventions_table():
    iv = load_interventions()
    assert len(iv) == 383
    assert {
        "event_id",
        "date",
        "timestamp",
        "theme",
        "pair",
        "jpy_direction",
        "amount_jpy_bn",
        "direction_usdjpy",
        "source",
    } <= set(iv.columns)
    assert iv.event_id.is_unique
    assert (iv.theme == "yen_intervention").all()
    assert str(iv.timestamp.dt.tz) == "UTC"
    r = iv.set_index("event_id")
    assert r.loc["mof_fx_2022-09-22_USDJPY", "direction_usdjpy"] == -1  # yen bought
    assert r.loc["mof_fx_2022-09-22_USDJPY", "amount_jpy_bn"] == 2838.2
    assert r.loc["mof_fx_2024-04-29_USDJPY", "amount_jpy_100m"] == 59185
    assert (iv.loc[iv.jpy_direction == "sell_jpy", "direction_usdjpy"] == 1).all()
    assert iv.loc[iv.jpy_direction == "none", "direction_usdjpy"].isna().all()
    # published totals: calendar 2003 JPY 20,425.0 bn; 2011 14,297.1 bn
    yr = iv.date.dt.year
    assert iv.loc[yr == 2003, "amount_jpy_bn"].sum() == pytest.approx(20425.0, abs=0.05)
    assert iv.loc[yr == 2011, "amount_jpy_bn"].sum() == pytest.approx(14297.1, abs=0.05)
    assert (iv.date.dt.day_of_week < 5).all()


def test_interventions_align_to_same_day(snap):
    iv = load_interventions()
    iv = iv[iv.date.dt.year == 2022]
    out = backtests.align_events(iv, snap[["usdjpy", "jgb_10y"]])
    assert (out.reason == "").all()
    assert (out.day0 == out.date).all()
