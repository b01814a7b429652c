"""Issue 11, finding 1: a dropped file is read in a child process with limits; a reader that
crashes, runs out of memory or of time costs only that file, which is rejected with the
reason (kept byte for byte, with its report) and never read again. Real store, real child
processes, real workbooks."""
from __future__ import annotations

import pytest

from data import store as store_module
from data.dropbox import Folders
from data.isolation import process_isolated
from data.watcher import Watcher
from tests.far_cells import far_text
from tests.intake_helpers import folder, obs, query, sha, store_of, workbook


@pytest.fixture
def home(dropbox_home, monkeypatch):
    # Let the scan pass the red team's file, so that the reader itself meets it.
    monkeypatch.setenv("PKPI_MAX_ROWS", "2000000")
    monkeypatch.setenv("PKPI_MAX_COLUMNS", "16384")
    return dropbox_home


@pytest.fixture
def any_home(any_dropbox_home, monkeypatch):
    """``home`` on each store (conftest's ``any_dropbox_home``)."""
    monkeypatch.setenv("PKPI_MAX_ROWS", "2000000")
    monkeypatch.setenv("PKPI_MAX_COLUMNS", "16384")
    return any_dropbox_home


def _report(home, name: str) -> str:
    (report,) = [p for p in folder(home, "rejected") if p.endswith(name + ".errors.txt")]
    return (home / "dropbox" / "rejected" / report).read_text(encoding="utf-8")


def test_a_reader_killed_over_its_memory_gives_a_rejection_not_a_retry(home):
    """calamine asks for 512 GiB for a cell at XFD1048576 and aborts its process: the child,
    not this one. The file is rejected, kept whole, and a second look does not read it."""
    inbox = home / "dropbox" / "inbox"
    bad = far_text(inbox / "xfd.xlsx", "XFD1048576")
    original = sha(bad)
    store = home / "pkpi.duckdb"
    before = query(store, "SELECT count(*) FROM observation_vintages")
    watcher = Watcher(store, Folders(home / "dropbox"), poll=0.1, report=lambda o: None)
    try:
        assert watcher.poll_once() == []  # first seen
        (outcome,) = watcher.poll_once()  # read (in a child), and rejected
        assert outcome.status == "rejected"
        assert outcome.errors[0].msg == "reader-out-of-memory"
        assert "xfd.xlsx needed more than 4,096 MB of memory to read" in outcome.message
        assert folder(home, "inbox") == []
        (kept,) = [p for p in folder(home, "rejected") if p.endswith("xfd.xlsx")]
        assert sha(home / "dropbox" / "rejected" / kept) == original
        text = _report(home, "xfd.xlsx")
        assert "PKPI_READER_MEMORY_MB" in text and "所需的内存超过 4,096 MB" in text
        # Dropped again, it is read again (and rejected again), once: no loop.
        far_text(inbox / "xfd.xlsx", "XFD1048576")
        assert watcher.poll_once() == []
        (again,) = watcher.poll_once()
        assert again.status == "rejected" and watcher.poll_once() == []
    finally:
        watcher.release()
    assert query(store, "SELECT status, count(*) FROM intake_files GROUP BY status") == [("rejected", 2)]
    assert query(store, "SELECT count(*) FROM observation_vintages") == before
    assert folder(home, ".processing") == []


def test_a_reader_over_its_time_is_stopped_and_the_file_rejected(home, monkeypatch):
    """A second of processor time (the reader's imports not counted) is less than 90,000
    rows take."""
    big = workbook(home / "dropbox" / "inbox" / "slow.xlsx",
                   [obs(period=f"{1900 + n // 12}-{n % 12 + 1:02d}", value=n) for n in range(90000)])
    original = sha(big)
    outcome = process_isolated(big, seconds=1)
    assert outcome.status == "rejected" and outcome.errors[0].msg == "reader-out-of-time", outcome.message
    assert "slow.xlsx took more than 1 seconds to read" in outcome.message
    (kept,) = [p for p in folder(home, "rejected") if p.endswith("slow.xlsx")]
    assert sha(home / "dropbox" / "rejected" / kept) == original
    # With time enough, the same content dropped again is read and accepted.
    again = workbook(home / "dropbox" / "inbox" / "slow.xlsx",
                     [obs(period=f"{1900 + n // 12}-{n % 12 + 1:02d}", value=n) for n in range(90000)])
    done = process_isolated(again)
    assert done.status == "accepted", done.message


def test_a_good_file_is_filed_as_in_process_and_the_lock_is_released(home):
    good = workbook(home / "dropbox" / "inbox" / "good.xlsx", [obs(value=7)])
    outcome = process_isolated(good)
    assert outcome.status == "accepted" and "1 new value" in outcome.message
    assert folder(home, "inbox") == []
    lock = store_module.lock_path(home / "pkpi.duckdb")
    assert not lock.exists()  # the writer lock was let go (its file removed, as after any write)
    assert store_module.held_lock_fd(home / "pkpi.duckdb") is None


def _reader_children() -> list[int]:
    """This process's reader children (``python -m data.isolation``), from /proc."""
    import os
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if ppid == os.getpid() and b"data.isolation" in cmd:
            found.append(int(entry))
    return found


def test_a_reader_killed_by_a_signal_gives_a_rejection_saying_so(any_home):
    """On PostgreSQL the child holds the writer lock on its own connection (it cannot inherit
    the parent's): killed, it frees the lock, and the parent takes it to reject the file."""
    import os
    import signal
    import threading
    import time

    home = any_home
    path = workbook(home / "dropbox" / "inbox" / "killed.xlsx",
                    [obs(period=f"{1900 + n // 12}-{n % 12 + 1:02d}", value=n) for n in range(20000)])
    original = sha(path)
    idle = set(_reader_children())  # readers started ahead for this thread's next file
    result = {}
    worker = threading.Thread(target=lambda: result.setdefault("outcome", process_isolated(path)))
    worker.start()
    deadline = time.monotonic() + 60
    while not (children := [c for c in _reader_children() if c not in idle]) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert children, "no reader child was started"
    time.sleep(0.3)
    for pid in children:
        os.kill(pid, signal.SIGKILL)
    worker.join(timeout=120)
    outcome = result["outcome"]
    assert outcome.status == "rejected" and outcome.errors[0].msg == "reader-crashed", outcome.message
    assert "Reading killed.xlsx stopped the program that read it (SIGKILL)" in outcome.message
    (kept,) = [p for p in folder(home, "rejected") if p.endswith("killed.xlsx")]
    assert sha(home / "dropbox" / "rejected" / kept) == original
    assert folder(home, "inbox") == [] and folder(home, ".processing") == []
    assert query(store_of(home), "SELECT original_name, status FROM intake_files") == [("killed.xlsx", "rejected")]
