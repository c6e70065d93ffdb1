"""Package layout, errors, CLI basics, README/CI consistency."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

import backtests
import signals
from backtests import cli
from signals import errors

REPO = Path(__file__).resolve().parents[1]


def test_error_family_derives_from_builtins():
    assert issubclass(errors.InputFormatError, ValueError)
    assert issubclass(errors.InputNotFoundError, FileNotFoundError)
    assert issubclass(errors.DataUnavailableError, errors.NewsbtError)
    assert errors.DataUnavailableError.exit_code == 3
    assert errors.ConfigError.exit_code == 2
    assert str(errors.UnknownSeriesError("no series 'x'")) == "no series 'x'"
    assert backtests.NewsbtError is signals.NewsbtError


def test_signals_never_imports_backtests():
    code = "import sys, signals; assert not any(m.startswith('backtests') for m in sys.modules), 'back edge'"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_cli_version_and_help(capsys):
    with pytest.raises(SystemExit) as e:
        cli.build_parser().parse_args(["--version"])
    assert e.value.code == 0
    assert backtests.__version__ in capsys.readouterr().out
    assert cli.main([]) == 0
    assert "newsbt" in capsys.readouterr().out


def test_cli_usage_error_exit_code(capsys):
    assert cli.main(["no-such-command"]) == 2
    assert "invalid choice" in capsys.readouterr().err


def test_cli_error_is_one_line_without_traceback():
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "backtests.cli",
            "study",
            "--events",
            "/nonexistent.csv",
            "--series",
            "ust_10y",
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2, r.stderr
    assert "Traceback" not in r.stderr
    assert r.stderr.strip().count("\n") == 0, r.stderr
    assert "/nonexistent.csv" in r.stderr


def test_readme_quickstart_matches_ci():
    readme = (REPO / "README.md").read_text()
    block = re.search(r"```bash\n(.*?)```", readme, re.S)
    assert block, "README must open with a fenced bash block"
    lines = [ln for ln in block.group(1).splitlines() if ln.strip() and not ln.startswith("#")]
    assert len(lines) == 2, lines
    assert "newsbt demo" in lines[0]
    assert "pytest" in lines[1]
    ci = (REPO / ".ci" / "run").read_text()
    assert "set -euo pipefail" in ci
    assert "README.md" in ci  # .ci/run executes the README's own second line


def test_cli_verbose_shows_the_traceback():
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "backtests.cli",
            "study",
            "-v",
            "--events",
            "/nonexistent.csv",
            "--series",
            "ust_10y",
        ],
        capture_output=True,
        text=True,
    )
    assert r.returncode == 2
    assert "Traceback" in r.stderr and "/nonexistent.csv" in r.stderr
