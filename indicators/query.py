"""Query functions: tidy frames of observations that always carry their citation.

``observations_select`` is the one query behind every chart, table and export: the page
draws the frame it returns and the CSV download writes the same rows, so an export cannot
disagree with the chart it came from. Filters become bound parameters, never SQL text.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Iterator

import pandas as pd
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


def published_by():
    """The first day a report's values count as known: the *last* day its date can mean (a
    report dated "2018-10" is known from 31 October 2018), so "as of" never shows a value
    before it could have been read."""
    year_end = sa.func.make_date(sa.extract("year", s.c.date_start), 12, 31)
    return sa.case((s.c.date_precision == "day", s.c.date_start),
                   (s.c.date_precision == "month", sa.func.last_day(s.c.date_start)),
                   else_=year_end)


def observations_select(f: Filters = Filters()) -> sa.Select:
    cols = [
        o.c.indicator_id, i.c.name_en.label("indicator_name"), i.c.family, o.c.area, o.c.period,
        o.c.period_start, o.c.period_end, o.c.value, i.c.unit, o.c.qualifier, o.c.obs_status,
        o.c.stated_by, o.c.source_id, s.c.symbol.label("source_symbol"),
        s.c.title_en.label("source_title"), s.c.date.label("source_date"), o.c.locator, o.c.quote,
        o.c.quote_en, o.c.note,
        # Beyond the export contract: what pages need to label and trace a value.
        o.c.obs_id, a.c.name_en.label("area_name"), s.c.cite_as.label("source_cite_as"), s.c.url.label("source_url"),
        i.c.name_zh.label("indicator_name_zh"), o.c.period_label, o.c.value_text,
        o.c.origin_file, o.c.origin_line, o.c.span_class, o.c.span_label,
    ]
    q = sa.select(*cols).select_from(o.join(i, o.c.indicator_id == i.c.indicator_id)
                                      .join(s, o.c.source_id == s.c.source_id)
                                      .join(a, o.c.area == a.c.area_id))
    if f.indicators:
        q = q.where(o.c.indicator_id.in_(f.indicators))
    if f.families:
        q = q.where(i.c.family.in_(f.families))
    if f.areas:
        q = q.where(o.c.area.in_(f.areas))
    if f.sources:
        q = q.where(o.c.source_id.in_(f.sources))
    for word in f.text.split()[:8]:
        # "!" escapes LIKE's wildcards: DuckDB takes a one-character escape, and SQLAlchemy
        # would render a backslash as two.
        pattern = "%" + word.replace("!", "!!").replace("%", "!%").replace("_", "!_") + "%"
        q = q.where(sa.or_(*(col.ilike(pattern, escape="!") for col in
                             (i.c.name_en, i.c.name_zh, o.c.quote, o.c.quote_en, o.c.locator, s.c.cite_as))))
    if f.as_of:
        q = q.where(published_by() <= f.as_of)
    if f.cumulative is not None:
        q = q.where((o.c.span_class == "cumulative") if f.cumulative else (o.c.span_class != "cumulative"))
    if f.start:
        q = q.where(o.c.period_end >= f.start)
    if f.end:
        q = q.where(sa.or_(o.c.period_start.is_(None), o.c.period_start <= f.end))
    return q.order_by(o.c.indicator_id, o.c.area, o.c.period_start.nulls_first(), o.c.period_end, o.c.source_id)


def observations(f: Filters = Filters(), engine: sa.Engine | None = None) -> pd.DataFrame:
    """The observations selected by ``f`` as a DataFrame (charts, tables)."""
    with (engine or reader()).connect() as conn:
        result = conn.execute(observations_select(f))
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def iter_observations(f: Filters = Filters(), engine: sa.Engine | None = None,
                      chunk: int = 10_000) -> Iterator[tuple[list[str], list[tuple]]]:
    """The same rows as ``observations``, in chunks, without holding them all (exports)."""
    with (engine or reader()).connect() as conn:
        result = conn.execution_options(stream_results=True).execute(observations_select(f))
        keys = list(result.keys())
        while rows := result.fetchmany(chunk):
            yield keys, rows


def table(name: str, engine: sa.Engine | None = None) -> pd.DataFrame:
    """A whole reference table (sources, areas, indicators, figures)."""
    t = schema.metadata.tables[name]
    with (engine or reader()).connect() as conn:
        result = conn.execute(sa.select(t).order_by(*t.primary_key.columns))
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def period_of(obs_id: int, engine: sa.Engine | None = None) -> tuple[date | None, date] | None:
    """First and last day of one observation's period (what a click on its point selects)."""
    with (engine or reader()).connect() as conn:
        row = conn.execute(sa.select(o.c.period_start, o.c.period_end).where(o.c.obs_id == obs_id)).first()
    return (row.period_start, row.period_end) if row else None
