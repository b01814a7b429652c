"""Overview: a headline tile per family, a small chart each, and every indicator's latest
value with its source."""
from __future__ import annotations

import dash
from dash import dcc, html

from indicators import figures, query, registry, vocabulary as vocab

dash.register_page(__name__, path="/", name="Overview", title="Overview · Peacekeeping indicators", order=0)

ID = "overview"


def _tile(family: str, frame) -> html.Article | None:
    latest_row, previous, series = registry.headline(frame, family)
    if latest_row is None:
        return None
    term = vocab.FAMILIES[family]
    spark = figures.figure(series, latest_row["unit"], title="")
    spark["layout"].update(height=130, margin={"l": 40, "r": 10, "t": 5, "b": 25}, showlegend=False,
                           dragmode=False, title=None)
    spark["layout"]["yaxis"]["title"] = None
    if len(series) == 1:  # one point: show its year, not hours around it
        year = latest_row["period_end"].year
        spark["layout"]["xaxis"].update(range=[f"{year - 1}-01-01", f"{year + 1}-12-31"], dtick="M12",
                                        tickformat="%Y")
    for trace in spark["data"]:
        trace["text"] = None
    return html.Article([
        html.H2(html.A(term.name_en, href=f"/{family}"), className="tile-family"),
        html.P(latest_row["indicator_name"], className="tile-indicator"),
        html.P(registry.value_label(latest_row), className="tile-value"),
        html.P([latest_row["period_label"], " · ", latest_row["area_name"]], className="tile-period"),
        html.P(registry.change_label(latest_row, previous), className="tile-change"),
        html.P(["Source: ", html.Strong(registry.citation(latest_row)), " · stated by ",
                latest_row["stated_by"]], className="tile-citation"),
        html.Blockquote(latest_row["quote"], lang="zh", className="quote"),
        html.P(latest_row["quote_en"], className="quote-en"),
        html.Figure(dcc.Graph(figure=spark, config={"staticPlot": True}, id=f"{ID}-spark-{family}"),
                    className="tile-chart",
                    **{"aria-label": figures.summary(series, latest_row["unit"])}),
        html.A(f"Open {term.name_en} →", href=f"/{family}", className="tile-link"),
    ], className="tile", id=f"{ID}-tile-{family}")


def _indicator_row(r) -> html.Tr:
    return html.Tr([
        html.Td(html.A(r["indicator_name"], href=f"/{r['family']}?ind={r['indicator_id']}"),
                className="indicator-name"),
        html.Td(registry.value_label(r), className="value"),
        html.Td(r["period_label"]),
        html.Td(r["area_name"]),
        html.Td([html.Span(registry.citation(r), className="citation"),
                 html.Span(f" · stated by {r['stated_by']}", className="stated-by"),
                 html.Blockquote(r["quote"], lang="zh", className="quote"),
                 html.Div(r["quote_en"], className="quote-en")]),
    ], id=f"{ID}-row-{r['indicator_id']}")


def layout(**_query):
    try:
        frame = query.observations()
    except FileNotFoundError as exc:
        return html.P(str(exc), className="message error")
    tiles = [t for t in (_tile(f, frame) for f in vocab.FAMILIES) if t is not None]
    latest = registry.latest(frame)
    sections = []
    for family, term in vocab.FAMILIES.items():
        rows = latest[latest["family"] == family]
        if rows.empty:
            continue
        sections.append(html.Section([
            html.H3(html.A(term.name_en, href=f"/{family}"), id=f"{ID}-{family}"),
            html.Table([
                html.Thead(html.Tr([html.Th(h, scope="col") for h in
                                    ("Indicator", "Latest value", "Period", "Area", "Source and quote")])),
                html.Tbody([_indicator_row(r) for _, r in rows.iterrows()]),
            ], className="indicator-table"),
        ]))
    return html.Div([
        html.H1("Overview"),
        html.P(f"{len(frame)} values for {frame['indicator_id'].nunique()} indicators, each stated in "
               f"a UN report and quoted verbatim. Every tile opens its family's charts.", className="lede"),
        html.Div(tiles, className="tiles"),
        html.H2("Every indicator's latest value"),
        *sections,
    ])
