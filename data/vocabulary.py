"""Closed vocabularies: units, families, qualifiers, observation statuses.

A curated or dropped value whose unit, family, qualifier or status is not listed here is
refused with the list of allowed values, so that a troop count can never carry a unit like
"£ per capita". Names are plural, without symbols; ``short`` is what a chart axis shows.
"""
from __future__ import annotations

from typing import NamedTuple


class Term(NamedTuple):
    name_en: str
    name_zh: str
    short: str = ""


UNITS: dict[str, Term] = {
    "count": Term("number", "数量", ""),
    "percent": Term("percent", "百分比", "%"),
    "percentage_points": Term("percentage points", "百分点", "pp"),
    "ratio": Term("ratio to one", "比率", ":1"),
    "fraction": Term("fraction of the whole", "比例", ""),
    "usd": Term("US dollars", "美元", "USD"),
    "days": Term("days", "天", "days"),
    "weeks": Term("weeks", "周", "weeks"),
    "months": Term("months", "个月", "months"),
    "years": Term("years", "年", "years"),
    "hours": Term("hours", "小时", "hours"),
    # "增加了一倍" is an increase of one times the earlier level (doubled); "两倍" tripled.
    "times": Term("increase, in multiples of the earlier level", "倍", "×"),
    "kilometres": Term("kilometres", "公里", "km"),
    "tonnes_co2e": Term("tonnes of CO2 equivalent", "吨二氧化碳当量", "t CO2e"),
    "tonnes_co2e_per_person_per_year": Term(
        "tonnes of CO2 equivalent per person per year", "吨二氧化碳当量/人/年", "t CO2e/person/yr"),
    "kwh": Term("kilowatt hours", "千瓦时", "kWh"),
    "megawatts": Term("megawatts", "兆瓦", "MW"),
    "cubic_metres": Term("cubic metres", "立方米", "m³"),
    "litres": Term("litres", "升", "L"),
    "litres_per_person_per_day": Term("litres per person per day", "升/人/天", "L/person/day"),
}

FAMILIES: dict[str, Term] = {
    "fatalities": Term("Fatalities by cause", "按原因分列的死亡人数"),
    "women": Term("Women in peacekeeping", "维和行动中的妇女"),
    "conduct": Term("Conduct and sexual exploitation and abuse", "行为操守与性剥削和性虐待"),
    "environment": Term("Environment", "环境"),
    "cpas": Term("CPAS and performance", "全面规划和业绩评估系统与绩效"),  # CPAS as the reports name it
    "accountability": Term("Accountability", "问责"),
    "capability": Term("Capability and training", "能力与培训"),
    "other": Term("Other indicators", "其他指标"),
}

QUALIFIERS: dict[str, Term] = {
    "exact": Term("exactly", "确切", ""),
    "more_than": Term("more than", "超过", ">"),
    "at_least": Term("at least", "至少", "≥"),
    "nearly": Term("nearly", "近", "≈<"),
    "about": Term("about", "约", "≈"),
    "less_than": Term("less than", "不到", "<"),
    "at_most": Term("at most", "最多", "≤"),
}

OBS_STATUS: dict[str, Term] = {
    "normal": Term("normal", "正常"),
    "estimated": Term("estimated", "估计"),
    "provisional": Term("provisional", "临时"),
    "break": Term("break in series", "序列中断"),
}

CHART_TYPES = ("line", "bar")
AREA_KINDS = ("all", "mission", "region", "country", "organisation", "other")
