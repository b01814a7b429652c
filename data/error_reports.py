"""A rejected file's error reports, written beside it in ``rejected/``:
``<name>.errors.csv`` (every problem, one a row, in English and Chinese; opens in Excel)
and ``<name>.errors.txt`` (a short explanation, in English, then in Chinese: the drop
folder has no language setting).

A name on disk may have at most 255 bytes (UTF-8): a stored name has at most
``STORED_MAX`` so that its reports' names, and their temporary names, fit; a report of a
name stored before that rule is shortened by bytes (``report_path``)."""
from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import sqlalchemy as sa

from data import messages
from data.messages import shown_name
from data.intake import IntakeError

LISTED = 50  # problems the .errors.txt lists; the .csv lists every one recorded
NAME_MAX = 255  # bytes in one file name (ext4, XFS, and Samba shares of them)
_TAILS = (".errors.csv.tmp", ".errors.txt.tmp")  # the longest ends a stored name is given
STORED_MAX = NAME_MAX - max(len(t) for t in _TAILS)


def fit_bytes(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` bytes of UTF-8, never inside a character."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[:max(limit, 0)].decode("utf-8", errors="ignore")


def report_path(target: Path, tail: str) -> Path:
    """``<target's name><tail>`` beside it, its name shortened by bytes (keeping its extension
    and the tail) if that would not leave room for ``.tmp`` within NAME_MAX bytes."""
    name = target.name
    room = NAME_MAX - len((tail + ".tmp").encode())
    if len(name.encode()) > room:
        stem, dot, ext = name.rpartition(".")
        if not dot or len(ext.encode()) > 16:
            stem, dot, ext = name, "", ""
        name = fit_bytes(stem, room - len((dot + ext).encode())) + dot + ext
    return target.with_name(name + tail)


def stored_errors(store: Path | str | None, intake_id: int, reader=None) -> list[IntakeError]:
    """The problems recorded for a file, with their message ids where the store has them
    (a store written before message ids existed has English text only). ``store``: a DuckDB
    file, a ``postgresql://`` URL or None (the settings' choice); ``reader``: read through
    this reader instead (the writer's, under its lock)."""
    if reader is None:
        from data.stores import as_store
        with as_store(store).reader() as reader:
            return stored_errors(store, intake_id, reader)
    columns, rows = reader.rows_named(sa.text("SELECT * FROM intake_errors WHERE intake_id = :i ORDER BY seq")
                                      .bindparams(i=intake_id))
    out = []
    for row in rows:
        r = dict(zip(columns, row))
        out.append(IntakeError(r["code"], r["sheet"], r["row"], r["column"], r["cell"], r["value"], r["message"],
                               r.get("msg") or "", _params(r.get("params"))))
    return out


def _params(text) -> dict:
    try:
        return json.loads(text) if text else {}
    except ValueError:
        return {}


def write_reports(target: Path, original: str, errors: list[IntakeError], error_count: int) -> Path:
    """``<name>.errors.csv`` and ``<name>.errors.txt`` beside ``target``; returns the latter."""
    from data.export import safe_text

    csv_path = report_path(target, ".errors.csv")
    tmp = csv_path.with_name(csv_path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f, lineterminator="\r\n")
        w.writerow(["file", "sheet", "row", "column", "cell", "value", "message", "code", "message_zh"])
        for e in errors:
            w.writerow([safe_text(original), safe_text(e.sheet), e.row or "", safe_text(e.column), e.cell,
                        safe_text(e.value), safe_text(e.text("en")), e.code, safe_text(e.text("zh"))])
    os.replace(tmp, csv_path)
    txt_path = report_path(target, ".errors.txt")
    lines = _explained(original, errors, error_count, csv_path.name, "en")
    lines += ["", "=" * 40, ""] + _explained(original, errors, error_count, csv_path.name, "zh")
    tmp = txt_path.with_name(txt_path.name + ".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(tmp, txt_path)
    return txt_path


def _explained(original: str, errors: list[IntakeError], error_count: int, csv_name: str, lang: str) -> list[str]:
    def say(msg, **params):
        return messages.render(msg, params, lang)

    lines = [say("report-not-loaded", name=shown_name(original)), "",
             say("report-found-one") if error_count == 1 else say("report-found", count=error_count), ""]
    lines += [f"{n}. {e.line(lang)}" for n, e in enumerate(errors[:LISTED], start=1)]
    if error_count > LISTED:
        lines.append(say("report-more", count=error_count - LISTED, csv=csv_name))
    else:
        lines += ["", say("report-same-list", csv=csv_name)]
    return lines
