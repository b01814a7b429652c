"""A search past what it takes (8 words, 200 characters) is cut, and now said so, in the
reader's language, on the Data page and above any page; a download asked for with such a
search is refused rather than answering other rows than were asked for (issue 11)."""
from __future__ import annotations

import urllib.error
import urllib.request

from indicators.view import View

TEN_WORDS = "peacekeepers killed by malicious acts in all operations during the period"


def test_the_view_says_what_of_a_long_search_is_searched():
    view = View.from_query({"q": TEN_WORDS})
    assert view.text == "peacekeepers killed by malicious acts in all operations"
    assert [p.param for p in view.problems] == ["q"]
    assert 'only "peacekeepers killed by malicious acts in all operations" is searched' in view.problems[0].text()
    assert "最多 8 个词、200 个字符" in view.problems[0].text("zh")
    long = View.from_query({"q": "恶" * 250})
    assert long.text == "恶" * 200 and long.problems
    assert not View.from_query({"q": "恶意 行为 women"}).problems  # within bounds: nothing said


def test_a_download_with_a_cut_search_is_a_400(server):
    try:
        urllib.request.urlopen(f"{server}/download/observations.csv?q=" + TEN_WORDS.replace(" ", "+"), timeout=60)
        raise AssertionError("answered 200")
    except urllib.error.HTTPError as e:
        assert e.code == 400
        assert "q: '" in e.read().decode()


def test_the_data_page_says_when_the_search_is_cut(server, page):
    for lang, said in (("en", 'only "peacekeepers killed by malicious acts in all operations" is searched'),
                       ("zh", "只搜索“peacekeepers killed by malicious acts in all operations”")):
        page.goto(f"{server}/data" + ("?lang=zh" if lang == "zh" else ""))
        box = page.locator("#data-text")
        box.wait_for()
        box.fill(TEN_WORDS)
        box.press("Enter")
        count = page.locator("#data-count")
        count.get_by_text(said).wait_for()
        page.screenshot(path=f"/tmp/pkpi-search-cut-{lang}.png")
        # and above the page when the address carries it
        page.goto(f"{server}/data?q=" + TEN_WORDS.replace(" ", "+") + ("&lang=zh" if lang == "zh" else ""))
        page.locator("#site-problems").get_by_text(said).wait_for()
