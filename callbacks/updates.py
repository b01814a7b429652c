"""The Updates page's callback, its HTTP routes, and the in-process drop-folder watcher.

``register(app)`` adds ``/download/template.xlsx`` (the template, with the lists of the
store as it is now) and ``/updates/status.json`` (what the store holds and the last files
processed: for monitoring and scripts), and starts the watcher when ``PKPI_WATCH=1``.
"""
from __future__ import annotations

import json
from datetime import datetime

import dash
from dash import Input, Output, State, html
from flask import Response

from data import settings
from data.messages import error_text, summary_text
from data.dropbox import Folders, inbox_files, open_in_excel, start_background_watcher
from indicators import i18n, registry
from indicators import updates as log
from indicators.i18n import N_

ID = "updates"
_STATUS = {"accepted": N_("Accepted"), "rejected": N_("Not loaded"), "duplicate": N_("Already applied")}
_COLOURS = {"accepted": "#1a7f37", "rejected": "#a40000", "duplicate": "#555"}


# --- The page's content (also drawn by the layout on first load) ---------------------------

def _when(value) -> str:
    return f"{value:%Y-%m-%d %H:%M} UTC" if isinstance(value, datetime) else str(value)


def _value(r, prefix: str = "", lang: str = "en") -> str:
    row = {"value": r[prefix + "value"], "qualifier": r[prefix + "qualifier"], "unit": r["unit"]}
    return registry.value_label(row, lang)


def _errors_table(intake_id: int, count: int, stored: str, lang: str) -> list:
    _ = i18n.gettext_for(lang)
    errors = log.file_errors(intake_id)
    rows = [html.Tr([html.Td(x.sheet or "—"), html.Td(x.row or "—"), html.Td(x.column or "—"),
                     html.Td(x.cell or "—"), html.Td(x.value, className="cell-value"), html.Td(error_text(x, lang))])
            for x in errors.itertuples()]
    more = count - len(errors)
    return [
        html.P(_("Nothing from this file was added. Correct the problems below in your copy of the file "
                 "and save it into the inbox again. The same list is in rejected/{name}.errors.csv.").format(
                     name=stored), className="hint"),
        html.Table([html.Thead(html.Tr([html.Th(h, scope="col") for h in
                                        (_("Sheet"), _("Row"), _("Column"), _("Cell"), _("Value"),
                                         _("What to do"))])),
                    html.Tbody(rows)], className="data-table", id=f"{ID}-errors-{intake_id}"),
        html.P(_("... and {count} more problems, listed in the .errors.csv report.").format(count=more),
               className="hint") if more > 0 else None,
    ]


def _values_table(intake_id: int, added: int, lang: str) -> list:
    _ = i18n.gettext_for(lang)
    obs = log.file_observations(intake_id)
    if obs.empty:
        return [html.P(_("No value was added or changed: every row was already published exactly so."),
                       className="hint")]
    rows = []
    for _i, r in obs.iterrows():
        if r["revised"]:
            change = _("revised (was {value}, {source}, {locator})").format(
                value=_value(r, "previous_", lang), source=r["previous_cite_as"], locator=r["previous_locator"])
        elif r["previous_value"] is not None and r["previous_value"] == r["previous_value"]:
            change = _("same value, newer citation (was {source}, {locator})").format(
                source=r["previous_cite_as"], locator=r["previous_locator"])
        else:
            change = _("new")
        if not r["is_latest"]:
            change += _("; revised again since")
        rows.append(html.Tr([
            html.Td(r["origin_line"]), html.Td(r["indicator_name"]), html.Td(r["area"]),
            html.Td(r["period_label"]), html.Td(_value(r, "", lang), className="value"), html.Td(change),
            html.Td([html.Span(f"{r['source_cite_as']}, {r['locator']}", className="citation"),
                     html.Blockquote(r["quote"], lang="zh-Hans", className="quote")]),
        ]))
    more = added - len(obs)
    return [html.Table([html.Thead(html.Tr([html.Th(h, scope="col") for h in
                                            (_("Row"), _("Indicator"), _("Area"), _("Period"), _("Value"),
                                             _("Change"), _("Source and quote"))])),
                        html.Tbody(rows)], className="data-table", id=f"{ID}-values-{intake_id}"),
            html.P(_("... and {count} more values.").format(count=more), className="hint") if more > 0 else None]


def _file(r, open_: bool, lang: str) -> html.Details:
    _ = i18n.gettext_for(lang)
    status = r["status"]
    body = []
    if status == "rejected":
        body = _errors_table(r["intake_id"], r["error_count"], r["stored_name"], lang)
    elif status == "accepted":
        body = _values_table(r["intake_id"], r["added"] + r["revised"], lang)
    return html.Details([
        html.Summary([
            html.Strong(_(_STATUS[status]) if status in _STATUS else status, style={"color": _COLOURS.get(status)}),
            f" {r['original_name']} ", html.Span(f"({_when(r['processed_at'])})", className="hint"),
            html.Div(summary_text(r, lang),
                     lang=i18n.HTML_LANG.get(lang, "en") if r["status"] == "rejected" else "en"),
        ]),
        html.Div([html.P(_("Kept as {path}.").format(path=f"{r['folder']}/{r['stored_name']}"), className="hint"),
                  *body]),
    ], open=open_, id=f"{ID}-file-{r['intake_id']}", className="source-item")


def content(lang: str = "en") -> list:
    """The inbox and the recent files, as the page shows them now."""
    _ = i18n.gettext_for(lang)
    folders = Folders.default()
    waiting = []
    for path in inbox_files(folders):
        owner = open_in_excel(path)
        why = (_("waiting until it is closed in Excel ({owner} is beside it)").format(owner=owner.name) if owner
               else _("waiting to be read (within a few seconds)"))
        waiting.append(html.Li(f"{path.name}: {why}"))
    try:
        files = log.recent_files()
    except FileNotFoundError as exc:
        return [html.P(str(exc), className="message error")]
    items = [_file(r, n == 0, lang) for n, (_i, r) in enumerate(files.iterrows())]
    return [
        html.H2(_("In the inbox now")),
        html.Ul(waiting, id=f"{ID}-inbox") if waiting else html.P(_("The inbox is empty."), id=f"{ID}-inbox",
                                                                   className="hint"),
        html.H2(_("Recent files")),
        html.Div(items, id=f"{ID}-files") if items else html.P(
            _("No file has been dropped yet."), id=f"{ID}-files", className="hint"),
    ]


def signature() -> str:
    """Changes when a file is processed or the inbox changes: only then is the page redrawn
    (so a file someone has opened stays open)."""
    try:
        recent = log.recent_files(limit=1)
        last = int(recent["intake_id"].iloc[0]) if not recent.empty else 0
    except FileNotFoundError:
        last = -1
    folders = Folders.default()
    waiting = [(p.name, bool(open_in_excel(p))) for p in inbox_files(folders)]
    return json.dumps([last, waiting])


@dash.callback(Output(f"{ID}-content", "children"), Output(f"{ID}-seen", "data"),
               Input(f"{ID}-refresh", "n_intervals"), State(f"{ID}-seen", "data"), State(f"{ID}-lang", "data"))
def refresh(_n, seen, lang):
    now = signature()
    if now == seen:
        return dash.no_update, dash.no_update
    return content(i18n.language(lang)), now


# --- HTTP routes and the watcher -----------------------------------------------------------

def template_xlsx():
    from data.template import template_bytes
    return Response(template_bytes(),
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": 'attachment; filename="pkpi-template.xlsx"',
                             "Cache-Control": "no-store"})


def status_json():
    from data.engine import data_version, reader
    import sqlalchemy as sa
    with reader().connect() as conn:
        observations = conn.execute(sa.text("SELECT count(*) FROM observations")).scalar()
        counts = dict(conn.execute(sa.text("SELECT status, count(*) FROM intake_files GROUP BY status")).all())
    recent = log.recent_files(limit=10)
    body = {
        "data_version": data_version(), "observations": observations, "files": counts,
        "inbox": [p.name for p in inbox_files(Folders.default())],
        "recent": [{"original_name": r.original_name, "stored_name": r.stored_name, "status": r.status,
                    "summary": r.summary, "processed_at": _when(r.processed_at)}
                   for r in recent.itertuples()],
    }
    return Response(json.dumps(body, ensure_ascii=False), mimetype="application/json",
                    headers={"Cache-Control": "no-store"})


def register(app: dash.Dash) -> None:
    """Add the routes to the app's server (once) and start the watcher if it is enabled."""
    server = app.server
    if "updates_template" not in server.view_functions:
        server.add_url_rule("/download/template.xlsx", "updates_template", template_xlsx)
        server.add_url_rule("/updates/status.json", "updates_status", status_json)
    if settings.watch_enabled():
        start_background_watcher()
