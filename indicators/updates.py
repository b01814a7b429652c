"""What the drop folder did: the files it processed, their problems, the values they added
or revised, and every vintage of a value (for a source panel's history)."""
from __future__ import annotations

import pandas as pd
import sqlalchemy as sa

from data import schema
from data.engine import to_pandas
from data.selection import Filters, by_end_of, day_after
from data.stores import reading

f, e, v = schema.intake_files, schema.intake_errors, schema.observation_vintages
i, s, a = schema.indicators, schema.sources, schema.areas
w, wv = schema.withdrawals, schema.withdrawn_values


def _reader(engine):
    """A reader on ``engine`` when one is handed over, else the answer's (``query.one_reader``)."""
    from indicators import query
    return reading(engine) if engine is not None else query.one_reader()


def _frame(engine, stmt) -> pd.DataFrame:
    with _reader(engine) as r:
        columns, rows = r.rows_named(stmt)
    return pd.DataFrame(rows, columns=columns)


def recent_files(limit: int = 30, engine: sa.Engine | None = None) -> pd.DataFrame:
    """The most recently processed files, newest first, with when and why each accepted one
    was withdrawn (None if it was not)."""
    q = (sa.select(f, w.c.withdrawn_at, w.c.reason.label("withdrawn_reason"))
         .select_from(f.outerjoin(w, w.c.intake_id == f.c.intake_id))
         .order_by(f.c.intake_id.desc()).limit(limit))
    return _frame(engine, q)


def withdrawals(limit: int = 30, engine: sa.Engine | None = None) -> pd.DataFrame:
    """The most recent withdrawals, newest first, with the file each took back."""
    q = (sa.select(w, f.c.original_name, f.c.stored_name, f.c.processed_at.label("accepted_at"))
         .select_from(w.join(f, f.c.intake_id == w.c.intake_id))
         .order_by(w.c.withdrawal_id.desc()).limit(limit))
    return _frame(engine, q)


def file_errors(intake_id: int, limit: int = 200, engine: sa.Engine | None = None) -> pd.DataFrame:
    """A file's problems. Every column the store has: one written before message ids existed
    has no ``msg``/``params`` (``data.messages.error_text`` then shows the English text)."""
    return _frame(engine, sa.text("SELECT * FROM intake_errors WHERE intake_id = :i ORDER BY seq LIMIT :n")
                  .bindparams(i=intake_id, n=limit))


def file_observations(intake_id: int, limit: int = 200, engine: sa.Engine | None = None) -> pd.DataFrame:
    """Values a file added, each with the value it replaced (if it is a later vintage)."""
    prev = v.alias("prev")
    prev_src = s.alias("prev_src")
    q = (sa.select(v.c.obs_id, v.c.indicator_id, i.c.name_en.label("indicator_name"),
                   i.c.name_zh.label("indicator_name_zh"), i.c.unit, v.c.area, a.c.name_en.label("area_name"),
                   a.c.name_zh.label("area_name_zh"),
                   v.c.period, v.c.period_label, v.c.value, v.c.qualifier, v.c.source_id,
                   s.c.cite_as.label("source_cite_as"), v.c.locator, v.c.quote, v.c.quote_en, v.c.note,
                   v.c.origin_line, v.c.vintage, v.c.revised, v.c.is_latest,
                   prev.c.value.label("previous_value"), prev.c.qualifier.label("previous_qualifier"),
                   prev_src.c.cite_as.label("previous_cite_as"), prev.c.locator.label("previous_locator"),
                   wv.c.withdrawn_at)
         .select_from(v.join(i, v.c.indicator_id == i.c.indicator_id)
                      .join(s, v.c.source_id == s.c.source_id)
                      .join(a, v.c.area == a.c.area_id)
                      .outerjoin(prev, prev.c.obs_id == v.c.revises_obs_id)
                      .outerjoin(prev_src, prev.c.source_id == prev_src.c.source_id)
                      .outerjoin(wv, wv.c.obs_id == v.c.obs_id))
         .where(v.c.intake_id == intake_id).order_by(v.c.obs_id).limit(limit))
    return _frame(engine, q)


def history(indicator_id: str, area: str, period: str, engine: sa.Engine | None = None) -> pd.DataFrame:
    """Every vintage of one value, oldest first, with its citation (the latest is last).
    Vintages of a withdrawn file are left out: they no longer count as published."""
    q = (sa.select(v.c.obs_id, v.c.vintage, v.c.value, v.c.qualifier, v.c.revised, v.c.is_latest,
                   v.c.source_id, s.c.cite_as.label("source_cite_as"), v.c.locator, v.c.quote,
                   v.c.quote_en, v.c.published_at, v.c.intake_id, v.c.origin_file, v.c.origin_line)
         .select_from(v.join(s, v.c.source_id == s.c.source_id))
         .where(v.c.indicator_id == indicator_id, v.c.area == area, v.c.period == period,
                v.c.obs_id.not_in(sa.select(wv.c.obs_id)))
         .order_by(v.c.vintage))
    return _frame(engine, q)


def published_between(since, until, families: tuple[str, ...] = (), areas: tuple[str, ...] = (),
                      engine: sa.Engine | None = None) -> pd.DataFrame:
    """Every value published or revised after the day ``since`` and by the end of ``until``
    (a ``date``; None: today), with its citation and the value it was compared with: for a
    revision, the vintage it replaced (``revises_obs_id``); for a new value, the latest
    earlier value of the same indicator, area and kind of period that had been published
    by ``since`` (what the officer could have quoted at the last briefing). Columns are
    those of every page's rows plus ``previous_*``; ``change`` is ``revised`` or ``new``."""
    from datetime import date as _date

    until = until or _date.today()
    after = day_after(since)  # None: nothing can be published after 31 December 9999
    window = (sa.select(*v.c)
              .where(v.c.published_at >= after if after is not None else sa.false(),
                     by_end_of(v.c.published_at, until))
              .subquery("observations"))
    wide = schema.wide_select(window).subquery("wide")
    stmt = sa.select(*wide.c)
    if families:
        stmt = stmt.where(wide.c.family.in_(families))
    if areas:
        stmt = stmt.where(wide.c.area.in_(areas))
    stmt = stmt.order_by(wide.c.family, wide.c.indicator_id, wide.c.area, wide.c.period_end, wide.c.vintage)
    with _reader(engine) as r:  # one data version for the values, those they replaced and the earlier ones
        return _published_between(r, stmt, since, engine)


def _published_between(reader, stmt, since, engine) -> pd.DataFrame:
    from indicators import query
    frame = to_pandas(reader.arrow(stmt))
    cols = ("value", "qualifier", "period", "period_label", "source_cite_as", "locator", "quote", "published_at")
    for c in cols:
        frame[f"previous_{c}"] = None
    frame["change"] = ""
    if frame.empty:
        return frame
    # Revisions: the vintage each replaced, whenever it was published.
    revised_ids = [int(x) for x in frame["revises_obs_id"].dropna()]
    before = pd.DataFrame()
    if revised_ids:
        prev = sa.select(*v.c).where(v.c.obs_id.in_(revised_ids)).subquery("observations")
        before = to_pandas(reader.arrow(sa.select(*schema.wide_select(prev).subquery().c)))
    by_id = {int(r["obs_id"]): r for _i, r in before.iterrows()}
    # New values: the comparable value one could quote on ``since``.
    known = query.observations(Filters(indicators=tuple(frame["indicator_id"].unique()), as_of=since),
                               engine=engine)
    for k, r in frame.iterrows():
        prev = None
        if pd.notna(r["revises_obs_id"]) and int(r["revises_obs_id"]) in by_id:
            prev, frame.at[k, "change"] = by_id[int(r["revises_obs_id"])], "revised"
        else:
            frame.at[k, "change"] = "new"
            if not known.empty:
                same = known[(known["indicator_id"] == r["indicator_id"]) & (known["area"] == r["area"]) &
                             (known["span_label"] == r["span_label"]) & (known["period_end"] <= r["period_end"])]
                if not same.empty:
                    prev = same.sort_values("period_end").iloc[-1]
        if prev is not None:
            for c in cols:
                frame.at[k, f"previous_{c}"] = prev[c]
    return frame
