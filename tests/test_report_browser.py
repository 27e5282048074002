"""The HTML report in a real headless browser (Debian's chromium, driven through chromedriver): no console
errors, the filters change what is shown, a cell opens its details. Screenshots are written as test
artifacts to reports/artifacts/ (``CONFORMANCE_ARTIFACTS`` overrides); with ``CONFORMANCE_UPDATE_SCREENSHOT=1``
the one with a cell open also becomes the README's docs/report.png."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from support.browser import find_browser, headless_chromium
from support.replay import ROOT, replay_once

pytestmark = pytest.mark.skipif(
    find_browser() is None,
    reason="chromium and chromedriver are not installed: apt-get install -y chromium chromium-driver")

ARTIFACTS = Path(os.environ.get("CONFORMANCE_ARTIFACTS") or ROOT / "reports" / "artifacts")


def visible_cells(browser) -> int:
    return browser.run("return [...document.querySelectorAll('#matrix td.cell')].filter("
                       "td => td.offsetParent !== null && !td.classList.contains('filtered')).length")


def visible_columns(browser) -> list[str]:
    return browser.run("return [...document.querySelectorAll('#matrix thead th[data-col]')].filter("
                       "th => th.offsetParent !== null).map(th => th.dataset.col)")


def untick(browser, name: str, value: str) -> None:
    browser.click(f'#filters input[name="{name}"][value="{value}"]')


def severe(entries: list[dict]) -> list[dict]:
    return [e for e in entries if e.get("level") in ("SEVERE", "ERROR")]


def test_the_report_page_filters_and_opens_cells(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    page = replay_once(tmp_path_factory, "all") / "matrix.html"  # what `conformance run` writes
    with headless_chromium(tmp_path / "profile") as browser:
        browser.open(page.as_uri())
        assert severe(browser.console()) == []
        total = browser.run("return JSON.parse(document.getElementById('report-data').textContent).cells.length")
        assert visible_cells(browser) == total > 0
        assert browser.run("return document.getElementById('shown').textContent").startswith(f"Showing {total} of")
        browser.screenshot(ARTIFACTS / "report-top.png")

        # verdict filter: without `pass`, no pass cell is shown, fewer cells are
        passes = browser.run("return document.querySelectorAll('#matrix td.cell[data-verdict=pass]').length")
        untick(browser, "verdict", "pass")
        assert visible_cells(browser) == total - passes
        assert browser.run("return [...document.querySelectorAll('#matrix td.cell[data-verdict=pass]')].every("
                           "td => td.offsetParent === null || td.classList.contains('filtered'))")
        # API filter: without `responses`, only chat columns remain
        untick(browser, "api", "responses")
        columns = browser.run("return JSON.parse(document.getElementById('report-data').textContent).columns")
        assert {columns[int(c)]["api"] for c in visible_columns(browser)} == {"chat"}
        # target filter: one target fewer, its columns are gone
        first = columns[0]["target"]
        untick(browser, "target", first)
        assert first not in {columns[int(c)]["target"] for c in visible_columns(browser)}
        # capability filter: a capability's rows disappear
        untick(browser, "capability", "errors")
        assert browser.run("return [...document.querySelectorAll('#matrix tbody tr[data-capability=errors]')]"
                           ".every(tr => tr.offsetParent === null)")
        narrowed = visible_cells(browser)
        assert 0 < narrowed < total - passes
        browser.click("#reset")
        assert visible_cells(browser) == total

        # a cell opens its details: root cause first, the claim, the exchanges from the cassette
        assert browser.run("return document.getElementById('details').hidden") is True
        browser.run("document.getElementById('matrix').scrollIntoView()")
        browser.click("#matrix td.cell.v-fail button")
        details = browser.run("return document.getElementById('details').innerText")
        assert browser.run("return document.getElementById('details').hidden") is False
        assert "Root cause" in details or "Findings of the case's checks" in details
        assert "OpenAI documents" in details and "request" in details and "response" in details
        assert browser.run("return document.querySelectorAll('#details pre').length") >= 2
        shot = browser.screenshot(ARTIFACTS / "report-cell.png")
        browser.run("document.dispatchEvent(new KeyboardEvent('keydown', {key: 'Escape'}))")
        assert browser.run("return document.getElementById('details').hidden") is True

        # the README's picture: filters, the grid's first columns, the leftmost failing cell open
        browser.resize(1600, 1000)
        browser.run("document.getElementById('filters').scrollIntoView();"
                    "[...document.querySelectorAll('#matrix td.cell.v-fail')]"
                    ".sort((a, b) => a.dataset.col - b.dataset.col)[0].querySelector('button').click();"
                    "document.getElementById('filters').scrollIntoView()")
        picture = browser.screenshot(ARTIFACTS / "report.png")
        assert severe(browser.console()) == []
    assert shot.stat().st_size > 10_000 and picture.stat().st_size > 10_000
    if os.environ.get("CONFORMANCE_UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(picture, ROOT / "docs" / "report.png")
