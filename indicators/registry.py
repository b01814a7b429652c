"""Indicator definitions and the derived views pages show: latest values, citations."""
from __future__ import annotations

import pandas as pd

from indicators import i18n, vocabulary as vocab


def _cite(cite_as: str, locator: str) -> str:
    return f"{cite_as}, {locator}"


def citation(row) -> str:
    """``S/2023/646, para 44``: how a briefing officer names where a value comes from."""
    return _cite(row["source_cite_as"], row["locator"])


def value_label(row, lang: str = "en") -> str:
    """The value as the text qualifies it: ``more than 88,000``, ``25.6%``, ``3:1``
    (``超过 88,000`` in Chinese)."""
    number = i18n.number(row["value"], lang)
    unit = row["unit"]
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
    """(latest value, previous comparable value, the comparable series) for a family's tile.

    Comparable means the same indicator, area and kind of period (``span_label``): January–
    August 2023 is compared with January–August 2022, never with a "since 1948" total."""
    fam = frame[frame["family"] == family]
    if fam.empty:
        return None, None, fam
    wanted = HEADLINES.get(family)
    if wanted not in set(fam["indicator_id"]):
        wanted = family_catalog(fam)["indicator_id"].iloc[0]
    series = fam[fam["indicator_id"] == wanted]
    latest_row = latest(series).iloc[0]
    comparable = series[(series["area"] == latest_row["area"]) &
                        (series["span_label"] == latest_row["span_label"])].sort_values("period_end")
    earlier = comparable[comparable["period_end"] < latest_row["period_end"]]
    previous = earlier.iloc[-1] if not earlier.empty else None
    return latest_row, previous, comparable


def headline_for(f, family: str) -> tuple[pd.Series | None, pd.Series | None, pd.DataFrame]:
    """``headline`` of the values ``f`` (a ``query.Filters``) selects in one family, asking
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
    _ = i18n.gettext_for(lang)
    if previous is None:
        return _("No earlier comparable value in the reports.")
    diff = round(latest_row["value"] - previous["value"], 6)
    sign = "+" if diff > 0 else "−" if diff < 0 else "±"
    amount = sign + i18n.number(abs(diff), lang)
    if latest_row["unit"] == "percent":
        amount += " " + _("percentage points")
    return _("{change} against {value} ({period}).").format(
        change=amount, value=value_label(previous, lang), period=period_label(previous, lang))
