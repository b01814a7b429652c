"""Security headers on every response (issue 11).

- ``Content-Security-Policy``: scripts only from this server, plus Dash's own inline
  scripts (its renderer start and the clientside callbacks) by their SHA-256 hashes
  (``app.csp_hashes()``), so an injected ``<script>`` would not run; no ``'unsafe-eval'``
  (the Plotly bundle served here draws without it). Styles allow inline ones: React and
  Plotly set element styles and Plotly adds ``<style>`` elements. Images and fonts from
  this server and ``data:`` URLs (Plotly's and the browser date picker's icons); requests
  only to this server; no plugins; no framing (``frame-ancestors 'none'``); forms and
  ``<base>`` only to this server. Everything the site needs is served by itself (no CDN),
  which is what lets the policy be this narrow.
- ``X-Frame-Options: DENY`` for browsers that do not read ``frame-ancestors``.
- ``X-Content-Type-Options: nosniff``: a download is never run as a script or page.
- ``Referrer-Policy: same-origin``: a page's address (its filters) is not sent to the
  official document links it offers.
"""
from __future__ import annotations

from flask import Response

STATIC = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}


def policy(script_hashes) -> str:
    return "; ".join([
        "default-src 'self'",
        "script-src 'self' " + " ".join(script_hashes),
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ])


def install(app) -> None:
    """Add the headers to every answer of ``app.server`` (pages, callbacks, downloads,
    errors). The hashes are taken when a response is made, so inline scripts Dash adds at
    its first request are included."""
    cached: dict = {}

    def current_policy() -> str:
        hashes = tuple(dict.fromkeys(app.csp_hashes()))
        if cached.get("hashes") != hashes:
            cached.update(hashes=hashes, policy=policy(hashes))
        return cached["policy"]

    @app.server.after_request
    def _secure(response: Response) -> Response:
        for name, value in STATIC.items():
            response.headers.setdefault(name, value)
        response.headers.setdefault("Content-Security-Policy", current_policy())
        return response
