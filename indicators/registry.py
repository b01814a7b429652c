"""Indicator definitions and the derived views pages show: latest values, citations."""
from __future__ import annotations

import re

import pandas as pd

from data import vocabulary as vocab
from data.plaintext import visible
from data.translation import gettext_for
from indicators import i18n

_SUPERSCRIPT = dict(zip("0123456789abcdefghijklmnoprstuvwxyz*",
                        "⁰¹²³⁴⁵⁶⁷⁸⁹ᵃᵇᶜᵈᵉᶠᵍʰⁱʲᵏˡᵐⁿᵒᵖʳˢᵗᵘᵛʷˣʸᶻ*"))
_MARK = re.compile(r"\^([0-9a-z*]+)")


def locator_text(locator: str) -> str:
    """The locator as a reader sees it: the curated ``para 168^a`` (paragraph 168, which
    carries the report's footnote mark a) becomes ``para 168ᵃ``; a mark with no superscript
    character becomes ``para 168 (q)``."""
    def mark(m: re.Match) -> str:
        text = m.group(1)
        if all(ch in _SUPERSCRIPT for ch in text):
            return "".join(_SUPERSCRIPT[ch] for ch in text)
        return f" ({text})"
    return visible(_MARK.sub(mark, locator or ""))


def _fraction(value: float, lang: str) -> str | None:
    """A fraction the reports state in words (三分之一) as one: ``1/3`` / ``三分之一``, not
    ``0.3333``; None when the value is no simple fraction."""
    from fractions import Fraction
    if not 0 < value < 1:
        return None
    f = Fraction(value).limit_denominator(12)
    if abs(float(f) - value) > 1e-3:
        return None
    if lang == "zh":
        digits = "零一二三四五六七八九十"
        return f"{digits[f.denominator] if f.denominator <= 10 else f.denominator}分之{digits[f.numerator]}"
    return f"{f.numerator}/{f.denominator}"


def _cite(cite_as: str, locator: str) -> str:
    # visible: an invisible character stored before the drop folder refused them (a
    # right-to-left override in "para 4\u202e21") is shown as its code, never obeyed.
    return f"{visible(cite_as)}, {locator_text(locator)}"


def quote_text(quote) -> str:
    """A quote as a page shows it: word for word, any invisible character shown as its code."""
    return visible(quote)


_ZH_DIGITS = {1: "一", 2: "两", 3: "三", 4: "四", 5: "五", 6: "六", 7: "七", 8: "八", 9: "九", 10: "十"}
_EN_MULTIPLES = {1: "doubled", 2: "tripled", 3: "quadrupled"}


def _times_label(value: float, qualifier: str, lang: str) -> str:
    """An increase stated as a multiple of the earlier level, in the report's own words:
    1 (增加了一倍) is "doubled", never "1 ×"; 2 more_than (增加了两倍多) "more than tripled"."""
    whole = int(value) if float(value).is_integer() else None
    if lang == "en":
        verb = _EN_MULTIPLES.get(whole) or f"rose to {i18n.number(value + 1, lang)} times the earlier level"
        if qualifier and qualifier != "exact":
            verb = f"{vocab.QUALIFIERS[qualifier].name_en} {verb}"
        return verb
    amount = _ZH_DIGITS.get(whole) or i18n.number(value, lang)
    return {"nearly": f"几乎增加了{amount}倍", "more_than": f"增加了{amount}倍多",
            "at_least": f"至少增加了{amount}倍", "about": f"约增加了{amount}倍",
            "less_than": f"增加了不到{amount}倍", "at_most": f"最多增加了{amount}倍"}.get(
        qualifier, f"增加了{amount}倍")


def citation(row) -> str:
    """``S/2023/646, para 44``: how a briefing officer names where a value comes from."""
    return _cite(row["source_cite_as"], row["locator"])


def value_label(row, lang: str = "en") -> str:
    """The value as the text qualifies it: ``more than 88,000``, ``25.6%``, ``3:1``
    (``超过 88,000`` in Chinese)."""
    unit = row["unit"]
    if unit == "times":
        return _times_label(row["value"], row["qualifier"], lang)
    number = i18n.number(row["value"], lang)
    if unit == "fraction":
        number = _fraction(row["value"], lang) or number
    if unit == "percent":
        number += "%"
    elif unit == "ratio":
        number += ":1"
    elif unit == "usd":
        number = "US$" + number
    elif unit in vocab.UNITS and unit not in ("count", "fraction"):
        term = vocab.UNITS[unit]
        number += " " + (term.short if lang == "en" else term.name_zh)
    qualifier = row["qualifier"]
    if qualifier and qualifier != "exact":
        term = vocab.QUALIFIERS[qualifier]
        number = f"{term.name_en} {number}" if lang == "en" else f"{term.name_zh} {number}"
    return number


# The same labels for many rows at once: ``rows`` is a frame or a mapping of column lists
# (``indicators.figures.columns``). A chart labels thousands of values; one call per column
# costs a fraction of one call per row.

def _listed(rows, column: str) -> list:
    values = rows[column]
    return values.tolist() if hasattr(values, "tolist") else list(values)


def value_labels(rows, lang: str = "en") -> list[str]:
    """``value_label`` of every row."""
    return [value_label({"value": v, "unit": u, "qualifier": q}, lang)
            for v, u, q in zip(_listed(rows, "value"), _listed(rows, "unit"), _listed(rows, "qualifier"))]


def names(rows, lang: str = "en") -> list[str]:
    """``name`` of every row."""
    return _listed(rows, "indicator_name" if lang == "en" else "indicator_name_zh")


def areas(rows, lang: str = "en") -> list[str]:
    """``area`` of every row."""
    return _listed(rows, "area_name" if lang == "en" else "area_name_zh")


def period_labels(rows, lang: str = "en") -> list[str]:
    """``period_label`` of every row."""
    return _listed(rows, "period_label") if lang == "en" else [i18n.period_zh(p) for p in _listed(rows, "period")]


def citations(rows) -> list[str]:
    """``citation`` of every row."""
    return [_cite(c, loc) for c, loc in zip(_listed(rows, "source_cite_as"), _listed(rows, "locator"))]


def period_label(row, lang: str = "en") -> str:
    """The period as the report gives it (English), or generated from the ISO period."""
    return row["period_label"] if lang == "en" else i18n.period_zh(row["period"])


def name(row, lang: str = "en") -> str:
    return row["indicator_name"] if lang == "en" else row["indicator_name_zh"]


def area(row, lang: str = "en") -> str:
    return row["area_name"] if lang == "en" else row["area_name_zh"]


_SPEAKERS_ZH = {"Secretariat": "秘书处", "Security Council": "安全理事会", "Working Group": "工作组",
                "Member State": "会员国"}


def speaker(row, lang: str = "en") -> str:
    """Who stated the value: ``Member State: Kenya`` / ``会员国：Kenya``."""
    who = row["stated_by"]
    if lang == "en":
        return who
    head, sep, rest = who.partition(": ")
    return _SPEAKERS_ZH.get(head, head) + ("：" + rest if sep else "")


def latest(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per indicator: the value with the latest period (ties: all operations first,
    then the newest report)."""
    if frame.empty:
        return frame
    ranked = frame.assign(_all=(frame["area"] != "all_pko"))
    ranked = ranked.sort_values(["indicator_id", "period_end", "_all", "source_date"],
                                ascending=[True, False, True, False])
    return ranked.drop_duplicates("indicator_id").drop(columns="_all").reset_index(drop=True)


def family_catalog(frame: pd.DataFrame) -> pd.DataFrame:
    """Indicators present in a frame, with how many values each has (most first)."""
    if frame.empty:
        return pd.DataFrame(columns=["indicator_id", "indicator_name", "unit", "n"])
    return (frame.groupby(["indicator_id", "indicator_name", "unit"], as_index=False)
            .size().rename(columns={"size": "n"})
            .sort_values(["n", "indicator_id"], ascending=[False, True]).reset_index(drop=True))


def default_indicators(catalog: pd.DataFrame, limit: int = 6) -> tuple[str, ...]:
    """What a family page charts before anyone chooses: the series (two values or more)."""
    series = catalog[catalog["n"] >= 2]
    chosen = series if not series.empty else catalog
    return tuple(chosen["indicator_id"].head(limit))


# The series each family's overview tile leads with; a family not listed (or whose series
# has no value) leads with its indicator that has the most values.
HEADLINES = {
    "fatalities": "fatalities_malicious_acts",
    "women": "women_share_individually_deployed_uniformed",
    "conduct": "sea_trust_fund_people_supported",
    "environment": "env_ghg_emissions_per_capita",
    "cpas": "cpas_data_points",
    "accountability": "accountability_persons_convicted_killing_peacekeepers",
}


def headline(frame: pd.DataFrame, family: str) -> tuple[pd.Series | None, pd.Series | None, pd.DataFrame]:
    """(latest value, the value it is compared with, the comparable series) for a family's tile.

    The value it is compared with is, first, an earlier value of the same indicator and area
    stated in the same sentence (the report makes the comparison itself: "from 7.5 to 7.3
    tonnes against the 2019-2020 baseline"); otherwise the previous comparable value: same
    indicator, area and kind of period (``span_label``), so January–August 2023 is compared
    with January–August 2022, never with a "since 1948" total. ``change_label`` says how."""
    fam = frame[frame["family"] == family]
    if fam.empty:
        return None, None, fam
    wanted = HEADLINES.get(family)
    if wanted not in set(fam["indicator_id"]):
        wanted = family_catalog(fam)["indicator_id"].iloc[0]
    series = fam[fam["indicator_id"] == wanted]
    latest_row = latest(series).iloc[0]
    same_area = series[series["area"] == latest_row["area"]]
    comparable = same_area[same_area["span_label"] == latest_row["span_label"]].sort_values("period_end")
    earlier = same_area[same_area["period_end"] < latest_row["period_end"]].sort_values("period_end")
    stated = earlier[(earlier["source_id"] == latest_row["source_id"]) & (earlier["locator"] == latest_row["locator"])
                     & (earlier["quote"] == latest_row["quote"])]
    if not stated.empty:
        return latest_row, stated.iloc[-1], comparable
    earlier = earlier[earlier["span_label"] == latest_row["span_label"]]
    previous = earlier.iloc[-1] if not earlier.empty else None
    return latest_row, previous, comparable


def comparison(latest_row, previous) -> str:
    """How two values may be compared: ``none`` (no earlier value), ``stated`` (the report
    gives both in one sentence: show them as it does), ``difference`` (both exact, same unit:
    a difference may be computed) or ``both`` (a qualifier such as "more than" or "nearly":
    no arithmetic, both values shown with their qualifiers)."""
    if previous is None:
        return "none"
    if (previous["source_id"], previous["locator"], previous["quote"]) == \
            (latest_row["source_id"], latest_row["locator"], latest_row["quote"]):
        return "stated"
    if latest_row["qualifier"] == "exact" and previous["qualifier"] == "exact" and \
            previous.get("unit", latest_row["unit"]) == latest_row["unit"] and latest_row["unit"] != "times":
        return "difference"
    return "both"


def headline_for(f, family: str) -> tuple[pd.Series | None, pd.Series | None, pd.DataFrame]:
    """``headline`` of the values ``f`` (a ``data.selection.Filters``) selects in one family, asking
    DuckDB for the family's indicator counts and the one series it needs rather than for
    every value (a million at CPAS scale)."""
    from dataclasses import replace

    from indicators import query
    in_family = replace(f, families=(family,))
    catalog = query.catalog(in_family)
    if catalog.empty:
        return None, None, catalog
    wanted = HEADLINES.get(family)
    if wanted not in set(catalog["indicator_id"]):
        wanted = catalog["indicator_id"].iloc[0]
    return headline(query.observations(replace(in_family, indicators=(wanted,))), family)


def change_label(latest_row, previous, lang: str = "en") -> str:
    """The change a tile states: a difference only between two exact values; otherwise both
    values with their qualifiers ("more than 35,000 → more than 80,000"); a comparison the
    report makes in one sentence is shown as it makes it."""
    _ = gettext_for(lang)
    kind = comparison(latest_row, previous)
    if kind == "none":
        return _("No earlier comparable value in the reports.")
    before = _("{value} ({period})").format(value=value_label(previous, lang), period=period_label(previous, lang))
    now = value_label(latest_row, lang)
    if kind == "stated":
        return _("{before} → {now}, as the report states.").format(before=before, now=now)
    if kind == "both":
        return _("{before} → {now}: values stated with a qualifier, so no difference is computed.").format(
            before=before, now=now)
    diff = round(latest_row["value"] - previous["value"], 6)
    sign = "+" if diff > 0 else "−" if diff < 0 else "±"
    amount = sign + i18n.number(abs(diff), lang)
    if latest_row["unit"] == "percent":
        amount += " " + _("percentage points")
    return _("{change} against {value} ({period}).").format(
        change=amount, value=value_label(previous, lang), period=period_label(previous, lang))

