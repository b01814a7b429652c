"""A throwaway PostgreSQL cluster for the test session (issue 16; docs/store-interface.md).

The shared store will be PostgreSQL, and what its design relies on (advisory locks that die
with their holder, one transaction per data version, the sort order of text) is tested
against a real server, never a mock. This module starts one from Debian's ``postgresql``
package (``./pkpi test`` installs it) and removes it again:

- a temporary folder of its own (``/tmp/pkpi-pg-*``, mode 0700) holds the data directory,
  the log and the Unix socket. No TCP port is opened (``listen_addresses = ''``), so
  nothing else on the machine can reach it and two sessions never collide on a port;
- durability is switched off (``fsync``, ``synchronous_commit``, ``full_page_writes``): a
  crash of the machine loses a cluster that is thrown away anyway;
- the server refuses to run as root, and so does ``initdb``: run as root, the folder is
  given to the ``postgres`` user and every server command runs as that user (``runuser``);
  run as anyone else, they run as that user. The superuser is called ``postgres`` either way;
- the default collation is ICU's English one, as a production server's ``en_US.UTF-8``
  would be: code that sorts text without saying ``COLLATE "C"`` then sorts differently from
  DuckDB here too, instead of passing by luck on a ``C`` cluster;
- it is stopped and removed at the end, and also when the test session dies: a small
  watchdog process (in a session of its own, so Ctrl-C does not reach it) waits on a pipe
  whose other end only the test process holds. However the test process ends, even by
  SIGKILL, the kernel closes that end and the watchdog stops the server and deletes the
  folder.

Only the standard library is used, so that ``python3 tests/pgcluster.py --selftest`` can run
under any user (the tests use that to check the non-root path).
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import quote

PORT = 5432  # only names the socket file (.s.PGSQL.5432) inside the private folder
SETTINGS = {
    "listen_addresses": "''",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "40",
    "shared_buffers": "'64MB'",
    # What the shared store will set too: a backend whose client vanished while it runs a
    # long query notices within a second instead of at its next write to the socket.
    "client_connection_check_interval": "'1s'",
    "log_min_messages": "warning",
    "log_line_prefix": "'%m [%p] '",
}


class PostgresMissing(RuntimeError):
    """The server binaries are not installed."""


def find_bindir(root: Path = Path("/usr/lib/postgresql")) -> Path:
    """The newest ``/usr/lib/postgresql/<version>/bin`` (Debian's layout), else ``PATH``."""
    candidates = sorted(root.glob("*/bin"),
                        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
                        reverse=True)
    for bindir in candidates:
        if all((bindir / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return bindir
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).parent
    raise PostgresMissing(
        "PostgreSQL's server programs (initdb, pg_ctl, postgres) were not found under "
        "/usr/lib/postgresql/*/bin or on PATH. The tests start a throwaway PostgreSQL cluster; "
        "install Debian's 'postgresql' package (./pkpi test does: apt-get install postgresql).")


def _as_server_user(argv: list[str]) -> list[str]:
    """``argv`` run as the user the server may run as (not root)."""
    if os.geteuid() != 0:
        return argv
    runuser = shutil.which("runuser") or "/usr/sbin/runuser"
    return [runuser, "-u", "postgres", "--", *argv]


def _run(argv: list[str], what: str, timeout: float = 120) -> None:
    # From "/": the caller's folder may be one the postgres user cannot enter (a home under /root).
    done = subprocess.run(_as_server_user(argv), stdin=subprocess.DEVNULL, capture_output=True,
                          text=True, timeout=timeout, env=_server_env(), cwd="/")
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {done.returncode}): {' '.join(argv)}\n"
                           f"{done.stdout[-2000:]}{done.stderr[-2000:]}")


def _server_env() -> dict[str, str]:
    # Nothing of the caller's libpq settings, and messages in English (they end up in failures).
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env["LC_MESSAGES"] = "C"
    return env


class Cluster:
    """One running throwaway cluster. ``Cluster.start()``; ``url``; ``stop()``."""

    def __init__(self, bindir: Path, folder: Path):
        self.bindir = bindir
        self.folder = folder
        self.data = folder / "data"
        self.log = folder / "server.log"
        self._watchdog: subprocess.Popen | None = None
        self._alive_fd: int | None = None

    # -- what the tests use --------------------------------------------------------------

    @property
    def url(self) -> str:
        """The libpq URL of the ``postgres`` database, as superuser, over the socket."""
        return f"postgresql:///postgres?host={quote(str(self.folder), safe='/')}&port={PORT}&user=postgres"

    @classmethod
    def start(cls, bindir: Path | None = None) -> "Cluster":
        bindir = bindir or find_bindir()
        if os.geteuid() == 0:
            try:
                import pwd
                pw = pwd.getpwnam("postgres")
            except KeyError:
                raise PostgresMissing("running as root, and there is no 'postgres' user to run the "
                                      "server as (Debian's postgresql package creates it)") from None
        folder = Path(tempfile.mkdtemp(prefix="pkpi-pg-", dir="/tmp"))  # short: a socket path has ~100 bytes
        if os.geteuid() == 0:
            os.chown(folder, pw.pw_uid, pw.pw_gid)
        cluster = cls(bindir, folder)
        try:
            cluster._guard()
            cluster._initdb()
            cluster._pg_ctl("start", "-l", str(cluster.log), "-w", "-t", "60")
        except BaseException:
            cluster.stop()
            raise
        return cluster

    def stop(self) -> None:
        """Stop the server and delete its folder (safe to call twice, or after a failed start)."""
        try:
            _stop_and_remove(self.bindir, self.folder)
        finally:
            if self._alive_fd is not None:
                os.close(self._alive_fd)  # the watchdog wakes, finds nothing left, and exits
                self._alive_fd = None
            if self._watchdog is not None:
                try:
                    self._watchdog.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    self._watchdog.kill()
                self._watchdog = None

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    # -- how ------------------------------------------------------------------------------

    def _guard(self) -> None:
        """Start the watchdog that removes the cluster if this process dies first."""
        read_fd, write_fd = os.pipe()
        try:
            self._watchdog = subprocess.Popen(
                [sys.executable, str(Path(__file__).resolve()), "--watchdog", str(read_fd),
                 str(self.bindir), str(self.folder)],
                pass_fds=(read_fd,), start_new_session=True, stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except BaseException:
            os.close(write_fd)
            raise
        finally:
            os.close(read_fd)
        self._alive_fd = write_fd  # not inherited by other children (os.pipe's fds are not)

    def _initdb(self) -> None:
        _run([str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "-E", "UTF8",
              "--locale=C", "--locale-provider=icu", "--icu-locale=en", "--auth=trust", "--no-sync",
              "--no-instructions"], "initdb")
        # Appended: the last setting in the file wins. The socket's folder is private (0700),
        # which is what keeps "trust" authentication to this session's own processes.
        lines = [f"{k} = {v}" for k, v in SETTINGS.items()]
        lines.append(f"unix_socket_directories = '{self.folder}'")
        lines.append(f"port = {PORT}")
        conf = self.data / "postgresql.conf"  # root may append to it; its owner stays postgres
        with conf.open("a", encoding="utf-8") as f:
            f.write("\n# tests/pgcluster.py\n" + "\n".join(lines) + "\n")

    def _pg_ctl(self, *args: str) -> None:
        try:
            _run([str(self.bindir / "pg_ctl"), "-D", str(self.data), *args], f"pg_ctl {args[0]}")
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}\nserver log:\n{self.log_text()[-3000:]}") from None


def _postmaster_pid(data: Path) -> int | None:
    try:
        first = (data / "postmaster.pid").read_text().split("\n", 1)[0]
        return int(first)
    except (OSError, ValueError):
        return None


def _stop_and_remove(bindir: Path, folder: Path) -> None:
    data = folder / "data"
    pid = _postmaster_pid(data)
    if pid is not None:
        for mode in ("fast", "immediate"):
            try:
                _run([str(bindir / "pg_ctl"), "-D", str(data), "-m", mode, "-w", "-t", "30", "stop"],
                     "pg_ctl stop", timeout=60)
                break
            except (RuntimeError, subprocess.TimeoutExpired):
                continue
        else:
            try:
                os.kill(pid, 9)  # the postmaster; its children exit when it is gone
            except ProcessLookupError:
                pass
    shutil.rmtree(folder, ignore_errors=True)


def _watchdog(read_fd: int, bindir: str, folder: str) -> None:
    """Wait until every write end of the pipe is closed (the test process ended), then clean."""
    while True:
        try:
            if not os.read(read_fd, 1):
                break
        except InterruptedError:
            continue
    if Path(folder).exists():
        _stop_and_remove(Path(bindir), Path(folder))


def _selftest() -> None:
    """Start, ask the server who it runs as and whether it listens on TCP, stop, check removal."""
    cluster = Cluster.start()
    try:
        psql = [str(cluster.bindir / "psql"), cluster.url, "-XAtc"]
        ask = lambda sql: subprocess.run(psql + [sql], capture_output=True, text=True, check=True,
                                         env=_server_env()).stdout.strip()
        out = {"uid": os.geteuid(), "folder": str(cluster.folder),
               "user": ask("SELECT current_user"),
               "listen_addresses": ask("SHOW listen_addresses"), "fsync": ask("SHOW fsync"),
               "server_uid": os.stat(cluster.data).st_uid}
    finally:
        cluster.stop()
    out["removed"] = not Path(out["folder"]).exists()
    print(json.dumps(out))


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--watchdog":
        _watchdog(int(sys.argv[2]), sys.argv[3], sys.argv[4])
    elif sys.argv[1:] == ["--selftest"]:
        _selftest()
    else:
        sys.exit("usage: pgcluster.py --selftest | --watchdog FD BINDIR FOLDER")
