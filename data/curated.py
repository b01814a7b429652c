"""Read and check the curated files (``data/curated/``) before anything is loaded.

The Frictionless descriptor ``datapackage.json`` is the one statement of the files'
columns, types and required cells; this module applies it, then the checks a descriptor
cannot express: vocabularies, foreign keys, periods, and, when the report texts are at hand,
that every quote is verbatim in its report and states the curated value. Every problem is
collected (not just the first) as an ``Issue`` naming file, line, column and value.
"""
from __future__ import annotations

import csv
import io
import json
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from data import plaintext, vocabulary as vocab
from data.intake import rules
from data.periods import PeriodError, period_bounds

CURATED = Path(__file__).resolve().parent / "curated"


@dataclass(frozen=True)
class Issue:
    """One problem in one cell (or row, when ``column`` is empty)."""
    code: str  # frictionless-style: missing-cell, type-error, constraint-error, ...
    file: str
    line: int  # line in the file, header = 1
    column: str
    value: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}, line {self.line}" + (f", column {self.column}" if self.column else "")
        shown = self.value if len(self.value) <= 60 else self.value[:57] + "..."
        return f"{where}: {self.message} [{self.code}]" + (f" (value: {shown!r})" if self.value else "")


class CurationError(Exception):
    def __init__(self, issues: list[Issue]):
        self.issues = issues
        head = "\n".join(f"  - {i}" for i in issues[:50])
        more = f"\n  ... and {len(issues) - 50} more" if len(issues) > 50 else ""
        super().__init__(f"{len(issues)} problem(s) in the curated files:\n{head}{more}")


@dataclass
class Row:
    file: str  # path relative to data/curated
    line: int
    cells: dict[str, str]


def descriptor(folder: Path = CURATED) -> dict:
    return json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))


def _paths(resource: dict) -> list[str]:
    path = resource["path"]
    return path if isinstance(path, list) else [path]


def _typed(kind: str, text: str):
    if kind == "number":
        return float(text)
    if kind == "integer":
        return int(text)
    return text


def read_tables(folder: Path = CURATED) -> tuple[dict[str, list[Row]], list[Issue]]:
    """All rows of every resource, with the header and cell-level issues found."""
    tables: dict[str, list[Row]] = {}
    issues: list[Issue] = []
    for resource in descriptor(folder)["resources"]:
        fields = resource["schema"]["fields"]
        names = [f["name"] for f in fields]
        rows: list[Row] = []
        for rel in _paths(resource):
            path = folder / rel
            if not path.exists():
                issues.append(Issue("missing-file", rel, 0, "", "", "listed in datapackage.json but not found"))
                continue
            raw = path.read_bytes()
            if raw.startswith(b"\xef\xbb\xbf"):
                issues.append(Issue("encoding-error", rel, 1, "", "", "starts with a byte-order mark; save as UTF-8 without BOM"))
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                issues.append(Issue("encoding-error", rel, 0, "", "", f"not UTF-8: {exc}"))
                continue
            # newline="": only CR and LF end a line (str.splitlines would also break at U+2028,
            # form feeds and other separators inside a cell, which the text rule then names)
            reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
            header = next(reader, [])
            if header != names:
                issues.append(Issue("header-error", rel, 1, "", ",".join(header),
                                    f"header must be exactly: {','.join(names)}"))
                continue
            for line, cells in enumerate(reader, start=2):
                if not any(c.strip() for c in cells):
                    issues.append(Issue("blank-row", rel, line, "", "", "empty row"))
                    continue
                if len(cells) != len(names):
                    issues.append(Issue("row-length-error", rel, line, "", "",
                                        f"has {len(cells)} cells, the header has {len(names)}"))
                    continue
                row = Row(rel, line, dict(zip(names, cells)))
                for field in fields:
                    value = row.cells[field["name"]]
                    if value != value.strip():
                        issues.append(Issue("constraint-error", rel, line, field["name"], value,
                                            "has leading or trailing white space"))
                    bad = rules.unsafe(value) if value and not plaintext.clean(value) else None
                    if bad is not None:  # the drop folder's rule: plain text, nothing invisible
                        issues.append(Issue(bad.code, rel, line, field["name"], plaintext.visible(value),
                                            bad.message))
                    if not value:
                        if field.get("constraints", {}).get("required"):
                            issues.append(Issue("missing-cell", rel, line, field["name"], "", "is required"))
                        continue
                    try:
                        typed = _typed(field.get("type", "string"), value)
                    except ValueError:
                        issues.append(Issue("type-error", rel, line, field["name"], value,
                                            f"is not a {field['type']}"))
                    else:  # the drop folder's rule: finite, and below 1e15 (every store writes it alike)
                        bad = rules.storable(typed, value) if field.get("type") == "number" else None
                        if bad is not None:
                            issues.append(Issue(bad.code, rel, line, field["name"], value, bad.message))
                    allowed = field.get("constraints", {}).get("enum")
                    if allowed and value not in allowed:
                        issues.append(Issue("constraint-error", rel, line, field["name"], value,
                                            f"must be one of: {', '.join(allowed)}"))
                rows.append(row)
        tables[resource["name"]] = rows
    return tables, issues


def _vocab_issue(row: Row, column: str, allowed) -> Issue | None:
    value = row.cells[column]
    if value and value not in allowed:
        return Issue("constraint-error", row.file, row.line, column, value,
                     f"is not in the vocabulary: {', '.join(allowed)}")
    return None


def check_rules(tables: dict[str, list[Row]]) -> list[Issue]:
    """Vocabularies, keys, foreign keys and periods across all curated files."""
    issues: list[Issue] = []

    def unique(name: str, key: tuple[str, ...], scope=lambda r: ()):
        seen: dict[tuple, Row] = {}
        for row in tables.get(name, []):
            k = scope(row) + tuple(row.cells[c] for c in key)
            if k in seen:
                first = seen[k]
                issues.append(Issue("unique-error", row.file, row.line, ",".join(key), " / ".join(k),
                                    f"duplicates {first.file} line {first.line}"))
            else:
                seen[k] = row

    unique("sources", ("source_id",))
    unique("areas", ("area_id",))
    unique("indicators", ("indicator_id",))
    unique("figures", ("source_id", "figure"))
    unique("observations", ("indicator_id", "area", "period"), scope=lambda r: (_source_of(r),))

    source_ids = {r.cells["source_id"] for r in tables.get("sources", [])}
    area_ids = {r.cells["area_id"] for r in tables.get("areas", [])}
    indicator_ids = {r.cells["indicator_id"] for r in tables.get("indicators", [])}

    for row in tables.get("sources", []):
        try:
            period_bounds(row.cells["date"])
        except PeriodError as exc:
            issues.append(Issue("type-error", row.file, row.line, "date", row.cells["date"], str(exc)))
    for row in tables.get("areas", []):
        issues.append(_vocab_issue(row, "kind", vocab.AREA_KINDS))
    for row in tables.get("indicators", []):
        issues.append(_vocab_issue(row, "family", vocab.FAMILIES))
        issues.append(_vocab_issue(row, "unit", vocab.UNITS))
        issues.append(_vocab_issue(row, "chart", vocab.CHART_TYPES))
    for row in tables.get("figures", []):
        if row.cells["source_id"] not in source_ids:
            issues.append(Issue("foreign-key-error", row.file, row.line, "source_id", row.cells["source_id"],
                                "is not a source_id in sources.csv"))
        for ind in filter(None, row.cells["indicator_ids"].split(";")):
            if ind not in indicator_ids:
                issues.append(Issue("foreign-key-error", row.file, row.line, "indicator_ids", ind,
                                    "is not an indicator_id in indicators.csv"))

    used = Counter()
    for row in tables.get("observations", []):
        c = row.cells
        src = _source_of(row)
        if src not in source_ids:
            issues.append(Issue("foreign-key-error", row.file, row.line, "", src,
                                "file name does not name a source_id in sources.csv"))
        if c["indicator_id"] not in indicator_ids:
            issues.append(Issue("foreign-key-error", row.file, row.line, "indicator_id", c["indicator_id"],
                                "is not an indicator_id in indicators.csv"))
        if c["area"] not in area_ids:
            issues.append(Issue("foreign-key-error", row.file, row.line, "area", c["area"],
                                "is not an area_id in areas.csv"))
        issues.append(_vocab_issue(row, "qualifier", vocab.QUALIFIERS))
        issues.append(_vocab_issue(row, "obs_status", vocab.OBS_STATUS))
        try:
            period_bounds(c["period"])
        except PeriodError as exc:
            issues.append(Issue("type-error", row.file, row.line, "period", c["period"], str(exc)))
        (one_line,) = rules.quotes([c["quote"]], [None], [""])  # the drop folder's rule for a quote
        if one_line is not None:
            issues.append(_issue(one_line, row, "quote", c["quote"]))
        used[c["indicator_id"]] += 1

    figured = {i for r in tables.get("figures", []) for i in r.cells["indicator_ids"].split(";")}
    for row in tables.get("indicators", []):
        ind = row.cells["indicator_id"]
        if not used[ind] and ind not in figured:
            issues.append(Issue("constraint-error", row.file, row.line, "indicator_id", ind,
                                "has no observation and no figure reference"))
    return [i for i in issues if i is not None]


def _source_of(row: Row) -> str:
    """Observations live in ``observations/<source_id>.csv``: the file names the source."""
    return Path(row.file).stem


def texts_found(seeds: Path | None) -> bool:
    """Whether the report texts are at hand (a clone of the repository alone has none)."""
    return seeds is not None and Path(seeds).is_dir()


def not_checked_notice(seeds: Path) -> str:
    """What a build or check says, once, when it cannot compare quotes with the reports."""
    return (f"Quotes were NOT re-checked against the report texts: none found at {seeds}. "
            f"Every quote is as curated (each was checked when it was curated), and each value "
            f"was checked against its quote. To check the quotes, put the five report texts in "
            f"that folder (or set PKPI_SEEDS to theirs) and run `python manage.py check`.")


def check_fidelity(tables: dict[str, list[Row]], seeds: Path | None) -> list[Issue]:
    """Each quote states the curated value; with the report texts (``seeds``), each quote is
    also verbatim in its report. Without them only the first half can be checked."""
    issues: list[Issue] = []
    texts: dict[str, str] = {}
    for row in tables.get("sources", []) if seeds is not None else []:
        path = seeds / row.cells["seed_file"]
        if not path.exists():
            issues.append(Issue("missing-file", row.file, row.line, "seed_file", str(path),
                                "report text not found (set PKPI_SEEDS)"))
            continue
        texts[row.cells["source_id"]] = path.read_text(encoding="utf-8")
    for row in tables.get("figures", []):
        text = texts.get(row.cells["source_id"])
        if text is not None and row.cells["caption_quote"] not in text:
            issues.append(Issue("quote-not-found", row.file, row.line, "caption_quote",
                                row.cells["caption_quote"], "is not verbatim in the report text"))
    cite_as = {r.cells["source_id"]: r.cells["cite_as"] for r in tables.get("sources", [])}
    for row in tables.get("observations", []):
        c = row.cells
        text = texts.get(_source_of(row))
        if text is not None:  # the drop folder's rule for a quote (a line break: check_rules)
            (verbatim,) = rules.quotes([c["quote"].replace("\n", " ").replace("\r", " ")], [text],
                                       [cite_as.get(_source_of(row), _source_of(row))])
            if verbatim is not None:
                issues.append(_issue(verbatim, row, "quote", c["quote"]))
        if not c.get("quote") or not c.get("value_text"):
            continue  # reported as a missing cell already
        # The drop folder's rule for the characters that state the value.
        try:
            curated = float(c["value"])
        except ValueError:
            curated = None  # reported as a type-error already
        stated = rules.value_text(c["value_text"], c["quote"], curated if curated is not None else math.nan)
        if stated is None or (curated is None and stated.msg == "value-mismatch"):
            continue
        column = "value" if stated.msg == "value-mismatch" else "value_text"
        issues.append(_issue(stated, row, column, c[column]))
    return issues


def _issue(problem, row: Row, column: str, value: str) -> Issue:
    return Issue(problem.code, row.file, row.line, column, value, problem.message)


def load(folder: Path = CURATED, seeds: Path | None = None) -> dict[str, list[Row]]:
    """The curated tables, or CurationError listing every problem found. Quotes are compared
    with the report texts only when ``seeds`` is given; values with their quotes always."""
    tables, issues = read_tables(folder)
    issues += check_rules(tables)
    issues += check_fidelity(tables, seeds)
    if issues:
        raise CurationError(issues)
    return tables
