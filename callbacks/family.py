"""Callbacks of the family pages (layouts/family.py): filters, linked selection, URL."""
from __future__ import annotations

from datetime import date

import dash
from dash import ALL, MATCH, Input, Output, State, ctx, html, no_update
from dash.exceptions import PreventUpdate

from callbacks.cache import per_data_version
from callbacks.urlstate import keep_url_in_step
from indicators import i18n, query
from indicators.view import View
from layouts.family import cid, drawn_key, render


@dash.callback(
    Output(cid("charts", MATCH), "children"),
    Output(cid("panel", MATCH), "children"),
    Output(cid("search", MATCH), "data"),
    Output(cid("drawn", MATCH), "data"),
    Input(cid("indicators", MATCH), "value"),
    Input(cid("areas", MATCH), "value"),
    Input(cid("from", MATCH), "value"),
    Input(cid("to", MATCH), "value"),
    Input(cid("selection", MATCH), "data"),
    State(cid("context", MATCH), "data"),
    State(cid("drawn", MATCH), "data"),
    prevent_initial_call=True,
)
@per_data_version(keep=lambda answer: answer[3] is not None)  # an error message is not kept
def update(indicators, areas, year_from, year_to, selection, context, drawn):
    family = ctx.outputs_list[0]["id"]["family"]
    context = context or {}
    view = View.from_query({**context, "ind": indicators, "area": areas, "from": year_from, "to": year_to,
                            "sel": selection}, family)
    try:
        key = drawn_key(view)
        if key == drawn:
            # What is asked for is on the page already: Dash calls this as the page is
            # inserted (prevent_initial_call or not), just after the layout drew this view.
            raise PreventUpdate
        return (*render(view), key)
    except PreventUpdate:
        raise
    except Exception as exc:  # never a traceback in the browser
        _ = i18n.gettext_for(view.lang)
        message = _("This view could not be drawn: {error}").format(error=exc)
        return [html.P(message, className="message error")], [], no_update, None


def _period_of(obs_id) -> str | None:
    try:
        period = query.period_of(int(obs_id))
    except (TypeError, ValueError):
        return None
    if period is None:
        return None
    start, end = period
    return f"{(start or end).isoformat()}/{end.isoformat()}"


@dash.callback(
    Output(cid("selection", MATCH), "data"),
    Input(cid("chart", MATCH, unit=ALL), "clickData"),
    Input(cid("chart", MATCH, unit=ALL), "selectedData"),
    Input(cid("clear", MATCH), "n_clicks"),
    prevent_initial_call=True,
)
def select(_clicks, _selections, _clear):
    """A click selects the clicked value's period, a drag the dragged range. (The keyboard's
    way, a data-table row's "Show sources" link, is the permalink with its period selected.)"""
    trigger = ctx.triggered_id
    if not trigger or not ctx.triggered or not ctx.triggered[0]["value"]:
        return no_update
    if trigger["role"] == "clear":
        return None
    prop = ctx.triggered[0]["prop_id"].rsplit(".", 1)[1]
    value = ctx.triggered[0]["value"]
    if prop == "clickData":
        points = value.get("points") or []
        data = points[0].get("customdata") if points else None
        if isinstance(data, list):
            data = data[0] if data else None
        return _period_of(data) or no_update
    # selectedData: a dragged box gives the x range (dates, maybe with times)
    x_range = (value.get("range") or {}).get("x")
    if not x_range:
        return no_update
    start, end = (date.fromisoformat(str(x)[:10]) for x in x_range)
    return f"{min(start, end).isoformat()}/{max(start, end).isoformat()}"


keep_url_in_step(cid("search", MATCH), cid("url-written", MATCH))
