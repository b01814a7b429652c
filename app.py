"""Serve the dashboard: ``python app.py [--host H] [--port P]``.

Wiring only: build the store on first run, create the Dash app with its pages
(``layouts/``) and callbacks (``callbacks/``), and serve it.
"""
from __future__ import annotations

import argparse

import dash
from dash import Dash, dcc, html
from flask_compress import Compress

from data import settings
from data.build import ensure_built


# Plotly's cartesian partial bundle (npm plotly.js-cartesian-dist-min, the plotly.js version
# Dash's plotly package ships; MIT licence beside it): every chart here is a scatter or bar
# trace, and this bundle is 1.5 MB against the full bundle's 4.8 MB, which every page load
# would otherwise parse. Loaded as the first script after React, so `window.Plotly` exists
# before dcc.Graph looks for it (it then never fetches the full bundle) and before any asset
# (a Plotly locale in assets/ registers itself with it). Not auto-included as an asset.
PLOTLY_BUNDLE = "vendor/plotly-cartesian-4.1.1.min.js"


def _check_settings() -> None:
    """Settings read only when a request comes are read once now, so a mistake stops the
    server at start with the setting named (``ServingRefused``), not a page at its first use."""
    from data import access
    from data.build import ServingRefused
    try:
        access.check_settings()
    except ValueError as exc:
        raise ServingRefused(str(exc)) from None


def create_app() -> Dash:
    _check_settings()
    ensure_built(serving=True)  # says plainly when the store cannot be used (ServingRefused)
    app = Dash(
        __name__,
        use_pages=True,
        pages_folder="layouts",
        assets_folder="assets",
        assets_ignore=r"^plotly-cartesian-.*\.js$",  # listed first below, not among the assets
        serve_locally=True,  # no CDN: the app serves every script and style itself
        title="Peacekeeping Performance Indicators",
        suppress_callback_exceptions=True,
    )
    app.config.external_scripts.append(app.get_asset_url(PLOTLY_BUNDLE))
    _never_blank(dash.page_registry)
    # Compressed responses: the first visit is about 6 MB of JavaScript as sent by Dash and
    # under 2 MB compressed (brotli where the browser accepts it, else gzip); field missions
    # often work over satellite links. Level 4 brotli costs little CPU per response.
    app.server.config.update(COMPRESS_ALGORITHM=["br", "gzip"], COMPRESS_BR_LEVEL=4,
                             COMPRESS_MIN_SIZE=1024, COMPRESS_MIMETYPES=[
                                 "text/html", "text/css", "text/csv", "text/plain", "application/json",
                                 "application/javascript", "text/javascript", "image/svg+xml"])
    Compress(app.server)
    # Dash's page template has no lang attribute; screen readers need it (the shell's
    # callback switches it to zh-Hans with the interface).
    app.index_string = app.index_string.replace("<html>", '<html lang="en">', 1)
    import callbacks
    from callbacks import errors, guard, headers, routes, shell, updates

    callbacks.load()  # registers every page's callbacks (@dash.callback)
    routes.register(app.server)
    # One error handler for every route; an unknown page answers 404 with the site around it.
    errors.register(app.server, page_index=app.index, known_page=shell.known_page)
    updates.register(app)  # template and withdrawal-request downloads, status JSON
    guard.install(app)  # a callback body that is not one of this app's answers 400, never 500
    headers.install(app)  # Content-Security-Policy and the other security headers, every response

    app.layout = html.Div([
        dcc.Location(id="url"),
        html.A("Skip to content", href="#main", className="skip-link"),
        html.Header([
            html.A("Peacekeeping Performance Indicators", href="/", id="site-title", className="site-title"),
            html.Nav(id="site-nav", className="site-nav", **{"aria-label": "Pages"}),
            html.Div([
                html.Button("中文", id="site-lang", className="button small", lang="zh-Hans"),
                html.Label("As of", htmlFor="site-asof", id="site-asof-label"),
                # Typed (checked before anything changes) or picked from the browser's calendar.
                dcc.Input(id="site-asof", type="text", placeholder="YYYY-MM-DD", debounce=True,
                          size=10, className="asof-input", autoComplete="off"),
                # The browser's own calendar (<input type="date">), put here by assets/asof.js:
                # Dash 4 has no plain input element, and its date picker cannot report a
                # mistyped date. The span's title is the calendar's label, in the language.
                html.Span(id="site-asof-picker-slot", className="asof-picker-slot",
                          title="Pick the as-of date from a calendar"),
                html.Button("Apply", id="site-asof-apply", className="button small"),
                html.Button("Today", id="site-asof-clear", className="button small"),
                html.P(id="site-asof-message", className="asof-message", role="status",
                       **{"aria-live": "polite"}),
            ], className="site-tools"),
        ], className="site-header"),
        html.Main([html.Div(id="site-status", className="site-status"), dash.page_container],
                  id="main", tabIndex="-1"),
        dcc.Store(id="site-lang-written"),
        dcc.Store(id="site-asof-texts"),
    ])
    return app


def _never_blank(registry) -> None:
    """Each page is drawn with one reader of the store (so from one data version). A page
    whose layout fails shows a message saying so, in place of the page, instead of
    an empty screen (Dash renders nothing when the page's callback answers 500). The error
    is logged with its traceback; the rest of the site keeps working."""
    import functools
    import logging

    from data.translation import gettext_for
    from indicators.query import one_reader

    def guarded(layout, path):
        @functools.wraps(layout)
        def draw(**query):
            try:
                with one_reader():  # every read of the page: one data version
                    return layout(**query)
            except Exception:
                logging.getLogger(__name__).exception("page %s could not be drawn", path)
                lang = "zh" if query.get("lang") == "zh" else "en"
                _ = gettext_for(lang)
                return html.Div([
                    html.H1(_("This page could not be drawn")),
                    html.P(_("Something went wrong on the server while drawing this page with this "
                             "address; what went wrong is in the server's log. The other pages, and this "
                             "page without the parameters of its address, may still work."))],
                    className="message error", role="alert", id="page-failed")
        return draw

    for page in registry.values():
        if callable(page.get("layout")):
            page["layout"] = guarded(page["layout"], page["path"])


def warm_up(app: Dash) -> None:
    """Pay once, at start, what the first visitor would otherwise wait for: lazy imports of
    the page code, the JSON encoder, and the store's first queries (each server worker has
    its own process, so each warms itself)."""
    import logging

    from dash._utils import to_json
    with app.server.test_client() as client:
        for path in ("/", "/_dash-layout", "/_dash-dependencies"):
            client.get(path)
    try:
        for page in dash.page_registry.values():
            if page["path"] == "/fatalities":  # one family page: its code paths, a small query
                layout = page["layout"]
                to_json(layout() if callable(layout) else layout)
    except Exception:  # a slow first visit is better than no server
        logging.getLogger(__name__).exception("warm-up failed; serving anyway")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description="Serve the peacekeeping indicators dashboard.")
    p.add_argument("--host", default=settings.get("PKPI_HOST"), help="address (default %(default)s)")
    p.add_argument("--port", type=int, default=int(settings.get("PKPI_PORT")),
                   help="port (default %(default)s)")
    args = p.parse_args(argv)
    from data.build import ServingRefused
    try:
        app = create_app()
    except ServingRefused as exc:
        raise SystemExit(f"not started: {exc}") from None
    from data.watcher import serve_dropbox
    serve_dropbox()  # the drop folder's folders, and its watcher unless PKPI_WATCH=0
    app.run(host=args.host, port=args.port, debug=settings.get("PKPI_DEBUG") == "1")


if __name__ == "__main__":
    main()
