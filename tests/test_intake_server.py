"""Issue 5 with real servers: files dropped while a multi-worker server (gunicorn -w 4) serves
several clients are each applied exactly once, with no lock error and no failed request;
and a filled template dropped into a running dashboard's inbox shows in its charts, with
its citation, within 10 seconds, while a bad file ends in rejected/ with its report."""
from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request

from openpyxl import load_workbook

from tests.conftest import REPO, free_port, start_server
from tests.intake_helpers import (COUNT, SOURCE, env_for, folder, manage, new_home, obs, query, sha, wait_until,
                                  workbook)

LOCK_ERRORS = ("Traceback", "Could not set lock", "Conflicting lock", "database is locked", "IO Error",
               "Connection already closed")


def _get(url: str, timeout: float = 20) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as r:
        assert r.status == 200
        return r.read()


def _wait(predicate, timeout: float, step: float = 0.2) -> bool:
    return wait_until(predicate, timeout, step)


def test_twenty_files_at_once_while_four_workers_serve(tmp_path, store):
    home = new_home(tmp_path, store)
    port = free_port()
    log = home / "server.log"
    env = env_for(home, PKPI_WATCH=1, PKPI_POLL_SECONDS=0.5)
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "4", "-b", f"127.0.0.1:{port}",
                               "--timeout", "120", "wsgi:server"], cwd=REPO, env=env,
                              stdout=open(log, "w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    clients_stop = threading.Event()
    failures: list[str] = []
    served = [0]
    try:
        assert _wait(lambda: _ok(url + "/updates/status.json"), 90, 0.5), log.read_text()
        before = json.loads(_get(url + "/updates/status.json"))["observations"]

        def client(n: int):
            paths = ["/updates/status.json", "/download/template.xlsx", "/", "/updates/status.json"]
            i = n
            while not clients_stop.is_set():
                path = paths[i % len(paths)]
                i += 1
                try:
                    _get(url + path, timeout=30)
                    served[0] += 1
                except Exception as exc:  # any failure is a test failure
                    failures.append(f"{path}: {exc!r}")

        clients = [threading.Thread(target=client, args=(n,)) for n in range(4)]
        for c in clients:
            c.start()

        # 20 files: 16 good (one new value each), 4 bad; written aside, then dropped at once.
        staging = tmp_path / "staging"
        good, bad = [], []
        for n in range(16):
            good.append(workbook(staging / f"good-{n:02d}.xlsx", [obs(period=f"{2040 + n}", value=n + 1,
                                                                      locator=f"row {n}")]))
        for n in range(4):
            bad.append(workbook(staging / f"bad-{n}.xlsx", [obs(period=f"{2070 + n}", value="many")]))
        hashes = {p.name: sha(p) for p in good + bad}
        for p in good + bad:
            os.replace(p, home / "dropbox" / "inbox" / p.name)
        # ... and a second writer process at the same time: the writer lock queues them.
        other = subprocess.run(manage("ingest"), env=env_for(home), capture_output=True, text=True, timeout=300)
        assert other.returncode in (0, 1), other.stderr

        assert _wait(lambda: len(folder(home, "accepted")) == 16 and folder(home, "inbox") == [], 120), \
            (folder(home, "inbox"), folder(home, "accepted"), log.read_text()[-3000:])
        time.sleep(1.5)  # let the clients run on the final snapshot too
        clients_stop.set()
        for c in clients:
            c.join(timeout=60)

        assert not failures, failures[:5]
        assert served[0] > 20
        status = json.loads(_get(url + "/updates/status.json"))
        assert status["observations"] == before + 16  # every good file applied exactly once
        store = home / "pkpi.duckdb"
        rows = query(store, "SELECT original_name, sha256, status FROM intake_files ORDER BY original_name")
        assert [(name, h, s) for name, h, s in rows] == sorted(
            [(p.name, hashes[p.name], "accepted") for p in good] + [(p.name, hashes[p.name], "rejected") for p in bad])
        assert query(store, "SELECT count(*), count(DISTINCT period) FROM observation_vintages "
                            "WHERE intake_id IS NOT NULL") == [(16, 16)]
        assert len([p for p in folder(home, "rejected") if p.endswith(".xlsx")]) == 4
        text = log.read_text()
        assert not [e for e in LOCK_ERRORS if e in text], text[-3000:]
        assert "accepted  good-" in text  # the watcher's log is in the server's log
    finally:
        clients_stop.set()
        server.terminate()
        server.wait(timeout=30)


def _ok(url: str) -> bool:
    try:
        _get(url, timeout=5)
        return True
    except Exception:
        return False


def test_dropped_template_appears_in_the_running_dashboard(tmp_path, page, console_errors):
    """From an empty home, with the settings' defaults (reading on, a look every 2 s) and no
    command but starting the dashboard: the folders exist, and a filled template saved into
    the inbox is on its chart within 10 seconds."""
    home = tmp_path / "fresh-home"
    defaults = {name: None for name in ("PKPI_WATCH", "PKPI_POLL_SECONDS", "PKPI_DROPBOX", "PKPI_MAX_FILE_MB",
                                        "PKPI_MAX_ROWS", "PKPI_SETTLE_SECONDS")}
    proc, url, log = start_server(home, defaults)
    try:
        assert {p.name for p in (home / "dropbox").iterdir()} >= {"inbox", "accepted", "rejected"}
        # The template as the Updates page links it; the page says who reads the inbox.
        page.goto(url + "/updates")
        link = page.locator("#updates-template-link")
        assert link.get_attribute("href") == "/download/template.xlsx"
        reading = page.inner_text("#updates-reading")
        assert f"The inbox is read automatically by process {proc.pid} on " in reading, reading
        assert "every 2 s" in reading
        wb = load_workbook(io.BytesIO(_get(url + "/download/template.xlsx")))
        wb["New sources"].append([SOURCE.get(c.value) for c in wb["New sources"][1]])
        wb["New indicators"].append([COUNT.get(c.value) for c in wb["New indicators"][1]])
        sheet = wb["Observations"]
        sheet.append([obs(value=17, quote="截至 2024 年 2 月，17 个特派团报告了数据").get(c.value) for c in sheet[1]])
        staged = tmp_path / "cpas.xlsx"
        wb.save(staged)
        os.replace(staged, home / "dropbox" / "inbox" / "cpas.xlsx")
        dropped = time.monotonic()

        chart = f"{url}/cpas?ind={COUNT['indicator_id']}&sel=2024-02-01/2024-02-29"

        def shown() -> bool:
            page.goto(chart)
            page.locator(".source-panel").wait_for()
            return "截至 2024 年 2 月，17 个特派团报告了数据" in page.inner_text(".source-panel")

        assert _wait(shown, 10, 0.5), log.read_text()[-2000:]
        assert time.monotonic() - dropped <= 10
        panel = page.inner_text(".source-panel")
        assert f"{SOURCE['cite_as']}, row 2" in panel
        assert page.locator(".chart-block").count() >= 1

        # A bad file: rejected, with a report naming sheet, row and column.
        workbook(tmp_path / "bad.xlsx", [obs(period="2024-03", value="25,6 %")])
        os.replace(tmp_path / "bad.xlsx", home / "dropbox" / "inbox" / "bad.xlsx")
        assert _wait(lambda: any(p.endswith("bad.xlsx.errors.txt") for p in folder(home, "rejected")), 10)
        (report,) = [p for p in folder(home, "rejected") if p.endswith(".errors.txt")]
        text = (home / "dropbox" / "rejected" / report).read_text(encoding="utf-8")
        assert "1. Sheet Observations, row 2, column value (E2): '25,6 %' is text, not a number." in text

        # The Updates page lists both, with the value added and the problem found.
        page.goto(url + "/updates")
        files = page.locator("#updates-files")
        files.wait_for()
        page.wait_for_function("document.querySelector('#updates-files').innerText.includes('bad.xlsx')",
                               timeout=10000)
        content = files.inner_text()
        assert "Not loaded bad.xlsx" in content and "'25,6 %' is text, not a number." in content
        page.locator("summary", has_text="cpas.xlsx").click()
        table = page.locator("[id^=updates-values-]")
        assert "17" in table.inner_text() and "row 2" in table.inner_text()
        assert not console_errors
    finally:
        proc.terminate()
        proc.wait(timeout=10)
