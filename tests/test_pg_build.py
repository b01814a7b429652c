"""``manage.py build`` against PostgreSQL (PKPI_DATABASE_URL): the curated store it writes is,
table by table and row by row, the DuckDB build's, in the order the export contract relies on."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from data.stores import open_store
from tests.store_compare import counts_differ, tables_of

REPO = Path(__file__).resolve().parent.parent


def manage(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, capture_output=True, text=True,
                          timeout=600, env={**os.environ, **env})


def test_manage_build_writes_the_curated_store_to_postgres(store, pg_empty, tmp_path):
    assert not open_store(pg_empty).exists()
    done = manage("build", env={"PKPI_DATABASE_URL": pg_empty, "PKPI_HOME": str(tmp_path)})
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("built postgresql:///pkpi_e")
    assert not (tmp_path / "pkpi.duckdb").exists()  # nothing went to the DuckDB default
    want, got = tables_of(store), tables_of(pg_empty)
    assert not counts_differ(want, got)
    assert len(want["observation_vintages"]) > 250 and len(want["served_observations"]) > 250
    for name in want:
        assert got[name] == want[name], f"{name} differs between the DuckDB and PostgreSQL builds"
    assert open_store(pg_empty).version() == open_store(store).version()

    # Built again (the second run replaces the first in one transaction): the same store.
    again = manage("build", "--db", pg_empty, env={"PKPI_HOME": str(tmp_path)})
    assert again.returncode == 0, again.stderr
    assert tables_of(pg_empty) == want

    # manage.py export reads the store the setting names: the same file as from DuckDB.
    for name, env in (("pg.csv", {"PKPI_DATABASE_URL": pg_empty, "PKPI_HOME": str(tmp_path)}),
                      ("duck.csv", {"PKPI_DATABASE_URL": "", "PKPI_DB": str(store)})):
        done = manage("export", "--out", str(tmp_path / name), "--family", "women,fatalities", env=env)
        assert done.returncode == 0, done.stderr
    exported = (tmp_path / "pg.csv").read_bytes()
    assert exported == (tmp_path / "duck.csv").read_bytes() and exported.count(b"\r\n") > 50


def test_manage_build_says_when_postgres_cannot_be_reached(tmp_path):
    url = f"postgresql:///nowhere?host={tmp_path}&port=1&user=someone&password=hunter2"
    done = manage("build", "--no-seed-check", env={"PKPI_DATABASE_URL": url, "PKPI_HOME": str(tmp_path)})
    assert done.returncode == 1
    assert done.stderr.startswith("build refused, nothing written: cannot use the store at postgresql:///nowhere")
    assert "Traceback" not in done.stderr and "hunter2" not in done.stderr + done.stdout


def _serve(url: str, home: Path, **env: str) -> subprocess.CompletedProcess:
    from tests.conftest import free_port
    return subprocess.run([sys.executable, "app.py", "--port", str(free_port())], cwd=REPO, capture_output=True,
                          text=True, timeout=300, env={**os.environ, "PKPI_DATABASE_URL": url,
                                                       "PKPI_HOME": str(home), **env})


@pytest.mark.parametrize("watch", ["0", "1"])
def test_the_dashboard_says_when_postgres_cannot_be_reached(tmp_path, watch):
    """With the drop folder's watcher on (the default) or off alike: the watcher files into
    PostgreSQL too, so it is no reason to refuse; an unreachable server is."""
    url = f"postgresql:///nowhere?host={tmp_path}&port=1&password=hunter2"
    done = _serve(url, tmp_path, PKPI_WATCH=watch)
    assert done.returncode == 1
    assert done.stderr.strip().startswith("not started: cannot use the store at postgresql:///nowhere"), done.stderr
    assert "Traceback" not in done.stderr and "hunter2" not in done.stderr
    assert not (tmp_path / "pkpi.duckdb").exists()
