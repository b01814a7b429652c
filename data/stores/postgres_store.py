"""The PostgreSQL store (``PKPI_DATABASE_URL=postgresql://...``): one database that several
machines read and write with transactions (issue 16; the design is docs/store-interface.md).

- **A data version is a committed transaction.** A change runs in one transaction; before it
  commits, the served table of the new version is built in the same transaction, in a schema
  of its own (``pkpi_v<seq>.served_observations``, sorted by indicator and indexed on it), and
  a row of ``pkpi_versions`` (seq, data_version, served schema) names it. Readers on any
  machine see the version before the commit or the one after, never a mix.
- **Readers** work in one ``REPEATABLE READ`` transaction each. Its first statement reads the
  newest ``pkpi_versions`` row (the snapshot is taken there, so the vintages, the intake log
  and "as of" joins all read that version); the reader then puts that version's schema first
  on its ``search_path``, so the unchanged statements of ``data.selection`` (which name
  ``served_observations``) read that version's served table. Each version's table has a name
  of its own because catalog lookups are not MVCC: a table swapped in under one name would
  look empty to a reader whose snapshot is older (``tests/test_pg_cluster.py``).
- **Old versions are dropped once no reader can need them.** A reader holds a shared
  transaction-level advisory lock on its version's number for its whole transaction (taken
  right after it read the number; it then checks that the schema still exists, and starts
  again on a fresh snapshot if it does not). Each writer, in its change's transaction, drops
  every served schema older than the version it replaces whose lock it can take exclusively
  with ``pg_try_advisory_xact_lock`` (never waiting): one still read is skipped and dropped by
  a later writer. The version being replaced is never dropped by the change that replaces it,
  since readers that started before the commit still read it; so a store holds two served
  tables, plus any a long reader still holds. A change that touched none of the served
  table's inputs (vintages, indicators, sources, areas: PostgreSQL counts the rows each
  transaction changed per table) builds none: its version reads the previous version's
  schema, which is dropped only once no version using it is current or read. A change that
  touched them updates the previous version's table in place (``_delta_served``), and its
  version shares that schema: the rows of the vintages it wrote (found by ``xmin``) and of
  the indicators whose indicator, source or area row it changed are deleted and inserted
  again, and MVCC keeps each older reader's rows as its snapshot saw them. A deletion, or a
  change of more than a quarter of the table, builds a new table in a new schema instead.
- **The writer lock** is ``pg_advisory_lock`` taken on a connection of its own, and the
  change's transaction runs on that same connection: if the connection dies (the process is
  killed, the machine vanishes) the server rolls the transaction back and releases the lock
  together, so no second writer can ever run beside a half-dead one. **The watcher
  election** is ``pg_try_advisory_lock`` on the watcher's own connection; a living holder
  can lose it (its connection broke), so ``still_held`` asks the server.
- Every connection sets TCP keepalives (a holder on a vanished machine loses its locks in
  about 20 s instead of the kernel's two hours) unless the URL sets them itself.
- Text columns are ``COLLATE "C"`` (byte order, as DuckDB sorts), whatever the database's
  default collation is.
"""
from __future__ import annotations

import re
import threading
from contextlib import contextmanager
from datetime import date, datetime
from typing import TYPE_CHECKING, Iterator, Mapping
from urllib.parse import urlsplit

import sqlalchemy as sa

from data import schema

if TYPE_CHECKING:
    import pyarrow as pa

# Advisory lock keys (per database, so one store per database). The two-integer form, used
# for the served versions, is a key space of its own beside the bigint one.
WRITER_KEY = 0x706B7069_0001  # "pkpi", 1
WATCHER_KEY = 0x706B7069_0002
VERSION_CLASS = 0x706B7069  # (VERSION_CLASS, seq): readers of served version seq

VERSIONS = "pkpi_versions"
WATCHER_STATUS = "pkpi_watcher"
KEEPALIVES = {"keepalives": "1", "keepalives_idle": "10", "keepalives_interval": "3",
              "keepalives_count": "3", "tcp_user_timeout": "30000"}
_READ_ATTEMPTS = 50


def served_schema(seq: int) -> str:
    return f"pkpi_v{int(seq)}"


# -- The tables, as PostgreSQL holds them ------------------------------------------------

def _pg_metadata() -> sa.MetaData:
    """``schema.metadata`` with every text column ``COLLATE "C"``, so that sorting and
    grouping give DuckDB's (byte) order on any database."""
    out = sa.MetaData()
    for table in schema.metadata.sorted_tables:
        if table.info.get("view"):
            continue
        copy = table.to_metadata(out)
        for column in copy.columns:
            if isinstance(column.type, sa.Text):
                column.type = sa.Text(collation="C")
    return out


PG_METADATA = _pg_metadata()
STORE_TABLES = [t.name for t in PG_METADATA.sorted_tables]  # in key order: parents first


def create_tables(conn: sa.Connection) -> None:
    """Every table of the store, the ``observations`` view and the version log, in the
    caller's transaction (PostgreSQL's DDL is transactional)."""
    PG_METADATA.create_all(conn, checkfirst=True)
    conn.exec_driver_sql("CREATE OR REPLACE VIEW observations AS SELECT * FROM observation_vintages "
                         "WHERE is_latest")
    conn.exec_driver_sql(
        f"CREATE TABLE IF NOT EXISTS {VERSIONS} (seq integer PRIMARY KEY, "
        f"data_version text COLLATE \"C\" NOT NULL, served_schema text, "
        f"published_at timestamptz NOT NULL DEFAULT now())")


def _has_table(conn, name: str) -> bool:
    return conn.execute(sa.text("SELECT to_regclass(:n) IS NOT NULL"), {"n": name}).scalar()


# -- Engines: one pool per URL per process -------------------------------------------------

def sqlalchemy_url(url: str) -> sa.URL:
    """``postgresql://...`` (as libpq and operations teams write it) for SQLAlchemy's
    psycopg 3 dialect, with TCP keepalives unless the URL sets them."""
    parsed = sa.make_url(url)
    if parsed.get_backend_name() not in ("postgresql", "postgres"):
        raise ValueError(f"not a PostgreSQL URL: {redact(url)}")
    query = dict(parsed.query)
    for key, value in KEEPALIVES.items():
        query.setdefault(key, value)
    query.setdefault("application_name", "pkpi")
    return parsed.set(drivername="postgresql+psycopg", query=query)


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    try:
        shown = sa.make_url(url).render_as_string(hide_password=True)
        return re.sub(r"(?i)([?&]password=)[^&]*", r"\1***", shown)
    except Exception:  # noqa: BLE001 - a message must never fail
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.hostname or ''}{parts.path}"


_lock = threading.Lock()
_engines: dict[str, tuple[sa.Engine, sa.Engine]] = {}


def _engines_for(url: str) -> tuple[sa.Engine, sa.Engine]:
    """(pooled engine for readers, engine without a pool for the lock holders' own
    connections: closing one must end its server session and so release its locks)."""
    with _lock:
        got = _engines.get(url)
        if got is None:
            target = sqlalchemy_url(url)
            got = (sa.create_engine(target, pool_pre_ping=True),
                   sa.create_engine(target, poolclass=sa.pool.NullPool))
            _engines[url] = got
        return got


def dispose(url: str | None = None) -> None:
    """Close this process's connections to ``url`` (every URL when None)."""
    with _lock:
        urls = [url] if url else list(_engines)
        found = [_engines.pop(u) for u in urls if u in _engines]
    for pooled, dedicated in found:
        pooled.dispose()
        dedicated.dispose()


# -- Answers as Arrow ---------------------------------------------------------------------

def _arrow_type(oid: int):
    """The Arrow type DuckDB gives the same column (so answers compare equal across stores)."""
    import pyarrow as pa
    return {16: pa.bool_(), 20: pa.int64(), 21: pa.int16(), 23: pa.int32(), 25: pa.string(),
            1043: pa.string(), 19: pa.string(), 700: pa.float32(), 701: pa.float64(),
            1082: pa.date32(), 1114: pa.timestamp("us")}.get(oid)


def _schema_of(description) -> "pa.Schema":
    import pyarrow as pa
    return pa.schema([pa.field(d.name, _arrow_type(d.type_code) or pa.null()) for d in description])


def _batch(rows, description, arrow_schema) -> "pa.RecordBatch":
    import pyarrow as pa
    columns = list(zip(*rows)) if rows else [() for _ in description]
    arrays = []
    for values, field in zip(columns, arrow_schema):
        if pa.types.is_null(field.type):  # a type not mapped above: Arrow infers it
            arrays.append(pa.array(list(values)))
        else:
            arrays.append(pa.array(values, type=field.type))
    names = [d.name for d in description]
    return pa.RecordBatch.from_arrays(arrays, names=names)


def _arrow_table(result) -> "pa.Table":
    import pyarrow as pa
    description = result.cursor.description
    rows = result.fetchall()
    batch = _batch(rows, description, _schema_of(description))
    return pa.Table.from_batches([batch])


class PostgresReader:
    """One data version, read in one REPEATABLE READ transaction (see the module's note)."""

    served = schema.served  # resolved through the search_path to this version's table

    def __init__(self, conn: sa.Connection, version: str, seq: int, home: str):
        self.conn = conn
        self._version = version
        self.seq = seq
        self.home = home  # the schema of the store's tables (the served one is put before it)

    @property
    def version(self) -> str:
        return self._version

    def arrow(self, stmt) -> "pa.Table":
        return _arrow_table(self.conn.execute(stmt))

    def rows(self, stmt) -> list[sa.Row]:
        return self.conn.execute(stmt).all()

    def rows_named(self, stmt) -> tuple[list[str], list[sa.Row]]:
        result = self.conn.execute(stmt)
        return list(result.keys()), result.all()

    def batches(self, stmt, size: int) -> Iterator["pa.RecordBatch"]:
        """Record batches of at most ``size`` rows from a server-side cursor in the reader's
        transaction (the answer is never held whole on either side)."""
        result = self.conn.execution_options(stream_results=True, max_row_buffer=size).execute(stmt)
        description = result.cursor.description
        arrow_schema = _schema_of(description)
        try:
            for rows in result.partitions(size):
                yield _batch(rows, description, arrow_schema)
        finally:
            result.close()

    def tables(self) -> set[str]:
        return set(self.conn.execute(sa.text(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'v', 'p') AND n.nspname = :home"), {"home": self.home}).scalars()) | {
            schema.SERVED}


@contextmanager
def _reading(engine: sa.Engine) -> Iterator[PostgresReader]:
    with engine.connect() as conn:
        conn.execution_options(isolation_level="REPEATABLE READ")
        for attempt in range(_READ_ATTEMPTS):
            tx = conn.begin()
            # The first statement takes the snapshot and reads the newest version in it, and
            # pins that version (the subquery keeps the lock to the one row); the second checks
            # the version's schema is still there and puts it first on the search_path, with
            # dates and doubles as text the way the export expects them whatever the server's
            # defaults (ISO dates, shortest exact doubles). Two round trips per reader.
            row = conn.execute(sa.text(
                f"SELECT seq, data_version, served_schema, pg_try_advisory_xact_lock_shared("
                f"CAST(:k AS integer), seq), current_schema() FROM (SELECT seq, data_version, served_schema FROM {VERSIONS} "
                f"ORDER BY seq DESC LIMIT 1) newest"), {"k": VERSION_CLASS}).one_or_none()
            if row is None:
                tx.rollback()
                raise LookupError("the PostgreSQL store holds no data version yet: run `python manage.py "
                                  "build` (or `migrate-store` to copy a DuckDB store)")
            seq, version, served, held, home = row
            there = conn.execute(sa.text(
                "SELECT to_regnamespace(:s) IS NOT NULL, "
                "set_config('search_path', :s || ', ' || current_setting('search_path'), true), "
                "set_config('DateStyle', 'ISO, YMD', true), set_config('extra_float_digits', '1', true)"),
                {"s": served}).one()[0]
            if held and there:
                break
            tx.rollback()  # being dropped, or dropped, by a writer: a newer version is current
            if attempt > 5:
                import time
                time.sleep(0.01 * attempt)
        else:
            raise RuntimeError(f"could not pin a data version after {_READ_ATTEMPTS} attempts")
        try:
            yield PostgresReader(conn, version, seq, home)
        finally:
            tx.rollback()  # a reader writes nothing; ending its transaction frees its version


# -- Writing --------------------------------------------------------------------------------

_NUMPY_KINDS = {"b": "boolean", "i": "bigint", "u": "bigint", "f": "double precision"}


def _sql_type(values) -> str:
    """The PostgreSQL type of a column handed to ``scratch``: NumPy's dtype, else the
    first value that is not None."""
    dtype = getattr(values, "dtype", None)
    kind = getattr(dtype, "kind", "O")
    if kind in _NUMPY_KINDS:
        return _NUMPY_KINDS[kind]
    if kind == "M":
        return "date" if str(dtype).endswith("[D]") else "timestamp"
    first = next((v for v in _values(values) if v is not None), None)
    if isinstance(first, bool):
        return "boolean"
    if isinstance(first, int):
        return "bigint"
    if isinstance(first, float):
        return "double precision"
    if isinstance(first, datetime):
        return "timestamp"
    if isinstance(first, date):
        return "date"
    return 'text COLLATE "C"'


def _values(values) -> list:
    """A column as Python values (NumPy, Arrow, a list)."""
    if hasattr(values, "to_pylist"):
        return values.to_pylist()
    dtype = getattr(values, "dtype", None)
    if dtype is not None and dtype.kind == "M":
        unit = "D" if str(dtype).endswith("[D]") else "us"
        values = values.astype(f"datetime64[{unit}]")  # tolist() of nanoseconds gives integers
    if hasattr(values, "tolist"):
        out = values.tolist()
        if dtype is not None and dtype.kind == "f":  # NaN is NULL, as DuckDB reads a NumPy column
            out = [None if v != v else v for v in out]
        return out
    return list(values)


def _copy(conn: sa.Connection, table: str, columns: Mapping[str, object]) -> int:
    """COPY the rows ``columns`` hold into ``table`` (in the connection's transaction)."""
    names = list(columns)
    lists = [_values(columns[n]) for n in names]
    lengths = {len(v) for v in lists}
    if len(lengths) > 1:
        raise ValueError(f"columns for {table} differ in length: {sorted(lengths)}")
    quoted = ", ".join(f'"{n}"' for n in names)
    raw = conn.connection.driver_connection
    n = 0
    with raw.cursor() as cur:
        with cur.copy(f"COPY {table} ({quoted}) FROM STDIN") as copy:
            for row in zip(*lists):
                copy.write_row(row)
                n += 1
    return n


class PostgresChange:
    """One transaction on the live tables (on the writer lock's own connection)."""

    def __init__(self, conn: sa.Connection):
        self.conn = conn
        self._scratch = 0

    def arrow(self, stmt) -> "pa.Table":
        return _arrow_table(self.conn.execute(stmt))

    def rows(self, stmt) -> list[sa.Row]:
        return self.conn.execute(stmt).all()

    @contextmanager
    def scratch(self, name: str, columns: Mapping[str, object]) -> Iterator[sa.TableClause]:
        """``columns`` as a temporary table the change's statements can join with, for the
        block (filled with COPY; dropped when the block ends, and at commit in any case)."""
        self._scratch += 1
        table = f"pkpi_scratch_{self._scratch}_{name}"
        spec = ", ".join(f'"{k}" {_sql_type(v)}' for k, v in columns.items())
        self.conn.exec_driver_sql(f"CREATE TEMP TABLE {table} ({spec}) ON COMMIT DROP")
        _copy(self.conn, table, columns)
        self.conn.exec_driver_sql(f"ANALYZE {table}")
        yield sa.table(table, *(sa.column(k) for k in columns))
        # Not on an error: the transaction may be aborted (a DROP would then hide the error),
        # and its rollback removes the table anyway.
        self.conn.exec_driver_sql(f"DROP TABLE IF EXISTS {table}")

    def load(self, table: sa.Table, columns: Mapping[str, object]) -> int:
        """Insert the rows that ``columns`` hold (COPY: one array per column of ``table``)."""
        return _copy(self.conn, table.name, columns)

    def set_version(self, **values: str) -> None:
        """Rewrite the ``meta`` rows named (``data_version``, ``curated_version``)."""
        m = schema.meta
        self.conn.execute(sa.delete(m).where(m.c.key.in_(sorted(values))))
        self.conn.execute(m.insert(), [{"key": k, "value": v} for k, v in sorted(values.items())])


def _build_served(conn: sa.Connection, seq: int) -> str:
    """This change's served table: ``pkpi_v<seq>.served_observations``, the wide select in
    the pages' order, indexed on the indicator (the charts) and on the family in the pages'
    order (the Data page), statistics gathered."""
    name = served_schema(seq)
    select = schema.wide_select()
    by = [select.selected_columns[c] for c in schema.SERVED_ORDER]
    by[2] = by[2].nulls_first()
    sql = select.order_by(*by).compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
    conn.exec_driver_sql(f"CREATE SCHEMA {name}")
    conn.exec_driver_sql(f"CREATE TABLE {name}.{schema.SERVED} AS {sql}")
    conn.exec_driver_sql(f"CREATE INDEX ON {name}.{schema.SERVED} (indicator_id)")
    conn.exec_driver_sql(f"CREATE INDEX ON {name}.{schema.SERVED} (obs_id)")  # a delta's deletions
    # The Data page of one family: its first rows in the pages' order and its count. Without
    # it, PostgreSQL walked the indicator index through every other family's rows (at a
    # million values, /data?family=fatalities took 142 ms for its rows and 86 ms for its
    # count; with it, 12 and 8 ms).
    order = ", ".join(f"{c} NULLS FIRST" if c == "period_start" else c for c in schema.SERVED_ORDER)
    conn.exec_driver_sql(f"CREATE INDEX ON {name}.{schema.SERVED} (family, {order})")
    conn.exec_driver_sql(f"ANALYZE {name}.{schema.SERVED}")
    return name


_SERVED_INPUTS = ("observation_vintages", "indicators", "sources", "areas")
_DIMENSIONS = (("indicators", "indicator_id"), ("sources", "source_id"), ("areas", "area_id"))
# Beyond this share of the served rows, a delta would copy little and leave the table far
# from its sorted order: build it whole instead (as data.store.DELTA_SHARE for DuckDB).
DELTA_SHARE = 0.25
_DELTA = "pkpi_served_delta"


def _counts(conn: sa.Connection) -> dict[str, tuple[int, int]] | None:
    """(rows inserted or updated, rows deleted) per table the served table is made of, as
    PostgreSQL counts them for this backend (COPY included), or None without ``track_counts``.
    The counts are the backend's pending statistics: they also hold earlier transactions' until
    the backend reports them (when idle, at most once a second), so a change takes them at its
    start and at its end, and the difference is its own (nothing is reported mid-transaction)."""
    if conn.execute(sa.text("SELECT current_setting('track_counts')")).scalar() != "on":
        return None
    rows = conn.execute(sa.text(
        "SELECT n.name, coalesce(pg_stat_get_xact_tuples_inserted(t.oid) + pg_stat_get_xact_tuples_updated(t.oid), 0), "
        "coalesce(pg_stat_get_xact_tuples_deleted(t.oid), 0) FROM unnest(CAST(:names AS text[])) AS n(name) "
        "CROSS JOIN LATERAL (SELECT to_regclass(n.name) AS oid) t"), {"names": list(_SERVED_INPUTS)}).all()
    return {name: (int(w), int(d)) for name, w, d in rows}


def _since(before, after) -> dict[str, tuple[int, int]] | None:
    """What this change wrote, per table: ``after`` less ``before`` (None if not counted)."""
    if before is None or after is None:
        return None
    return {t: (after[t][0] - before[t][0], after[t][1] - before[t][1]) for t in after}


def _changed_keys(conn: sa.Connection, table: str, key: str, written: int, deleted: int) -> list[str] | None:
    """The keys of the rows of ``table`` this transaction inserted or updated (their
    ``xmin`` is its id), or None when that cannot be told: a row was deleted, or rows were
    written that are not found so (a row written twice, or in a subtransaction)."""
    if deleted:
        return None
    if not written:
        return []
    keys = list(conn.execute(sa.text(f"SELECT {key} FROM {table} WHERE xmin = pg_current_xact_id()::xid")).scalars())
    return keys if len(keys) == written else None


def _delta_served(conn: sa.Connection, previous: str, wrote: dict[str, tuple[int, int]]) -> str | None:
    """Bring the previous version's served table (in schema ``previous``) up to date in place,
    in this change's transaction, and return ``previous`` (the new version then reads the same
    schema); or None when it must be built whole instead.

    In place is safe because a served row's version is told by MVCC, not by the table: a
    reader's snapshot is taken by its first statement, which reads its version's number, so
    a reader of an older version sharing the schema sees the rows as they were then, and
    readers of the new version see them as this transaction leaves them. Only swapping
    tables would be unsafe (catalog lookups are not MVCC), and nothing is swapped here.

    A served row is one latest vintage joined with its indicator, source and area, so the
    rows deleted and inserted again (from the wide select) are those of a vintage this
    transaction inserted or updated (an intake's new values, and the values they revise, no
    longer latest) and those of an indicator whose own row, or a source or area it uses,
    changed. The rows written are found by their ``xmin`` (this transaction's id), and only
    trusted when their number is the number PostgreSQL counted for the change (``wrote``,
    from ``_since``). A deleted vintage or dimension row, a change beyond ``DELTA_SHARE`` of
    the table, or a served table of other columns (an older layout) means a full build.
    Rows inserted go at the table's end: the table drifts from its sorted order until the
    next full build (its index on the indicator still finds them)."""
    written, deleted = wrote["observation_vintages"]
    if deleted:
        return None
    old = f'"{previous}".{schema.SERVED}'
    wide = schema.wide_select()
    columns = list(conn.execute(sa.text(
        "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(:t) AND attnum > 0 AND NOT attisdropped "
        "ORDER BY attnum"), {"t": old}).scalars())
    if columns != [c.name for c in wide.selected_columns]:
        return None
    changed: set[str] = set()
    v = schema.observation_vintages
    for table, key in _DIMENSIONS:
        keys = _changed_keys(conn, table, key, *wrote[table])
        if keys is None:
            return None
        if keys and table == "indicators":
            changed.update(keys)
        elif keys:
            column = v.c.source_id if table == "sources" else v.c.area
            changed.update(conn.execute(sa.select(sa.distinct(v.c.indicator_id)).where(column.in_(keys))).scalars())
    conn.exec_driver_sql(f"CREATE TEMP TABLE {_DELTA} ON COMMIT DROP AS SELECT obs_id FROM observation_vintages "
                         f"WHERE xmin = pg_current_xact_id()::xid")
    found = conn.exec_driver_sql(f"SELECT count(*) FROM {_DELTA}").scalar()
    try:
        if found != written:
            return None
        total = conn.exec_driver_sql(f"SELECT reltuples FROM pg_class WHERE oid = to_regclass('{old}')").scalar()
        replaced = conn.execute(sa.text(f"SELECT count(*) FROM {old} WHERE indicator_id = ANY(:ids)"),
                                {"ids": sorted(changed)}).scalar()
        if found + replaced > DELTA_SHARE * max(total or 0, 1):
            return None
        conn.exec_driver_sql(f"ANALYZE {_DELTA}")
        conn.execute(sa.text(f"DELETE FROM {old} WHERE indicator_id = ANY(:ids) OR obs_id IN "
                             f"(SELECT obs_id FROM {_DELTA})"), {"ids": sorted(changed)})
        pick = wide.selected_columns
        fresh = pick.obs_id.in_(sa.select(sa.table(_DELTA, sa.column("obs_id")).c.obs_id))
        if changed:
            fresh = sa.or_(fresh, pick.indicator_id.in_(sorted(changed)))
        by = [pick[c] for c in schema.SERVED_ORDER]
        by[2] = by[2].nulls_first()
        sql = wide.where(fresh).order_by(*by).compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
        conn.exec_driver_sql(f"INSERT INTO {old} {sql}")
        return previous
    finally:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS {_DELTA}")


def _inputs_touched(wrote: dict[str, tuple[int, int]] | None) -> bool:
    """Whether this change inserted, updated or deleted a row of a table the served table is
    made of (``wrote``, from ``_since``). Without counts, say yes: the served table is rebuilt."""
    return wrote is None or any(w or d for w, d in wrote.values())


def _drop_unread(conn: sa.Connection, replaced: int | None) -> list[str]:
    """Drop the served schemas only versions older than ``replaced`` (the version this change
    replaces) use, once no reader holds any of those versions: see the module's note. A
    schema serves several versions when changes between them touched none of its inputs.
    Returns the schemas dropped."""
    if replaced is None:
        return []
    users: dict[str, list[int]] = {}
    for seq, name in conn.execute(sa.text(f"SELECT seq, served_schema FROM {VERSIONS} "
                                          f"WHERE served_schema IS NOT NULL ORDER BY seq")).all():
        users.setdefault(name, []).append(seq)
    dropped = []
    lock = sa.text("SELECT pg_try_advisory_xact_lock(CAST(:k AS integer), CAST(:s AS integer))")
    for name, seqs in users.items():
        if max(seqs) >= replaced:
            continue  # the current version's, or the new one's
        if not all(conn.execute(lock, {"k": VERSION_CLASS, "s": seq}).scalar() for seq in seqs):
            continue  # a reader is on it: a later writer drops it
        conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
        conn.execute(sa.text(f"UPDATE {VERSIONS} SET served_schema = NULL WHERE served_schema = :n"), {"n": name})
        dropped.append(name)
    return dropped


class PostgresWriter:
    """What the holder of the writer lock may do; ``conn`` is the lock's own connection."""

    def __init__(self, store: "PostgresStore", conn: sa.Connection):
        self.store = store
        self.conn = conn
        self.last_dropped: list[str] = []
        self.last_served = ""  # how the last change's served table came: "shared", "delta" or "built"

    @contextmanager
    def read(self) -> Iterator[PostgresReader]:
        """The current version (no other writer can publish while the lock is held)."""
        with self.store.reader() as reader:
            yield reader

    @contextmanager
    def change(self, fresh: bool = False) -> Iterator[PostgresChange]:
        """A new data version, committed when the block ends without an error, else rolled
        back. ``fresh`` starts from empty tables (every table made if missing; rows removed
        with DELETE, which readers of the old version do not see, never TRUNCATE)."""
        conn = self.conn
        with conn.begin():
            if fresh:
                create_tables(conn)
                for name in reversed(STORE_TABLES):
                    conn.exec_driver_sql(f"DELETE FROM {name}")
            elif not _has_table(conn, VERSIONS):
                raise LookupError("the PostgreSQL store is empty: build it first (`python manage.py build`)")
            before = _counts(conn)
            yield PostgresChange(conn)
            wrote = _since(before, _counts(conn))
            current = conn.execute(sa.text(f"SELECT seq, served_schema FROM {VERSIONS} "
                                           f"ORDER BY seq DESC LIMIT 1")).one_or_none()
            replaced = current[0] if current else None
            seq = (replaced or 0) + 1
            served = None
            if current and current[1] and not fresh and not _inputs_touched(wrote):
                served, self.last_served = current[1], "shared"  # nothing it is made of changed (a rejected file)
            elif current and current[1] and not fresh and wrote is not None and self.store.served_delta:
                served, self.last_served = _delta_served(conn, current[1], wrote), "delta"  # the previous, in place
            if served is None:
                served, self.last_served = _build_served(conn, seq), "built"
            version = conn.execute(sa.select(schema.meta.c.value)
                                   .where(schema.meta.c.key == "data_version")).scalar()
            if version is None:
                raise ValueError("a change must set the data version (Change.set_version)")
            conn.execute(sa.text(f"INSERT INTO {VERSIONS} (seq, data_version, served_schema) "
                                 f"VALUES (:s, :v, :n)"), {"s": seq, "v": version, "n": served})
            self.last_dropped = _drop_unread(conn, replaced)


class PostgresWatcherLock:
    """The inbox watcher's election: ``pg_try_advisory_lock`` on a connection of its own."""

    def __init__(self, engine: sa.Engine):
        self.engine = engine
        self._conn: sa.Connection | None = None
        self._table_made = False

    def try_acquire(self) -> bool:
        if self._conn is not None:
            return self.still_held()
        conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            got = conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": WATCHER_KEY}).scalar()
        except BaseException:
            conn.close()
            raise
        if not got:
            conn.close()
            return False
        self._conn = conn
        return True

    def still_held(self) -> bool:
        """Asks the server: a broken connection has lost the lock (and this holder stands down)."""
        if self._conn is None:
            return False
        try:
            held = self._conn.execute(sa.text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND "
                "pid = pg_backend_pid() AND objsubid = 1 "
                "AND ((classid::bigint << 32) | objid::bigint) = :k"), {"k": WATCHER_KEY}).scalar()
        except sa.exc.DBAPIError:
            held = 0
        if not held:
            self._close()
        return bool(held)

    def write_status(self, text: str) -> None:
        """Replace the watcher's status line (holder only), kept in ``pkpi_watcher``."""
        if self._conn is None:
            raise RuntimeError("the watcher lock is not held")
        if not self._table_made:  # once per election: the status is rewritten at every look
            self._conn.exec_driver_sql(f"CREATE TABLE IF NOT EXISTS {WATCHER_STATUS} "
                                       f"(id integer PRIMARY KEY, status text NOT NULL, updated_at timestamptz)")
            self._table_made = True
        self._conn.execute(sa.text(f"INSERT INTO {WATCHER_STATUS} VALUES (1, :t, now()) ON CONFLICT (id) "
                                   f"DO UPDATE SET status = excluded.status, updated_at = now()"), {"t": text})

    def release(self) -> None:
        if self._conn is None:
            return
        try:
            if _has_table(self._conn, WATCHER_STATUS):
                self._conn.exec_driver_sql(f"DELETE FROM {WATCHER_STATUS}")  # nobody is watching
            self._conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": WATCHER_KEY})
        except sa.exc.DBAPIError:
            pass  # the connection broke: the server has released the lock already
        self._close()

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        self._table_made = False
        if conn is not None:
            try:
                conn.close()
            except sa.exc.DBAPIError:
                pass


_held_writers = threading.local()  # per thread: {url: the PostgresWriter whose lock it holds}


class PostgresStore:
    # A change's served table is the previous version's with what the change wrote
    # (``_delta_served``) when it can be; False builds it whole every time (the bench
    # measures both).
    served_delta = True

    def __init__(self, url: str):
        self.url = url
        self._pooled, self._dedicated = _engines_for(url)

    def __repr__(self) -> str:
        return f"PostgresStore({redact(self.url)!r})"

    def exists(self) -> bool:
        with self._pooled.connect() as conn:
            if not _has_table(conn, VERSIONS):
                return False
            return conn.execute(sa.text(f"SELECT count(*) FROM {VERSIONS}")).scalar() > 0

    def version(self) -> str:
        with self._pooled.connect() as conn:
            return conn.execute(sa.text(f"SELECT data_version FROM {VERSIONS} ORDER BY seq DESC LIMIT 1")).scalar_one()

    def reader(self):
        return _reading(self._pooled)

    @contextmanager
    def writer(self, wait_message=None) -> Iterator[PostgresWriter]:
        """Hold the writer lock for the block: writers on every machine queue here. Taken
        again by the thread that holds it, it gives the same writer (as ``data.store.writer_lock``
        does for DuckDB): the drop folder finishes interrupted files (``recover``) inside a
        block that already holds the lock."""
        held = _held_writers.__dict__.setdefault("writers", {})
        if self.url in held:
            yield held[self.url]
            return
        conn = self._dedicated.connect()
        try:
            lock = sa.text("SELECT pg_try_advisory_lock(:k)")
            got = conn.execute(lock, {"k": WRITER_KEY}).scalar()
            if not got:
                if wait_message:
                    wait_message()
                conn.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": WRITER_KEY})
            conn.commit()  # a session lock outlives this transaction; the change starts afresh
            held[self.url] = PostgresWriter(self, conn)
            yield held[self.url]
        finally:
            held.pop(self.url, None)
            try:
                if conn.in_transaction():
                    conn.rollback()
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": WRITER_KEY})
                conn.commit()
            except sa.exc.DBAPIError:
                pass  # the connection broke: the server released the lock with it
            finally:
                conn.close()

    def watcher(self) -> PostgresWatcherLock:
        return PostgresWatcherLock(self._dedicated)

    def watcher_status(self) -> tuple[bool, str | None]:
        """Whether a watcher on any machine holds the election now (the server's lock table
        says so, for this database), and the status line it last wrote (None if none yet). A
        line left by a holder whose connection died is not shown: its lock went with it."""
        with self._pooled.connect() as conn:
            held = conn.execute(sa.text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1 "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                "AND ((classid::bigint << 32) | objid::bigint) = :k"), {"k": WATCHER_KEY}).scalar()
            if not held:
                return False, None
            if not _has_table(conn, WATCHER_STATUS):
                return True, None
            return True, conn.execute(sa.text(f"SELECT status FROM {WATCHER_STATUS} WHERE id = 1")).scalar()

    def served_versions(self) -> dict[int, str]:
        """The versions whose served table still exists, oldest first, and its schema."""
        with self._pooled.connect() as conn:
            return dict(conn.execute(sa.text(f"SELECT seq, served_schema FROM {VERSIONS} "
                                             f"WHERE served_schema IS NOT NULL ORDER BY seq")).all())
