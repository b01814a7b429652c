"""Query functions: tidy frames of observations that always carry their citation.

``observations_select`` (``data.selection``) is the one query behind every chart, table and
export: the page draws the frame it returns and the CSV download writes the same rows, so an
export cannot disagree with the chart it came from. Here it is run for the pages, and its
answers and summaries are cached per data version.
"""
from __future__ import annotations

import contextvars
import threading
from collections import OrderedDict
from contextlib import contextmanager
from datetime import date
from typing import Iterator

import pandas as pd
import sqlalchemy as sa

from data import schema
from data.engine import to_pandas as _to_pandas
from data.selection import Filters, observations_select
from data.stores import Reader, open_store, reading

# The select, its filters and the export columns are the data layer's (``data.selection``),
# and so is running a select (``data.engine``): import them from there.
__all__ = ["observations", "count", "catalog", "latest", "per_source", "areas_of", "years_of", "table",
           "period_of", "clear_cache", "one_reader"]

o = schema.observations


# -- One reader per answer, frames computed once per data version ---------------------------
#
# Every read goes through the store interface (``data.stores``): a reader is pinned to one
# data version, DuckDB's or PostgreSQL's alike. ``one_reader()`` opens one for a whole answer
# (a page's layout, a callback: ``callbacks.cache`` and ``app`` open it), and every query
# function called inside it reads through that reader, so one answer never mixes two versions;
# called outside one, each function opens a reader of its own.
#
# The data of a version never changes (a build or an intake makes a new version), so a frame
# computed for one version stays true for it: the cache is keyed by the reader's version and
# emptied when a reader of another version asks. Only the store's own readers are cached: an
# engine passed in may be a writer's. Frames are returned as shallow copies, which pandas'
# copy-on-write keeps independent of the cached one. Bounded by memory, least recent first out.
CACHE_BYTES = 1024 * 2**20  # per process (each server worker has its own)
_cache: OrderedDict = OrderedDict()
_cache_version: list = [None, 0]  # [data version the entries were computed for, bytes held]
_cache_lock = threading.Lock()
_ambient: contextvars.ContextVar = contextvars.ContextVar("pkpi_answer_reader", default=None)


@contextmanager
def one_reader() -> Iterator[Reader]:
    """The reader of the answer being made: the one already open in this context, else a
    new one on the store's current version, used by every read inside the block."""
    current = _ambient.get()
    if current is not None:
        yield current
        return
    with open_store().reader() as r:
        token = _ambient.set(r)
        try:
            yield r
        finally:
            _ambient.reset(token)


def _cached(key, engine: sa.Engine | None, compute) -> pd.DataFrame:
    if engine is not None:
        with reading(engine) as r:
            return compute(r)
    with one_reader() as r:
        version = r.version
        with _cache_lock:
            if _cache_version[0] != version:
                _cache.clear()
                _cache_version[:] = [version, 0]
            hit = _cache.get(key)
            if hit is not None:
                _cache.move_to_end(key)
                return hit[0].copy(deep=False)
        frame = compute(r)
    size = int(frame.memory_usage(deep=True).sum())
    with _cache_lock:
        if _cache_version[0] == version and size <= CACHE_BYTES and key not in _cache:
            _cache[key] = (frame, size)
            _cache_version[1] += size
            while _cache_version[1] > CACHE_BYTES:
                _, (_, freed) = _cache.popitem(last=False)
                _cache_version[1] -= freed
    return frame.copy(deep=False)


def clear_cache() -> None:
    with _cache_lock:
        _cache.clear()
        _cache_version[:] = [None, 0]


def observations(f: Filters = Filters(), engine: sa.Engine | None = None, *,
                 limit: int | None = None) -> pd.DataFrame:
    """The observations selected by ``f`` as a DataFrame (charts, tables); with ``limit``,
    only the first ``limit`` of them (DuckDB keeps the top rows, it does not sort them all)."""
    stmt = observations_select(f) if limit is None else observations_select(f).limit(limit)
    return _cached(("observations", f, limit), engine, lambda r: _to_pandas(r.arrow(stmt)))


# -- Summaries asked of the store: what a page needs about a selection, not the selection --

def _selected(f: Filters):
    """The selection ``f`` as a subquery to aggregate over (its order does not matter)."""
    return observations_select(f).order_by(None).subquery()


def _summary(name: str, f: Filters, stmt, engine: sa.Engine | None) -> pd.DataFrame:
    return _cached((name, f), engine, lambda r: _to_pandas(r.arrow(stmt)))


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


def table(name: str, engine: sa.Engine | None = None) -> pd.DataFrame:
    """A whole reference table (sources, areas, indicators, figures)."""
    t = schema.metadata.tables[name]
    stmt = sa.select(t).order_by(*t.primary_key.columns)  # as data.selection.reference_table
    return _cached(("table", name), engine, lambda r: _to_pandas(r.arrow(stmt)))


def period_of(obs_id: int, engine: sa.Engine | None = None) -> tuple[date | None, date] | None:
    """First and last day of one observation's period (what a click on its point selects)."""
    with (reading(engine) if engine is not None else one_reader()) as r:
        rows = r.rows(sa.select(o.c.period_start, o.c.period_end).where(o.c.obs_id == obs_id))
    return (rows[0].period_start, rows[0].period_end) if rows else None
