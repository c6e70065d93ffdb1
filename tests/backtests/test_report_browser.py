"""The demo report in a real browser: headless Chromium (Debian's ``chromium`` and
``chromium-driver``, installed by ``.ci/run``) at 1280 x 800 through Selenium.

Checks what a reader would notice: every image loads, nothing overflows sideways, the table of
contents' anchors resolve, a table sorts when its header is clicked. A full-page screenshot goes to
the test's temp folder (and to ``$NEWSBT_ARTIFACTS`` when set, which ``.ci/run`` keeps on failure).
Outside CI the test skips when no browser is installed; in CI (``CI`` set) it must run.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from backtests.cli import main

WIDTH, HEIGHT = 1280, 800
CHROME_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
)


def _need(what: str) -> None:
    msg = (
        f"{what}: install Debian's chromium and chromium-driver (apt-get install -y chromium chromium-driver)"
    )
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the browser test, but {msg}")
    pytest.skip(msg)


def _tools() -> tuple[str, str]:
    browser = next((shutil.which(b) for b in ("chromium", "chromium-browser") if shutil.which(b)), None)
    driver = shutil.which("chromedriver") or (
        "/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists() else None
    )
    if browser is None or driver is None:
        _need(f"no {'chromium' if browser is None else 'chromedriver'} on PATH")
    try:
        import selenium  # noqa: F401
    except ImportError:
        _need("the selenium package is missing (pip install -e '.[dev]')")
    return browser, driver


@pytest.fixture(scope="module")
def demo_report(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo") / "report"
    assert main(["demo", "--out", str(out), "-q"]) == 0
    return out / "index.html"


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    path, driver_path = _tools()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = path
    for f in CHROME_FLAGS:
        opts.add_argument(f)
    opts.add_argument(f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}")
    opts.add_argument(f"--window-size={WIDTH},{HEIGHT}")
    drv = webdriver.Chrome(options=opts, service=Service(executable_path=driver_path))
    drv.set_page_load_timeout(60)
    try:
        yield drv
    finally:
        drv.quit()


def _screenshot(drv, dest: Path) -> None:
    """Full-page PNG: the viewport stretched to the page height for one capture."""
    h = drv.execute_script("return document.documentElement.scrollHeight")
    drv.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": WIDTH, "height": int(h), "deviceScaleFactor": 1, "mobile": False},
    )
    try:
        dest.write_bytes(drv.get_screenshot_as_png())
    finally:
        drv.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
    art = os.environ.get("NEWSBT_ARTIFACTS")
    if art:
        Path(art).mkdir(parents=True, exist_ok=True)
        shutil.copyfile(dest, Path(art) / dest.name)


def test_demo_report_in_headless_chromium(browser, demo_report, tmp_path):
    drv = browser
    drv.get(demo_report.as_uri())
    assert drv.execute_script("return document.readyState") == "complete"
    shot = tmp_path / "demo_report_full_page.png"
    _screenshot(drv, shot)
    assert shot.stat().st_size > 10_000

    imgs = drv.execute_script(
        "return Array.from(document.images).map(i => [i.alt, i.complete, i.naturalWidth])"
    )
    assert len(imgs) >= 5
    broken = [alt for alt, done, w in imgs if not done or w == 0]
    assert not broken, f"images that did not load: {broken}"

    over = drv.execute_script(
        "return [document.documentElement.scrollWidth, window.innerWidth,"
        " Array.from(document.querySelectorAll('body *')).filter(e => e.getBoundingClientRect().right"
        " > window.innerWidth + 1 && !e.closest('.tw')).map(e => e.tagName + '.' + e.className).slice(0, 5)]"
    )
    assert over[0] <= over[1], (
        f"horizontal overflow: page {over[0]} px wide in a {over[1]} px window: {over[2]}"
    )

    toc = drv.execute_script(
        "return Array.from(document.querySelectorAll('nav.toc a')).map(a => [a.getAttribute('href'),"
        " !!document.getElementById(a.getAttribute('href').slice(1))])"
    )
    assert len(toc) >= 5 and all(ok for _, ok in toc), toc
    assert toc[0][0] == "#verdict"
    last = toc[-1][0]
    drv.find_element("css selector", f"nav.toc a[href='{last}']").click()
    assert drv.execute_script("return window.scrollY") > 0
    assert drv.execute_script("return location.hash") == last


def _column(drv, table_id: str, col: int) -> list[float]:
    return drv.execute_script(
        "const t = document.getElementById(arguments[0]);"
        "return Array.from(t.tBodies[0].rows).map(r => r.cells[arguments[1]].getAttribute('data-v'))"
        ".filter(v => v !== null && v !== '').map(parseFloat)",
        table_id,
        col,
    )


def test_sorting_a_table_in_the_browser(browser, demo_report):
    drv = browser
    drv.get(demo_report.as_uri())
    # the events table: sort by its article count (a numeric column), then back
    tid = "tbl-events"
    heads = drv.execute_script(
        "return Array.from(document.getElementById(arguments[0]).tHead.rows[0].cells).map(c => c.textContent)",
        tid,
    )
    col = heads.index("n_articles")
    before = _column(drv, tid, col)
    assert len(set(before)) > 1 and before != sorted(before)
    th = drv.find_elements("css selector", f"#{tid} th")[col]
    drv.execute_script("arguments[0].scrollIntoView()", th)
    drv.execute_script("arguments[0].click()", th)
    assert _column(drv, tid, col) == sorted(before)
    drv.execute_script("arguments[0].click()", th)
    assert _column(drv, tid, col) == sorted(before, reverse=True)
    # only the first rows stay visible after sorting, the rest wait behind "show all"
    visible = drv.execute_script(
        "return Array.from(document.getElementById(arguments[0]).tBodies[0].rows)"
        ".filter(r => getComputedStyle(r).display !== 'none').length",
        tid,
    )
    assert visible == min(20, len(before))
