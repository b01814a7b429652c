"""Writing the store: one writer at a time, each write a complete new snapshot.

Every change to the store (a curated build, an accepted or rejected spreadsheet) follows
the same steps, so that a reader never sees half a change and a crash never leaves one:

1. take the writer lock (``fcntl.flock`` on ``<store>.lock``, beside the store in
   ``PKPI_HOME``): writers in every process and thread queue here;
2. write a complete new file beside the store (``<store>.tmp-<pid>-<n>``), in one transaction;
3. ``CHECKPOINT`` it (fold the write-ahead log into the file) and close it;
4. ``os.replace`` it over the store: atomic, readers see the old snapshot or the new one.

A writer killed before step 4 leaves the store as it was and a stale temporary file, which
the next writer deletes (it holds the lock, so no temporary file can be in use).
"""
from __future__ import annotations

import fcntl
import itertools
import os
import shutil
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import sqlalchemy as sa

from data.engine import make_engine
from data import schema

_counter = itertools.count(1)


def lock_path(store: Path) -> Path:
    return store.with_name(store.name + ".lock")


# Locks this process holds: per thread, {lock path: (fd, depth)}; and the stores whose lock a
# parent holds for this process (a reader child, data.isolation), whose fd it inherited.
_held = threading.local()
_inherited: set[str] = set()


def _key(store: Path) -> str:
    return os.path.abspath(lock_path(Path(store)))


def held_lock_fd(store: Path) -> int | None:
    """The descriptor of the writer lock this thread holds on ``store`` (None if it holds
    none): a child given it (``pass_fds``) shares the lock, which then stays held until
    both have let go, even if this process dies first."""
    entry = getattr(_held, "locks", {}).get(_key(store))
    return entry[0] if entry else None


def inherit_lock(store: Path) -> None:
    """In a child working under its parent's writer lock (an inherited descriptor): take
    ``writer_lock(store)`` as held, for this process's whole life."""
    _inherited.add(_key(store))


@contextmanager
def writer_lock(store: Path, wait_message=None) -> Iterator[None]:
    """Hold the store's writer lock for the block (blocking until it is free).

    The kernel releases the lock when the holder exits, however it exits (even SIGKILL).
    The holder deletes the lock file before releasing it, so none is left between writes;
    a waiter that wakes on a deleted file opens the new one and queues again. A thread
    already holding it (or a child whose parent holds it for it) goes straight in.
    """
    key = _key(store)
    locks = _held.__dict__.setdefault("locks", {})
    if key in _inherited:
        yield
        return
    if key in locks:
        fd, depth = locks[key]
        locks[key] = (fd, depth + 1)
        try:
            yield
        finally:
            locks[key] = (fd, locks[key][1] - 1)
        return
    store.parent.mkdir(parents=True, exist_ok=True)
    path = lock_path(store)
    waited = False
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if wait_message and not waited:
                wait_message()
            waited = True
            fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # the previous holder deleted this file: queue on the new one
    locks[key] = (fd, 1)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        _remove_stale_temporaries(store)
        yield
    finally:
        del locks[key]
        try:
            os.unlink(path)
        finally:
            os.close(fd)  # releases the lock


def _remove_stale_temporaries(store: Path) -> None:
    """Left by a writer that was killed before its swap (only called under the lock)."""
    for path in store.parent.glob(store.name + ".tmp-*"):
        path.unlink(missing_ok=True)


def temporary_path(store: Path) -> Path:
    return store.with_name(f"{store.name}.tmp-{os.getpid()}-{next(_counter)}")


def publish(tmp: Path, store: Path) -> None:
    """Swap a complete, checkpointed and closed snapshot in place of the store."""
    with open(tmp, "rb") as f:
        os.fsync(f.fileno())
    os.replace(tmp, store)  # atomic: readers see the old snapshot or the new one
    try:
        dir_fd = os.open(store.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)  # make the rename itself durable
    finally:
        os.close(dir_fd)


@contextmanager
def new_snapshot(store: Path, copy_current: bool) -> Iterator[sa.Engine]:
    """A writable engine on a new snapshot; swapped in when the block ends without error.

    Call it while holding ``writer_lock(store)``. With ``copy_current`` the snapshot starts
    as a copy of the store (an intake); otherwise it starts empty (a build). On any error
    the temporary file is deleted and the store is left as it was. The served table is
    rebuilt for a build; for a copy (an intake) it is kept when nothing it is made of changed,
    and otherwise brought up to date by ``_update_served`` (only the values the snapshot
    added or superseded, and the indicators whose names, sources or areas changed).
    """
    tmp = temporary_path(store)
    tmp.unlink(missing_ok=True)
    if copy_current:
        shutil.copyfile(store, tmp)
    engine = make_engine(tmp, read_only=False)
    try:
        before = None
        if copy_current:
            with engine.connect() as conn:
                before = _served_inputs(conn) if schema.has_served(conn) else None
        yield engine
        with engine.begin() as conn:  # what pages read, derived once for this data version
            if before is None or not _update_served(conn, before):
                schema.refresh_served(conn)
        with engine.connect() as conn:  # fold the write-ahead log into the file before the swap
            conn.execute(sa.text("CHECKPOINT"))
    except BaseException:
        engine.dispose()
        tmp.unlink(missing_ok=True)
        tmp.with_name(tmp.name + ".wal").unlink(missing_ok=True)
        raise
    engine.dispose()
    tmp.with_name(tmp.name + ".wal").unlink(missing_ok=True)
    publish(tmp, store)


_DIMENSIONS = (("indicators", "indicator_id"), ("sources", "source_id"), ("areas", "area_id"))
# Beyond this share of the served rows (or of the indicators), a delta costs more than a
# rebuild and would leave the table far from its sorted order: rebuild it instead.
DELTA_SHARE = 0.25


def _served_inputs(conn) -> dict:
    """What ``served_observations`` is derived from: the vintages in a few numbers (which
    exist, which is the latest; values are never changed in place, a correction is a new
    vintage, and new vintages get ids above every earlier one) and a digest of every row of
    the indicators, sources and areas."""
    count, digest, top = conn.exec_driver_sql(
        "SELECT count(*), coalesce(sum(hash(obs_id, is_latest)), 0), coalesce(max(obs_id), 0) "
        "FROM observation_vintages").one()
    dims = {table: dict(conn.exec_driver_sql(f"SELECT {key}, hash(t) FROM {table} t").all())
            for table, key in _DIMENSIONS}
    return {"vintages": (count, digest), "max_obs_id": top, "dims": dims}


def _update_served(conn, before: dict) -> bool:
    """Bring ``served_observations`` from ``before`` up to date with a delta, or say (False)
    that it must be rebuilt. A snapshot that changed nothing keeps it as it is (a rejected
    file, a duplicate). An intake adds vintages (ids above ``before``'s highest) and marks
    the ones they revise as no longer latest: the served rows of the revised values are
    deleted and the new latest values inserted (sorted, as a rebuild would store them); an
    indicator, source or area whose row changed has its indicators' rows replaced whole.
    Any other change to the vintages (checked by their digest) means a rebuild. At a million
    values, a 100,000-value file took 2.4 s and 0.9 GB to rebuild the table."""
    after = _served_inputs(conn)
    if after["vintages"] == before["vintages"] and after["dims"] == before["dims"]:
        return True
    top = int(before["max_obs_id"])
    revised = (f"SELECT revises_obs_id FROM observation_vintages "
               f"WHERE obs_id > {top} AND revises_obs_id IS NOT NULL")
    # The earlier vintages as they stood, once the revised ones are counted latest again:
    # anything else that changed among them is not an intake's doing.
    old = conn.exec_driver_sql(
        f"SELECT count(*), coalesce(sum(hash(obs_id, CASE WHEN obs_id IN ({revised}) THEN true "
        f"ELSE is_latest END)), 0) FROM observation_vintages WHERE obs_id <= {top}").one()
    if tuple(old) != tuple(before["vintages"]):
        return False
    changed: set[str] = set()
    for table, key in _DIMENSIONS:
        b, a = before["dims"][table], after["dims"][table]
        ids = sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k))
        if not ids:
            continue
        if table == "indicators":
            changed.update(ids)
            continue
        column = "source_id" if table == "sources" else "area"
        found = conn.execute(sa.select(sa.distinct(schema.observation_vintages.c.indicator_id))
                             .where(schema.observation_vintages.c[column].in_(ids))).scalars()
        changed.update(found)
    served_rows, indicators = conn.exec_driver_sql(
        f"SELECT count(*), count(DISTINCT indicator_id) FROM {schema.SERVED}").one()
    new_rows = after["vintages"][0] - before["vintages"][0]
    if new_rows > DELTA_SHARE * max(served_rows, 1) or len(changed) > DELTA_SHARE * max(indicators, 1):
        return False
    served = schema.served
    wide = schema.wide_select()
    pick = wide.selected_columns
    v = schema.observation_vintages
    superseded = sa.select(v.c.revises_obs_id).where(v.c.obs_id > top, v.c.revises_obs_id.is_not(None))
    stale = sa.or_(served.c.obs_id.in_(superseded), served.c.indicator_id.in_(sorted(changed)))
    fresh = sa.or_(pick.obs_id > top, pick.indicator_id.in_(sorted(changed)))
    by = [pick[name] for name in schema.SERVED_ORDER]
    by[2] = by[2].nulls_first()
    literal = {"compile_kwargs": {"literal_binds": True}, "dialect": conn.dialect}
    conn.exec_driver_sql(str(sa.delete(served).where(stale).compile(**literal)))
    conn.exec_driver_sql(f"INSERT INTO {schema.SERVED} "
                         + str(wide.where(fresh).order_by(*by).compile(**literal)))
    return True


def utc_now():
    """Timestamps in the store are UTC, to the second (shown with "UTC" on the page)."""
    from datetime import datetime, timezone
    return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)

