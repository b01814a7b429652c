"""A synthetic store at CPAS scale, generated inside DuckDB (never row by row in Python).

Shape (at full scale): 1,000,000 observations of 1,000 indicators over 15 areas, monthly
periods over 25 years (2000-01 to 2024-12), each with a realistic citation: a report per
year, a table locator, a Chinese quote of about 40 characters and its English rendering.
698 of the indicators are in the ``cpas`` family (A/79/553/Add.1: CPAS holds more than
80,000 data points under 698 indicators); the others are spread over the other families.

Each indicator has ``observations / indicators`` values: four areas, one value a month for
each. The last ``intake_rows / indicators`` months of every indicator are *not* generated
here: they are written to a spreadsheet that goes through the real intake path
(``bench/intake.py``), so that the store reaches its full size the way missions' CPAS
exports will reach it. Without an intake, the generator writes every row itself.

The tables are created from ``data.schema`` as it is at run time, and every column the
generator does not know gets a neutral value of its type, so the store keeps up with the
schema. The store is written beside its final path and renamed into place, as a build does.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import asdict, dataclass
from datetime import date, datetime
from pathlib import Path

import sqlalchemy as sa

FIRST_MONTH = date(2000, 1, 1)
AREAS = (  # id, English, Chinese, kind
    ("all_pko", "All UN peacekeeping operations", "所有联合国维持和平行动", "all"),
    ("MINUSMA", "MINUSMA", "马里稳定团", "mission"),
    ("MONUSCO", "MONUSCO", "联刚稳定团", "mission"),
    ("UNMISS", "UNMISS", "南苏丹特派团", "mission"),
    ("MINUSCA", "MINUSCA", "中非稳定团", "mission"),
    ("UNIFIL", "UNIFIL", "联黎部队", "mission"),
    ("UNFICYP", "UNFICYP", "联塞部队", "mission"),
    ("UNDOF", "UNDOF", "观察员部队", "mission"),
    ("UNTSO", "UNTSO", "停战监督组织", "mission"),
    ("UNMOGIP", "UNMOGIP", "印巴观察组", "mission"),
    ("MINURSO", "MINURSO", "西撒特派团", "mission"),
    ("UNISFA", "UNISFA", "阿卜耶伊安全部队", "mission"),
    ("UNMIK", "UNMIK", "科索沃特派团", "mission"),
    ("UNAMID", "UNAMID", "达尔富尔混合行动", "mission"),
    ("MINUSTAH", "MINUSTAH", "联海稳定团", "mission"),
)
OTHER_FAMILIES = ("fatalities", "women", "conduct", "environment", "accountability", "capability", "other")
CPAS_SHARE = 0.698
UNITS = ("count", "percent", "days")
AREAS_PER_INDICATOR = 4


@dataclass(frozen=True)
class Scale:
    name: str
    observations: int  # in the store once the intake file is in
    indicators: int
    intake_rows: int  # of those, how many go through the intake as a spreadsheet
    months: int = 300  # 25 years of monthly periods from January 2000

    @property
    def per_indicator(self) -> int:
        return self.observations // self.indicators

    @property
    def intake_per_indicator(self) -> int:
        return self.intake_rows // self.indicators

    def check(self) -> None:
        if self.observations % self.indicators or self.intake_rows % self.indicators:
            raise ValueError(f"{self}: observations and intake rows must be multiples of the indicators")
        if -(-self.per_indicator // AREAS_PER_INDICATOR) > self.months:
            raise ValueError(f"{self}: more values per area than months")


SCALES = {
    "full": Scale("full", 1_000_000, 1_000, 100_000),
    "quick": Scale("quick", 100_000, 1_000, 10_000),
    "tiny": Scale("tiny", 2_000, 20, 200),
}


def family_of(k: int, scale: Scale) -> str:
    cpas = round(scale.indicators * CPAS_SHARE)
    return "cpas" if k < cpas else OTHER_FAMILIES[(k - cpas) % len(OTHER_FAMILIES)]


def indicator_id(k: int) -> str:
    return f"bench_{k:04d}"


def largest_other_family(scale: Scale) -> str:
    """The non-CPAS family with the most indicators (ties: the first listed)."""
    counts = {f: 0 for f in OTHER_FAMILIES}
    for k in range(scale.indicators):
        fam = family_of(k, scale)
        if fam in counts:
            counts[fam] += 1
    return max(OTHER_FAMILIES, key=lambda f: counts[f])


# -- the rows, as SQL over range(indicators) x range(values per indicator) -----------------

def _obs_sql(scale: Scale, first_n: int, last_n: int) -> str:
    """A SELECT of the observations n in [first_n, last_n) of every indicator, with every
    field a dropped file or the store needs (named as the store names them)."""
    a = AREAS_PER_INDICATOR
    steps = -(-scale.per_indicator // a)
    spread = max(1, scale.months - steps + 1)
    area_ids = "[" + ", ".join(f"'{x[0]}'" for x in AREAS) + "]"
    area_zh = "[" + ", ".join(f"'{x[2]}'" for x in AREAS) + "]"
    units = "[" + ", ".join(f"'{u}'" for u in UNITS) + "]"
    return f"""
    WITH g AS (
        SELECT k, n,
               hash(k * 1000003 + n) AS h,
               ((k * {a} + n % {a}) % {len(AREAS)}) + 1 AS area_ix,
               (k * 7) % {spread} + n // {a} AS month_ix,
               {units}[k % {len(UNITS)} + 1] AS unit
        FROM range({scale.indicators}) t1(k), range({first_n}, {last_n}) t2(n)
    ), v AS (
        SELECT g.*,
               DATE '{FIRST_MONTH.isoformat()}' + to_months(month_ix::INTEGER) AS month_start,
               CASE unit WHEN 'percent' THEN round(1 + (h % 9900) / 100.0, 1)  -- the intake refuses 0.x as a fraction
                         WHEN 'days' THEN (h % 365)::DOUBLE
                         ELSE (h % 5000)::DOUBLE END AS value
        FROM g
    ), w AS (
        SELECT v.*, CASE WHEN value = trunc(value) THEN value::BIGINT::VARCHAR ELSE value::VARCHAR END
                    || CASE unit WHEN 'percent' THEN '%' ELSE '' END AS value_text
        FROM v
    )
    SELECT
        'bench_' || lpad(k::VARCHAR, 4, '0') AS indicator_id,
        {area_ids}[area_ix] AS area,
        strftime(month_start, '%Y-%m') AS period,
        strftime(month_start, '%B %Y') AS period_label,
        month_start AS period_start,
        last_day(month_start) AS period_end,
        value,
        value_text,
        unit,
        CASE h % 20 WHEN 0 THEN 'more_than' WHEN 1 THEN 'about' ELSE 'exact' END AS qualifier,
        'normal' AS obs_status,
        'Secretariat' AS stated_by,
        'bench-cpas-' || (year(month_start) + 1)::VARCHAR AS source_id,
        'table ' || (k % 12 + 1)::VARCHAR || ', row ' || (n % 40 + 1)::VARCHAR AS locator,
        '综合规划和绩效评估系统数据显示，截至' || year(month_start)::VARCHAR || '年'
            || month(month_start)::VARCHAR || '月，' || {area_zh}[area_ix] || '的指标'
            || lpad(k::VARCHAR, 4, '0') || '为' || value_text || '。' AS quote,
        'CPAS data show that, as of ' || strftime(month_start, '%B %Y') || ', indicator '
            || lpad(k::VARCHAR, 4, '0') || ' for ' || {area_ids}[area_ix] || ' stood at '
            || value_text || '.' AS quote_en,
        CASE WHEN h % 1000 = 0 THEN '-' || (h % 7)::VARCHAR || ' sites did not report this month'
             END AS note,
        k, n
    FROM w
    """


_KNOWN = {  # store column -> SQL over the SELECT above (aliased o)
    "obs_id": "row_number() OVER (ORDER BY o.indicator_id, o.area, o.period)",
    "indicator_id": "o.indicator_id", "area": "o.area", "period": "o.period",
    "period_label": "o.period_label", "period_start": "o.period_start", "period_end": "o.period_end",
    "span_class": "'point'", "span_label": "'month'",
    "value": "o.value", "value_text": "o.value_text", "qualifier": "o.qualifier",
    "obs_status": "o.obs_status", "stated_by": "o.stated_by", "source_id": "o.source_id",
    "locator": "o.locator", "quote": "o.quote", "quote_en": "o.quote_en", "note": "o.note",
    "origin_file": "'bench/synthetic'", "origin_line": "o.n + 2", "vintage": "1",
    "revises_obs_id": "NULL", "is_latest": "true", "revised": "false", "intake_id": "NULL",
    "published_at": "make_timestamp(year(o.period_start) + 1, 3, 31, 0, 0, 0)",
}


def _neutral(column: sa.Column) -> str:
    """A value of the column's type for a column this generator does not know."""
    if column.nullable:
        return "NULL"
    t = column.type
    if isinstance(t, sa.Boolean):
        return "false"
    if isinstance(t, (sa.Integer, sa.Float, sa.Numeric)):
        return "0"
    if isinstance(t, sa.DateTime):
        return "TIMESTAMP '2000-01-01 00:00:00'"
    if isinstance(t, sa.Date):
        return "DATE '2000-01-01'"
    return "''"


def _reference_rows(scale: Scale) -> dict[str, list[dict]]:
    years = range(FIRST_MONTH.year + 1, FIRST_MONTH.year + scale.months // 12 + 2)
    sources = [{
        "source_id": f"bench-cpas-{y}", "symbol": f"S/{y}/9{y % 100:02d}", "cite_as": f"S/{y}/9{y % 100:02d}",
        "title_en": f"Synthetic CPAS performance data, {y} (benchmark)",
        "title_zh": f"综合规划和绩效评估系统绩效数据（{y} 年，基准测试合成数据）",
        "issuing_body": "Secretariat", "date": f"{y}-03-31", "date_start": date(y, 3, 31),
        "date_precision": "day", "url": f"https://undocs.org/S/{y}/9{y % 100:02d}",
        "numbering": "tables", "identification": "synthetic: generated by bench/synth.py",
        "seed_file": None,
    } for y in years]
    areas = [{"area_id": i, "name_en": en, "name_zh": zh, "kind": kind} for i, en, zh, kind in AREAS]
    indicators = [{
        "indicator_id": indicator_id(k), "family": family_of(k, scale),
        "name_en": f"CPAS indicator {k:04d}", "name_zh": f"综合规划和绩效评估系统指标 {k:04d}",
        "unit": UNITS[k % len(UNITS)],
        "definition": f"Synthetic benchmark indicator {k:04d}: one value a month for four areas.",
        "chart": "line", "break_note": None,
    } for k in range(scale.indicators)]
    return {"sources": sources, "areas": areas, "indicators": indicators}


def data_version(scale: Scale) -> str:
    text = repr(sorted(asdict(scale).items())) + "bench-synth-1"
    return "bench-" + hashlib.sha256(text.encode()).hexdigest()[:10]


def generate(target: Path, scale: Scale, with_intake: bool) -> dict:
    """Write the synthetic store at ``target`` (replacing it). Returns counts and seconds."""
    import time

    from data import schema
    from data.schema import meta
    from data.engine import make_engine

    scale.check()
    t0 = time.perf_counter()
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f"{target.name}.tmp-bench-{os.getpid()}")
    for p in (tmp, tmp.with_name(tmp.name + ".wal")):
        p.unlink(missing_ok=True)
    engine = make_engine(tmp, read_only=False)
    generated = scale.per_indicator - (scale.intake_per_indicator if with_intake else 0)
    try:
        if hasattr(schema, "create_all"):
            schema.create_all(engine)
        else:
            schema.metadata.create_all(engine)
        refs = _reference_rows(scale)
        obs_table = schema.metadata.tables.get("observation_vintages")
        if obs_table is None or obs_table.info.get("view"):
            obs_table = schema.metadata.tables["observations"]
        with engine.begin() as conn:
            for name, rows in refs.items():
                table = schema.metadata.tables[name]
                conn.execute(table.insert(), [{c.name: _value(r.get(c.name), c) for c in table.columns}
                                              for r in rows])
            conn.exec_driver_sql("SET enable_progress_bar = false")
            cols = [c for c in obs_table.columns]
            exprs = [_KNOWN.get(c.name, _neutral(c)) for c in cols]
            conn.exec_driver_sql(
                f"INSERT INTO {obs_table.name} ({', '.join(c.name for c in cols)}) "
                f"SELECT {', '.join(exprs)} FROM ({_obs_sql(scale, 0, generated)}) o "
                f"ORDER BY o.indicator_id, o.area, o.period")
            version = data_version(scale)
            conn.execute(meta.insert(), [{"key": "data_version", "value": version},
                                         {"key": "curated_version", "value": version}])
        if hasattr(schema, "refresh_served"):
            with engine.begin() as conn:
                schema.refresh_served(conn)
        with engine.connect() as conn:
            conn.exec_driver_sql("CHECKPOINT")
    finally:
        engine.dispose()
    tmp.with_name(tmp.name + ".wal").unlink(missing_ok=True)
    os.replace(tmp, target)
    return {"observations_generated": generated * scale.indicators, "indicators": scale.indicators,
            "areas": len(AREAS), "sources": len(refs["sources"]), "seconds": time.perf_counter() - t0,
            "bytes": target.stat().st_size}


def _value(value, column: sa.Column):
    """``value``, or a neutral value of the column's type where it would be NULL and may not."""
    if value is not None or column.nullable:
        return value
    t = column.type
    if isinstance(t, sa.Boolean):
        return False
    if isinstance(t, (sa.Integer, sa.Float, sa.Numeric)):
        return 0
    if isinstance(t, sa.DateTime):
        return datetime(2000, 1, 1)
    if isinstance(t, sa.Date):
        return date(2000, 1, 1)
    return ""


def intake_rows_sql(scale: Scale) -> str:
    """The rows the intake spreadsheet carries: the last months of every indicator."""
    return _obs_sql(scale, scale.per_indicator - scale.intake_per_indicator, scale.per_indicator)


def write_curated_csvs(store: Path, folder: Path) -> dict:
    """The store's observations written as curated files are (one CSV per report), plus
    indicators.csv, areas.csv and sources.csv: what the naive per-request baseline re-reads."""
    import duckdb

    folder.mkdir(parents=True, exist_ok=True)
    (folder / "observations").mkdir(exist_ok=True)
    con = duckdb.connect(str(store), read_only=True)
    try:
        cols = ("indicator_id, area, period, period_label, value, value_text, qualifier, obs_status, "
                "stated_by, locator, quote, quote_en, note")
        sources = [r[0] for r in con.execute("SELECT source_id FROM sources ORDER BY 1").fetchall()]
        for sid in sources:
            out = str(folder / "observations" / f"{sid}.csv").replace("'", "''")
            con.execute(f"COPY (SELECT {cols} FROM observations WHERE source_id = '{sid}' "
                        f"ORDER BY indicator_id, area, period) TO '{out}' (HEADER, DELIMITER ',')")
        for name in ("indicators", "areas", "sources"):
            out = str(folder / f"{name}.csv").replace("'", "''")
            con.execute(f"COPY (SELECT * FROM {name}) TO '{out}' (HEADER, DELIMITER ',')")
    finally:
        con.close()
    return {"files": len(sources) + 3,
            "bytes": sum(p.stat().st_size for p in folder.rglob("*.csv"))}


def write_intake_files(scale: Scale, folder: Path, fields: list[str]) -> dict[str, Path]:
    """The intake spreadsheet as a filled template would be: sheet ``Observations`` with the
    intake's own field names as the header (``fields``, from ``data.intake``), as .csv
    (UTF-8, written by DuckDB) and .xlsx (openpyxl's write-only mode, row by row)."""
    import duckdb

    folder.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        con.execute(f"CREATE TEMP TABLE rows AS {intake_rows_sql(scale)} ORDER BY k, n")
        have = {r[0] for r in con.execute("DESCRIBE rows").fetchall()}
        select = ", ".join((f'"{f}"' if f in have else f"NULL AS \"{f}\"") for f in fields)
        csv_path = folder / f"cpas-export-{scale.intake_rows}.csv"
        out = str(csv_path).replace("'", "''")
        con.execute(f"COPY (SELECT {select} FROM rows) TO '{out}' (HEADER, DELIMITER ',')")
        xlsx_path = folder / f"cpas-export-{scale.intake_rows}.xlsx"
        from openpyxl import Workbook
        book = Workbook(write_only=True)
        sheet = book.create_sheet("Observations")
        sheet.append(list(fields))
        result = con.execute(f"SELECT {select} FROM rows")
        while batch := result.fetchmany(5000):
            for row in batch:
                sheet.append(list(row))
        book.save(xlsx_path)
    finally:
        con.close()
    return {"csv": csv_path, "xlsx": xlsx_path}
