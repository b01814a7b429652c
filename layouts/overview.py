"""Overview: a headline tile per family, a small chart each, and every indicator's latest
value with its source."""
from __future__ import annotations

import dash
from dash import dcc, html

from data import vocabulary as vocab
from data.selection import Filters
from data.translation import gettext_for
from indicators import figures, i18n, query, registry
from indicators.view import View

dash.register_page(__name__, path="/", name="Overview", name_zh="概览",
                   title="Overview · Peacekeeping indicators", order=0)

ID = "overview"


def family_href(family: str, view: View, **extra) -> str:
    """A family page link that keeps the language and the "as of" date."""
    return view.keep().with_(family=family, **extra).href(f"/{family}")


def _has_trend(series) -> bool:
    """A sparkline is drawn only for two comparable values or more (one point is no trend)."""
    return len(series) >= 2


def _tile(family: str, view: View) -> html.Article | None:
    _ = gettext_for(view.lang)
    lang = view.lang
    latest_row, previous, series = registry.headline_for(Filters(as_of=view.as_of), family)
    if latest_row is None:
        return None
    term = vocab.FAMILIES[family]
    family_name = term.name_en if lang == "en" else term.name_zh
    # The tile opens its family page with the headline indicator selected.
    href = family_href(family, view, indicators=(latest_row["indicator_id"],))
    chart = []
    if _has_trend(series):
        spark = figures.sparkline(series, latest_row["unit"], lang)
        chart = [html.Figure(dcc.Graph(figure=spark, config={"staticPlot": True}, id=f"{ID}-spark-{family}"),
                             className="tile-chart", role="img",
                             **{"aria-label": figures.summary(series, latest_row["unit"], lang)})]
    stated = [] if latest_row["stated_by"] == "Secretariat" else \
        [" · ", _("stated by {who}").format(who=registry.speaker(latest_row, lang))]
    return html.Article([
        html.H2(html.A(family_name, href=href), className="tile-family"),
        html.P(registry.name(latest_row, lang), className="tile-indicator"),
        html.P(registry.value_label(latest_row, lang), className="tile-value"),
        html.P([registry.period_label(latest_row, lang), " · ", registry.area(latest_row, lang)],
               className="tile-period"),
        html.P(registry.change_label(latest_row, previous, lang), className="tile-change",
               **{"data-comparison": registry.comparison(latest_row, previous)}),
        *chart,
        html.P([_("Source: "), html.Strong(registry.citation(latest_row)), *stated], className="tile-citation"),
        html.Details([html.Summary(_("The sentence it is stated in")),
                      html.Blockquote(registry.quote_text(latest_row["quote"]), lang="zh-Hans", className="quote"),
                      html.P(latest_row["quote_en"], lang="en", className="quote-en")],
                     className="tile-quote"),
        html.A(_("Open {family} →").format(family=family_name), href=href, className="tile-link"),
    ], className="tile", id=f"{ID}-tile-{family}", **{"data-indicator": latest_row["indicator_id"]})


def _indicator_row(r, view: View) -> html.Tr:
    _ = gettext_for(view.lang)
    stated = [] if r["stated_by"] == "Secretariat" else \
        [html.Span(" · " + _("stated by {who}").format(who=registry.speaker(r, view.lang)), className="stated-by")]
    return html.Tr([
        html.Td(html.A(registry.name(r, view.lang), href=family_href(r["family"], view, indicators=(r["indicator_id"],))),
                className="indicator-name"),
        html.Td(registry.value_label(r, view.lang), className="value"),
        html.Td(registry.period_label(r, view.lang)),
        html.Td(registry.area(r, view.lang)),
        html.Td([html.Span(registry.citation(r), className="citation"), *stated,
                 html.Details([html.Summary(_("Quote")),
                               html.Blockquote(registry.quote_text(r["quote"]), lang="zh-Hans", className="quote"),
                               html.Div(r["quote_en"], lang="en", className="quote-en")])]),
    ], id=f"{ID}-row-{r['indicator_id']}")


def layout(**query_args):
    view = View.from_query(query_args)
    _ = gettext_for(view.lang)
    try:
        everything = Filters(as_of=view.as_of)
        latest = query.latest(everything)
        total = query.count(everything)
    except FileNotFoundError as exc:
        return html.P(str(exc), className="message error")
    tiles = [t for t in (_tile(f, view) for f in vocab.FAMILIES) if t is not None]
    sections = []
    for family, term in vocab.FAMILIES.items():
        rows = latest[latest["family"] == family]
        if rows.empty:
            continue
        name = term.name_en if view.lang == "en" else term.name_zh
        # Collapsed: the list is long (every indicator with its quote); a reader opens the
        # family they need, and the page stays a screen of tiles.
        sections.append(html.Details([
            html.Summary([html.Span(name, className="family-name"), " ",
                          html.Span(_("{count} indicators").format(count=i18n.number(len(rows), view.lang)),
                                    className="hint")], id=f"{ID}-{family}"),
            html.Table([
                html.Thead(html.Tr([html.Th(h, scope="col") for h in (
                    _("Indicator"), _("Latest value"), _("Period"), _("Area"), _("Source and quote"))])),
                html.Tbody([_indicator_row(r, view) for _i, r in rows.iterrows()]),
            ], className="indicator-table"),
            html.A(_("Open {family} →").format(family=name), href=family_href(family, view), className="tile-link"),
        ], className="family-list"))
    return html.Div([
        html.H1(_("Overview")),
        html.P([_("{values} values for {indicators} indicators, each stated in a UN report and quoted "
                  "verbatim. Every tile opens its family's charts.").format(
                      values=i18n.number(total, view.lang), indicators=i18n.number(len(latest), view.lang))], className="lede"),
        html.Div(tiles, className="tiles"),
        *([html.P(_("No value had been published by this day: the reports in the store are all later. "
                    "Choose a later day, or Today."), className="message")] if total == 0 else []),
        html.H2(_("Every indicator's latest value")),
        html.P(_("By family: open one to see each indicator's latest value, its source and the sentence "
                 "it is stated in."), className="hint"),
        *sections,
    ])
