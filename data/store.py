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
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import sqlalchemy as sa

from data.engine import make_engine
from data import schema

_counter = itertools.count(1)


def lock_path(store: Path) -> Path:
    return store.with_name(store.name + ".lock")


@contextmanager
def writer_lock(store: Path, wait_message=None) -> Iterator[None]:
    """Hold the store's writer lock for the block (blocking until it is free).

    The kernel releases the lock when the holder exits, however it exits (even SIGKILL).
    The holder deletes the lock file before releasing it, so none is left between writes;
    a waiter that wakes on a deleted file opens the new one and queues again.
    """
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
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        _remove_stale_temporaries(store)
        yield
    finally:
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
    rebuilt unless the snapshot began as a copy and changed nothing it is made of.
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
            if before is None or _served_inputs(conn) != before:
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


def _served_inputs(conn) -> tuple:
    """What ``served_observations`` is derived from, in a few numbers: the vintages (which
    exist, which is the latest; values are never changed in place, a correction is a new
    vintage) and every column of the indicators, sources and areas. A snapshot that leaves
    them as they were (a rejected file, a duplicate) keeps the served table as it is instead
    of rebuilding it (seconds at a million values)."""
    return tuple(conn.exec_driver_sql(
        "SELECT (SELECT count(*) FROM observation_vintages), "
        "(SELECT coalesce(sum(hash(obs_id, is_latest)), 0) FROM observation_vintages), "
        "(SELECT count(*) FROM indicators), (SELECT coalesce(sum(hash(i)), 0) FROM indicators i), "
        "(SELECT count(*) FROM sources), (SELECT coalesce(sum(hash(s)), 0) FROM sources s), "
        "(SELECT count(*) FROM areas), (SELECT coalesce(sum(hash(a)), 0) FROM areas a)").one())


def utc_now():
    """Timestamps in the store are UTC, to the second (shown with "UTC" on the page)."""
    from datetime import datetime, timezone
    return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)

