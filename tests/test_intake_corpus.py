"""Issue 5: the corpus of bad spreadsheets. Each is refused with exactly the errors a person
can act on (sheet, row, column, cell, in plain words), nothing in the store's data changes,
and the file itself is kept byte for byte in rejected/ beside its error report."""
from __future__ import annotations

import subprocess
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from data.dropbox import process
from tests.intake_helpers import (COUNT, SHARE, SOURCE, data_dump, env_for, folder, manage,
                                  obs, query, workbook)


@pytest.fixture
def home(dropbox_home):
    """This file's tests work in a private PKPI_HOME (conftest.dropbox_home)."""
    return dropbox_home


def inbox(home: Path, name: str) -> Path:
    return home / "dropbox" / "inbox" / name


def refuse(home: Path, path: Path):
    """Process ``path``; check it was refused and nothing but the intake record changed."""
    original = path.read_bytes()
    before = data_dump(home / "pkpi.duckdb")
    outcome = process(path)
    assert outcome.status == "rejected", outcome.message
    assert data_dump(home / "pkpi.duckdb") == before
    assert not path.exists()
    stored = outcome.stored
    assert stored.parent == home / "dropbox" / "rejected"
    assert stored.read_bytes() == original
    assert stored.with_name(stored.name + ".errors.csv").exists()
    assert stored.with_name(stored.name + ".errors.txt").exists()
    assert folder(home, "accepted") == []
    return outcome


def located(outcome) -> list[tuple]:
    return [(e.code, e.sheet, e.row, e.column, e.cell) for e in outcome.errors]


def only(outcome):
    assert outcome.error_count == len(outcome.errors) == 1, [str(e) for e in outcome.errors]
    return outcome.errors[0]


# --- The mistakes listed under "Why" in the issue ---------------------------------------------

def test_wrong_column_name_is_named_with_a_suggestion(home):
    path = workbook(inbox(home, "cpas.xlsx"), [obs()])
    wb = load_workbook(path)
    wb["Observations"]["A1"] = "Indicator"
    wb.save(path)
    out = refuse(home, path)
    assert located(out) == [("incorrect-label", "Observations", 1, "Indicator", "A1"),
                            ("missing-label", "Observations", 1, "indicator_id", "")]
    assert str(out.errors[0]) == ("Sheet Observations, row 1, column Indicator (A1): The column name "
                                  "'Indicator' is not one the drop folder reads. Did you mean "
                                  "'indicator_id'? Rename the column to exactly that.")


def test_decimal_comma_percentage_typed_as_text(home):
    path = workbook(inbox(home, "share.xlsx"), [obs(indicator_id=SHARE["indicator_id"], unit="percent",
                                                    value="25,6 %")])
    e = only(refuse(home, path))
    assert (e.code, e.row, e.column, e.cell, e.value) == ("type-error", 2, "value", "E2", "25,6 %")
    assert e.message == ("'25,6 %' is text, not a number. Type the number alone, with a point for decimals "
                         "and no thousands separators or units: 25.6 or 1067. The unit column already says "
                         "it is a percentage.")


def test_bare_fraction_for_a_percent_indicator(home):
    path = workbook(inbox(home, "share.xlsx"), [obs(indicator_id=SHARE["indicator_id"], unit="percent",
                                                    value=0.256)])
    e = only(refuse(home, path))
    assert (e.code, e.row, e.column, e.cell) == ("percent-scale", 2, "value", "E2")
    assert e.message.startswith("0.256 looks like a fraction, but test_women_share is measured in percent. "
                                "Type 25.6 for 25.6 %, or format the cell as a percentage")


def test_date_as_excel_serial_number(home):
    path = workbook(inbox(home, "serial.xlsx"), [obs(period=45078)])
    e = only(refuse(home, path))
    assert (e.code, e.row, e.column, e.cell, e.value) == ("type-error", 2, "period", "C2", "45078")
    assert "45078 is an Excel date stored as a plain number (it means 2023-06-01)" in e.message


def test_missing_citation(home):
    path = workbook(inbox(home, "nocite.xlsx"), [obs(locator=None, quote=None, source_id=None)])
    out = refuse(home, path)
    assert located(out) == [("missing-cell", "Observations", 2, "source_id", "J2"),
                            ("missing-cell", "Observations", 2, "locator", "K2"),
                            ("missing-cell", "Observations", 2, "quote", "L2")]
    assert out.errors[2].message.startswith("This cell is empty, and quote is required. The sentence")


def test_row_pasted_twice(home):
    path = workbook(inbox(home, "twice.xlsx"), [obs(), obs(period="2024-03"), obs()])
    e = only(refuse(home, path))
    assert (e.code, e.row, e.column, e.cell) == ("duplicate-row", 4, "period", "C4")
    assert e.message == ("This row repeats the indicator, area and period of row 2 "
                         "(test_missions_reporting, all_pko, 2024-02). Keep one of the two rows.")


def test_file_still_open_in_excel_waits_and_its_lock_file_is_ignored(home):
    path = workbook(inbox(home, "report.xlsx"), [obs()])
    owner = inbox(home, "~$report.xlsx")
    owner.write_bytes(b"\x0bDOMAIN\\user" + b"\x00" * 40)
    store_bytes = (home / "pkpi.duckdb").read_bytes()
    original = path.read_bytes()
    outcome = process(path)
    assert outcome.status == "waiting"
    assert outcome.message == ("waiting   report.xlsx: still open in Excel (~$report.xlsx is beside it). "
                               "Close it in Excel and it will be read.")
    assert (home / "pkpi.duckdb").read_bytes() == store_bytes  # not even a record
    assert path.read_bytes() == original and owner.exists()
    assert folder(home, "accepted") == folder(home, "rejected") == []
    owner.unlink()  # closed in Excel
    assert process(path).status == "accepted"


def test_file_saved_incompletely(home):
    good = workbook(home / "good.xlsx", [obs()])
    path = inbox(home, "half.xlsx")
    path.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    e = only(refuse(home, path))
    assert (e.code, e.sheet, e.row, e.column) == ("format-error", "", None, "")
    assert e.message == ("The file is damaged or was not completely saved, or it is another kind of file "
                         "renamed to .xlsx. Open it in Excel, save it again, and put it in the inbox.")


def test_value_contradicting_a_published_one_names_both(home):
    (ind, area, period, value, source, cite, locator, quote), = query(
        home / "pkpi.duckdb",
        "SELECT o.indicator_id, o.area, o.period, o.value, o.source_id, s.cite_as, o.locator, o.quote "
        "FROM observations o JOIN indicators i USING (indicator_id) JOIN sources s USING (source_id) "
        "WHERE i.unit = 'count' AND o.qualifier = 'exact' AND o.value > 2 ORDER BY o.obs_id LIMIT 1")
    path = workbook(inbox(home, "conflict.xlsx"),
                    [obs(indicator_id=ind, area=area, period=period, value=value + 1, source_id=source,
                         locator=locator, quote=quote)])
    e = only(refuse(home, path))
    assert (e.code, e.row, e.column, e.cell) == ("conflict", 2, "value", "E2")
    assert f"is already published as {value:g} ({cite}, {locator}:" in e.message
    assert f"This row says {value + 1:g} ({cite}, {locator}:" in e.message
    assert e.message.endswith("If this corrects the published value, write yes in the revision column; "
                              "otherwise correct the value.")


# --- Spreadsheet features that hide mistakes --------------------------------------------------

def test_formula_cell(home):
    path = workbook(inbox(home, "formula.xlsx"), [obs(value="=10+2")])
    e = only(refuse(home, path))
    assert (e.code, e.row, e.column, e.cell, e.value) == ("formula-cell", 2, "value", "E2", "=10+2")
    assert "Paste Special > Values" in e.message


def test_merged_header_cells(home):
    path = workbook(inbox(home, "merged.xlsx"), [obs()])
    wb = load_workbook(path)
    wb["Observations"].merge_cells("A1:B1")
    wb.save(path)
    out = refuse(home, path)
    assert located(out) == [("merged-cell", "Observations", 1, "", "A1:B1"),
                            ("missing-label", "Observations", 1, "area", "")]
    assert out.errors[0].message == ("Cells A1:B1 are merged in the header row. Unmerge them (Home > Merge "
                                     "& Center) and give each column its own name from the template.")


def test_hidden_sheet(home):
    path = workbook(inbox(home, "hidden.xlsx"), [obs()])
    wb = load_workbook(path)
    extra = wb.create_sheet("More values")
    extra.append(["indicator_id", "value"])
    extra.append(["test_missions_reporting", 14])
    extra.sheet_state = "hidden"
    wb.save(path)
    e = only(refuse(home, path))
    assert (e.code, e.sheet, e.row) == ("hidden-sheet", "More values", None)
    assert e.message.startswith("The sheet 'More values' is hidden. Hidden sheets are not read")


def test_header_on_row_3(home):
    path = workbook(inbox(home, "title.xlsx"), [obs()])
    wb = load_workbook(path)
    ws = wb["Observations"]
    ws.insert_rows(1, 2)
    ws["A1"] = "CPAS export, March 2024"
    wb.save(path)
    e = only(refuse(home, path))
    assert (e.code, e.sheet, e.row) == ("header-position", "Observations", 3)
    assert e.message == ("The column names are on row 3; they must be on row 1. Delete rows 1 to 2 "
                         "(select the rows, right-click > Delete).")


def test_trailing_empty_rows_are_not_errors(home):
    path = workbook(inbox(home, "trailing.xlsx"), [obs(value="twelve")])
    wb = load_workbook(path)
    ws = wb["Observations"]
    for r in range(3, 60):  # formatted, blank or spaces only: what Excel leaves below the data
        ws.cell(row=r, column=5).number_format = "0.0"
        ws.cell(row=r, column=12).value = "  "
    wb.save(path)
    e = only(refuse(home, path))
    assert (e.code, e.row, e.cell) == ("type-error", 2, "E2")


def test_65000_rows_with_one_bad_cell_in_the_last_row(home):
    from datetime import date, timedelta

    from tests.intake_helpers import INDICATOR_FIELDS, OBS_COLUMNS, SOURCE_FIELDS
    path = inbox(home, "cpas-large.xlsx")
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("Observations")
    ws.append(OBS_COLUMNS)
    start = date(2000, 1, 1)
    n = 65000
    for i in range(n):
        value = "n/a" if i == n - 1 else i
        ws.append([COUNT["indicator_id"], "all_pko", (start + timedelta(days=i)).isoformat(), None, value,
                   "count", None, None, "Secretariat", SOURCE["source_id"], f"row {i + 2}", "导出数据", None,
                   None, None, None])
    for title, fields, rec in (("New sources", SOURCE_FIELDS, SOURCE), ("New indicators", INDICATOR_FIELDS, COUNT)):
        sheet = wb.create_sheet(title)
        sheet.append([f.name for f in fields])
        sheet.append([rec.get(f.name) for f in fields])
    wb.save(path)
    original = path.read_bytes()
    before = data_dump(home / "pkpi.duckdb")
    done = subprocess.run(manage("ingest", str(path)), env=env_for(home), capture_output=True, text=True)
    assert done.returncode == 1, done.stderr
    assert "65,000 rows checked" in done.stderr  # progress for a large file
    assert "Sheet Observations, row 65001, column value (E65001): 'n/a' is text, not a number." in done.stdout
    assert "1 problem found" in done.stdout
    assert data_dump(home / "pkpi.duckdb") == before
    (stored,) = [p for p in folder(home, "rejected") if p.endswith("cpas-large.xlsx")]
    assert (home / "dropbox" / "rejected" / stored).read_bytes() == original
    assert query(home / "pkpi.duckdb", "SELECT rows_read, error_count FROM intake_files") == [(65002, 1)]  # 1 source, 1 indicator, 65,000 values


def test_chinese_values_in_id_columns(home):
    # The qualifier and the unit may be given by their Chinese names (约, 数量); an indicator
    # must be given by its id, and the error says which id the Chinese name belongs to.
    path = workbook(inbox(home, "zh.xlsx"), [obs(indicator_id="测试指标", qualifier="约", unit="数量")])
    e = only(refuse(home, path))
    assert (e.code, e.row, e.column, e.cell, e.value) == ("foreign-key-error", 2, "indicator_id", "A2", "测试指标")
    assert e.message == ("'测试指标' is not a known indicator. Its id is test_missions_reporting: write that. "
                         "Use an id on the Lists sheet, or declare it on the New indicators sheet.")


def test_html_and_script_in_a_note(home):
    path = workbook(inbox(home, "script.xlsx"), [obs(note='<script>alert("x")</script> see row 4')])
    e = only(refuse(home, path))
    assert (e.code, e.row, e.column, e.cell) == ("markup-in-text", 2, "note", "O2")
    assert e.message == ("This text contains HTML or script (<script>aler). Cells are plain text: remove it. "
                         "(A '<' followed by a space or a digit, as in 'a < b' or '<5%', is fine.)")


def test_unit_that_does_not_match_the_indicator(home):
    path = workbook(inbox(home, "unit.xlsx"), [obs(unit="percent")])
    e = only(refuse(home, path))
    assert (e.code, e.cell) == ("unit-mismatch", "F2")
    assert e.message.startswith("The indicator test_missions_reporting is measured in count, but this row says percent.")


def test_every_error_in_the_file_is_collected(home):
    path = workbook(inbox(home, "many.xlsx"), [obs(value="x"), obs(period="May 2024"), obs(qualifier="roughly",
                                                                                         period="2024-04")])
    out = refuse(home, path)
    assert [(e.code, e.row, e.column) for e in out.errors] == [
        ("type-error", 2, "value"), ("type-error", 3, "period"), ("constraint-error", 4, "qualifier")]
    txt = (out.stored.with_name(out.stored.name + ".errors.txt")).read_text(encoding="utf-8")
    assert txt.startswith("many.xlsx was not loaded: nothing from it was added to the dashboard.\n\n"
                          "3 problems were found.")
    assert "1. Sheet Observations, row 2, column value (E2): 'x' is text, not a number." in txt
    csv_text = out.stored.with_name(out.stored.name + ".errors.csv").read_text(encoding="utf-8-sig")
    assert csv_text.splitlines()[0] == "file,sheet,row,column,cell,value,message,code,message_zh"
    assert csv_text.splitlines()[1].startswith("many.xlsx,Observations,2,value,E2,x,")
    assert csv_text.splitlines()[1].endswith(",type-error,“x”是文本，不是数字。请只键入数字，用小数点表示小数，"
                                             "不加千位分隔符或单位：25.6 或 1067。")
    # The folder has no language: the .txt says it all again in Chinese, after the English.
    english, chinese = txt.split("\n" + "=" * 40 + "\n")
    assert "发现" not in english and chinese.strip().startswith("many.xlsx 未载入：其中的内容均未添加到仪表板。\n\n发现 3 个问题。")
    assert "1. 工作表 Observations，第 2 行，value 列（E2）：“x”是文本，不是数字。" in chinese
    assert "3. 工作表 Observations，第 4 行，qualifier 列（G4）：“roughly”不是列表中的限定词。" in chinese


def test_error_report_cannot_run_as_a_formula_in_excel(home):
    path = inbox(home, "inject.csv")
    path.write_text("indicator_id,area\n=HYPERLINK(\"http://x\"),all_pko\n", encoding="utf-8")
    out = refuse(home, path)
    report = out.stored.with_name(out.stored.name + ".errors.csv").read_text(encoding="utf-8-sig")
    assert "'=HYPERLINK" in report and ",=HYPERLINK" not in report


# --- Files that are not spreadsheets the intake reads ----------------------------------------

def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return path


@pytest.mark.parametrize("name, content, code, message", [
    ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "format-error",
     "This is an old-format Excel file (.xls). Open it in Excel and use File > Save As > 'Excel Workbook "
     "(*.xlsx)', then put the .xlsx file in the inbox."),
    ("macros.xlsm", b"PK\x03\x04", "format-error",
     "This Excel file type (.xlsm) can hold macros, which are never opened here. Use File > Save As > "
     "'Excel Workbook (*.xlsx)', then put the .xlsx file in the inbox."),
    ("notes.txt", b"some notes", "format-error",
     "Files of this type (.txt) are not read. Use the template (.xlsx) or a CSV file saved as 'CSV UTF-8 "
     "(Comma delimited)'."),
    ("empty.xlsx", b"", "format-error",
     "The file is empty (0 bytes). Save the spreadsheet again and put the saved file in the inbox."),
    ("renamed.xlsx", b"%PDF-1.7 not a workbook", "format-error",
     "The file is damaged or was not completely saved, or it is another kind of file renamed to .xlsx. "
     "Open it in Excel, save it again, and put it in the inbox."),
    ("protected.xlsx", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "format-error",
     "This is an old-format Excel file (.xls) renamed to .xlsx, or a workbook protected with a password. "
     "Open it in Excel, remove any password, and use File > Save As > 'Excel Workbook (*.xlsx)'."),
    ("image.csv", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "format-error",
     "This is not a text file, though its name ends in .csv (it may be another kind of file renamed). "
     "Save the spreadsheet as 'CSV UTF-8 (Comma delimited)'."),
    ("gbk.csv", "indicator_id,area\n测试,all_pko\n".encode("gbk"), "encoding-error",
     "This file is saved in GB18030/GBK, not UTF-8, so Chinese characters would be garbled. In Excel use "
     "File > Save As > 'CSV UTF-8 (Comma delimited)' and put that file in the inbox."),
    ("latin.csv", "indicator_id,area\nC\u00f4te,all_pko\n".encode("cp1252"), "encoding-error",
     "Line 2 is not UTF-8 text, so Chinese characters would be garbled. In Excel use File > Save As > "
     "'CSV UTF-8 (Comma delimited)'."),
])
def test_unreadable_files_are_refused_with_the_reason(home, name, content, code, message):
    path = inbox(home, name)
    path.write_bytes(content)
    e = only(refuse(home, path))
    assert (e.code, e.message) == (code, message)


def test_a_zip_that_is_not_a_workbook(home):
    path = _zip(inbox(home, "letter.xlsx"), {"word/document.xml": b"<w:document/>"})
    e = only(refuse(home, path))
    assert e.message == "This is not an Excel workbook (it may be another kind of file renamed to .xlsx). Use the template."


def test_workbook_that_would_expand_beyond_the_limit_is_not_opened(home, monkeypatch):
    monkeypatch.setenv("PKPI_MAX_FILE_MB", "1")
    path = _zip(inbox(home, "bomb.xlsx"), {"xl/workbook.xml": b"<workbook/>",
                                           "xl/worksheets/sheet1.xml": b"\x00" * (30 * 1024 * 1024)})
    assert path.stat().st_size < 1024 * 1024
    e = only(refuse(home, path))
    assert (e.code, e.message) == ("file-too-large", "The workbook would expand to 30.0 MB when opened, more "
                                                     "than the limit of 25.0 MB. Split it into several smaller files.")


def test_file_over_the_size_limit(home, monkeypatch):
    monkeypatch.setenv("PKPI_MAX_FILE_MB", "0.001")
    path = workbook(inbox(home, "big.xlsx"), [obs()])
    e = only(refuse(home, path))
    assert e.code == "file-too-large" and e.message.endswith("more than the limit of 0.0 MB. Split it into several smaller files.")


def test_too_many_rows(home, monkeypatch):
    monkeypatch.setenv("PKPI_MAX_ROWS", "5")  # 1 source + 2 indicators + 3 values = 6 rows
    path = workbook(inbox(home, "rows.xlsx"), [obs(period=f"2024-0{m}") for m in (1, 2, 3)])
    e = only(refuse(home, path))
    assert (e.code, e.sheet, e.row) == ("too-many-rows", "Observations", 4)
    assert e.message == "The file has more than 5 rows, the most one file may hold. Split it into several files."
