"""The interface's message catalogues (gettext), for text the data layer writes itself.

Strings in the code are English and wrapped in ``_()`` (or marked with ``N_`` where they
are defined and translated where they are shown); ``locales/zh/LC_MESSAGES/messages.po``
holds their Chinese. The catalogue is compiled in memory when first used, so no binary
``.mo`` file is kept in the repository. ``indicators.i18n`` builds the pages' formatting
(numbers, dates, periods) on top of this; ``data/`` uses it for the answers it writes in
both languages (a withdrawal's refusal, say).
"""
from __future__ import annotations

import gettext
from functools import lru_cache
from io import BytesIO
from pathlib import Path

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LANGUAGES = {"en": "English", "zh": "中文"}
LOCALES = {"en": Locale.parse("en_GB"), "zh": Locale.parse("zh_Hans_CN")}
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locales"


def N_(message: str) -> str:
    """Marks a string for translation where it is defined; translate it where it is shown."""
    return message


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
