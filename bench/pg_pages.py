"""Page-answer times on each store, at curated scale (``python -m bench.pg_pages``): the
curated store built into a DuckDB file and into a throwaway PostgreSQL (tests/pgcluster.py),
then, in one ``create_app()`` process per store (PostgreSQL with ``PKPI_WATCH=0``), each
page's layout drawn as a request draws it (in one reader). "cold": the query and answer
caches emptied first, so every query runs; "warm": drawn again at once, every frame from the
cache. Milliseconds, median of the repeats after the first. Timings only, never asserted."""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

VIEWS = [("Overview", "/", {}), ("Overview as of 2020-01-01", "/", {"asof": "2020-01-01"}),
         ("family (fatalities)", "/fatalities", {"ind": "fatalities_malicious_acts"}),
         ("Data (women)", "/data", {"family": "women"})]
REPEATS = 7


def child() -> None:
    """In the store's own process: draw each page cold and warm, print the medians as JSON."""
    import dash

    from app import create_app
    from callbacks import cache
    from indicators import query
    create_app()
    pages = {p["path"]: p["layout"] for p in dash.page_registry.values()}
    out = {}
    for name, path, params in VIEWS:
        cold, warm = [], []
        for _ in range(REPEATS):
            query.clear_cache()
            cache.clear_all()
            t = time.perf_counter()
            pages[path](**params)
            cold.append(time.perf_counter() - t)
            t = time.perf_counter()
            pages[path](**params)
            warm.append(time.perf_counter() - t)
        out[name] = [statistics.median(cold[1:]) * 1e3, statistics.median(warm[1:]) * 1e3]
    print(json.dumps(out))


def main() -> None:
    import psycopg

    from data.build import build
    from tests.pgcluster import Cluster
    cluster = Cluster.start()
    try:
        with psycopg.connect(cluster.url, autocommit=True) as conn:
            conn.execute("CREATE DATABASE pkpi_bench")
        url = cluster.url.replace("postgresql:///postgres?", "postgresql:///pkpi_bench?", 1)
        home = Path(tempfile.mkdtemp(prefix="pkpi-bench-pages-"))
        build(home / "pkpi.duckdb")
        build(url)
        found = {}
        for store, env in (("DuckDB", {"PKPI_DB": str(home / "pkpi.duckdb"), "PKPI_DATABASE_URL": ""}),
                           ("PostgreSQL", {"PKPI_DATABASE_URL": url, "PKPI_WATCH": "0"})):
            done = subprocess.run([sys.executable, __file__, "child"], cwd=REPO, capture_output=True, text=True,
                                  env={**os.environ, "PYTHONPATH": str(REPO), "PKPI_HOME": str(home), **env})
            if done.returncode:
                raise SystemExit(f"{store}: {done.stderr[-3000:]}")
            found[store] = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"load average {os.getloadavg()[0]:.1f}; ms, median of {REPEATS - 1}")
        print(f"{'page':28} {'DuckDB cold':>12} {'PG cold':>9} {'DuckDB warm':>12} {'PG warm':>9}")
        for name, *_ in VIEWS:
            d, p = found["DuckDB"][name], found["PostgreSQL"][name]
            print(f"{name:28} {d[0]:12.1f} {p[0]:9.1f} {d[1]:12.1f} {p[1]:9.1f}")
    finally:
        cluster.stop()


if __name__ == "__main__":
    child() if sys.argv[1:] == ["child"] else main()
