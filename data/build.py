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
from data.stores import default_target, is_url, open_store, reading

# Observations are stored sorted by indicator: queries filter by indicator first, and a
# deterministic order makes two builds from the same files identical.
_ORDER = ("indicator_id", "area", "period", "source_id")

_REFERENCE = (("sources", "source_id"), ("areas", "area_id"), ("indicators", "indicator_id"))


def curated_hash(folder: Path = curated.CURATED) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and "_proposed" not in path.parts:
            digest.update(path.relative_to(folder).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def data_version(curated_version: str, accepted_sha256: list[str], withdrawn_sha256: list[str] = ()) -> str:
    """What the store holds: the curated files, then every accepted file, in order, then
    every withdrawn one."""
    if not accepted_sha256 and not withdrawn_sha256:
        return curated_version
    lines = [curated_version, *accepted_sha256, *(f"withdrawn {sha}" for sha in withdrawn_sha256)]
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


def version_from(conn, curated_version: str) -> str:
    """``data_version`` of the store ``conn`` is writing (its files and withdrawals)."""
    f, w = schema.intake_files, schema.withdrawals
    accepted = list(conn.execute(sa.select(f.c.sha256).where(f.c.status == "accepted")
                                 .order_by(f.c.intake_id)).scalars())
    withdrawn = list(conn.execute(sa.select(f.c.sha256).select_from(w.join(f, f.c.intake_id == w.c.intake_id))
                                  .order_by(w.c.withdrawal_id)).scalars())
    return data_version(curated_version, accepted, withdrawn)


def assign_vintages(obs: list[dict], withdrawn: dict | None = None) -> None:
    """Number the values of each (indicator, area, period) in the order given (the order
    they were published) and mark the latest; ``revised`` when the value or its qualifier
    differs from the vintage it replaces.

    ``withdrawn`` maps the obs_id of each withdrawn vintage to when it was withdrawn: a
    vintage replaces the newest earlier one still standing when it was published, and the
    latest is the newest one never withdrawn (as ``data.withdraw`` leaves a live store)."""
    withdrawn = withdrawn or {}
    previous: dict[tuple, list[dict]] = {}
    for rec in obs:
        earlier = previous.setdefault((rec["indicator_id"], rec["area"], rec["period"]), [])
        when = rec["published_at"]
        before = next((e for e in reversed(earlier)
                       if withdrawn.get(e["obs_id"]) is None or withdrawn[e["obs_id"]] > when), None)
        rec["vintage"] = len(earlier) + 1
        rec["revises_obs_id"] = before["obs_id"] if before else None
        rec["revised"] = bool(before) and (before["value"], before["qualifier"]) != (rec["value"], rec["qualifier"])
        earlier.append(rec)
    for earlier in previous.values():
        standing = [e for e in earlier if e["obs_id"] not in withdrawn]
        for e in earlier:
            e["is_latest"] = bool(standing) and e is standing[-1]


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
    """Everything the drop folder added to the DuckDB file ``store`` (empty for a store that
    has none)."""
    if not store.exists():
        return _no_intake()
    engine = snapshot_engine(store)
    try:
        with reading(engine) as current:
            return read_intake(current)
    finally:
        engine.dispose()


def _no_intake() -> dict[str, list[dict]]:
    return {"intake_files": [], "intake_errors": [], "observations": [], "sources": [], "areas": [],
            "indicators": [], "referenced": [], "withdrawals": [], "withdrawn_values": []}


def read_intake(current) -> dict[str, list[dict]]:
    """Everything the drop folder added to the store ``current`` (a ``Reader``) reads."""
    out = _no_intake()
    tables = current.tables()
    if "intake_files" not in tables:
        return out  # a store written before the drop folder existed

    def rows(query):
        return [dict(r._mapping) for r in current.rows(query)]

    f, e, v = schema.intake_files, schema.intake_errors, schema.observation_vintages
    out["intake_files"] = rows(sa.select(f).order_by(f.c.intake_id))
    out["intake_errors"] = rows(sa.select(e).order_by(e.c.intake_id, e.c.seq))
    out["observations"] = rows(sa.select(v).where(v.c.intake_id.is_not(None)).order_by(v.c.obs_id))
    if {"withdrawals", "withdrawn_values"} <= tables:
        w, wv = schema.withdrawals, schema.withdrawn_values
        out["withdrawals"] = rows(sa.select(w).order_by(w.c.withdrawal_id))
        out["withdrawn_values"] = rows(sa.select(wv).order_by(wv.c.obs_id))
    for name, key in _REFERENCE:
        t = schema.metadata.tables[name]
        out[name] = rows(sa.select(t).where(t.c.intake_id.is_not(None)).order_by(t.c[key]))
    # Rows the dropped values refer to, in case the curated files no longer have them.
    out["referenced"] = {
        name: {r[key]: r for r in rows(sa.select(schema.metadata.tables[name]))}
        for name, key in _REFERENCE}
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
    carried, renumbered = [], {}
    for obs in kept["observations"]:
        renumbered[obs["obs_id"]] = next_id
        carried.append({**obs, "obs_id": next_id})
        next_id += 1
    # Withdrawn vintages are always dropped ones: they follow their values' new obs_id.
    withdrawn = [{**w, "obs_id": renumbered[w["obs_id"]]} for w in kept["withdrawn_values"]
                 if w["obs_id"] in renumbered]
    # The curated values come first (as published in their reports), then each dropped
    # value in the order the files were accepted: the same order as when they were dropped.
    assign_vintages(sorted(curated_obs, key=lambda r: (r["published_at"], r["source_id"])) + carried,
                    {w["obs_id"]: w["withdrawn_at"] for w in withdrawn})
    records["observations"] = curated_obs + carried
    records["intake_files"] = kept["intake_files"]
    records["intake_errors"] = kept["intake_errors"]
    records["withdrawals"] = kept["withdrawals"]
    records["withdrawn_values"] = withdrawn
    return len(carried)


def _write(conn: sa.Connection, records: dict[str, list[dict]]) -> None:
    """Every row of a new store, in the order their keys need, in the caller's transaction."""
    for name in ("intake_files", "intake_errors", "sources", "areas", "indicators", "figures",
                 "observations", "withdrawals", "withdrawn_values"):
        table = schema.observation_vintages if name == "observations" else schema.metadata.tables[name]
        if records.get(name):
            conn.execute(table.insert(), [{c.name: rec.get(c.name) for c in table.columns}
                                          for rec in records[name]])


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
    target = _target(target)
    seeds = seeds or settings.seeds_dir()
    texts = check_seeds and curated.texts_found(seeds)
    tables = curated.load(folder, seeds if texts else None)
    records = _records(tables)
    curated_version = curated_hash(folder)
    store = open_store(target)
    with store.writer() as writer:
        if if_missing and store.exists():
            return None
        if store.exists():
            with writer.read() as current:
                kept = _merge_intake(records, read_intake(current))
        else:
            kept = 0
        files = records.get("intake_files", [])
        accepted = [f["sha256"] for f in files if f["status"] == "accepted"]
        sha_of = {f["intake_id"]: f["sha256"] for f in files}
        withdrawn = [sha_of[w["intake_id"]] for w in records.get("withdrawals", [])]
        version = {"data_version": data_version(curated_version, accepted, withdrawn),
                   "curated_version": curated_version}
        with writer.change(fresh=True) as change:  # an empty store, every table made
            _write(change.conn, records)
            change.set_version(**version)
    if check_seeds and not texts:  # after the write, so a worker that found it built says nothing
        (say or _to_stderr)(curated.not_checked_notice(seeds))
    counts = {name: len(records[name])
              for name in ("sources", "areas", "indicators", "figures", "observations")}
    if kept:
        counts["values kept from dropped files"] = kept
    return counts


def _target(target) -> Path | str:
    """The store to write: a PostgreSQL URL as given, a DuckDB path as a Path, or the
    settings' store (``PKPI_DATABASE_URL``, else ``PKPI_DB``)."""
    if target is None or str(target) == "":
        target = default_target()
    return target if is_url(target) else Path(target)


def _to_stderr(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


class ServingRefused(RuntimeError):
    """The dashboard cannot serve this store with these settings; said before it starts."""


def ensure_built(target: Path | None = None, serving: bool = False) -> bool:
    """Build the store if it does not exist yet (first run). True when it built.

    Several server workers may start at once: the first builds, the others find it built.
    ``serving``: called by the dashboard, which says plainly (``ServingRefused``) when the
    store cannot be used, instead of a traceback. On PostgreSQL the drop folder's watcher
    files into the database as it does into the DuckDB file (``data.watcher``), so a server
    there runs with the watcher on or off, as on DuckDB.
    """
    target = _target(target)
    if is_url(target):  # PostgreSQL: tables are made by the build itself, in its transaction
        try:
            if open_store(target).exists():
                return False
            return build(target, if_missing=True) is not None
        except sa.exc.OperationalError as exc:  # unreachable, login refused, ...
            if not serving:
                raise
            from data.stores import describe
            raise ServingRefused(f"cannot use the store at {describe(target)}: "
                                 f"{str(exc.orig or exc).strip().splitlines()[0]}") from None
    if target.exists():
        if _current_layout(target):
            return False
        # Written by an earlier version of the project (no served_observations, or no
        # withdrawal tables): rebuild, which keeps every value the drop folder added.
        return build(target) is not None
    return build(target, if_missing=True) is not None


def _current_layout(target: Path) -> bool:
    engine = snapshot_engine(target)
    try:
        with engine.connect() as conn:
            return schema.has_served(conn) and schema.has_withdrawals(conn)
    finally:
        engine.dispose()
