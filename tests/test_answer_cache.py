"""Callback answers kept per data version (callbacks/cache.py), on a real DuckDB store: an
answer is reused only while the data it was computed on is served, and a new snapshot (what a
build or an intake publishes) is answered afresh."""
from __future__ import annotations

import shutil

import pytest
import sqlalchemy as sa

from callbacks.cache import per_data_version
from data.engine import data_version
from data.store import new_snapshot, writer_lock


@pytest.fixture
def served(tmp_path, store, monkeypatch):
    """A private copy of the curated store, served as the dashboard's own."""
    path = tmp_path / "pkpi.duckdb"
    shutil.copyfile(store, path)
    monkeypatch.setenv("PKPI_DB", str(path))
    return path


def publish_version(path, version: str) -> None:
    """Publish a new snapshot whose only change is its data version, as an intake would."""
    with writer_lock(path), new_snapshot(path, copy_current=True) as engine:
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE meta SET value = :v WHERE key = 'data_version'"), {"v": version})


def test_an_answer_is_reused_until_the_data_changes(served):
    calls = []

    @per_data_version(limit=8)
    def answer(view):
        calls.append(view)
        return {"view": view, "version": data_version()}

    first = answer("a")
    assert answer("a") == first and calls == ["a"]  # the second call did not compute
    assert answer("b")["view"] == "b" and calls == ["a", "b"]
    assert answer.cache.hits == 1 and answer.cache.misses == 2

    publish_version(served, "after-intake")
    again = answer("a")
    assert calls == ["a", "b", "a"], "a new data version must be answered afresh"
    assert again["version"] == "after-intake" and first["version"] != "after-intake"
    assert len(answer.cache) == 1  # the old version's answers were dropped, not kept beside


def test_least_recently_used_answers_go_first_and_the_bound_holds(served):
    calls = []

    @per_data_version(limit=3)
    def answer(view):
        calls.append(view)
        return [view]

    for view in ("a", "b", "c"):
        answer(view)
    answer("a")  # "a" is now the most recent; "b" the least
    answer("d")  # evicts "b"
    assert len(answer.cache) == 3
    calls.clear()
    answer("a"), answer("c"), answer("d")
    assert calls == []
    answer("b")
    assert calls == ["b"]


def test_error_answers_and_exceptions_are_not_kept(served):
    from dash.exceptions import PreventUpdate
    outcome = {"fail": True}
    calls = []

    @per_data_version(keep=lambda answer: not answer.startswith("error"), limit=8)
    def answer(view):
        calls.append(view)
        if view == "prevent":
            raise PreventUpdate
        return "error: store busy" if outcome["fail"] else f"chart of {view}"

    assert answer("x") == "error: store busy"
    outcome["fail"] = False
    assert answer("x") == "chart of x", "a transient error must not stick until the next version"
    for _ in range(2):
        with pytest.raises(PreventUpdate):
            answer("prevent")
    assert calls == ["x", "x", "prevent", "prevent"]


def test_the_cache_can_be_turned_off(served, monkeypatch):
    monkeypatch.setenv("PKPI_ANSWER_CACHE", "0")
    calls = []

    @per_data_version()
    def answer(view):
        calls.append(view)
        return [view]

    answer("a"), answer("a")
    assert calls == ["a", "a"]


def test_an_answer_asked_for_again_is_sent_as_the_same_json(served):
    """From the second time on an answer is kept as plain JSON data: Dash must send exactly
    the bytes it sent for the components (numbers, dates, missing values, Chinese text)."""
    from datetime import date

    from dash import dcc, html
    from dash._utils import to_json

    @per_data_version(limit=8)
    def answer(view):
        fig = {"data": [{"type": "scatter", "x": [date(2020, 1, 31), date(2021, 12, 31)],
                         "y": [1.5, float("nan")], "customdata": [[7, "七"], [8, None]]}],
               "layout": {"title": {"text": "死亡人数 – 2020"}}}
        return ([html.Figure([dcc.Graph(id={"role": "chart", "family": "f"}, figure=fig),
                              html.P(["0.1 + 0.2 = ", 0.1 + 0.2])])], [], f"?ind={view}", view)

    first = [to_json(part) for part in answer("x")]
    for _ in range(3):
        again = answer("x")
        assert [to_json(part) for part in again] == first
    assert answer.cache.hits == 3
    assert isinstance(again[0][0], dict) and again[0][0]["type"] == "Figure"  # plain data now
