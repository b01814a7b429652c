"""Every setting the project reads, in one table.

Each setting is an environment variable named ``PKPI_*``; the default applies when it is
unset. ``tests/test_settings.py`` fails when a setting here is missing from the README, so
the table and the documentation cannot drift apart.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Setting:
    name: str
    default: str
    help: str


SETTINGS: tuple[Setting, ...] = (
    Setting("PKPI_HOME", "instance",
            "Runtime folder (relative paths are taken from the repository root): holds the "
            "DuckDB store, its writer lock and the spreadsheet drop folder. Git ignores `instance/`."),
    Setting("PKPI_DB", "",
            "Path of the DuckDB store. Empty means `$PKPI_HOME/pkpi.duckdb`."),
    Setting("PKPI_DATABASE_URL", "",
            "Empty: the store is the DuckDB file (`PKPI_DB`). `postgresql://user@host/db` (any libpq URL; "
            "TCP keepalives are added unless it sets them): the store is that PostgreSQL database, "
            "shared by every machine that names it (see \"Deployment: two servers and one watcher on PostgreSQL\")."),
    Setting("PKPI_SEEDS", "../shared/seeds",
            "Folder with the five source report texts, used to check every curated quote "
            "(relative paths are taken from the repository root)."),
    Setting("PKPI_HOST", "127.0.0.1", "Address `python app.py` listens on (overridden by --host)."),
    Setting("PKPI_PORT", "8050", "Port `python app.py` listens on (overridden by --port)."),
    Setting("PKPI_DEBUG", "0", "Set to 1 to run Dash in debug mode (never in production)."),
    Setting("PKPI_CHROMIUM", "/usr/bin/chromium",
            "Chromium that prints the briefing note to PDF on the server (Debian's chromium package)."),
    Setting("PKPI_PDF_SECONDS", "25",
            "Longest a briefing-note PDF request may take, in seconds, including the wait for this "
            "process's one Chromium; past it the request answers 503. Keep it below gunicorn's "
            "worker timeout (120 s in gunicorn.conf.py, 30 s without it), so a slow PDF is answered "
            "rather than killed."),
    Setting("PKPI_DROPBOX", "",
            "The spreadsheet drop folder (with `inbox/`, `accepted/`, `rejected/`). Empty means "
            "`$PKPI_HOME/dropbox`. It may be a network share; the store itself should stay on a "
            "local disk."),
    Setting("PKPI_MAX_FILE_MB", "20",
            "Largest spreadsheet the drop folder reads, in megabytes. An .xlsx whose contents "
            "would expand to more than 25 times this when opened is refused too."),
    Setting("PKPI_MAX_ROWS", "100000",
            "Most rows (values and declarations, all sheets together) one dropped file may hold."),
    Setting("PKPI_MAX_COLUMNS", "100",
            "Farthest column a sheet of a dropped .xlsx may reach (100 is column CV). A sheet with a "
            "cell beyond this column, or below row PKPI_MAX_ROWS + 1, is refused before it is read: "
            "a reader lays a sheet out from A1 to its farthest cell, so one cell far out costs "
            "gigabytes."),
    Setting("PKPI_READER_MEMORY_MB", "4096",
            "Address space, in megabytes, of the process that reads and files one dropped file (each "
            "file is read in a process of its own, never in the server's; the program itself reserves "
            "about 1.5 GB of it before reading). A file that needs more is rejected, saying so."),
    Setting("PKPI_READER_SECONDS", "300",
            "Processor time, in seconds, that reading and filing one dropped file may take (waiting "
            "for another writer is not counted; a reader still busy after twice this plus a minute "
            "on the clock is stopped too). A file that takes longer is rejected, saying so."),
    Setting("PKPI_WATCH", "1",
            "The dashboard (`./pkpi run`, `python app.py`, every gunicorn worker) reads the drop "
            "folder's inbox by itself: one process at a time watches, the others stand by. Set to 0 "
            "to turn this off; files then wait until `python manage.py ingest` files them."),
    Setting("PKPI_ANSWER_CACHE", "128",
            "Page answers (a family page's charts, the Data page's table) each server worker keeps "
            "per data version and callback, least recently used out first (a large family page's "
            "answer holds about 1 MB); emptied when a build or an intake changes the data. "
            "0 turns the cache off."),
    Setting("PKPI_STAFF_NETWORKS", "127.0.0.0/8,::1",
            "Address ranges of the staff who drop files (comma-separated, e.g. `10.20.0.0/16,"
            "192.168.1.20`). Only requests from these see the Updates page's inbox folder, the "
            "names of the files waiting in it or refused, what a refused file held, and the "
            "process reading it, and may download withdrawal requests; everyone else sees counts "
            "and the accepted values with their citations."),
    Setting("PKPI_TRUSTED_PROXIES", "",
            "Address ranges of reverse proxies whose `X-Forwarded-For` (or `Forwarded`, "
            "`X-Real-IP`) header names the client. Empty: a forwarded request is never staff, "
            "since behind a proxy every request seems to come from the proxy's address."),
    Setting("PKPI_POLL_SECONDS", "2",
            "How often the watcher looks at the inbox, in seconds. A file is read once it has "
            "not changed between two looks and for PKPI_SETTLE_SECONDS."),
    Setting("PKPI_SETTLE_SECONDS", "5",
            "A file in the inbox is read only once it has not changed for this many seconds (and no "
            "program on this machine has it open for writing), so that a copy that pauses is not "
            "read half-written. Writers on other machines of a network share are covered by this "
            "wait alone: raise it for slow shares. 0 reads a file at the second look."),
)
_BY_NAME = {s.name: s for s in SETTINGS}


def get(name: str) -> str:
    """The value of a setting: the environment if set, else its default."""
    if name not in _BY_NAME:
        raise KeyError(f"unknown setting {name!r}; known: {', '.join(_BY_NAME)}")
    return os.environ.get(name, _BY_NAME[name].default)


def _path(value: str) -> Path:
    p = Path(value).expanduser()
    return p if p.is_absolute() else (REPO / p)


def home() -> Path:
    return _path(get("PKPI_HOME"))


def db_path() -> Path:
    explicit = get("PKPI_DB")
    return _path(explicit) if explicit else home() / "pkpi.duckdb"


def database_url() -> str:
    """The PostgreSQL store's URL, or "" for the DuckDB file."""
    url = get("PKPI_DATABASE_URL").strip()
    if url and url.split(":", 1)[0].split("+", 1)[0] not in ("postgresql", "postgres"):
        raise ValueError(f"setting PKPI_DATABASE_URL must be empty or start with postgresql:// "
                         f"(got {url.split(':', 1)[0]!r}...)")
    return url


def seeds_dir() -> Path:
    return _path(get("PKPI_SEEDS"))


def dropbox_dir() -> Path:
    explicit = get("PKPI_DROPBOX")
    return _path(explicit) if explicit else home() / "dropbox"


def _number(name: str, kind=float):
    text = get(name)
    try:
        value = kind(text)
    except ValueError:
        raise ValueError(f"setting {name}={text!r} is not a number") from None
    if value <= 0:
        raise ValueError(f"setting {name}={text!r} must be greater than 0")
    return value


def max_file_bytes() -> int:
    return int(_number("PKPI_MAX_FILE_MB") * 1024 * 1024)


def max_rows() -> int:
    return _number("PKPI_MAX_ROWS", int)


def max_columns() -> int:
    return _number("PKPI_MAX_COLUMNS", int)


def reader_memory_bytes() -> int:
    return int(_number("PKPI_READER_MEMORY_MB") * 1024 * 1024)


def reader_seconds() -> float:
    return _number("PKPI_READER_SECONDS")


def watch_enabled() -> bool:
    return get("PKPI_WATCH").strip().lower() in ("1", "true", "yes", "on")


def poll_seconds() -> float:
    return _number("PKPI_POLL_SECONDS")


def settle_seconds() -> float:
    text = get("PKPI_SETTLE_SECONDS")
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"setting PKPI_SETTLE_SECONDS={text!r} is not a number") from None
    if not value >= 0:
        raise ValueError(f"setting PKPI_SETTLE_SECONDS={text!r} must be 0 or more")
    return value


CURATED_DIR = REPO / "data" / "curated"
