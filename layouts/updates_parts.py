"""The Updates page's parts: whether the drop folder is being read, the files waiting in it,
the files it processed (accepted or not, with what each changed) and the withdrawals.

Staff (``data.access``: a request from ``PKPI_STAFF_NETWORKS``) see all of it. Everyone
else sees whether files are read, how many wait, what each file did (counts) and the values
accepted with their citations: never the inbox's location, a file's name, what a refused
file held, or the process reading the inbox. Each function takes ``staff`` from its caller
(the page and its callback ask the request; a test says it), and defaults to the public view.

``layouts/updates.py`` is the page; its callback (``callbacks/updates.py``) redraws parts
of it from the functions here. This module is not a page itself, so it can be imported
without a Dash app (tests render ``content`` directly); it never imports the callbacks.
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone

import pandas as pd
from dash import html

from data import withdraw
from data.dropbox import Folders, inbox_files
from data.messages import error_text, render, shown_name, summary_text
from data.plaintext import visible
from data.translation import N_, gettext_for
from data.watcher import Status, status as watch_status, why_waiting
from indicators import registry
from indicators import updates as log

ID = "updates"
_STATUS = {"accepted": N_("Accepted"), "rejected": N_("Not loaded"), "duplicate": N_("Already applied"),
           "withdrawal": N_("Withdrawal request"), "refused": N_("Withdrawal refused")}
_COLOURS = {"accepted": "#1a7f37", "rejected": "#a40000", "duplicate": "#555", "withdrawal": "#7a4b00",
            "refused": "#a40000"}
_WAITING = {
    "excel": N_("waiting until it is closed in Excel ({owner} is beside it)"),
    "off": N_("waiting: nobody is reading the inbox now (see above); it is filed when someone runs "
              "python manage.py ingest"),
    "reading": N_("being read now"),
    "failed": N_("could not be read because of an unexpected error ({error}); it is tried again when the "
                 "file changes, and the server's log has the details"),
    "too-large": N_("larger than the limit ({mb:.1f} MB; PKPI_MAX_FILE_MB is {limit:.0f} MB): it will be "
                    "refused. Split it into smaller files"),
    "writing": N_("still being written (it changed since the last look): it is read once it stops changing"),
    "late": N_("waiting: the process reading the inbox has not looked since {looked} (it may be busy with a "
               "large file)"),
    "queued": N_("waiting to be read (within a few seconds)"),
}


def _when(value) -> str:
    if value is None or pd.isna(value):
        return "—"
    return f"{value:%Y-%m-%d %H:%M} UTC" if isinstance(value, datetime) else str(value)


def _clock(value: datetime | None) -> str:
    return f"{value:%H:%M:%S} UTC" if value else "—"


# --- Whether the inbox is read -------------------------------------------------------------

def reading_status(lang: str = "en", state: Status | None = None, staff: bool = False) -> list:
    """One plain paragraph: who reads the inbox and when it last looked, or how to file a
    file while nobody does (to the public: whether files are being read, and when)."""
    _ = gettext_for(lang)
    state = state or watch_status()
    if not staff:
        if state.reading:
            text = _("New files are read automatically.")
            if state.looked:
                text += " " + _("The drop folder was last looked at {time}.").format(time=_clock(state.looked))
            return [html.P(text, className="reading on")]
        return [html.P(_("New files are not being read automatically now: staff file them by hand."),
                       className="reading off")]
    if state.reading and state.pid:
        ago = (datetime.now(timezone.utc) - state.looked).total_seconds() if state.looked else 0
        text = _("The inbox is read automatically by process {pid} on {host}, every {poll:g} s; it last "
                 "looked at {time} ({ago:.0f} s ago).").format(
                     pid=state.pid, host=state.host, poll=state.poll, time=_clock(state.looked), ago=ago)
        if state.current:
            text += " " + _("It is reading {name} now.").format(name=state.current)
        elif state.late:
            text += " " + _("That is longer than it should be: the process may be stuck. Restarting the "
                            "dashboard starts a new one.")
        return [html.P(text, className="reading on" if not state.late else "reading late")]
    if state.reading:
        return [html.P(_("The inbox is read automatically (the process reading it has just started)."),
                       className="reading on")]
    how = [_("To file the files waiting in the inbox, run "), html.Code("python manage.py ingest"),
           _(" (or keep "), html.Code("python manage.py watch"), _(" running).")]
    if state.enabled:
        return [html.P([_("Nobody is reading the inbox now: the dashboard's reader has stopped. "), *how],
                       className="reading off")]
    return [html.P([_("Reading is off (PKPI_WATCH=0): files saved into the inbox wait until someone files "
                      "them. "), *how], className="reading off")]


# --- The files -----------------------------------------------------------------------------

def _value(r, prefix: str = "", lang: str = "en") -> str:
    row = {"value": r[prefix + "value"], "qualifier": r[prefix + "qualifier"], "unit": r["unit"]}
    return registry.value_label(row, lang)


def _errors_table(r, lang: str) -> list:
    _ = gettext_for(lang)
    intake_id, count, stored = r["intake_id"], r["error_count"], visible(r["stored_name"])
    errors = log.file_errors(intake_id)
    rows = [html.Tr([html.Td(x.sheet or "—"), html.Td(x.row or "—"), html.Td(x.column or "—"),
                     html.Td(x.cell or "—"), html.Td(x.value, className="cell-value"),
                     html.Td(_message(x, lang))])
            for x in errors.itertuples()]
    more = count - len(errors)
    if r["status"] == "refused":
        hint = _("Nothing was withdrawn. Correct the request and save it into the inbox again. The same "
                 "explanation is in rejected/{name}.errors.txt.").format(name=stored)
    else:
        hint = _("Nothing from this file was added. Correct the problems below in your copy of the file "
                 "and save it into the inbox again. The same list is in rejected/{name}.errors.csv.").format(
                     name=stored)
    return [
        html.P(hint, className="hint"),
        html.Table([html.Thead(html.Tr([html.Th(h, scope="col") for h in
                                        (_("Sheet"), _("Row"), _("Column"), _("Cell"), _("Value"),
                                         _("What to do"))])),
                    html.Tbody(rows)], className="data-table", id=f"{ID}-errors-{intake_id}"),
        html.P(_("... and {count} more problems, listed in the .errors.csv report.").format(count=more),
               className="hint") if more > 0 else None,
    ]


def _message(problem, lang: str) -> str:
    """A stored problem in the reader's language: by its message id and parameters
    (``data.messages``), or for a refused withdrawal by its code (its parameters read back
    from the English text)."""
    if lang != "en" and str(problem.code).startswith("withdraw-"):
        return withdraw.render_stored(problem.code, problem.message, lang)
    return error_text(problem, lang)


def _values_table(intake_id: int, added: int, lang: str) -> list:
    _ = gettext_for(lang)
    obs = log.file_observations(intake_id)
    if obs.empty:
        return [html.P(_("No value was added or changed: every row was already published exactly so."),
                       className="hint")]
    rows = []
    for _i, r in obs.iterrows():
        if r["revised"]:
            change = _("revised (was {value}, {source}, {locator})").format(
                value=_value(r, "previous_", lang), source=visible(r["previous_cite_as"]),
                locator=registry.locator_text(r["previous_locator"]))
        elif r["previous_value"] is not None and r["previous_value"] == r["previous_value"]:
            change = _("same value, newer citation (was {source}, {locator})").format(
                source=visible(r["previous_cite_as"]), locator=registry.locator_text(r["previous_locator"]))
        else:
            change = _("new")
        if pd.notna(r["withdrawn_at"]):
            change += _("; withdrawn {when}").format(when=_when(r["withdrawn_at"]))
        elif not r["is_latest"]:
            change += _("; revised again since")
        rows.append(html.Tr([
            html.Td(r["origin_line"]), html.Td(registry.name(r, lang)), html.Td(registry.area(r, lang)),
            html.Td(registry.period_label(r, lang)), html.Td(_value(r, "", lang), className="value"),
            html.Td(change),
            html.Td([html.Span(registry.citation(r), className="citation"),
                     html.Blockquote(registry.quote_text(r["quote"]), lang="zh-Hans", className="quote")]),
        ]))
    more = added - len(obs)
    return [html.Table([html.Thead(html.Tr([html.Th(h, scope="col") for h in
                                            (_("Row"), _("Indicator"), _("Area"), _("Period"), _("Value"),
                                             _("Change"), _("Source and quote"))])),
                        html.Tbody(rows)], className="data-table", id=f"{ID}-values-{intake_id}"),
            html.P(_("... and {count} more values.").format(count=more), className="hint") if more > 0 else None]


def summary(r, done: dict, lang: str, staff: bool = False) -> str:
    """What happened to a file, in the reader's language (the stored summary is English);
    to the public, without a file's name or a refused file's contents."""
    _ = gettext_for(lang)
    status = r["status"]
    if status == "accepted":
        parts = [_("Accepted. New values: {added}; revised values: {revised}.").format(
            added=r["added"], revised=r["revised"])]
        if r["unchanged"]:
            parts.append(_("Rows already published exactly so: {count}.").format(count=r["unchanged"]))
        if r["declared"]:
            parts.append(_("New sources, indicators or areas: {count}.").format(count=r["declared"]))
        return withdraw.sentences(parts, lang)
    if status == "rejected":
        return summary_text(r, lang)  # data.messages: the stored English, or the catalogue's Chinese
    if status == "duplicate":
        return _("Already applied: the same file had been accepted before, so nothing changed.")
    if not staff and status in ("withdrawal", "refused"):
        if status == "withdrawal" and r["intake_id"] in done:
            d = done[r["intake_id"]]
            return withdraw.sentences([_("Withdrew an accepted file."),
                                       *_public_changes(d, lang)], lang)
        return _("A request to withdraw a file; nothing changed.") if status == "refused" else r["summary"]
    if status == "withdrawal" and r["intake_id"] in done:
        d = done[r["intake_id"]]
        return withdraw.describe(visible(d["stored_name"]), d["removed"], d["restored"], d["superseded"],
                                 [n for n in d["later_files"].split(";") if n], d["reason"], lang)
    if status == "refused":
        errors = log.file_errors(r["intake_id"], limit=1)
        if not errors.empty:
            return _message(next(errors.itertuples()), lang)
    return r["summary"]


def _public_changes(d, lang: str) -> list[str]:
    """What a withdrawal changed, without the names of the later files it left alone."""
    _ = gettext_for(lang)
    out = withdraw.changes(d["removed"], d["restored"], 0, [], lang)
    if d["superseded"]:
        out.append(_("Values later files had already revised, which stay as those files have them: "
                     "{count}.").format(count=d["superseded"]))
    return out


def _file(r, open_: bool, done: dict, lang: str, staff: bool = False) -> html.Details:
    _ = gettext_for(lang)
    status = r["status"]
    body = []
    if status in ("rejected", "refused") and staff:
        body = _errors_table(r, lang)
    elif status == "accepted":
        body = _values_table(r["intake_id"], r["added"] + r["revised"], lang)
    withdrawn = pd.notna(r.get("withdrawn_at"))
    name = f" {shown_name(r['original_name'])} " if staff else " "  # a U+202E in a name reverses its end
    head = [html.Strong(_(_STATUS[status]) if status in _STATUS else status, style={"color": _COLOURS.get(status)}),
            name, html.Span(f"({_when(r['processed_at'])})", className="hint")]
    if withdrawn:
        head += [" ", html.Strong(_("withdrawn {when}: {reason}").format(when=_when(r["withdrawn_at"]),
                                                                         reason=visible(r["withdrawn_reason"])),
                                  className="badge withdrawn")]
    kept = [html.P(_("Kept as {path}.").format(path=f"{r['folder']}/{visible(r['stored_name'])}"), className="hint")] \
        if staff else []
    if status == "accepted" and not withdrawn and staff:
        kept.append(html.P([_("Accepted by mistake? "),
                            html.A(_("Download a withdrawal request for this file"),
                                   href=f"/download/withdraw/{r['intake_id']}.txt", download=True,
                                   className="download", id=f"{ID}-withdraw-{r['intake_id']}"),
                            _(", write the reason in it, and save it into the inbox.")], className="hint"))
    return html.Details([
        html.Summary([*head, html.Div(summary(r, done, lang, staff))]),
        html.Div([*kept, *body]),
    ], open=open_, id=f"{ID}-file-{r['intake_id']}", className="source-item")


def _withdrawals(frame, lang: str, staff: bool = False) -> list:
    _ = gettext_for(lang)
    if frame.empty:
        return [html.P(_("No file has been withdrawn."), className="hint", id=f"{ID}-withdrawals")]
    how = {"inbox": N_("by a request saved into the inbox ({request})"),
           "command line": N_("from the command line ({request})")}
    if not staff:  # when, why and what changed: not which file, nor which request
        rows = [html.Tr([html.Td(_when(d["withdrawn_at"])), html.Td(visible(d["reason"])),
                         html.Td(withdraw.sentences(_public_changes(d, lang), lang))])
                for _i, d in frame.iterrows()]
        return [html.Table([html.Thead(html.Tr([html.Th(h, scope="col") for h in
                                                (_("When"), _("Why"), _("What changed"))])),
                            html.Tbody(rows)], className="data-table", id=f"{ID}-withdrawals")]
    rows = []
    for _i, d in frame.iterrows():
        later = [n for n in d["later_files"].split(";") if n]
        rows.append(html.Tr([
            html.Td(_when(d["withdrawn_at"])),
            html.Td([html.Span(shown_name(d["original_name"])), html.Br(),
                     html.Span(f"accepted/{shown_name(d['stored_name'])}", className="hint")]),
            html.Td(visible(d["reason"])),
            html.Td(_(how.get(d["requested_by"], "{request}")).format(request=visible(d["request"]))),
            html.Td(withdraw.sentences(withdraw.changes(d["removed"], d["restored"], d["superseded"], later, lang),
                                       lang)),
        ]))
    return [html.Table([html.Thead(html.Tr([html.Th(h, scope="col") for h in
                                            (_("When"), _("File"), _("Why"), _("Asked"), _("What changed"))])),
                        html.Tbody(rows)], className="data-table", id=f"{ID}-withdrawals")]


def content(lang: str = "en", staff: bool = False) -> list:
    """The inbox and the recent files, as the page shows them now (to staff, or the public)."""
    _ = gettext_for(lang)
    state = watch_status()
    waiting = []
    for path in inbox_files(Folders.default()) if staff else []:
        code, details = why_waiting(path, state)
        if "msg" in details:  # a refused entry, or one open for writing: said by data.messages
            text = render(details["msg"], details.get("params"), lang)
        else:
            details = {k: (_clock(v) if isinstance(v, datetime) else v) for k, v in details.items()}
            text = _(_WAITING[code]).format(**details)
        waiting.append(html.Li(shown_name(path.name) + ("：" if lang == "zh" else ": ") + text,
                               **{"data-reason": code}))
    try:
        files = log.recent_files()
        gone = log.withdrawals()
    except FileNotFoundError as exc:
        return [html.P(str(exc), className="message error")]
    done = {int(d["request_intake_id"]): d for _i, d in gone.iterrows() if pd.notna(d["request_intake_id"])}
    items = [_file(r, n == 0, done, lang, staff) for n, (_i, r) in enumerate(files.iterrows())]
    if staff:
        inbox = html.Ul(waiting, id=f"{ID}-inbox") if waiting else html.P(
            _("The inbox is empty."), id=f"{ID}-inbox", className="hint")
    else:
        count = len(inbox_files(Folders.default()))
        inbox = html.P(_("The inbox is empty.") if not count else
                       _("Files waiting to be read: {count}. Their names are shown to staff only.").format(
                           count=count), id=f"{ID}-inbox", className="hint")
    return [
        html.H2(_("In the inbox now")),
        inbox,
        html.H2(_("Recent files")),
        html.Div(items, id=f"{ID}-files") if items else html.P(
            _("No file has been dropped yet."), id=f"{ID}-files", className="hint"),
        html.H2(_("Withdrawals")),
        *_withdrawals(gone, lang, staff),
    ]


def signature() -> str:
    """Changes when a file is processed, the inbox changes, or a waiting file's reason
    changes: only then is the page's content redrawn (so a file someone has opened stays open).
    A digest: the page keeps it in the browser, where the inbox's file names must not be."""
    try:
        recent = log.recent_files(limit=1)
        last = int(recent["intake_id"].iloc[0]) if not recent.empty else 0
    except FileNotFoundError:
        last = -1
    state = watch_status()
    waiting = [(p.name, why_waiting(p, state)[0]) for p in inbox_files(Folders.default())]
    return hashlib.sha256(json.dumps([last, waiting]).encode()).hexdigest()[:32]
