"""Fidelity of the curated files: every quote verbatim in its report, stating its value."""
from __future__ import annotations

import csv
import shutil
from collections import Counter
from pathlib import Path

import pytest

from data import settings
from data.curated import CURATED, CurationError, load, read_tables
from data.make_datapackage import render
from data.numbers import parse_number, same_number

SEEDS = settings.seeds_dir()


def _rows(folder=CURATED):
    tables, issues = read_tables(folder)
    assert not issues, "\n".join(map(str, issues))
    return tables


@pytest.mark.needs_texts
def test_every_report_text_is_there():
    for row in _rows()["sources"]:
        assert (SEEDS / row.cells["seed_file"]).is_file(), row.cells["seed_file"]


@pytest.mark.needs_texts
def test_curated_files_pass_every_check():
    try:
        load(CURATED, SEEDS)
    except CurationError as exc:
        pytest.fail(str(exc))


def test_curated_files_pass_every_check_the_repository_alone_allows():
    """What a clone without the report texts checks: schema, rules, each value in its quote."""
    try:
        load(CURATED, None)
    except CurationError as exc:
        pytest.fail(str(exc))


@pytest.mark.needs_texts
def test_quotes_verbatim_and_values_stated_checked_directly():
    """The same rule as the loader's, written out independently so a bug in one is caught."""
    tables = _rows()
    seeds = {r.cells["source_id"]: (SEEDS / r.cells["seed_file"]).read_text(encoding="utf-8")
             for r in tables["sources"]}
    bad = []
    for row in tables["observations"]:
        c, text = row.cells, seeds[Path(row.file).stem]
        ok = (c["quote"] in text and "\n" not in c["quote"] and c["value_text"] in c["quote"]
              and same_number(parse_number(c["value_text"]), float(c["value"])))
        if not ok:
            bad.append(f"{row.file}:{row.line} {c['quote'][:40]}")
    assert not bad, bad


def test_datapackage_describes_the_folder():
    assert (CURATED / "datapackage.json").read_text(encoding="utf-8") == render(CURATED), \
        "run `python -m data.make_datapackage` after adding an observations file"


def test_enough_values_in_every_named_family():
    tables = _rows()
    family = {r.cells["indicator_id"]: r.cells["family"] for r in tables["indicators"]}
    counts = Counter(family[r.cells["indicator_id"]] for r in tables["observations"])
    assert sum(counts.values()) > 100
    for name in ("fatalities", "women", "conduct", "environment", "cpas"):
        assert counts[name] >= 1, f"no observation in family {name}: {counts}"


def test_curated_texts_name_no_file():
    """Notes, break notes, definitions and period labels reach readers on every page and in
    every export: they name the curation rules, never a file ("per CURATION.md")."""
    import re
    file_name = re.compile(r"\b[\w-]+\.(?:csv|md|py|txt|json|duckdb)\b")
    found = [f"{r.file}:{r.line} {column}: {r.cells[column]}"
             for rows in _rows().values() for r in rows
             for column in ("note", "break_note", "definition", "period_label")
             if file_name.search(str(r.cells.get(column) or ""))]
    assert not found, "\n".join(found)


def test_every_source_contributes():
    tables = _rows()
    used = {Path(r.file).stem for r in tables["observations"]}
    assert used == {r.cells["source_id"] for r in tables["sources"]}


def test_differently_defined_fatality_series_are_kept_apart():
    tables = _rows()
    ids = {r.cells["indicator_id"]: r.cells for r in tables["indicators"]}
    for name in ("fatalities_violent_acts", "fatalities_hostile_acts", "fatalities_malicious_acts"):
        assert name in ids, name
        assert ids[name]["break_note"], f"{name} needs a break_note naming the other series"


def test_source_without_confirmed_symbol_has_none():
    tables = _rows()
    wg = next(r.cells for r in tables["sources"] if r.cells["source_id"] == "wg-pko-2021")
    assert wg["symbol"] == "" and "S/2021" not in wg["cite_as"]


# --- The checks can fail: each broken copy must be refused with the right, located issue. ---

@pytest.fixture
def broken(tmp_path):
    folder = tmp_path / "curated"
    shutil.copytree(CURATED, folder, ignore=shutil.ignore_patterns("_proposed"))
    return folder


def _edit(folder: Path, source: str, line: int, **changes):
    path = folder / "observations" / f"{source}.csv"
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    rows[line - 2].update(changes)
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=rows[0].keys(), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def _codes(folder) -> list[tuple[str, str, int, str]]:
    with pytest.raises(CurationError) as info:
        load(folder, SEEDS if SEEDS.is_dir() else None)
    return [(i.code, i.file, i.line, i.column) for i in info.value.issues]


@pytest.mark.parametrize("changes, code, column", [
    ({"value": "1234567"}, "value-mismatch", "value"),
    pytest.param({"quote": "这句话不在报告里 5 个"}, "quote-not-found", "quote", marks=pytest.mark.needs_texts),
    ({"value_text": "999"}, "value-not-in-quote", "value_text"),
    ({"qualifier": "roughly"}, "constraint-error", "qualifier"),
    ({"period": "2023-13"}, "type-error", "period"),
    ({"area": "atlantis"}, "foreign-key-error", "area"),
    ({"indicator_id": "no_such_indicator"}, "foreign-key-error", "indicator_id"),
    ({"quote": ""}, "missing-cell", "quote"),
])
def test_broken_row_is_refused_with_its_location(broken, changes, code, column):
    _edit(broken, "s-2023-646", 2, **changes)
    assert (code, "observations/s-2023-646.csv", 2, column) in _codes(broken)


def test_duplicate_key_is_refused(broken):
    path = broken / "observations" / "s-2023-646.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    path.write_text("".join(lines + [lines[1]]), encoding="utf-8")
    assert ("unique-error", "observations/s-2023-646.csv", len(lines) + 1, "indicator_id,area,period") \
        in _codes(broken)


def test_unit_outside_vocabulary_is_refused(broken):
    path = broken / "indicators.csv"
    text = path.read_text(encoding="utf-8").replace(",count,", ",£ per capita,", 1)
    path.write_text(text, encoding="utf-8")
    assert any(c[0] == "constraint-error" and c[3] == "unit" for c in _codes(broken))
