"""Family pages in a real Chromium: linked selection, source panel, permalinks, downloads."""
from __future__ import annotations

import csv
import io
from urllib.parse import parse_qs, urlparse

import pytest
import sqlalchemy as sa

from indicators import vocabulary as vocab
from tests.browser import click_point, drag_across


def _families_with_data(engine) -> list[str]:
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(sa.text(
            "SELECT DISTINCT family FROM indicators JOIN observations USING (indicator_id) ORDER BY 1"))]


@pytest.mark.parametrize("family", list(vocab.FAMILIES))
def test_every_family_page_renders(server, page, console_errors, engine, family):
    page.goto(f"{server}/{family}")
    page.wait_for_selector("h1")
    assert page.inner_text("h1") == vocab.FAMILIES[family].name_en
    if family in _families_with_data(engine):
        page.wait_for_selector(".chart-block .main-svg")
        assert "Sources:" in page.inner_text(".chart-block figcaption")
    assert "Traceback" not in page.content()
    assert not console_errors


def test_click_fills_source_panel_with_the_curated_quote(server, page, console_errors, engine):
    page.goto(f"{server}/fatalities?ind=fatalities_malicious_acts")
    page.wait_for_selector(".chart-block .main-svg")
    click_point(page, 0, -1)
    item = page.locator(".source-panel .source-item").first
    item.wait_for()
    obs_id = int(item.get_attribute("data-obs-id"))
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT quote, locator, indicator_id FROM observations WHERE obs_id = :i"),
                           {"i": obs_id}).one()
    assert row.indicator_id == "fatalities_malicious_acts"
    assert item.locator(".quote").inner_text() == row.quote
    assert row.locator in item.inner_text()
    assert "sel=" in page.url
    assert not console_errors


def test_range_selection_highlights_the_period_in_every_chart(server, page, engine):
    page.goto(f"{server}/fatalities")
    page.wait_for_selector(".chart-block .main-svg")
    charts = page.locator(".chart-block")
    assert charts.count() >= 2, "the default fatalities view should show several charts"
    drag_across(page, 0, 0.05, 0.6)
    page.wait_for_function("new URL(location.href).searchParams.has('sel')")
    page.wait_for_selector(".source-panel h2:has-text('Sources for')")
    for i in range(charts.count()):  # every chart shades the selected period
        charts.nth(i).locator(".shapelayer path").first.wait_for(state="attached")
    sel = parse_qs(urlparse(page.url).query)["sel"][0]
    start, end = sel.split("/")
    with engine.connect() as conn:
        expected = conn.execute(sa.text(
            "SELECT count(*) FROM observations JOIN indicators USING (indicator_id) "
            "WHERE family = 'fatalities' AND indicator_id IN :ids AND period_end >= :s "
            "AND (period_start IS NULL OR period_start <= :e)").bindparams(sa.bindparam("ids", expanding=True)),
            {"ids": parse_qs(urlparse(page.url).query)["ind"][0].split(","), "s": start, "e": end}).scalar()
    assert page.locator(".source-panel .source-item").count() == expected


def test_permalink_round_trips(server, page, browser):
    page.goto(f"{server}/fatalities?ind=fatalities_malicious_acts")
    page.wait_for_selector(".chart-block .main-svg")
    click_point(page, 0, 0)
    page.locator(".source-panel .source-item").first.wait_for()
    url, panel = page.url, page.inner_text(".source-panel")
    other = browser.new_page()
    other.goto(url)
    other.locator(".source-panel .source-item").first.wait_for()
    assert other.inner_text(".source-panel") == panel
    other.locator(".chart-block .shapelayer path").first.wait_for(state="attached")
    other.close()


def test_chart_download_is_exactly_the_charted_points(server, page, engine):
    page.goto(f"{server}/fatalities")
    page.wait_for_selector(".chart-block .main-svg")
    block = page.locator(".chart-block").first
    plotted = page.evaluate(
        "() => document.querySelector('.chart-block .js-plotly-plot').data"
        ".flatMap(t => t.customdata.map((c, i) => [Array.isArray(c) ? c[0] : c, t.y[i]]))")
    with page.expect_download() as info:
        block.locator("a.download").click()
    download = info.value
    assert download.suggested_filename.startswith("fatalities-count_")
    text = open(download.path(), encoding="utf-8").read()
    assert text.startswith("\ufeffindicator_id,indicator_name,family,")
    rows = list(csv.DictReader(io.StringIO(text[1:])))
    assert len(rows) == len(plotted) == block.locator(".text-alternative tbody tr").count()
    with engine.connect() as conn:
        curated = {r.obs_id: r for r in conn.execute(sa.text(
            "SELECT o.obs_id, o.value, o.quote, o.locator FROM observations o"))}
    by_quote = {(r["quote"], r["locator"], float(r["value"])) for r in rows}
    assert by_quote == {(curated[i].quote, curated[i].locator, curated[i].value) for i, _ in plotted}
    assert sorted(float(r["value"]) for r in rows) == sorted(v for _, v in plotted)
