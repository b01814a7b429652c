"""Plain HTTP routes beside the Dash callbacks: downloads for analysts and scripts.

``/download/observations.csv`` (and ``.xlsx``, with a second sheet of sources) takes the
same parameters as the pages' URLs (``family``, ``ind``, ``area``, ``from``, ``to``,
``sel``, ``total``) plus ``source`` and ``name`` (the file name stem), builds the same
``View`` and so the same query as the chart it was linked from. The CSV is streamed: the
whole store is never held in memory.
"""
from __future__ import annotations

import io
import os
import re
import threading
from dataclasses import replace
from datetime import date

from flask import Flask, Response, request, stream_with_context

from data import settings
from data.export import export_xlsx, iter_csv
from indicators import vocabulary as vocab
from indicators.view import View, parse_ids

_NAME = re.compile(r"[^A-Za-z0-9_.\-]+")


def _filters_and_name(args):
    """The View a page's URL describes, as the Filters of the one query, and a file stem."""
    family = args.get("family", "")
    if family and family not in vocab.FAMILIES:
        raise ValueError(f"unknown family {family!r}; known: {', '.join(vocab.FAMILIES)}")
    bad = View.malformed(args)
    if bad:
        raise ValueError(f"not a list of ids: {', '.join(bad)} (ids are letters, digits, _ . -, "
                         f"separated by commas)")
    view = View.from_query(args.to_dict(), family)
    filters = view.filters(selected_only=view.selection is not None)
    sources = parse_ids(args.get("source"))
    if sources:
        filters = replace(filters, sources=sources)
    stem = _NAME.sub("-", args.get("name") or family or "observations").strip("-") or "observations"
    return filters, f"{stem}_{date.today().isoformat()}"


def _bad_request(exc: Exception) -> Response:
    return Response(f"{exc}\n", status=400, mimetype="text/plain")


def observations_csv():
    try:
        filters, stem = _filters_and_name(request.args)
    except ValueError as exc:
        return _bad_request(exc)
    filename = f"{stem}.csv"
    return Response(stream_with_context(iter_csv(filters)), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "Cache-Control": "no-store"})


def observations_xlsx():
    try:
        filters, stem = _filters_and_name(request.args)
    except ValueError as exc:
        return _bad_request(exc)
    buf = io.BytesIO()
    export_xlsx(buf, filters)
    return Response(buf.getvalue(),
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{stem}.xlsx"',
                             "Cache-Control": "no-store"})


_pdf_lock = threading.Lock()  # one Chromium at a time: a PDF costs a few hundred MB
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def brief_pdf():
    """The briefing page printed to A4 by headless Chromium on this machine: the same page
    the officer sees, offline (it loads only this server's own URL)."""
    chromium = settings.get("PKPI_CHROMIUM")
    if not os.path.exists(chromium):
        return Response(f"PDF needs Chromium, not found at {chromium} (install Debian's chromium package, "
                        f"or set PKPI_CHROMIUM). Printing from the browser gives the same page.\n",
                        status=503, mimetype="text/plain")
    from playwright.sync_api import sync_playwright

    url = request.host_url.rstrip("/") + "/brief" + (("?" + request.query_string.decode()) if request.query_string else "")
    with _pdf_lock, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page()
            page.goto(url, wait_until="networkidle")
            page.wait_for_selector("#brief-page")
            page.emulate_media(media="print")
            pdf = page.pdf(format="A4", print_background=True,
                           margin={"top": "12mm", "bottom": "12mm", "left": "12mm", "right": "12mm"})
        finally:
            browser.close()
    name = f"briefing-note_{date.today().isoformat()}.pdf"
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


def register(server: Flask) -> None:
    server.add_url_rule("/download/observations.csv", "observations_csv", observations_csv)
    server.add_url_rule("/download/observations.xlsx", "observations_xlsx", observations_xlsx)
    server.add_url_rule("/brief.pdf", "brief_pdf", brief_pdf)
