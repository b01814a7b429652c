"""Issue 7: the CSV export is written by DuckDB (each line built in SQL) and the frames come
back as Arrow; both must give exactly what the Python writer and SQLAlchemy's rows gave.
What a store answers (the export's bytes, counts, "as of") is checked on DuckDB and on
PostgreSQL (issue 16: ``tricky_any``, the same store copied into each)."""
from __future__ import annotations

import math
import os
import shutil
from pathlib import Path

import pandas as pd
import pytest
import sqlalchemy as sa

from data import schema
from data.engine import make_engine, reader
from data.export import iter_csv, iter_csv_rowwise
from data.selection import Filters, iter_observations, observations_select
from indicators import query

TRICKY_TEXT = [
    '=HYPERLINK("http://x","y")', "+1", "-2+3", "@SUM(A1)", "\tTAB", "\rCR", "a,b", 'say "hi"',
    "line\nbreak", "crlf\r\nhere", " -space first", "", "截至 2023 年 5 月，超过 8.8 万人", "'already quoted",
]
TRICKY_VALUES = [25.6, 88000.0, -5.0, -0.0, 1e-07, 1.5e16, 999999999999999.0, 1e15, 123456789.123,
                 1 / 3, math.inf, -math.inf, math.nan]


@pytest.fixture(scope="module")
def tricky_store(store, tmp_path_factory):
    """The curated store with hostile text in quotes and notes and awkward numbers."""
    path = tmp_path_factory.mktemp("tricky") / "pkpi.duckdb"
    shutil.copyfile(store, path)
    writer = make_engine(path, read_only=False)
    with writer.begin() as conn:
        table = "observation_vintages" if "observation_vintages" in sa.inspect(conn).get_table_names() \
            else "observations"
        ids = conn.execute(sa.text(f"SELECT obs_id FROM {table} ORDER BY obs_id")).scalars().all()
        for n, obs_id in enumerate(ids[:len(TRICKY_TEXT) + len(TRICKY_VALUES)]):
            text = TRICKY_TEXT[n % len(TRICKY_TEXT)]
            conn.execute(sa.text(f"UPDATE {table} SET quote_en = :t, note = :note, locator = :loc, "
                                 f"value = :v WHERE obs_id = :id"),
                         {"t": text, "note": None if n % 3 else text, "loc": text or "x",
                          "v": TRICKY_VALUES[n % len(TRICKY_VALUES)], "id": obs_id})
        schema.refresh_served(conn)
    writer.dispose()
    return path


@pytest.fixture(scope="module", params=["duckdb", "postgresql"])
def tricky_any_store(request, tricky_store):
    """``tricky_store`` itself, or copied into a PostgreSQL database (``migrate-store``)."""
    if request.param == "duckdb":
        yield tricky_store
        return
    from data.stores import postgres_store
    from data.stores.migrate import migrate
    from tests.conftest import pg_admin, pg_database_url

    pg_url = request.getfixturevalue("pg_url")
    name = f"pkpi_tricky{os.getpid()}"
    pg_admin(pg_url, f"CREATE DATABASE {name} TEMPLATE template0")
    url = pg_database_url(pg_url, name)
    try:
        migrate(tricky_store, url)
        yield url
    finally:
        postgres_store.dispose(url)
        pg_admin(pg_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def tricky_any(tricky_any_store, monkeypatch):
    """``tricky_any_store`` as the store the settings name: read by functions given no engine."""
    if isinstance(tricky_any_store, Path):
        monkeypatch.setenv("PKPI_DB", str(tricky_any_store))
        monkeypatch.setenv("PKPI_DATABASE_URL", "")
    else:
        monkeypatch.setenv("PKPI_DATABASE_URL", tricky_any_store)
    query.clear_cache()
    yield tricky_any_store
    query.clear_cache()


@pytest.mark.parametrize("filters", [Filters(), Filters(families=("women",)), Filters(text="恶意"),
                                     Filters(indicators=("no_such_indicator",))])
def test_sql_writer_gives_the_python_writers_bytes(tricky_any, filters):
    fast, slow = "".join(iter_csv(filters)), "".join(iter_csv_rowwise(filters))
    assert fast == slow


def test_row_count_is_reported(tricky_any):
    from data.stores import open_store

    stats = {}
    "".join(iter_csv(Filters(), stats=stats))
    with open_store().reader() as r:
        assert stats["rows"] == r.rows(sa.select(sa.func.count()).select_from(schema.observations))[0][0] > 250


def _rows_frame(f: Filters, engine) -> pd.DataFrame:
    with engine.connect() as conn:
        result = conn.execute(observations_select(f))
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


@pytest.mark.parametrize("filters", [Filters(), Filters(families=("women",)), Filters(cumulative=True),
                                     Filters(indicators=("no_such_indicator",))])
def test_arrow_frames_equal_sqlalchemy_rows(tricky_store, filters):
    engine = reader(tricky_store)
    want, got = _rows_frame(filters, engine), query.observations(filters, engine=engine)
    pd.testing.assert_frame_equal(want, got, check_exact=True)
    for column in want.columns:
        if want[column].dtype == object:  # dates stay datetime.date, open starts stay None
            assert list(map(type, want[column])) == list(map(type, got[column])), column


def test_iter_observations_gives_sqlalchemys_rows(tricky_store):
    engine = reader(tricky_store)
    got = [r for _, chunk in iter_observations(Filters(), engine, chunk=100) for r in chunk]
    with engine.connect() as conn:
        want = [tuple(r) for r in conn.execute(observations_select(Filters())).fetchall()]
    assert len(got) == len(want)
    for a, b in zip(got, want):
        assert len(a) == len(b)
        assert all(x == y or (x != x and y != y) for x, y in zip(a, b)), (a, b)
        assert list(map(type, a)) == list(map(type, b))


def test_cached_frames_follow_the_store_and_are_not_shared(tricky_store, store, monkeypatch):
    """The cache is per snapshot: a swapped-in store is read afresh; a caller's change to a
    frame never reaches the next caller."""
    monkeypatch.setenv("PKPI_DB", str(tricky_store))
    query.clear_cache()
    first = query.observations(Filters(families=("women",)))
    first.loc[first.index[0], "quote"] = "changed by a caller"
    again = query.observations(Filters(families=("women",)))
    assert again["quote"].iloc[0] != "changed by a caller"
    monkeypatch.setenv("PKPI_DB", str(store))
    other = query.observations(Filters())
    pd.testing.assert_frame_equal(other, _rows_frame(Filters(), reader(store)), check_exact=True)
    query.clear_cache()


def test_count_and_limit_agree_with_the_whole_frame(tricky_any):
    for f in (Filters(), Filters(families=("women",)), Filters(text="恶意"), Filters(indicators=("none",))):
        whole = query.observations(f)
        assert query.count(f) == len(whole)
        first = query.observations(f, limit=10)
        assert list(first.columns) == list(whole.columns) and len(first) == min(10, len(whole))
        key = ["indicator_id", "area", "period_start", "period_end", "source_id"]
        if len(whole):  # the first rows by the query's own order
            assert first[key].astype(str).values.tolist() == whole.head(10)[key].astype(str).values.tolist()


def test_as_of_export_gives_the_python_writers_bytes(tricky_any):
    from datetime import date
    for day in (date(2019, 1, 1), date(2022, 1, 1)):
        f = Filters(as_of=day)
        assert "".join(iter_csv(f)) == "".join(iter_csv_rowwise(f))

