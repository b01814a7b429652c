"""Issue 7: the fast spreadsheet reader (python-calamine) gives exactly the cells openpyxl
gives, and hands to openpyxl every workbook it could not read the same way."""
from __future__ import annotations

import zipfile
from datetime import date, datetime, time
from pathlib import Path

import pytest
from openpyxl import Workbook
from openpyxl.utils.datetime import CALENDAR_MAC_1904

from data.sheets import Cell, open_book


def read(path: Path, fast: bool):
    """Every sheet as (name, hidden, merged, reader, rows): row 1 whole (its blank cells
    decide which columns the header names), other rows without their empty cells."""
    out = []
    for sheet in open_book(path, path.name, 1 << 30, fast=fast):
        rows = []
        for number, cells in sheet.rows():
            if all(c.kind == "empty" for c in cells):
                continue  # a blank row is skipped by every check, however it is given
            rows.append((number, cells if number == 1 else [c for c in cells if c.kind != "empty"]))
        out.append((sheet.name, sheet.hidden, sheet.merged, sheet.reader, rows))
    return out


def same_cells(path: Path, reader: str) -> list:
    fast, slow = read(path, True), read(path, False)
    assert [s[3] for s in fast] == [reader] * len(fast)
    assert [s[3] for s in slow] == ["openpyxl"] * len(slow)
    assert [(s[0], s[1], s[2], s[4]) for s in fast] == [(s[0], s[1], s[2], s[4]) for s in slow]
    return fast


def tricky(path: Path, epoch1904: bool = False) -> Path:
    wb = Workbook()
    if epoch1904:
        wb.epoch = CALENDAR_MAC_1904
    ws = wb.active
    ws.title = "Observations"
    ws.append(["indicator_id", "area", "period", "value", "note", "date"])
    for row in (
        ["a", "all_pko", "2023", 12, "  spaced  ", datetime(2023, 5, 1)],
        ["b", "MINUSMA", 2023, 25.6, "", date(2023, 6, 30)],
        ["c", None, "2023-05", 0.256, "   ", datetime(2023, 6, 30, 12, 30)],
        ["d", "x", datetime(2023, 5, 1), "25.6", "中文 引文", time(13, 45)],
        ["e", "y", 45078, -0.0, "'=an apostrophe typed", 1],
        ["f", "z", 2022.5, 1e-7, "+not a formula", True],
        ["g", "w", "2022/23", 123456789012345, "line\nbreak", False],
        [None, None, None, None, None, None],
        ["h", "v", "  2024 ", 7, "\u00a0no-break\u00a0", 3.25],
    ):
        ws.append(row)
    for ref, fmt in (("F2", "yyyy-mm-dd"), ("F3", "mmm yyyy"), ("C5", "yyyy"), ("D4", "0.0%"), ("D3", "0.00"),
                     ("F5", "h:mm"), ("F6", "[h]:mm"), ("D6", '0.0" m"'), ("F10", "0.0%"), ("D10", "#,##0")):
        ws[ref].number_format = fmt
    ws["E6"].quotePrefix = True
    ws["A12"] = "merged"
    ws.merge_cells("A12:C12")
    ws["H3"] = "beyond the header"
    ws["G1"].number_format = "0.0%"  # a formatted, empty header cell: openpyxl gives it
    sources = wb.create_sheet("New sources")
    sources["B3"], sources["C3"] = "source_id", "date"  # not from A1: the columns keep their places
    sources["C4"], sources["C4"].number_format = date(2024, 3, 5), "d/m/yyyy"
    sources["C5"], sources["C5"].number_format = 45355, "mm-dd-yy"
    hidden = wb.create_sheet("Hidden")
    hidden["A1"] = 1
    hidden.sheet_state = "hidden"
    wb.create_sheet("Empty")
    wb.save(path)
    return path


@pytest.mark.parametrize("epoch1904", [False, True])
def test_calamine_gives_the_cells_openpyxl_gives(tmp_path, epoch1904):
    sheets = same_cells(tricky(tmp_path / "tricky.xlsx", epoch1904), "calamine")
    name, hidden, merged, _, rows = sheets[0]
    assert (name, hidden, merged) == ("Observations", False, ["A12:C12"])
    cells = {c.ref: c for _, row in rows for c in row}
    # what the checks depend on: kinds, number formats, dates with their format
    assert cells["D4"] == Cell(0.256, "percent", "D4", "0.0%")
    assert cells["C5"].kind == "date" and cells["C5"].value == datetime(2023, 5, 1) and cells["C5"].fmt == "yyyy"
    assert cells["D3"] == Cell(25.6, "number", "D3") and cells["C6"] == Cell(45078, "number", "C6")
    assert cells["D5"] == Cell("25.6", "text", "D5")  # a number typed as text stays text
    assert cells["E6"] == Cell("'=an apostrophe typed", "text", "E6")
    assert cells["F7"] == Cell(True, "bool", "F7")
    assert "B4" not in cells and "E4" not in cells  # empty and blank cells
    assert [c.ref for c in rows[0][1]] == ["A1", "B1", "C1", "D1", "E1", "F1", "G1"]  # up to G1, as openpyxl
    assert [s[:2] for s in sheets[1:]] == [("New sources", False), ("Hidden", True), ("Empty", False)]


def test_numbers_are_read_alike(tmp_path):
    # calamine gives 3509.0 where openpyxl gives 3509: equal, and every check reads them alike
    path = tmp_path / "n.xlsx"
    wb = Workbook()
    wb.active.append([3509, 3509.5, -2, 0, 1e-9, 999999999999999])
    wb.save(path)
    (_, _, _, _, rows), = same_cells(path, "calamine")
    assert [c.value for c in rows[0][1]] == [3509, 3509.5, -2, 0, 1e-9, 999999999999999]


def _rewrite(path: Path, member: str, old: bytes, new: bytes) -> Path:
    """The same workbook with some bytes of one part changed (what openpyxl never writes)."""
    out = path.with_name("edited-" + path.name)
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == member:
                assert old in data
                data = data.replace(old, new)
            dst.writestr(info, data)
    return out


def _plain_book(path: Path, cells: dict) -> Path:
    wb = Workbook()
    ws = wb.active
    ws.append(["indicator_id", "value", "note"])
    for ref, value in cells.items():
        ws[ref] = value
    wb.save(path)
    return path


@pytest.mark.parametrize("case", ["formula", "error", "escaped", "carriage-return", "big-integer"])
def test_what_calamine_would_read_otherwise_goes_to_openpyxl(tmp_path, case):
    sheet = "xl/worksheets/sheet1.xml"
    if case == "formula":  # calamine gives a formula's cached value (here none): openpyxl the formula
        path = _plain_book(tmp_path / "f.xlsx", {"B2": "=10+2"})
    elif case == "error":  # calamine gives an error cell as empty text
        path = _rewrite(_plain_book(tmp_path / "e.xlsx", {"B2": 7}), sheet, b'<c r="B2" t="n"><v>7</v></c>',
                        b'<c r="B2" t="e"><v>#N/A</v></c>')
    elif case == "escaped":  # calamine decodes _x000D_, openpyxl keeps it as typed
        path = _plain_book(tmp_path / "x.xlsx", {"C2": "two_x000D_lines"})
    elif case == "carriage-return":  # openpyxl's XML parser reads \r as \n
        path = _plain_book(tmp_path / "r.xlsx", {"C2": "two\r\nlines"})
    else:  # openpyxl keeps 16 digits exact, calamine makes a float of them
        path = _rewrite(_plain_book(tmp_path / "b.xlsx", {"B2": 7}), sheet, b"<v>7</v>", b"<v>1234567890123456789</v>")
    fast = read(path, True)
    assert fast[0][3] == "openpyxl"
    assert [(s[0], s[4]) for s in fast] == [(s[0], s[4]) for s in read(path, False)]
    cells = {c.ref: c for _, row in fast[0][4] for c in row}
    if case == "formula":
        assert cells["B2"] == Cell("=10+2", "formula", "B2")
    elif case == "error":
        assert cells["B2"] == Cell("#N/A", "error", "B2")
    elif case == "big-integer":
        assert cells["B2"] == Cell(1234567890123456789, "number", "B2")


def test_a_prefixed_sheet_goes_to_openpyxl(tmp_path):
    path = _plain_book(tmp_path / "p.xlsx", {"B2": 7})
    sheet = "xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(path) as z:
        xml = z.read(sheet)
    prefixed = (xml.replace(b"<worksheet xmlns=", b"<x:worksheet xmlns:x=")
                .replace(b"</worksheet>", b"</x:worksheet>"))
    for tag in (b"sheetPr", b"outlinePr", b"pageSetUpPr", b"dimension", b"sheetViews", b"sheetView", b"selection",
                b"sheetFormatPr", b"sheetData", b"row", b"c", b"v", b"is", b"t", b"pageMargins"):
        prefixed = prefixed.replace(b"<" + tag + b" ", b"<x:" + tag + b" ").replace(b"<" + tag + b">", b"<x:" + tag + b">")
        prefixed = prefixed.replace(b"</" + tag + b">", b"</x:" + tag + b">")
    edited = _rewrite(path, sheet, xml, prefixed)
    fast = read(edited, True)
    assert fast[0][3] == "openpyxl"
    assert [(s[0], s[4]) for s in fast] == [(s[0], s[4]) for s in read(edited, False)]


def test_a_header_row_ends_at_its_last_cell(tmp_path):
    # A cell beyond the header's last name is an extra cell, not one under a blank name:
    # row 1 must end where the file's row 1 ends, though the sheet is wider.
    path = tmp_path / "wide.xlsx"
    wb = Workbook()
    ws = wb.active
    ws.append(["indicator_id", "area", "period"])
    ws["F4"] = "far away"
    wb.save(path)
    (_, _, _, _, rows), = same_cells(path, "calamine")
    assert [c.ref for c in rows[0][1]] == ["A1", "B1", "C1"]


def test_csv_rows_are_text(tmp_path):
    path = tmp_path / "v.csv"
    path.write_text("indicator_id,value\nx, 12 \n,\n", encoding="utf-8")
    (sheet,) = open_book(path, path.name, 1 << 20)
    assert sheet.reader == "csv"
    assert list(sheet.raw_rows()) == [(1, ["indicator_id", "value"]), (2, ["x", " 12 "]), (3, ["", ""])]
    assert list(sheet.rows())[1] == (2, [Cell("x", "text", "A2"), Cell(" 12 ", "text", "B2")])
    assert list(sheet.rows())[2] == (3, [Cell(None, "empty", "A3"), Cell(None, "empty", "B3")])


def test_anything_the_fast_reader_did_not_expect_is_read_by_openpyxl(tmp_path, monkeypatch):
    import data.sheets_calamine

    def broken(*_args):
        raise KeyError("a part the fast reader looked for")

    monkeypatch.setattr(data.sheets_calamine, "_scan_sheet", broken)
    path = _plain_book(tmp_path / "k.xlsx", {"B2": 7})
    assert [s.reader for s in open_book(path, path.name, 1 << 20)] == ["openpyxl"]
