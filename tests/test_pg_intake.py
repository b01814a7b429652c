"""Issue 16: the drop folder filing into PostgreSQL. An intake killed (SIGKILL) inside its
transaction leaves the store as it was and the file in the inbox; one killed after its commit
is finished by the next run; either way the file is applied, and filed, exactly once. Two
intake processes on two "machines" (separate homes, one shared drop folder, one database),
run together on one inbox, apply every file exactly once and leave nothing behind."""
from __future__ import annotations

import signal
import subprocess

from tests.intake_helpers import COUNT, env_for, folder, manage, obs, query, sha, workbook

IND = COUNT["indicator_id"]


def _file(inbox, name: str, month: int, rows: int = 3):
    """A good file of ``rows`` values, different from every other file's (its own months)."""
    return workbook(inbox / name, [obs(period=f"{2000 + month}-{m:02d}", value=month * 100 + m, locator=f"row {m + 1}")
                                   for m in range(1, rows + 1)])


def _counts(url) -> dict:
    """What an intake changes: its records, its values, the versions, the current version."""
    one = lambda sql: query(url, sql)[0][0]  # noqa: E731
    return {"files": one("SELECT count(*) FROM intake_files"),
            "values": one("SELECT count(*) FROM observation_vintages WHERE intake_id IS NOT NULL"),
            "versions": one("SELECT count(*) FROM pkpi_versions"),
            "version": one("SELECT value FROM meta WHERE key = 'data_version'")}


def _writer_lock_held(url) -> bool:
    from data.stores.postgres_store import WRITER_KEY
    return query(url, "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objsubid = 1 "
                      "AND ((classid::bigint << 32) | objid::bigint) = :k", k=WRITER_KEY)[0][0] > 0


def _ingest(home, url, **extra):
    return subprocess.run(manage("ingest"), env=env_for(home, PKPI_DATABASE_URL=url, **extra), capture_output=True,
                          text=True, timeout=300)


def test_an_intake_killed_inside_its_transaction_or_after_its_commit_applies_the_file_once(tmp_path, pg_store):
    home = tmp_path / "home"
    path = _file(home / "dropbox" / "inbox", "feb.xlsx", 1)
    original = sha(path)
    before = _counts(pg_store)

    # 1. Killed inside the change's transaction (values written, not committed): the server
    # rolls it back and frees the writer lock with the connection.
    killed = _ingest(home, pg_store, PKPI_TEST_KILL_AT="before-commit")
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    assert _counts(pg_store) == before
    assert not _writer_lock_held(pg_store)
    assert sha(path) == original and folder(home, "accepted") == folder(home, "rejected") == []
    (left,) = folder(home, ".processing")  # the killed run's copy, named by its host and process
    assert left.startswith(original + ".") and "~" in left

    # 2. Killed just after the commit, before the file was moved: the store has it, once.
    killed = _ingest(home, pg_store, PKPI_TEST_KILL_AT="after-swap")
    assert killed.returncode == -signal.SIGKILL, killed.stdout + killed.stderr
    after = _counts(pg_store)
    assert (after["files"], after["values"], after["versions"]) == (before["files"] + 1, before["values"] + 3,
                                                                    before["versions"] + 1)
    assert after["version"] != before["version"]
    assert folder(home, "accepted") == []
    kept = [p for p in (path, *(home / "dropbox" / ".processing").iterdir()) if p.exists()]
    assert kept and all(sha(p) == original for p in kept)

    # 3. The next run finishes it from the record: nothing applied again.
    done = _ingest(home, pg_store)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "finished  feb.xlsx" in done.stdout + done.stderr
    assert _counts(pg_store) == after
    assert query(pg_store, "SELECT status, sha256 FROM intake_files WHERE sha256 = :s", s=original) == [
        ("accepted", original)]
    (stored,) = folder(home, "accepted")
    assert sha(home / "dropbox" / "accepted" / stored) == original
    assert folder(home, "inbox") == [] and folder(home, ".processing") == []
    assert not _writer_lock_held(pg_store)


def test_two_machines_sharing_the_drop_folder_apply_each_file_once(tmp_path, pg_store):
    shared = tmp_path / "share"  # the network share both machines mount
    files = {f"report-{n}.xlsx": sha(_file(shared / "inbox", f"report-{n}.xlsx", n, rows=n))
             for n in range(1, 7)}
    before = _counts(pg_store)
    runs = []
    for machine in ("machine-a", "machine-b"):
        home = tmp_path / machine
        home.mkdir()
        env = env_for(home, PKPI_DATABASE_URL=pg_store, PKPI_TEST_HOSTNAME=machine)
        env["PKPI_DROPBOX"] = str(shared)
        runs.append(subprocess.Popen(manage("ingest"), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True))
    said = []
    for run in runs:
        out, err = run.communicate(timeout=300)
        assert run.returncode == 0, out + err
        said.append(out)

    # Every file applied exactly once, by one machine or the other.
    rows = query(pg_store, "SELECT original_name, sha256, status FROM intake_files ORDER BY original_name")
    assert rows == [(name, digest, "accepted") for name, digest in sorted(files.items())]
    assert _counts(pg_store)["values"] == before["values"] + sum(range(1, 7))
    assert query(pg_store, "SELECT count(*) FROM (SELECT indicator_id, area, period FROM observations "
                           "GROUP BY 1, 2, 3 HAVING count(*) > 1) twice")[0][0] == 0
    accepted_lines = [line for out in said for line in out.splitlines() if line.startswith("accepted  ")]
    assert sorted(line.split()[1].rstrip(":") for line in accepted_lines) == sorted(files)
    # Each kept once under its recorded name, byte for byte; nothing left in the inbox or at work.
    stored = dict(query(pg_store, "SELECT stored_name, sha256 FROM intake_files"))
    kept = sorted(p.name for p in (shared / "accepted").iterdir())
    assert kept == sorted(stored) and all(sha(shared / "accepted" / n) == stored[n] for n in kept)
    assert sorted(p.name for p in (shared / "inbox").iterdir()) == []
    assert sorted(p.name for p in (shared / ".processing").iterdir()) == []
    assert not any((shared / "rejected").iterdir())
