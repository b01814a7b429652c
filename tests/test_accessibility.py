"""axe-core (shipped inside axe-playwright-python, no download) on every page: no serious or
critical violation. Guards the repairs in assets/a11y.js."""
from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe

from indicators import vocabulary as vocab

PAGES = ["/", "/data", "/sources", *[f"/{f}" for f in vocab.FAMILIES]]


@pytest.fixture(scope="module")
def axe():
    return Axe()


@pytest.mark.parametrize("path", PAGES)
def test_no_serious_accessibility_violation(server, page, axe, path):
    page.goto(server + path)
    page.wait_for_selector("h1")
    page.wait_for_load_state("networkidle")
    violations = [v for v in axe.run(page).response["violations"] if v["impact"] in ("serious", "critical")]
    assert not violations, [(v["id"], v["nodes"][0]["target"], v["help"]) for v in violations]


def test_keyboard_reaches_the_filters_and_a_chart_alternative(server, page):
    page.goto(server + "/fatalities")
    page.wait_for_selector(".chart-block .main-svg")
    reached = set()
    for _ in range(60):
        page.keyboard.press("Tab")
        reached.add(page.evaluate("document.activeElement.type || document.activeElement.tagName"))
    assert {"checkbox", "number", "SUMMARY", "A"} <= reached, reached
