"""The few SQL expressions the CSV export uses that DuckDB and PostgreSQL spell differently.

The export builds each CSV line in SQL (``data/export.py``); the statement is SQLAlchemy Core,
so it compiles for either store, but three of its pieces are DuckDB functions:

- ``isnan(x)``: PostgreSQL has no such function; ``x = 'NaN'`` is true there for NaN only
  (PostgreSQL orders NaN as equal to itself, unlike IEEE);
- ``contains(text, part)``: PostgreSQL's is ``strpos(text, part) > 0``;
- a double written as text (``number_text``): DuckDB's ``CAST(x AS VARCHAR)`` is Python's
  ``repr``, which the export's reference (``data.export.cell``) writes. PostgreSQL's float8
  text reads back as the same double but differs in three places: ``Infinity`` for ``inf``;
  an exponent between 1e15 and 1e16 where ``repr`` writes the digits out (``1e+15`` against
  ``1000000000000000.0``), so there the digits are moved around the point here (checked on
  6,000 values by ``tests/test_pg_cluster.py``); and from 1e16 up it sometimes writes 17
  digits where 16 suffice, which no rearranging fixes (no indicator has such values;
  docs/store-interface.md).

Registering ``isnan`` and ``contains`` as SQLAlchemy functions leaves the DuckDB SQL exactly
as it was and only changes how PostgreSQL compiles them.
"""
from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement, GenericFunction


class isnan(GenericFunction):  # noqa: N801 - named as the SQL function, so sa.func.isnan finds it
    type = sa.Boolean()
    inherit_cache = True


class contains(GenericFunction):  # noqa: N801
    type = sa.Boolean()
    inherit_cache = True


@compiles(isnan, "postgresql")
def _isnan_pg(element, compiler, **kw):
    (value,) = list(element.clauses)
    return f"({compiler.process(value, **kw)} = 'NaN'::float8)"


@compiles(contains, "postgresql")
def _contains_pg(element, compiler, **kw):
    text, part = list(element.clauses)
    return f"(strpos({compiler.process(text, **kw)}, {compiler.process(part, **kw)}) > 0)"


class number_text(FunctionElement):  # noqa: N801
    """A double as the text Python's ``repr`` gives it (see the module's note)."""
    type = sa.Text()
    name = "number_text"
    inherit_cache = True


@compiles(number_text)
def _number_text(element, compiler, **kw):
    (value,) = list(element.clauses)
    return compiler.process(sa.cast(value, sa.Text), **kw)


@compiles(number_text, "postgresql")
def _number_text_pg(element, compiler, **kw):
    (v,) = list(element.clauses)
    magnitude = sa.func.abs(v)
    digits = sa.func.replace(sa.func.split_part(sa.cast(magnitude, sa.Text), "e", 1), ".", "")
    spelled_out = (sa.case((v < 0, "-"), else_="")
                   + sa.func.rpad(sa.func.left(digits, 16), 16, "0") + "."
                   + sa.func.coalesce(sa.func.nullif(sa.func.substr(digits, 17), ""), "0"))
    expr = sa.case((v == sa.literal_column("'Infinity'::float8"), "inf"),
                   (v == sa.literal_column("'-Infinity'::float8"), "-inf"),
                   (sa.and_(magnitude >= 1e15, magnitude < 1e16), spelled_out),
                   else_=sa.cast(v, sa.Text))
    return compiler.process(expr, **kw)
