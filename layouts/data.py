"""Data: every observation in one table, filtered on the server so that the table and its
CSV download are the same query."""
from __future__ import annotations

import dash
import pandas as pd
from dash import dash_table, dcc, html

from data import vocabulary as vocab
from data.translation import N_, gettext_for
from indicators import i18n, query, registry
from indicators.view import View

dash.register_page(__name__, path="/data", name="Data", name_zh="数据", title="Data · Peacekeeping indicators",
                   order=30)

ID = "data"
FONT = "system-ui, \"Noto Sans CJK SC\", \"Noto Sans\", sans-serif"  # the page's font, not the table's monospace
MAX_ROWS = 1000  # shown on the page; the download always has every filtered row
COLUMNS = [("indicator", N_("Indicator")), ("area_text", N_("Area")), ("period_text", N_("Period")),
           ("period", N_("ISO period")), ("value", N_("Value")), ("value_label", N_("As stated")),
           ("speaker", N_("Stated by")), ("citation", N_("Source")), ("quote", N_("Quote")),
           ("quote_en", N_("English"))]


def columns(lang: str) -> list[dict]:
    _ = gettext_for(lang)
    return [{"id": c, "name": _(label), **({"type": "numeric"} if c == "value" else {})} for c, label in COLUMNS]


def rows(frame: pd.DataFrame, lang: str = "en") -> list[dict]:
    if frame.empty:
        return []
    out = frame.assign(
        indicator=registry.names(frame, lang), area_text=registry.areas(frame, lang),
        speaker=[registry.speaker({"stated_by": w}, lang) for w in frame["stated_by"]],
        period_text=registry.period_labels(frame, lang), value_label=registry.value_labels(frame, lang),
        citation=registry.citations(frame))
    return out[[c for c, _label in COLUMNS] + ["obs_id"]].to_dict("records")


def selection(view: View) -> tuple[pd.DataFrame, int]:
    """The first ``MAX_ROWS`` rows the view selects and how many it selects in all (both
    asked of DuckDB: the rest are never fetched)."""
    f = view.filters()
    return query.observations(f, limit=MAX_ROWS), query.count(f)


def search(view: View) -> str:
    """The Data page's URL query: the view plus its family (a family page has it in its path)."""
    return view.search(family=True)


def download_href(view: View) -> str:
    return view.download("csv", "observations")


def view_from(family, text, areas, year_from, year_to, context: dict | None = None) -> View:
    context = context or {}
    return View.from_query({**context, "q": text, "area": areas, "from": year_from, "to": year_to},
                           family or "")


def count_label(n: int, lang: str = "en") -> str:
    _ = gettext_for(lang)
    if n > MAX_ROWS:
        return _("{count} rows (the first {shown} are shown; the download has all {count})").format(
            count=i18n.number(n, lang), shown=i18n.number(MAX_ROWS, lang))
    return _("{count} rows").format(count=i18n.number(n, lang))


def layout(**query_args):
    family = query_args.get("family", "")
    view = View.from_query(query_args, family if family in vocab.FAMILIES else "")
    _ = gettext_for(view.lang)
    try:
        areas = query.table("areas")
        frame, total = selection(view)
    except FileNotFoundError as exc:
        return html.P(str(exc), className="message error")
    key = "name_en" if view.lang == "en" else "name_zh"
    return html.Div([
        html.H1(_("Data")),
        html.P([_("Every value in the store. Filter here; sort by clicking a column heading. The "
                 "download gives exactly the filtered rows, with their citations.")], className="lede"),
        html.Div([
            html.Fieldset([html.Legend(_("Family")),
                           dcc.RadioItems(id=f"{ID}-family", value=view.family or "", className="radio-inline",
                                          options=[{"label": _("All"), "value": ""}] +
                                          [{"label": getattr(t, key), "value": k} for k, t in vocab.FAMILIES.items()])],
                          className="control wide"),
            html.Div([html.Label(_("Search indicators, quotes and sources"), htmlFor=f"{ID}-text"),
                      dcc.Input(id=f"{ID}-text", type="search", value=view.text, debounce=True,
                                placeholder=_("e.g. 恶意 or malicious"))], className="control wide"),
            html.Fieldset([html.Legend(_("Areas (none ticked: all)")),
                           dcc.Checklist(id=f"{ID}-areas", value=list(view.areas), className="checklist",
                                         options=[{"label": f" {r[key]}", "value": r["area_id"]}
                                                  for _i, r in areas.sort_values(key).iterrows()])],
                          className="control scroll"),
            html.Fieldset([html.Legend(_("Years")),
                           html.Label([_("From") + " ", dcc.Input(id=f"{ID}-from", type="number", min=1900,
                                                                  max=2100, step=1, value=view.year_from,
                                                                  debounce=True)]),
                           html.Label([" " + _("to") + " ", dcc.Input(id=f"{ID}-to", type="number", min=1900,
                                                                      max=2100, step=1, value=view.year_to,
                                                                      debounce=True)])],
                          className="control narrow"),
        ], className="controls", role="group", **{"aria-label": _("Filters")}),
        html.P(count_label(total, view.lang), id=f"{ID}-count", className="count", **{"aria-live": "polite"}),
        html.A(_("Download CSV"), id=f"{ID}-download", className="download", href=download_href(view)),
        dcc.Store(id=f"{ID}-context", data=view.context()),
        dcc.Store(id=f"{ID}-search"),
        dcc.Store(id=f"{ID}-url-written"),
        dash_table.DataTable(
            id=f"{ID}-table", columns=columns(view.lang), data=rows(frame, view.lang),
            sort_action="native", page_action="none",
            style_table={"overflowX": "auto", "maxHeight": "75vh", "overflowY": "auto"},
            style_cell={"textAlign": "left", "whiteSpace": "normal", "height": "auto",
                        "fontFamily": FONT, "fontSize": "0.85rem", "maxWidth": "28rem"},
            style_header={"fontWeight": "bold"},
        ),
    ])
