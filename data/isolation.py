"""Reading a dropped file in a process of its own, so that no file can stop the server.

A spreadsheet reader can be made to fail in ways no ``try`` catches: python-calamine aborts
the whole process when a sheet asks it for more memory than there is, and a reader can spin
for hours. So nothing in the serving process (the watcher thread of ``app.py`` and of every
gunicorn worker) nor in ``manage.py ingest`` reads a dropped file: for each file,

1. the parent takes the store's writer lock (``data.store.writer_lock``);
2. it starts a child (``python -m data.isolation``) that inherits the lock's descriptor, so
   the lock stays held while either lives (a parent killed meanwhile leaves no second
   writer in), and runs ``data.dropbox.process`` there, with its address space limited to
   ``PKPI_READER_MEMORY_MB`` and its processor time to ``PKPI_READER_SECONDS``
   (``RLIMIT_AS``, ``RLIMIT_CPU``: the kernel enforces both); the parent also stops it
   after twice that time plus a minute on the clock;
3. the child sends back what happened (``Outcome``), or the error it met.

A child that is killed by a signal, dies without an answer, runs out of memory or out of
time leaves the store as ``process`` guarantees for any crash (unchanged, or changed and
finished by ``recover``). The parent, still holding the lock, then finishes what the child
left and files the file as rejected with the reason (``reader-crashed``,
``reader-out-of-memory``, ``reader-out-of-time``) without reading it: its error report says
what happened, the original is kept byte for byte in ``rejected/``, and it is not read
again. Any other error in the child (a full disk, ...) is raised in the parent as
``ReaderFailed``: the file stays in the inbox, as before.

The DuckDB store is only ever opened read-write by the child, while the parent holds the
lock without a connection: one writer at a time, as everywhere else.

**On PostgreSQL** (``PKPI_DATABASE_URL``) the writer lock is an advisory lock held by a
database connection, and a connection cannot be handed to another process. So there the
parent takes no lock: the child's ``process`` takes the writer lock itself
(``Store.writer()``), on a connection of its own, for the whole filing, exactly as a
``process`` run in this process would. A child that dies, however it dies, closes that
connection: the server rolls its transaction back and frees the lock in the same step, so
no half-applied file and no stale lock can remain. The parent then takes the lock (blocking
until any writer, on any machine, is done), finishes what the child committed
(``recover``), and rejects the file unread, all under that one hold. Between the child's
death and the parent's lock another machine may file from the inbox meanwhile; that is
harmless, since every filing holds the lock from its copy to its last move and ``process``
finds a file another machine filed gone from the inbox (or recorded, by its SHA-256), and
never applies it twice. Inheriting the lock as on DuckDB would need the parent's connection
in the child, which PostgreSQL does not allow; holding a second, parent-side lock while the
child runs would deadlock with the child's own.
"""
from __future__ import annotations

import json
import logging
import os
import pickle
import signal
import socket
import subprocess
import sys
import threading
from contextlib import nullcontext
from pathlib import Path

from data import settings
from data.dropbox import Folders, Outcome, process, recover
from data.sheets import FormatError
from data.store import held_lock_fd, writer_lock
from data.stores import describe, is_url, open_store, target_of

log = logging.getLogger("pkpi.dropbox")
REPO = Path(__file__).resolve().parent.parent


class ReaderFailed(RuntimeError):
    """The child met an ordinary error (not the file's doing): the file stays in the inbox."""


def process_isolated(path: Path, store: Path | str | None = None, folders: Folders | None = None,
                     progress: bool = False, memory: int | None = None,
                     seconds: float | None = None, settle: float | None = None) -> Outcome:
    """``data.dropbox.process(path)`` in a child process with limits (see the module's
    docstring); the same outcome, or the file rejected when its reader crashed. ``store``:
    a DuckDB file, a ``postgresql://`` URL, or None (the settings' choice)."""
    store = target_of(store)
    folders = (folders or Folders.default()).ensure()
    path = Path(path)
    opened = open_store(store)
    if not opened.exists():
        raise FileNotFoundError(f"no store at {describe(store)}: run `python manage.py build` first")
    memory = memory or settings.reader_memory_bytes()
    seconds = seconds or settings.reader_seconds()
    shared = is_url(store)  # PostgreSQL: the child takes the lock itself (see the module's note)
    with nullcontext() if shared else writer_lock(store):
        fd = None if shared else held_lock_fd(store)
        status, detail, peak = _run_child(path, store, folders, fd, progress, memory, seconds, settle)
        if status == "ok":
            return detail
        if status == "error":
            raise ReaderFailed(detail)
        refusal = _refusal(path.name, status, detail, memory, seconds)
        log.warning("the reader of %s %s (peak %.0f MB); rejecting it unread", path.name,
                    {"memory": "ran out of memory", "time": "ran out of time"}.get(status, f"crashed ({detail})"),
                    peak / 1024 / 1024)
        with opened.writer():  # DuckDB: held already; PostgreSQL: freed when the child died
            for outcome in recover(opened, folders):  # what the child had filed before it died
                if outcome.name == path.name and not path.exists():
                    return outcome
            return process(path, opened, folders, settle=0, refuse=refusal)  # it had settled: the child read it


def _refusal(name: str, status: str, detail: str, memory: int, seconds: float) -> FormatError:
    if status == "memory":
        return FormatError("reader-failed", "reader-out-of-memory", file=name, limit=f"{memory / 1024 / 1024:,.0f} MB")
    if status == "time":
        return FormatError("reader-failed", "reader-out-of-time", file=name, limit=f"{seconds:g}")
    return FormatError("reader-failed", "reader-crashed", file=name, how=detail)


# A reader waiting for its job, its imports done (about a second saved a file): kept per thread,
# since the kernel kills a child when the thread that started it ends (PR_SET_PDEATHSIG).
_warm: dict[int, tuple[subprocess.Popen, socket.socket]] = {}
_warm_lock = threading.Lock()


def _spawn() -> tuple[subprocess.Popen, socket.socket]:
    ours, theirs = socket.socketpair()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)}
    proc = subprocess.Popen([sys.executable, "-m", "data.isolation", str(os.getpid())], cwd=REPO, env=env,
                            stdin=theirs, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    theirs.close()
    return proc, ours


def prepare() -> None:
    """Start a reader for this thread's next file, unless one is waiting."""
    me = threading.get_ident()
    with _warm_lock:
        for ident in [i for i in _warm if i != me and not any(t.ident == i for t in threading.enumerate())]:
            old, channel = _warm.pop(ident)  # its thread ended: so did it
            channel.close()
            old.wait()
        if me in _warm and _warm[me][0].poll() is None:
            return
        _warm[me] = _spawn()


def _take() -> tuple[subprocess.Popen, socket.socket]:
    with _warm_lock:
        waiting = _warm.pop(threading.get_ident(), None)
    if waiting is not None and waiting[0].poll() is None:
        return waiting
    if waiting is not None:
        waiting[1].close()
        waiting[0].wait()
    return _spawn()


def _run_child(path: Path, store: Path | str, folders: Folders, fd: int | None, progress: bool, memory: int,
               seconds: float, settle: float | None = None) -> tuple[str, object, int]:
    """(status, detail, peak bytes): ("ok", Outcome), ("error", text), or ("memory" | "time" |
    "crashed", how it ended). ``fd``: the DuckDB writer lock's descriptor, handed to the
    child; None for PostgreSQL, where the child takes the lock itself."""
    fds = [] if fd is None else [fd]
    job = json.dumps({"path": str(path.absolute()), "store": store if is_url(store) else str(Path(store).absolute()),
                      "folders": str(folders.root.absolute()), "progress": progress, "memory": memory,
                      "seconds": seconds, "settle": settle, "env": {k: v for k, v in os.environ.items() if k.startswith("PKPI_")}})
    proc, channel = _take()
    try:
        socket.send_fds(channel, [job.encode()], fds)  # the job, and the lock's descriptor with it
    except OSError:
        proc.kill()
        channel.close()
        proc, channel = _spawn()
        socket.send_fds(channel, [job.encode()], fds)
    channel.close()
    prepare()  # the next file's reader starts its imports meanwhile
    answer = bytearray()
    tail = bytearray()
    out_of_memory = []  # Rust says so on its first line, before a long backtrace

    def read_answer():
        while chunk := proc.stdout.read(1 << 16):
            answer.extend(chunk)

    def pass_on_stderr():  # the child's messages go where ours go; the end is kept to tell why it died
        for line in iter(proc.stderr.readline, b""):
            tail.extend(line)
            del tail[:-4096]
            if b"memory allocation of" in line or b"MemoryError" in line:
                out_of_memory.append(line)
            if line.startswith(b"pkpi-reader-peak="):
                continue
            try:
                sys.stderr.write(line.decode("utf-8", "replace"))
                sys.stderr.flush()
            except (OSError, ValueError):
                pass

    readers = [threading.Thread(target=read_answer, daemon=True), threading.Thread(target=pass_on_stderr, daemon=True)]
    for t in readers:
        t.start()
    timed_out = False
    try:
        proc.wait(timeout=2 * seconds + 60)
    except subprocess.TimeoutExpired:
        timed_out = True
        proc.kill()
        proc.wait()
    finally:
        for t in readers:
            t.join(timeout=10)
    peak = _peak(tail)
    if timed_out:
        return "time", "", peak
    if proc.returncode == 0 and answer:
        try:
            status, detail = pickle.loads(bytes(answer))
        except Exception:
            return "crashed", "its answer was cut short", peak
        return status, detail, peak
    if proc.returncode < 0:
        sig = -proc.returncode
        if sig == signal.SIGXCPU:
            return "time", "", peak
        if out_of_memory:  # Rust's or Python's words for it
            return "memory", "", peak
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        return "crashed", name, peak
    if out_of_memory:
        return "memory", "", peak
    return "crashed", f"exit status {proc.returncode}", peak


def _peak(tail: bytearray) -> int:
    """The child's peak resident memory, as it reported it (0 if it could not)."""
    try:
        return int(tail.decode("utf-8", "replace").rsplit("pkpi-reader-peak=", 1)[1].split()[0])
    except (IndexError, ValueError):
        return 0


# --- The child ---------------------------------------------------------------------------------

def _limit(memory: int, seconds: float) -> None:
    import resource
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # an abort must not leave gigabytes of core behind
    cpu = max(1, int(seconds + 0.999))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))  # SIGXCPU, then SIGKILL 5 s later


def _child(job: dict) -> int:
    from data.store import inherit_lock
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # anything printed goes with the messages, never into the answer
    store = target_of(job["store"])
    if not is_url(store):
        inherit_lock(store)  # DuckDB: the parent's lock; PostgreSQL: process() takes the lock
    def progress(rows: int) -> None:  # as manage.py ingest says it for a large file
        print(f"  {rows:,} rows checked", file=sys.stderr, flush=True)
    try:
        result = ("ok", process(Path(job["path"]), store, Folders(Path(job["folders"])),
                                progress if job["progress"] else None, settle=job.get("settle")))
    except MemoryError:
        result = ("memory", "")
    except Exception as exc:
        log.exception("could not file %s", Path(job["path"]).name)
        result = ("error", f"{type(exc).__name__}: {exc}"[:1000])
    try:
        data = pickle.dumps(result)
    except MemoryError:
        data = pickle.dumps(("memory", ""))
    out.write(data)
    out.flush()
    _report_peak()
    return 0


def _report_peak() -> None:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(("VmHWM:", "VmPeak:")) and os.environ.get("PKPI_READER_TRACE"):
                    print(line.strip(), file=sys.stderr, flush=True)
                if line.startswith("VmHWM:"):
                    print(f"pkpi-reader-peak={int(line.split()[1]) * 1024}", file=sys.stderr, flush=True)
    except OSError:
        pass


def _die_with_parent(parent: int) -> None:
    """Linux: be killed when the parent dies (a killed ``manage.py ingest`` or server stops
    its reader too, as when the file was read in its own process)."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # it died before we asked
        os._exit(1)


def main(argv: list[str]) -> int:
    _die_with_parent(int(argv[1]))
    channel = socket.socket(fileno=0)  # our standard input: the job comes with the lock's descriptor
    try:
        message, fds, _, _ = socket.recv_fds(channel, 1 << 20, 1)
    except OSError:
        return 0
    if not message:
        return 0  # the parent let us go unused
    job = json.loads(message)
    for key in [k for k in os.environ if k.startswith("PKPI_")]:
        del os.environ[key]
    os.environ.update(job["env"])  # the settings as the parent has them now
    import resource
    used = sum(resource.getrusage(resource.RUSAGE_SELF)[:2])  # the imports' time is not the file's
    _limit(int(job["memory"]), float(job["seconds"]) + used)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s pkpi.dropbox %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    job["_lock_fds"] = fds  # kept open: the lock is held while they are
    import data.dropbox
    data.dropbox.READER_PARENT = os.getppid()  # the crash tests' kill points stop the filing process
    return _child(job)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
