"""Callbacks of the briefing page (layouts/brief.py)."""
from __future__ import annotations

import dash
from dash import Input, Output, State, html, no_update

from callbacks.urlstate import keep_url_in_step
from data.translation import gettext_for
from indicators.query import one_reader
from indicators.view import View
from layouts.brief import ID, families_of, note, search


@dash.callback(
    Output(f"{ID}-body", "children"),
    Output(f"{ID}-pdf", "href"),
    Output(f"{ID}-search", "data"),
    Input(f"{ID}-scope", "value"),
    Input(f"{ID}-families", "value"),
    Input(f"{ID}-since", "value"),
    State(f"{ID}-context", "data"),
    prevent_initial_call=True,
)
def update(scope, families, since, context):
    context = context or {}
    view = View.from_query({**context, "area": scope, "since": since or ""})
    chosen = families_of({"fam": ",".join(families or [])})
    try:
        with one_reader():  # the whole note from one data version
            return note(view, chosen), f"/brief.pdf{search(view, chosen)}", search(view, chosen)
    except Exception as exc:  # never a traceback in the browser
        _ = gettext_for(view.lang)
        return html.P(_("The note could not be made: {error}").format(error=exc), className="message error"), \
            no_update, no_update


keep_url_in_step(f"{ID}-search", f"{ID}-url-written")
