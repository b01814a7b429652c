"""Build charts, captions and text alternatives from a frame of observations. Pure functions.

Honest rendering rules:
- Points are joined by a line only within one indicator, one area and one kind of period
  (calendar years with calendar years, January–August with January–August): a partial
  year, a point in time and a "since 1948" total are never drawn as one trend.
- Differently defined indicators are separate traces and the chart says so (break notes).
- Qualified values carry their qualifier on the point ("more than"), and every point's
  hover text carries its period and citation.
- Colour is never the only cue: marker symbols show the kind of period, dash styles tell
  the indicators apart. The palette is Okabe–Ito (colour-blind safe).

Figures are plain dicts: serialising them is several times cheaper than go.Figure.
"""
from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from indicators import i18n, registry, vocabulary as vocab
from indicators.i18n import N_

PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
SYMBOLS = {"year": "circle", "fiscal": "circle-open", "partial": "diamond", "point": "square",
           "cumulative": "triangle-up", "multi-year": "hexagon"}
SPAN_NAMES = {"year": N_("calendar year"), "fiscal": N_("fiscal year (July–June)"), "partial": N_("part of a year"),
              "point": N_("point in time"), "cumulative": N_("cumulative total"), "multi-year": N_("several years")}


# A chart never ships more than about this many points to the browser: a denser series is
# thinned server-side to the lowest and highest value of each stretch of periods (so peaks
# and troughs survive), and the chart says so. Selecting a stretch lists every value in it
# with its citation, and the download has them all.
MAX_POINTS = 800
DENSE = 80  # above this many points a trace draws small markers and no per-point text


def _overlaps(start: date | None, end: date, selection) -> bool:
    """Whether a period (``start`` None: open) overlaps the selected one."""
    return (start or date.min) <= selection[1] and end >= selection[0]


def hover(row, lang: str = "en") -> str:
    """One point's hover text, as the chart shows it (``hover_parts`` + ``hover_text``)."""
    meta, custom = hover_parts(columns(pd.DataFrame([dict(row)])), lang)
    return hover_text({"meta": meta, "customdata": custom, "hovertemplate": HOVER_TEMPLATE}, 0)


# Charts are built from plain lists, not pandas rows: picking a few hundred points out of
# thousands is then a list lookup, where each pandas selection costs a copy of every column.
COLUMNS = ("indicator_id", "area", "span_label", "span_class", "period", "period_label", "period_start",
           "period_end", "value", "obs_id", "qualifier", "revised", "stated_by", "source_cite_as", "locator",
           "unit", "indicator_name", "indicator_name_zh", "area_name", "area_name_zh")


def columns(frame: pd.DataFrame) -> dict[str, list]:
    """The columns a chart uses, as lists (``revised`` false where the frame has none)."""
    n = len(frame)
    return {c: frame[c].tolist() if c in frame else ([False] * n if c == "revised" else [None] * n)
            for c in COLUMNS}


def _cols(rows) -> dict[str, list]:
    return rows if isinstance(rows, dict) else columns(rows)


def pick(cols: dict[str, list], rows) -> dict[str, list]:
    return {c: [v[i] for i in rows] for c, v in cols.items()}


def series(cols: dict[str, list]) -> dict[tuple, list[int]]:
    """Row positions of each (indicator, area, kind of period), in order of first appearance,
    each in period order: the lines a chart may draw."""
    out: dict[tuple, list[int]] = {}
    for i, key in enumerate(zip(cols["indicator_id"], cols["area"], cols["span_label"])):
        out.setdefault(key, []).append(i)
    ends = cols["period_end"]
    for rows in out.values():
        rows.sort(key=ends.__getitem__)
    return out


# The hover text of a point: what is the same for the whole trace (indicator, area, and who
# stated the values when one speaker did) travels once in the trace's ``meta``; what differs
# travels per point in ``customdata`` after the observation id. Values substituted into a
# template are not read as template syntax again, so a name with "%{" in it stays text.
HOVER_TEMPLATE = ("<b>%{meta[0]}</b><br>%{customdata[1]} · %{customdata[2]}<br>%{meta[1]} · "
                  "%{customdata[4]}%{meta[2]}<br>%{customdata[3]}<extra></extra>")


def hover_parts(cols: dict[str, list], lang: str = "en") -> tuple[list, list[list]]:
    """(meta, customdata) of one trace's rows (``columns``): see ``HOVER_TEMPLATE``."""
    _ = i18n.gettext_for(lang)
    stated = _("stated by {who}")
    revised = "<br>" + _("revised: an earlier value was replaced")
    speakers = cols["stated_by"]
    one_speaker = len(set(speakers)) == 1
    said = [""] * len(speakers) if one_speaker else \
        [stated.format(who=registry.speaker({"stated_by": w}, lang)) for w in speakers]
    cites = [c + (revised if r else "") for c, r in zip(registry.citations(cols), cols["revised"])]
    custom = [list(t) for t in zip(cols["obs_id"], registry.value_labels(cols, lang),
                                   registry.period_labels(cols, lang), cites, said)]
    meta = [registry.names(cols, lang)[0], registry.areas(cols, lang)[0],
            stated.format(who=registry.speaker({"stated_by": speakers[0]}, lang)) if one_speaker else ""]
    return meta, custom


def hover_text(trace: dict, i: int) -> str:
    """The text Plotly shows on hovering point ``i`` of a trace (tests, text alternatives)."""
    out = trace["hovertemplate"].replace("<extra></extra>", "")
    for k, v in enumerate(trace["meta"]):
        out = out.replace(f"%{{meta[{k}]}}", str(v))
    for k, v in enumerate(trace["customdata"][i]):
        out = out.replace(f"%{{customdata[{k}]}}", str(v))
    return out


def point_labels(rows, lang: str = "en") -> list[str]:
    """Text beside each point (rows: a frame, or ``columns``): its qualifier ("more than")
    and a mark if it was revised; empty for an exact value that was never revised."""
    cols = _cols(rows)
    _ = i18n.gettext_for(lang)
    names = {k: (t.name_en if lang == "en" else t.name_zh) for k, t in vocab.QUALIFIERS.items()}
    mark = _("revised")
    return [" · ".join(([names[q]] if q != "exact" else []) + ([mark] if r else []))
            for q, r in zip(cols["qualifier"], cols["revised"])]


def thin(values: np.ndarray, budget: int) -> np.ndarray:
    """Positions to keep of a series in period order: all of them within ``budget``;
    otherwise the first, the last, and the lowest and highest of each of ``budget // 2``
    equal stretches, in order."""
    n = len(values)
    if n <= budget:
        return np.arange(n)
    stretches = max(1, (budget - 2) // 2)
    edges = np.linspace(0, n, stretches + 1).astype(int)
    keep = {0, n - 1}
    filled = np.where(np.isnan(values), np.nanmean(values) if np.isfinite(values).any() else 0.0, values)
    for lo, hi in zip(edges[:-1], edges[1:]):
        if hi > lo:
            part = filled[lo:hi]
            keep.add(lo + int(np.argmin(part)))
            keep.add(lo + int(np.argmax(part)))
    return np.array(sorted(keep))


def figure(frame: pd.DataFrame, unit: str, selection=None, title: str = "", lang: str = "en",
           max_points: int = MAX_POINTS) -> dict:
    """One chart for the observations of one unit."""
    _ = i18n.gettext_for(lang)
    traces = []
    cols = _cols(frame)
    indicator_order = list(dict.fromkeys(cols["indicator_id"]))
    area_count = len(set(cols["area"]))
    groups = series(cols)
    budget = max(DENSE, max_points // max(1, len(groups)))
    thinned = 0
    for n, ((ind, area, label), rows) in enumerate(groups.items()):
        keep = thin(np.array([cols["value"][i] for i in rows], dtype="float64"), budget)
        shown = pick(cols, [rows[k] for k in keep])
        count = len(keep)
        thinned += count < len(rows)
        k = indicator_order.index(ind)
        cls = shown["span_class"][0]
        name = registry.names(shown, lang)[0]
        if area_count > 1:
            name += f" · {registry.areas(shown, lang)[0]}"
        if cls != "year":
            name += f" · {label if lang == 'en' else i18n.span_zh(label)}"
        if count < len(rows):
            name += " · " + _("{shown} of {count} values shown").format(shown=count, count=len(rows))
        dense = count > DENSE
        labels = point_labels(shown, lang)
        meta, custom = hover_parts(shown, lang)
        labelled = any(labels)
        colour = PALETTE[n % len(PALETTE)]
        trace = {
            "type": "scatter",
            "mode": ("lines+markers" if count > 1 else "markers") + ("+text" if labelled else ""),
            "name": name, "legendgroup": ind,
            "x": [d.isoformat() for d in shown["period_end"]], "y": shown["value"],
            "customdata": custom, "meta": meta, "hovertemplate": HOVER_TEMPLATE,
            "marker": {"symbol": SYMBOLS[cls], "size": 5 if dense else 10, "color": colour,
                       "line": {"width": 1 if dense else 1.5, "color": colour}},
            "line": {"dash": DASHES[k % len(DASHES)], "width": 1.5 if dense else 2, "color": colour},
        }
        if labelled:
            trace["text"], trace["textposition"] = labels, "top center"
        if selection:
            trace["selectedpoints"] = [j for j, (a, b) in enumerate(zip(shown["period_start"], shown["period_end"]))
                                       if _overlaps(a, b, selection)]
            trace["selected"] = {"marker": {"size": 14 if not dense else 8}}
            trace["unselected"] = {"marker": {"opacity": 0.35}}
        traces.append(trace)
    term = vocab.UNITS.get(unit)
    unit_name = (term.name_en if lang == "en" else term.name_zh) if term else unit
    layout = {
        "title": {"text": title or unit_name, "font": {"size": 15}},
        "height": 380, "margin": {"l": 60, "r": 20, "t": 40, "b": 20},
        "xaxis": {"type": "date"},
        "yaxis": {"title": {"text": unit_name}, "rangemode": "tozero"},
        "hovermode": "closest", "dragmode": "select", "selectdirection": "h",
        "legend": {"orientation": "h", "y": -0.15, "yanchor": "top"}, "showlegend": True,
        "font": {"family": "system-ui, 'Noto Sans CJK SC', sans-serif"},
        "plot_bgcolor": "#fff", "paper_bgcolor": "#fff",
    }
    if len(groups) > 12:  # a long legend would push the chart off the page
        layout["height"] = 380 + 18 * min(20, (len(groups) + 2) // 3)
    if thinned:
        layout["meta"] = {"thinned": thinned}
    if selection:
        layout["shapes"] = [{"type": "rect", "xref": "x", "yref": "paper",
                             "x0": selection[0].isoformat(), "x1": selection[1].isoformat(),
                             "y0": 0, "y1": 1, "fillcolor": "#E69F00", "opacity": 0.18,
                             "line": {"width": 0}, "layer": "below"}]
    return {"data": traces, "layout": layout}


def thinning_note(fig: dict, lang: str = "en") -> str:
    """What a caption says when a chart shows fewer points than it has values."""
    _ = i18n.gettext_for(lang)
    if not fig["layout"].get("meta", {}).get("thinned"):
        return ""
    return _("Dense series are thinned to the lowest and highest value of each stretch of time. "
             "Drag across a period to list every value in it with its source; the CSV has them all.")


def sparkline(series: pd.DataFrame, unit: str, lang: str = "en", height: int = 130,
              width: int | None = None) -> dict:
    """A small static chart of one comparable series (overview tiles, briefing note)."""
    spark = figure(series, unit, lang=lang)
    spark["layout"].update(height=height, margin={"l": 40, "r": 10, "t": 5, "b": 25}, showlegend=False,
                           dragmode=False, title=None)
    if width:
        spark["layout"]["width"] = width
    spark["layout"]["yaxis"]["title"] = None
    years = {d.year for d in series["period_end"]}
    if len(series) == 1 or len(years) == 1:  # one point: show years around it, not hours
        year = min(years)
        spark["layout"]["xaxis"].update(range=[f"{year - 1}-01-01", f"{year + 1}-12-31"], dtick="M12",
                                        tickformat="%Y")
    for trace in spark["data"]:
        trace.pop("text", None)
        trace["mode"] = trace["mode"].replace("+text", "")
    return spark


CAPTION_CITATIONS = 30  # beyond this a caption names the first ones and points to the CSV
SUMMARY_VALUES = 12     # a series longer than this is summarised, not read out value by value
SUMMARY_SERIES = 20


def caption(frame, lang: str = "en") -> str:
    """``Sources: A/73/480, para 84; S/2023/646, para 44``: every plotted point's citation
    (the first ``CAPTION_CITATIONS`` of them when there are more, and how many more)."""
    _ = i18n.gettext_for(lang)
    cols = _cols(frame)
    cites = list(dict.fromkeys(registry.citations(cols)))
    if not cites:
        return ""
    text = _("Sources: {list}").format(list="; ".join(cites[:CAPTION_CITATIONS]))
    if len(cites) > CAPTION_CITATIONS:
        text += "; " + _("and {count} more (each value's citation is in the CSV and the source panel)").format(
            count=len(cites) - CAPTION_CITATIONS)
    return text


def break_notes(indicators: pd.DataFrame, lang: str = "en") -> list[str]:
    key = "name_en" if lang == "en" else "name_zh"
    return [f"{r[key]}: {r['break_note']}" for _, r in indicators.iterrows() if r.get("break_note")]


def _series_text(cols: dict[str, list], lang: str) -> str:
    _ = i18n.gettext_for(lang)
    n = len(cols["obs_id"])
    if n <= SUMMARY_VALUES:
        return "; ".join(f"{v} ({p})" for v, p in zip(registry.value_labels(cols, lang),
                                                      registry.period_labels(cols, lang)))
    values = np.array(cols["value"], dtype="float64")
    low = high = 0
    if np.isfinite(values).any():
        low, high = int(np.nanargmin(values)), int(np.nanargmax(values))
    ends = (0, low, high, n - 1)
    picked = pick(cols, ends)
    labels = dict(zip(ends, registry.value_labels(picked, lang)))
    periods = dict(zip(ends, registry.period_labels(picked, lang)))
    return _("{count} values from {first} to {last}; lowest {low} ({low_period}), highest {high} "
             "({high_period}), latest {latest} ({latest_period})").format(
        count=i18n.number(n, lang), first=periods[0], last=periods[n - 1], low=labels[low],
        low_period=periods[low], high=labels[high], high_period=periods[high], latest=labels[n - 1],
        latest_period=periods[n - 1])


def summary(frame: pd.DataFrame, unit: str, lang: str = "en") -> str:
    """A short text alternative: what the chart shows, value by value (long series and many
    series summarised)."""
    _ = i18n.gettext_for(lang)
    cols = _cols(frame)
    if not cols["obs_id"]:
        return _("No values.")
    groups = series(cols)
    parts = []
    for k, rows in enumerate(groups.values()):
        if k == SUMMARY_SERIES:
            parts.append(_("And {count} more series: see the data table and the CSV.").format(
                count=len(groups) - SUMMARY_SERIES))
            break
        one = pick(cols, rows)
        parts.append(f"{registry.names(one, lang)[0]}, {registry.areas(one, lang)[0]}: {_series_text(one, lang)}.")
    term = vocab.UNITS.get(unit)
    unit_name = (term.name_en if lang == "en" else term.name_zh) if term else unit
    return _("{count} values in {unit}.").format(count=i18n.number(len(cols["obs_id"]), lang), unit=unit_name) \
        + " " + " ".join(parts)
