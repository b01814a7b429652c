"""Taking back an accepted file: its values leave the current view, and nothing is deleted.

A withdrawal is a new data version (a snapshot, under the writer lock, like an accepted
file). It records which file, when, why and by which request (``withdrawals``), and marks
each of the file's vintages as withdrawn from that moment (``withdrawn_values``). Then,
for each value of the file that was current, the newest earlier vintage not withdrawn
becomes current again (the value the file had revised comes back), or, if the file had
added the value, the key has no current value. "As of" a day before the withdrawal, the
file's values are shown as they were (``indicators.query`` leaves out only vintages
withdrawn by then). A rebuild keeps all of this (``data.build``).

Two ways to ask:

- **without a shell**: save a small text file into the inbox, e.g. ``withdraw.txt``::

      withdraw 20261202-041500-cpas.xlsx
      reason: the February counts were entered in the March column

  (the Updates page offers this file ready to fill in, for every accepted file). The file
  may name the file as it was kept (``accepted/...``) or as it was saved, when only one
  accepted file had that name. It is filed like any other: to ``accepted/`` when done, to
  ``rejected/`` with a ``.errors.txt`` saying why when refused.
- ``python manage.py withdraw NAME --reason TEXT``.

Decisions, where the issue left them open:

- withdrawing a file twice is refused ("already withdrawn on ..., for ...; nothing changed");
- a file whose values later files revised is withdrawn for what is still current; the later
  files' values stay (each is a statement with its own citation: withdrawing one file
  should not silently take back another). The answer names those files, so whoever asks
  can withdraw them too. The superseded vintages are marked withdrawn as well, so that if
  a later file is withdrawn too, the value goes back to what it was before both, never to
  the withdrawn file's value;
- a file that was rejected, or was a duplicate of an accepted one, or added no value, is
  refused with the reason (nothing from it is in the dashboard);
- sources, indicators and areas the file declared stay (other files may cite them);
- the same content dropped again after its withdrawal is applied again, as a new file.
"""
from __future__ import annotations

import getpass
import re
import socket
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa

from data import schema
from data.store import utc_now
from data.translation import N_, gettext_for

f, v = schema.intake_files, schema.observation_vintages
w, wv = schema.withdrawals, schema.withdrawn_values

REQUEST_LIMIT = 64 * 1024  # a request is a few lines; a larger text file is not one
_WITHDRAW = re.compile(r"^\s*(?:withdraw|撤回)(?:\s*[:：]\s*|\s+)(\S.*?)\s*$", re.IGNORECASE)
_REASON = re.compile(r"^\s*(?:reason|原因|理由)\s*[:：]?\s*(.*?)\s*$", re.IGNORECASE)


# What a refusal says, by code (stored with the code in intake_errors; ``render_stored``).
MESSAGES = {
    "withdraw-no-name": N_("Name the file to withdraw (as the Updates page shows it, "
                              "after \"Kept as accepted/\")."),
    "withdraw-ambiguous": N_("Several accepted files were saved as '{name}': {names}. Give "
                              "the name the one to withdraw was kept under."),
    "withdraw-unknown-file": N_("No accepted file is called '{name}'. Give the name it was "
                              "kept under, as the Updates page shows it (\"Kept as "
                              "accepted/...\")."),
    "withdraw-not-loaded": N_("{name} was not loaded (it had problems), so nothing from it is "
                              "in the dashboard and there is nothing to withdraw."),
    "withdraw-duplicate": N_("{name} changed nothing: the same file had already been accepted "
                              "as {first}. To take its values back, withdraw {first}."),
    "withdraw-not-a-file": N_("{name} is not a file of values (it was a {status}), so there "
                              "is nothing to withdraw."),
    "withdraw-twice": N_("{name} was already withdrawn on {when} UTC (reason: {reason}); "
                              "nothing changed."),
    "withdraw-no-reason": N_("Say why {name} is withdrawn: add a line \"reason: ...\" "
                              "(it is shown with the withdrawal)."),
    "withdraw-nothing": N_("{name} added no value (every row in it was already published "
                              "exactly so), so withdrawing it would change nothing."),
    "withdraw-unreadable": N_("This request could not be read as text. Save it as plain "
                              "text (.txt) and put it in the inbox again."),
    "withdraw-no-line": N_("A withdrawal request names the file to take back on a line "
                              "\"withdraw <name>\", with a line \"reason: ...\" below it. This "
                              "file has no such line."),
}


class Refused(Exception):
    """A withdrawal that cannot be made, with the reason in plain words (``render(lang)``)."""

    def __init__(self, code: str, given: str = "", **params):
        self.code, self.template, self.given, self.params = code, MESSAGES[code], given, params
        super().__init__(self.render("en"))

    def render(self, lang: str = "en") -> str:
        return gettext_for(lang)(self.template).format(**self.params)


def render_stored(code: str, message: str, lang: str) -> str:
    """A refusal stored in English (``message``) in another language: its parameters are
    read back from the English text with the code's template. As stored when that fails."""
    template = MESSAGES.get(code)
    if template is None:
        return message
    names: list[str] = []

    def group(m: re.Match) -> str:
        if m.group(1) in names:
            return f"(?P={m.group(1)})"
        names.append(m.group(1))
        return f"(?P<{m.group(1)}>.*?)"

    pattern = re.sub(r"\\\{(\w+)\\\}", group, re.escape(template))
    found = re.fullmatch(pattern, message, re.DOTALL)
    if not found:
        return message
    return gettext_for(lang)(template).format(**found.groupdict())


@dataclass
class Withdrawal:
    withdrawal_id: int
    stored_name: str
    original_name: str
    withdrawn_at: datetime
    reason: str
    removed: int  # values that left the current view
    restored: int  # of them, values whose earlier vintage is current again
    superseded: int  # values later files had already revised (they stay as revised)
    later_files: list[str] = field(default_factory=list)

    def message(self, lang: str = "en") -> str:
        return describe(self.stored_name, self.removed, self.restored, self.superseded, self.later_files,
                        self.reason, lang)


def describe(stored: str, removed: int, restored: int, superseded: int, later_files: list[str],
             reason: str, lang: str = "en") -> str:
    """One plain paragraph: what the withdrawal changed (also for the Updates page)."""
    _ = gettext_for(lang)
    parts = [_("Withdrew accepted/{name} (reason: {reason}).").format(name=stored, reason=reason)]
    parts += changes(removed, restored, superseded, later_files, lang)
    return sentences(parts, lang)


def sentences(parts: list[str], lang: str) -> str:
    """Sentences one after another (no space between Chinese ones)."""
    return ("" if lang == "zh" else " ").join(parts)


def changes(removed: int, restored: int, superseded: int, later_files: list[str], lang: str = "en") -> list[str]:
    """What a withdrawal changed, a sentence per kind of change (none for a zero)."""
    _ = gettext_for(lang)
    out = []
    if removed - restored:
        out.append(_("Values no longer shown: {count}.").format(count=removed - restored))
    if restored:
        out.append(_("Values back to what they were before the file: {count}.").format(count=restored))
    if superseded:
        out.append(_("Values later files had already revised, which stay as those files have them: {count} "
                     "({files}). Withdraw those files too if they should go.").format(
                         count=superseded, files=", ".join(later_files)))
    return out


# --- Finding the file ----------------------------------------------------------------------

def _clean(name: str) -> str:
    name = name.strip().strip("\"'“”‘’「」").strip()
    return re.split(r"[\\/]", name)[-1]


def find_file(conn, name: str) -> dict:
    """The record of the accepted file ``name`` names (its stored name, or its original name
    when only one accepted file had it)."""
    wanted = _clean(name)
    if not wanted:
        raise Refused("withdraw-no-name", name)
    rows = [dict(r) for r in conn.execute(sa.select(f).order_by(f.c.intake_id)).mappings()]
    exact = [r for r in rows if r["stored_name"] == wanted] or \
        [r for r in rows if r["stored_name"].lower() == wanted.lower()]
    if exact:
        return exact[0]
    same = [r for r in rows if r["original_name"].lower() == wanted.lower() and r["status"] == "accepted"]
    standing = [r for r in same if not _withdrawal_of(conn, r["intake_id"])] or same
    if len(standing) == 1:
        return standing[0]
    if len(standing) > 1:
        raise Refused("withdraw-ambiguous", name,
                      name=wanted, names=", ".join(r["stored_name"] for r in standing))
    raise Refused("withdraw-unknown-file", name, name=wanted)


def _withdrawal_of(conn, intake_id: int) -> dict | None:
    row = conn.execute(sa.select(w).where(w.c.intake_id == intake_id)).mappings().first()
    return dict(row) if row else None


def _check(conn, rec: dict, given: str) -> None:
    name = rec["stored_name"]
    if rec["status"] == "rejected":
        raise Refused("withdraw-not-loaded",
                      given, name=name)
    if rec["status"] == "duplicate":
        first = conn.execute(sa.select(f.c.stored_name).where(f.c.intake_id == rec["duplicate_of"])).scalar()
        raise Refused("withdraw-duplicate",
                      given, name=name, first=first)
    if rec["status"] != "accepted":
        raise Refused("withdraw-not-a-file", given, name=name,
                      status=rec["status"])
    done = _withdrawal_of(conn, rec["intake_id"])
    if done:
        raise Refused("withdraw-twice", given, name=name,
                      when=f"{done['withdrawn_at']:%Y-%m-%d %H:%M}", reason=done["reason"])


# --- Withdrawing ---------------------------------------------------------------------------

def withdraw_on(conn, name: str, reason: str, requested_by: str, request: str, now: datetime,
                request_intake_id: int | None = None) -> Withdrawal:
    """Withdraw the file ``name`` on ``conn`` (a writer's transaction on a new snapshot).
    Raises Refused, before writing anything, when it cannot be withdrawn."""
    rec = find_file(conn, name)
    _check(conn, rec, name)
    reason = " ".join(reason.split())
    if not reason:
        raise Refused("withdraw-no-reason", name,
                      name=rec["stored_name"])
    intake_id = rec["intake_id"]
    counts = conn.execute(sa.select(sa.func.count(), sa.func.count().filter(v.c.is_latest))
                          .where(v.c.intake_id == intake_id)).one()
    if not counts[0]:
        raise Refused("withdraw-nothing",
                      name, name=rec["stored_name"])
    total, removed = counts
    later = list(conn.execute(sa.text(
        "SELECT DISTINCT later.stored_name FROM observation_vintages mine "
        "JOIN observation_vintages o ON o.indicator_id = mine.indicator_id AND o.area = mine.area "
        "AND o.period = mine.period AND o.vintage > mine.vintage AND o.is_latest "
        "JOIN intake_files later ON later.intake_id = o.intake_id "
        "WHERE mine.intake_id = :id AND NOT mine.is_latest ORDER BY 1"), {"id": intake_id}).scalars())
    withdrawal_id = conn.execute(sa.select(sa.func.coalesce(sa.func.max(w.c.withdrawal_id), 0))).scalar() + 1
    params = {"id": intake_id, "wid": withdrawal_id, "now": now}
    conn.execute(sa.text("INSERT INTO withdrawn_values (obs_id, withdrawal_id, withdrawn_at) "
                         "SELECT obs_id, :wid, :now FROM observation_vintages WHERE intake_id = :id"), params)
    # For each value of the file still current: the newest vintage of its key not withdrawn.
    # (The newest by vintage: a key's vintages are unique. Ranked with row_number(), which
    # both stores speak, rather than DuckDB's arg_max.)
    back = list(conn.execute(sa.text(
        "SELECT obs_id FROM (SELECT o.obs_id, row_number() OVER (PARTITION BY o.indicator_id, o.area, o.period "
        "ORDER BY o.vintage DESC) AS newest FROM observation_vintages o "
        "JOIN (SELECT indicator_id, area, period FROM observation_vintages WHERE intake_id = :id AND is_latest) k "
        "ON o.indicator_id = k.indicator_id AND o.area = k.area AND o.period = k.period "
        "WHERE o.obs_id NOT IN (SELECT obs_id FROM withdrawn_values)) ranked WHERE newest = 1"), params).scalars())
    conn.execute(sa.update(v).where(v.c.intake_id == intake_id, v.c.is_latest).values(is_latest=False))
    for start in range(0, len(back), 10_000):
        conn.execute(sa.update(v).where(v.c.obs_id.in_(back[start:start + 10_000])).values(is_latest=True))
    done = Withdrawal(withdrawal_id, rec["stored_name"], rec["original_name"], now, reason, removed, len(back),
                      total - removed, later)
    conn.execute(w.insert(), [{
        "withdrawal_id": withdrawal_id, "intake_id": intake_id, "withdrawn_at": now, "reason": reason,
        "requested_by": requested_by, "request": request, "request_intake_id": request_intake_id,
        "removed": done.removed, "restored": done.restored, "superseded": done.superseded,
        "later_files": ";".join(later)}])
    from data.dropbox import _bump_version
    _bump_version(conn)
    return done


def withdraw(name: str, reason: str, store: Path | str | None = None, now: datetime | None = None) -> Withdrawal:
    """From the command line: withdraw under the writer lock, as a new data version. Raises
    Refused (the store unchanged) when the file cannot be withdrawn. ``store``: a DuckDB
    file, a ``postgresql://`` URL, or None (the settings' choice)."""
    from data.stores import as_store
    try:
        who = f"{getpass.getuser()}@{socket.gethostname()}"
    except Exception:  # no user name in some containers
        who = socket.gethostname()
    with as_store(store).writer() as writer:
        with writer.change() as change:
            return withdraw_on(change.conn, name, reason, "command line", who, now or utc_now())


def standing(writer, history: list[dict]) -> dict | None:
    """Of the records of one content, the accepted one not withdrawn (None: the content is
    not in the dashboard now, so dropping it again applies it). ``writer``: the store's
    writer (read under its lock)."""
    accepted = [r for r in history if r["status"] == "accepted"]
    if not accepted:
        return None
    with writer.read() as reader:  # a store written before withdrawals existed has no such tables
        gone = ({row[0] for row in reader.rows(sa.select(w.c.intake_id))}
                if {"withdrawals", "withdrawn_values"} <= reader.tables() else set())
    return next((r for r in accepted if r["intake_id"] not in gone), None)


# --- Requests saved into the inbox ---------------------------------------------------------

def _decode(data: bytes) -> str | None:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):  # Notepad's "Unicode"
        return data.decode("utf-16", errors="replace")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]


def is_request(name: str, copy: Path) -> bool:
    """A text file saved into the inbox that asks for a withdrawal: named ``withdraw...`` /
    ``撤回...``, or whose first line says ``withdraw <name>``."""
    if not name.lower().endswith(".txt"):
        return False
    if name.lower().startswith(("withdraw", "撤回")):
        return True
    if copy.stat().st_size > REQUEST_LIMIT:
        return False
    lines = _lines(_decode(copy.read_bytes()) or "")
    return bool(lines) and bool(_WITHDRAW.match(lines[0]))


def parse_request(text: str | None) -> tuple[str, str]:
    """(file named, reason) from a request's text."""
    if text is None:
        raise Refused("withdraw-unreadable")
    name, reason, rest, in_reason = None, [], [], False
    for line in _lines(text):
        named, why = _WITHDRAW.match(line), _REASON.match(line)
        if named and name is None:
            name = named.group(1)
        elif why and not in_reason:
            in_reason = True
            reason.append(why.group(1))
        else:
            (reason if in_reason else rest).append(line)
    if name is None:
        raise Refused("withdraw-no-line")
    return name, " ".join(reason or rest)


def file_request(path: Path, copy: Path, sha: str, writer, folders, received: datetime):
    """File a request saved into the inbox (called by ``data.dropbox.process`` with the
    store's writer, under its lock): withdraw, or refuse; record the request either way and
    file it."""
    from data.dropbox import Outcome, _fault, _remove_from_inbox, _unique_name
    now, original = utc_now(), path.name
    text = _decode(copy.read_bytes()[:REQUEST_LIMIT])
    with writer.change() as change:
        conn = change.conn
        intake_id = conn.execute(sa.select(sa.func.coalesce(sa.func.max(f.c.intake_id), 0))).scalar() + 1
        stored = _unique_name(original, now, conn, folders)
        refused = None
        try:
            name, reason = parse_request(text)
            done = withdraw_on(conn, name, reason, "inbox", f"accepted/{stored}", now, intake_id)
        except Refused as exc:
            refused = exc
        folder = "rejected" if refused else "accepted"
        summary = refused.render("en") if refused else done.message("en")
        conn.execute(f.insert(), [{
            "intake_id": intake_id, "sha256": sha, "original_name": original, "stored_name": stored,
            "folder": folder, "status": "refused" if refused else "withdrawal", "duplicate_of": None,
            "size_bytes": copy.stat().st_size, "rows_read": 0, "added": 0, "revised": 0, "unchanged": 0,
            "declared": 0, "error_count": 1 if refused else 0, "summary": summary,
            "received_at": received, "processed_at": now}])
        if refused:
            conn.execute(schema.intake_errors.insert(), [{
                "intake_id": intake_id, "seq": 1, "code": refused.code, "sheet": "", "row": None,
                "column": "", "cell": "", "value": refused.given[:2000], "message": summary}])
    _fault("after-swap")
    target = folders.root / folder / stored
    _remove_from_inbox(path, sha)
    if refused:
        _write_refusal(target, original, refused)
    copy.replace(target)
    if refused:
        return Outcome(original, "rejected", f"REFUSED   {original}: {summary} Filed as rejected/{stored}.",
                       intake_id, target, error_count=1)
    return Outcome(original, "withdrawn", f"withdrawn {original}: {summary} Filed as accepted/{stored}.",
                   intake_id, target)


def _write_refusal(target: Path, original: str, refused: Refused) -> None:
    """``<name>.errors.txt`` beside the refused request, in English and Chinese (the folder has
    no language setting)."""
    zh = gettext_for("zh")
    lines = [f"{original}: nothing was withdrawn.", refused.render("en"), "",
             zh(N_("{name}: nothing was withdrawn.")).format(name=original), refused.render("zh"), ""]
    tmp = target.with_name(target.name + ".errors.txt.tmp")
    tmp.write_text("\n".join(lines), encoding="utf-8")
    tmp.replace(target.with_name(target.name + ".errors.txt"))


def request_text(stored_name: str) -> str:
    """A request ready to fill in (the Updates page offers it for each accepted file)."""
    return (f"withdraw {stored_name}\n"
            f"reason: \n"
            f"\n"
            f"# Write after \"reason:\" why this file is taken back, save this file (plain text), and put\n"
            f"# it into the inbox folder. Its values leave the dashboard within a few seconds; nothing\n"
            f"# is deleted, and views \"as of\" an earlier day still show them.\n"
            f"# 在 \"reason:\" 后写明撤回原因，保存为纯文本文件，放入收件文件夹即可。\n")
