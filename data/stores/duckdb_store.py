"""The DuckDB store: a file swapped whole for each data version (the embedded default).

This wraps what ``data.engine`` (readers that follow the swapped file) and ``data.store``
(the writer lock, new snapshots and their publication) already do; it changes none of it.

- A reader holds one connection, which attached the file current when it opened: every
  statement of the reader reads that one version, even if a writer swaps in another
  meanwhile (the old file stays readable through the open connection).
- The writer lock is ``flock`` on ``<store>.lock`` (``data.store.writer_lock``); a change
  is a new file, written in one transaction, its served table brought up to date, then
  checkpointed and renamed over the store (``data.store.new_snapshot``).
- The watcher election is a non-blocking ``flock`` on ``<store>.watcher``, whose file also
  carries the elected watcher's status line (``data.watcher.status`` reads it).
"""
from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Mapping

import sqlalchemy as sa

from data import engine as engines, schema
from data.store import new_snapshot, writer_lock

if TYPE_CHECKING:
    import pyarrow as pa


_VERSION_KEY = "pkpi_data_version"


class DuckDBReader:
    """One data version, read through one connection (see the module's note)."""

    served = schema.served

    def __init__(self, conn: sa.Connection, attached: bool = False):
        self.conn = conn
        self._version: str | None = None
        # ``attached``: the connection ATTACHed one read-only snapshot file when it was made
        # and reads that file for its whole life (``data.engine.snapshot_engine``), so its
        # version is read once per connection, not once per reader (a query costs about a
        # millisecond; the page caches ask for the version on every answer).
        self._attached = attached

    @property
    def version(self) -> str:
        if self._version is None:
            info = self.conn.connection.info if self._attached else {}
            self._version = info.get(_VERSION_KEY)
            if self._version is None:
                m = schema.meta
                self._version = self.conn.execute(sa.select(m.c.value).where(m.c.key == "data_version")).scalar_one()
                if self._attached:
                    info[_VERSION_KEY] = self._version
        return self._version

    def arrow(self, stmt) -> "pa.Table":
        sql, params = engines.compiled(stmt, self.conn)
        return engines.raw_connection(self.conn).sql(sql, params=params).to_arrow_table()

    def rows(self, stmt) -> list[sa.Row]:
        return self.conn.execute(stmt).all()

    def rows_named(self, stmt) -> tuple[list[str], list[sa.Row]]:
        result = self.conn.execute(stmt)
        return list(result.keys()), result.all()

    def batches(self, stmt, size: int) -> Iterator["pa.RecordBatch"]:
        """Record batches of at most ``size`` rows. One stream at a time per reader: another
        statement on the same reader ends the stream that is being read."""
        sql, params = engines.compiled(stmt, self.conn)
        yield from engines.raw_connection(self.conn).sql(sql, params=params).to_arrow_reader(size)

    def tables(self) -> set[str]:
        return set(self.conn.execute(sa.text("SELECT table_name FROM duckdb_tables() UNION ALL "
                                             "SELECT view_name FROM duckdb_views() WHERE NOT internal")).scalars())


@contextmanager
def reading(engine: sa.Engine) -> Iterator[DuckDBReader]:
    """A reader on one connection of ``engine``: for code that is handed an engine (a test's
    store, a writer's snapshot) rather than the store's current version."""
    with engine.connect() as conn:
        yield DuckDBReader(conn)


class DuckDBChange:
    """One transaction on the new snapshot; its connection is ``conn``."""

    def __init__(self, conn: sa.Connection):
        self.conn = conn
        self._scratch = 0

    def arrow(self, stmt) -> "pa.Table":
        return DuckDBReader(self.conn).arrow(stmt)

    def rows(self, stmt) -> list[sa.Row]:
        return self.conn.execute(stmt).all()

    @contextmanager
    def scratch(self, name: str, columns: Mapping[str, object]) -> Iterator[sa.TableClause]:
        """``columns`` (NumPy arrays of one length, by name: DuckDB reads them as they are,
        without Arrow or pandas) as a table that the change's statements can join with, for
        the block."""
        raw = engines.raw_connection(self.conn)
        self._scratch += 1
        registered = f"pkpi_scratch_{self._scratch}_{name}"
        raw.register(registered, dict(columns))
        try:
            yield sa.table(registered, *(sa.column(k) for k in columns))
        finally:
            raw.unregister(registered)

    def load(self, table: sa.Table, columns: Mapping[str, object]) -> int:
        """Insert the rows that ``columns`` hold (one array per column of ``table`` named)."""
        with self.scratch(table.name, columns) as rows:
            names = list(columns)
            done = self.conn.execute(sa.insert(table).from_select(names, sa.select(*(rows.c[n] for n in names))))
        return done.rowcount

    def set_version(self, **values: str) -> None:
        """Rewrite the ``meta`` rows named (``data_version``, ``curated_version``)."""
        m = schema.meta
        self.conn.execute(sa.delete(m).where(m.c.key.in_(sorted(values))))
        self.conn.execute(m.insert(), [{"key": k, "value": v} for k, v in sorted(values.items())])


class DuckDBWriter:
    """What the holder of the writer lock may do."""

    def __init__(self, path: Path):
        self.path = path

    @contextmanager
    def read(self) -> Iterator[DuckDBReader]:
        """The current version, read under the lock (nothing can swap it meanwhile)."""
        engine = engines.snapshot_engine(self.path)
        try:
            with reading(engine) as reader:
                yield reader
        finally:
            engine.dispose()

    @contextmanager
    def change(self, fresh: bool = False) -> Iterator[DuckDBChange]:
        """A new data version: published when the block ends without an error, else none.
        ``fresh`` starts from an empty store with every table made (a build); otherwise
        from a copy of the current version (an intake, a withdrawal)."""
        with new_snapshot(self.path, copy_current=not fresh) as engine:
            if fresh:
                schema.create_all(engine)
            with engine.begin() as conn:
                yield DuckDBChange(conn)


class DuckDBWatcherLock:
    """The inbox watcher's election: at most one holder across processes; the kernel
    releases it when the holder exits, however it exits."""

    def __init__(self, path: Path):
        self.path = path
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        if self._fd is not None:
            return True
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def still_held(self) -> bool:
        return self._fd is not None  # a flock is lost only with its file descriptor

    def write_status(self, text: str) -> None:
        """Replace the status line others read from the lock's file (holder only)."""
        if self._fd is None:
            raise RuntimeError("the watcher lock is not held")
        data = text.encode()
        os.pwrite(self._fd, data, 0)
        os.ftruncate(self._fd, len(data))

    def release(self) -> None:
        if self._fd is not None:
            try:
                os.ftruncate(self._fd, 0)  # no status left behind: nobody is watching
            except OSError:
                pass
            os.close(self._fd)
            self._fd = None


class DuckDBStore:
    def __init__(self, path: Path):
        self.path = Path(path)

    def exists(self) -> bool:
        return self.path.exists()

    def version(self) -> str:
        return engines.data_version(self.path)

    @contextmanager
    def reader(self) -> Iterator[DuckDBReader]:
        with engines.reader(self.path).connect() as conn:
            yield DuckDBReader(conn, attached=True)

    @contextmanager
    def writer(self, wait_message=None) -> Iterator[DuckDBWriter]:
        with writer_lock(self.path, wait_message):
            yield DuckDBWriter(self.path)

    def watcher(self) -> DuckDBWatcherLock:
        return DuckDBWatcherLock(self.watcher_path())

    def watcher_path(self) -> Path:
        return self.path.with_name(self.path.name + ".watcher")

    def watcher_status(self) -> tuple[bool, str | None]:
        """Whether a watcher (in any process) holds the election, and the status line it
        last wrote into the lock's file (None when it has written none yet). A shared
        ``flock`` that can be taken means nobody holds the exclusive one."""
        try:
            fd = os.open(self.watcher_path(), os.O_RDONLY)
        except FileNotFoundError:
            return False, None
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                fcntl.flock(fd, fcntl.LOCK_UN)  # nobody holds it: nobody is watching
                return False, None
            except BlockingIOError:
                pass
            line = os.pread(fd, 65536, 0).decode("utf-8", errors="replace").split("\n", 1)[0]
        finally:
            os.close(fd)
        return True, line or None
