"""The New sources, New areas and New indicators sheets: a row declares a report, an area
or an indicator the values may then use (the same metadata as the curated ones)."""
from __future__ import annotations

import re

from data import messages, vocabulary as vocab
from data.intake import rules
from data.intake.fields import AREA_FIELDS, INDICATOR_FIELDS, SOURCE_FIELDS, Row
from data.intake.rules import problem
from data.periods import PeriodError, period_bounds


class DeclarationChecks:
    """Part of ``data.intake.checker.Checker``: one row of each declaration sheet."""

    def _declared_ok(self, row: Row, cells: dict, key: str, fields) -> dict | None:
        rec = {f.name: rules.as_text(cells[f.name]) if f.name in cells else None for f in fields}
        ident = rec.get(key)
        if ident is None:
            return None
        if not rules.IDS[key].match(ident):
            self._cell_error(problem("constraint-error", "bad-id", id=ident,
                                     help=next(f.helps() for f in fields if f.name == key)), row, key, cells[key])
            return None
        return rec

    def _source(self, row: Row, cells: dict, seen: dict) -> None:
        rec = self._declared_ok(row, cells, "source_id", SOURCE_FIELDS)
        date_cell = cells.get("date")
        if date_cell is not None and date_cell.kind != "empty":
            iso = self._date(row, date_cell)
            if rec is not None:
                rec["date"] = iso
        if rec is None or rec.get("date") is None:
            return
        if rec.get("url") and not re.match(r"^https?://\S+$", rec["url"]):
            self._cell_error(problem("constraint-error", "bad-url"), row, "url", cells["url"])
            return
        start, _ = period_bounds(rec["date"])
        rec.update(date_start=start, date_precision={1: "year", 2: "month", 3: "day"}[rec["date"].count("-") + 1],
                   seed_file=None)
        for name in ("title_zh", "numbering", "identification"):
            rec[name] = rec.get(name) or ""
        self._declare(row, cells, rec, "source_id", self.state.sources, self.plan.sources, seen,
                      ("symbol", "cite_as", "title_en", "title_zh", "issuing_body", "date", "url"))

    def _area(self, row: Row, cells: dict, seen: dict) -> None:
        rec = self._declared_ok(row, cells, "area_id", AREA_FIELDS)
        if rec is None:
            return
        if rec.get("kind") and rec["kind"] not in vocab.AREA_KINDS:
            self._cell_error(problem("constraint-error", "bad-area-kind", kind=rec["kind"],
                                     kinds=messages.listed(vocab.AREA_KINDS)), row, "kind", cells["kind"])
            return
        rec["name_zh"] = rec.get("name_zh") or ""
        self._declare(row, cells, rec, "area_id", self.state.areas, self.plan.areas, seen,
                      ("name_en", "name_zh", "kind"))

    def _indicator(self, row: Row, cells: dict, seen: dict) -> None:
        rec = self._declared_ok(row, cells, "indicator_id", INDICATOR_FIELDS)
        if rec is None:
            return
        ok = True
        for name, terms in (("family", vocab.FAMILIES), ("unit", vocab.UNITS)):
            if rec.get(name):
                found = rules.term(rec[name], terms)
                if found is None:
                    ok = False
                    self._cell_error(problem("constraint-error", "not-in-list", text=rec[name],
                                             terms=messages.listed(terms)), row, name, cells[name])
                rec[name] = found
        rec["chart"] = (rec.get("chart") or "line").lower()
        if rec["chart"] not in vocab.CHART_TYPES:
            ok = False
            self._cell_error(problem("constraint-error", "bad-chart"), row, "chart", cells["chart"])
        if not ok:
            return
        rec["name_zh"] = rec.get("name_zh") or ""
        self._declare(row, cells, rec, "indicator_id", self.state.indicators, self.plan.indicators, seen,
                      ("family", "name_en", "name_zh", "unit", "definition", "chart", "break_note"))

    def _declare(self, row, cells, rec, key, known, out, seen, compared) -> None:
        ident = rec[key]
        if ident in seen:
            self._cell_error(problem("duplicate-row", "declared-twice", id=ident, first_row=seen[ident]),
                             row, key, cells[key])
            return
        seen[ident] = row.number
        if ident in known:
            old = known[ident]
            differs = [c for c in compared if (rec.get(c) or "") != (old.get(c) or "") and rec.get(c)]
            if differs:
                self._cell_error(problem("constraint-error", "declared-differently", id=ident, column=differs[0],
                                         old=str(old.get(differs[0]))), row, key, cells[key])
            return  # the same declaration again: nothing to add
        if any(r.get(key) == ident for r in out):
            return
        out.append(rec)
        known[ident] = rec

    def _date(self, row: Row, cell) -> str | None:
        if cell.kind == "date":
            return cell.value.strftime("%Y-%m-%d")
        text = rules.as_text(cell) or ""
        if re.fullmatch(r"\d{4}(-\d{2}){0,2}", text):
            try:
                period_bounds(text)
                return text
            except PeriodError:
                pass
        self._cell_error(problem("type-error", "date-unreadable"), row, "date", cell)
        return None
