"""The store's tables (SQLAlchemy Core), in the manner of SDMX observations.

``observation_vintages`` holds every value ever published for an (indicator, area, period),
with everything needed to quote it: the locator in the report, the verbatim quote and its
English rendering, who stated it, and where the row itself came from (curated file and
line, or dropped spreadsheet, sheet and row). A later value for the same key is a new
*vintage* (``vintage`` 2, 3, ...; ``revises_obs_id`` names the one it replaces); the older
one is kept, with ``is_latest`` false.

``observations`` is a view of the latest vintage of each key: what every page, chart and
export shows by default, so a superseded value can never be drawn by mistake. ``revised``
says that the value replaced an earlier, different one (the page marks it); the history is
in ``observation_vintages``.

``intake_files`` records every spreadsheet the drop folder processed, accepted or not, and
``intake_errors`` the problems found in it. Sources, areas and indicators declared in a
dropped file carry its ``intake_id``; curated ones have none. A withdrawn file's values stay
in ``observation_vintages``; ``withdrawn_values`` says since when each no longer counts (the
latest vintage is then the newest one not withdrawn).

``meta`` says which data version the store holds: ``data_version`` (a hash of the curated
files, every accepted file and every withdrawal, in order: ``data.build.data_version``)
and ``curated_version`` (of the curated files alone); a cache key for anything derived.
"""
from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

meta = sa.Table(
    "meta", metadata,
    sa.Column("key", sa.Text, primary_key=True),  # data_version, curated_version
    sa.Column("value", sa.Text, nullable=False),
)

sources = sa.Table(
    "sources", metadata,
    sa.Column("source_id", sa.Text, primary_key=True),
    sa.Column("symbol", sa.Text, nullable=True),  # one report has no confirmed symbol
    sa.Column("cite_as", sa.Text, nullable=False),  # the symbol, or a short title and date
    sa.Column("title_en", sa.Text, nullable=False),
    sa.Column("title_zh", sa.Text, nullable=False),
    sa.Column("issuing_body", sa.Text, nullable=False),
    sa.Column("date", sa.Text, nullable=False),  # ISO, to the precision known
    sa.Column("date_start", sa.Date, nullable=False),  # first day the date can mean
    sa.Column("date_precision", sa.Text, nullable=False),
    sa.Column("url", sa.Text, nullable=True),
    sa.Column("numbering", sa.Text, nullable=False),
    sa.Column("identification", sa.Text, nullable=False),
    sa.Column("seed_file", sa.Text, nullable=True),  # none for a source declared in a dropped file
    sa.Column("intake_id", sa.Integer, nullable=True),
)

areas = sa.Table(
    "areas", metadata,
    sa.Column("area_id", sa.Text, primary_key=True),
    sa.Column("name_en", sa.Text, nullable=False),
    sa.Column("name_zh", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
    sa.Column("intake_id", sa.Integer, nullable=True),
)

indicators = sa.Table(
    "indicators", metadata,
    sa.Column("indicator_id", sa.Text, primary_key=True),
    sa.Column("family", sa.Text, nullable=False),
    sa.Column("name_en", sa.Text, nullable=False),
    sa.Column("name_zh", sa.Text, nullable=False),
    sa.Column("unit", sa.Text, nullable=False),
    sa.Column("definition", sa.Text, nullable=False),
    sa.Column("chart", sa.Text, nullable=False),
    sa.Column("break_note", sa.Text, nullable=True),
    sa.Column("intake_id", sa.Integer, nullable=True),
)

figures = sa.Table(
    "figures", metadata,
    sa.Column("source_id", sa.Text, sa.ForeignKey("sources.source_id"), primary_key=True),
    sa.Column("figure", sa.Text, primary_key=True),
    sa.Column("locator", sa.Text, nullable=False),
    sa.Column("caption_quote", sa.Text, nullable=False),
    sa.Column("caption_en", sa.Text, nullable=False),
    sa.Column("indicator_ids", sa.Text, nullable=False),  # ';'-separated
    sa.Column("note", sa.Text, nullable=True),
)

intake_files = sa.Table(
    "intake_files", metadata,
    sa.Column("intake_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("sha256", sa.Text, nullable=False),  # of the file's bytes: the same content twice is one file
    sa.Column("original_name", sa.Text, nullable=False),  # as saved in the inbox
    sa.Column("stored_name", sa.Text, nullable=False),  # under dropbox/<folder>/, never reused
    sa.Column("folder", sa.Text, nullable=False),  # accepted or rejected
    sa.Column("status", sa.Text, nullable=False),  # accepted, rejected, or duplicate (applied before)
    sa.Column("duplicate_of", sa.Integer, nullable=True),  # the intake that applied it first
    sa.Column("size_bytes", sa.BigInteger, nullable=False),
    sa.Column("rows_read", sa.Integer, nullable=False),
    sa.Column("added", sa.Integer, nullable=False),  # values with no earlier vintage
    sa.Column("revised", sa.Integer, nullable=False),  # values that replace an earlier vintage
    sa.Column("unchanged", sa.Integer, nullable=False),  # rows already published exactly so
    sa.Column("declared", sa.Integer, nullable=False),  # new sources, areas and indicators
    sa.Column("error_count", sa.Integer, nullable=False),  # all problems, even beyond those listed
    sa.Column("summary", sa.Text, nullable=False),  # one plain sentence
    sa.Column("received_at", sa.DateTime, nullable=False),  # UTC: last change of the file in the inbox
    sa.Column("processed_at", sa.DateTime, nullable=False),  # UTC
)

intake_errors = sa.Table(
    "intake_errors", metadata,
    sa.Column("intake_id", sa.Integer, sa.ForeignKey("intake_files.intake_id"), primary_key=True),
    sa.Column("seq", sa.Integer, primary_key=True),
    sa.Column("code", sa.Text, nullable=False),  # frictionless-style: type-error, missing-label, ...
    sa.Column("sheet", sa.Text, nullable=False),
    sa.Column("row", sa.Integer, nullable=True),
    sa.Column("column", sa.Text, nullable=False),
    sa.Column("cell", sa.Text, nullable=False),  # E12, or empty
    sa.Column("value", sa.Text, nullable=False),
    sa.Column("message", sa.Text, nullable=False),  # in English, whole
    # The message's id in data.messages and its parameters (JSON): shown in the reader's
    # language. Stores made before they existed lack both (add_message_columns).
    sa.Column("msg", sa.Text, nullable=True),
    sa.Column("params", sa.Text, nullable=True),
)


def add_message_columns(conn) -> None:
    """Give an older store's ``intake_errors`` the ``msg`` and ``params`` columns (its rows
    keep NULL there and are shown by their English ``message``). Inside the writer's
    transaction, on the snapshot being written. A PostgreSQL store was always made with them
    (and an ALTER TABLE there would lock the table against every reader until the commit)."""
    if conn.dialect.name != "duckdb":
        return
    for name in ("msg", "params"):
        conn.exec_driver_sql(f"ALTER TABLE intake_errors ADD COLUMN IF NOT EXISTS {name} VARCHAR")


# A withdrawn file (``data/withdraw.py``): its values leave the current view, nothing is
# deleted. ``withdrawals`` says which file, when, why and by which request; ``withdrawn_values``
# names each vintage withdrawn and since when, so that an "as of" view before that moment
# still shows it and one after shows the earlier vintage (or nothing) instead.
withdrawals = sa.Table(
    "withdrawals", metadata,
    sa.Column("withdrawal_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("intake_id", sa.Integer, nullable=False),  # the accepted file withdrawn
    sa.Column("withdrawn_at", sa.DateTime, nullable=False),  # UTC
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("requested_by", sa.Text, nullable=False),  # "inbox" or "command line"
    sa.Column("request", sa.Text, nullable=False),  # the request file as kept, or user@host
    sa.Column("request_intake_id", sa.Integer, nullable=True),  # the request file's own record
    sa.Column("removed", sa.Integer, nullable=False),  # values that left the current view
    sa.Column("restored", sa.Integer, nullable=False),  # of them, keys whose earlier value is current again
    sa.Column("superseded", sa.Integer, nullable=False),  # values later files had already revised
    sa.Column("later_files", sa.Text, nullable=False),  # their stored names, ';'-separated
)

withdrawn_values = sa.Table(
    "withdrawn_values", metadata,
    sa.Column("obs_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("withdrawal_id", sa.Integer, nullable=False),
    sa.Column("withdrawn_at", sa.DateTime, nullable=False),
)

_OBSERVATION_COLUMNS = (
    ("obs_id", sa.Integer), ("indicator_id", sa.Text), ("area", sa.Text), ("period", sa.Text),
    ("period_label", sa.Text), ("period_start", sa.Date), ("period_end", sa.Date),
    ("span_class", sa.Text), ("span_label", sa.Text),
    ("value", sa.Double), ("value_text", sa.Text), ("qualifier", sa.Text), ("obs_status", sa.Text),
    ("stated_by", sa.Text), ("source_id", sa.Text), ("locator", sa.Text), ("quote", sa.Text),
    ("quote_en", sa.Text), ("note", sa.Text), ("origin_file", sa.Text), ("origin_line", sa.Integer),
    ("vintage", sa.Integer), ("revises_obs_id", sa.Integer), ("is_latest", sa.Boolean),
    ("revised", sa.Boolean), ("intake_id", sa.Integer), ("published_at", sa.DateTime),
)
NULLABLE = {"period_start", "note", "revises_obs_id", "intake_id"}

observation_vintages = sa.Table(
    "observation_vintages", metadata,
    sa.Column("obs_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("indicator_id", sa.Text, sa.ForeignKey("indicators.indicator_id"), nullable=False),
    sa.Column("area", sa.Text, sa.ForeignKey("areas.area_id"), nullable=False),
    sa.Column("period", sa.Text, nullable=False),
    sa.Column("period_label", sa.Text, nullable=False),
    sa.Column("period_start", sa.Date, nullable=True),  # None: open start ("before 2023")
    sa.Column("period_end", sa.Date, nullable=False),
    # Kind of period (data.periods.span): values are comparable, and joined on a chart,
    # only within one span_label; span_class "cumulative" ("since 1948") is charted apart.
    sa.Column("span_class", sa.Text, nullable=False),
    sa.Column("span_label", sa.Text, nullable=False),
    sa.Column("value", sa.Double, nullable=False),  # DOUBLE: sa.Float is 32-bit in DuckDB (7.3 -> 7.300000190734863)
    sa.Column("value_text", sa.Text, nullable=False),
    sa.Column("qualifier", sa.Text, nullable=False),
    sa.Column("obs_status", sa.Text, nullable=False),
    sa.Column("stated_by", sa.Text, nullable=False),
    sa.Column("source_id", sa.Text, sa.ForeignKey("sources.source_id"), nullable=False),
    sa.Column("locator", sa.Text, nullable=False),
    sa.Column("quote", sa.Text, nullable=False),
    sa.Column("quote_en", sa.Text, nullable=False),
    sa.Column("note", sa.Text, nullable=True),
    # Where the row came from: the curated CSV and its line, or the dropped file as kept in
    # the drop folder ("dropbox/accepted/<name>, sheet Observations") and the sheet's row.
    sa.Column("origin_file", sa.Text, nullable=False),
    sa.Column("origin_line", sa.Integer, nullable=False),
    sa.Column("vintage", sa.Integer, nullable=False),  # 1, 2, ... per (indicator, area, period)
    sa.Column("revises_obs_id", sa.Integer, nullable=True),  # the vintage this one replaces
    sa.Column("is_latest", sa.Boolean, nullable=False),
    sa.Column("revised", sa.Boolean, nullable=False),  # replaces an earlier, different value
    sa.Column("intake_id", sa.Integer, sa.ForeignKey("intake_files.intake_id"), nullable=True),
    # When the value was published: the report's date for a curated value, the time the file
    # was accepted for a dropped one (UTC).
    sa.Column("published_at", sa.DateTime, nullable=False),
    sa.UniqueConstraint("indicator_id", "area", "period", "vintage"),
)

# The view every reader uses. It is in ``metadata`` so that code listing the store's tables
# sees it, but it is a view: create the store with ``create_all`` below, never with
# ``metadata.create_all`` (which would make it a table).
observations = sa.Table(
    "observations", metadata,
    *(sa.Column(name, kind, primary_key=(name == "obs_id"), nullable=name in NULLABLE)
      for name, kind in _OBSERVATION_COLUMNS),
    info={"view": True},
)
OBSERVATIONS_VIEW = ("CREATE VIEW observations AS SELECT * FROM observation_vintages "
                     "WHERE is_latest")


def create_all(engine: sa.Engine) -> None:
    """Create every table and the ``observations`` view in an empty store."""
    metadata.create_all(engine, tables=[t for t in metadata.sorted_tables if not t.info.get("view")])
    with engine.begin() as conn:
        conn.execute(sa.text(OBSERVATIONS_VIEW))


# -- What pages read: one wide table per data version ------------------------------------
#
# Every chart, table and export reads the latest observations joined to their indicator,
# source and area. Joining per request costs a scan of every vintage (the family filter is
# on the indicator, so nothing can be skipped); at a million observations that was most of
# a chart's query. So each snapshot stores the joined rows once, sorted the way pages ask
# for them (by indicator first): DuckDB then reads only the row groups of the indicators
# asked for. It is derived, never written to directly: ``refresh_served`` rebuilds it, and
# every snapshot is finished by it (``data.store.new_snapshot``).
SERVED = "served_observations"
SERVED_ORDER = ("indicator_id", "area", "period_start", "period_end", "source_id")


def wide_select(o=observations) -> sa.Select:
    """The latest observations (or ``o``, e.g. vintages as they stood on a day) with the
    names, citation and area every page and export shows beside a value."""
    i, s, a = indicators, sources, areas
    cols = [
        o.c.indicator_id, i.c.name_en.label("indicator_name"), i.c.family, o.c.area, o.c.period,
        o.c.period_start, o.c.period_end, o.c.value, i.c.unit, o.c.qualifier, o.c.obs_status,
        o.c.stated_by, o.c.source_id, s.c.symbol.label("source_symbol"),
        s.c.title_en.label("source_title"), s.c.date.label("source_date"), o.c.locator, o.c.quote,
        o.c.quote_en, o.c.note,
        # Beyond the export contract: what pages need to label and trace a value.
        o.c.obs_id, a.c.name_en.label("area_name"), a.c.name_zh.label("area_name_zh"),
        s.c.cite_as.label("source_cite_as"), s.c.url.label("source_url"),
        i.c.name_zh.label("indicator_name_zh"), o.c.period_label, o.c.value_text,
        o.c.origin_file, o.c.origin_line, o.c.span_class, o.c.span_label,
        # Vintages (issue 5): the view holds the latest; revised marks a corrected value.
        o.c.revised, o.c.vintage, o.c.revises_obs_id, o.c.intake_id, o.c.published_at,
    ]
    return sa.select(*cols).select_from(o.join(i, o.c.indicator_id == i.c.indicator_id)
                                        .join(s, o.c.source_id == s.c.source_id)
                                        .join(a, o.c.area == a.c.area_id))


served = sa.Table(SERVED, sa.MetaData(),  # not in ``metadata``: create_all never makes it
                  *(sa.Column(c.name, c.type) for c in wide_select().selected_columns))


def refresh_served(conn) -> None:
    """Rebuild ``served_observations`` from the tables (inside the writer's transaction)."""
    select = wide_select()
    by = [select.selected_columns[name] for name in SERVED_ORDER]
    by[2] = by[2].nulls_first()
    sql = select.order_by(*by).compile(dialect=conn.dialect, compile_kwargs={"literal_binds": True})
    conn.exec_driver_sql(f"DROP TABLE IF EXISTS {SERVED}")
    conn.exec_driver_sql(f"CREATE TABLE {SERVED} AS {sql}")


def has_served(conn) -> bool:
    return bool(conn.exec_driver_sql(
        f"SELECT count(*) FROM duckdb_tables() WHERE table_name = '{SERVED}'").scalar())


def has_withdrawals(conn) -> bool:
    """Stores written before withdrawals existed lack their tables (``ensure_built`` adds them)."""
    return conn.exec_driver_sql(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name IN ('withdrawals', 'withdrawn_values')"
    ).scalar() == 2
