"""The page drawn at an address that is no page of the site (Dash uses a page module named
``not_found_404``). The server answers such an address with status 404 (callbacks/errors.py);
the header around it keeps the site's navigation."""
from __future__ import annotations

import dash
from dash import html

from data.translation import gettext_for
from indicators.view import View

dash.register_page(__name__, path="/not-found", name="Not found", name_zh="未找到",
                   title="Not found · Peacekeeping indicators", order=99)


def layout(**query_args):
    view = View.from_query({k: v for k, v in query_args.items() if k in ("lang", "asof")})
    _ = gettext_for(view.lang)
    keep = view.keep()
    return html.Div([
        html.H1(_("Page not found"), id="not-found-title"),
        html.P(_("There is no page at this address. The pages of the site are listed at the top; "
                 "the overview is a good place to start."), className="lede"),
        html.P(html.A(_("Go to the overview"), href=keep.href("/"))),
    ], className="not-found", id="not-found")
