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
``tests/test_sheets.py`` compares the two readers cell by cell on tricky workbooks. The fast
reader is in ``data.sheets_calamine``.
"""
from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass
from datetime import date, datetime, time
from pathlib import Path
from typing import Callable, Iterator

from data import messages

EXPANSION_FACTOR = 25  # an .xlsx may unzip to at most this many times the file-size limit
SUPPORTED = (".xlsx", ".csv")


class FormatError(Exception):
    """The file as a whole cannot be read: ``code``, and what to do as a message id of
    ``data.messages`` with its parameters (``message``: in English)."""

    def __init__(self, code: str, msg: str, **params):
        self.code, self.msg, self.params = code, msg, params
        self.message = messages.render(msg, params)
        super().__init__(self.message)


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


def open_book(path: Path, display_name: str, max_bytes: int, *, fast: bool = True,
              max_rows: int | None = None, max_columns: int | None = None) -> list[Sheet]:
    """The sheets of the file (one for a CSV). Raises FormatError for a file that cannot be
    read at all, with what to do about it. ``fast=False`` reads an .xlsx with openpyxl only
    (the reference the fast reader is compared with). An .xlsx with a cell below row
    ``max_rows`` + 1 or right of column ``max_columns`` (PKPI_MAX_ROWS, PKPI_MAX_COLUMNS by
    default) is refused before either reader opens it (``data.extent``)."""
    suffix = Path(display_name).suffix.lower()
    size = path.stat().st_size
    if suffix not in SUPPORTED:
        raise _unsupported(suffix)
    if size == 0:
        raise FormatError("format-error", "empty-file")
    if size > max_bytes:
        raise FormatError("file-too-large", "file-too-large", size=_mb(size), limit=_mb(max_bytes))
    if suffix == ".csv":
        return [_csv_sheet(path)]
    from data import settings
    extent = (max_rows if max_rows is not None else settings.max_rows(),
              max_columns if max_columns is not None else settings.max_columns())
    return _xlsx_sheets(path, max_bytes, fast, Path(display_name).name, extent)


def _mb(n: int) -> str:
    return f"{n / 1024 / 1024:.1f} MB"


def _unsupported(suffix: str) -> FormatError:
    if suffix == ".xls":
        return FormatError("format-error", "xls-file")
    if suffix in (".xlsm", ".xltm", ".xlsb"):
        return FormatError("format-error", "macro-file-type", suffix=suffix)
    return FormatError("format-error", "unsupported-type", suffix=suffix or messages.word("no extension"))


# --- CSV ---------------------------------------------------------------------------------

def _csv_sheet(path: Path) -> Sheet:
    text = csv_text(path.read_bytes())
    first = text.split("\n", 1)[0]
    # Excel writes ';' instead of ',' where the decimal separator is a comma.
    delimiter = max((",", ";", "\t"), key=first.count) if first else ","

    def rows():
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
        return enumerate(reader, start=1)  # every cell is text (or empty when blank)

    return Sheet("", False, [], rows, "csv")


_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def csv_text(raw: bytes) -> str:
    """The text of a CSV file: UTF-8 (with or without Excel's byte-order mark), or UTF-16
    with its byte-order mark (Excel's "Unicode Text", some exports): the mark says which
    UTF-16 it is, and every character is decoded strictly, so nothing is guessed. Any other
    encoding is refused with its name when it can be told (GB18030/GBK, Chinese Windows'
    default; UTF-16 without a mark), since guessing it could change a character silently."""
    if raw.startswith(_UTF16_BOMS) and not raw.startswith(b"\xff\xfe\x00\x00"):
        try:
            return raw.decode("utf-16")
        except UnicodeDecodeError as exc:
            line = raw[:exc.start].decode("utf-16", errors="replace").count("\n") + 1
            raise FormatError("encoding-error", "csv-encoding", line=line) from None
    head = raw[:65536]
    if b"\x00" in head:
        if _looks_utf16(head):
            raise FormatError("encoding-error", "csv-encoding-named", encoding="UTF-16 (without a byte-order mark)")
        raise FormatError("format-error", "csv-not-text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        if _looks_gb18030(raw):
            raise FormatError("encoding-error", "csv-encoding-named", encoding="GB18030/GBK") from None
        raise FormatError("encoding-error", "csv-encoding", line=line) from None


def _looks_utf16(head: bytes) -> bool:
    """Text in UTF-16 without its mark: one byte of nearly every pair is zero (Latin text)."""
    pairs = len(head) // 2
    if pairs < 2:
        return False
    even = sum(1 for i in range(0, pairs * 2, 2) if head[i] == 0)
    odd = sum(1 for i in range(1, pairs * 2, 2) if head[i] == 0)
    return max(even, odd) >= 0.6 * pairs and min(even, odd) <= 0.05 * pairs


def _looks_gb18030(raw: bytes) -> bool:
    """Decodes strictly as GB18030 (of which GBK is a part), and nearly every pair of bytes
    past ASCII is in the GB2312 range of common Chinese characters (both bytes 0xA1 or
    more), which Latin-1 or Windows-1252 text (an accented letter, then a plain one) is not."""
    try:
        raw.decode("gb18030")
    except UnicodeDecodeError:
        return False
    pairs = common = 0
    i, n = 0, len(raw)
    while i < n:
        if raw[i] < 0x80:
            i += 1
            continue
        pairs += 1
        common += i + 1 < n and raw[i] >= 0xA1 and raw[i + 1] >= 0xA1
        i += 2
    return pairs > 0 and common >= 0.9 * pairs


# --- XLSX --------------------------------------------------------------------------------

_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\s[^>]*?ref="([A-Z]+[0-9]+(?::[A-Z]+[0-9]+)?)"')


def _xlsx_sheets(path: Path, max_bytes: int, fast: bool = True, name: str = "",
                 extent: tuple[int, int] | None = None) -> list[Sheet]:
    with open(path, "rb") as f:
        magic = f.read(8)
    if magic.startswith(b"\xd0\xcf\x11\xe0"):
        raise FormatError("format-error", "xls-renamed")
    try:
        with zipfile.ZipFile(path) as z:
            infos = z.infolist()
    except (zipfile.BadZipFile, OSError):
        raise FormatError("format-error", "damaged-file") from None
    names = {i.filename for i in infos}
    if "xl/workbook.xml" not in names:
        raise FormatError("format-error", "not-a-workbook")
    if any(n.lower().endswith("vbaproject.bin") for n in names):
        raise FormatError("format-error", "macros-inside")
    expanded = sum(i.file_size for i in infos)
    limit = max_bytes * EXPANSION_FACTOR
    if expanded > limit:
        raise FormatError("file-too-large", "expands-too-much", size=_mb(expanded), limit=_mb(limit))
    if extent is not None:
        _check_extent(path, name, *extent)

    if fast:
        try:
            from data.sheets_calamine import calamine_sheets
            return calamine_sheets(path)
        except Exception:  # _Unsupported, or anything the fast reader did not expect
            pass  # read exactly as before

    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=False)
    except Exception as exc:  # openpyxl raises many kinds on a damaged package
        raise FormatError("format-error", "excel-unreadable", error=type(exc).__name__) from None
    sheets = []
    for ws in wb.worksheets:
        ws.reset_dimensions()  # do not trust the stored size: read every row present
        sheets.append(Sheet(ws.title, ws.sheet_state != "visible", _merged(path, ws),
                            (lambda ws=ws: _xlsx_rows(ws)), "openpyxl"))
    return sheets


def _check_extent(path: Path, name: str, max_rows: int, max_columns: int) -> None:
    """Refuse a workbook with a cell past the limits before any reader lays its sheet out."""
    import zlib

    from data.extent import column_letters, far_cell
    try:
        far = far_cell(path, max_rows + 1, max_columns)  # row 1 holds the column names
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError):
        raise FormatError("format-error", "damaged-file") from None
    except (NotImplementedError, RuntimeError, ValueError) as exc:  # a compression or encryption it cannot undo
        raise FormatError("format-error", "excel-unreadable", error=type(exc).__name__) from None
    if far is not None:
        raise FormatError("file-too-large", "cell-too-far", file=name, sheet=far.sheet or far.member,
                          cell=far.ref, max_row=max_rows + 1, max_column=column_letters(max_columns),
                          max_rows=max_rows, max_columns=max_columns)


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
        col = column_index(cell.ref)
        row = cell.ref[len(column_letter(col)):]
        while len(out) < col - 1:
            out.append(Cell(None, "empty", f"{column_letter(len(out) + 1)}{row}"))
        out.append(cell)
    return out


def column_index(ref: str) -> int:
    """The column number of a cell reference (``C12`` is 3)."""
    n = 0
    for ch in ref:
        if not ch.isalpha():
            break
        n = n * 26 + ord(ch.upper()) - 64
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

