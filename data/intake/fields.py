"""Reading the fields: the sheets and columns a dropped file may hold, one problem found in
it (``IntakeError``), and how a cell reads as text, a date or what Excel shows."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from data import messages, vocabulary as vocab
from data.sheets import Cell, as_cell, column_letter


@dataclass(frozen=True)
class IntakeError:
    """One problem, located as a person finds it in Excel (sheet, row, column, cell).

    ``msg`` and ``params`` name the message (``data.messages``) so that it can be shown in
    either language; ``message`` is its English text."""
    code: str
    sheet: str
    row: int | None
    column: str
    cell: str
    value: str
    message: str
    msg: str = ""
    params: dict = field(default_factory=dict, compare=False, hash=False)

    def where(self, lang: str = "en") -> str:
        text = messages.where(self.sheet, self.row, self.column, self.cell, lang)
        return text or ("整个文件" if lang == "zh" else "The file")

    def text(self, lang: str = "en") -> str:
        return messages.error_text(self, lang)

    def __str__(self) -> str:
        return self.line("en")

    def line(self, lang: str = "en") -> str:
        """Where, then what to do, in ``lang``."""
        what = self.text(lang)
        if not (self.sheet or self.row or self.column):
            return what
        return f"{self.where(lang)}{'：' if lang == 'zh' else ': '}{what}"


@dataclass(frozen=True)
class Field:
    name: str
    required: bool
    help: str
    help_zh: str = ""

    def helps(self) -> dict:
        """The help in both languages (a message parameter)."""
        return messages.both(self.help, self.help_zh or self.help)


OBSERVATION_FIELDS = (
    Field("indicator_id", True, "The indicator, from the list (or declared on the New indicators sheet).",
          "指标，从列表中选择（或在 New indicators 工作表中声明）。"),
    Field("area", True, "all_pko for all peacekeeping operations, or a mission's acronym (MINUSMA, ...), from the list.",
          "all_pko 表示所有维和行动，或填写特派团的缩写（MINUSMA 等），从列表中选择。"),
    Field("period", True, "2023 (a year), 2023-05 (a month), 2023-06-30 (a day), 2023-01/2023-08 "
                          "(January to August) or 2022/23 (a fiscal year, July to June). Type it as text.",
          "2023（年）、2023-05（月）、2023-06-30（日）、2023-01/2023-08（1月至8月）或 2022/23（财政年度，7月至次年6月）。请以文本键入。"),
    Field("period_label", False, "The period as the report words it, in English: 'as of May 2023'. "
                                 "Empty: the period itself.",
          "报告对期间的英文表述，如“as of May 2023”。留空则为期间本身。"),
    Field("value", True, "The number alone, with a point for decimals and no separators: 25.6, 1067. "
                         "A percentage as 25.6 (or 25.6 % in a cell formatted as a percentage).",
          "只填数字，用小数点表示小数，不加分隔符：25.6、1067。百分比写 25.6（或在设为百分比格式的单元格中写 25.6 %）。"),
    Field("unit", True, "The indicator's unit, from the list (count, percent, ...): a check that the "
                        "value is what you mean.",
          "指标的单位，从列表中选择（count、percent 等）：用来核对数值是否符合原意。"),
    Field("qualifier", False, "exact (empty means exact), more_than, at_least, nearly, about, less_than or at_most.",
          "exact（留空即为 exact）、more_than、at_least、nearly、about、less_than 或 at_most。"),
    Field("obs_status", False, "normal (empty means normal), estimated, provisional or break.",
          "normal（留空即为 normal）、estimated、provisional 或 break。"),
    Field("stated_by", True, "Secretariat; Member State: <country>; Security Council; Working Group; or <body>: <who>.",
          "Secretariat；Member State: <国家>；Security Council；Working Group；或 <机构>: <人员>。"),
    Field("source_id", True, "The report, from the list (or declared on the New sources sheet).",
          "报告，从列表中选择（或在 New sources 工作表中声明）。"),
    Field("locator", True, "Where in the report: para 44, footnote 7, annex para 12, table 2 ...",
          "在报告中的位置：para 44、footnote 7、annex para 12、table 2 等。"),
    Field("quote", True, "The sentence that states the value, copied exactly from the report (one line).",
          "陈述该数值的句子，从报告中准确复制（一行）。"),
    Field("quote_en", False, "An English rendering of the quote.",
          "引文的英文译文。"),
    Field("value_text", False, "The exact characters of the quote that state the value (8.8 万, 25.6%): "
                               "checked against the value.",
          "引文中陈述该数值的确切字符（8.8 万、25.6%）：会与数值核对。"),
    Field("note", False, "Anything a reader needs: what is counted, differences of definition.",
          "读者需要知道的任何说明：统计的是什么、定义上的差异。"),
    Field("revision", False, "yes when this value corrects one already published for the same "
                             "indicator, area and period; otherwise leave empty.",
          "如果此数值更正同一指标、范围和期间已发布的数值，填 yes；否则留空。"),
)
SOURCE_FIELDS = (
    Field("source_id", True, "A short new id: lower-case letters, digits, - and . (e.g. s-2024-123).",
          "简短的新 id：小写字母、数字、- 和 .（如 s-2024-123）。"),
    Field("symbol", False, "The UN document symbol (S/2024/123), when confirmed.",
          "联合国文件编号（S/2024/123），确认后填写。"),
    Field("cite_as", True, "How a citation names the report: the symbol, or a short title and date.",
          "引用时如何称呼该报告：文件编号，或简短的标题和日期。"),
    Field("title_en", True, "Title in English.",
          "英文标题。"),
    Field("title_zh", False, "Title in Chinese, as the report gives it.",
          "中文标题，按报告原文填写。"),
    Field("issuing_body", True, "Who issued it: Secretary-General, a CPAS export, ...",
          "发布者：秘书长、CPAS 导出等。"),
    Field("date", True, "Date of the report: 2024-03-05, 2024-03 or 2024 (as precisely as known).",
          "报告日期：2024-03-05、2024-03 或 2024（尽可能精确）。"),
    Field("url", False, "Link to the document (https://...).",
          "文件链接（https://...）。"),
    Field("numbering", False, "What a locator refers to (paragraphs 1-80; rows of the export).",
          "位置所指的内容（第 1-80 段；导出文件的行）。"),
    Field("identification", False, "How the symbol and date were established.",
          "文件编号和日期是如何确定的。"),
)
INDICATOR_FIELDS = (
    Field("indicator_id", True, "A short new id: lower-case letters, digits and _ (e.g. cpas_missions_reporting).",
          "简短的新 id：小写字母、数字和 _（如 cpas_missions_reporting）。"),
    Field("family", True, "One of: " + ", ".join(vocab.FAMILIES) + ".",
          "以下之一：" + "、".join(vocab.FAMILIES) + "。"),
    Field("name_en", True, "Name in English.",
          "英文名称。"),
    Field("name_zh", False, "Name in Chinese.",
          "中文名称。"),
    Field("unit", True, "One of the units on the Lists sheet.",
          "Lists 工作表中的单位之一。"),
    Field("definition", True, "What is counted or measured, in English.",
          "统计或衡量的是什么，用英文填写。"),
    Field("chart", False, "line (empty means line) or bar.",
          "line（留空即为 line）或 bar。"),
    Field("break_note", False, "Related series defined differently, if any.",
          "定义不同的相关系列（如有）。"),
)
AREA_FIELDS = (
    Field("area_id", True, "A short new id: a mission's English acronym, or a word such as west_africa.",
          "简短的新 id：特派团的英文缩写，或 west_africa 这样的词。"),
    Field("name_en", True, "Name in English.",
          "英文名称。"),
    Field("name_zh", False, "Name in Chinese.",
          "中文名称。"),
    Field("kind", True, "One of: " + ", ".join(vocab.AREA_KINDS) + ".",
          "以下之一：" + "、".join(vocab.AREA_KINDS) + "。"),
)
SHEETS = {"Observations": OBSERVATION_FIELDS, "New sources": SOURCE_FIELDS,
          "New indicators": INDICATOR_FIELDS, "New areas": AREA_FIELDS}
IGNORED_SHEETS = ("Instructions", "Lists")  # the template's own help sheets

# Columns of the export contract (data.selection.EXPORT_COLUMNS) that repeat what the store
# already says about an indicator, period or source. An exported file may come back with
# them: they are read only to check that they still agree with the store, never to change it.
EXPORT_DERIVED = ("indicator_name", "family", "period_start", "period_end", "source_symbol",
                  "source_title", "source_date")


def unguard(text: str) -> str:
    """Undo the export's formula guard (data.export.safe_text): ``'=x`` is the text ``=x``."""
    if text[:1] != "'":
        return text
    # imported here: filing a spreadsheet does not otherwise need the export's module (it
    # no longer brings pandas, but keep the intake's imports to what it uses)
    from data.export import FORMULA_START
    return text[1:] if text[1:2].startswith(FORMULA_START) and text[1:2] else text


def normalise_label(text) -> str:
    return re.sub(r"[\s\-]+", "_", str(text or "").strip().strip("*").strip().lower())


class Row:
    """One row of a sheet, its cells addressed by column name."""

    def __init__(self, number: int, cells: list[Cell], columns: dict[str, int]):
        self.number, self.cells, self.columns = number, cells, columns

    def cell(self, name: str) -> Cell:
        idx = self.columns.get(name)
        if idx is None or idx >= len(self.cells):
            ref = f"{column_letter(idx + 1)}{self.number}" if idx is not None else ""
            return Cell(None, "empty", ref)
        return self.cells[idx]


def cell_at(values: list, columns: dict[str, int], name: str, number: int) -> Cell:
    """The cell of a named column in a row of raw values (as ``Row.cell`` gives it)."""
    idx = columns.get(name)
    if idx is None:
        return Cell(None, "empty", "")
    ref = f"{column_letter(idx + 1)}{number}"
    return as_cell(values[idx], ref) if idx < len(values) else Cell(None, "empty", ref)


def blank(values: list) -> bool:
    """A row with nothing in it (what Excel leaves below the data)."""
    for v in values:
        if v is None:
            continue
        kind = type(v)
        if kind is str:
            if v and not v.isspace():
                return False
        elif kind is Cell:
            if v.kind != "empty":
                return False
        else:
            return False
    return True


def plain(number) -> str:
    """A number as a person typed it: ``1067``, not ``1067.0``."""
    if isinstance(number, float) and number.is_integer() and abs(number) < 1e15:
        return str(int(number))
    return str(number)


def iso_date(value) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d") if value.time() == datetime.min.time() else value.isoformat()
    return value.isoformat()


def shown(cell: Cell) -> str:
    """The cell as Excel shows it."""
    if cell.kind == "empty" or cell.value is None:
        return ""
    if cell.kind == "date":
        return iso_date(cell.value)
    if cell.kind == "percent":
        return plain(round(float(cell.value) * 100, 10)) + "%"
    if cell.kind == "number":
        return plain(cell.value)
    return str(cell.value)


def clip(text: str, n: int = 80) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"
