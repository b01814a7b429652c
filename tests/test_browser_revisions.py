"""A revised value in the dashboard: marked on the chart, its history in the source panel,
and the original still shown "as of" a date before the revision (issues 5 and 6)."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from data.dropbox import process
from data.engine import reader
from tests.conftest import start_server
from tests.intake_helpers import new_home, obs, workbook


@pytest.fixture(scope="module")
def revised_server(tmp_path_factory, store):
    home = new_home(tmp_path_factory.mktemp("revised"), store)
    with reader(home / "pkpi.duckdb").connect() as conn:
        row = conn.execute(sa.text(
            "SELECT indicator_id, area, period, value, source_id, locator, quote, obs_id FROM observations "
            "WHERE indicator_id = 'fatalities_malicious_acts' AND span_class = 'partial' "
            "ORDER BY period_end DESC LIMIT 1")).one()
    drop = home / "dropbox" / "inbox" / "fix.xlsx"
    workbook(drop, [obs(indicator_id=row.indicator_id, area=row.area, period=row.period, value=row.value + 1,
                        source_id=row.source_id, locator=row.locator, quote=row.quote, revision="yes")],
             sources=(), indicators=())
    import os
    previous = os.environ.get("PKPI_HOME")
    os.environ["PKPI_HOME"] = str(home)
    try:
        assert process(drop).status == "accepted"
    finally:
        if previous is None:
            os.environ.pop("PKPI_HOME")
        else:
            os.environ["PKPI_HOME"] = previous
    proc, url, _log = start_server(home)
    yield url, row
    proc.terminate()
    proc.wait(timeout=10)


def test_revised_value_is_marked_and_its_history_shown(revised_server, page):
    url, row = revised_server
    page.goto(f"{url}/fatalities?ind=fatalities_malicious_acts&sel=2023-01-01/2023-08-29")
    item = page.locator(".source-panel .source-item", has=page.locator(".revision-history")).first
    item.wait_for()
    page.wait_for_selector(".chart-block .main-svg")
    history = item.locator(".revision-history").inner_text()
    assert "1 earlier value" in history and f"{row.value:,.0f}" in history and row.quote in history
    texts = page.evaluate("() => document.querySelector('.chart-block .js-plotly-plot').data"
                          ".flatMap(t => t.text || [])")
    assert "revised" in texts


def test_as_of_before_the_revision_shows_the_original(revised_server, page):
    url, row = revised_server
    page.goto(f"{url}/fatalities?ind=fatalities_malicious_acts&sel=2023-01-01/2023-08-29&asof=2023-09-30")
    page.locator(".source-panel .source-item").first.wait_for()
    page.wait_for_selector(".chart-block .main-svg")
    assert page.locator(".revision-history").count() == 0
    values = page.evaluate("() => document.querySelector('.chart-block .js-plotly-plot').data.flatMap(t => t.y)")
    assert row.value in values and row.value + 1 not in values
