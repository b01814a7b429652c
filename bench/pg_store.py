"""What the store interface costs per request and per change on each store, at curated scale
(``python -m bench.pg_store``): opening a reader pinned to the current version and reading
its version (every request does this), a family chart through that reader, and publishing a
change that rewrites one value (a new version with its served table). PostgreSQL is a
throwaway cluster (tests/pgcluster.py: Unix socket, fsync off); DuckDB a file in a temporary
folder. Wall and CPU time (this process, plus the server's processes for PostgreSQL, read
from /proc) per operation, median of the repeats, both stores alternating in one run."""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def _server_cpu(data_dir: Path | None) -> float:
    """CPU seconds the server has used so far: its live processes, and (in the postmaster's
    children's times) every backend that has exited, such as a writer's own connection."""
    if data_dir is None:
        return 0.0
    tick = os.sysconf("SC_CLK_TCK")
    master = int((data_dir / "postmaster.pid").read_text().split("\n", 1)[0])
    fields = _stat(master)
    total = sum(int(x) for x in fields[11:15])  # utime, stime, cutime, cstime
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                f = _stat(int(entry.name))
            except (OSError, IndexError):
                continue
            if f[1] == str(master):
                total += int(f[11]) + int(f[12])
    return total / tick


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--reps", type=int, default=200, help="reader opens per store (changes: reps / 20)")
    p.add_argument("--out", help="write the results as JSON here")
    args = p.parse_args(argv)

    import psycopg
    import sqlalchemy as sa

    from data import schema
    from data.build import build
    from data.selection import Filters, observations_select
    from data.stores import open_store
    from tests.pgcluster import Cluster

    folder = Path(tempfile.mkdtemp(prefix="pkpi-bench-"))
    cluster = Cluster.start()
    try:
        with psycopg.connect(cluster.url, autocommit=True) as conn:
            conn.execute("CREATE DATABASE bench TEMPLATE template0")
        stores = {"duckdb": folder / "pkpi.duckdb",
                  "postgresql": cluster.url.replace("postgresql:///postgres?", "postgresql:///bench?", 1)}
        for where in stores.values():
            build(where, check_seeds=False)
        chart = observations_select(Filters(families=("women",)))

        def open_and_version(s):
            with s.reader() as r:
                return r.version

        def family_chart(s):
            with s.reader() as r:
                return r.arrow(chart).num_rows

        counter = iter(range(10**9))

        def publish(s):
            v = schema.observation_vintages
            with s.writer() as w, w.change() as c:
                first = c.rows(sa.select(sa.func.min(v.c.obs_id)))[0][0]
                c.conn.execute(sa.update(v).where(v.c.obs_id == first).values(value=float(next(counter))))
                c.set_version(data_version=f"bench-{next(counter)}")

        ops = {"open a reader, read its version": (open_and_version, args.reps),
               "family chart (women) through a reader": (family_chart, args.reps),
               "publish a change of one value": (publish, max(3, args.reps // 20))}
        results: dict = {}
        for name, (op, reps) in ops.items():
            samples = {k: [] for k in stores}
            for rep in range(reps):
                for kind, where in (stores.items() if rep % 2 == 0 else reversed(list(stores.items()))):
                    s = open_store(where)
                    server = cluster.data if kind == "postgresql" else None
                    server_before = _server_cpu(server)  # outside the timed part: it reads /proc
                    before = (time.perf_counter(), time.process_time())
                    op(s)
                    after = (time.perf_counter(), time.process_time())
                    server_after = _server_cpu(server)
                    samples[kind].append([after[0] - before[0], after[1] - before[1],
                                          server_after - server_before])
            results[name] = {kind: {"wall_ms": 1000 * statistics.median(x[0] for x in got),
                                    "cpu_ms": 1000 * statistics.mean(x[1] + x[2] for x in got),
                                    "reps": len(got)} for kind, got in samples.items()}
    finally:
        from data.stores import postgres_store
        postgres_store.dispose()
        cluster.stop()
    load = os.getloadavg()[0]
    print(f"| operation (curated store, load average {load:.1f}) | DuckDB ms wall (CPU) | PostgreSQL ms wall (CPU) |")
    print("|---|---|---|")
    for name, r in results.items():
        d, q = r["duckdb"], r["postgresql"]
        print(f"| {name} | {d['wall_ms']:.1f} ({d['cpu_ms']:.1f}) | {q['wall_ms']:.1f} ({q['cpu_ms']:.1f}) |")
    if args.out:
        Path(args.out).write_text(json.dumps({"load": load, "results": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
