"""Issue 5: good files are applied whole and exactly once; revisions keep both vintages; a
rebuild keeps what was dropped; an interrupted filing is finished; the commands."""
from __future__ import annotations

import subprocess
import threading
from dataclasses import replace
from datetime import date

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from data.build import build
from data.dropbox import process, process_inbox
from data.engine import reader
from data.selection import Filters
from indicators import query, updates
from tests.intake_helpers import (COUNT, SHARE, SOURCE, data_dump, engine_of, env_for, folder, manage, obs,
                                  query as sql, store_of, workbook)


@pytest.fixture
def home(any_dropbox_home):
    """A private PKPI_HOME filing into a copy of the built store, on each store (conftest)."""
    return any_dropbox_home


def inbox(home, name):
    return home / "dropbox" / "inbox" / name


def latest(home, indicator):
    return query.observations(Filters(indicators=(indicator,)), engine=engine_of(home))


def test_filled_template_is_accepted_with_citations(home):
    out = home / "template.xlsx"
    done = subprocess.run(manage("template", "--out", str(out)), env=env_for(home), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    wb = load_workbook(out)
    assert wb.sheetnames == ["Instructions", "Observations", "New sources", "New indicators", "New areas", "Lists"]
    obs_sheet = wb["Observations"]
    validations = {str(dv.sqref).split(":")[0]: dv.formula1 for dv in obs_sheet.data_validations.dataValidation}
    assert validations["A2"].startswith("=Lists!$A$2:$A$")  # indicators
    assert validations["F2"].startswith("=Lists!") and validations["G2"].startswith("=Lists!")  # units, qualifiers
    lists = wb["Lists"]
    assert "count" in [c.value for c in lists["M"]] and "about" in [c.value for c in lists["P"]]
    wb["New sources"].append([SOURCE.get(c.value) for c in wb["New sources"][1]])
    wb["New indicators"].append([SHARE.get(c.value) for c in wb["New indicators"][1]])
    obs_sheet.append([obs(indicator_id=SHARE["indicator_id"], unit="percent", value=0.256,
                          period="2022/23", period_label=None, note="<- not markup, a plain arrow").get(c.value)
                      for c in obs_sheet[1]])
    obs_sheet["E2"].number_format = "0.0%"  # shown as 25.6 % in Excel
    path = inbox(home, "women.xlsx")
    wb.save(path)
    original = path.read_bytes()
    done = subprocess.run(manage("ingest"), env=env_for(home), capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("accepted  women.xlsx: Accepted: 1 new value, 0 revised, "
                                  "2 new sources, indicators or areas. Filed as accepted/")
    (stored,) = folder(home, "accepted")
    assert (home / "dropbox" / "accepted" / stored).read_bytes() == original
    assert folder(home, "inbox") == [] and folder(home, "rejected") == []
    row = latest(home, SHARE["indicator_id"]).iloc[0]
    assert (row["value"], row["period"], row["period_label"]) == (25.6, "2022-07/2023-06", "fiscal year 2022/23")
    assert (row["period_start"], row["period_end"]) == (date(2022, 7, 1), date(2023, 6, 30))
    assert row["source_cite_as"] == SOURCE["cite_as"] and row["locator"] == "row 2"
    assert row["quote"] == obs()["quote"] and row["note"] == "<- not markup, a plain arrow"
    assert row["origin_file"] == f"dropbox/accepted/{stored}, sheet Observations" and row["origin_line"] == 2
    assert not row["revised"] and row["vintage"] == 1


def test_csv_with_and_without_bom(home):
    workbook(inbox(home, "first.xlsx"), [obs()])
    assert process(inbox(home, "first.xlsx")).status == "accepted"
    header = "indicator_id,area,period,value,unit,stated_by,source_id,locator,quote\n"
    line = "test_missions_reporting,all_pko,{p},{v},count,Secretariat,test-cpas-2024-03,row 3,导出 {v} 个\n"
    inbox(home, "bom.csv").write_bytes(("\ufeff" + header + line.format(p="2024-03", v=13)).encode("utf-8"))
    inbox(home, "plain.csv").write_bytes((header + line.format(p="2024-04", v=14)).encode("utf-8"))
    outcomes = process_inbox()
    assert [o.status for o in outcomes] == ["accepted", "accepted"], [o.message for o in outcomes]
    values = latest(home, COUNT["indicator_id"]).set_index("period")["value"].to_dict()
    assert values == {"2024-02": 12, "2024-03": 13, "2024-04": 14}


def test_same_file_again_changes_nothing_and_says_so(home):
    path = workbook(inbox(home, "a.xlsx"), [obs()])
    content = path.read_bytes()
    assert process(path).status == "accepted"
    before = data_dump(store_of(home))
    inbox(home, "a copy.xlsx").write_bytes(content)
    out = process(inbox(home, "a copy.xlsx"))
    assert out.status == "duplicate"
    assert "Already applied: the same file was accepted on" in out.message and "nothing changed" in out.message
    assert data_dump(store_of(home)) == before
    assert len(folder(home, "accepted")) == 2 and folder(home, "inbox") == []
    assert sql(store_of(home), "SELECT status, duplicate_of FROM intake_files ORDER BY intake_id") == \
        [("accepted", None), ("duplicate", 1)]


def test_corrected_file_dropped_again_whole(home):
    workbook(inbox(home, "v1.xlsx"), [obs(), obs(period="2024-03", value=13)])
    assert process(inbox(home, "v1.xlsx")).status == "accepted"
    workbook(inbox(home, "v2.xlsx"), [obs(), obs(period="2024-03", value=13), obs(period="2024-04", value=15)])
    out = process(inbox(home, "v2.xlsx"))
    assert out.status == "accepted" and "1 new value, 0 revised, 2 already published" in out.message
    assert sql(store_of(home), "SELECT original_name, added, unchanged FROM intake_files ORDER BY intake_id") == \
        [("v1.xlsx", 2, 0), ("v2.xlsx", 1, 2)]


def test_marked_revision_keeps_both_vintages_and_shows_the_latest(home):
    workbook(inbox(home, "v1.xlsx"), [obs()])
    assert process(inbox(home, "v1.xlsx")).status == "accepted"
    workbook(inbox(home, "v2.xlsx"), [obs(value=11, locator="row 9", revision="yes")], sources=(), indicators=())
    out = process(inbox(home, "v2.xlsx"))
    assert out.status == "accepted" and "0 new values, 1 revised" in out.message
    shown = latest(home, COUNT["indicator_id"])
    assert len(shown) == 1
    assert (shown.iloc[0]["value"], bool(shown.iloc[0]["revised"]), shown.iloc[0]["vintage"]) == (11, True, 2)
    assert shown.iloc[0]["period_label"] == "as of February 2024"
    hist = updates.history(COUNT["indicator_id"], "all_pko", "2024-02", engine=engine_of(home))
    assert list(hist["value"]) == [12, 11] and list(hist["is_latest"]) == [False, True]
    assert list(hist["locator"]) == ["row 2", "row 9"]
    added = updates.file_observations(2, engine=engine_of(home)).iloc[0]
    assert (added["previous_value"], added["previous_locator"]) == (12, "row 2")


def test_a_newer_report_revises_without_a_mark(home):
    workbook(inbox(home, "v1.xlsx"), [obs()])
    assert process(inbox(home, "v1.xlsx")).status == "accepted"
    newer = {**SOURCE, "source_id": "test-cpas-2024-09", "cite_as": "CPAS export, September 2024", "date": "2024-09"}
    workbook(inbox(home, "v2.xlsx"), [obs(value=11, source_id="test-cpas-2024-09")], sources=(newer,), indicators=())
    assert process(inbox(home, "v2.xlsx")).status == "accepted"
    shown = latest(home, COUNT["indicator_id"]).iloc[0]
    assert (shown["value"], shown["source_id"], bool(shown["revised"])) == (11, "test-cpas-2024-09", True)


def test_revision_of_a_curated_value(home):
    (ind, area, period, value, source, locator, quote, n), = sql(
        store_of(home),
        "SELECT o.indicator_id, o.area, o.period, o.value, o.source_id, o.locator, o.quote, "
        "(SELECT count(*) FROM observations) FROM observations o JOIN indicators i USING (indicator_id) "
        "WHERE i.unit = 'count' AND o.qualifier = 'exact' AND o.value > 2 ORDER BY o.obs_id LIMIT 1")
    workbook(inbox(home, "fix.xlsx"), [obs(indicator_id=ind, area=area, period=period, value=value + 1,
                                           source_id=source, locator=locator, quote=quote, revision="yes")],
             sources=(), indicators=())
    assert process(inbox(home, "fix.xlsx")).status == "accepted"
    rows = sql(store_of(home), "SELECT value, vintage, is_latest FROM observation_vintages "
                                     "WHERE indicator_id = :i AND area = :a AND period = :p ORDER BY vintage",
               i=ind, a=area, p=period)
    assert rows == [(value, 1, False), (value + 1, 2, True)]
    assert sql(store_of(home), "SELECT count(*) FROM observations")[0][0] == n  # the view: one per key


def test_rebuild_keeps_everything_dropped(home):
    """A curated rebuild (python manage.py build) must never lose dropped values or the record."""
    store = store_of(home)
    workbook(inbox(home, "v1.xlsx"), [obs(), obs(indicator_id=SHARE["indicator_id"], unit="percent", value=40)])
    assert process(inbox(home, "v1.xlsx")).status == "accepted"
    workbook(inbox(home, "v2.xlsx"), [obs(value=11, revision="yes")], sources=(), indicators=())
    assert process(inbox(home, "v2.xlsx")).status == "accepted"
    inbox(home, "bad.csv").write_text("nothing useful\n", encoding="utf-8")
    assert process(inbox(home, "bad.csv")).status == "rejected"

    def kept(dump):
        return {"files": sql(store, "SELECT intake_id, sha256, stored_name, status, error_count FROM intake_files ORDER BY 1"),
                "errors": sql(store, "SELECT intake_id, seq, code, message FROM intake_errors ORDER BY 1, 2"),
                "declared": [r for r in dump["sources"] + dump["indicators"] if r.intake_id is not None],
                "values": sql(store, "SELECT indicator_id, area, period, value, vintage, is_latest, revised, "
                                     "intake_id, origin_file, origin_line, published_at FROM observation_vintages "
                                     "WHERE intake_id IS NOT NULL ORDER BY obs_id"),
                "version": [r for r in dump["meta"] if r.key == "data_version"]}

    before = kept(data_dump(store))
    assert len(before["values"]) == 3 and len(before["files"]) == 3 and before["errors"]
    counts = build(store)
    assert counts["values kept from dropped files"] == 3
    assert kept(data_dump(store)) == before
    revised = sql(store, "SELECT v.value, p.value FROM observation_vintages v JOIN observation_vintages p "
                         "ON p.obs_id = v.revises_obs_id WHERE v.intake_id IS NOT NULL")
    assert revised == [(11, 12)]  # the link between vintages follows the new numbering
    # and filing goes on from there
    workbook(inbox(home, "v3.xlsx"), [obs(period="2024-05", value=9)], sources=(), indicators=())
    assert process(inbox(home, "v3.xlsx")).status == "accepted"


def test_crash_after_the_swap_is_finished_by_the_next_run(home, monkeypatch):
    import data.dropbox as dropbox
    path = workbook(inbox(home, "late.xlsx"), [obs()])
    original = path.read_bytes()

    def killed(*_args):
        raise SystemExit("killed between the swap and the move")

    with pytest.MonkeyPatch.context() as patched:  # only this (the home and store stay set)
        patched.setattr(dropbox, "_remove_from_inbox", killed)
        with pytest.raises(SystemExit):
            process(path)
    assert path.exists() and folder(home, "accepted") == []  # the store has it; the file was not moved
    after_swap = data_dump(store_of(home))
    done = subprocess.run(manage("ingest"), env=env_for(home), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("finished  late.xlsx: it had already been processed (accepted) when the "
                                  "previous run stopped; nothing changed in the store.")
    assert data_dump(store_of(home)) == after_swap
    (stored,) = folder(home, "accepted")
    assert (home / "dropbox" / "accepted" / stored).read_bytes() == original
    assert folder(home, "inbox") == [] and sql(store_of(home), "SELECT count(*) FROM intake_files") == [(1,)]
    assert not any((home / "dropbox" / ".processing").iterdir())


def test_ingest_exit_status_and_watch_once(dropbox_home):
    home = dropbox_home  # DuckDB only: the watcher on PostgreSQL is branch `watcher`'s
    workbook(inbox(home, "good.xlsx"), [obs()])
    inbox(home, "bad.xlsx").write_bytes(b"not a workbook")
    inbox(home, "~$good.xlsx").write_bytes(b"owner")  # left by Excel: ignored, but good.xlsx waits
    done = subprocess.run(manage("ingest"), env=env_for(home), capture_output=True, text=True)
    assert done.returncode == 1
    assert "REJECTED  bad.xlsx" in done.stdout and "waiting   good.xlsx: still open in Excel" in done.stdout
    inbox(home, "~$good.xlsx").unlink()
    done = subprocess.run(manage("watch", "--once", "--poll", "0.2"), env=env_for(home), capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "accepted  good.xlsx" in done.stdout
    assert folder(home, "inbox") == []


def test_commands_have_help():
    for command in ("ingest", "watch", "template"):
        done = subprocess.run(manage(command, "--help"), capture_output=True, text=True)
        assert done.returncode == 0 and "usage: python manage.py " + command in done.stdout


def test_writers_in_threads_queue_on_the_lock(home):
    paths = [workbook(inbox(home, f"f{n}.xlsx"), [obs(period=f"2030-{n + 1:02d}", value=n)],
                      indicators=(COUNT,)) for n in range(6)]
    results = []
    threads = [threading.Thread(target=lambda p=p: results.append(process(p).status)) for p in paths]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["accepted"] * 6
    values = latest(home, COUNT["indicator_id"])
    assert sorted(values["value"]) == [0, 1, 2, 3, 4, 5]
    assert values["obs_id"].is_unique


def test_reader_sees_a_swap_while_an_old_connection_is_open(tmp_path):
    """Regression (issue 5): DuckDB hands every connection to the same path the instance
    already open, so a request in flight on the old snapshot made new readers see old data."""
    target = tmp_path / "pkpi.duckdb"
    build(target)
    old = reader(target).connect()  # a request in flight
    n = old.execute(sa.text("SELECT count(*) FROM observations")).scalar()
    home = tmp_path
    (home / "dropbox" / "inbox").mkdir(parents=True)
    workbook(home / "dropbox" / "inbox" / "x.xlsx", [obs()])
    from data.dropbox import Folders
    assert process(home / "dropbox" / "inbox" / "x.xlsx", target, Folders(home / "dropbox")).status == "accepted"
    with reader(target).connect() as new:
        assert new.execute(sa.text("SELECT count(*) FROM observations")).scalar() == n + 1
    assert old.execute(sa.text("SELECT count(*) FROM observations")).scalar() == n
    old.close()


def test_as_of_shows_the_vintage_current_at_that_date(home):
    """Issue 6: a permalink to a meeting's view keeps showing what was known then, even after
    a value is revised; the curated values of a report count from the last day of its date."""
    from datetime import timedelta

    from indicators.query import observations
    store = store_of(home)
    (ind, area, period, value, source, locator, quote), = sql(
        store, "SELECT o.indicator_id, o.area, o.period, o.value, o.source_id, o.locator, o.quote "
               "FROM observations o JOIN indicators i USING (indicator_id) WHERE o.source_id = 's-2023-646' "
               "AND i.unit = 'count' AND o.qualifier = 'exact' AND o.value > 2 ORDER BY o.obs_id LIMIT 1")
    workbook(inbox(home, "fix.xlsx"), [obs(indicator_id=ind, area=area, period=period, value=value + 1,
                                           source_id=source, locator=locator, quote=quote, revision="yes")],
             sources=(), indicators=())
    assert process(inbox(home, "fix.xlsx")).status == "accepted"
    engine = engine_of(home)
    pick = Filters(indicators=(ind,), areas=(area,))

    def shown(as_of):
        frame = observations(replace(pick, as_of=as_of), engine=engine)
        frame = frame[frame["period"] == period]
        return list(frame["value"])

    assert shown(None) == [value + 1]                      # today: the revision
    assert shown(date(2023, 9, 30)) == [value]             # a meeting before it: the original
    assert shown(date(2023, 8, 31)) == []                  # before the report was published
    assert shown(date.today() + timedelta(days=1)) == [value + 1]
