"""Indicator definitions and the derived views pages show: latest values, citations."""
from __future__ import annotations

import pandas as pd

from indicators import vocabulary as vocab


def citation(row) -> str:
    """``S/2023/646, para 44``: how a briefing officer names where a value comes from."""
    return f"{row['source_cite_as']}, {row['locator']}"


def value_label(row) -> str:
    """The value as the text qualifies it: ``more than 88,000``, ``25.6%``, ``3:1``."""
    value = row["value"]
    number = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.4g}"
    unit = row["unit"]
    if unit == "percent":
        number += "%"
    elif unit == "ratio":
        number += ":1"
    elif unit == "usd":
        number = "US$" + number
    elif unit in vocab.UNITS and unit not in ("count", "fraction"):
        number += " " + vocab.UNITS[unit].short
    qualifier = row["qualifier"]
    if qualifier and qualifier != "exact":
        number = f"{vocab.QUALIFIERS[qualifier].name_en} {number}"
    return number


def latest(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per indicator: the value with the latest period (ties: all operations first,
    then the newest report)."""
    if frame.empty:
        return frame
    ranked = frame.assign(_all=(frame["area"] != "all_pko"))
    ranked = ranked.sort_values(["indicator_id", "period_end", "_all", "source_date"],
                                ascending=[True, False, True, False])
    return ranked.drop_duplicates("indicator_id").drop(columns="_all").reset_index(drop=True)
