"""Overview and briefing note as a busy reader uses them (issue 13), in Chromium."""
from __future__ import annotations

from urllib.parse import parse_qs, urlparse


def test_overview_is_tiles_first_and_the_list_collapsed(server, page):
    page.set_viewport_size({"width": 1400, "height": 1000})
    page.goto(server + "/?asof=2023-09-30")
    page.wait_for_selector(".tile")
    # The first screen is tiles; the full list is closed until a family is opened.
    assert page.locator(".tile").first.bounding_box()["y"] < 400
    assert page.locator("details.family-list").count() >= 5
    assert page.locator("details.family-list[open]").count() == 0
    assert not page.locator(".indicator-table").first.is_visible()
    height = page.evaluate("document.body.scrollHeight")
    assert height < 4 * 1000, f"overview is {height}px: more than four screens"
    page.locator("details.family-list summary").first.click()
    assert page.locator(".indicator-table").first.is_visible()


def test_a_tile_opens_its_family_with_the_headline_selected(server, page):
    page.goto(server + "/?asof=2023-09-30&lang=zh")
    page.wait_for_selector("#overview-tile-environment")
    tile = page.locator("#overview-tile-environment")
    href = tile.locator("a.tile-link").get_attribute("href")
    q = parse_qs(urlparse(href).query)
    assert urlparse(href).path == "/environment"
    assert q == {"ind": ["env_ghg_emissions_per_capita"], "asof": ["2023-09-30"], "lang": ["zh"]}
    tile.locator("a.tile-link").click()
    page.wait_for_url("**/environment?**")
    page.wait_for_selector(".chart-block")
    checked = page.locator("input[type=checkbox]:checked").evaluate_all("els => els.map(e => e.value)")
    assert "env_ghg_emissions_per_capita" in checked


def test_tile_changes_are_as_stated_or_between_exact_values_only(server, page):
    page.goto(server + "/")
    page.wait_for_selector(".tile")
    change = {t.get_attribute("id").split("-")[-1]: t.locator(".tile-change") for t in page.locator(".tile").all()}
    # The report's own comparison, as it makes it.
    assert change["environment"].inner_text() == \
        "7.5 t CO2e/person/yr (2019-2020 baseline) → 7.3 t CO2e/person/yr, as the report states."
    # Qualified values: both shown, nothing subtracted.
    cpas = change["cpas"].inner_text()
    assert cpas.startswith("more than 35,000 (") and "→ more than 80,000" in cpas and "+" not in cpas
    assert change["capability"].inner_text() == "11% (2014) → nearly 30%, as the report states."
    # Two exact values of the same kind of period: the difference.
    assert change["fatalities"].inner_text() == "−14 against 21 (January to August 2022)."
    assert change["fatalities"].get_attribute("data-comparison") == "difference"


def test_no_one_point_sparklines(server, page):
    page.goto(server + "/brief?asof=2023-09-30")
    page.wait_for_selector("#brief-page .brief-chart .scatterlayer .points path")
    assert page.locator("#brief-page .brief-chart").count() >= 1
    for chart in page.locator("#brief-page .brief-chart").all():
        assert chart.locator(".scatterlayer .points path").count() >= 2
    page.goto(server + "/?asof=2023-09-30")
    page.wait_for_selector(".tile-chart .scatterlayer .points path")
    assert page.locator("#overview-tile-women .tile-chart").count() == 0  # one value: no chart
    for chart in page.locator(".tile-chart").all():
        assert chart.locator(".scatterlayer .points path").count() >= 2


def test_a_scope_without_values_says_so_once(server, page):
    page.goto(server + "/brief?asof=2023-09-30&area=MINUSMA")
    page.wait_for_selector("#brief-page")
    text = page.inner_text("#brief-page")
    assert text.count("state no value") == 1 and "No values in the reports" not in text
    assert "United Nations Multidimensional Integrated Stabilization Mission in Mali (MINUSMA)" in text
    assert page.locator("#brief-page section.brief-family").count() == 0


def test_footnotes_give_the_english_rendering_in_english_only_the_markers_in_brackets(server, page):
    page.goto(server + "/brief?asof=2023-09-30")
    page.wait_for_selector("#brief-page")
    first = page.inner_text("#brief-fn-1")
    assert first.startswith("S/2023/646, figure II, note ** (1 Sept 2023).")
    assert "突出部分显示" in first and "English: The highlighted portion shows 7 fatalities" in first
    assert page.locator(".fn-ref").first.inner_text() == "[1]"
    sentence = page.locator(".brief-sentence").first.inner_text()
    assert sentence.startswith("Uniformed peacekeepers killed by malicious acts: 7 [1] (January to 29 August 2023")


def test_since_lists_what_was_published_after_the_last_briefing(server, page):
    page.goto(server + "/brief?asof=2024-12-31&since=2023-09-30&fam=cpas")
    page.wait_for_selector("#brief-since")
    rows = page.locator("#brief-since tbody tr")
    assert rows.count() >= 3
    points = page.locator("#brief-since tr", has_text="CPAS data points")
    cells = points.locator("td").all_inner_texts()
    assert cells[1].startswith("more than 80,000 [") and cells[4].startswith("more than 35,000 (")
    assert "S/2023/646, para 65" in cells[4] and cells[5] == "25 Oct 2024"
    # The marker's footnote is the 2024 report's entry, quoted.
    n = points.locator(".fn-ref").get_attribute("data-fn")
    assert page.inner_text(f"#brief-fn-{n}").startswith("A/79/553/Add.1, entry on A/78/19 para 94")
    # The date is part of the permalink and the PDF link.
    assert "since=2023-09-30" in page.get_attribute("#brief-pdf", "href")
