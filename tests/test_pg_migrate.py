"""``manage.py migrate-store``: a DuckDB store with dropped files, a revision, a rejected file
and a withdrawal copied whole into an empty PostgreSQL database (every table row for row,
counts printed), refused for a database that is not empty; and a build on PostgreSQL after
the move keeps what the drop folder added, as a build on DuckDB does."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from data.stores import open_store
from tests.store_compare import counts_differ, tables_of

REPO = Path(__file__).resolve().parent.parent


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=600, env={**os.environ, **env})


@pytest.fixture
def lived_in(dropbox_home) -> Path:
    """A DuckDB store that the drop folder has used: two accepted files (the second revises a
    value of the first), a rejected one, and the first withdrawn."""
    from data.dropbox import process
    from data.withdraw import withdraw
    from tests.intake_helpers import COUNT, SHARE, obs, workbook

    inbox = dropbox_home / "dropbox" / "inbox"
    first = process(workbook(inbox / "march.xlsx", [obs(indicator_id=COUNT["indicator_id"], value=12),
                                                   obs(indicator_id=SHARE["indicator_id"], value=31.5,
                                                       unit="percent", quote="女性占 31.5%",
                                                       quote_en="women are 31.5%")]))
    assert first.status == "accepted", first.message
    second = process(workbook(inbox / "april.xlsx", [obs(indicator_id=COUNT["indicator_id"], value=14,
                                                        quote="14 个特派团通过系统报告了数据",
                                                        quote_en="14 missions reported data", revision="yes")]))
    assert second.status == "accepted", second.message
    bad = process(workbook(inbox / "may.xlsx", [obs(indicator_id="no_such_indicator")]))
    assert bad.status == "rejected", bad.message
    withdraw(first.stored.name, "sent by mistake")
    return dropbox_home / "pkpi.duckdb"


def test_migrate_store_copies_every_table_and_says_the_counts(lived_in, pg_empty):
    want = tables_of(lived_in)
    assert len(want["intake_files"]) == 3 and len(want["intake_errors"]) >= 1
    assert len(want["withdrawals"]) == 1 and len(want["withdrawn_values"]) >= 1
    assert any(row[-1] is not None for row in want["observation_vintages"])  # published_at of dropped values

    done = manage("migrate-store", "--from", str(lived_in), "--to", pg_empty)
    assert done.returncode == 0, done.stderr
    out = done.stdout.splitlines()
    assert out[0].startswith(f"copied {lived_in} into postgresql:///pkpi_e")
    assert out[-1] == "every table's row count matches."
    printed = {parts[0]: (int(parts[1].replace(",", "")), int(parts[2].replace(",", "")))
               for parts in (line.split() for line in out[2:-1])}
    for name in ("meta", "sources", "areas", "indicators", "figures", "intake_files", "intake_errors",
                 "observation_vintages", "withdrawals", "withdrawn_values", "served_observations"):
        assert printed[name] == (len(want[name]), len(want[name])), name

    got = tables_of(pg_empty)
    assert not counts_differ(want, got)
    for name in want:
        assert got[name] == want[name], f"{name} differs after the copy"
    assert open_store(pg_empty).version() == open_store(lived_in).version()


def test_migrate_store_refuses_a_database_that_is_not_empty(lived_in, pg_empty, store):
    first = manage("migrate-store", "--from", str(lived_in), "--to", pg_empty)
    assert first.returncode == 0, first.stderr
    before = tables_of(pg_empty)
    again = manage("migrate-store", "--from", str(store), PKPI_DATABASE_URL=pg_empty)
    assert again.returncode == 1
    assert again.stderr.startswith("migrate-store refused: postgresql:///pkpi_e")
    assert "is not empty" in again.stderr and "observation_vintages" in again.stderr
    assert tables_of(pg_empty) == before  # nothing written

    with psycopg.connect(pg_empty, autocommit=True) as conn:
        conn.execute("CREATE DATABASE other_app TEMPLATE template0")
    other = pg_empty.replace(pg_empty.split("?")[0], "postgresql:///other_app", 1)
    try:
        with psycopg.connect(other, autocommit=True) as conn:
            conn.execute("CREATE TABLE invoices (n int)")
        refused = manage("migrate-store", "--from", str(store), "--to", other)
        assert refused.returncode == 1 and "invoices" in refused.stderr, refused.stderr
        with psycopg.connect(other, autocommit=True) as conn:
            assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()[0] == 1
    finally:
        from data.stores import postgres_store
        postgres_store.dispose(other)
        with psycopg.connect(pg_empty, autocommit=True) as conn:
            conn.execute("DROP DATABASE other_app WITH (FORCE)")


def test_migrate_store_needs_a_target_and_a_store(tmp_path, pg_empty):
    env = {"PKPI_HOME": str(tmp_path), "PKPI_DATABASE_URL": ""}
    done = manage("migrate-store", "--from", str(tmp_path / "pkpi.duckdb"), **env)
    assert done.returncode == 2 and "--to postgresql://" in done.stderr
    done = manage("migrate-store", "--to", pg_empty, **env)
    assert done.returncode == 1 and f"no DuckDB store at {tmp_path / 'pkpi.duckdb'}" in done.stderr
    assert not open_store(pg_empty).exists()


def test_a_build_after_the_move_keeps_what_the_drop_folder_added(lived_in, pg_empty, tmp_path):
    """The build reads the dropped files, revisions and withdrawals back from PostgreSQL and
    writes them after the curated rows, exactly as the DuckDB build does from the file."""
    from data.build import build
    from data.stores import postgres_store
    from data.stores.migrate import migrate

    migrate(lived_in, pg_empty)
    build(lived_in)
    build(pg_empty)
    want, got = tables_of(lived_in), tables_of(pg_empty)
    assert len(want["withdrawals"]) == 1 and len(want["intake_files"]) == 3
    for name in want:
        assert got[name] == want[name], f"{name} differs after a build on each store"
    assert len(postgres_store.PostgresStore(pg_empty).served_versions()) == 2


def test_migrate_store_names_a_text_value_postgresql_cannot_hold(store, tmp_path, pg_empty):
    """A store written before the drop folder and the curated check refused U+0000 may hold
    it; PostgreSQL's text cannot. The copy stops before writing anything, naming the table,
    the row's key and the column (not psycopg's message), and the database stays empty."""
    import shutil

    import sqlalchemy as sa

    from data.engine import make_engine

    old = tmp_path / "old.duckdb"
    shutil.copyfile(store, old)
    engine = make_engine(old, read_only=False)
    with engine.begin() as conn:
        obs_id = conn.execute(sa.text("SELECT max(obs_id) FROM observation_vintages")).scalar()
        conn.execute(sa.text("UPDATE observation_vintages SET note = 'see' || chr(0) || 'row 4' WHERE obs_id = :i"),
                     {"i": obs_id})
    engine.dispose()
    done = manage("migrate-store", "--from", str(old), "--to", pg_empty)
    assert done.returncode == 1
    assert done.stderr == (f"migrate-store refused: copying observation_vintages failed, nothing was copied: the row "
                           f"obs_id = {obs_id} holds the character U+0000 (NULL) in its column note ('see[U+0000]row 4', "
                           f"the character shown as [U+0000]), and PostgreSQL cannot store it in text. Remove the "
                           f"character from that value in the DuckDB store, then copy again.\n")
    assert not open_store(pg_empty).exists()
    with psycopg.connect(pg_empty) as conn:
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()[0] == 0
