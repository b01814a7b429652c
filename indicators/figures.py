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

from indicators import registry, vocabulary as vocab

PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
SYMBOLS = {"year": "circle", "fiscal": "circle-open", "partial": "diamond", "point": "square",
           "cumulative": "triangle-up", "multi-year": "hexagon"}
SPAN_NAMES = {"year": "calendar year", "fiscal": "fiscal year (July–June)", "partial": "part of a year",
              "point": "point in time", "cumulative": "cumulative total", "multi-year": "several years"}


def _overlaps(row, selection) -> bool:
    if not selection:
        return False
    start = row["period_start"] or date.min
    return start <= selection[1] and row["period_end"] >= selection[0]


def hover(row) -> str:
    return (f"<b>{row['indicator_name']}</b><br>{registry.value_label(row)} · {row['period_label']}"
            f"<br>{row['area_name']} · stated by {row['stated_by']}<br>{registry.citation(row)}")


def figure(frame: pd.DataFrame, unit: str, selection=None, title: str = "") -> dict:
    """One chart for the observations of one unit."""
    traces = []
    indicator_order = list(dict.fromkeys(frame["indicator_id"]))
    area_count = frame["area"].nunique()
    for n, ((ind, area, label), group) in enumerate(
            frame.groupby(["indicator_id", "area", "span_label"], sort=False)):
        group = group.sort_values("period_end")
        k = indicator_order.index(ind)
        cls = group["span_class"].iloc[0]
        name = group["indicator_name"].iloc[0]
        if area_count > 1:
            name += f" · {area}"
        if cls != "year":
            name += f" · {label}"
        trace = {
            "type": "scatter", "mode": "lines+markers+text" if len(group) > 1 else "markers+text",
            "name": name, "legendgroup": ind,
            "x": [d.isoformat() for d in group["period_end"]], "y": group["value"].tolist(),
            "customdata": group["obs_id"].tolist(),
            "text": [("" if q == "exact" else vocab.QUALIFIERS[q].name_en) for q in group["qualifier"]],
            "textposition": "top center",
            "hovertext": [hover(r) for _, r in group.iterrows()], "hoverinfo": "text",
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
    layout = {
        "title": {"text": title or (term.name_en if term else unit), "font": {"size": 15}},
        "height": 380, "margin": {"l": 60, "r": 20, "t": 40, "b": 20},
        "xaxis": {"type": "date"},
        "yaxis": {"title": {"text": term.name_en if term else unit}, "rangemode": "tozero"},
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


def caption(frame: pd.DataFrame) -> str:
    """``Sources: A/73/480 para 84; S/2023/646 para 44``: every plotted point's citation."""
    cites = list(dict.fromkeys(registry.citation(r) for _, r in frame.iterrows()))
    return "Sources: " + "; ".join(cites) if cites else ""


def break_notes(indicators: pd.DataFrame) -> list[str]:
    return [f"{r['name_en']}: {r['break_note']}" for _, r in indicators.iterrows() if r.get("break_note")]


def summary(frame: pd.DataFrame, unit: str) -> str:
    """A short text alternative: what the chart shows, value by value."""
    if frame.empty:
        return "No values."
    parts = []
    for (_, area, _), group in frame.groupby(["indicator_id", "area", "span_label"], sort=False):
        values = "; ".join(f"{registry.value_label(r)} ({r['period_label']})"
                           for _, r in group.sort_values("period_end").iterrows())
        parts.append(f"{group['indicator_name'].iloc[0]}, {area}: {values}.")
    term = vocab.UNITS.get(unit)
    return (f"{len(frame)} value{'s' if len(frame) != 1 else ''} in {term.name_en if term else unit}. "
            + " ".join(parts))
