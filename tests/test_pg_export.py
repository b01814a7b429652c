"""The CSV export contract on PostgreSQL: the same bytes as on DuckDB, and as the Python
reference writer (``data.export.cell`` row by row), for the curated store and for one with
hostile text (formulas, quotes, commas, line breaks, Chinese) and awkward numbers (NaN,
infinities, -0.0, 1e15, 1.5e16, 1e-07), today and "as of" a day. The PostgreSQL store is
chosen the way a server chooses it: PKPI_DATABASE_URL."""
from __future__ import annotations

from datetime import date

import pytest

from data.engine import reader
from data.export import export_csv, iter_csv, iter_csv_rowwise
from data.selection import Filters
from data.stores.migrate import migrate
from tests.test_export_fast import tricky_store  # noqa: F401 - the fixture, shared

FILTERS = [Filters(), Filters(families=("women",)), Filters(text="恶意"), Filters(indicators=("no_such_indicator",)),
           Filters(as_of=date(2019, 1, 1)), Filters(as_of=date(2022, 1, 1)),
           Filters(areas=("all_pko",), start=date(2015, 1, 1))]


def _same_bytes(duckdb_path, url, monkeypatch):
    monkeypatch.setenv("PKPI_DATABASE_URL", url)
    for f in FILTERS:
        on_pg = "".join(iter_csv(f))
        on_duckdb = "".join(iter_csv(f, reader(duckdb_path)))
        assert on_pg == on_duckdb, f
        assert on_pg == "".join(iter_csv_rowwise(f, reader(duckdb_path))), f
    return "".join(iter_csv(Filters()))


def test_curated_export_is_byte_for_byte_duckdbs(store, pg_store, monkeypatch):
    whole = _same_bytes(store, pg_store, monkeypatch)
    assert whole.count("\r\n") > 250
    assert "恶意" in whole


def test_hostile_text_and_awkward_numbers_export_alike(tricky_store, pg_empty, monkeypatch, tmp_path):  # noqa: F811
    migrate(tricky_store, pg_empty)
    whole = _same_bytes(tricky_store, pg_empty, monkeypatch)
    for text in ("'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")", ",1000000000000000.0,", ",1.5e+16,", ",inf,", ",-inf,",
                 ",1e-07,", '"line\nbreak"'):
        assert text in whole, text
    out = tmp_path / "export.csv"
    assert export_csv(out) == whole.count("\r\n") - 1 - whole.count("crlf\r\nhere")
    assert out.read_bytes() == whole.encode("utf-8")


@pytest.mark.parametrize("value, text", [(1e15 + 0.5, "1000000000000000.5"), (2.5e15, "2500000000000000.0"),
                                         (-1.25e15, "-1250000000000000.0"), (float("inf"), "inf")])
def test_numbers_the_curated_store_lacks_are_written_as_python_writes_them(store, pg_store, monkeypatch,
                                                                          value, text):
    from data.export import cell
    from data import schema
    from data.stores import open_store
    import sqlalchemy as sa

    assert cell(value) == text
    s = open_store(pg_store)
    with s.writer() as w, w.change() as c:
        v = schema.observation_vintages
        first = c.rows(sa.select(sa.func.min(v.c.obs_id)))[0][0]
        c.conn.execute(sa.update(v).where(v.c.obs_id == first).values(value=value))
        c.set_version(data_version="awkward")
    monkeypatch.setenv("PKPI_DATABASE_URL", pg_store)
    lines = "".join(iter_csv(Filters())).split("\r\n")
    assert sum(f",{text}," in line for line in lines) == 1


def test_json_and_excel_downloads_match_duckdbs(tricky_store, pg_empty, monkeypatch, tmp_path):  # noqa: F811
    """The other two downloads read through the store interface too: from PostgreSQL the JSON
    is the same text and the workbook holds the same cells, on both sheets, as from DuckDB."""
    from openpyxl import load_workbook

    from data.export import export_xlsx, iter_json

    migrate(tricky_store, pg_empty)
    monkeypatch.setenv("PKPI_DATABASE_URL", pg_empty)
    for f in (Filters(), Filters(families=("women",)), Filters(as_of=date(2022, 1, 1))):
        on_pg = "".join(iter_json(f))
        assert on_pg == "".join(iter_json(f, reader(tricky_store)))
        assert on_pg.count('"indicator_id"') > 10
    export_xlsx(tmp_path / "pg.xlsx")
    export_xlsx(tmp_path / "duck.xlsx", engine=reader(tricky_store))

    def cells(path):
        book = load_workbook(path, read_only=True)
        return {name: [tuple(c.value for c in row) for row in book[name].iter_rows()]
                for name in ("observations", "sources")}

    got, want = cells(tmp_path / "pg.xlsx"), cells(tmp_path / "duck.xlsx")
    assert len(want["observations"]) > 250 and len(want["sources"]) > 1
    assert got == want
