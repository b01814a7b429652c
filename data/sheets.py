"""Read a dropped spreadsheet (.xlsx or .csv) cell by cell, refusing what cannot be read safely.

Each cell keeps what kind of value Excel stored (text, number, a number formatted as a
percentage or a date, a formula, an error) because the checks in ``data.intake`` depend on
it: ``0.256`` in a cell formatted as a percentage is 25.6 %, typed bare it is a mistake.

Nothing is loaded before the file is known to be what it claims and within the limits:
an .xlsx must be a real workbook without macros whose contents do not expand beyond 25
times the file-size limit (a small file can unzip to gigabytes), and rows are read one at a
time, never all at once.

Two readers give the same rows. python-calamine (Rust) reads a sheet about ten times faster
than openpyxl, but it does not say which cells hold a formula or an Excel error, nor how a
number is formatted. So a workbook is first scanned as bytes, once per sheet (the same pass
that finds merged cells): a formula, an error or date cell stored as such, an escaped
character (``_x000D_``), a carriage return or an integer of 16 digits or more (which openpyxl
keeps exact) hands the whole workbook to openpyxl, read as before; cells whose style is a
percentage or a date are read from their XML by openpyxl's own cell parser, with the
workbook's styles and date system. Every other cell is a plain value from calamine: text,
or a number (calamine gives 3509.0 where openpyxl gives 3509; the checks read them alike).
``tests/test_sheets.py`` compares the two readers cell by cell on tricky workbooks.
"""
from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, time
from functools import partial
from pathlib import Path
from typing import Callable, Iterator

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
    fmt: str = ""  # Excel's number format, where it matters (percent and date cells)


@dataclass
class Sheet:
    """One sheet. Its rows come as *raw values*, the cheap form the checks read in bulk:
    ``None`` or blank text (empty), ``str`` (text), ``int`` or ``float`` (a number in a
    General-like format), or a ``Cell`` for anything else (a percent or date cell, a
    formula, an error, a boolean). ``rows()`` gives the same rows as ``Cell`` objects."""
    name: str
    hidden: bool
    merged: list[str]  # ranges of merged cells, "A1:B1"
    _raw: Callable[[], Iterator[tuple[int, list]]]  # returns an iterator of (row number, [raw value, ...])
    reader: str = ""  # csv, calamine or openpyxl: which reader gives the rows

    def raw_rows(self) -> Iterator[tuple[int, list]]:
        return self._raw()

    def rows(self) -> Iterator[tuple[int, list[Cell]]]:
        for number, values in self._raw():
            yield number, to_cells(values, number)


def to_cells(values: list, number: int) -> list[Cell]:
    """A row of raw values as cells."""
    row = str(number)
    letters = _letters(len(values))
    return [v if type(v) is Cell else as_cell(v, letters[i] + row) for i, v in enumerate(values)]


def as_cell(value, ref: str) -> Cell:
    """The cell a raw value stands for (kinds as ``_cell`` gives them from openpyxl)."""
    kind = type(value)
    if kind is str:
        return Cell(value, "text", ref) if value and not value.isspace() else Cell(None, "empty", ref)
    if value is None:
        return Cell(None, "empty", ref)
    if kind is Cell:
        return value
    if kind is bool:
        return Cell(value, "bool", ref)
    if kind is int or kind is float:
        return Cell(value, "number", ref)
    if isinstance(value, (datetime, date, time)):
        return Cell(value, "date", ref)
    return Cell(str(value), "text", ref)


_LETTERS: tuple[str, ...] = ()


def _letters(n: int) -> tuple[str, ...]:
    """Column letters A, B, ... for at least the first ``n`` columns."""
    global _LETTERS
    letters = _LETTERS
    if len(letters) < n:  # built whole, then swapped in: safe if two threads do it at once
        letters = tuple(column_letter(i) for i in range(1, max(n, 256) + 1))
        _LETTERS = letters
    return letters


def column_letter(index: int) -> str:
    """1 -> A, 27 -> AA."""
    letters = ""
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def open_book(path: Path, display_name: str, max_bytes: int, *, fast: bool = True) -> list[Sheet]:
    """The sheets of the file (one for a CSV). Raises FormatError for a file that cannot be
    read at all, with what to do about it. ``fast=False`` reads an .xlsx with openpyxl only
    (the reference the fast reader is compared with)."""
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
    return _xlsx_sheets(path, max_bytes, fast)


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
        return enumerate(reader, start=1)  # every cell is text (or empty when blank)

    return Sheet("", False, [], rows, "csv")


# --- XLSX --------------------------------------------------------------------------------

_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\s[^>]*?ref="([A-Z]+[0-9]+(?::[A-Z]+[0-9]+)?)"')


def _xlsx_sheets(path: Path, max_bytes: int, fast: bool = True) -> list[Sheet]:
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

    if fast:
        try:
            return _calamine_sheets(path)
        except Exception:  # _Unsupported, or anything the fast reader did not expect
            pass  # read exactly as before

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
                            (lambda ws=ws: _xlsx_rows(ws)), "openpyxl"))
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
        return Cell(value, "percent", ref, fmt) if "%" in fmt else Cell(value, "number", ref)
    return Cell(str(value), "text", ref)


# --- XLSX, fast: python-calamine, with the bytes scanned for what it cannot tell --------------

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


def _calamine_sheets(path: Path) -> list[Sheet]:
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
    refs = [_col_index(m.group(1).decode()) for m in _CELL_REF.finditer(body)]
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
        raise FormatError("format-error",
                          f"Excel's file could not be read ({type(exc).__name__}): it may be damaged. "
                          f"Open it in Excel, save it again, and put it in the inbox.") from None
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
