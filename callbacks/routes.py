"""Plain HTTP routes beside the Dash callbacks: downloads for analysts and scripts.

``/download/observations.csv`` (and ``.xlsx``, with a second sheet of sources, and
``.json``) takes the same parameters as the pages' URLs (``family``, ``ind``, ``area``,
``from``, ``to``, ``sel``, ``total``, ``asof``) plus ``source`` and ``name`` (the file name
stem), builds the same ``View`` and so the same query as the chart it was linked from. The
CSV and JSON are streamed: the whole store is never held in memory. A parameter that cannot
be read, or an id the store does not hold, is answered with 400 naming it (``callbacks/errors.py``),
never with other rows than were asked for.
"""
from __future__ import annotations

import tempfile
import time

from flask import Flask, Response, request, stream_with_context
from werkzeug.wsgi import wrap_file

from callbacks import errors, pdf
from data.export import TooManyRows, export_xlsx, iter_csv, iter_json
from indicators import query
from indicators.view import View


def requested_view(args) -> View:
    """The View a download's URL describes, or 400 naming every parameter that cannot be used."""
    view = View.from_query(args.to_dict()).checked()
    if view.problems:
        raise errors.bad_request(view.problems)
    query.table("sources")  # the store opens: a failure is answered before a streamed 200 begins
    return view


def _filters_and_name(args):
    """The Filters of the one query, and the file stem (what it holds, and the as-of date)."""
    view = requested_view(args)
    return view.filters(selected_only=view.selection is not None), view.file_stem()


def _attachment(filename: str) -> dict:
    return {"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"}


def _started(chunks):
    """``chunks`` with its header and first batch of rows already made: the query has run
    before the status is sent, so a failure there is answered as an error (500 with the
    site's message, or 400), never as a 200 file cut after its header."""
    import itertools
    first = list(itertools.islice(chunks, 2))
    return itertools.chain(first, chunks)


def observations_csv():
    filters, stem = _filters_and_name(request.args)
    return Response(stream_with_context(_started(iter_csv(filters))), mimetype="text/csv",
                    headers=_attachment(f"{stem}.csv"))


def observations_json():
    filters, stem = _filters_and_name(request.args)
    return Response(stream_with_context(_started(iter_json(filters))), mimetype="application/json",
                    headers=_attachment(f"{stem}.json"))


def observations_xlsx():
    """The workbook is written to an anonymous temporary file (never held in memory) and
    sent from it; rows that do not fit in one worksheet are refused, pointing to the CSV."""
    filters, stem = _filters_and_name(request.args)
    out = tempfile.TemporaryFile()
    try:
        export_xlsx(out, filters)
    except TooManyRows as exc:
        out.close()
        csv_url = "/download/observations.csv" + ("?" + request.query_string.decode("latin-1")
                                                 if request.query_string else "")
        raise errors.HTTPProblem(400, f"{exc.rows:,} rows are more than an Excel worksheet holds "
                                      f"({exc.limit:,} under its header). Download them as CSV, which has "
                                      f"no limit: {csv_url} (or narrow the selection).")
    except BaseException:
        out.close()
        raise
    size = out.tell()
    out.seek(0)
    headers = {**_attachment(f"{stem}.xlsx"), "Content-Length": str(size)}
    return Response(wrap_file(request.environ, out), direct_passthrough=True, headers=headers,
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


def brief_pdf():
    """The briefing note printed to A4 by headless Chromium on this machine: the note the
    /brief page shows for these parameters, drawn in this process and printed without any
    network (callbacks/pdf.py). Nothing in the request but its parameters is used."""
    started = time.monotonic()  # the time limit counts the note's drawing too
    view = requested_view(request.args)  # a bad date would print today's values: refuse it
    pdf.chromium_path()  # 503 before the note is drawn when there is no Chromium
    doc = pdf.brief_document(request.args.to_dict())
    name = view.with_(name="briefing-note").file_stem() + ".pdf"
    return Response(pdf.print_pdf(doc, started), mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})


def register(server: Flask) -> None:
    errors.register(server)  # app.py registers it again with the pages (404 with the site)
    server.add_url_rule("/download/observations.csv", "observations_csv", observations_csv)
    server.add_url_rule("/download/observations.xlsx", "observations_xlsx", observations_xlsx)
    server.add_url_rule("/download/observations.json", "observations_json", observations_json)
    server.add_url_rule("/brief.pdf", "brief_pdf", brief_pdf)
