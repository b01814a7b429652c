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
            "DuckDB store and, later, the spreadsheet drop folder. Git ignores `instance/`."),
    Setting("PKPI_DB", "",
            "Path of the DuckDB store. Empty means `$PKPI_HOME/pkpi.duckdb`."),
    Setting("PKPI_SEEDS", "../shared/seeds",
            "Folder with the five source report texts, used to check every curated quote "
            "(relative paths are taken from the repository root)."),
    Setting("PKPI_HOST", "127.0.0.1", "Address `python app.py` listens on (overridden by --host)."),
    Setting("PKPI_PORT", "8050", "Port `python app.py` listens on (overridden by --port)."),
    Setting("PKPI_DEBUG", "0", "Set to 1 to run Dash in debug mode (never in production)."),
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


def seeds_dir() -> Path:
    return _path(get("PKPI_SEEDS"))


CURATED_DIR = REPO / "data" / "curated"
