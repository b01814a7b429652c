"""The benchmark, end to end: ``python manage.py bench [--quick]`` (see bench/README.md).

Steps, each timed and recorded even when a later one fails:

1. a synthetic store at the chosen scale, generated in DuckDB (``bench/synth.py``);
2. the last rows of every indicator as a CPAS export (.xlsx and .csv) through the real
   intake (``python manage.py ingest``), with openpyxl alone and python-calamine reading
   the same .xlsx as references; each in a process of its own for its peak memory;
3. the whole-store CSV export (the project's writer, the row-by-row Python writer it
   replaced, and pandas ``to_csv``), each in a process of its own;
4. in process, where a family page's callback spends its time;
5. the dashboard under gunicorn (2 workers) and the minimal one-graph page beside it: cold
   start to the first page drawn; the family pages' and the Data page's callbacks over HTTP
   with 1 client (alternating with their floors and the in-memory baseline, in the same
   loop) and with 8; the curated-file baseline; pages ready in Chromium (warm, alternating
   with the minimal page); the bytes of a first page load;
6. with ``--store postgresql`` or ``both``, the same store copied into a throwaway PostgreSQL
   and measured beside DuckDB in the same run (``bench/pg_run.py``): the intake, the export,
   cold start, the callbacks over HTTP, the whole-store summaries and a publish;
7. results as JSON and a Markdown summary with the ratios and the targets.

``--store duckdb`` (the default) runs steps 1-5; ``postgresql`` runs 1-2 and 6 (the DuckDB
side of each comparison is measured there, beside PostgreSQL); ``both`` runs everything.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
import traceback
from datetime import datetime, timezone
from pathlib import Path

from bench import synth
from bench.measure import REPO, Budget, machine, run_child, summarize, timed

BUDGETS = {  # (1 client, each of 8 clients, curated-file baseline, browser pages)
    "full": (Budget(5, 20, 25), Budget(1, 4, 15), Budget(2, 3, 25), Budget(1, 3, 60)),
    "quick": (Budget(3, 8, 3), Budget(1, 1, 1), Budget(1, 1, 2), Budget(1, 2, 3)),
    "tiny": (Budget(2, 2, 1), Budget(1, 1, 1), Budget(1, 1, 1), Budget(1, 1, 5)),
}

PAGE_LIMIT_S = {"full": 120, "quick": 60, "tiny": 60}  # one page load; beyond, recorded as timed out

# Distinct views per callback in the 8-client run (issue 15: at least 50 at scale), and the
# serving configurations compared on the same cold mix: (worker class, workers, threads).
VIEWS = {"full": 64, "quick": 64, "tiny": 10}
WORKER_CONFIGS = {
    "full": (("sync", 2, 1), ("sync", 3, 1), ("sync", 4, 1), ("gthread", 2, 4)),
    "quick": (("sync", 2, 1), ("sync", 3, 1), ("sync", 4, 1), ("gthread", 2, 4)),
    "tiny": (("gthread", 2, 2),),
}


def default_indicators(engine, family: str) -> tuple[str, ...]:
    """What the family page charts before anyone chooses (the registry's own rule)."""
    from data.selection import Filters
    from indicators import query, registry
    frame = query.observations(Filters(families=(family,)), engine=engine)
    return registry.default_indicators(registry.family_catalog(frame))


def years_of(engine, indicators: tuple[str, ...]) -> list[int]:
    """The "from" years a replayed request cycles through: every year in which the charted
    indicators (or, for none, all) have values, so that no request draws an empty chart."""
    import sqlalchemy as sa

    from indicators.query import o
    q = sa.select(sa.func.min(sa.extract("year", o.c.period_end)), sa.func.max(sa.extract("year", o.c.period_end)))
    if indicators:
        q = q.where(o.c.indicator_id.in_(indicators))
    with engine.connect() as conn:
        lo, hi = conn.execute(q).one()
    return list(range(int(lo), int(hi) + 1)) if lo is not None else [2010]


def intake_fields() -> list[str] | None:
    """The intake's observation columns, or None when there is no intake yet."""
    try:
        from data import intake
        import manage
    except ImportError:
        return None
    if not hasattr(intake, "OBSERVATION_FIELDS") or "ingest" not in manage.parser().format_help():
        return None
    return [f.name for f in intake.OBSERVATION_FIELDS]


class Run:
    def __init__(self, scale: synth.Scale, home: Path, out: Path, log=print, seed: int | None = None,
                 stores: tuple[str, ...] = ("duckdb",)):
        self.scale, self.home, self.out, self.log = scale, home, out, log
        self.stores = stores
        import random
        self.seed = seed if seed is not None else random.SystemRandom().randrange(2**31)
        log(f"bench: random views drawn with seed {self.seed} (repeat with --seed {self.seed})")
        self.store = home / "pkpi.duckdb"
        self.results: dict = {
            "scale": scale.name, "observations": scale.observations, "indicators": scale.indicators,
            "started": datetime.now(timezone.utc).isoformat(timespec="seconds"), "machine": machine(),
            "seed": self.seed, "stores": list(stores), "steps": {},
        }
        self.budgets = BUDGETS[scale.name]

    def step(self, name: str, fn, *args):
        self.log(f"bench: {name} ...")
        t0 = time.perf_counter()
        try:
            value = fn(*args)
            self.results["steps"][name] = value
        except Exception as exc:  # recorded; the other steps still run
            value = None
            self.results["steps"][name] = {"error": f"{type(exc).__name__}: {exc}",
                                           "trace": traceback.format_exc()[-3000:]}
            self.log(f"bench: {name} failed: {exc}")
        self.log(f"bench: {name} done in {time.perf_counter() - t0:.1f} s")
        return value

    # -- 1. store ------------------------------------------------------------------------
    def generate(self):
        if self.home.exists():
            shutil.rmtree(self.home)
        self.home.mkdir(parents=True)
        self.fields = intake_fields()
        return synth.generate(self.store, self.scale, with_intake=self.fields is not None)

    # -- 2. intake -----------------------------------------------------------------------
    def intake(self):
        if self.fields is None:
            return {"skipped": "intake not available (no data.intake with OBSERVATION_FIELDS, or no "
                               "`manage.py ingest`): the generator wrote every row itself"}
        files_dir = self.home / "files"
        t, files = timed(synth.write_intake_files, self.scale, files_dir, self.fields)
        self.intake_files = files  # kept: the PostgreSQL intake files the same .xlsx
        out = {"rows": self.scale.intake_rows, "write_files_s": round(t, 2),
               "bytes": {k: p.stat().st_size for k, p in files.items()}}
        limits = {"PKPI_MAX_FILE_MB": str(max(20, 4 * max(out["bytes"].values()) // 2**20 + 1)),
                  "PKPI_MAX_ROWS": str(max(100_000, self.scale.intake_rows)), "PKPI_WATCH": "0",
                  # The file was written a moment ago: without this the intake waits for it to
                  # settle (5 s by default) and files nothing (the tests' conftest sets it too).
                  "PKPI_SETTLE_SECONDS": "0"}
        out["limits"] = limits
        # The CSV goes into a copy of the store (thrown away after), the .xlsx into the store.
        csv_home = self.home / "csv-intake"
        csv_home.mkdir()
        shutil.copyfile(self.store, csv_home / "pkpi.duckdb")
        code = """
import time, manage
t = time.perf_counter()
rc = manage.main(["ingest", PATH])
RESULT = {"rc": rc, "seconds": time.perf_counter() - t}
"""
        for kind, home in (("csv", csv_home), ("xlsx", self.home)):
            dropped = files_dir / "dropped" / files[kind].name  # the intake files (moves) its input
            dropped.parent.mkdir(exist_ok=True)
            shutil.copyfile(files[kind], dropped)
            r = run_child(code.replace("PATH", repr(str(dropped))),
                          env={"PKPI_HOME": str(home), **limits}, timeout=900)
            if "seconds" in r:
                r["rows_per_s"] = round(self.scale.intake_rows / r["seconds"], 1)
            r["accepted"] = "accepted" in r.get("output", "").lower() and r.get("rc") == 0
            out[kind] = r
        shutil.rmtree(csv_home, ignore_errors=True)
        read = {
            "openpyxl": """
import time
from openpyxl import load_workbook
t = time.perf_counter()
book = load_workbook(PATH, read_only=True, data_only=True)
n = sum(1 for _ in book["Observations"].iter_rows(values_only=True)) - 1
RESULT = {"rows": n, "seconds": time.perf_counter() - t}
""",
            "python-calamine": """
import time
from python_calamine import CalamineWorkbook
t = time.perf_counter()
rows = CalamineWorkbook.from_path(PATH).get_sheet_by_name("Observations").to_python()
RESULT = {"rows": len(rows) - 1, "seconds": time.perf_counter() - t}
""",
        }
        for name, code in read.items():
            r = run_child(code.replace("PATH", repr(str(files["xlsx"]))), timeout=900)
            if "seconds" in r:
                r["rows_per_s"] = round(r["rows"] / r["seconds"], 1)
            out[f"read_only_{name}"] = r
        return out

    def check_store(self):
        import duckdb
        con = duckdb.connect(str(self.store), read_only=True)
        try:
            n = con.execute("SELECT count(*) FROM observations").fetchone()[0]
            version = con.execute("SELECT value FROM meta WHERE key = 'data_version'").fetchone()[0]
        finally:
            con.close()
        return {"observations": n, "expected": self.scale.observations, "data_version": version,
                "bytes": self.store.stat().st_size}

    # -- 3. export -----------------------------------------------------------------------
    def export(self):
        out_csv = self.home / "export.csv"
        env = {"PKPI_HOME": str(self.home)}
        jobs = {
            "project (data.export.export_csv)": """
import time, hashlib
from data.export import export_csv
t = time.perf_counter(); n = export_csv(OUT)
s = time.perf_counter() - t
RESULT = {"rows": n, "seconds": s, "sha256": hashlib.sha256(open(OUT, "rb").read()).hexdigest()}
""",
            "row by row in Python (the writer it replaced)": """
import time, hashlib
from data.export import iter_csv_rowwise
t = time.perf_counter(); stats = {"rows": 0}
with open(OUT, "w", encoding="utf-8", newline="") as f:
    for text in iter_csv_rowwise(stats=stats):
        f.write(text)
s = time.perf_counter() - t
RESULT = {"rows": stats["rows"], "seconds": s, "sha256": hashlib.sha256(open(OUT, "rb").read()).hexdigest()}
""",
            "pandas to_csv of the whole frame": """
import time
from data.selection import EXPORT_COLUMNS
from indicators.query import observations
t = time.perf_counter(); frame = observations()
frame[list(EXPORT_COLUMNS)].to_csv(OUT, index=False, encoding="utf-8-sig")
RESULT = {"rows": len(frame), "seconds": time.perf_counter() - t}
""",
        }
        out = {}
        for name, code in jobs.items():
            out[name] = run_child(code.replace("OUT", repr(str(out_csv))), env=env, timeout=600)
            out_csv.unlink(missing_ok=True)
        a, b = (out[k].get("sha256") for k in list(jobs)[:2])
        out["same_bytes_as_row_by_row"] = bool(a and a == b)
        return out

    # -- 4. in process ---------------------------------------------------------------------
    def breakdown(self):
        out = {}
        for family in self.families()[:1 if self.scale.name == "quick" else 2]:
            code = f"""
from pathlib import Path
from bench import measure
RESULT = measure.render_breakdown({family!r}, Path({str(self.store)!r}), reps=3)
"""
            out[family] = run_child(code, timeout=600)
        return out

    def families(self) -> list[str]:
        return [synth.largest_other_family(self.scale), "cpas"]

    # -- 5. servers ----------------------------------------------------------------------
    def served(self):
        from playwright.sync_api import sync_playwright

        import random

        from bench import measure, serve, views as random_views
        from data.engine import reader
        one, many, files_budget, pages = self.budgets
        res: dict = {"phase_seconds": {}}
        clock = [time.perf_counter()]

        def phase(name):  # how long each part of this step took
            now = time.perf_counter()
            res["phase_seconds"][name] = round(now - clock[0], 1)
            clock[0] = now
            self.log(f"bench:   {name}: {res['phase_seconds'][name]} s")
        logs = self.home / "logs"
        app = serve.Gunicorn("wsgi:server", {"PKPI_HOME": str(self.home), "PKPI_WATCH": "0"},
                             logs / "app.log")
        minimal = serve.Gunicorn("bench.minimal_app:server", {}, logs / "minimal.log")
        typical, cpas = self.families()
        limit = PAGE_LIMIT_S[self.scale.name]
        with sync_playwright() as pw:
            browser = serve.launch_browser(pw)
            try:
                # Cold start: from starting the server to the first family page drawn, in a
                # fresh browser context; the same load gives the first-load transfer.
                app.start()
                ready = app.wait("/")
                first, timed_out, transfer = serve.first_load(browser, f"{app.url}/{typical}",
                                                              serve.ready_script(), limit)
                res["cold_start"] = {"server_answers_s": round(ready, 3),
                                     "first_family_page_drawn_s": round(ready + first, 3),
                                     "page_after_server_s": round(first, 3), "timed_out": timed_out}
                res["first_load_transfer"] = transfer
                phase("cold start")
                minimal.start()
                minimal.wait("/")
                # One browser context from here on: its cache is warm for every later load.
                ctx = browser.new_context()
                page = ctx.new_page()
                engine = reader(self.store)
                defaults = {f: default_indicators(engine, f) for f in (typical, cpas)}
                payloads = {}
                for f in (typical, cpas):
                    # Recorded on a one-indicator view (a full page can take minutes to draw at
                    # this scale), then given the indicators the page charts by default.
                    span = years_of(engine, defaults[f][:1])  # the input refuses a year outside the data
                    recorded, drawn = serve.capture_family_payload(
                        page, app.url, f, query=f"?ind={defaults[f][0]}",
                        years=(span[len(span) // 2], span[0], span[-1]))
                    res.setdefault("one_indicator_view_drawn_s", {})[f] = round(drawn, 3)
                    payloads[f"family:{f}"] = serve.with_indicators(recorded, defaults[f])
                payloads["data"] = serve.capture_data_payload(page, app.url)
                self.payloads = payloads  # replayed on both stores by the PostgreSQL steps
                res["payload_bytes"] = {k: len(json.dumps(v)) for k, v in payloads.items()}
                res["default_indicators"] = defaults
                phase("payloads captured in Chromium")
                trivial = {"output": "trivial-out.children", "outputs": {"id": "trivial-out", "property": "children"},
                           "inputs": [{"id": "trivial-in", "property": "value", "value": "x"}],
                           "changedPropIds": ["trivial-in.value"], "state": []}
                engine = reader(self.store)
                naive = measure.NaiveMemory(engine)
                res["naive_memory_load_s"] = round(naive.load_s, 2)
                phase("naive frame loaded")
                # 1 client, alternating: floor, HTTP, naive, trivial round trip.
                res["one_client"] = {}
                sent: set[str] = set()  # every request so far: the 8-client views must be new
                years = {key: years_of(engine, serve.indicators_of(p)) for key, p in payloads.items()}
                res["years_cycled"] = {k: [v[0], v[-1]] for k, v in years.items()}
                for key, payload in payloads.items():
                    samples: dict[str, list[float]] = {}
                    sizes = {}
                    for rep in one.reps():
                        if rep >= len(years[key]):  # a year asked before could be answered from a cache
                            break
                        year = years[key][rep]
                        p = serve.with_year(payload, year)
                        sent.add(random_views.canonical(p))
                        if key.startswith("family:"):
                            sel = measure.Selection(key.split(":", 1)[1], serve.indicators_of(payload), year)
                            t, _ = timed(measure.query_only, sel, engine)
                            samples.setdefault("query only (DuckDB)", []).append(t)
                            t, n = timed(measure.floor, sel, engine)
                            samples.setdefault("floor", []).append(t)
                            sizes["floor_json_bytes"] = n
                        else:
                            t, n = timed(measure.data_floor, "", engine)
                            samples.setdefault("floor", []).append(t)
                            sizes["floor_json_bytes"] = n
                        t, status, nbytes = serve.post_callback(app.url, p)
                        if status != 200:
                            raise RuntimeError(f"{key}: HTTP {status}")
                        samples.setdefault("http", []).append(t)
                        sizes["http_response_bytes"] = nbytes
                        if key.startswith("family:"):
                            t, _ = timed(naive.answer, sel)
                            samples.setdefault("naive in-memory pandas", []).append(t)
                            t0 = time.perf_counter()
                            f = naive.frame
                            f[f["indicator_id"].isin(sel.indicators) & (f["family"] == sel.family)]
                            samples.setdefault("naive mask only", []).append(time.perf_counter() - t0)
                        t, status, _ = serve.post_callback(minimal.url, trivial)
                        samples.setdefault("trivial callback round trip", []).append(t)
                    res["one_client"][key] = {**{k: summarize(v) for k, v in samples.items()}, **sizes}
                phase("1 client")
                # The curated-file baseline (seconds a request): a few, alternating with floors.
                folder = self.home / "curated-files"
                res["curated_files"] = synth.write_curated_csvs(self.store, folder)
                files = measure.NaiveFiles(folder)
                inds = serve.indicators_of(payloads[f"family:{typical}"])
                sel = measure.Selection(typical, inds, years_of(engine, inds)[0] + 1)
                fl, nv = [], []
                for _ in files_budget.reps():
                    fl.append(timed(measure.floor, sel, engine)[0])
                    nv.append(timed(files.answer, sel)[0])
                res["naive_files"] = {"floor": summarize(fl), "naive re-read curated files": summarize(nv)}
                phase("curated-file baseline")
                del naive
                # 8 clients, on distinct views drawn at random (seeded): cold, each view once,
                # then warm, the same views twice more in other orders; the answers must agree.
                rng = random.Random(self.seed)
                n_views = VIEWS[self.scale.name]
                drawn_views = {key: random_views.draw(key, payload, engine, rng, n_views, sent)
                               for key, payload in payloads.items()}
                self.drawn_views = drawn_views
                res["views"] = {"seed": self.seed, "per_callback": {k: len(v) for k, v in drawn_views.items()},
                                "examples": {k: [random_views.canonical(x)[:400] for x in v[:3]]
                                             for k, v in drawn_views.items()}}
                res["eight_clients"], res["eight_clients_warm"] = {}, {}
                for key, vs in drawn_views.items():
                    cold = serve.each_once(app.url, vs, 8)
                    order = list(range(len(vs))) * 2
                    rng.shuffle(order)
                    warm = serve.each_once(app.url, [vs[k] for k in order], 8)
                    differ = sum(1 for j, k in enumerate(order)
                                 if warm["digests"][j] and cold["digests"][k] and warm["digests"][j] != cold["digests"][k])
                    cold.pop("digests"), warm.pop("digests")
                    res["eight_clients"][key] = {**cold, "mix": "cold", "views": len(vs)}
                    res["eight_clients_warm"][key] = {**warm, "mix": "warm", "views": len(vs),
                                                      "answers_differing_from_cold": differ}
                res["eight_clients"]["trivial"] = serve.concurrent(minimal.url, [trivial], 8, many)
                phase("8 clients")
                # Pages in Chromium, warm (the context has loaded each before), alternating.
                urls = {"minimal": (minimal.url + "/", serve.MINIMAL_READY),
                        f"family:{typical}": (f"{app.url}/{typical}", serve.ready_script()),
                        f"family:{cpas}": (f"{app.url}/{cpas}", serve.ready_script())}
                serve.page_ready(page, *urls["minimal"], limit)  # the minimal app's scripts, once
                times: dict[str, list[float]] = {k: [] for k in urls}
                timeouts: dict[str, int] = {k: 0 for k in urls}
                for _ in pages.reps():
                    for k, (url, script) in urls.items():
                        t, out = serve.page_ready_bounded(page, url, script, limit)
                        times[k].append(t)
                        timeouts[k] += out
                ctx.close()
                res["page_ready_warm"] = {k: {**summarize(v), "timed_out": timeouts[k], "limit_s": limit}
                                          for k, v in times.items()}
                phase("pages in Chromium")
                res["first_load_transfer_minimal"] = serve.transfer(browser, minimal.url + "/", serve.MINIMAL_READY)
                phase("first-load transfer")
            finally:
                browser.close()
                app.stop()
                minimal.stop()
        res["server_log_errors"] = [line for line in (logs / "app.log").read_text().splitlines()
                                    if "Traceback" in line or "[ERROR]" in line][:10]
        res["worker_configs"] = self.worker_configs(typical, cpas, logs)
        phase("serving configurations")
        return res

    def worker_configs(self, typical: str, cpas: str, logs: Path) -> list[dict]:
        """The same cold mix of family-page views (both families' random views, interleaved)
        against fresh servers of each configuration, every worker up and idle before the
        first request: which one meets the targets on this machine, and why."""
        from bench import serve
        views = getattr(self, "drawn_views", {})
        mix = [v for pair in zip(views.get(f"family:{typical}", []), views.get(f"family:{cpas}", []))
               for v in pair]
        out = []
        for kind, workers, threads in WORKER_CONFIGS[self.scale.name]:
            name = f"{workers} {kind} worker{'s' if workers > 1 else ''}" + \
                (f" x {threads} threads" if kind == "gthread" else "")
            server = serve.Gunicorn("wsgi:server", {"PKPI_HOME": str(self.home), "PKPI_WATCH": "0"},
                                    logs / f"app-{kind}-{workers}.log", workers=workers,
                                    worker_class=kind, threads=threads)
            try:
                server.start()
                ready = server.wait("/")
                settled = server.settle()
                r = serve.each_once(server.url, mix, 8)
                r.pop("digests")
                out.append({"config": name, "server_answers_s": round(ready, 2),
                            "all_workers_idle_s": round(ready + settled, 2), "views": len(mix), **r})
            except Exception as exc:
                out.append({"config": name, "error": f"{type(exc).__name__}: {exc}"[:500]})
            finally:
                server.stop()
            self.log(f"bench:     {name}: {out[-1].get('p95_ms')} ms p95, {out[-1].get('requests_per_s')} req/s")
        return out

    # -- all -----------------------------------------------------------------------------
    def run(self) -> dict:
        t0 = time.perf_counter()
        self.fields = None
        duck = "duckdb" in self.stores
        pg = None
        self.step("store", self.generate)
        if "postgresql" in self.stores:
            from bench.pg_run import PostgresPart
            pg = PostgresPart(self)
            if self.step("postgresql: cluster", pg.start) is None:
                pg.stop()
                pg = None
        try:
            self.step("intake", self.intake)
            self.step("store after intake", self.check_store)
            if duck:
                self.step("export", self.export)
                self.step("callback breakdown", self.breakdown)
                self.step("served", self.served)
            if pg is not None and self.step("postgresql: store", pg.store) is not None:
                self.step("postgresql: export", pg.export)
                self.step("postgresql: served", pg.served)
                self.step("postgresql: queries", pg.queries)
                self.step("postgresql: publish", pg.publish)  # last: it changes both stores
        finally:
            if pg is not None:
                pg.stop()
        self.results["seconds"] = round(time.perf_counter() - t0, 1)
        self.results["finished"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
        return self.results


def main(argv=None) -> int:
    from bench import summary
    p = argparse.ArgumentParser(prog="python manage.py bench", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(p)
    return run_from_args(p.parse_args(argv), summary)


def add_arguments(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--quick", action="store_const", const="quick", dest="scale",
                   help="100,000 observations (under 2 minutes)")
    g.add_argument("--scale", choices=sorted(synth.SCALES), default="full",
                   help="full: 1,000,000 observations (under 15 minutes); quick; tiny (the smoke test)")
    p.add_argument("--home", help="runtime folder for the synthetic store and its drop folder "
                                  "(default: a folder under the system's temporary directory; "
                                  "never the dashboard's own PKPI_HOME)")
    p.add_argument("--out", default=str(REPO / "bench" / "results"),
                   help="where the JSON results and summary-<scale>.md go (default %(default)s)")
    p.add_argument("--keep", action="store_true", help="keep the synthetic store and files after the run")
    p.add_argument("--store", choices=("duckdb", "postgresql", "both"), default="duckdb",
                   help="duckdb (default): the targets on the DuckDB store; postgresql: the same store copied "
                        "into a throwaway PostgreSQL and measured beside DuckDB (bench/pg_run.py); both: all")
    p.add_argument("--seed", type=int, help="seed of the random views of the 8-client run (default: a new "
                                            "one each run, printed and recorded)")


def run_from_args(args, summary=None) -> int:
    if summary is None:
        from bench import summary
    scale = synth.SCALES[args.scale or "full"]
    import tempfile
    home = Path(args.home) if args.home else Path(tempfile.gettempdir()) / f"pkpi-bench-{scale.name}"
    from data import settings
    if home.resolve() == settings.home().resolve():
        print(f"refusing to use {home}: it is the dashboard's own PKPI_HOME", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    os.environ["PKPI_HOME"] = str(home)  # this process's reads (floors, baselines) use the bench store
    os.environ.pop("PKPI_DB", None)
    os.environ.pop("PKPI_DATABASE_URL", None)  # the bench makes its own PostgreSQL (--store)
    store = getattr(args, "store", None) or "duckdb"
    stores = ("duckdb", "postgresql") if store == "both" else (store,)
    results = Run(scale, home, out, log=lambda m: print(m, file=sys.stderr, flush=True),
                  seed=getattr(args, "seed", None), stores=stores).run()
    stamp = results["started"].replace(":", "").replace("-", "")[:15]
    (out / f"{scale.name}-{stamp}.json").write_text(json.dumps(results, indent=1, default=str))
    (out / f"latest-{scale.name}.json").write_text(json.dumps(results, indent=1, default=str))
    text = summary.markdown(results)
    (out / f"summary-{scale.name}.md").write_text(text)
    print(text)
    if not args.keep:
        shutil.rmtree(home, ignore_errors=True)
    failed = [k for k, v in results["steps"].items() if isinstance(v, dict) and "error" in v]
    if failed:
        print(f"bench: steps that failed: {', '.join(failed)} (see the JSON)", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
