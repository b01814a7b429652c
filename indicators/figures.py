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

import re
import zlib
from datetime import date, timedelta

import numpy as np
import pandas as pd

from data import vocabulary as vocab
from data.translation import N_, gettext_for
from indicators import i18n, registry

# Okabe–Ito, without its yellow (too faint on white for a line): colour-blind safe.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000")
DASHES = ("solid", "dash", "dot", "dashdot", "longdash", "longdashdot")
SYMBOLS = {"year": "circle", "fiscal": "circle-open", "partial": "diamond", "point": "square",
           "cumulative": "triangle-down", "multi-year": "triangle-up"}
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
    # "As of" values are one kind whether the text dates them to a day or to a month
    kinds = [c if c == "point" else s for c, s in zip(cols["span_class"], cols["span_label"])]
    for i, key in enumerate(zip(cols["indicator_id"], cols["area"], kinds)):
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
    _ = gettext_for(lang)
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
    """Text beside each point (rows: a frame, or ``columns``): a qualified value as the text
    gives it ("more than 35,000"), and a mark if it was revised; empty for an exact value that
    was never revised. One label per point: the qualifier is never said twice."""
    cols = _cols(rows)
    _ = gettext_for(lang)
    mark = _("revised")
    values = registry.value_labels(cols, lang)
    return [(v if q not in (None, "exact") else "") + ((" · " if q not in (None, "exact") else "") + mark if r else "")
            for v, q, r in zip(values, cols["qualifier"], cols["revised"])]


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


def colour_map(indicator_ids) -> dict[str, str]:
    """A colour per indicator that does not depend on what else is ticked: the rank of its id
    among its family's indicators picks the colour (``figure`` resolves the rare clash)."""
    return {ind: PALETTE[k % len(PALETTE)] for k, ind in enumerate(sorted(set(indicator_ids)))}


def _colours(indicators: list[str], given: dict[str, str] | None) -> dict[str, str]:
    """Each indicator's colour in one chart: its stable colour unless another indicator of the
    chart already has it, then the next free one."""
    out: dict[str, str] = {}
    for ind in indicators:
        wanted = (given or {}).get(ind) or PALETTE[zlib.crc32(ind.encode()) % len(PALETTE)]
        k = PALETTE.index(wanted) if wanted in PALETTE else 0
        for step in range(len(PALETTE)):
            candidate = PALETTE[(k + step) % len(PALETTE)]
            if candidate not in out.values():
                wanted = candidate
                break
        out[ind] = wanted
    return out


def _series_colours(groups, layout_panels, colour_of: dict[str, str]) -> dict[tuple, str]:
    """(indicator, area) -> colour: the indicator's own colour, unless the chart shows it for
    several areas, then each area's (stable by area id), and never two series of one panel
    in the same colour."""
    areas_of: dict[str, set] = {}
    for ind, area, _label in groups:
        areas_of.setdefault(ind, set()).add(area)
    by_area = colour_map({k[1] for k in groups})
    out: dict[tuple, str] = {}
    for keys in layout_panels:
        used: dict[str, tuple] = {}
        for ind, area, _label in keys:
            key = (ind, area)
            if key in out:
                used[out[key]] = key
                continue
            wanted = colour_of[ind] if len(areas_of[ind]) == 1 else by_area[area]
            k = PALETTE.index(wanted) if wanted in PALETTE else 0
            for step in range(len(PALETTE)):
                candidate = PALETTE[(k + step) % len(PALETTE)]
                if used.get(candidate, key) == key:
                    wanted = candidate
                    break
            out[key] = wanted
            used[wanted] = key
    return out


def midpoint(start: date | None, end: date) -> date:
    """Where a value is drawn: the middle of its period (a year's value on 2 July, a fiscal
    year's at the turn of the calendar year, an "as of" value on its day)."""
    start = start or end
    return start + timedelta(days=(end - start).days // 2)


_MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
                "October", "November", "December")


def kind_text(cls: str, label: str, lang: str = "en") -> str:
    """How a legend says what kind of period a series is made of, in words (empty for
    calendar years, the common case): "fiscal years (July–June)", "January–August"."""
    _ = gettext_for(lang)
    if cls == "fiscal":
        return _("fiscal years, July–June")
    if cls == "point":  # "as of" values are the plain case: the marker shape says it
        return ""
    if cls == "multi-year":
        years = label.split()[0]
        return _("{years}-year periods").format(years=years) if years.isdigit() else label
    if cls == "partial":
        months = label.split("–")
        if len(months) == 2 and all(m in i18n._MONTHS for m in months):
            if lang == "en":
                return "–".join(_MONTH_NAMES[i18n._MONTHS.index(m)] for m in months)
            return i18n.span_zh(label)
        return label if lang == "en" else i18n.span_zh(label)
    return ""


def short_area(area: str, name: str, lang: str = "en") -> str:
    """An area as a legend names it: a mission by its acronym (MINUSCA), anything else by its
    name without the parenthesis ("All United Nations field missions")."""
    if lang == "en" and area.isupper():
        return area
    return re.sub(r"\s*[（(][^（()）]*[)）]\s*$", "", name) or name


def _wrap(text: str, width: int) -> str:
    """Break a legend or category label into lines of about ``width`` characters (Plotly does
    not wrap: a long legend entry runs off the chart's right edge)."""
    if len(text) <= width:
        return text
    if re.search(r"[\u4e00-\u9fff]", text):  # Chinese: after "至" or "，", or else anywhere
        if "至" in text and len(text) <= 2 * width:
            return text.replace("至", "至<br>", 1)
        lines, line = [], ""
        for ch in text:
            line += ch
            if len(line) >= width or (ch in "，；" and len(line) >= width // 2):
                lines.append(line)
                line = ""
        return "<br>".join(lines + ([line] if line else []))
    lines, line = [], ""
    for word in text.split(" "):
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return "<br>".join(lines)


def _nice_step(count: int, limit: int, steps=(1, 2, 5, 10, 20, 25, 50, 100)) -> int:
    return next((s for s in steps if count / s <= limit), steps[-1])


LONG_KINDS = {"year", "fiscal", "multi-year", "cumulative"}


def time_ticks(starts: list, ends: list, classes: set[str], lang: str = "en") -> dict:
    """A date axis labelled by the kind of period drawn, never finer than a day: calendar
    years ("2017", centred on the year), fiscal years ("2016/17", centred on the turn of the
    year), or months ("May 2023") when some values are shorter than a year and everything
    lies within about 13 months. Gridlines mark the boundaries between periods."""
    lo = min(s or e for s, e in zip(starts, ends))
    hi = max(ends)
    pad = timedelta(days=max(20, (hi - lo).days // 40))
    zh = lang == "zh"
    if classes == {"fiscal"}:
        first, last = (lo.year + (lo.month >= 7), hi.year + (hi.month >= 7))
        step = _nice_step(last - first + 1, 10)
        years = [y for y in range(first, last + 1) if y % step == 0 or step == 1]
        vals = [date(y, 1, 1) for y in years]
        text = [f"{y - 1}/{y % 100:02d}" for y in years]
        minor = [date(y - 1, 7, 1) for y in range(first, last + 2)]
    elif classes <= LONG_KINDS or (hi - lo).days > 400:
        step = _nice_step(hi.year - lo.year + 1, 10)
        years = [y for y in range(lo.year, hi.year + 1) if y % step == 0 or step == 1]
        vals = [midpoint(date(y, 1, 1), date(y, 12, 31)) for y in years]
        text = [f"{y}年" if zh else str(y) for y in years]
        minor = [date(y, 1, 1) for y in range(lo.year, hi.year + 2)] if step == 1 else []
    else:
        months = [(y, m) for y in range(lo.year, hi.year + 1) for m in range(1, 13)
                  if (lo.year, lo.month) <= (y, m) <= (hi.year, hi.month)]
        step = _nice_step(len(months), 8, (1, 2, 3, 6, 12))
        months = [(y, m) for y, m in months if (m - 1) % step == 0]
        vals = [date(y, m, 15) for y, m in months]
        text = [f"{y}年{m}月" if zh else f"{i18n._MONTHS[m - 1]} {y}" for y, m in months]
        minor = [date(y, m, 1) for y, m in months]
    iso = [d.isoformat() for d in vals]
    axis = {"type": "date", "tickmode": "array", "tickvals": iso, "ticktext": text,
            "range": [(lo - pad).isoformat(), (hi + pad).isoformat()], "showgrid": False,
            "ticks": "outside", "ticklen": 4, "tickcolor": "#999"}
    if minor:
        axis["minor"] = {"tickmode": "array", "tickvals": [d.isoformat() for d in minor], "showgrid": True,
                         "gridcolor": "#e6e6e6", "ticks": ""}
    return axis


def _magnitude(values: list) -> float:
    finite = [abs(v) for v in values if v is not None and np.isfinite(v)]
    return max(finite) if finite else 0.0


def panels(groups: dict[tuple, list[int]], values: list) -> list[list[tuple]]:
    """Which series share a y axis. All of them, unless their sizes differ by ten times or
    more (80,000 data points would flatten 71 assessments to the axis): then one panel per
    indicator, and one per series where an indicator's own series differ that much."""
    size = {k: _magnitude([values[i] for i in rows]) for k, rows in groups.items()}

    def spread(keys) -> bool:
        sizes = [size[k] for k in keys if size[k] > 0]
        return bool(sizes) and max(sizes) >= 10 * min(sizes)

    keys = list(groups)
    if not spread(keys):
        return [keys]
    by_indicator: dict[str, list[tuple]] = {}
    for k in keys:
        by_indicator.setdefault(k[0], []).append(k)
    out = []
    for ks in by_indicator.values():
        out.extend([[k] for k in ks] if spread(ks) else [ks])
    return out


PANEL_HEIGHT = 150   # px of one small multiple's plot area
SINGLE_HEIGHT = 290  # px of the plot area of a chart with one panel
LEGEND_WIDTH = 130   # characters of legend text on one row, about (a chart ~ 850 px wide)


def _label_positions(xs: list, ys: list, labelled: list[bool], taken: dict, edges=("", "")) -> list[str]:
    """Above the point (below it if a label already sits at the same x near the same height),
    leaning inwards at the ends of the axis so that no label runs off the chart."""
    out = []
    for x, y, has in zip(xs, ys, labelled):
        side = " right" if x <= edges[0] else " left" if x >= edges[1] else " center"
        pos = "top" + side
        if has:
            near = [y0 for y0 in taken.get(x, []) if y0 is not None and y is not None
                    and abs(y0 - y) <= 0.12 * max(abs(y0), abs(y), 1e-9)]
            if near:
                pos = "bottom" + side
            taken.setdefault(x, []).append(y)
        out.append(pos)
    return out


def figure(frame: pd.DataFrame, unit: str, selection=None, title: str = "", lang: str = "en",
           max_points: int = MAX_POINTS, colours: dict[str, str] | None = None) -> dict:
    """One chart for the observations of one unit.

    Each value is drawn over its period: a marker at the period's middle and, for a period
    longer than a day, a bar across it; the axis is labelled by the kind of period. Values
    that all share one date (cumulative totals "since 1948" and "since 2013" to the same
    month) are bars labelled with their periods, not points on a time axis. Series whose
    sizes differ tenfold or more are small multiples, one panel each, on a shared time axis.
    ``title`` is kept for callers; the page shows it above the chart."""
    _ = gettext_for(lang)
    cols = _cols(frame)
    indicator_order = list(dict.fromkeys(cols["indicator_id"]))
    area_order = list(dict.fromkeys(cols["area"]))
    colour_of = _colours(indicator_order, colours)
    groups = series(cols)
    budget = max(DENSE, max_points // max(1, len(groups)))
    mids = [midpoint(s, e) for s, e in zip(cols["period_start"], cols["period_end"])]
    categorical = bool(groups) and (all(c == "cumulative" for c in cols["span_class"]) or len(set(mids)) == 1)
    if categorical:  # bars labelled by period: one trace per indicator and area, whatever the span
        merged: dict[tuple, list[int]] = {}
        for (ind, area, _label), rows in groups.items():
            merged.setdefault((ind, area, ""), []).extend(rows)
        groups = merged
    layout_panels = panels(groups, cols["value"]) if groups else [[]]
    panel_of = {k: p for p, keys in enumerate(layout_panels) for k in keys}
    many = len(layout_panels) > 1
    series_colour = _series_colours(groups, layout_panels, colour_of)
    if mids:
        lo, hi = min(mids), max(mids)
        fifth = timedelta(days=max(1, (hi - lo).days // 5))
        edges = ((lo + fifth).isoformat(), (hi - fifth).isoformat())
    else:
        edges = ("", "")
    traces, spans = [], []
    thinned = 0
    taken_labels: dict = {}
    legend_chars = [0] * len(layout_panels)
    legend_lines = [1] * len(layout_panels)
    for (ind, area, label), rows in groups.items():
        keep = thin(np.array([cols["value"][i] for i in rows], dtype="float64"), budget)
        shown = pick(cols, [rows[k] for k in keep])
        count = len(keep)
        thinned += count < len(rows)
        cls = shown["span_class"][0]
        p = panel_of[(ind, area, label)]
        alone = many and len(layout_panels[p]) == 1  # its panel's title names it
        extra = []
        if len(area_order) > 1 and not (many and len({k[1] for k in layout_panels[p]}) == 1):
            extra.append(short_area(area, registry.areas(shown, lang)[0], lang))
        if not categorical and kind_text(cls, label, lang):
            extra.append(kind_text(cls, label, lang))
        if count < len(rows):
            extra.append(_("{shown} of {count} values shown").format(shown=count, count=len(rows)))
        if many:  # the panel's title names the indicator; the legend tells its series apart
            name = ("，" if lang == "zh" else ", ").join(extra) or registry.names(shown, lang)[0]
        else:
            name = registry.names(shown, lang)[0]
            if extra:
                name += (f"（{'，'.join(extra)}）" if lang == "zh" else f" ({', '.join(extra)})")
        if not alone:
            legend_chars[p] += min(len(name), 60) + 6
            legend_lines[p] = max(legend_lines[p], _wrap(name, 60 if lang == "en" else 36).count("<br>") + 1)
        dense = count > DENSE
        values = registry.value_labels(shown, lang)
        marks = point_labels(shown, lang)
        meta, custom = hover_parts(shown, lang)
        colour = series_colour[(ind, area)]
        panel_areas = list(dict.fromkeys(k[1] for k in layout_panels[p]))
        axes = {"xaxis": "x" if p == 0 else f"x{p + 1}", "yaxis": "y" if p == 0 else f"y{p + 1}"}
        common = {"name": _wrap(name, 60 if lang == "en" else 36), "legendgroup": f"{ind}|{area}|{label}", "showlegend": not alone,
                  "legend": "legend" if p == 0 or not many else f"legend{p + 1}",
                  "customdata": custom, "meta": meta, "hovertemplate": HOVER_TEMPLATE, "y": shown["value"], **axes}
        if categorical:
            periods = registry.period_labels(shown, lang)
            trace = {"type": "bar", **common, "x": [_wrap(t, 22 if lang == "en" else 12) for t in periods],
                     "marker": {"color": colour, "line": {"width": 0}}, "opacity": 0.9,
                     "text": [m or v for v, m in zip(values, marks)],
                     "textposition": "outside", "cliponaxis": False}
        else:
            x = [midpoint(s, e).isoformat() for s, e in zip(shown["period_start"], shown["period_end"])]
            labelled = [bool(m) for m in marks]
            trace = {
                "type": "scatter", **common, "x": x,
                "mode": ("lines+markers" if count > 1 else "markers") + ("+text" if any(labelled) else ""),
                "marker": {"symbol": SYMBOLS[cls], "size": 5 if dense else 10, "color": colour,
                           "line": {"width": 1 if dense else 1.5, "color": colour}},
                "line": {"dash": DASHES[panel_areas.index(area) % len(DASHES)], "width": 1.5 if dense else 2,
                         "color": colour},
            }
            if any(labelled):
                trace["text"] = marks
                trace["textposition"] = _label_positions(x, shown["value"], labelled, taken_labels, edges)
                trace["textfont"] = {"size": 11, "color": "#333"}
                trace["cliponaxis"] = False
            if not dense:  # the span of each value, as a bar across its period
                sx, sy = [], []
                for s, e, v in zip(shown["period_start"], shown["period_end"], shown["value"]):
                    if s and e > s:
                        sx += [s.isoformat(), e.isoformat(), None]
                        sy += [v, v, None]
                if sx:
                    spans.append({"type": "scatter", "mode": "lines", "x": sx, "y": sy, "legendgroup": f"{ind}|{area}|{label}",
                                  "showlegend": False, "hoverinfo": "skip", "opacity": 0.45,
                                  "line": {"color": colour, "width": 4}, **axes})
        if selection:
            trace["selectedpoints"] = [j for j, (a, b) in enumerate(zip(shown["period_start"], shown["period_end"]))
                                       if _overlaps(a, b, selection)]
            if trace["type"] == "scatter":
                trace["selected"] = {"marker": {"size": 14 if not dense else 8}}
            trace["unselected"] = {"marker": {"opacity": 0.35}}
        traces.append(trace)
    term = vocab.UNITS.get(unit)
    unit_name = (term.name_en if lang == "en" else term.name_zh) if term else unit
    def rows_of(chars: int) -> int:
        return -(-chars // LEGEND_WIDTH)

    # Pixel layout, top to bottom. One panel: the legend above the plot. Small multiples: each
    # panel has a header (its title, then its own legend when it has more than one series).
    gap = (60 if categorical else 18) if many else 0
    headers = [(22 + 16 * rows_of(c) * n) for c, n in zip(legend_chars, legend_lines)] if many else [0]
    heights = [PANEL_HEIGHT] * len(layout_panels) if many else [SINGLE_HEIGHT]
    plot_h = sum(headers) + sum(heights) + gap * (len(heights) - 1)
    top = 12 if many or not legend_chars[0] else 16 + 18 * rows_of(legend_chars[0]) * legend_lines[0]
    bottom = 80 if categorical else 40
    layout = {
        "height": plot_h + top + bottom,
        "margin": {"l": 64, "r": 24, "t": top, "b": bottom},
        "hovermode": "closest", "dragmode": "select", "selectdirection": "h",
        "showlegend": any(legend_chars),
        "font": {"family": "system-ui, 'Noto Sans CJK SC', sans-serif"},
        "plot_bgcolor": "#fff", "paper_bgcolor": "#fff",
        "barmode": "group", "bargap": 0.4,
        "meta": {"unit": unit_name, "panels": len(layout_panels), "categorical": categorical},
    }
    if not categorical and groups:
        classes = set(cols["span_class"])
        xaxis = time_ticks(cols["period_start"], cols["period_end"], classes, lang)
    else:
        xaxis = {"type": "category", "automargin": True, "tickfont": {"size": 11}}
    annotations = []
    offset = 0
    for p, keys in enumerate(layout_panels):
        header_top = offset
        offset += headers[p]
        domain = [round(1 - (offset + heights[p]) / plot_h, 4), round(1 - offset / plot_h, 4)]
        offset += heights[p] + gap
        legend = {"orientation": "h", "x": 0, "xanchor": "left", "y": domain[1], "yanchor": "bottom",
                  "yref": "paper", "font": {"size": 12 if not many else 11}, "bgcolor": "rgba(0,0,0,0)",
                  "itemclick": "toggle", "groupclick": "togglegroup", "tracegroupgap": 4}
        if not many:
            layout["legend"] = legend
        elif legend_chars[p]:
            layout["legend" if p == 0 else f"legend{p + 1}"] = legend
        suffix = "" if p == 0 else str(p + 1)
        ax = dict(xaxis)
        if many and not categorical:
            ax["anchor"] = f"y{suffix}"
            if p:
                ax["matches"] = "x"
            ax["showticklabels"] = p == len(layout_panels) - 1
        elif many:
            ax["anchor"] = f"y{suffix}"
        layout[f"xaxis{suffix}"] = ax
        ys = [v for k in keys for v in (cols["value"][i] for i in groups[k]) if v is not None and np.isfinite(v)]
        top_y = max(ys + [0.0])
        low_y = min(ys + [0.0])
        headroom = 1.25 if categorical or any(point_labels(pick(cols, [i for k in keys for i in groups[k]]), lang)) else 1.08
        layout[f"yaxis{suffix}"] = {"domain": [max(0.0, domain[0]), min(1.0, domain[1])], "tickformat": ",~f",
                                    "range": [low_y * headroom, (top_y * headroom) or 1],
                                    "anchor": f"x{suffix}", "gridcolor": "#e6e6e6", "zeroline": True,
                                    "zerolinecolor": "#999", "title": {"text": "" if many else unit_name},
                                    "automargin": True}
        if many and keys:
            ind, area, _label = keys[0]
            rows = groups[keys[0]]
            one = pick(cols, rows[:1])
            text = registry.names(one, lang)[0]
            if len({k[1] for k in keys}) == 1 and len(area_order) > 1:
                text += f" · {registry.areas(one, lang)[0]}"
            annotations.append({"text": f"<b>{_wrap(text, 110 if lang == 'en' else 55)}</b>", "showarrow": False,
                                "xref": "paper", "yref": "paper", "x": 0, "xanchor": "left",
                                "y": round(1 - header_top / plot_h, 4), "yanchor": "top", "align": "left",
                                "font": {"size": 12, "color": "#222"}})
    if annotations:
        layout["annotations"] = annotations
    if thinned:
        layout["meta"]["thinned"] = thinned
    shade = {"type": "rect", "fillcolor": "#E69F00", "opacity": 0.18, "line": {"width": 0}, "layer": "below"}
    if selection and not categorical:
        layout["shapes"] = [{**shade, "xref": "x", "yref": "paper", "x0": selection[0].isoformat(),
                             "x1": selection[1].isoformat(), "y0": 0, "y1": 1}]
    elif selection:  # bars: shade the periods (categories) the selection takes in, panel by panel
        shapes = []
        for trace in traces:
            categories = list(dict.fromkeys(x for t in traces if t["xaxis"] == trace["xaxis"] for x in t["x"]))
            for j in trace.get("selectedpoints", []):
                k = categories.index(trace["x"][j])
                shapes.append({**shade, "xref": trace["xaxis"], "yref": f"{trace['yaxis']} domain",
                               "x0": k - 0.48, "x1": k + 0.48, "y0": 0, "y1": 1})
        layout["shapes"] = [dict(s) for s in {(s["xref"], s["x0"]): s for s in shapes}.values()]
    return {"data": spans + traces, "layout": layout}


def thinning_note(fig: dict, lang: str = "en") -> str:
    """What a caption says when a chart shows fewer points than it has values."""
    _ = gettext_for(lang)
    if not fig["layout"].get("meta", {}).get("thinned"):
        return ""
    return _("Dense series are thinned to the lowest and highest value of each stretch of time. "
             "Drag across a period to list every value in it with its source; the CSV has them all.")


SPARK_TICKS = 3  # labelled ticks a sparkline keeps (its axis labels are set per period kind)


def sparkline(series: pd.DataFrame, unit: str, lang: str = "en", height: int = 130,
              width: int | None = None) -> dict:
    """A small static chart of one comparable series (overview tiles, briefing note)."""
    spark = figure(series, unit, lang=lang)
    layout = spark["layout"]
    layout.update(height=height, margin={"l": 40, "r": 10, "t": 5, "b": 25}, showlegend=False, dragmode=False)
    layout.pop("annotations", None)
    if width:
        layout["width"] = width
    axis = layout.get("xaxis", {})
    axis.update(tickangle=0, automargin=True)
    ticks, labels = axis.get("tickvals"), axis.get("ticktext")
    if ticks and labels and len(ticks) > SPARK_TICKS:  # a tile is too narrow for a full chart's ticks
        every = -(-len(ticks) // SPARK_TICKS)
        axis["tickvals"], axis["ticktext"] = ticks[::every], labels[::every]
    for key in [k for k in layout if k.startswith("yaxis")]:
        layout[key]["title"] = None
    for trace in spark["data"]:
        if trace["type"] == "scatter" and "customdata" in trace:
            trace.pop("text", None)
            trace.pop("textposition", None)
            trace["mode"] = trace["mode"].replace("+text", "")
    return spark


CAPTION_CITATIONS = 30  # beyond this a caption names the first ones and points to the CSV
SUMMARY_VALUES = 12     # a series longer than this is summarised, not read out value by value
SUMMARY_SERIES = 20


def caption(frame, lang: str = "en") -> str:
    """``Sources: A/73/480, para 84; S/2023/646, para 44``: every plotted point's citation
    (the first ``CAPTION_CITATIONS`` of them when there are more, and how many more)."""
    _ = gettext_for(lang)
    cols = _cols(frame)
    cites = list(dict.fromkeys(registry.citations(cols)))
    if not cites:
        return ""
    text = _("Sources: {list}").format(list="; ".join(cites[:CAPTION_CITATIONS]))
    if len(cites) > CAPTION_CITATIONS:
        text += "; " + _("and {count} more (each value's citation is in the CSV and the source panel)").format(
            count=len(cites) - CAPTION_CITATIONS)
    return text


_ID_TOKEN = re.compile(r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
_FIELDS = {"period_label": N_("period label"), "value_text": N_("value text"), "period": N_("period"),
           "stated_by": N_("stated by"), "quote_en": N_("English rendering")}


def readable(text, names: dict[str, str] | None = None, lang: str = "en") -> str:
    """Curators' text as a reader should see it: indicator and area ids become their names
    (``names``: id -> name in the chosen language), qualifier and field names become words,
    and a missing text is empty. (The curated notes name the curation rules, never their file:
    tests/test_curated.py checks it, so the CSV export reads the same.)"""
    if not isinstance(text, str) or not text.strip() or text.strip().lower() in ("nan", "none"):
        return ""
    _ = gettext_for(lang)
    names = names or {}

    def name(match) -> str:
        token = match.group(0)
        if token in names:
            return names[token]
        if token in vocab.QUALIFIERS:
            term = vocab.QUALIFIERS[token]
            return term.name_en if lang == "en" else term.name_zh
        if token in _FIELDS:
            return _(_FIELDS[token])
        return token.replace("_", " ")

    text = re.sub(r"\bwomen_share_\*", "women's share" if lang == "en" else "妇女比例", text)
    return _ID_TOKEN.sub(name, text)


def break_notes(indicators: pd.DataFrame, lang: str = "en", names: dict[str, str] | None = None) -> list[str]:
    """A "break in series" note per charted indicator that has one, naming the related
    indicators by their names in the chosen language (never by id). The notes are written
    in English: in Chinese the related series are listed in Chinese before the English note."""
    key = "name_en" if lang == "en" else "name_zh"
    out = []
    for _i, r in indicators.iterrows():
        note = r.get("break_note")
        if not isinstance(note, str) or not note.strip() or note.strip().lower() == "nan":
            continue
        text = readable(note, names, lang)
        if lang == "en":
            out.append(f"{r[key]}: {text}")
            continue
        related = [names[t] for t in dict.fromkeys(_ID_TOKEN.findall(note)) if names and t in names
                   and t != r["indicator_id"]]
        head = f"{r[key]}：与{'、'.join(f'“{n}”' for n in related)}分开绘制，不连成一条线。" if related else f"{r[key]}："
        out.append(f"{head}英文说明：{text}")
    return out


_GLYPHS = {"circle": "●", "circle-open": "○", "diamond": "◆", "square": "■", "triangle-up": "▲", "triangle-down": "▼"}


def marker_key(rows, lang: str = "en") -> str:
    """What the marker shapes of a chart mean, for the kinds of period it draws."""
    _ = gettext_for(lang)
    kinds = [k for k in SYMBOLS if k in set(_cols(rows)["span_class"]) and k != "cumulative"]
    if len(kinds) < 2:
        return ""
    sep = "；" if lang == "zh" else "; "
    return _("Markers: {list}").format(list=sep.join(f"{_GLYPHS[SYMBOLS[k]]} {_(SPAN_NAMES[k])}" for k in kinds))


def _series_text(cols: dict[str, list], lang: str) -> str:
    _ = gettext_for(lang)
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
    _ = gettext_for(lang)
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
