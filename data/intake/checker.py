"""Checking a file: its sheets, their header rows, merged cells and row count, every
problem collected (``Checker.error``) in the order of the rows; the rows themselves are
checked by ``data.intake.declarations`` and ``data.intake.observations``."""
from __future__ import annotations

import difflib
import gc
import re
from pathlib import Path
from typing import Callable

from data import messages, plaintext
from data.intake import rules
from data.intake.apply import Plan
from data.intake.declarations import DeclarationChecks
from data.intake.fields import (EXPORT_DERIVED, IGNORED_SHEETS, OBSERVATION_FIELDS, SHEETS, IntakeError, Row,
                                blank, normalise_label, shown)
from data.intake.observations import ObservationChecks
from data.intake.published import StoreState
from data.intake.rules import Problem, problem
from data.sheets import Cell, FormatError, Sheet, column_letter, to_cells
from data.sheets import column_index as col

MAX_LISTED_ERRORS = 1000  # as Frictionless' default limit: beyond it, only counted


class Checker(ObservationChecks, DeclarationChecks):
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
        self._blank_columns: set[int] = set()
        self._held: list[IntakeError] | None = None  # errors of a row checked ahead of its turn

    # -- errors
    def error(self, p: Problem, row: int | None = None, column: str = "", cell: str = "", value="") -> None:
        # The cell as stored and shown with the problem: an invisible character in it is
        # written as its code, so the report cannot display differently from the file. So are
        # the sheet's and the column's names (a column is named by what its header cell says):
        # U+0000 in a CSV file's header would otherwise reach the store, which PostgreSQL refuses.
        e = IntakeError(p.code, plaintext.visible(self._sheet), row, plaintext.visible(column), cell,
                        "" if value is None else plaintext.visible(str(value)), p.message, p.msg, p.params)
        if self._held is not None:
            self._held.append(e)
        else:
            self._release([e])

    def _release(self, held: list[IntakeError]) -> None:
        """Record errors (held back, or just found), in the order the file's rows give them."""
        for e in held:
            self.plan.error_count += 1
            if len(self.plan.errors) < MAX_LISTED_ERRORS:
                self.plan.errors.append(e)

    def _cell_error(self, p: Problem, row: Row, name: str, cell: Cell) -> None:
        self.error(p, row.number, name, cell.ref, shown(cell))

    # -- the file
    def check(self, sheets: list[Sheet], csv_file: bool) -> Plan:
        # Reading a large sheet makes millions of small objects that hold no reference cycle;
        # Python's cycle collector would walk all of them again and again (a fifth of the time).
        collecting = gc.isenabled()
        gc.disable()
        try:
            self._check(sheets, csv_file)
            self._say_what_was_not_checked()
            return self.plan
        finally:
            if collecting:
                gc.enable()

    def _roles(self, sheets: list[Sheet], csv_file: bool) -> dict[str, Sheet]:
        """Which sheet is which of the template's (a hidden or unknown one is reported)."""
        by_role: dict[str, Sheet] = {}
        unknown: list[Sheet] = []
        for sheet in sheets:
            self._sheet = sheet.name
            role = next((r for r in (*SHEETS, *IGNORED_SHEETS) if normalise_label(r) == normalise_label(sheet.name)), None)
            if csv_file:
                role = "Observations"
            if sheet.hidden and role not in IGNORED_SHEETS:
                self.error(problem("hidden-sheet", "hidden-sheet", sheet=sheet.name))
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
            if any(c.kind != "empty" for _, cells in sheet.rows() for c in cells):
                self.error(problem("unknown-sheet", "unknown-sheet", sheet=sheet.name))
        return by_role

    def _check(self, sheets: list[Sheet], csv_file: bool) -> None:
        by_role = self._roles(sheets, csv_file)
        if not any(r in by_role for r in SHEETS):
            self._sheet = ""
            self.error(problem("missing-sheet", "missing-sheet"))
            return
        # Declarations first: the values may refer to them.
        for role, handler in (("New sources", self._source), ("New areas", self._area),
                              ("New indicators", self._indicator), ("Observations", None)):
            if role in by_role:
                self._read_sheet(by_role[role], SHEETS[role], handler)
        self._sheet = ""
        order = {s.name: n for n, s in enumerate(sheets)}
        self.plan.errors.sort(key=lambda e: (order.get(e.sheet, -1), e.row or 0, col(e.cell) if e.cell else 10**6))

    def _say_what_was_not_checked(self) -> None:
        """The quotes of curated reports whose texts are not at hand (PKPI_SEEDS) cannot be
        checked word for word: the file is not refused for it, and its summary says so."""
        missing = sorted(s for s, t in self._seed_texts.items() if t is None
                         and self.state.sources.get(s, {}).get("seed_file"))
        if missing:
            reports = messages.listed(self.state.sources[s]["cite_as"] for s in missing)
            self.plan.notes.append(("quotes-not-checked", {"reports": reports, "seeds": str(self.seeds)}))

    def _seed_text(self, source: str) -> str | None:
        if source not in self._seed_texts:
            seed = self.state.sources.get(source, {}).get("seed_file")
            path = (self.seeds / seed) if (seed and self.seeds) else None
            self._seed_texts[source] = path.read_text(encoding="utf-8") if path and path.is_file() else None
        return self._seed_texts[source]

    def _read_sheet(self, sheet: Sheet, fields, handler) -> None:
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
            if blank(values):
                continue
            if not self._count(number):
                return
            row = Row(number, to_cells(values, number), columns)
            handler(row, self._usable(row, fields, width, covered), seen_keys)

    def _count(self, number: int) -> bool:
        """Count a row that is not empty; False (and the error) beyond the most a file may hold."""
        self._rows_counted += 1
        self.plan.rows_read += 1
        if self._rows_counted > self.max_rows:
            self.error(problem("too-many-rows", "too-many-rows", max_rows=self.max_rows), number)
            return False
        if self.progress and self._rows_counted % 5000 == 0:
            self.progress(self._rows_counted)
        return True

    def _extra_cells(self, row: Row, width: int) -> None:
        for extra in row.cells[width:]:
            if extra.kind != "empty":
                self.error(problem("extra-cell", "extra-cell"), row.number, column_letter(col(extra.ref)),
                           extra.ref, shown(extra))
        for idx in self._blank_columns:
            if idx < len(row.cells) and row.cells[idx].kind != "empty":
                cell = row.cells[idx]
                self.error(problem("blank-label", "blank-label"), row.number, column_letter(idx + 1), cell.ref,
                           shown(cell))

    def _usable(self, row: Row, fields, width: int, covered: set[str]) -> dict:
        """The row's cells by field, each reported if it cannot be read at all (a formula, an
        error, markup, a required cell left empty); the others are checked by the handler."""
        self._extra_cells(row, width)
        usable = {}
        for f in fields:
            if f.name not in row.columns:
                continue  # a missing column is reported once, on row 1
            cell = row.cell(f.name)
            if cell.ref in covered:
                continue  # reported once as a merged range
            bad = rules.readable(cell, f)
            if bad is not None:
                self._cell_error(bad, row, f.name, cell)
            if bad is None or bad.msg == "missing-cell":
                usable[f.name] = cell
        return usable

    def _merged(self, sheet: Sheet) -> tuple[set[str], set[str]]:
        """Report merged ranges; return the header cells and all other cells they cover."""
        header_refs, covered = set(), set()
        for rng in sheet.merged:
            first, _, last = rng.partition(":")
            c1, r1 = col(first), int(re.sub(r"[A-Z]", "", first))
            c2, r2 = (col(last), int(re.sub(r"[A-Z]", "", last))) if last else (c1, r1)
            msg = "merged-header" if r1 == 1 else "merged-cell"
            self.error(problem("merged-cell", msg, range=rng), r1, "", rng)
            if (c2 - c1 + 1) * (r2 - r1 + 1) <= 100_000:
                for r in range(r1, r2 + 1):
                    for c in range(c1, c2 + 1):
                        if (r, c) != (r1, c1):
                            (header_refs if r == 1 else covered).add(f"{column_letter(c)}{r}")
        return header_refs, covered

    def _header_row(self, rows, fields):
        """The row that holds the column names (looked for in the first ten that are not
        empty); None when the sheet is empty."""
        names = {f.name for f in fields}
        looked = []
        for number, cells in rows:
            if not any(c.kind != "empty" for c in cells):
                continue
            looked.append((number, cells))
            if len(names & {normalise_label(c.value) for c in cells if c.kind == "text"}) >= 2:
                return number, cells
            if len(looked) >= 10:
                break
        return looked[0] if looked else None  # no row looks like the template's: the first

    def _header(self, rows, fields, merged_header: set[str]):
        """Map column names to positions. The names must be on row 1."""
        first = self._header_row(rows, fields)
        if first is None:
            if any(f.required for f in fields) and fields is OBSERVATION_FIELDS:
                self.error(problem("blank-sheet", "blank-sheet"))
            return [], None, 0
        number, cells = first
        if number != 1:
            above = ({"en": "row 1", "zh": "第 1 行"} if number == 2 else
                     {"en": f"rows 1 to {number - 1}", "zh": f"第 1 至第 {number - 1} 行"})
            self.error(problem("header-position", "header-position", row=number, above=above), number)
            return [], None, 0
        columns = self._labels(cells, fields, merged_header)
        for f in fields:
            if f.required and f.name not in columns:
                self.error(problem("missing-label", "missing-label", field=f.name, help=f.helps()), 1, f.name)
        # blank header cells above data: reported if data is found below them
        self._blank_columns = {idx for key, idx in columns.items() if key.startswith("\0blank")}
        columns = {k: v for k, v in columns.items() if not k.startswith("\0blank")}
        width = max([*columns.values(), *self._blank_columns, -1]) + 1
        columns.update({f"\0blank{idx}": idx for idx in self._blank_columns})  # rows are read that wide
        return [None] * width, columns, number + 1

    def _labels(self, cells: list[Cell], fields, merged_header: set[str]) -> dict[str, int]:
        """The header's names by position; a name given twice or not the template's is reported."""
        names = {f.name for f in fields}
        columns: dict[str, int] = {}
        unknown: list[tuple[int, Cell]] = []
        for idx, cell in enumerate(cells):
            if cell.kind == "empty":
                if cell.ref not in merged_header:
                    columns.setdefault(f"\0blank{idx}", idx)
                continue
            label = normalise_label(cell.value)
            if label in columns:
                self.error(problem("duplicate-label", "duplicate-label", label=str(cell.value)),
                           1, str(cell.value), cell.ref, cell.value)
            elif label in names or (fields is OBSERVATION_FIELDS and label in EXPORT_DERIVED):
                columns[label] = idx
            else:
                unknown.append((idx, cell))
        for idx, cell in unknown:
            close = difflib.get_close_matches(normalise_label(cell.value),
                                              [n for n in names if n not in columns], n=1, cutoff=0.6)
            p = (problem("incorrect-label", "incorrect-label-close", label=str(cell.value), close=close[0])
                 if close else problem("incorrect-label", "incorrect-label", label=str(cell.value)))
            self.error(p, 1, str(cell.value), cell.ref, cell.value)
        return columns


def check(sheets: list[Sheet] | None, format_error: FormatError | None, state: StoreState,
          seeds: Path | None, max_rows: int, csv_file: bool = False,
          progress: Callable[[int], None] | None = None) -> Plan:
    """Every problem in the file, or what it would change."""
    checker = Checker(state, seeds, max_rows, progress)
    if format_error is not None:
        where = format_error.params if format_error.msg == "cell-too-far" else {}
        ref = str(where.get("cell", ""))  # a sheet refused for a cell far out: the cell, where Excel shows it
        checker._sheet = str(where.get("sheet", ""))
        checker.error(Problem(format_error.code, format_error.msg, format_error.params),
                      int(ref.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ") or 0) or None, ref.rstrip("0123456789"), ref)
        return checker.plan
    try:
        return checker.check(sheets, csv_file)
    except FormatError as exc:  # a damaged sheet found while reading its rows
        checker._sheet = ""
        checker.error(Problem(exc.code, exc.msg, exc.params))
        return checker.plan
    except (OSError, KeyError, ValueError, EOFError) as exc:
        checker._sheet = ""
        checker.error(problem("format-error", "read-to-the-end", error=type(exc).__name__))
        return checker.plan
