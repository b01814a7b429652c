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
    # Dash's page template has no lang attribute; screen readers need it.
    app.index_string = app.index_string.replace("<html>", '<html lang="en">', 1)
    import callbacks
    from callbacks import routes

    callbacks.load()  # registers every page's callbacks (@dash.callback)
    routes.register(app.server)

    app.layout = html.Div([
        dcc.Location(id="url"),
        html.Header([
            html.A("Peacekeeping Performance Indicators", href="/", className="site-title"),
            html.Nav([html.A(page["name"], href=page["relative_path"])
                      for page in dash.page_registry.values() if page.get("nav", True)],
                     className="site-nav", **{"aria-label": "Pages"}),
        ], className="site-header"),
        html.Main(dash.page_container, id="main"),
    ], lang="en")
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
