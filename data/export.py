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

from data.selection import EXPORT_COLUMNS, Filters, iter_observations, observations_select
from data.sqltext import number_text  # also makes isnan and contains compile for PostgreSQL
from data.stores import reader_for

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


def _indicator_runs(stmt, reader) -> list[tuple[str, str]]:
    """(first, last) indicator ids of consecutive runs of about _GROUP_ROWS selected rows."""
    ind = stmt.selected_columns["indicator_id"]  # of the statement's own FROM (an "as of" view, say)
    counts = stmt.with_only_columns(ind, sa.func.count(), maintain_column_froms=True) \
        .group_by(ind).order_by(None).order_by(ind)
    runs, first, n = [], None, 0
    rows = reader.rows(counts)
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
                       else_=number_text(v))
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


def _sql_lines(f: Filters, engine, line_of) -> Iterator[tuple[int, str]]:
    """(rows, text) per batch, each row's text built in SQL by ``line_of`` from the cells
    ``c0, c1, ...`` of the query's own statement (``_sql_safe`` of each export column), a run
    of indicators at a time (so memory is bounded by a run, not the store), all through one
    reader (one data version for the whole file)."""
    with reader_for(engine) as r:
        yield from _sql_runs(f, r, line_of)


def _sql_runs(f: Filters, reader, line_of) -> Iterator[tuple[int, str]]:
    stmt = observations_select(f)
    chosen = stmt.selected_columns
    # Two steps, so that each cell is computed once: the query's own statement gives the cells
    # (in its order), the outer SELECT quotes and joins them (a projection keeps that order).
    cells = stmt.with_only_columns(*(_sql_safe(chosen[name]).label(f"c{n}")
                                     for n, name in enumerate(EXPORT_COLUMNS)),
                                   maintain_column_froms=True)
    for first, last in _indicator_runs(stmt, reader):
        sub = cells.where(chosen["indicator_id"].between(first, last)).subquery("cells")
        for batch in reader.batches(sa.select(line_of(sub).label("line")).select_from(sub), _BATCH_ROWS):
            if batch.num_rows:
                yield batch.num_rows, "".join(batch.column(0).to_pylist())


def _csv_line(sub):
    line = _sql_quoted(sub.c.c0)
    for n in range(1, len(EXPORT_COLUMNS)):
        line = line + "," + _sql_quoted(sub.c[f"c{n}"])
    return line + "\r\n"


def _csv_lines(f: Filters, engine) -> Iterator[tuple[int, str]]:
    """(rows, text) per batch: each row as ``cell`` and ``csv.writer`` would write it."""
    return _sql_lines(f, engine, _csv_line)


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


# Excel's limit: 1,048,576 rows a worksheet, the header being one of them.
XLSX_MAX_ROWS = 1_048_576 - 1


class TooManyRows(ValueError):
    """The rows asked for do not fit in one Excel worksheet."""

    def __init__(self, rows: int, limit: int):
        self.rows, self.limit = rows, limit
        super().__init__(f"{rows:,} rows do not fit in an Excel worksheet (at most {limit:,} under its "
                         f"header row)")


def count_rows(f: Filters = Filters(), engine=None) -> int:
    """How many rows an export of ``f`` has (one grouped count, no row fetched)."""
    with reader_for(engine) as r:
        return _count(f, r)


def _count(f: Filters, reader) -> int:
    stmt = observations_select(f)
    ind = stmt.selected_columns["indicator_id"]
    counted = stmt.with_only_columns(sa.func.count(ind), maintain_column_froms=True).order_by(None)
    return int(reader.rows(counted)[0][0])


def export_xlsx(out: IO[bytes] | Path | str, f: Filters = Filters(), engine=None) -> int:
    """The same rows as the CSV, as an Excel workbook: sheet ``observations`` and a sheet
    ``sources`` describing each report cited. Text is formula-safe as in the CSV. Raises
    ``TooManyRows`` (before writing anything) when the rows do not fit in one worksheet.

    openpyxl writes the workbook around the rows (widths, bold frozen header, filters, the
    sources sheet); the rows themselves are written as sheet XML built by the store's SQL, a run of
    indicators at a time, straight into the compressed file, the way the CSV is: a cell per
    value through openpyxl took 650 MB and over three minutes for 400,000 rows (the query
    sorted the whole store before the first row, and each cell was a Python object).
    ``export_xlsx_rowwise`` is the openpyxl-only reference it is tested against."""
    with reader_for(engine) as r:  # one data version for the count, the sources and the rows
        n = _count(f, r)
        if n > XLSX_MAX_ROWS:
            raise TooManyRows(n, XLSX_MAX_ROWS)
        written = _xlsx_write(out, f, r, n)
    if written != n:  # the store cannot change under a reader: this would be a defect here
        raise RuntimeError(f"xlsx: counted {n} rows, wrote {written}")
    return n


def _xlsx_write(out, f: Filters, reader, n: int) -> int:
    import shutil
    import tempfile
    import zipfile

    with tempfile.TemporaryFile() as frame_file:
        _xlsx_frame(frame_file, _cited_sources(f, reader), n, reader)
        frame_file.seek(0)
        with zipfile.ZipFile(frame_file) as frame, \
                zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as book:
            for item in frame.infolist():
                if item.filename != _OBS_SHEET:
                    with frame.open(item) as src, book.open(item.filename, "w") as dst:
                        shutil.copyfileobj(src, dst)
                    continue
                head, tail = frame.read(item).decode("utf-8").split("</sheetData>", 1)
                with book.open(_OBS_SHEET, "w", force_zip64=True) as dst:
                    dst.write(head.encode("utf-8"))
                    written = 0
                    for rows, text in _sql_runs(f, reader, _xlsx_row):
                        written += rows
                        dst.write(text.encode("utf-8"))
                    dst.write(("</sheetData>" + tail).encode("utf-8"))
    return written


_OBS_SHEET = "xl/worksheets/sheet1.xml"  # openpyxl names sheets in the order they are created
_SOURCE_COLUMNS = ["source_id", "cite_as", "symbol", "title_en", "title_zh", "issuing_body", "date", "url",
                   "numbering", "identification"]
# Characters XML 1.0 cannot carry (openpyxl refuses them); shown as U+FFFD, never dropped unseen.
_XML_ILLEGAL = r"[\x00-\x08\x0b\x0c\x0e-\x1f]"  # escapes, not the characters: PostgreSQL cannot take a NUL in text


def _cited_sources(f: Filters, reader) -> set:
    stmt = observations_select(f)
    src = stmt.selected_columns["source_id"]
    distinct = stmt.with_only_columns(src, maintain_column_froms=True).order_by(None).distinct()
    return {r[0] for r in reader.rows(distinct)}


def _xlsx_frame(out, cited: set, rows: int, reader) -> None:
    """The workbook without its observation rows: both sheets' widths, frozen bold header
    and filter (over ``rows`` rows), and the sources sheet."""
    from openpyxl import Workbook

    from data import schema
    from data.engine import to_pandas

    book = Workbook(write_only=True)
    _xlsx_header(book.create_sheet("observations"), list(EXPORT_COLUMNS))
    sheet = book.create_sheet("sources")
    _xlsx_header(sheet, _SOURCE_COLUMNS)
    t = schema.sources
    sources = to_pandas(reader.arrow(sa.select(t).order_by(*t.primary_key.columns)))
    listed = sources[sources["source_id"].isin(cited)]
    for _, s in listed.iterrows():
        sheet.append([_xlsx_cell(s[c]) for c in _SOURCE_COLUMNS])
    _xlsx_filter(book["sources"], _SOURCE_COLUMNS, len(listed))
    _xlsx_filter(book["observations"], list(EXPORT_COLUMNS), rows)
    book.save(out)


def _xlsx_row(sub):
    """One ``<row>`` of sheet XML, as openpyxl writes a row of ``_xlsx_cell`` values: numbers
    as numbers, dates as ISO text, text formula-safe (``_sql_safe``) and XML-escaped; an
    empty value is an empty cell. Cells and rows go without their optional positions."""
    types = observations_select(Filters()).selected_columns
    parts = []
    for n, name in enumerate(EXPORT_COLUMNS):
        text = sub.c[f"c{n}"]
        if isinstance(types[name].type, (sa.Float, sa.Numeric, sa.Integer)) and \
                not isinstance(types[name].type, sa.Boolean):
            full = sa.case((text.in_(("inf", "-inf")),  # no infinite worksheet number: as text
                            '<c t="inlineStr"><is><t>' + text + "</t></is></c>"),
                           else_="<c><v>" + text + "</v></c>")
        else:
            escaped = sa.func.replace(sa.func.replace(sa.func.replace(text, "&", "&amp;"), "<", "&lt;"), ">", "&gt;")
            escaped = sa.func.regexp_replace(escaped, _XML_ILLEGAL, "\ufffd", "g")
            full = '<c t="inlineStr"><is><t xml:space="preserve">' + escaped + "</t></is></c>"
        parts.append(sa.case((text == "", "<c/>"), else_=full))
    line = sa.literal("<row>")
    for part in parts:
        line = line + part
    return line + "</row>"


def export_xlsx_rowwise(out: IO[bytes] | Path | str, f: Filters = Filters(), engine=None) -> int:
    """``export_xlsx`` written cell by cell by openpyxl: the reference it is tested against."""
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
    _xlsx_header(sheet, _SOURCE_COLUMNS)
    listed = sources[sources["source_id"].isin(cited)]
    for _, s in listed.iterrows():
        sheet.append([_xlsx_cell(s[c]) for c in _SOURCE_COLUMNS])
    _xlsx_filter(book["sources"], _SOURCE_COLUMNS, len(listed))
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
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return str(value)  # a worksheet number cannot be infinite: the CSV's text, as text
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
