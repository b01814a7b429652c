"""Callbacks of the family pages (layouts/family.py): filters, linked selection, URL."""
from __future__ import annotations

from datetime import date

import dash
from dash import ALL, MATCH, Input, Output, State, ctx, html, no_update
from dash.exceptions import PreventUpdate

from callbacks.cache import per_data_version
from callbacks.shell import filter_problems
from callbacks.urlstate import keep_url_in_step
from data.translation import gettext_for
from indicators import query
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
    Input(cid("point", MATCH), "data"),
    State(cid("context", MATCH), "data"),
    State(cid("drawn", MATCH), "data"),
    prevent_initial_call=True,
)
@per_data_version(keep=lambda answer: answer[3] is not None)  # an error message is not kept
def update(indicators, areas, year_from, year_to, selection, point, context, drawn):
    family = ctx.outputs_list[0]["id"]["family"]
    context = context or {}
    view = View.from_query({**context, "ind": indicators, "area": areas, "from": year_from, "to": year_to,
                            "sel": selection, "pt": point}, family)
    try:
        key = drawn_key(view)
        if key == drawn:
            # What is asked for is on the page already: Dash calls this as the page is
            # inserted (prevent_initial_call or not), just after the layout drew this view.
            raise PreventUpdate
        charts, panel, search = render(view)
        return [*filter_problems(view), *charts], panel, search, key
    except PreventUpdate:
        raise
    except Exception as exc:  # never a traceback in the browser
        _ = gettext_for(view.lang)
        message = _("This view could not be drawn: {error}").format(error=exc)
        return [html.P(message, className="message error")], [], no_update, None


def _period_of(obs_id) -> tuple[date, date] | None:
    try:
        period = query.period_of(int(obs_id))
    except (TypeError, ValueError):
        return None
    if period is None:
        return None
    start, end = period
    return (start or end), end


def _sel(period: tuple[date, date]) -> str:
    return f"{period[0].isoformat()}/{period[1].isoformat()}"


def _obs_of(point: dict):
    data = point.get("customdata")
    if isinstance(data, list):
        data = data[0] if data else None
    return data


def _dragged(value: dict) -> str | None:
    """The period a drag selected: the x range on a time axis (any panel's: ``x``, ``x2``...),
    or on a chart of bars (categories, no dates) the periods of the bars it took in."""
    for axis, x_range in sorted((value.get("range") or {}).items()):
        if not axis.startswith("x") or not x_range:
            continue
        try:
            start, end = (date.fromisoformat(str(x)[:10]) for x in x_range)
        except ValueError:
            break
        return f"{min(start, end).isoformat()}/{max(start, end).isoformat()}"
    periods = [p for p in (_period_of(_obs_of(pt)) for pt in (value.get("points") or [])[:200]) if p]
    if not periods:
        return None
    return _sel((min(p[0] for p in periods), max(p[1] for p in periods)))


@dash.callback(
    Output(cid("selection", MATCH), "data"),
    Output(cid("point", MATCH), "data"),
    Input(cid("chart", MATCH, unit=ALL), "clickData"),
    Input(cid("chart", MATCH, unit=ALL), "selectedData"),
    Input(cid("clear", MATCH), "n_clicks"),
    prevent_initial_call=True,
)
def select(_clicks, _selections, _clear):
    """A click selects the clicked value's period and lists that value first; a drag selects
    the dragged range. (The keyboard's way, a data-table row's "Show sources" link, is the
    permalink with its period and value selected.)"""
    trigger = ctx.triggered_id
    if not trigger or not ctx.triggered or not ctx.triggered[0]["value"]:
        return no_update, no_update
    if trigger["role"] == "clear":
        return None, None
    prop = ctx.triggered[0]["prop_id"].rsplit(".", 1)[1]
    value = ctx.triggered[0]["value"]
    if prop == "clickData":
        points = value.get("points") or []
        obs = _obs_of(points[0]) if points else None
        period = _period_of(obs)
        if period is None:
            return no_update, no_update
        return _sel(period), int(obs)
    dragged = _dragged(value)
    return (dragged, None) if dragged else (no_update, no_update)


keep_url_in_step(cid("search", MATCH), cid("url-written", MATCH))
