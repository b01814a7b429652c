"""Callbacks of the Data page (layouts/data.py)."""
from __future__ import annotations

import dash
from dash import Input, Output, State, html, no_update

from callbacks.cache import per_data_version
from callbacks.urlstate import keep_url_in_step
from data.translation import gettext_for
from layouts.data import ID, count_label, download_href, rows, search, selection, view_from


@dash.callback(
    Output(f"{ID}-table", "data"),
    Output(f"{ID}-count", "children"),
    Output(f"{ID}-download", "href"),
    Output(f"{ID}-search", "data"),
    Input(f"{ID}-family", "value"),
    Input(f"{ID}-text", "value"),
    Input(f"{ID}-areas", "value"),
    Input(f"{ID}-from", "value"),
    Input(f"{ID}-to", "value"),
    State(f"{ID}-context", "data"),
    prevent_initial_call=True,
)
@per_data_version(keep=lambda answer: answer[2] is not no_update)  # an error message is not kept
def filter_table(family, text, areas, year_from, year_to, context):
    view = view_from(family, text, areas, year_from, year_to, context)
    try:
        frame, total = selection(view)
    except Exception as exc:  # never a traceback in the browser
        _ = gettext_for(view.lang)
        message = _("The table could not be filtered: {error}").format(error=exc)
        return [], message, no_update, no_update
    count = count_label(total, view.lang)
    if view.problems:  # a filter box that cannot be used is said, not silently dropped
        count = [count, " ", *(html.Span(p.text(view.lang) + " ", className="message-inline error", role="alert")
                               for p in view.problems)]
    return rows(frame, view.lang), count, download_href(view), search(view)


keep_url_in_step(f"{ID}-search", f"{ID}-url-written")
