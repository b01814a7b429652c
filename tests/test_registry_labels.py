"""Labels a reader can quote as they are: increases in the report's words, fractions as
fractions, footnote marks rendered, and changes only where the values allow arithmetic."""
from __future__ import annotations

import pandas as pd

from indicators import registry


def _row(**kw):
    base = {"value": 7.0, "unit": "count", "qualifier": "exact", "source_id": "s", "locator": "para 1",
            "quote": "q", "period_label": "2023", "period": "2023"}
    return pd.Series({**base, **kw})


def test_multiples_read_as_the_report_says_them():
    assert registry.value_label({"value": 1, "unit": "times", "qualifier": "nearly"}) == "nearly doubled"
    assert registry.value_label({"value": 1, "unit": "times", "qualifier": "exact"}) == "doubled"
    assert registry.value_label({"value": 2, "unit": "times", "qualifier": "more_than"}) == "more than tripled"
    assert registry.value_label({"value": 2, "unit": "times", "qualifier": "more_than"}, "zh") == "增加了两倍多"
    assert registry.value_label({"value": 1, "unit": "times", "qualifier": "nearly"}, "zh") == "几乎增加了一倍"
    assert "×" not in registry.value_label({"value": 1.5, "unit": "times", "qualifier": "exact"})


def test_fractions_and_footnote_marks():
    assert registry.value_label({"value": 1 / 3, "unit": "fraction", "qualifier": "exact"}) == "1/3"
    assert registry.value_label({"value": 0.3333, "unit": "fraction", "qualifier": "exact"}, "zh") == "三分之一"
    assert registry.value_label({"value": 0.437, "unit": "fraction", "qualifier": "exact"}) == "0.437"
    assert registry.locator_text("entry on A/78/19 para 168^a") == "entry on A/78/19 para 168ᵃ"
    assert registry.citation({"source_cite_as": "A/79/553/Add.1", "locator": "para 179^a"}) == \
        "A/79/553/Add.1, para 179ᵃ"


def test_changes_only_between_exact_values():
    now, before = _row(value=7.0, period_label="Jan-Aug 2023"), _row(value=21.0, locator="para 2", quote="other",
                                                                     period_label="Jan-Aug 2022")
    assert registry.comparison(now, before) == "difference"
    assert registry.change_label(now, before) == "−14 against 21 (Jan-Aug 2022)."
    qualified = _row(value=80000.0, qualifier="more_than", locator="x", quote="x2")
    earlier = _row(value=35000.0, qualifier="more_than", period_label="2023")
    assert registry.comparison(qualified, earlier) == "both"
    text = registry.change_label(qualified, earlier)
    assert text.startswith("more than 35,000 (2023) → more than 80,000") and "45,000" not in text
    share = _row(value=30.0, unit="percent", qualifier="nearly", locator="x", quote="x3")
    assert "percentage points" not in registry.change_label(share, _row(value=11.0, unit="percent"))
    stated = _row(value=7.3, period_label="latest")
    baseline = _row(value=7.5, period_label="2019-2020 baseline")
    assert registry.comparison(stated, baseline) == "stated"
    assert registry.change_label(stated, baseline) == "7.5 (2019-2020 baseline) → 7.3, as the report states."
    assert registry.change_label(stated, None) == "No earlier comparable value in the reports."
