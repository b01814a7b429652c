"""Applying: what a file would change (``Plan``, its values kept as columns in ``Records``)
and writing it into the store in the caller's transaction."""
from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from data import messages, schema
from data.intake.fields import IntakeError
from data.intake.published import column
from data.periods import period_bounds, span

# One value the file adds (or restates, or revises), as ``apply`` writes it; ``_before_*``
# name the vintage it replaces.
RECORD_FIELDS = ("indicator_id", "area", "period", "period_label", "value", "value_text", "qualifier",
                 "obs_status", "stated_by", "source_id", "locator", "quote", "quote_en", "note",
                 "origin_line", "_sheet", "_action", "_before_obs_id", "_before_vintage")
_RECORD_TYPES = ("string", "string", "string", "string", "float64", "string", "string", "string", "string",
                 "string", "string", "string", "string", "string", "int64", "string", "string", "int64",
                 "int64")


class Records:
    """The values a file would add, kept as columns (NumPy arrays, a batch at a time), not
    as one Python object per value. Iterating gives each as a dict, as before."""

    BATCH = 20_000

    def __init__(self):
        self._rows: list[tuple] = []
        self._chunks: list[dict] = []
        self._count = 0
        self.revised = 0

    def append(self, rec: tuple) -> None:
        self.extend((rec,))

    def extend(self, recs) -> None:
        """Add records (tuples in the order of RECORD_FIELDS), in the file's order."""
        for rec in recs:
            self._rows.append(rec)
            self._count += 1
            if rec[16] == "revised":
                self.revised += 1
        if len(self._rows) >= self.BATCH:
            self._flush()

    def add_columns(self, *columns) -> None:
        """Add new values given column by column (RECORD_FIELDS up to _action; the sheet and
        the action once for all)."""
        n = len(columns[0])
        sheet, action = columns[-2:]
        self._chunks.append(self._arrays([*columns[:-2], [sheet] * n, [action] * n, [None] * n, [None] * n]))
        self._count += n
        if action == "revised":
            self.revised += n

    @staticmethod
    def _arrays(columns) -> dict:
        return {name: column(list(c), kind) for name, c, kind in zip(RECORD_FIELDS, columns, _RECORD_TYPES)}

    def _flush(self) -> None:
        if self._rows:
            self._chunks.append(self._arrays(zip(*self._rows)))
            self._rows = []

    def columns(self) -> dict | None:
        """Every record in the file's order, column by column (None when there is none). One
        sheet holds the values, so its row number orders them."""
        import numpy as np

        self._flush()
        if not self._chunks:
            return None
        if len(self._chunks) > 1:
            merged = {name: np.concatenate([c[name] for c in self._chunks]) for name in RECORD_FIELDS}
            order = np.argsort(merged["origin_line"], kind="stable")
            self._chunks = [{name: a[order] for name, a in merged.items()}]
        return self._chunks[0]

    def __len__(self) -> int:
        return self._count

    def __iter__(self):
        columns = self.columns()
        if columns is None:
            return iter([])
        lists = [columns[name].tolist() for name in RECORD_FIELDS]
        for name, kind, values in zip(RECORD_FIELDS, _RECORD_TYPES, lists):
            if kind == "int64":
                values[:] = [None if v == -1 else v for v in values]
        return (dict(zip(RECORD_FIELDS, row)) for row in zip(*lists))


@dataclass
class Plan:
    """What a file would change, or why it cannot be applied."""
    rows_read: int = 0
    observations: Records = field(default_factory=Records)  # new values and revisions
    unchanged: int = 0
    sources: list[dict] = field(default_factory=list)
    areas: list[dict] = field(default_factory=list)
    indicators: list[dict] = field(default_factory=list)
    errors: list[IntakeError] = field(default_factory=list)
    error_count: int = 0
    # What was not checked, and why (message id, parameters): said in the file's summary.
    notes: list[tuple[str, dict]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    @property
    def declared(self) -> int:
        return len(self.sources) + len(self.areas) + len(self.indicators)

    @property
    def revised(self) -> int:
        return self.observations.revised


def apply(change, state, plan: Plan, intake: dict, stored_path: str) -> dict[str, int]:
    """Write the file's record and, if accepted, its values, in ``change`` (the store's
    Change: one transaction opened by the caller). Returns the counts recorded."""
    conn = change.conn
    counts = {"added": 0, "revised": 0, "unchanged": plan.unchanged, "declared": 0}
    intake_id = intake["intake_id"]
    if intake["status"] == "accepted":
        for table, recs in ((schema.sources, plan.sources), (schema.areas, plan.areas),
                            (schema.indicators, plan.indicators)):
            if recs:
                conn.execute(table.insert(), [{c.name: (intake_id if c.name == "intake_id" else r.get(c.name))
                                               for c in table.columns} for r in recs])
        counts["declared"] = plan.declared
        counts["revised"] = plan.revised
        counts["added"] = len(plan.observations) - plan.revised
        intake.update(counts)
        conn.execute(schema.intake_files.insert(), [intake])
        values = plan.observations.columns()
        if values is not None:
            _insert_values(change, values, state.next_obs_id, intake_id, intake["processed_at"], stored_path)
            state.next_obs_id += len(plan.observations)
    else:
        intake.update(counts)
        conn.execute(schema.intake_files.insert(), [intake])
    if plan.errors:
        schema.add_message_columns(conn)
        conn.execute(schema.intake_errors.insert(), [
            {"intake_id": intake_id, "seq": n, "code": e.code, "sheet": e.sheet, "row": e.row,
             "column": e.column, "cell": e.cell, "value": e.value[:2000], "message": e.message,
             "msg": e.msg or None, "params": messages.dumps(e.params) if e.msg else None}
            for n, e in enumerate(plan.errors, start=1)])
    return counts


def _insert_values(change, values: dict, first_id: int, intake_id: int, now, stored_path: str) -> None:
    """Add the file's values as new vintages, in the file's order, and mark the vintages they
    replace as no longer the latest: from columns handed to the store (``Change.scratch``:
    registered NumPy arrays in DuckDB, a temporary table filled by COPY in PostgreSQL), no
    Python row per value. The period's bounds and kind are worked out once per distinct
    period. The SQL is what both stores speak."""
    import numpy as np

    periods = sorted(set(values["period"].tolist()))
    bounds = [period_bounds(p) for p in periods]
    spans = [span(p) for p in periods]
    period_table = {
        "period": column(periods, "string"),
        "period_start": column([b[0] and b[0].isoformat() for b in bounds], "string"),
        "period_end": column([b[1].isoformat() for b in bounds], "string"),
        "span_class": column([s[0] for s in spans], "string"),
        "span_label": column([s[1] for s in spans], "string"),
    }
    values = {**values, "seq": np.arange(len(values["period"]), dtype=np.int64)}
    conn = change.conn
    with change.scratch("values", values) as v_table, change.scratch("periods", period_table) as p_table:
        conn.execute(sa.text(f"UPDATE observation_vintages SET is_latest = false WHERE obs_id IN "
                             f"(SELECT _before_obs_id FROM {v_table.name} WHERE _before_obs_id >= 0)"))
        made = {
            "obs_id": ":first + v.seq", "period_start": "CAST(p.period_start AS DATE)",
            "period_end": "CAST(p.period_end AS DATE)", "span_class": "p.span_class", "span_label": "p.span_label",
            "origin_file": "CAST(:path AS TEXT) || CASE WHEN v._sheet = '' THEN '' ELSE ', sheet ' || v._sheet END",
            # After the newest vintage of the key, withdrawn ones included (data/withdraw.py).
            "vintage": "1 + coalesce((SELECT max(o.vintage) FROM observation_vintages o WHERE o.indicator_id = "
                       "v.indicator_id AND o.area = v.area AND o.period = v.period), 0)",
            "revises_obs_id": "nullif(v._before_obs_id, -1)", "is_latest": "true",
            "revised": "v._action = 'revised'", "intake_id": ":intake", "published_at": ":now",
        }
        names = [c.name for c in schema.observation_vintages.columns]
        select = ", ".join(made.get(n, f'v."{n}"') for n in names)
        conn.execute(sa.text(f'INSERT INTO observation_vintages ({", ".join(names)}) SELECT {select} '
                             f'FROM {v_table.name} v JOIN {p_table.name} p USING (period) ORDER BY v.seq'),
                     {"first": first_id, "path": stored_path, "intake": intake_id, "now": now})
