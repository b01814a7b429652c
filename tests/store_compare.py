"""Every row of a store, read through the store interface, to compare two stores (DuckDB and
PostgreSQL) table by table."""
from __future__ import annotations

import sqlalchemy as sa

from data import schema
from data.selection import Filters, observations_select
from data.stores import open_store


def tables_of(where) -> dict[str, list[tuple]]:
    """Each table's rows (by primary key), the ``observations`` view's, the served table's,
    and the order the export contract depends on (``observations_select``, whole store and
    "as of" a day): row tuples, so dates, timestamps and doubles compare exactly."""
    out: dict[str, list[tuple]] = {}
    with open_store(where).reader() as r:
        present = r.tables()
        for table in [*schema.metadata.sorted_tables, schema.served]:
            if table.name not in present:
                continue
            key = list(table.primary_key.columns) or [table.c.obs_id]
            out[table.name] = [tuple(row) for row in r.rows(sa.select(table).order_by(*key))]
        for name, f in (("export order", Filters()), ("export order as of 2019-06-30",
                                                      Filters(as_of=__import__("datetime").date(2019, 6, 30)))):
            out[name] = [tuple(row) for row in r.rows(observations_select(f))]
    return out


def counts_differ(a: dict, b: dict) -> dict:
    return {name: (len(a.get(name, [])), len(b.get(name, []))) for name in set(a) | set(b)
            if len(a.get(name, [])) != len(b.get(name, []))}
