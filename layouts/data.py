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


def download_href(view: View) -> str:
    q = view.search()
    return f"/download/observations.csv{q}{'&' if q else '?'}" + \
        (f"family={view.family}&" if view.family else "") + "name=observations"


def view_from(family, indicators, areas, year_from, year_to) -> View:
    return View.from_query(family or "", ind=",".join(indicators or []), area=",".join(areas or []),
                           **{"from": year_from, "to": year_to})


def layout(**query_args):
    family = query_args.get("family", "")
    view = View.from_query(family if family in vocab.FAMILIES else "", **query_args)
    try:
        catalog = query.table("indicators")
        areas = query.table("areas")
        frame = query.observations(view.filters())
    except FileNotFoundError as exc:
        return html.P(str(exc), className="message error")
    years = list(range(1948, 2031))
    return html.Div([
        html.H1("Data"),
        html.P("Every value in the store. Filter here; sort by clicking a column heading. The "
               "download gives exactly the filtered rows, with their citations.", className="lede"),
        html.Div([
            html.Div([html.Label("Family", htmlFor=f"{ID}-family"),
                      dcc.Dropdown(id=f"{ID}-family", value=view.family or None, placeholder="All families",
                                   options=[{"label": t.name_en, "value": k} for k, t in vocab.FAMILIES.items()])],
                     className="control"),
            html.Div([html.Label("Indicators", htmlFor=f"{ID}-indicators"),
                      dcc.Dropdown(id=f"{ID}-indicators", multi=True, value=list(view.indicators),
                                   placeholder="All indicators",
                                   options=[{"label": r["name_en"], "value": r["indicator_id"]}
                                            for _, r in catalog.iterrows()])], className="control wide"),
            html.Div([html.Label("Areas", htmlFor=f"{ID}-areas"),
                      dcc.Dropdown(id=f"{ID}-areas", multi=True, value=list(view.areas), placeholder="All areas",
                                   options=[{"label": r["name_en"], "value": r["area_id"]}
                                            for _, r in areas.iterrows()])], className="control"),
            html.Div([html.Label("From year", htmlFor=f"{ID}-from"),
                      dcc.Dropdown(id=f"{ID}-from", options=years, value=view.year_from, placeholder="earliest")],
                     className="control narrow"),
            html.Div([html.Label("To year", htmlFor=f"{ID}-to"),
                      dcc.Dropdown(id=f"{ID}-to", options=years, value=view.year_to, placeholder="latest")],
                     className="control narrow"),
        ], className="controls", role="group", **{"aria-label": "Filters"}),
        html.P(f"{len(frame)} rows", id=f"{ID}-count", className="count", **{"aria-live": "polite"}),
        html.A("Download CSV", id=f"{ID}-download", className="download", href=download_href(view)),
        dcc.Store(id=f"{ID}-search"),
        dcc.Store(id=f"{ID}-url-written"),
        dash_table.DataTable(
            id=f"{ID}-table", columns=COLUMNS, data=rows(frame), sort_action="native",
            page_size=25, style_table={"overflowX": "auto"},
            style_cell={"textAlign": "left", "whiteSpace": "normal", "height": "auto",
                        "fontFamily": "inherit", "fontSize": "0.85rem", "maxWidth": "28rem"},
            style_header={"fontWeight": "bold"},
        ),
    ])
