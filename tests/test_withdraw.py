"""Issue 14: an accepted file can be taken back. Its values leave the current view, a value it
revised goes back to the earlier one, nothing is deleted, "as of" views before the
withdrawal still show it; withdrawing twice, or a file later files revised, gets a clear
answer; a rebuild keeps all of it; a request saved into the inbox does the same."""
from __future__ import annotations

import subprocess
from datetime import date, timedelta

import pytest

from data.build import build
from data.dropbox import process
from data.selection import Filters
from data.store import utc_now
from data.withdraw import Refused, withdraw
from indicators import query
from tests.intake_helpers import COUNT, env_for, folder, manage, obs, engine_of, query as sql, store_of, workbook

IND = COUNT["indicator_id"]
TOMORROW = utc_now() + timedelta(days=1)  # as-of views go by day: withdraw on a later day


@pytest.fixture
def home(any_dropbox_home):
    """A private PKPI_HOME filing into a copy of the built store, on each store (conftest)."""
    return any_dropbox_home


def drop(home, name, rows, **kw):
    path = workbook(home / "dropbox" / "inbox" / name, rows, **kw)
    outcome = process(path)
    assert outcome.status == "accepted", outcome.message
    assert sql(store_of(home), "SELECT status FROM intake_files WHERE stored_name = :n",
               n=outcome.stored.name) == [("accepted",)]  # in the store this test chose
    return outcome.stored.name


def values(home, as_of=None, indicator=IND):
    got = query.observations(Filters(indicators=(indicator,), as_of=as_of), engine=engine_of(home))
    return {(r["period"]): (r["value"], r["quote"]) for _i, r in got.iterrows()}


def count_vintages(home):
    return sql(store_of(home), "SELECT count(*) FROM observation_vintages")[0][0]


def test_withdraw_removes_the_values_now_and_keeps_them_as_of_before(home):
    stored = drop(home, "feb.xlsx", [obs(), obs(period="2024-03", value=13, locator="row 3")])
    before_version = sql(store_of(home), "SELECT value FROM meta WHERE key = 'data_version'")
    assert set(values(home)) == {"2024-02", "2024-03"}
    kept = count_vintages(home)

    done = withdraw(stored, "entered twice by mistake", now=TOMORROW)
    assert (done.removed, done.restored, done.superseded) == (2, 0, 0)
    assert done.message() == f"Withdrew accepted/{stored} (reason: entered twice by mistake). Values no longer shown: 2."
    assert values(home) == {}  # the current view, the served table and the export query
    assert sql(store_of(home), f"SELECT count(*) FROM served_observations WHERE indicator_id = '{IND}'") == [(0,)]
    assert count_vintages(home) == kept  # nothing deleted
    today = date.today()
    assert values(home, as_of=today) == {"2024-02": (12, obs()["quote"]), "2024-03": (13, obs()["quote"])}
    assert values(home, as_of=TOMORROW.date()) == {}
    (w,) = sql(store_of(home), "SELECT reason, requested_by, removed, withdrawn_at FROM withdrawals")
    assert (w.reason, w.requested_by, w.removed, w.withdrawn_at) == ("entered twice by mistake", "command line", 2,
                                                                      TOMORROW.replace(microsecond=0))
    assert sql(store_of(home), "SELECT value FROM meta WHERE key = 'data_version'") != before_version
    # The accepted file itself stays where it was.
    assert stored in folder(home, "accepted")


def test_withdrawing_a_revision_brings_the_earlier_value_back(home):
    first = drop(home, "v1.xlsx", [obs(value=12)])
    second = drop(home, "v2.xlsx", [obs(value=15, quote="15 个特派团报告了数据", revision="yes")],
                  sources=(), indicators=())
    assert values(home)["2024-02"][0] == 15
    done = withdraw(second, "wrong month", now=TOMORROW)
    assert (done.removed, done.restored) == (1, 1)
    assert done.message().endswith("Values back to what they were before the file: 1.")
    assert values(home) == {"2024-02": (12, obs()["quote"])}
    assert values(home, as_of=date.today())["2024-02"][0] == 15  # as it stood before the withdrawal
    rows = sql(store_of(home), "SELECT vintage, value, is_latest FROM observation_vintages "
                                     f"WHERE indicator_id = '{IND}' ORDER BY vintage")
    assert [tuple(r) for r in rows] == [(1, 12.0, True), (2, 15.0, False)]
    # A later correction of the same value is numbered after the withdrawn vintage.
    third = drop(home, "v3.xlsx", [obs(value=14, quote="14 个特派团报告了数据", revision="yes")],
                 sources=(), indicators=())
    assert values(home)["2024-02"][0] == 14
    rows = sql(store_of(home), "SELECT vintage, value, is_latest, revised FROM observation_vintages "
                                     f"WHERE indicator_id = '{IND}' ORDER BY vintage")
    assert [tuple(r) for r in rows] == [(1, 12.0, False, False), (2, 15.0, False, True), (3, 14.0, True, True)]
    # Withdrawing that one too goes back to the first value, never to the withdrawn 15.
    withdraw(third, "also wrong", now=TOMORROW + timedelta(hours=1))
    assert values(home) == {"2024-02": (12, obs()["quote"])}
    assert first in folder(home, "accepted")


def test_withdrawing_twice_is_refused_and_changes_nothing(home):
    stored = drop(home, "feb.xlsx", [obs()])
    withdraw(stored, "mistake", now=TOMORROW)
    dump = sql(store_of(home), "SELECT obs_id, is_latest FROM observation_vintages ORDER BY obs_id")
    with pytest.raises(Refused) as refused:
        withdraw(stored, "again")
    assert refused.value.code == "withdraw-twice"
    assert str(refused.value) == (f"{stored} was already withdrawn on {TOMORROW:%Y-%m-%d %H:%M} UTC "
                                  f"(reason: mistake); nothing changed.")
    assert "已" in refused.value.render("zh")
    assert sql(store_of(home), "SELECT obs_id, is_latest FROM observation_vintages ORDER BY obs_id") == dump
    assert sql(store_of(home), "SELECT count(*) FROM withdrawals") == [(1,)]


def test_withdrawing_a_file_later_files_revised_keeps_the_later_values_and_names_them(home):
    first = drop(home, "both.xlsx", [obs(value=12), obs(period="2024-03", value=13, locator="row 3")])
    later = drop(home, "fix.xlsx", [obs(value=20, quote="20 个特派团报告了数据", revision="yes")],
                 sources=(), indicators=())
    done = withdraw(first, "whole file was a draft", now=TOMORROW)
    assert (done.removed, done.restored, done.superseded, done.later_files) == (1, 0, 1, [later])
    assert done.message() == (f"Withdrew accepted/{first} (reason: whole file was a draft). Values no longer shown: "
                              f"1. Values later files had already revised, which stay as those files have them: 1 "
                              f"({later}). Withdraw those files too if they should go.")
    assert values(home) == {"2024-02": (20, "20 个特派团报告了数据")}  # March is gone, February as fixed
    # Withdrawing the later file too leaves nothing: the first file's 12 never comes back.
    again = withdraw(later, "also a draft", now=TOMORROW + timedelta(hours=1))
    assert (again.removed, again.restored) == (1, 0)
    assert values(home) == {}
    assert set(values(home, as_of=date.today())) == {"2024-02", "2024-03"}


def test_rejected_duplicate_and_unknown_files_are_refused_with_the_reason(home):
    stored = drop(home, "feb.xlsx", [obs()])
    (home / "dropbox" / "inbox" / "again.xlsx").write_bytes((home / "dropbox" / "accepted" / stored).read_bytes())
    dup = process(home / "dropbox" / "inbox" / "again.xlsx")
    assert dup.status == "duplicate"
    bad = workbook(home / "dropbox" / "inbox" / "bad.xlsx", [obs(value="x")])
    rejected = process(bad)
    for name, code, words in ((dup.stored.name, "withdraw-duplicate", f"withdraw {stored}"),
                              (rejected.stored.name, "withdraw-not-loaded", "nothing from it is in the dashboard"),
                              ("nosuch.xlsx", "withdraw-unknown-file", "No accepted file is called 'nosuch.xlsx'")):
        with pytest.raises(Refused) as refused:
            withdraw(name, "test")
        assert refused.value.code == code and words in str(refused.value)
    with pytest.raises(Refused) as refused:
        withdraw(stored, "   ")
    assert refused.value.code == "withdraw-no-reason"
    # The original name works when only one accepted file had it.
    assert withdraw("feb.xlsx", "by its original name", now=TOMORROW).stored_name == stored


def test_a_rebuild_keeps_withdrawals(home):
    drop(home, "v1.xlsx", [obs(value=12)])
    second = drop(home, "v2.xlsx", [obs(value=15, revision="yes", quote="15 个")], sources=(), indicators=())
    withdraw(second, "wrong", now=TOMORROW)
    store = store_of(home)

    def state():
        return (sql(store, "SELECT indicator_id, period, value, vintage, is_latest, revised, revises_obs_id IS NULL "
                           "FROM observation_vintages WHERE intake_id IS NOT NULL ORDER BY obs_id"),
                sql(store, "SELECT withdrawal_id, intake_id, reason, removed, restored FROM withdrawals"),
                sql(store, "SELECT count(*) FROM withdrawn_values"),
                sql(store, "SELECT value FROM meta WHERE key = 'data_version'"),
                values(home), values(home, as_of=date.today()))

    before = state()
    build(store)
    assert state() == before


def test_the_same_file_dropped_again_after_its_withdrawal_applies_again(home):
    stored = drop(home, "feb.xlsx", [obs()])
    withdraw(stored, "too early", now=TOMORROW)
    again = workbook(home / "dropbox" / "inbox" / "feb.xlsx", [obs()])
    outcome = process(again)
    assert outcome.status == "accepted", outcome.message
    assert values(home) == {"2024-02": (12, obs()["quote"])}


def test_a_request_saved_into_the_inbox_withdraws_the_file(home):
    stored = drop(home, "feb.xlsx", [obs()])
    request = home / "dropbox" / "inbox" / "withdraw.txt"
    request.write_text(f"withdraw {stored}\nreason: the counts are for January\n", encoding="utf-8")
    outcome = process(request)
    assert outcome.status == "withdrawn", outcome.message
    assert values(home) == {}
    (w,) = sql(store_of(home), "SELECT reason, requested_by, request, request_intake_id FROM withdrawals")
    (kept,) = [n for n in folder(home, "accepted") if n.endswith("withdraw.txt")]
    assert (w.reason, w.requested_by, w.request) == ("the counts are for January", "inbox", f"accepted/{kept}")
    assert sql(store_of(home), f"SELECT status FROM intake_files WHERE intake_id = {w.request_intake_id}") \
        == [("withdrawal",)]
    assert folder(home, "inbox") == []

    # The same request again (Notepad's UTF-16, Chinese keywords): refused, with the reason in both languages.
    again = home / "dropbox" / "inbox" / "撤回.txt"
    again.write_text(f"撤回：{stored}\n原因：再试一次\n", encoding="utf-16")
    outcome = process(again)
    assert outcome.status == "rejected"
    (report,) = [n for n in folder(home, "rejected") if n.endswith(".errors.txt")]
    text = (home / "dropbox" / "rejected" / report).read_text(encoding="utf-8")
    assert f"{stored} was already withdrawn on" in text and "未撤回任何内容" in text
    assert sql(store_of(home), "SELECT count(*) FROM withdrawals") == [(1,)]


def test_a_plain_text_file_is_still_refused_as_not_a_spreadsheet(home):
    notes = home / "dropbox" / "inbox" / "notes.txt"
    notes.write_text("some notes\n", encoding="utf-8")
    outcome = process(notes)
    assert outcome.status == "rejected" and "Files of this type (.txt) are not read" in outcome.message
    assert sql(store_of(home), "SELECT original_name, status FROM intake_files") == [("notes.txt", "rejected")]


def test_the_withdraw_command(home):
    stored = drop(home, "feb.xlsx", [obs()])
    done = subprocess.run(manage("withdraw", stored, "--reason", "duplicate of the March file"),
                          env=env_for(home), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"Withdrew accepted/{stored} (reason: duplicate of the March file). Values no longer shown: 1.\n"
    assert sql(store_of(home), "SELECT reason FROM withdrawals") == [("duplicate of the March file",)]
    again = subprocess.run(manage("withdraw", stored, "--reason", "again"), env=env_for(home),
                           capture_output=True, text=True)
    assert again.returncode == 1 and "was already withdrawn" in again.stderr
    helped = subprocess.run(manage("withdraw", "--help"), env=env_for(home), capture_output=True, text=True)
    assert helped.returncode == 0 and "usage: python manage.py withdraw" in helped.stdout


def test_a_withdrawn_value_is_not_listed_among_earlier_values(home):
    from indicators import updates
    drop(home, "v1.xlsx", [obs(value=12)])
    second = drop(home, "v2.xlsx", [obs(value=15, quote="15 个", revision="yes")], sources=(), indicators=())
    withdraw(second, "wrong", now=TOMORROW)
    drop(home, "v3.xlsx", [obs(value=14, quote="14 个", revision="yes")], sources=(), indicators=())
    past = updates.history(IND, "all_pko", "2024-02", engine=engine_of(home))
    assert past["value"].tolist() == [12, 14] and past["vintage"].tolist() == [1, 3]
