"""The store behind one interface (issue 16): what reads and writes it sees only this.

A store holds data versions. Readers work on one version at a time; writers take turns and
each change makes one new version, whole, or none (a crash leaves the store as it was).

- ``Store``: ``version()`` (the current data version), ``reader()`` (a ``Reader`` pinned to
  the version current when it opened), ``writer()`` (the writer lock, held for the block:
  writers in every process queue), ``watcher()`` (the election of the one inbox watcher).
- ``Reader``: ``arrow(stmt)`` (the whole answer as an Arrow table), ``rows(stmt)`` (small
  lookups, as SQLAlchemy rows), ``rows_named(stmt)`` (the column names and the rows: a table
  of no rows still has its columns), ``batches(stmt, size)`` (Arrow record batches: exports);
  ``version`` and ``served`` (the table pages read for that version).
- ``Writer``: ``read()`` (a reader of the current version, under the lock) and
  ``change(fresh)`` (one transaction; leaving the block without an error publishes it as the
  new version; ``fresh``: start empty, as a build does, else from the current version).
- ``Change``: ``conn`` (a SQLAlchemy connection in the change's transaction), ``arrow``,
  ``rows``, ``scratch(name, columns)`` (columns to join with, for the change's duration),
  ``load(table, columns)`` (many rows at once), ``set_version(...)`` (the ``meta`` rows).
- ``WatcherLock``: ``try_acquire()``, ``still_held()``, ``write_status(text)``, ``release()``.
  ``Store.watcher_status()`` is what anyone (the Updates page, in any process, on any machine)
  reads of it: whether some watcher holds the election now, and the holder's last status line.

Statements are SQLAlchemy Core and answers Arrow, so nothing above ``data/`` knows which
store is in use. Two implementations: the DuckDB file swapped atomically (the default,
``data.stores.duckdb_store``, wrapping ``data.engine`` and ``data.store``) and a PostgreSQL
database (``PKPI_DATABASE_URL=postgresql://...``, ``data.stores.postgres_store``). How each
operation maps to each is in ``docs/store-interface.md``.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ContextManager, Iterator, Mapping, Protocol

import sqlalchemy as sa

from data import settings

if TYPE_CHECKING:
    import pyarrow as pa


class Reader(Protocol):
    served: sa.Table

    @property
    def version(self) -> str: ...
    def arrow(self, stmt) -> "pa.Table": ...
    def rows(self, stmt) -> list[sa.Row]: ...
    def rows_named(self, stmt) -> tuple[list[str], list[sa.Row]]: ...  # column names even with no row
    def batches(self, stmt, size: int) -> Iterator["pa.RecordBatch"]: ...
    def tables(self) -> set[str]: ...  # the store's tables and views (older layouts lack some)


class Change(Protocol):
    conn: sa.Connection

    def arrow(self, stmt) -> "pa.Table": ...
    def rows(self, stmt) -> list[sa.Row]: ...
    def scratch(self, name: str, columns: Mapping[str, object]) -> ContextManager[sa.TableClause]: ...
    def load(self, table: sa.Table, columns: Mapping[str, object]) -> int: ...
    def set_version(self, **values: str) -> None: ...


class Writer(Protocol):
    def read(self) -> ContextManager[Reader]: ...
    def change(self, fresh: bool = False) -> ContextManager[Change]: ...


class WatcherLock(Protocol):
    def try_acquire(self) -> bool: ...
    def still_held(self) -> bool: ...
    def write_status(self, text: str) -> None: ...
    def release(self) -> None: ...


class Store(Protocol):
    def exists(self) -> bool: ...
    def version(self) -> str: ...
    def reader(self) -> ContextManager[Reader]: ...
    def writer(self, wait_message=None) -> ContextManager[Writer]: ...
    def watcher(self) -> WatcherLock: ...
    def watcher_status(self) -> tuple[bool, str | None]: ...  # (a watcher is elected now, its status line)


def reading(engine: sa.Engine) -> ContextManager[Reader]:
    """A reader on one connection of an engine handed over (a test's store, a writer's
    snapshot), for functions that take an ``engine`` instead of reading the current version."""
    from data.stores.duckdb_store import reading as on_engine

    return on_engine(engine)


def reader_for(engine: sa.Engine | None = None) -> ContextManager[Reader]:
    """A reader on ``engine`` when one is handed over (a test's store, a writer's snapshot),
    else a reader of the current version of the store the settings name."""
    return reading(engine) if engine is not None else open_store().reader()


def is_url(where) -> bool:
    """``where`` names a PostgreSQL store (a ``postgresql://`` URL) rather than a file."""
    return isinstance(where, str) and where.split(":", 1)[0].split("+", 1)[0] in ("postgresql", "postgres")


def default_target() -> Path | str:
    """What the settings name: ``PKPI_DATABASE_URL`` when set, else the DuckDB file ``PKPI_DB``."""
    return settings.database_url() or settings.db_path()


def describe(where: Path | str) -> str:
    """``where`` for messages (a URL without its password)."""
    if is_url(where):
        from data.stores.postgres_store import redact
        return redact(where)
    return str(where)


def open_store(where: Path | str | None = None) -> Store:
    """The store ``where`` names, else the one the settings name (``default_target``): a
    ``postgresql://`` URL opens the PostgreSQL store, anything else is the DuckDB file's path."""
    where = where if where is not None and str(where) != "" else default_target()
    if is_url(where):
        from data.stores.postgres_store import PostgresStore

        return PostgresStore(where)
    from data.stores.duckdb_store import DuckDBStore

    return DuckDBStore(Path(where))


def as_store(store) -> Store:
    """``store`` itself when it is already a store (has ``writer``), else ``open_store(store)``
    (a DuckDB file's path, a ``postgresql://`` URL, or None for the settings' choice)."""
    if hasattr(store, "writer") and hasattr(store, "reader"):
        return store
    return open_store(store)


def target_of(store) -> Path | str:
    """What ``store`` names, as ``open_store`` takes it and another process can be given it: a
    ``postgresql://`` URL as is, a DuckDB file as a ``Path``, None as the settings' choice."""
    if hasattr(store, "writer"):
        return store.url if hasattr(store, "url") else store.path
    if store is None or str(store) == "":
        return default_target()
    return store if is_url(store) else Path(store)
