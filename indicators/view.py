"""What a page shows, as one value that round-trips through a URL.

A family page's state (indicators, areas, year range, selected period) is written into the
query string, so a permalink reproduces the view, and the same state gives the Filters of
the query behind the charts and of the CSV download: the export is the chart's data.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date
from urllib.parse import urlencode

from indicators.query import Filters

_ID = re.compile(r"^[A-Za-z0-9_.\-]{1,80}$")


def parse_ids(text: str | None) -> tuple[str, ...]:
    """Comma-separated ids; anything that is not an id is dropped (never reaches SQL text)."""
    return tuple(dict.fromkeys(p for p in (text or "").split(",") if _ID.match(p)))


def _year(text) -> int | None:
    try:
        year = int(str(text))
    except (TypeError, ValueError):
        return None
    return year if 1900 <= year <= 2100 else None


def _day(text) -> date | None:
    try:
        return date.fromisoformat(str(text)[:10]) if text else None
    except ValueError:
        return None


def _selection(text: str | None) -> tuple[date, date] | None:
    if not text:
        return None
    left, _, right = str(text).partition("/")
    try:
        start, end = date.fromisoformat(left), date.fromisoformat(right)
    except ValueError:
        return None
    return (start, end) if start <= end else (end, start)


@dataclass(frozen=True)
class View:
    family: str = ""
    indicators: tuple[str, ...] = ()
    areas: tuple[str, ...] = ()
    year_from: int | None = None
    year_to: int | None = None
    selection: tuple[date, date] | None = None  # a period picked on a chart
    cumulative: bool | None = None  # one chart's share of the page: totals ("since 1948") or not
    text: str = ""  # free-text search (Data page)
    as_of: date | None = None  # show only what had been published by this day
    lang: str = "en"  # interface language: en or zh

    @classmethod
    def from_query(cls, query: dict, family: str | None = None) -> "View":
        """From URL parameters (``layout(**query)`` or a download URL). ``family`` is the
        page's own (a family page has it in its path); otherwise ``query["family"]``.
        Malformed values are dropped: see ``malformed`` to refuse them instead."""
        family = family if family is not None else str(query.get("family") or "")
        return cls(family=family, indicators=parse_ids(query.get("ind")), areas=parse_ids(query.get("area")),
                   year_from=_year(query.get("from")), year_to=_year(query.get("to")),
                   selection=_selection(query.get("sel")),
                   cumulative={"1": True, "0": False}.get(str(query.get("total"))),
                   text=str(query.get("q") or "")[:200].strip(),
                   as_of=_day(query.get("asof")),
                   lang="zh" if str(query.get("lang") or "") == "zh" else "en")

    @staticmethod
    def malformed(query: dict) -> list[str]:
        """The id-list parameters holding something that is not an id (for a clear 400)."""
        bad = []
        for key in ("ind", "area", "source"):
            given = [p for p in str(query.get(key) or "").split(",") if p]
            if any(not _ID.match(p) for p in given):
                bad.append(key)
        return bad

    def query(self) -> dict[str, str]:
        q = {}
        if self.indicators:
            q["ind"] = ",".join(self.indicators)
        if self.areas:
            q["area"] = ",".join(self.areas)
        if self.year_from:
            q["from"] = str(self.year_from)
        if self.year_to:
            q["to"] = str(self.year_to)
        if self.selection:
            q["sel"] = f"{self.selection[0].isoformat()}/{self.selection[1].isoformat()}"
        if self.cumulative is not None:
            q["total"] = "1" if self.cumulative else "0"
        if self.text:
            q["q"] = self.text
        if self.as_of:
            q["asof"] = self.as_of.isoformat()
        if self.lang != "en":
            q["lang"] = self.lang
        return q

    def search(self) -> str:
        q = self.query()
        return ("?" + urlencode(q, safe=",/")) if q else ""

    def with_(self, **changes) -> "View":
        return replace(self, **changes)

    def filters(self, indicators: tuple[str, ...] | None = None, selected_only: bool = False) -> Filters:
        """The query behind the page (or one chart of it: ``indicators``); with
        ``selected_only``, only values whose period overlaps the selected period."""
        start = date(self.year_from, 1, 1) if self.year_from else None
        end = date(self.year_to, 12, 31) if self.year_to else None
        if selected_only and self.selection:
            start = max(filter(None, (start, self.selection[0])))
            end = min(filter(None, (end, self.selection[1])))
        return Filters(indicators=self.indicators if indicators is None else indicators,
                       families=(self.family,) if self.family else (), areas=self.areas,
                       start=start, end=end, cumulative=self.cumulative, text=self.text,
                       as_of=self.as_of)
