"""Issue 11, finding 1: a sheet whose cells lie far out is refused before any reader lays it
out, from the positions in its XML (not the size it declares), with a message naming the
file, the sheet, the cell and the limits, in English and Chinese."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from data import messages
from data.extent import far_cell
from data.sheets import FormatError, open_book
from tests.far_cells import SHEET, bare_rows, far_text, lying_dimension, template_with, text_cell

REPO = Path(__file__).resolve().parent.parent
LIMITS = dict(max_rows=100_000, max_columns=100)  # the defaults: rows to 100,001, columns to CV


def refusal(path: Path, **limits) -> FormatError:
    with pytest.raises(FormatError) as info:
        open_book(path, path.name, 20 << 20, **{**LIMITS, **limits})
    return info.value


@pytest.mark.parametrize("ref", ["XFD1048576", "P1048576", "A100002", "CW1", "cw5"])
def test_a_cell_past_the_limits_is_refused_with_file_sheet_cell_and_limits(tmp_path, ref):
    path = far_text(tmp_path / "far.xlsx", ref)
    e = refusal(path)
    assert (e.code, e.msg) == ("file-too-large", "cell-too-far")
    shown = ref.upper()
    assert e.message == (
        f"far.xlsx: the sheet 'Observations' has a cell at {shown}, beyond what a sheet may reach (row 100,001, "
        f"column CV: 100,000 rows under the header, 100 columns; PKPI_MAX_ROWS and PKPI_MAX_COLUMNS). Nothing "
        f"was read. In Excel, go to {shown} (Ctrl+G), delete the rows or columns out there (select them, "
        f"right-click > Delete, even if they look empty), save, and put the file in the inbox again.")
    zh = messages.render(e.msg, e.params, "zh")
    assert zh.startswith(f"far.xlsx：工作表“Observations”在 {shown} 处有单元格，超出了工作表可达的范围（第 100,001 行、CV 列")


@pytest.mark.parametrize("ref", ["CV100001", "A100001", "CV2"])
def test_a_cell_at_the_limits_is_read(tmp_path, ref):
    path = far_text(tmp_path / "edge.xlsx", ref)
    sheets = open_book(path, path.name, 20 << 20, **LIMITS)
    rows = {n: v for n, v in sheets[0].raw_rows() if any(x not in (None, "") for x in v)}
    assert max(rows) == int(ref.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    assert "far away" in rows[max(rows)]


def test_limits_follow_the_settings(tmp_path, monkeypatch):
    path = far_text(tmp_path / "far.xlsx", "Z60")
    monkeypatch.setenv("PKPI_MAX_ROWS", "50")
    e = refusal(path, max_rows=None, max_columns=None)
    assert e.params["cell"] == "Z60" and e.params["max_row"] == 51 and e.params["max_columns"] == 100
    monkeypatch.setenv("PKPI_MAX_ROWS", "100")
    monkeypatch.setenv("PKPI_MAX_COLUMNS", "25")
    e = refusal(path, max_rows=None, max_columns=None)
    assert e.params["cell"] == "Z60" and e.params["max_column"] == "Y"
    monkeypatch.setenv("PKPI_MAX_COLUMNS", "26")
    assert open_book(path, path.name, 20 << 20)[0].name == "Observations"


def test_rows_placed_by_position_count(tmp_path):
    """A million bare <row/> (no r attribute) then one cell without a reference: the cell is
    at row 1,048,573, as the readers place it (calamine took 554 MB for it)."""
    path = bare_rows(tmp_path / "bare.xlsx", 1_048_570)
    assert path.stat().st_size < 40_000
    e = refusal(path)
    assert e.params["cell"] == "A1048573" and e.params["sheet"] == "Observations"
    # ... and a few bare rows within the limits are read.
    near = bare_rows(tmp_path / "near.xlsx", 10)
    assert open_book(near, near.name, 20 << 20, **LIMITS)[0].name == "Observations"


def test_a_declared_size_is_not_trusted_either_way(tmp_path):
    lie = lying_dimension(tmp_path / "lie.xlsx", "A1:XFD1048576")
    assert [s.name for s in open_book(lie, lie.name, 20 << 20, **LIMITS)][:1] == ["Observations"]
    small = template_with(tmp_path / "small.xlsx", text_cell("XFD1048576"),
                          edit=lambda d: re.sub(rb'<dimension ref="[^"]*"', b'<dimension ref="A1:B2"', d))
    assert b'<dimension ref="A1:B2"' in zipfile.ZipFile(small).read(SHEET)
    assert refusal(small).params["cell"] == "XFD1048576"


@pytest.mark.parametrize("cell", [
    b'<c t="inlineStr" r="XFD9"><is><t>x</t></is></c>',  # the reference not the first attribute
    b'<c s="0" a=">" r="XFD9"/>',  # a '>' inside an attribute value before it
    b"<c r='XFD9' t='inlineStr'><is><t>x</t></is></c>",  # single quotes
    b'<c r="xfd9" t="inlineStr"><is><t>x</t></is></c>',  # lower case
    b'<c r="A9"/><c/><c/>' + b"<c/>" * 200,  # cells placed by position along the row
])
def test_other_spellings_of_a_far_cell(tmp_path, cell):
    path = template_with(tmp_path / "spelt.xlsx", b'<row r="9">' + cell + b"</row>")
    e = refusal(path)
    assert e.params["cell"].endswith("9") and e.params["cell"] >= "CW"


def test_a_prefixed_sheet_is_scanned_too(tmp_path):
    def prefixed(data: bytes) -> bytes:
        data = data.replace(b'<worksheet xmlns="', b'<x:worksheet xmlns:x="').replace(b"</worksheet>", b"</x:worksheet>")
        for tag in (b"sheetData", b"row", b"c", b"is", b"t", b"dimension", b"sheetViews", b"sheetView",
                    b"selection", b"sheetFormatPr", b"pageMargins", b"sheetPr", b"outlinePr", b"pageSetUpPr"):
            data = data.replace(b"<" + tag + b" ", b"<x:" + tag + b" ").replace(b"<" + tag + b">", b"<x:" + tag + b">")
            data = data.replace(b"</" + tag + b">", b"</x:" + tag + b">").replace(b"<" + tag + b"/>", b"<x:" + tag + b"/>")
        return data

    path = template_with(tmp_path / "prefixed.xlsx", text_cell("XFD1048576"), edit=prefixed)
    assert b"<x:c " in zipfile.ZipFile(path).read(SHEET)
    assert refusal(path).params["cell"] == "XFD1048576"


def test_text_that_looks_like_a_cell_is_not_a_cell(tmp_path):
    quoted = 'a note saying &lt;c r="XFD1"/&gt; and r="XFD1048576"'
    path = template_with(tmp_path / "text.xlsx", text_cell("B3", quoted))
    assert far_cell(path, 100_001, 100) is None


def test_the_refusal_costs_little_memory(tmp_path):
    """Each in a process of its own, with the settings' defaults: refusing the red team's
    files peaks no higher than reading a one-value template, where reading them aborted the
    process (XFD1048576) or took 520 MB (P1048576)."""
    peaks = {}
    for ref in ("XFD1048576", "P1048576", "A2"):
        path = far_text(tmp_path / f"{ref}.xlsx", ref)
        code = (
            "import json, resource\n"
            "from pathlib import Path\n"
            "from data.sheets import FormatError, open_book\n"
            "try:\n"
            f"    sheets = open_book(Path({str(path)!r}), 'f.xlsx', 20 << 20)\n"
            "    said = sum(1 for s in sheets for _ in s.raw_rows())\n"
            "except FormatError as e:\n"
            "    said = e.msg\n"
            "print(json.dumps([said, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024]))\n")
        env = {k: v for k, v in os.environ.items() if k not in ("PKPI_MAX_ROWS", "PKPI_MAX_COLUMNS")}
        done = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                              timeout=120, env=env)
        assert done.returncode == 0, (ref, done.returncode, done.stderr[-1500:])
        peaks[ref] = json.loads(done.stdout.strip().splitlines()[-1])
    print("said, peak MB:", peaks)
    assert peaks["XFD1048576"][0] == peaks["P1048576"][0] == "cell-too-far"
    assert isinstance(peaks["A2"][0], int)  # read, row by row
    for ref in ("XFD1048576", "P1048576"):
        assert peaks[ref][1] < peaks["A2"][1] + 20, peaks
