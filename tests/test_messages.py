"""The drop folder's messages in English and Chinese (issue 14): every message id the code
uses has both texts with the same parameters, the Chinese in full-width punctuation and the
interface's terms; a stored problem is shown in the reader's language, and one stored
before message ids existed keeps its English text."""
from __future__ import annotations

import re
import string
from pathlib import Path

from babel.messages.pofile import read_po

from data import messages
from data.intake import IntakeError

REPO = Path(__file__).resolve().parent.parent
CJK = "\u3400-\u9fff"


def _used_ids() -> set[str]:
    """Message ids named in the code: problem(code, "id", ...), FormatError(code, "id", ...),
    render("id", ...) / say("id", ...)."""
    found = set()
    ident = r'"([a-z]+(?:-[a-z]+)+)"'
    pattern = re.compile(r'(?:problem|FormatError)\(\s*"[\w-]+",\s*' + ident + r'|(?:render|say)\(\s*' + ident
                         + "|" + ident + r" if [^\n]*? else " + ident)
    for path in [*(REPO / "data").rglob("*.py"), *(REPO / "callbacks").rglob("*.py")]:
        for m in pattern.finditer(path.read_text(encoding="utf-8")):
            found.update(g for g in m.groups() if g)
    return found


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_message_the_code_uses_has_english_and_chinese():
    used = _used_ids()
    assert len(used) > 50  # the scan finds the code's messages
    missing = sorted(used - set(messages.MESSAGES))
    assert not missing, f"message ids with no text in data/messages.py: {missing}"
    for msg, (en, zh) in messages.MESSAGES.items():
        assert en.strip() and zh.strip() and en != zh, msg
        assert re.search(f"[{CJK}]", zh), f"{msg}: the Chinese text has no Chinese"
        assert _fields(en) == _fields(zh), f"{msg}: the two texts take different parameters"
    for key, (en, zh) in messages.WORDS.items():
        assert en and re.search(f"[{CJK}]", zh), key


def test_chinese_texts_use_full_width_punctuation():
    ascii_next_to_cjk = re.compile(f"[{CJK}][,;:!?()]|[,;:!?(][{CJK}]|[{CJK}]\\.(\\s|$)|[{CJK}] ?'|'[{CJK}]")
    from data.intake import AREA_FIELDS, INDICATOR_FIELDS, OBSERVATION_FIELDS, SOURCE_FIELDS

    helps = {f"help of {f.name}": f.help_zh for fields in (OBSERVATION_FIELDS, SOURCE_FIELDS, INDICATOR_FIELDS,
                                                          AREA_FIELDS) for f in fields}
    for msg, zh in [*((m, zh) for m, (_en, zh) in messages.MESSAGES.items()), *helps.items()]:
        bad = ascii_next_to_cjk.search(zh)
        assert not bad, f"{msg}: {bad.group()!r} in {zh!r}"
        zh = zh.removesuffix("{help}")  # a field's help, checked above, ends the sentence
        assert zh.rstrip()[-1] in "。！？）”", f"{msg}: ends without a full stop: {zh!r}"


def test_chinese_texts_use_the_interfaces_terms():
    with open(REPO / "locales" / "zh" / "LC_MESSAGES" / "messages.po", "rb") as f:
        po = {m.id: m.string for m in read_po(f) if m.id}
    for term in ("Indicator", "Area", "Source", "Period", "Quote", "Sheet", "Cell"):
        assert po[term], term
    assert messages.WORDS["indicator"][1] == po["Indicator"] and messages.WORDS["area"][1] == po["Area"]
    assert messages.WORDS["source"][1] == po["Source"]
    zh_all = "".join(zh for _en, zh in messages.MESSAGES.values())
    for other in ("地区", "区域", "时期", "数据值", "收件夹", "电子表单"):  # not the interface's words
        assert other not in zh_all, other
    assert "范围" in zh_all and "期间" in zh_all and "引文" in zh_all and "收件箱" in zh_all


def test_every_message_renders_in_both_languages():
    for msg, (en, _zh) in messages.MESSAGES.items():
        params = {name: 1234 if ":," in en else messages.both(f"<{name}>", f"《{name}》") for name in _fields(en)}
        english, chinese = messages.render(msg, params, "en"), messages.render(msg, params, "zh")
        assert "{" not in english.replace("{.", "") and "{" not in chinese, msg
        assert all(f"<{n}>" in english and f"《{n}》" in chinese for n in params if params[n] != 1234), msg


def test_a_problem_is_shown_in_the_readers_language():
    e = IntakeError("type-error", "Observations", 5, "value", "E5", "25,6 %", "'25,6 %' is text, not a number. x",
                    "value-not-number-percent", {"text": "25,6 %"})
    assert e.text("zh") == ("“25,6 %”是文本，不是数字。请只键入数字，用小数点表示小数，不加千位分隔符或单位："
                            "25.6 或 1067。unit 列已经说明这是百分比。")
    assert e.line("zh").startswith("工作表 Observations，第 5 行，value 列（E5）：“25,6 %”是文本")
    assert e.line("en").startswith("Sheet Observations, row 5, column value (E5): '25,6 %' is text, not a number. "
                                   "Type the number alone")
    # As read back from the store: params as JSON text, in a mapping or a named tuple.
    stored = {"msg": "value-not-number-percent", "params": messages.dumps({"text": "25,6 %"}), "message": "old"}
    assert messages.error_text(stored, "zh") == e.text("zh")


def test_a_problem_stored_before_message_ids_keeps_its_english():
    old = {"msg": None, "params": None, "message": "This cell is empty, and quote is required."}
    assert messages.error_text(old, "zh") == "This cell is empty, and quote is required."
    assert messages.error_text({"message": "Only English."}, "zh") == "Only English."  # no such columns
    unknown = {"msg": "a-message-of-a-later-version", "params": "{}", "message": "Later."}
    assert messages.error_text(unknown, "zh") == "Later."
    broken = {"msg": "value-not-number", "params": "{}", "message": "Missing its parameter."}
    assert messages.error_text(broken, "zh") == "Missing its parameter."


def test_a_file_name_shows_every_invisible_character_the_cell_rule_knows_as_an_escape():
    """File names and cells share one list of invisible characters (data.plaintext.HIDDEN):
    a zero-width space or a byte-order mark in a name was shown as is, though a cell holding
    it is refused, because the name's escaping kept a shorter list of its own."""
    from data.messages import shown_name
    from data.plaintext import HIDDEN

    assert shown_name("a\u200bb\ufeffc.xlsx") == "a\\u200bb\\ufeffc.xlsx"
    assert shown_name("tag\U000e0041.csv") == "tag\\U000e0041.csv"
    assert shown_name("two\nlines\u202e.xlsx") == "two\\nlines\\u202e.xlsx"
    for code in range(0x110000):
        ch = chr(code)
        if HIDDEN.match(ch):
            assert ch not in shown_name(f"x{ch}y"), hex(code)
