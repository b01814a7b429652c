"""Sources: each report, how it is identified, and the values it supports."""
from __future__ import annotations

import dash
from dash import html

from data.selection import Filters
from data.translation import gettext_for
from indicators import i18n, query, registry
from indicators.view import View

dash.register_page(__name__, path="/sources", name="Sources", name_zh="来源",
                   title="Sources · Peacekeeping indicators", order=31)

ID = "sources"


LISTED = 200  # values listed per report; the CSV has every one


def _text(value) -> str:
    """A cell as text: an empty cell (None, or pandas' NaN) is ""."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return str(value)


def _date_label(src, lang: str) -> str:
    """``1 Sept 2023`` / ``2023年9月1日``; a month or a year as the report gives it."""
    from datetime import date
    text = str(src["date"])
    try:
        if len(text) == 10:
            return i18n.day(date.fromisoformat(text), lang)
        if len(text) == 7:
            y, m = text.split("-")
            return f"{int(y)}年{int(m)}月" if lang == "zh" else date(int(y), int(m), 1).strftime("%B %Y")
        if len(text) == 4:
            return f"{text}年" if lang == "zh" else text
    except ValueError:
        pass
    return text


def _report(src, counts, view: View, figs) -> html.Section:
    lang, as_of = view.lang, view.as_of
    _ = gettext_for(lang)
    mine_f = Filters(sources=(src["source_id"],), as_of=as_of)
    mine = query.observations(mine_f, limit=LISTED)
    hit = counts[counts["source_id"] == src["source_id"]]
    total = int(hit["n"].iloc[0]) if len(hit) else 0
    indicators = int(hit["indicators"].iloc[0]) if len(hit) else 0
    figures = figs[figs["source_id"] == src["source_id"]]
    facts = [
        (_("Cite as"), src["cite_as"]),
        (_("Symbol"), _text(src["symbol"]) or _("not confirmed: cite by title and date")),
        (_("Title (Chinese)"), html.Span(src["title_zh"], lang="zh-Hans")) if lang == "en" else
        (_("Title (English)"), html.Span(src["title_en"], lang="en")),
        (_("Issued by"), _text(src["issuing_body"])),
        (_("Date"), _date_label(src, lang)),
        (_("Numbering"), _text(src["numbering"])),
        (_("Identification"), _text(src["identification"])),
        (_("Document"), html.A(src["url"], href=src["url"], target="_blank", rel="noopener") if _text(src["url"])
         else _("no confirmed link")),
    ]
    values = [
        html.P(_("{values} values for {indicators} indicators.").format(
            values=i18n.number(total, lang), indicators=i18n.number(indicators, lang)), className="count"),
        html.A(_("Download CSV of the {count} values").format(count=i18n.number(total, lang)), className="download",
               href=View(sources=(src["source_id"],), as_of=as_of).download("csv", src["source_id"])),
        html.Ul([html.Li(_("Figure {figure}: {caption} (values not in the text)").format(
            figure=f["figure"], caption=f["caption_en"] if lang == "en" else f["caption_quote"]))
            for _i, f in figures.iterrows()], className="figures") if not figures.empty else None,
        html.Details([
            html.Summary(_("The {count} values").format(count=i18n.number(total, lang))),
            *([html.P(_("The first {shown} of {count} values; the CSV has all of them.").format(
                shown=i18n.number(len(mine), lang), count=i18n.number(total, lang)), className="hint")]
              if total > len(mine) else []),
            html.Table([
                html.Thead(html.Tr([html.Th(h, scope="col") for h in
                                    (_("Locator"), _("Indicator"), _("Value"), _("Period"))])),
                html.Tbody([html.Tr([html.Td(registry.locator_text(r["locator"])), html.Td(registry.name(r, lang)),
                                     html.Td(registry.value_label(r, lang)),
                                     html.Td(registry.period_label(r, lang))])
                            for _i, r in mine.iterrows()]),
            ], className="data-table"),
        ]),
    ]
    return html.Section([
        html.H2(src["title_en"] if lang == "en" else src["title_zh"], id=f"{ID}-{src['source_id']}",
                lang="en" if lang == "en" else "zh-Hans"),
        html.Dl([x for k, v in facts for x in (html.Dt(k), html.Dd(v))], className="facts"),
        *(values if total or not as_of else [html.P(
            _("Published after {day}: none of its values is shown as of that date.").format(day=i18n.day(as_of, lang)),
            className="hint", id=f"{ID}-{src['source_id']}-later")]),
    ], className="source-report")


def layout(**query_args):
    view = View.from_query(query_args)
    _ = gettext_for(view.lang)
    try:
        sources = query.table("sources")
        counts = query.per_source(Filters(as_of=view.as_of))
        figs = query.table("figures")
    except FileNotFoundError as exc:
        return html.P(str(exc), className="message error")
    sources = sources.sort_values("date_start")
    return html.Div([
        html.H1(_("Sources")),
        html.P([_("The five UN reports every value is read from, oldest first. Each value keeps its "
                 "paragraph (or table entry, footnote, meeting) and the sentence it was read from.")],
               className="lede"),
        *[_report(s, counts, view, figs) for _i, s in sources.iterrows()],
    ])
