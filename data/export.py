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

import sqlalchemy as sa

from data.engine import compiled, raw_connection, reader
from data.selection import EXPORT_COLUMNS, Filters, iter_observations, observations_select

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_text(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_START) else value


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


# -- The same text, written by DuckDB ----------------------------------------------------------
#
# Formatting a million rows cell by cell in Python takes tens of seconds. So each CSV line is
# built in SQL, by the rules of ``cell`` and of ``csv.writer`` (minimal quoting, CRLF), on the
# one query's own statement (same joins, filters and order: only the selected columns
# differ), and streamed in Arrow batches. tests/test_export_fast.py checks that the two
# writers give the same bytes.
#
# DuckDB sorts a result before it hands over the first row, and the sort holds every line:
# 0.9 GB for a million. The order begins with the indicator, so the rows are fetched a run
# of consecutive indicators at a time (about _GROUP_ROWS rows each): the same rows in the
# same order, with memory bounded by one run instead of the whole store.
_BATCH_ROWS = 10_000
_GROUP_ROWS = 100_000


def _indicator_runs(stmt, engine) -> list[tuple[str, str]]:
    """(first, last) indicator ids of consecutive runs of about _GROUP_ROWS selected rows."""
    ind = stmt.selected_columns["indicator_id"]  # of the statement's own FROM (an "as of" view, say)
    counts = stmt.with_only_columns(ind, sa.func.count(), maintain_column_froms=True) \
        .group_by(ind).order_by(None).order_by(ind)
    runs, first, n = [], None, 0
    sql, params = compiled(counts, engine)
    with engine.connect() as conn:
        rows = raw_connection(conn).sql(sql, params=params).fetchall()
    for k, (indicator, count) in enumerate(rows):
        first = first or indicator
        n += count
        if n >= _GROUP_ROWS or k == len(rows) - 1:
            runs.append((first, indicator))
            first, n = None, 0
    return runs


def _sql_safe(expr):
    """cell() of a value, as SQL text: numbers plain (88000 not 88000.0, else repr()), dates
    ISO, NULL empty, and text formula-safe."""
    kind = expr.type
    if isinstance(kind, (sa.Float, sa.Numeric)):
        v = sa.cast(expr, sa.Double)
        return sa.case((v.is_(None), ""), (sa.func.isnan(v), ""),
                       (sa.and_(v == sa.func.trunc(v), sa.func.abs(v) < 1e15),
                        sa.cast(sa.cast(v, sa.BigInteger), sa.Text)),
                       else_=sa.cast(v, sa.Text))
    if isinstance(kind, sa.Boolean):
        return sa.case((expr.is_(None), ""), (expr, "true"), else_="false")
    if isinstance(kind, (sa.Date, sa.Integer)):
        return sa.func.coalesce(sa.cast(expr, sa.Text), "")
    return sa.case((expr.is_(None), ""),
                   (sa.func.left(expr, 1).in_(FORMULA_START), sa.literal("'") + expr), else_=expr)


def _sql_quoted(text):
    """A field as csv.writer writes it: quoted (quotes doubled) when it holds , " CR or LF."""
    needs_quotes = sa.or_(*(sa.func.contains(text, ch) for ch in (",", '"', "\r", "\n")))
    return sa.case((needs_quotes, '"' + sa.func.replace(text, '"', '""') + '"'), else_=text)


def _csv_lines(f: Filters, engine) -> Iterator[tuple[int, str]]:
    """(rows, text) per batch: each row as ``cell`` and ``csv.writer`` would write it."""
    engine = engine or reader()
    stmt = observations_select(f)
    chosen = stmt.selected_columns
    # Two steps, so that each cell is computed once: the query's own statement gives the cells
    # (in its order), the outer SELECT quotes and joins them (a projection keeps that order).
    cells = stmt.with_only_columns(*(_sql_safe(chosen[name]).label(f"c{n}")
                                     for n, name in enumerate(EXPORT_COLUMNS)),
                                   maintain_column_froms=True)
    for first, last in _indicator_runs(stmt, engine):
        sub = cells.where(chosen["indicator_id"].between(first, last)).subquery("cells")
        line = _sql_quoted(sub.c.c0)
        for n in range(1, len(EXPORT_COLUMNS)):
            line = line + "," + _sql_quoted(sub.c[f"c{n}"])
        sql, params = compiled(sa.select((line + "\r\n").label("line")).select_from(sub), engine)
        with engine.connect() as conn:
            for batch in raw_connection(conn).sql(sql, params=params).to_arrow_reader(_BATCH_ROWS):
                if batch.num_rows:
                    yield batch.num_rows, "".join(batch.column(0).to_pylist())


def iter_csv(f: Filters = Filters(), engine=None, stats: dict | None = None) -> Iterator[str]:
    """The CSV text of the observations selected by ``f``, in chunks: the byte-order mark and
    header first, then one chunk per fetched batch, so no export holds the whole store.
    ``stats["rows"]`` counts the rows written, when given."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(EXPORT_COLUMNS)
    yield "\ufeff" + buf.getvalue()
    for n, text in _csv_lines(f, engine):
        if stats is not None:
            stats["rows"] = stats.get("rows", 0) + n
        yield text


def iter_csv_rowwise(f: Filters = Filters(), engine=None, stats: dict | None = None) -> Iterator[str]:
    """``iter_csv`` written row by row in Python with ``cell``: the reference the SQL writer
    is tested against (and the benchmark's baseline)."""
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

    from data.selection import reference_table as table

    book = Workbook(write_only=True)
    sheet = book.create_sheet("observations")
    _xlsx_header(sheet, list(EXPORT_COLUMNS))
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
    _xlsx_header(sheet, columns)
    listed = sources[sources["source_id"].isin(cited)]
    for _, s in listed.iterrows():
        sheet.append([_xlsx_cell(s[c]) for c in columns])
    _xlsx_filter(book["sources"], columns, len(listed))
    _xlsx_filter(book["observations"], list(EXPORT_COLUMNS), n)
    book.save(out)
    return n


# Column widths in characters: what a reader needs to see without widening a column (long
# text such as quotes and titles gets a wide column and wraps in Excel when opened).
_XLSX_WIDTHS = {"indicator_id": 34, "indicator_name": 40, "family": 13, "area": 16, "period": 20,
                "period_start": 12, "period_end": 12, "value": 12, "unit": 14, "qualifier": 11,
                "obs_status": 11, "stated_by": 18, "source_id": 16, "source_symbol": 16, "source_title": 40,
                "source_date": 12, "locator": 24, "quote": 60, "quote_en": 60, "note": 40,
                "cite_as": 30, "symbol": 16, "title_en": 50, "title_zh": 40, "issuing_body": 24, "date": 12,
                "url": 40, "numbering": 30, "identification": 40}


def _xlsx_header(sheet, columns: list[str]) -> None:
    """Widths, a frozen bold header row: set before the first row (write-only mode)."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    for k, name in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(k)].width = _XLSX_WIDTHS.get(name, 14)
    sheet.freeze_panes = "A2"
    cells = []
    for name in columns:
        cell = WriteOnlyCell(sheet, value=name)
        cell.font = Font(bold=True)
        cells.append(cell)
    sheet.append(cells)


def _xlsx_filter(sheet, columns: list[str], rows: int) -> None:
    """An autofilter over the header and every row (written when the sheet is closed)."""
    from openpyxl.utils import get_column_letter
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(columns))}{rows + 1}"


def _xlsx_cell(value):
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, (int, float, date)):
        return value.isoformat() if isinstance(value, date) else value
    return safe_text(str(value))


def _json_cell(value):
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (bool, int, float)):
        return value
    return str(value)


def iter_json(f: Filters = Filters(), engine=None, stats: dict | None = None) -> Iterator[str]:
    """The rows and columns of ``iter_csv`` as JSON, in chunks: ``{"columns": [...], "rows":
    [{column: value}, ...], "count": n}``. Numbers are numbers, dates ISO strings, empty
    cells null; text is as stored (no spreadsheet-formula guard: JSON is not opened in Excel)."""
    import json

    yield '{"columns": ' + json.dumps(list(EXPORT_COLUMNS)) + ', "rows": ['
    n = 0
    positions = None
    for keys, chunk in iter_observations(f, engine):
        if positions is None:
            positions = [keys.index(c) for c in EXPORT_COLUMNS]
        parts = []
        for r in chunk:
            row = {c: _json_cell(r[p]) for c, p in zip(EXPORT_COLUMNS, positions)}
            parts.append(("\n" if n == 0 else ",\n") + json.dumps(row, ensure_ascii=False))
            n += 1
        yield "".join(parts)
    if stats is not None:
        stats["rows"] = n
    yield '\n], "count": ' + str(n) + "}\n"
