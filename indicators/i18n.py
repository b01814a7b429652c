"""Interface language (English or Chinese): numbers, days and periods formatted with Babel.

Strings in the code are English and wrapped in ``_()``; ``locales/zh/LC_MESSAGES/
messages.po`` holds their Chinese, and ``data.translation`` the catalogues (``gettext_for``,
``N_``, ``language``: the data layer writes answers in both languages too). The catalogue is
compiled in memory when first used, so no binary ``.mo`` file is kept in the repository;
``tests/test_i18n.py`` fails when a string in the code has no Chinese translation.
"""
from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

from babel.dates import format_date
from babel.numbers import format_decimal

from data.translation import LOCALES, language

__all__ = ["HTML_LANG", "span_zh", "number", "babel_number", "day", "period_zh"]

_INF = float("inf")
HTML_LANG = {"en": "en", "zh": "zh-Hans"}


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def span_zh(label: str) -> str:
    """``Jan–Aug`` -> ``1月至8月``, ``since 1948`` -> ``1948年以来``; other labels as given."""
    for n, month in enumerate(_MONTHS, start=1):
        label = label.replace(month, f"{n}月")
    if label.startswith("since "):
        return f"{label[6:]}年以来"
    return label.replace("–", "至")


def number(value: float, lang: str = "en") -> str:
    """1067 -> ``1,067``; 25.6 -> ``25.6``; fractions to at most 4 decimals."""
    value = float(value)
    fast = _plain_number(value)
    if fast is not None:
        return fast
    try:
        return babel_number(value, lang)
    except InvalidOperation:  # more digits than Babel's context holds (1e30, say)
        return f"{value:,}"


def babel_number(value: float, lang: str = "en") -> str:
    """What ``number`` means, as Babel formats it (the reference for the fast path)."""
    fmt = "#,##0" if float(value).is_integer() else "#,##0.####"
    return format_decimal(value, format=fmt, locale=LOCALES[language(lang)])


_ONE, _TEN_THOUSANDTH = Decimal(1), Decimal("0.0001")


def _plain_number(value: float) -> str | None:
    """Babel's result for both interface languages (both group with "," and mark decimals
    with "."), ten times faster: a chart labels thousands of values. None where the two
    might differ (infinities, NaN, negative zero, more digits than Decimal's context)."""
    if value != value or value in (_INF, -_INF) or (value == 0 and str(value).startswith("-")):
        return None
    try:  # as Babel does: the float's shortest repr, rounded half to even
        exact = Decimal(repr(value))
        rounded = exact.quantize(_ONE if value.is_integer() else _TEN_THOUSANDTH, rounding=ROUND_HALF_EVEN)
    except InvalidOperation:
        return None
    text = f"{rounded:,f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def day(d: date, lang: str = "en") -> str:
    """``1 Jan 2017`` / ``2017年1月1日``; a year before 1000 with its four digits (``1 Jan 0001``,
    not ``1 Jan 1``: an address may name any day)."""
    if d.year < 1000:
        return format_date(d, format="d MMM yyyy" if lang == "en" else "yyyy年M月d日",
                           locale=LOCALES[language(lang)])
    return format_date(d, format="medium" if lang == "en" else "long", locale=LOCALES[language(lang)])


def period_zh(period: str) -> str:
    """A Chinese label generated from an ISO period (the curated labels are English)."""
    def point(p: str) -> str:
        parts = p.split("-")
        if len(parts) == 1:
            return f"{int(parts[0])}年"
        if len(parts) == 2:
            return f"{int(parts[0])}年{int(parts[1])}月"
        return f"{int(parts[0])}年{int(parts[1])}月{int(parts[2])}日"

    if "/" in period:
        left, right = period.split("/", 1)
        if left == "..":
            return f"{point(right)}及以前"
        return f"{point(left)}至{point(right)}"
    return point(period)
