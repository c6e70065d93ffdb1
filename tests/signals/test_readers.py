"""Row-level robustness, encodings, JSON documents and the one ledger of ``read_articles``."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import signals
from signals.articles import ledger_table
from signals.errors import InputFormatError

GOOD = "2025-05-02T01:50:00Z"


def _identity(arts, rej):
    st = arts.attrs["newsbt_read"]
    led = ledger_table(arts)
    body = led.iloc[:-1]
    assert (body["rows_in"] == body["kept"] + body["rejected"] + body["duplicates"]).all()
    assert led.iloc[-1]["rows_in"] == st["rows_in"] == st["rows_out"] + st["rejected"] + st["duplicates"]
    assert st["rows_out"] == len(arts) and st["rejected"] + st["duplicates"] == len(rej)
    return led


def test_csv_line_with_wrong_field_count_is_one_reject(tmp_path):
    p = tmp_path / "a.csv"
    p.write_text(
        "published,title,url\n"
        f"{GOOD},first,u1\n"
        f"{GOOD},Yen, dollar and bonds,u2\n"  # unquoted comma: 4 fields
        f"{GOOD},third\n"  # 2 fields
        f'{GOOD},"quoted, fine",u4\n',
        encoding="utf-8",
    )
    arts, rej = signals.read_articles(p, errors="collect")
    assert sorted(arts["title"]) == ["first", "quoted, fine"]
    bad = rej.set_index("row")
    assert list(bad.index) == [2, 3] and set(bad["reason"]) == {"csv_wrong_field_count"}
    assert (bad["origin"] == str(p)).all() and (bad["field"] == "(line)").all()
    assert bad.loc[2, "value"].startswith("line 3: 4 fields, expected 3: ")
    assert "Yen,dollar and bonds" in bad.loc[2, "value"].replace(" ", "") or "Yen" in bad.loc[2, "value"]
    _identity(arts, rej)


def _gdelt_lines(shared_data):
    raw = (shared_data / "news" / "raw" / "gdelt_20230702153000_subset.gkg.csv").read_text(encoding="utf-8")
    return [ln for ln in raw.split("\n") if ln]


def test_gdelt_field_count_and_date_are_checked_per_row(shared_data, tmp_path):
    lines = _gdelt_lines(shared_data)
    f = [ln.split("\t") for ln in lines[:5]]
    f[1] = [*f[1], "spurious"]  # 28 fields: columns would shift
    f[2][1] = f[2][1] + "1"  # DATE with a stray digit (would be 2034 or 1976)
    f[3][1] = "2023-07-02 15:30"  # DATE in the wrong format
    p = tmp_path / "x.gkg.csv"
    p.write_text("\n".join("\t".join(x) for x in f) + "\n", encoding="utf-8")
    arts, rej = signals.read_articles(p, errors="collect", dedup=False)
    assert len(arts) == 2 and "spurious" not in set(arts["url"])
    got = {int(r.row): (r.field, r.reason) for r in rej.itertuples()}
    assert got == {
        2: ("(line)", "gdelt_wrong_field_count"),
        3: ("V2.1DATE", "gdelt_bad_date"),
        4: ("V2.1DATE", "gdelt_bad_date"),
    }
    assert rej.set_index("row").loc[3, "value"] == f[2][1]
    _identity(arts, rej)


def test_gdelt_date_out_of_range_is_a_reject(shared_data, tmp_path):
    f = [ln.split("\t") for ln in _gdelt_lines(shared_data)[:2]]
    f[0][1] = "20340702153000"
    p = tmp_path / "y.gkg.csv"
    p.write_text("\n".join("\t".join(x) for x in f) + "\n", encoding="utf-8")
    arts, rej = signals.read_articles(p, errors="collect", dedup=False)
    assert len(arts) == 1 and rej["reason"].tolist() == ["out_of_range"]
    assert rej["field"].tolist() == ["V2.1DATE"] and rej["value"].tolist() == ["20340702153000"]


JA = ["日銀、金融政策を維持", "円相場、一時１５０円台に下落", "財務省が為替介入を実施"]


@pytest.mark.parametrize(
    "enc", ["cp932", "shift_jis", "euc_jp", "iso2022_jp", "utf-8-sig", "utf-16", "utf-8"]
)
def test_japanese_csv_in_any_usual_encoding_reads_exactly(tmp_path, enc):
    df = pd.DataFrame({"published": [f"2025-05-0{i + 1}T09:00:00+09:00" for i in range(3)], "title": JA})
    p = tmp_path / f"ja_{enc}.csv"
    p.write_bytes(df.to_csv(index=False).encode(enc))
    arts = signals.read_articles(p)
    assert sorted(arts["title"]) == sorted(JA)
    led = ledger_table(arts)
    assert led.iloc[0]["encoding"].replace("_", "-").startswith(
        enc.split("-sig")[0].replace("_", "-")[:5]
    ) or (enc in ("shift_jis", "cp932") and led.iloc[0]["encoding"] in ("cp932", "shift_jis"))


def test_cp1252_and_wrong_encoding_override(tmp_path):
    p = tmp_path / "w.csv"
    p.write_bytes("published,title\n2025-05-02T01:50:00Z,Café – naïve résumé “quotes”\n".encode("cp1252"))
    assert signals.read_articles(p)["title"].tolist() == ["Café – naïve résumé “quotes”"]
    ja = tmp_path / "ja.csv"
    ja.write_bytes(("published,title\n" + GOOD + "," + JA[0] + "\n").encode("cp932"))
    with pytest.raises(InputFormatError, match=r"ja\.csv: not valid utf-8 at byte .*--encoding"):
        signals.read_articles(ja, encoding="utf-8")
    assert signals.read_articles(ja, encoding="cp932")["title"].tolist() == [JA[0]]


def test_feed_with_a_wrong_declared_encoding_is_read_by_its_bytes(tmp_path, caplog):
    body = (
        '<?xml version="1.0" encoding="ISO-8859-1"?><rss version="2.0"><channel><title>東京</title>'
        f"<item><title>{JA[1]}</title><link>https://x/1</link><pubDate>Fri, 02 May 2025 09:00:00 JST</pubDate></item>"
        "</channel></rss>"
    )
    p = tmp_path / "f.xml"
    p.write_bytes(body.encode("utf-8"))
    with caplog.at_level("WARNING"):
        arts = signals.read_articles(p)
    assert arts["title"].tolist() == [JA[1]] and arts["source"].tolist() == ["東京"]
    assert arts["published"].tolist() == [pd.Timestamp("2025-05-02 00:00", tz="UTC")]
    assert "declares encoding iso-8859-1" in caplog.text
    sj = tmp_path / "sj.xml"
    sj.write_bytes(body.replace("ISO-8859-1", "Shift_JIS").encode("cp932"))
    assert signals.read_articles(sj)["title"].tolist() == [JA[1]]


def test_json_documents_and_jsonl_are_told_apart_by_content(tmp_path):
    doc = {
        "status": "ok",
        "totalResults": 2,
        "articles": [
            {
                "source": {"id": None, "name": "Reuters"},
                "title": "a",
                "url": "https://x/a",
                "publishedAt": GOOD,
            },
            {
                "source": {"id": "cnbc", "name": "CNBC"},
                "title": "b",
                "url": "https://x/b",
                "publishedAt": GOOD,
            },
        ],
    }
    p = tmp_path / "newsapi.json"
    p.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    arts = signals.read_articles(p)
    assert sorted(arts["title"]) == ["a", "b"] and sorted(arts["source"]) == ["CNBC", "Reuters"]
    lst = tmp_path / "list.jsonl"  # a JSON list despite the name
    lst.write_text(json.dumps(doc["articles"], indent=1), encoding="utf-8")
    assert len(signals.read_articles(lst)) == 2
    one = tmp_path / "one.json"
    one.write_text(json.dumps(doc["articles"][0], indent=2), encoding="utf-8")
    assert len(signals.read_articles(one)) == 1
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(doc, indent=2)[:-3], encoding="utf-8")
    with pytest.raises(InputFormatError, match=r"broken\.json: invalid JSON document at line \d+"):
        signals.read_articles(broken)
    jl = tmp_path / "lines.json"
    jl.write_text("\n".join(json.dumps(a) for a in doc["articles"]) + "\n[1]\n{oops\n", encoding="utf-8")
    arts, rej = signals.read_articles(jl, errors="collect")
    assert len(arts) == 2 and dict(zip(rej["row"], rej["reason"])) == {3: "not_an_object", 4: "invalid_json"}
    _identity(arts, rej)


def _write(p, rows):
    pd.DataFrame(rows).to_csv(p, index=False)
    return p


def test_one_ledger_over_paths_globs_and_folders(tmp_path):
    d = tmp_path / "news"
    d.mkdir()
    a = _write(d / "a.csv", {"published": [GOOD] * 3, "title": ["x", "y", "z"], "url": ["u1", "u2", "u3"]})
    _write(d / "b.csv", {"published": [GOOD, "bad"], "title": ["x2", "w"], "url": ["u1", "u4"]})
    (d / "prices.csv").write_text("date_only,close\n2025-01-01,1.0\n", encoding="utf-8")  # not news
    (d / "c.jsonl").write_bytes(b"\xff\xfe\x00garbage\x00\xd8")  # undecodable
    # the same files through a folder, a quoted glob and a path: each row counted once
    arts, rej = signals.read_articles([d, str(d / "*.csv"), a], errors="collect")
    led = _identity(arts, rej)
    assert led.iloc[-1]["rows_in"] == 3 + 2 + 1 + 1
    assert sorted(arts["url"]) == ["u1", "u2", "u3"]  # u4 has a bad timestamp
    by = led.set_index("origin")
    assert by.loc[str(d / "prices.csv"), "status"] == "unreadable"
    assert by.loc[str(d / "a.csv"), "kept"] + by.loc[str(d / "b.csv"), "duplicates"] == 3 + 1
    files = rej[rej["reason"] == "unreadable_file"]
    assert set(files["origin"]) == {str(d / "prices.csv"), str(d / "c.jsonl")}
    assert files["row"].isna().all() and (files["field"] == "(file)").all()
    assert files.set_index("origin").loc[str(d / "prices.csv"), "value"].startswith(str(d / "prices.csv"))
    assert rej.set_index("reason").loc["unparseable_timestamp", "value"] == "bad"
    # alone, the stray file is an error naming it and the flag that fixes it
    with pytest.raises(InputFormatError, match=r"prices\.csv: no timestamp column.*--published-column"):
        signals.read_articles(d / "prices.csv")


def test_rows_add_up_on_every_real_file_read_together(shared_data):
    news = shared_data / "news"
    arts, rej = signals.read_articles([news, str(news / "*.csv")], errors="collect", tz="America/New_York")
    led = _identity(arts, rej)
    assert len(led) - 1 == len([p for p in news.rglob("*") if p.suffix in (".csv", ".jsonl", ".xml")])
    assert (led.iloc[:-1]["status"] == "ok").all()


def test_messages_name_cli_flags(tmp_path):
    p = _write(tmp_path / "n.csv", {"when": [GOOD], "headline": ["x"]})
    with pytest.raises(InputFormatError, match=re.escape("--published-column")):
        signals.read_articles(p)
    assert len(signals.read_articles(p, published="when")) == 1
    naive = _write(tmp_path / "v.csv", {"published": ["2025-05-02 10:00"], "title": ["x"]})
    with pytest.raises(InputFormatError, match=r"v\.csv row 1: published='2025-05-02 10:00'.*--tz"):
        signals.read_articles(naive)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text(max_size=12),
            st.sampled_from(
                ['{"a": 1}', " {} ", "[1]", "1 2", '{"a":', "\ufeff{}", "{}x", '"s"', "\t{}\r", "{}\u3000"]
            ),
        ),
        max_size=6,
    )
)
def test_jsonl_lines_accepted_exactly_as_json_loads(lines):
    from signals._normalise import ReadOptions
    from signals._readers import _Columns, _json_lines

    acc = _Columns(ReadOptions())
    _json_lines("\n".join(lines), acc)
    want_ok, want_bad = [], []
    for i, line in enumerate("\n".join(lines).split("\n"), 1):
        if not line.strip(" \t\r\n"):
            continue
        try:
            json.loads(line)
            want_ok.append(i)
        except json.JSONDecodeError:
            want_bad.append(i)
    got_bad = sorted(r for r, _, why in acc.bad if why == "invalid_json")
    assert got_bad == want_bad
    assert sorted(acc.rows + [r for r, _, why in acc.bad if why == "not_an_object"]) == want_ok


def test_parquet_with_a_year_nanoseconds_cannot_hold_is_a_row_reject(tmp_path):
    p = tmp_path / "far.parquet"
    ts = pd.to_datetime(["2025-05-02 01:50:00", "3000-01-01 00:00:00"]).as_unit("s").tz_localize("UTC")
    pd.DataFrame({"published": ts, "title": ["a", "b"], "url": ["u1", "u2"]}).to_parquet(p)
    arts, rej = signals.read_articles(p, errors="collect")
    assert arts["url"].tolist() == ["u1"]
    assert rej[["row", "field", "reason"]].values.tolist() == [[2, "published", "out_of_range"]]


def test_semicolon_csv_from_european_excel(tmp_path):
    p = tmp_path / "eu.csv"
    p.write_bytes("published;title;url\n2025-05-02T09:00:00+02:00;Zinsen, Anleihen;u1\n".encode("cp1252"))
    arts = signals.read_articles(p)
    assert arts["title"].tolist() == ["Zinsen, Anleihen"]
    assert arts["published"].tolist() == [pd.Timestamp("2025-05-02 07:00", tz="UTC")]


def test_every_timestamp_reject_names_file_row_field_and_raw_value(tmp_path):
    cases = [
        ("2025-05-02 10:00", "naive_timestamp"),
        ("2025-05-02", "date_only_without_tz"),
        ("garbage", "unparseable_timestamp"),
        ("", "missing_timestamp"),
        ("2024-03-10 02:30 ET", "nonexistent_or_ambiguous_local_time"),
        ("2025-05-02 09:00 XYZ", "unknown_tz_abbreviation"),
        ("Fri, 02 May 2025 10:50:00 +0900 (EST)", "conflicting_tz_offset"),
        ("2099-01-01T00:00:00Z", "out_of_range"),
        ("1746150600", "epoch_not_declared"),
        (GOOD, "empty_row"),
    ]
    p = tmp_path / "all.csv"
    rows = [{"when": v, "title": f"t{i}", "url": f"u{i}"} for i, (v, _) in enumerate(cases)]
    rows[-1].update(title="", url="")
    rows.append({"when": GOOD, "title": "kept", "url": "k"})
    pd.DataFrame(rows).to_csv(p, index=False)
    arts, rej = signals.read_articles(p, published="when", errors="collect")
    assert arts["title"].tolist() == ["kept"]
    got = rej.set_index("row")
    for i, (value, reason) in enumerate(cases, 1):
        r = got.loc[i]
        assert (r["origin"], r["reason"]) == (str(p), reason)
        if reason == "empty_row":
            assert r["field"] == "title/body/url"
        else:
            assert (r["field"], r["value"]) == ("when", value)
    _identity(arts, rej)
