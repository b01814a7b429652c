"""Charts and their text at scale: dense series are thinned honestly (peaks kept, the chart
says so), long tables, captions and summaries are capped, and the per-chart text built in
one pass says exactly what the per-value functions say."""
from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from indicators import figures, query, registry


@pytest.fixture(scope="module")
def curated(engine):
    return query.observations(query.Filters(), engine=engine)


@pytest.fixture(scope="module")
def dense(curated):
    """One curated row repeated as monthly values of three areas over 40 years."""
    row = curated[curated["unit"] == "count"].iloc[0]
    rng = np.random.default_rng(3)
    rows = []
    for k, area in enumerate(("all_pko", "MINUSMA", "MONUSCO")):
        for m in range(480):
            start = date(1985 + m // 12, m % 12 + 1, 1)
            end = (pd.Timestamp(start) + pd.offsets.MonthEnd(0)).date()
            rows.append({**row.to_dict(), "area": area, "area_name": area, "area_name_zh": area,
                         "period": start.strftime("%Y-%m"), "period_start": start, "period_end": end,
                         "period_label": start.strftime("%B %Y"), "span_class": "partial", "span_label": "month",
                         "value": float(rng.integers(0, 1000)), "obs_id": 10_000 * (k + 1) + m,
                         "locator": f"table {m}", "qualifier": "more_than" if m == 7 else "exact",
                         "revised": m == 9})
    frame = pd.DataFrame(rows)
    frame.loc[(frame["area"] == "MINUSMA") & (frame.index % 480 == 300), "value"] = 99_999.0  # a peak
    frame.loc[(frame["area"] == "MONUSCO") & (frame.index % 480 == 123), "value"] = -5.0     # a trough
    return frame


def test_thin_keeps_ends_and_extremes_within_budget():
    values = np.sin(np.linspace(0, 30, 5000)) * 10
    values[4321] = 50
    values[17] = -50
    keep = figures.thin(values, 200)
    assert len(keep) <= 200 and keep[0] == 0 and keep[-1] == 4999
    assert {17, 4321} <= set(keep.tolist()) and list(keep) == sorted(keep)
    assert figures.thin(values[:150], 200).tolist() == list(range(150))  # within budget: untouched
    with_nan = values.copy()
    with_nan[::3] = np.nan
    assert len(figures.thin(with_nan, 100)) <= 100


def test_dense_chart_is_thinned_and_says_so(dense):
    fig = figures.figure(dense, "count", max_points=300)
    shown = sum(len(t["x"]) for t in fig["data"])
    assert shown <= 300 + 2 * len(fig["data"])
    assert all("values shown" in t["name"] for t in fig["data"])
    ys = [y for t in fig["data"] for y in t["y"]]
    assert 99_999.0 in ys and -5.0 in ys  # the peak and the trough survive
    assert figures.thinning_note(fig)
    # every point still names its own value and citation, and clicks resolve to its row
    by_id = dense.set_index("obs_id")
    for t in fig["data"]:
        for i, (custom, y) in enumerate(zip(t["customdata"], t["y"])):
            obs = custom[0]
            assert by_id.loc[obs, "value"] == y and f", {by_id.loc[obs, 'locator']}" in figures.hover_text(t, i)
    sparse = figures.figure(dense.head(40), "count")
    assert not figures.thinning_note(sparse) and len(sparse["data"][0]["x"]) == 40


def test_qualified_and_revised_points_carry_their_label(dense):
    fig = figures.figure(dense[dense["area"] == "all_pko"].head(20), "count")
    text = fig["data"][0]["text"]
    assert text[7] == "more than" and text[9] == "revised" and text[0] == ""
    plain = figures.figure(dense[(dense["area"] == "all_pko")].head(5), "count")
    assert "text" not in plain["data"][0] and "+text" not in plain["data"][0]["mode"]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_hover_and_labels_say_what_the_row_functions_say(curated, lang):
    def reference(r):  # the per-row text, from the functions the source panel uses
        return (f"<b>{registry.name(r, lang)}</b><br>{registry.value_label(r, lang)} · "
                f"{registry.period_label(r, lang)}<br>{registry.area(r, lang)} · ")

    for _i, r in curated.iterrows():
        text = figures.hover(r, lang)
        assert text.startswith(reference(r)) and registry.citation(r) in text
        assert registry.speaker(r, lang) in text and "%{" not in text
    # a trace with several speakers names each point's; a name is never read as a template
    two = curated.head(2).assign(stated_by=["Secretariat", "Member State: Kenya"], indicator_name="a %{y} b",
                                 indicator_name_zh="a %{y} b")
    fig = figures.figure(two.assign(indicator_id="x", area="all_pko", span_label="year"), "count", lang=lang)
    trace = fig["data"][0]
    texts = [figures.hover_text(trace, i) for i in range(len(trace["x"]))]
    assert [registry.speaker({"stated_by": w}, lang) in t for t, w in
            zip(texts, ["Secretariat", "Member State: Kenya"])] == [True, True]
    assert trace["meta"][0] == "a %{y} b"
    rows = list(curated.iterrows())
    assert registry.value_labels(curated, lang) == [registry.value_label(r, lang) for _i, r in rows]
    assert registry.names(curated, lang) == [registry.name(r, lang) for _i, r in rows]
    assert registry.areas(curated, lang) == [registry.area(r, lang) for _i, r in rows]
    assert registry.period_labels(curated, lang) == [registry.period_label(r, lang) for _i, r in rows]
    assert registry.citations(curated) == [registry.citation(r) for _i, r in rows]
    assert registry.period_labels(figures.columns(curated), lang) == registry.period_labels(curated, lang)


def test_caption_and_summary_are_capped(dense, curated):
    caption = figures.caption(dense)
    assert caption.count(";") == figures.CAPTION_CITATIONS  # 30 named, then "and N more"
    assert f"and {480 - figures.CAPTION_CITATIONS} more" in caption
    summary = figures.summary(dense, "count")
    assert summary.startswith("1,440 values") and "lowest −5" not in summary and "highest 99,999" in summary
    assert "lowest -5" in summary
    # small (curated) charts still read out every value
    women = curated[(curated["family"] == "women") & (curated["unit"] == "percent")]
    some = women[women["indicator_id"].isin(women["indicator_id"].value_counts().index[:3])]
    text = figures.summary(some, "percent")
    assert all(f"{registry.value_label(r, 'en')} ({r['period_label']})" in text for _i, r in some.iterrows())


def test_family_table_lists_the_latest_values_and_says_where_the_rest_are(dense, store, monkeypatch):
    import dash
    monkeypatch.setenv("PKPI_DB", str(store))
    if not dash.page_registry:  # the page modules register themselves once an app exists
        import app
        app.create_app()
    from indicators.view import View
    from layouts import family
    parts = family._data_table(View(family="fatalities"), figures.columns(dense))
    hint, table = parts
    rows = table.children[1].children
    assert len(rows) == family.TABLE_ROWS and "1440" in hint.children.replace(",", "")
    first_period = rows[0].children[2].children
    assert first_period == "December 2024"  # the latest first
    assert len(family._data_table(View(family="fatalities"), figures.columns(dense.head(5)))) == 1


@pytest.mark.parametrize("as_of", [None, date(2019, 1, 1), date(2022, 6, 30)])
def test_latest_and_headlines_from_duckdb_match_the_frame_rules(engine, store, monkeypatch, as_of):
    """Overview and briefing note ask DuckDB for the latest values and the headline series;
    they must be what the frame rules (registry.latest, registry.headline) give."""
    monkeypatch.setenv("PKPI_DB", str(store))
    query.clear_cache()
    f = query.Filters(as_of=as_of)
    whole = query.observations(f)
    mine = query.latest(f)
    theirs = registry.latest(whole)
    assert len(mine) > 0 and mine["obs_id"].tolist() == theirs.sort_values("indicator_id")["obs_id"].tolist()
    for family in whole["family"].unique():
        a, b = registry.headline_for(f, family), registry.headline(whole, family)
        assert a[0]["obs_id"] == b[0]["obs_id"]
        assert (a[1] is None and b[1] is None) or a[1]["obs_id"] == b[1]["obs_id"]
        assert a[2]["obs_id"].tolist() == b[2]["obs_id"].tolist()
    query.clear_cache()
