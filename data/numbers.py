"""Read the number a piece of Chinese report text states.

The curated files keep, beside each value, the exact characters of the quote that state it
(``value_text``). This module turns those characters back into a number so that the
fidelity check can compare it with the curated ``value``: ``1 067`` -> 1067, ``8.8 万`` ->
88000, ``五`` -> 5, ``二十五`` -> 25, ``25.6%`` -> 25.6, ``3:1`` -> 3, ``三分之一`` -> 1/3,
``一半`` -> 0.5, ``百分之二十`` -> 20, ``没有`` -> 0, ``翻了一番`` -> 1, ``第五次`` -> 5.

Words rather than digits: a negation that the quote uses as a count of nothing (``没有``, ``无``,
``无一``, ``不存在``, written alone as the value text) is 0; ``翻 N 番`` (doubled N times) is
an increase of 2**N - 1 times the earlier level, the reading of the ``times`` unit (``翻一番``
= doubled = 1, ``翻两番`` = quadrupled = 3); an ordinal (``第五次``) reads as its number,
which a curator may record as the count of a numbered series up to that date.
"""
from __future__ import annotations

import re

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5,
           "六": 6, "七": 7, "八": 8, "九": 9}
_SMALL_UNITS = {"十": 10, "百": 100, "千": 1000}
_BIG_UNITS = {"万": 10_000, "亿": 100_000_000}
_CN_CHARS = "".join(_DIGITS) + "".join(_SMALL_UNITS) + "".join(_BIG_UNITS)

# Spaces of every width that the reports use as thousands separators.
_SPACES = "\u0020\u00a0\u2009\u202f\u3000"
_ARABIC = re.compile(rf"\d[\d{_SPACES},]*(?:\.\d+)?")
_RATIO = re.compile(rf"(\d+(?:\.\d+)?)[{_SPACES}]*[:：∶][{_SPACES}]*(\d+(?:\.\d+)?)")
_FRACTION = re.compile(rf"([{_CN_CHARS}\d]+)分之([{_CN_CHARS}\d]+)")
_DOUBLINGS = re.compile(rf"翻了?([{_CN_CHARS}\d]+)番")
# Only the whole value text: "没有变化" (no change) or "无数" (countless) state no zero.
_ZERO_WORDS = frozenset({"没有", "无", "无一", "不存在"})


class NumberError(ValueError):
    """The text states no number this module can read."""


def chinese_integer(text: str) -> int:
    """Value of a Chinese numeral such as 五, 十二, 二十五, 一百零三, 三千, 两万."""
    if not text or any(ch not in _CN_CHARS for ch in text):
        raise NumberError(f"not a Chinese numeral: {text!r}")
    total, section, digit = 0, 0, None
    for ch in text:
        if ch in _DIGITS:
            digit = _DIGITS[ch]
        elif ch in _SMALL_UNITS:
            section += (1 if digit is None else digit) * _SMALL_UNITS[ch]
            digit = None
        else:  # 万 or 亿 closes a section
            section += digit or 0
            total += (section or 1) * _BIG_UNITS[ch]
            section, digit = 0, None
    return total + section + (digit or 0)


def _plain(token: str) -> float:
    token = token.strip(_SPACES)
    if re.fullmatch(r"[\d.]+", token.translate({ord(c): None for c in _SPACES + ","})):
        return float(token.translate({ord(c): None for c in _SPACES + ","}))
    return float(chinese_integer(token))


def parse_number(text: str) -> float:
    """The number stated by ``text`` (a short piece of a quote). Raises NumberError."""
    s = text.strip(_SPACES)
    if not s:
        raise NumberError("empty number text")
    if s in ("一半", "半数"):
        return 0.5
    if s in _ZERO_WORDS:
        return 0.0
    m = _DOUBLINGS.fullmatch(s)
    if m:
        return 2 ** _plain(m.group(1)) - 1
    m = _RATIO.search(s)
    if m:
        first, second = float(m.group(1)), float(m.group(2))
        if second != 1:
            raise NumberError(f"ratio {s!r} does not have 1 as its second term")
        return first
    m = _FRACTION.search(s)
    if m:
        denominator, numerator = _plain(m.group(1)), _plain(m.group(2))
        if s.startswith("百分之"):
            return numerator
        return numerator / denominator
    m = _ARABIC.search(s)
    if m:
        number = _plain(m.group(0))
        rest = s[m.end():].lstrip(_SPACES)
    else:
        run = re.search(rf"[{_CN_CHARS}]+", s)
        if not run:
            raise NumberError(f"no number in {text!r}")
        digits = run.group(0)
        # A trailing 万/亿 after Chinese digits belongs to the numeral itself.
        number = float(chinese_integer(digits))
        rest = s[run.end():]
    if rest[:1] in _BIG_UNITS:
        number *= _BIG_UNITS[rest[0]]
    return number


def same_number(stated: float, curated: float) -> bool:
    """Equal up to the rounding a curator applies to a fraction (4 decimals)."""
    return abs(stated - curated) <= max(5e-5, 1e-9 * abs(curated))
