"""The briefing note as a PDF, made without the network.

The note is drawn in this process (``layouts.brief.note``, the same components the /brief
page shows), written out as one self-contained HTML document (the site's stylesheet inline,
Plotly's bundle inline when the note has charts) and handed to headless Chromium with
``page.set_content``. Chromium is given no address to load, so:

- nothing the request says (its Host header above all) decides what Chromium reads: a
  forged Host once made the server's Chromium print another local server's page;
- a PDF never waits for a second request to the same server pool: two PDFs at once on a
  two-worker gunicorn once froze both workers (each Chromium waited for the other worker);
- every request Chromium would make anyway (an image, frame, stylesheet, fetch or
  WebSocket) is refused three times over: routed to an abort, the context offline, and
  every host name (IP literals included) resolving to nothing.

One PDF at a time per process (a Chromium costs a few hundred MB), with a time limit
(``PKPI_PDF_SECONDS``) that covers the wait for the lock too, so a stuck Chromium answers
503 instead of holding a server worker until gunicorn kills it.
"""
from __future__ import annotations

import html as markup
import logging
import os
import re
import threading
import time
from pathlib import Path

from plotly.io.json import to_json_plotly

from callbacks import errors
from data import settings

ASSETS = Path(__file__).resolve().parent.parent / "assets"
PLOTLY_BUNDLE = ASSETS / "vendor" / "plotly-cartesian-4.1.1.min.js"  # the bundle app.py serves
STYLESHEET = ASSETS / "style.css"

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run",
                 "--disable-default-apps", "--disable-extensions", "--disable-domain-reliability",
                 "--no-pings", "--dns-prefetch-disable",
                 # Every name, and every IP literal, resolves to nothing: a request that slipped
                 # past the routing below still reaches no server.
                 "--host-resolver-rules=MAP * ~NOTFOUND"]
# What the document may use; anything else is refused by Chromium before any routing.
CSP = ("default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
       "img-src data:; font-src data:; connect-src 'none'; frame-src 'none'; base-uri 'none'; form-action 'none'")
MARGIN = {"top": "12mm", "bottom": "12mm", "left": "12mm", "right": "12mm"}

_lock = threading.Lock()  # one Chromium per process at a time
log = logging.getLogger(__name__)


# --- The document --------------------------------------------------------------------------

# Attributes written as they are (besides data-* and aria-*); Dash's names on the left.
_ATTRIBUTES = {"id": "id", "className": "class", "href": "href", "title": "title", "lang": "lang", "role": "role",
               "scope": "scope", "htmlFor": "for", "colSpan": "colspan", "rowSpan": "rowspan", "dir": "dir",
               "tabIndex": "tabindex", "hidden": "hidden"}
# Dash's bookkeeping props: nothing to print.
_IGNORED = {"n_clicks", "n_clicks_timestamp", "disable_n_clicks", "loading_state", "key", "setProps"}
_VOID = {"br", "hr", "img", "wbr"}
_SAFE_HREF = re.compile(r"^(#|https?://|/)")
_CAMEL = re.compile(r"[A-Z]")


class Unprintable(ValueError):
    """A component or prop the printer does not know: said, never silently dropped."""


def _style(style: dict) -> str:
    """React's style object as CSS: ``{"marginTop": "1rem"}`` is ``margin-top: 1rem``."""
    return "; ".join(_CAMEL.sub(lambda m: "-" + m.group(0).lower(), k) + f": {v}" for k, v in style.items())


def _attributes(props: dict, where: str) -> str:
    out = []
    for name, value in props.items():
        if name == "children" or name in _IGNORED or value is None or value is False:
            continue
        if name == "style":
            attr, value = "style", _style(value)
        elif name.startswith(("data-", "aria-")):
            attr = name
        elif name in _ATTRIBUTES:
            attr = _ATTRIBUTES[name]
        else:
            raise Unprintable(f"{where}: prop {name!r} has no printed form")
        if attr == "href" and not _SAFE_HREF.match(str(value)):
            continue  # a javascript: or other scheme is not a link worth printing
        out.append(f" {attr}" if value is True else f' {attr}="{markup.escape(str(value), quote=True)}"')
    return "".join(out)


def static_html(node, charts: list) -> str:
    """HTML of a Dash component tree (html.* components and dcc.Graph); every text and
    attribute escaped. Each dcc.Graph becomes an empty box plus an entry in ``charts``
    (id, figure, config), drawn by Plotly in the document."""
    if node is None or node is False:
        return ""
    if isinstance(node, (list, tuple)):
        return "".join(static_html(n, charts) for n in node)
    if isinstance(node, (str, int, float)):
        return markup.escape(str(node), quote=False)
    kind, namespace = getattr(node, "_type", None), getattr(node, "_namespace", None)
    props = {k: v for k, v in node.to_plotly_json()["props"].items()}
    if namespace == "dash_core_components" and kind == "Graph":
        box = f"pkpi-chart-{len(charts)}"
        charts.append({"box": box, "figure": props.get("figure") or {}, "config": props.get("config") or {}})
        outer = {k: v for k, v in props.items() if k in ("id", "className", "style")}
        outer["className"] = " ".join(filter(None, ["dash-graph", outer.get("className")]))
        return f'<div{_attributes(outer, "Graph")}><div id="{box}" class="js-plotly-plot"></div></div>'
    if namespace != "dash_html_components":
        raise Unprintable(f"{namespace}.{kind} has no printed form")
    tag = kind.lower()
    attrs = _attributes(props, f"html.{kind}")
    if tag in _VOID:
        return f"<{tag}{attrs}>"
    return f"<{tag}{attrs}>{static_html(props.get('children'), charts)}</{tag}>"


def _script_json(value) -> str:
    """JSON safe inside a <script> element (no "</script>" or "<!--" can be formed)."""
    return value.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def document(body, lang: str) -> str:
    """One self-contained HTML document of ``body`` (a Dash component) as the print
    stylesheet shows it inside the site's <main>; it names no address at all."""
    charts: list = []
    inner = static_html(body, charts)
    css = STYLESHEET.read_text(encoding="utf-8")
    script = ""
    if charts:
        plots = _script_json(to_json_plotly([{"box": c["box"], "data": c["figure"].get("data", []),
                                              "layout": c["figure"].get("layout", {}), "config": c["config"]}
                                             for c in charts]))
        script = (f"<script>{PLOTLY_BUNDLE.read_text(encoding='utf-8')}</script>\n"
                  f"<script>window.pkpiDone = Promise.all({plots}.map(function (c) {{"
                  f" return Plotly.newPlot(document.getElementById(c.box), c.data, c.layout, c.config); }}))"
                  f".then(function () {{ document.body.setAttribute('data-printed', 'yes'); }},"
                  f" function (e) {{ document.body.setAttribute('data-printed', 'failed: ' + e); }});</script>")
    ready = "" if charts else ' data-printed="yes"'
    html_lang = "zh-Hans" if lang == "zh" else "en"
    return (f'<!DOCTYPE html>\n<html lang="{html_lang}"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            f"<title>Briefing note</title><style>{css}</style></head>"
            f'<body{ready}><main id="main"><div id="brief-body">{inner}</div></main>\n{script}</body></html>')


def brief_document(query_args: dict) -> str:
    """The briefing note the /brief page shows for these URL parameters, as a document."""
    from layouts.brief import brief_view, note
    view, families = brief_view(query_args)
    return document(note(view, families), view.lang)


# --- Chromium ------------------------------------------------------------------------------

def limit_seconds() -> float:
    text = settings.get("PKPI_PDF_SECONDS")
    try:
        value = float(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise errors.HTTPProblem(503, f"setting PKPI_PDF_SECONDS={text!r} must be a number of seconds above 0.")
    return value


def chromium_path() -> str:
    chromium = settings.get("PKPI_CHROMIUM")
    if not os.path.exists(chromium):
        raise errors.HTTPProblem(503, f"PDF needs Chromium, not found at {chromium} (install Debian's "
                                      f"chromium package, or set PKPI_CHROMIUM). Printing from the browser "
                                      f"gives the same page.")
    return chromium


def _refuse(route) -> None:
    url = route.request.url
    if url.startswith(("data:", "about:")):
        route.continue_()
        return
    log.warning("PDF: Chromium asked for %s; refused", url[:200])
    route.abort("blockedbyclient")


def print_pdf(doc: str, started: float | None = None) -> bytes:
    """``doc`` printed to A4 by headless Chromium, with no network: every request it makes
    that is not data: or about: is refused. 503 when Chromium is missing, or when the wait
    for this process's Chromium and the printing take longer than the limit, counted from
    ``started`` (``time.monotonic()`` when the request began; now by default)."""
    chromium = chromium_path()
    limit = limit_seconds()
    started = time.monotonic() if started is None else started
    if not _lock.acquire(timeout=max(0.0, limit - (time.monotonic() - started))):
        raise errors.HTTPProblem(503, f"This server is busy making another PDF and it did not finish within "
                                      f"{limit:g} s; try again in a moment, or print the page from the browser.")
    try:
        from playwright.sync_api import Error as PlaywrightError, sync_playwright
        try:
            with sync_playwright() as p:
                left = lambda: max(1.0, limit - (time.monotonic() - started)) * 1000  # noqa: E731
                browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, timeout=left())
                try:
                    context = browser.new_context(offline=True, service_workers="block", java_script_enabled=True)
                    context.route("**/*", _refuse)
                    context.route_web_socket("**/*", lambda ws: ws.close())
                    page = context.new_page()
                    page.set_default_timeout(left())
                    page.set_content(doc, wait_until="load", timeout=left())
                    page.wait_for_function("document.body.getAttribute('data-printed') !== null", timeout=left())
                    state = page.evaluate("document.body.getAttribute('data-printed')")
                    if state != "yes":
                        raise errors.HTTPProblem(500, f"The note's charts could not be drawn for the PDF ({state}).")
                    page.emulate_media(media="print")
                    return page.pdf(format="A4", print_background=True, margin=MARGIN)
                finally:
                    browser.close()
        except PlaywrightError as exc:
            if "Timeout" in type(exc).__name__ or "imeout" in str(exc):
                raise errors.HTTPProblem(503, f"The PDF took longer than {limit:g} s (PKPI_PDF_SECONDS) and was "
                                              f"stopped; try again, or print the page from the browser.") from None
            raise
    finally:
        _lock.release()
