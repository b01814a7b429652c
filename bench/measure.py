"""Timing helpers and the in-process measurements: floors and naive baselines.

The *floor* of a chart callback is what it cannot avoid: the same DuckDB query, the figure
(``indicators.figures.figure``, plain dicts) and Dash's JSON serialisation, in process,
with nothing else (no cache). The *naive baselines* answer the same selection the way a
first version would: by masking a pandas DataFrame of every observation held in memory,
or by re-reading the curated-format CSV files on every request.
"""
from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


# -- statistics --------------------------------------------------------------------------

def summarize(samples_s: list[float]) -> dict:
    """Median and p95 (nearest rank) in milliseconds; n; min and max."""
    if not samples_s:
        return {"n": 0}
    ms = sorted(x * 1000 for x in samples_s)
    p95 = ms[min(len(ms) - 1, max(0, -(-95 * len(ms) // 100) - 1))]
    return {"n": len(ms), "median_ms": round(statistics.median(ms), 2), "p95_ms": round(p95, 2),
            "min_ms": round(ms[0], 2), "max_ms": round(ms[-1], 2)}


def timed(fn, *args, **kwargs) -> tuple[float, object]:
    t0 = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - t0, out


@dataclass
class Budget:
    """Repeat at least ``min_reps`` and at most ``max_reps`` times, stopping early once
    ``seconds`` have passed: every loop is bounded in count and in time."""
    min_reps: int
    max_reps: int
    seconds: float

    def reps(self):
        t0 = time.perf_counter()
        for k in range(self.max_reps):
            if k >= self.min_reps and time.perf_counter() - t0 > self.seconds:
                return
            yield k


def machine() -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    import dash
    import duckdb
    import pandas
    import plotly
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": mem_gb, "os": platform.platform(),
            "python": platform.python_version(), "duckdb": duckdb.__version__, "dash": dash.__version__,
            "plotly": plotly.__version__, "pandas": pandas.__version__}


def run_child(code: str, env: dict | None = None, timeout: float = 600) -> dict:
    """Run ``code`` in a fresh Python process that prints one JSON object as its last line;
    add its peak resident memory (VmHWM, or its largest child's: ``manage.py ingest`` reads
    each file in a child) and wall time. Peak memory of a job is only
    meaningful in a process of its own."""
    wrapper = code + """
import json as _json
_hwm = 0
for _line in open('/proc/self/status'):
    if _line.startswith('VmHWM:'):
        _hwm = int(_line.split()[1]) * 1024
import resource as _resource  # a dropped file is read in a child of its own (data.isolation)
_hwm = max(_hwm, _resource.getrusage(_resource.RUSAGE_CHILDREN).ru_maxrss * 1024)
print(_json.dumps({**RESULT, 'peak_rss_bytes': _hwm}))
"""
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", wrapper], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=timeout)
    wall = time.perf_counter() - t0
    if done.returncode != 0:
        return {"error": (done.stderr or done.stdout).strip()[-2000:], "wall_s": round(wall, 3)}
    lines = done.stdout.strip().splitlines()
    out = json.loads(lines[-1])
    out["wall_s"] = round(wall, 3)
    out["output"] = "\n".join(lines[:-1])[-1500:]
    return out


# -- the selection a chart callback answers ----------------------------------------------

@dataclass(frozen=True)
class Selection:
    """What one family-page callback draws: its indicators, from a year, in one family."""
    family: str
    indicators: tuple[str, ...]
    year_from: int | None = None

    def filters(self):
        from data.selection import Filters
        return Filters(indicators=self.indicators, families=(self.family,),
                       start=date(self.year_from, 1, 1) if self.year_from else None)


def figures_json(frame) -> str:
    """One plain-dict figure per unit (cumulative totals apart), serialised as Dash does."""
    from dash._utils import to_json

    from indicators import figures
    out = []
    if len(frame):
        split = frame["span_class"].eq("cumulative")
        for (unit, _total), group in frame.groupby([frame["unit"], split], sort=False):
            out.append(figures.figure(group, unit))
    return to_json(out)


def floor(sel: Selection, engine) -> int:
    """The DuckDB query + figures + JSON, nothing else (no cache). Returns JSON bytes."""
    from data.engine import arrow, to_pandas
    from data.selection import observations_select
    frame = to_pandas(arrow(observations_select(sel.filters()), engine))
    return len(figures_json(frame))


def query_only(sel: Selection, engine) -> int:
    from data.engine import arrow
    from data.selection import observations_select
    return arrow(observations_select(sel.filters()), engine).num_rows


def data_floor(family: str, engine, limit: int = 1000) -> int:
    """The Data page's floor: the count and the first ``limit`` rows of the same query, as
    JSON records (what the table shows)."""
    import sqlalchemy as sa
    from dash._utils import to_json

    from data.engine import arrow, to_pandas
    from data.selection import Filters, observations_select
    stmt = observations_select(Filters(families=(family,) if family else ()))
    count = stmt.with_only_columns(sa.func.count(), maintain_column_froms=True).order_by(None)
    rows = to_pandas(arrow(stmt.limit(limit), engine))
    n = int(arrow(count, engine).column(0)[0].as_py())
    return len(to_json({"count": n, "rows": rows.to_dict("records")}))


class NaiveMemory:
    """Baseline 1: every observation in a pandas DataFrame, masked per request."""

    def __init__(self, engine):
        from data.engine import arrow, to_pandas
        from data.selection import observations_select
        t0 = time.perf_counter()
        self.frame = to_pandas(arrow(observations_select(), engine))
        self.load_s = time.perf_counter() - t0

    def answer(self, sel: Selection) -> int:
        f = self.frame
        mask = f["indicator_id"].isin(sel.indicators) & (f["family"] == sel.family)
        if sel.year_from:
            start = date(sel.year_from, 1, 1)
            mask &= f["period_end"].map(lambda d: d >= start)
        chosen = f[mask].sort_values(["indicator_id", "area", "period_start", "period_end", "source_id"])
        return len(figures_json(chosen))


class NaiveFiles:
    """Baseline 2: re-read the curated-format CSV files on every request (as the store would
    be if there were none), join them, mask, and draw."""

    def __init__(self, folder: Path):
        self.folder = folder

    def answer(self, sel: Selection) -> int:
        import pandas as pd
        obs = pd.concat([pd.read_csv(p, keep_default_na=False, na_values=[""])
                         .assign(source_id=p.stem)
                         for p in sorted((self.folder / "observations").glob("*.csv"))], ignore_index=True)
        ind = pd.read_csv(self.folder / "indicators.csv")
        src = pd.read_csv(self.folder / "sources.csv")
        areas = pd.read_csv(self.folder / "areas.csv")
        f = (obs.merge(ind.rename(columns={"name_en": "indicator_name", "name_zh": "indicator_name_zh"}),
                       on="indicator_id")
             .merge(src[["source_id", "cite_as", "symbol", "title_en", "date", "url"]]
                    .rename(columns={"cite_as": "source_cite_as", "symbol": "source_symbol",
                                     "title_en": "source_title", "date": "source_date", "url": "source_url"}),
                    on="source_id")
             .merge(areas[["area_id", "name_en"]].rename(columns={"area_id": "area", "name_en": "area_name"}),
                    on="area"))
        f = f[f["indicator_id"].isin(sel.indicators) & (f["family"] == sel.family)].copy()
        from data.periods import period_bounds, span
        bounds = [period_bounds(p) for p in f["period"]]
        f["period_start"] = [b[0] for b in bounds]
        f["period_end"] = [b[1] for b in bounds]
        spans = [span(p) for p in f["period"]]
        f["span_class"] = [s[0] for s in spans]
        f["span_label"] = [s[1] for s in spans]
        f["obs_id"] = range(len(f))
        if sel.year_from:
            f = f[f["period_end"] >= date(sel.year_from, 1, 1)]
        f = f.sort_values(["indicator_id", "area", "period_start", "period_end", "source_id"])
        return len(figures_json(f))


def render_breakdown(family: str, engine_path: Path, reps: int = 3) -> dict:
    """Where a family-page callback's time goes, in process (the project's own functions,
    with the query cache on as in a server): median ms per step."""
    from dash._utils import to_json

    os.environ["PKPI_DB"] = str(engine_path)
    import dash
    if not dash.page_registry:  # pages register themselves once a Dash app exists
        import app as dashboard
        dashboard.create_app()
    from data.selection import Filters
    from indicators import query, registry
    from indicators.view import View
    from layouts import family as page
    query.clear_cache()
    steps: dict[str, list[float]] = {}

    def step(name, fn, *a):
        t, out = timed(fn, *a)
        steps.setdefault(name, []).append(t)
        return out

    for k in range(reps):
        if k == 0:
            query.clear_cache()
        view = View.from_query({}, family)
        everything = step("family frame (query.observations of the whole family)",
                          lambda: query.observations(Filters(families=(family,))))
        catalog = step("catalog (registry.family_catalog)", registry.family_catalog, everything)
        resolved = page.resolve(view, catalog)
        step("chart query (query.observations)", lambda: query.observations(resolved.filters()))
        out = step("render() total (layouts.family.render)", page.render, view)
        step("JSON of render()'s output (Dash)", to_json, list(out[:2]))
    return {name: {"first_ms": round(v[0] * 1000, 1),
                   "warm_median_ms": round(statistics.median(v[1:] or v) * 1000, 1)}
            for name, v in steps.items()}
