"""The notebook-style example runs end to end (offline) and its objects render in Jupyter."""

from __future__ import annotations

import runpy


def test_notebook_example_runs():
    ns = runpy.run_module("backtests.examples.notebook", run_name="__main__")
    study, bt = ns["study"], ns["bt"]
    assert len(study.pairs) > 0
    html = study._repr_html_()
    assert "<table" in html
    assert "<table" in bt._repr_html_()
    assert ns["fig"].axes
