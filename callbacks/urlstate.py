"""Keep the address bar in step with a page's view, without reloading the page.

Pages write their view's query string into a store; this clientside callback puts it in
the URL with ``history.replaceState``. Changing the query string through dcc.Location
instead would make Dash's page router rebuild the whole layout on every change.
"""
from __future__ import annotations

from dash import Input, Output, clientside_callback

_REPLACE_URL = """
function(search) {
    if (search === undefined || search === null) { return window.dash_clientside.no_update; }
    const url = window.location.pathname + search + window.location.hash;
    if (url !== window.location.pathname + window.location.search + window.location.hash) {
        window.history.replaceState(window.history.state, "", url);
    }
    return search;
}
"""


def keep_url_in_step(search_store, written_store) -> None:
    """Register the URL writer for one page: ``search_store`` holds the view's query string
    (``?a=b``); ``written_store`` receives what was written (ids may be pattern-matching)."""
    clientside_callback(_REPLACE_URL, Output(written_store, "data"), Input(search_store, "data"),
                        prevent_initial_call=True)
