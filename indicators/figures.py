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

import pandas as pd

from indicators import i18n, registry, vocabulary as vocab
from indicators.i18n import N_

PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
SYMBOLS = {"year": "circle", "fiscal": "circle-open", "partial": "diamond", "point": "square",
           "cumulative": "triangle-up", "multi-year": "hexagon"}
SPAN_NAMES = {"year": N_("calendar year"), "fiscal": N_("fiscal year (July–June)"), "partial": N_("part of a year"),
              "point": N_("point in time"), "cumulative": N_("cumulative total"), "multi-year": N_("several years")}


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
    _ = i18n.gettext_for(lang)
    return (f"<b>{registry.name(row, lang)}</b><br>{registry.value_label(row, lang)} · "
            f"{registry.period_label(row, lang)}<br>{registry.area(row, lang)} · "
            + _("stated by {who}").format(who=registry.speaker(row, lang)) + f"<br>{registry.citation(row)}"
            + ("<br>" + _("revised: an earlier value was replaced") if row.get("revised") else ""))


def figure(frame: pd.DataFrame, unit: str, selection=None, title: str = "", lang: str = "en") -> dict:
    """One chart for the observations of one unit."""
    traces = []
    indicator_order = list(dict.fromkeys(frame["indicator_id"]))
    area_count = frame["area"].nunique()
    for n, ((ind, area, label), group) in enumerate(
            frame.groupby(["indicator_id", "area", "span_label"], sort=False)):
        group = group.sort_values("period_end")
        k = indicator_order.index(ind)
        cls = group["span_class"].iloc[0]
        name = registry.name(group.iloc[0], lang)
        if area_count > 1:
            name += f" · {registry.area(group.iloc[0], lang)}"
        if cls != "year":
            name += f" · {label if lang == 'en' else i18n.span_zh(label)}"
        trace = {
            "type": "scatter", "mode": "lines+markers+text" if len(group) > 1 else "markers+text",
            "name": name, "legendgroup": ind,
            "x": [d.isoformat() for d in group["period_end"]], "y": group["value"].tolist(),
            "customdata": group["obs_id"].tolist(),
            "text": [point_label(r, lang) for _i, r in group.iterrows()],
            "textposition": "top center",
            "hovertext": [hover(r, lang) for _, r in group.iterrows()], "hoverinfo": "text",
            "marker": {"symbol": SYMBOLS[cls], "size": 10, "color": PALETTE[n % len(PALETTE)],
                       "line": {"width": 1.5, "color": PALETTE[n % len(PALETTE)]}},
            "line": {"dash": DASHES[k % len(DASHES)], "width": 2, "color": PALETTE[n % len(PALETTE)]},
        }
        if selection:
            trace["selectedpoints"] = [i for i, (_, r) in enumerate(group.iterrows()) if _overlaps(r, selection)]
            trace["selected"] = {"marker": {"size": 14}}
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
    if selection:
        layout["shapes"] = [{"type": "rect", "xref": "x", "yref": "paper",
                             "x0": selection[0].isoformat(), "x1": selection[1].isoformat(),
                             "y0": 0, "y1": 1, "fillcolor": "#E69F00", "opacity": 0.18,
                             "line": {"width": 0}, "layer": "below"}]
    return {"data": traces, "layout": layout}


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
        trace["text"] = None
    return spark


def caption(frame: pd.DataFrame, lang: str = "en") -> str:
    """``Sources: A/73/480 para 84; S/2023/646 para 44``: every plotted point's citation."""
    _ = i18n.gettext_for(lang)
    cites = list(dict.fromkeys(registry.citation(r) for _i, r in frame.iterrows()))
    return _("Sources: {list}").format(list="; ".join(cites)) if cites else ""


def break_notes(indicators: pd.DataFrame, lang: str = "en") -> list[str]:
    key = "name_en" if lang == "en" else "name_zh"
    return [f"{r[key]}: {r['break_note']}" for _, r in indicators.iterrows() if r.get("break_note")]


def summary(frame: pd.DataFrame, unit: str, lang: str = "en") -> str:
    """A short text alternative: what the chart shows, value by value."""
    _ = i18n.gettext_for(lang)
    if frame.empty:
        return _("No values.")
    parts = []
    for _key, group in frame.groupby(["indicator_id", "area", "span_label"], sort=False):
        values = "; ".join(f"{registry.value_label(r, lang)} ({registry.period_label(r, lang)})"
                           for _i, r in group.sort_values("period_end").iterrows())
        parts.append(f"{registry.name(group.iloc[0], lang)}, {registry.area(group.iloc[0], lang)}: {values}.")
    term = vocab.UNITS.get(unit)
    unit_name = (term.name_en if lang == "en" else term.name_zh) if term else unit
    return _("{count} values in {unit}.").format(count=len(frame), unit=unit_name) + " " + " ".join(parts)
