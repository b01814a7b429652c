"""ISO 8601 periods as the curated files write them, and the dates they cover.

A period is a day (``2023-06-30``), a month (``2023-05``), a year (``2022``) or an interval
of two of those (``2023-01/2023-08``; the fiscal year 2022/23 is ``2022-07/2023-06``),
possibly with an open start (``../2022-12`` for "before 2023").
``period_bounds`` gives the first and last day covered, which the store keeps beside the
period so that charts and filters can compare periods of different lengths.
"""
from __future__ import annotations

import calendar
import re
from datetime import date

_POINT = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?$")
# The United Nations peacekeeping fiscal year runs from 1 July to 30 June: "2022/23".
_FISCAL = re.compile(r"^(?:FY\s*)?(\d{4})\s*/\s*(\d{2})$", re.IGNORECASE)


class PeriodError(ValueError):
    """The text is not a period in the form the curated files use."""


def _point(text: str) -> tuple[date, date, str]:
    m = _POINT.match(text)
    if not m:
        raise PeriodError(f"{text!r} is not YYYY, YYYY-MM or YYYY-MM-DD")
    year, month, day = int(m.group(1)), m.group(2), m.group(3)
    try:
        if day:
            d = date(year, int(month), int(day))
            return d, d, "day"
        if month:
            last = calendar.monthrange(year, int(month))[1]
            return date(year, int(month), 1), date(year, int(month), last), "month"
    except ValueError as exc:
        raise PeriodError(f"{text!r}: {exc}") from None
    return date(year, 1, 1), date(year, 12, 31), "year"


def period_bounds(period: str) -> tuple[date | None, date]:
    """First and last day a period covers. Raises PeriodError with the reason.

    An interval with an open start (``../2022-12``, "before 2023") has no first day: None.
    """
    text = (period or "").strip()
    if "/" in text:
        left, _, right = text.partition("/")
        if left == "..":
            return None, _point(right)[1]
        start, _, _ = _point(left)
        _, end, _ = _point(right)
        if end < start:
            raise PeriodError(f"{period!r}: the interval ends before it starts")
        return start, end
    start, end, _ = _point(text)
    return start, end


def period_kind(period: str) -> str:
    """``day``, ``month``, ``year`` or ``interval``: how a chart should mark the value."""
    if "/" in period:
        return "interval"
    return _point(period)[2]


def span(period: str) -> tuple[str, str]:
    """(class, label) of a period's kind: values are comparable only within one label."""
    kind = period_kind(period)
    if kind == "year":
        return "year", "calendar year"
    if kind in ("month", "day"):
        return "point", "point in time" if kind == "day" else "month"
    start, end = period_bounds(period)
    if start is None:
        return "cumulative", f"up to {end:%b %Y}"
    months = (end.year - start.year) * 12 + end.month - start.month + 1
    if start.month == 7 and start.day == 1 and end.month == 6 and end.day == 30 and months == 12:
        return "fiscal", "fiscal year (July–June)"
    if start.month == 1 and start.day == 1 and end.month == 12 and end.day == 31:
        return ("year", "calendar year") if months == 12 else ("multi-year", f"{months // 12} years")
    if months <= 12:
        # Grouped by months: 1 Jan–29 Aug 2023 is compared with January–August 2022, as the
        # reports themselves do; the exact period stays in the label and the hover text.
        return "partial", f"{start:%b}–{end:%b}"
    if months > 24:
        return "cumulative", f"since {start.year}"
    return "multi-year", f"{months} months"


def fiscal_year(text: str) -> str | None:
    """``2022/23`` (or ``FY2022/23``) -> ``2022-07/2023-06``; None when ``text`` is not a
    fiscal year written that way. Raises PeriodError when the two years do not follow."""
    m = _FISCAL.match((text or "").strip())
    if not m:
        return None
    first, second = int(m.group(1)), int(m.group(2))
    if (first + 1) % 100 != second:
        raise PeriodError(f"{text!r}: a fiscal year is written 2022/23, the second year "
                          f"following the first")
    return f"{first}-07/{first + 1}-06"
