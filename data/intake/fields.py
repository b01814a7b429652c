"""Reading the fields: the sheets and columns a dropped file may hold, one problem found in
it (``IntakeError``), and how a cell reads as text, a date or what Excel shows."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from data import messages
from data.sheets import Cell, as_cell, column_letter
from indicators import vocabulary as vocab


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


OBSERVATION_FIELDS = (
    Field("indicator_id", True, "The indicator, from the list (or declared on the New indicators sheet)."),
    Field("area", True, "all_pko for all peacekeeping operations, or a mission's acronym (MINUSMA, ...), from the list."),
    Field("period", True, "2023 (a year), 2023-05 (a month), 2023-06-30 (a day), 2023-01/2023-08 "
                          "(January to August) or 2022/23 (a fiscal year, July to June). Type it as text."),
    Field("period_label", False, "The period as the report words it, in English: 'as of May 2023'. "
                                 "Empty: the period itself."),
    Field("value", True, "The number alone, with a point for decimals and no separators: 25.6, 1067. "
                         "A percentage as 25.6 (or 25.6 % in a cell formatted as a percentage)."),
    Field("unit", True, "The indicator's unit, from the list (count, percent, ...): a check that the "
                        "value is what you mean."),
    Field("qualifier", False, "exact (empty means exact), more_than, at_least, nearly, about, less_than or at_most."),
    Field("obs_status", False, "normal (empty means normal), estimated, provisional or break."),
    Field("stated_by", True, "Secretariat; Member State: <country>; Security Council; Working Group; or <body>: <who>."),
    Field("source_id", True, "The report, from the list (or declared on the New sources sheet)."),
    Field("locator", True, "Where in the report: para 44, footnote 7, annex para 12, table 2 ..."),
    Field("quote", True, "The sentence that states the value, copied exactly from the report (one line)."),
    Field("quote_en", False, "An English rendering of the quote."),
    Field("value_text", False, "The exact characters of the quote that state the value (8.8 万, 25.6%): "
                               "checked against the value."),
    Field("note", False, "Anything a reader needs: what is counted, differences of definition."),
    Field("revision", False, "yes when this value corrects one already published for the same "
                             "indicator, area and period; otherwise leave empty."),
)
SOURCE_FIELDS = (
    Field("source_id", True, "A short new id: lower-case letters, digits, - and . (e.g. s-2024-123)."),
    Field("symbol", False, "The UN document symbol (S/2024/123), when confirmed."),
    Field("cite_as", True, "How a citation names the report: the symbol, or a short title and date."),
    Field("title_en", True, "Title in English."),
    Field("title_zh", False, "Title in Chinese, as the report gives it."),
    Field("issuing_body", True, "Who issued it: Secretary-General, a CPAS export, ..."),
    Field("date", True, "Date of the report: 2024-03-05, 2024-03 or 2024 (as precisely as known)."),
    Field("url", False, "Link to the document (https://...)."),
    Field("numbering", False, "What a locator refers to (paragraphs 1-80; rows of the export)."),
    Field("identification", False, "How the symbol and date were established."),
)
INDICATOR_FIELDS = (
    Field("indicator_id", True, "A short new id: lower-case letters, digits and _ (e.g. cpas_missions_reporting)."),
    Field("family", True, "One of: " + ", ".join(vocab.FAMILIES) + "."),
    Field("name_en", True, "Name in English."),
    Field("name_zh", False, "Name in Chinese."),
    Field("unit", True, "One of the units on the Lists sheet."),
    Field("definition", True, "What is counted or measured, in English."),
    Field("chart", False, "line (empty means line) or bar."),
    Field("break_note", False, "Related series defined differently, if any."),
)
AREA_FIELDS = (
    Field("area_id", True, "A short new id: a mission's English acronym, or a word such as west_africa."),
    Field("name_en", True, "Name in English."),
    Field("name_zh", False, "Name in Chinese."),
    Field("kind", True, "One of: " + ", ".join(vocab.AREA_KINDS) + "."),
)
SHEETS = {"Observations": OBSERVATION_FIELDS, "New sources": SOURCE_FIELDS,
          "New indicators": INDICATOR_FIELDS, "New areas": AREA_FIELDS}
IGNORED_SHEETS = ("Instructions", "Lists")  # the template's own help sheets

# Columns of the export contract (indicators.query.EXPORT_COLUMNS) that repeat what the store
# already says about an indicator, period or source. An exported file may come back with
# them: they are read only to check that they still agree with the store, never to change it.
EXPORT_DERIVED = ("indicator_name", "family", "period_start", "period_end", "source_symbol",
                  "source_title", "source_date")


def unguard(text: str) -> str:
    """Undo the export's formula guard (data.export.safe_text): ``'=x`` is the text ``=x``."""
    if text[:1] != "'":
        return text
    # imported here: data.export brings pandas (a third of a second), which filing a
    # spreadsheet does not otherwise need
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


def col(ref: str) -> int:
    """The column number of a cell reference (``C12`` is 3)."""
    n = 0
    for ch in ref:
        if not ch.isalpha():
            break
        n = n * 26 + ord(ch.upper()) - 64
    return n


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
