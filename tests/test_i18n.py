"""The Chinese interface: every string in the code translated, placeholders intact."""
from __future__ import annotations

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from data.translation import gettext_for
from indicators import i18n

REPO = Path(__file__).resolve().parent.parent
PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _code_messages() -> set[str]:
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
            str(REPO), method_map=[("**.py", "python")], keywords={"_": None, "N_": None},
            directory_filter=lambda d: not any(p in Path(d).parts for p in (".venv", "tests", "bench", "instance"))):
        found.add(message)
    return found


def _catalog():
    with open(REPO / "locales" / "zh" / "LC_MESSAGES" / "messages.po", "rb") as f:
        return {m.id: m.string for m in read_po(f) if m.id}


def test_every_interface_string_has_a_chinese_translation():
    catalog = _catalog()
    missing = sorted(m for m in _code_messages() if not catalog.get(m))
    assert not missing, f"untranslated (see locales/update.py): {missing}"


def test_translations_keep_their_placeholders():
    for msgid, msgstr in _catalog().items():
        assert set(PLACEHOLDER.findall(msgid)) == set(PLACEHOLDER.findall(msgstr)), msgid


def test_catalogue_compiles_and_translates():
    _ = gettext_for("zh")
    assert _("Overview") == "概览"
    assert gettext_for("en")("Overview") == "Overview"
    assert gettext_for("xx")("Overview") == "Overview"  # unknown language: English


def test_numbers_and_dates_per_language():
    from datetime import date
    assert i18n.number(1067, "en") == "1,067" and i18n.number(25.6, "zh") == "25.6"
    assert i18n.day(date(2023, 8, 29), "zh") == "2023年8月29日"
    assert i18n.day(date(2023, 8, 29), "en") == "29 Aug 2023"
    assert i18n.period_zh("2022-07/2023-06") == "2022年7月至2023年6月"


def test_fast_number_formatting_is_babels():
    """i18n.number skips Babel for ordinary values; it must give Babel's text exactly."""
    import math
    import random
    from decimal import InvalidOperation

    rng = random.Random(7)
    values = [rng.random() * 10 ** rng.randint(-7, 17) * rng.choice((1, -1)) for _ in range(20000)]
    values += [round(v, rng.randint(0, 6)) for v in values[:5000]]
    values += [0.00005, 0.00015, 1.00005, 2.5, 0.5, -0.00004, 1e-07, 1.5e16, 1e15, 1 / 3, 25.6, 88000.0,
               -5.0, -0.0, 0.0, math.inf, -math.inf, math.nan, 0.99995, 9999.99995, 1067.0, 1e22]
    for value in values:
        for lang in ("en", "zh"):
            try:
                expected = i18n.babel_number(value, lang)
            except InvalidOperation:
                continue
            assert i18n.number(value, lang) == expected, (value, lang)
    assert i18n.number(1e30) == "1e+30"  # Babel cannot: no crash either
