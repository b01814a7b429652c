"""What a cell of plain text may not hold: markup a browser would read, and characters that
are invisible yet change what is displayed. One statement of both, used by the drop folder's
cell rules (``data.intake.rules``, both the row-by-row and the column-by-column reading), by
the curated files' check (``data.curated``) and, for text already in a store, by the pages
(``visible``).

Markup is anything an HTML parser would take for the start of a tag: ``<`` directly
followed by an ASCII letter, ``/``, ``!`` or ``?`` (``<svg/onload=...``, an unclosed ``<img``,
``</b>``, ``<!--``, ``<?xml``), a ``javascript:`` or ``vbscript:`` address (ASCII letters in any
case, spaces and line breaks between them ignored, as browsers ignore them), and an HTML
character reference (``&lt;``, ``&#60;``, ``&#x3c;``; a name HTML knows, followed by ``;``),
which some other program may turn back into markup. Allowed: ``<`` before a space, a digit or any other character (``a < b``,
``<5%``, ``<- see``, ``<=``), Chinese and full-width brackets (《》〈〉＜＞), an ``&`` that does not
start a reference (``R&D``, ``Peace & Security``), and a web address in angle brackets as the
reports write it (``<https://peacekeeping.un.org/en>``), unless an HTML parser would read an
event handler into it (``<https://x/onmouseover=...>``).

Invisible characters: the C0 and C1 control characters other than tab, line feed and carriage
return, and every Unicode format character (category Cf): the bidirectional controls
(U+202A-U+202E, U+2066-U+2069, U+200E, U+200F, U+061C), which reorder what is displayed
("para 4" U+202E "21" shows as "para 412"), zero-width spaces and joiners, the soft hyphen,
the byte-order mark, the invisible tag characters; and the line and paragraph separators
U+2028 and U+2029. ``tests/test_hostile_text.py`` checks the list against Python's Unicode
database.
"""
from __future__ import annotations

import html
import html.entities
import re
import unicodedata

# Control characters (less tab, line feed, carriage return), format characters, separators.
_HIDDEN_CLASS = ("\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"
                 "\u00ad\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u180e"
                 "\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb"
                 "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a"
                 "\U000e0001\U000e0020-\U000e007f")
HIDDEN = re.compile(f"[{_HIDDEN_CLASS}]")
TAG = re.compile(r"<[A-Za-z/!?]")
_AUTOLINK = re.compile(r"<https?://[^\s<>\"'`]+>")
SCRIPT_URL = re.compile(r"(?:j\s*a\s*v\s*a|v\s*b)\s*s\s*c\s*r\s*i\s*p\s*t\s*:", re.IGNORECASE | re.ASCII)
_SCRIPT_TAIL = re.compile(r"s\s*c\s*r\s*i\s*p\s*t\s*:", re.IGNORECASE | re.ASCII)  # 4x faster to look for
CHAR_REF = re.compile(r"&(?:#[0-9]+;?|#[xX][0-9A-Fa-f]+;?|[A-Za-z][A-Za-z0-9]*;)")

_NAMED = {"&" + name for name in html.entities.html5 if name.endswith(";")}
_NAMES = {"\x00": "NULL", "\t": "TAB", "\n": "LINE FEED", "\r": "CARRIAGE RETURN"}


def clean(text: str) -> bool:
    """True when ``text`` certainly holds neither markup nor an invisible character (a
    quick look that most text passes; False means: look closer with ``hidden``/``markup``)."""
    return text.isprintable() and "<" not in text and "&" not in text and ":" not in text


def hidden(text: str) -> tuple[int, str] | None:
    """The first invisible character of ``text`` and where it is, or None."""
    m = HIDDEN.search(text)
    return (m.start(), m.group()) if m else None


def code_point(char: str) -> str:
    """``U+202E (RIGHT-TO-LEFT OVERRIDE)``: a character named so that a person can find it."""
    name = _NAMES.get(char) or unicodedata.name(char, "")
    if not name and unicodedata.category(char) == "Cc":
        name = "CONTROL CHARACTER"
    return f"U+{ord(char):04X}" + (f" ({name})" if name else "")


def _autolink(text: str, at: int) -> bool:
    """Whether the ``<`` at ``at`` opens a web address in angle brackets that an HTML parser
    would not read an event handler into: the name before its first ``=`` (the part after
    the last ``/``) would be an attribute's name, so it must not start with "on"."""
    m = _AUTOLINK.match(text, at)
    if m is None:
        return False
    address = m.group()[1:-1]
    if "=" in address:
        name = address.split("=", 1)[0].rsplit("/", 1)[-1]
        if name[:2].lower() == "on":
            return False
    return True


def markup(text: str) -> str | None:
    """The first markup in ``text`` (a few characters of it, to find it by), or None."""
    if "<" in text:
        for m in TAG.finditer(text):
            if not _autolink(text, m.start()):
                return text[m.start():m.start() + 12]
    if ":" in text:
        return script_url(text)
    return None


def script_url(text: str) -> str | None:
    """The first ``javascript:`` or ``vbscript:`` in ``text``, or None."""
    if not _SCRIPT_TAIL.search(text):
        return None
    m = SCRIPT_URL.search(text)
    return m.group() if m else None


def char_ref(text: str) -> str | None:
    """The first HTML character reference in ``text``, or None."""
    if "&" not in text:
        return None
    for m in CHAR_REF.finditer(text):
        ref = m.group()
        if ref[1] == "#" or ref in _NAMED:  # a name HTML knows ("&amp;"), not any "&y;"
            return ref
    return None


def decoded(ref: str) -> str:
    """What a character reference stands for (the reference itself when it is no known one)."""
    out = html.unescape(ref if ref.endswith(";") else ref + ";")
    return ref if out == ref or out == ref + ";" else out


def visible(text):
    """Text as a page may show it: each invisible character replaced by its code in
    brackets ("para 4[U+202E]21"), so that text stored before these rules, or from
    anywhere else, cannot display differently from what it says. Anything not a str is
    returned as it is."""
    if type(text) is not str or text.isprintable() or not HIDDEN.search(text):
        return text
    return HIDDEN.sub(lambda m: f"[U+{ord(m.group()):04X}]", text)
