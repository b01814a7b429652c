"""Briefing note: one A4 page of headline values for a Council meeting, every number
footnoted with the report, paragraph and date it comes from.

The page is the document: the browser prints it with the print stylesheet, and "Download
PDF" has headless Chromium on the server print the same ``note()`` with the same stylesheet,
drawn in the server's own process and given to Chromium as a document, never as an address
(callbacks/pdf.py), so the PDF and the screen do not differ.
"""
from __future__ import annotations

from dataclasses import replace
from datetime import date

import dash
from dash import dcc, html

from data import vocabulary as vocab
from data.translation import gettext_for
from indicators import figures, i18n, query, registry, updates
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
    (report, locator and quote), however many of the note's numbers it states.

    A marker is ``[n]`` in a superscript, so copying the text (or extracting it from the
    PDF) gives "7 [1]", never "71"."""

    def __init__(self):
        self.rows: list = []
        self._index: dict[tuple, int] = {}

    def mark(self, row) -> html.Sup:
        key = (row["source_id"], row["locator"], row["quote"])
        if key not in self._index:
            self.rows.append(row)
            self._index[key] = len(self.rows)
        n = self._index[key]
        return html.Sup(html.A(f"[{n}]", href=f"#{ID}-fn-{n}"), className="fn-ref",
                        **{"data-obs-id": str(int(row["obs_id"])), "data-fn": str(n)})


OTHERS = 1  # indicators a family block states beside its headline (the page is one A4 sheet)


def _stated(row, lang: str) -> list:
    _ = gettext_for(lang)
    if row["stated_by"] == "Secretariat":
        return []
    return ["；" if lang == "zh" else "; ", _("stated by {who}").format(who=registry.speaker(row, lang))]


def _sentence(latest_row, previous, notes: Footnotes, lang: str) -> html.P:
    _ = gettext_for(lang)
    name = registry.name(latest_row, lang)
    value = registry.value_label(latest_row, lang)
    period = registry.period_label(latest_row, lang)
    sep = "：" if lang == "zh" else ": "
    semi = "；" if lang == "zh" else "; "
    gap = "" if lang == "zh" else " "  # a full-width bracket follows in Chinese
    parts = [html.Strong(name), sep, value, " ", notes.mark(latest_row), gap,
             _("({period}, {area})").format(period=period, area=registry.area(latest_row, lang))]
    kind = registry.comparison(latest_row, previous)
    if kind != "none":
        before = _("{value} ({period})").format(value=registry.value_label(previous, lang),
                                                period=registry.period_label(previous, lang))
        if kind == "stated":
            parts += [semi, _("against {before}, as the report states").format(before=before)]
        elif kind == "both":
            parts += [semi, _("against {before}; both values are qualified, so no difference is given").format(
                before=before), " ", notes.mark(previous)]
        else:
            parts += [semi, _("against {before}").format(before=before), " ", notes.mark(previous)]
    parts += _stated(latest_row, lang)
    return html.P([*parts, "。" if lang == "zh" else "."], className="brief-sentence",
                  **{"data-indicator": latest_row["indicator_id"]})


def _other_sentence(row, headline, notes: Footnotes, lang: str) -> html.Li:
    """One more indicator's latest value; its area is named only where it differs from the
    headline's (the note is one page)."""
    _ = gettext_for(lang)
    sep = "：" if lang == "zh" else ": "
    where = _("({period})").format(period=registry.period_label(row, lang)) if row["area"] == headline["area"] \
        else _("({period}, {area})").format(period=registry.period_label(row, lang), area=registry.area(row, lang))
    return html.Li([registry.name(row, lang), sep, html.Strong(registry.value_label(row, lang)), " ",
                    notes.mark(row), "" if lang == "zh" else " ", where,
                    *_stated(row, lang)], **{"data-indicator": row["indicator_id"]})


def _family_block(family: str, view: View, notes: Footnotes, lang: str) -> html.Section | None:
    """A family's headline with its comparison and trend, and the latest values of the
    family's other indicators most recently reported; None when the scope has no value."""
    term = vocab.FAMILIES[family]
    title = term.name_en if lang == "en" else term.name_zh
    f = view.filters()
    latest_row, previous, series = registry.headline_for(f, family)
    if latest_row is None:
        return None
    body = [_sentence(latest_row, previous, notes, lang)]
    others = query.latest(replace(f, families=(family,)))
    others = others[(others["indicator_id"] != latest_row["indicator_id"]) & (others["span_class"] != "cumulative")]
    others = others.sort_values(["period_end", "indicator_id"], ascending=[False, True]).head(OTHERS)
    if not others.empty:
        body.append(html.Ul([_other_sentence(r, latest_row, notes, lang) for _i, r in others.iterrows()],
                            className="brief-others"))
    row = [html.Div(body, className="brief-text")]
    if len(series) >= 2:  # one point is no trend
        spark = figures.sparkline(series, latest_row["unit"], lang, height=95, width=210)
        row.append(html.Figure(dcc.Graph(figure=spark, config={"staticPlot": True}, id=f"{ID}-spark-{family}"),
                               className="brief-chart", role="img",
                               **{"aria-label": figures.summary(series, latest_row["unit"], lang)}))
    return html.Section([html.H2(title), html.Div(row, className="brief-row")], className="brief-family",
                        id=f"{ID}-family-{family}")


def scope_name(view: View, lang: str) -> str:
    """The note's scope in words: "all peacekeeping operations", or the areas' names."""
    _ = gettext_for(lang)
    if not view.areas:
        return _("all peacekeeping operations")
    areas = query.table("areas").set_index("area_id")
    key = "name_en" if lang == "en" else "name_zh"
    names = []
    for a in view.areas:
        if a not in areas.index:
            names.append(a)
            continue
        full = areas.loc[a, key]
        names.append(full if full == a or a.lower() == a else _("{name} ({short})").format(name=full, short=a))
    return ("、" if lang == "zh" else "; ").join(names)


def _footnote(n: int, r, lang: str) -> html.Li:
    _ = gettext_for(lang)
    day = i18n.day(date.fromisoformat(str(r["source_date"])[:10]), lang) if _is_day(r["source_date"]) \
        else str(r["source_date"])
    parts = [f"{registry.citation(r)} ({day}). " if lang == "en" else f"{registry.citation(r)}（{day}）。",
             html.Q(registry.quote_text(r["quote"]), lang="zh-Hans", className="fn-quote")]
    if r.get("quote_en"):
        parts += [" " if lang == "en" else "", html.Span(_("English: {text}").format(text=r["quote_en"]),
                                                         lang="en", className="fn-quote-en")]
    return html.Li(parts, id=f"{ID}-fn-{n}")


def _is_day(text) -> bool:
    try:
        date.fromisoformat(str(text)[:10])
        return len(str(text)) >= 10
    except ValueError:
        return False


def _since_section(view: View, families: tuple[str, ...], notes: Footnotes, lang: str) -> html.Section:
    """What was published or revised after ``view.since`` and by the note's date."""
    _ = gettext_for(lang)
    until = view.as_of or date.today()
    changed = updates.published_between(view.since, until, families, view.areas)
    if not changed.empty:  # in the note's order of families
        changed = changed.assign(_f=changed["family"].map({f: k for k, f in enumerate(families)})) \
            .sort_values(["_f", "indicator_id", "area", "period_end", "vintage"], kind="stable")
    title = _("Published or revised since {since}").format(since=i18n.day(view.since, lang))
    if changed.empty:
        return html.Section([html.H2(title), html.P(_("Nothing was published or revised between {since} and {until} "
                                                      "for this scope and these families.").format(
            since=i18n.day(view.since, lang), until=i18n.day(until, lang)))], className="brief-since",
            id=f"{ID}-since")
    rows = []
    for _k, r in changed.iterrows():
        if r["previous_value"] is None or (isinstance(r["previous_value"], float) and r["previous_value"] != r["previous_value"]):
            before = _("new: no earlier comparable value") if r["change"] == "new" else ""
        else:
            prev = {"value": r["previous_value"], "unit": r["unit"], "qualifier": r["previous_qualifier"]}
            before = [registry.value_label(prev, lang), " ",
                      _("({period}; {citation})").format(
                          period=r["previous_period_label"] if lang == "en" else i18n.period_zh(r["previous_period"]),
                          citation=f"{r['previous_source_cite_as']}, {registry.locator_text(r['previous_locator'])}")]
            if r["change"] == "revised":
                before = [_("revised; was") + " ", *before]
        rows.append(html.Tr([
            html.Td(registry.name(r, lang)),
            html.Td([html.Strong(registry.value_label(r, lang)), " ", notes.mark(r)]),
            html.Td(registry.period_label(r, lang)),
            html.Td(registry.area(r, lang)),
            html.Td(before),
            html.Td(i18n.day(r["published_at"].date() if hasattr(r["published_at"], "date") else r["published_at"],
                             lang)),
        ], **{"data-obs-id": str(int(r["obs_id"])), "data-change": r["change"]}))
    return html.Section([
        html.H2(title),
        html.P(_("{count} values published or revised between {since} and {until}, each with the value an "
                 "officer could have quoted before.").format(count=i18n.number(len(changed), lang),
                                                             since=i18n.day(view.since, lang),
                                                             until=i18n.day(until, lang)), className="brief-scope"),
        html.Table([html.Thead(html.Tr([html.Th(h, scope="col") for h in (
            _("Indicator"), _("Value"), _("Period"), _("Area"), _("Before"), _("Published"))])),
            html.Tbody(rows)], className="brief-since-table"),
    ], className="brief-since", id=f"{ID}-since")


def note(view: View, families: tuple[str, ...]) -> html.Article:
    """The briefing note itself."""
    _ = gettext_for(view.lang)
    lang = view.lang
    notes = Footnotes()
    scope = scope_name(view, lang)
    as_of = view.as_of or date.today()
    blocks, empty = [], []
    for f in families:
        block = _family_block(f, view, notes, lang)
        if block is None:
            empty.append(vocab.FAMILIES[f].name_en if lang == "en" else vocab.FAMILIES[f].name_zh)
        else:
            blocks.append(block)
    if not blocks:  # said once, not once per family
        blocks = [html.P(_("The reports state no value for {scope} published by {day} in the families chosen.").format(
            scope=scope, day=i18n.day(as_of, lang)), className="message brief-empty", id=f"{ID}-empty")]
    elif empty:
        blocks.append(html.P(_("No values for {scope} in: {families}.").format(
            scope=scope, families=("、" if lang == "zh" else ", ").join(empty)), className="hint brief-empty",
            id=f"{ID}-empty"))
    since = [_since_section(view, families, notes, lang)] if view.since else []
    footnotes = html.Ol([_footnote(n, r, lang) for n, r in enumerate(notes.rows, start=1)],
                        className="brief-footnotes")
    return html.Article([
        html.Header([
            html.H1(_("Peacekeeping performance: briefing note")),
            html.P(_("Scope: {scope}. Values published by {day}; each number is footnoted to the report "
                     "and paragraph it is stated in.").format(scope=scope, day=i18n.day(as_of, lang)),
                   className="brief-scope"),
        ]),
        *blocks,
        *since,
        *([html.H2(_("Sources"), className="brief-sources-title"), footnotes] if notes.rows else []),
    ], className="brief-page", id=f"{ID}-page", **{"data-footnotes": str(len(notes.rows))})


def layout(**query_args):
    view, families = brief_view(query_args)
    _ = gettext_for(view.lang)
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
                                              [{"label": r["area_id"] if view.lang == "en"
                                                else f"{r['name_zh']}（{r['area_id']}）", "value": r["area_id"]}
                                               for _i, r in missions.iterrows()])],
                              className="control wide"),
                html.Div([html.Label(_("Changes since (the last briefing)"), htmlFor=f"{ID}-since"),
                          dcc.Input(id=f"{ID}-since", type="date", debounce=True,
                                    value=view.since.isoformat() if view.since else None,
                                    max=(view.as_of or date.today()).isoformat()),
                          html.P(_("Lists every value published or revised after this day, with the value "
                                   "before it."), className="hint")],
                         className="control narrow"),
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
