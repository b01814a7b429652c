"""Briefing note (page and PDF), the Chinese interface, and "as of" dates, in Chromium."""
from __future__ import annotations

import io
import unicodedata
from urllib.parse import parse_qs, urlparse

import sqlalchemy as sa

from tests.browser import click_point


def _quote_of(engine, obs_id: int) -> tuple[str, str]:
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT o.quote, s.cite_as || ', ' || o.locator FROM observations o "
                                   "JOIN sources s USING (source_id) WHERE obs_id = :i"), {"i": obs_id}).one()
    return row[0], row[1]


def test_every_number_on_the_brief_is_footnoted_to_its_curated_citation(server, page, console_errors, engine):
    page.goto(server + "/brief?asof=2023-09-30")
    page.wait_for_selector("#brief-page")
    refs = page.locator(".brief-page .fn-ref")
    assert refs.count() >= 5  # at least one per default family
    for ref in refs.all():
        n = ref.get_attribute("data-fn")
        quote, citation = _quote_of(engine, int(ref.get_attribute("data-obs-id")))
        footnote = page.locator(f"#brief-fn-{n}").inner_text()
        assert footnote.startswith(citation) and quote in footnote
    assert not console_errors


def test_brief_pdf_is_one_page_with_the_footnotes(server, page):
    from pypdf import PdfReader
    response = page.request.get(server + "/brief.pdf?asof=2023-09-30")
    assert response.ok and response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == 'attachment; filename="briefing-note_as-of-2023-09-30.pdf"'
    reader = PdfReader(io.BytesIO(response.body()))
    assert len(reader.pages) == 1
    text = unicodedata.normalize("NFKC", reader.pages[0].extract_text())  # "ﬁ" ligatures
    assert "briefing note" in text and "S/2023/646, figure II" in text


def test_brief_as_of_hides_values_published_later(server, page):
    page.goto(server + "/brief?asof=2019-01-01")
    page.wait_for_selector("#brief-page")
    text = page.inner_text("#brief-page")
    assert "A/73/480" in text  # October 2018
    assert "S/2023/646" not in text and "A/79/553" not in text


def test_as_of_2019_hides_later_values_everywhere(server, page, engine):
    page.goto(server + "/data?asof=2019-01-01")
    page.wait_for_selector("#data-table")
    with engine.connect() as conn:
        known = conn.execute(sa.text("SELECT count(*) FROM observations WHERE source_id = 'a-73-480'")).scalar()
    assert page.inner_text("#data-count") == f"{known} rows"
    page.goto(server + "/fatalities?asof=2019-01-01")
    page.wait_for_selector(".chart-block .main-svg")
    assert "S/2023/646" not in page.inner_text(".charts")
    assert "asof=2019-01-01" in page.locator("#site-nav a").first.get_attribute("href")


def test_switching_to_chinese_keeps_the_view(server, page, console_errors):
    page.goto(server + "/fatalities?ind=fatalities_malicious_acts")
    page.wait_for_selector(".chart-block .main-svg")
    click_point(page, 0, -1)
    page.locator(".source-panel .source-item").first.wait_for()
    before = page.url
    quote = page.locator(".source-panel .quote").first.inner_text()
    page.click("#site-lang")
    page.wait_for_url("**lang=zh**")
    page.locator(".source-panel .source-item").first.wait_for()
    assert page.inner_text("h1") == "按原因分列的死亡人数"
    assert page.get_attribute("html", "lang") == "zh-Hans"
    assert "提供者" in page.inner_text(".source-panel")
    assert page.locator(".source-panel .quote").first.inner_text() == quote  # same selection
    kept = parse_qs(urlparse(page.url).query)
    assert kept.pop("lang") == ["zh"] and kept == parse_qs(urlparse(before).query)  # the rest kept
    page.click("#site-lang")
    page.wait_for_function("!location.search.includes('lang=zh')")
    page.locator(".source-panel .source-item").first.wait_for()
    assert page.inner_text("h1") == "Fatalities by cause"
    assert not console_errors
