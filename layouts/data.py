"""Data: every observation in one table, filtered on the server so that the table and its
CSV download are the same query."""
from __future__ import annotations

import dash
import pandas as pd
from dash import dash_table, dcc, html

from indicators import query, registry, vocabulary as vocab
from indicators.view import View

dash.register_page(__name__, path="/data", name="Data", title="Data · Peacekeeping indicators", order=30)

ID = "data"
COLUMNS = [
    {"id": "indicator_name", "name": "Indicator"},
    {"id": "area_name", "name": "Area"},
    {"id": "period_label", "name": "Period"},
    {"id": "period", "name": "ISO period"},
    {"id": "value", "name": "Value", "type": "numeric"},
    {"id": "value_label", "name": "As stated"},
    {"id": "stated_by", "name": "Stated by"},
    {"id": "citation", "name": "Source"},
    {"id": "quote", "name": "Quote"},
    {"id": "quote_en", "name": "English"},
]


def rows(frame: pd.DataFrame) -> list[dict]:
    if frame.empty:
        return []
    out = frame.assign(value_label=[registry.value_label(r) for _, r in frame.iterrows()],
                       citation=[registry.citation(r) for _, r in frame.iterrows()])
    return out[[c["id"] for c in COLUMNS] + ["obs_id"]].to_dict("records")


def search(view: View) -> str:
    """The Data page's URL query: the view plus its family (a family page has it in its path)."""
    q = view.search()
    return q + (("&" if q else "?") + f"family={view.family}" if view.family else "")


def download_href(view: View) -> str:
    q = search(view)
    return f"/download/observations.csv{q}{'&' if q else '?'}name=observations"


MAX_ROWS = 1000  # shown on the page; the download always has every filtered row


def view_from(family, text, areas, year_from, year_to) -> View:
    return View.from_query({"q": text or "", "area": ",".join(areas or []), "from": year_from,
                            "to": year_to}, family or "")


def count_label(n: int) -> str:
    if n > MAX_ROWS:
        return f"{n} rows (the first {MAX_ROWS:,} are shown; the download has all {n:,})"
    return f"{n} rows"


def layout(**query_args):
    family = query_args.get("family", "")
    view = View.from_query(query_args, family if family in vocab.FAMILIES else "")
    try:
        areas = query.table("areas")
        frame = query.observations(view.filters())
    except FileNotFoundError as exc:
        return html.P(str(exc), className="message error")
    return html.Div([
        html.H1("Data"),
        html.P("Every value in the store. Filter here; sort by clicking a column heading. The "
               "download gives exactly the filtered rows, with their citations.", className="lede"),
        html.Div([
            html.Fieldset([html.Legend("Family"),
                           dcc.RadioItems(id=f"{ID}-family", value=view.family or "", className="radio-inline",
                                          options=[{"label": "All", "value": ""}] +
                                          [{"label": t.name_en, "value": k} for k, t in vocab.FAMILIES.items()])],
                          className="control wide"),
            html.Div([html.Label("Search indicators, quotes and sources", htmlFor=f"{ID}-text"),
                      dcc.Input(id=f"{ID}-text", type="search", value=view.text, debounce=True,
                                placeholder="e.g. 恶意行为 or malicious")], className="control wide"),
            html.Fieldset([html.Legend("Areas (none ticked: all)"),
                           dcc.Checklist(id=f"{ID}-areas", value=list(view.areas), className="checklist",
                                         options=[{"label": f" {r['name_en']}", "value": r["area_id"]}
                                                  for _, r in areas.sort_values("name_en").iterrows()])],
                          className="control scroll"),
            html.Fieldset([html.Legend("Years"),
                           html.Label(["From ", dcc.Input(id=f"{ID}-from", type="number", min=1900, max=2100,
                                                          step=1, value=view.year_from, debounce=True)]),
                           html.Label([" to ", dcc.Input(id=f"{ID}-to", type="number", min=1900, max=2100,
                                                         step=1, value=view.year_to, debounce=True)])],
                          className="control narrow"),
        ], className="controls", role="group", **{"aria-label": "Filters"}),
        html.P(count_label(len(frame)), id=f"{ID}-count", className="count", **{"aria-live": "polite"}),
        html.A("Download CSV", id=f"{ID}-download", className="download", href=download_href(view)),
        dcc.Store(id=f"{ID}-search"),
        dcc.Store(id=f"{ID}-url-written"),
        dash_table.DataTable(
            id=f"{ID}-table", columns=COLUMNS, data=rows(frame.head(MAX_ROWS)), sort_action="native",
            page_action="none", style_table={"overflowX": "auto", "maxHeight": "75vh", "overflowY": "auto"},
            style_cell={"textAlign": "left", "whiteSpace": "normal", "height": "auto",
                        "fontFamily": "inherit", "fontSize": "0.85rem", "maxWidth": "28rem"},
            style_header={"fontWeight": "bold"},
        ),
    ])
