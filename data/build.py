"""Build the DuckDB store from the curated files, as a new snapshot swapped in atomically.

A rebuild never loses what staff added through the drop folder: under the writer lock it
reads, from the store it replaces, every processed file (``intake_files``, ``intake_errors``),
every source, area and indicator a dropped file declared, and every value a dropped file
added, and writes them into the new snapshot after the curated values (see
``data/store.py`` for the single-writer design).
"""
from __future__ import annotations

import hashlib
import sys
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from data import curated, schema, settings
from data.engine import snapshot_engine
from data.periods import period_bounds, span
from data.store import new_snapshot, writer_lock

# Observations are stored sorted by indicator: queries filter by indicator first, and a
# deterministic order makes two builds from the same files identical.
_ORDER = ("indicator_id", "area", "period", "source_id")

meta = sa.Table("meta", schema.metadata,
                sa.Column("key", sa.Text, primary_key=True),
                sa.Column("value", sa.Text, nullable=False))

_REFERENCE = (("sources", "source_id"), ("areas", "area_id"), ("indicators", "indicator_id"))


def curated_hash(folder: Path = curated.CURATED) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and "_proposed" not in path.parts:
            digest.update(path.relative_to(folder).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def data_version(curated_version: str, accepted_sha256: list[str]) -> str:
    """What the store holds: the curated files, then every accepted file, in order."""
    if not accepted_sha256:
        return curated_version
    return hashlib.sha256("\n".join([curated_version, *accepted_sha256]).encode()).hexdigest()[:16]


def assign_vintages(obs: list[dict]) -> None:
    """Number the values of each (indicator, area, period) in the order given (the order
    they were published) and mark the latest; ``revised`` when the value or its qualifier
    differs from the vintage it replaces."""
    previous: dict[tuple, dict] = {}
    for rec in obs:
        key = (rec["indicator_id"], rec["area"], rec["period"])
        before = previous.get(key)
        rec["vintage"] = before["vintage"] + 1 if before else 1
        rec["revises_obs_id"] = before["obs_id"] if before else None
        rec["revised"] = bool(before) and (before["value"], before["qualifier"]) != (rec["value"], rec["qualifier"])
        rec["is_latest"] = True
        if before:
            before["is_latest"] = False
        previous[key] = rec


def _records(tables: dict[str, list[curated.Row]]) -> dict[str, list[dict]]:
    def cells(row: curated.Row) -> dict:
        return {k: (v if v != "" else None) for k, v in row.cells.items()}

    out: dict[str, list[dict]] = {}
    out["sources"] = []
    for row in tables["sources"]:
        rec = cells(row)
        rec["date_start"] = period_bounds(rec["date"])[0]
        out["sources"].append(rec)
    # A report counts as published on the last day its date can mean ("2018-10": 31 October),
    # so an "as of" view never shows a value before it could have been read.
    published = {r["source_id"]: datetime.combine(period_bounds(r["date"])[1], datetime.min.time())
                 for r in out["sources"]}
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
        rec["intake_id"] = None
        rec["published_at"] = published.get(rec["source_id"])
        obs.append(rec)
    obs.sort(key=lambda r: tuple(r[k] for k in _ORDER))
    for obs_id, rec in enumerate(obs, start=1):
        rec["obs_id"] = obs_id
    # Two reports stating the same key: the older report's value is the earlier vintage.
    assign_vintages(sorted(obs, key=lambda r: (r["published_at"], r["source_id"])))
    out["observations"] = obs
    return out


def _table_names(conn) -> set[str]:
    return set(conn.execute(sa.text("SELECT table_name FROM duckdb_tables()")).scalars())


def read_intake_data(store: Path) -> dict[str, list[dict]]:
    """Everything the drop folder added to ``store`` (empty for a store that has none)."""
    out: dict[str, list[dict]] = {"intake_files": [], "intake_errors": [], "observations": [],
                                  "sources": [], "areas": [], "indicators": [], "referenced": []}
    if not store.exists():
        return out
    engine = snapshot_engine(store)
    try:
        with engine.connect() as conn:
            if "intake_files" not in _table_names(conn):
                return out  # a store written before the drop folder existed

            def rows(query):
                return [dict(r._mapping) for r in conn.execute(query)]

            f, e, v = schema.intake_files, schema.intake_errors, schema.observation_vintages
            out["intake_files"] = rows(sa.select(f).order_by(f.c.intake_id))
            out["intake_errors"] = rows(sa.select(e).order_by(e.c.intake_id, e.c.seq))
            out["observations"] = rows(sa.select(v).where(v.c.intake_id.is_not(None)).order_by(v.c.obs_id))
            for name, key in _REFERENCE:
                t = schema.metadata.tables[name]
                out[name] = rows(sa.select(t).where(t.c.intake_id.is_not(None)).order_by(t.c[key]))
            # Rows the dropped values refer to, in case the curated files no longer have them.
            out["referenced"] = {
                name: {r[key]: r for r in rows(sa.select(schema.metadata.tables[name]))}
                for name, key in _REFERENCE}
    finally:
        engine.dispose()
    return out


def _merge_intake(records: dict[str, list[dict]], kept: dict[str, list[dict]]) -> int:
    """Add what the drop folder added (``kept``) to freshly built curated ``records``."""
    if not kept["intake_files"]:
        return 0
    for name, key in _REFERENCE:
        have = {r[key] for r in records[name]}
        for rec in kept[name]:
            if rec[key] not in have:  # a curated row of the same id wins
                records[name].append(rec)
                have.add(rec[key])
        column = {"sources": "source_id", "areas": "area", "indicators": "indicator_id"}[name]
        for obs in kept["observations"]:
            ref = obs[column]
            if ref not in have:  # removed from the curated files since: keep what it was
                records[name].append(kept["referenced"][name][ref])
                have.add(ref)
    curated_obs = records["observations"]
    next_id = max((r["obs_id"] for r in curated_obs), default=0) + 1
    carried = []
    for obs in kept["observations"]:
        carried.append({**obs, "obs_id": next_id})
        next_id += 1
    # The curated values come first (as published in their reports), then each dropped
    # value in the order the files were accepted: the same order as when they were dropped.
    assign_vintages(sorted(curated_obs, key=lambda r: (r["published_at"], r["source_id"])) + carried)
    records["observations"] = curated_obs + carried
    records["intake_files"] = kept["intake_files"]
    records["intake_errors"] = kept["intake_errors"]
    return len(carried)


def _write(engine: sa.Engine, records: dict[str, list[dict]], version: dict[str, str]) -> None:
    schema.create_all(engine)
    with engine.begin() as conn:
        for name in ("intake_files", "intake_errors", "sources", "areas", "indicators", "figures",
                     "observations"):
            table = schema.observation_vintages if name == "observations" else schema.metadata.tables[name]
            if records.get(name):
                conn.execute(table.insert(), [{c.name: rec.get(c.name) for c in table.columns}
                                              for rec in records[name]])
        conn.execute(meta.insert(), [{"key": k, "value": v} for k, v in sorted(version.items())])


def build(target: Path | None = None, folder: Path = curated.CURATED,
          seeds: Path | None = None, check_seeds: bool = True,
          if_missing: bool = False, say=None) -> dict[str, int] | None:
    """Check the curated files, write a new store, swap it in. Returns row counts.

    Raises CurationError (nothing is written) when any curated file has a problem. With
    ``if_missing``, does nothing (returns None) when the store exists once the lock is held.
    Every quote is compared with its report text when the texts are at hand (``seeds``,
    default PKPI_SEEDS); a clone of the repository alone has none, and then the build goes
    ahead on the curated quotes and says so once through ``say`` (default: standard error).
    """
    target = Path(target or settings.db_path())
    seeds = seeds or settings.seeds_dir()
    texts = check_seeds and curated.texts_found(seeds)
    tables = curated.load(folder, seeds if texts else None)
    records = _records(tables)
    curated_version = curated_hash(folder)
    with writer_lock(target):
        if if_missing and target.exists():
            return None
        kept = _merge_intake(records, read_intake_data(target))
        accepted = [f["sha256"] for f in records.get("intake_files", []) if f["status"] == "accepted"]
        version = {"data_version": data_version(curated_version, accepted),
                   "curated_version": curated_version}
        with new_snapshot(target, copy_current=False) as engine:
            _write(engine, records, version)
    if check_seeds and not texts:  # after the write, so a worker that found it built says nothing
        (say or _to_stderr)(curated.not_checked_notice(seeds))
    counts = {name: len(records[name])
              for name in ("sources", "areas", "indicators", "figures", "observations")}
    if kept:
        counts["values kept from dropped files"] = kept
    return counts


def _to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def ensure_built(target: Path | None = None) -> bool:
    """Build the store if it does not exist yet (first run). True when it built.

    Several server workers may start at once: the first builds, the others find it built.
    """
    target = Path(target or settings.db_path())
    if target.exists():
        if _current_layout(target):
            return False
        # Written by an earlier version of the project (no served_observations): rebuild,
        # which keeps every value the drop folder added.
        return build(target) is not None
    return build(target, if_missing=True) is not None


def _current_layout(target: Path) -> bool:
    engine = snapshot_engine(target)
    try:
        with engine.connect() as conn:
            return schema.has_served(conn)
    finally:
        engine.dispose()
