"""Read a dropped spreadsheet (.xlsx or .csv) cell by cell, refusing what cannot be read safely.

Each cell keeps what kind of value Excel stored (text, number, a number formatted as a
percentage or a date, a formula, an error) because the checks in ``data.intake`` depend on
it: ``0.256`` in a cell formatted as a percentage is 25.6 %, typed bare it is a mistake.

Nothing is loaded before the file is known to be what it claims and within the limits:
an .xlsx must be a real workbook without macros whose contents do not expand beyond 25
times the file-size limit (a small file can unzip to gigabytes), and rows are read one at a
time, never all at once.
"""
from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Iterator

EXPANSION_FACTOR = 25  # an .xlsx may unzip to at most this many times the file-size limit
SUPPORTED = (".xlsx", ".csv")


class FormatError(Exception):
    """The file as a whole cannot be read: ``code`` and a plain-language ``message``."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Cell:
    value: object  # str, float, int, bool, datetime, or None
    kind: str  # empty, text, number, percent, date, bool, formula, error
    ref: str  # E12 (the column letter is counted the same way in a CSV)
    fmt: str = ""  # Excel's number format, when it matters


@dataclass
class Sheet:
    name: str
    hidden: bool
    merged: list[str]  # ranges of merged cells, "A1:B1"
    _rows: object  # callable returning an iterator of (row number, [Cell, ...])

    def rows(self) -> Iterator[tuple[int, list[Cell]]]:
        return self._rows()


def column_letter(index: int) -> str:
    """1 -> A, 27 -> AA."""
    letters = ""
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def open_book(path: Path, display_name: str, max_bytes: int) -> list[Sheet]:
    """The sheets of the file (one for a CSV). Raises FormatError for a file that cannot be
    read at all, with what to do about it."""
    suffix = Path(display_name).suffix.lower()
    size = path.stat().st_size
    if suffix not in SUPPORTED:
        raise FormatError("format-error", _unsupported(suffix))
    if size == 0:
        raise FormatError("format-error", "The file is empty (0 bytes). Save the spreadsheet "
                                          "again and put the saved file in the inbox.")
    if size > max_bytes:
        raise FormatError("file-too-large",
                          f"The file is {_mb(size)}, more than the limit of {_mb(max_bytes)}. "
                          f"Split it into several smaller files.")
    if suffix == ".csv":
        return [_csv_sheet(path)]
    return _xlsx_sheets(path, max_bytes)


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB"


def _unsupported(suffix: str) -> str:
    if suffix == ".xls":
        return ("This is an old-format Excel file (.xls). Open it in Excel and use File > Save As > "
                "'Excel Workbook (*.xlsx)', then put the .xlsx file in the inbox.")
    if suffix in (".xlsm", ".xltm", ".xlsb"):
        return (f"This Excel file type ({suffix}) can hold macros, which are never opened here. "
                f"Use File > Save As > 'Excel Workbook (*.xlsx)', then put the .xlsx file in the inbox.")
    shown = suffix or "no extension"
    return (f"Files of this type ({shown}) are not read. Use the template (.xlsx) or a CSV file "
            f"saved as 'CSV UTF-8 (Comma delimited)'.")


# --- CSV ---------------------------------------------------------------------------------

def _csv_sheet(path: Path) -> Sheet:
    raw = path.read_bytes()
    if b"\x00" in raw[:65536]:
        raise FormatError("format-error", "This is not a text file, though its name ends in .csv "
                                          "(it may be another kind of file renamed). Save the "
                                          "spreadsheet as 'CSV UTF-8 (Comma delimited)'.")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise FormatError("encoding-error",
                          f"Line {line} is not UTF-8 text, so Chinese characters would be garbled. "
                          f"In Excel use File > Save As > 'CSV UTF-8 (Comma delimited)'.") from None
    first = text.split("\n", 1)[0]
    # Excel writes ';' instead of ',' where the decimal separator is a comma.
    delimiter = max((",", ";", "\t"), key=first.count) if first else ","

    def rows():
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        for number, cells in enumerate(reader, start=1):
            yield number, [Cell(v, "text" if v.strip() else "empty", f"{column_letter(i)}{number}")
                           for i, v in enumerate(cells, start=1)]

    return Sheet("", False, [], rows)


# --- XLSX --------------------------------------------------------------------------------

_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\s[^>]*?ref="([A-Z]+[0-9]+(?::[A-Z]+[0-9]+)?)"')


def _xlsx_sheets(path: Path, max_bytes: int) -> list[Sheet]:
    with open(path, "rb") as f:
        magic = f.read(8)
    if magic.startswith(b"\xd0\xcf\x11\xe0"):
        raise FormatError("format-error",
                          "This is an old-format Excel file (.xls) renamed to .xlsx, or a workbook "
                          "protected with a password. Open it in Excel, remove any password, and "
                          "use File > Save As > 'Excel Workbook (*.xlsx)'.")
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, OSError):
        raise FormatError("format-error",
                          "The file is damaged or was not completely saved, or it is another kind of "
                          "file renamed to .xlsx. Open it in Excel, save it again, and put it in the inbox.") from None
    names = {i.filename for i in infos}
    if "xl/workbook.xml" not in names:
        raise FormatError("format-error", "This is not an Excel workbook (it may be another kind of "
                                          "file renamed to .xlsx). Use the template.")
    if any(n.lower().endswith("vbaproject.bin") for n in names):
        raise FormatError("format-error", "This workbook contains macros, which are never opened here. "
                                          "Use File > Save As > 'Excel Workbook (*.xlsx)'.")
    expanded = sum(i.file_size for i in infos)
    limit = max_bytes * EXPANSION_FACTOR
    if expanded > limit:
        raise FormatError("file-too-large",
                          f"The workbook would expand to {_mb(expanded)} when opened, more than the "
                          f"limit of {_mb(limit)}. Split it into several smaller files.")

    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many kinds on a damaged package
        raise FormatError("format-error",
                          f"Excel's file could not be read ({type(exc).__name__}): it may be damaged. "
                          f"Open it in Excel, save it again, and put it in the inbox.") from None
    sheets = []
    for ws in wb.worksheets:
        ws.reset_dimensions()  # do not trust the stored size: read every row present
        sheets.append(Sheet(ws.title, ws.sheet_state != "visible", _merged(path, ws),
                            (lambda ws=ws: _xlsx_rows(ws))))
    return sheets


def _merged(path: Path, ws) -> list[str]:
    """Merged ranges, read from the sheet's XML (openpyxl's read-only mode skips them)."""
    member = getattr(ws, "_worksheet_path", None)
    if not member:
        return []
    found: dict[str, None] = {}
    tail = b""
    with zipfile.ZipFile(path) as z, z.open(member.lstrip("/")) as f:
        while chunk := f.read(1 << 20):
            data = tail + chunk
            for m in _MERGE.finditer(data):
                found[m.group(1).decode()] = None
            tail = data[-300:]  # a tag may straddle two chunks
    return list(found)


def _xlsx_rows(ws) -> Iterator[tuple[int, list[Cell]]]:
    for row in ws.iter_rows():
        cells = []
        number = None
        for c in row:
            if getattr(c, "row", None) is None:  # EmptyCell padding
                continue
            number = c.row
            cells.append(_cell(c))
        if number is not None:
            yield number, _pad(cells)


def _pad(cells: list[Cell]) -> list[Cell]:
    """Cells at their column position (read-only mode may skip empty ones)."""
    if not cells:
        return cells
    out: list[Cell] = []
    for cell in cells:
        col = _col_index(cell.ref)
        row = cell.ref[len(column_letter(col)):]
        while len(out) < col - 1:
            out.append(Cell(None, "empty", f"{column_letter(len(out) + 1)}{row}"))
        out.append(cell)
    return out


def _col_index(ref: str) -> int:
    n = 0
    for ch in ref:
        if not ch.isalpha():
            break
        n = n * 26 + ord(ch) - 64
    return n


def _cell(c) -> Cell:
    ref = c.coordinate
    value, kind = c.value, c.data_type
    if value is None or (isinstance(value, str) and not value.strip() and kind != "f"):
        return Cell(None, "empty", ref)
    if kind == "f" or (isinstance(value, str) and kind != "s" and value.startswith("=")):
        return Cell(value, "formula", ref)
    if kind == "e":
        return Cell(value, "error", ref)
    if kind == "b" or isinstance(value, bool):
        return Cell(value, "bool", ref)
    if isinstance(value, (datetime, date, time)):
        return Cell(value, "date", ref, c.number_format or "")
    if isinstance(value, (int, float)):
        fmt = c.number_format or ""
        return Cell(value, "percent" if "%" in fmt else "number", ref, fmt)
    return Cell(str(value), "text", ref)
