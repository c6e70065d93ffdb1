"""Size limits of the library code (issue 17): modules <= 800 lines, functions <= 100 lines.

Checked over every ``.py`` file of ``signals/`` and ``backtests/`` with :mod:`ast` (a function's
length runs from its ``def`` line to its last line, docstring and nested functions included).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("signals", "backtests")
MAX_MODULE_LINES = 800
MAX_FUNCTION_LINES = 100


def _modules() -> list[Path]:
    return sorted(p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py"))


def _long_functions(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            n = node.end_lineno - node.lineno + 1
            if n > MAX_FUNCTION_LINES:
                out.append((f"{node.name} (line {node.lineno})", n))
    return out


def test_the_packages_are_found():
    assert len(_modules()) > 10


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_module_and_function_sizes(path: Path):
    n_lines = len(path.read_text(encoding="utf-8").splitlines())
    problems = []
    if n_lines > MAX_MODULE_LINES:
        problems.append(f"module has {n_lines} lines (limit {MAX_MODULE_LINES}): split it")
    problems += [f"{name}: {n} lines (limit {MAX_FUNCTION_LINES})" for name, n in _long_functions(path)]
    assert not problems, f"{path.relative_to(ROOT)}: " + "; ".join(problems)


def test_long_function_detection_can_fail(tmp_path):
    f = tmp_path / "m.py"
    f.write_text("def f():\n" + "    x = 1\n" * 120)
    assert _long_functions(f) == [("f (line 1)", 121)]
