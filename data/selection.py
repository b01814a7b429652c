"""The one select behind every chart, table and export, and what it is filtered by.

``observations_select`` is the query behind every chart, table and export: the page
draws the frame it returns and the CSV download writes the same rows, so an export cannot
disagree with the chart it came from. Filters become bound parameters, never SQL text.
``Filters`` is what a page, an address or the command line can select; ``EXPORT_COLUMNS``
is the export contract. They belong to the data layer (the exports and the command line
use them without the pages); ``indicators.query`` runs them for the pages and caches the
answers per data version.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING, Iterator

import sqlalchemy as sa

from data import schema
from data.engine import to_pandas

if TYPE_CHECKING:
    import pandas as pd

# The export contract (issue 2, section 5): these columns, in this order.
EXPORT_COLUMNS = (
    "indicator_id", "indicator_name", "family", "area", "period", "period_start", "period_end",
    "value", "unit", "qualifier", "obs_status", "stated_by", "source_id", "source_symbol",
    "source_title", "source_date", "locator", "quote", "quote_en", "note",
)


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


# What a free-text search takes: the words of its first SEARCH_CHARS characters, at most
# SEARCH_WORDS of them (each is one more LIKE over six columns). ``indicators.view.View``
# says when a search is cut.
SEARCH_WORDS = 8
SEARCH_CHARS = 200


def day_after(day: date) -> date | None:
    """The day after ``day``: where "by the end of ``day``" ends. None after 31 December 9999,
    the last day Python (and so a URL's date) can name: nothing is later, so no bound. Every
    "by the end of a day the user typed" goes through this (``day + 1`` overflowed there)."""
    return day + timedelta(days=1) if day < date.max else None


def by_end_of(column, day: date):
    """``column`` (a time) falls on or before ``day``, whatever the day (see ``day_after``)."""
    end = day_after(day)
    return column < end if end is not None else sa.true()


def observations_as_of(as_of: date):
    """The observations as they stood at the end of ``as_of``: for each (indicator, area,
    period), the latest vintage published by then (curated values count as published on
    the last day their report's date can mean; dropped ones when their file was accepted),
    leaving out vintages withdrawn by then."""
    v = schema.observation_vintages
    newest_first = sa.func.row_number().over(partition_by=(v.c.indicator_id, v.c.area, v.c.period),
                                             order_by=v.c.vintage.desc())
    w = schema.withdrawn_values  # a vintage withdrawn by then no longer counts (data/withdraw.py)
    ranked = (sa.select(*v.c, newest_first.label("_rank"))
              .where(by_end_of(v.c.published_at, as_of),
                     v.c.obs_id.not_in(sa.select(w.c.obs_id).where(by_end_of(w.c.withdrawn_at, as_of))))
              .subquery())
    return sa.select(*(c for c in ranked.c if c.name != "_rank")).where(ranked.c._rank == 1) \
        .subquery("observations")


def observations_select(f: Filters = Filters()) -> sa.Select:
    # Today's values come from the wide table each snapshot stores (data.schema.served);
    # "as of" a day, the same columns are joined from the vintages published by then.
    w = schema.wide_select(observations_as_of(f.as_of)).subquery("wide") if f.as_of else schema.served
    q = sa.select(*w.c)
    if f.indicators:
        q = q.where(w.c.indicator_id.in_(f.indicators))
    if f.families:
        q = q.where(w.c.family.in_(f.families))
    if f.areas:
        q = q.where(w.c.area.in_(f.areas))
    if f.sources:
        q = q.where(w.c.source_id.in_(f.sources))
    for word in f.text[:SEARCH_CHARS].split()[:SEARCH_WORDS]:
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


def iter_observations(f: Filters = Filters(), engine: sa.Engine | None = None,
                      chunk: int = 10_000) -> Iterator[tuple[list[str], list[tuple]]]:
    """The rows ``observations_select(f)`` selects, in chunks of row tuples with the column
    names, without holding them all (exports). Read from ``engine``, else from the store the
    settings name (DuckDB or PostgreSQL), one data version throughout."""
    with _reader(engine) as r:
        for batch in r.batches(observations_select(f), chunk):
            if batch.num_rows:
                yield list(batch.schema.names), list(zip(*(column.to_pylist() for column in batch.columns)))


def reference_table(name: str, engine: sa.Engine | None = None) -> pd.DataFrame:
    """A whole reference table (sources, areas, indicators, figures), by its key."""
    t = schema.metadata.tables[name]
    with _reader(engine) as r:
        return to_pandas(r.arrow(sa.select(t).order_by(*t.primary_key.columns)))


def _reader(engine: sa.Engine | None):
    from data.stores import reader_for  # the stores import nothing from here

    return reader_for(engine)
