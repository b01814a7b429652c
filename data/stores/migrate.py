"""Copy a DuckDB store into an empty PostgreSQL database (``manage.py migrate-store``).

Everything is copied: every table of the store (the curated rows, every vintage of every
value, every processed file and its errors, every withdrawal, the ``meta`` rows), as one
change of the PostgreSQL store, so the copy becomes its first data version whole or not at
all. Before that change commits, the rows of each table are counted on both sides; any
difference rolls the copy back. A database that already holds tables is refused: the copy
never mixes with, or replaces, data that is already there.

The DuckDB file is read as one snapshot (the file current when the copy starts); values the
drop folder adds to it afterwards are not copied, so stop the watchers (``PKPI_WATCH=0``, no
``manage.py watch``) before migrating, and point every server at PostgreSQL after.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from data import engine as engines, schema
from data.plaintext import visible
from data.stores import duckdb_store, postgres_store

_BATCH = 50_000


class MigrationRefused(Exception):
    """Nothing was copied; the message says why."""


@dataclass
class Copied:
    source: Path
    target: str  # the URL without its password
    data_version: str
    counts: dict[str, tuple[int, int]]  # table: (rows in DuckDB, rows in PostgreSQL)

    def mismatched(self) -> dict[str, tuple[int, int]]:
        return {name: c for name, c in self.counts.items() if c[0] != c[1]}

    def table(self) -> str:
        width = max(len(name) for name in self.counts)
        lines = [f"  {'table':<{width}}  {'DuckDB':>10}  {'PostgreSQL':>10}"]
        lines += [f"  {name:<{width}}  {a:>10,}  {b:>10,}" for name, (a, b) in self.counts.items()]
        return "\n".join(lines)


def _occupants(conn: sa.Connection) -> list[str]:
    """Tables, views and sequences already in the database's schema, and served schemas."""
    rows = conn.execute(sa.text(
        "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'v', 'm', 'p', 'S', 'f') "
        "UNION ALL SELECT nspname || '.*' FROM pg_namespace WHERE nspname LIKE 'pkpi\\_v%' "
        "ORDER BY 1")).scalars()
    return list(rows)


def _refuse_unless_empty(store: postgres_store.PostgresStore) -> None:
    with store._pooled.connect() as conn:
        found = _occupants(conn)
    if found:
        shown = ", ".join(found[:8]) + (f" and {len(found) - 8} more" if len(found) > 8 else "")
        raise MigrationRefused(
            f"{postgres_store.redact(store.url)} is not empty: it already holds {len(found)} "
            f"table(s) or other objects ({shown}). migrate-store only copies into an empty database, "
            f"so that nothing already there is mixed with or replaced by the copy. Create a new "
            f"database (createdb NAME) and name it with --to or PKPI_DATABASE_URL.")


def migrate(source: Path, url: str, batch: int = _BATCH) -> Copied:
    """Copy the DuckDB store ``source`` into the empty PostgreSQL database ``url``."""
    source = Path(source)
    if not source.is_file():
        raise MigrationRefused(f"no DuckDB store at {source}: name it with --from (or PKPI_DB / PKPI_HOME)")
    target = postgres_store.PostgresStore(url)
    _refuse_unless_empty(target)
    counts: dict[str, tuple[int, int]] = {}
    engine = engines.snapshot_engine(source)
    try:
        with target.writer() as writer:
            _refuse_unless_empty(target)  # again under the lock: two copies at once, one wins
            with duckdb_store.reading(engine) as current, writer.change(fresh=True) as change:
                present = current.tables()
                missing = [t for t in ("meta", "observation_vintages") if t not in present]
                if missing:
                    raise MigrationRefused(f"{source} is not a store of this project (no {', '.join(missing)} table)")
                for table in postgres_store.PG_METADATA.sorted_tables:  # parents before children
                    if table.name not in present:
                        continue  # a store of an older layout: the table stays empty
                    mine = schema.metadata.tables[table.name]
                    have = {c["name"] for c in sa.inspect(current.conn).get_columns(table.name)}
                    columns = [c for c in mine.columns if c.name in have]
                    for rows in current.batches(sa.select(*columns), batch):
                        _refuse_nul(mine, rows)
                        try:
                            change.load(table, {c.name: rows.column(c.name) for c in columns})
                        except Exception as exc:  # noqa: BLE001 - said with the table it happened in
                            raise MigrationRefused(f"copying {table.name} failed, nothing was copied: "
                                                   f"{str(exc).strip().splitlines()[0]}") from exc
                    counts[table.name] = (_count(current, mine), _count(change, mine))
                served = schema.served
                if schema.SERVED in present:
                    counts[schema.SERVED] = (_count(current, served), None)
                wrong = {n: c for n, c in counts.items() if c[1] is not None and c[0] != c[1]}
                if wrong:
                    raise MigrationRefused(f"row counts differ after the copy, nothing was copied: {wrong}")
                version = change.rows(sa.select(schema.meta.c.value).where(schema.meta.c.key == "data_version"))
                if not version:
                    raise MigrationRefused(f"{source} has no data version in its meta table")
        # The served table was built as the change committed, from the copied rows: counted in
        # the new version, beside the DuckDB store's own (they differ only if that was stale).
        with target.reader() as r:
            if schema.SERVED in counts:
                counts[schema.SERVED] = (counts[schema.SERVED][0], _count(r, schema.served))
            data_version = r.version
    finally:
        engine.dispose()
    return Copied(source, postgres_store.redact(url), data_version, counts)


def _refuse_nul(table: sa.Table, rows: pa.RecordBatch) -> None:
    """Refuse the copy, naming where, if a text value of ``rows`` holds U+0000: DuckDB keeps
    the character, PostgreSQL's text cannot (the drop folder and the curated check refuse it
    now, but a store written before they did may hold one)."""
    for name in rows.schema.names:
        column = rows.column(name)
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            continue
        found = pc.match_substring(column, "\x00")
        if not pc.any(found).as_py():
            continue
        at = pc.index(found, True).as_py()
        keys = [c.name for c in table.primary_key.columns if c.name in rows.schema.names]
        key = ", ".join(f"{k} = {rows.column(k)[at].as_py()!r}" for k in keys) or "(no key)"
        text = visible(column[at].as_py())
        shown = text if len(text) <= 80 else text[:77] + "..."
        raise MigrationRefused(
            f"copying {table.name} failed, nothing was copied: the row {key} holds the character "
            f"U+0000 (NULL) in its column {name} ({shown!r}, the character shown as [U+0000]), and "
            f"PostgreSQL cannot store it in text. Remove the character from that value in the "
            f"DuckDB store, then copy again.")


def _count(on, table) -> int:
    return on.rows(sa.select(sa.func.count()).select_from(table))[0][0]
