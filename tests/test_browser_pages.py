"""Overview, Data and Sources pages in a real Chromium."""
from __future__ import annotations

import csv
import io

import sqlalchemy as sa


def test_overview_answers_the_briefing_question(server, page, console_errors, engine):
    """How many uniformed peacekeepers were killed by malicious acts in January–August 2023,
    and where does that number come from? The fatalities tile says it."""
    page.goto(server + "/")
    tile = page.locator("#overview-tile-fatalities")
    tile.wait_for()
    with engine.connect() as conn:
        row = conn.execute(sa.text(
            "SELECT o.value, o.period_label, o.locator, o.quote, s.cite_as FROM observations o "
            "JOIN sources s USING (source_id) WHERE indicator_id = 'fatalities_malicious_acts' "
            "AND span_class = 'partial' ORDER BY period_end DESC LIMIT 1")).one()
    text = tile.inner_text()
    assert f"{row.value:,.0f}" in text and row.period_label in text
    assert f"{row.cite_as}, {row.locator}" in text and row.quote not in text  # the sentence is one click away
    tile.locator(".tile-quote summary").click()
    assert row.quote in tile.inner_text()
    assert "against" in text  # the change against the previous comparable value
    tile.locator("a.tile-link").click()
    page.wait_for_url(server + "/fatalities?ind=fatalities_malicious_acts")
    assert not console_errors


def test_every_overview_tile_links_to_its_family_page(server, page):
    page.goto(server + "/")
    page.locator(".tile").first.wait_for()
    for tile in page.locator(".tile").all():
        family = tile.get_attribute("id").removeprefix("overview-tile-")
        indicator = tile.get_attribute("data-indicator")
        assert tile.locator("a.tile-link").get_attribute("href") == f"/{family}?ind={indicator}"
        assert tile.locator(".tile-citation").inner_text().startswith("Source: ")


def test_data_page_filters_and_downloads_the_same_rows(server, page, console_errors, engine):
    page.goto(server + "/data")
    page.wait_for_selector("#data-table")
    with engine.connect() as conn:
        total = conn.execute(sa.text("SELECT count(*) FROM observations")).scalar()
        women = conn.execute(sa.text("SELECT count(*) FROM observations JOIN indicators USING "
                                     "(indicator_id) WHERE family = 'women'")).scalar()
    assert page.inner_text("#data-count") == f"{total} rows"
    page.get_by_label("Women in peacekeeping").check()
    page.wait_for_function(f"document.querySelector('#data-count').innerText === '{women} rows'")
    page.wait_for_function("location.search.includes('family=women')")
    href = page.get_attribute("#data-download", "href")
    text = page.request.get(server + href).body().decode("utf-8")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert len(rows) == women and {r["family"] for r in rows} == {"women"}
    # The permalink reproduces the filtered table.
    other = page.context.new_page()
    other.goto(page.url)
    other.wait_for_selector("#data-table")
    assert other.inner_text("#data-count") == f"{women} rows"
    page.fill("#data-text", "维和")
    page.press("#data-text", "Enter")
    page.wait_for_function("new URL(location.href).searchParams.get('q') === '维和'")
    assert not console_errors


def test_sources_page_lists_every_report_with_its_values(server, page, console_errors, engine):
    page.goto(server + "/sources")
    page.wait_for_selector(".source-report")
    with engine.connect() as conn:
        counts = dict(conn.execute(sa.text("SELECT source_id, count(*) FROM observations GROUP BY 1")).all())
    reports = page.locator(".source-report")
    assert reports.count() == len(counts)
    for report in reports.all():
        source_id = report.locator("h2").get_attribute("id").removeprefix("sources-")
        assert report.locator(".count").inner_text().startswith(f"{counts[source_id]} values")
        href = report.locator("a.download").get_attribute("href")
        text = page.request.get(server + href).body().decode("utf-8")
        assert len(list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))) == counts[source_id]
    assert "not confirmed" in page.inner_text("main")  # the Working Group report has no symbol
    assert not console_errors


def test_assets_are_served_locally(server, page):
    """Works offline: every script and style comes from the app itself."""
    requested = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(server + "/fatalities")
    page.wait_for_selector(".chart-block .main-svg")
    assert requested and all(u.startswith(server) for u in requested), \
        [u for u in requested if not u.startswith(server)]
    assert page.get_attribute("html", "lang") == "en"
