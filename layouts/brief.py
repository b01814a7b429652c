"""Briefing note: one A4 page of headline values for a Council meeting, every number
footnoted with the report, paragraph and date it comes from.

The page is the document: the browser prints it with the print stylesheet, and "Download
PDF" has headless Chromium print the same URL on the server (callbacks/routes.py), so the
PDF and the screen cannot differ.
"""
from __future__ import annotations

from datetime import date

import dash
from dash import dcc, html

from indicators import figures, i18n, query, registry, vocabulary as vocab
from indicators.view import View, parse_ids

dash.register_page(__name__, path="/brief", name="Briefing note", name_zh="简报",
                   title="Briefing note · Peacekeeping indicators", order=29)

ID = "brief"
DEFAULT_FAMILIES = ("fatalities", "women", "conduct", "environment", "cpas")


def families_of(query_args: dict) -> tuple[str, ...]:
    chosen = tuple(f for f in parse_ids(query_args.get("fam")) if f in vocab.FAMILIES)
    return chosen or DEFAULT_FAMILIES


def brief_view(query_args: dict) -> tuple[View, tuple[str, ...]]:
    return View.from_query(query_args), families_of(query_args)


def search(view: View, families: tuple[str, ...]) -> str:
    return view.with_(families=() if families == DEFAULT_FAMILIES else families).search()


class Footnotes:
    """Numbers the citations of a note in order of first use: one footnote per passage
    (report, locator and quote), however many of the note's numbers it states."""

    def __init__(self):
        self.rows: list = []
        self._index: dict[tuple, int] = {}

    def mark(self, row) -> html.Sup:
        key = (row["source_id"], row["locator"], row["quote"])
        if key not in self._index:
            self.rows.append(row)
            self._index[key] = len(self.rows)
        n = self._index[key]
        return html.Sup(html.A(str(n), href=f"#{ID}-fn-{n}"), className="fn-ref",
                        **{"data-obs-id": str(int(row["obs_id"])), "data-fn": str(n)})


def _sentence(latest_row, previous, notes: Footnotes, lang: str) -> html.P:
    _ = i18n.gettext_for(lang)
    name = registry.name(latest_row, lang)
    value = registry.value_label(latest_row, lang)
    period = registry.period_label(latest_row, lang)
    parts = [html.Strong(name), ": ", value, notes.mark(latest_row), " ",
             _("({period}, {area})").format(period=period, area=registry.area(latest_row, lang))]
    if previous is not None:
        parts += ["; ", _("against {value} ({period})").format(
            value=registry.value_label(previous, lang), period=registry.period_label(previous, lang)),
            notes.mark(previous)]
    if latest_row["stated_by"] != "Secretariat":
        parts += ["; ", _("stated by {who}").format(who=registry.speaker(latest_row, lang))]
    return html.P([*parts, "."], className="brief-sentence")


def _family_block(family: str, view: View, notes: Footnotes, lang: str) -> html.Section:
    _ = i18n.gettext_for(lang)
    term = vocab.FAMILIES[family]
    title = term.name_en if lang == "en" else term.name_zh
    latest_row, previous, series = registry.headline_for(view.filters(), family)
    if latest_row is None:
        return html.Section([html.H2(title), html.P(_("No values in the reports for this scope and date."),
                                                    className="hint")], className="brief-family")
    spark = figures.sparkline(series, latest_row["unit"], lang, height=95, width=210)
    sentences = [_sentence(latest_row, previous, notes, lang)]
    return html.Section([
        html.H2(title),
        html.Div([
            html.Div(sentences, className="brief-text"),
            html.Figure(dcc.Graph(figure=spark, config={"staticPlot": True}, id=f"{ID}-spark-{family}"),
                        className="brief-chart", role="img",
                        **{"aria-label": figures.summary(series, latest_row["unit"], lang)}),
        ], className="brief-row"),
    ], className="brief-family")


def note(view: View, families: tuple[str, ...]) -> html.Article:
    """The briefing note itself."""
    _ = i18n.gettext_for(view.lang)
    lang = view.lang
    notes = Footnotes()
    blocks = [_family_block(f, view, notes, lang) for f in families]
    scope = _("all peacekeeping operations") if not view.areas else ", ".join(view.areas)
    as_of = view.as_of or date.today()
    footnotes = html.Ol([
        html.Li([f"{registry.citation(r)} ({r['source_date']}). ", html.Span(r["quote"], lang="zh-Hans")],
                id=f"{ID}-fn-{n}")
        for n, r in enumerate(notes.rows, start=1)], className="brief-footnotes")
    return html.Article([
        html.Header([
            html.H1(_("Peacekeeping performance: briefing note")),
            html.P(_("Scope: {scope}. Values published by {day}; each number is footnoted to the report "
                     "and paragraph it is stated in.").format(scope=scope, day=i18n.day(as_of, lang)),
                   className="brief-scope"),
        ]),
        *blocks,
        html.H2(_("Sources"), className="brief-sources-title"),
        footnotes,
    ], className="brief-page", id=f"{ID}-page", **{"data-footnotes": str(len(notes.rows))})


def layout(**query_args):
    view, families = brief_view(query_args)
    _ = i18n.gettext_for(view.lang)
    try:
        missions = query.table("areas")
        body = note(view, families)
    except FileNotFoundError as exc:
        return html.P(str(exc), className="message error")
    missions = missions[missions["kind"] == "mission"].sort_values("area_id")
    pdf = f"/brief.pdf{search(view, families)}"
    return html.Div([
        html.Div([
            html.H1(_("Briefing note")),
            html.P(_("Choose the scope and the families; set the date of the meeting with “As of” at the "
                     "top of the page. Print from the browser, or download the same page as PDF."),
                   className="lede"),
            html.Div([
                html.Fieldset([html.Legend(_("Scope")),
                               dcc.RadioItems(id=f"{ID}-scope", value=(view.areas or ("",))[0],
                                              className="radio-inline",
                                              options=[{"label": _("All operations"), "value": ""}] +
                                              [{"label": r["area_id"], "value": r["area_id"]}
                                               for _i, r in missions.iterrows()])],
                              className="control wide"),
                html.Fieldset([html.Legend(_("Families")),
                               dcc.Checklist(id=f"{ID}-families", value=list(families), className="checklist",
                                             options=[{"label": " " + (t.name_en if view.lang == "en" else t.name_zh),
                                                       "value": k} for k, t in vocab.FAMILIES.items()])],
                              className="control scroll"),
            ], className="controls", role="group", **{"aria-label": _("Briefing note options")}),
            html.A(_("Download PDF"), id=f"{ID}-pdf", href=pdf, className="download"),
            dcc.Store(id=f"{ID}-context", data=view.context()),
            dcc.Store(id=f"{ID}-search"),
            dcc.Store(id=f"{ID}-url-written"),
        ], className="no-print"),
        html.Div(body, id=f"{ID}-body"),
    ])
