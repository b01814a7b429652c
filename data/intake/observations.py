"""The Observations sheet, a batch of rows at a time: the plain rows read column by column
(``data.intake.columns``), the others cell by cell, both with the rules of
``data.intake.rules``; then each row against the other rows and the values published."""
from __future__ import annotations

from collections import Counter
from typing import NamedTuple

from data.intake import rules
from data.intake.fields import (EXPORT_DERIVED, OBSERVATION_FIELDS, IntakeError, Row, blank, cell_at, clip,
                                shown)
from data.intake.published import newer
from data.intake.rules import Problem, problem
from data.periods import period_bounds
from data.sheets import to_cells

OBSERVATION_BATCH = 20_000  # rows of the Observations sheet checked together


class Parsed(NamedTuple):
    """A row of the Observations sheet whose cells are each correct: what remains to check
    is how it stands against the other rows and the store (``_finish_observation``)."""
    indicator: str
    area: str
    period: str
    label: str  # the period as it reads, when the row gives no period_label
    given_label: str | None
    value: float
    value_text: str
    qualifier: str
    status: str
    stated_by: str
    source: str
    locator: str
    quote: str
    quote_en: str | None
    note: str | None
    revision: bool


def cell_rules(state) -> dict:
    """The rule for each column of the Observations sheet: raw value -> what it reads, or a
    Problem. ``value`` takes the row's indicator too (its unit decides what a percentage is)."""
    f = {x.name: x for x in OBSERVATION_FIELDS}
    out = {name: (lambda v, x=f[name]: rules.text(v, x)) for name in f}
    for name, known in (("indicator_id", state.indicators), ("area", state.areas), ("source_id", state.sources)):
        out[name] = lambda v, x=f[name], known=known: rules.known_id(v, x, known)
    out.update(unit=lambda v: rules.unit(v, f["unit"]), period=lambda v: rules.period(v, f["period"]),
               qualifier=lambda v: rules.vocabulary(v, f["qualifier"]),
               obs_status=lambda v: rules.vocabulary(v, f["obs_status"]),
               revision=lambda v: rules.yes_no(v, f["revision"]))
    return out


class ObservationChecks:
    """Part of ``data.intake.checker.Checker``: the rows of the Observations sheet."""

    def _observation_rows(self, raw, columns: dict[str, int], width: int, covered: set[str]) -> None:
        """Check the values, a batch of rows at a time: the plain rows column by column, the
        others cell by cell; then the values already published for the whole batch are
        looked up at once, and each row is finished in its turn, its errors recorded in the
        order of the rows."""
        from data.intake.columns import FastColumns

        self._rules = cell_rules(self.state)
        covered_rows = {int(ref.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ")) for ref in covered}
        fast = FastColumns(self, columns, width) if self._fast_ok(columns) else None
        seen: dict = {}
        batch: list[tuple[int, list]] = []
        stop = None
        counted = self._rows_counted  # before the batch
        for number, values in raw:
            first = values[0] if values else None
            if not (type(first) is str and first and not first.isspace()) and blank(values):
                continue
            self._rows_counted += 1
            self.plan.rows_read += 1
            if self._rows_counted > self.max_rows:
                stop = number
                break
            batch.append((number, values))
            if len(batch) >= OBSERVATION_BATCH:
                self._observation_batch(batch, (columns, width, covered, covered_rows), fast, seen, counted)
                counted += len(batch)
                batch = []
        self._observation_batch(batch, (columns, width, covered, covered_rows), fast, seen, counted)
        if stop is not None:
            self.error(problem("too-many-rows", "too-many-rows", max_rows=self.max_rows), stop)

    def _fast_ok(self, columns: dict[str, int]) -> bool:
        """Whether rows can be read column by column: every required column is there, and
        none of an exported file's descriptive columns (checked row by row)."""
        return (all(f.name in columns for f in OBSERVATION_FIELDS if f.required)
                and not any(name in columns for name in EXPORT_DERIVED))

    def _observation_batch(self, batch, sheet, fast, seen, counted) -> None:
        if not batch:
            return
        columns, width, covered, covered_rows = sheet
        n = len(batch)
        plain = fast.parse(batch, covered_rows) if fast is not None else None
        ok = plain.ok if plain is not None else [False] * n
        parsed: dict[int, Parsed] = {}  # rows checked cell by cell (and plain rows with more to check)
        held: dict[int, list[IntakeError]] = {}  # their errors, recorded in the rows' order below
        for i, (number, values) in enumerate(batch):
            if ok[i]:
                continue
            self._held = held[i] = []
            try:
                p = self._parse_observation(Row(number, to_cells(values, number), columns), width, covered)
            finally:
                self._held = None
            if p is not None:
                parsed[i] = p
        # The values already published for the batch's keys, in one query.
        keys = list(zip(*plain.columns[:3])) if plain is not None else [None] * n
        for i, p in parsed.items():
            keys[i] = p[:3]
        published = self.state.latest
        published.fetch([keys[i] for i in range(n) if ok[i] or i in parsed])
        # A new value (nothing published, not marked a revision, its key given once) needs no
        # more than to be recorded: for plain rows that is done column by column; any other
        # row is finished in its turn, in the rows' order, with its errors.
        hot: list[int] = []
        if plain is not None:
            known = published.known
            candidates = [k for k, o in zip(keys, ok) if o] + [keys[i] for i in parsed]
            repeated = {k for k, count in Counter(candidates).items() if count > 1}
            revision = plain.columns[15]
            hot = [i for i, (o, k) in enumerate(zip(ok, keys))
                   if o and not revision[i] and known[k] is None and k not in repeated and k not in seen]
            self._record_new(batch, plain, hot, seen)
        hot_rows = set(hot)
        for i in sorted({*held, *parsed, *(i for i in range(n) if ok[i] and i not in hot_rows)}):
            if i in held:
                self._release(held[i])
            p = parsed.get(i) or (plain.parsed(i) if ok[i] else None)
            if p is not None:
                number, values = batch[i]
                self._finish_observation(number, values, columns, p, seen)
        if self.progress:
            for done in range((counted // 5000 + 1) * 5000, counted + n + 1, 5000):
                self.progress(done)

    def _record_new(self, batch, plain, rows: list[int], seen: dict) -> None:
        """Record plain rows that add a new value, as _finish_observation would, column by column."""
        if not rows:
            return
        (ind, area, period, label, given_label, value, value_text, qualifier, status, by, source, locator, quote,
         quote_en, note, _) = ([c[i] for i in rows] for c in plain.columns)
        numbers = [batch[i][0] for i in rows]
        seen.update(zip(zip(ind, area, period), zip(numbers, value, qualifier)))
        self.plan.observations.add_columns(
            ind, area, period, [g or p for g, p in zip(given_label, label)], value, value_text, qualifier, status,
            by, source, locator, quote, [e or "" for e in quote_en], note, numbers, self._sheet, "new")

    def _parse_observation(self, row: Row, width: int, covered: set[str]) -> Parsed | None:
        """Check one row's cells on their own (errors reported); None when it cannot be a value.
        Each cell goes through the same rule as a column read column by column."""
        self._extra_cells(row, width)
        st, got, ok = self.state, {}, True
        for f in OBSERVATION_FIELDS:
            cell = row.cell(f.name)
            if f.name not in row.columns or cell.ref in covered:
                # As if empty (an optional column's default), but a required column missing is
                # reported once on row 1, a merged cell once for its range.
                r = self._rules[f.name](None) if f.name != "value" else None
                got[f.name] = None if type(r) is Problem else r
                continue
            if f.name == "value":
                ind = st.indicators.get(got["indicator_id"]) if got["indicator_id"] else None
                r = rules.value(cell, f, ind and ind["unit"], got["indicator_id"])
            elif f.name in ("locator", "quote", "quote_en", "note", "value_text", "period_label"):
                r = rules.texts([cell], f)[0]  # the column rule, on a column of one
            else:
                r = self._rules[f.name](cell)
            if type(r) is Problem:
                self._cell_error(r, row, f.name, cell)
                r = None
            got[f.name] = r
        indicator, source, quote = got["indicator_id"], got["source_id"], got["quote"]
        value = got["value"]
        ind = st.indicators.get(indicator) if indicator else None
        found = []
        if ind and got["unit"]:
            found.append(("unit", rules.unit_matches(got["unit"], indicator, ind["unit"])))
        if quote:
            seed = self._seed_text(source) if source and value is not None else None
            found.append(("quote", rules.quotes([quote], [seed], [source and st.sources[source]["cite_as"]])[0]))
        if got["value_text"] and value is not None:
            found.append(("value_text", rules.value_text(got["value_text"], quote, value[0])))
        for name, p in found:
            if p is not None:
                ok = False
                self._cell_error(p, row, name, row.cell(name))
        ok = self._derived_agree(row, ind, got["period"] and got["period"][0], st.sources.get(source)) and ok
        needed = ("indicator_id", "area", "source_id", "period", "value", "unit", "stated_by", "locator", "quote",
                  "qualifier", "obs_status", "revision")
        if not ok or any(got[name] is None for name in needed):
            return None  # every reason has been reported
        g = got
        return Parsed(indicator, g["area"], g["period"][0], g["period"][1], g["period_label"], value[0],
                      g["value_text"] or value[1], g["qualifier"], g["obs_status"], g["stated_by"], source,
                      g["locator"], quote, g["quote_en"], g["note"], g["revision"])

    def _finish_observation(self, number: int, values: list, columns: dict[str, int], p: Parsed,
                            seen: dict) -> None:
        """The checks against the other rows and the store, in the rows' order."""
        key = (p.indicator, p.area, p.period)
        published = self.state.latest.get(key)
        label = p.given_label or (published["period_label"] if published else p.label)
        if key in seen:
            first_row, first_value, first_qualifier = seen[key]
            same = (first_value, first_qualifier) == (p.value, p.qualifier)
            msg = "duplicate-row-same" if same else "duplicate-row-different"
            self.error(problem("duplicate-row", msg, first_row=first_row, indicator=p.indicator, area=p.area,
                               period=p.period),
                       number, "period", cell_at(values, columns, "period", number).ref, p.period)
            return
        seen[key] = (number, p.value, p.qualifier)
        self._against_published(number, values, columns, p, label, published)

    def _derived_agree(self, row: Row, ind: dict | None, period: str | None, src: dict | None) -> bool:
        """An exported file's descriptive columns must still say what the store says."""
        if not any(name in row.columns for name in EXPORT_DERIVED):
            return True
        start, end = period_bounds(period) if period else (None, None)
        expected = {
            "indicator_name": ind and ind["name_en"], "family": ind and ind["family"],
            "period_start": period and (start.isoformat() if start else ""),
            "period_end": period and end.isoformat(),
            "source_symbol": src and (src["symbol"] or ""), "source_title": src and src["title_en"],
            "source_date": src and src["date"],
        }
        ok = True
        for name, want in expected.items():
            if name not in row.columns or want is None:
                continue  # column absent, or the row's id is already reported as unknown
            cell = row.cell(name)
            if shown(cell).strip().lstrip("'") != want:  # the export's formula guard is not data
                ok = False
                self._cell_error(problem("derived-mismatch", "derived-mismatch", expected=clip(want)), row, name, cell)
        return ok

    def _against_published(self, number: int, values: list, columns: dict[str, int], p: Parsed,
                           label: str, old: dict | None) -> None:
        st = self.state

        def record(action: str) -> None:
            self.plan.observations.append((
                p.indicator, p.area, p.period, label, p.value, p.value_text, p.qualifier, p.status,
                p.stated_by, p.source, p.locator, p.quote, p.quote_en or "", p.note, number, self._sheet, action,
                old["obs_id"] if old else None, old["vintage"] if old else None))

        if old is None:
            if p.revision:
                cell = cell_at(values, columns, "revision", number)
                self.error(problem("revision-error", "revision-nothing-published"), number, "revision", cell.ref,
                           shown(cell))
                return
            record("new")
            return
        same_value = (old["value"], old["qualifier"]) == (p.value, p.qualifier)
        if same_value and old["source_id"] == p.source:
            self.plan.unchanged += 1  # already published exactly so
            return
        if same_value:
            record("restated")  # a newer citation for the same value
            return
        if p.revision or newer(st.sources.get(p.source), st.sources.get(old["source_id"])):
            record("revised")
            return
        old_source = st.sources.get(old["source_id"], {}).get("cite_as", old["source_id"])
        new_source = st.sources.get(p.source, {}).get("cite_as", p.source)
        cell = cell_at(values, columns, "value", number)
        self.error(rules.conflict(p.indicator, p.area, p.period, old, old_source,
                                  (p.value, p.qualifier, p.locator, p.quote), new_source),
                   number, "value", cell.ref, shown(cell))
