"""Charts and their text at scale: dense series are thinned honestly (peaks kept, the chart
says so), long tables, captions and summaries are capped, and the per-chart text built in
one pass says exactly what the per-value functions say."""
from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
import pytest

from data import vocabulary as vocab
from data.selection import Filters
from indicators import figures, query, registry


@pytest.fixture(scope="module")
def curated(engine):
    return query.observations(Filters(), engine=engine)


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


def values(fig: dict) -> list[dict]:
    """The traces that draw values (not the bars showing each value's span)."""
    return [t for t in fig["data"] if "customdata" in t]


def test_dense_chart_is_thinned_and_says_so(dense):
    fig = figures.figure(dense, "count", max_points=300)
    shown = sum(len(t["x"]) for t in values(fig))
    assert shown <= 300 + 2 * len(values(fig))
    assert all("values shown" in t["name"] for t in values(fig))
    ys = [y for t in values(fig) for y in t["y"]]
    assert 99_999.0 in ys and -5.0 in ys  # the peak and the trough survive
    assert figures.thinning_note(fig)
    # every point still names its own value and citation, and clicks resolve to its row
    by_id = dense.set_index("obs_id")
    for t in values(fig):
        for i, (custom, y) in enumerate(zip(t["customdata"], t["y"])):
            obs = custom[0]
            assert by_id.loc[obs, "value"] == y and f", {by_id.loc[obs, 'locator']}" in figures.hover_text(t, i)
    sparse = figures.figure(dense.head(40), "count")
    assert not figures.thinning_note(sparse) and len(values(sparse)[0]["x"]) == 40


def test_qualified_and_revised_points_carry_their_label(dense):
    fig = figures.figure(dense[dense["area"] == "all_pko"].head(20), "count")
    text = values(fig)[0]["text"]
    value7 = registry.value_label(dense.iloc[7], "en")
    assert value7.startswith("more than ") and text[7] == value7  # the qualifier said once, with its value
    assert text[9] == "revised" and text[0] == ""
    zh = values(figures.figure(dense[dense["area"] == "all_pko"].head(20), "count", lang="zh"))[0]["text"]
    assert zh[7] == registry.value_label(dense.iloc[7], "zh") and zh[7].count("超过") == 1
    plain = figures.figure(dense[(dense["area"] == "all_pko")].head(5), "count")
    assert "text" not in values(plain)[0] and "+text" not in values(plain)[0]["mode"]


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
    trace = values(fig)[0]
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
def test_latest_and_headlines_from_the_store_match_the_frame_rules(any_served_read_only, as_of):
    """Overview and briefing note ask the store (DuckDB or PostgreSQL) for the latest values
    and the headline series; they must be what the frame rules (registry.latest,
    registry.headline) give."""
    f = Filters(as_of=as_of)
    whole = query.observations(f)
    mine = query.latest(f)
    theirs = registry.latest(whole)
    assert len(mine) > 0 and mine["obs_id"].tolist() == theirs.sort_values("indicator_id")["obs_id"].tolist()
    for family in whole["family"].unique():
        a, b = registry.headline_for(f, family), registry.headline(whole, family)
        assert a[0]["obs_id"] == b[0]["obs_id"]
        assert (a[1] is None and b[1] is None) or a[1]["obs_id"] == b[1]["obs_id"]
        assert a[2]["obs_id"].tolist() == b[2]["obs_id"].tolist()


# --- Issue 13: every point where it belongs, nothing a reader must decode ------------------
# These read the figures a family page really draws (layouts.family.render on the store built
# from the curated files), not figures built from hand-made frames.

def _pages(store, monkeypatch):
    import dash
    monkeypatch.setenv("PKPI_DB", str(store))
    query.clear_cache()
    if not dash.page_registry:  # the page modules register themselves once an app exists
        import app
        app.create_app()
    from layouts import family
    return family


def _walk(node):
    """Every component of a Dash tree (lists, components, their children)."""
    if isinstance(node, (list, tuple)):
        for n in node:
            yield from _walk(n)
    elif node is not None and not isinstance(node, (str, int, float)):
        yield node
        yield from _walk(getattr(node, "children", None))


def _texts(node):
    if isinstance(node, str):
        yield node
    elif isinstance(node, (list, tuple)):
        for n in node:
            yield from _texts(n)
    elif node is not None and not isinstance(node, (int, float)):
        yield from _texts(getattr(node, "children", None))


def _graphs(charts) -> list[dict]:
    from dash import dcc
    return [c for c in _walk(charts) if isinstance(c, dcc.Graph)]


ALL_YEARS = (date(1900, 1, 1), date(2030, 12, 31))


def _views(family_mod, family, lang="en"):
    """The page as it opens, and with every indicator of the family ticked."""
    from indicators.view import View
    catalog = query.catalog(Filters(families=(family,)))
    yield View(family=family, lang=lang)
    yield View(family=family, lang=lang, indicators=tuple(catalog["indicator_id"]))


FAMILIES = ("fatalities", "women", "conduct", "environment", "cpas", "accountability", "capability", "other")


def _axis(layout, trace, letter):
    ref = trace.get(f"{letter}axis", letter)
    return layout[f"{letter}axis{ref[1:]}"]


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_point_is_drawn_inside_its_period(store, monkeypatch, curated, lang):
    family = _pages(store, monkeypatch)
    by_id = curated.set_index("obs_id")
    checked = set()
    for fam in FAMILIES:
        for view in _views(family, fam, lang):
            for graph in _graphs(family.render(view)[0]):
                fig = graph.figure
                for trace in values(fig):
                    axis = _axis(fig["layout"], trace, "x")
                    for x, custom, y in zip(trace["x"], trace["customdata"], trace["y"]):
                        row = by_id.loc[custom[0]]
                        assert y == row["value"]
                        if axis["type"] == "date":
                            start, end = row["period_start"] or row["period_end"], row["period_end"]
                            at = date.fromisoformat(x)
                            assert start <= at <= end, (row["period"], x)
                            # at the middle of the period, not at its end (a year's value on its year)
                            assert abs((at - start) - (end - at)).days <= 1, (row["period"], x)
                        else:  # bars labelled by period
                            assert x.replace("<br>", " " if lang == "en" else "") == registry.period_label(row, lang)
                        checked.add(custom[0])
    assert len(checked) == len(curated)  # every curated value was drawn and checked

    # the values the issue names: on their own year, fiscal years read as such
    fatalities = family.render(family.View(family="fatalities", lang=lang,
                                           indicators=("fatalities_violent_acts",)))[0]
    fig = _graphs(fatalities)[0].figure
    trace = values(fig)[0]
    x61 = trace["x"][trace["y"].index(61.0)]
    assert x61.startswith("2017-")
    ticks = dict(zip(fig["layout"]["xaxis"]["tickvals"], fig["layout"]["xaxis"]["ticktext"]))
    nearest = min(ticks, key=lambda v: abs(date.fromisoformat(v) - date.fromisoformat(x61)))
    assert ticks[nearest] == ("2017" if lang == "en" else "2017年")
    conduct = family.render(family.View(family="conduct", lang=lang))[0]
    fiscal = next(g.figure for g in _graphs(conduct) if
                  {t.get("marker", {}).get("symbol") for t in values(g.figure)} == {"circle-open"})
    assert fiscal["layout"]["xaxis"]["ticktext"] == ["2016/17", "2017/18"]


def test_womens_2018_share_sits_on_2018(store, monkeypatch):
    family = _pages(store, monkeypatch)
    charts = family.render(family.View(family="women",
                                       indicators=("women_share_justice_corrections_govt_provided",)))[0]
    fig = _graphs(charts)[0].figure
    points = [(x, y) for t in values(fig) for x, y in zip(t["x"], t["y"])]
    assert ("2018-07-02", 25.0) in points and ("2023-07-02", 40.0) in points


def _sub_day(text) -> bool:
    return any(c in str(text) for c in (":", "T")) and str(text)[:1].isdigit()


def test_no_axis_shows_ticks_finer_than_a_day(store, monkeypatch):
    family = _pages(store, monkeypatch)
    one_date_charts = 0
    for lang in ("en", "zh"):
        for fam in FAMILIES:
            for view in _views(family, fam, lang):
                for graph in _graphs(family.render(view)[0]):
                    layout = graph.figure["layout"]
                    xs = {x for t in values(graph.figure) for x in t["x"]}
                    for name, axis in layout.items():
                        if not name.startswith("xaxis"):
                            continue
                        if axis["type"] == "date":
                            # labelled by us, by period: never Plotly's automatic (hours) ticks
                            assert axis["tickmode"] == "array" and axis["tickvals"]
                            assert not any(_sub_day(v) or len(v) != 10 for v in axis["tickvals"])
                            assert not any(":" in t for t in axis["ticktext"])
                            assert len(xs) > 1, "a chart of one date must not be a time axis"
                        else:
                            assert axis["type"] == "category"
                            one_date_charts += 1
    assert one_date_charts  # the cumulative totals are among them
    totals = [g.figure for g in _graphs(family.render(family.View(family="fatalities"))[0])
              if g.figure["layout"]["xaxis"]["type"] == "category"]
    assert totals and values(totals[0])[0]["x"] == ["since 1948", "since 2013"]
    assert values(totals[0])[0]["type"] == "bar"


def test_no_chart_puts_series_tenfold_apart_on_one_linear_axis(store, monkeypatch):
    family = _pages(store, monkeypatch)
    panelled = {}
    for fam in FAMILIES:
        for view in _views(family, fam):
            for graph in _graphs(family.render(view)[0]):
                fig = graph.figure
                by_axis: dict[str, list[float]] = {}
                for t in values(fig):
                    size = max(abs(v) for v in t["y"])
                    by_axis.setdefault(t.get("yaxis", "y"), []).append(size)
                for axis, sizes in by_axis.items():
                    sizes = [s for s in sizes if s > 0]  # an all-zero series cannot be flattened
                    assert not sizes or max(sizes) < 10 * min(sizes), (fam, axis, sizes)
                    layout_axis = fig["layout"]["yaxis" + axis[1:]]
                    assert layout_axis.get("type", "linear") == "linear"
                panelled[(fam, view.indicators)] = fig["layout"]["meta"]["panels"]
    # the two pages the issue names: several panels, sharing one time axis
    for fam in ("cpas", "other"):
        charts = family.render(family.View(family=fam))[0]
        fig = next(g.figure for g in _graphs(charts) if g.figure["layout"]["meta"]["panels"] > 1)
        axes = [k for k in fig["layout"] if k.startswith("xaxis")]
        assert len(axes) > 1 and all(fig["layout"][k].get("matches") == "x" for k in axes[1:])


def test_colour_follows_the_indicator_not_what_else_is_ticked(store, monkeypatch):
    family = _pages(store, monkeypatch)

    def colours(*ids):
        fig = _graphs(family.render(family.View(family="fatalities", indicators=ids))[0])[0].figure
        return {t["legendgroup"].split("|")[0]: t["marker"]["color"] for t in values(fig)}

    two = colours("fatalities_violent_acts", "fatalities_malicious_acts")
    three = colours("fatalities_violent_acts", "fatalities_malicious_acts", "fatalities_hostile_acts")
    swapped = colours("fatalities_malicious_acts", "fatalities_violent_acts")
    assert two == {k: three[k] for k in two} == swapped
    assert len(set(three.values())) == 3
    assert "#F0E442" not in figures.PALETTE  # yellow on white is not readable as a line


def test_zh_charts_use_plotly_zh_locale_and_chinese_ticks(store, monkeypatch):
    from pathlib import Path
    family = _pages(store, monkeypatch)
    graphs = _graphs(family.render(family.View(family="fatalities", lang="zh"))[0])
    assert graphs and all(g.config.get("locale") == "zh-CN" for g in graphs)
    assert all("locale" not in g.config for g in _graphs(family.render(family.View(family="fatalities"))[0]))
    dates = [g.figure["layout"]["xaxis"] for g in graphs if g.figure["layout"]["xaxis"]["type"] == "date"]
    assert dates and all(t.endswith(("年", "月")) for a in dates for t in a["ticktext"])
    locale = (Path(__file__).resolve().parent.parent / "assets" / "plotly-locale-zh-cn.js").read_text("utf-8")
    assert 'name:"zh-CN"' in locale and "PlotlyLocales" in locale


def _leaks(text: str, ids: set[str]) -> list[str]:
    import re
    found = [w for w in re.findall(r"\b\w+\b", text) if w in ids]
    for pattern in (r"\bnan\b", r"\bNone\b", r"\bundefined\b(?! set of)", r"\^[a-z]", r"CURATION\.md", r"\.csv\b"):
        found += re.findall(pattern, text)
    return found


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_family_pages_leave_nothing_to_decode(store, monkeypatch, lang):
    family = _pages(store, monkeypatch)
    ids = set(query.table("indicators")["indicator_id"]) | set(query.table("areas")["area_id"]) - \
        {a for a in query.table("areas")["area_id"] if a.isupper()}  # MINUSCA is a name
    for fam in FAMILIES:
        for view in _views(family, fam, lang):
            charts, panel, _search = family.render(view.with_(selection=ALL_YEARS))
            text = "\n".join(_texts([charts, panel]))
            assert not _leaks(text, ids), (fam, _leaks(text, ids)[:5])
            for graph in _graphs(charts):
                fig = graph.figure
                words = [t["name"] for t in fig["data"] if "name" in t]
                words += [a["text"] for a in fig["layout"].get("annotations", [])]
                words += [w for t in values(fig) for w in (t.get("text") or [])]
                words += [str(c) for t in values(fig) for row in t["customdata"] for c in row[1:]]
                words += [str(m) for t in values(fig) for m in t["meta"]]
                assert not _leaks("\n".join(words), ids), (fam, _leaks("\n".join(words), ids)[:5])
            notes = [n for c in _walk(charts) if "break-note" in (getattr(c, "className", "") or "")
                     for n in _texts(c)]
            assert all(n.strip() not in ("Note:", "Note: ", "说明：") for n in notes)
    # break notes name the related indicators in the chosen language
    charts = family.render(family.View(family="fatalities", lang=lang, indicators=("fatalities_violent_acts",)))[0]
    note = " ".join(t for c in _walk(charts) if "break-note" in (getattr(c, "className", "") or "") for t in _texts(c))
    names = query.table("indicators").set_index("indicator_id")["name_en" if lang == "en" else "name_zh"]
    assert names["fatalities_hostile_acts"] in note and names["fatalities_malicious_acts"] in note


def test_clicked_value_comes_first_in_the_source_panel(store, monkeypatch):
    family = _pages(store, monkeypatch)
    rows = query.observations(Filters(indicators=("fatalities_malicious_acts",)))
    seven = rows[rows["value"] == 7].iloc[0]
    wide = (date(1948, 1, 1), date(2023, 12, 31))  # also takes in the "since 1948" and "since 2013" totals
    view = family.View(family="fatalities", indicators=("fatalities_malicious_acts",), selection=wide)
    plain = [a for a in _walk(family.source_panel(view)) if "source-item" in (getattr(a, "className", "") or "")]
    assert len(plain) == 4 and plain[0].to_plotly_json()["props"]["data-obs-id"] != str(seven["obs_id"])
    clicked = [a for a in _walk(family.source_panel(view.with_(point=int(seven["obs_id"]))))
               if "source-item" in (getattr(a, "className", "") or "")]
    ids = [a.to_plotly_json()["props"]["data-obs-id"] for a in clicked]
    assert ids[0] == str(seven["obs_id"]) and sorted(ids) == sorted(
        a.to_plotly_json()["props"]["data-obs-id"] for a in plain)
    assert "clicked" in clicked[0].className


def test_sea_allegations_say_where_they_are_until_values_are_dropped(tmp_path, store, monkeypatch):
    from data.dropbox import process
    from data.template import lists
    from tests.intake_helpers import SOURCE, new_home, obs, workbook
    family = _pages(store, monkeypatch)
    charts = family.render(family.View(family="conduct"))[0]
    pending = [c for c in _walk(charts) if "pending" in (getattr(c, "className", "") or "")]
    assert len(pending) == 1 and pending[0].to_plotly_json()["props"]["data-indicator"] == "sea_allegations"
    text = " ".join(_texts(pending[0]))
    assert "S/2023/646" in text and "figure IV" in text and "template" in text
    assert "sea_allegations" in {r[0] for r in lists()["indicators"]}  # the template offers it

    home = new_home(tmp_path, store)
    monkeypatch.setenv("PKPI_HOME", str(home))
    monkeypatch.delenv("PKPI_DB", raising=False)
    monkeypatch.delenv("PKPI_DROPBOX", raising=False)
    rows = [obs(indicator_id="sea_allegations", period=str(y), period_label=str(y), value=v, locator=f"row {y}",
                quote=f"{y} 年收到 {v} 项指控", quote_en=f"{v} allegations in {y}")
            for y, v in ((2021, 45), (2022, 79))]
    assert process(workbook(home / "dropbox" / "inbox" / "sea.xlsx", observations=rows,
                            sources=(SOURCE,), indicators=())).status == "accepted"
    query.clear_cache()
    try:
        charts = family.render(family.View(family="conduct"))[0]
        assert not [c for c in _walk(charts) if "pending" in (getattr(c, "className", "") or "")]
        drawn = [(t["customdata"], t["y"]) for g in _graphs(charts) for t in values(g.figure)
                 if t["legendgroup"].startswith("sea_allegations|")]
        assert drawn and sorted(y for _c, ys in drawn for y in ys) == [45.0, 79.0]
    finally:
        query.clear_cache()


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_tile_sparklines_keep_few_ticks_labelled_by_period(store, monkeypatch, lang):
    """An overview tile is a quarter of the page wide: its sparkline labels at most
    SPARK_TICKS ticks (the CPAS tile's monthly axis ran eight Chinese month labels into one
    another), each one a label of the full chart's axis, so no tick shows a time of day."""
    monkeypatch.setenv("PKPI_DB", str(store))
    query.clear_cache()
    drawn = 0
    for family in vocab.FAMILIES:
        latest_row, _previous, series = registry.headline_for(Filters(), family)
        if latest_row is None or len(series) < 2:
            continue
        full = figures.figure(series, latest_row["unit"], lang=lang)["layout"]["xaxis"]
        axis = figures.sparkline(series, latest_row["unit"], lang)["layout"]["xaxis"]
        assert 1 <= len(axis["tickvals"]) <= figures.SPARK_TICKS, (family, axis["ticktext"])
        assert set(axis["ticktext"]) <= set(full["ticktext"])
        assert not any(_sub_day(t) for t in axis["ticktext"])
        drawn += 1
    assert drawn >= 3  # fatalities, CPAS and capability tiles draw one on the curated store
    query.clear_cache()
