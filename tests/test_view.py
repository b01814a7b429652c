"""View: the one reader and writer of page state. Round trips (parse -> write -> parse) and
every kind of bad input, reported with its parameter, the value given and the form expected."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from indicators.view import PARAMETERS, View


FULL = View(family="women", indicators=("women_share_military", "women_share_police"), areas=("all_pko",),
            year_from=2018, year_to=2023, selection=(date(2023, 1, 1), date(2023, 8, 31)), cumulative=False,
            text="恶意 acts", as_of=date(2023, 9, 30), lang="zh", sources=("s-2023-646",),
            families=("women", "cpas"), name="women-share", point=17)


@pytest.mark.parametrize("view", [View(), FULL, View(cumulative=True), View(as_of=date(2024, 2, 29)),
                                  View(selection=(date(2023, 6, 30), date(2023, 6, 30)))])
def test_round_trip_through_the_url(view):
    again = View.from_search(view.search(family=True))
    assert again == view and not again.problems
    assert again.search(family=True) == view.search(family=True)
    assert View.from_query(view.query(family=True)) == view


def test_round_trip_through_a_context_store():
    view = View(as_of=date(2023, 9, 30), lang="zh")
    assert View.from_query(view.context()) == view
    assert View.from_query(View().context()) == View()


def test_written_forms():
    assert FULL.search() == ("?fam=women,cpas&ind=women_share_military,women_share_police&area=all_pko"
                             "&source=s-2023-646&from=2018&to=2023&sel=2023-01-01/2023-08-31&pt=17&total=0"
                             "&q=%E6%81%B6%E6%84%8F+acts&asof=2023-09-30&lang=zh&name=women-share")
    assert FULL.href("/women").startswith("/women?fam=")  # a family page's path names its family
    assert FULL.href("/data").startswith("/data?family=women&")
    assert View().href("/") == "/"
    link = FULL.download("json", "chart")
    assert link.startswith("/download/observations.json?family=women&ind=")
    assert "lang=" not in link and "fam=" not in link and link.endswith("&asof=2023-09-30&name=chart")
    assert FULL.keep() == View(lang="zh", as_of=date(2023, 9, 30))


def test_control_values_read_like_url_values():
    """Callbacks hand over lists and numbers; they mean the same as the URL's text."""
    assert View.from_query({"ind": ["a", "b"], "from": 2019, "to": 2021.0}) == \
        View.from_query({"ind": "a,b", "from": "2019", "to": "2021"})


def test_file_name_carries_the_as_of_date():
    assert View(name="women-share", as_of=date(2023, 9, 30)).file_stem() == "women-share_as-of-2023-09-30"
    assert View(family="cpas").file_stem() == f"cpas_{date.today().isoformat()}"


def _problems(query, family=None):
    return [str(p) for p in View.from_query(query, family).problems]


@pytest.mark.parametrize("given, what", [
    ("notadate", "is not a date"), ("30/09/2023", "is not a date"), ("2023-9-30", "is not a date"),
    ("2023-09-30T00:00", "is not a date"), (" ", None), ("2023-09-31", "is not a day of the calendar"),
    ("2023-02-29", "is not a day of the calendar"), ("2023-13-01", "is not a day of the calendar"),
])
def test_bad_as_of_dates(given, what):
    view = View.from_query({"asof": given, "area": "all_pko"})
    assert view.as_of is None and view.areas == ("all_pko",)  # the rest of the view is kept
    expected = [] if what is None else [
        f"asof: '{given}' {what}; expected a date YYYY-MM-DD, for example 2023-09-30"]
    assert [str(p) for p in view.problems] == expected


@pytest.mark.parametrize("given", ["abc", "20x4", "99", "1899", "2101", "2020.5", "２０２０"])
def test_a_year_that_is_not_a_year(given):
    assert _problems({"from": given}) == [
        f"from: '{given}' is not a year; expected a year of four digits from 1900 to 2100, for example 2023"]
    assert _problems({"to": given})[0].startswith(f"to: '{given}' is not a year")


def test_number_inputs_that_are_not_years():
    assert _problems({"from": 2020.5}) == [
        "from: '2020.5' is not a year; expected a year of four digits from 1900 to 2100, for example 2023"]
    assert View.from_query({"from": True}).problems  # not a number input's value either


def test_reversed_ranges():
    view = View.from_query({"from": "2023", "to": "2020"})
    assert (view.year_from, view.year_to) == (2023, None)
    assert [str(p) for p in view.problems] == ["to: '2020' is before from (2023); expected a year on or after from"]
    view = View.from_query({"sel": "2020-01-01/1999-01-01"})
    assert view.selection is None
    assert [str(p) for p in view.problems] == [
        "sel: '2020-01-01/1999-01-01' ends before it starts; expected two dates START/END as YYYY-MM-DD, "
        "the earlier first, for example 2023-01-01/2023-08-31"]


@pytest.mark.parametrize("given, what", [
    ("2023-01-01", "is not a period START/END"), ("2023-01-01/", "is not a date"),
    ("2023-01-01/2023-02-30", "is not a day of the calendar"), ("x/y", "is not a date"),
])
def test_bad_selections(given, what):
    assert _problems({"sel": given})[0].startswith(f"sel: '{given}' {what}; expected two dates")


def test_bad_ids_switches_languages_and_unknown_parameters():
    assert _problems({"ind": "ok_id,bad id;", "lang": "fr", "total": "yes", "indicator": "x"}) == [
        "indicator: 'x' is not a parameter of this address; expected one of " + ", ".join(PARAMETERS),
        "lang: 'fr' is not one of the choices; expected en or zh",
        "ind: 'bad id;' is not a list of ids; expected ids (letters, digits, _ . -) separated by commas",
        "total: 'yes' is not one of the choices; expected 1 (totals only) or 0 (no totals)"]
    assert View.from_query({"ind": "ok_id,bad id;"}).indicators == ("ok_id",)


def test_family_mistakes():
    assert _problems({"family": "nope"})[0].startswith("family: 'nope' is not a family; expected one of fatalities")
    assert _problems({"fam": "women,nope"})[0].startswith("fam: 'nope' is not a family")
    assert _problems({"family": "women"}, "fatalities") == [
        "family: 'women' is not this page's family; expected no family: the page's address names it"]
    assert _problems({"family": "women"}, "women") == []


def test_problems_in_chinese():
    (problem,) = View.from_query({"asof": "2023-09-31"}).problems
    assert problem.text("zh") == "asof：“2023-09-31”不是日历上存在的日期；应为日期，格式为 YYYY-MM-DD，例如 2023-09-30"
    assert problem.as_dict() == {"parameter": "asof", "given": "2023-09-31", "message": str(problem),
                                 "expected": "a date YYYY-MM-DD, for example 2023-09-30"}


def test_checked_against_the_store(any_served_read_only):
    view = View.from_query({"ind": "fatalities_malicious_acts,no_such", "area": "all_pko,atlantis",
                            "source": "s-2023-646,s-1999-1"}).checked()
    assert view.indicators == ("fatalities_malicious_acts",) and view.areas == ("all_pko",)
    assert view.sources == ("s-2023-646",)
    assert [p.param + ":" + p.given for p in view.problems] == ["ind:no_such", "area:atlantis", "source:s-1999-1"]
    on_page = View.from_query({"ind": "fatalities_malicious_acts"}, "women").checked()
    assert [str(p) for p in on_page.problems] == [
        "ind: 'fatalities_malicious_acts' is not in the family Women in peacekeeping; expected indicators "
        "of this family"]
    assert not View.from_query({"ind": "fatalities_malicious_acts"}, "fatalities").checked().problems


def test_problems_do_not_make_views_differ():
    assert View.from_query({"asof": "x"}) == View()
    assert View(as_of=date.today() - timedelta(days=1)) != View()


def test_a_clicked_value():
    assert View.from_query({"pt": "1234"}).point == 1234
    assert _problems({"pt": "12a"}) == ["pt: '12a' is not a value's number; expected a value's number (digits only)"]
