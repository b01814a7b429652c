"""Write observations as CSV for spreadsheets: the export contract, formula-safe.

UTF-8 with a byte-order mark (so Excel reads the Chinese quotes), ISO dates, numbers
without separators, and no cell that a spreadsheet could run as a formula: text that
begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is prefixed with ``'``.
"""
from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path
from typing import IO, Iterable, Iterator

from indicators.query import EXPORT_COLUMNS, Filters, iter_observations

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_text(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def cell(value) -> str:
    """How one value is written: numbers plain, dates ISO, text formula-safe."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        if value != value:  # NaN
            return ""
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return safe_text(str(value))


def write_rows(out: IO[str], header: Iterable[str], rows: Iterable[Iterable]) -> int:
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    n = 0
    for row in rows:
        writer.writerow([cell(v) for v in row])
        n += 1
    return n


def iter_csv(f: Filters = Filters(), engine=None, stats: dict | None = None) -> Iterator[str]:
    """The CSV text of the observations selected by ``f``, in chunks: the byte-order mark and
    header first, then one chunk per fetched batch, so no export holds the whole store.
    ``stats["rows"]`` counts the rows written, when given."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    yield "\ufeff" + buf.getvalue()
    positions = None
    for keys, chunk in iter_observations(f, engine):
        if positions is None:
            positions = [keys.index(c) for c in EXPORT_COLUMNS]
        buf.seek(0)
        buf.truncate()
        for r in chunk:
            writer.writerow([cell(r[p]) for p in positions])
        if stats is not None:
            stats["rows"] = stats.get("rows", 0) + len(chunk)
        yield buf.getvalue()


def export_csv(path: Path | str | IO[str], f: Filters = Filters(), engine=None) -> int:
    """Write the observations selected by ``f`` to ``path``. Returns the number of rows."""
    stats = {"rows": 0}
    out = open(path, "w", encoding="utf-8", newline="") if isinstance(path, (str, Path)) else path
    try:
        for text in iter_csv(f, engine, stats):
            out.write(text)
    finally:
        if out is not path:
            out.close()
    return stats["rows"]


def export_text(f: Filters = Filters(), engine=None) -> str:
    return "".join(iter_csv(f, engine))


def export_xlsx(out: IO[bytes] | Path | str, f: Filters = Filters(), engine=None) -> int:
    """The same rows as the CSV, as an Excel workbook: sheet ``observations`` and a sheet
    ``sources`` describing each report cited. Text is formula-safe as in the CSV (openpyxl
    would otherwise store a cell beginning with ``=`` as a formula). Written in openpyxl's
    write-only mode, row by row."""
    from openpyxl import Workbook

    from indicators.query import table

    book = Workbook(write_only=True)
    sheet = book.create_sheet("observations")
    sheet.append(list(EXPORT_COLUMNS))
    n, cited = 0, set()
    for keys, chunk in iter_observations(f, engine):
        positions = [keys.index(c) for c in EXPORT_COLUMNS]
        source_at = keys.index("source_id")
        for r in chunk:
            sheet.append([_xlsx_cell(r[p]) for p in positions])
            cited.add(r[source_at])
        n += len(chunk)
    sources = table("sources", engine)
    sheet = book.create_sheet("sources")
    columns = ["source_id", "cite_as", "symbol", "title_en", "title_zh", "issuing_body", "date", "url",
               "numbering", "identification"]
    sheet.append(columns)
    for _, s in sources[sources["source_id"].isin(cited)].iterrows():
        sheet.append([_xlsx_cell(s[c]) for c in columns])
    book.save(out)
    return n


def _xlsx_cell(value):
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, (int, float, date)):
        return value.isoformat() if isinstance(value, date) else value
    return safe_text(str(value))
