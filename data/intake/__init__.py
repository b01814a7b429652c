"""Check a dropped spreadsheet against the store, and apply it in one transaction.

The checks are those of the curated files (``data.curated``), applied to cells a person
typed in Excel: every problem in the file is collected, in the manner of Frictionless'
typed errors (``missing-label``, ``type-error``, ``constraint-error``, ...), each naming
sheet, row, column and cell and saying in plain words what to do, in English or Chinese
(``data.messages``). A file with any problem is not applied at all.

What a file may hold (the template, ``data.template``, has one sheet for each):

- ``Observations``: one value per row, with its citation (source, locator, quote);
- ``New sources``, ``New indicators``, ``New areas``: declarations, with the same
  metadata as the curated ones, for values whose report, indicator or scope is new.

A value for an (indicator, area, period) already published is, when it differs, a
revision: accepted only when the row says so (``revision`` = yes) or when its source is a
newer report than the published value's; both vintages are kept. An identical value from
the same source changes nothing (so a corrected file can be dropped again whole).

By job:

- ``fields``: the sheets and columns a file may hold, a problem found in it, reading a cell;
- ``published``: what the store holds, and the values published for the keys a file names
  (looked up in DuckDB a batch at a time: a store of a million values is never loaded);
- ``rules``: every rule a cell must meet, each written once, and called both by the
  row-by-row checks and by the column-by-column reading of plain rows;
- ``checker`` (the file, its sheets and header), ``declarations`` (the New ... sheets),
  ``observations`` (the values, row by row and against the store), ``columns`` (the plain
  rows of a large export, column by column);
- ``apply``: what a file would change, and writing it.
"""
from __future__ import annotations

from data.intake.apply import RECORD_FIELDS, Plan, Records, apply
from data.intake.checker import MAX_LISTED_ERRORS, Checker, check
from data.intake.fields import (AREA_FIELDS, EXPORT_DERIVED, IGNORED_SHEETS, INDICATOR_FIELDS,
                                OBSERVATION_FIELDS, SHEETS, SOURCE_FIELDS, Field, IntakeError,
                                normalise_label, unguard)
from data.intake.observations import OBSERVATION_BATCH
from data.intake.published import PUBLISHED_COLUMNS, Published, StoreState

__all__ = ["AREA_FIELDS", "EXPORT_DERIVED", "IGNORED_SHEETS", "INDICATOR_FIELDS", "MAX_LISTED_ERRORS",
           "OBSERVATION_BATCH", "OBSERVATION_FIELDS", "PUBLISHED_COLUMNS", "RECORD_FIELDS", "SHEETS",
           "SOURCE_FIELDS", "Checker", "Field", "IntakeError", "Plan", "Published", "Records", "StoreState",
           "apply", "check", "normalise_label", "unguard"]
