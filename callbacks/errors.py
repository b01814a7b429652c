"""One error shape for every route, in one handler (as Datasette has one exception handler).

Every error answer has a status, a short title and a message (one line per problem):

- downloads and other plain routes: ``text/plain``, the first line ``400 Bad request``, then
  the message;
- ``.json`` routes: ``{"status": 400, "title": "Bad request", "message": "...",
  "problems": [{"parameter", "given", "expected", "message"}]}``;
- pages: the site itself with the status (an unknown page answers 404 with the site's
  navigation and a page saying so; ``layouts/not_found_404.py``). A page URL with a
  parameter that cannot be read is not an error: the page shows the same message above
  it and keeps the rest of the view (``callbacks/shell.py``).

Routes raise ``Problem`` (or let Werkzeug raise its HTTP errors); ``register`` installs the
handler.
"""
from __future__ import annotations

import json
import logging

from flask import Flask, Response, request
from werkzeug.exceptions import HTTPException

TITLES = {400: "Bad request", 404: "Not found", 405: "Method not allowed", 500: "Internal error",
          503: "Unavailable"}


class HTTPProblem(Exception):
    """An answer other than 200: ``problems`` are ``indicators.view.Problem`` (each a line)."""

    def __init__(self, status: int, message: str = "", problems=(), title: str | None = None):
        self.status = status
        self.title = title or TITLES.get(status, "Error")
        self.problems = tuple(problems)
        self.message = message or "\n".join(str(p) for p in self.problems)
        super().__init__(self.message)


def bad_request(problems) -> HTTPProblem:
    return HTTPProblem(400, problems=problems)


def _wants_json() -> bool:
    return request.path.endswith(".json")


def _is_page() -> bool:
    """A page address (no file extension, not one of the app's own routes)."""
    last = request.path.rstrip("/").rsplit("/", 1)[-1]
    return request.method == "GET" and "." not in last and not request.path.startswith(
        ("/download/", "/_dash", "/assets/", "/updates/status"))


def respond(exc: HTTPProblem, page_index=None) -> Response:
    headers = {"Cache-Control": "no-store"}
    if _wants_json():
        body = {"status": exc.status, "title": exc.title, "message": exc.message,
                "problems": [p.as_dict() for p in exc.problems]}
        return Response(json.dumps(body, ensure_ascii=False, indent=1) + "\n", status=exc.status,
                        mimetype="application/json", headers=headers)
    if page_index is not None and _is_page():
        # The site itself, with the status: the shell draws the navigation and the page
        # router draws layouts/not_found_404.py for an unknown path.
        return Response(page_index(), status=exc.status, mimetype="text/html", headers=headers)
    return Response(f"{exc.status} {exc.title}\n{exc.message}\n", status=exc.status, mimetype="text/plain",
                    headers=headers)


def register(server: Flask, page_index=None, known_page=None) -> None:
    """Install the one handler on ``server``. With ``page_index`` (the Dash app's index
    view) and ``known_page`` (path -> bool), an unknown page address answers 404 with the
    site, instead of Dash's catch-all 200."""

    def handle_problem(exc: HTTPProblem):
        return respond(exc, page_index)

    def handle_http(exc: HTTPException):
        if exc.code == 404:
            message = f"Nothing is served at {request.path}."
        else:
            message = exc.description or ""
        return respond(HTTPProblem(exc.code or 500, message, title=TITLES.get(exc.code, exc.name)), page_index)

    def handle_other(exc: Exception):
        if isinstance(exc, HTTPException):
            return handle_http(exc)
        logging.getLogger(__name__).exception("error answering %s", request.path)
        return respond(HTTPProblem(500, f"The server could not answer {request.path}; what went wrong is in "
                                        f"the server's log."), page_index)

    server.register_error_handler(HTTPProblem, handle_problem)
    server.register_error_handler(HTTPException, handle_http)
    server.register_error_handler(Exception, handle_other)

    if known_page is not None:
        @server.before_request
        def _unknown_page():
            rule = request.url_rule
            if rule is not None and rule.rule in ("/", "/<path:path>") and not known_page(request.path):
                raise HTTPProblem(404, f"Nothing is served at {request.path}: the pages are linked at the top of the site; the downloads are /download/observations.csv, .xlsx and .json.")
