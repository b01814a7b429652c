"""One page per indicator family: linked charts, shared filters, and a source panel.

Every family in ``data.vocabulary.FAMILIES`` gets a page at ``/<family>``. The page
state lives in the URL (see ``indicators.view``): opening a permalink rebuilds the same
view here, server-side, and the callbacks keep the URL up to date as it changes.
"""
from __future__ import annotations

from datetime import date
from functools import partial

import dash
import pandas as pd
from dash import dcc, html

from data import vocabulary as vocab
from data.selection import Filters
from data.translation import gettext_for
from indicators import figures, i18n, query, registry, updates
from indicators.view import View

PAGE = "family"


def cid(role: str, family, **extra) -> dict:
    """Component ids of this page: pattern-matching dicts keyed by family."""
    return {"page": PAGE, "role": role, "family": family, **extra}


def download_href(view: View, indicators: tuple[str, ...], name: str, selected_only=False,
                  cumulative: bool | None = None, ext: str = "csv") -> str:
    """The file of exactly what a chart (or the source panel) shows: the same View, so the
    same query."""
    v = view.with_(indicators=indicators, selection=view.selection if selected_only else None,
                   cumulative=cumulative, point=None)
    return v.download(ext, name)


def _catalog(view: View) -> pd.DataFrame:
    """The family's indicators with their counts, from DuckDB (not from every row)."""
    return query.catalog(Filters(families=(view.family,), as_of=view.as_of))


def resolve(view: View, catalog: pd.DataFrame) -> View:
    """Fill in the defaults a bare URL leaves open; drop ids that are not in this family."""
    known = set(catalog["indicator_id"])
    chosen = tuple(i for i in view.indicators if i in known)
    if not chosen:
        pinned = tuple(i for i in PINNED.get(view.family, ()) if i in known)
        chosen = tuple(dict.fromkeys(pinned + registry.default_indicators(catalog)))[:max(6, len(pinned))]
    return view.with_(indicators=chosen)


def drawn_key(view: View) -> str:
    """What identifies the view a family page shows (defaults filled in): the charts are
    drawn again only when it changes."""
    return resolve(view, _catalog(view)).search()


def id_names(lang: str) -> dict[str, str]:
    """Indicator and area ids -> their names in a language: notes name series, never ids."""
    key = "name_en" if lang == "en" else "name_zh"
    out = {}
    for name in ("areas", "indicators"):
        table = query.table(name)
        out.update(zip(table["area_id" if name == "areas" else "indicator_id"], table[key]))
    return out


def source_item(r, lang: str, clicked: bool = False, names: dict[str, str] | None = None) -> html.Article:
    _ = gettext_for(lang)
    link = html.A(registry.citation(r), href=r["source_url"], target="_blank", rel="noopener") \
        if r["source_url"] else html.Span(registry.citation(r))
    value = registry.value_label(r, lang)
    if r["qualifier"] != "exact":
        term = vocab.QUALIFIERS[r["qualifier"]]
        value += " " + _("(the text says “{qualifier}”)").format(
            qualifier=term.name_en if lang == "en" else term.name_zh)
    rows = [
        (_("Value"), value),
        (_("Period"), f"{registry.period_label(r, lang)} ({r['period']})" if lang == "en"
         else f"{registry.period_label(r, lang)}（{r['period']}）"),
        (_("Area"), registry.area(r, lang)),
        (_("Stated by"), registry.speaker(r, lang)),
        (_("Source"), link),
        (_("Report"), f"{r['source_title']} ({r['source_date']})"),
    ]
    body = [html.Dl([x for k, v in rows for x in (html.Dt(k), html.Dd(v))]),
            html.Blockquote(registry.quote_text(r["quote"]), lang="zh-Hans", className="quote"),
            html.P(r["quote_en"], lang="en", className="quote-en")]
    note = figures.readable(r["note"], names if names is not None else id_names(lang), lang)
    if note:
        body.append(html.P([_("Note: "), html.Span(note, lang="en")], className="note"))
    if r.get("revised"):
        body.append(revision_history(r, lang))
    head = [html.P(_("The value you clicked"), className="clicked-label")] if clicked else []
    return html.Article([*head, html.H3(registry.name(r, lang)), *body],
                        className="source-item" + (" clicked" if clicked else ""),
                        **{"data-obs-id": str(r["obs_id"])})


def revision_history(r, lang: str) -> html.Details:
    """Every earlier value of a revised one, each with its own citation."""
    _ = gettext_for(lang)
    earlier = updates.history(r["indicator_id"], r["area"], r["period"])
    earlier = earlier[earlier["obs_id"] != r["obs_id"]]
    items = [html.Li([f"{registry.value_label({**h, 'unit': r['unit']}, lang)} · {h['source_cite_as']}, "
                      f"{h['locator']} · " + _("published {day}").format(day=i18n.day(h["published_at"].date(), lang)),
                      html.Blockquote(registry.quote_text(h["quote"]), lang="zh-Hans", className="quote")])
             for _i, h in earlier.iterrows()]
    return html.Details([html.Summary(_("Revised: {count} earlier value(s)").format(count=len(items))),
                         html.Ul(items)], open=True, className="revision-history")


def source_panel(view: View) -> list:
    _ = gettext_for(view.lang)
    if not view.selection:
        return [html.H2(_("Sources")),
                html.P(_("Click a point, or drag across a period on any chart, to see each value's "
                         "report, paragraph and the sentence it was read from. Without a mouse: use "
                         "the “Show sources” buttons in each chart's data table."), className="hint")]
    start, end = view.selection
    chosen = query.observations(view.filters(selected_only=True))  # = the panel's download
    head = [html.H2(_("Sources for {start} – {end}").format(start=i18n.day(start, view.lang),
                                                           end=i18n.day(end, view.lang)))]
    if chosen.empty:
        return head + [html.P(_("No value of the charted indicators falls in this period."), className="hint")]
    if view.point is not None and (chosen["obs_id"] == view.point).any():
        # the value clicked first, then the rest of the selected period in their order
        first = chosen["obs_id"] == view.point
        chosen = pd.concat([chosen[first], chosen[~first]], ignore_index=True)
    names = id_names(view.lang)
    more = []
    if len(chosen) > PANEL_ITEMS:
        more = [html.P(_("The first {shown} are quoted here; the CSV has every one of them with its "
                         "citation, or select a shorter period.").format(shown=PANEL_ITEMS), className="hint")]
    return head + [
        html.P(_("{count} values in the selected period.").format(count=len(chosen)), className="count"),
        html.A(_("Download CSV of these values"), className="download",
               href=download_href(view, view.indicators, f"{view.family}-selection", selected_only=True)),
        *more,
        *[source_item(r, view.lang, clicked=r["obs_id"] == view.point, names=names)
          for _i, r in chosen.head(PANEL_ITEMS).iterrows()],
    ]


TABLE_ROWS = 50    # a chart's data table lists at most this many values (the latest first)
PANEL_ITEMS = 50   # the source panel quotes at most this many values of a selection


def _data_table(view: View, cols: dict[str, list]) -> list:
    """The chart's values (``figures.columns``) as a table, each with a "Show sources" link
    (the keyboard's way to select a value's period; the chart needs a pointer). A long table
    lists the latest ``TABLE_ROWS`` values and says where the rest are."""
    _ = gettext_for(view.lang)
    lang = view.lang
    total = len(cols["obs_id"])
    rows = range(total)
    if total > TABLE_ROWS:  # latest first; then by indicator and area
        by_key = sorted(rows, key=lambda i: (cols["indicator_id"][i], cols["area"][i]))
        rows = sorted(by_key, key=cols["period_end"].__getitem__, reverse=True)[:TABLE_ROWS]
    shown = figures.pick(cols, rows)
    button = _("Show sources")
    here = f"/{view.family}"
    table = html.Table([
        html.Thead(html.Tr([html.Th(h, scope="col") for h in
                            (_("Indicator"), _("Area"), _("Period"), _("Value"), _("Source"), "")])),
        html.Tbody([html.Tr([
            html.Td(n), html.Td(a), html.Td(p), html.Td(v), html.Td(c),
            # A link, not a button with a callback: a page of many rows stays light, and the
            # link is the permalink of the view with this value's period selected.
            html.Td(dcc.Link(button, className="button small", href=here + view.with_(
                selection=((start or end), end), point=int(obs)).search())),
        ]) for n, a, p, v, c, start, end, obs in zip(
            registry.names(shown, lang), registry.areas(shown, lang), registry.period_labels(shown, lang),
            registry.value_labels(shown, lang), registry.citations(shown), shown["period_start"],
            shown["period_end"], shown["obs_id"])]),
    ], className="data-table")
    if len(rows) == total:
        return [table]
    return [html.P(_("The latest {shown} of {count} values; the CSV has all of them.").format(
        shown=len(rows), count=total), className="hint"), table]


def chart_block(view: View, unit: str, cols: dict[str, list], catalog_all: pd.DataFrame,
                figure_refs: pd.DataFrame, cumulative: bool | None = None) -> html.Figure:
    """One chart of the values of one unit (``figures.columns``), with its caption, notes,
    downloads and text alternative."""
    _ = gettext_for(view.lang)
    term = vocab.UNITS.get(unit)
    unit_name = (term.name_en if view.lang == "en" else term.name_zh) if term else unit
    title = unit_name[:1].upper() + unit_name[1:] + (_(": cumulative totals") if cumulative else "")
    inds = tuple(dict.fromkeys(cols["indicator_id"]))
    names = id_names(view.lang)
    notes = figures.break_notes(catalog_all[catalog_all["indicator_id"].isin(inds)], view.lang, names)
    refs = figure_refs[figure_refs["indicator_ids"].map(lambda s: bool(set(s.split(";")) & set(inds)))]
    name = f"{view.family}-{unit}" + ("-totals" if cumulative else "")
    family_ids = catalog_all.loc[catalog_all["family"] == view.family, "indicator_id"]
    fig = figures.figure(cols, unit, view.selection, title, view.lang, colours=figures.colour_map(family_ids))
    thinned = figures.thinning_note(fig, view.lang)
    key = figures.marker_key(cols, view.lang)
    panels = fig["layout"]["meta"]["panels"]
    config = {"displaylogo": False, "modeBarButtonsToRemove": ["lasso2d"], "responsive": True}
    if view.lang == "zh":
        config["locale"] = "zh-CN"  # assets/plotly-locale-zh-cn.js
    return html.Figure([
        html.H3(title, className="chart-title"),
        *([html.P(_("One panel per indicator: their values differ tenfold or more, so one axis would "
                    "flatten the smaller ones. The time axis is shared."), className="panels-note")]
          if panels > 1 else []),
        dcc.Graph(id=cid("chart", view.family, unit=unit + ("-total" if cumulative else "")), figure=fig,
                  config=config),
        html.Figcaption([
            *([html.P(key, className="marker-key")] if key else []),
            html.P(figures.caption(cols, view.lang), className="caption"),
            *([html.P(thinned, className="thinned-note")] if thinned else []),
            *[html.P([_("Break in series: "), n], className="break-note") for n in notes],
            *[html.P(_("Values shown only in {source} figure {figure} ({caption}): not in the text, "
                       "so not charted.").format(source=r["cite_as"], figure=r["figure"],
                                                 caption=r["caption_en"] if view.lang == "en" else r["caption_quote"]),
                     className="figure-ref") for _i, r in refs.iterrows()],
            html.A(_("Download CSV"), className="download",
                   href=download_href(view, inds, name, cumulative=cumulative)),
            " · ",
            html.A(_("Excel"), className="download-xlsx",
                   href=download_href(view, inds, name, cumulative=cumulative, ext="xlsx")),
        ]),
        html.Details([html.Summary(_("Text summary and data table")),
                      html.P(figures.summary(cols, unit, view.lang), className="summary"),
                      *_data_table(view, cols)],
                     className="text-alternative"),
    ], className="chart-block", **{"aria-label": _("{title}: chart of {count} values").format(
        title=title, count=len(cols["obs_id"]))})


# Series the users look for first, charted first on their family page whenever they have
# values; while they have none, the page says where the values are and how to add them.
PINNED = {"conduct": ("sea_allegations",)}


def pending_block(view: View, indicator: pd.Series, refs: pd.DataFrame) -> html.Figure:
    """The place of a series whose values exist only in a report's figure: where they are and
    how to add them (they are drawn as soon as a dropped spreadsheet brings them)."""
    _ = gettext_for(view.lang)
    name = indicator["name_en"] if view.lang == "en" else indicator["name_zh"]
    where = [html.Li(_("{source}, figure {figure} ({caption}): the values are drawn in the figure and "
                       "not stated in the text, so they cannot be quoted from it.").format(
        source=r["cite_as"], figure=r["figure"],
        caption=r["caption_en"] if view.lang == "en" else r["caption_quote"])) for _i, r in refs.iterrows()]
    return html.Figure([
        html.H3(name, className="chart-title"),
        html.P(_("No yearly values yet."), className="message"),
        html.Ul(where, className="figure-ref"),
        html.P([_("To add them: download the spreadsheet template"), " (" if view.lang == "en" else "（",
                html.A("pkpi-template.xlsx", href="/download/template.xlsx", className="download"),
                "), " if view.lang == "en" else "），",
                _("pick the indicator “{name}” from its list of indicators, fill one row per year on the "
                  "Observations sheet with the source that states each value and its paragraph or table, "
                  "and save the file into the drop folder (see the Updates page). The chart appears here "
                  "once the file is accepted.").format(name=name)], className="hint"),
    ], className="chart-block pending", **{"data-indicator": indicator["indicator_id"]})


def _pending(view: View, catalog: pd.DataFrame, indicators_table: pd.DataFrame,
             figure_refs: pd.DataFrame) -> list:
    have = set(catalog["indicator_id"])
    out = []
    for ind in PINNED.get(view.family, ()):
        if ind in have:
            continue
        row = indicators_table[indicators_table["indicator_id"] == ind]
        if row.empty:
            continue
        refs = figure_refs[figure_refs["indicator_ids"].map(lambda s, i=ind: i in s.split(";"))]
        out.append(pending_block(view, row.iloc[0], refs))
    return out


def render(view: View, catalog: pd.DataFrame | None = None) -> tuple[list, list, str]:
    """(charts, source panel, URL search) for a view. Shared by the layout and the callbacks."""
    _ = gettext_for(view.lang)
    if catalog is None:
        catalog = _catalog(view)
    indicators_table = query.table("indicators")
    figure_refs = query.table("figures").merge(query.table("sources")[["source_id", "cite_as"]], on="source_id")
    pending = _pending(view, catalog, indicators_table, figure_refs)
    if catalog.empty:
        return [*pending, html.P(_("No values in this family yet."), className="message")], [], view.search()
    resolved = resolve(view, catalog)
    # The charts draw exactly what the download links return: the same View, the same query.
    shown = query.observations(resolved.filters())
    if shown.empty:
        return [*pending, html.P(_("No values match these filters. Widen the years or choose other indicators."),
                       className="message")], source_panel(resolved), view.search()
    # One chart per unit; cumulative totals ("since 1948") apart, or they flatten every
    # annual value against the axis. Cumulative charts come after the others.
    cols = figures.columns(shown)
    groups: dict[tuple, list[int]] = {}
    for i, key in enumerate(zip(cols["unit"], (c == "cumulative" for c in cols["span_class"]))):
        groups.setdefault(key, []).append(i)
    any_total = any(total for _unit, total in groups)
    charts = [chart_block(resolved, unit, figures.pick(cols, rows), indicators_table, figure_refs,
                          total if any_total else None)
              for (unit, total), rows in sorted(groups.items(), key=lambda g: g[0][1])]
    return [*pending, *charts], source_panel(resolved), view.search()


def _options(catalog: pd.DataFrame, lang: str) -> list[dict]:
    key = "indicator_name" if lang == "en" else "indicator_name_zh"
    return [{"label": f" {r[key]} ({r['n']})", "value": r["indicator_id"]} for _i, r in catalog.iterrows()]


def layout(page_family: str, **query_args):
    # The page's family comes from its path; a ``family`` in the query is reported by View.
    family = page_family
    view = View.from_query(query_args, family)
    _ = gettext_for(view.lang)
    family_only = Filters(families=(family,), as_of=view.as_of)
    try:
        catalog = _catalog(view)
        span = query.years_of(family_only)
        area_rows = query.areas_of(family_only)
    except FileNotFoundError as exc:
        return html.P(str(exc), className="message error")
    charts, panel, _search = render(view, catalog)
    resolved = resolve(view, catalog) if not catalog.empty else view
    years = list(span) if span else [date.today().year]
    key = "area_name" if view.lang == "en" else "area_name_zh"
    areas = sorted(zip(area_rows["area"], area_rows[key]), key=lambda a: a[1]) if len(area_rows) else []
    term = vocab.FAMILIES[family]
    return html.Div([
        html.H1(term.name_en if view.lang == "en" else term.name_zh),
        html.P(_("{values} values for {indicators} indicators. Each point is a value stated in a UN "
                 "report; click one or drag across a period to read its source.").format(
                     values=int(catalog["n"].sum()), indicators=len(catalog)), className="lede"),
        html.Div([
            html.Fieldset([html.Legend(_("Indicators")),
                           dcc.Checklist(id=cid("indicators", family), options=_options(catalog, view.lang),
                                         value=list(resolved.indicators), className="checklist")],
                          className="control wide scroll"),
            html.Fieldset([html.Legend(_("Areas (none ticked: all)")),
                           dcc.Checklist(id=cid("areas", family), value=list(view.areas), className="checklist",
                                         options=[{"label": f" {n}", "value": a} for a, n in areas])],
                          className="control scroll"),
            html.Fieldset([html.Legend(_("Years")),
                           html.Label([_("From") + " ", dcc.Input(
                               id=cid("from", family), type="number", min=years[0], max=years[-1], step=1,
                               value=view.year_from, placeholder=str(years[0]), debounce=True)]),
                           html.Label([" " + _("to") + " ", dcc.Input(
                               id=cid("to", family), type="number", min=years[0], max=years[-1], step=1,
                               value=view.year_to, placeholder=str(years[-1]), debounce=True)])],
                          className="control narrow"),
            html.Button(_("Clear selection"), id=cid("clear", family), className="button"),
        ], className="controls", role="group", **{"aria-label": _("Filters shared by every chart")}),
        dcc.Store(id=cid("selection", family), data=View().with_(selection=view.selection).query().get("sel")),
        dcc.Store(id=cid("context", family), data=view.context()),
        dcc.Store(id=cid("point", family), data=view.point),
        dcc.Store(id=cid("search", family)),
        dcc.Store(id=cid("drawn", family), data=resolved.search() if not catalog.empty else None),
        dcc.Store(id=cid("url-written", family)),
        html.Div([
            dcc.Loading(html.Div(charts, id=cid("charts", family), className="charts"), delay_show=300),
            html.Aside(panel, id=cid("panel", family), className="source-panel", **{"aria-live": "polite"}),
        ], className="family-body"),
    ], className="family-page")


for _family, _term in vocab.FAMILIES.items():
    dash.register_page(f"family_{_family}", path=f"/{_family}", name=_term.name_en, name_zh=_term.name_zh,
                       title=f"{_term.name_en} · Peacekeeping indicators",
                       layout=partial(layout, _family), family=_family,
                       order=10 + list(vocab.FAMILIES).index(_family))
