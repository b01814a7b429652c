"""Plain HTTP routes beside the Dash callbacks: CSV downloads for analysts and scripts.

``/download/observations.csv`` takes the same parameters as the pages' URLs (``family``,
``ind``, ``area``, ``from``, ``to``, ``sel``) plus ``source`` and ``name`` (the file name
stem), builds the same ``View`` and so the same query as the chart it was linked from,
and streams the rows: the whole store is never held in memory.
"""
from __future__ import annotations

import re
from datetime import date

from flask import Flask, Response, request, stream_with_context

from data.export import iter_csv
from indicators import vocabulary as vocab
from indicators.view import View, _ids

_NAME = re.compile(r"[^A-Za-z0-9_.\-]+")


def observations_csv():
    args = request.args
    family = args.get("family", "")
    if family and family not in vocab.FAMILIES:
        return Response(f"unknown family {family!r}; known: {', '.join(vocab.FAMILIES)}\n",
                        status=400, mimetype="text/plain")
    view = View.from_query(family, **args.to_dict())
    filters = view.filters(selected_only=view.selection is not None)
    sources = _ids(args.get("source"))
    if sources:
        from dataclasses import replace
        filters = replace(filters, sources=sources)
    stem = _NAME.sub("-", args.get("name") or family or "observations").strip("-") or "observations"
    filename = f"{stem}_{date.today().isoformat()}.csv"
    return Response(stream_with_context(iter_csv(filters)), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "Cache-Control": "no-store"})


def register(server: Flask) -> None:
    server.add_url_rule("/download/observations.csv", "observations_csv", observations_csv)
