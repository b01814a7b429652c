"""Issue 14: the watcher says who reads the inbox and when it last looked, and why a file
waits; one watcher works at a time; reading is on unless PKPI_WATCH=0."""
from __future__ import annotations

import os
import socket
import time

import pytest
import sqlalchemy as sa

from data.dropbox import Folders
from data.watcher import Watcher, serve_dropbox, status, why_waiting
from tests.intake_helpers import REPO, obs, workbook


@pytest.fixture
def home(dropbox_home):
    return dropbox_home


def test_status_names_the_reading_process_and_its_last_look(home):
    assert not status().reading  # nobody has watched yet
    watcher = Watcher(poll=1)
    try:
        watcher.poll_once()
        state = status()
        assert state.reading and state.enabled
        assert (state.pid, state.host, state.poll) == (os.getpid(), socket.gethostname(), 1.0)
        assert abs(time.time() - state.looked.timestamp()) < 5
        # A second watcher stands by: it does nothing, and the status still names the first.
        other = Watcher(poll=1)
        workbook(home / "dropbox" / "inbox" / "a.xlsx", [obs()])
        assert other.poll_once() == [] and other.poll_once() == []
        assert (home / "dropbox" / "inbox" / "a.xlsx").exists()
        assert status().pid == os.getpid()
    finally:
        watcher.release()
    assert not status().reading  # released: nobody reads


def test_why_a_file_waits(home, monkeypatch):
    inbox = home / "dropbox" / "inbox"
    path = workbook(inbox / "big.xlsx", [obs()])
    watcher = Watcher(poll=1)
    try:
        watcher.poll_once()
        state = status()
        assert why_waiting(path, state)[0] == "queued"  # just saved: read within a few seconds
        (inbox / "~$big.xlsx").write_bytes(b"owner")
        assert why_waiting(path, state) == ("excel", {"owner": "~$big.xlsx"})
        (inbox / "~$big.xlsx").unlink()
        # Waiting longer than three looks, and over the size limit: it says so.
        state.first_seen[path.name] = time.time() - 60
        monkeypatch.setenv("PKPI_MAX_FILE_MB", "0.001")
        code, details = why_waiting(path, state)
        assert code == "too-large" and details["limit"] == pytest.approx(0.001, rel=0.01)
        monkeypatch.delenv("PKPI_MAX_FILE_MB")
        # Still being written: it changed since the last look.
        with open(path, "ab") as f:
            f.write(b"more")
        watcher.poll_once()
        state = status()
        assert state.changing == ["big.xlsx"]
        state.first_seen[path.name] = time.time() - 60
        assert why_waiting(path, state)[0] == "writing"
    finally:
        watcher.release()
    # Nobody reads the inbox: said at once, whatever the file's age.
    assert why_waiting(path, status()) == ("off", {})


def test_serving_makes_the_folders_and_reading_off_starts_no_watcher(tmp_path, monkeypatch):
    home = tmp_path / "fresh"
    monkeypatch.setenv("PKPI_HOME", str(home))
    monkeypatch.delenv("PKPI_DROPBOX", raising=False)
    monkeypatch.setenv("PKPI_WATCH", "0")
    assert serve_dropbox() is False
    folders = Folders.default()
    assert folders.inbox.is_dir() and folders.accepted.is_dir() and folders.rejected.is_dir()
    assert not status().reading and not status().enabled


def _use(store, home, monkeypatch):
    """Settings naming ``store`` (a DuckDB file or a PostgreSQL URL) and a drop folder in ``home``."""
    from data.stores import is_url
    monkeypatch.setenv("PKPI_HOME", str(home))
    monkeypatch.delenv("PKPI_DROPBOX", raising=False)
    if is_url(store):
        monkeypatch.setenv("PKPI_DATABASE_URL", store)
    else:
        monkeypatch.delenv("PKPI_DATABASE_URL", raising=False)
        monkeypatch.setenv("PKPI_DB", str(store))
    return Folders.default().ensure()


def test_the_status_is_read_from_the_store_in_use(any_store, tmp_path, monkeypatch):
    """The election and the status line live in the store the settings name: the DuckDB lock
    file, or on PostgreSQL the advisory lock and the table pkpi_watcher, which every machine
    sharing the database reads."""
    folders = _use(any_store, tmp_path / "home", monkeypatch)
    assert not status().reading
    first, second = Watcher(poll=1, folders=folders), Watcher(poll=1, folders=folders)
    assert first.store == any_store
    try:
        first.poll_once()
        state = status()
        assert state.reading and (state.pid, state.host, state.poll) == (os.getpid(), socket.gethostname(), 1.0)
        assert state.since is not None and abs(time.time() - state.looked.timestamp()) < 60
        assert second.poll_once() == [] and second._lock is None  # stands by
        first.release()
        assert not status().reading  # nobody holds the election: nothing of the old line is shown
        second.poll_once()  # takes over at its next look
        assert status().reading
    finally:
        first.release()
        second.release()
    assert not status().reading


def test_a_postgresql_watcher_whose_connection_broke_stands_down(pg_store, tmp_path, monkeypatch):
    """Its lock went with the connection: the status says nobody reads (the line it left is not
    shown as current), and the next look of any watcher, this one included, is elected again."""
    import psycopg

    folders = _use(pg_store, tmp_path / "home", monkeypatch)
    watcher = Watcher(poll=1, folders=folders)
    try:
        watcher.poll_once()
        assert status().reading
        backend = watcher._lock._conn.execute(sa.text("SELECT pg_backend_pid()")).scalar()
        with psycopg.connect(pg_store, autocommit=True) as conn:
            assert conn.execute("SELECT pg_terminate_backend(%s)", [backend]).fetchone()[0]
            deadline = time.monotonic() + 60
            while conn.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [backend]).fetchone()[0]:
                assert time.monotonic() < deadline
                time.sleep(0.05)
            assert conn.execute("SELECT count(*) FROM pkpi_watcher").fetchone()[0] == 1  # left behind
        assert not status().reading
        watcher.poll_once()  # notices, stands down, and is elected again on a connection of its own
        assert watcher._lock is not None and status().reading and status().pid == os.getpid()
    finally:
        watcher.release()
    assert not status().reading


HOLD_WRITER = """
import sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[2])
from data.stores import is_url, open_store
with open_store(sys.argv[1] if is_url(sys.argv[1]) else Path(sys.argv[1])).writer():
    print("held", flush=True)
    time.sleep(600)
"""


def test_a_file_open_in_excel_is_not_read_again_at_every_look(any_store, tmp_path, monkeypatch):
    """While Excel's lock file stays beside an unchanged file, the watcher says once that it
    waits and then leaves it be: it does not start a reader and queue for the writer lock at
    every look (the Updates page said "it is reading draft.xlsx now" of a file nobody could
    read). Seen here as a look that returns while another process holds the writer lock."""
    import subprocess
    import sys
    import threading

    folders = _use(any_store, tmp_path / "home", monkeypatch)
    path = workbook(folders.inbox / "draft.xlsx", [obs()])
    (folders.inbox / "~$draft.xlsx").write_bytes(b"owner")
    said = []
    watcher = Watcher(poll=1, settle=0, folders=folders, report=said.append)
    holder = None
    try:
        watcher.poll_once()
        watcher.poll_once()  # stable since the last look: read, and found open in Excel
        assert [o.status for o in said] == ["waiting"] and "Excel" in said[0].message
        holder = subprocess.Popen([sys.executable, "-c", HOLD_WRITER, str(any_store), str(REPO)],
                                  stdout=subprocess.PIPE, text=True)
        assert holder.stdout.readline().strip() == "held"
        looked = threading.Thread(target=watcher.poll_once, daemon=True)
        looked.start()
        looked.join(timeout=60)
        assert not looked.is_alive(), "the look queued for the writer lock to read a file still open in Excel"
        assert status().current is None and path.exists()
        holder.kill()
        holder.wait()
        (folders.inbox / "~$draft.xlsx").unlink()  # closed in Excel: read at the next look
        outcomes = watcher.poll_once()
        assert [o.status for o in outcomes] == ["accepted"] and not path.exists()
    finally:
        if holder is not None and holder.poll() is None:
            holder.kill()
            holder.wait()
        watcher.release()


def test_manage_watch_files_into_postgres(pg_store, tmp_path):
    """``manage.py watch`` (the watcher to run on one machine when the servers run with
    PKPI_WATCH=0) files into the database PKPI_DATABASE_URL names, nothing into a DuckDB file."""
    import subprocess
    import sys

    import psycopg

    home, share = tmp_path / "home", tmp_path / "share"
    (share / "inbox").mkdir(parents=True)
    workbook(share / "inbox" / "one.xlsx", [obs()])
    env = {**os.environ, "PKPI_HOME": str(home), "PKPI_DATABASE_URL": pg_store, "PKPI_DROPBOX": str(share),
           "PKPI_SETTLE_SECONDS": "0"}
    env.pop("PKPI_DB", None)
    done = subprocess.run([sys.executable, str(REPO / "manage.py"), "watch", "--once", "--poll", "0.2"], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "accepted  one.xlsx" in done.stdout
    assert list((share / "inbox").iterdir()) == [] and len(list((share / "accepted").iterdir())) == 1
    with psycopg.connect(pg_store) as conn:
        assert conn.execute("SELECT original_name, status FROM intake_files").fetchall() == [("one.xlsx", "accepted")]
    assert not (home / "pkpi.duckdb").exists()
