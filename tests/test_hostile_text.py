"""Issue 11 (minor findings): markup that slipped past the check of a cell (``<svg/onload=``,
an unclosed ``<img ... onerror=``, ``<a/href=``), and invisible characters that make a
citation display differently from what it says (a right-to-left override in "para 4‮21"
shows "para 412"). Both are refused in every text cell of a dropped file, with the
character named in English and Chinese, by the curated check too; and text a store holds
from before is shown with the character as its code, never obeyed (``data/plaintext.py``)."""
from __future__ import annotations

import csv
import re
import shutil
import sys
import unicodedata
from pathlib import Path

import pandas as pd
import pytest

from data import curated, plaintext
from data.dropbox import process
from tests.intake_helpers import SOURCE, data_dump, obs, query, workbook


@pytest.fixture
def home(dropbox_home):
    return dropbox_home


def _refused(home: Path, name: str, rows=None, **sheets):
    path = workbook(home / "dropbox" / "inbox" / name, rows, **sheets)
    before = data_dump(home / "pkpi.duckdb")
    out = process(path)
    assert out.status == "rejected", out.message
    assert data_dump(home / "pkpi.duckdb") == before
    return out


# --- Markup ---------------------------------------------------------------------------------

@pytest.mark.parametrize("column, cell, text, found", [
    ("note", "O2", "<svg/onload=alert(1)> see row 4", "<svg/onload="),
    ("quote_en", "M2", "12 missions <img src=x onerror=alert(1)", "<img src=x o"),
    ("locator", "K2", "<a/href=javascript:alert(1)>row 2", "<a/href=java"),
    ("note", "O2", "</b>", "</b>"),
    ("note", "O2", "<!DOCTYPE html>", "<!DOCTYPE ht"),
    ("note", "O2", "<?php echo 1 ?>", "<?php echo 1"),
    ("note", "O2", "open java\tscript:alert(1)", "java\tscript:"),
    ("period_label", "D2", "as of <https://x.org/onmouseover=alert(1)>", "<https://x.o"),
])
def test_markup_of_every_form_is_refused(home, column, cell, text, found):
    out = _refused(home, "markup.xlsx", [obs(**{column: text})])
    (e,) = out.errors
    assert (e.code, e.msg, e.sheet, e.row, e.column, e.cell) == ("markup-in-text", "markup-found", "Observations",
                                                                 2, column, cell)
    assert e.params == {"found": found}
    assert e.text("en").startswith(f"This text contains HTML or script ({found}). Cells are plain text")
    assert e.text("zh").startswith(f"此文本包含 HTML 或脚本（{found}）。单元格只能是纯文本")


def test_an_html_code_is_refused_and_its_character_named(home):
    out = _refused(home, "codes.xlsx", [obs(note="&lt;script&gt;"), obs(period="2024-03", quote_en="&#x3c;b")])
    assert [(e.msg, e.row, e.column, e.params) for e in out.errors] == [
        ("char-ref", 2, "note", {"found": "&lt;", "char": "<"}),
        ("char-ref", 3, "quote_en", {"found": "&#x3c;", "char": "<"})]
    assert out.errors[0].text("en") == ("This text contains the HTML code &lt;. Cells are plain text: type the "
                                        "character it stands for (<) instead.")


def test_comparisons_arrows_chinese_and_addresses_in_angle_brackets_are_text(home):
    # What reports and notes legitimately hold: the seed reports write web addresses as
    # <https://...>; "<5%", "a < b", "<-", "R&D", 《》 and full-width ＜＞ are not markup.
    notes = ["fewer than <5% of the posts", "a < b and b > c", "<- see row 4", "R&D & training",
             "见 <https://peacekeeping.un.org/en/action-peacekeeping>", "《报告》＜注＞", "<= 12", "x&y;z"]
    rows = [obs(period=f"2024-{n + 1:02d}", note=text) for n, text in enumerate(notes)]
    out = process(workbook(home / "dropbox" / "inbox" / "fine.xlsx", rows))
    assert out.status == "accepted", [str(e) for e in out.errors]
    stored = [r[0] for r in query(home / "pkpi.duckdb", "SELECT note FROM observations WHERE source_id = :s "
                                                        "ORDER BY period", s=SOURCE["source_id"])]
    assert stored == notes


# --- Invisible characters -----------------------------------------------------------------

def test_a_right_to_left_override_in_a_locator_is_refused_with_its_code_in_both_languages(home):
    out = _refused(home, "rlo.xlsx", [obs(locator="para 4\u202e21")])
    (e,) = out.errors
    assert (e.code, e.msg, e.sheet, e.row, e.column, e.cell) == ("hidden-character", "hidden-character",
                                                                 "Observations", 2, "locator", "K2")
    assert e.value == "para 4[U+202E]21"  # the report cannot display it reversed either
    assert str(e) == ("Sheet Observations, row 2, column locator (K2): This text contains an invisible character, "
                      "U+202E (RIGHT-TO-LEFT OVERRIDE), after 'para 4'. Invisible characters can make a citation "
                      "or a quote display differently from what it says (a right-to-left override turns 'para 421' "
                      "into 'para 412' on screen). Delete it: retype the text around it, or paste the text as plain "
                      "text (Paste Special > Values).")
    assert e.line("zh").startswith("工作表 Observations，第 2 行，locator 列（K2）：此文本在“para 4”之后有一个不可见字符 "
                                   "U+202E (RIGHT-TO-LEFT OVERRIDE)。")
    report = out.stored.with_name(out.stored.name + ".errors.txt").read_text(encoding="utf-8")
    assert "\u202e" not in report and "rlo.xlsx was not loaded" in report and "U+202E (RIGHT-TO-LEFT OVERRIDE)" in report
    csv_text = out.stored.with_name(out.stored.name + ".errors.csv").read_text(encoding="utf-8-sig")
    assert "\u202e" not in csv_text and "rlo.xlsx,Observations,2,locator,K2,para 4[U+202E]21," in csv_text


@pytest.mark.parametrize("column, cell, text, char", [
    ("quote", "L2", "12 个特派团\u2067通过系统报告了数据", "U+2067 (RIGHT-TO-LEFT ISOLATE)"),
    ("locator", "K2", "para\u200d44", "U+200D (ZERO WIDTH JOINER)"),
    ("locator", "K2", "para 4\u200f4", "U+200F (RIGHT-TO-LEFT MARK)"),
    ("stated_by", "I2", "Secretariat\u061c", "U+061C (ARABIC LETTER MARK)"),
    ("period", "C2", "2024-02\u200b", "U+200B (ZERO WIDTH SPACE)"),
    ("value", "E2", "\u202d12", "U+202D (LEFT-TO-RIGHT OVERRIDE)"),
    ("indicator_id", "A2", "test_missions_reporting\u2060", "U+2060 (WORD JOINER)"),
    ("note", "O2", "see\u00adrow 4", "U+00AD (SOFT HYPHEN)"),
])
def test_invisible_characters_are_refused_in_every_column(home, column, cell, text, char):
    (e,) = _refused(home, "hidden.xlsx", [obs(**{column: text})]).errors
    assert (e.code, e.column, e.cell, e.params["char"]) == ("hidden-character", column, cell, char)


def test_an_invisible_character_in_a_declared_source_is_refused(home):
    source = {**SOURCE, "symbol": "S/2024/\u202e321", "source_id": "test-rlo-2024"}
    out = _refused(home, "declared.xlsx", [obs()], sources=(SOURCE, source))
    (e,) = out.errors
    assert (e.sheet, e.row, e.column, e.code) == ("New sources", 3, "symbol", "hidden-character")
    assert e.params["where"] == {"en": "after 'S/2024/'", "zh": "在“S/2024/”之后"}


def test_control_characters_in_a_csv_are_refused_and_tab_is_not(home):
    path = home / "dropbox" / "inbox" / "controls.csv"
    head = ",".join(["indicator_id", "area", "period", "value", "unit", "stated_by", "source_id", "locator", "quote",
                     "note"])
    quote = "12 个特派团通过系统报告了数据"
    path.write_text("\n".join([head,
                               f"cpas_missions_reporting,all_pko,2024-02,12,count,Secretariat,x,row 2,{quote},a\x07b",
                               f"cpas_missions_reporting,all_pko,2024-03,12,count,Secretariat,x,row\x1b3,{quote},"
                               ]) + "\n", encoding="utf-8")
    out = process(path)
    assert out.status == "rejected"
    hidden = [(e.row, e.column, e.params["char"]) for e in out.errors if e.code == "hidden-character"]
    assert hidden == [(2, "note", "U+0007 (CONTROL CHARACTER)"), (3, "locator", "U+001B (CONTROL CHARACTER)")]


def test_the_list_of_invisible_characters_is_unicodes():
    """Every control (but tab, line feed, carriage return) and format character in Python's
    Unicode database, and the line and paragraph separators, are in data.plaintext's list;
    nothing else assigned is (Chinese, no-break and ideographic spaces, variation selectors stay)."""
    wanted, listed = set(), set()
    for cp in range(sys.maxunicode + 1):
        ch = chr(cp)
        if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") and ch not in "\t\n\r":
            wanted.add(cp)
    for cp in range(sys.maxunicode + 1):
        if 0xD800 <= cp <= 0xDFFF:
            continue
        if plaintext.HIDDEN.match(chr(cp)):
            listed.add(cp)
    assert sorted(wanted - listed) == []
    # Beyond them, only characters a newer Unicode than this Python's made format characters.
    assert {unicodedata.category(chr(cp)) for cp in listed - wanted} <= {"Cn"}
    assert not plaintext.HIDDEN.search("联合国\u3000\u00a0\ufe0f 维和\t\n")


# --- The curated files ----------------------------------------------------------------------

def test_the_curated_check_holds_curated_text_to_the_same_rule(tmp_path):
    folder = tmp_path / "curated"
    shutil.copytree(curated.CURATED, folder)
    path = folder / "observations" / "s-2023-646.csv"
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.reader(f))
    header = rows[0]
    locator, note = header.index("locator"), header.index("note")
    original = rows[1][locator]
    rows[1][locator] = original + "\u202e1"
    rows[2][note] = "<svg/onload=alert(1)>"
    with path.open("w", encoding="utf-8", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(rows)
    with pytest.raises(curated.CurationError) as caught:
        curated.load(folder)
    found = [(i.file, i.line, i.column, i.code, i.value) for i in caught.value.issues]
    assert found == [("observations/s-2023-646.csv", 2, "locator", "hidden-character", original + "[U+202E]1"),
                     ("observations/s-2023-646.csv", 3, "note", "markup-in-text", "<svg/onload=alert(1)>")]
    assert "U+202E (RIGHT-TO-LEFT OVERRIDE)" in str(caught.value)
    # The curated files themselves pass: nothing in them is refused by the rule.
    assert curated.read_tables()[1] == []


# --- What a store already holds -------------------------------------------------------------

def test_text_stored_before_the_rule_is_shown_with_the_character_as_its_code():
    from indicators import figures, registry
    row = {"source_cite_as": "S/2023/646", "locator": "para 4\u202e21", "quote": "12 个\u2066特派团"}
    assert registry.citation(row) == "S/2023/646, para 4[U+202E]21"
    assert registry.quote_text(row["quote"]) == "12 个[U+2066]特派团"
    frame = pd.DataFrame([{**row, "indicator_id": "x"}])
    caption = figures.caption(frame)
    assert caption == "Sources: S/2023/646, para 4[U+202E]21" and not re.search("[\u202a-\u202e\u2066-\u2069]", caption)
    assert registry.citation({"source_cite_as": "S/2023/646", "locator": "para 44"}) == "S/2023/646, para 44"


def test_a_column_or_sheet_name_with_an_invisible_character_is_quoted_with_its_code(home):
    from openpyxl import load_workbook
    path = workbook(home / "dropbox" / "inbox" / "header.xlsx", [obs()])
    wb = load_workbook(path)
    wb["Observations"]["O1"] = "no\u202ete"
    wb.create_sheet("Notes\u202e").append(["anything"])
    wb.save(path)
    out = process(path)
    assert out.status == "rejected"
    lines = [e.line("en") for e in out.errors] + [e.line("zh") for e in out.errors]
    assert not any(re.search("[\u202a-\u202e\u2066-\u2069]", line) for line in lines), lines
    assert "The column name 'no[U+202E]te' is not one the drop folder reads." in " ".join(lines)
    assert "The sheet 'Notes[U+202E]' is not one the drop folder reads" in " ".join(lines)
