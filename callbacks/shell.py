"""Callbacks of the page shell (app.py): navigation, language switch, "as of" date.

The language (``lang``) and the "as of" date (``asof``) are URL parameters that every page
reads; the navigation links carry them, so they hold across pages. Changing either reloads
the current page with its own view kept (the rest of its URL is left as it is).
"""
from __future__ import annotations

from urllib.parse import parse_qs

import dash
from dash import Input, Output, State, clientside_callback, html

from indicators import i18n
from indicators.view import View


@dash.callback(
    Output("site-nav", "children"),
    Output("site-title", "children"),
    Output("site-lang", "children"),
    Output("site-lang", "lang"),
    Output("site-asof-label", "children"),
    Output("site-asof", "value"),
    Output("site-asof-apply", "children"),
    Output("site-asof-clear", "children"),
    Input("url", "pathname"),
    Input("url", "search"),
)
def shell(pathname, search):
    params = {k: v[-1] for k, v in parse_qs((search or "").lstrip("?")).items()}
    view = View.from_query(params)
    _ = i18n.gettext_for(view.lang)
    keep = View(lang=view.lang, as_of=view.as_of).search()
    links = []
    for page in dash.page_registry.values():
        label = page["name"] if view.lang == "en" else page.get("name_zh", page["name"])
        current = {"aria-current": "page"} if page["path"] == pathname else {}
        links.append(html.A(label, href=page["relative_path"] + keep, **current))
    other = "en" if view.lang == "zh" else "zh"
    return (links, _("Peacekeeping Performance Indicators"), i18n.LANGUAGES[other], i18n.HTML_LANG[other],
            _("As of"), view.as_of.isoformat() if view.as_of else "", _("Apply"), _("Today"))


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
# keep up to date with their filters and selection) and the one parameter changed.
clientside_callback(
    """
    function(langClicks, applyClicks, submits, clearClicks, asof) {
        const trigger = (dash_clientside.callback_context.triggered[0] || {}).prop_id || "";
        if (!trigger || trigger === ".") { return window.dash_clientside.no_update; }
        const params = new URLSearchParams(window.location.search);
        if (trigger.startsWith("site-lang")) {
            if (params.get("lang") === "zh") { params.delete("lang"); } else { params.set("lang", "zh"); }
        } else if (trigger.startsWith("site-asof-clear")) {
            params.delete("asof");
        } else {
            const value = (asof || "").trim();
            if (value && !/^\\d{4}-\\d{2}-\\d{2}$/.test(value)) {
                window.alert("Please write the date as YYYY-MM-DD, for example 2023-09-30.");
                return window.dash_clientside.no_update;
            }
            if (value) { params.set("asof", value); } else { params.delete("asof"); }
        }
        const query = params.toString();
        window.location.assign(window.location.pathname + (query ? "?" + query : ""));
        return window.dash_clientside.no_update;
    }
    """,
    Output("site-asof", "className"),
    Input("site-lang", "n_clicks"),
    Input("site-asof-apply", "n_clicks"),
    Input("site-asof", "n_submit"),
    Input("site-asof-clear", "n_clicks"),
    State("site-asof", "value"),
    prevent_initial_call=True,
)
