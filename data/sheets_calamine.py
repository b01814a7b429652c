"""Reading an .xlsx fast: python-calamine, with the workbook's bytes scanned for what it
cannot tell (formulas, errors, percent and date cells, merged ranges). See ``data.sheets``,
which falls back to openpyxl whenever this reader raises."""
from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Iterator

from data.sheets import _MERGE, Cell, FormatError, Sheet, _cell, column_index


class _Unsupported(Exception):
    """The fast reader could not give exactly what openpyxl gives: read with openpyxl."""


_MAIN_NS = b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
_ROOT = re.compile(rb"<([A-Za-z_][\w.-]*:)?worksheet[\s>]")
_FORMULA = re.compile(rb"<f[\s/>]")
_ERROR_OR_DATE_CELL = re.compile(rb"""t=["'][ed]["']""")  # t="e" (an error), t="d" (an ISO date)
_ESCAPED = re.compile(rb"_x[0-9A-Fa-f]{4}_")  # openpyxl keeps _x000D_ as it is; calamine decodes it
_BIG_INTEGER = re.compile(rb"<v>-?\d{16}")  # openpyxl keeps it an exact int; calamine a float
_CELL_REF = re.compile(rb"""\sr\s*=\s*["']([A-Z]{1,3})([0-9]+)["']""")
_CELL_TYPE = re.compile(rb"""\st\s*=\s*["']([A-Za-z]+)["']""")
_ROW_ONE = re.compile(rb"""<row\b[^>]*?\sr\s*=\s*["']1["'][^>]*>""")
_CELL_TAG = re.compile(rb"<c[\s/>]")
_SEGMENT_LIMIT = 16 << 20  # bytes scanned at once; a sheet whose rows do not end is left to openpyxl
# A number format that is neither a date nor a percentage for openpyxl, nor a date for
# calamine: no letters (but the E of 0.00E+00), no %, no [colour] or "text".
_PLAIN_FORMAT = re.compile(r"[0#?,.\s;()\-+_*\\/Ee]*")


def _plain_format(fmt: str | None) -> bool:
    return fmt in (None, "General", "@") or bool(_PLAIN_FORMAT.fullmatch(fmt))


@dataclass
class _Book:
    """What openpyxl reads of a workbook besides its cells: sheets, styles, date system."""
    sheets: list[tuple[str, str, str]]  # name, state (visible, hidden, veryHidden), member
    strings: str | None  # the shared strings' member
    special: set[int]  # styles whose number format is a percentage, a date or anything not plain
    parser: object  # openpyxl's cell parser, set up with the workbook's date formats and epoch
    styled: object  # stands for a sheet of the workbook for openpyxl's ReadOnlyCell


def _book(path: Path) -> _Book:
    """Read the workbook's parts openpyxl reads before any cell (manifest, workbook,
    properties, styles), with openpyxl itself. Raises _Unsupported if any fails: openpyxl's
    own load then says why, as before."""
    try:
        from openpyxl.reader.excel import ExcelReader
        from openpyxl.styles.numbers import BUILTIN_FORMATS, BUILTIN_FORMATS_MAX_SIZE
        from openpyxl.styles.stylesheet import apply_stylesheet
        from openpyxl.worksheet._reader import WorkSheetParser
        from openpyxl.xml.constants import SHARED_STRINGS
    except ImportError:
        raise _Unsupported from None
    try:
        reader = ExcelReader(str(path), read_only=True, data_only=False)
        try:
            reader.read_manifest()
            reader.read_workbook()
            reader.read_properties()
            reader.read_custom()
            apply_stylesheet(reader.archive, reader.wb)
            sheets = [(sheet.name, sheet.state, rel.target) for sheet, rel in reader.parser.find_sheets()
                      if rel.target in reader.valid_files and "chartsheet" not in rel.Type]
            part = reader.package.find(SHARED_STRINGS)
        finally:
            reader.archive.close()
    except Exception:  # openpyxl raises many kinds on a damaged package
        raise _Unsupported from None
    wb = reader.wb
    special = set()
    for index, style in enumerate(wb._cell_styles):
        fid = style.numFmtId
        fmt = (BUILTIN_FORMATS.get(fid, "General") if fid < BUILTIN_FORMATS_MAX_SIZE
               else wb._number_formats[fid - BUILTIN_FORMATS_MAX_SIZE])
        if not _plain_format(fmt):
            special.add(index)
    parser = WorkSheetParser(None, [], data_only=False, epoch=wb.epoch, date_formats=wb._date_formats,
                             timedelta_formats=wb._timedelta_formats)

    class _Styled:  # ReadOnlyCell looks up its number format through sheet.parent
        parent = wb
        title = ""

    return _Book(sheets, part.PartName[1:] if part is not None else None, special, parser, _Styled())


def calamine_sheets(path: Path) -> list[Sheet]:
    try:
        from python_calamine import CalamineWorkbook
    except ImportError:
        raise _Unsupported from None
    book = _book(path)
    try:
        workbook = CalamineWorkbook.from_path(str(path))
        names = set(workbook.sheet_names)
    except Exception:
        raise _Unsupported from None
    if any(name not in names for name, _, _ in book.sheets):
        raise _Unsupported
    sheets = []
    with zipfile.ZipFile(path) as z:
        if book.strings and book.strings in z.namelist():
            _scan_strings(z, book.strings)
        for name, state, member in book.sheets:
            merged, overlay, first_width = _scan_sheet(z, member, book)
            sheets.append(Sheet(name, state != "visible", merged,
                                partial(_calamine_rows, workbook, name, overlay, first_width), "calamine"))
    return sheets


def _scan_strings(z: zipfile.ZipFile, member: str) -> None:
    with z.open(member) as f:
        tail = b""
        while chunk := f.read(1 << 20):
            data = tail + chunk
            if b"\r" in chunk or _ESCAPED.search(data):
                raise _Unsupported
            tail = data[-8:]


def _scan_sheet(z: zipfile.ZipFile, member: str, book: _Book) -> tuple[list[str], dict, int | None]:
    """One pass over a sheet's XML: its merged ranges, its percent and date cells as
    openpyxl reads them ({(row, column): Cell}), and how many cells row 1 holds (openpyxl
    gives a row up to its last cell, calamine up to the sheet's last column: it matters in
    the header, where a blank name above data is reported). Raises _Unsupported for what
    calamine would read otherwise than openpyxl."""
    merged: dict[str, None] = {}
    overlay: dict[tuple[int, int], Cell] = {}
    first_width: int | None = None
    found_first = False
    styles = None
    if book.special:
        styles = re.compile(rb"""\ss\s*=\s*["'](""" + b"|".join(str(i).encode() for i in sorted(book.special))
                            + rb""")["']""")
    first = True
    buffer = b""
    with z.open(member) as f:
        while True:
            chunk = f.read(1 << 20)
            if first:
                root = _ROOT.search(chunk[:4096])
                if not root or root.group(1) or _MAIN_NS not in chunk[root.start():root.start() + 4096]:
                    raise _Unsupported  # a prefixed or strict-namespace sheet: openpyxl reads it
                first = False
            buffer += chunk
            if chunk:
                cut = buffer.rfind(b"</row>")
                if cut < 0:
                    if len(buffer) > _SEGMENT_LIMIT:
                        raise _Unsupported
                    continue
                cut += 6
                segment, buffer = buffer[:cut], buffer[cut:]
            else:
                segment, buffer = buffer, b""
            if (_FORMULA.search(segment) or _ERROR_OR_DATE_CELL.search(segment) or b"\r" in segment
                    or _ESCAPED.search(segment) or _BIG_INTEGER.search(segment)):
                raise _Unsupported
            if not found_first:
                row_one = _ROW_ONE.search(segment)
                if row_one:
                    found_first, first_width = True, _row_width(segment, row_one)
            if b"mergeCell" in segment:
                for m in _MERGE.finditer(segment):
                    merged[m.group(1).decode()] = None
            if styles is not None:
                for m in styles.finditer(segment):
                    _styled_cell(segment, m.start(), book, overlay)
            if not chunk:
                break
    return list(merged), overlay, (first_width if found_first else 0)


def _row_width(data: bytes, row: re.Match) -> int:
    """The column of the last cell of the row element ``row`` starts (0 if none)."""
    if row.group(0).endswith(b"/>"):
        return 0
    end = data.find(b"</row>", row.end())
    body = data[row.end():end]
    refs = [column_index(m.group(1).decode()) for m in _CELL_REF.finditer(body)]
    if len(refs) != len(_CELL_TAG.findall(body)):
        raise _Unsupported  # a cell without its reference: counted by position
    return max(refs, default=0)


def _styled_cell(data: bytes, at: int, book: _Book, overlay: dict) -> None:
    """Read the cell whose style attribute is at ``at`` with openpyxl's own cell parser."""
    start = data.rfind(b"<", 0, at)
    if data[start:start + 2] != b"<c" or data[start + 2:start + 3] not in (b" ", b"\t", b"\n", b"\r"):
        return  # a row's style, not a cell's
    end = data.find(b">", at)
    if end < 0:
        raise _Unsupported
    tag = data[start:end + 1]
    kind = _CELL_TYPE.search(tag)
    if kind and kind.group(1) != b"n":
        return  # text and booleans: calamine reads them as openpyxl does, whatever the format
    ref = _CELL_REF.search(tag)
    if not ref:
        raise _Unsupported  # a cell without its reference: counted by position
    if tag.endswith(b"/>"):
        element = tag
    else:
        close = data.find(b"</c>", end)
        if close < 0:
            raise _Unsupported
        element = data[start:close + 4]
    from openpyxl.cell.read_only import ReadOnlyCell
    from xml.etree.ElementTree import fromstring

    try:
        parsed = book.parser.parse_cell(fromstring(b"<c " + _MAIN_NS + element[2:]))
    except Exception:
        raise _Unsupported from None
    cell = ReadOnlyCell(book.styled, parsed["row"], parsed["column"], parsed["value"], parsed["data_type"],
                        parsed["style_id"])
    overlay[(parsed["row"], parsed["column"])] = _cell(cell)


def _calamine_rows(workbook, name: str, overlay: dict, first_width: int | None) -> Iterator[tuple[int, list]]:
    try:
        sheet = workbook.get_sheet_by_name(name)
        rows = sheet.iter_rows()
        first_column = sheet.start[1] if sheet.start else 0
    except Exception as exc:
        raise FormatError("format-error", "excel-unreadable", error=type(exc).__name__) from None
    by_row: dict[int, list[tuple[int, Cell]]] = {}
    for (row, column), cell in overlay.items():
        by_row.setdefault(row, []).append((column, cell))
    pad = [None] * first_column
    # iter_rows gives every row from the first (row 1), each from the sheet's first used column.
    for number, values in enumerate(rows, start=1):
        if first_column:
            values = pad + values
        cells = by_row.get(number)
        if cells:
            for column, cell in cells:
                while len(values) < column:
                    values.append(None)
                values[column - 1] = cell
        if number == 1 and first_width is not None:
            values = values[:first_width]  # as openpyxl gives it: up to its last cell
        yield number, values
        if number == 1 and not first_column and not by_row:
            yield from enumerate(rows, start=2)  # nothing to add to the other rows
            return
