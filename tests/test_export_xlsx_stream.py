"""The Excel download at any size: rows written by DuckDB into the file a run of indicators
at a time (not cell by cell in memory), the same cells as openpyxl writes them, and rows
that do not fit in a worksheet refused with a pointer to the CSV (issue 11, finding 8).
Memory and time at 400,000 rows are measured in bench/, not asserted here."""
from __future__ import annotations

import io

from flask import Flask
from openpyxl import load_workbook

from callbacks import routes
from data import export
from data.selection import Filters


def _cells(book, name):
    return [[c.value for c in row] for row in book[name].iter_rows()]


def test_streamed_workbook_has_the_cells_and_format_of_openpyxls(any_served_read_only):
    """On DuckDB and on PostgreSQL (the functions read the store the settings name)."""
    fast, slow = io.BytesIO(), io.BytesIO()
    n = export.export_xlsx(fast, Filters())
    assert n == export.export_xlsx_rowwise(slow, Filters()) > 200
    a, b = load_workbook(fast), load_workbook(slow)
    for name in ("observations", "sources"):
        assert _cells(a, name) == _cells(b, name), name
        assert a[name].auto_filter.ref == b[name].auto_filter.ref
        assert a[name].freeze_panes == "A2" and a[name]["A1"].font.b
    assert a["observations"].auto_filter.ref == f"A1:T{n + 1}"
    values = [r[7] for r in _cells(a, "observations")[1:]]
    assert all(isinstance(v, (int, float)) for v in values if v is not None)  # numbers, not text


def test_hostile_text_is_escaped_and_formula_safe(tmp_path):
    """XML's own characters, a formula, a control character: the file still opens, the text
    reads back as the CSV has it (the control character shown, not dropped)."""
    import sqlalchemy as sa

    from data.build import build
    from data.engine import make_engine, reader
    store = tmp_path / "s.duckdb"
    build(store)
    rw = make_engine(store, read_only=False)
    with rw.begin() as conn:
        ids = [r[0] for r in conn.execute(sa.text(
            "SELECT obs_id FROM observation_vintages ORDER BY obs_id LIMIT 2"))]
        conn.execute(sa.text("UPDATE observation_vintages SET note = :n WHERE obs_id = :i"),
                     [{"n": '=1+1 <b>&amp; "x"</b>', "i": ids[0]}, {"n": "bell\x07 ]]>", "i": ids[1]}])
        from data import schema
        schema.refresh_served(conn)
    rw.dispose()
    eng = reader(store)
    out = io.BytesIO()
    export.export_xlsx(out, Filters(), eng)
    notes = {r[19] for r in _cells(load_workbook(out), "observations")[1:]}
    assert "'=1+1 <b>&amp; \"x\"</b>" in notes
    assert "bell\ufffd ]]>" in notes


def test_rows_beyond_a_worksheet_are_refused_pointing_to_the_csv(monkeypatch, store):
    monkeypatch.setenv("PKPI_DB", str(store))
    monkeypatch.setattr(export, "XLSX_MAX_ROWS", 50)
    app = Flask(__name__)
    routes.register(app)
    client = app.test_client()
    answer = client.get("/download/observations.xlsx?family=women&name=w")
    assert answer.status_code == 400
    text = answer.get_data(as_text=True)
    assert text.startswith("400 Bad request\n")
    assert "more than an Excel worksheet holds (50 under its header)" in text
    assert "/download/observations.csv?family=women&name=w" in text
    fits = client.get("/download/observations.xlsx?family=environment")
    assert fits.status_code == 200 and int(fits.headers["Content-Length"]) == len(fits.data)
