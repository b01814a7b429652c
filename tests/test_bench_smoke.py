"""Issue 7: the benchmark runs end to end (at a tiny scale) and writes its results and
summary; issue 16: with ``--store both`` it also copies the store into a throwaway PostgreSQL
and measures it beside DuckDB, and the two stores' answers are the same. No timing is
asserted here: times are for bench/README.md, not for the tests."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def test_bench_runs_at_tiny_scale_and_writes_its_summary(tmp_path):
    out, home = tmp_path / "results", tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if k not in ("PKPI_DB", "PKPI_HOME")}
    done = subprocess.run([sys.executable, "manage.py", "bench", "--scale", "tiny", "--store", "both",
                           "--out", str(out), "--home", str(home)], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=900)
    assert done.returncode == 0, done.stderr[-4000:]
    assert not home.exists()  # the synthetic store is removed after the run

    results = json.loads((out / "latest-tiny.json").read_text())
    steps = results["steps"]
    assert not [k for k, v in steps.items() if isinstance(v, dict) and "error" in v]
    assert results["machine"]["cores"] and results["started"] and results["finished"]
    assert steps["store after intake"]["observations"] == 2_000
    intake = steps["intake"]
    assert "skipped" in intake or (intake["xlsx"]["accepted"] and intake["csv"]["accepted"])
    assert steps["export"]["same_bytes_as_row_by_row"] is True

    served = steps["served"]
    families = {"family:fatalities", "family:cpas"}
    assert set(served["one_client"]) == families | {"data"}
    for key, res in served["one_client"].items():
        for part in ("floor", "http", "trivial callback round trip"):
            assert res[part]["n"] >= 1 and res[part]["p95_ms"] >= res[part]["median_ms"] > 0, (key, part)
    for key in families:
        assert served["one_client"][key]["naive in-memory pandas"]["n"] >= 1
    assert set(served["eight_clients"]) == families | {"data", "trivial"}
    assert all(r["errors"] == 0 and r["n"] >= 8 for r in served["eight_clients"].values())
    # Issue 15: distinct random views, seeded and recorded; cold each once, warm the same again,
    # and an answer from a cache is byte for byte the answer computed.
    assert served["views"]["seed"] == results["seed"] and isinstance(results["seed"], int)
    for key in families | {"data"}:
        cold, warm = served["eight_clients"][key], served["eight_clients_warm"][key]
        assert cold["views"] == served["views"]["per_callback"][key] == 10 and cold["n"] == 10, key
        assert warm["n"] == 20 and warm["errors"] == 0 and warm["answers_differing_from_cold"] == 0, key
    assert served["worker_configs"] and all("error" not in c and c["n"] == 20 and c["errors"] == 0
                                            for c in served["worker_configs"])
    assert set(served["page_ready_warm"]) == families | {"minimal"}
    assert served["cold_start"]["first_family_page_drawn_s"] > served["cold_start"]["server_answers_s"] > 0
    assert served["first_load_transfer"]["wire_bytes"] > 0
    assert served["naive_files"]["naive re-read curated files"]["n"] >= 1

    # PostgreSQL beside DuckDB: the same rows (migrate-store, then the same intake), the same
    # export bytes, the same answers to every request.
    assert results["stores"] == ["duckdb", "postgresql"]
    pg = steps["postgresql: store"]
    assert pg["observations"] == 2_000
    assert pg["intake"]["accepted"] and pg["intake"]["rows_added"] == 200  # the same .xlsx, filed into PostgreSQL
    assert steps["postgresql: export"]["same_bytes"] is True
    side = steps["postgresql: served"]
    assert all(len(v) == 1 and v[0]["first_family_page_drawn_s"] > 0 for v in side["cold_start"].values())
    assert set(side["one_client"]) == families | {"data"}
    for key, res in side["one_client"].items():
        assert res["duckdb"]["n"] == res["postgresql"]["n"] >= 1 and res["different_answers"] == 0, key
    assert set(side["eight_clients"]) == families | {"data"}
    for key, res in side["eight_clients"].items():
        assert res["views"] == 10 and res["different_answers"] == 0, key
        assert all(res[k]["n"] == 10 and res[k]["errors"] == 0 for k in ("duckdb", "postgresql")), key
    queries = steps["postgresql: queries"]
    assert len(queries) == 4 and all(q["same_answer"] for q in queries.values())
    publish = steps["postgresql: publish"]
    assert publish["duckdb"]["n"] == publish["postgresql"]["n"] == 1
    assert publish["served_rows_after"] == {"duckdb": 2_000, "postgresql": 2_000}
    assert publish["served_table"]["postgresql"] == ["delta"]  # measured beside the whole build
    assert publish["served_table"]["postgresql_built_whole"] == ["built"]

    summary = (out / "summary-tiny.md").read_text()
    assert "## DuckDB beside PostgreSQL (same run)" in summary
    for row in ("cold start to the first family page drawn", "callback over HTTP, 1 client",
                "callback, 8 clients, cold mix", "whole store: latest per indicator (Overview)",
                "whole-store CSV export", "publish a change adding 20 values", "xlsx intake"):
        assert row in summary.split("## DuckDB beside PostgreSQL")[1], row
    assert summary.startswith("# Benchmark summary: tiny (2,000 observations, 20 indicators)")
    assert "| target | measured | reference (same run) | ratio | target | verdict |" in summary
    assert f"seed {results['seed']}" in summary and "Serving configurations" in summary
    for target in ("callback p95, 1 client, within 2× of its floor", "callback p95, 8 concurrent clients",
                   "faster than masking a pandas frame", "faster than re-reading the curated files",
                   "ready in Chromium", "cold start", "first page load transfers",
                   "xlsx intake throughput", "whole-store CSV export"):
        assert target in summary, target
    rows = [line for line in summary.splitlines() if line.startswith("| ") and "verdict" not in line]
    assert all(("**met**" in r or "**missed**" in r or "not measured" in r) for r in rows
               if r.count("|") == 7), rows
