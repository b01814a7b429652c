"""One walk through the dashboard served from PostgreSQL (issue 16), in a real Chromium.

The curated store is built into a throwaway PostgreSQL database with ``manage.py build`` and
``PKPI_DATABASE_URL`` (as an operator would), a real ``python app.py`` serves it, and the
walk reads what a briefing officer and an analyst read: the Overview, a family page (the
values on its chart, and the quote the source panel shows for a clicked point) and the Data
page (its count and its CSV download). Each must be what the DuckDB server (``server``, built
from the same curated files) shows for the same address, and the quote and the count what
the PostgreSQL database holds.
"""
from __future__ import annotations

import csv
import io
import os
import subprocess
import sys

import pytest
import sqlalchemy as sa

from data import schema
from tests.browser import click_point
from tests.conftest import REPO, start_server

OVERVIEW = "/"
FAMILY = "/fatalities?ind=fatalities_malicious_acts"
DATA = "/data?family=women"


@pytest.fixture
def pg_server(pg_empty, tmp_path):
    built = subprocess.run([sys.executable, "manage.py", "build"], cwd=REPO, capture_output=True, text=True,
                           timeout=600, env={**os.environ, "PKPI_DATABASE_URL": pg_empty,
                                             "PKPI_HOME": str(tmp_path / "build")})
    assert built.returncode == 0, built.stderr
    proc, url, log = start_server(tmp_path / "home", {"PKPI_DATABASE_URL": pg_empty, "PKPI_WATCH": "0"})
    try:
        yield url, pg_empty
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert "Traceback" not in log.read_text()
    assert not (tmp_path / "home" / "pkpi.duckdb").exists(), "the PostgreSQL server wrote a DuckDB store"


_CHARTS = "Array.from(document.querySelectorAll('#_pages_content .js-plotly-plot'))"


def _charts_drawn(page) -> list:
    """Once every chart on the page is drawn (its axes are text the page shows): each
    chart's traces as [name, x, y]."""
    page.wait_for_function(f"{_CHARTS}.length > 0 && {_CHARTS}.every(g => g.querySelector('.main-svg'))")
    return page.evaluate(f"{_CHARTS}.map(g => g.data.map(t => [t.name, Array.from(t.x || []), "
                         f"Array.from(t.y || [])]))")


def _walk(page, base: str) -> dict:
    """What the three pages show at ``base``: texts, chart values, the clicked quote, the CSV."""
    seen = {}
    page.goto(base + OVERVIEW)
    page.locator("#overview-tile-fatalities").wait_for()
    seen["overview charts"] = _charts_drawn(page)
    seen["overview"] = page.inner_text("#_pages_content")
    seen["fatalities tile"] = page.inner_text("#overview-tile-fatalities")

    page.goto(base + FAMILY)
    page.wait_for_selector(".chart-block .main-svg")
    seen["chart values"] = _charts_drawn(page)
    click_point(page, 0, -1)  # the latest value of the first chart (hover, then click)
    item = page.locator(".source-panel .source-item").first
    item.wait_for()
    seen["obs_id"] = int(item.get_attribute("data-obs-id"))
    seen["quote"] = item.locator(".quote").inner_text()
    seen["source item"] = item.inner_text()

    page.goto(base + DATA)
    page.wait_for_selector("#data-table")
    seen["count"] = page.inner_text("#data-count")
    href = page.get_attribute("#data-download", "href")
    assert "family=women" in href
    seen["csv"] = page.request.get(base + href).body()
    return seen


def test_postgres_server_shows_what_the_duckdb_server_shows(server, pg_server, page, console_errors):
    pg_url, database = pg_server
    page.set_viewport_size({"width": 1400, "height": 1000})
    on_pg = _walk(page, pg_url)
    on_duckdb = _walk(page, server)

    # The PostgreSQL server's pages hold the database's values...
    from data.stores import open_store
    o, i = schema.observations, schema.indicators
    with open_store(database).reader() as r:
        row = r.rows(sa.select(o.c.indicator_id, o.c.quote, o.c.locator).where(o.c.obs_id == on_pg["obs_id"]))[0]
        women = r.rows(sa.select(sa.func.count()).select_from(o.join(i, o.c.indicator_id == i.c.indicator_id))
                       .where(i.c.family == "women"))[0][0]
    assert row.indicator_id == "fatalities_malicious_acts"
    assert on_pg["quote"] == row.quote and row.locator in on_pg["source item"]
    assert women > 10 and on_pg["count"] == f"{women} rows"
    rows = list(csv.DictReader(io.StringIO(on_pg["csv"].decode("utf-8").lstrip("\ufeff"))))
    assert len(rows) == women and {r["family"] for r in rows} == {"women"}
    assert any(values for chart in on_pg["chart values"] for _name, _x, values in chart)
    assert "fatalities" in on_pg["overview"].lower() and on_pg["fatalities tile"].strip()

    # ... and are, text for text and byte for byte, what the DuckDB server shows.
    for what in on_pg:
        assert on_pg[what] == on_duckdb[what], f"{what} differs between the PostgreSQL and DuckDB servers"
    assert not console_errors
