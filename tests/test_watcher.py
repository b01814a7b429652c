"""Issue 14: the watcher says who reads the inbox and when it last looked, and why a file
waits; one watcher works at a time; reading is on unless PKPI_WATCH=0."""
from __future__ import annotations

import os
import socket
import time

import pytest

from data.dropbox import Folders
from data.watcher import Watcher, serve_dropbox, status, why_waiting
from tests.intake_helpers import obs, workbook


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
