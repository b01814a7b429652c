"""Walk every page of the site in Chromium, in English and Chinese, today and as of a
meeting date, with and without a selection, and read what a reader would read: no `nan`,
`None`, `undefined`, no raw id from the store, no Python repr, no markup, no file name, no
empty "Note:" label. The briefing note's PDF is read the same way, through its extracted
text, and every figure in it must keep its digits apart from its footnote marker.

Family pages and the Updates page are other developers' work (issue 13): where the walk
finds a problem there, the case is an expected failure naming the problem (KNOWN), so the
walk still fails on anything new.
"""
from __future__ import annotations

import io
import re
import unicodedata

import pytest
import sqlalchemy as sa

from data import vocabulary as vocab

ASOF = "2023-09-30"

# Page, and the query that gives it a selection (None: the page has none to make).
PAGES = {
    "/": None,
    **{f"/{family}": "sel=2022-01-01/2023-08-31" for family in vocab.FAMILIES},
    "/data": "family=fatalities&q=%E6%81%B6%E6%84%8F",  # q=恶意
    "/sources": None,
    "/brief": "area=MINUSCA&since=2023-01-01",
    "/updates": None,
}

# Problems the walk finds on pages whose fix has not landed yet: {path: reason}, each case
# xfail with its reason (strict: a fixed page fails until its entry is removed). The family pages' break notes (issue 13 items 1-4) were fixed on the
# charts branch: no known problem is left.
KNOWN: dict[str, str] = {}


def _cases():
    for path, selection in PAGES.items():
        for lang in ("en", "zh"):
            variants = [("today", ""), ("as-of", f"asof={ASOF}")]
            if selection:
                variants.append(("as-of+selection", f"asof={ASOF}&{selection}"))
            for name, q in variants:
                query = "&".join(p for p in (q, "lang=zh" if lang == "zh" else "") if p)
                url = path + (f"?{query}" if query else "")
                marks = [pytest.mark.xfail(reason=KNOWN[path], strict=True)] if path in KNOWN else []
                yield pytest.param(url, lang, id=f"{path}-{lang}-{name}", marks=marks)


@pytest.fixture(scope="module")
def store_ids(engine) -> set[str]:
    """Every id a reader must never see: indicator, area and source ids that are not words
    (they hold an underscore, or a hyphen and a digit: ``all_pko``, ``a-73-480``). Mission
    acronyms such as MINUSMA are how the reports name missions, so they may appear."""
    with engine.connect() as conn:
        ids = set()
        for sql in ("SELECT indicator_id FROM indicators", "SELECT area_id FROM areas",
                    "SELECT source_id FROM sources"):
            ids.update(r[0] for r in conn.execute(sa.text(sql)))
    return {i for i in ids if "_" in i or re.search(r"-\d", i)}


_WORDS = re.compile(r"(?<![\w.])(nan|NaN|None|undefined|null|NaT|<NA>)(?![\w.])")
_REPRS = re.compile(r"Timestamp\(|datetime\.|np\.float|numpy\.|dtype|\{'|'\}|\[np\.|Series\(|object at 0x")
_MARKUP = re.compile(r"\d\^[0-9a-z]|</?[a-z]+>|\*\*[A-Za-z]|&[a-z]+;")
_FILES = re.compile(r"\b[\w-]+\.(?:csv|md|py|txt|json|duckdb)\b|CURATION")
_EMPTY_LABEL = re.compile(r"(?:Note|注)[:：]\s*(?:\n|$)")


def problems(text: str, ids: set[str]) -> list[str]:
    """What a reader would have to decode in ``text``."""
    found = [f"word {m.group(0)!r} in …{text[max(0, m.start() - 40):m.end() + 20]!r}…" for m in _WORDS.finditer(text)]
    found += [f"repr {m.group(0)!r} in …{text[max(0, m.start() - 40):m.end() + 20]!r}…" for m in _REPRS.finditer(text)]
    found += [f"markup {m.group(0)!r} in …{text[max(0, m.start() - 40):m.end() + 20]!r}…"
              for m in _MARKUP.finditer(text)]
    found += [f"file name {m.group(0)!r} in …{text[max(0, m.start() - 40):m.end() + 20]!r}…"
              for m in _FILES.finditer(text)]
    found += [f"empty label in …{text[max(0, m.start() - 40):m.end() + 5]!r}…" for m in _EMPTY_LABEL.finditer(text)]
    tokens = set(re.findall(r"[A-Za-z0-9][A-Za-z0-9_\-]*[A-Za-z0-9]", text))
    found += [f"raw id {i!r}" for i in sorted(tokens & ids)]
    return found


def test_the_checks_catch_what_they_are_for():
    ids = {"all_pko", "a-73-480"}
    for bad in ("Break in series: nan", "value None", "undefined", "area all_pko", "A a-73-480 x",
                "Timestamp('2023-01-01')", "para 168^a", "per CURATION.md", "Note:\nnext", "备注 注：",
                "{'a': 1}"):
        assert problems(bad, ids), bad
    for good in ("MINUSMA", "7 [1] (January to 29 August 2023)", "Nonetheless", "nanometre", "para 168ᵃ",
                 "Note: stated as a range", "Download CSV"):
        assert not problems(good, ids), good


@pytest.fixture(scope="module")
def walk_page(browser, browser_context_args):
    """One browser tab for the whole walk. Each case still navigates to its own address and
    reads the page it draws; what carries over from case to case is the HTTP cache (the
    site's scripts, a few MB, fetched and compiled once instead of once a case), and nothing
    else: the site keeps no view state in the browser (no cookies, no local or session
    storage; every view is in its address)."""
    context = browser.new_context(**browser_context_args)
    yield context.new_page()
    context.close()


def _rendered_text(page) -> str:
    """The page's text as a reader can reach it: every collapsed section opened."""
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    return page.inner_text("body")


@pytest.mark.parametrize("url,lang", list(_cases()))
def test_every_page_reads_without_decoding(server, walk_page, store_ids, url, lang):
    page = walk_page
    page.set_viewport_size({"width": 1400, "height": 1000})
    response = page.goto(server + url)
    assert response.ok
    page.wait_for_selector("main h1")
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)
    assert page.get_attribute("html", "lang") == ("zh-Hans" if lang == "zh" else "en")
    text = _rendered_text(page)
    assert not problems(text, store_ids), f"{url}: {problems(text, store_ids)}"
    if "asof=" in url and url.split("?")[0] != "/updates":
        day = "2023年9月30日" if lang == "zh" else "30 Sept 2023"
        assert day in text, f"{url} does not state the as-of date in force"


def _pdf_text(page, server, query: str) -> str:
    from pypdf import PdfReader
    response = page.request.get(server + "/brief.pdf" + query)
    assert response.ok and response.headers["content-type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(response.body()))
    return unicodedata.normalize("NFKC", "\n".join(p.extract_text() for p in reader.pages))


# Each query is a note of its own, printed by a Chromium of its own (5-7 s each). The note as
# of a day without "since" is not printed here: it is the note with "since" minus its last
# section (the same family blocks, in the same order, with the same markers: the "since"
# list's footnotes are numbered after theirs), so the two "since" notes check every figure it
# has, in each language; tests/test_pdf.py prints it on its own too, in both languages.
@pytest.mark.parametrize("query", [f"?asof={ASOF}&area=MINUSMA", f"?asof={ASOF}&since=2023-01-01",
                                   f"?asof={ASOF}&since=2023-01-01&lang=zh", ""])
def test_brief_pdf_text_keeps_every_figure_apart_from_its_marker(server, walk_page, store_ids, query):
    """Each figure on the note is followed by its marker "[n]" in the PDF's text: "7 [1]",
    never "71"; and the PDF's text has nothing to decode."""
    page = walk_page
    page.goto(server + "/brief" + query)
    page.wait_for_selector("#brief-page")
    figures = page.evaluate("""() => [...document.querySelectorAll('#brief-page .fn-ref')].map(ref => {
        const prev = ref.previousSibling && ref.previousSibling.previousSibling;  // value, " ", marker
        const value = ref.parentElement.tagName === 'TD' ? ref.parentElement.querySelector('strong').innerText
                      : (prev && prev.nodeType === 1 ? prev.innerText : (prev ? prev.textContent : ''));
        return [value, ref.innerText];
    })""")
    assert figures or "MINUSMA" in query
    text = _pdf_text(page, server, query)
    flat = re.sub(r"\s+", "", text)
    for value, marker in figures:
        if not value.strip():
            continue
        assert re.search(r"(?<!\d)" + re.escape(re.sub(r"\s+", "", unicodedata.normalize("NFKC", value))) + re.escape(marker), flat), \
            f"{value} {marker} not intact in the PDF text of {query}"
    assert not problems(text, store_ids), problems(text, store_ids)
    if "MINUSMA" in query:
        assert text.count("state no value") == 1 and "No values in the reports" not in text
