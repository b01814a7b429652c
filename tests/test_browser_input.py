"""Bad input on pages, in Chromium against the real server: unknown addresses, page URLs
with mistakes, and dates typed into "As of"."""
from __future__ import annotations

import urllib.request

import pytest


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=60) as r:
            return r.status
    except urllib.error.HTTPError as e:
        return e.code


@pytest.mark.parametrize("path, status", [("/", 200), ("/fatalities", 200), ("/data", 200), ("/nope", 404),
                                          ("/fatalities/extra", 404), ("/not-found", 404),
                                          ("/download/observations.csv?asof=notadate", 400)])
def test_status_of_a_plain_get(server, path, status):
    assert _status(server + path) == status


def test_unknown_page_is_404_with_the_site_navigation(server, page):
    response = page.goto(server + "/no-such-page?lang=zh")
    assert response.status == 404
    page.wait_for_selector("#not-found")
    assert page.locator("h1").inner_text() == "未找到页面"
    nav = page.locator("#site-nav a")
    assert nav.count() >= 10 and "未找到" not in page.locator("#site-nav").inner_text()
    assert nav.first.get_attribute("href") == "/?lang=zh"


def test_page_url_mistakes_are_shown_and_the_rest_of_the_view_kept(server, page):
    page.goto(server + "/data?area=MINUSMA&asof=2023-09-31&from=abc&family=women")
    problems = page.locator("#site-problems")
    problems.wait_for()
    text = problems.inner_text()
    assert "asof: '2023-09-31' is not a day of the calendar; expected a date YYYY-MM-DD" in text
    assert "from: 'abc' is not a year" in text
    # the rest of the view: the family and the area are applied
    page.wait_for_selector("#data-table")
    assert page.locator("#data-family input:checked").get_attribute("value") == "women"
    assert page.locator("#data-areas input:checked").get_attribute("value") == "MINUSMA"
    assert "Latest: this page shows every value published up to today" in page.locator("#site-status").inner_text()


def test_every_page_states_the_as_of_date(server, page):
    for path in ("/", "/women", "/data", "/sources", "/brief", "/updates"):
        page.goto(server + path + "?asof=2023-09-30")
        statement = page.locator("#site-asof-statement")
        statement.wait_for()
        assert statement.inner_text() == "As of 30 Sept 2023: this page shows only what had been published by then."
    page.goto(server + "/sources?asof=2023-09-30")
    link = page.locator("a.download").first.get_attribute("href")
    assert "asof=2023-09-30" in link  # the Sources CSV had lost the date


@pytest.mark.parametrize("typed, message", [
    ("30/09/2023", "asof: '30/09/2023' is not a date; expected a date YYYY-MM-DD, for example 2023-09-30"),
    ("2023-9-30", "asof: '2023-9-30' is not a date; expected a date YYYY-MM-DD, for example 2023-09-30"),
    ("2023-09-31", "asof: '2023-09-31' is not a day of the calendar; expected a date YYYY-MM-DD, "
                   "for example 2023-09-30"),
])
def test_mistyped_as_of_is_refused_and_nothing_changes(server, page, typed, message):
    page.goto(server + "/brief?asof=2023-06-30")
    page.wait_for_selector("#brief-page")
    def note():  # the text of the note (not the sparklines' axes, drawn a moment later)
        return [page.locator(sel).all_inner_texts() for sel in (".brief-scope", ".brief-text", ".brief-footnotes")]
    before = note()
    box = page.locator("#site-asof")
    box.fill(typed)
    box.press("Enter")
    shown = page.locator("#site-asof-message")
    shown.wait_for(state="visible")
    assert shown.inner_text() == message
    page.wait_for_timeout(500)
    assert page.url == server + "/brief?asof=2023-06-30"
    assert note() == before and "30 Jun 2023" in before[0][0]
    assert "30 Jun 2023" in page.locator("#site-asof-statement").inner_text()


def test_a_typed_good_date_and_the_calendar_both_apply(server, page):
    page.goto(server + "/data")
    page.wait_for_selector("#data-table")
    box = page.locator("#site-asof")
    box.fill("2023-09-30")
    box.press("Enter")
    page.wait_for_url("**/data?asof=2023-09-30")
    page.wait_for_selector("#site-asof-statement")
    picker = page.locator("#site-asof-picker")
    assert picker.input_value() == "2023-09-30"
    assert picker.get_attribute("aria-label") == "Pick the as-of date from a calendar"
    picker.fill("2019-01-01")  # what choosing a day in the calendar does
    page.wait_for_url("**/data?asof=2019-01-01")


def test_the_refusal_is_accessible(server, page):
    from axe_playwright_python.sync_playwright import Axe
    page.goto(server + "/data")
    page.wait_for_selector("#data-table")
    page.locator("#site-asof").fill("2023-02-30")
    page.locator("#site-asof").press("Enter")
    page.locator("#site-asof-message").wait_for(state="visible")
    assert page.locator("#site-asof-message").get_attribute("role") == "status"
    violations = [v for v in Axe().run(page).response["violations"] if v["impact"] in ("serious", "critical")]
    assert not violations, [(v["id"], v["nodes"][0]["target"], v["help"]) for v in violations]


def test_a_family_page_given_another_family(server, page):
    """Once a crash (the page's family was given twice); now the page says so and draws."""
    page.goto(server + "/fatalities?family=women&lang=zh")
    problems = page.locator("#site-problems")
    problems.wait_for()
    assert "family：“women”不是本页的指标类别" in problems.inner_text()
    page.wait_for_selector(".family-page h1")
    assert page.locator(".family-page h1").inner_text() == "按原因分列的死亡人数"

