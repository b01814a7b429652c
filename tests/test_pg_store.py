"""The PostgreSQL store (data.stores.postgres_store) across processes, on the suite's
throwaway cluster: a writer killed mid-change leaves the store as it was and the lock free;
writers in two processes queue; the watcher election has one holder and passes on when that
holder is killed; old versions' served tables are dropped only once no reader holds them.

No timing assertions: every wait is for an observable state (a line printed, a lock seen in
``pg_locks``), with generous timeouts."""
from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
from datetime import datetime
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa

from data import schema
from data.stores import open_store
from data.stores.postgres_store import WATCHER_KEY, WRITER_KEY

REPO = Path(__file__).resolve().parent.parent
TIMEOUT = 120  # seconds: two busy cores


def wait_for(condition, what: str, timeout: float = TIMEOUT):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:g} s: {what}")
        time.sleep(0.05)


def child(code: str, url: str) -> subprocess.Popen:
    """A Python process running ``code`` with ``store`` opened on ``url``; its stdout is a
    pipe of lines, its stdin a pipe the test writes to."""
    prelude = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(REPO)!r})
        import sqlalchemy as sa
        from data import schema
        from data.stores import open_store
        store = open_store({url!r})
        def say(text):
            print(text, flush=True)
    """)
    return subprocess.Popen([sys.executable, "-c", prelude + textwrap.dedent(code)], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, cwd=REPO)


def line(proc: subprocess.Popen) -> str:
    got = proc.stdout.readline().strip()
    if not got:
        proc.wait(timeout=TIMEOUT)
        raise AssertionError(f"the child process ended (exit {proc.returncode}) without saying anything")
    return got


def advisory(url: str, key: int, granted: bool) -> int:
    """How many backends hold (``granted``) or wait for the bigint advisory lock ``key``."""
    with psycopg.connect(url.replace("postgresql://", "postgresql://", 1), autocommit=True) as conn:
        return conn.execute(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1 AND granted = %s "
            "AND ((classid::bigint << 32) | objid::bigint) = %s", [granted, key]).fetchone()[0]


def kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=TIMEOUT)


def _count(reader) -> int:
    return reader.rows(sa.select(sa.func.count()).select_from(schema.observations))[0][0]


MID_CHANGE = """
with store.writer() as w, w.change() as c:
    c.conn.execute(sa.delete(schema.observation_vintages))
    c.conn.execute(sa.delete(schema.intake_files))
    c.set_version(data_version="never published")
    say("deleted everything, not committed")
    time.sleep(600)
"""


def test_a_writer_killed_mid_change_leaves_the_store_unchanged_and_the_lock_free(pg_store):
    s = open_store(pg_store)
    version = s.version()
    with s.reader() as r:
        before = _count(r)
        served = r.rows(sa.select(sa.func.count()).select_from(schema.served))[0][0]
    assert before > 100 and served == before
    proc = child(MID_CHANGE, pg_store)
    try:
        assert line(proc) == "deleted everything, not committed"
        assert advisory(pg_store, WRITER_KEY, granted=True) == 1  # held: the test below means something
        with s.reader() as r:  # meanwhile readers read the version before the change
            assert (r.version, _count(r)) == (version, before)
    finally:
        kill(proc)
    # The server notices the closed socket, rolls the change back and frees the lock.
    wait_for(lambda: advisory(pg_store, WRITER_KEY, granted=True) == 0, "the killed writer's lock to be freed")
    assert s.version() == version
    with s.reader() as r:
        assert (r.version, _count(r)) == (version, before)
        assert r.rows(sa.select(sa.func.count()).select_from(schema.served))[0][0] == before
    with s.writer(wait_message=lambda: pytest.fail("the writer lock was still held")) as w:
        with w.change() as c:
            c.set_version(data_version="after the crash")
    assert s.version() == "after the crash"


HOLD_WRITER = """
with store.writer(wait_message=lambda: say("waiting")):
    say("in")
    sys.stdin.readline()  # held until the test says so
    say("out")
"""


def test_writers_in_two_processes_queue(pg_store):
    first = child(HOLD_WRITER, pg_store)
    second = None
    try:
        assert line(first) == "in"
        second = child(HOLD_WRITER, pg_store)
        assert line(second) == "waiting"
        wait_for(lambda: advisory(pg_store, WRITER_KEY, granted=False) == 1, "the second writer to queue")
        assert advisory(pg_store, WRITER_KEY, granted=True) == 1
        first.stdin.write("go\n")
        first.stdin.flush()
        assert line(first) == "out"
        assert line(second) == "in"  # only once the first let go
        second.stdin.write("go\n")
        second.stdin.flush()
        assert line(second) == "out"
        assert first.wait(timeout=TIMEOUT) == 0 and second.wait(timeout=TIMEOUT) == 0
    finally:
        kill(first)
        if second is not None:
            kill(second)
    assert advisory(pg_store, WRITER_KEY, granted=True) == 0


HOLD_WATCHER = """
lock = store.watcher()
say("elected" if lock.try_acquire() else "standing by")
lock.write_status("watching from a child")
say("status written")
time.sleep(600)
"""


def test_one_watcher_across_processes_and_its_death_frees_the_election(pg_store):
    s = open_store(pg_store)
    proc = child(HOLD_WATCHER, pg_store)
    mine = s.watcher()
    try:
        assert line(proc) == "elected"
        assert line(proc) == "status written"
        assert not mine.try_acquire() and not mine.still_held()
        assert advisory(pg_store, WATCHER_KEY, granted=True) == 1
        with psycopg.connect(pg_store, autocommit=True) as conn:
            assert conn.execute("SELECT status FROM pkpi_watcher").fetchall() == [("watching from a child",)]
    finally:
        kill(proc)
    wait_for(mine.try_acquire, "the election to pass to a living watcher")
    assert mine.still_held()
    mine.release()
    assert advisory(pg_store, WATCHER_KEY, granted=True) == 0


def test_a_watcher_whose_connection_broke_stands_down(pg_store):
    """A living holder can lose the lock (its connection ended): still_held says so."""
    s = open_store(pg_store)
    mine, other = s.watcher(), s.watcher()
    assert mine.try_acquire()
    backend = mine._conn.execute(sa.text("SELECT pg_backend_pid()")).scalar()
    with psycopg.connect(pg_store, autocommit=True) as conn:
        assert conn.execute("SELECT pg_terminate_backend(%s)", [backend]).fetchone()[0]
    wait_for(other.try_acquire, "the election to be free once the holder's connection ended")
    assert not mine.still_held()
    other.release()


def _publish(s, name, value=None):
    """A new version; with ``value``, the first value of the store changed to it."""
    v = schema.observation_vintages
    with s.writer() as w, w.change() as c:
        if value is not None:
            first = c.rows(sa.select(sa.func.min(v.c.obs_id)))[0][0]
            c.conn.execute(sa.update(v).where(v.c.obs_id == first).values(value=value))
        c.set_version(data_version=name)


def _first_value(reader):
    return reader.rows(sa.select(schema.served.c.value).order_by(schema.served.c.obs_id).limit(1))[0][0]


def _schemas(url) -> list[str]:
    with psycopg.connect(url, autocommit=True) as conn:
        return [r[0] for r in conn.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'pkpi_v%' ORDER BY nspname").fetchall()]


def test_old_served_tables_are_dropped_once_no_reader_holds_them(pg_store):
    s = open_store(pg_store)
    s.served_delta = False  # every change builds a table (a delta updates the current one in place)
    assert len(s.served_versions()) == 1
    with s.reader() as old:
        pinned = old.seq
        n, value = _count(old), _first_value(old)
        for k in range(3):
            _publish(s, f"v{k}", value=1000.0 + k)
        # Three versions later the one this reader holds is still there, and still whole.
        assert pinned in s.served_versions()
        assert old.rows(sa.select(sa.func.count()).select_from(schema.served))[0][0] == n
        assert (old.version, _first_value(old)) != ("v2", 1002.0) and _first_value(old) == value
    versions = s.served_versions()
    assert len(versions) == 3  # the pinned one, the one v2 replaced, v2's own
    _publish(s, "v3", value=1003.0)  # nobody reads the pinned one any more: dropped
    after = s.served_versions()
    assert pinned not in after and len(after) == 2
    assert _schemas(pg_store) == sorted(after.values())
    with s.reader() as r:
        assert (r.version, _count(r), _first_value(r)) == ("v3", n, 1003.0)


def test_a_change_that_touches_no_served_input_shares_the_served_table(pg_store):
    """A change of no value, indicator, source or area (a rejected file's record, say) makes
    a new version that reads the previous version's served table instead of building one;
    the next change of a value builds one again, and the shared one goes once unread."""
    s = open_store(pg_store)
    s.served_delta = False  # the changes of a value build a table (a delta would update the shared one)
    (base_seq, base), = s.served_versions().items()
    with s.writer() as w, w.change() as c:  # only the intake log and meta
        c.conn.execute(schema.intake_files.insert().values(
            intake_id=1, sha256="0" * 64, original_name="x.xlsx", stored_name="x.xlsx", folder="rejected",
            status="rejected", size_bytes=1, rows_read=0, added=0, revised=0, unchanged=0, declared=0,
            error_count=1, summary="rejected", received_at=datetime(2026, 1, 1), processed_at=datetime(2026, 1, 1)))
        c.set_version(data_version="rejected file")
    shared = s.served_versions()
    assert list(shared.values()) == [base, base] and len(_schemas(pg_store)) == 1
    with s.reader() as r:
        assert r.version == "rejected file" and r.seq == base_seq + 1
        assert r.rows(sa.select(sa.func.count()).select_from(schema.intake_files))[0][0] == 1
        assert r.rows(sa.select(sa.func.count()).select_from(schema.served))[0][0] == _count(r)
    _publish(s, "a value", value=77.0)
    _publish(s, "another", value=78.0)  # the shared table is older than the one replaced: dropped
    left = s.served_versions()
    assert base not in left.values() and len(left) == 2 and len(_schemas(pg_store)) == 2
    with s.reader() as r:
        assert (r.version, _first_value(r)) == ("another", 78.0)


def test_text_is_stored_and_sorted_byte_by_byte(pg_store):
    """Every text column of the store and of the served table is COLLATE "C", on a cluster
    whose default collation is ICU English (tests/pgcluster.py)."""
    with psycopg.connect(pg_store, autocommit=True) as conn:
        collations = conn.execute(
            "SELECT DISTINCT table_schema LIKE 'pkpi_v%', collation_name FROM information_schema.columns "
            "WHERE data_type = 'text' AND (table_schema = 'public' OR table_schema LIKE 'pkpi_v%') "
            "AND table_name NOT IN ('pkpi_versions', 'pkpi_watcher')").fetchall()
        default = conn.execute("SELECT datlocprovider, daticulocale FROM pg_database "
                               "WHERE datname = current_database()").fetchone()
    assert sorted(collations) == [(False, "C"), (True, "C")]
    assert default == ("i", "en")


def test_readers_beside_a_publishing_writer_see_each_version_whole(pg_store):
    """Readers looping while a writer publishes version after version (each removing one
    value, its name saying how many remain) and dropping old served tables: every read finds
    the vintages, the observations view and the served table of one and the same version."""
    import threading

    s = open_store(pg_store)
    v = schema.observation_vintages
    with s.reader() as r:
        start = _count(r)
    stop, seen, errors = threading.Event(), [], []

    def read_loop():
        try:
            while not stop.is_set():
                with s.reader() as r:
                    version = r.version
                    latest = _count(r)
                    served = r.rows(sa.select(sa.func.count()).select_from(schema.served))[0][0]
                    meta = r.rows(sa.select(schema.meta.c.value).where(schema.meta.c.key == "data_version"))[0][0]
                    seen.append((version, meta, latest, served))
        except BaseException as exc:  # reported by the test, not lost in the thread
            errors.append(exc)

    readers = [threading.Thread(target=read_loop) for _ in range(2)]
    for t in readers:
        t.start()
    try:
        wait_for(lambda: len(seen) >= 2, "the readers to start")
        for k in range(1, 13):
            with s.writer() as w, w.change() as c:
                gone = c.rows(sa.select(sa.func.min(v.c.obs_id)).where(v.c.is_latest))[0][0]
                c.conn.execute(sa.delete(v).where(v.c.obs_id == gone))
                c.set_version(data_version=f"remaining {start - k}")
        wait_for(lambda: seen and seen[-1][0] == f"remaining {start - 12}", "a reader to see the last version")
    finally:
        stop.set()
        for t in readers:
            t.join(timeout=TIMEOUT)
    assert not errors, errors
    versions = set()
    for version, meta, latest, served in seen:
        versions.add(version)
        assert meta == version
        assert latest == served
        if version.startswith("remaining "):
            assert latest == int(version.split()[1]), (version, latest)
    assert len(versions) >= 3, sorted(versions)
    assert len(s.served_versions()) <= 3


def test_an_error_inside_a_scratch_block_is_the_error_reported(pg_store):
    """PostgreSQL ends a transaction at its first error: what the caller sees is that error
    (here a missing column), not a later one from cleaning up, and nothing is published."""
    import numpy as np

    s = open_store(pg_store)
    version = s.version()
    with pytest.raises(sa.exc.ProgrammingError, match="no_such_column"):
        with s.writer() as w, w.change() as c:
            with c.scratch("keys", {"indicator_id": np.array(["a"], dtype=object)}) as keys:
                c.rows(sa.select(sa.column("no_such_column")).select_from(keys))
    assert s.version() == version


# -- The served table's delta (a change's served table from the previous version's) ---------

def _served_rows(reader) -> list[tuple]:
    """This version's served table, and the same rows computed afresh from the tables
    (what a full build stores), each in obs_id order."""
    served = reader.rows(sa.select(schema.served).order_by(schema.served.c.obs_id))
    wide = schema.wide_select()
    fresh = reader.rows(wide.order_by(wide.selected_columns.obs_id))
    return [tuple(r) for r in served], [tuple(r) for r in fresh]


def _revise(c, n: int, offset: float = 1.0) -> list[int]:
    """What an intake does: ``n`` new vintages, each revising a latest value (ids above every
    earlier one), and the revised ones no longer latest. Returns the revised ids."""
    v = schema.observation_vintages
    top = c.rows(sa.select(sa.func.max(v.c.obs_id)))[0][0]
    ids = [r[0] for r in c.rows(sa.select(v.c.obs_id).where(v.c.is_latest).order_by(v.c.obs_id.desc()).limit(n))]
    new = {"obs_id": v.c.obs_id + top, "value": v.c.value + offset, "vintage": v.c.vintage + 1,
           "revises_obs_id": v.c.obs_id, "revised": sa.true(), "origin_file": sa.literal("revised.xlsx")}
    names = [col.name for col in v.columns]
    c.conn.execute(sa.insert(v).from_select(names, sa.select(*[new[k].label(k) if k in new else v.c[k]
                                                                for k in names]).where(v.c.obs_id.in_(ids))))
    c.conn.execute(sa.update(v).where(v.c.obs_id.in_(ids)).values(is_latest=False))
    return ids


def test_an_intake_like_change_updates_the_served_table_by_a_delta_equal_to_a_full_build(pg_store):
    """The delta updates the served table in place: readers of the new version see a table
    equal to a full build, and a reader that began before still sees its own version's rows."""
    s = open_store(pg_store)
    base = s.served_versions()
    with s.reader() as before:
        n = _count(before)
        then = _served_rows(before)[0]
        _served_in_place(s, n)
        # Three versions later, in the same table, this reader still reads its own.
        assert list(s.served_versions().values()) == list(base.values()) * 4
        assert _served_rows(before) == (then, then) and before.version not in {"five revised", "renamed areas"}


def _served_in_place(s, n: int) -> None:
    with s.writer() as w:
        with w.change() as c:
            revised = _revise(c, 5)
            c.set_version(data_version="five revised")
        assert w.last_served == "delta"
        # An indicator renamed, and the source and the area that the fewest indicators use
        # retitled and renamed: the rows of every indicator using them are replaced.
        v = schema.observation_vintages
        for table, key, column, text in ((schema.sources, "source_id", "title_en", "A retitled report"),
                                         (schema.areas, "area_id", "name_en", "Renamed area")):
            used = v.c.source_id if table is schema.sources else v.c.area
            with w.change() as c:
                rows = dict(c.rows(sa.select(v.c.indicator_id, sa.func.count()).where(v.c.is_latest)
                                   .group_by(v.c.indicator_id)))
                users: dict[str, set] = {}
                for k, indicator in c.rows(sa.select(used, v.c.indicator_id).distinct()):
                    users.setdefault(k, set()).add(indicator)
                fewest = min(users, key=lambda k: (sum(rows.get(i, 0) for i in users[k]), k))
                c.conn.execute(sa.update(table).where(table.c[key] == fewest).values({column: text}))
                indicator = c.rows(sa.select(v.c.indicator_id).where(v.c.obs_id == revised[0]))[0][0]
                c.conn.execute(sa.update(schema.indicators).where(schema.indicators.c.indicator_id == indicator)
                               .values(name_en=f"Renamed {table.name}"))
                c.set_version(data_version=f"renamed {table.name}")
            assert w.last_served == "delta", table.name
    with s.reader() as r:
        assert r.version == "renamed areas" and _count(r) == n
        served, fresh = _served_rows(r)
        assert served == fresh and len(served) == n
        got = {row.obs_id: row for row in r.rows(sa.select(schema.served))}
        assert not set(revised) & set(got)  # the revised values left the served table
        assert any(row.source_title == "A retitled report" for row in got.values())
        assert any(row.area_name == "Renamed area" for row in got.values())
        assert any(row.indicator_name == "Renamed areas" for row in got.values())


def test_changes_a_delta_cannot_follow_build_the_served_table_whole(pg_store):
    """A deleted vintage (a withdrawal's kind of change), a change of more than a quarter of
    the values, and a store told not to use deltas: each built whole, and equal to the build."""
    s = open_store(pg_store)
    v = schema.observation_vintages
    with s.reader() as r:
        n = _count(r)
    with s.writer() as w:
        with w.change() as c:
            c.conn.execute(sa.delete(v).where(v.c.obs_id == c.rows(sa.select(sa.func.max(v.c.obs_id)))[0][0]))
            c.set_version(data_version="one deleted")
        assert w.last_served == "built"
        with w.change() as c:
            _revise(c, n // 3)
            c.set_version(data_version="a third revised")
        assert w.last_served == "built"
        s.served_delta = False
        with w.change() as c:
            _revise(c, 2, offset=2.0)
            c.set_version(data_version="no delta")
        assert w.last_served == "built"
    with s.reader() as r:
        served, fresh = _served_rows(r)
        assert r.version == "no delta" and served == fresh and len(served) == n - 1
