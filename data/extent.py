"""How far a workbook's cells reach, found from its XML before any reader opens it.

A reader lays a sheet out as a grid from A1 to its farthest cell: python-calamine allocates
the whole grid at once (about 32 bytes a cell), so one text cell at ``P1048576`` costs half a
gigabyte and one at ``XFD1048576`` aborts the process; openpyxl walks every row up to it. The
``<dimension>`` a sheet declares may lie or be missing, so it is not trusted: every row and
cell position is taken from the XML itself, as the readers take it: a ``<row>`` or ``<c>``
with an ``r`` attribute is where it says, one without is one past the previous (a sheet of a
million bare ``<row/>`` elements reaches row 1,048,576 in 6 MB).

The scan streams each part of the package that holds cells (``sheetData``) in pieces of
1 MB. Rows are followed one by one (a sheet has far fewer rows than cells); cells only by
regular expressions that look for a reference past the limits, or for a cell without a
reference (then that piece is read tag by tag), so a sheet within the limits costs one pass
of ``re`` over its bytes. It stops at the first cell past a limit.
"""
from __future__ import annotations

import html
import posixpath
import re
import zipfile
from dataclasses import dataclass

_CHUNK = 1 << 20
_PREFIX = rb"(?:[\w.-]+:)?"  # a namespace prefix: x:row, x:c
_ATTR = rb"""\s+[^\s=<>/]+\s*=\s*(?:"[^"]*"|'[^']*')"""  # attribute values may hold '>'
_ROW_TAG = re.compile(rb"<" + _PREFIX + rb"row(?=[\s/>])((?:" + _ATTR + rb")*)")
_TAG = re.compile(rb"<" + _PREFIX + rb"(row|c)(?=[\s/>])((?:" + _ATTR + rb")*)")
_ATTR_PARTS = re.compile(rb"""\s+([^\s=<>/]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_REF = re.compile(rb"\s*([A-Za-z]*)0*([0-9]*)\s*")
_SHEET_DATA = b"sheetData"


@dataclass(frozen=True)
class FarCell:
    member: str  # the part of the package (xl/worksheets/sheet1.xml)
    sheet: str  # the sheet's name as Excel shows it ("" when no sheet points at the part)
    ref: str  # where the cell is: XFD1048576
    row: int
    column: int


def column_letters(index: int) -> str:
    letters = ""
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def _column(letters: bytes) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ch - 64
    return n


def _greater(limit: str, digits: bool) -> bytes:
    """A pattern for strings of the limit's alphabet that stand for more than ``limit``
    (numbers without leading zeros, or column letters): longer ones, or as long and greater
    at the first place they differ."""
    alphabet = "0123456789" if digits else "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    first = "1-9" if digits else "A-Z"
    every = "0-9" if digits else "A-Z"
    n = len(limit)
    options = [f"[{first}][{every}]{{{n},}}"]
    for i, ch in enumerate(limit):
        higher = alphabet[alphabet.index(ch) + 1:]
        if higher:
            options.append(re.escape(limit[:i]) + f"[{higher}]" + (f"[{every}]{{{n - i - 1}}}" if n - i - 1 else ""))
    return ("(?:" + "|".join(options) + ")").encode()


class _Limits:
    def __init__(self, max_row: int, max_column: int):
        self.max_row, self.max_column = max_row, max_column
        far_row = _greater(str(max_row), True)
        far_col = _greater(column_letters(max_column), False)
        # A cell whose reference, its first attribute, is past a limit (letters in either case,
        # as the readers take them).
        self.far_cell = re.compile(rb'<c( r="\s*(?:(?i:' + far_col + rb")[0-9]+|[A-Za-z]+0*" + far_row
                                   + rb')\s*")')
        # A cell or row tag that does not start so (then the piece is read tag by tag).
        self.irregular_cell = re.compile(rb'<c(?! r=")')
        self.irregular_row = re.compile(rb'<row(?! r=")')


def _names(z: zipfile.ZipFile, members: set[str]) -> dict[str, str]:
    """Which sheet name points at which part (workbook.xml and its relationships), for the
    message only: every part with cells is scanned whatever it is called."""
    try:
        book = z.read("xl/workbook.xml")[:4 << 20]
        rels = z.read("xl/_rels/workbook.xml.rels")[:4 << 20] if "xl/_rels/workbook.xml.rels" in members else b""
    except (KeyError, OSError, zipfile.BadZipFile, RuntimeError, ValueError):
        return {}
    attr = re.compile(rb"""([\w.:-]+)\s*=\s*(?:"([^"]*)"|'([^']*)')""")

    def attrs(tag: bytes) -> dict[str, str]:
        out = {}
        for m in attr.finditer(tag):
            key = m.group(1).decode("utf-8", "replace")
            value = (m.group(2) if m.group(2) is not None else m.group(3)).decode("utf-8", "replace")
            out[key] = html.unescape(value)
        return out

    targets = {}
    for m in re.finditer(rb"<" + _PREFIX + rb"Relationship\s[^<]*", rels):
        a = attrs(m.group(0))
        if "Id" in a and "Target" in a:
            t = a["Target"]
            targets[a["Id"]] = t.lstrip("/") if t.startswith("/") else posixpath.normpath("xl/" + t)
    names = {}
    for m in re.finditer(rb"<" + _PREFIX + rb"sheet\s[^<]*", book):
        a = attrs(m.group(0))
        rid = next((v for k, v in a.items() if k == "id" or k.endswith(":id")), None)
        if rid in targets and "name" in a:
            names.setdefault(targets[rid], a["name"])
    return names


def far_cell(path, max_row: int, max_column: int) -> FarCell | None:
    """The first cell (or row) found past row ``max_row`` or column ``max_column`` in any
    part of the workbook at ``path`` that holds cells; None when every one is within."""
    limits = _Limits(max_row, max_column)
    with zipfile.ZipFile(path) as z:
        infos = z.infolist()
        names = None
        for info in infos:
            if info.is_dir():
                continue
            found = _scan_member(z, info, limits)
            if found is not None:
                row, column = found
                if names is None:
                    names = _names(z, {i.filename for i in infos})
                ref = f"{column_letters(column) if column else 'A'}{row}"
                return FarCell(info.filename, names.get(info.filename, ""), ref, row, column)
    return None


def _scan_member(z: zipfile.ZipFile, info: zipfile.ZipInfo, limits: _Limits) -> tuple[int, int] | None:
    """(row, column) of the first position past the limits in one part, or None."""
    state = [0, 0]  # the current row, and the current cell's column in it
    started = False
    buffer = b""
    with z.open(info) as f:
        while True:
            chunk = f.read(_CHUNK)
            if not started:
                data = buffer + chunk
                at = data.find(_SHEET_DATA)
                if at < 0:
                    if not chunk:
                        return None
                    buffer = data[-len(_SHEET_DATA):]
                    continue
                started, buffer, chunk = True, b"", data[at:]
            buffer += chunk
            if chunk:
                cut = buffer.rfind(b"<")  # everything before the last '<' is whole tags
                if cut <= 0:
                    if len(buffer) > 64 * _CHUNK:  # 64 MB without a tag: text, nothing to place
                        buffer = b""
                    continue
                piece, buffer = buffer[:cut], buffer[cut:]
            else:
                piece, buffer = buffer, b""
            found = _scan_piece(piece, limits, state)
            if found is not None:
                return found
            if not chunk:
                return None


def _position(attrs: bytes) -> tuple[int, int] | None:
    """(column, row) from a tag's ``r`` attribute; None without one."""
    for m in _ATTR_PARTS.finditer(attrs):  # whole attributes, in order: never inside a value
        if m.group(1) == b"r":
            ref = _REF.fullmatch(m.group(2) if m.group(2) is not None else m.group(3))
            if ref is None:
                return 0, 0
            letters, digits = ref.group(1), ref.group(2)
            return (_column(letters) if letters else 0), (int(digits) if digits else 0)
    return None


def _scan_piece(piece: bytes, limits: _Limits, state: list[int]) -> tuple[int, int] | None:
    if (limits.irregular_cell.search(piece) is None and b":c" not in piece
            and b":row" not in piece):
        # As Excel, LibreOffice and openpyxl write them: every cell opens with <c r="...",
        # so one search finds a far one; the row reached is the last <row r="...">.
        far = limits.far_cell.search(piece)
        if far is not None:
            column, row = _position(far.group(1))
            return row, column
        if limits.irregular_row.search(piece) is None:
            last = piece.rfind(b'<row r="')
            if last >= 0:
                m = _ROW_TAG.match(piece, last)
                at = _position(m.group(1)) if m else None
                if at is not None and at[1]:
                    state[0] = at[1]
            return None
    # Anything else (cells or rows placed by position, other spellings): tag by tag.
    for m in _TAG.finditer(piece):
        at = _position(m.group(2))
        if m.group(1) == b"row":
            state[0] = at[1] if at is not None and at[1] else state[0] + 1
            state[1] = 0  # a row alone costs nothing: only a cell past the limits is refused
            continue
        if at is not None and at[0]:
            state[1] = at[0]
            row = at[1] or state[0]
        else:
            state[1] += 1
            row = state[0]
        if state[1] > limits.max_column or row > limits.max_row:
            return row, state[1]
    return None
