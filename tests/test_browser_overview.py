"""The served dashboard in a real Chromium."""
from __future__ import annotations

import sqlalchemy as sa


def test_overview_lists_indicators_with_citations(server, page, console_errors, engine):
    page.goto(server + "/")
    page.wait_for_selector(".indicator-table")
    text = page.inner_text("main")
    with engine.connect() as conn:
        quote, locator = conn.execute(sa.text(
            "SELECT quote, locator FROM observations WHERE indicator_id = 'fatalities_malicious_acts' "
            "ORDER BY period_end DESC LIMIT 1")).one()
    assert quote in text and locator in text
    assert not console_errors
