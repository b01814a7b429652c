"""Updates: the page (its parts are in ``layouts/updates_parts.py``)."""
from __future__ import annotations

import dash
from dash import dcc, html

from data import settings
from data.access import request_is_staff
from data.translation import gettext_for
from indicators.view import View
from layouts.updates_parts import ID, content, reading_status, signature

dash.register_page(__name__, path="/updates", name="Updates", name_zh="更新",
                   title="Updates · Peacekeeping indicators", order=40)


# --- The page ------------------------------------------------------------------------------

def layout(**query_args):
    lang = View.from_query(query_args).lang
    _ = gettext_for(lang)
    staff = request_is_staff()  # data.access: PKPI_STAFF_NETWORKS
    inbox = settings.dropbox_dir() / "inbox"
    where = ([_("Save the file, close it, and save or copy it into this folder: "),
              html.Code(str(inbox), id=f"{ID}-inbox-path")] if staff else
             [_("Save the file, close it, and save or copy it into the drop folder's inbox. Where that folder "
                "is, is shown here to staff on the office network (PKPI_STAFF_NETWORKS), and your focal "
                "point can tell you.")])
    return html.Div([
        html.H1(_("Updates")),
        html.P(_("New values are added by saving a filled-in spreadsheet into the drop folder. Each file "
                 "is checked first: if anything in it is wrong, nothing from it is added, and this page "
                 "says what to correct."), className="lede"),
        html.Div(reading_status(lang, staff=staff), id=f"{ID}-reading", **{"aria-live": "polite"}),
        html.H2(_("Add values")),
        html.Ol([
            html.Li([_("Download the template: "),
                     html.A("pkpi-template.xlsx", href="/download/template.xlsx", id=f"{ID}-template-link",
                            className="download", download="pkpi-template.xlsx")]),
            html.Li(_("Fill in the Observations sheet: one value per row, each with its source, the place in "
                      "the report (locator) and the sentence that states it (quote). The Instructions sheet "
                      "explains every column.")),
            html.Li(where),
            html.Li(_("Within a few seconds it appears below, and its values in the charts.")),
        ]),
        html.H2(_("Take a file back")),
        html.P(_("Staff can withdraw an accepted file: its values then leave the charts. Nothing is deleted, "
                 "views as of an earlier day still show them, and a value it had revised goes back to the "
                 "earlier one."), className="hint") if not staff else
        html.P([_("To withdraw an accepted file, save a text file into the inbox with a line such as "),
                html.Code("withdraw 20261202-041500-cpas.xlsx"),
                _(" (the name it was kept under, shown below) and a line "),
                html.Code("reason: ..."),
                _(". Each accepted file below offers this request ready to fill in. Its values leave the "
                  "charts; nothing is deleted, and views as of an earlier day still show them. A value it had "
                  "revised goes back to the earlier one.")], className="hint"),
        dcc.Interval(id=f"{ID}-refresh", interval=3000),
        dcc.Store(id=f"{ID}-seen", data=signature()),
        dcc.Store(id=f"{ID}-lang", data=lang),
        html.Div(content(lang, staff), id=f"{ID}-content", **{"aria-live": "polite"}),
    ])

