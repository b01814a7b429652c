"""A page's own filter boxes: a "to" year before "from" is left out and said, not dropped
silently (the address's mistakes are said above every page by callbacks.shell.status)."""
from __future__ import annotations

from callbacks.shell import filter_problems
from indicators.view import View


def _text(node) -> str:
    children = getattr(node, "children", node)
    if isinstance(children, (list, tuple)):
        return " ".join(_text(c) for c in children)
    return str(children) if children is not None else ""


def test_reversed_years_from_the_boxes_are_said_in_the_readers_language():
    en = filter_problems(View.from_query({"from": 2022, "to": 2018}, "women"))
    assert len(en) == 1 and en[0].role == "alert"
    assert "these filters could not be used" in _text(en[0])
    assert "to: '2018' is before from (2022)" in _text(en[0])
    zh = filter_problems(View.from_query({"from": 2022, "to": 2018, "lang": "zh"}, "women"))
    assert "部分筛选条件无法使用" in _text(zh[0])


def test_good_boxes_say_nothing():
    assert filter_problems(View.from_query({"from": 2018, "to": 2022}, "women")) == []


def test_the_data_page_says_it_beside_the_count(store, monkeypatch):
    monkeypatch.setenv("PKPI_DB", str(store))
    from indicators import query
    query.clear_cache()
    import dash
    if not dash.page_registry:  # the page modules register themselves once an app exists
        import app
        app.create_app()
    import callbacks.data as data_callbacks
    _rows, count, _href, _search = data_callbacks.filter_table.__wrapped__(
        "", "", [], 2022, 2018, {})
    assert "to: '2018' is before from (2022)" in _text(count)
    query.clear_cache()
