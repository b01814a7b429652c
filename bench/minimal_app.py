"""The smallest Dash page with one chart, served like the dashboard (scripts served locally):
what "a ready page" costs with nothing of ours in it. The benchmark compares the family
pages with it, loaded alternately in the same browser. It also has one trivial callback,
whose round trip is the HTTP part of a chart callback's floor.

    gunicorn -w 2 bench.minimal_app:server
"""
from __future__ import annotations

import math

from dash import Dash, Input, Output, dcc, html

app = Dash(__name__, serve_locally=True, title="Minimal one-graph page")
POINTS = 1000
figure = {
    "data": [{"type": "scatter", "mode": "lines+markers", "name": "series",
              "x": [f"{2000 + k // 12}-{k % 12 + 1:02d}-28" for k in range(POINTS)],
              "y": [round(50 + 40 * math.sin(k / 15), 2) for k in range(POINTS)]}],
    "layout": {"height": 380, "xaxis": {"type": "date"}, "title": {"text": "One chart"}},
}
app.layout = html.Div([
    html.H1("Minimal page"),
    dcc.Graph(id="graph", figure=figure),
    dcc.Input(id="trivial-in", value="", type="text"),
    html.P(id="trivial-out"),
])


@app.callback(Output("trivial-out", "children"), Input("trivial-in", "value"), prevent_initial_call=True)
def echo(value):
    return value


server = app.server
