"""DuckDB beside PostgreSQL on the same synthetic store: a first measurement for issue 16.

    .venv/bin/python -m bench.pg_compare                 # 200,000 observations, about 30 s
    .venv/bin/python -m bench.pg_compare --observations 50000 --reps 3

Generates the synthetic store (``bench/synth.py``, no intake) as a DuckDB file, starts a
throwaway PostgreSQL cluster (``tests/pgcluster.py``: socket only, fsync off), loads the same
tables into it with COPY (CSV written by DuckDB), builds the served table there from the
project's own ``wide_select`` compiled for PostgreSQL, and then times, alternating the two
stores, the project's own statements (``indicators.query``) compiled for each:

- a family chart: one family, five indicators (what a family page's chart callback asks);
- the same "as of" a day (the vintages joined, ranked and filtered per request);
- two whole-store summaries: values and indicators per report (the Sources page) and the
  latest value of every indicator (the Overview).

Each answer is fetched whole and turned into Arrow, as ``data.engine.arrow`` does for
DuckDB (psycopg gives Python rows: that conversion is part of PostgreSQL's time, and is
reported apart too). The two stores' answers are compared row for row before anything is
timed. Results: printed, and written as JSON to ``bench/results/pg-compare.json``.

The PostgreSQL database is made with the "C" collation (see docs/store-interface.md: text
must sort as DuckDB sorts it); its planner statistics are gathered (ANALYZE) after loading.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import tempfile
import time
from datetime import date
from pathlib import Path

import pyarrow as pa
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.dialects.postgresql import psycopg as _psycopg_dialect  # noqa: F401  (postgresql.psycopg)

REPO = Path(__file__).resolve().parent.parent
TABLES = ("sources", "areas", "indicators", "meta", "observation_vintages")


def _cpu() -> float:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _server_cpu(postmaster: int) -> float:
    """CPU seconds used so far by the cluster: its postmaster (with the backends it reaped)
    and the processes it runs now."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            pid = int(status.parent.name)
            ppid = int(next(line.split()[1] for line in status.read_text().splitlines()
                            if line.startswith("PPid:")))
            if pid != postmaster and ppid != postmaster:
                continue
            fields = (status.parent / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, ValueError, StopIteration):
            continue
        # utime, stime, cutime, cstime: fields 14-17 of the line, 12-15 after the name
        total += sum(int(x) for x in fields[11:15]) / tick
    return total


class Meter:
    """Wall seconds, this process's CPU seconds and the PostgreSQL cluster's CPU seconds of
    one step. The machine is shared: wall times swing with its load, CPU times much less."""

    def __init__(self, postmaster: int | None):
        self.postmaster = postmaster

    def __call__(self, fn, *args):
        server0 = _server_cpu(self.postmaster) if self.postmaster else 0.0
        cpu0, t0 = _cpu(), time.perf_counter()
        value = fn(*args)
        wall, cpu = time.perf_counter() - t0, _cpu() - cpu0
        server = (_server_cpu(self.postmaster) - server0) if self.postmaster else 0.0
        return value, {"wall_s": wall, "cpu_s": cpu, "server_cpu_s": server}


def _pg_compiled(stmt) -> tuple[str, dict]:
    """``stmt`` as psycopg runs it: SQL with %(name)s placeholders and its parameters."""
    c = stmt.compile(dialect=postgresql.psycopg.dialect(), compile_kwargs={"render_postcompile": True})
    return c.string, dict(c.params)


def _pg_arrow(conn, stmt) -> pa.Table:
    """The answer as Arrow, as ``data.engine.arrow`` gives DuckDB's: psycopg hands over
    Python rows, turned into Arrow columns here (part of PostgreSQL's time)."""
    sql, params = _pg_compiled(stmt)
    with conn.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall()
        names = [d.name for d in cur.description]
    columns = list(zip(*rows)) if rows else [[] for _ in names]
    return pa.table({n: pa.array(list(col)) for n, col in zip(names, columns)})


def _create_and_copy(conn, store: Path, work: Path) -> None:
    """The store's schema compiled for PostgreSQL, and its tables copied in (CSV by DuckDB)."""
    import duckdb

    from data import schema

    dialect = postgresql.psycopg.dialect()
    for table in schema.metadata.sorted_tables:
        if not table.info.get("view"):
            conn.execute(str(sa.schema.CreateTable(table).compile(dialect=dialect)))
    conn.execute(schema.OBSERVATIONS_VIEW)
    src = duckdb.connect(str(store), read_only=True)
    try:
        for name in TABLES:
            cols = [c.name for c in schema.metadata.tables[name].columns]
            csv_path = work / f"{name}.csv"
            src.execute(f"COPY (SELECT {', '.join(cols)} FROM {name}) TO '{csv_path}' (HEADER, DELIMITER ',')")
            with conn.cursor() as cur, cur.copy(
                    f"COPY {name} ({', '.join(cols)}) FROM STDIN (FORMAT csv, HEADER true)") as copy, \
                    open(csv_path, "rb") as f:
                while chunk := f.read(1 << 20):
                    copy.write(chunk)
            csv_path.unlink()
    finally:
        src.close()
    conn.commit()


def _build_served(conn) -> None:
    """The served table of this data version, as ``refresh_served`` builds it in DuckDB: the
    same select compiled for PostgreSQL, sorted by indicator, then indexed by it."""
    from data import schema

    select = schema.wide_select()
    by = [select.selected_columns[n] for n in schema.SERVED_ORDER]
    by[2] = by[2].nulls_first()
    sql = select.order_by(*by).compile(dialect=postgresql.psycopg.dialect(),
                                       compile_kwargs={"literal_binds": True})
    conn.execute(f"CREATE TABLE {schema.SERVED} AS {sql}")
    conn.execute(f"CREATE INDEX ON {schema.SERVED} (indicator_id)")
    conn.commit()


def _refresh_duckdb(path: Path) -> None:
    from data import schema
    from data.engine import make_engine

    engine = make_engine(path, read_only=False)
    try:
        with engine.begin() as conn:
            schema.refresh_served(conn)
    finally:
        engine.dispose()


def _median(samples: list[dict], key: str) -> float:
    return round(statistics.median(x[key] for x in samples) * 1000, 1)


def _statements(duck) -> dict:
    """The statements the pages send, made by the project's own functions."""
    from data.selection import Filters, observations_select
    from indicators import query

    cpas = tuple(f"bench_{k:04d}" for k in range(5))
    cases = {
        "family chart (5 indicators)": observations_select(
            Filters(families=("cpas",), indicators=cpas)),
        "family chart as of 2015-01-01": observations_select(
            Filters(families=("cpas",), indicators=cpas, as_of=date(2015, 1, 1))),
    }
    # The summaries' statements, recorded on their way to the store (still answered, so
    # nothing else changes), as the Sources page and the Overview ask for them.
    real = query._summary
    for name, ask in (("whole store: per report (Sources)", query.per_source),
                      ("whole store: latest per indicator (Overview)", query.latest)):
        def recording(key, f, stmt, engine, name=name):
            cases[name] = stmt
            return real(key, f, stmt, engine)
        query._summary = recording
        try:
            ask(Filters(), engine=duck)
        finally:
            query._summary = real
    return cases


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--observations", type=int, default=200_000, help="a multiple of 1,000")
    parser.add_argument("--reps", type=int, default=5, help="timed runs of each query on each store")
    parser.add_argument("--out", type=Path, default=REPO / "bench/results/pg-compare.json")
    args = parser.parse_args(argv)

    import psycopg

    from bench import synth
    from data.engine import arrow, reader
    from tests.pgcluster import Cluster, _postmaster_pid

    cpu0 = _cpu()
    scale = synth.Scale(f"pg-{args.observations}", args.observations, 1_000, 0)
    work = Path(tempfile.mkdtemp(prefix="pkpi-pgbench-"))
    cluster = None
    result: dict = {"observations": args.observations, "reps": args.reps, "load": {}}
    load = result["load"]
    try:
        cluster = Cluster.start()
        postmaster = _postmaster_pid(cluster.data)
        meter = Meter(postmaster)
        server0 = _server_cpu(postmaster)
        store = work / "pkpi.duckdb"
        _, load["DuckDB: generate the store (bench/synth.py)"] = meter(
            synth.generate, store, scale, False)
        refresh = work / "refresh.duckdb"
        shutil.copyfile(store, refresh)
        _, load["DuckDB: rebuild the served table"] = meter(_refresh_duckdb, refresh)
        refresh.unlink()

        with psycopg.connect(cluster.url, autocommit=True) as admin:
            admin.execute("CREATE DATABASE bench TEMPLATE template0 ENCODING 'UTF8' "
                          "LOCALE_PROVIDER libc LOCALE 'C'")
        pg = psycopg.connect(cluster.url.replace("postgresql:///postgres?", "postgresql:///bench?"))
        _, load["PostgreSQL: create and COPY the tables"] = meter(_create_and_copy, pg, store, work)
        _, load["PostgreSQL: build the served table + index"] = meter(_build_served, pg)
        _, load["PostgreSQL: ANALYZE"] = meter(lambda: (pg.execute("ANALYZE"), pg.commit()))
        result["rows"] = {n: pg.execute(f"SELECT count(*) FROM {n}").fetchone()[0]
                          for n in ("observation_vintages", "served_observations")}
        pg.commit()
        pg.autocommit = True
        pg.execute("SET jit = off")  # at this size compiling the query costs more than it saves

        duck = reader(store)
        cases = _statements(duck)
        timings: dict = {}
        for name, stmt in cases.items():
            d, p = arrow(stmt, duck), _pg_arrow(pg, stmt)
            if d.num_rows != p.num_rows or d.to_pylist() != p.to_pylist():
                raise SystemExit(f"{name}: DuckDB and PostgreSQL give different answers "
                                 f"({d.num_rows} and {p.num_rows} rows)")
            ds, ps = [], []
            for _ in range(args.reps):  # alternating, so both see the same load
                ds.append(meter(arrow, stmt, duck)[1])
                ps.append(meter(_pg_arrow, pg, stmt)[1])
            timings[name] = {
                "rows": d.num_rows,
                "duckdb_ms": _median(ds, "wall_s"), "duckdb_cpu_ms": _median(ds, "cpu_s"),
                "postgres_ms": _median(ps, "wall_s"),
                "postgres_cpu_ms": round(statistics.median(x["cpu_s"] + x["server_cpu_s"] for x in ps) * 1000, 1),
                "postgres_server_cpu_ms": _median(ps, "server_cpu_s"),
            }
        result["queries"] = timings
        pg.close()
        result["postgres_server_cpu_s"] = round(_server_cpu(postmaster) - server0, 1)
    finally:
        if cluster is not None:
            cluster.stop()
        shutil.rmtree(work, ignore_errors=True)
    result["bench_process_cpu_s"] = round(_cpu() - cpu0, 1)
    result["when"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    result["load_average"] = os.getloadavg()[0]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2))
    _print(result)
    return result


def _print(r: dict) -> None:
    print(f"{r['observations']:,} observations; median of {r['reps']} alternating runs; {r['when']}; "
          f"load average {r['load_average']:.1f} on {os.cpu_count()} cores")
    print("| step | wall s | CPU s (this process + server) |")
    print("|---|---|---|")
    for name, m in r["load"].items():
        print(f"| {name} | {m['wall_s']:.2f} | {m['cpu_s']:.2f} + {m['server_cpu_s']:.2f} |")
    print()
    print("| query | rows | DuckDB ms (CPU) | PostgreSQL ms (CPU, of it server) | PostgreSQL / DuckDB, CPU |")
    print("|---|---|---|---|---|")
    for name, t in r["queries"].items():
        ratio = t["postgres_cpu_ms"] / t["duckdb_cpu_ms"] if t["duckdb_cpu_ms"] else float("nan")
        print(f"| {name} | {t['rows']:,} | {t['duckdb_ms']} ({t['duckdb_cpu_ms']}) | {t['postgres_ms']} "
              f"({t['postgres_cpu_ms']}, {t['postgres_server_cpu_ms']}) | {ratio:.1f}x |")
    print(f"\nCPU in all: this process {r['bench_process_cpu_s']} s, the PostgreSQL server "
          f"{r['postgres_server_cpu_s']} s")


if __name__ == "__main__":
    main()
