"""The Markdown summary of one benchmark run: each target, what was measured, the reference
measured in the same run, the ratio, and whether the target is met (by how much if not)."""
from __future__ import annotations

MB = 1024 * 1024


def _get(d, *path, default=None):
    for key in path:
        if not isinstance(d, dict) or key not in d:
            return default
        d = d[key]
    return d


def _ms(x) -> str:
    return "–" if x is None else (f"{x / 1000:.2f} s" if x >= 10_000 else f"{x:.0f} ms" if x >= 10 else f"{x:.1f} ms")


def _ratio(x) -> str:
    return "–" if x is None else f"{x:.2f}×" if x < 10 else f"{x:.0f}×"


def _verdict(value, target, better: str) -> str:
    """``better`` is "lower" or "higher"; says by how much a missed target is missed."""
    if value is None:
        return "not measured"
    ok = value <= target if better == "lower" else value >= target
    if ok:
        return "**met**"
    factor = value / target if better == "lower" else target / value if value else float("inf")
    return f"**missed** ({factor:.1f}× off)"


def rows(r: dict) -> list[tuple[str, str, str, str, str, str]]:
    s = r["steps"]
    served = s.get("served") or {}
    out = []
    one = served.get("one_client") or {}
    eight = served.get("eight_clients") or {}
    for key, res in one.items():
        http = _get(res, "http", "p95_ms")
        floor = _get(res, "floor", "p95_ms")
        trip = _get(res, "trivial callback round trip", "p95_ms")
        ref = floor + trip if floor is not None and trip is not None else None
        ratio = http / ref if http and ref else None
        label = key.replace("family:", "family page /").replace("data", "Data page", 1) if key == "data" \
            else key.replace("family:", "family page /")
        out.append((f"{label}: callback p95, 1 client, within 2× of its floor",
                    _ms(http), f"floor p95 {_ms(floor)} + trivial round trip p95 {_ms(trip)}",
                    _ratio(ratio), "≤ 2×", _verdict(ratio, 2, "lower")))
    warm = served.get("eight_clients_warm") or {}
    seed = _get(served, "views", "seed")
    for key, res in eight.items():
        if key == "trivial":
            continue
        p95 = res.get("p95_ms")
        label = "Data page" if key == "data" else key.replace("family:", "family page /")
        w = warm.get(key) or {}
        mix = (f", cold mix: {res['views']} distinct random views, each asked once (seed {seed})"
               if res.get("views") else "")
        out.append((f"{label}: callback p95, 8 concurrent clients{mix}", _ms(p95),
                    f"trivial callback, 8 clients: p95 {_ms(_get(eight, 'trivial', 'p95_ms'))}; "
                    f"{res.get('requests_per_s')} req/s; {res.get('errors')} errors"
                    + (f"; warm (the same views again): p95 {_ms(w.get('p95_ms'))}, {w.get('requests_per_s')} req/s"
                       if w else ""),
                    "–", "< 150 ms", _verdict(p95, 150, "lower")))
    for key, res in one.items():
        if not key.startswith("family:"):
            continue
        naive, floor = _get(res, "naive in-memory pandas", "median_ms"), _get(res, "floor", "median_ms")
        ratio = naive / floor if naive and floor else None
        q, m = _get(res, "query only (DuckDB)", "median_ms"), _get(res, "naive mask only", "median_ms")
        out.append((f"family page /{key.split(':', 1)[1]}: faster than masking a pandas frame of every "
                    f"observation (query + figure + JSON, medians)", _ms(floor),
                    f"naive {_ms(naive)} (query alone {_ms(q)} vs mask alone {_ms(m)}: "
                    f"{_ratio(m / q) if q and m else '–'})", _ratio(ratio), "≥ 5×", _verdict(ratio, 5, "higher")))
    nf = served.get("naive_files") or {}
    if nf:
        naive, floor = _get(nf, "naive re-read curated files", "median_ms"), _get(nf, "floor", "median_ms")
        ratio = naive / floor if naive and floor else None
        out.append(("faster than re-reading the curated files per request (medians)", _ms(floor),
                    f"re-read {_ms(naive)}", _ratio(ratio), "≥ 50×", _verdict(ratio, 50, "higher")))
    pages = served.get("page_ready_warm") or {}
    minimal = _get(pages, "minimal", "median_ms")
    for key, res in pages.items():
        if key == "minimal":
            continue
        med = res.get("median_ms")
        ratio = med / minimal if med and minimal else None
        measured = _ms(med)
        if res.get("timed_out"):  # a load not drawn within the limit counts as the limit: a lower bound
            measured = f"≥ {measured} ({res['timed_out']} of {res.get('n')} loads not drawn in {res.get('limit_s')} s)"
        one = _get(served, "one_indicator_view_drawn_s", key.split(":", 1)[-1])
        out.append((f"{key.replace('family:', 'family page /')} ready in Chromium (all charts drawn), warm",
                    measured, f"minimal one-graph page {_ms(minimal)}"
                    + (f"; the same page with one indicator: {one:.1f} s" if one else ""),
                    ("≥ " if res.get("timed_out") else "") + _ratio(ratio), "≤ 1.5×",
                    _verdict(ratio, 1.5, "lower")))
    cold = served.get("cold_start") or {}
    if cold:
        v = cold.get("first_family_page_drawn_s")
        shown = (("≥ " if cold.get("timed_out") else "") + f"{v:.2f} s") if v else "–"
        out.append(("cold start to the first family page drawn" + (" (not drawn within the limit)"
                                                                    if cold.get("timed_out") else ""), shown,
                    f"server answers after {cold.get('server_answers_s')} s", "–", "< 5 s",
                    _verdict(v, 5, "lower")))
    tr = served.get("first_load_transfer") or {}
    if tr:
        wire = tr.get("wire_bytes")
        out.append(("first page load transfers (family page, empty cache)", f"{wire / MB:.2f} MB" if wire else "–",
                    f"bodies {tr.get('body_bytes', 0) / MB:.2f} MB; gzip would send {tr.get('gzip_bytes', 0) / MB:.2f} MB; "
                    f"encodings: {', '.join(tr.get('content_encodings') or ['none'])}",
                    "–", "≤ 2 MB", _verdict(wire / MB if wire else None, 2, "lower")))
    intake = s.get("intake") or {}
    if "skipped" in intake:
        out.append(("xlsx intake throughput, 5× openpyxl alone", "skipped", intake["skipped"], "–", "≥ 5×",
                    "not measured"))
    elif intake and "error" not in intake:
        x = _get(intake, "xlsx", "rows_per_s")
        o = _get(intake, "read_only_openpyxl", "rows_per_s")
        ratio = x / o if x and o else None
        out.append((f"xlsx intake throughput ({intake.get('rows'):,} rows, through `manage.py ingest`)",
                    f"{x:,.0f} rows/s" if x else "–",
                    f"openpyxl alone reads {o:,.0f} rows/s" if o else "–", _ratio(ratio), "≥ 5×",
                    _verdict(ratio, 5, "higher")))
    exp = _get(s, "export", "project (data.export.export_csv)") or {}
    if exp and "seconds" in exp:
        peak = exp.get("peak_rss_bytes", 0) / MB
        base = _get(s, "export", "row by row in Python (the writer it replaced)", "seconds")
        out.append((f"whole-store CSV export ({exp.get('rows'):,} rows): time", f"{exp['seconds']:.2f} s",
                    f"row-by-row writer {base:.1f} s" if base else "–",
                    _ratio(base / exp["seconds"]) if base else "–", "< 10 s", _verdict(exp["seconds"], 10, "lower")))
        out.append(("whole-store CSV export: peak memory", f"{peak:,.0f} MB",
                    f"pandas to_csv {_get(s, 'export', 'pandas to_csv of the whole frame', 'peak_rss_bytes', default=0) / MB:,.0f} MB",
                    "–", "< 1 GB", _verdict(peak, 1024, "lower")))
    return out


def _pair(d, key="median_ms"):
    """(DuckDB, PostgreSQL) of one measurement recorded for both stores."""
    return _get(d, "duckdb", key), _get(d, "postgresql", key)


def _over(pg, duck) -> str:
    return _ratio(pg / duck) if pg is not None and duck else "–"


def pg_rows(r: dict) -> list[tuple[str, str, str, str, str]]:
    """The PostgreSQL store beside DuckDB, every pair measured in this run (``bench/pg_run.py``):
    measurement, DuckDB, PostgreSQL, PostgreSQL ÷ DuckDB, how it was measured."""
    s = r["steps"]
    out = []
    store = s.get("postgresql: store") or {}
    intake = store.get("intake") or {}
    duck_x = _get(s, "intake", "xlsx", "rows_per_s") if _get(s, "intake", "xlsx", "accepted") else None
    rows_in = _get(s, "intake", "rows")
    label = f"xlsx intake, {rows_in:,} rows (`manage.py ingest`): rows/s" if rows_in else "xlsx intake: rows/s"
    if intake.get("accepted"):
        pg_x = intake.get("rows_per_s")
        out.append((label, f"{duck_x:,.0f}" if duck_x else "–", f"{pg_x:,.0f}",
                    _ratio(pg_x / duck_x) if duck_x and pg_x else "–",
                    "the same .xlsx into the same store (copied to PostgreSQL before the DuckDB intake); "
                    f"peak memory {_get(s, 'intake', 'xlsx', 'peak_rss_bytes', default=0) / MB:,.0f} MB and "
                    f"{intake.get('peak_rss_bytes', 0) / MB:,.0f} MB"))
    elif intake:
        out.append((label, f"{duck_x:,.0f}" if duck_x else "–", "not available", "–",
                    intake.get("not_available") or "; ".join(f"{k}: {v}" for k, v in intake.items())[:300]))
    cold = _get(s, "postgresql: served", "cold_start") or {}
    if cold:
        import statistics
        med = {k: statistics.median(x["first_family_page_drawn_s"] for x in v) if v else None
               for k, v in cold.items()}
        ans = {k: statistics.median(x["server_answers_s"] for x in v) if v else None for k, v in cold.items()}
        d, q = med.get("duckdb"), med.get("postgresql")
        out.append(("cold start to the first family page drawn (median)", f"{d:.2f} s" if d else "–",
                    f"{q:.2f} s" if q else "–", _over(q, d),
                    f"{len(cold.get('duckdb') or [])} fresh gunicorn per store, alternating; server answers after "
                    f"{ans.get('duckdb') or 0:.2f} s and {ans.get('postgresql') or 0:.2f} s"))
    served = s.get("postgresql: served") or {}
    for key, res in (served.get("one_client") or {}).items():
        name = "Data page" if key == "data" else key.replace("family:", "family page /")
        (dm, qm), (dp, qp) = _pair(res), _pair(res, "p95_ms")
        out.append((f"{name}: callback over HTTP, 1 client, median / p95", f"{_ms(dm)} / {_ms(dp)}",
                    f"{_ms(qm)} / {_ms(qp)}", f"{_over(qm, dm)} / {_over(qp, dp)}",
                    f"{_get(res, 'duckdb', 'n')} requests per store, the stores alternating; same answer "
                    f"bytes {res.get('same_answers')} of {res.get('same_answers', 0) + res.get('different_answers', 0)}"))
    for key, res in (served.get("eight_clients") or {}).items():
        name = "Data page" if key == "data" else key.replace("family:", "family page /")
        (dp, qp), (dr, qr) = _pair(res, "p95_ms"), _pair(res, "requests_per_s")
        errors = (_get(res, "duckdb", "errors") or 0) + (_get(res, "postgresql", "errors") or 0)
        out.append((f"{name}: callback, 8 clients, cold mix: p95 (requests/s)", f"{_ms(dp)} ({dr})",
                    f"{_ms(qp)} ({qr})", _over(qp, dp),
                    f"the same {res.get('views')} random views (seed {r.get('seed')}) on each store in turn; "
                    f"{errors} errors; answers differing between stores: {res.get('different_answers')}"))
    for name, res in (s.get("postgresql: queries") or {}).items():
        (dm, qm), (dc, qc) = _pair(res), _pair(res, "cpu_median_ms")
        out.append((f"{name}, through a reader, in process: median (CPU)", f"{_ms(dm)} ({_ms(dc)})",
                    f"{_ms(qm)} ({_ms(qc)})", f"{_over(qm, dm)} (CPU {_over(qc, dc)})",
                    f"{res.get('rows'):,} rows; {_get(res, 'duckdb', 'n')} runs per store, alternating; "
                    f"same answer: {res.get('same_answer')}"
                    + (f" (but for when each store filed the intake's file: {', '.join(res['columns_differing'])})"
                       if res.get("same_answer") and res.get("columns_differing") else "")
                    + "; PostgreSQL CPU includes its server's"))
    exp = s.get("postgresql: export") or {}
    if exp and "error" not in exp:
        d, q = _get(exp, "duckdb", "seconds"), _get(exp, "postgresql", "seconds")
        out.append((f"whole-store CSV export ({_get(exp, 'duckdb', 'rows', default=0):,} rows): time",
                    f"{d:.2f} s" if d else "–", f"{q:.2f} s" if q else "–", _over(q, d),
                    f"data.export.export_csv, each in a process of its own, one after the other; "
                    f"same bytes: {exp.get('same_bytes')}"))
        d, q = (_get(exp, k, "peak_rss_bytes") for k in ("duckdb", "postgresql"))
        out.append(("whole-store CSV export: peak memory", f"{d / MB:,.0f} MB" if d else "–",
                    f"{q / MB:,.0f} MB" if q else "–", _over(q, d), "the same two processes"))
    pub = s.get("postgresql: publish") or {}
    if pub and "error" not in pub:
        (dm, qm), (dc, qc) = _pair(pub), _pair(pub, "cpu_median_ms")
        out.append((f"publish a change adding {pub.get('values_per_change'):,} values: median (CPU)",
                    f"{_ms(dm)} ({_ms(dc)})", f"{_ms(qm)} ({_ms(qc)})", f"{_over(qm, dm)} (CPU {_over(qc, dc)})",
                    f"{_get(pub, 'duckdb', 'n')} changes per store, alternating, through the store interface "
                    f"(new vintages revising latest values, as a dropped file's do); PostgreSQL's served table: "
                    f"{', '.join(sorted(set(_get(pub, 'served_table', 'postgresql', default=[]))))}"))
        whole = pub.get("postgresql_built_whole")
        if whole:
            qm, qc = whole.get("median_ms"), whole.get("cpu_median_ms")
            out.append(("the same publish, PostgreSQL's served table built whole: median (CPU)", f"{_ms(dm)} ({_ms(dc)})",
                        f"{_ms(qm)} ({_ms(qc)})", f"{_over(qm, dm)} (CPU {_over(qc, dc)})",
                        "alternating with the two above (`PostgresStore.served_delta = False`: the table as "
                        "every change built it before the delta)"))
    mig = store.get("migrate_after_duckdb_intake") or store.get("migrate") or {}
    if "seconds" in mig:
        out.append(("`manage.py migrate-store` of the store into PostgreSQL", "–", f"{mig['seconds']:.1f} s", "–",
                    f"peak memory {mig.get('peak_rss_bytes', 0) / MB:,.0f} MB (the copy, its counts and the "
                    f"served table, one transaction)"))
    return out


def markdown(r: dict) -> str:
    m = r.get("machine", {})
    store = _get(r, "steps", "store after intake") or {}
    lines = [
        f"# Benchmark summary: {r['scale']} ({store.get('observations', r['observations']):,} observations, "
        f"{r['indicators']:,} indicators)",
        "",
        f"Run {r['started']} to {r.get('finished', '?')} ({r.get('seconds', '?')} s) on {m.get('cpu', '?')}, "
        f"{m.get('cores')} cores, {m.get('memory_gb')} GB; Python {m.get('python')}, DuckDB {m.get('duckdb')}, "
        f"Dash {m.get('dash')}, pandas {m.get('pandas')}. Every ratio compares two things measured in this run "
        f"(alternated where they could be). Server: gunicorn, 2 sync workers, loopback.",
        "",
        "| target | measured | reference (same run) | ratio | target | verdict |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows(r):
        lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |")
    pg = pg_rows(r)
    if pg:
        cluster = _get(r, "steps", "postgresql: cluster") or {}
        lines += ["", "## DuckDB beside PostgreSQL (same run)", "",
                  f"PostgreSQL {cluster.get('server_version', '?')}, a throwaway cluster on a Unix socket "
                  f"(durability off, shared_buffers 64 MB, otherwise its defaults); the store copied into it "
                  f"with `manage.py migrate-store`. Each pair below was measured in this run, alternating "
                  f"where the two could alternate.", "",
                  "| measurement | DuckDB | PostgreSQL | PostgreSQL ÷ DuckDB | how (same run) |",
                  "|---|---|---|---|---|"]
        for row in pg:
            lines.append("| " + " | ".join(str(c).replace("|", "\\|") for c in row) + " |")
    lines += ["", "## Details", ""]
    s = r["steps"]
    intake = s.get("intake") or {}
    if intake and "skipped" not in intake and "error" not in intake:
        lines.append("| intake step | rows/s | seconds | peak memory | accepted |")
        lines.append("|---|---|---|---|---|")
        for k in ("xlsx", "csv", "read_only_openpyxl", "read_only_python-calamine"):
            v = intake.get(k) or {}
            lines.append(f"| {k.replace('read_only_', 'read only, ')} | {v.get('rows_per_s', '–')} | "
                         f"{v.get('seconds', 0):.1f} | {v.get('peak_rss_bytes', 0) / MB:,.0f} MB | "
                         f"{v.get('accepted', '–')} |")
        lines.append("")
    exp = s.get("export") or {}
    if exp and "error" not in exp:
        lines.append("| export writer | seconds | peak memory |")
        lines.append("|---|---|---|")
        for k, v in exp.items():
            if isinstance(v, dict):
                lines.append(f"| {k} | {v.get('seconds', float('nan')):.2f} | {v.get('peak_rss_bytes', 0) / MB:,.0f} MB |"
                             if "seconds" in v else f"| {k} | error | – |")
        lines.append(f"\nThe project's writer gives the same bytes as the row-by-row writer: "
                     f"{exp.get('same_bytes_as_row_by_row')}.\n")
    bd = s.get("callback breakdown") or {}
    for fam, steps in bd.items():
        if isinstance(steps, dict) and "error" not in steps:
            lines.append(f"Where a family-page callback's time goes, in process (/{fam}; warm median):")
            lines.append("")
            for name, v in steps.items():
                if isinstance(v, dict) and "warm_median_ms" in v:
                    lines.append(f"- {name}: {_ms(v['warm_median_ms'])} (first {_ms(v['first_ms'])})")
            lines.append("")
    served = s.get("served") or {}
    for name in ("one_client", "eight_clients"):
        block = served.get(name) or {}
        if block:
            lines.append(f"{'One client' if name == 'one_client' else 'Eight clients'} (median / p95 ms, n):")
            lines.append("")
            for key, res in block.items():
                parts = [f"{k} {v.get('median_ms')}/{v.get('p95_ms')} (n={v.get('n')})"
                         for k, v in res.items() if isinstance(v, dict)] if name == "one_client" else \
                    [f"{res.get('median_ms')}/{res.get('p95_ms')} (n={res.get('n')}, {res.get('errors')} errors)"]
                lines.append(f"- {key}: " + "; ".join(parts))
            lines.append("")
    warm = served.get("eight_clients_warm") or {}
    if warm:
        lines.append(f"Eight clients, warm: the same views asked twice more, in another order (median / p95 ms, n; "
                     f"seed {_get(served, 'views', 'seed')}):")
        lines.append("")
        for key, res in warm.items():
            lines.append(f"- {key}: {res.get('median_ms')}/{res.get('p95_ms')} (n={res.get('n')}, "
                         f"{res.get('errors')} errors, {res.get('requests_per_s')} req/s; answers differing "
                         f"from the cold answer: {res.get('answers_differing_from_cold')})")
        lines.append("")
    configs = served.get("worker_configs") or []
    if configs:
        lines.append("Serving configurations, each a fresh server (every worker up and idle first) given the "
                     "same cold mix of family-page views (both families' views interleaved), 8 clients:")
        lines.append("")
        lines.append("| configuration | median | p95 | requests/s | errors | first answer after | "
                     "all workers idle after |")
        lines.append("|---|---|---|---|---|---|---|")
        for c in configs:
            if "error" in c:
                lines.append(f"| {c['config']} | error: {c['error']} | | | | | |")
            else:
                lines.append(f"| {c['config']} | {_ms(c.get('median_ms'))} | {_ms(c.get('p95_ms'))} | "
                             f"{c.get('requests_per_s')} | {c.get('errors')} | {c.get('server_answers_s')} s | "
                             f"{c.get('all_workers_idle_s')} s |")
        lines.append("")
    failed = {k: v["error"] for k, v in s.items() if isinstance(v, dict) and "error" in v}
    if failed:
        lines.append("Steps that failed: " + "; ".join(f"{k}: {v}" for k, v in failed.items()))
    return "\n".join(lines) + "\n"
