"""Interface language (English or Chinese): gettext catalogues and Babel formatting.

Strings in the code are English and wrapped in ``_()``; ``locales/zh/LC_MESSAGES/
messages.po`` holds their Chinese. The catalogue is compiled in memory when first used, so
no binary ``.mo`` file is kept in the repository; ``tests/test_i18n.py`` fails when a
string in the code has no Chinese translation. Numbers and dates are formatted for the
chosen language with Babel.
"""
from __future__ import annotations

import gettext
from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from babel import Locale
from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

_INF = float("inf")
LANGUAGES = {"en": "English", "zh": "中文"}
LOCALES = {"en": Locale.parse("en_GB"), "zh": Locale.parse("zh_Hans_CN")}
HTML_LANG = {"en": "en", "zh": "zh-Hans"}
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locales"


def N_(message: str) -> str:
    """Marks a string for translation where it is defined; translate it where it is shown."""
    return message


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def span_zh(label: str) -> str:
    """``Jan–Aug`` -> ``1月至8月``, ``since 1948`` -> ``1948年以来``; other labels as given."""
    for n, month in enumerate(_MONTHS, start=1):
        label = label.replace(month, f"{n}月")
    if label.startswith("since "):
        return f"{label[6:]}年以来"
    return label.replace("–", "至")


def language(value) -> str:
    return value if value in LANGUAGES else "en"


@lru_cache(maxsize=None)
def translations(lang: str) -> gettext.NullTranslations:
    if language(lang) == "en":
        return gettext.NullTranslations()
    with open(LOCALE_DIR / lang / "LC_MESSAGES" / "messages.po", "rb") as po:
        catalog = read_po(po, locale=LOCALES[lang])
    buf = BytesIO()
    write_mo(buf, catalog)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def gettext_for(lang: str):
    """The ``_`` of a language: ``_ = gettext_for(view.lang)``."""
    return translations(language(lang)).gettext


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
    """``1 Jan 2017`` / ``2017年1月1日``."""
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
