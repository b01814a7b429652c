"""Shared fixtures: a real DuckDB store built from the curated files, a real Dash server in
its own process, and Debian's Chromium for Playwright. No database mocks."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"

# Tests write a file and read it at once: the drop folder's wait for a file to settle
# (PKPI_SETTLE_SECONDS, 5 s by default) is off unless a test sets it (tests/test_intake_stall.py
# and the dashboard test in test_intake_server.py run with it).
os.environ.setdefault("PKPI_SETTLE_SECONDS", "0")


# --- The report texts ------------------------------------------------------------------------
# A clone of the repository alone has no report texts (PKPI_SEEDS, default ../shared/seeds).
# Tests that read them carry ``@pytest.mark.needs_texts`` and are skipped, each with its
# reason, when they are absent; where they are present (CI) every one runs. The header and
# the summary say which it was.

def _texts():
    from data import settings
    from data.curated import texts_found
    seeds = settings.seeds_dir()
    return seeds, texts_found(seeds)


def pytest_configure(config):
    config.addinivalue_line("markers", "needs_texts: reads the five report texts (PKPI_SEEDS)")


def pytest_report_header(config):
    seeds, found = _texts()
    if found:
        return f"report texts: found at {seeds.resolve()}, quote checks run"
    return (f"report texts: NOT found at {seeds} (PKPI_SEEDS): tests marked needs_texts are skipped, "
            f"the rest run")


def pytest_collection_modifyitems(config, items):
    seeds, found = _texts()
    needing = [item for item in items if item.get_closest_marker("needs_texts")]
    config._pkpi_texts = (seeds, found, len(needing))
    if found:
        return
    skip = pytest.mark.skip(reason=f"needs the report texts, not found at {seeds} (set PKPI_SEEDS)")
    for item in needing:
        item.add_marker(skip)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    seeds, found, n = getattr(config, "_pkpi_texts", (None, None, 0))
    if seeds is None:
        return
    if found:
        terminalreporter.write_line(f"report texts: found at {seeds.resolve()}; the {n} tests that "
                                    f"need them ran")
    else:
        terminalreporter.write_line(f"report texts: not found at {seeds}; {n} tests that need them "
                                    f"were skipped (set PKPI_SEEDS to run them)")


@pytest.fixture(scope="session")
def store(tmp_path_factory) -> Path:
    """The store built from the real curated files (quotes checked against the reports)."""
    from data.build import build
    path = tmp_path_factory.mktemp("store") / "pkpi.duckdb"
    build(path)
    return path


@pytest.fixture(scope="session")
def engine(store):
    from data.engine import reader
    return reader(store)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(home: Path, extra_env: dict | None = None,
                 cwd: Path = REPO) -> tuple[subprocess.Popen, str, Path]:
    port = free_port()
    env = {**os.environ, "PKPI_HOME": str(home), **(extra_env or {})}
    env.pop("PKPI_DB", None)
    for name, value in list(env.items()):  # None: unset (the default applies)
        if value is None:
            env.pop(name)
    log = home / "server.log"
    home.mkdir(parents=True, exist_ok=True)
    proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port)], cwd=cwd, env=env,
                            stdout=open(log, "w"), stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()}")
        try:
            urllib.request.urlopen(url + "/", timeout=2)
            return proc, url, log
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"server did not start: {log.read_text()}")


@pytest.fixture(scope="session")
def server(tmp_path_factory):
    """A real server started the way users start it; it builds its store on first run."""
    home = tmp_path_factory.mktemp("home")
    proc, url, log = start_server(home)
    yield url
    proc.terminate()
    proc.wait(timeout=10)


@pytest.fixture
def dropbox_home(tmp_path, store, monkeypatch) -> Path:
    """A private PKPI_HOME (a copy of the store, an empty inbox) for this test's process."""
    from tests.intake_helpers import use_home
    return use_home(tmp_path, store, monkeypatch)


@pytest.fixture(params=["duckdb", "postgresql"])
def any_dropbox_home(request, dropbox_home, monkeypatch) -> Path:
    """``dropbox_home`` whose drop folder files into a copy of the built store on each
    implementation: the home's DuckDB file, or a PostgreSQL database (PKPI_DATABASE_URL set
    to a ``pg_store``); ``tests.intake_helpers.store_of(home)`` names the one in use. The
    page caches are emptied around it: they are keyed by data version, and two tests' copies
    can reach the same version with different contents (another file's processing time)."""
    from callbacks import cache as answers
    from indicators import query

    if request.param == "postgresql":
        monkeypatch.setenv("PKPI_DATABASE_URL", request.getfixturevalue("pg_store"))
    query.clear_cache()
    answers.clear_all()
    yield dropbox_home
    query.clear_cache()
    answers.clear_all()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    # Playwright cannot download its own browsers here: use Debian's Chromium.
    return {**browser_type_launch_args, "executable_path": CHROMIUM,
            "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run"]}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    # Playwright evaluates a string predicate (wait_for_function) with eval, which the site's
    # Content-Security-Policy forbids, as it should. Browser tests run with the policy
    # bypassed; tests/test_security_headers.py drives the site under its policy, in a context
    # of its own that enforces it.
    return {**browser_context_args, "bypass_csp": True}


@pytest.fixture
def console_errors(page):
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


@pytest.fixture(scope="session")
def pg_url():
    """A throwaway PostgreSQL cluster for this session (tests/pgcluster.py): its libpq URL.
    Fails, with what to install, when PostgreSQL is missing: ./pkpi test installs it."""
    from tests.pgcluster import Cluster, PostgresMissing
    missing = None
    try:
        cluster = Cluster.start()
    except PostgresMissing as exc:
        missing = str(exc)
    if missing:  # outside the except: the message once, without a chained traceback
        pytest.fail(missing, pytrace=False)
    try:
        yield cluster.url
    finally:
        cluster.stop()


def pg_database_url(pg_url: str, name: str) -> str:
    """The URL of database ``name`` on the session's cluster."""
    assert pg_url.startswith("postgresql:///postgres?")
    return pg_url.replace("postgresql:///postgres?", f"postgresql:///{name}?", 1)


def pg_admin(pg_url: str, *statements: str) -> None:
    import psycopg
    with psycopg.connect(pg_url, autocommit=True) as conn:
        for sql in statements:
            conn.execute(sql)


@pytest.fixture(scope="session")
def pg_template(pg_url, tmp_path_factory):
    """A database holding the store built from the curated files on PostgreSQL, built once
    per session through data.build (quotes checked as the DuckDB ``store`` fixture's are);
    tests get copies of it (``pg_store``), never it."""
    from data.build import build
    from data.stores import postgres_store
    pg_admin(pg_url, "CREATE DATABASE pkpi_template TEMPLATE template0")
    url = pg_database_url(pg_url, "pkpi_template")
    build(url)
    postgres_store.dispose(url)  # a template may have no connections when it is copied
    return "pkpi_template"


_pg_databases = iter(range(1, 1_000_000))


@pytest.fixture
def pg_store(pg_url, pg_template):
    """The URL of a private copy (CREATE DATABASE ... TEMPLATE) of the curated PostgreSQL store."""
    from data.stores import postgres_store
    name = f"pkpi_t{os.getpid()}_{next(_pg_databases)}"
    pg_admin(pg_url, f"CREATE DATABASE {name} TEMPLATE {pg_template}")
    url = pg_database_url(pg_url, name)
    yield url
    postgres_store.dispose(url)
    pg_admin(pg_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def pg_empty(pg_url):
    """The URL of a new, empty database."""
    from data.stores import postgres_store
    name = f"pkpi_e{os.getpid()}_{next(_pg_databases)}"
    pg_admin(pg_url, f"CREATE DATABASE {name} TEMPLATE template0")
    url = pg_database_url(pg_url, name)
    yield url
    postgres_store.dispose(url)
    pg_admin(pg_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=["duckdb", "postgresql"])
def any_store(request, tmp_path):
    """A private copy of the built store on each implementation: a DuckDB file's path, or a
    PostgreSQL database's URL (the suite's own throwaway cluster)."""
    if request.param == "duckdb":
        import shutil
        path = tmp_path / "pkpi.duckdb"
        shutil.copyfile(request.getfixturevalue("store"), path)
        return path
    return request.getfixturevalue("pg_store")


def _serve(where, monkeypatch):
    """``where`` (a DuckDB file or a PostgreSQL URL) as the store the settings name, as a
    server finds it (``PKPI_DB`` or ``PKPI_DATABASE_URL``), with the caches empty around it."""
    from callbacks import cache as answers
    from data.stores import open_store
    from indicators import query

    if isinstance(where, Path):
        monkeypatch.setenv("PKPI_DB", str(where))
        monkeypatch.setenv("PKPI_DATABASE_URL", "")
    else:
        monkeypatch.setenv("PKPI_DATABASE_URL", where)
    query.clear_cache()
    answers.clear_all()
    yield open_store()
    query.clear_cache()
    answers.clear_all()


@pytest.fixture
def any_served(any_store, monkeypatch):
    """``any_store`` as the store the settings name: functions called without an engine read
    it, on DuckDB and on PostgreSQL. Yields the ``Store``. A test may change it."""
    yield from _serve(any_store, monkeypatch)


@pytest.fixture(scope="module", params=["duckdb", "postgresql"])
def any_store_read_only(request):
    """The built store on each implementation, shared by a module's tests, which only read it:
    the session's DuckDB file, or one copy of the PostgreSQL template per module (a copy per
    test costs about a second)."""
    if request.param == "duckdb":
        yield request.getfixturevalue("store")
        return
    from data.stores import postgres_store
    pg_url, template = request.getfixturevalue("pg_url"), request.getfixturevalue("pg_template")
    name = f"pkpi_r{os.getpid()}_{next(_pg_databases)}"
    pg_admin(pg_url, f"CREATE DATABASE {name} TEMPLATE {template}")
    url = pg_database_url(pg_url, name)
    try:
        yield url
    finally:
        postgres_store.dispose(url)
        pg_admin(pg_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def any_served_read_only(any_store_read_only, monkeypatch):
    """``any_served`` for a test that only reads (``any_store_read_only``): it must not change it."""
    yield from _serve(any_store_read_only, monkeypatch)
