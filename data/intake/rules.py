"""Checking cells: every rule a cell of a dropped file must meet, each written once.

A rule takes a cell's *raw value* (as ``Sheet.raw_rows`` gives it: ``None``, ``str``,
``int``, ``float``, or a ``Cell`` for anything else; a ``Cell`` of any kind is read the
same way) and returns what it reads, or a ``Problem``: the frictionless-style code of the
errors report, the message id (``data.messages``) and its parameters. The row-by-row
checks (``data.intake.observations``) call a rule on one cell and report its problem; the
column-by-column reading (``data.intake.columns``) calls the same rule on every cell of a
column (on each distinct text once, for columns of ids and terms) and leaves any row with
a problem to the row-by-row checks, which then report it. The rules that are about a
column as a whole (``texts``: free text with no markup) take a column; a row calls them
with a one-element column. ``data.curated`` checks the curated files' quotes and values
with the same rules.
"""
from __future__ import annotations

import difflib
import math
import re
from datetime import date
from typing import NamedTuple

from data import messages, plaintext
from data.intake.fields import Field, clip, iso_date, plain, unguard
from data.numbers import NumberError, parse_number, same_number
from data.periods import PeriodError, fiscal_year, period_bounds
from data.sheets import Cell
from data import vocabulary as vocab


class Problem(NamedTuple):
    code: str  # the errors report's code: type-error, constraint-error, ...
    msg: str  # the message id in data.messages
    params: dict

    @property
    def message(self) -> str:
        return messages.render(self.msg, self.params, "en")


def problem(code: str, msg: str, **params) -> Problem:
    return Problem(code, msg, params)


_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)$")
_PERCENT_TEXT = re.compile(r"^([+-]?(\d+\.?\d*|\.\d+))\s*%$")
_PLAIN_DIGITS = re.compile(r"[0-9]+(\.[0-9]+)?")
IDS = {"source_id": re.compile(r"^[a-z0-9][a-z0-9._-]{0,79}$"),
       "indicator_id": re.compile(r"^[a-z][a-z0-9_]{1,79}$"),
       "area_id": re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")}
YES = {"yes", "y", "true", "1", "x", "是"}
NO = {"no", "n", "false", "0", "否"}
PERCENT_UNITS = ("percent", "percentage_points")
_READ_AS_VALUE = ("text", "number", "empty")


def unwrap(v):
    """A ``Cell`` of text or a number as the raw value it stands for; any other as it is."""
    if type(v) is Cell and v.kind in _READ_AS_VALUE:
        return None if v.kind == "empty" else v.value
    return v


def _plain_text(v) -> bool:
    """Text that is not blank and holds no markup or invisible character: what most cells
    of a file are, which needs no other look (``readable`` says nothing about it)."""
    return type(v) is str and v and not v.isspace() and (plaintext.clean(v) or unsafe(v) is None)


def unsafe(t: str) -> Problem | None:
    """Text that is not the plain text it looks like (``data.plaintext``): an invisible
    character (a right-to-left override, a zero-width space, a control character ...),
    markup, or an HTML character reference."""
    found = plaintext.hidden(t)
    if found is not None:
        at, char = found
        before = t[max(0, at - 20):at].lstrip()
        where = (messages.both(f"after '{before}'", f"在“{before}”之后") if before.strip()
                 else messages.both("at the start", "在开头"))
        return problem("hidden-character", "hidden-character", char=plaintext.code_point(char), where=where)
    tag = plaintext.markup(t)
    if tag is not None:
        return problem("markup-in-text", "markup-found", found=tag)
    ref = plaintext.char_ref(t)
    if ref is not None:
        return problem("markup-in-text", "char-ref", found=ref, char=plaintext.decoded(ref))
    return None


def is_empty(v) -> bool:
    v = unwrap(v)
    return v is None or (type(v) is str and (not v or v.isspace()))


# --- Any cell -------------------------------------------------------------------------------

def readable(v, f: Field) -> Problem | None:
    """A cell that cannot be read at all: a formula, an error, markup, a required cell left empty."""
    if type(v) is Cell:
        if v.kind == "formula":
            return problem("formula-cell", "formula-cell", formula=v.value)
        if v.kind == "error":
            return problem("type-error", "excel-error", error=v.value)
        v = unwrap(v)
    if type(v) is str and not plaintext.clean(v):
        bad = unsafe(v)
        if bad is not None:
            return bad
    if f.required and is_empty(v):
        return problem("missing-cell", "missing-cell", field=f.name, help=f.helps())
    return None


def as_text(v) -> str | None:
    """What a readable cell says, as text (None when empty)."""
    v = unwrap(v)
    kind = type(v)
    if kind is str:
        text = v.strip()
        if not text:
            return None
        if "\u00a0" in text:
            text = text.replace("\u00a0", " ")
        return unguard(text) if text[0] == "'" else text
    if v is None:
        return None
    if kind is float or kind is int:
        return plain(v)
    if kind is bool:
        return "yes" if v else "no"
    if kind is Cell:
        if v.kind == "percent":
            return plain(v.value)
        if v.kind == "date":
            return iso_date(v.value)
        if v.kind == "bool":
            return "yes" if v.value else "no"
        return None
    return str(v)


def text(v, f: Field):
    """A cell as text, or the problem that keeps it from being read."""
    return readable(v, f) or as_text(v)


def texts(values, f: Field) -> list:
    """A column of free text (quotes, locators, notes) as ``text`` reads each cell; a column
    of clean text (no markup, invisible character, padding, leading ' or no-break space:
    ``str.isprintable`` is False for the no-break space) is checked as a whole,
    which is most of an export. A row checks its cell as a column of one."""
    if set(map(type, values)) <= {str}:
        joined = "\x00".join(values)
        if (all(map(str.isprintable, values)) and "\x00'" not in joined and joined[:1] != "'"
                and ("<" not in joined or not plaintext.TAG.search(joined))
                and ("&" not in joined or not plaintext.CHAR_REF.search(joined))
                and (":" not in joined or not plaintext.script_url(joined))):
            if list(map(str.strip, values)) == list(values):  # nothing to strip: each cell is its text
                empty = readable("", f)
                return [v or empty for v in values]
    return [text(v, f) for v in values]


# --- Ids and terms --------------------------------------------------------------------------

_KNOWN = {"indicator_id": ("indicator", "New indicators"), "area": ("area", "New areas"),
          "source_id": ("source", "New sources")}


def known_id(v, f: Field, known: dict):
    """An id of the store (or declared in the file), in any case; else a problem with the
    id it may have meant."""
    found = text(v, f)
    if found is None or type(found) is Problem:
        return found
    if found in known:
        return found
    folded = {k.lower(): k for k in known}
    if found.lower() in folded:
        return folded[found.lower()]
    what, sheet = _KNOWN[f.name]
    lower = found.lower()
    by_name = [k for k, rec in known.items()
               if lower in (str(rec.get("name_en") or "").lower(), str(rec.get("name_zh") or "").lower(),
                            str(rec.get("cite_as") or "").lower(), str(rec.get("symbol") or "").lower())]
    params = dict(text=found, what=messages.word(what), sheet=sheet)
    if by_name:
        return problem("foreign-key-error", "unknown-id-named", id=by_name[0], **params)
    close = difflib.get_close_matches(found, list(known), n=1, cutoff=0.75)
    if close:
        return problem("foreign-key-error", "unknown-id-close", close=close[0], **params)
    return problem("foreign-key-error", "unknown-id", **params)


def term(text_: str | None, terms: dict) -> str | None:
    """A vocabulary id from its id, English or Chinese name (any case)."""
    if not text_:
        return None
    t = text_.strip().lower()
    for key, entry in terms.items():
        if t in (key.lower(), key.lower().replace("_", " "), entry.name_en.lower(), entry.name_zh):
            return key
    return None


def unit(v, f: Field):
    """A unit from the list."""
    found = text(v, f)
    if found is None or type(found) is Problem:
        return found
    key = term(found, vocab.UNITS)
    if key is None:
        return problem("constraint-error", "not-a-unit", text=found, units=messages.listed(vocab.UNITS))
    return key


def unit_matches(found: str, indicator: str, expected: str) -> Problem | None:
    """The row's unit is its indicator's."""
    if found == expected:
        return None
    return problem("unit-mismatch", "unit-mismatch", indicator=indicator, expected=expected, unit=found)


_VOCABULARIES = {"qualifier": (vocab.QUALIFIERS, "exact", "qualifier"),
                 "obs_status": (vocab.OBS_STATUS, "normal", "status")}


def vocabulary(v, f: Field):
    """A qualifier or status from the list (empty: exact, normal)."""
    terms, default, what = _VOCABULARIES[f.name]
    found = text(v, f)
    if found is None:
        return default
    if type(found) is Problem:
        return found
    key = term(found, terms)
    if key is None:
        return problem("constraint-error", "not-in-vocabulary", text=found, what=messages.word(what),
                       terms=messages.listed(terms))
    return key


def yes_no(v, f: Field):
    """The revision mark: yes, or empty (no)."""
    found = text(v, f)
    if found is None:
        return False
    if type(found) is Problem:
        return found
    t = found.strip().lower()
    if t in YES:
        return True
    if t in NO:
        return False
    return problem("constraint-error", "revision-yes-no")


def required_text(v, f: Field):
    return text(v, f)


# --- Periods and values ---------------------------------------------------------------------

def period(v, f: Field):
    """(period, label): a year, month, day, range or fiscal year, typed as text (a year as a
    number, or a date cell, is read too); an Excel serial number is explained."""
    if _plain_text(v):
        return _period_text(v.strip())
    bad = readable(v, f)
    if bad is not None:
        return bad
    v = unwrap(v)
    kind = type(v)
    if kind is str:
        return _period_text(v.strip()) if v and not v.isspace() else None
    if v is None:
        return None
    if kind is float or kind is int or (kind is Cell and v.kind == "percent"):
        number = v.value if kind is Cell else v
        if float(number).is_integer() and 1900 <= number <= 2100:
            return str(int(number)), str(int(number))
        return _serial_or_unreadable(str(plain(number)))
    if kind is Cell and v.kind == "date":
        d, fmt = v.value, v.fmt.lower().replace("[", " ")
        if "d" not in fmt and "m" not in fmt.replace("mm:", ""):
            return f"{d:%Y}", f"{d:%Y}"
        if "d" not in fmt and d.day == 1:
            return f"{d:%Y-%m}", f"{d:%Y-%m}"
        return f"{d:%Y-%m-%d}", f"{d:%Y-%m-%d}"
    return problem("type-error", "not-a-period")


def _period_text(t: str):
    try:
        fiscal = fiscal_year(t)
        if fiscal:
            return fiscal, f"fiscal year {t.upper().removeprefix('FY').strip()}"
        period_bounds(t)
        return t, t
    except PeriodError:
        return _serial_or_unreadable(t)


def _serial_or_unreadable(t: str) -> Problem:
    if re.fullmatch(r"\d{5}(\.0+)?", t) and 20000 <= float(t) <= 80000:
        day = date.fromordinal(date(1899, 12, 30).toordinal() + int(float(t))).isoformat()
        return problem("type-error", "period-serial", text=t, day=day, month=day[:7])
    return problem("type-error", "period-unreadable", text=t)


def _the(indicator: str | None):
    """An indicator's id inside a sentence (set off by spaces in Chinese), or "the indicator"."""
    return messages.both(indicator, f" {indicator} ") if indicator else messages.word("the indicator")


def value(v, f: Field, unit_: str | None, indicator: str | None):
    """(value, value_text): a plain number (a percentage as 25.6, '25.6 %', or a cell
    formatted as a percentage), for an indicator measured in ``unit_``."""
    kind = type(v)
    if kind is float:  # the common case first: a number typed in a General cell
        number, shown_ = v, (str(int(v)) if v.is_integer() and -1e15 < v < 1e15 else str(v))
    elif kind is int:
        number, shown_ = float(v), plain(v)
    elif _plain_text(v):
        return _value_text(v.strip(), unit_, indicator)
    else:
        bad = readable(v, f)
        if bad is not None:
            return bad
        if kind is Cell and v.kind == "percent":
            if unit_ is not None and unit_ not in PERCENT_UNITS:
                return problem("unit-mismatch", "percent-cell-wrong-unit", indicator=_the(indicator), unit=unit_)
            number = round(float(v.value) * 100, 10)
            return storable(number, f"{plain(number)}%") or (number, f"{plain(number)}%")
        v = unwrap(v)
        kind = type(v)
        if v is None or (kind is str and not v.strip()):
            return None
        if kind is float or kind is int:
            number, shown_ = float(v), plain(v)
        elif kind is str:
            return _value_text(v.strip(), unit_, indicator)
        else:
            return problem("type-error", "value-not-a-number")
    return _in_scale(number, shown_, unit_, indicator)


def _value_text(raw: str, unit_: str | None, indicator: str | None):
    """A value typed as text: a number, or a percentage with its sign for a percent indicator."""
    m = _PERCENT_TEXT.match(raw)
    if m and unit_ in PERCENT_UNITS:
        number = float(m.group(1))
        return (storable(number, raw) or (number, raw)) if math.isfinite(number) else None
    if not _NUMBER.match(raw):
        msg = "value-not-number-percent" if unit_ in PERCENT_UNITS else "value-not-number"
        return problem("type-error", msg, text=raw)
    return _in_scale(float(raw), raw, unit_, indicator)


# Values from this magnitude up are refused: PostgreSQL writes some of them with 17 digits
# where DuckDB and Python write the 16 that suffice, so the two stores' exports would differ
# (docs/store-interface.md, section 3). No indicator comes near it.
TOO_LARGE = 1e15


def storable(number: float, shown_: str) -> Problem | None:
    """A finite number below ``TOO_LARGE`` in magnitude, which every store keeps and writes
    alike (the drop folder's values, the curated files' numbers); else the problem."""
    if not math.isfinite(number):
        return problem("type-error", "value-not-finite")
    if abs(number) >= TOO_LARGE:
        return problem("constraint-error", "value-too-large", text=shown_)
    return None


def _in_scale(number: float, shown_: str, unit_: str | None, indicator: str | None):
    bad = storable(number, shown_)
    if bad is not None:
        return bad
    if 0 < abs(number) < 1 and unit_ in PERCENT_UNITS:
        return problem("percent-scale", "percent-scale", text=shown_, indicator=_the(indicator),
                       percent=plain(round(number * 100, 10)))
    return number, shown_


# --- The citation ---------------------------------------------------------------------------

def quotes(texts_: list[str], report_texts: list, reports: list) -> list[Problem | None]:
    """Each quote is one line and, when its report's text is at hand, word for word in it. A
    row checks its quote as a column of one."""
    joined = "\x00".join(texts_)
    breaks = "\n" in joined or "\r" in joined
    out: list[Problem | None] = []
    for text_, report_text, report in zip(texts_, report_texts, reports):
        if breaks and ("\n" in text_ or "\r" in text_):
            out.append(problem("constraint-error", "quote-line-break"))
        elif report_text is not None and text_ not in report_text:
            out.append(problem("quote-not-found", "quote-not-found", report=report))
        else:
            out.append(None)
    return out


def stated(text_: str) -> float | None:
    """The number ``value_text`` states (``parse_number``; plain digits read directly)."""
    if _PLAIN_DIGITS.fullmatch(text_):
        return float(text_)
    try:
        return parse_number(text_)
    except NumberError:
        return None


def value_text(text_: str, quote_: str | None, number: float, says: float | None = None) -> Problem | None:
    """``value_text`` is in the quote and states the value (``says``: ``stated(text_)``, when
    already known)."""
    if quote_ and text_ not in quote_:
        return problem("value-not-in-quote", "value-not-in-quote")
    says = stated(text_) if says is None else says
    if says is None:
        return problem("value-mismatch", "value-text-unreadable", value=f"{number:g}")
    if not same_number(says, number):
        return problem("value-mismatch", "value-mismatch", stated=f"{says:g}", value=f"{number:g}")
    return None


def qualified(number: float, qualifier: str) -> dict:
    """A value with its qualifier, in both languages ("more than 5", "超过5")."""
    t = plain(number)
    if qualifier == "exact":
        return messages.both(t, t)
    q = vocab.QUALIFIERS[qualifier]
    return messages.both(f"{q.name_en} {t}", f"{q.name_zh}{t}")


def conflict(indicator, area, period_, old: dict, old_source: str, new: tuple, new_source: str) -> Problem:
    """A value that contradicts the published one without being marked as a revision.
    ``new``: (value, qualifier, locator, quote)."""
    return problem("conflict", "conflict", indicator=indicator, area=area, period=period_,
                   old=qualified(old["value"], old["qualifier"]), old_source=old_source,
                   old_locator=old["locator"], old_quote=clip(old["quote"]),
                   new=qualified(new[0], new[1]), new_source=new_source, new_locator=new[2],
                   new_quote=clip(new[3]))
