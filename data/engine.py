"""The one place that opens the DuckDB store.

DuckDB allows one writing process per file, and while it writes no other process may even
read. So nothing ever writes to the file being served: a build or an intake writes a
complete new file beside it and swaps it in with an atomic rename (``data.store``). Readers
open the store read-only; ``reader()`` notices the swap (the file's inode changes) and opens
the new snapshot, while connections already open keep reading the old one until they close.

Why readers ATTACH the file to an in-memory database instead of opening it directly:
DuckDB keeps one database instance per *path* in each process and hands it to every new
connection to that path. While any connection to the old snapshot is still open (a request
in flight), a "new" connection to the same path would get the old snapshot, and a busy
server could keep serving it indefinitely. An attached file is opened afresh, by inode, for
each connection, so a connection made after the swap always reads the new snapshot.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import sqlalchemy as sa

from data import schema, settings

if TYPE_CHECKING:  # imported where used: filing a dropped file needs neither (a third of a second)
    import pandas as pd
    import pyarrow as pa

_lock = threading.Lock()
_readers: dict[str, tuple[tuple[int, int], sa.Engine]] = {}


def make_engine(path: Path, read_only: bool) -> sa.Engine:
    """An engine on ``path`` itself: for the writer of a new snapshot, and one-off reads."""
    return sa.create_engine(f"duckdb:///{path}", connect_args={"read_only": read_only})


def snapshot_engine(path: Path) -> sa.Engine:
    """A read-only engine whose every connection attaches the file ``path`` names now."""
    # QueuePool: disposing the engine must leave connections in use working until returned.
    engine = sa.create_engine("duckdb:///:memory:", poolclass=sa.pool.QueuePool)
    literal = str(Path(path).resolve()).replace("'", "''")

    @sa.event.listens_for(engine, "connect")
    def _attach(dbapi_connection, _record):
        dbapi_connection.execute(f"ATTACH '{literal}' AS store (READ_ONLY)")
        dbapi_connection.execute("USE store")

    return engine


def reader(path: Path | None = None) -> sa.Engine:
    """A read-only engine on the current snapshot of the store."""
    path = Path(path or settings.db_path())
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise FileNotFoundError(
            f"no store at {path}: run `python manage.py build` (the run command does it on first run)"
        ) from None
    stamp = (st.st_ino, st.st_mtime_ns)
    key = str(path)
    with _lock:
        cached = _readers.get(key)
        if cached and cached[0] == stamp:
            return cached[1]
        engine = snapshot_engine(path)
        _readers[key] = (stamp, engine)
    if cached:
        cached[1].dispose()  # connections checked out keep working until returned
    return engine


def data_version(path: Path | None = None) -> str:
    """The content hash the store was built from: a cache key for anything derived."""
    with reader(path).connect() as conn:
        return conn.execute(sa.select(schema.meta.c.value).where(schema.meta.c.key == "data_version")).scalar_one()


# -- Running a select: SQLAlchemy builds and binds it, DuckDB runs it and hands over Arrow --
#
# Fetching rows through SQLAlchemy builds a Python tuple per row and a Python object per
# cell; at a million observations that is most of the cost of a page (15 s for 700,000 rows
# against 1 s this way, see bench/README.md). So the statement is compiled by SQLAlchemy
# (the parameters stay bound, never pasted into SQL text) and executed on the raw DuckDB
# connection, whose result comes back as Arrow columns.


def compiled(stmt, engine: sa.Engine) -> tuple[str, list]:
    """The SQL text of ``stmt`` for ``engine`` and its parameters, in order."""
    c = stmt.compile(dialect=engine.dialect, compile_kwargs={"render_postcompile": True})
    return c.string, [c.params[k] for k in (c.positiontup or ())]


def raw_connection(conn):
    """The DuckDB connection under a SQLAlchemy one (same transaction), progress bar off."""
    raw = conn.connection.driver_connection
    raw.execute("SET enable_progress_bar = false")  # DuckDB would draw one on stdout
    return raw


def arrow(stmt, engine: sa.Engine) -> pa.Table:
    """The whole answer of ``stmt`` as an Arrow table."""
    sql, params = compiled(stmt, engine)
    with engine.connect() as conn:
        return raw_connection(conn).sql(sql, params=params).to_arrow_table()


def arrow_batches(stmt, engine: sa.Engine, size: int) -> Iterator[pa.RecordBatch]:
    """The answer of ``stmt`` in Arrow batches of at most ``size`` rows, on one connection
    held until the last batch is read (or the iterator is closed)."""
    sql, params = compiled(stmt, engine)
    with engine.connect() as conn:
        yield from raw_connection(conn).sql(sql, params=params).to_arrow_reader(size)


def to_pandas(table: pa.Table) -> pd.DataFrame:
    """An Arrow answer as the frame SQLAlchemy's rows would make, column for column: dates
    as ``datetime.date`` (None when open), text as pandas strings."""
    import pandas as pd
    import pyarrow as pa

    if table.num_rows == 0:  # as a frame of no Python rows: untyped columns
        return pd.DataFrame([], columns=table.column_names)
    frame = table.to_pandas(date_as_object=True)
    # Python ints and floats became int64 and float64: widen INTEGER and REAL columns alike.
    for name, kind in zip(table.column_names, table.schema.types):
        if pa.types.is_float32(kind):
            frame[name] = frame[name].astype("float64")
        elif pa.types.is_integer(kind):  # with NULLs, pandas infers from the Python values
            column = table.column(name)
            frame[name] = (frame[name].astype("int64") if not column.null_count
                           else pd.Series(column.to_pylist(), index=frame.index))
    return frame
