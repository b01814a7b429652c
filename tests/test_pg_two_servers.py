"""Issue 16's deployment, done-when: two dashboard servers (gunicorn, each with a home of its
own, as on two machines) and one watcher on one PostgreSQL database, sharing one drop folder.
A spreadsheet dropped while eight clients ask both servers for pages and downloads appears on
both servers, every request is answered (200), and the file is filed once: one record, one
copy in accepted/, nothing left in the inbox.

The watcher is not started apart: every worker of both servers runs one (``PKPI_WATCH=1``, the
default) and the PostgreSQL advisory lock elects one of the four; both servers' status says
which. No timing assertions: every wait is for an observable state, with generous timeouts."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import psycopg

from data.stores import open_store
from data.stores.postgres_store import WATCHER_KEY
from tests.conftest import REPO, free_port
from tests.intake_helpers import COUNT, obs, sha, wait_until, workbook

CLIENTS = 8
PATHS = ["/", "/data?family=women", "/download/observations.csv?family=women", "/updates/status.json",
         "/updates", "/download/observations.csv?family=cpas"]


class Server:
    """``gunicorn -w 2 wsgi:server`` with a home of its own, the shared drop folder and the
    shared database: one "machine"."""

    def __init__(self, home: Path, env: dict):
        home.mkdir(parents=True)
        self.port = free_port()
        self.log = home / "server.log"
        env = {**os.environ, **env, "PKPI_HOME": str(home)}
        env.pop("PKPI_DB", None)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-w", "2", "-b", f"127.0.0.1:{self.port}", "--timeout", "120",
             "--control-socket", str(home / "gunicorn.ctl"), "wsgi:server"], cwd=REPO, env=env, stdout=open(self.log, "w"), stderr=subprocess.STDOUT)
        self.url = f"http://127.0.0.1:{self.port}"

    def up(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(f"server exited: {self.log.read_text()[-3000:]}")
        try:
            get(self.url + "/updates/status.json")
            return True
        except OSError:
            return False

    def status(self) -> dict:
        return json.loads(get(self.url + "/updates/status.json"))

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=60) as r:
        if r.status != 200:
            raise AssertionError(f"{url}: {r.status}")
        return r.read()


class Load:
    """Eight clients, each asking both servers in turn for pages and downloads, without a
    pause; every failure (an error, a status other than 200) is kept."""

    def __init__(self, servers: list[Server]):
        self.servers, self.failures, self.served = servers, [], [0] * len(servers)
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._run, args=(n,), daemon=True) for n in range(CLIENTS)]
        for t in self.threads:
            t.start()

    def _run(self, n: int):
        i = n
        while not self.stop.is_set():
            which, path = i % len(self.servers), PATHS[i % len(PATHS)]
            i += 1
            url = self.servers[which].url + path
            try:
                get(url)
                self.served[which] += 1
            except Exception as exc:  # any failure fails the test
                self.failures.append(f"{url}: {exc!r}")

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(timeout=90)


def pg_rows(url: str, sql: str, *params) -> list:
    with psycopg.connect(url, autocommit=True) as conn:
        return conn.execute(sql, params).fetchall()


def test_a_drop_under_load_appears_on_both_servers_once(pg_store, tmp_path):
    share = tmp_path / "share" / "dropbox"  # the network share both machines mount
    env = {"PKPI_DATABASE_URL": pg_store, "PKPI_DROPBOX": str(share), "PKPI_WATCH": "1",
           "PKPI_POLL_SECONDS": "0.5", "PKPI_SETTLE_SECONDS": "1"}
    servers = [Server(tmp_path / f"machine{n}", env) for n in (1, 2)]
    load = None
    try:
        assert wait_until(lambda: all(s.up() for s in servers), 120, 0.5), [s.log.read_text()[-2000:] for s in servers]
        # Four watchers (two workers on each server), one elected: both servers name it.
        assert wait_until(lambda: all(s.status()["reading"]["active"] for s in servers), 60)
        first = [s.status() for s in servers]
        assert first[0]["reading"]["pid"] == first[1]["reading"]["pid"] and first[0]["reading"]["pid"]
        assert pg_rows(pg_store, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                                 "AND ((classid::bigint << 32) | objid::bigint) = %s", WATCHER_KEY) == [(1,)]
        before = first[0]["data_version"]
        assert first[1]["data_version"] == before
        assert all(COUNT["indicator_id"].encode() not in get(s.url + "/download/observations.csv?family=cpas")
                   for s in servers)

        load = Load(servers)
        assert wait_until(lambda: min(load.served) >= 2 * CLIENTS, 120, 0.2), load.failures[:5]

        staging = tmp_path / "staging"
        staging.mkdir()
        dropped = workbook(staging / "new values.xlsx", [obs(value=12), obs(period="2024-03", value=14,
                                                                          locator="row 3")])
        digest, content = sha(dropped), dropped.read_bytes()
        os.replace(dropped, share / "inbox" / "new values.xlsx")  # saved whole, as a copy onto a share ends

        def seen_on(server: Server) -> bool:
            csv = get(server.url + "/download/observations.csv?family=cpas").decode("utf-8-sig")
            return (server.status()["data_version"] != before
                    and sum(COUNT["indicator_id"] in line for line in csv.splitlines()) == 2)

        assert wait_until(lambda: all(seen_on(s) for s in servers), 120, 0.3), \
            ({n: sorted(p.name for p in (share / n).iterdir()) for n in ("inbox", "accepted", "rejected")},
             [s.log.read_text()[-3000:] for s in servers])
        served_at_drop = list(load.served)
        assert wait_until(lambda: min(b - a for a, b in zip(served_at_drop, load.served)) >= CLIENTS, 60, 0.2)
        load.finish()
        assert not load.failures, load.failures[:5]
        versions = {s.status()["data_version"] for s in servers}
        assert len(versions) == 1 and versions != {before}
    finally:
        if load is not None:
            load.finish()
        for s in servers:
            s.stop()

    # Filed once: one record of that content, its two values, one copy kept, nothing waiting.
    files = pg_rows(pg_store, "SELECT original_name, status, stored_name FROM intake_files WHERE sha256 = %s",
                    digest)
    assert [(n, s) for n, s, _ in files] == [("new values.xlsx", "accepted")]
    names = {name: sorted(p.name for p in (share / name).iterdir()) for name in ("inbox", "accepted", "rejected")}
    assert names == {"inbox": [], "accepted": [files[0][2]], "rejected": []}
    assert (share / "accepted" / files[0][2]).read_bytes() == content
    assert not (share / ".processing").exists() or list((share / ".processing").iterdir()) == []
    assert pg_rows(pg_store, "SELECT count(*) FROM observation_vintages WHERE indicator_id = %s",
                   COUNT["indicator_id"]) == [(2,)]
    # The servers stopped, their watchers with them: the election is free, and the status line
    # the elected one left in pkpi_watcher is not taken for a living watcher's.
    assert wait_until(lambda: open_store(pg_store).watcher_status() == (False, None), 60)
