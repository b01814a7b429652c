"""The spreadsheet template staff fill in and save into the drop folder's inbox.

Sheets: Instructions (what to do, column by column), Observations (one value a row), New
sources, New indicators and New areas (declarations, with the same metadata as the
curated ones), and Lists (the ids in the store now, which feed the drop-down lists).
The columns are those ``data.intake`` reads, so the template and the checks cannot drift.
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import IO

import sqlalchemy as sa
from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from data import schema, vocabulary as vocab
from data.intake import AREA_FIELDS, INDICATOR_FIELDS, OBSERVATION_FIELDS, SHEETS, SOURCE_FIELDS

_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
_REQUIRED_FILL = PatternFill("solid", fgColor="BDD7EE")
_ROWS = 20000  # rows the drop-down lists cover

_INSTRUCTIONS = [
    ("How to add values to the dashboard", "title"),
    ("", ""),
    ("1. Fill in the Observations sheet: one value per row, starting on row 2. Keep the column "
     "names on row 1 exactly as they are (you may leave optional columns empty, or delete them).", ""),
    ("2. Every value needs its citation: the report (source_id), where in it (locator) and the "
     "sentence that states the value, copied exactly (quote).", ""),
    ("3. Use the drop-down lists for indicator, area, unit, qualifier and source. If the report, the "
     "indicator or the area is new, declare it on the New sources, New indicators or New areas "
     "sheet first (one row each).", ""),
    ("4. Type values as plain numbers (25.6, 1067). A percentage is 25.6, or 25.6 % in a cell "
     "formatted as a percentage. Type periods as 2023, 2023-05, 2023-06-30, 2023-01/2023-08, or "
     "2022/23 for a fiscal year (July to June).", ""),
    ("5. To correct a value that is already published, give the corrected row and write yes in "
     "the revision column. Both values are kept; the dashboard shows the newer one, marked revised.", ""),
    ("6. Save the file (Excel Workbook, .xlsx) and close it, then save or copy it into the inbox "
     "folder. Within a few seconds it is read.", ""),
    ("", ""),
    ("What happens next", "heading"),
    ("If everything is right, the values appear in the dashboard and the file moves to the "
     "accepted folder. If anything is wrong, nothing at all is added: the file moves to the "
     "rejected folder, beside a short report (.errors.txt) and a full list (.errors.csv) naming "
     "the sheet, row and column of each problem. Correct the file and save it into the inbox "
     "again. The Updates page of the dashboard shows every file and what it added.", ""),
    ("", ""),
    ("Not read: formulas (paste values instead), merged cells, hidden sheets, other sheets, "
     "macros (.xlsm) and old .xls files. A CSV file (UTF-8) with the same columns also works.", ""),
    ("", ""),
    ("The columns", "heading"),
]


def lists(engine: sa.Engine | None = None) -> dict[str, list[tuple]]:
    """Ids in the store now, for the drop-down lists."""
    from data.stores import reader_for
    with reader_for(engine) as r:  # DuckDB or PostgreSQL
        i, a, s = schema.indicators, schema.areas, schema.sources
        return {
            "indicators": r.rows(sa.select(i.c.indicator_id, i.c.name_en, i.c.unit, i.c.family)
                                 .order_by(i.c.indicator_id)),
            "areas": r.rows(sa.select(a.c.area_id, a.c.name_en).order_by(a.c.area_id)),
            "sources": r.rows(sa.select(s.c.source_id, s.c.cite_as, s.c.date)
                              .order_by(s.c.date_start.desc(), s.c.source_id)),
        }


def write_template(out: IO[bytes] | Path | str, engine: sa.Engine | None = None) -> None:
    wb = Workbook()
    instructions = wb.active
    instructions.title = "Instructions"
    sheets = {name: wb.create_sheet(name) for name in SHEETS}
    ranges = _write_lists(wb.create_sheet("Lists"), lists(engine))
    for name, fields in SHEETS.items():
        _write_data_sheet(sheets[name], name, fields, ranges)
    _write_instructions(instructions)
    wb.active = 1  # open on the Observations sheet

    if isinstance(out, (str, Path)):
        wb.save(str(out))
    else:
        wb.save(out)


def _write_lists(listing, data: dict) -> dict[str, str]:
    """One block of columns per list; returns the range of each, which the drop-downs refer to."""
    blocks = [
        ("indicator_id", ["indicator_id", "name", "unit", "family"], data["indicators"]),
        ("area", ["area", "name"], data["areas"]),
        ("source_id", ["source_id", "cite as", "date"], data["sources"]),
        ("unit", ["unit", "meaning"], [(k, t.name_en) for k, t in vocab.UNITS.items()]),
        ("qualifier", ["qualifier", "meaning"], [(k, t.name_en) for k, t in vocab.QUALIFIERS.items()]),
        ("obs_status", ["obs_status", "meaning"], [(k, t.name_en) for k, t in vocab.OBS_STATUS.items()]),
        ("family", ["family", "meaning"], [(k, t.name_en) for k, t in vocab.FAMILIES.items()]),
        ("chart", ["chart"], [(c,) for c in vocab.CHART_TYPES]),
        ("kind", ["kind"], [(k,) for k in vocab.AREA_KINDS]),
        ("revision", ["revision"], [("yes",)]),
    ]
    ranges = {}
    col = 1
    for key, header, rows in blocks:
        for j, title in enumerate(header):
            cell = listing.cell(row=1, column=col + j, value=title)
            cell.font = Font(bold=True)
            cell.fill = _HEADER_FILL
            listing.column_dimensions[get_column_letter(col + j)].width = 16 if j == 0 else 30
        for r, values in enumerate(rows, start=2):
            for j, value in enumerate(values):
                listing.cell(row=r, column=col + j, value=str(value) if value is not None else "")
        letter = get_column_letter(col)
        ranges[key] = f"Lists!${letter}$2:${letter}${max(2, len(rows) + 1)}"
        col += len(header) + 1
    listing.freeze_panes = "A2"
    listing.protection.sheet = True  # read-only by accident, not by force: no password
    return ranges


def _write_data_sheet(ws, name: str, fields, ranges: dict[str, str]) -> None:
    """Header row, help in a comment on each name, drop-downs."""
    for j, f in enumerate(fields, start=1):
        cell = ws.cell(row=1, column=j, value=f.name)
        cell.font = Font(bold=True)
        cell.fill = _REQUIRED_FILL if f.required else _HEADER_FILL
        cell.comment = Comment(("Required. " if f.required else "Optional. ") + f.help, "template",
                               width=320, height=120)
        letter = get_column_letter(j)
        ws.column_dimensions[letter].width = {"quote": 60, "quote_en": 50, "note": 40,
                                              "definition": 50, "title_en": 50}.get(f.name, 18)
        if f.name in ("period", "date", "value_text", "locator"):
            # Text, so that Excel keeps 2023-05 as typed instead of making it a date.
            ws.column_dimensions[letter].number_format = "@"
    ws.freeze_panes = "A2"
    positions = {f.name: get_column_letter(j) for j, f in enumerate(fields, start=1)}
    wanted = {"Observations": {"indicator_id": "indicator_id", "area": "area", "unit": "unit",
                               "qualifier": "qualifier", "obs_status": "obs_status",
                               "source_id": "source_id", "revision": "revision"},
              "New indicators": {"family": "family", "unit": "unit", "chart": "chart"},
              "New areas": {"kind": "kind"}}.get(name, {})
    for column, key in wanted.items():
        # New ids may be declared on the other sheets: for those lists Excel only warns.
        open_list = key in ("indicator_id", "area", "source_id")
        dv = DataValidation(type="list", formula1=f"={ranges[key]}", allow_blank=True,
                            errorStyle="warning" if open_list else "stop",
                            error=("Not in the list: declare it on the New sheets, or pick one from the list."
                                   if open_list else "Pick a value from the list."),
                            errorTitle="Not in the list")
        dv.add(f"{positions[column]}2:{positions[column]}{_ROWS}")
        ws.add_data_validation(dv)


def _write_instructions(instructions) -> None:
    """What to do, then every column of every sheet with its help (in English and Chinese)."""
    instructions.column_dimensions["A"].width = 22
    instructions.column_dimensions["B"].width = 12
    instructions.column_dimensions["C"].width = 110
    instructions.column_dimensions["D"].width = 80
    r = 1
    for text, style in _INSTRUCTIONS:
        cell = instructions.cell(row=r, column=1, value=text)
        if style == "title":
            cell.font = Font(bold=True, size=14)
        elif style == "heading":
            cell.font = Font(bold=True, size=12)
        else:
            instructions.merge_cells(start_row=r, start_column=1, end_row=r, end_column=3)
            cell.alignment = Alignment(wrap_text=True, vertical="top")
            if text:
                instructions.row_dimensions[r].height = 15 * (1 + len(text) // 140)
        r += 1
    for name, fields in SHEETS.items():
        r += 1
        instructions.cell(row=r, column=1, value=f"Sheet {name}").font = Font(bold=True)
        r += 1
        for f in fields:
            instructions.cell(row=r, column=1, value=f.name)
            instructions.cell(row=r, column=2, value="required" if f.required else "optional")
            instructions.cell(row=r, column=3, value=f.help).alignment = Alignment(wrap_text=True)
            instructions.cell(row=r, column=4, value=f.help_zh).alignment = Alignment(wrap_text=True)
            r += 1


def template_bytes(engine: sa.Engine | None = None) -> bytes:
    buf = io.BytesIO()
    write_template(buf, engine)
    return buf.getvalue()


__all__ = ["write_template", "template_bytes", "lists", "OBSERVATION_FIELDS", "SOURCE_FIELDS",
           "INDICATOR_FIELDS", "AREA_FIELDS"]
