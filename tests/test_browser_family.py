"""Family pages in a real Chromium: linked selection, source panel, permalinks, downloads."""
from __future__ import annotations

import csv
import io
from urllib.parse import parse_qs, urlparse

import pytest
import sqlalchemy as sa

from data import vocabulary as vocab
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
    # the address bar is written just after the panel is drawn: wait for the clicked value in it
    page.wait_for_function("new URL(location.href).searchParams.has('pt')")
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
        ".filter(t => t.customdata)"  # the bars showing each value's span carry no value of their own
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


def test_clicked_value_is_listed_first(server, page, console_errors, engine):
    """Issue 13: clicking "7" (January to 29 August 2023) opened the panel with 1,067 (since
    1948) and 331 (since 2013), whose periods also overlap; the clicked value must lead."""
    page.goto(f"{server}/fatalities?ind=fatalities_malicious_acts")
    page.wait_for_selector(".chart-block .main-svg")
    with engine.connect() as conn:
        seven = conn.execute(sa.text("SELECT obs_id FROM observations WHERE indicator_id = "
                                     "'fatalities_malicious_acts' AND value = 7")).scalar()
        overlapping = conn.execute(sa.text(
            "SELECT count(*) FROM observations WHERE indicator_id = 'fatalities_malicious_acts' "
            "AND period_end >= DATE '2023-01-01' AND (period_start IS NULL OR period_start <= DATE '2023-08-29')"
        )).scalar()
    assert overlapping >= 3  # the clicked value and the two totals
    click_point(page, 0, -1)  # the latest Jan-Aug value: 7
    page.wait_for_function(f"document.querySelector('.source-panel .source-item')?.dataset.obsId === '{seven}'")
    items = page.locator(".source-panel .source-item")
    assert items.count() == overlapping
    assert "clicked" in items.first.get_attribute("class")
    assert f"pt={seven}" in page.url  # the permalink keeps it first
    other = [items.nth(i).get_attribute("data-obs-id") for i in range(1, items.count())]
    assert str(seven) not in other
    assert not console_errors


def test_small_multiples_share_the_selection(server, page, console_errors, engine):
    """/cpas draws 80,000 data points and 71 assessments in separate panels; dragging across
    the lowest panel selects the period on the whole chart and lists every panel's values."""
    page.goto(f"{server}/cpas")
    page.wait_for_selector(".chart-block .main-svg")
    block = page.locator(".chart-block").first
    panels = block.locator(".nsewdrag")
    assert panels.count() >= 2
    ticks = block.locator(".xaxislayer-above text").all_text_contents()
    assert ticks and not any(":" in t for t in ticks)
    area = panels.nth(panels.count() - 1)
    area.scroll_into_view_if_needed()
    box = area.bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + 2, y)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] / 2, y, steps=5)
    page.mouse.move(box["x"] + box["width"] - 2, y, steps=5)
    page.mouse.up()
    page.wait_for_function("new URL(location.href).searchParams.has('sel')")
    page.locator(".source-panel .source-item").first.wait_for()
    shown = {page.locator(".source-panel .source-item h3").nth(i).inner_text()
             for i in range(page.locator(".source-panel .source-item").count())}
    assert {"CPAS data points", "CPAS impact assessments"} <= shown
    block.locator(".shapelayer path").first.wait_for(state="attached")
    assert not console_errors


def test_chinese_charts_use_the_zh_locale(server, page, console_errors):
    page.goto(f"{server}/fatalities?lang=zh")
    page.wait_for_selector(".chart-block .main-svg")
    assert page.evaluate("document.querySelector('.js-plotly-plot')._context.locale") == "zh-CN"
    # the locale is really registered: Plotly's own words (the mode bar) are in Chinese
    titles = page.evaluate("[...document.querySelectorAll('.chart-block .modebar-btn')].map(b => b.dataset.title)")
    assert "自动缩放" in titles or "重置轴" in titles, titles
    ticks = page.locator(".chart-block").first.locator(".xaxislayer-above text").all_text_contents()
    assert ticks and all(t.endswith("年") for t in ticks), ticks
    assert not console_errors
