"""Serve the dashboard: ``python app.py [--host H] [--port P]``.

Wiring only: build the store on first run, create the Dash app with its pages
(``layouts/``) and callbacks (``callbacks/``), and serve it.
"""
from __future__ import annotations

import argparse

import dash
from dash import Dash, dcc, html

from data import settings
from data.build import ensure_built


def create_app() -> Dash:
    ensure_built()
    app = Dash(
        __name__,
        use_pages=True,
        pages_folder="layouts",
        assets_folder="assets",
        serve_locally=True,  # no CDN: the app serves every script and style itself
        title="Peacekeeping Performance Indicators",
        suppress_callback_exceptions=True,
    )
    # Dash's page template has no lang attribute; screen readers need it (the shell's
    # callback switches it to zh-Hans with the interface).
    app.index_string = app.index_string.replace("<html>", '<html lang="en">', 1)
    import callbacks
    from callbacks import routes, updates

    callbacks.load()  # registers every page's callbacks (@dash.callback)
    routes.register(app.server)
    updates.register(app)  # template download, status JSON, and the watcher if PKPI_WATCH=1

    app.layout = html.Div([
        dcc.Location(id="url"),
        html.A("Skip to content", href="#main", className="skip-link"),
        html.Header([
            html.A("Peacekeeping Performance Indicators", href="/", id="site-title", className="site-title"),
            html.Nav(id="site-nav", className="site-nav", **{"aria-label": "Pages"}),
            html.Div([
                html.Button("中文", id="site-lang", className="button small", lang="zh-Hans"),
                html.Label("As of", htmlFor="site-asof", id="site-asof-label"),
                dcc.Input(id="site-asof", type="text", placeholder="YYYY-MM-DD", debounce=True,
                          pattern=r"\d{4}-\d{2}-\d{2}", size=10, className="asof-input"),
                html.Button("Apply", id="site-asof-apply", className="button small"),
                html.Button("Today", id="site-asof-clear", className="button small"),
            ], className="site-tools"),
        ], className="site-header"),
        html.Main(dash.page_container, id="main", tabIndex="-1"),
        dcc.Store(id="site-lang-written"),
    ])
    return app


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description="Serve the peacekeeping indicators dashboard.")
    p.add_argument("--host", default=settings.get("PKPI_HOST"), help="address (default %(default)s)")
    p.add_argument("--port", type=int, default=int(settings.get("PKPI_PORT")),
                   help="port (default %(default)s)")
    args = p.parse_args(argv)
    app = create_app()
    app.run(host=args.host, port=args.port, debug=settings.get("PKPI_DEBUG") == "1")


if __name__ == "__main__":
    main()
