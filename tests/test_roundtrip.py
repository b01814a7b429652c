"""Issue 4: an exported CSV, renamed and dropped into the inbox, is accepted without
changing any value; its descriptive columns cannot be used to change the store."""
from __future__ import annotations

import csv
import io

import pytest

from data.dropbox import process
from data.export import export_text
from data.intake import unguard
from data.selection import Filters
from tests.intake_helpers import data_dump


@pytest.fixture
def home(dropbox_home):
    """This file's tests work in a private PKPI_HOME (conftest.dropbox_home)."""
    return dropbox_home


def _drop(home, name: str, text: str):
    path = home / "dropbox" / "inbox" / name
    path.write_text(text, encoding="utf-8")
    return path


def test_exported_csv_dropped_back_changes_nothing(home):
    from data.engine import reader
    store = home / "pkpi.duckdb"
    text = export_text(engine=reader(store))
    before = data_dump(store)
    out = process(_drop(home, "analyst-copy.csv", text))
    assert out.status == "accepted", out.message
    n = len(list(csv.DictReader(io.StringIO(text[1:]))))
    assert f"0 new values, 0 revised, {n} already published" in out.message
    after = data_dump(store)
    before.pop("meta"), after.pop("meta")  # a new snapshot was written: only its version differs
    assert after == before


def test_an_edited_descriptive_column_is_refused_where_it_is(home):
    from data.engine import reader
    text = export_text(Filters(families=("women",)), engine=reader(home / "pkpi.duckdb"))
    rows = list(csv.reader(io.StringIO(text[1:])))
    header = rows[0]
    col = header.index("source_title")
    rows[1][col] = "A different title"
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(rows)
    out = process(_drop(home, "edited.csv", buf.getvalue()))
    assert out.status == "rejected"
    errors = [e for e in out.errors if e.code == "derived-mismatch"]
    assert len(errors) == 1 and errors[0].row == 2 and errors[0].column == "source_title"
    assert "it cannot change it" in errors[0].message


@pytest.mark.parametrize("cell, text", [("'=1+1", "=1+1"), ("'-5", "-5"), ("'@x", "@x"),
                                        ("'quoted", "'quoted"), ("plain", "plain"), ("'", "'")])
def test_the_export_formula_guard_is_undone_on_intake(cell, text):
    assert unguard(cell) == text
