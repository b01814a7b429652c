"""Callbacks of the page shell (app.py): navigation, language switch, "as of" date.

The language (``lang``) and the "as of" date (``asof``) are URL parameters that every page
reads; the navigation links carry them, so they hold across pages. Changing either reloads
the current page with its own view kept (the rest of its URL is left as it is).
"""
from __future__ import annotations

from datetime import date

import dash
from dash import Input, Output, State, clientside_callback, html

from data import vocabulary as vocab
from data.translation import LANGUAGES, gettext_for
from indicators import i18n
from indicators.view import EXPECT_DAY, Problem, View

NOT_FOUND = "not_found_404"  # Dash's name for the page drawn at an unknown address


def _pages():
    return [p for p in dash.page_registry.values() if not p["module"].endswith(NOT_FOUND)]


def known_page(path: str) -> bool:
    """Whether ``path`` is one of the site's pages (else it answers 404)."""
    wanted = path.strip("/")
    return any(p["path"].strip("/") == wanted for p in _pages())


def _family_of(pathname: str | None) -> str | None:
    name = (pathname or "").strip("/")
    return name if name in vocab.FAMILIES else None


def status(view: View, pathname: str | None) -> list:
    """What every page says above itself: the as-of date in force, and every part of its
    address that could not be used (the rest of the view is shown)."""
    _ = gettext_for(view.lang)
    today = date.today()
    if view.as_of and view.as_of > today:  # nothing is published after today: the latest values
        said = _("As of {day}, a day still to come: this page shows the latest values, everything "
                 "published up to today, {today}.").format(day=i18n.day(view.as_of, view.lang),
                                                            today=i18n.day(today, view.lang))
    elif view.as_of:
        said = _("As of {day}: this page shows only what had been published by then.").format(
            day=i18n.day(view.as_of, view.lang))
    else:
        said = _("Latest: this page shows every value published up to today, {day}.").format(
            day=i18n.day(today, view.lang))
    out = [html.P(said, className="asof-statement", id="site-asof-statement")]
    if view.problems:
        out.append(problems_block(view, _("Part of this page's address could not be used, and was left "
                                          "out; the rest of the view is shown:"), id="site-problems"))
    return out


def problems_block(view: View, intro: str, **attrs) -> html.Div:
    """What of ``view`` could not be used, one line each (parameter, what was given, what
    was expected), under ``intro``: for the address (above every page) and for a page's
    own filters (a "to" year before "from" is left out, and said so)."""
    return html.Div([html.P(intro), html.Ul([html.Li(p.text(view.lang)) for p in view.problems])],
                    className="message error", role="alert", **attrs)


def filter_problems(view: View) -> list:
    """The problems of a view made from a page's filter boxes, ready to put above its answer."""
    if not view.problems:
        return []
    _ = gettext_for(view.lang)
    return [problems_block(view, _("Part of these filters could not be used, and was left out:"))]


def asof_texts(lang: str) -> dict:
    """The messages for a typed date that is refused, the same as a download would give
    (``{given}`` is replaced in the browser)."""
    return {kind: Problem("asof", "{given}", what, EXPECT_DAY).text(lang)
            for kind, what in (("malformed", "is not a date"), ("impossible", "is not a day of the calendar"))}


@dash.callback(
    Output("site-nav", "children"),
    Output("site-title", "children"),
    Output("site-lang", "children"),
    Output("site-lang", "lang"),
    Output("site-asof-label", "children"),
    Output("site-asof", "value"),
    Output("site-asof-apply", "children"),
    Output("site-asof-clear", "children"),
    Output("site-asof-picker-slot", "title"),
    Output("site-asof-texts", "data"),
    Output("site-status", "children"),
    Input("url", "pathname"),
    Input("url", "search"),
)
def shell(pathname, search):
    view = View.from_search(search, _family_of(pathname))
    if known_page(pathname or "/"):
        try:
            view = view.checked()
        except FileNotFoundError:
            pass  # no store yet: the page itself says so
    _ = gettext_for(view.lang)
    keep = view.keep()
    links = []
    for page in _pages():
        label = page["name"] if view.lang == "en" else page.get("name_zh", page["name"])
        current = {"aria-current": "page"} if page["path"] == pathname else {}
        links.append(html.A(label, href=keep.href(page["relative_path"]), **current))
    other = "en" if view.lang == "zh" else "zh"
    day = view.as_of.isoformat() if view.as_of else ""
    return (links, _("Peacekeeping Performance Indicators"), LANGUAGES[other], i18n.HTML_LANG[other],
            _("As of"), day, _("Apply"), _("Today"), _("Pick the as-of date from a calendar"),
            asof_texts(view.lang), status(view, pathname))


# The interface language on <html lang>, for screen readers and fonts.
clientside_callback(
    """
    function(search) {
        const lang = new URLSearchParams(search || "").get("lang") === "zh" ? "zh-Hans" : "en";
        document.documentElement.lang = lang;
        return lang;
    }
    """,
    Output("site-lang-written", "data"),
    Input("url", "search"),
)

# Switch language or "as of" date: reload this page with its current URL (which the pages
# keep up to date with their filters and selection) and the one parameter changed. A typed
# date that is not a day written YYYY-MM-DD is refused with the same message a download
# gives, and nothing changes. (The calendar picker is handled in assets/asof.js.)
clientside_callback(
    """
    function(langClicks, applyClicks, submits, clearClicks, asof, texts) {
        const trigger = (dash_clientside.callback_context.triggered[0] || {}).prop_id || "";
        const none = window.dash_clientside.no_update;
        if (!trigger || trigger === ".") { return none; }
        const params = new URLSearchParams(window.location.search);
        if (trigger.startsWith("site-lang")) {
            if (params.get("lang") === "zh") { params.delete("lang"); } else { params.set("lang", "zh"); }
        } else if (trigger.startsWith("site-asof-clear")) {
            params.delete("asof");
        } else {
            const value = (asof || "").trim();
            const wrong = window.pkpiAsofProblem(value);
            if (wrong) {
                const message = ((texts || {})[wrong] || "asof: '{given}'").split("{given}").join(value);
                return message;
            }
            if (value === (params.get("asof") || "")) { return ""; }
            if (value) { params.set("asof", value); } else { params.delete("asof"); }
        }
        const query = params.toString();
        window.location.assign(window.location.pathname + (query ? "?" + query : "") + window.location.hash);
        return "";
    }
    """,
    Output("site-asof-message", "children"),
    Input("site-lang", "n_clicks"),
    Input("site-asof-apply", "n_clicks"),
    Input("site-asof", "n_submit"),
    Input("site-asof-clear", "n_clicks"),
    State("site-asof", "value"),
    State("site-asof-texts", "data"),
    prevent_initial_call=True,
)
