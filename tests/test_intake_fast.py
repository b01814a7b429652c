"""Issue 7: the Observations sheet is checked column by column for its plain rows, and row
by row for the others. Both ways must give the same values and the same messages: here a
file full of mistakes is checked both ways (openpyxl's reader gives every cell as a Cell,
so every row takes the row-by-row way) and the plans compared."""
from __future__ import annotations

import random
import zipfile
from pathlib import Path

import pytest
from openpyxl import Workbook

from data import intake, settings
from data.engine import make_engine
from data.intake import Plan, StoreState, check
from data.sheets import open_book
from data.stores.duckdb_store import DuckDBChange
from tests.intake_helpers import (COUNT, INDICATOR_FIELDS, OBS_COLUMNS, SHARE, SOURCE, SOURCE_FIELDS, obs,
                                  query)

SEEDS = settings.seeds_dir()  # the same texts the drop folder reads (PKPI_SEEDS)


def _published(store: Path, n: int) -> list[dict]:
    """Curated values as rows of a dropped file (to restate, contradict or revise them)."""
    rows = query(store, "SELECT o.indicator_id, o.area, o.period, o.value, i.unit, o.qualifier, o.stated_by, "
                        "o.source_id, o.locator, o.quote FROM observations o JOIN indicators i USING (indicator_id) "
                        "ORDER BY o.obs_id LIMIT :n", n=n)
    return [dict(indicator_id=r[0], area=r[1], period=r[2], value=r[3], unit=r[4], qualifier=r[5], stated_by=r[6],
                 source_id=r[7], locator=r[8], quote=r[9]) for r in rows]


MISTAKES = [
    ("indicator_id", lambda v: str(v).upper()), ("indicator_id", lambda v: str(v) + "x"), ("indicator_id", lambda v: None),
    ("indicator_id", lambda v: f" {v} "), ("area", lambda v: "ALL_PKO"), ("area", lambda v: "nowhere"),
    ("period", lambda v: "2023/24"), ("period", lambda v: "FY2022/23"), ("period", lambda v: "2023/25"),
    ("period", lambda v: "May 2023"), ("period", lambda v: 45078), ("period", lambda v: "2023-13"),
    ("period", lambda v: "../2022-12"), ("period", lambda v: 2021), ("period", lambda v: 2021.5),
    ("value", lambda v: f"{v} %"), ("value", lambda v: 0.5), ("value", lambda v: "1,067"), ("value", lambda v: None),
    ("value", lambda v: f"{v}"), ("value", lambda v: "+3"), ("value", lambda v: ".5"), ("value", lambda v: "nan"),
    ("unit", lambda v: "percent"), ("unit", lambda v: "数量"), ("unit", lambda v: "bogus"), ("unit", lambda v: "COUNT"),
    ("qualifier", lambda v: "约"), ("qualifier", lambda v: "roughly"), ("qualifier", lambda v: "at least"),
    ("obs_status", lambda v: "estimated"), ("obs_status", lambda v: "weird"), ("stated_by", lambda v: None),
    ("stated_by", lambda v: "'=cmd"), ("locator", lambda v: "\u00a0row 2"), ("locator", lambda v: "<b>row</b>"),
    ("locator", lambda v: 44), ("quote", lambda v: f"{v}\nmore"), ("quote", lambda v: "javascript: alert(1)"),
    ("quote", lambda v: f"'{v}"), ("quote_en", lambda v: "Source: a report"), ("quote_en", lambda v: "JAVAſCRIPT :x"),
    ("note", lambda v: "<- an arrow"), ("note", lambda v: "<!-- c -->"), ("note", lambda v: "'-5"),
    ("value_text", lambda v: "99999"), ("value_text", lambda v: "十二"), ("value_text", lambda v: "xyz"),
    ("value_text", lambda v: "12"), ("revision", lambda v: "yes"), ("revision", lambda v: "maybe"),
    ("revision", lambda v: "no"), ("revision", lambda v: 1), ("period_label", lambda v: "  as of  "),
    ("source_id", lambda v: "nowhere-2099"), ("source_id", lambda v: str(v).upper()),
    # issue 11: markup a browser would read, and invisible characters (data/plaintext.py)
    ("note", lambda v: "<svg/onload=alert(1)>"), ("quote_en", lambda v: "<img src=x onerror=alert(1)"),
    ("locator", lambda v: "<a/href=x>para 4"), ("note", lambda v: "&lt;b&gt;"), ("note", lambda v: "a < b, <5%"),
    ("note", lambda v: "see <https://peacekeeping.un.org/en>"), ("locator", lambda v: "para 4\u202e21"),
    ("locator", lambda v: "para\u200d44"), ("quote", lambda v: f"{v}\u2066"), ("period", lambda v: "2023\u200b"),
    ("value", lambda v: f"\u202d{v}"), ("stated_by", lambda v: "Secretariat\u00ad"), ("area", lambda v: "all_pko\u200e"),
]


def _file(path: Path, store: Path, seed: int) -> Path:
    rnd = random.Random(seed)
    rows = [obs(period=f"{2000 + n // 12}-{n % 12 + 1:02d}", value=n, locator=f"row {n + 2}", quote_en=f"value {n}")
            for n in range(300)]
    rows += [obs(indicator_id=SHARE["indicator_id"], unit="percent", period=str(1990 + n), value=20 + n / 10,
                 quote=f"比例为 {20 + n / 10}%", value_text=f"{20 + n / 10}%") for n in range(30)]
    for rec in _published(store, 60):
        kind = rnd.random()
        if kind < 0.3:
            rec["value"] = rec["value"] + 1  # contradicts the published value
        elif kind < 0.5:
            rec.update(value=rec["value"] + 2, revision="yes")
        rows.append(rec)
    for row in rows:
        if rnd.random() < 0.4:
            name, change = rnd.choice(MISTAKES)
            row[name] = change(row.get(name))
        if rnd.random() < 0.03:
            rows.append(dict(row))  # pasted twice
    rnd.shuffle(rows)
    wb = Workbook()
    ws = wb.active
    ws.title = "Observations"
    ws.append(OBS_COLUMNS)
    for row in rows:
        ws.append([row.get(c) for c in OBS_COLUMNS])
    ws.append([None] * len(OBS_COLUMNS))
    ws.append(["  "] * len(OBS_COLUMNS))
    ws.cell(row=5, column=5).number_format = "0.0%"
    ws.merge_cells(start_row=9, start_column=15, end_row=10, end_column=15)
    ws.cell(row=12, column=18).value = "beyond the header"
    for title, fields, rec in (("New sources", SOURCE_FIELDS, SOURCE), ("New indicators", INDICATOR_FIELDS, COUNT)):
        sheet = wb.create_sheet(title)
        sheet.append([f.name for f in fields])
        sheet.append([rec.get(f.name) for f in fields])
        if title == "New indicators":
            sheet.append([SHARE.get(f.name) for f in fields])
    wb.save(path)
    return path


def _plan(path: Path, store: Path, fast: bool, max_rows: int = 100_000) -> Plan:
    engine = make_engine(store, read_only=True)
    try:
        with engine.connect() as conn:
            sheets = open_book(path, path.name, 1 << 30, fast=fast)
            assert {s.reader for s in sheets} == {"calamine" if fast else "openpyxl"}
            return check(sheets, None, StoreState.load(DuckDBChange(conn)), SEEDS if SEEDS.is_dir() else None,
                         max_rows)
    finally:
        engine.dispose()


def _same(a: Plan, b: Plan) -> None:
    assert (a.rows_read, a.unchanged, a.error_count) == (b.rows_read, b.unchanged, b.error_count)
    assert [(e.code, e.sheet, e.row, e.column, e.cell, e.value, e.message, e.msg, e.params) for e in a.errors] == \
           [(e.code, e.sheet, e.row, e.column, e.cell, e.value, e.message, e.msg, e.params) for e in b.errors]
    assert list(a.observations) == list(b.observations)
    assert (a.sources, a.indicators, a.areas) == (b.sources, b.indicators, b.areas)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_column_and_row_checks_agree_on_a_file_full_of_mistakes(tmp_path, store, seed):
    path = _file(tmp_path / f"mistakes-{seed}.xlsx", store, seed)
    fast, slow = _plan(path, store, True), _plan(path, store, False)
    assert fast.error_count > 20 and len(fast.observations) > 100  # both kinds of rows are there
    _same(fast, slow)
    actions = {r["_action"] for r in fast.observations}
    assert {"new", "revised"} <= actions


def test_more_than_the_listed_errors_and_the_row_limit(tmp_path, store, monkeypatch):
    monkeypatch.setattr(intake.checker, "MAX_LISTED_ERRORS", 25)  # the first 25 listed, in the rows' order
    monkeypatch.setattr(intake.observations, "OBSERVATION_BATCH", 7)  # rows finished across many batches
    path = _file(tmp_path / "many.xlsx", store, 4)
    _same(_plan(path, store, True), _plan(path, store, False))
    _same(_plan(path, store, True, max_rows=150), _plan(path, store, False, max_rows=150))


def test_a_clean_export_is_read_column_by_column(tmp_path, store, monkeypatch):
    # No timing here: that no row of a clean file needs the row-by-row checks is what makes
    # a large export fast (bench/README.md).
    calls = []
    original = intake.Checker._parse_observation
    monkeypatch.setattr(intake.Checker, "_parse_observation", lambda self, *a: calls.append(1) or original(self, *a))
    path = _clean(tmp_path / "export.xlsx", 2000)
    plan = _plan(path, store, True)
    assert plan.ok and len(plan.observations) == 2000 and calls == []
    _same(plan, _plan(path, store, False))


def test_served_table_is_rebuilt_only_when_values_change(tmp_path, store, monkeypatch):
    """A rejected or duplicate file changes no value: its snapshot keeps the served table
    (rebuilding it takes seconds at a million values); an accepted one brings it up to date
    with a delta (data/store.py), never a whole rebuild for one value."""
    from data import schema
    from data.dropbox import process
    from tests.intake_helpers import new_home, workbook

    home = new_home(tmp_path, store)
    monkeypatch.setenv("PKPI_HOME", str(home))
    monkeypatch.delenv("PKPI_DB", raising=False)
    monkeypatch.delenv("PKPI_DROPBOX", raising=False)
    db = home / "pkpi.duckdb"
    rebuilt = []
    refresh = schema.refresh_served
    monkeypatch.setattr(schema, "refresh_served", lambda conn: rebuilt.append(1) or refresh(conn))

    def served():
        return query(db, "SELECT * FROM served_observations")

    def inbox(name):
        return home / "dropbox" / "inbox" / name

    first = served()
    inbox("bad.csv").write_text("nothing useful\n", encoding="utf-8")
    assert process(inbox("bad.csv")).status == "rejected"
    assert rebuilt == [] and served() == first
    good = workbook(inbox("good.xlsx"), [obs()])
    content = good.read_bytes()
    assert process(good).status == "accepted"
    second = served()
    assert rebuilt == [] and len(second) == len(first) + 1
    assert len(second) == query(db, "SELECT count(*) FROM observations")[0][0]
    inbox("again.xlsx").write_bytes(content)
    assert process(inbox("again.xlsx")).status == "duplicate"
    assert rebuilt == [] and served() == second


def _clean(path: Path, rows: int) -> Path:
    """A file every row of which the column-by-column reading takes (no mistake anywhere)."""
    wb = Workbook()
    ws = wb.active
    ws.title = "Observations"
    ws.append(OBS_COLUMNS)
    for n in range(rows):
        row = obs(period=f"{1900 + n // 12}-{n % 12 + 1:02d}", value=n, locator=f"row {n + 2}",
                  quote_en=f"{n} missions")
        ws.append([row.get(c) for c in OBS_COLUMNS])
    for title, fields, rec in (("New sources", SOURCE_FIELDS, SOURCE), ("New indicators", INDICATOR_FIELDS, COUNT)):
        sheet = wb.create_sheet(title)
        sheet.append([f.name for f in fields])
        sheet.append([rec.get(f.name) for f in fields])
    wb.save(path)
    return path


@pytest.mark.parametrize("batch", [20_000, 7])
def test_the_row_limit_holds_on_both_paths(tmp_path, store, monkeypatch, batch):
    """PKPI_MAX_ROWS counts every row that is not empty, declarations included, whichever
    way the rows are read; the row past the limit is named and nothing is kept."""
    monkeypatch.setattr(intake.observations, "OBSERVATION_BATCH", batch)
    path = _clean(tmp_path / "rows.xlsx", 60)
    calls = []
    original = intake.Checker._parse_observation
    monkeypatch.setattr(intake.Checker, "_parse_observation", lambda self, *a: calls.append(1) or original(self, *a))
    # 2 declarations + 60 values: a limit of 62 holds them all, 61 does not.
    fast = _plan(path, store, True, max_rows=62)
    assert fast.ok and len(fast.observations) == 60 and fast.rows_read == 62 and calls == []  # column by column
    slow = _plan(path, store, False, max_rows=62)
    assert slow.ok and len(calls) == 60  # row by row
    _same(fast, slow)
    for limit, last_row in ((61, 60), (40, 39), (2, 1)):
        fast, slow = _plan(path, store, True, max_rows=limit), _plan(path, store, False, max_rows=limit)
        _same(fast, slow)
        (e,) = [e for e in fast.errors if e.code == "too-many-rows"]
        assert (e.sheet, e.row, e.msg, e.params) == ("Observations", last_row + 1, "too-many-rows",
                                                      {"max_rows": limit})
        assert e.message == (f"The file has more than {limit:,} rows, the most one file may hold. "
                             f"Split it into several files.")
        assert e.text("zh") == f"文件超过 {limit:,} 行，即一个文件最多可容纳的行数。请将其拆分为几个文件。"
        assert not fast.ok and fast.error_count == 1


def test_the_file_size_limit_holds_on_both_readers(tmp_path, store, monkeypatch):
    """PKPI_MAX_FILE_MB: a larger file is refused before it is opened, and a workbook that
    would expand to more than 25 times the limit too, by either reader; the drop folder
    files it as rejected with the sizes named."""
    from data.dropbox import process
    from data.sheets import FormatError
    from tests.intake_helpers import new_home

    path = _clean(tmp_path / "size.xlsx", 200)
    size = path.stat().st_size
    for fast in (True, False):
        with pytest.raises(FormatError) as info:
            open_book(path, path.name, size - 1, fast=fast)
        assert (info.value.code, info.value.msg) == ("file-too-large", "file-too-large")
        assert len(open_book(path, path.name, size, fast=fast)) == 3  # at the limit: read
        bomb = tmp_path / "bomb.xlsx"  # small, but 2 MB once unzipped
        with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("xl/workbook.xml", "<workbook/>")
            z.writestr("xl/worksheets/sheet1.xml", "0" * 2_000_000)
        with pytest.raises(FormatError) as info:
            open_book(bomb, bomb.name, bomb.stat().st_size, fast=fast)
        assert info.value.msg == "expands-too-much" and "Split it into several smaller files." in str(info.value)
    home = new_home(tmp_path, store)
    monkeypatch.setenv("PKPI_HOME", str(home))
    monkeypatch.delenv("PKPI_DB", raising=False)
    monkeypatch.delenv("PKPI_DROPBOX", raising=False)
    monkeypatch.setenv("PKPI_MAX_FILE_MB", "0.001")
    dropped = home / "dropbox" / "inbox" / "size.xlsx"
    dropped.write_bytes(path.read_bytes())
    out = process(dropped)
    (e,) = out.errors
    assert out.status == "rejected" and (e.code, e.msg) == ("file-too-large", "file-too-large")
    assert e.message.startswith(f"The file is {size / 1024 / 1024:.1f} MB, more than the limit of 0.0 MB.")
    assert e.text("zh").startswith(f"文件大小为 {size / 1024 / 1024:.1f} MB，超过了 0.0 MB 的上限。")
