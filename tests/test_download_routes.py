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
    from data.selection import Filters
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


# --- The error shape, route by route -------------------------------------------------------

BAD = "asof=2023-09-31&from=abc&to=20x4&sel=2020-01-01/1999-01-01&ind=no_such"
BAD_LINES = [
    "from: 'abc' is not a year; expected a year of four digits from 1900 to 2100, for example 2023",
    "to: '20x4' is not a year; expected a year of four digits from 1900 to 2100, for example 2023",
    "sel: '2020-01-01/1999-01-01' ends before it starts; expected two dates START/END as YYYY-MM-DD, the "
    "earlier first, for example 2023-01-01/2023-08-31",
    "asof: '2023-09-31' is not a day of the calendar; expected a date YYYY-MM-DD, for example 2023-09-30",
    "ind: 'no_such' names no indicator in the store; expected ids the store holds (see the Data page or "
    "any download)",
]


@pytest.mark.parametrize("path", ["/download/observations.csv", "/download/observations.xlsx", "/brief.pdf"])
def test_plain_routes_answer_400_in_plain_text(client_for, store, path):
    response = client_for(store).get(f"{path}?{BAD}")
    assert response.status_code == 400
    assert response.mimetype == "text/plain" and "Content-Disposition" not in response.headers
    assert response.get_data(as_text=True).splitlines() == ["400 Bad request", *BAD_LINES]


def test_json_route_answers_400_in_json(client_for, store):
    import json
    response = client_for(store).get(f"/download/observations.json?{BAD}")
    assert response.status_code == 400 and response.mimetype == "application/json"
    body = json.loads(response.get_data(as_text=True))
    assert (body["status"], body["title"]) == (400, "Bad request")
    assert body["message"].splitlines() == BAD_LINES
    assert [p["parameter"] for p in body["problems"]] == ["from", "to", "sel", "asof", "ind"]
    assert body["problems"][3] == {"parameter": "asof", "given": "2023-09-31", "message": BAD_LINES[3],
                                   "expected": "a date YYYY-MM-DD, for example 2023-09-30"}


@pytest.mark.parametrize("query", ["asof=notadate", "from=abc", "to=20x4", "sel=2020-01-01/1999-01-01",
                                   "family=nope", "area=atlantis", "source=nope", "ind=a%20b", "total=2",
                                   "indicator=fatalities_malicious_acts"])
def test_each_bad_parameter_alone_is_a_400_naming_it(client_for, store, query):
    for ext in ("csv", "json"):
        response = client_for(store).get(f"/download/observations.{ext}?{query}")
        assert response.status_code == 400, (ext, query)
        assert query.split("=")[0] + ": '" in response.get_data(as_text=True)


def test_unknown_download_is_a_plain_404(client_for, store):
    response = client_for(store).get("/download/nothing.csv")
    assert response.status_code == 404 and response.mimetype == "text/plain"
    assert response.get_data(as_text=True).startswith("404 Not found\n")
    response = client_for(store).get("/download/nothing.json")
    assert response.status_code == 404 and response.get_json()["title"] == "Not found"


def test_json_has_the_csv_rows_and_columns(client_for, store):
    import json
    client = client_for(store)
    query = "family=fatalities&from=2017&asof=2023-09-30"
    rows = _csv(client.get(f"/download/observations.csv?{query}"))
    response = client.get(f"/download/observations.json?{query}")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Content-Disposition"] == 'attachment; filename="fatalities_as-of-2023-09-30.json"'
    assert response.is_streamed
    body = json.loads(response.get_data(as_text=True))
    assert body["count"] == len(body["rows"]) == len(rows) > 5
    assert body["columns"] == list(rows[0].keys())
    for r_csv, r_json in zip(rows, body["rows"]):
        assert list(r_json) == body["columns"]
        for column, text in r_csv.items():
            value = r_json[column]
            if column == "value":
                assert float(text) == value
            else:
                assert text == ("" if value is None else str(value)).replace("\n", "\r\n") or \
                    text.lstrip("'") == str(value), (column, text, value)


def test_file_names_carry_the_as_of_date(client_for, store):
    client = client_for(store)
    for ext in ("csv", "xlsx", "json"):
        response = client.get(f"/download/observations.{ext}?source=s-2023-646&name=s-2023-646&asof=2023-09-30")
        assert response.headers["Content-Disposition"] == \
            f'attachment; filename="s-2023-646_as-of-2023-09-30.{ext}"'


def test_a_failure_inside_a_route_has_the_same_shape(client_for, tmp_path):
    """No store at all: a 500 in the one shape, without the exception's text."""
    response = client_for(tmp_path / "missing.duckdb").get("/download/observations.json")
    assert response.status_code == 500 and response.mimetype == "application/json"
    assert response.get_json()["title"] == "Internal error"
    assert "missing.duckdb" not in response.get_data(as_text=True)
