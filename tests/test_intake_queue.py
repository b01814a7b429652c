"""Issue 11 (the drop-folder queue), in one process with real files and a real store: long
Chinese names are filed; one failing file never stops the others; links, folders, pipes and
sockets in the inbox are refused and never read; a file is read once settled and not open
for writing, and one that changes after it was read is read again whole; CSV encodings are
named; a line break in a file name cannot forge a log line."""
from __future__ import annotations

import logging
import os
import socket
import subprocess
import time

import pytest

import data.dropbox as dropbox
from data.dropbox import Folders, process, process_inbox
from data.watcher import Watcher, status, why_waiting
from layouts import updates_parts
from tests.intake_helpers import (COUNT, OBS_COLUMNS, env_for, folder, manage, obs, query, sha,
                                  store_of, workbook)


NAME_MAX = 255  # bytes in a file name (ext4, XFS)
STORED_MAX = NAME_MAX - len(".errors.csv.tmp")  # a stored name leaves room for its reports' names


@pytest.fixture
def home(dropbox_home):
    return dropbox_home


@pytest.fixture
def in_process(monkeypatch):
    file_here(monkeypatch)


def file_here(monkeypatch):
    """File in this process instead of a reader child (data.isolation), where a failure
    patched in here (a full disk, a move refused) reaches the code under test."""
    import data.isolation
    import data.watcher
    from data import dropbox as d

    def here(path, store=None, folders=None, progress=False, settle=None, **_):
        return d.process(path, store, folders, settle=settle)

    monkeypatch.setattr(data.isolation, "process_isolated", here)
    monkeypatch.setattr(data.watcher, "process_isolated", here)


def inbox(home, name):
    return home / "dropbox" / "inbox" / name


def declared(home):
    """The test source and indicators in the store (a CSV may only cite known ids)."""
    assert process(workbook(inbox(home, "declare.xlsx"), [obs()])).status == "accepted"


def csv_bytes(rows, encoding="utf-8") -> bytes:
    import csv
    import io
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(OBS_COLUMNS)
    for r in rows:
        w.writerow(["" if r.get(c) is None else r.get(c) for c in OBS_COLUMNS])
    return out.getvalue().encode(encoding)


def values(home) -> dict:
    return dict(query(store_of(home), "SELECT period, value FROM observation_vintages "
                                            "WHERE indicator_id = :i AND intake_id IS NOT NULL",
                      i=COUNT["indicator_id"]))


# --- Critical 3: a long Chinese name ---------------------------------------------------------

CHINESE = "维持和平行动绩效指标数据报告"  # 14 characters, 3 bytes each


def chinese_name(chars: int, ext: str) -> str:
    return (CHINESE * 10)[:chars] + ext


@pytest.mark.parametrize("chars", [76, 80, 83])
def test_a_long_chinese_name_is_filed_and_the_queue_goes_on(any_dropbox_home, chars):
    """83 characters and .xlsx is 254 bytes, the longest name a file may have. Rejected (its
    reports are written beside it) and accepted, each under a name within 255 bytes, and
    the file after it is read. On each store (the report is written from the store's record)."""
    home = any_dropbox_home
    bad_name, good_name = chinese_name(chars, ".xlsx"), chinese_name(chars - 1, ".xlsx")
    workbook(inbox(home, bad_name), [obs(value="many")])
    workbook(inbox(home, good_name), [obs()])
    workbook(inbox(home, "after.xlsx"), [obs(period="2024-03", value=13)], indicators=())
    assert len(bad_name.encode()) <= NAME_MAX
    outcomes = process_inbox()
    assert sorted(o.status for o in outcomes) == ["accepted", "accepted", "rejected"], \
        [o.message for o in outcomes]
    assert folder(home, "inbox") == [] and folder(home, ".processing") == []
    rejected = folder(home, "rejected")
    (stored,) = [n for n in rejected if n.endswith(".xlsx")]
    assert sorted(rejected) == sorted([stored, stored + ".errors.csv", stored + ".errors.txt"])
    for name in rejected + folder(home, "accepted"):
        assert len(name.encode()) <= NAME_MAX, name
    assert len(stored.encode()) <= STORED_MAX
    # shortened between characters, keeping the extension: a prefix of the name as saved
    stem = stored[len("20261202-000000-"):-len(".xlsx")]
    assert stored.endswith(".xlsx") and bad_name.startswith(stem) and len(stem) >= 60
    report = (home / "dropbox" / "rejected" / (stored + ".errors.txt")).read_text(encoding="utf-8")
    assert report.startswith(f"{bad_name} was not loaded")
    assert values(home) == {"2024-02": 12, "2024-03": 13}


def test_a_long_name_by_manage_ingest(home):
    name = chinese_name(80, ".xlsx")
    workbook(inbox(home, name), [obs(value="many")])
    workbook(inbox(home, "next.xlsx"), [obs()])
    done = subprocess.run(manage("ingest"), env=env_for(home), capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stdout + done.stderr  # one was rejected
    assert f"REJECTED  {name}" in done.stdout and "accepted  next.xlsx" in done.stdout
    assert "Traceback" not in done.stderr
    again = subprocess.run(manage("ingest"), env=env_for(home), capture_output=True, text=True, timeout=300)
    assert again.returncode == 0 and "the inbox is empty" in again.stdout, again.stdout + again.stderr


# --- The class: one file never stops the queue -----------------------------------------------

def test_an_unexpected_error_on_one_file_is_reported_and_the_next_is_read(home, in_process, monkeypatch, caplog):
    real = dropbox._file_new

    def fails_for_one(path, *args, **kwargs):
        if path.name == "first.xlsx":
            raise OSError(28, "No space left on device")
        return real(path, *args, **kwargs)

    monkeypatch.setattr(dropbox, "_file_new", fails_for_one)
    first = workbook(inbox(home, "first.xlsx"), [obs(period="2024-09", value=9)])
    os.utime(first, ns=(1, 1))  # the oldest: read first
    workbook(inbox(home, "second.xlsx"), [obs()])
    with caplog.at_level(logging.ERROR, logger="pkpi.dropbox"):
        outcomes = process_inbox()
    assert [(o.name, o.status) for o in outcomes] == [("first.xlsx", "failed"), ("second.xlsx", "accepted")]
    assert outcomes[0].message == ("FAILED    first.xlsx: could not be filed; it stays in the inbox. Reason: "
                                   "OSError: [Errno 28] No space left on device")
    assert "could not file first.xlsx" in caplog.text
    assert folder(home, "inbox") == ["first.xlsx"]  # kept, to be read again
    # The watcher too: the failure is on the Updates page with its reason, the next file is filed.
    workbook(inbox(home, "third.xlsx"), [obs(period="2024-05", value=5)], indicators=())
    watcher = Watcher(poll=1, settle=0)
    try:
        assert watcher.poll_once() == []
        filed = watcher.poll_once()
        assert [(o.name, o.status) for o in filed] == [("third.xlsx", "accepted")]
        state = status()
        assert state.failed == {"first.xlsx": "OSError: [Errno 28] No space left on device"}
        state.first_seen["first.xlsx"] -= 60
        assert why_waiting(inbox(home, "first.xlsx"), state) == (
            "failed", {"error": "OSError: [Errno 28] No space left on device"})
    finally:
        watcher.release()


def test_a_copy_that_cannot_be_finished_does_not_stop_the_others(any_dropbox_home):
    """A file processed but not moved (its run was killed after the swap), and finishing it
    fails every time: reported, and the inbox is filed regardless. On each store."""
    import data.dropbox as d
    home = any_dropbox_home
    path = workbook(inbox(home, "late.xlsx"), [obs()])

    def killed(*_args):
        raise SystemExit("killed between the swap and the move")

    with pytest.MonkeyPatch.context() as patched:  # only these (the home and store stay set)
        patched.setattr(d, "_remove_from_inbox", killed)
        with pytest.raises(SystemExit):
            process(path)
    with pytest.MonkeyPatch.context() as patched:
        file_here(patched)
        patched.setattr(d, "_finish", lambda *a, **k: (_ for _ in ()).throw(PermissionError(13, "Permission denied")))
        workbook(inbox(home, "other.xlsx"), [obs(period="2024-03", value=13)], indicators=())
        outcomes = process_inbox()
    statuses = [(o.name, o.status) for o in outcomes]
    assert ("late.xlsx", "failed") in statuses and ("other.xlsx", "accepted") in statuses, statuses
    failed = next(o for o in outcomes if o.status == "failed")
    assert "could not finish filing it (.processing/" in failed.message and "Permission denied" in failed.message
    with pytest.MonkeyPatch.context() as patched:
        file_here(patched)
        done = process_inbox()  # the cause gone, it is finished: filed once
    assert [o.status for o in done if o.name == "late.xlsx"] == ["recovered"]
    assert query(store_of(home), "SELECT original_name, status FROM intake_files ORDER BY intake_id") == \
        [("late.xlsx", "accepted"), ("other.xlsx", "accepted")]
    assert folder(home, ".processing") == [] and folder(home, "inbox") == []


# --- Major 5: links, folders, pipes, sockets ----------------------------------------------------

def hostile_inbox(home, tmp_path):
    """Every kind of entry that is not a regular file, as the red team made them."""
    box = home / "dropbox" / "inbox"
    os.symlink("/etc/passwd", box / "passwd.csv")
    os.symlink(home / "pkpi.duckdb", box / "store.xlsx")
    (tmp_path / "elsewhere").mkdir()
    workbook(tmp_path / "elsewhere" / "inside.xlsx", [obs()])
    os.symlink(tmp_path / "elsewhere", box / "linked-folder.xlsx")
    os.symlink(tmp_path / "elsewhere" / "inside.xlsx", box / "link-to-good.xlsx")
    (box / "x.xlsx").mkdir()
    workbook(box / "x.xlsx" / "in-a-folder.xlsx", [obs()])
    os.mkfifo(box / "fifo.csv")
    here = os.getcwd()
    os.chdir(box)  # a socket's path is limited to 108 bytes: bind it by a short relative name
    try:
        sock = socket.socket(socket.AF_UNIX)
        sock.bind("sock.csv")
    finally:
        os.chdir(here)
    return sock


REFUSED = {"passwd.csv": "inbox-link", "store.xlsx": "inbox-link", "linked-folder.xlsx": "inbox-link",
           "link-to-good.xlsx": "inbox-link", "x.xlsx": "inbox-folder", "fifo.csv": "inbox-special",
           "sock.csv": "inbox-special"}


def test_links_folders_pipes_and_sockets_are_refused_and_never_read(home, tmp_path, caplog):
    sock = hostile_inbox(home, tmp_path)
    store_before = sha(home / "pkpi.duckdb")
    try:
        workbook(inbox(home, "good.xlsx"), [obs()])
        outcomes = {o.name: o for o in process_inbox()}
        assert outcomes["good.xlsx"].status == "accepted"
        assert {n: (o.status, o.msg[0]) for n, o in outcomes.items() if n != "good.xlsx"} == \
            {n: ("refused", m) for n, m in REFUSED.items()}
        assert outcomes["passwd.csv"].message.startswith(
            "REFUSED   passwd.csv: This is a link (shortcut) to another file or folder, not a file.")
        assert "(it is a named pipe)" in outcomes["fifo.csv"].message
        assert "(it is a socket)" in outcomes["sock.csv"].message
        # Nothing of them was read or kept; they are where they were; one file was recorded.
        assert folder(home, "rejected") == [] and len(folder(home, "accepted")) == 1
        assert sorted(folder(home, "inbox")) == sorted(REFUSED)
        assert os.path.islink(inbox(home, "passwd.csv")) and inbox(home, "x.xlsx").is_dir()
        assert query(home / "pkpi.duckdb", "SELECT original_name FROM intake_files") == [("good.xlsx",)]
        assert not any(p.stat().st_size > 1_000_000 for p in (home / "dropbox").rglob("*") if p.is_file()
                       and not p.is_symlink())  # no copy of the store anywhere
        assert sha(tmp_path / "elsewhere" / "inside.xlsx") == sha(inbox(home, "x.xlsx") / "in-a-folder.xlsx")

        # The watcher reports each once (the server's log), never reads them.
        watcher = Watcher(poll=1, settle=0)
        try:
            with caplog.at_level(logging.INFO, logger="pkpi.dropbox"):
                for _ in range(3):
                    assert watcher.poll_once() == []
            lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("REFUSED")]
            assert sorted(line.split(":")[0] for line in lines) == sorted(f"REFUSED   {n}" for n in REFUSED)
            state = status()
            for name, msg in REFUSED.items():
                assert why_waiting(inbox(home, name), state)[0] == "refused"
                assert state.reasons[name]["msg"] == msg
            # The Updates page lists each, in the reader's language, with what to do.
            en = str(updates_parts.content("en", staff=True))
            zh = str(updates_parts.content("zh", staff=True))
            assert "passwd.csv: This is a link (shortcut) to another file or folder, not a file." in en
            assert "x.xlsx: This is a folder, not a file" in en
            assert "fifo.csv: This is not an ordinary file (it is a named pipe)" in en
            assert "passwd.csv：这是指向其他文件或文件夹的链接（快捷方式），不是文件。" in zh
            assert "x.xlsx：这是文件夹，不是文件" in zh
            assert "sock.csv：这不是普通文件（而是套接字）" in zh
            assert "root:" not in en
        finally:
            watcher.release()
        # The store is another file now (one file accepted), never a copy of itself in the inbox.
        assert sha(home / "pkpi.duckdb") != store_before
    finally:
        sock.close()


def test_an_entry_swapped_for_a_link_or_pipe_is_not_opened(home, tmp_path):
    """Between the listing and the opening, the file is replaced by a link or a pipe: the
    opening itself refuses (O_NOFOLLOW, O_NONBLOCK, then fstat), and a pipe does not block."""
    folders = Folders.default().ensure()
    link = inbox(home, "swapped.csv")
    os.symlink("/etc/passwd", link)
    with pytest.raises(dropbox.NotAFile) as exc:
        dropbox._copy(link, folders)
    assert exc.value.why == ("inbox-link", {})
    fifo = inbox(home, "pipe.csv")
    os.mkfifo(fifo)
    with pytest.raises(dropbox.NotAFile) as exc:
        dropbox._copy(fifo, folders)
    assert exc.value.why[0] == "inbox-special"
    assert [p.name for p in folders.work.iterdir()] == []


# --- Major 4: settled, not open for writing, read again whole ------------------------------------

def test_a_file_open_for_writing_or_just_changed_waits(home):
    declared(home)
    path = inbox(home, "slow.csv")
    data = csv_bytes([obs(period=f"2031-{m:02d}", value=m, locator=f"row {m}") for m in range(1, 13)])
    half = data.index(b"\n", len(data) // 2) + 1
    with open(path, "wb") as f:
        f.write(data[:half])
        f.flush()
        out = process(path, settle=0)
        assert out.status == "waiting" and out.msg == ("inbox-open-for-writing",
                                                       {"pid": os.getpid(), "program": out.msg[1]["program"]})
        assert f"(process {os.getpid()}) has it open for writing" in out.message
        f.write(data[half:])
    out = process(path, settle=30)  # closed, but changed just now
    assert out.status == "waiting" and out.msg[0] == "inbox-settling" and "PKPI_SETTLE_SECONDS" in out.message
    os.utime(path, (0, 0))  # an old modification time (a copy keeps it) does not hide the change
    assert process(path, settle=30).status == "waiting"
    out = process(path, settle=0)
    assert out.status == "accepted" and "12 new values" in out.message, out.message
    (stored,) = [n for n in folder(home, "accepted") if n.endswith("slow.csv")]
    assert (home / "dropbox" / "accepted" / stored).read_bytes() == data


def test_a_file_that_changes_after_it_is_read_stays_and_is_read_again_whole(home, monkeypatch):
    declared(home)
    path = inbox(home, "growing.csv")
    rows = [obs(period=f"2032-{m:02d}", value=m, locator=f"row {m}") for m in range(1, 13)]
    first, whole = csv_bytes(rows[:6]), csv_bytes(rows)
    path.write_bytes(first)
    real_check = dropbox.check

    def saved_again_meanwhile(*args, **kwargs):
        path.write_bytes(whole)  # the rest arrives while the first part is being checked
        return real_check(*args, **kwargs)

    monkeypatch.setattr(dropbox, "check", saved_again_meanwhile)
    out = process(path, settle=0)
    monkeypatch.undo()
    monkeypatch.setenv("PKPI_HOME", str(path.parents[2]))
    assert out.status == "accepted" and "It changed after it was read, so it stays in the inbox" in out.message
    assert path.read_bytes() == whole  # never removed: it is not what was read
    (stored,) = [n for n in folder(home, "accepted") if n.endswith("growing.csv")]
    assert (home / "dropbox" / "accepted" / stored).read_bytes() == first  # what was read, byte for byte
    again = process(path, settle=0)
    assert again.status == "accepted" and "6 new values, 0 revised, 6 already published" in again.message
    assert folder(home, "inbox") == []
    assert {p: v for p, v in values(home).items() if p.startswith("2032")} == \
        {f"2032-{m:02d}": m for m in range(1, 13)}


# --- Minor: encodings and names ----------------------------------------------------------------

def test_csv_encodings_are_named(home):
    declared(home)
    rows = [obs(period="2033", value=7, quote="导出 7 个")]
    inbox(home, "utf16.csv").write_bytes(csv_bytes(rows, "utf-16"))  # with its BOM: accepted
    inbox(home, "gbk.csv").write_bytes(csv_bytes([obs(period="2034", quote="导出 8 个", value=8)], "gbk"))
    inbox(home, "utf16-nobom.csv").write_bytes(csv_bytes([obs(period="2035", value=9)], "utf-16-le"))
    out = {o.name: o for o in process_inbox()}
    assert out["utf16.csv"].status == "accepted", out["utf16.csv"].message
    assert values(home)["2033"] == 7
    assert out["gbk.csv"].status == "rejected"
    assert out["gbk.csv"].errors[0].text("en").startswith("This file is saved in GB18030/GBK, not UTF-8")
    assert out["gbk.csv"].errors[0].text("zh").startswith("此文件的编码是 GB18030/GBK，不是 UTF-8")
    assert out["utf16-nobom.csv"].errors[0].text("en").startswith(
        "This file is saved in UTF-16 (without a byte-order mark), not UTF-8")


def test_a_line_break_in_a_name_cannot_forge_a_log_line(home, caplog):
    name = "bad\n2026-12-02 07:00:00 accepted  fake.xlsx: Accepted: 9 new values.xlsx"
    workbook(inbox(home, name), [obs(value="many")])
    outcomes = process_inbox()
    (out,) = outcomes
    first = out.message.splitlines()[0]
    assert first.startswith("REJECTED  bad\\n2026-12-02 07:00:00 accepted  fake.xlsx: Accepted: 9 new "
                            "values.xlsx: Not loaded")
    assert not any(line.lstrip().startswith("2026-12-02") for line in out.message.splitlines())
    (stored,) = [n for n in folder(home, "rejected") if n.endswith(".xlsx")]
    assert "\n" not in stored
    report = (home / "dropbox" / "rejected" / (stored + ".errors.txt")).read_text(encoding="utf-8")
    assert report.splitlines()[0] == ("bad\\n2026-12-02 07:00:00 accepted  fake.xlsx: Accepted: 9 new values.xlsx "
                                      "was not loaded: nothing from it was added to the dashboard.")


def test_the_watcher_reads_a_file_once_it_has_settled_and_looks_again_in_time(home):
    path = workbook(inbox(home, "settling.xlsx"), [obs()])
    watcher = Watcher(poll=30, settle=1.5)  # a long poll: the settle time decides when it looks again
    try:
        assert watcher.poll_once() == []  # first look: counted from now (no look before to bound it)
        assert watcher.poll_once() == []  # unchanged, but not for 1.5 s yet
        assert 0 < watcher.next_look() <= 1.6  # not the 30 s poll
        time.sleep(watcher.next_look())
        assert [(o.name, o.status) for o in watcher.poll_once()] == [("settling.xlsx", "accepted")]
        # A file saved after a look is counted from its own change time (between two looks).
        time.sleep(0.1)
        saved = workbook(inbox(home, "next.xlsx"), [obs(period="2024-03", value=13)], indicators=()).stat().st_ctime
        time.sleep(max(0.0, saved + 0.6 - time.time()))
        assert watcher.poll_once() == []
        assert 0 < watcher.next_look() <= 1.0  # due 1.5 s after its change time, not after this look
        time.sleep(max(0.0, saved + 1.6 - time.time()))
        assert [(o.name, o.status) for o in watcher.poll_once()] == [("next.xlsx", "accepted")]
        assert path.exists() is False
    finally:
        watcher.release()


def test_a_copy_left_by_the_old_naming_is_finished_without_deleting_anything(any_dropbox_home):
    """The red team's state: a rejected file with a 76-character Chinese name recorded under
    the old rule (120 characters, 234 bytes), its run stopped after the swap because the
    report's name was too long, its copy in .processing/. The next run files it, with its
    reports under names shortened to fit, and goes on with the inbox."""
    import data.dropbox as d
    from datetime import datetime
    home = any_dropbox_home
    name = chinese_name(76, ".xlsx")
    path = workbook(inbox(home, name), [obs(value="many")])
    original = path.read_bytes()

    def old_rule(original_name, when, conn, folders):
        stem, _, ext = original_name.rpartition(".")
        return f"{when:%Y%m%d-%H%M%S}-{stem[:120]}.{ext}"

    def stopped(*_args):
        raise OSError(36, "File name too long")

    with pytest.MonkeyPatch.context() as patched:  # only these (the home and store stay set)
        patched.setattr(d, "_unique_name", old_rule)
        patched.setattr(d, "write_reports", stopped)
        with pytest.raises(OSError):
            process(path)
    (stored,) = [r[0] for r in query(store_of(home), "SELECT stored_name FROM intake_files")]
    assert len(stored.encode()) == len(old_rule(name, datetime(2026, 1, 1), None, None).encode()) > 240
    assert len(folder(home, ".processing")) == 1
    workbook(inbox(home, "next.xlsx"), [obs()])
    outcomes = process_inbox()
    assert [(o.name, o.status) for o in outcomes] == [(name, "recovered"), ("next.xlsx", "accepted")]
    rejected = folder(home, "rejected")
    assert stored in rejected and (home / "dropbox" / "rejected" / stored).read_bytes() == original
    reports = [n for n in rejected if n != stored]
    assert sorted(n[-11:] for n in reports) == [".errors.csv", ".errors.txt"]
    assert all(len(n.encode()) <= NAME_MAX - len(".tmp") for n in reports)
    assert all(n.startswith(stored[:60]) and ".xlsx.errors." in n for n in reports)
    assert folder(home, ".processing") == [] and folder(home, "inbox") == []


def page_texts(node) -> list[str]:
    """Every text on a rendered part of a page (Dash components, as the browser gets them)."""
    if node is None:
        return []
    if isinstance(node, str):
        return [node]
    if isinstance(node, (list, tuple)):
        return [t for child in node for t in page_texts(child)]
    return page_texts(getattr(node, "children", None))


def test_the_updates_page_shows_a_line_break_in_a_name_escaped(home):
    name = "two\nlines.xlsx"
    workbook(inbox(home, name), [obs(value="many")])
    assert [o.status for o in process_inbox()] == ["rejected"]
    workbook(inbox(home, "wait\nhere.xlsx"), [obs()])
    texts = page_texts(updates_parts.content("en", staff=True))
    assert not [t for t in texts if "\n" in t], [t for t in texts if "\n" in t]
    assert any("two\\nlines.xlsx" in t for t in texts) and any(t.startswith("wait\\nhere.xlsx: ") for t in texts)
