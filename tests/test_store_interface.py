"""The store interface (data.stores) on both stores, a real DuckDB file and a real PostgreSQL
database (the suite's throwaway cluster): readers pinned to one data
version, changes published whole or not at all, one writer and one watcher at a time."""
from __future__ import annotations

import shutil
import threading
from datetime import date

import numpy as np
import pyarrow as pa
import pytest
import sqlalchemy as sa

from data import engine as engines, schema
from data.selection import Filters, observations_select
from data.stores import open_store


def _count(reader) -> int:
    return reader.rows(sa.select(sa.func.count()).select_from(schema.observations))[0][0]


def _on_postgres(where) -> bool:
    return isinstance(where, str)


@pytest.fixture
def copy(any_store):
    """A private copy of the built store, to change: a DuckDB file, or a PostgreSQL database."""
    return any_store


def test_reader_gives_the_answers_the_pages_get(store, copy):
    """Every statement answers as the DuckDB store built from the same files does: the same
    rows, in the same order (text sorted byte by byte on both), with the same Arrow types."""
    for f in (Filters(families=("women",)), Filters(), Filters(as_of=date(2020, 1, 1))):
        stmt = observations_select(f)
        want = engines.arrow(stmt, engines.reader(store))
        assert want.num_rows > 10
        with open_store(copy).reader() as r:
            assert r.arrow(stmt).equals(want)
            assert pa.Table.from_batches(list(r.batches(stmt, 7))).equals(want)
            assert max(b.num_rows for b in r.batches(stmt, 7)) == 7
            rows = r.rows(stmt)
            assert [row.obs_id for row in rows] == want.column("obs_id").to_pylist()
            assert r.version == engines.data_version(store)
            assert r.served is schema.served
            assert {"observation_vintages", "intake_files", "withdrawals", schema.SERVED} <= r.tables()
    assert open_store(copy).version() == engines.data_version(store)


def test_a_reader_keeps_its_version_while_a_change_is_published(copy):
    s = open_store(copy)
    before_version = s.version()
    with s.reader() as old:
        before = _count(old)
        with s.writer() as w:
            with w.change() as c:
                v = schema.observation_vintages
                gone = c.rows(sa.select(sa.func.min(v.c.obs_id)))[0][0]
                c.conn.execute(sa.delete(v).where(v.c.obs_id == gone))
                c.set_version(data_version="changed", curated_version="c")
        # published: a new reader sees the change, the old one still its own version
        assert old.version == before_version  # read for the first time after the swap
        assert _count(old) == before
        assert old.rows(sa.select(sa.func.count()).select_from(schema.served))[0][0] == before
        with s.reader() as new:
            assert new.version == "changed"
            assert _count(new) == before - 1
            served = new.rows(sa.select(sa.func.count()).select_from(schema.served))[0][0]
            assert served == before - 1  # the served table was brought up to date
            assert dict(new.rows(sa.select(schema.meta.c.key, schema.meta.c.value))) == {
                "data_version": "changed", "curated_version": "c"}
    assert s.version() == "changed"


def test_a_change_that_fails_publishes_nothing(copy):
    s = open_store(copy)
    version = s.version()
    stamp = None if _on_postgres(copy) else copy.stat().st_ino
    with pytest.raises(RuntimeError, match="half way"):
        with s.writer() as w, w.change() as c:
            c.conn.execute(sa.delete(schema.observation_vintages))
            c.set_version(data_version="never")
            raise RuntimeError("half way")
    assert s.version() == version
    if not _on_postgres(copy):
        assert copy.stat().st_ino == stamp
        assert sorted(p.name for p in copy.parent.iterdir()) == ["pkpi.duckdb"]  # no temporary left
    with s.reader() as r:
        assert r.version == version
        assert _count(r) > 100
        assert r.rows(sa.select(sa.func.count()).select_from(schema.served))[0][0] == _count(r)
    with s.writer(wait_message=lambda: pytest.fail("the failed change kept the writer lock")):
        pass


def test_a_fresh_change_starts_empty_and_loads_columns(copy):
    s = open_store(copy)
    with s.writer() as w:
        with w.read() as current:  # under the lock: what a build carries over
            kept = current.rows(sa.select(schema.sources.c.source_id).order_by(schema.sources.c.source_id))
        assert len(kept) == 5
        with w.change(fresh=True) as c:
            assert c.rows(sa.select(sa.func.count()).select_from(schema.observation_vintages))[0][0] == 0
            assert c.rows(sa.select(sa.func.count()).select_from(schema.sources))[0][0] == 0
            n = c.load(schema.meta, {"key": np.array(["curated_version", "data_version"], dtype=object),
                                     "value": np.array(["c0", "v0"], dtype=object)})
            assert n == 2
    with s.reader() as r:
        assert r.version == "v0"
        assert _count(r) == 0
        assert r.arrow(sa.select(schema.served)).num_rows == 0


def test_scratch_columns_join_with_the_store_in_the_change(copy):
    s = open_store(copy)
    i = schema.indicators
    with s.writer() as w, w.change() as c:
        wanted = np.array(["no_such_indicator", "fatalities_malicious_acts"], dtype=object)
        weights = np.array([1.5, 2.5])
        with c.scratch("keys", {"indicator_id": wanted, "weight": weights}) as keys:
            found = c.rows(sa.select(i.c.indicator_id, i.c.unit, keys.c.weight)
                           .select_from(keys.join(i, i.c.indicator_id == keys.c.indicator_id)))
        assert [tuple(r) for r in found] == [("fatalities_malicious_acts", "count", 2.5)]
        if _on_postgres(copy):  # (an error would end the transaction: ask the catalog)
            assert c.rows(sa.select(sa.func.to_regclass(keys.name)))[0][0] is None  # gone
            c.set_version(data_version="scratched")
        else:
            with pytest.raises(sa.exc.DBAPIError):  # gone once the block ends
                c.rows(sa.select(sa.text("*")).select_from(sa.table(keys.name)))
    if _on_postgres(copy):
        assert s.version() == "scratched"


def test_writers_take_turns(copy):
    s = open_store(copy)
    order, inside, release = [], threading.Event(), threading.Event()

    def first():
        with s.writer():
            order.append("first in")
            inside.set()
            release.wait(60)
            order.append("first out")

    t = threading.Thread(target=first)
    t.start()
    assert inside.wait(60)

    def waiting():
        order.append("second waits")
        release.set()

    with s.writer(wait_message=waiting):
        order.append("second in")
    t.join(60)
    assert order == ["first in", "second waits", "first out", "second in"]


def test_one_watcher_at_a_time(copy):
    s = open_store(copy)
    one, two = s.watcher(), s.watcher()
    assert one.try_acquire() and one.still_held()
    assert not two.try_acquire() and not two.still_held()
    one.write_status('{"pid": 1}\n')
    one.release()
    assert not one.still_held()
    assert two.try_acquire() and two.still_held()
    assert not one.try_acquire()
    two.release()
    with pytest.raises(RuntimeError):
        one.write_status("x")


def test_the_duckdb_watcher_lock_is_the_one_the_watcher_takes(store, tmp_path):
    from data.watcher import Watcher

    copy = tmp_path / "pkpi.duckdb"
    shutil.copyfile(store, copy)
    s = open_store(copy)
    one, two = s.watcher(), s.watcher()
    assert one.try_acquire()
    one.write_status('{"pid": 1}\n')
    status_file = copy.with_name(copy.name + ".watcher")  # beside the store, as the README says
    assert status_file.read_text() == '{"pid": 1}\n'  # where data.watcher.status reads it
    watcher = Watcher(copy)
    assert not watcher._elected()  # the running watcher's own election sees the same lock
    one.release()
    assert status_file.read_text() == ""
    assert two.try_acquire()
    assert not watcher._elected()
    two.release()
    assert watcher._elected()
    assert not one.try_acquire()
    watcher.release()


# -- Call sites above data/ that now read through the interface ----------------------------

def test_period_of_reads_one_value_through_a_reader(store, monkeypatch):
    from indicators import query

    rows = engines.arrow(observations_select(Filters(indicators=("fatalities_malicious_acts",))), engines.reader(store))
    first = rows.slice(0, 1).to_pylist()[0]
    want = (first["period_start"], first["period_end"])
    assert want[1] is not None
    assert query.period_of(first["obs_id"], engine=engines.reader(store)) == want
    monkeypatch.setenv("PKPI_DB", str(store))
    assert query.period_of(first["obs_id"]) == want  # the current version of the store
    assert query.period_of(-1) is None


def test_updates_routes_read_one_version(dropbox_home):
    from types import SimpleNamespace

    from flask import Flask

    from callbacks import updates
    from data.dropbox import process
    from tests.intake_helpers import COUNT, obs, query as sql, workbook

    outcome = process(workbook(dropbox_home / "dropbox" / "inbox" / "march.xlsx",
                               [obs(indicator_id=COUNT["indicator_id"], value=12)]))
    assert outcome.status == "accepted", outcome.message
    server = Flask(__name__)
    updates.register(SimpleNamespace(server=server))
    client = server.test_client()
    store = dropbox_home / "pkpi.duckdb"
    status = client.get("/updates/status.json").get_json()
    assert status["data_version"] == engines.data_version(store)
    assert status["observations"] == sql(store, "SELECT count(*) FROM observations")[0][0]
    assert status["files"] == {"accepted": 1}
    intake_id = sql(store, "SELECT intake_id FROM intake_files")[0][0]
    got = client.get(f"/download/withdraw/{intake_id}.txt")
    assert got.status_code == 200
    assert got.get_data().decode("utf-8-sig").startswith(f"withdraw {outcome.stored.name}\r\nreason: \r\n")
    assert client.get(f"/download/withdraw/{intake_id + 1}.txt").status_code == 404
