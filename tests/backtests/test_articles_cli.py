"""`newsbt events` / `newsbt run` reading articles: flags = config keys = library options, one
ledger, a rejects file next to the output and a count line even with -q."""

from __future__ import annotations

import pandas as pd
import pytest

import signals
from backtests import pipeline
from backtests._articles_cli import config_read_kwargs, rejects_path
from backtests.cli import main
from backtests.config import validate


@pytest.fixture
def news(tmp_path):
    d = tmp_path / "news"
    d.mkdir()
    pd.DataFrame(
        {
            "when": ["2025-05-02 09:00 JST", "2025-05-02 09:30 XYZ", "2025-05-02T10:00:00+09:00"],
            "headline": ["Japan intervenes to support the yen", "Yen jumps", "Yen intervention confirmed"],
            "url": ["https://x/1", "https://x/2", "https://x/3"],
        }
    ).to_csv(d / "a.csv", index=False)
    pd.DataFrame(
        {
            "published": [1746147600, 1746151200],
            "title": ["Treasury yields jump", "Yen slides"],
            "url": ["https://x/3", "https://x/5"],
        }
    ).to_csv(d / "b.csv", index=False)
    return d


def test_events_quoted_glob_flags_rejects_file_and_quiet_count(news, tmp_path, capsys):
    out = tmp_path / "ev.csv"
    code = main(["-q", "events", str(news / "a.csv"), "--published-column", "when", "--title-column", "headline",
                 "-o", str(out)])  # fmt: skip
    assert code == 0
    err = capsys.readouterr().err
    assert "articles: 3 rows in, 2 kept, 1 rejected, 0 duplicates" in err
    rej = pd.read_csv(rejects_path(out))
    assert rej["reason"].tolist() == ["unknown_tz_abbreviation"] and rej["value"].tolist() == [
        "2025-05-02 09:30 XYZ"
    ]
    # a quoted glob (the shell did not expand it) and the same file again: each row counted once
    code = main(["-q", "events", str(news / "b*.csv"), str(news / "b.csv"), "--epoch", "s", "-o", str(out)])
    assert code == 0
    assert "articles: 2 rows in, 2 kept, 0 rejected, 0 duplicates" in capsys.readouterr().err


def test_events_error_names_the_flag(news, capsys):
    assert main(["events", str(news / "b.csv")]) == 0  # epochs not declared: rejected, reported
    err = capsys.readouterr().err
    assert "articles: 2 rows in, 0 kept, 2 rejected, 0 duplicates [epoch_not_declared: 2]" in err
    assert main(["events", str(news / "a.csv")]) == 2
    assert "--published-column" in capsys.readouterr().err


def test_config_keys_match_the_flags_and_run_reads_once(news, tmp_path):
    cfg = validate(
        {
            "articles": {
                "paths": [str(news), str(news / "*.csv"), str(news / "b.csv")],
                "epoch": "s",
                "published_range": ["2000-01-01", "2030-01-01"],
            },
            "market": {"series": ["usdjpy"]},
        }
    )
    kw = config_read_kwargs(cfg["articles"])
    assert kw["epoch"] == "s" and kw["published_range"] == ("2000-01-01", "2030-01-01")
    arts, rej = pipeline._read_articles(cfg)
    st = arts.attrs["newsbt_read"]
    # a.csv has no 'published' column here (no published_column key): one unreadable_file row
    assert st["rows_in"] == 1 + 2 and st["rows_in"] == st["rows_out"] + st["rejected"] + st["duplicates"]
    assert set(rej["reason"]) == {"unreadable_file"}
    direct = signals.read_articles(news / "b.csv", epoch="s")
    assert sorted(arts["article_id"]) == sorted(direct["article_id"])


def test_events_from_files_use_the_given_books_directions(news, tmp_path):
    """`newsbt events FILES --themes BOOK` reports that book's directions (it used the shipped
    book's before), and the library refuses to mix a tagging book with another book's directions."""
    book = tmp_path / "mine.toml"
    book.write_text(
        '[book]\nname = "mine"\nseries = ["usdjpy"]\n'
        "[themes.yen_move]\nphrases = ['yen']\n[themes.yen_move.direction]\nusdjpy = 1\n",
        encoding="utf-8",
    )
    out = tmp_path / "ev.csv"
    code = main(["-q", "events", str(news / "a.csv"), "--published-column", "when", "--title-column", "headline",
                 "--themes", str(book), "-o", str(out)])  # fmt: skip
    assert code == 0
    ev = pd.read_csv(out)
    assert set(ev["theme"]) == {"yen_move"} and (ev["direction_usdjpy"] == 1).all()
    tagged = signals.score_sentiment(
        signals.tag_themes(pd.DataFrame({"article_id": ["a"], "published": [pd.Timestamp("2025-05-02", tz="UTC")],
                                         "title": ["yen slides"]}), themes=book)  # fmt: skip
    )
    with pytest.raises(signals.ConfigError, match="tagged with theme book 'mine'"):
        signals.extract_events(tagged, gap="6h")
    assert (signals.extract_events(tagged, gap="6h", themes=book)["direction_usdjpy"] == 1).all()
