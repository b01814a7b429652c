"""Looking up what the store holds: its indicators, areas and sources, and the values
already published for the (indicator, area, period) keys a file names."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from data import schema

# What a check needs of the value already published for an (indicator, area, period).
PUBLISHED_COLUMNS = ("obs_id", "indicator_id", "area", "period", "period_label", "value", "qualifier",
                     "source_id", "locator", "quote", "vintage")


class Published:
    """The latest vintage published for each (indicator, area, period) a file names.

    Looked up in the store for a batch of keys at a time (the file's keys handed to the store
    as columns, ``Change.scratch``, and joined with ``observations``), never loaded whole: a
    store of a million values would otherwise be read into Python objects (gigabytes) for
    every file dropped."""

    def __init__(self, change):
        self._change = change  # a store's Change (DuckDB or PostgreSQL)
        self.known: dict[tuple[str, str, str], dict | None] = {}  # None: nothing published

    def fetch(self, keys) -> None:
        """Look up every key not looked up yet, in one query."""
        wanted = [k for k in dict.fromkeys(keys) if k not in self.known]
        if not wanted:
            return
        names = ("indicator_id", "area", "period")
        table = {n: column([k[i] for k in wanted], "string") for i, n in enumerate(names)}
        with self._change.scratch("keys", table) as keys_table:
            cols = ", ".join(f'o."{c}"' for c in PUBLISHED_COLUMNS)
            found = self._change.rows(sa.text(
                f"SELECT {cols} FROM observations o JOIN {keys_table.name} k ON o.indicator_id = k.indicator_id "
                f"AND o.area = k.area AND o.period = k.period"))
        for k in wanted:
            self.known[k] = None
        for r in found:
            rec = dict(zip(PUBLISHED_COLUMNS, r))
            self.known[(rec["indicator_id"], rec["area"], rec["period"])] = rec

    def get(self, key: tuple[str, str, str]) -> dict | None:
        if key not in self.known:
            self.fetch([key])
        return self.known[key]


def column(values: list, kind: str):
    """A column DuckDB reads as it is (a NumPy array: Arrow would import pandas, a third of
    a second). Text as Python objects (None is NULL); ids and counts as int64, -1 for none."""
    import numpy as np

    if kind == "string":
        return np.array(values, dtype=object)
    if kind == "float64":
        return np.array(values, dtype=np.float64)
    return np.array([-1 if v is None else v for v in values], dtype=np.int64)


@dataclass
class StoreState:
    indicators: dict[str, dict]
    areas: dict[str, dict]
    sources: dict[str, dict]
    latest: Published  # (indicator, area, period) -> latest vintage, looked up as needed
    next_obs_id: int
    next_intake_id: int

    @classmethod
    def load(cls, change) -> "StoreState":
        """What the store holds, read in ``change`` (a store's Change, so that the next ids
        are read in the transaction that will use them, under the writer lock)."""
        conn = change.conn

        def rows(table, key):
            return {r[key]: dict(r) for r in conn.execute(sa.select(table)).mappings()}

        next_obs = conn.execute(sa.select(sa.func.coalesce(sa.func.max(schema.observation_vintages.c.obs_id), 0))).scalar()
        next_intake = conn.execute(sa.select(sa.func.coalesce(sa.func.max(schema.intake_files.c.intake_id), 0))).scalar()
        return cls(rows(schema.indicators, "indicator_id"), rows(schema.areas, "area_id"),
                   rows(schema.sources, "source_id"), Published(change), next_obs + 1, next_intake + 1)


def newer(a: dict | None, b: dict | None) -> bool:
    """Source ``a`` is a later report than ``b``."""
    if not a or not b or not a.get("date_start") or not b.get("date_start"):
        return False
    return a["date_start"] > b["date_start"]
