"""Building the store: deterministic, atomic, and refused on bad curated files."""
from __future__ import annotations

import shutil

import pytest
import sqlalchemy as sa

from data import schema
from data.build import build
from data.curated import CURATED, CurationError
from data.engine import make_engine, reader


def _dump(path):
    engine = make_engine(path, read_only=True)
    try:
        with engine.connect() as conn:
            out = {}
            for name, table in list(schema.metadata.tables.items()):
                pk = list(table.primary_key.columns) or list(table.columns)
                out[name] = conn.execute(sa.select(table).order_by(*pk)).all()
            return out
    finally:
        engine.dispose()


def test_build_is_deterministic(tmp_path):
    first, second = tmp_path / "a.duckdb", tmp_path / "b.duckdb"
    build(first)
    build(second)
    a, b = _dump(first), _dump(second)
    assert a == b
    assert len(a["observations"]) > 100


def test_rows_remember_their_curated_file_and_line(store):
    with reader(store).connect() as conn:
        file, line, quote = conn.execute(sa.text(
            "SELECT origin_file, origin_line, quote FROM observations ORDER BY obs_id LIMIT 1")).one()
    lines = (CURATED.parent.parent / file).read_text(encoding="utf-8").splitlines()
    assert quote in lines[line - 1]


def test_refused_build_leaves_the_store_untouched(tmp_path):
    target = tmp_path / "pkpi.duckdb"
    build(target)
    before = target.read_bytes()
    folder = tmp_path / "curated"
    shutil.copytree(CURATED, folder, ignore=shutil.ignore_patterns("_proposed"))
    (folder / "areas.csv").write_text("area_id,name_en,name_zh,kind\n", encoding="utf-8")
    with pytest.raises(CurationError):
        build(target, folder=folder)
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curated", "pkpi.duckdb"]


def test_reader_follows_a_rebuild(tmp_path):
    target = tmp_path / "pkpi.duckdb"
    build(target)
    old = reader(target)
    conn = old.connect()  # a request in flight on the old snapshot
    build(target)
    new = reader(target)
    assert new is not old
    assert conn.execute(sa.text("SELECT count(*) FROM observations")).scalar() > 100
    conn.close()
    with new.connect() as c2:
        assert c2.execute(sa.text("SELECT count(*) FROM observations")).scalar() > 100


_META_ALONE = """
import sys
import sqlalchemy as sa
from data import schema
from data.engine import data_version, make_engine
assert "data.build" not in sys.modules  # the schema alone, as a second store would use it
engine = make_engine(sys.argv[1], read_only=False)
schema.create_all(engine)
with engine.begin() as conn:
    conn.execute(schema.meta.insert(), [{"key": "data_version", "value": "v1"},
                                        {"key": "curated_version", "value": "c1"}])
for row in ({"key": "data_version", "value": "v2"}, {"key": "other", "value": None}):
    try:
        with engine.begin() as conn:
            conn.execute(schema.meta.insert(), [row])
    except sa.exc.IntegrityError:
        print("refused", row["key"])
engine.dispose()
print(data_version(sys.argv[1]))
"""


def test_the_schema_alone_makes_the_meta_table(tmp_path):
    """``meta`` is one of the schema's tables (it was defined in data.build, so a store made
    without importing the build had none): one value per key, never empty, and what
    ``data_version`` reads."""
    import subprocess
    import sys
    from pathlib import Path

    path = tmp_path / "alone.duckdb"
    done = subprocess.run([sys.executable, "-c", _META_ALONE, str(path)], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parent.parent, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n") == ["refused data_version", "refused other", "v1", ""]
