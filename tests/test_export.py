"""The export contract: columns, encoding, numbers, formula safety, filters, CLI. The tests
of what a store answers run on DuckDB and on PostgreSQL (``any_served_read_only``)."""
from __future__ import annotations

import csv
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from data import schema, settings
from data.export import cell, export_text, safe_text
from data.selection import EXPORT_COLUMNS, Filters

REPO = Path(__file__).resolve().parent.parent
HEADER = ("indicator_id,indicator_name,family,area,period,period_start,period_end,value,unit,"
          "qualifier,obs_status,stated_by,source_id,source_symbol,source_title,source_date,"
          "locator,quote,quote_en,note")


def _parse(text: str) -> list[dict]:
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


def test_header_is_the_contract_exactly(any_served_read_only):
    text = export_text()
    assert text.startswith("\ufeff" + HEADER + "\r\n")
    assert ",".join(EXPORT_COLUMNS) == HEADER


@pytest.mark.needs_texts
def test_every_row_exported_with_its_citation(any_served_read_only):
    rows = _parse(export_text())
    s = schema.sources
    with any_served_read_only.reader() as reader:
        assert len(rows) == reader.rows(sa.select(sa.func.count()).select_from(schema.observations))[0][0]
        seed_file = dict(reader.rows(sa.select(s.c.source_id, s.c.seed_file)))
    seeds = {}
    for r in rows:
        assert r["source_id"] and r["locator"] and r["quote"] and r["source_title"], r
        if r["source_id"] not in seeds:
            seeds[r["source_id"]] = (settings.seeds_dir() / seed_file[r["source_id"]]).read_text(encoding="utf-8")
        assert r["quote"].lstrip("'") in seeds[r["source_id"]]


def test_numbers_are_plain(any_served_read_only):
    for r in _parse(export_text()):
        assert "," not in r["value"] and " " not in r["value"]
        float(r["value"])


@pytest.mark.parametrize("raw, written", [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
    ("+SUM(A1)", "'+SUM(A1)"), ("-1+2", "'-1+2"), ("@cmd", "'@cmd"),
    ("\tTAB", "'\tTAB"), ("\rCR", "'\rCR"), ("截至 2023 年 5 月", "截至 2023 年 5 月"),
])
def test_formula_cells_are_neutralised(raw, written):
    assert safe_text(raw) == written
    assert cell(raw) == written


def test_numeric_cells_are_untouched():
    assert [cell(v) for v in (-5.0, 25.6, 88000.0, 3, None)] == ["-5", "25.6", "88000", "3", ""]


def test_hostile_cell_in_a_written_file():
    from data.export import write_rows
    buf = io.StringIO()
    write_rows(buf, ["note", "value"], [["=1+1", -2.0]])
    assert buf.getvalue() == "note,value\r\n'=1+1,-2\r\n"


def test_filters_select_the_same_rows_as_the_query(any_served_read_only):
    from indicators.query import observations
    f = Filters(families=("women",))
    rows = _parse(export_text(f))
    frame = observations(f)
    assert rows and len(rows) == len(frame)
    assert {r["family"] for r in rows} == {"women"}
    assert [r["quote"] for r in rows] == [q if not q.startswith(("=", "+", "-", "@")) else "'" + q
                                         for q in frame["quote"]]


def test_cli_export(store, tmp_path):
    out = tmp_path / "all.csv"
    env = {**os.environ, "PKPI_DB": str(store)}
    done = subprocess.run([sys.executable, "manage.py", "export", "--out", str(out),
                           "--family", "fatalities"], cwd=REPO, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    text = out.read_text(encoding="utf-8")
    rows = _parse(text)
    assert rows and {r["family"] for r in rows} == {"fatalities"}
    assert f"wrote {len(rows)} rows" in done.stderr


def test_cli_rejects_a_bad_date(store):
    done = subprocess.run([sys.executable, "manage.py", "export", "--out", "-", "--start", "May 2023"],
                          cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 2
    assert "'May 2023' is not a date YYYY-MM-DD" in done.stderr


@pytest.mark.parametrize("text", ["恶意行为", "malicious acts", "100%", "a_b", "!", "'; DROP TABLE x; --"])
def test_text_search_takes_any_characters(any_served_read_only, text):
    from indicators.query import observations
    frame = observations(Filters(text=text))
    for _, r in frame.iterrows():
        blob = " ".join(str(r[c]) for c in ("indicator_name", "indicator_name_zh", "quote", "quote_en",
                                            "locator", "source_cite_as")).lower()
        assert all(w.lower() in blob for w in text.split())


def test_text_search_finds_chinese_in_quotes_and_names(any_served_read_only):
    from indicators.query import observations
    frame = observations(Filters(text="恶意"))
    assert not frame.empty
    assert (frame["quote"].str.contains("恶意") | frame["indicator_name_zh"].str.contains("恶意")).all()
    assert frame["quote"].str.contains("恶意").any()


def test_xlsx_has_widths_a_frozen_bold_header_and_a_filter_on_both_sheets(any_served_read_only, tmp_path):
    from openpyxl import load_workbook

    from data.export import EXPORT_COLUMNS, export_xlsx
    from data.selection import Filters
    path = tmp_path / "o.xlsx"
    n = export_xlsx(path, Filters(families=("environment",)))
    book = load_workbook(path)
    obs, src = book["observations"], book["sources"]
    assert [c.value for c in obs[1]] == list(EXPORT_COLUMNS) and obs.max_row == n + 1
    for sheet in (obs, src):
        assert sheet.freeze_panes == "A2"
        assert sheet.auto_filter.ref == f"A1:{sheet.cell(1, sheet.max_column).column_letter}{sheet.max_row}"
        assert all(c.font.b for c in sheet[1])
    widths = {c.value: obs.column_dimensions[c.column_letter].width for c in obs[1]}
    assert widths["quote"] >= 50 and widths["value"] < widths["indicator_name"] < widths["quote"]
    assert src.column_dimensions["D"].width >= 40  # title_en
