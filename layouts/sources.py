"""Sources: each report, how it is identified, and the values it supports."""
from __future__ import annotations

import dash
from dash import html

from indicators import query, registry

dash.register_page(__name__, path="/sources", name="Sources", title="Sources · Peacekeeping indicators",
                   order=31)

ID = "sources"


def _report(src, obs, figs) -> html.Section:
    mine = obs[obs["source_id"] == src["source_id"]]
    figures = figs[figs["source_id"] == src["source_id"]]
    facts = [
        ("Cite as", src["cite_as"]),
        ("Symbol", src["symbol"] or "not confirmed: cite by title and date"),
        ("Title (Chinese)", html.Span(src["title_zh"], lang="zh")),
        ("Issued by", src["issuing_body"]),
        ("Date", src["date"]),
        ("Numbering", src["numbering"]),
        ("Identification", src["identification"]),
        ("Document", html.A(src["url"], href=src["url"], target="_blank", rel="noopener") if src["url"]
         else "no confirmed link"),
    ]
    return html.Section([
        html.H2(src["title_en"], id=f"{ID}-{src['source_id']}"),
        html.Dl([x for k, v in facts for x in (html.Dt(k), html.Dd(v))], className="facts"),
        html.P(f"{len(mine)} values for {mine['indicator_id'].nunique()} indicators.", className="count"),
        html.A(f"Download CSV of the {len(mine)} values", className="download",
               href=f"/download/observations.csv?source={src['source_id']}&name={src['source_id']}"),
        html.Ul([html.Li(f"Figure {f['figure']}: {f['caption_en']} (values not in the text)")
                 for _, f in figures.iterrows()], className="figures") if not figures.empty else None,
        html.Details([
            html.Summary(f"The {len(mine)} values"),
            html.Table([
                html.Thead(html.Tr([html.Th(h, scope="col") for h in ("Locator", "Indicator", "Value", "Period")])),
                html.Tbody([html.Tr([html.Td(r["locator"]), html.Td(r["indicator_name"]),
                                     html.Td(registry.value_label(r)), html.Td(r["period_label"])])
                            for _, r in mine.iterrows()]),
            ], className="data-table"),
        ]),
    ], className="source-report")


def layout(**_query):
    try:
        sources = query.table("sources")
        obs = query.observations()
        figs = query.table("figures")
    except FileNotFoundError as exc:
        return html.P(str(exc), className="message error")
    sources = sources.sort_values("date_start")
    return html.Div([
        html.H1("Sources"),
        html.P("The five UN reports every value is read from, oldest first. Each value keeps its "
               "paragraph (or table entry, footnote, meeting) and the sentence it was read from.",
               className="lede"),
        *[_report(s, obs, figs) for _, s in sources.iterrows()],
    ])
