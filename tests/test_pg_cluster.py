"""What the PostgreSQL store (issue 16, docs/store-interface.md) will rely on, checked against
a real throwaway server (tests/pgcluster.py): the harness itself, advisory locks that die with
their holder, one transaction per data version seen whole by readers, and COPY plus a text
order that is DuckDB's."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import duckdb
import psycopg
import pyarrow as pa
import pytest

from tests import pgcluster

REPO = Path(__file__).resolve().parent.parent

# What the shared store will put in its URL: without keepalives, a backend whose client
# machine vanished (power cut, network gone) holds that client's locks until the kernel
# gives up on the TCP connection, about two hours by default. With them, about 20 s. (libpq
# ignores them on a Unix socket, as here; a killed process closes its socket either way.)
KEEPALIVES = "keepalives=1&keepalives_idle=10&keepalives_interval=3&keepalives_count=3"


def connect(url: str, **kw) -> psycopg.Connection:
    return psycopg.connect(f"{url}&{KEEPALIVES}&connect_timeout=10", **kw)


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout:g} s: {what}")
        time.sleep(0.05)


def gone(pid: int) -> bool:
    """The process has exited (a zombie counts: it holds nothing any more)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "\nState:\tZ" in status


# -- the harness ---------------------------------------------------------------------------

def test_cluster_is_private_and_fast(pg_url):
    with connect(pg_url, autocommit=True) as conn:
        settings = {name: conn.execute(f"SHOW {name}").fetchone()[0] for name in
                    ("listen_addresses", "fsync", "synchronous_commit", "full_page_writes",
                     "server_encoding", "unix_socket_directories")}
        user = conn.execute("SELECT current_user").fetchone()[0]
    assert settings["listen_addresses"] == ""  # no TCP: nothing else on the machine reaches it
    assert (settings["fsync"], settings["synchronous_commit"], settings["full_page_writes"]) == \
        ("off", "off", "off")
    assert settings["server_encoding"] == "UTF8"
    assert user == "postgres"
    folder = Path(settings["unix_socket_directories"])
    assert folder.name.startswith("pkpi-pg-") and str(folder) in pg_url
    st = folder.stat()
    assert st.st_mode & 0o777 == 0o700  # "trust" authentication is only safe in a private folder
    if os.geteuid() == 0:
        import pwd
        assert st.st_uid == pwd.getpwnam("postgres").pw_uid


def test_cluster_runs_without_root(tmp_path):
    """initdb and the server refuse root; as any other user the harness runs them directly."""
    if os.geteuid() == 0:
        # Run the harness as the postgres user, with the system's Python (the project's venv
        # may sit where that user cannot read), from a copy it can read.
        python = "/usr/bin/python3"
        if not os.access(python, os.X_OK):
            pytest.skip("no /usr/bin/python3 to run the harness as the postgres user")
        folder = Path(tempfile.mkdtemp(prefix="pkpi-pgself-"))
        try:
            os.chmod(folder, 0o755)
            script = folder / "pgcluster.py"
            shutil.copyfile(pgcluster.__file__, script)
            os.chmod(script, 0o644)
            done = subprocess.run(["runuser", "-u", "postgres", "--", python, str(script), "--selftest"],
                                  cwd=folder, capture_output=True, text=True, timeout=180)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    else:
        done = subprocess.run([sys.executable, pgcluster.__file__, "--selftest"], capture_output=True,
                              text=True, timeout=180)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["uid"] != 0 and out["server_uid"] == out["uid"]
    assert (out["user"], out["listen_addresses"], out["fsync"]) == ("postgres", "", "off")
    assert out["removed"] and not Path(out["folder"]).exists()


def test_cluster_removed_when_test_process_is_killed(tmp_path):
    """A session killed with SIGKILL runs no teardown: the watchdog stops the server and
    deletes its folder all the same."""
    code = textwrap.dedent(f"""
        import sys, time
        sys.path.insert(0, {str(REPO)!r})
        from tests.pgcluster import Cluster, _postmaster_pid
        c = Cluster.start()
        print(c.folder, _postmaster_pid(c.data), flush=True)
        time.sleep(300)
    """)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        folder, postmaster = proc.stdout.readline().split()
        postmaster = int(postmaster)
        assert Path(folder, "data", "PG_VERSION").exists() and not gone(postmaster)
    finally:
        proc.kill()
        proc.wait()
    wait_for(lambda: gone(postmaster), 60, f"the server {postmaster} to stop")
    wait_for(lambda: not Path(folder).exists(), 60, f"{folder} to be removed")


# -- advisory locks die with their holder -------------------------------------------------

WRITER_KEY, WATCHER_KEY = 716_001, 716_002

HOLDER = """
import sys, time
import psycopg
conn = psycopg.connect(sys.argv[1])
conn.autocommit = True
conn.execute("SELECT pg_advisory_lock(%s)", [int(sys.argv[2])])  # the writer lock: a queue
assert conn.execute("SELECT pg_try_advisory_lock(%s)", [int(sys.argv[3])]).fetchone()[0]  # the watcher
conn.autocommit = False
conn.execute("INSERT INTO half_done VALUES ('written, not committed')")  # mid-transaction
print(conn.info.backend_pid, flush=True)
time.sleep(300)
"""


def test_advisory_locks_released_when_holder_is_killed(pg_url):
    """The writer lock and the watcher election become PostgreSQL advisory locks: when their
    holder is killed (SIGKILL, no clean-up of its own) the server releases both, a queued
    writer gets the lock, and the holder's open transaction is rolled back."""
    with connect(pg_url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS half_done; CREATE TABLE half_done (what text)")
    url = f"{pg_url}&{KEEPALIVES}"
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, url, str(WRITER_KEY), str(WATCHER_KEY)],
                              stdout=subprocess.PIPE, text=True)
    got: dict = {}
    try:
        backend = int(holder.stdout.readline())
        with connect(pg_url, autocommit=True) as other:
            # Held, by that process's backend: otherwise the test below proves nothing.
            held = other.execute(
                "SELECT objid::bigint, pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "ORDER BY objid").fetchall()
            assert held == [(WRITER_KEY, backend), (WATCHER_KEY, backend)]
            assert other.execute("SELECT pg_try_advisory_lock(%s)", [WATCHER_KEY]).fetchone()[0] is False

            def queue_for_writer_lock():
                with connect(pg_url, autocommit=True) as waiter:
                    got["pid"] = waiter.info.backend_pid
                    waiter.execute("SELECT pg_advisory_lock(%s)", [WRITER_KEY])
                    got["at"] = time.monotonic()
                    waiter.execute("SELECT pg_advisory_unlock(%s)", [WRITER_KEY])

            waiter = threading.Thread(target=queue_for_writer_lock)
            waiter.start()
            wait_for(lambda: other.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = %s",
                [WRITER_KEY]).fetchone()[0] == 1, 20, "the second writer to queue")
            assert "at" not in got

            killed_at = time.monotonic()
            holder.send_signal(signal.SIGKILL)
            holder.wait()
            waiter.join(timeout=30)
            assert not waiter.is_alive() and "at" in got, "the queued writer never got the lock"
            assert got["at"] - killed_at < 10
            assert other.execute("SELECT pg_try_advisory_lock(%s)", [WATCHER_KEY]).fetchone()[0] is True
            wait_for(lambda: other.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s",
                                           [backend]).fetchone()[0] == 0, 10, "the killed holder's backend to exit")
            assert other.execute("SELECT count(*) FROM half_done").fetchone()[0] == 0
            other.execute("SELECT pg_advisory_unlock(%s)", [WATCHER_KEY])
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()


# -- a data version is one committed transaction -------------------------------------------
#
# A data version's served table is built, indexed and named in the same transaction as the
# rows it is made of (here ``vintages``) and the version number in ``meta``. A reader works in
# one REPEATABLE READ transaction: it reads ``meta`` (its snapshot is taken there), then the
# served table that ``meta`` names. The first test shows why each version's served table has
# a name of its own instead of being swapped in under one name.

def _fresh(conn, version_rows: int = 500) -> None:
    conn.execute("DROP TABLE IF EXISTS meta, vintages, served, served_new")
    for (name,) in conn.execute("SELECT tablename FROM pg_tables WHERE tablename LIKE 'served_v%'").fetchall():
        conn.execute(f'DROP TABLE "{name}"')
    conn.execute("CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL)")
    conn.execute("CREATE TABLE vintages (version int NOT NULL, n int NOT NULL)")
    conn.execute("INSERT INTO meta VALUES ('data_version', '1'), ('served', 'served_v1')")
    conn.execute("INSERT INTO vintages SELECT 1, g FROM generate_series(1, %s) g", [version_rows])
    conn.execute("CREATE TABLE served_v1 AS SELECT version, n FROM vintages ORDER BY n")
    conn.execute("CREATE TABLE served AS SELECT version, n FROM vintages ORDER BY n")


def _rows_of(version: int) -> int:
    return 500 + 10 * (version - 1)  # each version a different size, so a mix shows


def _publish(conn, version: int, keep: int = 2) -> None:
    """One data version, in one transaction: new rows, the served table built from them
    (sorted, indexed), the version and the table's name in ``meta``; versions older than the
    last ``keep`` dropped."""
    with conn.transaction():
        conn.execute("INSERT INTO vintages SELECT %s, g FROM generate_series(1, %s) g",
                     [version, _rows_of(version)])
        conn.execute(f"CREATE TABLE served_v{version} AS SELECT version, n FROM vintages "
                     f"WHERE version = %s ORDER BY n", [version])
        conn.execute(f"CREATE INDEX ON served_v{version} (n)")
        conn.execute("UPDATE meta SET value = %s WHERE key = 'data_version'", [str(version)])
        conn.execute("UPDATE meta SET value = %s WHERE key = 'served'", [f"served_v{version}"])
        # Blocks while a reader still reads it (ACCESS EXCLUSIVE); a reader that looks it up
        # after this commits gets "does not exist" and starts again on the new version.
        conn.execute(f"DROP TABLE IF EXISTS served_v{version - keep}")


def _read(conn) -> tuple[int, int, int, int]:
    """(version in meta, served rows, their lowest and highest version), in one snapshot."""
    version, table = conn.execute(
        "SELECT max(value) FILTER (WHERE key = 'data_version'), max(value) FILTER (WHERE key = 'served') "
        "FROM meta").fetchone()
    n, lo, hi = conn.execute(f'SELECT count(*), min(version), max(version) FROM "{table}"').fetchone()
    return int(version), n, lo, hi


def test_swapping_one_served_table_would_show_readers_a_mix(pg_url):
    """Why served tables are named per version: a table dropped and replaced under the same
    name, or truncated and refilled, inside the writer's transaction is looked up afresh by a
    reader, but its rows were written after the reader's snapshot, so the reader sees the old
    version in ``meta`` and an EMPTY served table. Catalog lookups are not MVCC."""
    with connect(pg_url, autocommit=True) as writer, connect(pg_url) as reader:
        _fresh(writer)
        reader.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        assert reader.execute("SELECT value FROM meta WHERE key = 'data_version'").fetchone() == ("1",)
        with writer.transaction():
            writer.execute("INSERT INTO vintages SELECT 2, g FROM generate_series(1, 510) g")
            writer.execute("CREATE TABLE served_new AS SELECT version, n FROM vintages WHERE version = 2")
            writer.execute("DROP TABLE served")
            writer.execute("ALTER TABLE served_new RENAME TO served")
            writer.execute("UPDATE meta SET value = '2' WHERE key = 'data_version'")
        seen = reader.execute("SELECT count(*), (SELECT value FROM meta WHERE key = 'data_version') "
                              "FROM served").fetchone()
        assert seen == (0, "1")  # version 1 says 500 rows; the reader sees none
        reader.rollback()

        # Emptied with TRUNCATE and filled again: the same (TRUNCATE is not MVCC-safe either).
        assert reader.execute("SELECT value FROM meta WHERE key = 'data_version'").fetchone() == ("2",)
        with writer.transaction():
            writer.execute("TRUNCATE served")
            writer.execute("INSERT INTO served SELECT 3, g FROM generate_series(1, 520) g")
            writer.execute("UPDATE meta SET value = '3' WHERE key = 'data_version'")
        seen = reader.execute("SELECT count(*), (SELECT value FROM meta WHERE key = 'data_version') "
                              "FROM served").fetchone()
        assert seen == (0, "2")  # version 2 has 510 rows; the reader sees none


def test_reader_sees_one_version_while_writer_publishes(pg_url):
    """Per-version served tables: the interleaving above now reads version 1 whole; and a
    reader looping beside a writer that publishes 30 versions sees each read whole (the
    version in ``meta``, the served rows and the vintages agree), never a mix."""
    with connect(pg_url, autocommit=True) as writer, connect(pg_url) as reader:
        _fresh(writer)
        reader.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        first = reader.execute("SELECT value FROM meta WHERE key = 'data_version'").fetchone()
        _publish(writer, 2)
        assert first == ("1",) and _read(reader) == (1, 500, 1, 1)
        assert reader.execute("SELECT count(*) FROM vintages").fetchone()[0] == 500
        reader.rollback()
        assert _read(reader) == (2, 510, 2, 2)
        reader.rollback()

    stop = threading.Event()
    seen: list[tuple] = []
    retried = [0]
    errors: list[BaseException] = []

    def read_loop():
        try:
            with connect(pg_url) as conn:
                conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
                while not stop.is_set():
                    try:
                        version, n, lo, hi = _read(conn)
                        total = conn.execute("SELECT count(*) FROM vintages").fetchone()[0]
                        again = _read(conn)  # the same snapshot: the same answer
                        seen.append((version, n, lo, hi, total, again))
                    except psycopg.errors.UndefinedTable:
                        retried[0] += 1  # dropped between the lookup and the read: start again
                    finally:
                        conn.rollback()
        except BaseException as exc:  # reported by the test, not lost in the thread
            errors.append(exc)

    readers = [threading.Thread(target=read_loop) for _ in range(2)]
    for t in readers:
        t.start()
    try:
        wait_for(lambda: len(seen) >= 5, 30, "the readers to start")
        with connect(pg_url, autocommit=True) as writer:
            for version in range(3, 33):
                _publish(writer, version)
                time.sleep(0.01)
        wait_for(lambda: seen and seen[-1][0] == 32, 30, "a reader to see the last version")
    finally:
        stop.set()
        for t in readers:
            t.join(timeout=30)
    assert not errors, errors
    versions = set()
    for version, n, lo, hi, total, again in seen:
        versions.add(version)
        assert (n, lo, hi) == (_rows_of(version), version, version), (version, n, lo, hi)
        assert total == sum(_rows_of(v) for v in range(1, version + 1)), (version, total)
        assert again == (version, n, lo, hi)
    assert len(versions) >= 5, f"the readers saw too few versions to show anything: {sorted(versions)}"


# -- COPY, and text sorted as DuckDB sorts it ----------------------------------------------

def _project_strings() -> list[tuple[str, str, str, str]]:
    """(indicator_id, area, period, quote) of every curated value, and of a small synthetic
    store (bench ids, mission codes, Chinese quotes with digits and full-width punctuation):
    a few thousand rows of the ids and text the store sorts."""
    con = duckdb.connect()
    try:
        curated = con.execute(
            "SELECT indicator_id, area, period, quote FROM read_csv($glob, all_varchar = true, "
            "union_by_name = true)", {"glob": str(REPO / "data/curated/observations/*.csv")}).fetchall()
        from bench import synth
        scale = synth.Scale("pg-test", 2_000, 20, 0)
        synthetic = con.execute(f"SELECT indicator_id, area, period, quote FROM ({synth._obs_sql(scale, 0, 100)})"
                                ).fetchall()
        names = con.execute("SELECT indicator_id, family, name_en, name_zh FROM read_csv($f, all_varchar = true)",
                            {"f": str(REPO / "data/curated/indicators.csv")}).fetchall()
        areas = con.execute("SELECT area_id, kind, name_en, name_zh FROM read_csv($f, all_varchar = true)",
                            {"f": str(REPO / "data/curated/areas.csv")}).fetchall()
    finally:
        con.close()
    rows = curated + synthetic + names + areas
    assert len(curated) > 250 and len(rows) > 2_300
    return rows


COLUMNS = ("indicator_id", "area", "period", "quote")


def test_copy_and_text_order_match_duckdb(pg_url):
    """COPY a few thousand rows of the project's ids and Chinese text, read them back as they
    went in, and sort them: ORDER BY gives DuckDB's order only with COLLATE "C"."""
    rows = _project_strings()
    # DuckDB compares text byte by byte (UTF-8, no collation unless one is asked for), which is
    # code-point order. PostgreSQL's "C" collation on a UTF8 database is also a plain byte
    # comparison (memcmp); any other (the database default: en_US.UTF-8 or ICU, as here) sorts
    # linguistically: case and punctuation ignored at first ("all_pko" between "ALL" and
    # "BINUH"; "bench_0001" beside "bench-…"), Chinese by its own rules. The export, the "first
    # 1,000 rows" of the Data page and the export's batches by indicator run would then differ
    # between the two stores. So every text column the store sorts on is declared COLLATE "C".
    with connect(pg_url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS sorted_text")
        conn.execute('CREATE TABLE sorted_text (seq int PRIMARY KEY, '
                     + ", ".join(f'{c} text COLLATE "C" NOT NULL' for c in COLUMNS) + ")")
        with conn.cursor() as cur:
            with cur.copy(f"COPY sorted_text (seq, {', '.join(COLUMNS)}) FROM STDIN") as copy:
                for seq, row in enumerate(rows):
                    copy.write_row((seq, *row))
        back = conn.execute(f"SELECT {', '.join(COLUMNS)} FROM sorted_text ORDER BY seq").fetchall()
        assert back == rows  # every character as it went in (COPY's escaping of tabs, quotes)

        db = duckdb.connect()
        try:
            db.register("sorted_text", pa.table({"seq": list(range(len(rows))),
                                                 **{c: [r[k] for r in rows] for k, c in enumerate(COLUMNS)}}))
            differs = set()
            for keys in [(c,) for c in COLUMNS] + [COLUMNS]:
                by = ", ".join(keys)
                duck = [r[0] for r in db.execute(f"SELECT seq FROM sorted_text ORDER BY {by}, seq").fetchall()]
                pg = [r[0] for r in conn.execute(f"SELECT seq FROM sorted_text ORDER BY {by}, seq").fetchall()]
                assert pg == duck, f"ORDER BY {by}: PostgreSQL and DuckDB disagree"
                default = ", ".join(f'{k} COLLATE "default"' for k in keys)
                linguistic = [r[0] for r in conn.execute(
                    f"SELECT seq FROM sorted_text ORDER BY {default}, seq").fetchall()]
                if linguistic != duck:
                    differs.add(by)
        finally:
            db.close()
        # Under the database's default collation the same queries sort differently: without
        # COLLATE "C" this test would fail.
        assert {"area", "quote", ", ".join(COLUMNS)} <= differs, differs


# -- numbers as the CSV export writes them -------------------------------------------------

# What the PostgreSQL export will put where DuckDB's export writes CAST(value AS VARCHAR)
# (data/export.py, _sql_safe: a value that is not a whole number under 1e15). PostgreSQL's
# float8 text reads back as the same double, as Python's repr and DuckDB's do, but it is
# not always the same text: from 1e15 to 1e16 it writes an exponent where they write the
# digits out ("1e+15", "2.1650376416271145e+15" against "1000000000000000.0",
# "2165037641627114.5"), so there its digits are moved around the point here. From 1e16 up
# it sometimes writes 17 digits where 16 read back the same (about 1 value in 10 near 1e16,
# fewer above): no rearranging fixes that, so this test stops below 1e16, and
# docs/store-interface.md says what to do about such values.
_DIGITS = "replace(split_part(abs(v)::text, 'e', 1), '.', '')"
PG_NUMBER_TEXT = (f"CASE WHEN abs(v) >= 1e15 AND abs(v) < 1e16 "
                  f"THEN CASE WHEN v < 0 THEN '-' ELSE '' END || rpad(left({_DIGITS}, 16), 16, '0') || '.' "
                  f"|| coalesce(nullif(substr({_DIGITS}, 17), ''), '0') "
                  f"ELSE v::text END")


def test_number_text_matches_the_export_below_1e16(pg_url):
    import random

    from data.export import cell  # the reference the SQL writers are tested against

    rng = random.Random(16)
    values = [0.1, 7.3, 1 / 3, 2.5e-05, 1e-4, 1.5e-07, 123456.789, 99.99999999999999,
              0.30000000000000004, 5e-324, 1e15, 2.5e15, 9999999999999998.0]
    values += [rng.uniform(1, 10) * 10.0 ** rng.randint(-320, 15) for _ in range(3_000)]
    values += [float(rng.randint(10 ** 15, 10 ** 16 - 1)) for _ in range(300)]
    values += [rng.uniform(1e15, 1e16) for _ in range(300)] + [1e15 + 0.125, 1125899906842624.25]
    values += [-v for v in values]
    chosen = [v for v in values if not (v.is_integer() and abs(v) < 1e15) and abs(v) < 1e16]
    expected = [cell(v) for v in chosen]
    assert len(chosen) > 6_000
    with connect(pg_url, autocommit=True) as conn:
        def text_of(expr):
            return [r[0] for r in conn.execute(
                f"SELECT {expr} FROM unnest(%s::float8[]) WITH ORDINALITY AS t(v, k) ORDER BY k",
                [chosen]).fetchall()]
        plain, ours = text_of("v::text"), text_of(PG_NUMBER_TEXT)
    assert ours == expected
    # The rearranging matters: plain float8 text differs between 1e15 and 1e16.
    assert any(p != e for p, e in zip(plain, expected))


def test_pg_compare_bench_runs(tmp_path):
    """bench/pg_compare.py at a tiny scale: both stores load, and every query gives the same
    rows on both (the script stops with an error if not) and is timed."""
    out = tmp_path / "pg-compare.json"
    done = subprocess.run([sys.executable, "-m", "bench.pg_compare", "--observations", "2000", "--reps", "1",
                           "--out", str(out)], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["rows"] == {"observation_vintages": 2000, "served_observations": 2000}
    queries = result["queries"]
    assert set(queries) == {"family chart (5 indicators)", "family chart as of 2015-01-01",
                            "whole store: per report (Sources)", "whole store: latest per indicator (Overview)"}
    assert queries["whole store: latest per indicator (Overview)"]["rows"] == 1000
    assert all(q["duckdb_ms"] > 0 and q["postgres_ms"] > 0 for q in queries.values())
    assert "| family chart (5 indicators) |" in done.stdout
