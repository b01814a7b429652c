"""Workbooks whose cells lie far out (issue 11, finding 1), made as real .xlsx files: a filled
template from ``intake_helpers.workbook`` whose Observations sheet XML is then edited in the
package, the way a hostile or careless file would hold it."""
from __future__ import annotations

import re
import zipfile
from pathlib import Path

from tests.intake_helpers import obs, workbook

SHEET = "xl/worksheets/sheet1.xml"  # Observations, the first sheet openpyxl writes


def _rewrite(src: Path, dst: Path, edit) -> Path:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename == SHEET:
                data = edit(data)
            zout.writestr(info, data)
    return dst


def template_with(path: Path, extra_rows: bytes = b"", edit=None, **row) -> Path:
    """A correct one-value template whose Observations sheet gets ``extra_rows`` appended
    (raw sheet XML) and then ``edit`` applied to the whole sheet XML."""
    plain = workbook(path.with_name(path.stem + "-plain.xlsx"), [obs(**row)])

    def change(data: bytes) -> bytes:
        data = data.replace(b"</sheetData>", extra_rows + b"</sheetData>")
        return edit(data) if edit else data

    out = _rewrite(plain, path, change)
    plain.unlink()
    return out


def text_cell(ref: str, text: str = "far away", row_attr: bool = True) -> bytes:
    row = re.sub(r"[A-Z]", "", ref)
    row_open = f'<row r="{row}">' if row_attr else "<row>"
    return f'{row_open}<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c></row>'.encode()


def far_text(path: Path, ref: str) -> Path:
    """The red team's file: one text cell at ``ref`` (XFD1048576, P1048576)."""
    return template_with(path, text_cell(ref))


def bare_rows(path: Path, count: int) -> Path:
    """``count`` rows without a number, then a cell without a reference: placed by position,
    row 2 + count + 1 (a million bare rows take 6 MB of XML and 16 KB zipped)."""
    return template_with(path, b"<row/>" * count + b'<row><c t="inlineStr"><is><t>far</t></is></c></row>')


def lying_dimension(path: Path, ref: str = "A1:XFD1048576") -> Path:
    """A sheet within the limits that declares itself huge."""
    return template_with(path, edit=lambda d: re.sub(rb'<dimension ref="[^"]*"\s*/>',
                                                     f'<dimension ref="{ref}"/>'.encode(), d))
