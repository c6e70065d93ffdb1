"""The wheel carries every shipped file a non-editable install needs (demo from an empty folder)."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_wheel_contains_package_data(tmp_path):
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(REPO),
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    (whl,) = tmp_path.glob("newsbt-*.whl")
    names = set(zipfile.ZipFile(whl).namelist())
    for f in (
        "signals/_data/news/sample_articles.jsonl",
        "signals/_data/themes/default.toml",
        "backtests/_data/market/snapshot.json",
        "backtests/_data/market/ust_h15.csv.gz",
        "backtests/_data/market/jgb_mof.csv.gz",
        "backtests/_data/market/usdjpy_h10.csv.gz",
        "backtests/_data/market/mof_fx_interventions_daily.csv.gz",
        "backtests/_data/configs/demo.toml",
        "backtests/templates/report.html.j2",
        "backtests/templates/report.md.j2",
        "backtests/examples/notebook.py",
    ):
        assert f in names, f
    assert not any(n.startswith(("tests/", "data/cache")) for n in names)
    size = sum(i.file_size for i in zipfile.ZipFile(whl).infolist() if "/_data/market/" in i.filename)
    assert size < 1_000_000  # the market snapshot stays well under 1 MB
    ep = next(n for n in names if n.endswith("entry_points.txt"))
    assert "newsbt = backtests.cli:main" in zipfile.ZipFile(whl).read(ep).decode()
