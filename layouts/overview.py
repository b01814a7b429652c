"""Overview: every indicator with its latest value and where it comes from."""
from __future__ import annotations

import dash
from dash import html

from indicators import query, registry, vocabulary as vocab

dash.register_page(__name__, path="/", name="Overview", title="Overview · Peacekeeping indicators")

ID = "overview"


def _indicator_row(r) -> html.Tr:
    return html.Tr([
        html.Td(r["indicator_name"], className="indicator-name"),
        html.Td(registry.value_label(r), className="value"),
        html.Td(r["period_label"]),
        html.Td(r["area"]),
        html.Td([html.Span(registry.citation(r), className="citation"),
                 html.Blockquote(r["quote"], lang="zh", className="quote"),
                 html.Div(r["quote_en"], className="quote-en")]),
    ], id=f"{ID}-row-{r['indicator_id']}")


def layout(**_query):
    try:
        frame = query.observations()
    except FileNotFoundError as exc:
        return html.P(str(exc), className="message error")
    latest = registry.latest(frame)
    sections = []
    for family, term in vocab.FAMILIES.items():
        rows = latest[latest["family"] == family]
        if rows.empty:
            continue
        sections.append(html.Section([
            html.H2(term.name_en, id=f"{ID}-{family}"),
            html.Table([
                html.Thead(html.Tr([html.Th(h, scope="col") for h in
                                    ("Indicator", "Latest value", "Period", "Area", "Source and quote")])),
                html.Tbody([_indicator_row(r) for _, r in rows.iterrows()]),
            ], className="indicator-table"),
        ]))
    return html.Div([
        html.H1("Overview"),
        html.P(f"{len(frame)} values for {frame['indicator_id'].nunique()} indicators, each stated in "
               f"a UN report and quoted verbatim.", className="lede"),
        *sections,
    ])
