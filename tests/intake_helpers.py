"""Helpers for the drop-folder tests: a private PKPI_HOME holding a copy of the store built
from the curated files, and spreadsheets made with openpyxl the way staff make them."""
from __future__ import annotations

import hashlib
import os
import shutil
import sys
from pathlib import Path

import sqlalchemy as sa
from openpyxl import Workbook

import data.build  # noqa: F401  (defines the meta table)
from data import schema
from data.engine import make_engine
from data.intake import AREA_FIELDS, INDICATOR_FIELDS, OBSERVATION_FIELDS, SOURCE_FIELDS

REPO = Path(__file__).resolve().parent.parent
OBS_COLUMNS = [f.name for f in OBSERVATION_FIELDS]

# What the test files declare, so that they do not depend on the curated ids of the day.
SOURCE = {"source_id": "test-cpas-2024-03", "symbol": None, "cite_as": "CPAS export, March 2024",
          "title_en": "CPAS performance data export", "title_zh": "综合规划和绩效评估系统数据导出",
          "issuing_body": "Department of Peace Operations", "date": "2024-03", "url": None,
          "numbering": "rows of the export", "identification": "export file name"}
COUNT = {"indicator_id": "test_missions_reporting", "family": "cpas", "name_en": "Missions reporting in CPAS",
         "name_zh": "测试指标", "unit": "count", "definition": "Missions that reported CPAS data.",
         "chart": "bar", "break_note": None}
SHARE = {"indicator_id": "test_women_share", "family": "women", "name_en": "Women among test staff",
         "name_zh": "测试妇女比例", "unit": "percent", "definition": "Share of women, in percent.",
         "chart": "line", "break_note": None}


def obs(**changes) -> dict:
    """A correct observation row citing the declared source."""
    row = {"indicator_id": COUNT["indicator_id"], "area": "all_pko", "period": "2024-02",
           "period_label": "as of February 2024", "value": 12, "unit": "count", "qualifier": None,
           "obs_status": None, "stated_by": "Secretariat", "source_id": SOURCE["source_id"],
           "locator": "row 2", "quote": "12 个特派团通过系统报告了数据", "quote_en": "12 missions reported data",
           "value_text": None, "note": None, "revision": None}
    row.update(changes)
    return row


def workbook(path: Path, observations=(), sources=(SOURCE,), indicators=(COUNT, SHARE), areas=(),
             formats: dict | None = None) -> Path:
    """An .xlsx laid out as the template: Observations first, then the declaration sheets."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Observations"
    ws.append(OBS_COLUMNS)
    for r in observations:
        ws.append([r.get(c) for c in OBS_COLUMNS])
    for title, fields, rows in (("New sources", SOURCE_FIELDS, sources),
                                ("New indicators", INDICATOR_FIELDS, indicators),
                                ("New areas", AREA_FIELDS, areas)):
        if rows:
            sheet = wb.create_sheet(title)
            sheet.append([f.name for f in fields])
            for r in rows:
                sheet.append([r.get(f.name) for f in fields])
    for ref, fmt in (formats or {}).items():
        ws[ref].number_format = fmt
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)
    return path


def new_home(tmp_path: Path, store: Path) -> Path:
    """A PKPI_HOME with a copy of the store (built once per session by conftest's fixture)."""
    home = tmp_path / "home"
    (home / "dropbox" / "inbox").mkdir(parents=True)
    shutil.copyfile(store, home / "pkpi.duckdb")
    return home


def use_home(tmp_path: Path, store: Path, monkeypatch) -> Path:
    """A new PKPI_HOME (``new_home``) that the drop folder and the dashboard use."""
    home = new_home(tmp_path, store)
    monkeypatch.setenv("PKPI_HOME", str(home))
    for name in ("PKPI_DB", "PKPI_DROPBOX", "PKPI_WATCH"):
        monkeypatch.delenv(name, raising=False)
    return home


def env_for(home: Path, **extra) -> dict:
    env = {**os.environ, "PKPI_HOME": str(home), **{k: str(v) for k, v in extra.items()}}
    env.pop("PKPI_DB", None)
    env.pop("PKPI_DROPBOX", None)
    return env


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _connected(store):
    """A connection to ``store``: a DuckDB file (read-only) or a ``postgresql://`` URL."""
    from contextlib import contextmanager

    @contextmanager
    def connection():
        if isinstance(store, str) and store.startswith("postgres"):
            from data.stores.postgres_store import _engines_for
            with _engines_for(store)[0].connect() as conn:
                # The current version's served table first on the path, for this transaction
                # only (the connection goes back to the pool), as a reader has it.
                conn.execute(sa.text("SELECT set_config('search_path', served_schema || ', ' || "
                                     "current_setting('search_path'), true) FROM pkpi_versions "
                                     "WHERE served_schema IS NOT NULL ORDER BY seq DESC LIMIT 1"))
                yield conn
            return
        engine = make_engine(store, read_only=True)
        try:
            with engine.connect() as conn:
                yield conn
        finally:
            engine.dispose()
    return connection()


def data_dump(store: Path | str) -> dict:
    """Everything in the store except the record of processed files."""
    with _connected(store) as conn:
        out = {}
        for name in ("sources", "areas", "indicators", "figures", "observation_vintages", "meta"):
            table = schema.metadata.tables[name]
            key = list(table.primary_key.columns) or list(table.columns)
            out[name] = conn.execute(sa.select(table).order_by(*key)).all()
        return out


def query(store: Path | str, sql: str, **params) -> list:
    """The rows of ``sql`` on ``store``: a DuckDB file or a ``postgresql://`` URL."""
    with _connected(store) as conn:
        return conn.execute(sa.text(sql), params).all()


def store_of(home: Path) -> Path | str:
    """The store the drop folder of ``home`` files into: PKPI_DATABASE_URL when this test set
    it (a PostgreSQL test), else the home's DuckDB file."""
    return os.environ.get("PKPI_DATABASE_URL") or home / "pkpi.duckdb"


def wait_until(predicate, timeout: float, step: float = 0.3) -> bool:
    """True once ``predicate()`` is (polling), False if it is not within ``timeout`` seconds."""
    import time
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return predicate()


def folder(home: Path, name: str) -> list[str]:
    path = home / "dropbox" / name
    return sorted(p.name for p in path.iterdir()) if path.is_dir() else []


def manage(*args) -> list[str]:
    return [sys.executable, str(REPO / "manage.py"), *args]


def engine_of(home: Path):
    """The engine page reads are given for ``home``'s store: its DuckDB file's reader, or None
    on PostgreSQL (the store the settings name, PKPI_DATABASE_URL)."""
    from data.engine import reader
    store = store_of(home)
    return reader(store) if isinstance(store, Path) else None
