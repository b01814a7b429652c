"""Build the DuckDB store from the curated files, as a new snapshot swapped in atomically."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import sqlalchemy as sa

from data import curated, schema, settings
from data.engine import make_engine
from data.periods import period_bounds, span

# Observations are stored sorted by indicator: queries filter by indicator first, and a
# deterministic order makes two builds from the same files identical.
_ORDER = ("indicator_id", "area", "period", "source_id")

meta = sa.Table("meta", schema.metadata,
                sa.Column("key", sa.Text, primary_key=True),
                sa.Column("value", sa.Text, nullable=False))


def curated_hash(folder: Path = curated.CURATED) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and "_proposed" not in path.parts:
            digest.update(path.relative_to(folder).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _records(tables: dict[str, list[curated.Row]]) -> dict[str, list[dict]]:
    def cells(row: curated.Row) -> dict:
        return {k: (v if v != "" else None) for k, v in row.cells.items()}

    out: dict[str, list[dict]] = {}
    out["sources"] = []
    for row in tables["sources"]:
        rec = cells(row)
        rec["date_start"] = period_bounds(rec["date"])[0]
        out["sources"].append(rec)
    out["areas"] = [cells(r) for r in tables["areas"]]
    out["indicators"] = [cells(r) for r in tables["indicators"]]
    out["figures"] = [cells(r) for r in tables["figures"]]
    obs = []
    for row in tables["observations"]:
        rec = cells(row)
        rec["value"] = float(rec["value"])
        rec["source_id"] = Path(row.file).stem
        rec["period_start"], rec["period_end"] = period_bounds(rec["period"])
        rec["span_class"], rec["span_label"] = span(rec["period"])
        rec["origin_file"] = f"data/curated/{row.file}"
        rec["origin_line"] = row.line
        obs.append(rec)
    obs.sort(key=lambda r: tuple(r[k] for k in _ORDER))
    for obs_id, rec in enumerate(obs, start=1):
        rec["obs_id"] = obs_id
    out["observations"] = obs
    return out


def build(target: Path | None = None, folder: Path = curated.CURATED,
          seeds: Path | None = None, check_seeds: bool = True) -> dict[str, int]:
    """Check the curated files, write a new store, swap it in. Returns row counts.

    Raises CurationError (nothing is written) when any curated file has a problem.
    """
    target = Path(target or settings.db_path())
    seeds = seeds or settings.seeds_dir()
    if check_seeds and not seeds.is_dir():
        raise FileNotFoundError(
            f"report texts not found at {seeds}: every quote is checked against them before a "
            f"build (set PKPI_SEEDS, or pass --no-seed-check to skip at your own risk)")
    tables = curated.load(folder, seeds if check_seeds else None)
    records = _records(tables)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    tmp.unlink(missing_ok=True)
    engine = make_engine(tmp, read_only=False)
    try:
        schema.metadata.create_all(engine)
        with engine.begin() as conn:
            for name in ("sources", "areas", "indicators", "figures", "observations"):
                if records[name]:
                    conn.execute(schema.metadata.tables[name].insert(), records[name])
            conn.execute(meta.insert(), [{"key": "data_version", "value": curated_hash(folder)}])
        with engine.connect() as conn:  # fold the write-ahead log into the file before the swap
            conn.execute(sa.text("CHECKPOINT"))
    except BaseException:
        engine.dispose()
        tmp.unlink(missing_ok=True)
        raise
    engine.dispose()
    os.replace(tmp, target)  # atomic: readers see the old snapshot or the new one
    return {name: len(rows) for name, rows in records.items()}


def ensure_built(target: Path | None = None) -> bool:
    """Build the store if it does not exist yet (first run). True when it built."""
    target = Path(target or settings.db_path())
    if target.exists():
        return False
    build(target)
    return True
