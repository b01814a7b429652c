"""Issue 5: killing the ingest process (SIGKILL) mid-file leaves the store unchanged or the
file fully applied, never half; the file is never lost; the next run files it exactly once."""
from __future__ import annotations

import signal
import subprocess
import time
from datetime import date, timedelta

from openpyxl import Workbook

from data.intake import INDICATOR_FIELDS, SOURCE_FIELDS
from tests.intake_helpers import (COUNT, OBS_COLUMNS, SOURCE, env_for, folder, manage, new_home, query,
                                  sha)

ROWS = 20000


def _big_file(path):
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Observations")
    ws.append(OBS_COLUMNS)
    start = date(2000, 1, 1)
    for i in range(ROWS):
        ws.append([COUNT["indicator_id"], "all_pko", (start + timedelta(days=i)).isoformat(), None, i, "count",
                   None, None, "Secretariat", SOURCE["source_id"], f"row {i + 2}", "导出数据", None, None, None, None])
    for title, fields, rec in (("New sources", SOURCE_FIELDS, SOURCE), ("New indicators", INDICATOR_FIELDS, COUNT)):
        sheet = wb.create_sheet(title)
        sheet.append([f.name for f in fields])
        sheet.append([rec.get(f.name) for f in fields])
    wb.save(path)


def _kill_when(home, line: str, delay: float = 0.0) -> None:
    proc = subprocess.Popen(manage("ingest"), env=env_for(home), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    for text in proc.stderr:
        if line in text:
            break
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def _dropped_values(store) -> int:
    return query(store, "SELECT count(*) FROM observation_vintages WHERE intake_id IS NOT NULL")[0][0]


def test_sigkill_mid_file_then_restart(tmp_path, store):
    home = new_home(tmp_path, store)
    path = home / "dropbox" / "inbox" / "cpas-export.xlsx"
    _big_file(path)
    original, store_before = sha(path), sha(home / "pkpi.duckdb")

    # 1. Killed while reading the file: nothing written, the file where it was.
    _kill_when(home, "5,000 rows checked")
    assert sha(home / "pkpi.duckdb") == store_before
    assert sha(path) == original
    assert folder(home, "accepted") == folder(home, "rejected") == []

    # 2. Killed at the end of reading, while (or just before, or just after) the new store is
    # written: either nothing happened or the whole file did; in both cases the file is kept.
    _kill_when(home, f"{ROWS:,} rows checked", delay=0.3)
    n = _dropped_values(home / "pkpi.duckdb")
    assert n in (0, ROWS), n
    if n == 0:
        assert sha(home / "pkpi.duckdb") == store_before
    kept = [p for p in (path, *(home / "dropbox" / ".processing").glob("*.xlsx")) if p.exists()]
    assert kept and all(sha(p) == original for p in kept)

    # 3. The next run files it, exactly once.
    done = subprocess.run(manage("ingest"), env=env_for(home), capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert _dropped_values(home / "pkpi.duckdb") == ROWS
    assert query(home / "pkpi.duckdb", "SELECT status, count(*) FROM intake_files GROUP BY status") == [("accepted", 1)]
    (stored,) = folder(home, "accepted")
    assert sha(home / "dropbox" / "accepted" / stored) == original
    assert folder(home, "inbox") == [] and folder(home, ".processing") == []
    assert sorted(p.name for p in home.iterdir()) == ["dropbox", "pkpi.duckdb"]  # no temporary file left
