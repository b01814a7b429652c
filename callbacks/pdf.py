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
import io
import logging
import os
import re
import threading
import time
import unicodedata
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


def document(body, lang: str, title: str = "Briefing note") -> str:
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
            f"<title>{markup.escape(title)}</title><style>{css}</style></head>"
            f'<body{ready}><main id="main"><div id="brief-body">{inner}</div></main>\n{script}</body></html>')


def brief_document(query_args: dict) -> str:
    """The briefing note the /brief page shows for these URL parameters, as a document."""
    from data.translation import gettext_for
    from indicators.query import one_reader
    from layouts.brief import brief_view, note
    view, families = brief_view(query_args)
    with one_reader():  # the whole note from one data version
        body = note(view, families)
    return document(body, view.lang, gettext_for(view.lang)("Briefing note"))


# --- The PDF's text -------------------------------------------------------------------------

# Noto Sans CJK draws many ideographs with the same glyph as a radical (月 and the Kangxi
# radical ⽉, 见 and ⻅), and Chromium's PDF names each glyph by the lowest code point the
# font maps to it: text copied from the PDF (or searched in it) then holds look-alike
# radicals, so a quote pasted from the PDF is not the report's text. The report texts hold
# no radicals, so each is named back by the ideograph it stands for: a Kangxi radical
# (U+2F00-2FD5) by its compatibility decomposition, a supplement radical (U+2E80-2EF3) by
# the ideograph it shares its glyph with in Noto Sans CJK (as in Unicode's
# EquivalentUnifiedIdeograph.txt). Pairs: radical, ideograph.
_SUPPLEMENT = ("⺂乛⺃乚⺅亻⺇𠘨⺉刂⺋㔾⺍𭕄⺎兀⺏尣⺐尢⺒巳⺓幺⺔彑⺕彐⺖忄⺘扌⺙攵⺛旡⺞歺⺟母⺠民⺡氵⺣灬⺤爫⺦丬"
               "⺨犭⺩𤣩⺫罒⺭礻⺮𥫗⺯糹⺰纟⺱罓⺲罒⺳㓁⺹耂⺺肀⺽𦥑⺾艹⺿艹⻂衤⻃覀⻄西⻅见⻆角⻇𧢲⻈讠⻉贝⻊𧾷⻋车"
               "⻌辶⻍辶⻎辶⻐钅⻑長⻒镸⻓长⻔门⻕𨸏⻖阝⻘青⻙韦⻚页⻛风⻜飞⻝食⻞𩙿⻟飠⻠饣⻡𩠐⻢马⻣骨⻤鬼⻥鱼"
               "⻦鸟⻧卤⻨麦⻩黄⻪黾⻫斉⻬齐⻭歯⻮齿⻯竜⻰龙⻱龜⻲亀⻳龟")
LOOK_ALIKES = {_SUPPLEMENT[i]: _SUPPLEMENT[i + 1] for i in range(0, len(_SUPPLEMENT), 2)}
LOOK_ALIKES.update({chr(c): unicodedata.normalize("NFKC", chr(c)) for c in range(0x2F00, 0x2FD6)})
# The same for Latin ligatures: "briefing" drawn with the fi ligature is named "brieﬁng".
LOOK_ALIKES.update({chr(c): unicodedata.normalize("NFKC", chr(c)) for c in range(0xFB00, 0xFB07)})
_HEX = re.compile(r"<([0-9A-Fa-f]+)>")


def _utf16(hexa: str) -> str:
    return bytes.fromhex(hexa).decode("utf-16-be", errors="surrogatepass")


def _cmap_entries(text: str) -> dict[str, str] | None:
    """A ToUnicode CMap's mapping (source code in hex -> text), or None when it has a form
    this reader does not know (then it is left as it is)."""
    out: dict[str, str] = {}
    for kind, body in re.findall(r"begin(bfchar|bfrange)(.*?)end\1", text, re.S):
        for line in body.strip().splitlines():
            if not line.strip():
                continue
            if kind == "bfchar":
                m = re.fullmatch(r"\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*", line)
                if not m:
                    return None
                out[m.group(1).upper()] = _utf16(m.group(2))
                continue
            m = re.fullmatch(r"\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*(<[0-9A-Fa-f]+>|\[.*\])\s*", line)
            if not m:
                return None
            lo, hi, width = int(m.group(1), 16), int(m.group(2), 16), len(m.group(1))
            targets = _HEX.findall(m.group(3))
            for k, code in enumerate(range(lo, hi + 1)):
                if m.group(3).startswith("["):
                    if k >= len(targets):
                        return None
                    dst = _utf16(targets[k])
                else:
                    start = _utf16(targets[0])
                    dst = start[:-1] + chr(ord(start[-1]) + k)
                out[f"{code:0{width}X}"] = dst
    return out


def _cmap_text(entries: dict[str, str], template: str) -> str:
    """``template`` (a ToUnicode CMap) with its mappings replaced by ``entries``."""
    items = sorted(entries.items())
    blocks = []
    for i in range(0, len(items), 100):  # at most 100 entries per block
        chunk = items[i:i + 100]
        lines = "\n".join(f"<{k}> <{v.encode('utf-16-be', errors='surrogatepass').hex().upper()}>" for k, v in chunk)
        blocks.append(f"{len(chunk)} beginbfchar\n{lines}\nendbfchar")
    head = template[:template.index("endcodespacerange") + len("endcodespacerange")]
    return f"{head}\n" + "\n".join(blocks) + "\nendcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n"


def plain_text(data: bytes) -> bytes:
    """The PDF with every glyph that Chromium named by a radical named by its ideograph, and
    every ligature by its letters (the drawing is untouched: only the fonts' ToUnicode maps
    change), so the PDF's text is the page's text, code point for code point."""
    from pypdf import PdfReader, PdfWriter
    from pypdf.generic import NameObject
    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(data)))
    changed, seen = 0, set()
    for page in writer.pages:
        fonts = page.get("/Resources", {}).get("/Font")
        for ref in (fonts.get_object().values() if fonts is not None else ()):
            font = ref.get_object()
            if "/ToUnicode" not in font:
                continue
            stream_ref = font[NameObject("/ToUnicode")]
            key = getattr(stream_ref, "idnum", id(stream_ref))
            if key in seen:
                continue
            seen.add(key)
            stream = stream_ref.get_object()
            text = stream.get_data().decode("latin-1")
            entries = _cmap_entries(text)
            if not entries or not any(c in LOOK_ALIKES for v in entries.values() for c in v):
                continue
            fixed = {k: "".join(LOOK_ALIKES.get(c, c) for c in v) for k, v in entries.items()}
            stream.set_data(_cmap_text(fixed, text).encode("latin-1"))
            changed += 1
    if not changed:
        return data
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


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
                    printed = page.pdf(format="A4", print_background=True, margin=MARGIN)
                finally:
                    browser.close()
        except PlaywrightError as exc:
            if "Timeout" in type(exc).__name__ or "imeout" in str(exc):
                raise errors.HTTPProblem(503, f"The PDF took longer than {limit:g} s (PKPI_PDF_SECONDS) and was "
                                              f"stopped; try again, or print the page from the browser.") from None
            raise
    finally:
        _lock.release()
    return plain_text(printed)
