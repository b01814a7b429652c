"""The PostgreSQL part of ``manage.py bench --store postgresql|both`` (issue 16).

The bench's synthetic store (a DuckDB file) is copied into a throwaway PostgreSQL cluster
(``tests/pgcluster.py``: a private Unix socket, durability off) with the project's own
``manage.py migrate-store``, and the same things are then measured on both stores, each
PostgreSQL number beside a DuckDB number taken in the same loop (alternating where the two
can alternate), so that every comparison is a ratio within one run:

- the intake of the bench's CPAS export (``manage.py ingest`` with ``PKPI_DATABASE_URL``):
  the store is copied *before* the DuckDB intake, and the same .xlsx goes through the
  intake on PostgreSQL. If the intake cannot file into PostgreSQL (it says so, or the store
  did not grow by the file's rows), the row reads "not available" and the store after the
  DuckDB intake is copied instead, so every other row still compares the same rows;
- the whole-store CSV export, each store in a process of its own, and whether the bytes are
  the same;
- cold start: from starting gunicorn (2 sync workers; PostgreSQL with ``PKPI_WATCH=0``) to
  the first family page drawn in Chromium, the stores alternating;
- the page callbacks over HTTP: 1 client, the two servers' requests alternating, the same
  replayed requests; 8 clients on the same random views, one server after the other
  (fresh caches on both), and whether the answers are the same bytes on both;
- the whole-store summaries (the Sources page's per report, the Overview's latest value of
  every indicator) and a family chart through each store's reader, in process;
- a publish: one change that adds values (new vintages revising existing ones, what a
  dropped file does to the store), through the store interface, with the wall time and the
  CPU it cost (this process, plus the PostgreSQL server's processes read from /proc).
"""
from __future__ import annotations

import shutil
import statistics
import time
from datetime import datetime, timezone
from pathlib import Path

from bench.measure import run_child, summarize

DATABASE = "pkpi_bench"
# Repetitions per scale: (cold starts per store, in-process queries, publishes per store).
REPS = {"full": (2, 3, 3), "quick": (2, 3, 3), "tiny": (1, 1, 1)}
# Columns that say when and under which name a store filed the intake's file: each store
# files it itself, so these may differ between the two (the export has none of them).
INTAKE_RECORD = {"published_at", "origin_file", "intake_id"}
PUBLISH_VALUES = {"full": 1_000, "quick": 1_000, "tiny": 20}  # new vintages per publish


class PostgresPart:
    """The throwaway cluster, the PostgreSQL store in it, and the steps run on both stores.
    ``run`` is the ``bench.run.Run`` whose DuckDB store, intake files and captured requests
    these steps reuse."""

    def __init__(self, run):
        self.run = run
        self.cluster = None
        self.url: str | None = None
        self.home = run.home / "postgresql-home"  # PKPI_HOME of PostgreSQL's processes: no DuckDB file
        self.pre_intake: Path | None = None
        self.reps = REPS[run.scale.name]

    # -- the cluster and the store -------------------------------------------------------
    def start(self) -> dict:
        """Start the cluster, make the bench's database, and keep a copy of the store as it
        is before the intake (the PostgreSQL intake then files the same .xlsx into it)."""
        import psycopg

        from tests.pgcluster import Cluster
        t0 = time.perf_counter()
        self.cluster = Cluster.start()
        started = time.perf_counter() - t0
        self.url = self.cluster.url.replace("postgresql:///postgres?", f"postgresql:///{DATABASE}?", 1)
        with psycopg.connect(self.cluster.url, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {DATABASE}")
            version = conn.execute("SHOW server_version").fetchone()[0]
        self.home.mkdir(parents=True, exist_ok=True)
        out = {"cluster_start_s": round(started, 2), "server_version": version,
               "settings": "tests/pgcluster.py: Unix socket, fsync/synchronous_commit/full_page_writes off, "
                           "shared_buffers 64MB, other settings default"}
        if self.run.fields is not None:  # the store lacks the intake's rows: keep it as it is
            self.pre_intake = self.run.home / "pre-intake.duckdb"
            shutil.copyfile(self.run.store, self.pre_intake)
        return out

    def stop(self) -> None:
        try:
            from data.stores import postgres_store
            postgres_store.dispose()
        finally:
            if self.cluster is not None:
                self.cluster.stop()
                self.cluster = None

    def env(self, **extra) -> dict:
        return {"PKPI_HOME": str(self.home), "PKPI_DATABASE_URL": self.url, "PKPI_WATCH": "0", **extra}

    def _recreate_database(self) -> None:
        import psycopg

        from data.stores import postgres_store
        postgres_store.dispose()
        with psycopg.connect(self.cluster.url, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
            conn.execute(f"CREATE DATABASE {DATABASE}")

    def _migrate(self, source: Path) -> dict:
        code = f"""
import time, manage
t = time.perf_counter()
rc = manage.main(["migrate-store", "--from", {str(source)!r}, "--to", {self.url!r}])
RESULT = {{"rc": rc, "seconds": time.perf_counter() - t}}
"""
        r = run_child(code, env=self.env(), timeout=3600)
        if r.get("rc") != 0:
            raise RuntimeError(f"manage.py migrate-store failed: {r.get('error') or r.get('output')}")
        return r

    def count(self) -> int:
        import sqlalchemy as sa

        from data import schema
        from data.stores import open_store
        with open_store(self.url).reader() as r:
            return r.rows(sa.select(sa.func.count()).select_from(schema.observations))[0][0]

    def store(self) -> dict:
        """The PostgreSQL store: the pre-intake copy and the intake on PostgreSQL, or (no
        intake there) the store after the DuckDB intake. Its count must be DuckDB's."""
        out: dict = {}
        intake = self.run.results["steps"].get("intake") or {}
        files = getattr(self.run, "intake_files", None)
        if self.pre_intake is not None and files and "error" not in intake:
            out["migrate"] = self._migrate(self.pre_intake)
            before = self.count()
            out["intake"] = self._ingest(files["xlsx"], intake.get("limits") or {}, before)
            if not out["intake"].get("accepted"):
                self._recreate_database()
                out["migrate_after_duckdb_intake"] = self._migrate(self.run.store)
        else:
            out["intake"] = {"not_available": "the DuckDB run had no intake to repeat"}
            out["migrate"] = self._migrate(self.run.store)
        if self.pre_intake is not None:
            self.pre_intake.unlink(missing_ok=True)
        out["observations"] = self.count()
        out["expected"] = self.run.scale.observations
        if out["observations"] != out["expected"]:
            raise RuntimeError(f"the PostgreSQL store holds {out['observations']:,} observations, "
                               f"not {out['expected']:,}")
        return out

    def _ingest(self, xlsx: Path, limits: dict, before: int) -> dict:
        """``manage.py ingest`` of the same .xlsx on PostgreSQL. Accepted only if it said so
        and the PostgreSQL store grew by the file's rows (an intake that wrote elsewhere, or
        refused PostgreSQL, is "not available")."""
        dropped = self.home / "dropped" / xlsx.name
        dropped.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(xlsx, dropped)
        code = f"""
import time, manage
t = time.perf_counter()
rc = manage.main(["ingest", {str(dropped)!r}])
RESULT = {{"rc": rc, "seconds": time.perf_counter() - t}}
"""
        r = run_child(code, env=self.env(**limits), timeout=1800)
        grew = self.count() - before
        r["rows_added"] = grew
        r["accepted"] = r.get("rc") == 0 and grew == self.run.scale.intake_rows
        if r["accepted"]:
            r["rows_per_s"] = round(self.run.scale.intake_rows / r["seconds"], 1)
        else:
            said = (r.get("error") or r.get("output") or "").strip().splitlines()
            how = f"exit {r['rc']}" if "rc" in r else "it failed"
            r["not_available"] = (f"`manage.py ingest` did not file into PostgreSQL ({how}, {grew:,} rows "
                                  f"added): " + (said[-1][:300] if said else "no message"))
        return r

    # -- the export ----------------------------------------------------------------------
    def export(self) -> dict:
        """The project's writer on each store, in a process of its own, DuckDB first."""
        out_csv = self.run.home / "export-compare.csv"
        code = """
import time, hashlib
from data.export import export_csv
t = time.perf_counter(); n = export_csv(OUT)
s = time.perf_counter() - t
RESULT = {"rows": n, "seconds": s, "sha256": hashlib.sha256(open(OUT, "rb").read()).hexdigest()}
""".replace("OUT", repr(str(out_csv)))
        out = {}
        for kind, env in (("duckdb", {"PKPI_HOME": str(self.run.home), "PKPI_DATABASE_URL": ""}),
                          ("postgresql", self.env())):
            out[kind] = run_child(code, env=env, timeout=1800)
            out_csv.unlink(missing_ok=True)
        a, b = out["duckdb"].get("sha256"), out["postgresql"].get("sha256")
        out["same_bytes"] = bool(a and a == b)
        return out

    # -- in process: the summaries, a chart, a publish -------------------------------------
    def queries(self) -> dict:
        """The statements the pages send (``bench.pg_compare._statements``: a family chart,
        the same as of a day, the Sources and Overview summaries), through each store's
        reader, alternating; the answers compared first."""
        from bench.pg_compare import _statements
        from bench.pg_store import _server_cpu
        from data.engine import reader
        from data.stores import open_store

        stores = {"duckdb": open_store(self.run.store), "postgresql": open_store(self.url)}
        cases = _statements(reader(self.run.store))
        out = {}
        for name, stmt in cases.items():
            answers = {}
            for kind, s in stores.items():
                with s.reader() as r:
                    answers[kind] = r.arrow(stmt)
            d, q = answers["duckdb"], answers["postgresql"]
            differ = [n for n in d.column_names if n not in q.column_names or d[n].to_pylist() != q[n].to_pylist()]
            # Each store filed the intake's file itself, a few seconds apart: when (and under
            # which stored name) it was accepted may differ, nothing else.
            same = d.num_rows == q.num_rows and d.column_names == q.column_names and \
                not set(differ) - INTAKE_RECORD
            samples: dict[str, list] = {k: [] for k in stores}
            for rep in range(self.reps[1]):
                for kind in (("duckdb", "postgresql") if rep % 2 == 0 else ("postgresql", "duckdb")):
                    server = self.cluster.data if kind == "postgresql" else None
                    cpu0 = _server_cpu(server)
                    t0, p0 = time.perf_counter(), time.process_time()
                    with stores[kind].reader() as r:
                        r.arrow(stmt)
                    samples[kind].append((time.perf_counter() - t0, time.process_time() - p0 + _server_cpu(server) - cpu0))
            out[name] = {"rows": answers["duckdb"].num_rows, "same_answer": same, "columns_differing": differ,
                         **{kind: {**summarize([x[0] for x in v]),
                                   "cpu_median_ms": round(1000 * statistics.median(x[1] for x in v), 1)}
                            for kind, v in samples.items()}}
        return out

    def publish(self) -> dict:
        """One change adding ``PUBLISH_VALUES`` new vintages (each revising the latest value
        of a key, as a dropped file's corrections do), through the store interface, the
        stores alternating. Wall time and CPU (this process; for PostgreSQL plus its server)."""
        from bench.pg_store import _server_cpu
        from data.stores import open_store

        n = PUBLISH_VALUES[self.run.scale.name]
        whole = open_store(self.url)
        whole.served_delta = False  # the served table built whole, as before the delta
        stores = {"duckdb": open_store(self.run.store), "postgresql": open_store(self.url),
                  "postgresql_built_whole": whole}
        samples: dict[str, list] = {k: [] for k in stores}
        how: dict[str, list] = {k: [] for k in stores}
        order = list(stores)
        for rep in range(self.reps[2]):
            for kind in (order if rep % 2 == 0 else order[::-1]):
                server = self.cluster.data if kind != "duckdb" else None
                cpu0 = _server_cpu(server)
                t0, p0 = time.perf_counter(), time.process_time()
                added, served_how = add_values(stores[kind], n, f"bench-publish-{kind}-{rep}")
                wall, cpu = time.perf_counter() - t0, time.process_time() - p0 + _server_cpu(server) - cpu0
                if added != n:
                    raise RuntimeError(f"{kind}: the change added {added} values, not {n}")
                samples[kind].append((wall, cpu))
                how[kind].append(served_how)
        served = {}
        for kind in ("duckdb", "postgresql"):  # the served table must hold every latest value
            with stores[kind].reader() as r:
                served[kind] = served_count(r)
        return {"values_per_change": n, "served_rows_after": served, "served_table": how,
                **{kind: {**summarize([x[0] for x in v]),
                          "cpu_median_ms": round(1000 * statistics.median(x[1] for x in v), 1)}
                   for kind, v in samples.items()}}

    # -- the servers ----------------------------------------------------------------------
    def served(self) -> dict:
        from playwright.sync_api import sync_playwright

        from bench import serve
        from bench.run import PAGE_LIMIT_S, default_indicators, years_of
        from data.engine import reader
        run = self.run
        typical, cpas = run.families()
        limit = PAGE_LIMIT_S[run.scale.name]
        logs = run.home / "logs"
        envs = {"duckdb": {"PKPI_HOME": str(run.home), "PKPI_WATCH": "0", "PKPI_DATABASE_URL": ""},
                "postgresql": self.env()}
        res: dict = {"cold_start": {k: [] for k in envs}}
        engine = reader(run.store)
        with sync_playwright() as pw:
            browser = serve.launch_browser(pw)
            servers = {}
            try:
                # Cold start, the stores alternating: a fresh server each time. The last
                # round's two servers stay up for the rest (as the DuckDB step's does).
                last = self.reps[0] - 1
                for rep in range(self.reps[0]):
                    for kind in (("duckdb", "postgresql") if rep % 2 == 0 else ("postgresql", "duckdb")):
                        g = serve.Gunicorn("wsgi:server", envs[kind],
                                           logs / (f"side-{kind}.log" if rep == last else f"cold-{kind}-{rep}.log"))
                        if rep == last:
                            servers[kind] = g
                        try:
                            g.start()
                            ready = g.wait("/")
                            first, timed_out, _ = serve.first_load(browser, f"{g.url}/{typical}",
                                                                   serve.ready_script(), limit)
                        finally:
                            if rep != last:
                                g.stop()
                        res["cold_start"][kind].append({"server_answers_s": round(ready, 3),
                                                        "first_family_page_drawn_s": round(ready + first, 3),
                                                        "timed_out": timed_out})
                for g in servers.values():
                    g.settle()
                payloads = getattr(run, "payloads", None)
                views = getattr(run, "drawn_views", None)
                if not payloads:  # the DuckDB-only steps did not run: record the requests here
                    payloads, views = self._capture(browser, servers["duckdb"].url, engine, typical, cpas,
                                                    default_indicators, years_of)
                # 1 client, the two servers alternating on the same replayed requests.
                one_budget = run.budgets[0]
                res["one_client"] = {}
                for key, payload in payloads.items():
                    years = years_of(engine, serve.indicators_of(payload))
                    samples: dict[str, list[float]] = {k: [] for k in servers}
                    same = differ = 0
                    for rep in one_budget.reps():
                        if rep >= len(years):
                            break
                        p = serve.with_year(payload, years[rep])
                        bodies = {}
                        for kind in (("duckdb", "postgresql") if rep % 2 == 0 else ("postgresql", "duckdb")):
                            got: list[bytes] = []
                            t, status, _ = serve.post_callback(servers[kind].url, p, body_out=got)
                            if status != 200:
                                raise RuntimeError(f"{kind} {key}: HTTP {status}")
                            samples[kind].append(t)
                            bodies[kind] = got[0]
                        same += bodies["duckdb"] == bodies["postgresql"]
                        differ += bodies["duckdb"] != bodies["postgresql"]
                    res["one_client"][key] = {**{k: summarize(v) for k, v in samples.items()},
                                              "same_answers": same, "different_answers": differ}
                # 8 clients on the same random views: one server, then the other, each view
                # once (cold on both: neither server has been asked these).
                res["eight_clients"] = {}
                for i, (key, vs) in enumerate((views or {}).items()):
                    r = {}
                    for kind in (("duckdb", "postgresql") if i % 2 == 0 else ("postgresql", "duckdb")):
                        r[kind] = serve.each_once(servers[kind].url, vs, 8)
                    d, q = r["duckdb"].pop("digests"), r["postgresql"].pop("digests")
                    r["views"] = len(vs)
                    r["different_answers"] = sum(1 for a, b in zip(d, q) if a and b and a != b)
                    res["eight_clients"][key] = r
            finally:
                browser.close()
                for g in servers.values():
                    g.stop()
        res["server_log_errors"] = {kind: [line for line in (logs / f"side-{kind}.log").read_text().splitlines()
                                           if "Traceback" in line or "[ERROR]" in line][:10]
                                    for kind in envs if (logs / f"side-{kind}.log").exists()}
        return res

    def _capture(self, browser, url, engine, typical, cpas, default_indicators, years_of):
        """The callbacks' requests as Chromium sends them, and random views drawn from them
        (as the DuckDB-only ``served`` step does; used when it did not run)."""
        import random

        from bench import serve, views as random_views
        from bench.run import VIEWS
        ctx = browser.new_context()
        page = ctx.new_page()
        payloads = {}
        try:
            for f in (typical, cpas):
                defaults = default_indicators(engine, f)
                span = years_of(engine, defaults[:1])
                recorded, _ = serve.capture_family_payload(page, url, f, query=f"?ind={defaults[0]}",
                                                           years=(span[len(span) // 2], span[0], span[-1]))
                payloads[f"family:{f}"] = serve.with_indicators(recorded, defaults)
            payloads["data"] = serve.capture_data_payload(page, url)
        finally:
            ctx.close()
        rng = random.Random(self.run.seed)
        views = {key: random_views.draw(key, p, engine, rng, VIEWS[self.run.scale.name], set())
                 for key, p in payloads.items()}
        return payloads, views


def add_values(store, n: int, version: str) -> int:
    """One change of ``store``: ``n`` new vintages, each revising the latest value of a key
    (the lowest obs_ids among the latest: the first indicators' oldest values), with a
    different value; the revised ones are no longer latest. Returns the values added and how
    the served table was made (PostgreSQL: "delta" or "built"; DuckDB: "")."""
    import sqlalchemy as sa

    from data import schema
    v = schema.observation_vintages
    with store.writer() as w, w.change() as c:
        top = c.rows(sa.select(sa.func.max(v.c.obs_id)))[0][0]
        ids = [row[0] for row in c.rows(sa.select(v.c.obs_id).where(v.c.is_latest).order_by(v.c.obs_id).limit(n))]
        now = datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
        changed = {"obs_id": v.c.obs_id + top, "value": v.c.value + 1, "value_text": v.c.value_text + "+1",
                   "vintage": v.c.vintage + 1, "revises_obs_id": v.c.obs_id, "is_latest": sa.true(),
                   "revised": sa.true(), "intake_id": sa.null(),
                   "origin_file": sa.literal("bench publish"),
                   "published_at": sa.literal(now, sa.DateTime)}
        columns = [col.name for col in v.columns]
        select = sa.select(*[changed[name].label(name) if name in changed else v.c[name]
                             for name in columns]).where(v.c.obs_id.in_(ids))
        c.conn.execute(sa.insert(v).from_select(columns, select))
        c.conn.execute(sa.update(v).where(v.c.obs_id.in_(ids)).values(is_latest=False))
        c.set_version(data_version=version)
    return len(ids), getattr(w, "last_served", "")


def served_count(reader) -> int:
    import sqlalchemy as sa
    return reader.rows(sa.select(sa.func.count()).select_from(reader.served))[0][0]

