"""Issue 15: an intake brings the served table up to date with a delta (the values it added
or superseded) instead of rebuilding it, and the result is row for row what a rebuild gives.
Real drop-folder intakes on a real DuckDB store; the rebuild it is compared with is the
project's own (``schema.refresh_served``) on a copy of the same snapshot."""
from __future__ import annotations

import shutil

import pytest
import sqlalchemy as sa

from data import schema, store as store_module
from data.dropbox import process
from data.engine import make_engine
from tests.intake_helpers import COUNT, SHARE, SOURCE, obs, query as sql, workbook


@pytest.fixture
def home(dropbox_home):
    """This file's tests work in a private PKPI_HOME (conftest.dropbox_home)."""
    return dropbox_home


@pytest.fixture
def delta_results(monkeypatch):
    """What each snapshot's delta said (True: applied; False: a rebuild was needed)."""
    said = []
    real = store_module._update_served

    def recording(conn, before):
        said.append(real(conn, before))
        return said[-1]
    monkeypatch.setattr(store_module, "_update_served", recording)
    return said


def served_rows(path):
    engine = make_engine(path, read_only=True)
    try:
        with engine.connect() as conn:
            cols = ", ".join(f'"{c.name}"' for c in schema.served.columns)
            return conn.exec_driver_sql(f"SELECT {cols} FROM {schema.SERVED} ORDER BY obs_id").all()
    finally:
        engine.dispose()


def rebuilt_rows(path, tmp_path):
    copy = tmp_path / "rebuilt.duckdb"
    shutil.copyfile(path, copy)
    engine = make_engine(copy, read_only=False)
    try:
        with engine.begin() as conn:
            schema.refresh_served(conn)
    finally:
        engine.dispose()
    return served_rows(copy)


def inbox(home, name):
    return home / "dropbox" / "inbox" / name


def test_new_values_revisions_and_new_declarations_match_a_rebuild(home, tmp_path, delta_results):
    path = home / "pkpi.duckdb"
    before = served_rows(path)
    workbook(inbox(home, "v1.xlsx"), [obs(), obs(period="2024-01", value=9, locator="row 3"),
                                      obs(indicator_id=SHARE["indicator_id"], unit="percent", value=40)])
    assert process(inbox(home, "v1.xlsx")).status == "accepted"
    # A revision of a value the first file added, and of a curated value.
    (ind, area, period, value, source, locator, quote), = sql(
        path, "SELECT o.indicator_id, o.area, o.period, o.value, o.source_id, o.locator, o.quote "
              "FROM observations o JOIN indicators i USING (indicator_id) WHERE i.unit = 'count' "
              "AND o.qualifier = 'exact' AND o.value > 2 AND o.intake_id IS NULL ORDER BY o.obs_id LIMIT 1")
    workbook(inbox(home, "v2.xlsx"), [obs(value=11, locator="row 9", revision="yes"),
                                      obs(indicator_id=ind, area=area, period=period, value=value + 1,
                                          source_id=source, locator=locator, quote=quote, revision="yes")],
             sources=(), indicators=())
    assert process(inbox(home, "v2.xlsx")).status == "accepted"
    assert delta_results == [True, True], "both intakes should have updated the served table in place"

    after = served_rows(path)
    assert after == rebuilt_rows(path, tmp_path)
    assert len(after) == len(before) + 3  # three new keys; the revisions replace their rows
    shown = {(r.indicator_id, r.period): r.value for r in after if r.indicator_id in (COUNT["indicator_id"], ind)}
    assert shown[(COUNT["indicator_id"], "2024-02")] == 11 and shown[(ind, period)] == value + 1
    assert value not in [r.value for r in after if (r.indicator_id, r.area, r.period) == (ind, area, period)]


def test_a_changed_source_row_replaces_its_indicators_rows(home, tmp_path, delta_results):
    path = home / "pkpi.duckdb"
    workbook(inbox(home, "v1.xlsx"), [obs()])
    assert process(inbox(home, "v1.xlsx")).status == "accepted"
    # Change a source's citation in a snapshot, as a correction to a declaration would.
    with store_module.writer_lock(path), store_module.new_snapshot(path, copy_current=True) as engine:
        with engine.begin() as conn:
            conn.execute(sa.text("UPDATE sources SET cite_as = 'CPAS export, March 2024 (corrected)' "
                                 "WHERE source_id = :s"), {"s": SOURCE["source_id"]})
    assert delta_results == [True, True]
    after = served_rows(path)
    assert after == rebuilt_rows(path, tmp_path)
    assert {r.source_cite_as for r in after if r.source_id == SOURCE["source_id"]} == \
        {"CPAS export, March 2024 (corrected)"}


def test_a_change_an_intake_never_makes_is_rebuilt(home, tmp_path, delta_results):
    """An earlier vintage marked latest again is not a delta: the table is rebuilt, and right."""
    path = home / "pkpi.duckdb"
    workbook(inbox(home, "v1.xlsx"), [obs()])
    assert process(inbox(home, "v1.xlsx")).status == "accepted"
    workbook(inbox(home, "v2.xlsx"), [obs(value=11, revision="yes")], sources=(), indicators=())
    assert process(inbox(home, "v2.xlsx")).status == "accepted"
    with store_module.writer_lock(path), store_module.new_snapshot(path, copy_current=True) as engine:
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM observation_vintages WHERE revises_obs_id IS NOT NULL"))
            conn.execute(sa.text("UPDATE observation_vintages SET is_latest = true WHERE obs_id = "
                                 "(SELECT max(obs_id) FROM observation_vintages)"))
    assert delta_results == [True, True, False]
    after = served_rows(path)
    assert after == rebuilt_rows(path, tmp_path)
    assert [r.value for r in after if r.indicator_id == COUNT["indicator_id"]] == [12]
