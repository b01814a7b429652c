"""The download routes over real HTTP (Flask's client) on a real DuckDB store, including a
store whose notes and quotes are hostile spreadsheet formulas."""
from __future__ import annotations

import csv
import io
import shutil

import pytest
from flask import Flask
from openpyxl import load_workbook

from callbacks import routes
from data.build import build
from data.curated import CURATED


@pytest.fixture
def client_for(monkeypatch):
    def make(store):
        monkeypatch.setenv("PKPI_DB", str(store))
        app = Flask(__name__)
        routes.register(app)
        return app.test_client()
    return make


@pytest.fixture(scope="module")
def hostile_store(tmp_path_factory):
    """The curated files with formulas planted in notes and English quotes."""
    folder = tmp_path_factory.mktemp("hostile") / "curated"
    shutil.copytree(CURATED, folder, ignore=shutil.ignore_patterns("_proposed"))
    path = folder / "observations" / "s-2023-646.csv"
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    rows[0]["note"] = '=HYPERLINK("http://evil.example","click")'
    rows[0]["quote_en"] = "+cmd|' /C calc'!A0"
    rows[1]["note"] = "@SUM(1+1)"
    rows[1]["quote_en"] = "-2+3"
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=rows[0].keys(), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    store = folder.parent / "pkpi.duckdb"
    build(store, folder=folder)  # the quotes themselves are untouched, so the check passes
    return store, rows[0]["indicator_id"], rows[1]["indicator_id"]


def _csv(response) -> list[dict]:
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


def test_hostile_cells_are_neutralised_in_the_csv(client_for, hostile_store):
    store, first, second = hostile_store
    client = client_for(store)
    rows = _csv(client.get(f"/download/observations.csv?source=s-2023-646&ind={first},{second}"))
    notes = {r["note"] for r in rows}
    english = {r["quote_en"] for r in rows}
    assert "'=HYPERLINK(\"http://evil.example\",\"click\")" in notes
    assert "'@SUM(1+1)" in notes
    assert "'+cmd|' /C calc'!A0" in english and "'-2+3" in english
    for r in rows:
        for value in r.values():
            assert not value.startswith(("=", "+", "@", "\t", "\r")), value
            if value.startswith("-"):
                float(value)  # only a number may begin with a minus sign


def test_hostile_cells_are_text_in_the_xlsx(client_for, hostile_store):
    store, first, _ = hostile_store
    response = client_for(store).get(f"/download/observations.xlsx?ind={first}&name=hostile")
    assert response.status_code == 200
    assert 'filename="hostile_' in response.headers["Content-Disposition"]
    book = load_workbook(io.BytesIO(response.data))
    assert book.sheetnames == ["observations", "sources"]
    for row in book["observations"].iter_rows(min_row=2):
        for cell in row:
            assert cell.data_type != "f", cell.value
    header = [c.value for c in next(book["sources"].iter_rows(max_row=1))]
    assert header[:2] == ["source_id", "cite_as"]


def test_route_filters_match_the_cli_filters(client_for, store):
    from data.export import export_text
    from indicators.query import Filters
    rows = _csv(client_for(store).get("/download/observations.csv?family=women&from=2020&to=2023"))
    from datetime import date
    expected = export_text(Filters(families=("women",), start=date(2020, 1, 1), end=date(2023, 12, 31)))
    assert rows == list(csv.DictReader(io.StringIO(expected[1:])))
    assert rows


def test_file_name_says_what_and_when(client_for, store):
    from datetime import date
    response = client_for(store).get("/download/observations.csv?family=women&name=women-share")
    assert response.headers["Content-Disposition"] == \
        f'attachment; filename="women-share_{date.today().isoformat()}.csv"'


def test_unknown_family_is_a_clear_400(client_for, store):
    response = client_for(store).get("/download/observations.csv?family=nope")
    assert response.status_code == 400
    assert response.mimetype == "text/plain"
    assert response.get_data(as_text=True) == (
        "400 Bad request\nfamily: 'nope' is not a family; expected one of fatalities, women, conduct, "
        "environment, cpas, accountability, capability, other\n")


def test_injection_in_parameters_is_refused(client_for, store):
    response = client_for(store).get("/download/observations.csv?ind=x');DROP TABLE observations;--")
    assert response.status_code == 400
    assert response.get_data(as_text=True).splitlines()[1].startswith("ind: 'x');DROP TABLE observations;--' "
                                                                      "is not a list of ids")
    assert _csv(client_for(store).get("/download/observations.csv"))  # the table is still there


def test_unknown_ids_are_listed_not_answered_with_no_rows(client_for, store):
    response = client_for(store).get("/download/observations.csv?ind=no_such_indicator,fatalities_malicious_acts"
                                     "&area=atlantis&source=s-2023-646,s-1999-1")
    assert response.status_code == 400
    assert response.get_data(as_text=True).splitlines()[1:] == [
        "ind: 'no_such_indicator' names no indicator in the store; expected ids the store holds (see the "
        "Data page or any download)",
        "area: 'atlantis' names no area in the store; expected ids the store holds (see the Data page or "
        "any download)",
        "source: 's-1999-1' names no report in the store; expected ids the store holds (see the Data page "
        "or any download)"]
