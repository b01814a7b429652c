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
MAX_POINTS = 2000
DENSE = 80  # above this many points a trace draws small markers and no per-point text


def _overlaps(row, selection) -> bool:
    if not selection:
        return False
    start = row["period_start"] or date.min
    return start <= selection[1] and row["period_end"] >= selection[0]


def point_label(row, lang: str = "en") -> str:
    """Text beside a point: its qualifier ("more than") and a mark if it was revised."""
    _ = i18n.gettext_for(lang)
    parts = []
    if row["qualifier"] != "exact":
        term = vocab.QUALIFIERS[row["qualifier"]]
        parts.append(term.name_en if lang == "en" else term.name_zh)
    if row.get("revised"):
        parts.append(_("revised"))
    return " · ".join(parts)


def hover(row, lang: str = "en") -> str:
    """One point's hover text (``hovers`` makes a trace's worth at once, identically)."""
    return hovers(pd.DataFrame([dict(row)]), lang)[0]


def hovers(frame: pd.DataFrame, lang: str = "en") -> list[str]:
    """Name, value as qualified, period, area, who stated it and the citation, per row."""
    _ = i18n.gettext_for(lang)
    stated = _("stated by {who}")
    revised = "<br>" + _("revised: an earlier value was replaced")
    names = frame["indicator_name" if lang == "en" else "indicator_name_zh"]
    areas = frame["area_name" if lang == "en" else "area_name_zh"]
    periods = frame["period_label"] if lang == "en" else frame["period"].map(i18n.period_zh)
    speakers = [registry.speaker({"stated_by": w}, lang) for w in frame["stated_by"]]
    revised_flags = frame["revised"] if "revised" in frame else [False] * len(frame)
    return [f"<b>{n}</b><br>{v} · {p}<br>{a} · " + stated.format(who=w) + f"<br>{c}, {loc}"
            + (revised if r else "")
            for n, v, p, a, w, c, loc, r in zip(names, registry.value_labels(frame, lang), periods, areas,
                                                speakers, frame["source_cite_as"], frame["locator"],
                                                revised_flags)]


def point_labels(frame: pd.DataFrame, lang: str = "en") -> list[str]:
    """``point_label`` for every row: empty for an exact value that was never revised."""
    _ = i18n.gettext_for(lang)
    names = {k: (t.name_en if lang == "en" else t.name_zh) for k, t in vocab.QUALIFIERS.items()}
    revised_flags = frame["revised"] if "revised" in frame else [False] * len(frame)
    mark = _("revised")
    return [" · ".join(([names[q]] if q != "exact" else []) + ([mark] if r else []))
            for q, r in zip(frame["qualifier"], revised_flags)]


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
    indicator_order = list(dict.fromkeys(frame["indicator_id"]))
    area_count = frame["area"].nunique()
    groups = list(frame.groupby(["indicator_id", "area", "span_label"], sort=False))
    budget = max(DENSE, max_points // max(1, len(groups)))
    thinned = 0
    for n, ((ind, area, label), group) in enumerate(groups):
        group = group.sort_values("period_end", kind="stable")
        keep = thin(group["value"].to_numpy(dtype="float64"), budget)
        if len(keep) < len(group):
            thinned += 1
            shown = group.iloc[keep]
        else:
            shown = group
        k = indicator_order.index(ind)
        first = group.iloc[0]
        cls = first["span_class"]
        name = registry.name(first, lang)
        if area_count > 1:
            name += f" · {registry.area(first, lang)}"
        if cls != "year":
            name += f" · {label if lang == 'en' else i18n.span_zh(label)}"
        if len(shown) < len(group):
            name += " · " + _("{shown} of {count} values shown").format(shown=len(shown), count=len(group))
        dense = len(shown) > DENSE
        labels = point_labels(shown, lang)
        labelled = any(labels)
        colour = PALETTE[n % len(PALETTE)]
        trace = {
            "type": "scatter",
            "mode": ("lines+markers" if len(shown) > 1 else "markers") + ("+text" if labelled else ""),
            "name": name, "legendgroup": ind,
            "x": [d.isoformat() for d in shown["period_end"]], "y": shown["value"].tolist(),
            "customdata": shown["obs_id"].tolist(),
            "hovertext": hovers(shown, lang), "hoverinfo": "text",
            "marker": {"symbol": SYMBOLS[cls], "size": 5 if dense else 10, "color": colour,
                       "line": {"width": 1 if dense else 1.5, "color": colour}},
            "line": {"dash": DASHES[k % len(DASHES)], "width": 1.5 if dense else 2, "color": colour},
        }
        if labelled:
            trace["text"], trace["textposition"] = labels, "top center"
        if selection:
            starts = shown["period_start"].map(lambda d: d or date.min)
            hit = (starts <= selection[1]).to_numpy() & (shown["period_end"] >= selection[0]).to_numpy()
            trace["selectedpoints"] = np.flatnonzero(hit).tolist()
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


def caption(frame: pd.DataFrame, lang: str = "en") -> str:
    """``Sources: A/73/480, para 84; S/2023/646, para 44``: every plotted point's citation
    (the first ``CAPTION_CITATIONS`` of them when there are more, and how many more)."""
    _ = i18n.gettext_for(lang)
    if frame.empty:
        return ""
    cites = frame[["source_cite_as", "locator"]].drop_duplicates()
    shown = [f"{c}, {loc}" for c, loc in cites.head(CAPTION_CITATIONS).itertuples(index=False)]
    text = _("Sources: {list}").format(list="; ".join(shown))
    if len(cites) > CAPTION_CITATIONS:
        text += "; " + _("and {count} more (each value's citation is in the CSV and the source panel)").format(
            count=len(cites) - CAPTION_CITATIONS)
    return text


def break_notes(indicators: pd.DataFrame, lang: str = "en") -> list[str]:
    key = "name_en" if lang == "en" else "name_zh"
    return [f"{r[key]}: {r['break_note']}" for _, r in indicators.iterrows() if r.get("break_note")]


def _series_text(group: pd.DataFrame, lang: str) -> str:
    _ = i18n.gettext_for(lang)
    group = group.sort_values("period_end", kind="stable")
    labels = registry.value_labels(group, lang)
    periods = list(group["period_label"] if lang == "en" else group["period"].map(i18n.period_zh))
    if len(group) <= SUMMARY_VALUES:
        return "; ".join(f"{v} ({p})" for v, p in zip(labels, periods))
    values = group["value"].to_numpy(dtype="float64")
    low = high = 0
    if np.isfinite(values).any():
        low, high = int(np.nanargmin(values)), int(np.nanargmax(values))
    return _("{count} values from {first} to {last}; lowest {low} ({low_period}), highest {high} "
             "({high_period}), latest {latest} ({latest_period})").format(
        count=len(group), first=periods[0], last=periods[-1], low=labels[low], low_period=periods[low],
        high=labels[high], high_period=periods[high], latest=labels[-1], latest_period=periods[-1])


def summary(frame: pd.DataFrame, unit: str, lang: str = "en") -> str:
    """A short text alternative: what the chart shows, value by value (long series and many
    series summarised)."""
    _ = i18n.gettext_for(lang)
    if frame.empty:
        return _("No values.")
    parts = []
    groups = frame.groupby(["indicator_id", "area", "span_label"], sort=False)
    for k, (_key, group) in enumerate(groups):
        if k == SUMMARY_SERIES:
            parts.append(_("And {count} more series: see the data table and the CSV.").format(
                count=groups.ngroups - SUMMARY_SERIES))
            break
        first = group.iloc[0]
        parts.append(f"{registry.name(first, lang)}, {registry.area(first, lang)}: {_series_text(group, lang)}.")
    term = vocab.UNITS.get(unit)
    unit_name = (term.name_en if lang == "en" else term.name_zh) if term else unit
    return _("{count} values in {unit}.").format(count=i18n.number(len(frame), lang), unit=unit_name) + " " + " ".join(parts)
