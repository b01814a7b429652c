"""The Updates page's callback and the drop folder's HTTP routes.

``register(app)`` adds ``/download/template.xlsx`` (the template, with the lists of the
store as it is now), ``/download/withdraw/<intake_id>.txt`` (a withdrawal request for one
accepted file, ready to fill in: staff only) and ``/updates/status.json`` (what the store
holds, who reads the inbox, and the last files processed: for monitoring and scripts; the
file names and the reading process to staff only, ``data.access``). No route serves the
drop folder's files: a refused file and its error reports stay in ``rejected/``. The watcher is
started by the serving process (``data.watcher.serve_dropbox``), not here.
"""
from __future__ import annotations

import json

import dash
import pandas as pd
import sqlalchemy as sa
from dash import Input, Output, State
from flask import Response, abort

from data import translation
from data.access import request_is_staff
from data.dropbox import Folders, inbox_files
from data.watcher import status as watch_status
from indicators import updates as log
from layouts.updates_parts import ID, content, reading_status, signature


@dash.callback(Output(f"{ID}-content", "children"), Output(f"{ID}-seen", "data"), Output(f"{ID}-reading", "children"),
               Input(f"{ID}-refresh", "n_intervals"), State(f"{ID}-seen", "data"), State(f"{ID}-lang", "data"))
def refresh(_n, seen, lang):
    lang = translation.language(lang)
    staff = request_is_staff()  # asked of this request: never of what the browser sends
    reading = reading_status(lang, staff=staff)  # every time: it says when the inbox was last looked at
    now = signature()
    if now == seen:
        return dash.no_update, dash.no_update, reading
    return content(lang, staff), now, reading


# --- HTTP routes ---------------------------------------------------------------------------

def template_xlsx():
    from data.template import template_bytes
    return Response(template_bytes(),
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": 'attachment; filename="pkpi-template.xlsx"',
                             "Cache-Control": "no-store"})


def withdraw_request(intake_id: int):
    """A request to withdraw one accepted file: the staff member writes the reason and saves
    it into the inbox. For staff only: it names the file as it was kept."""
    if not request_is_staff():
        return _staff_only()
    from data import schema
    from data.stores import open_store
    from data.withdraw import request_text
    f = schema.intake_files
    with open_store().reader() as r:
        found = r.rows(sa.select(f.c.stored_name).where(f.c.intake_id == intake_id, f.c.status == "accepted"))
    stored = found[0][0] if found else None
    if stored is None:
        abort(404)
    body = request_text(stored).replace("\n", "\r\n").encode("utf-8-sig")  # Notepad reads it as it is
    return Response(body, mimetype="text/plain; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="withdraw-{intake_id}.txt"',
                             "Cache-Control": "no-store"})


def _staff_only() -> Response:
    return Response("This is for staff only: open it from an address in PKPI_STAFF_NETWORKS.\n",
                    status=403, mimetype="text/plain; charset=utf-8", headers={"Cache-Control": "no-store"})


def status_json():
    """What the store holds and what the drop folder did. To staff, with the inbox's file
    names, the reading process and each recent file's names; to anyone else, the counts."""
    from data.stores import open_store
    staff = request_is_staff()
    with open_store().reader() as r:  # the counts and the version of one data version
        observations = r.rows(sa.text("SELECT count(*) FROM observations"))[0][0]
        counts = dict(r.rows(sa.text("SELECT status, count(*) FROM intake_files GROUP BY status")))
        version = r.version
    recent = log.recent_files(limit=10)
    state = watch_status()
    waiting = [p.name for p in inbox_files(Folders.default())]
    body = {
        "data_version": version, "observations": observations, "files": counts,
        "inbox": waiting if staff else len(waiting),
        "reading": {"active": state.reading, "enabled": state.enabled,
                    "last_look": state.looked.isoformat() if state.looked else None},
        "recent": [{"status": r.status, "processed_at": f"{r.processed_at:%Y-%m-%d %H:%M} UTC",
                    "withdrawn_at": f"{r.withdrawn_at:%Y-%m-%d %H:%M} UTC" if pd.notna(r.withdrawn_at) else None,
                    **({"original_name": r.original_name, "stored_name": r.stored_name, "summary": r.summary}
                       if staff else {"error_count": r.error_count} if r.status == "rejected" else {})}
                   for r in recent.itertuples()],
    }
    if staff:
        body["reading"].update(pid=state.pid, host=state.host, reading_now=state.current)
    return Response(json.dumps(body, ensure_ascii=False), mimetype="application/json",
                    headers={"Cache-Control": "no-store"})


def register(app: dash.Dash) -> None:
    """Add the routes to the app's server (once)."""
    server = app.server
    if "updates_template" not in server.view_functions:
        server.add_url_rule("/download/template.xlsx", "updates_template", template_xlsx)
        server.add_url_rule("/download/withdraw/<int:intake_id>.txt", "updates_withdraw", withdraw_request)
        server.add_url_rule("/updates/status.json", "updates_status", status_json)
