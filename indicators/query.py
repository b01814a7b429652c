"""Query functions: tidy frames of observations that always carry their citation.

``observations_select`` is the one query behind every chart, table and export: the page
draws the frame it returns and the CSV download writes the same rows, so an export cannot
disagree with the chart it came from. Filters become bound parameters, never SQL text.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Iterator

import pandas as pd
import pyarrow as pa
import sqlalchemy as sa

from data import schema
from data.engine import reader

# The export contract (issue 2, section 5): these columns, in this order.
EXPORT_COLUMNS = (
    "indicator_id", "indicator_name", "family", "area", "period", "period_start", "period_end",
    "value", "unit", "qualifier", "obs_status", "stated_by", "source_id", "source_symbol",
    "source_title", "source_date", "locator", "quote", "quote_en", "note",
)

o, i, s, a = schema.observations, schema.indicators, schema.sources, schema.areas


@dataclass(frozen=True)
class Filters:
    """What a page, a URL or the command line can select. Empty means everything."""
    indicators: tuple[str, ...] = ()
    families: tuple[str, ...] = ()
    areas: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    start: date | None = None  # keep values whose period ends on or after this day
    end: date | None = None    # keep values whose period starts on or before this day
    cumulative: bool | None = None  # True: only cumulative totals; False: none of them
    text: str = ""  # words that must all appear in the indicator name, quote, English or locator
    as_of: date | None = None  # only what had been published by this day


def _as_of(as_of: date):
    """The observations as they stood at the end of ``as_of``: for each (indicator, area,
    period), the latest vintage published by then (curated values count as published on
    the last day their report's date can mean; dropped ones when their file was accepted),
    leaving out vintages withdrawn by then."""
    v = schema.observation_vintages
    newest_first = sa.func.row_number().over(partition_by=(v.c.indicator_id, v.c.area, v.c.period),
                                             order_by=v.c.vintage.desc())
    end = as_of + timedelta(days=1)
    w = schema.withdrawn_values  # a vintage withdrawn by then no longer counts (data/withdraw.py)
    ranked = (sa.select(*v.c, newest_first.label("_rank"))
              .where(v.c.published_at < end,
                     v.c.obs_id.not_in(sa.select(w.c.obs_id).where(w.c.withdrawn_at < end)))
              .subquery())
    return sa.select(*(c for c in ranked.c if c.name != "_rank")).where(ranked.c._rank == 1) \
        .subquery("observations")


def observations_select(f: Filters = Filters()) -> sa.Select:
    # Today's values come from the wide table each snapshot stores (data.schema.served);
    # "as of" a day, the same columns are joined from the vintages published by then.
    w = schema.wide_select(_as_of(f.as_of)).subquery("wide") if f.as_of else schema.served
    q = sa.select(*w.c)
    if f.indicators:
        q = q.where(w.c.indicator_id.in_(f.indicators))
    if f.families:
        q = q.where(w.c.family.in_(f.families))
    if f.areas:
        q = q.where(w.c.area.in_(f.areas))
    if f.sources:
        q = q.where(w.c.source_id.in_(f.sources))
    for word in f.text.split()[:8]:
        # "!" escapes LIKE's wildcards: DuckDB takes a one-character escape, and SQLAlchemy
        # would render a backslash as two.
        pattern = "%" + word.replace("!", "!!").replace("%", "!%").replace("_", "!_") + "%"
        q = q.where(sa.or_(*(col.ilike(pattern, escape="!") for col in
                             (w.c.indicator_name, w.c.indicator_name_zh, w.c.quote, w.c.quote_en, w.c.locator,
                              w.c.source_cite_as))))
    if f.cumulative is not None:
        q = q.where((w.c.span_class == "cumulative") if f.cumulative else (w.c.span_class != "cumulative"))
    if f.start:
        q = q.where(w.c.period_end >= f.start)
    if f.end:
        q = q.where(sa.or_(w.c.period_start.is_(None), w.c.period_start <= f.end))
    # Always sorted, though served_observations is stored in this order: at a million rows
    # a parallel, streamed scan does not keep it (the export's two writers then disagreed).
    return q.order_by(w.c.indicator_id, w.c.area, w.c.period_start.nulls_first(), w.c.period_end, w.c.source_id)


# -- Execution: SQLAlchemy builds and binds the query, DuckDB runs it and hands over Arrow --
#
# Fetching rows through SQLAlchemy builds a Python tuple per row and a Python object per
# cell; at a million observations that is most of the cost of a page (15 s for 700,000 rows
# against 1 s this way, see bench/README.md). So the statement is compiled by SQLAlchemy
# (the parameters stay bound, never pasted into SQL text) and executed on the raw DuckDB
# connection, whose result comes back as Arrow columns. The frame is the same as before,
# column for column: dates as ``datetime.date`` (None when open), text as pandas strings.


def _compiled(stmt, engine: sa.Engine) -> tuple[str, list]:
    c = stmt.compile(dialect=engine.dialect, compile_kwargs={"render_postcompile": True})
    return c.string, [c.params[k] for k in (c.positiontup or ())]


def _raw(conn):
    raw = conn.connection.driver_connection
    raw.execute("SET enable_progress_bar = false")  # DuckDB would draw one on stdout
    return raw


def _to_pandas(arrow: pa.Table) -> pd.DataFrame:
    if arrow.num_rows == 0:  # as a frame of no Python rows: untyped columns
        return pd.DataFrame([], columns=arrow.column_names)
    frame = arrow.to_pandas(date_as_object=True)
    # Python ints and floats became int64 and float64: widen INTEGER and REAL columns alike.
    for name, kind in zip(arrow.column_names, arrow.schema.types):
        if pa.types.is_float32(kind):
            frame[name] = frame[name].astype("float64")
        elif pa.types.is_integer(kind):  # with NULLs, pandas infers from the Python values
            column = arrow.column(name)
            frame[name] = (frame[name].astype("int64") if not column.null_count
                           else pd.Series(column.to_pylist(), index=frame.index))
    return frame


def _arrow(stmt, engine: sa.Engine) -> pa.Table:
    sql, params = _compiled(stmt, engine)
    with engine.connect() as conn:
        return _raw(conn).sql(sql, params=params).to_arrow_table()


# -- Frames are computed once per data version ------------------------------------------------
#
# The served store never changes in place: a build or an intake swaps in a new file, and
# ``reader()`` then returns a new engine. So a frame computed on one reader engine stays true
# for as long as that engine is current, and the cache is keyed by it (held strongly, so the
# identity cannot be reused) and emptied when it changes. Only the default reader is cached:
# an engine passed in may be a writer's. Frames are returned as shallow copies, which pandas'
# copy-on-write keeps independent of the cached one. Bounded by memory, least recent first out.
CACHE_BYTES = 1024 * 2**20  # per process (each server worker has its own)
_cache: OrderedDict = OrderedDict()
_cache_engine: list = [None, 0]  # [engine the entries were computed on, bytes held]
_cache_lock = threading.Lock()


def _cached(key, engine: sa.Engine | None, compute) -> pd.DataFrame:
    if engine is not None:
        return compute(engine)
    current = reader()
    with _cache_lock:
        if _cache_engine[0] is not current:
            _cache.clear()
            _cache_engine[:] = [current, 0]
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return hit[0].copy(deep=False)
    frame = compute(current)
    size = int(frame.memory_usage(deep=True).sum())
    with _cache_lock:
        if _cache_engine[0] is current and size <= CACHE_BYTES and key not in _cache:
            _cache[key] = (frame, size)
            _cache_engine[1] += size
            while _cache_engine[1] > CACHE_BYTES:
                _, (_, freed) = _cache.popitem(last=False)
                _cache_engine[1] -= freed
    return frame.copy(deep=False)


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()
        _cache_engine[:] = [None, 0]


def observations(f: Filters = Filters(), engine: sa.Engine | None = None, *,
                 limit: int | None = None) -> pd.DataFrame:
    """The observations selected by ``f`` as a DataFrame (charts, tables); with ``limit``,
    only the first ``limit`` of them (DuckDB keeps the top rows, it does not sort them all)."""
    stmt = observations_select(f) if limit is None else observations_select(f).limit(limit)
    return _cached(("observations", f, limit), engine, lambda e: _to_pandas(_arrow(stmt, e)))


# -- Summaries asked of DuckDB: what a page needs about a selection, not the selection --

def _selected(f: Filters):
    """The selection ``f`` as a subquery to aggregate over (its order does not matter)."""
    return observations_select(f).order_by(None).subquery()


def _summary(name: str, f: Filters, stmt, engine: sa.Engine | None) -> pd.DataFrame:
    return _cached((name, f), engine, lambda e: _to_pandas(_arrow(stmt, e)))


def count(f: Filters = Filters(), engine: sa.Engine | None = None) -> int:
    """How many observations ``f`` selects, counted in DuckDB (nothing is fetched)."""
    frame = _summary("count", f, sa.select(sa.func.count()).select_from(_selected(f)), engine)
    return int(frame.iloc[0, 0])


def catalog(f: Filters = Filters(), engine: sa.Engine | None = None) -> pd.DataFrame:
    """The indicators ``f`` selects, with how many values each has (most first): what a
    page's indicator list shows, counted in DuckDB rather than from every row."""
    sub = _selected(f)
    n = sa.func.count().label("n")
    stmt = (sa.select(sub.c.indicator_id, sub.c.indicator_name, sub.c.unit, n, sub.c.indicator_name_zh)
            .group_by(sub.c.indicator_id, sub.c.indicator_name, sub.c.unit, sub.c.indicator_name_zh)
            .order_by(n.desc(), sub.c.indicator_id))
    frame = _summary("catalog", f, stmt, engine)
    if frame.empty:
        return pd.DataFrame(columns=["indicator_id", "indicator_name", "unit", "n", "indicator_name_zh"])
    return frame


def latest(f: Filters = Filters(), engine: sa.Engine | None = None) -> pd.DataFrame:
    """One row per indicator selected by ``f``: the value with the latest period (ties: all
    operations first, then the newest report), chosen in DuckDB. The same rows as
    ``indicators.registry.latest`` of the whole selection (tested), without fetching it."""
    sub = _selected(f)
    rank = sa.func.row_number().over(
        partition_by=sub.c.indicator_id,
        order_by=(sub.c.period_end.desc(), (sub.c.area != "all_pko"), sub.c.source_date.desc(),
                  sub.c.area, sub.c.period_start.nulls_first(), sub.c.source_id)).label("_rank")
    # Ranked on the key columns only, then the chosen rows fetched whole: sorting a million
    # rows with their quotes attached was most of the Overview's time.
    ranked = sa.select(sub.c.obs_id, rank).subquery()
    chosen = sa.select(ranked.c.obs_id).where(ranked.c._rank == 1)
    whole = observations_select(f)
    stmt = whole.where(whole.selected_columns["obs_id"].in_(chosen.scalar_subquery()))
    return _summary("latest", f, stmt, engine)


def per_source(f: Filters = Filters(), engine: sa.Engine | None = None) -> pd.DataFrame:
    """``source_id``, ``n`` (values) and ``indicators`` (how many) of what ``f`` selects."""
    sub = _selected(f)
    stmt = sa.select(sub.c.source_id, sa.func.count().label("n"),
                     sa.func.count(sa.distinct(sub.c.indicator_id)).label("indicators")) \
        .group_by(sub.c.source_id).order_by(sub.c.source_id)
    return _summary("per_source", f, stmt, engine)


def areas_of(f: Filters = Filters(), engine: sa.Engine | None = None) -> pd.DataFrame:
    """The areas ``f`` selects: ``area``, ``area_name``, ``area_name_zh``."""
    sub = _selected(f)
    stmt = sa.select(sub.c.area, sub.c.area_name, sub.c.area_name_zh).distinct().order_by(sub.c.area)
    return _summary("areas", f, stmt, engine)


def years_of(f: Filters = Filters(), engine: sa.Engine | None = None) -> tuple[int, int] | None:
    """The first and last year any period selected by ``f`` touches (None: nothing selected)."""
    sub = _selected(f)
    stmt = sa.select(sa.func.min(sa.func.coalesce(sub.c.period_start, sub.c.period_end)),
                     sa.func.max(sub.c.period_end))
    frame = _summary("years", f, stmt, engine)
    first, last = frame.iloc[0, 0], frame.iloc[0, 1]
    return None if first is None or pd.isna(first) else (first.year, last.year)


def iter_observations(f: Filters = Filters(), engine: sa.Engine | None = None,
                      chunk: int = 10_000) -> Iterator[tuple[list[str], list[tuple]]]:
    """The same rows as ``observations``, in chunks, without holding them all (exports)."""
    engine = engine or reader()
    sql, params = _compiled(observations_select(f), engine)
    with engine.connect() as conn:
        batches = _raw(conn).sql(sql, params=params).to_arrow_reader(chunk)
        keys = list(batches.schema.names)
        for batch in batches:
            if batch.num_rows:
                yield keys, list(zip(*(column.to_pylist() for column in batch.columns)))


def table(name: str, engine: sa.Engine | None = None) -> pd.DataFrame:
    """A whole reference table (sources, areas, indicators, figures)."""
    t = schema.metadata.tables[name]
    return _cached(("table", name), engine,
                   lambda e: _to_pandas(_arrow(sa.select(t).order_by(*t.primary_key.columns), e)))


def period_of(obs_id: int, engine: sa.Engine | None = None) -> tuple[date | None, date] | None:
    """First and last day of one observation's period (what a click on its point selects)."""
    with (engine or reader()).connect() as conn:
        row = conn.execute(sa.select(o.c.period_start, o.c.period_end).where(o.c.obs_id == obs_id)).first()
    return (row.period_start, row.period_end) if row else None
