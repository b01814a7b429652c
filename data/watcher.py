"""Watching the inbox, and saying what the watching is doing.

``./pkpi run``, ``python app.py`` and every gunicorn worker start a watcher thread unless
``PKPI_WATCH=0`` (``serve_dropbox``); ``manage.py watch`` runs one in the foreground. Of
all the watchers on one store, one works at a time: the one holding the store's watcher
election (``Store.watcher()``: on DuckDB a ``flock`` on ``<store>.watcher`` beside the store,
on PostgreSQL an advisory lock on the watcher's own connection, so the watchers of several
machines sharing one database elect one among them); the others stand by and take over if
it stops (the lock goes with its holder's process, or on PostgreSQL its connection).

The elected watcher writes what it is doing as one JSON line, rewritten at every look
(``WatcherLock.write_status``: into the lock's file on DuckDB, into the table
``pkpi_watcher`` on PostgreSQL): process id and host, when it was elected, when it last
looked, how often it looks, the file it is reading now, and the files it is waiting for or
could not read. The Updates page (in whichever worker, on whichever machine, serves it)
reads this line with ``status()`` (``Store.watcher_status()``), which also says whether the
election is still held, so it can say plainly whether the inbox is being read, by which
process, when it last looked, and why a file is still waiting.
"""
from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from data import messages, settings
from data.dropbox import Folders, Outcome, _signature, inbox_files, open_in_excel, recover, refusal
from data.isolation import prepare, process_isolated
from data.messages import shown_name
from data.stores import WatcherLock, open_store, target_of

log = logging.getLogger("pkpi.dropbox")


def _utc() -> str:
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


class Watcher:
    """Polls the inbox (file-system events are unreliable on network shares) and files each
    file once it has not changed between two polls and for PKPI_SETTLE_SECONDS, counted by
    this process's own clock (a share's clock may differ). Links, folders and other entries
    that are not regular files are reported once and never read. Of all the watchers started on one
    store (in server workers, ``manage.py watch``, on one machine or, on PostgreSQL, on
    several), one works at a time: the one holding the store's watcher election; the others
    stand by and take over if it stops.

    ``store`` is where it files: a DuckDB file (a Path), a ``postgresql://`` URL, or None
    for the settings' store (``data.stores.target_of``); it is handed on as it is to
    the intake (``recover``, ``process_isolated``)."""

    def __init__(self, store: Path | str | None = None, folders: Folders | None = None,
                 poll: float | None = None, report: Callable[[Outcome], None] | None = None,
                 settle: float | None = None):
        self.store = target_of(store)
        self._store = open_store(self.store)
        self.folders = folders or Folders.default()
        self.poll = poll or settings.poll_seconds()
        self.settle = settings.settle_seconds() if settle is None else settle
        self._stable: dict[Path, tuple[tuple, float]] = {}  # path -> (signature, since (monotonic))
        self._refused: dict[str, tuple] = {}  # name -> (why, signature) reported
        self._reasons: dict[str, dict] = {}  # name -> {"msg", "params"}: why it waits or is refused
        self._unfiled: dict[str, str] = {}  # a copy that could not be finished -> its message, reported once
        self._last_look: float | None = None  # wall clock
        self.report = report or (lambda o: log.info("%s", o.message))
        self._seen: dict[Path, tuple[int, int]] = {}
        self._failed: dict[Path, tuple[int, int]] = {}
        self._failures: dict[str, str] = {}  # name -> what went wrong (for the Updates page)
        self._waiting: dict[Path, tuple[int, int]] = {}
        self._why: dict[str, str] = {}  # name -> why it waits, as process() said
        self._first: dict[str, float] = {}  # name -> when first seen in the inbox (epoch seconds)
        self._changing: list[str] = []  # names whose size or time changed since the last look
        self._lock: WatcherLock | None = None  # held: this watcher is the elected one
        self._since = ""

    def _elected(self) -> bool:
        """Whether this watcher is the one working: it holds the election, or has just won
        it. A PostgreSQL holder asks the server at every look (its connection may have
        broken, and the lock with it) and stands down if it lost it."""
        if self._lock is not None:
            if self._lock.still_held():
                return True
            log.warning("the inbox watcher's election was lost (its connection to the store broke); "
                        "standing by")
            self._lock = None
        lock = self._store.watcher()
        if not lock.try_acquire():
            return False
        self._lock = lock
        self._since = _utc()
        prepare()  # a reader process, its imports done, for the first file
        log.info("watching %s every %gs", self.folders.inbox, self.poll)
        return True

    def _beat(self, reading: str | None = None) -> None:
        """Rewrite the status line (only the elected watcher writes it)."""
        if self._lock is None:
            return
        line = json.dumps({"pid": os.getpid(), "host": socket.gethostname(), "since": self._since,
                           "looked": _utc(), "poll": self.poll, "inbox": str(self.folders.inbox),
                           "reading": reading, "reading_since": _utc() if reading else None,
                           "waiting": self._why, "failed": self._failures, "first_seen": self._first,
                           "changing": self._changing, "reasons": self._reasons,
                           "settle": self.settle}, ensure_ascii=False, default=str) + "\n"
        try:
            self._lock.write_status(line)
        except Exception:  # a full disk, a database briefly away: the watching goes on
            log.exception("could not write the watcher's status")

    def release(self) -> None:
        """Stand down: the election is free and no status is left behind."""
        lock, self._lock = self._lock, None
        if lock is not None:
            lock.release()

    def poll_once(self) -> list[Outcome]:
        """File what has been stable since the last poll, and for the settle time. Returns
        what happened. One file's failure, of any kind, is reported and the next is read."""
        if not self._elected() or not self._store.exists():
            return []
        self.folders.ensure()
        current, refused = {}, {}
        for path in inbox_files(self.folders):
            try:
                sig = _signature(path)
            except FileNotFoundError:
                continue
            why = refusal(path)
            if why is not None:
                refused[path] = (why, sig)
            else:
                current[path] = sig
        names = {p.name for p in current} | {p.name for p in refused}
        self._why = {k: v for k, v in self._why.items() if k in names}
        self._failures = {k: v for k, v in self._failures.items() if k in names}
        self._reasons = {k: v for k, v in self._reasons.items() if k in names}
        now, clock = time.time(), time.monotonic()
        self._first = {name: self._first.get(name, now) for name in names}
        self._changing = [p.name for p, sig in current.items() if p in self._seen and self._seen[p] != sig]
        self._stable = {p: (sig, self._stable[p][1] if self._stable.get(p, (None,))[0] == sig
                            else clock - (now - self._changed_at(sig, now)))
                        for p, sig in current.items()}
        self._last_look = now
        ready = [p for p, sig in current.items() if self._seen.get(p) == sig and self._failed.get(p) != sig
                 and clock - self._stable[p][1] >= self.settle]
        outcomes = []
        for path, (why, sig) in refused.items():  # said once (again if it is replaced)
            self._reasons[path.name] = {"msg": why[0], "params": why[1]}
            if self._refused.get(path.name) != (why, sig):
                self.report(Outcome(path.name, "refused", f"REFUSED   {shown_name(path.name)}: "
                                    f"{messages.render(*why)} It is left where it is, unread.", msg=why))
            self._refused[path.name] = (why, sig)
        self._refused = {k: v for k, v in self._refused.items() if k in names}
        self._beat()
        self._seen = current
        if any(self.folders.work.iterdir()):
            for o in recover(self.store, self.folders):  # under the writer lock, which it takes
                if o.status == "failed":  # said once; tried again at every look
                    if self._unfiled.get(o.name) != o.message:
                        self.report(o)
                    self._unfiled[o.name] = o.message
                    continue
                self._unfiled.pop(o.name, None)
                outcomes.append(o)
                self.report(o)
        for path in ready:
            if self._waiting.get(path) == current[path] and open_in_excel(path) is not None:
                continue  # still open in Excel, as at the last look: reading it again would say so again
            self._beat(reading=path.name)
            try:
                outcome = process_isolated(path, self.store, self.folders, settle=0)  # never read here
            except Exception as exc:  # the file stays in the inbox; tried again when it changes
                log.exception("could not file %s; it stays in the inbox", shown_name(path.name))
                self._failed[path] = current[path]
                self._failures[path.name] = shown_name(f"{type(exc).__name__}: {exc}")[:300]
                continue
            if outcome.status == "waiting":
                if self._waiting.get(path) != current[path] or self._why.get(path.name) != outcome.message:
                    self.report(outcome)
                self._waiting[path] = current[path]
                self._why[path.name] = outcome.message
                if outcome.msg:
                    self._reasons[path.name] = {"msg": outcome.msg[0], "params": outcome.msg[1]}
                continue
            self._waiting.pop(path, None)
            self._why.pop(path.name, None)
            self._reasons.pop(path.name, None)
            outcomes.append(outcome)
            self.report(outcome)
        self._beat()
        return outcomes

    def _changed_at(self, sig: tuple, now: float) -> float:
        """When a file new or changed since the last look last changed (wall clock): its
        change time, if that falls between the last look and now, as it must; otherwise
        (a share whose clock differs, or the first look) now, which is never too early."""
        changed = max(sig[1], sig[2]) / 1e9
        if self._last_look is not None and self._last_look < changed <= now:
            return changed
        return now

    def next_look(self) -> float:
        """Seconds until the next look: the poll interval, or sooner when a file's settle
        time ends before it (so the wait is the settle time, not the settle time and a poll)."""
        clock = time.monotonic()
        due = [since + self.settle - clock for _sig, since in self._stable.values()]
        due = [d for d in due if d > 0]
        return max(0.1, min([self.poll, *[d + 0.05 for d in due]]))

    def run(self, stop: threading.Event) -> None:
        try:
            while not stop.is_set():
                try:
                    self.poll_once()
                except Exception:
                    log.exception("watcher: unexpected error; trying again at the next poll")
                stop.wait(self.next_look())
        finally:
            self.release()


_background: tuple[threading.Thread, threading.Event] | None = None


def start_background_watcher() -> bool:
    """Run a watcher in a daemon thread of this process. Once per process."""
    global _background
    if _background is not None:
        return False
    if not log.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler()  # the server's log: what was filed, and why not
        handler.setFormatter(logging.Formatter("%(asctime)s pkpi.dropbox %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
    stop = threading.Event()
    watcher = Watcher()
    thread = threading.Thread(target=watcher.run, args=(stop,), name="pkpi-dropbox-watcher", daemon=True)
    thread.start()
    _background = (thread, stop)
    return True


def serve_dropbox() -> bool:
    """What a serving process does for the drop folder (``app.py``, ``wsgi.py``): make the
    inbox, accepted and rejected folders, and watch the inbox unless ``PKPI_WATCH=0``.
    True when this process started a watcher."""
    try:
        Folders.default().ensure()
    except OSError:  # an unreachable share: the Updates page says so; serving goes on
        log.exception("could not create the drop folder %s", settings.dropbox_dir())
    return settings.watch_enabled() and start_background_watcher()


# --- What the Updates page reads --------------------------------------------------------------

@dataclass
class Status:
    reading: bool  # a watcher holds the election lock now
    enabled: bool  # PKPI_WATCH in this process
    pid: int | None = None
    host: str = ""
    since: datetime | None = None
    looked: datetime | None = None
    poll: float = 0.0
    current: str | None = None  # the file being read now
    current_since: datetime | None = None
    waiting: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)
    first_seen: dict[str, float] = field(default_factory=dict)
    changing: list[str] = field(default_factory=list)
    reasons: dict[str, dict] = field(default_factory=dict)  # name -> {"msg", "params"} (data.messages)

    @property
    def late(self) -> bool:
        """The watcher has not looked for much longer than it should (busy, or stuck)."""
        if not self.looked or self.current:
            return False
        return (datetime.now(timezone.utc) - self.looked).total_seconds() > max(15.0, 5 * self.poll)


def _time(text) -> datetime | None:
    try:
        return datetime.fromisoformat(text) if text else None
    except ValueError:
        return None


def status(store: Path | str | None = None) -> Status:
    """Whether the inbox is being read now, and by whom (from any process; on PostgreSQL,
    from any machine sharing the database): read from the store the settings name, or
    ``store``, through ``Store.watcher_status()``."""
    enabled = settings.watch_enabled()
    held, line = open_store(target_of(store)).watcher_status()
    if not held:
        return Status(False, enabled)
    try:
        d = json.loads((line or "").split("\n", 1)[0])
    except ValueError:  # elected, no line written yet (or between two writes): nothing more known
        return Status(True, enabled)
    if not isinstance(d, dict):
        return Status(True, enabled)
    return Status(True, enabled, d.get("pid"), d.get("host", ""), _time(d.get("since")), _time(d.get("looked")),
                  float(d.get("poll") or 0), d.get("reading"), _time(d.get("reading_since")),
                  d.get("waiting") or {}, d.get("failed") or {}, d.get("first_seen") or {},
                  d.get("changing") or [], d.get("reasons") or {})


def why_waiting(path: Path, state: Status) -> tuple[str, dict]:
    """Why a file is still in the inbox, as (reason code, details) for the Updates page.

    Always said: ``refused`` (a link, a folder or another entry that is not a regular file:
    never read; details ``msg`` and ``params``, a ``data.messages`` id to render in the
    reader's language), ``excel`` (Excel's lock file is beside it), ``off`` (nobody reads the
    inbox), ``reading`` (being read now). Once it has waited longer than three looks:
    ``failed`` (an unexpected error; tried again when the file changes), ``too-large``,
    ``writing`` (it changed at the last look), ``open`` (a program has it open for writing;
    ``msg`` and ``params`` as for ``refused``), ``late`` (the watcher has not looked for a
    while). Otherwise ``queued``: read within a few seconds."""
    why = refusal(path)
    if why is not None:
        return "refused", {"msg": why[0], "params": why[1]}
    owner = open_in_excel(path)
    if owner is not None:
        return "excel", {"owner": owner.name}
    if not state.reading:
        return "off", {}
    if state.current == path.name:
        return "reading", {"since": state.current_since}
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return "queued", {}
    first = state.first_seen.get(path.name, st.st_mtime)
    if time.time() - first < 3 * max(state.poll, 1.0):
        return "queued", {}
    if path.name in state.failed:
        return "failed", {"error": state.failed[path.name]}
    if st.st_size > settings.max_file_bytes():
        return "too-large", {"mb": st.st_size / 1024 / 1024, "limit": settings.max_file_bytes() / 1024 / 1024}
    reason = state.reasons.get(path.name) or {}
    if reason.get("msg") == "inbox-open-for-writing":
        return "open", {"msg": reason["msg"], "params": reason.get("params") or {}}
    if path.name in state.changing or "still being written" in state.waiting.get(path.name, ""):
        return "writing", {}
    if state.late:
        return "late", {"looked": state.looked}
    return "queued", {}
