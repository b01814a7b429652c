"""One page per indicator family: linked charts, shared filters, and a source panel.

Every family in ``indicators.vocabulary.FAMILIES`` gets a page at ``/<family>``. The page
state lives in the URL (see ``indicators.view``): opening a permalink rebuilds the same
view here, server-side, and the callbacks keep the URL up to date as it changes.
"""
from __future__ import annotations

from datetime import date
from functools import partial

import dash
import pandas as pd
from dash import dcc, html

from indicators import figures, query, registry, vocabulary as vocab
from indicators.view import View

PAGE = "family"


def cid(role: str, family, **extra) -> dict:
    """Component ids of this page: pattern-matching dicts keyed by family."""
    return {"page": PAGE, "role": role, "family": family, **extra}


def download_href(view: View, indicators: tuple[str, ...], name: str, selected_only=False,
                  cumulative: bool | None = None) -> str:
    """The CSV of exactly what a chart (or the source panel) shows: the same View, so the
    same query."""
    v = view.with_(indicators=indicators, selection=view.selection if selected_only else None,
                   cumulative=cumulative)
    q = v.search()
    extra = f"family={view.family}&name={name}"
    return f"/download/observations.csv{q}{'&' if q else '?'}{extra}"


def _frame(view: View) -> tuple[pd.DataFrame, pd.DataFrame]:
    everything = query.observations(query.Filters(families=(view.family,)))
    return everything, registry.family_catalog(everything)


def resolve(view: View, catalog: pd.DataFrame) -> View:
    """Fill in the defaults a bare URL leaves open; drop ids that are not in this family."""
    known = set(catalog["indicator_id"])
    chosen = tuple(i for i in view.indicators if i in known) or registry.default_indicators(catalog)
    return view.with_(indicators=chosen)


def source_item(r) -> html.Article:
    link = html.A(registry.citation(r), href=r["source_url"], target="_blank", rel="noopener") \
        if r["source_url"] else html.Span(registry.citation(r))
    rows = [
        ("Value", registry.value_label(r) + ("" if r["qualifier"] == "exact" else
                                             f" (the text says “{vocab.QUALIFIERS[r['qualifier']].name_en}”)")),
        ("Period", f"{r['period_label']} ({r['period']})"),
        ("Area", r["area_name"]),
        ("Stated by", r["stated_by"]),
        ("Source", link),
        ("Report", f"{r['source_title']} ({r['source_date']})"),
    ]
    body = [html.Dl([x for k, v in rows for x in (html.Dt(k), html.Dd(v))]),
            html.Blockquote(r["quote"], lang="zh", className="quote"),
            html.P(r["quote_en"], className="quote-en")]
    if r["note"]:
        body.append(html.P(["Note: ", r["note"]], className="note"))
    return html.Article([html.H3(r["indicator_name"]), *body], className="source-item",
                        **{"data-obs-id": str(r["obs_id"])})


def source_panel(view: View) -> list:
    if not view.selection:
        return [html.H2("Sources"),
                html.P("Click a point, or drag across a period on any chart, to see each value's "
                       "report, paragraph and the sentence it was read from.", className="hint")]
    start, end = view.selection
    chosen = query.observations(view.filters(selected_only=True))  # = the panel's download
    head = [html.H2(f"Sources for {start:%-d %b %Y} – {end:%-d %b %Y}")]
    if chosen.empty:
        return head + [html.P("No value of the charted indicators falls in this period.", className="hint")]
    return head + [
        html.P(f"{len(chosen)} value{'s' if len(chosen) != 1 else ''} in the selected period.", className="count"),
        html.A("Download CSV of these values", className="download",
               href=download_href(view, view.indicators, f"{view.family}-selection", selected_only=True)),
        *[source_item(r) for _, r in chosen.iterrows()],
    ]


def chart_block(view: View, unit: str, frame: pd.DataFrame, catalog_all: pd.DataFrame,
                figure_refs: pd.DataFrame, cumulative: bool | None = None) -> html.Figure:
    term = vocab.UNITS.get(unit)
    title = (term.name_en.capitalize() if term else unit) + (": cumulative totals" if cumulative else "")
    inds = tuple(dict.fromkeys(frame["indicator_id"]))
    notes = figures.break_notes(catalog_all[catalog_all["indicator_id"].isin(inds)])
    refs = figure_refs[figure_refs["indicator_ids"].map(lambda s: bool(set(s.split(";")) & set(inds)))]
    table = html.Table([
        html.Thead(html.Tr([html.Th(h, scope="col") for h in ("Indicator", "Area", "Period", "Value", "Source")])),
        html.Tbody([html.Tr([html.Td(r["indicator_name"]), html.Td(r["area_name"]), html.Td(r["period_label"]),
                             html.Td(registry.value_label(r)), html.Td(registry.citation(r))])
                    for _, r in frame.iterrows()]),
    ], className="data-table")
    return html.Figure([
        dcc.Graph(id=cid("chart", view.family, unit=unit + ("-total" if cumulative else "")),
                  figure=figures.figure(frame, unit, view.selection, title),
                  config={"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d"], "responsive": True}),
        html.Figcaption([
            html.P(figures.caption(frame), className="caption"),
            *[html.P(["Break in series: ", n], className="break-note") for n in notes],
            *[html.P(f"Values shown only in {r['cite_as']} figure {r['figure']} ({r['caption_en']}): "
                     f"not in the text, so not charted.", className="figure-ref") for _, r in refs.iterrows()],
            html.A("Download CSV", className="download",
                   href=download_href(view, inds, f"{view.family}-{unit}" + ("-totals" if cumulative else ""),
                                      cumulative=cumulative)),
            " · ",
            html.A("Excel", className="download-xlsx",
                   href=download_href(view, inds, f"{view.family}-{unit}" + ("-totals" if cumulative else ""),
                                      cumulative=cumulative).replace(".csv", ".xlsx", 1)),
        ]),
        html.Details([html.Summary("Text summary and data table"),
                      html.P(figures.summary(frame, unit), className="summary"), table],
                     className="text-alternative"),
    ], className="chart-block", **{"aria-label": f"{title}: chart of {len(frame)} values"})


def render(view: View, everything: pd.DataFrame | None = None) -> tuple[list, list, str]:
    """(charts, source panel, URL search) for a view. Shared by the layout and the callbacks."""
    if everything is None:
        everything, catalog = _frame(view)
    else:
        catalog = registry.family_catalog(everything)
    if everything.empty:
        return [html.P("No values in this family yet.", className="message")], [], view.search()
    resolved = resolve(view, catalog)
    # The charts draw exactly what the download links return: the same View, the same query.
    shown = query.observations(resolved.filters())
    if shown.empty:
        return [html.P("No values match these filters. Widen the years or choose other indicators.",
                       className="message")], source_panel(resolved), view.search()
    indicators_table = query.table("indicators")
    figure_refs = query.table("figures").merge(query.table("sources")[["source_id", "cite_as"]], on="source_id")
    # One chart per unit; cumulative totals ("since 1948") apart, or they flatten every
    # annual value against the axis.
    split = shown["span_class"].eq("cumulative")
    groups = sorted(shown.groupby([shown["unit"], split], sort=False), key=lambda g: g[0][1])
    charts = [chart_block(resolved, unit, group, indicators_table, figure_refs,
                          total if split.any() else None)
              for (unit, total), group in groups]
    return charts, source_panel(resolved), view.search()


def _options(catalog: pd.DataFrame) -> list[dict]:
    return [{"label": f" {r['indicator_name']} ({r['n']})", "value": r["indicator_id"]}
            for _, r in catalog.iterrows()]


def layout(family: str, **query_args):
    view = View.from_query(query_args, family)
    try:
        everything, catalog = _frame(view)
    except FileNotFoundError as exc:
        return html.P(str(exc), className="message error")
    charts, panel, _ = render(view, everything)
    resolved = resolve(view, catalog) if not catalog.empty else view
    years = sorted({d.year for d in everything["period_end"]} |
                   {d.year for d in everything["period_start"] if d is not None}) or [date.today().year]
    areas = sorted(set(zip(everything["area"], everything["area_name"])), key=lambda a: a[1])
    term = vocab.FAMILIES[family]
    return html.Div([
        html.H1(term.name_en),
        html.P(f"{len(everything)} values for {len(catalog)} indicators. Each point is a value stated "
               f"in a UN report; click one or drag across a period to read its source.", className="lede"),
        html.Div([
            html.Fieldset([html.Legend("Indicators"),
                           dcc.Checklist(id=cid("indicators", family), options=_options(catalog),
                                         value=list(resolved.indicators), className="checklist")],
                          className="control wide scroll"),
            html.Fieldset([html.Legend("Areas (none ticked: all)"),
                           dcc.Checklist(id=cid("areas", family), value=list(view.areas), className="checklist",
                                         options=[{"label": n, "value": a} for a, n in areas])],
                          className="control scroll"),
            html.Fieldset([html.Legend("Years"),
                           html.Label(["From ", dcc.Input(id=cid("from", family), type="number", min=years[0],
                                                          max=years[-1], step=1, value=view.year_from,
                                                          placeholder=str(years[0]), debounce=True)]),
                           html.Label([" to ", dcc.Input(id=cid("to", family), type="number", min=years[0],
                                                         max=years[-1], step=1, value=view.year_to,
                                                         placeholder=str(years[-1]), debounce=True)])],
                          className="control narrow"),
            html.Button("Clear selection", id=cid("clear", family), className="button"),
        ], className="controls", role="group", **{"aria-label": "Filters shared by every chart"}),
        dcc.Store(id=cid("selection", family), data=View().with_(selection=view.selection).query().get("sel")),
        dcc.Store(id=cid("search", family)),
        dcc.Store(id=cid("url-written", family)),
        html.Div([
            dcc.Loading(html.Div(charts, id=cid("charts", family), className="charts"), delay_show=300),
            html.Aside(panel, id=cid("panel", family), className="source-panel", **{"aria-live": "polite"}),
        ], className="family-body"),
    ], className="family-page")


for _family, _term in vocab.FAMILIES.items():
    dash.register_page(f"family_{_family}", path=f"/{_family}", name=_term.name_en,
                       title=f"{_term.name_en} · Peacekeeping indicators",
                       layout=partial(layout, _family), family=_family,
                       order=10 + list(vocab.FAMILIES).index(_family))
