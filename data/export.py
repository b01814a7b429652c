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
from typing import IO, Iterable

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


def export_csv(path: Path | str | IO[str], f: Filters = Filters(), engine=None) -> int:
    """Write the observations selected by ``f`` to ``path``. Returns the number of rows."""
    positions = None

    def rows():
        nonlocal positions
        for keys, chunk in iter_observations(f, engine):
            if positions is None:
                positions = [keys.index(c) for c in EXPORT_COLUMNS]
            for r in chunk:
                yield [r[p] for p in positions]

    if isinstance(path, (str, Path)):
        with open(path, "w", encoding="utf-8-sig", newline="") as out:
            return write_rows(out, EXPORT_COLUMNS, rows())
    path.write("\ufeff")
    return write_rows(path, EXPORT_COLUMNS, rows())


def export_text(f: Filters = Filters(), engine=None) -> str:
    buf = io.StringIO()
    export_csv(buf, f, engine)
    return buf.getvalue()
