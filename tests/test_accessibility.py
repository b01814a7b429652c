"""axe-core (shipped inside axe-playwright-python, no download) on every page: no serious or
critical violation. Guards the repairs in assets/a11y.js."""
from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe

from data import vocabulary as vocab

PAGES = ["/", "/data", "/sources", "/brief", "/updates", "/updates?lang=zh", "/?lang=zh", "/fatalities?lang=zh",
         "/no-such-page?lang=zh", "/data?asof=2023-09-31&from=abc", *[f"/{f}" for f in vocab.FAMILIES]]


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


def test_keyboard_alone_selects_a_value_and_reads_its_source(server, page, engine):
    """Tab to a chart's data table, open it, press "Show sources": the panel fills, as a
    click on the point would."""
    import sqlalchemy as sa

    page.goto(server + "/fatalities?ind=fatalities_malicious_acts")
    page.wait_for_selector(".chart-block .main-svg")
    reached = []
    for _ in range(200):
        page.keyboard.press("Tab")
        tag = page.evaluate("document.activeElement.tagName")
        reached.append(page.evaluate("document.activeElement.type || document.activeElement.tagName"))
        if tag == "SUMMARY":
            break
    assert {"checkbox", "number"} <= set(reached) and reached[-1] == "SUMMARY", reached
    page.keyboard.press("Enter")  # opens the text summary and data table
    for _ in range(50):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.innerText") == "Show sources":
            break
    assert page.evaluate("document.activeElement.tagName") == "A"  # a link: the view with its period selected
    page.keyboard.press("Enter")
    item = page.locator(".source-panel .source-item").first
    item.wait_for()
    with engine.connect() as conn:
        quote = conn.execute(sa.text("SELECT quote FROM observations WHERE obs_id = :i"),
                             {"i": int(item.get_attribute("data-obs-id"))}).scalar_one()
    assert item.locator(".quote").inner_text() == quote
