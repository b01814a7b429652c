"""The store's tables (SQLAlchemy Core), in the manner of SDMX observations.

``observations`` holds one value per (indicator, area, period, source) with everything
needed to quote it: the locator in the report, the verbatim quote and its English
rendering, who stated it, and where the row itself came from (curated file and line).
"""
from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

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
    sa.Column("seed_file", sa.Text, nullable=False),
)

areas = sa.Table(
    "areas", metadata,
    sa.Column("area_id", sa.Text, primary_key=True),
    sa.Column("name_en", sa.Text, nullable=False),
    sa.Column("name_zh", sa.Text, nullable=False),
    sa.Column("kind", sa.Text, nullable=False),
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

obs_id_seq = sa.Sequence("observations_obs_id_seq")  # DuckDB needs an explicit sequence
observations = sa.Table(
    "observations", metadata,
    sa.Column("obs_id", sa.Integer, obs_id_seq, server_default=obs_id_seq.next_value(),
              primary_key=True),
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
    sa.Column("value", sa.Float, nullable=False),
    sa.Column("value_text", sa.Text, nullable=False),
    sa.Column("qualifier", sa.Text, nullable=False),
    sa.Column("obs_status", sa.Text, nullable=False),
    sa.Column("stated_by", sa.Text, nullable=False),
    sa.Column("source_id", sa.Text, sa.ForeignKey("sources.source_id"), nullable=False),
    sa.Column("locator", sa.Text, nullable=False),
    sa.Column("quote", sa.Text, nullable=False),
    sa.Column("quote_en", sa.Text, nullable=False),
    sa.Column("note", sa.Text, nullable=True),
    sa.Column("origin_file", sa.Text, nullable=False),  # curated CSV (later: a dropped file)
    sa.Column("origin_line", sa.Integer, nullable=False),
    sa.UniqueConstraint("indicator_id", "area", "period", "source_id"),
)
