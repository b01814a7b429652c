"""The plain rows of an Observations sheet, read column by column.

Each column is read with the rule the row-by-row checks use for its cells
(``data.intake.rules``; for ids, units and terms each distinct text once, since an export
repeats its indicators, areas, units and sources), then the rules between the cells of a
row are applied row by row. A row is plain when every rule holds and every cell is a plain
raw value (text or a number); any other row (an empty required cell, an unknown id,
markup, a percent or date cell, a merged cell ...) is left to the row-by-row checks, which
apply the same rules to it and say what is wrong: so a file gets exactly the same messages,
and the same values, whichever way each row was read (``tests/test_intake_fast.py``)."""
from __future__ import annotations

from data.intake import rules
from data.intake.fields import OBSERVATION_FIELDS
from data.intake.observations import Parsed
from data.intake.rules import Problem
from data.sheets import Cell

_MISS = object()
_FREE_TEXT = ("locator", "quote", "quote_en", "note", "value_text", "period_label")


def _failed(x) -> bool:
    """A cell the column-by-column reading leaves to the row-by-row checks."""
    return type(x) is Problem or x is _CELL


_CELL = object()  # a cell given as a Cell (a percent, date or formula cell ...): read row by row


def _empty_value(v) -> bool:
    return v is None or (type(v) is str and (not v or v.isspace()))


class FastColumns:
    def __init__(self, checker, columns: dict[str, int], width: int):
        st = checker.state
        self.checker = checker
        self.columns = columns
        self.width = width
        self.blank_columns = sorted(checker._blank_columns)
        self.unit_of = {k: v["unit"] for k, v in st.indicators.items()}
        self.cite_as = {k: v["cite_as"] for k, v in st.sources.items()}
        self.fields = {f.name: f for f in OBSERVATION_FIELDS}
        self.rules = checker._rules
        self.memo = {name: {} for name in self.rules}
        self.stated: dict[str, float | None] = {}

    def _coded(self, values: tuple, name: str) -> list:
        """A column of few distinct texts (ids, units, terms): each distinct text read once
        (and remembered for the next batches)."""
        memo, rule = self.memo[name], self.rules[name]
        if set(map(type, values)) <= {str}:
            for v in [v for v in set(values) if v not in memo]:
                memo[v] = rule(v)
            return list(map(memo.__getitem__, values))
        out = []
        for v in values:
            if type(v) is str:
                got = memo.get(v, _MISS)
                if got is _MISS:
                    got = memo[v] = rule(v)
            else:
                got = _CELL if type(v) is Cell else rule(v)
            out.append(got)
        return out

    def _texts(self, values: tuple, name: str) -> list:
        out = rules.texts(values, self.fields[name])
        if not set(map(type, values)) <= {str}:
            out = [_CELL if type(v) is Cell else t for v, t in zip(values, out)]
        return out

    def _bad_rows(self, batch, cols, covered_rows: set[int], longest: int) -> list[bool]:
        """Rows with a merged cell, or a cell beyond the named columns or under a blank name."""
        n = len(batch)
        bad = [False] * n
        if covered_rows:
            for i, (number, _) in enumerate(batch):
                if number in covered_rows:
                    bad[i] = True
        for idx in [*range(self.width, longest), *self.blank_columns]:
            for i, v in enumerate(cols[idx]):
                if not _empty_value(v):
                    bad[i] = True
        return bad

    def parse(self, batch: list[tuple[int, list]], covered_rows: set[int]) -> "FastBatch":
        """The batch read column by column: which rows are plain, and their fields."""
        n = len(batch)
        rows = [values for _, values in batch]
        longest = max(map(len, rows))
        fill = max(longest, max(self.columns.values()) + 1)
        if min(map(len, rows)) < fill:
            rows = [r if len(r) >= fill else r + [None] * (fill - len(r)) for r in rows]
        cols = list(zip(*rows))
        bad = self._bad_rows(batch, cols, covered_rows, longest)
        columns = self.columns
        got = {}
        for name in self.rules:
            idx = columns.get(name)
            if name == "value":
                continue
            if idx is None:  # an optional column left out: as if empty
                got[name] = [self.rules[name](None)] * n
            elif name in _FREE_TEXT:
                got[name] = self._texts(cols[idx], name)
            else:
                got[name] = self._coded(cols[idx], name)
        ok = [not b for b in bad]
        for c in got.values():
            kinds = set(map(type, c))
            if Problem in kinds or object in kinds:  # object: _CELL
                ok = [o and not _failed(x) for o, x in zip(ok, c)]
        ok, values = self._values(ok, cols[columns["value"]], got)
        ok = self._between_cells(ok, values, got)
        return FastBatch(ok, got, values)

    def _values(self, ok: list[bool], column, got: dict):
        """The value of each row still plain, read for its indicator's unit; the rows whose
        unit is not their indicator's are left to the row-by-row checks."""
        unit_of, f = self.unit_of, self.fields["value"]
        pairs = {(u, i) for o, u, i in zip(ok, got["unit"], got["indicator_id"]) if o}  # few distinct
        wrong = {pair for pair in pairs if rules.unit_matches(pair[0], pair[1], unit_of[pair[1]]) is not None}
        if wrong:
            ok = [o and (u, i) not in wrong for o, u, i in zip(ok, got["unit"], got["indicator_id"])]
        values = [(_CELL if type(v) is Cell else rules.value(v, f, u, i)) if o else _CELL
                  for o, v, u, i in zip(ok, column, got["unit"], got["indicator_id"])]
        return [o and not _failed(x) and x is not None for o, x in zip(ok, values)], values

    def _between_cells(self, ok: list[bool], values: list, got: dict) -> list[bool]:
        """The rules between a row's cells: the quote (one line; word for word in a curated
        report's text), and value_text (in the quote, stating the value)."""
        seed_text, cite_as = self.checker._seed_text, self.cite_as
        rows = [i for i, o in enumerate(ok) if o]
        quotes, sources = [got["quote"][i] for i in rows], [got["source_id"][i] for i in rows]
        texts = {s: seed_text(s) for s in set(sources)}
        found = rules.quotes(quotes, [texts[s] for s in sources], [cite_as[s] for s in sources])
        if any(found):
            ok = list(ok)
            for i, p in zip(rows, found):
                ok[i] = p is None
        stated = self.stated
        for vt in {vt for vt, o in zip(got["value_text"], ok) if o and vt}:
            if vt not in stated:
                stated[vt] = rules.stated(vt)
        return [o and (not vt or rules.value_text(vt, q, v[0], stated[vt]) is None) if o else False
                for o, vt, q, v in zip(ok, got["value_text"], got["quote"], values)]


class FastBatch:
    """The plain rows of a batch (``ok``), column by column, in Parsed's order."""

    def __init__(self, ok: list[bool], got: dict, values: list):
        self.ok = ok
        periods = got["period"]
        self.columns = (
            got["indicator_id"], got["area"], [p[0] if o else None for o, p in zip(ok, periods)],
            [p[1] if o else None for o, p in zip(ok, periods)], got["period_label"],
            [v[0] if o else None for o, v in zip(ok, values)],
            [vt or v[1] if o else None for o, vt, v in zip(ok, got["value_text"], values)],
            got["qualifier"], got["obs_status"], got["stated_by"], got["source_id"], got["locator"], got["quote"],
            got["quote_en"], got["note"], got["revision"])

    def parsed(self, i: int) -> Parsed:
        return tuple.__new__(Parsed, (c[i] for c in self.columns))
