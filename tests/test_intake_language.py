"""Issue 14: a rejected file's problems in the reader's language, on the Updates page and in
a store written before problems were kept as message ids; issue 12: without the report
texts, a file citing a curated report is not refused for it, and says what was not checked."""
from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from data.dropbox import process
from data.error_reports import stored_errors
from tests.intake_helpers import obs, query, workbook

@pytest.fixture
def home(dropbox_home):
    return dropbox_home


def _cells(tree) -> list[list[str]]:
    """The rows of the errors table the Updates page draws, as text."""
    found = []

    def walk(node):
        if isinstance(node, (list, tuple)):
            for n in node:
                walk(n)
            return
        if getattr(node, "id", "") and str(node.id).startswith("updates-errors-"):
            body = node.children[1]
            found.extend([[str(td.children) for td in tr.children] for tr in body.children])
            return
        children = getattr(node, "children", None)
        if children is not None:
            walk(children)

    walk(tree)
    return found


def test_the_chinese_updates_page_shows_chinese_messages(home):
    from callbacks.updates import content

    path = workbook(home / "dropbox" / "inbox" / "bad.xlsx", [obs(value="25,6"), obs(period="May 2024")])
    assert process(path).status == "rejected"
    page_zh, page_en = content("zh", staff=True), content("en", staff=True)
    zh, en = _cells(page_zh), _cells(page_en)
    assert "未载入：发现 2 个问题，因此此文件的内容均未添加。" in str(page_zh)
    assert "Not loaded: 2 problems found, so nothing from this file was added." in str(page_en)
    assert [row[:4] for row in zh] == [["Observations", "2", "value", "E2"], ["Observations", "3", "period", "C3"]]
    assert zh[0][5] == "“25,6”是文本，不是数字。请只键入数字，用小数点表示小数，不加千位分隔符或单位：25.6 或 1067。"
    assert zh[1][5].startswith("“May 2024”不是可以读取的期间。年份写 2023，")
    assert en[0][5].startswith("'25,6' is text, not a number. Type the number alone")


def test_a_store_written_before_message_ids_still_shows_its_problems(home):
    from callbacks.updates import content

    first = workbook(home / "dropbox" / "inbox" / "old.xlsx", [obs(value="x")])
    old = process(first)
    # As a store written before issue 14: intake_errors without msg and params.
    con = duckdb.connect(str(home / "pkpi.duckdb"))
    con.execute("ALTER TABLE intake_errors DROP COLUMN msg")
    con.execute("ALTER TABLE intake_errors DROP COLUMN params")
    con.close()
    assert _cells(content("zh", staff=True))[0][5].startswith("'x' is text, not a number.")  # its English, as stored
    assert stored_errors(home / "pkpi.duckdb", old.intake_id)[0].text("zh").startswith("'x' is text")
    # The next rejected file adds the columns; both files' problems are shown.
    second = workbook(home / "dropbox" / "inbox" / "new.xlsx", [obs(value="y")])
    new = process(second)
    assert new.status == "rejected"
    columns = [r[0] for r in query(home / "pkpi.duckdb", "SELECT column_name FROM duckdb_columns() "
                                                          "WHERE table_name = 'intake_errors'")]
    assert columns[-2:] == ["msg", "params"]
    newest = _cells(content("zh", staff=True))[:1]
    assert newest[0][5].startswith("“y”是文本，不是数字。")
    assert stored_errors(home / "pkpi.duckdb", old.intake_id)[0].text("zh").startswith("'x' is text")
    assert stored_errors(home / "pkpi.duckdb", new.intake_id)[0].text("zh").startswith("“y”是文本")


def _curated_row(home: Path) -> dict:
    """A value of a curated report (one whose text is checked), moved to a period it lacks."""
    r = query(home / "pkpi.duckdb", "SELECT o.indicator_id, o.area, o.source_id, i.unit, s.cite_as FROM observations o "
                                    "JOIN sources s USING (source_id) JOIN indicators i USING (indicator_id) "
                                    "WHERE s.seed_file IS NOT NULL AND i.unit = 'count' ORDER BY o.obs_id LIMIT 1")[0]
    return {"row": obs(indicator_id=r[0], area=r[1], source_id=r[2], unit=r[3], period="1951", value=7,
                       quote="这句话不在任何一份报告里", value_text=None), "cite_as": r[4]}


def test_without_the_report_texts_a_file_is_accepted_and_says_what_was_not_checked(home, tmp_path, monkeypatch):
    monkeypatch.setenv("PKPI_SEEDS", str(tmp_path / "no-texts-here"))
    picked = _curated_row(home)
    path = workbook(home / "dropbox" / "inbox" / "unchecked.xlsx", [picked["row"]])
    out = process(path)
    assert out.status == "accepted", out.message
    summary = query(home / "pkpi.duckdb", "SELECT summary FROM intake_files WHERE intake_id = :i", i=out.intake_id)[0][0]
    assert summary == (f"Accepted: 1 new value, 0 revised, 3 new sources, indicators or areas. The quotes citing {picked['cite_as']} were not "
                       f"re-checked word for word: the report texts are not at {tmp_path / 'no-texts-here'} "
                       f"(PKPI_SEEDS). Every other check was made.")


@pytest.mark.needs_texts
def test_with_the_report_texts_the_same_quote_is_refused(home):
    picked = _curated_row(home)
    path = workbook(home / "dropbox" / "inbox" / "checked.xlsx", [picked["row"]])
    out = process(path)
    assert out.status == "rejected"
    (e,) = out.errors
    assert (e.code, e.column) == ("quote-not-found", "quote")
    assert e.text("zh") == f"此引文与 {picked['cite_as']} 的原文不一致。请从报告中重新准确复制。"
