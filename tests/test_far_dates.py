"""Any day an address can name (0001-01-01 to 9999-12-31) works on every route: a day still
to come shows the latest values and says so, a day before any report shows none; never a
500, a file cut after its header, or a blank page (issue 11, finding 6). Real server,
real Chromium, the files read back."""
from __future__ import annotations

import csv
import io
import json
import urllib.error
import urllib.request

import pytest
from openpyxl import load_workbook

FAR_FUTURE = "asof=9999-12-31&since=9999-12-31"
FAR_PAST = "asof=0001-01-01&since=0001-01-01"
# One page of each layout: each has date logic of its own (the overview's latest values and
# headline series, the Data page's filters, the Sources page's per-report counts, the note's
# "since" list, the Updates page's files). The eight family pages share one layout, whose only
# date logic is handing the view's day to the query (tested at both far ends, for the whole
# store, in test_query_bounds_by_the_end_of_any_day): two of them are walked, /fatalities (its
# cumulative totals drawn apart) and /cpas (monthly values, the family the drop folder feeds).
# test_browser_walk.py draws every page, in both languages, today and as of a past day.
PAGES = ["/", "/fatalities", "/cpas", "/data", "/sources", "/brief", "/updates"]


def _get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=120) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def _rows(ext: str, body: bytes) -> int:
    if ext == "csv":
        text = body.decode("utf-8")
        assert text.startswith("\ufeff") and text.endswith("\r\n")
        return len(list(csv.DictReader(io.StringIO(text[1:]))))
    if ext == "json":
        data = json.loads(body)
        assert data["count"] == len(data["rows"])
        return data["count"]
    sheet = load_workbook(io.BytesIO(body), read_only=True)["observations"]
    return sum(1 for _ in sheet.iter_rows(min_row=2))


@pytest.mark.parametrize("ext", ["csv", "json", "xlsx"])
def test_far_dates_in_downloads_give_whole_files(server, ext):
    status, body = _get(f"{server}/download/observations.{ext}")
    assert status == 200
    today = _rows(ext, body)
    assert today > 200
    for query, expected in ((FAR_FUTURE, today), ("asof=9999-12-30", today), ("since=9999-12-31", today),
                            ("since=0001-01-01", today), (FAR_PAST, 0), ("asof=0001-01-01&family=women", 0)):
        status, body = _get(f"{server}/download/observations.{ext}?{query}")
        assert status == 200, (query, body[:300])
        assert _rows(ext, body) == expected, query


def test_far_dates_in_the_pdf_route_are_not_a_crash(server):
    # The PDF needs Chromium on the server; whatever it answers, the date itself is no 500.
    status, body = _get(f"{server}/brief.pdf?asof=9999-12-31&since=9999-12-31")
    assert status in (200, 503), body[:300]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_far_dates_draw_every_page(server, page, console_errors, lang):
    suffix = "&lang=zh" if lang == "zh" else ""
    for path in PAGES:
        page.goto(f"{server}{path}?{suffix.lstrip('&')}")
        page.locator("#_pages_content h1").first.wait_for()
        page.wait_for_load_state("networkidle")
        today_lede = page.locator("#_pages_content p").first.inner_text()
        for query in (FAR_FUTURE, FAR_PAST):
            page.goto(f"{server}{path}?{query}{suffix}")
            heading = page.locator("#_pages_content h1").first
            heading.wait_for(timeout=30_000)
            page.wait_for_load_state("networkidle")
            assert heading.inner_text().strip(), (path, query)
            statement = page.locator("#site-asof-statement").inner_text()
            if query == FAR_FUTURE:
                assert ("a day still to come" in statement) if lang == "en" else ("尚未到来" in statement)
                assert ("31 Dec 9999" in statement) if lang == "en" else ("9999年12月31日" in statement)
                # the latest values: the same count of values as the page without a date
                assert page.locator("#_pages_content p").first.inner_text() == today_lede, path
            else:
                assert ("1 Jan 0001" in statement) if lang == "en" else ("0001年1月1日" in statement)
                if path == "/":  # an empty overview says why, not a bare heading over nothing
                    said = page.locator("#_pages_content p.message").inner_text()
                    assert ("No value had been published by this day" in said) if lang == "en" \
                        else ("截至该日尚无任何已发布的数值" in said)
            assert not page.locator("#page-failed").count(), (path, query)
    assert not console_errors


def test_far_since_on_the_briefing_note_says_nothing_was_published(server, page):
    page.goto(f"{server}/brief?{FAR_FUTURE}")
    since = page.locator("section#brief-since")
    since.wait_for()
    assert "Nothing was published or revised between 31 Dec 9999 and 31 Dec 9999" in since.inner_text()
    page.goto(f"{server}/brief?since=0001-01-01")
    page.locator("section#brief-since").wait_for()
    assert "values published or revised between 1 Jan 0001 and" in page.locator("section#brief-since").inner_text()


def test_query_bounds_by_the_end_of_any_day(any_served_read_only):
    from datetime import date

    from data.selection import Filters
    from indicators import query, updates
    latest = query.observations(Filters())
    assert len(query.observations(Filters(as_of=date.max))) == len(latest)
    assert query.observations(Filters(as_of=date.min)).empty
    assert updates.published_between(date.max, date.max).empty
    assert len(updates.published_between(date.min, date.max)) >= len(latest)


def test_a_page_whose_layout_fails_says_so_instead_of_going_blank():
    """The class of the blank pages: any page layout that raises is drawn as a message."""
    from dash import html

    from app import _never_blank

    def broken(**query):
        raise OverflowError("date value out of range")

    registry = {"p": {"layout": broken, "path": "/p"}, "q": {"layout": html.Div("static"), "path": "/q"}}
    _never_blank(registry)
    for lang, title in (("en", "This page could not be drawn"), ("zh", "无法显示本页")):
        drawn = registry["p"]["layout"](lang=lang)
        assert drawn.id == "page-failed" and drawn.role == "alert"
        assert drawn.children[0].children == title
        assert "server's log" in drawn.children[1].children or "服务器日志" in drawn.children[1].children
    assert registry["q"]["layout"].children == "static"  # a fixed layout is left as it is
