"""The pages' reads on each store (issue 16): through one reader per answer, cached per data
version. On DuckDB and on PostgreSQL alike, an answer begun before a change is published reads
the version it began on to its end (from the cache or not), and the next answer reads the new
version: the caches are keyed by ``Reader.version``, not by which engine happens to be open."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from callbacks import cache as answers
from data import schema
from data.selection import Filters
from indicators import query, updates

INDICATOR = "fatalities_malicious_acts"


@pytest.fixture
def served(any_served):
    """``any_store`` as the store the settings name (conftest's ``any_served``)."""
    return any_served


def _publish_new_name(store, name: str, version: str) -> None:
    """A new data version in which the indicator's English name differs (values are never
    changed in place; a changed name reaches every served row of the indicator)."""
    i = schema.indicators
    with store.writer() as w, w.change() as change:
        change.conn.execute(sa.update(i).where(i.c.indicator_id == INDICATOR).values(name_en=name))
        change.set_version(data_version=version)


def _names(frame) -> set[str]:
    return set(frame["indicator_name"])


def test_an_answer_reads_one_version_and_the_next_reads_the_new_one(served):
    f = Filters(indicators=(INDICATOR,))
    before = query.observations(f)
    name = before["indicator_name"].iloc[0]
    n = query.count()
    with query.one_reader() as r:
        old_version = r.version
        assert _names(query.observations(f)) == {name}  # from the cache now
        _publish_new_name(served, "Renamed by the test", "pages-test-2")
        # Still in the answer begun before the change: its version, cached and not.
        assert _names(query.observations(f)) == {name}
        assert set(query.catalog(f)["indicator_name"]) == {name}  # not cached before: read now
        assert query.count() == n
        assert r.version == old_version
    after = query.observations(f)
    assert _names(after) == {"Renamed by the test"}
    assert list(after["obs_id"]) == list(before["obs_id"]) and list(after["value"]) == list(before["value"])
    with query.one_reader() as r:
        assert r.version == "pages-test-2"


def test_a_cached_callback_answer_is_made_again_for_a_new_version(served):
    calls = []

    @answers.per_data_version(limit=8)
    def answer(indicator):
        calls.append(indicator)
        return sorted(_names(query.observations(Filters(indicators=(indicator,)))))

    first = answer(INDICATOR)
    assert answer(INDICATOR) == first and calls == [INDICATOR] and first != ["Renamed again"]
    _publish_new_name(served, "Renamed again", "pages-test-3")
    assert answer(INDICATOR) == ["Renamed again"]
    assert calls == [INDICATOR, INDICATOR], "a new data version must be answered afresh"


def test_the_updates_frames_keep_their_columns_when_empty(served):
    """A file with no problems, a value with no vintage: frames of no rows, with their columns
    (the pages read them by name), the same on both stores."""
    errors = updates.file_errors(-1)
    assert errors.empty and {"intake_id", "seq", "message"} <= set(errors.columns)
    history = updates.history("no_such_indicator", "all_pko", "2020")
    assert history.empty and list(history.columns)[:3] == ["obs_id", "vintage", "value"]
    files = updates.recent_files()
    assert files.empty and "withdrawn_reason" in files.columns
