""""What changed since the last briefing": every value published or revised between two
dates, with the value it replaced (a revision) or the comparable value one could quote
before (a new value). On the curated store and on a store with a dropped revision."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from data.dropbox import process
from data.engine import reader
from indicators import updates
from tests.intake_helpers import COUNT, obs, workbook

FAMILIES = ("fatalities", "women", "conduct", "environment", "cpas")


def test_window_holds_exactly_the_values_published_in_it(any_served_read_only):
    """On DuckDB and on PostgreSQL (``any_served_read_only``: the functions read the store the settings name)."""
    changed = updates.published_between(date(2023, 1, 1), date(2023, 9, 30), FAMILIES)
    with any_served_read_only.reader() as r:
        expected = [row[0] for row in r.rows(sa.text(
            "SELECT v.obs_id FROM observation_vintages v JOIN indicators i USING (indicator_id) "
            "WHERE v.published_at >= DATE '2023-01-02' AND v.published_at < DATE '2023-10-01' "
            "AND i.family IN ('fatalities','women','conduct','environment','cpas')"))]
    assert sorted(changed["obs_id"]) == sorted(expected) and len(expected) > 20
    assert set(changed["source_id"]) == {"s-2023-646"} and set(changed["change"]) == {"new"}
    seven = changed[(changed["indicator_id"] == "fatalities_malicious_acts") & (changed["value"] == 7)].iloc[0]
    assert seven["locator"] == "figure II, note **" and seven["previous_value"] is None
    # The day itself is the last briefing: what was published on it was known then.
    assert updates.published_between(date(2023, 9, 1), date(2023, 9, 30), FAMILIES).empty
    # A later window picks up the 2024 report, and compares with what was known on 30 September 2023.
    later = updates.published_between(date(2023, 9, 30), date(2024, 12, 31), ("cpas",))
    points = later[later["indicator_id"] == "cpas_data_points"].iloc[0]
    assert (points["value"], points["previous_value"], points["previous_qualifier"]) == (80000, 35000, "more_than")
    assert points["previous_locator"] == "para 65" and points["change"] == "new"


@pytest.fixture
def home(dropbox_home):
    """This file's tests work in a private PKPI_HOME (conftest.dropbox_home)."""
    return dropbox_home


def test_a_revision_lists_the_value_it_replaced(home):
    workbook(home / "dropbox" / "inbox" / "v1.xlsx", [obs()])
    assert process(home / "dropbox" / "inbox" / "v1.xlsx").status == "accepted"
    workbook(home / "dropbox" / "inbox" / "v2.xlsx", [obs(value=11, locator="row 9", revision="yes")],
             sources=(), indicators=())
    assert process(home / "dropbox" / "inbox" / "v2.xlsx").status == "accepted"
    today = date.today()
    changed = updates.published_between(today - timedelta(days=1), today, engine=reader(home / "pkpi.duckdb"))
    mine = changed[changed["indicator_id"] == COUNT["indicator_id"]].sort_values("vintage")
    assert list(mine["value"]) == [12, 11] and list(mine["change"]) == ["new", "revised"]
    revised = mine.iloc[1]
    assert (revised["previous_value"], revised["previous_locator"], revised["locator"]) == (12, "row 2", "row 9")
