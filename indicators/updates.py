"""What the drop folder did: the files it processed, their problems, the values they added
or revised, and every vintage of a value (for a source panel's history)."""
from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from data import schema
from data.engine import reader

f, e, v = schema.intake_files, schema.intake_errors, schema.observation_vintages
i, s = schema.indicators, schema.sources


def _frame(engine, query) -> pd.DataFrame:
    with (engine or reader()).connect() as conn:
        result = conn.execute(query)
        return pd.DataFrame(result.fetchall(), columns=list(result.keys()))


def recent_files(limit: int = 30, engine: sa.Engine | None = None) -> pd.DataFrame:
    """The most recently processed files, newest first."""
    return _frame(engine, sa.select(f).order_by(f.c.intake_id.desc()).limit(limit))


def file_errors(intake_id: int, limit: int = 200, engine: sa.Engine | None = None) -> pd.DataFrame:
    """A file's problems. Every column the store has: one written before message ids existed
    has no ``msg``/``params`` (``data.messages.error_text`` then shows the English text)."""
    return _frame(engine, sa.text("SELECT * FROM intake_errors WHERE intake_id = :i ORDER BY seq LIMIT :n")
                  .bindparams(i=intake_id, n=limit))


def file_observations(intake_id: int, limit: int = 200, engine: sa.Engine | None = None) -> pd.DataFrame:
    """Values a file added, each with the value it replaced (if it is a later vintage)."""
    prev = v.alias("prev")
    prev_src = s.alias("prev_src")
    q = (sa.select(v.c.obs_id, v.c.indicator_id, i.c.name_en.label("indicator_name"), i.c.unit, v.c.area,
                   v.c.period, v.c.period_label, v.c.value, v.c.qualifier, v.c.source_id,
                   s.c.cite_as.label("source_cite_as"), v.c.locator, v.c.quote, v.c.quote_en, v.c.note,
                   v.c.origin_line, v.c.vintage, v.c.revised, v.c.is_latest,
                   prev.c.value.label("previous_value"), prev.c.qualifier.label("previous_qualifier"),
                   prev_src.c.cite_as.label("previous_cite_as"), prev.c.locator.label("previous_locator"))
         .select_from(v.join(i, v.c.indicator_id == i.c.indicator_id)
                      .join(s, v.c.source_id == s.c.source_id)
                      .outerjoin(prev, prev.c.obs_id == v.c.revises_obs_id)
                      .outerjoin(prev_src, prev.c.source_id == prev_src.c.source_id))
         .where(v.c.intake_id == intake_id).order_by(v.c.obs_id).limit(limit))
    return _frame(engine, q)


def history(indicator_id: str, area: str, period: str, engine: sa.Engine | None = None) -> pd.DataFrame:
    """Every vintage of one value, oldest first, with its citation (the latest is last)."""
    q = (sa.select(v.c.obs_id, v.c.vintage, v.c.value, v.c.qualifier, v.c.revised, v.c.is_latest,
                   v.c.source_id, s.c.cite_as.label("source_cite_as"), v.c.locator, v.c.quote,
                   v.c.quote_en, v.c.published_at, v.c.intake_id, v.c.origin_file, v.c.origin_line)
         .select_from(v.join(s, v.c.source_id == s.c.source_id))
         .where(v.c.indicator_id == indicator_id, v.c.area == area, v.c.period == period)
         .order_by(v.c.vintage))
    return _frame(engine, q)
