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


@pytest.fixture(scope="module")
def audit_page(browser, browser_context_args):
    """One browser tab for every page audited. Each case still loads its own address (a new
    document, axe injected into it afresh); what carries over is the HTTP cache of the site's
    scripts, nothing else: the site keeps no state in the browser (no cookies, no local or
    session storage; every view is in its address)."""
    context = browser.new_context(**browser_context_args)
    yield context.new_page()
    context.close()


# Parts of a page audited by another case, where they are the same: the bad "asof" and "from"
# are set aside with a message, so the Data page's table (284 rows, most of axe's 30 s on that
# page) is the table of "/data", cell for cell; this case audits the rest of the page, the
# messages about the bad input above all.
AUDITED_ELSEWHERE = {"/data?asof=2023-09-31&from=abc": ["#data-table"]}


@pytest.mark.parametrize("path", PAGES)
def test_no_serious_accessibility_violation(server, audit_page, axe, path):
    page = audit_page
    page.goto(server + path)
    page.wait_for_selector("h1")
    page.wait_for_load_state("networkidle")
    skip = AUDITED_ELSEWHERE.get(path)
    context = {"exclude": [[selector] for selector in skip]} if skip else None
    if skip:
        assert all(page.locator(selector).count() == 1 for selector in skip)  # excluded, not missing
    violations = [v for v in axe.run(page, context=context).response["violations"]
                  if v["impact"] in ("serious", "critical")]
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
