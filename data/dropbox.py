"""The drop folder: staff save spreadsheets into ``inbox/``; each ends in ``accepted/`` or
``rejected/`` (with an error report), under a name never used before.

Filing one file, under the store's writer lock (``Store.writer()``, ``data.stores``), held
from step 1 to step 4:

1. copy it to ``.processing/<sha256>.<host>~<pid>`` (what is checked is exactly what is
   kept, even if someone saves the inbox file again meanwhile; the host and process make the
   name one no other machine sharing the folder can write);
2. in one change (``Writer.change()``: a copy of the DuckDB file, or one PostgreSQL
   transaction): record the file in ``intake_files`` (and its problems in
   ``intake_errors``) and, if it has none, add its values;
3. publish the change (DuckDB: checkpoint and ``os.replace``; PostgreSQL: commit): from here
   the file counts as processed;
4. remove it from the inbox, write the error report if rejected, and move the copy to
   ``accepted/`` or ``rejected/`` under the name recorded in step 2.

On PostgreSQL the lock is the database's, so intakes on several machines sharing one drop
folder (a network share) take turns: a file is applied once, by whichever takes it first;
the other finds it gone from the inbox, or recorded by its SHA-256.

Before step 1 the file must be a regular file (a link, a folder, a device, a named pipe
or a socket in the inbox is refused and never opened: ``refusal``), must not have changed
for ``PKPI_SETTLE_SECONDS`` and must not be open for writing by a process of this machine
(``writers``). In step 4 the inbox file is removed only if it still holds exactly what was
read and nobody writes it; otherwise it stays, and is read again whole. Names of copies
and reports are kept within 255 bytes (``fitted_name``), and a file that fails for any
reason is reported and leaves the next one to be read (``process_inbox``, ``recover``).

A crash before step 3 leaves the store as it was and the file in the inbox: it is simply
processed again. A crash after step 3 is finished by the next run, from the record: the
copy (or the inbox file, same content) is moved where the record says, and nothing in the
store changes. The same content dropped again after it was accepted changes nothing and is
filed as a duplicate.
"""
from __future__ import annotations

import errno
import hashlib
import logging
import os
import re
import signal
import socket
import stat
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import sqlalchemy as sa

from data import messages, schema, settings, withdraw
from data.build import version_from
from data.error_reports import STORED_MAX, fit_bytes, stored_errors, write_reports
from data.intake import IntakeError, Plan, StoreState, apply, check
from data.schema import meta
from data.messages import shown_name
from data.sheets import FormatError, open_book
from data.store import utc_now
from data.stores import as_store, describe, target_of

log = logging.getLogger("pkpi.dropbox")

# Files that are not (yet) a spreadsheet to read: Excel's and LibreOffice's lock files,
# hidden files, downloads and copies in progress, Excel's temporary save files.
_IGNORED = re.compile(r"^(~\$|\.~lock\.|\.|~)|\.(tmp|part|crdownload|partial|swp)$|^[0-9A-F]{8}$",
                      re.IGNORECASE)


@dataclass(frozen=True)
class Folders:
    root: Path

    @classmethod
    def default(cls) -> "Folders":
        return cls(settings.dropbox_dir())

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def accepted(self) -> Path:
        return self.root / "accepted"

    @property
    def rejected(self) -> Path:
        return self.root / "rejected"

    @property
    def work(self) -> Path:
        return self.root / ".processing"

    def ensure(self) -> "Folders":
        for path in (self.inbox, self.accepted, self.rejected, self.work):
            path.mkdir(parents=True, exist_ok=True)
        return self


@dataclass
class Outcome:
    name: str  # as saved in the inbox
    status: str  # accepted, rejected, duplicate, recovered, waiting, gone, refused, failed
    message: str
    intake_id: int | None = None
    stored: Path | None = None
    errors: list[IntakeError] = field(default_factory=list)
    error_count: int = 0
    msg: tuple[str, dict] | None = None  # why it waits or was refused, as a data.messages id and parameters

    def __str__(self) -> str:
        return self.message


def is_ignored(name: str) -> bool:
    return bool(_IGNORED.search(name))


def inbox_files(folders: Folders) -> list[Path]:
    """What waits in the inbox, oldest first (lock and temporary files left out): the files
    to read, and the entries that are never read (``refusal`` says which and why), so that
    they are reported rather than passed over in silence. Nothing here follows a link."""
    if not folders.inbox.is_dir():
        return []
    files = []
    with os.scandir(folders.inbox) as entries:
        for entry in entries:
            if is_ignored(entry.name):
                continue
            try:
                files.append((entry.stat(follow_symlinks=False).st_mtime_ns, entry.name, Path(entry.path)))
            except FileNotFoundError:
                continue
    return [p for _, _, p in sorted(files)]


def refusal(path: Path) -> tuple[str, dict] | None:
    """Why an inbox entry is never read, as a ``data.messages`` id and its parameters; None
    for a regular file (or one gone meanwhile). Looks at the entry itself (``lstat``)."""
    try:
        return _refusal_of(os.lstat(path).st_mode)
    except FileNotFoundError:
        return None


def _refusal_of(mode: int) -> tuple[str, dict] | None:
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISLNK(mode):
        return "inbox-link", {}
    if stat.S_ISDIR(mode):
        return "inbox-folder", {}
    kind = ("a named pipe" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode)
            else "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "an unknown kind of entry")
    return "inbox-special", {"kind": messages.word(kind)}


def _refused(path: Path, why: tuple[str, dict]) -> Outcome:
    return Outcome(path.name, "refused", f"REFUSED   {shown_name(path.name)}: {messages.render(*why)} "
                                         f"It is left where it is, unread.", msg=why)


class NotAFile(Exception):
    """The inbox entry turned out not to be a regular file when opened (it was swapped)."""

    def __init__(self, why: tuple[str, dict]):
        self.why = why
        super().__init__(messages.render(*why))


def writers(path: Path) -> list[tuple[int, str]]:
    """The processes of this machine that have the file open for writing, as (process id,
    program name), from ``/proc/<pid>/fd`` and the open flags in ``/proc/<pid>/fdinfo``
    (Linux). Only the processes this one may look into are seen (its own user's, or all
    for root); writers on other machines of a network share cannot be seen at all, and
    are covered only by the settle time (PKPI_SETTLE_SECONDS)."""
    try:
        st = os.lstat(path)
        pids = [p for p in os.listdir("/proc") if p.isdigit()]
    except OSError:
        return []
    real = os.path.realpath(path)
    found = []
    for pid in pids:
        fd_dir = f"/proc/{pid}/fd"
        try:
            fds = os.listdir(fd_dir)
        except OSError:  # gone, or another user's
            continue
        for fd in fds:
            try:
                if os.readlink(f"{fd_dir}/{fd}") != real:
                    continue
                opened = os.stat(f"{fd_dir}/{fd}")  # the open file itself
                if (opened.st_dev, opened.st_ino) != (st.st_dev, st.st_ino):
                    continue
                with open(f"/proc/{pid}/fdinfo/{fd}", encoding="ascii") as f:
                    flags = next((int(line.split()[1], 8) for line in f if line.startswith("flags:")), 0)
            except (OSError, ValueError):
                continue
            if flags & (os.O_WRONLY | os.O_RDWR):
                try:
                    with open(f"/proc/{pid}/comm", encoding="utf-8", errors="replace") as f:
                        program = f.read().strip()
                except OSError:
                    program = "?"
                found.append((int(pid), program))
                break
    return found


def _fault(point: str) -> None:
    """A fault-injection point for the crash tests only: ``PKPI_TEST_KILL_AT=<point>[:<marker
    file>]`` kills this process (SIGKILL, as ``kill -9``) when it gets there, once (the marker
    file records that it did). Never set outside the tests. Points: ``before-commit`` (inside
    a new file's change, its rows written, not published) and ``after-swap`` (published, not
    yet moved)."""
    spec = os.environ.get("PKPI_TEST_KILL_AT")
    if not spec:
        return
    name, _, marker = spec.partition(":")
    if name != point:
        return
    if marker:
        try:
            os.close(os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
        except FileExistsError:
            return
    if READER_PARENT:  # in a reader child (data.isolation): the filing process is its parent
        os.kill(READER_PARENT, signal.SIGKILL)
    os.kill(os.getpid(), signal.SIGKILL)


READER_PARENT: int | None = None  # set in a reader child to its parent's process id


def open_in_excel(path: Path) -> Path | None:
    """Excel's owner file (``~$name.xlsx``, or ``~$`` over the first two characters of a
    long name) while the workbook is open in Excel."""
    for owner in path.parent.glob("~$*"):
        rest = owner.name[2:]
        if rest == path.name or (len(path.name) == len(rest) + 2 and path.name.endswith(rest)):
            return owner
    return None


# --- Filing one file -----------------------------------------------------------------------

def process(path: Path, store: Path | None = None, folders: Folders | None = None,
            progress: Callable[[int], None] | None = None, settle: float | None = None,
            refuse: FormatError | None = None) -> Outcome:
    """Check one file and file it (see the module's docstring). Never raises for a problem
    in the file itself; an unexpected error (disk full, ...) leaves the store and the file
    as they were. ``settle``: seconds the file must not have changed, by its change time
    (default PKPI_SETTLE_SECONDS; the watcher, which counts the time itself, gives 0). With
    ``refuse`` the file is not read at all but rejected for that reason (its reader crashed:
    ``data.isolation``, which runs this in a child process). ``store``: a DuckDB file, a
    ``postgresql://`` URL, or None (the settings' choice)."""
    store = as_store(store)
    folders = (folders or Folders.default()).ensure()
    path = Path(path)
    if not store.exists():
        raise FileNotFoundError(f"no store at {describe(target_of(store))}: run `python manage.py build` first")
    why = refusal(path)
    if why is not None:
        return _refused(path, why)
    with store.writer() as writer:
        finished = _recover(writer, folders)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            done = next((o for o in finished if o.name == path.name), None)
            _log_finished(finished, done)
            return done or Outcome(path.name, "gone", f"{shown_name(path.name)}: already filed by another process")
        _log_finished(finished, None)
        owner = open_in_excel(path)
        if owner is not None:
            return Outcome(path.name, "waiting",
                           f"waiting   {shown_name(path.name)}: still open in Excel ({shown_name(owner.name)} "
                           f"is beside it). Close it in Excel and it will be read.")
        wait = _unsettled(path, st, settings.settle_seconds() if settle is None else settle)
        if wait is not None:
            return wait
        before = _signature(path)
        try:
            sha, copy = _copy(path, folders)
        except NotAFile as exc:
            return _refused(path, exc.why)
        if _signature(path) != before or writers(path):
            copy.unlink(missing_ok=True)
            return Outcome(path.name, "waiting", f"waiting   {shown_name(path.name)}: it is still being written.")
        history = _history(writer, sha)
        unfinished = _unfinished(history, folders)
        if unfinished:
            return _finish(unfinished, copy, folders, writer, inbox_file=path)
        received = datetime.fromtimestamp(before[1] / 1e9, timezone.utc).replace(tzinfo=None, microsecond=0)
        first = withdraw.standing(writer, history)  # the accepted copy of this content, if not withdrawn
        if first is not None:
            return _file_duplicate(path, copy, sha, first, writer, folders, received)
        if refuse is None and withdraw.is_request(path.name, copy):  # a text file asking to withdraw
            return withdraw.file_request(path, copy, sha, writer, folders, received)
        return _file_new(path, copy, sha, writer, folders, received, progress, refuse)


def _log_finished(finished: list[Outcome], returned: Outcome | None) -> None:
    """Say what ``recover`` finished on the way (the caller says the one returned)."""
    for o in finished:
        if o is not returned and o.status == "recovered":
            log.info("%s", o.message)


def _signature(path: Path) -> tuple[int, int, int, int]:
    """What changes when the entry is written, replaced or touched (never following a link)."""
    st = os.lstat(path)
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino


def _unsettled(path: Path, st: os.stat_result, settle: float) -> Outcome | None:
    """A waiting outcome while the file is open for writing here, or changed less than
    ``settle`` seconds ago (by its modification or change time: a copy that keeps the
    original's modification time still sets the change time)."""
    busy = writers(path)
    if busy:
        msg = ("inbox-open-for-writing", {"pid": busy[0][0], "program": busy[0][1]})
        return Outcome(path.name, "waiting", f"waiting   {shown_name(path.name)}: {messages.render(*msg)}", msg=msg)
    ago = time.time() - max(st.st_mtime, st.st_ctime)
    # A change time far in the future is another machine's clock (a network share): not
    # counted here; the watcher counts the time by its own clock.
    if settle > 0 and -settle < ago < settle:
        msg = ("inbox-settling", {"ago": f"{max(ago, 0):.0f}", "settle": f"{settle:g}"})
        return Outcome(path.name, "waiting", f"waiting   {shown_name(path.name)}: {messages.render(*msg)}", msg=msg)
    return None


def _open_file(path: Path) -> int:
    """A descriptor on the inbox entry, only if it is a regular file: never through a link
    (O_NOFOLLOW), and without waiting on a named pipe (O_NONBLOCK)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise NotAFile(("inbox-link", {})) from None
        raise
    try:
        why = _refusal_of(os.fstat(fd).st_mode)
    except OSError:
        os.close(fd)
        raise
    if why is not None:
        os.close(fd)
        raise NotAFile(why)
    os.set_blocking(fd, True)
    return fd


def _copy_suffix(name: str) -> str:
    """The extension the copy keeps (openpyxl goes by it): a short one, lower case, or none."""
    suffix = Path(name).suffix.lower()
    return suffix if re.fullmatch(r"\.[a-z0-9]{1,10}", suffix) else ""


def host_name() -> str:
    """This machine's name as working names in the drop folder carry it (letters, digits, ``-``
    and ``_`` only; at most 60 characters). ``PKPI_TEST_HOSTNAME`` stands in for it in the
    tests that play two machines on one; never set outside the tests."""
    name = os.environ.get("PKPI_TEST_HOSTNAME") or socket.gethostname() or "host"
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)[:60]


def _working_tag() -> str:
    """``<host>~<process id>``: who made a working name in the shared drop folder, so that two
    machines (or two processes) never write under one name, and a name left behind says
    whose it was."""
    return f"{host_name()}~{os.getpid()}"


# A copy in ``.processing/``: the content's SHA-256, who copied it (absent in copies made
# before names carried the host), and the extension kept for the reader.
_WORK_COPY = re.compile(r"([0-9a-f]{64})(?:\.([A-Za-z0-9_-]+~[0-9]+))?(\.[a-z0-9]{1,10})?")


def _copy(path: Path, folders: Folders) -> tuple[str, Path]:
    """Copy the file into ``.processing/``, named by the SHA-256 of what was copied and by who
    copied it (``_working_tag``)."""
    digest = hashlib.sha256()
    partial = folders.work / f"incoming-{_working_tag()}-{threading.get_ident()}"
    with os.fdopen(_open_file(path), "rb") as src, open(partial, "wb") as dst:
        while chunk := src.read(1 << 20):
            digest.update(chunk)
            dst.write(chunk)
        dst.flush()
        os.fsync(dst.fileno())
    sha = digest.hexdigest()
    copy = folders.work / f"{sha}.{_working_tag()}{_copy_suffix(path.name)}"
    os.replace(partial, copy)
    return sha, copy


def _history(writer, sha: str) -> list[dict]:
    """The store's records of this content, oldest first (read under the writer lock)."""
    f = schema.intake_files
    with writer.read() as reader:
        columns, rows = reader.rows_named(sa.select(f).where(f.c.sha256 == sha).order_by(f.c.intake_id))
    return [dict(zip(columns, r)) for r in rows]


def _unfinished(history: list[dict], folders: Folders) -> dict | None:
    """The record of a file processed but never moved (a crash after the swap)."""
    for rec in reversed(history):
        if not (folders.root / rec["folder"] / rec["stored_name"]).exists():
            return rec
    return None


# Characters a stored name never has: what Windows forbids, control characters, and the
# invisible direction marks (they would reorder the name where it is shown).
_UNSAFE = re.compile('[\\\\/:*?"<>|\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]')


def _unique_name(original: str, when: datetime, store_conn, folders: Folders) -> str:
    """``<time>-<name>[-n].<ext>``, never used before, at most STORED_MAX bytes in UTF-8 (so
    that its reports' names, ``.errors.csv.tmp`` added, stay within the 255 bytes a file
    name may have): a long name is shortened by bytes, never inside a character, and keeps
    its extension."""
    base = _UNSAFE.sub("_", original).strip() or "file"
    stem, dot, ext = base.rpartition(".")
    if not dot or not stem or len(ext.encode()) > 16:
        stem, dot, ext = base, "", ""
    stem = stem[:120]
    f = schema.intake_files
    for n in range(1, 10_000):
        prefix, tail = f"{when:%Y%m%d-%H%M%S}-", f"{'-' + str(n) if n > 1 else ''}{dot}{ext}"
        name = prefix + fit_bytes(stem, STORED_MAX - len((prefix + tail).encode())) + tail
        taken = (folders.accepted / name).exists() or (folders.rejected / name).exists() or \
            store_conn.execute(sa.select(f.c.intake_id).where(f.c.stored_name == name)).first()
        if not taken:
            return name
    raise RuntimeError("no free name")  # 10,000 files of one name in one second


def _file_new(path: Path, copy: Path, sha: str, writer, folders: Folders,
              received: datetime, progress, refuse: FormatError | None = None) -> Outcome:
    now = utc_now()
    original = path.name
    try:
        if refuse is not None:
            raise refuse
        sheets, format_error = open_book(copy, original, settings.max_file_bytes()), None
    except FormatError as exc:
        sheets, format_error = None, exc
    # One change (a new DuckDB snapshot, or one PostgreSQL transaction), its next ids read
    # inside it, under the writer lock.
    with writer.change() as change:
        conn = change.conn
        state = StoreState.load(change)
        plan = check(sheets, format_error, state, settings.seeds_dir(), settings.max_rows(),
                     csv_file=original.lower().endswith(".csv"), progress=progress)
        status = "accepted" if plan.ok else "rejected"
        stored = _unique_name(original, now, conn, folders)
        intake = {
            "intake_id": state.next_intake_id, "sha256": sha, "original_name": original,
            "stored_name": stored, "folder": status, "status": status, "duplicate_of": None,
            "size_bytes": copy.stat().st_size, "rows_read": plan.rows_read,
            "error_count": plan.error_count, "summary": "", "received_at": received,
            "processed_at": now,
        }
        intake["summary"] = summary(status, plan)
        apply(change, state, plan, intake, f"dropbox/{status}/{stored}")
        if plan.ok:
            _bump_version(conn, sha)
        _fault("before-commit")
    # The store now records the file: file it where the record says.
    _fault("after-swap")
    target = folders.root / status / stored
    kept = _remove_from_inbox(path, sha)
    report = write_reports(target, original, plan.errors, plan.error_count) if not plan.ok else None
    os.replace(copy, target)
    shown = shown_name(original)
    if plan.ok:
        message = f"accepted  {shown}: {intake['summary']} Filed as {status}/{stored}."
    else:
        listed = "\n".join(f"            - {shown_name(str(e))}" for e in plan.errors[:10])
        more = f"\n            ... and {plan.error_count - 10} more" if plan.error_count > 10 else ""
        message = (f"REJECTED  {shown}: {intake['summary']} Filed as {status}/{stored}; the problems "
                   f"are in {report.name}.\n{listed}{more}")
    return Outcome(original, status, message + _kept_note(kept), intake["intake_id"], target, plan.errors,
                   plan.error_count)


def _kept_note(removed: bool) -> str:
    return "" if removed else " " + messages.render("inbox-changed-after-reading", {})


def summary(status: str, plan: Plan) -> str:
    """One plain sentence for the updates page and the console."""
    if status == "rejected":
        return messages.render(*messages.rejected_summary(plan.error_count))
    revised = plan.revised
    parts = [_count(len(plan.observations) - revised, "new value"), f"{revised} revised"]
    if plan.unchanged:
        parts.append(f"{plan.unchanged} already published")
    if plan.declared:
        parts.append(_count(plan.declared, "new source, indicator or area", "new sources, indicators or areas"))
    notes = "".join(" " + messages.render(msg, params) for msg, params in plan.notes)
    return "Accepted: " + ", ".join(parts) + "." + notes


def _count(n: int, one: str, many: str | None = None) -> str:
    return f"{n:,} {one if n == 1 else (many or one + 's')}"


def _file_duplicate(path, copy, sha, first, writer, folders, received) -> Outcome:
    now = utc_now()
    with writer.change() as change:
        conn = change.conn
        f = schema.intake_files
        next_id = conn.execute(sa.select(sa.func.coalesce(sa.func.max(f.c.intake_id), 0))).scalar() + 1
        stored = _unique_name(path.name, now, conn, folders)
        text = (f"Already applied: the same file was accepted on {first['processed_at']:%Y-%m-%d %H:%M} "
                f"UTC (accepted/{first['stored_name']}), so nothing changed.")
        conn.execute(f.insert(), [{
            "intake_id": next_id, "sha256": sha, "original_name": path.name, "stored_name": stored,
            "folder": "accepted", "status": "duplicate", "duplicate_of": first["intake_id"],
            "size_bytes": copy.stat().st_size, "rows_read": 0, "added": 0, "revised": 0,
            "unchanged": 0, "declared": 0, "error_count": 0, "summary": text,
            "received_at": received, "processed_at": now}])
    _fault("after-swap")
    target = folders.accepted / stored
    kept = _remove_from_inbox(path, sha)
    os.replace(copy, target)
    return Outcome(path.name, "duplicate", f"unchanged {shown_name(path.name)}: {text} Filed as accepted/{stored}."
                   + _kept_note(kept), next_id, target)


def _bump_version(conn, sha: str | None = None) -> None:
    """A new data version: after an accepted file, and after a withdrawal (data/withdraw.py)."""
    values = dict(conn.execute(sa.select(meta.c.key, meta.c.value)).all())
    curated = values.get("curated_version", values.get("data_version", ""))
    conn.execute(sa.delete(meta).where(meta.c.key.in_(("data_version", "curated_version"))))
    conn.execute(meta.insert(), [{"key": "curated_version", "value": curated},
                                 {"key": "data_version", "value": version_from(conn, curated)}])


def _remove_from_inbox(path: Path, sha: str) -> bool:
    """Remove the inbox file if it still holds exactly what was processed, nobody here has it
    open for writing (what they write next would go nowhere) and it did not change while it
    was compared. False when it stays: a newer save, read again whole at the next look."""
    try:
        before = _signature(path)
        if writers(path):
            return False
        digest = hashlib.sha256()
        with os.fdopen(_open_file(path), "rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
        if digest.hexdigest() != sha or _signature(path) != before or writers(path):
            return False
        path.unlink()
        return True
    except FileNotFoundError:
        return True  # already gone: nothing of it is left to lose
    except (OSError, NotAFile):
        return False


# --- Finishing what a crash interrupted ----------------------------------------------------

def recover(store, folders: Folders) -> list[Outcome]:
    """File the copies left in ``.processing/`` by a run killed after its swap (its change
    committed), and delete those of runs killed before it (their file is still in the
    inbox). Takes the writer lock (the caller may hold it already). ``store``: a DuckDB file,
    a ``postgresql://`` URL, or None (the settings' choice).

    Only what the store records is finished, and only under the writer lock: every filing,
    on any machine sharing the drop folder, holds that lock from its copy to its last move,
    so a copy found here belongs to a run that died (or to none)."""
    with as_store(store).writer() as writer:
        return _recover(writer, folders)


def _recover(writer, folders: Folders) -> list[Outcome]:
    out = []
    if not folders.work.is_dir():
        return out
    for copy in sorted(folders.work.iterdir()):
        # One copy that cannot be filed (any error) is reported and left for the next look;
        # it never keeps the others, or the inbox, from being filed.
        name = copy.name
        try:
            named = _WORK_COPY.fullmatch(copy.name)
            if not named:
                copy.unlink(missing_ok=True)  # a copy cut short
                continue
            unfinished = _unfinished(_history(writer, named.group(1)), folders)
            if unfinished is None:
                copy.unlink(missing_ok=True)  # killed before the swap: the inbox still has the file
                continue
            name = unfinished["original_name"]
            out.append(_finish(unfinished, copy, folders, writer,
                               inbox_file=folders.inbox / unfinished["original_name"]))
        except Exception as exc:
            log.exception("could not finish filing %s (.processing/%s); tried again at the next look",
                          shown_name(name), copy.name)
            out.append(_failed(name, exc, f"could not finish filing it (.processing/{copy.name}); it is "
                                          f"tried again at the next look"))
    return out


def _failed(name: str, exc: BaseException, what: str) -> Outcome:
    reason = shown_name(f"{type(exc).__name__}: {exc}")[:300]
    return Outcome(name, "failed", f"FAILED    {shown_name(name)}: {what}. Reason: {reason}")


def _finish(rec: dict, copy: Path, folders: Folders, writer, inbox_file: Path) -> Outcome:
    target = folders.root / rec["folder"] / rec["stored_name"]
    _remove_from_inbox(inbox_file, rec["sha256"])
    if rec["folder"] == "rejected":
        with writer.read() as reader:
            errors = stored_errors(None, rec["intake_id"], reader)
        write_reports(target, rec["original_name"], errors, rec["error_count"])
    os.replace(copy, target)
    message = (f"finished  {shown_name(rec['original_name'])}: it had already been processed ({rec['status']}) when "
               f"the previous run stopped; nothing changed in the store. Filed as "
               f"{rec['folder']}/{rec['stored_name']}.")
    return Outcome(rec["original_name"], "recovered", message, rec["intake_id"], target)


# --- The whole inbox (watching it: data/watcher.py) ------------------------------------------

def process_inbox(store: Path | str | None = None, folders: Folders | None = None,
                  progress_for: Callable[[Path], Callable[[int], None] | None] | None = None) -> list[Outcome]:
    """Every file now in the inbox, oldest first. ``store``: a DuckDB file, a
    ``postgresql://`` URL, or None (the settings' choice)."""
    folders = (folders or Folders.default()).ensure()
    store = target_of(store)
    outcomes = []
    if any(folders.work.iterdir()):
        outcomes += recover(store, folders)
    from data.isolation import process_isolated  # each file read in a process of its own
    for path in inbox_files(folders):
        try:
            outcomes.append(process_isolated(path, store, folders,
                                             progress=bool(progress_for and progress_for(path))))
        except Exception as exc:  # reported; the next file is read
            log.exception("could not file %s; it stays in the inbox", shown_name(path.name))
            outcomes.append(_failed(path.name, exc, "could not be filed; it stays in the inbox"))
    return outcomes
