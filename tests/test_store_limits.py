"""What DuckDB holds and PostgreSQL cannot hold alike (issue 16), refused before any store
sees it: text holding U+0000 (PostgreSQL's text cannot store it) and numbers of 1e15 or more
in magnitude (PostgreSQL writes some of them with 17 digits where DuckDB writes 16, so the
two stores' CSV exports would differ). The drop folder refuses both in a real workbook or
CSV file, naming sheet, row, column and cell in English and Chinese; the curated check
refuses both, naming file, line and column; the curated files hold neither."""
from __future__ import annotations

import csv
import math
import shutil
from pathlib import Path

import pytest

from data import curated
from data.dropbox import process
from tests.intake_helpers import COUNT, SHARE, data_dump, obs, query, workbook


@pytest.fixture
def home(dropbox_home):
    return dropbox_home


def _refused(home: Path, path: Path):
    before = data_dump(home / "pkpi.duckdb")
    out = process(path)
    assert out.status == "rejected", out.message
    assert data_dump(home / "pkpi.duckdb") == before
    return out


def _no_nul_in_intake_tables(store: Path) -> None:
    """What the rejection recorded (file, errors and their parameters) is text PostgreSQL stores."""
    for table in ("intake_files", "intake_errors"):
        for row in query(store, f"SELECT * FROM {table}"):
            assert not any(isinstance(v, str) and "\x00" in v for v in row), (table, row)


# --- Numbers of 1e15 or more -----------------------------------------------------------------

def test_values_of_1e15_or_more_are_refused_in_every_form_a_workbook_gives_them(home):
    share = dict(indicator_id=SHARE["indicator_id"], unit="percent", quote="女性占 31.5%", quote_en="31.5%")
    rows = [obs(period="2024-01", value=1e15),  # a number cell
            obs(period="2024-02", value=-25e15),  # negative, 17 digits
            obs(period="2024-03", value="1000000000000000"),  # typed as text
            obs(period="2024-04", value="100000000000000000%", **share),  # a percentage typed as text
            obs(period="2024-05", value=1e13, **share),  # a cell formatted as a percentage: 1e15 %
            obs(period="2024-06", value=999999999999999.0)]  # just below: fine
    path = workbook(home / "dropbox" / "inbox" / "large.xlsx", rows, formats={"E6": "0%"})
    out = _refused(home, path)
    got = [(e.code, e.msg, e.sheet, e.row, e.column, e.cell) for e in out.errors]
    assert got == [("constraint-error", "value-too-large", "Observations", n, "value", f"E{n}") for n in range(2, 7)]
    assert [e.params["text"] for e in out.errors] == ["1000000000000000", "-2.5e+16", "1000000000000000",
                                                      "100000000000000000%", "1000000000000000.0%"]
    first = out.errors[0]
    assert str(first) == ("Sheet Observations, row 2, column value (E2): 1000000000000000 is too large: "
                          "a value must be smaller than 1,000,000,000,000,000 (10^15), plus or minus. "
                          "No indicator counts anything near that, so check the number (an id, a phone "
                          "number or a serial number typed in the value column?).")
    assert first.line("zh") == ("工作表 Observations，第 2 行，value 列（E2）：1000000000000000 太大：数值的绝对值必须小于 "
                                "1,000,000,000,000,000（10^15）。没有任何指标的数值接近这个量级，请检查该数字"
                                "（是否把编号、电话号码或序列号键入了数值列？）。")
    report = out.stored.with_name(out.stored.name + ".errors.txt").read_text(encoding="utf-8")
    assert "row 6, column value (E6): 1000000000000000.0% is too large" in report
    assert "第 3 行，value 列（E3）：-2.5e+16 太大" in report


def test_a_value_just_below_1e15_is_stored_and_exported_as_given(home):
    from data.export import iter_csv

    path = workbook(home / "dropbox" / "inbox" / "below.xlsx",
                    [obs(value=999999999999999), obs(period="2024-03", value=-123456789012345.6)])
    out = process(path)
    assert out.status == "accepted", [str(e) for e in out.errors]
    stored = query(home / "pkpi.duckdb", "SELECT value FROM observations WHERE indicator_id = :i ORDER BY period",
                   i=COUNT["indicator_id"])
    assert [r[0] for r in stored] == [999999999999999.0, -123456789012345.6]
    text = "".join(iter_csv())
    assert ",999999999999999," in text and ",-123456789012345.6," in text


def test_a_csv_file_is_held_to_the_same_limit(home):
    path = home / "dropbox" / "inbox" / "large.csv"
    head = "indicator_id,area,period,value,unit,stated_by,source_id,locator,quote"
    quote = "12 个特派团通过系统报告了数据"
    path.write_text(f"{head}\n"
                    f"cpas_missions_reporting,all_pko,2024-02,1500000000000000,count,Secretariat,x,row 2,{quote}\n"
                    f"cpas_missions_reporting,all_pko,2024-03,12,count,Secretariat,x,row 3,{quote}\n",
                    encoding="utf-8")
    out = process(path)
    assert out.status == "rejected"
    large = [(e.row, e.column, e.params) for e in out.errors if e.msg == "value-too-large"]
    assert large == [(2, "value", {"text": "1500000000000000"})]


# --- U+0000 ----------------------------------------------------------------------------------

def test_u0000_in_a_csv_cell_is_refused_and_named(home):
    """A UTF-8 CSV with U+0000 in its first 64 KiB is refused as not text; in UTF-16 (Excel's
    "Unicode Text") the character is a cell's, refused by the cell rule."""
    path = home / "dropbox" / "inbox" / "nul.csv"
    head = "indicator_id,area,period,value,unit,stated_by,source_id,locator,quote,note"
    quote = "12 个特派团通过系统报告了数据"
    path.write_text(f"{head}\n"
                    f"cpas_missions_reporting,all_pko,2024-02,12,count,Secretariat,x,row 2,{quote},a\x00b\n"
                    f"cpas_missions_reporting,all_pko,2024-03,12,count,Secretariat,x,row\x003,{quote},\n",
                    encoding="utf-16")
    out = _refused(home, path)
    hidden = [(e.code, e.row, e.column, e.cell, e.params["char"], e.value) for e in out.errors
              if e.code == "hidden-character"]
    assert hidden == [("hidden-character", 2, "note", "J2", "U+0000 (NULL)", "a[U+0000]b"),
                      ("hidden-character", 3, "locator", "H3", "U+0000 (NULL)", "row[U+0000]3")]
    e = next(e for e in out.errors if e.code == "hidden-character")
    assert str(e).startswith("Row 2, column note (J2): This text contains an invisible character, U+0000 (NULL), "
                             "after 'a'.")
    assert e.line("zh").startswith("第 2 行，note 列（J2）：此文本在“a”之后有一个不可见字符 U+0000 (NULL)。")
    for suffix in (".errors.txt", ".errors.csv"):
        assert "\x00" not in out.stored.with_name(out.stored.name + suffix).read_text(encoding="utf-8-sig")
    _no_nul_in_intake_tables(home / "pkpi.duckdb")


def test_u0000_in_a_column_name_is_named_and_not_stored(home):
    path = home / "dropbox" / "inbox" / "nulhead.csv"
    head = "indicator_id,area,period,value,unit,stated_by,source_id,locator,quote,no\x00te"
    path.write_text(f"{head}\ncpas_missions_reporting,all_pko,2024-02,12,count,Secretariat,x,row 2,"
                    f"12 个特派团通过系统报告了数据,a\n", encoding="utf-16")
    out = _refused(home, path)
    lines = [e.line(lang) for e in out.errors for lang in ("en", "zh")]
    assert not any("\x00" in line for line in lines)
    assert "The column name 'no[U+0000]te' is not one the drop folder reads." in " ".join(lines)
    _no_nul_in_intake_tables(home / "pkpi.duckdb")


def test_a_workbook_whose_xml_holds_u0000_is_refused_not_read(home):
    """An .xlsx cannot hold U+0000 (XML forbids it; Excel writes _x0000_, which both readers
    give back as those seven characters): a workbook that holds one anyway is damaged."""
    import zipfile
    good = workbook(home / "dropbox" / "tmp" / "nul.xlsx", [obs(note="NULHERE")])
    path = home / "dropbox" / "inbox" / "nul.xlsx"
    with zipfile.ZipFile(good) as src, zipfile.ZipFile(path, "w") as dst:
        for info in src.infolist():
            data = src.read(info)
            if b"NULHERE" in data:
                data = data.replace(b"NULHERE", b"a&#0;b")
            dst.writestr(info, data)
    out = _refused(home, path)
    assert out.errors and all(e.code == "format-error" for e in out.errors), [str(e) for e in out.errors]
    _no_nul_in_intake_tables(home / "pkpi.duckdb")


# --- The curated files -----------------------------------------------------------------------

def test_the_curated_check_refuses_both(tmp_path):
    folder = tmp_path / "curated"
    shutil.copytree(curated.CURATED, folder)
    path = folder / "observations" / "s-2023-646.csv"
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    header = rows[0]
    value, note = header.index("value"), header.index("note")
    rows[1][value] = "1e15"
    rows[2][value] = "-1234567890123456"
    rows[3][note] = "see\x00row 4"
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)
    issues = curated.read_tables(folder)[1]
    found = [(i.file, i.line, i.column, i.code, i.value) for i in issues]
    assert found == [("observations/s-2023-646.csv", 2, "value", "constraint-error", "1e15"),
                     ("observations/s-2023-646.csv", 3, "value", "constraint-error", "-1234567890123456"),
                     ("observations/s-2023-646.csv", 4, "note", "hidden-character", "see[U+0000]row 4")]
    assert str(issues[0]).startswith("observations/s-2023-646.csv, line 2, column value: 1e15 is too large: "
                                     "a value must be smaller than 1,000,000,000,000,000 (10^15)")
    assert "U+0000 (NULL)" in issues[2].message
    with pytest.raises(curated.CurationError):
        curated.load(folder)


def test_no_curated_value_is_as_large_as_1e15():
    tables, issues = curated.read_tables()
    assert issues == []
    values = [float(r.cells["value"]) for r in tables["observations"]]
    assert len(values) > 200 and all(math.isfinite(v) and abs(v) < 1e15 for v in values)
