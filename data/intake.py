"""Check a dropped spreadsheet against the store, and apply it in one transaction.

The checks are those of the curated files (``data.curated``), applied to cells a person
typed in Excel: every problem in the file is collected, in the manner of Frictionless'
typed errors (``missing-label``, ``type-error``, ``constraint-error``, ...), each naming
sheet, row, column and cell and saying in plain words what to do. A file with any problem
is not applied at all.

What a file may hold (the template, ``data.template``, has one sheet for each):

- ``Observations``: one value per row, with its citation (source, locator, quote);
- ``New sources``, ``New indicators``, ``New areas``: declarations, with the same
  metadata as the curated ones, for values whose report, indicator or scope is new.

A value for an (indicator, area, period) already published is, when it differs, a
revision: accepted only when the row says so (``revision`` = yes) or when its source is a
newer report than the published value's; both vintages are kept. An identical value from
the same source changes nothing (so a corrected file can be dropped again whole).

A CPAS export can hold 100,000 values, and the store a million, so nothing here costs a
Python object per value of the store, nor much per row of the file: the values published
are looked up in DuckDB for the keys a batch of rows names (``Published``); the plain rows
of the Observations sheet are read column by column (``_FastColumns``), every other row
cell by cell, with the same rules and messages (``tests/test_intake_fast.py`` checks that
both ways agree); the values to add are kept as Arrow columns and written by DuckDB.
"""
from __future__ import annotations

import difflib
import gc
import math
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Callable, NamedTuple

import sqlalchemy as sa

from data import schema
from data.numbers import NumberError, parse_number, same_number
from data.periods import PeriodError, fiscal_year, period_bounds, span
from data.sheets import Cell, FormatError, Sheet, as_cell, column_letter, to_cells
from indicators import vocabulary as vocab

MAX_LISTED_ERRORS = 1000  # as Frictionless' default limit: beyond it, only counted
OBSERVATION_BATCH = 20_000  # rows of the Observations sheet checked together (see _observation_rows)


@dataclass(frozen=True)
class IntakeError:
    """One problem, located as a person finds it in Excel (sheet, row, column, cell)."""
    code: str
    sheet: str
    row: int | None
    column: str
    cell: str
    value: str
    message: str

    def where(self) -> str:
        parts = [f"sheet {self.sheet}"] if self.sheet else []
        if self.row:
            parts.append(f"row {self.row}")
        if self.column:
            parts.append(f"column {self.column}" + (f" ({self.cell})" if self.cell else ""))
        text = ", ".join(parts) or "the file"
        return text[0].upper() + text[1:]

    def __str__(self) -> str:
        return f"{self.where()}: {self.message}" if (self.sheet or self.row or self.column) else self.message


@dataclass(frozen=True)
class Field:
    name: str
    required: bool
    help: str


OBSERVATION_FIELDS = (
    Field("indicator_id", True, "The indicator, from the list (or declared on the New indicators sheet)."),
    Field("area", True, "all_pko for all peacekeeping operations, or a mission's acronym (MINUSMA, ...), from the list."),
    Field("period", True, "2023 (a year), 2023-05 (a month), 2023-06-30 (a day), 2023-01/2023-08 "
                          "(January to August) or 2022/23 (a fiscal year, July to June). Type it as text."),
    Field("period_label", False, "The period as the report words it, in English: 'as of May 2023'. "
                                 "Empty: the period itself."),
    Field("value", True, "The number alone, with a point for decimals and no separators: 25.6, 1067. "
                         "A percentage as 25.6 (or 25.6 % in a cell formatted as a percentage)."),
    Field("unit", True, "The indicator's unit, from the list (count, percent, ...): a check that the "
                        "value is what you mean."),
    Field("qualifier", False, "exact (empty means exact), more_than, at_least, nearly, about, less_than or at_most."),
    Field("obs_status", False, "normal (empty means normal), estimated, provisional or break."),
    Field("stated_by", True, "Secretariat; Member State: <country>; Security Council; Working Group; or <body>: <who>."),
    Field("source_id", True, "The report, from the list (or declared on the New sources sheet)."),
    Field("locator", True, "Where in the report: para 44, footnote 7, annex para 12, table 2 ..."),
    Field("quote", True, "The sentence that states the value, copied exactly from the report (one line)."),
    Field("quote_en", False, "An English rendering of the quote."),
    Field("value_text", False, "The exact characters of the quote that state the value (8.8 万, 25.6%): "
                               "checked against the value."),
    Field("note", False, "Anything a reader needs: what is counted, differences of definition."),
    Field("revision", False, "yes when this value corrects one already published for the same "
                             "indicator, area and period; otherwise leave empty."),
)
SOURCE_FIELDS = (
    Field("source_id", True, "A short new id: lower-case letters, digits, - and . (e.g. s-2024-123)."),
    Field("symbol", False, "The UN document symbol (S/2024/123), when confirmed."),
    Field("cite_as", True, "How a citation names the report: the symbol, or a short title and date."),
    Field("title_en", True, "Title in English."),
    Field("title_zh", False, "Title in Chinese, as the report gives it."),
    Field("issuing_body", True, "Who issued it: Secretary-General, a CPAS export, ..."),
    Field("date", True, "Date of the report: 2024-03-05, 2024-03 or 2024 (as precisely as known)."),
    Field("url", False, "Link to the document (https://...)."),
    Field("numbering", False, "What a locator refers to (paragraphs 1-80; rows of the export)."),
    Field("identification", False, "How the symbol and date were established."),
)
INDICATOR_FIELDS = (
    Field("indicator_id", True, "A short new id: lower-case letters, digits and _ (e.g. cpas_missions_reporting)."),
    Field("family", True, "One of: " + ", ".join(vocab.FAMILIES) + "."),
    Field("name_en", True, "Name in English."),
    Field("name_zh", False, "Name in Chinese."),
    Field("unit", True, "One of the units on the Lists sheet."),
    Field("definition", True, "What is counted or measured, in English."),
    Field("chart", False, "line (empty means line) or bar."),
    Field("break_note", False, "Related series defined differently, if any."),
)
AREA_FIELDS = (
    Field("area_id", True, "A short new id: a mission's English acronym, or a word such as west_africa."),
    Field("name_en", True, "Name in English."),
    Field("name_zh", False, "Name in Chinese."),
    Field("kind", True, "One of: " + ", ".join(vocab.AREA_KINDS) + "."),
)
SHEETS = {"Observations": OBSERVATION_FIELDS, "New sources": SOURCE_FIELDS,
          "New indicators": INDICATOR_FIELDS, "New areas": AREA_FIELDS}
IGNORED_SHEETS = ("Instructions", "Lists")  # the template's own help sheets

# A tag (<script>, </b>, <img src=...>, <!-- -->) or a javascript: link; "a < b > c" is not one.
_MARKUP = re.compile(r"<(/?[A-Za-z][A-Za-z0-9-]*(\s[^<>]*)?/?|!--.*?--)>|javascript\s*:", re.IGNORECASE)
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)$")
_PERCENT_TEXT = re.compile(r"^([+-]?(\d+\.?\d*|\.\d+))\s*%$")
_IDS = {"source_id": re.compile(r"^[a-z0-9][a-z0-9._-]{0,79}$"),
        "indicator_id": re.compile(r"^[a-z][a-z0-9_]{1,79}$"),
        "area_id": re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")}
_YES = {"yes", "y", "true", "1", "x", "是"}
_NO = {"no", "n", "false", "0", "否"}
_PERCENT_UNITS = ("percent", "percentage_points")


# Columns of the export contract (indicators.query.EXPORT_COLUMNS) that repeat what the store
# already says about an indicator, period or source. An exported file may come back with
# them: they are read only to check that they still agree with the store, never to change it.
EXPORT_DERIVED = ("indicator_name", "family", "period_start", "period_end", "source_symbol",
                  "source_title", "source_date")


def unguard(text: str) -> str:
    """Undo the export's formula guard (data.export.safe_text): ``'=x`` is the text ``=x``."""
    if text[:1] != "'":
        return text
    # imported here: data.export brings pandas (a third of a second), which filing a
    # spreadsheet does not otherwise need
    from data.export import FORMULA_START
    return text[1:] if text[1:2].startswith(FORMULA_START) and text[1:2] else text


def normalise_label(text) -> str:
    return re.sub(r"[\s\-]+", "_", str(text or "").strip().strip("*").strip().lower())


# --- What the store holds -------------------------------------------------------------------

# What a check needs of the value already published for an (indicator, area, period).
PUBLISHED_COLUMNS = ("obs_id", "indicator_id", "area", "period", "period_label", "value", "qualifier",
                     "source_id", "locator", "quote", "vintage")


class Published:
    """The latest vintage published for each (indicator, area, period) a file names.

    Looked up in DuckDB for a batch of keys at a time (a join with the file's keys), never
    loaded whole: a store of a million values would otherwise be read into Python objects
    (gigabytes) for every file dropped."""

    def __init__(self, conn):
        self._conn = conn
        self.known: dict[tuple[str, str, str], dict | None] = {}  # None: nothing published

    def fetch(self, keys) -> None:
        """Look up every key not looked up yet, in one query."""
        wanted = [k for k in dict.fromkeys(keys) if k not in self.known]
        if not wanted:
            return
        names = ("indicator_id", "area", "period")
        table = {n: _column([k[i] for k in wanted], "string") for i, n in enumerate(names)}
        raw = _duckdb(self._conn)
        raw.register("pkpi_intake_keys", table)
        try:
            cols = ", ".join(f'o."{c}"' for c in PUBLISHED_COLUMNS)
            found = raw.execute(
                f"SELECT {cols} FROM observations o JOIN pkpi_intake_keys k ON o.indicator_id = k.indicator_id "
                f"AND o.area = k.area AND o.period = k.period").fetchall()
        finally:
            raw.unregister("pkpi_intake_keys")
        for k in wanted:
            self.known[k] = None
        for r in found:
            rec = dict(zip(PUBLISHED_COLUMNS, r))
            self.known[(rec["indicator_id"], rec["area"], rec["period"])] = rec

    def get(self, key: tuple[str, str, str]) -> dict | None:
        if key not in self.known:
            self.fetch([key])
        return self.known[key]


def _column(values: list, kind: str):
    """A column DuckDB reads as it is (a NumPy array: Arrow would import pandas, a third of
    a second). Text as Python objects (None is NULL); ids and counts as int64, -1 for none."""
    import numpy as np

    if kind == "string":
        return np.array(values, dtype=object)
    if kind == "float64":
        return np.array(values, dtype=np.float64)
    return np.array([-1 if v is None else v for v in values], dtype=np.int64)


def _duckdb(conn):
    """The DuckDB connection under a SQLAlchemy connection (same transaction)."""
    raw = conn.connection.driver_connection
    raw.execute("SET enable_progress_bar = false")
    return raw


@dataclass
class StoreState:
    indicators: dict[str, dict]
    areas: dict[str, dict]
    sources: dict[str, dict]
    latest: Published  # (indicator, area, period) -> latest vintage, looked up as needed
    next_obs_id: int
    next_intake_id: int

    @classmethod
    def load(cls, conn) -> "StoreState":
        def rows(table, key):
            return {r[key]: dict(r) for r in conn.execute(sa.select(table)).mappings()}

        next_obs = conn.execute(sa.select(sa.func.coalesce(sa.func.max(schema.observation_vintages.c.obs_id), 0))).scalar()
        next_intake = conn.execute(sa.select(sa.func.coalesce(sa.func.max(schema.intake_files.c.intake_id), 0))).scalar()
        return cls(rows(schema.indicators, "indicator_id"), rows(schema.areas, "area_id"),
                   rows(schema.sources, "source_id"), Published(conn), next_obs + 1, next_intake + 1)


# --- The checks ----------------------------------------------------------------------------

# One value the file adds (or restates, or revises), as ``apply`` writes it; ``_before_*``
# name the vintage it replaces.
RECORD_FIELDS = ("indicator_id", "area", "period", "period_label", "value", "value_text", "qualifier",
                 "obs_status", "stated_by", "source_id", "locator", "quote", "quote_en", "note",
                 "origin_line", "_sheet", "_action", "_before_obs_id", "_before_vintage")
_RECORD_TYPES = ("string", "string", "string", "string", "float64", "string", "string", "string", "string",
                 "string", "string", "string", "string", "string", "int64", "string", "string", "int64",
                 "int64")


class Records:
    """The values a file would add, kept as columns (NumPy arrays, a batch at a time), not
    as one Python object per value. Iterating gives each as a dict, as before."""

    BATCH = 20_000

    def __init__(self):
        self._rows: list[tuple] = []
        self._chunks: list[dict] = []
        self._count = 0
        self.revised = 0

    def append(self, rec: tuple) -> None:
        self.extend((rec,))

    def extend(self, recs) -> None:
        """Add records (tuples in the order of RECORD_FIELDS), in the file's order."""
        for rec in recs:
            self._rows.append(rec)
            self._count += 1
            if rec[16] == "revised":
                self.revised += 1
        if len(self._rows) >= self.BATCH:
            self._flush()

    def add_columns(self, *columns) -> None:
        """Add new values given column by column (RECORD_FIELDS up to _action; the sheet and
        the action once for all)."""
        n = len(columns[0])
        sheet, action = columns[-2:]
        self._chunks.append(self._arrays([*columns[:-2], [sheet] * n, [action] * n, [None] * n, [None] * n]))
        self._count += n
        if action == "revised":
            self.revised += n

    @staticmethod
    def _arrays(columns) -> dict:
        return {name: _column(list(c), kind) for name, c, kind in zip(RECORD_FIELDS, columns, _RECORD_TYPES)}

    def _flush(self) -> None:
        if self._rows:
            self._chunks.append(self._arrays(zip(*self._rows)))
            self._rows = []

    def columns(self) -> dict | None:
        """Every record in the file's order, column by column (None when there is none). One
        sheet holds the values, so its row number orders them."""
        import numpy as np

        self._flush()
        if not self._chunks:
            return None
        if len(self._chunks) > 1:
            merged = {name: np.concatenate([c[name] for c in self._chunks]) for name in RECORD_FIELDS}
            order = np.argsort(merged["origin_line"], kind="stable")
            self._chunks = [{name: a[order] for name, a in merged.items()}]
        return self._chunks[0]

    def __len__(self) -> int:
        return self._count

    def __iter__(self):
        columns = self.columns()
        if columns is None:
            return iter([])
        lists = [columns[name].tolist() for name in RECORD_FIELDS]
        for name, kind, values in zip(RECORD_FIELDS, _RECORD_TYPES, lists):
            if kind == "int64":
                values[:] = [None if v == -1 else v for v in values]
        return (dict(zip(RECORD_FIELDS, row)) for row in zip(*lists))


@dataclass
class Plan:
    """What a file would change, or why it cannot be applied."""
    rows_read: int = 0
    observations: Records = field(default_factory=Records)  # new values and revisions
    unchanged: int = 0
    sources: list[dict] = field(default_factory=list)
    areas: list[dict] = field(default_factory=list)
    indicators: list[dict] = field(default_factory=list)
    errors: list[IntakeError] = field(default_factory=list)
    error_count: int = 0

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    @property
    def declared(self) -> int:
        return len(self.sources) + len(self.areas) + len(self.indicators)

    @property
    def revised(self) -> int:
        return self.observations.revised


class _Row:
    """One row of a sheet, its cells addressed by column name."""

    def __init__(self, number: int, cells: list[Cell], columns: dict[str, int]):
        self.number, self.cells, self.columns = number, cells, columns

    def cell(self, name: str) -> Cell:
        idx = self.columns.get(name)
        if idx is None or idx >= len(self.cells):
            ref = f"{column_letter(idx + 1)}{self.number}" if idx is not None else ""
            return Cell(None, "empty", ref)
        return self.cells[idx]


class Checker:
    def __init__(self, state: StoreState, seeds: Path | None, max_rows: int,
                 progress: Callable[[int], None] | None = None):
        self.state = state
        self.seeds = seeds
        self.max_rows = max_rows
        self.progress = progress
        self.plan = Plan()
        self._seed_texts: dict[str, str | None] = {}
        self._sheet = ""
        self._rows_counted = 0
        self._held: list[IntakeError] | None = None  # errors of a row checked ahead of its turn

    # -- errors
    def error(self, code: str, message: str, row: int | None = None, column: str = "",
              cell: str = "", value="") -> None:
        if self._held is not None:
            self._held.append(IntakeError(code, self._sheet, row, column, cell,
                                          "" if value is None else str(value), message))
            return
        self.plan.error_count += 1
        if len(self.plan.errors) < MAX_LISTED_ERRORS:
            shown = "" if value is None else str(value)
            self.plan.errors.append(IntakeError(code, self._sheet, row, column, cell, shown, message))

    def _release(self, held: list[IntakeError]) -> None:
        """Record errors held back, in the order the file's rows give them."""
        for e in held:
            self.plan.error_count += 1
            if len(self.plan.errors) < MAX_LISTED_ERRORS:
                self.plan.errors.append(e)

    def _cell_error(self, code: str, row: _Row, name: str, cell: Cell, message: str) -> None:
        self.error(code, message, row.number, name, cell.ref, _shown(cell))

    # -- the file
    def check(self, sheets: list[Sheet], csv_file: bool) -> Plan:
        # Reading a large sheet makes millions of small objects that hold no reference cycle;
        # Python's cycle collector would walk all of them again and again (a fifth of the time).
        collecting = gc.isenabled()
        gc.disable()
        try:
            return self._check(sheets, csv_file)
        finally:
            if collecting:
                gc.enable()

    def _check(self, sheets: list[Sheet], csv_file: bool) -> Plan:
        by_role: dict[str, Sheet] = {}
        unknown: list[Sheet] = []
        for sheet in sheets:
            self._sheet = sheet.name
            role = next((r for r in (*SHEETS, *IGNORED_SHEETS) if normalise_label(r) == normalise_label(sheet.name)), None)
            if csv_file:
                role = "Observations"
            if sheet.hidden and role not in IGNORED_SHEETS:
                self.error("hidden-sheet",
                           f"The sheet '{sheet.name}' is hidden. Hidden sheets are not read, so what is on "
                           f"it would be lost: unhide it (right-click a sheet tab > Unhide) and move its "
                           f"rows to the Observations sheet, or delete it.")
                continue
            if role in IGNORED_SHEETS:
                continue
            if role is None:
                unknown.append(sheet)
            else:
                by_role[role] = sheet
        if "Observations" not in by_role and len(unknown) == 1 and not any(r in by_role for r in SHEETS):
            by_role["Observations"] = unknown.pop()  # a plain one-sheet workbook
        for sheet in unknown:
            self._sheet = sheet.name
            if _has_content(sheet):
                self.error("unknown-sheet",
                           f"The sheet '{sheet.name}' is not one the drop folder reads (Observations, "
                           f"New sources, New indicators, New areas). Move its rows to the right sheet, "
                           f"or delete it.")
        if not any(r in by_role for r in SHEETS):
            self._sheet = ""
            self.error("missing-sheet", "The workbook has no sheet named Observations. Use the template, "
                                        "or name the sheet that holds the values Observations.")
            return self.plan
        # Declarations first: the values may refer to them.
        for role, handler in (("New sources", self._source), ("New areas", self._area),
                              ("New indicators", self._indicator), ("Observations", None)):
            if role in by_role:
                self._read_sheet(by_role[role], SHEETS[role], handler, csv_file)
        self._sheet = ""
        order = {s.name: n for n, s in enumerate(sheets)}
        self.plan.errors.sort(key=lambda e: (order.get(e.sheet, -1), e.row or 0, _col(e.cell) if e.cell else 10**6))
        return self.plan

    def _read_sheet(self, sheet: Sheet, fields, handler, csv_file: bool) -> None:
        self._sheet = sheet.name
        merged_header, covered = self._merged(sheet)
        raw = sheet.raw_rows()
        header, columns, body_start = self._header(((n, to_cells(v, n)) for n, v in raw), fields, merged_header)
        if columns is None:
            return
        width = len(header)
        if fields is OBSERVATION_FIELDS:
            self._observation_rows(raw, columns, width, covered)
            return
        seen_keys: dict = {}
        for number, values in raw:
            if _blank(values):
                continue
            if not self._count(number):
                return
            cells = to_cells(values, number)
            row = _Row(number, cells, columns)
            handler(row, self._usable(row, fields, columns, width, covered), seen_keys)

    def _count(self, number: int) -> bool:
        """Count a row that is not empty; False (and the error) beyond the most a file may hold."""
        self._rows_counted += 1
        self.plan.rows_read += 1
        if self._rows_counted > self.max_rows:
            self.error("too-many-rows",
                       f"The file has more than {self.max_rows:,} rows, the most one file may hold. "
                       f"Split it into several files.", number)
            return False
        if self.progress and self._rows_counted % 5000 == 0:
            self.progress(self._rows_counted)
        return True

    def _usable(self, row: _Row, fields, columns: dict[str, int], width: int, covered: set[str]) -> dict:
        """The row's cells by field, each reported if it cannot be read at all (a formula, an
        error, markup, a required cell left empty); the others are checked by the handler."""
        number, cells = row.number, row.cells
        for extra in cells[width:]:
            if extra.kind != "empty":
                self.error("extra-cell", f"This cell is beyond the last named column. Delete it, or "
                                         f"give its column a name from the template.",
                           number, column_letter(_col(extra.ref)), extra.ref, _shown(extra))
        usable = {}
        for f in fields:
            if f.name not in columns:
                continue  # a missing column is reported once, on row 1
            cell = row.cell(f.name)
            if cell.ref in covered:
                continue  # reported once as a merged range
            if cell.kind == "formula":
                self._cell_error("formula-cell", row, f.name, cell,
                                 f"This cell holds a formula ({cell.value}). Only typed values are read: "
                                 f"copy the column and paste it back with Paste Special > Values.")
            elif cell.kind == "error":
                self._cell_error("type-error", row, f.name, cell,
                                 f"This cell shows the Excel error {cell.value}. Type the value itself.")
            elif cell.kind == "text" and _MARKUP.search(cell.value):
                self._cell_error("markup-in-text", row, f.name, cell,
                                 "This text contains HTML or script (<...>). Cells are plain text: "
                                 "remove the tags.")
            else:
                if cell.kind == "empty" and f.required:
                    self._cell_error("missing-cell", row, f.name, cell,
                                     f"This cell is empty, and {f.name} is required. {f.help}")
                usable[f.name] = cell
        if fields is OBSERVATION_FIELDS:  # an exported file's descriptive columns, to compare
            usable.update({name: row.cell(name) for name in EXPORT_DERIVED if name in columns})
        return usable

    # -- the Observations sheet, a batch of rows at a time
    def _observation_rows(self, raw, columns: dict[str, int], width: int, covered: set[str]) -> None:
        """Check the values. Rows are taken a batch at a time: the plain ones (text and
        numbers that need no message) are read column by column (``_FastColumns``), the
        others cell by cell as the template's other sheets are; then the values already
        published for the whole batch are looked up at once, and each row is finished in its
        turn, its errors recorded in the order of the rows."""
        covered_rows = {int(ref.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")) for ref in covered}
        fast = _FastColumns.make(self, columns, width) if self._fast_ok(columns) else None
        seen: dict = {}
        batch: list[tuple[int, list]] = []
        stop = None
        counted = self._rows_counted  # before the batch
        for number, values in raw:
            first = values[0] if values else None
            if not (type(first) is str and first and not first.isspace()) and _blank(values):
                continue
            self._rows_counted += 1
            self.plan.rows_read += 1
            if self._rows_counted > self.max_rows:
                stop = number
                break
            batch.append((number, values))
            if len(batch) >= OBSERVATION_BATCH:
                self._observation_batch(batch, columns, width, covered, covered_rows, fast, seen, counted)
                counted += len(batch)
                batch = []
        self._observation_batch(batch, columns, width, covered, covered_rows, fast, seen, counted)
        if stop is not None:
            self.error("too-many-rows",
                       f"The file has more than {self.max_rows:,} rows, the most one file may hold. "
                       f"Split it into several files.", stop)

    def _fast_ok(self, columns: dict[str, int]) -> bool:
        """Whether rows can be read column by column: every required column is there, and
        none of an exported file's descriptive columns (checked row by row)."""
        return (all(f.name in columns for f in OBSERVATION_FIELDS if f.required)
                and not any(name in columns for name in EXPORT_DERIVED))

    def _observation_batch(self, batch, columns, width, covered, covered_rows, fast, seen, counted) -> None:
        if not batch:
            return
        n = len(batch)
        plain = fast.parse(batch, covered_rows) if fast is not None else None
        ok = plain.ok if plain is not None else [False] * n
        parsed: dict[int, _Parsed] = {}  # rows checked cell by cell (and plain rows with more to check)
        held: dict[int, list[IntakeError]] = {}  # their errors, recorded in the rows' order below
        for i, (number, values) in enumerate(batch):
            if ok[i]:
                continue
            self._held = held[i] = []
            try:
                row = _Row(number, to_cells(values, number), columns)
                p = self._parse_observation(row, self._usable(row, OBSERVATION_FIELDS, columns, width, covered))
            finally:
                self._held = None
            if p is not None:
                parsed[i] = p
        # The values already published for the batch's keys, in one query.
        keys = list(zip(plain.columns[0], plain.columns[1], plain.columns[2])) if plain is not None else [None] * n
        for i, p in parsed.items():
            keys[i] = p[:3]
        published = self.state.latest
        published.fetch([keys[i] for i in range(n) if ok[i] or i in parsed])
        # A new value (nothing published, not marked a revision, its key given once) needs no
        # more than to be recorded: for plain rows that is done column by column; any other
        # row is finished in its turn, in the rows' order, with its errors.
        hot: list[int] = []
        if plain is not None:
            known = published.known
            candidates = [k for k, o in zip(keys, ok) if o] + [keys[i] for i in parsed]
            repeated = {k for k, count in Counter(candidates).items() if count > 1}
            revision = plain.columns[15]
            hot = [i for i, (o, k) in enumerate(zip(ok, keys))
                   if o and not revision[i] and known[k] is None and k not in repeated and k not in seen]
            self._record_new(batch, plain, hot, seen)
        hot_rows = set(hot)
        for i in sorted({*held, *parsed, *(i for i in range(n) if ok[i] and i not in hot_rows)}):
            if i in held:
                self._release(held[i])
            p = parsed.get(i) or (plain.parsed(i) if ok[i] else None)
            if p is not None:
                number, values = batch[i]
                self._finish_observation(number, values, columns, p, seen)
        if self.progress:
            for done in range((counted // 5000 + 1) * 5000, counted + n + 1, 5000):
                self.progress(done)

    def _record_new(self, batch, plain: "_FastBatch", rows: list[int], seen: dict) -> None:
        """Record plain rows that add a new value, as _finish_observation would, column by column."""
        if not rows:
            return
        (ind, area, period, label, given_label, value, value_text, qualifier, status, by, source, locator, quote,
         quote_en, note, _) = ([c[i] for i in rows] for c in plain.columns)
        numbers = [batch[i][0] for i in rows]
        seen.update(zip(zip(ind, area, period), zip(numbers, value, qualifier)))
        self.plan.observations.add_columns(
            ind, area, period, [g or p for g, p in zip(given_label, label)], value, value_text, qualifier, status,
            by, source, locator, quote, [e or "" for e in quote_en], note, numbers, self._sheet, "new")

    def _merged(self, sheet: Sheet) -> tuple[set[str], set[str]]:
        """Report merged ranges; return the header cells and all other cells they cover."""
        header_refs, covered = set(), set()
        for rng in sheet.merged:
            first, _, last = rng.partition(":")
            c1, r1 = _col(first), int(re.sub(r"[A-Z]", "", first))
            c2, r2 = (_col(last), int(re.sub(r"[A-Z]", "", last))) if last else (c1, r1)
            if r1 == 1:
                self.error("merged-cell",
                           f"Cells {rng} are merged in the header row. Unmerge them (Home > Merge & Center) "
                           f"and give each column its own name from the template.", 1, "", rng)
            else:
                self.error("merged-cell",
                           f"Cells {rng} are merged. Unmerge them (Home > Merge & Center) and type the value "
                           f"in every row it applies to.", r1, "", rng)
            if (c2 - c1 + 1) * (r2 - r1 + 1) <= 100_000:
                for r in range(r1, r2 + 1):
                    for c in range(c1, c2 + 1):
                        if (r, c) != (r1, c1):
                            (header_refs if r == 1 else covered).add(f"{column_letter(c)}{r}")
        return header_refs, covered

    def _header(self, rows, fields, merged_header: set[str]):
        """Map column names to positions. The names must be on row 1."""
        names = {f.name for f in fields}
        first = None
        looked = []
        for number, cells in rows:
            if not any(c.kind != "empty" for c in cells):
                continue
            looked.append((number, cells))
            labels = {normalise_label(c.value) for c in cells if c.kind == "text"}
            if len(labels & names) >= 2:
                first = (number, cells)
                break
            if len(looked) >= 10:
                break
        if first is None:
            if not looked:
                if any(f.required for f in fields) and fields is OBSERVATION_FIELDS:
                    self.error("blank-sheet", "This sheet is empty: there is nothing to add.")
                return [], None, 0
            first = looked[0]  # no row looks like the template's: report against the first
        number, cells = first
        if number != 1:
            above = f"row 1" if number == 2 else f"rows 1 to {number - 1}"
            self.error("header-position",
                       f"The column names are on row {number}; they must be on row 1. Delete {above} "
                       f"(select the rows, right-click > Delete).", number)
            return [], None, 0
        columns: dict[str, int] = {}
        unknown: list[tuple[int, Cell]] = []
        for idx, cell in enumerate(cells):
            if cell.kind == "empty":
                if cell.ref not in merged_header:
                    columns.setdefault(f"\0blank{idx}", idx)
                continue
            label = normalise_label(cell.value)
            if label in columns:
                self.error("duplicate-label", f"Two columns are named '{cell.value}'. Keep one of them.",
                           1, str(cell.value), cell.ref, cell.value)
            elif label in names or (fields is OBSERVATION_FIELDS and label in EXPORT_DERIVED):
                columns[label] = idx
            else:
                unknown.append((idx, cell))
        for idx, cell in unknown:
            close = difflib.get_close_matches(normalise_label(cell.value),
                                              [n for n in names if n not in columns], n=1, cutoff=0.6)
            hint = (f" Did you mean '{close[0]}'? Rename the column to exactly that." if close else
                    f" Rename it to one of the template's names, or delete the column.")
            self.error("incorrect-label", f"The column name '{cell.value}' is not one the drop folder reads."
                       + hint, 1, str(cell.value), cell.ref, cell.value)
        for f in fields:
            if f.required and f.name not in columns:
                self.error("missing-label", f"The required column '{f.name}' is missing from row 1. "
                                            f"{f.help}", 1, f.name)
        # blank header cells above data: reported if data is found below them
        blanks = {idx for key, idx in columns.items() if key.startswith("\0blank")}
        columns = {k: v for k, v in columns.items() if not k.startswith("\0blank")}
        self._blank_columns = blanks
        width = max([*columns.values(), *blanks, -1]) + 1
        if blanks:
            columns.update({f"\0blank{idx}": idx for idx in blanks})
        return [None] * width, columns, number + 1

    # -- one row of each sheet
    def _declared_ok(self, row: _Row, cells: dict, key: str, fields) -> dict | None:
        rec = {}
        for f in fields:
            cell = cells.get(f.name)
            if cell is None or cell.kind == "empty":
                rec[f.name] = None
                continue
            text = self._text(row, f.name, cell)
            rec[f.name] = text
        ident = rec.get(key)
        if ident is None:
            return None
        if not _IDS[key].match(ident):
            self._cell_error("constraint-error", row, key, cells[key],
                             f"'{ident}' is not a usable id. {next(f.help for f in fields if f.name == key)}")
            return None
        return rec

    def _check_blank_columns(self, row: _Row):
        for idx in getattr(self, "_blank_columns", ()):
            if idx < len(row.cells) and row.cells[idx].kind != "empty":
                cell = row.cells[idx]
                self.error("blank-label", "This column has no name in row 1. Give it a name from the "
                                          "template, or delete the column.", row.number,
                           column_letter(idx + 1), cell.ref, _shown(cell))

    def _source(self, row: _Row, cells: dict, seen: dict) -> None:
        self._check_blank_columns(row)
        rec = self._declared_ok(row, cells, "source_id", SOURCE_FIELDS)
        date_cell = cells.get("date")
        if date_cell is not None and date_cell.kind != "empty":
            iso = self._date(row, date_cell)
            if rec is not None:
                rec["date"] = iso
        if rec is None or rec.get("date") is None:
            return
        if rec.get("url") and not re.match(r"^https?://\S+$", rec["url"]):
            self._cell_error("constraint-error", row, "url", cells["url"],
                             "A link must start with https:// (or http://). Leave it empty if there is none.")
            return
        start, _ = period_bounds(rec["date"])
        rec.update(date_start=start, date_precision={1: "year", 2: "month", 3: "day"}[rec["date"].count("-") + 1],
                   seed_file=None)
        for name in ("title_zh", "numbering", "identification"):
            rec[name] = rec.get(name) or ""
        self._declare(row, cells, rec, "source_id", self.state.sources, self.plan.sources, seen,
                      ("symbol", "cite_as", "title_en", "title_zh", "issuing_body", "date", "url"))

    def _area(self, row: _Row, cells: dict, seen: dict) -> None:
        self._check_blank_columns(row)
        rec = self._declared_ok(row, cells, "area_id", AREA_FIELDS)
        if rec is None:
            return
        if rec.get("kind") and rec["kind"] not in vocab.AREA_KINDS:
            self._cell_error("constraint-error", row, "kind", cells["kind"],
                             f"'{rec['kind']}' is not a kind of area. Use one of: {', '.join(vocab.AREA_KINDS)}.")
            return
        rec["name_zh"] = rec.get("name_zh") or ""
        self._declare(row, cells, rec, "area_id", self.state.areas, self.plan.areas, seen,
                      ("name_en", "name_zh", "kind"))

    def _indicator(self, row: _Row, cells: dict, seen: dict) -> None:
        self._check_blank_columns(row)
        rec = self._declared_ok(row, cells, "indicator_id", INDICATOR_FIELDS)
        if rec is None:
            return
        ok = True
        for name, terms in (("family", vocab.FAMILIES), ("unit", vocab.UNITS)):
            if rec.get(name):
                found = _term(rec[name], terms)
                if found is None:
                    ok = False
                    self._cell_error("constraint-error", row, name, cells[name],
                                     f"'{rec[name]}' is not in the list. Use one of: {', '.join(terms)}.")
                rec[name] = found
        rec["chart"] = (rec.get("chart") or "line").lower()
        if rec["chart"] not in vocab.CHART_TYPES:
            ok = False
            self._cell_error("constraint-error", row, "chart", cells["chart"], "Use line or bar.")
        if not ok:
            return
        rec["name_zh"] = rec.get("name_zh") or ""
        self._declare(row, cells, rec, "indicator_id", self.state.indicators, self.plan.indicators, seen,
                      ("family", "name_en", "name_zh", "unit", "definition", "chart", "break_note"))

    def _declare(self, row, cells, rec, key, known, out, seen, compared) -> None:
        ident = rec[key]
        if ident in seen:
            self._cell_error("duplicate-row", row, key, cells[key],
                             f"'{ident}' is declared twice on this sheet (first on row {seen[ident]}). "
                             f"Keep one row.")
            return
        seen[ident] = row.number
        if ident in known:
            old = known[ident]
            differs = [c for c in compared if (rec.get(c) or "") != (old.get(c) or "") and rec.get(c)]
            if differs:
                self._cell_error("constraint-error", row, key, cells[key],
                                 f"'{ident}' already exists with a different {differs[0]} "
                                 f"('{old.get(differs[0])}'). Use it without declaring it again, or choose "
                                 f"a new id.")
            return  # the same declaration again: nothing to add
        if any(r.get(key) == ident for r in out):
            return
        out.append(rec)
        known[ident] = rec

    def _parse_observation(self, row: _Row, cells: dict) -> "_Parsed | None":
        """Check one row's cells on their own (errors reported); None when it cannot be a value."""
        self._check_blank_columns(row)
        st = self.state
        ok = True

        def text(name):
            cell = cells.get(name)
            if cell is None or cell.kind == "empty":
                return None
            return self._text(row, name, cell)

        indicator = self._known(row, cells, "indicator_id", st.indicators, "indicator",
                                "on the Lists sheet, or declare it on the New indicators sheet")
        area = self._known(row, cells, "area", st.areas, "area",
                           "on the Lists sheet, or declare it on the New areas sheet")
        source = self._known(row, cells, "source_id", st.sources, "source",
                             "on the Lists sheet, or declare it on the New sources sheet")
        ind = st.indicators.get(indicator) if indicator else None

        period, label = self._period(row, cells.get("period"))
        value, value_text = self._value(row, cells.get("value"), ind)

        unit = None
        if cells.get("unit") is not None and cells["unit"].kind != "empty":
            unit_text = text("unit")
            unit = _term(unit_text, vocab.UNITS) if unit_text else None
            if unit_text and unit is None:
                ok = False
                self._cell_error("constraint-error", row, "unit", cells["unit"],
                                 f"'{unit_text}' is not a unit in the list. Use one of: {', '.join(vocab.UNITS)}.")
            elif ind and unit and unit != ind["unit"]:
                ok = False
                self._cell_error("unit-mismatch", row, "unit", cells["unit"],
                                 f"The indicator {indicator} is measured in {ind['unit']}, but this row says "
                                 f"{unit}. Check the indicator and the value, or declare a new indicator for "
                                 f"values in {unit}.")

        qualifier = self._vocab(row, cells.get("qualifier"), vocab.QUALIFIERS, "exact", "qualifier")
        status = self._vocab(row, cells.get("obs_status"), vocab.OBS_STATUS, "normal", "status")
        revision = self._yes_no(row, cells.get("revision"))
        stated_by, locator, quote = text("stated_by"), text("locator"), text("quote")
        quote_en, note, given_value_text = text("quote_en"), text("note"), text("value_text")
        given_label = text("period_label")

        if quote and ("\n" in quote or "\r" in quote):
            ok = False
            self._cell_error("constraint-error", row, "quote", cells["quote"],
                             "The quote has a line break. Copy the sentence from the report as one line.")
        elif quote and source and value is not None:
            seed = self._seed_text(source)
            if seed is not None and quote not in seed:
                ok = False
                self._cell_error("quote-not-found", row, "quote", cells["quote"],
                                 f"This quote is not word for word in the text of "
                                 f"{st.sources[source]['cite_as']}. Copy it from the report again, exactly.")
        if given_value_text and value is not None:
            if quote and given_value_text not in quote:
                ok = False
                self._cell_error("value-not-in-quote", row, "value_text", cells["value_text"],
                                 "These characters are not in the quote. Copy them from the quote exactly.")
            else:
                try:
                    stated = parse_number(given_value_text)
                except NumberError:
                    stated = None
                if stated is None or not same_number(stated, value):
                    ok = False
                    says = f"states {stated:g}" if stated is not None else "states no number that can be read"
                    self._cell_error("value-mismatch", row, "value_text", cells["value_text"],
                                     f"This text {says}, but the value is {value:g}. Correct one of them.")

        ok = self._derived_agree(row, cells, ind, period, st.sources.get(source)) and ok
        needed = (indicator, area, source, period, value, unit, stated_by, locator, quote, qualifier,
                  status, revision)
        if not ok or any(v is None for v in needed):
            return None  # every reason has been reported
        return _Parsed(indicator, area, period, label, given_label, value, given_value_text or value_text,
                       qualifier, status, stated_by, source, locator, quote, quote_en, note, revision)

    def _finish_observation(self, number: int, values: list, columns: dict[str, int], p: "_Parsed",
                            seen: dict) -> None:
        """The checks against the other rows and the store, in the rows' order."""
        key = (p.indicator, p.area, p.period)
        published = self.state.latest.get(key)
        label = p.given_label or (published["period_label"] if published else p.label)
        if key in seen:
            first_row, first_value, first_qualifier = seen[key]
            same = (first_value, first_qualifier) == (p.value, p.qualifier)
            what = "repeats" if same else "gives a different value for"
            self.error("duplicate-row",
                       f"This row {what} the indicator, area and period of row {first_row} "
                       f"({p.indicator}, {p.area}, {p.period}). Keep one of the two rows.",
                       number, "period", _cell_at(values, columns, "period", number).ref, p.period)
            return
        seen[key] = (number, p.value, p.qualifier)
        self._against_published(number, values, columns, p, label, published)

    def _derived_agree(self, row: _Row, cells: dict, ind: dict | None, period: str | None,
                       src: dict | None) -> bool:
        """An exported file's descriptive columns must still say what the store says."""
        if not any(name in cells for name in EXPORT_DERIVED):
            return True
        start, end = period_bounds(period) if period else (None, None)
        expected = {
            "indicator_name": ind and ind["name_en"], "family": ind and ind["family"],
            "period_start": period and (start.isoformat() if start else ""),
            "period_end": period and end.isoformat(),
            "source_symbol": src and (src["symbol"] or ""), "source_title": src and src["title_en"],
            "source_date": src and src["date"],
        }
        ok = True
        for name, want in expected.items():
            cell = cells.get(name)
            if cell is None or want is None:
                continue  # column absent, or the row's id is already reported as unknown
            given = _shown(cell).strip().lstrip("'")  # the export's formula guard is not data
            if given != want:
                ok = False
                self._cell_error("derived-mismatch", row, name, cell,
                                 f"This column repeats what the dashboard already holds ('{_clip(want)}'); "
                                 f"it cannot change it. Delete the column, or put back the exported text.")
        return ok

    def _against_published(self, number: int, values: list, columns: dict[str, int], p: "_Parsed",
                           label: str, old: dict | None) -> None:
        st = self.state

        def record(action: str) -> None:
            self.plan.observations.append((
                p.indicator, p.area, p.period, label, p.value, p.value_text, p.qualifier, p.status,
                p.stated_by, p.source, p.locator, p.quote, p.quote_en or "", p.note, number, self._sheet, action,
                old["obs_id"] if old else None, old["vintage"] if old else None))

        if old is None:
            if p.revision:
                cell = _cell_at(values, columns, "revision", number)
                self.error("revision-error",
                           "This row is marked as a revision, but no value is published for this indicator, "
                           "area and period. Check the period, or empty the revision cell.",
                           number, "revision", cell.ref, _shown(cell))
                return
            record("new")
            return
        same_value = (old["value"], old["qualifier"]) == (p.value, p.qualifier)
        if same_value and old["source_id"] == p.source:
            self.plan.unchanged += 1  # already published exactly so
            return
        if same_value:
            record("restated")  # a newer citation for the same value
            return
        newer = _newer(st.sources.get(p.source), st.sources.get(old["source_id"]))
        if p.revision or newer:
            record("revised")
            return
        old_source = st.sources.get(old["source_id"], {}).get("cite_as", old["source_id"])
        new_source = st.sources.get(p.source, {}).get("cite_as", p.source)
        cell = _cell_at(values, columns, "value", number)
        self.error("conflict",
                   f"{p.indicator} for {p.area}, {p.period} is already published as "
                   f"{_label(old['value'], old['qualifier'])} ({old_source}, {old['locator']}: "
                   f"\u201c{_clip(old['quote'])}\u201d). This row says {_label(p.value, p.qualifier)} "
                   f"({new_source}, {p.locator}: \u201c{_clip(p.quote)}\u201d). If this corrects "
                   f"the published value, write yes in the revision column; otherwise correct the value.",
                   number, "value", cell.ref, _shown(cell))

    # -- cells
    def _text(self, row: _Row, name: str, cell: Cell) -> str | None:
        if cell.kind == "text":
            return unguard(cell.value.strip().replace("\u00a0", " "))
        if cell.kind in ("number", "percent"):
            return _plain(cell.value)
        if cell.kind == "date":
            return _iso_date(cell.value)
        if cell.kind == "bool":
            return "yes" if cell.value else "no"
        return None

    def _known(self, row: _Row, cells: dict, name: str, known: dict, what: str, where: str) -> str | None:
        cell = cells.get(name)
        if cell is None or cell.kind == "empty":
            return None
        text = self._text(row, name, cell)
        if text in known:
            return text
        folded = {k.lower(): k for k in known}
        if text and text.lower() in folded:
            return folded[text.lower()]
        by_name = [k for k, v in known.items()
                   if text and text.lower() in (str(v.get("name_en") or "").lower(), str(v.get("name_zh") or "").lower(),
                                                str(v.get("cite_as") or "").lower(), str(v.get("symbol") or "").lower())]
        if by_name:
            hint = f" Its id is {by_name[0]}: write that."
        else:
            close = difflib.get_close_matches(text or "", list(known), n=1, cutoff=0.75)
            hint = f" Did you mean {close[0]}?" if close else ""
        self._cell_error("foreign-key-error", row, name, cell,
                         f"'{text}' is not a known {what}.{hint} Use an id {where}.")
        return None

    def _period(self, row: _Row, cell: Cell | None) -> tuple[str | None, str | None]:
        if cell is None or cell.kind == "empty":
            return None, None
        hint = ("Write 2023 for a year, 2023-05 for a month, 2023-06-30 for a day, 2023-01/2023-08 for "
                "January to August, or 2022/23 for a fiscal year, and format the cell as text.")
        if cell.kind == "date":
            d = cell.value
            fmt = cell.fmt.lower().replace("[", " ")
            if "d" not in fmt and "m" not in fmt.replace("mm:", ""):
                return f"{d:%Y}", f"{d:%Y}"
            if "d" not in fmt and d.day == 1:
                return f"{d:%Y-%m}", f"{d:%Y-%m}"
            return f"{d:%Y-%m-%d}", f"{d:%Y-%m-%d}"
        if cell.kind in ("number", "percent"):
            number = cell.value
            if float(number).is_integer() and 1900 <= number <= 2100:
                return str(int(number)), str(int(number))
            return self._serial_or_error(row, cell, str(_plain(number)), hint)
        if cell.kind != "text":
            self._cell_error("type-error", row, "period", cell, f"This is not a period. {hint}")
            return None, None
        text = cell.value.strip()
        try:
            fiscal = fiscal_year(text)
            if fiscal:
                return fiscal, f"fiscal year {text.upper().removeprefix('FY').strip()}"
            period_bounds(text)
            return text, text
        except PeriodError:
            pass
        return self._serial_or_error(row, cell, text, hint)

    def _serial_or_error(self, row, cell, text, hint):
        if re.fullmatch(r"\d{5}(\.0+)?", text) and 20000 <= float(text) <= 80000:
            day = date(1899, 12, 30).toordinal() + int(float(text))
            shown = date.fromordinal(day).isoformat()
            self._cell_error("type-error", row, "period", cell,
                             f"{text} is an Excel date stored as a plain number (it means {shown}). "
                             f"Type the period as text instead, such as {shown[:7]} for the month. {hint}")
        else:
            self._cell_error("type-error", row, "period", cell, f"'{text}' is not a period that can be read. {hint}")
        return None, None

    def _value(self, row: _Row, cell: Cell | None, ind: dict | None) -> tuple[float | None, str | None]:
        if cell is None or cell.kind == "empty":
            return None, None
        unit = ind["unit"] if ind else None
        pct = unit in _PERCENT_UNITS
        name = ind["indicator_id"] if ind else "the indicator"
        if cell.kind == "percent":
            if unit is not None and not pct:
                self._cell_error("unit-mismatch", row, "value", cell,
                                 f"This cell is formatted as a percentage, but {name} is measured in {unit}. "
                                 f"Format the cell as a number (Home > Number format > General) and type the "
                                 f"value itself.")
                return None, None
            value = round(float(cell.value) * 100, 10)
            return value, f"{_plain(value)}%"
        if cell.kind == "number":
            value = float(cell.value)
            text = _plain(cell.value)
        elif cell.kind == "text":
            raw = cell.value.strip()
            m = _PERCENT_TEXT.match(raw)
            if m and pct:
                value = float(m.group(1))
                return (value, raw) if math.isfinite(value) else (None, None)
            if not _NUMBER.match(raw):
                advice = ("Type the number alone, with a point for decimals and no thousands separators "
                          "or units: 25.6 or 1067.")
                if pct:
                    advice += " The unit column already says it is a percentage."
                self._cell_error("type-error", row, "value", cell, f"'{raw}' is text, not a number. {advice}")
                return None, None
            value, text = float(raw), raw
        else:
            self._cell_error("type-error", row, "value", cell,
                             "This is not a number. Type the number alone: 25.6 or 1067.")
            return None, None
        if not math.isfinite(value):
            self._cell_error("type-error", row, "value", cell, "This is not a finite number.")
            return None, None
        if pct and 0 < abs(value) < 1:
            self._cell_error("percent-scale", row, "value", cell,
                             f"{text} looks like a fraction, but {name} is measured in percent. Type "
                             f"{_plain(round(value * 100, 10))} for {_plain(round(value * 100, 10))} %, or format "
                             f"the cell as a percentage (Home > %). If the value really is below one percent, "
                             f"type it with a % sign: {text}%.")
            return None, None
        return value, text

    def _vocab(self, row, cell, terms, default, what):
        if cell is None or cell.kind == "empty":
            return default
        text = self._text(row, what, cell)
        found = _term(text, terms)
        if found is None:
            name = {"status": "obs_status"}.get(what, what)
            self._cell_error("constraint-error", row, name, cell,
                             f"'{text}' is not a {what} in the list. Use one of: {', '.join(terms)}.")
        return found

    def _yes_no(self, row, cell) -> bool | None:
        if cell is None or cell.kind == "empty":
            return False
        text = (self._text(row, "revision", cell) or "").strip().lower()
        if text in _YES:
            return True
        if text in _NO:
            return False
        self._cell_error("constraint-error", row, "revision", cell,
                         "Write yes when this value corrects a published one; otherwise leave it empty.")
        return None

    def _date(self, row: _Row, cell: Cell) -> str | None:
        if cell.kind == "date":
            return cell.value.strftime("%Y-%m-%d")
        text = self._text(row, "date", cell) or ""
        if re.fullmatch(r"\d{4}(-\d{2}){0,2}", text):
            try:
                period_bounds(text)
                return text
            except PeriodError:
                pass
        self._cell_error("type-error", row, "date", cell,
                         "This is not a date that can be read. Write 2024-03-05, 2024-03 or 2024.")
        return None

    def _seed_text(self, source: str) -> str | None:
        if source not in self._seed_texts:
            seed = self.state.sources.get(source, {}).get("seed_file")
            path = (self.seeds / seed) if (seed and self.seeds) else None
            self._seed_texts[source] = path.read_text(encoding="utf-8") if path and path.is_file() else None
        return self._seed_texts[source]


class _Parsed(NamedTuple):
    """A row of the Observations sheet whose cells are each correct: what remains to check
    is how it stands against the other rows and the store (``_finish_observation``)."""
    indicator: str
    area: str
    period: str
    label: str  # the period as it reads, when the row gives no period_label
    given_label: str | None
    value: float
    value_text: str
    qualifier: str
    status: str
    stated_by: str
    source: str
    locator: str
    quote: str
    quote_en: str | None
    note: str | None
    revision: bool


_BAD = object()  # a cell the column-by-column reading leaves to the row-by-row checks
_MISS = object()


def _fast_text(v):
    """A cell's text as ``Checker._text`` gives it (None when empty), or _BAD for a cell that
    is not plain text or a number, or holds markup."""
    kind = type(v)
    if kind is str:
        text = v.strip()
        if not text:
            return None
        if ("<" in v or ":" in v) and _MARKUP.search(v):
            return _BAD
        if "\u00a0" in text:
            text = text.replace("\u00a0", " ")
        return unguard(text) if text[0] == "'" else text
    if v is None:
        return None
    if kind is float or kind is int:
        return _plain(v)
    return _BAD


def _fast_period(v):
    """(period, label) as ``Checker._period`` gives them, or _BAD."""
    kind = type(v)
    if kind is str:
        text = v.strip()
        if not text or (("<" in v or ":" in v) and _MARKUP.search(v)):
            return _BAD
        try:
            fiscal = fiscal_year(text)
            if fiscal:
                return fiscal, f"fiscal year {text.upper().removeprefix('FY').strip()}"
            period_bounds(text)
        except PeriodError:
            return _BAD
        return text, text
    if kind is float or kind is int:
        if float(v).is_integer() and 1900 <= v <= 2100:
            return str(int(v)), str(int(v))
    return _BAD


def _fast_value(v, pct: bool):
    """(value, value_text) as ``Checker._value`` gives them for a plain cell, or _BAD."""
    kind = type(v)
    if kind is float:
        value, text = v, (str(int(v)) if v.is_integer() and -1e15 < v < 1e15 else str(v))  # _plain
    elif kind is int:
        value, text = float(v), _plain(v)
    elif kind is str:
        raw = v.strip()
        if not raw or (("<" in v or ":" in v) and _MARKUP.search(v)):
            return _BAD
        m = _PERCENT_TEXT.match(raw)
        if m and pct:
            value = float(m.group(1))
            return (value, raw) if math.isfinite(value) else _BAD
        if not _NUMBER.match(raw):
            return _BAD
        value, text = float(raw), raw
    else:
        return _BAD
    if not math.isfinite(value) or (pct and 0 < abs(value) < 1):
        return _BAD
    return value, text


def _empty_value(v) -> bool:
    return v is None or (type(v) is str and (not v or v.isspace()))


def _blank(values: list) -> bool:
    """A row with nothing in it (what Excel leaves below the data)."""
    for v in values:
        if v is None:
            continue
        kind = type(v)
        if kind is str:
            if v and not v.isspace():
                return False
        elif kind is Cell:
            if v.kind != "empty":
                return False
        else:
            return False
    return True


def _cell_at(values: list, columns: dict[str, int], name: str, number: int) -> Cell:
    """The cell of a named column in a row of raw values (as ``_Row.cell`` gives it)."""
    idx = columns.get(name)
    if idx is None:
        return Cell(None, "empty", "")
    ref = f"{column_letter(idx + 1)}{number}"
    return as_cell(values[idx], ref) if idx < len(values) else Cell(None, "empty", ref)


class _FastColumns:
    """Reads the plain rows of an Observations sheet column by column.

    A row is plain when every cell is text or a number and would draw no message: each
    column is read with its own small function (the same rules as the row-by-row checks,
    most of them remembered per distinct text, since an export repeats its indicators,
    areas, units and sources), then each row is put together. Any other row (an empty
    required cell, an unknown id, markup, a percent or date cell, a merged cell ...) is
    left to the row-by-row checks, which say what is wrong: so a file gets exactly the same
    messages, and the same values, whichever way each row was read."""

    def __init__(self, checker: "Checker", columns: dict[str, int], width: int):
        st = checker.state
        self.checker = checker
        self.columns = columns
        self.width = width
        self.blank_columns = sorted(getattr(checker, "_blank_columns", ()))
        self.unit_of = {k: v["unit"] for k, v in st.indicators.items()}
        self.memo = {name: {} for name in ("indicator_id", "area", "source_id", "unit", "qualifier",
                                           "obs_status", "revision", "period", "stated_by")}
        self.stated: dict[str, float | None] = {}
        resolvers = {"indicator_id": _resolver(st.indicators), "area": _resolver(st.areas),
                     "source_id": _resolver(st.sources)}

        def known(name):
            resolve = resolvers[name]

            def convert(v):
                text = _fast_text(v)
                return _BAD if text is None or text is _BAD else resolve(text)
            return convert

        def unit(v):
            text = _fast_text(v)
            if text is None or text is _BAD:
                return _BAD
            found = _term(text, vocab.UNITS)
            return _BAD if found is None else found

        def term(terms, default):
            def convert(v):
                text = _fast_text(v)
                if text is None:
                    return default
                if text is _BAD:
                    return _BAD
                found = _term(text, terms)
                return _BAD if found is None else found
            return convert

        def revision(v):
            text = _fast_text(v)
            if text is None:
                return False
            if text is _BAD:
                return _BAD
            text = text.strip().lower()
            return True if text in _YES else False if text in _NO else _BAD

        def required(v):
            text = _fast_text(v)
            return _BAD if text is None else text

        self.convert = {"indicator_id": known("indicator_id"), "area": known("area"),
                        "source_id": known("source_id"), "unit": unit,
                        "qualifier": term(vocab.QUALIFIERS, "exact"), "obs_status": term(vocab.OBS_STATUS, "normal"),
                        "revision": revision, "period": _fast_period, "stated_by": required}

    @classmethod
    def make(cls, checker: "Checker", columns: dict[str, int], width: int) -> "_FastColumns":
        return cls(checker, columns, width)

    def _coded(self, values: tuple, name: str) -> list:
        """A column of few distinct texts (ids, units, terms): each distinct text read once
        (and remembered for the next batches); a cell of another kind read on its own."""
        memo, convert = self.memo[name], self.convert[name]
        if set(map(type, values)) <= {str}:
            for v in [v for v in set(values) if v not in memo]:
                memo[v] = convert(v)
            return list(map(memo.__getitem__, values))
        out = []
        for v in values:
            if type(v) is str:
                got = memo.get(v, _MISS)
                if got is _MISS:
                    got = memo[v] = convert(v)
            else:
                got = convert(v)
            out.append(got)
        return out

    def _texts(self, values: tuple, required: bool) -> list:
        """A column of free text (quotes, locators, notes): as ``_fast_text`` reads each cell,
        but for a column of clean text (no markup, no padding, no leading ', no no-break space)
        checked as a whole, which is most exports."""
        if set(map(type, values)) <= {str}:
            joined = "\x00".join(values)
            if ("<" not in joined and "\u00a0" not in joined and "\x00'" not in joined
                    and joined[:1] != "'" and (":" not in joined or not _SCRIPT.search(joined))):
                stripped = list(map(str.strip, values))
                if stripped == list(values):  # nothing to strip: each cell is its own text
                    empty = _BAD if required else None
                    return [v or empty for v in values]
        out = list(map(_fast_text, values))
        if required:
            return [_BAD if t is None else t for t in out]
        return out

    def parse(self, batch: list[tuple[int, list]], covered_rows: set[int]) -> "_FastBatch":
        """The batch read column by column: which rows are plain, and their fields."""
        n = len(batch)
        rows = [values for _, values in batch]
        longest = max(map(len, rows))
        fill = max(longest, max(self.columns.values()) + 1)
        if min(map(len, rows)) < fill:
            rows = [r if len(r) >= fill else r + [None] * (fill - len(r)) for r in rows]
        cols = list(zip(*rows))
        bad = [False] * n
        if covered_rows:
            for i, (number, _) in enumerate(batch):
                if number in covered_rows:
                    bad[i] = True
        for idx in [*range(self.width, longest), *self.blank_columns]:
            for i, v in enumerate(cols[idx]):
                if not _empty_value(v):
                    bad[i] = True
        columns = self.columns

        def coded(name, default=None):
            idx = columns.get(name)
            return self._coded(cols[idx], name) if idx is not None else [default] * n

        def texts(name, required=False):
            idx = columns.get(name)
            return self._texts(cols[idx], required) if idx is not None else [None] * n

        c_ind, c_area, c_src = coded("indicator_id"), coded("area"), coded("source_id")
        c_period, c_unit, c_value = coded("period"), coded("unit"), cols[columns["value"]]
        c_qual, c_status, c_rev = coded("qualifier", "exact"), coded("obs_status", "normal"), coded("revision", False)
        c_by, c_loc, c_quote = coded("stated_by"), texts("locator", True), texts("quote", True)
        c_en, c_note, c_vt, c_label = texts("quote_en"), texts("note"), texts("value_text"), texts("period_label")
        # Each rule of _parse_observation in turn, for the whole batch: a row stays plain while
        # every rule holds (``ok``); the first that fails leaves it to the row-by-row checks.
        ok = [not b for b in bad]
        for c in (c_ind, c_area, c_src, c_period, c_unit, c_qual, c_status, c_rev, c_by, c_loc, c_quote, c_en,
                  c_note, c_vt, c_label):
            if _BAD in c:
                ok = [o and x is not _BAD for o, x in zip(ok, c)]
        unit_of = self.unit_of
        ok = [o and u == unit_of[i] for o, u, i in zip(ok, c_unit, c_ind)]  # the indicator's unit
        got = [_fast_value(v, u in _PERCENT_UNITS) if o else _BAD for o, v, u in zip(ok, c_value, c_unit)]
        ok = [o and g is not _BAD and "\n" not in q and "\r" not in q for o, g, q in zip(ok, got, c_quote)]
        seed_text = self.checker._seed_text
        seeded = {src for src, o in zip(c_src, ok) if o and seed_text(src) is not None}
        if seeded:  # quotes of a curated report must be word for word in its text
            ok = [o and (src not in seeded or q in seed_text(src)) for o, src, q in zip(ok, c_src, c_quote)]
        values = [g[0] if o else None for o, g in zip(ok, got)]
        given = {vt for vt, o in zip(c_vt, ok) if o and vt}
        if given:  # value_text must be in the quote and state the value
            stated = self.stated
            for vt in given:
                if vt not in stated:
                    stated[vt] = _stated(vt)
            ok = [o and (not vt or (vt in q and stated[vt] is not None and same_number(stated[vt], v)))
                  for o, vt, q, v in zip(ok, c_vt, c_quote, values)]
        return _FastBatch(ok, c_ind, c_area, [p[0] if o else None for o, p in zip(ok, c_period)],
                          [p[1] if o else None for o, p in zip(ok, c_period)], c_label, values,
                          [vt or g[1] if o else None for o, vt, g in zip(ok, c_vt, got)], c_qual, c_status, c_by,
                          c_src, c_loc, c_quote, c_en, c_note, c_rev)


class _FastBatch:
    """The plain rows of a batch (``ok``), column by column, in _Parsed's order."""

    def __init__(self, ok: list[bool], *columns: list):
        self.ok = ok
        self.columns = columns

    def parsed(self, i: int) -> "_Parsed":
        return tuple.__new__(_Parsed, (c[i] for c in self.columns))


_SCRIPT = re.compile(r"javascript\s*:", re.IGNORECASE)  # _MARKUP's second half


_PLAIN_DIGITS = re.compile(r"[0-9]+(\.[0-9]+)?")


def _stated(text: str) -> float | None:
    """The number ``value_text`` states (parse_number; plain digits read directly)."""
    if _PLAIN_DIGITS.fullmatch(text):
        return float(text)
    try:
        return parse_number(text)
    except NumberError:
        return None


def _resolver(known: dict):
    """An id as ``Checker._known`` accepts it without a message (exactly, or in another case)."""
    folded = {k.lower(): k for k in known}

    def resolve(text: str):
        if text in known:
            return text
        if text and text.lower() in folded:
            return folded[text.lower()]
        return _BAD
    return resolve


def _has_content(sheet: Sheet) -> bool:
    return any(c.kind != "empty" for _, cells in sheet.rows() for c in cells)


def _col(ref: str) -> int:
    n = 0
    for ch in ref:
        if not ch.isalpha():
            break
        n = n * 26 + ord(ch.upper()) - 64
    return n


def _term(text: str | None, terms: dict) -> str | None:
    """A vocabulary id from its id, English or Chinese name (any case)."""
    if not text:
        return None
    t = text.strip().lower()
    for key, term in terms.items():
        if t in (key.lower(), key.lower().replace("_", " "), term.name_en.lower(), term.name_zh):
            return key
    return None


def _plain(number) -> str:
    if isinstance(number, float) and number.is_integer() and abs(number) < 1e15:
        return str(int(number))
    return str(number)


def _iso_date(value) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d") if value.time() == datetime.min.time() else value.isoformat()
    return value.isoformat()


def _shown(cell: Cell) -> str:
    if cell.kind == "empty" or cell.value is None:
        return ""
    if cell.kind == "date":
        return _iso_date(cell.value)
    if cell.kind == "percent":  # as Excel shows it
        return _plain(round(float(cell.value) * 100, 10)) + "%"
    if cell.kind == "number":
        return _plain(cell.value)
    return str(cell.value)


def _label(value: float, qualifier: str) -> str:
    text = _plain(value)
    return text if qualifier == "exact" else f"{vocab.QUALIFIERS[qualifier].name_en} {text}"


def _clip(text: str, n: int = 80) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _newer(a: dict | None, b: dict | None) -> bool:
    """Source ``a`` is a later report than ``b``."""
    if not a or not b or not a.get("date_start") or not b.get("date_start"):
        return False
    return a["date_start"] > b["date_start"]


def check(sheets: list[Sheet] | None, format_error: FormatError | None, state: StoreState,
          seeds: Path | None, max_rows: int, csv_file: bool = False,
          progress: Callable[[int], None] | None = None) -> Plan:
    """Every problem in the file, or what it would change."""
    checker = Checker(state, seeds, max_rows, progress)
    if format_error is not None:
        checker.error(format_error.code, format_error.message)
        return checker.plan
    try:
        return checker.check(sheets, csv_file)
    except FormatError as exc:  # a damaged sheet found while reading its rows
        checker._sheet = ""
        checker.error(exc.code, exc.message)
        return checker.plan
    except (OSError, KeyError, ValueError, EOFError) as exc:
        checker._sheet = ""
        checker.error("format-error", f"The file could not be read to the end ({type(exc).__name__}): it "
                                      f"may be damaged or incompletely saved. Open it in Excel, save it "
                                      f"again, and put it in the inbox.")
        return checker.plan


# --- Applying ------------------------------------------------------------------------------

def apply(conn, state: StoreState, plan: Plan, intake: dict, stored_path: str) -> dict[str, int]:
    """Write the file's record and, if accepted, its values, on ``conn`` (one transaction
    opened by the caller). Returns the counts recorded."""
    counts = {"added": 0, "revised": 0, "unchanged": plan.unchanged, "declared": 0}
    intake_id = intake["intake_id"]
    if intake["status"] == "accepted":
        for table, recs in ((schema.sources, plan.sources), (schema.areas, plan.areas),
                            (schema.indicators, plan.indicators)):
            if recs:
                conn.execute(table.insert(), [{c.name: (intake_id if c.name == "intake_id" else r.get(c.name))
                                               for c in table.columns} for r in recs])
        counts["declared"] = plan.declared
        counts["revised"] = plan.revised
        counts["added"] = len(plan.observations) - plan.revised
        intake.update(counts)
        conn.execute(schema.intake_files.insert(), [intake])
        values = plan.observations.columns()
        if values is not None:
            _insert_values(conn, values, state.next_obs_id, intake_id, intake["processed_at"], stored_path)
            state.next_obs_id += len(plan.observations)
    else:
        intake.update(counts)
        conn.execute(schema.intake_files.insert(), [intake])
    if plan.errors:
        conn.execute(schema.intake_errors.insert(), [
            {"intake_id": intake_id, "seq": n, "code": e.code, "sheet": e.sheet, "row": e.row,
             "column": e.column, "cell": e.cell, "value": e.value[:2000], "message": e.message}
            for n, e in enumerate(plan.errors, start=1)])
    return counts


def _insert_values(conn, values: dict, first_id: int, intake_id: int, now, stored_path: str) -> None:
    """Add the file's values as new vintages, in the file's order, and mark the vintages they
    replace as no longer the latest: in DuckDB, from columns (no Python row per value).
    The period's bounds and kind are worked out once per distinct period."""
    import numpy as np

    periods = sorted(set(values["period"].tolist()))
    bounds = [period_bounds(p) for p in periods]
    spans = [span(p) for p in periods]
    period_table = {
        "period": _column(periods, "string"),
        "period_start": _column([b[0] and b[0].isoformat() for b in bounds], "string"),
        "period_end": _column([b[1].isoformat() for b in bounds], "string"),
        "span_class": _column([s[0] for s in spans], "string"),
        "span_label": _column([s[1] for s in spans], "string"),
    }
    values = {**values, "seq": np.arange(len(values["period"]), dtype=np.int64)}
    raw = _duckdb(conn)
    raw.register("pkpi_intake_values", values)
    raw.register("pkpi_intake_periods", period_table)
    try:
        raw.execute("UPDATE observation_vintages SET is_latest = false WHERE obs_id IN "
                    "(SELECT _before_obs_id FROM pkpi_intake_values WHERE _before_obs_id >= 0)")
        made = {
            "obs_id": "? + v.seq", "period_start": "CAST(p.period_start AS DATE)",
            "period_end": "CAST(p.period_end AS DATE)", "span_class": "p.span_class", "span_label": "p.span_label",
            "origin_file": "? || CASE WHEN v._sheet = '' THEN '' ELSE ', sheet ' || v._sheet END",
            "vintage": "CASE WHEN v._before_vintage >= 0 THEN v._before_vintage + 1 ELSE 1 END",
            "revises_obs_id": "nullif(v._before_obs_id, -1)", "is_latest": "true",
            "revised": "v._action = 'revised'", "intake_id": "?", "published_at": "?",
        }
        names = [c.name for c in schema.observation_vintages.columns]
        select = ", ".join(made.get(n, f'v."{n}"') for n in names)
        raw.execute(f'INSERT INTO observation_vintages ({", ".join(names)}) SELECT {select} '
                    f'FROM pkpi_intake_values v JOIN pkpi_intake_periods p USING (period) ORDER BY v.seq',
                    [first_id, stored_path, intake_id, now])
    finally:
        raw.unregister("pkpi_intake_values")
        raw.unregister("pkpi_intake_periods")
