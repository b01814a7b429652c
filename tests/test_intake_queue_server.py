"""Issue 11 (the drop-folder queue) against a real server with its watcher on, while a
client keeps asking it for pages: copies that stall half-way are read whole, once; links,
folders, pipes, sockets and long Chinese names never stop the intake; and a watcher killed
(SIGKILL) after the swap and before the move leaves the file to be filed once, by the
watcher that takes over.

The stalled copies and the hostile inbox are served by gunicorn with two workers, the
deployment: what they test is the watcher's own logic (the settle time, the writer's open
file, the refusal of entries that are not files), the same code in either server, and gunicorn
adds what the dev server lacks (a second worker whose watcher stands by and must not say or
read anything twice). The dev server (``python app.py``, the watcher a thread beside request
threads) serves the kill test below, test_intake_hostile_server.py's far cells and
test_intake_server.py's dropped template."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request

import pytest

from data.dropbox import process
from tests.conftest import REPO, free_port, start_server
from tests.intake_helpers import (COUNT, env_for, folder, manage, obs, query, sha, wait_until, workbook)
from tests.test_intake_queue import REFUSED, chinese_name, csv_bytes, hostile_inbox


@pytest.fixture
def home(dropbox_home):
    return dropbox_home


class Gunicorn:
    """``gunicorn -w 2`` on the home, as the README recommends serving it (the watcher in one
    worker, the other standing by)."""

    def __init__(self, home, extra: dict):
        port = free_port()
        self.log = home / "server.log"
        self.proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{port}",
                                      "--timeout", "120", "wsgi:server"], cwd=REPO, env=env_for(home, **extra),
                                     stdout=open(self.log, "w"), stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{port}"

        def up():
            try:
                urllib.request.urlopen(self.url + "/updates/status.json", timeout=5).read()
                return True
            except OSError:
                return False

        if not wait_until(up, 90, 0.5):
            self.proc.kill()
            raise RuntimeError(self.log.read_text())

    def terminate(self):
        self.proc.terminate()

    def wait(self, timeout):
        return self.proc.wait(timeout=timeout)


def serve(home, extra: dict):
    """(process, url, log) of gunicorn with two workers."""
    g = Gunicorn(home, {"PKPI_WATCH": "1", **extra})
    return g, g.url, g.log


class Client:
    """Asks the server for a page every 0.2 s, and keeps every failure."""

    def __init__(self, url: str):
        self.url, self.failures, self.served = url, [], 0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        paths = ["/updates/status.json", "/"]
        n = 0
        while not self.stop.is_set():
            path = paths[n % 2]
            n += 1
            try:
                with urllib.request.urlopen(self.url + path, timeout=20) as r:
                    assert r.status == 200
                    r.read()
                self.served += 1
            except Exception as exc:  # any failure fails the test
                self.failures.append(f"{path}: {exc!r}")
            self.stop.wait(0.2)

    def finish(self):
        self.stop.set()
        self.thread.join(timeout=30)
        assert not self.failures, self.failures[:5]
        assert self.served > 10


WRITER = """
import os, sys, time
target, source, cut, pause, reopen = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
data = open(source, "rb").read()
f = open(target, "wb")
f.write(data[:cut]); f.flush(); os.fsync(f.fileno())
if reopen == "close":
    f.close()
time.sleep(pause)
if reopen == "close":
    f = open(target, "ab")
f.write(data[cut:]); f.flush(); os.fsync(f.fileno())
f.close()
"""


def write_in_two_parts(source, target, cut: int, pause: float, close_between: bool) -> subprocess.Popen:
    """A copy that stalls: the first ``cut`` bytes, a pause, then the rest (the file kept
    open meanwhile, as a copying program does, or closed and opened again)."""
    return subprocess.Popen([sys.executable, "-c", WRITER, str(target), str(source), str(cut), str(pause),
                             "close" if close_between else "open"])


def test_copies_that_stall_are_read_whole_once(home, tmp_path):
    """The red team's case: a CSV written in two parts with a 7 s pause at a line boundary, and
    an .xlsx cut the same way; with a 3 s settle time the pause outlasts it, and only the
    writer's open file shows that the copy is not finished. A third copy closes the file in
    its pause: the settle time covers it. Each is read once, whole, and kept byte for byte."""
    assert process(workbook(home / "dropbox" / "inbox" / "declare.xlsx", [obs()])).status == "accepted"
    proc, url, log = serve(home, {"PKPI_POLL_SECONDS": "0.5", "PKPI_SETTLE_SECONDS": "3"})
    client = Client(url)
    try:
        staging = tmp_path / "staging"
        staging.mkdir()

        def rows(base: int):
            return [obs(period=f"{base + i // 12}-{i % 12 + 1:02d}", value=i + 1, locator=f"row {i + 2}")
                    for i in range(40)]

        (staging / "open.csv").write_bytes(csv_bytes(rows(2050)))
        (staging / "closed.csv").write_bytes(csv_bytes(rows(2060)))
        workbook(staging / "cut.xlsx", rows(2070), sources=(), indicators=())
        box = home / "dropbox" / "inbox"
        writers = []
        for name, close_between, pause in (("open.csv", False, 7), ("cut.xlsx", False, 7), ("closed.csv", True, 2)):
            data = (staging / name).read_bytes()
            cut = (data.index(b"\n", len(data) // 2) + 1) if name.endswith(".csv") else len(data) // 2
            writers.append(write_in_two_parts(staging / name, box / name, cut, pause, close_between))
        for w in writers:
            assert w.wait(timeout=60) == 0
        assert wait_until(lambda: folder(home, "inbox") == [] and len(folder(home, "accepted")) == 4, 60), \
            (folder(home, "inbox"), folder(home, "accepted"), folder(home, "rejected"), log.read_text()[-3000:])
        client.finish()
    finally:
        client.stop.set()
        proc.terminate()
        proc.wait(timeout=30)
    store = home / "pkpi.duckdb"
    files = query(store, "SELECT original_name, status, rows_read, sha256 FROM intake_files ORDER BY intake_id")
    assert sorted((n, s, r) for n, s, r, _ in files) == sorted(
        [("declare.xlsx", "accepted", 4), ("open.csv", "accepted", 40), ("closed.csv", "accepted", 40),
         ("cut.xlsx", "accepted", 40)]), files
    assert folder(home, "rejected") == []
    for name, _status, _rows, digest in files:
        if name == "declare.xlsx":
            continue
        assert digest == sha(staging / name)  # what was read is the whole file
        (kept,) = [n for n in folder(home, "accepted") if n.endswith(name)]
        assert (home / "dropbox" / "accepted" / kept).read_bytes() == (staging / name).read_bytes()
    counts = dict(query(store, "SELECT substr(period, 1, 3), count(*) FROM observation_vintages "
                               "WHERE indicator_id = :i AND intake_id IS NOT NULL GROUP BY 1", i=COUNT["indicator_id"]))
    assert counts == {"202": 1, "205": 40, "206": 40, "207": 40}
    assert "waiting   open.csv: Still being written: the program python" in log.read_text()


def test_hostile_inbox_never_stops_the_intake(home, tmp_path):
    """Links (to /etc/passwd, to the live store, to a folder), a folder named x.xlsx, a named
    pipe, a socket, names of 76, 80 and 83 Chinese characters and a name with a line break,
    all at once: the refused entries are said once each and left unread, every file is
    filed, and the server answers throughout."""
    sock = hostile_inbox(home, tmp_path)
    proc, url, log = serve(home, {"PKPI_POLL_SECONDS": "0.5"})
    client = Client(url)
    box = home / "dropbox" / "inbox"
    try:
        staging = tmp_path / "staging"
        names = [chinese_name(76, ".xlsx"), chinese_name(80, ".csv"), chinese_name(83, ".xlsx"),
                 "two\nlines.xlsx"]
        for n, name in enumerate(names):
            workbook(staging / f"{n}.xlsx", [obs(value="many")])
            if name.endswith(".csv"):
                (staging / f"{n}.xlsx").write_bytes(b"indicator_id,value\nnope,1\n")
            os.replace(staging / f"{n}.xlsx", box / name)
        workbook(staging / "good.xlsx", [obs()])
        os.replace(staging / "good.xlsx", box / "good.xlsx")
        assert wait_until(lambda: sorted(folder(home, "inbox")) == sorted(REFUSED), 60), \
            (folder(home, "inbox"), log.read_text()[-3000:])
        time.sleep(2)  # a few more looks: nothing is said twice
        status = json.loads(urllib.request.urlopen(url + "/updates/status.json", timeout=20).read())
        client.finish()
    finally:
        client.stop.set()
        sock.close()
        proc.terminate()
        proc.wait(timeout=30)
    assert sorted(status["inbox"]) == sorted(REFUSED)
    rows = query(home / "pkpi.duckdb", "SELECT original_name, status FROM intake_files")
    assert sorted(rows) == sorted([(n, "rejected") for n in names] + [("good.xlsx", "accepted")])
    for name in folder(home, "rejected") + folder(home, "accepted"):
        assert len(name.encode()) <= 255
    assert len(folder(home, "rejected")) == 3 * len(names)  # each copy with its two reports
    text = log.read_text()
    for name in REFUSED:
        assert text.count(f"REFUSED   {name}: ") == 1, name
    assert "REJECTED  two\\nlines.xlsx: Not loaded" in text
    assert "root:" not in text and "Traceback" not in text
    kept = [p for p in (home / "dropbox").rglob("*") if p.is_file() and not p.is_symlink()]
    assert not [p for p in kept if p.stat().st_size > 1_000_000]  # no copy of the store


def _watcher_pid(home) -> int | None:
    try:
        return json.loads((home / "pkpi.duckdb.watcher").read_text().splitlines()[0]).get("pid")
    except (OSError, ValueError, IndexError):
        return None


def test_watcher_killed_after_the_swap_then_the_standby_files_it_once(home, tmp_path):
    """``manage.py watch`` is the elected watcher; the server's watcher stands by. The watch
    is killed (SIGKILL, from the fault-injection point) after the new store is swapped in and
    before the file is moved; the server's watcher takes over and files it, once."""
    marker = tmp_path / "killed"
    watch = subprocess.Popen(manage("watch", "--poll", "0.3"), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             env=env_for(home, PKPI_TEST_KILL_AT=f"after-swap:{marker}"))
    proc = None
    try:
        assert wait_until(lambda: _watcher_pid(home) == watch.pid, 60)
        proc, url, log = start_server(home, {"PKPI_POLL_SECONDS": "0.5"})
        client = Client(url)
        path = workbook(tmp_path / "staging" / "kill.xlsx", [obs(period="2024-07", value=7)])
        original = path.read_bytes()
        os.replace(path, home / "dropbox" / "inbox" / "kill.xlsx")
        assert watch.wait(timeout=60) == -signal.SIGKILL and marker.exists()
        store = home / "pkpi.duckdb"
        assert wait_until(lambda: folder(home, "accepted") != [] and folder(home, "inbox") == [], 30), \
            log.read_text()[-3000:]
        assert wait_until(lambda: folder(home, ".processing") == [], 10)
        time.sleep(1.5)
        client.finish()
    finally:
        if watch.poll() is None:
            watch.kill()
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)
    assert query(store, "SELECT original_name, status FROM intake_files") == [("kill.xlsx", "accepted")]
    assert query(store, "SELECT count(*) FROM observation_vintages WHERE intake_id IS NOT NULL") == [(1,)]
    (stored,) = folder(home, "accepted")
    assert (home / "dropbox" / "accepted" / stored).read_bytes() == original
    text = log.read_text()
    assert text.count("finished  kill.xlsx: it had already been processed (accepted)") == 1, text[-2000:]
    assert "accepted  kill.xlsx" not in text  # not read a second time


def test_ingest_killed_after_the_swap_then_ingest_files_it_once(home, tmp_path):
    path = workbook(home / "dropbox" / "inbox" / "kill.xlsx", [obs()])
    original = path.read_bytes()
    killed = subprocess.run(manage("ingest"), env=env_for(home, PKPI_TEST_KILL_AT="after-swap"),
                            capture_output=True, text=True, timeout=300)
    assert killed.returncode == -signal.SIGKILL
    store = home / "pkpi.duckdb"
    assert query(store, "SELECT count(*) FROM intake_files") == [(1,)]  # swapped in ...
    assert folder(home, "inbox") == ["kill.xlsx"] and folder(home, "accepted") == []  # ... not moved
    done = subprocess.run(manage("ingest"), env=env_for(home), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("finished  kill.xlsx: it had already been processed (accepted)")
    assert query(store, "SELECT count(*) FROM intake_files") == [(1,)]
    (stored,) = folder(home, "accepted")
    assert (home / "dropbox" / "accepted" / stored).read_bytes() == original
    assert folder(home, "inbox") == [] and folder(home, ".processing") == []
