"""The drop folder: staff save spreadsheets into ``inbox/``; each ends in ``accepted/`` or
``rejected/`` (with an error report), under a name never used before.

Filing one file, under the store's writer lock (``data.store``):

1. copy it to ``.processing/<sha256>`` (what is checked is exactly what is kept, even if
   someone saves the inbox file again meanwhile);
2. on a copy of the store, in one transaction: record the file in ``intake_files`` (and its
   problems in ``intake_errors``) and, if it has none, add its values; checkpoint;
3. swap the new store in (``os.replace``): from here the file counts as processed;
4. remove it from the inbox, write the error report if rejected, and move the copy to
   ``accepted/`` or ``rejected/`` under the name recorded in step 2.

A crash before step 3 leaves the store as it was and the file in the inbox: it is simply
processed again. A crash after step 3 is finished by the next run, from the record: the
copy (or the inbox file, same content) is moved where the record says, and nothing in the
store changes. The same content dropped again after it was accepted changes nothing and is
filed as a duplicate.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import sqlalchemy as sa

from data import messages, schema, settings, withdraw
from data.build import version_from
from data.engine import snapshot_engine
from data.error_reports import stored_errors, write_reports
from data.intake import IntakeError, Plan, StoreState, apply, check
from data.schema import meta
from data.sheets import FormatError, open_book
from data.store import new_snapshot, utc_now, writer_lock

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
    status: str  # accepted, rejected, duplicate, recovered, waiting, gone
    message: str
    intake_id: int | None = None
    stored: Path | None = None
    errors: list[IntakeError] = field(default_factory=list)
    error_count: int = 0

    def __str__(self) -> str:
        return self.message


def is_ignored(name: str) -> bool:
    return bool(_IGNORED.search(name))


def inbox_files(folders: Folders) -> list[Path]:
    """Files waiting in the inbox, oldest first (lock and temporary files left out)."""
    if not folders.inbox.is_dir():
        return []
    files = []
    for path in folders.inbox.iterdir():
        try:
            if path.is_file() and not is_ignored(path.name):
                files.append((path.stat().st_mtime_ns, path.name, path))
        except FileNotFoundError:
            continue
    return [p for _, _, p in sorted(files)]


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
            progress: Callable[[int], None] | None = None) -> Outcome:
    """Check one file and file it (see the module's docstring). Never raises for a problem
    in the file itself; an unexpected error (disk full, ...) leaves the store and the file
    as they were."""
    store = Path(store or settings.db_path())
    folders = (folders or Folders.default()).ensure()
    path = Path(path)
    if not store.exists():
        raise FileNotFoundError(f"no store at {store}: run `python manage.py build` first")
    with writer_lock(store):
        finished = recover(store, folders)
        if not path.exists():
            done = next((o for o in finished if o.name == path.name), None)
            return done or Outcome(path.name, "gone", f"{path.name}: already filed by another process")
        owner = open_in_excel(path)
        if owner is not None:
            return Outcome(path.name, "waiting",
                           f"waiting   {path.name}: still open in Excel ({owner.name} is beside it). "
                           f"Close it in Excel and it will be read.")
        before = _signature(path)
        sha, copy = _copy(path, folders)
        if _signature(path) != before:
            copy.unlink(missing_ok=True)
            return Outcome(path.name, "waiting", f"waiting   {path.name}: it is still being written.")
        history = _history(store, sha)
        unfinished = _unfinished(history, folders)
        if unfinished:
            return _finish(unfinished, copy, folders, store, inbox_file=path)
        received = datetime.fromtimestamp(before[1] / 1e9, timezone.utc).replace(tzinfo=None, microsecond=0)
        first = withdraw.standing(store, history)  # the accepted copy of this content, if not withdrawn
        if first is not None:
            return _file_duplicate(path, copy, sha, first, store, folders, received)
        if withdraw.is_request(path.name, copy):  # a text file asking to withdraw an accepted file
            return withdraw.file_request(path, copy, sha, store, folders, received)
        return _file_new(path, copy, sha, store, folders, received, progress)


def _signature(path: Path) -> tuple[int, int]:
    st = path.stat()
    return st.st_size, st.st_mtime_ns


def _copy(path: Path, folders: Folders) -> tuple[str, Path]:
    """Copy the file into ``.processing/``, named by the SHA-256 of what was copied."""
    digest = hashlib.sha256()
    partial = folders.work / f"incoming-{os.getpid()}-{threading.get_ident()}"
    with open(path, "rb") as src, open(partial, "wb") as dst:
        while chunk := src.read(1 << 20):
            digest.update(chunk)
            dst.write(chunk)
        dst.flush()
        os.fsync(dst.fileno())
    sha = digest.hexdigest()
    copy = folders.work / (sha + path.suffix.lower())  # openpyxl goes by the extension
    os.replace(partial, copy)
    return sha, copy


def _history(store: Path, sha: str) -> list[dict]:
    engine = snapshot_engine(store)
    try:
        with engine.connect() as conn:
            f = schema.intake_files
            return [dict(r) for r in conn.execute(
                sa.select(f).where(f.c.sha256 == sha).order_by(f.c.intake_id)).mappings()]
    finally:
        engine.dispose()


def _unfinished(history: list[dict], folders: Folders) -> dict | None:
    """The record of a file processed but never moved (a crash after the swap)."""
    for rec in reversed(history):
        if not (folders.root / rec["folder"] / rec["stored_name"]).exists():
            return rec
    return None


def _unique_name(original: str, when: datetime, store_conn, folders: Folders) -> str:
    base = re.sub(r'[\\/:*?"<>|\x00-\x1f]', "_", original).strip() or "file"
    stem, dot, ext = base.rpartition(".")
    if not dot:
        stem, ext = base, ""
    stem = stem[:120]
    f = schema.intake_files
    for n in range(1, 10_000):
        name = f"{when:%Y%m%d-%H%M%S}-{stem}{'-' + str(n) if n > 1 else ''}{dot}{ext}"
        taken = (folders.accepted / name).exists() or (folders.rejected / name).exists() or \
            store_conn.execute(sa.select(f.c.intake_id).where(f.c.stored_name == name)).first()
        if not taken:
            return name
    raise RuntimeError("no free name")  # 10,000 files of one name in one second


def _file_new(path: Path, copy: Path, sha: str, store: Path, folders: Folders,
              received: datetime, progress) -> Outcome:
    now = utc_now()
    original = path.name
    try:
        sheets, format_error = open_book(copy, original, settings.max_file_bytes()), None
    except FormatError as exc:
        sheets, format_error = None, exc
    with new_snapshot(store, copy_current=True) as engine:
        with engine.begin() as conn:
            state = StoreState.load(conn)
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
            apply(conn, state, plan, intake, f"dropbox/{status}/{stored}")
            if plan.ok:
                _bump_version(conn, sha)
    # The store now records the file: file it where the record says.
    target = folders.root / status / stored
    _remove_from_inbox(path, sha)
    if not plan.ok:
        write_reports(target, original, plan.errors, plan.error_count)
    os.replace(copy, target)
    if plan.ok:
        message = f"accepted  {original}: {intake['summary']} Filed as {status}/{stored}."
    else:
        listed = "\n".join(f"            - {e}" for e in plan.errors[:10])
        more = f"\n            ... and {plan.error_count - 10} more" if plan.error_count > 10 else ""
        message = (f"REJECTED  {original}: {intake['summary']} Filed as {status}/{stored}; the problems "
                   f"are in {stored}.errors.txt.\n{listed}{more}")
    return Outcome(original, status, message, intake["intake_id"], target, plan.errors, plan.error_count)


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


def _file_duplicate(path, copy, sha, first, store, folders, received) -> Outcome:
    now = utc_now()
    with new_snapshot(store, copy_current=True) as engine:
        with engine.begin() as conn:
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
    target = folders.accepted / stored
    _remove_from_inbox(path, sha)
    os.replace(copy, target)
    return Outcome(path.name, "duplicate", f"unchanged {path.name}: {text} Filed as accepted/{stored}.",
                   next_id, target)


def _bump_version(conn, sha: str | None = None) -> None:
    """A new data version: after an accepted file, and after a withdrawal (data/withdraw.py)."""
    values = dict(conn.execute(sa.select(meta.c.key, meta.c.value)).all())
    curated = values.get("curated_version", values.get("data_version", ""))
    conn.execute(sa.delete(meta).where(meta.c.key.in_(("data_version", "curated_version"))))
    conn.execute(meta.insert(), [{"key": "curated_version", "value": curated},
                                 {"key": "data_version", "value": version_from(conn, curated)}])


def _remove_from_inbox(path: Path, sha: str) -> None:
    """Remove the inbox file if it still holds what was processed (not a newer save)."""
    try:
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
        if digest.hexdigest() == sha:
            path.unlink()
    except FileNotFoundError:
        pass


# --- Finishing what a crash interrupted ----------------------------------------------------

def recover(store: Path, folders: Folders) -> list[Outcome]:
    """File the copies left in ``.processing/`` by a run killed after its swap, and delete
    those of runs killed before it (their file is still in the inbox). Call under the lock."""
    out = []
    if not folders.work.is_dir():
        return out
    for copy in sorted(folders.work.iterdir()):
        if not re.fullmatch(r"[0-9a-f]{64}(\.\w+)?", copy.name):
            copy.unlink(missing_ok=True)  # a copy cut short
            continue
        unfinished = _unfinished(_history(store, copy.name[:64]), folders)
        if unfinished is None:
            copy.unlink(missing_ok=True)  # killed before the swap: the inbox still has the file
            continue
        out.append(_finish(unfinished, copy, folders, store,
                           inbox_file=folders.inbox / unfinished["original_name"]))
    return out


def _finish(rec: dict, copy: Path, folders: Folders, store: Path, inbox_file: Path) -> Outcome:
    target = folders.root / rec["folder"] / rec["stored_name"]
    _remove_from_inbox(inbox_file, rec["sha256"])
    if rec["folder"] == "rejected":
        errors = stored_errors(store, rec["intake_id"])
        write_reports(target, rec["original_name"], errors, rec["error_count"])
    os.replace(copy, target)
    message = (f"finished  {rec['original_name']}: it had already been processed ({rec['status']}) when "
               f"the previous run stopped; nothing changed in the store. Filed as "
               f"{rec['folder']}/{rec['stored_name']}.")
    log.info(message)
    return Outcome(rec["original_name"], "recovered", message, rec["intake_id"], target)


# --- The whole inbox (watching it: data/watcher.py) ------------------------------------------

def process_inbox(store: Path | None = None, folders: Folders | None = None,
                  progress_for: Callable[[Path], Callable[[int], None] | None] | None = None) -> list[Outcome]:
    """Every file now in the inbox, oldest first."""
    folders = (folders or Folders.default()).ensure()
    store = Path(store or settings.db_path())
    outcomes = []
    if any(folders.work.iterdir()):
        with writer_lock(store):
            outcomes += recover(store, folders)
    for path in inbox_files(folders):
        outcomes.append(process(path, store, folders, progress_for(path) if progress_for else None))
    return outcomes
