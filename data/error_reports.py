"""A rejected file's error reports, written beside it in ``rejected/``:
``<name>.errors.csv`` (every problem, one a row, in English and Chinese; opens in Excel)
and ``<name>.errors.txt`` (a short explanation, in English, then in Chinese: the drop
folder has no language setting)."""
from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import sqlalchemy as sa

from data import messages
from data.engine import snapshot_engine
from data.intake import IntakeError

LISTED = 50  # problems the .errors.txt lists; the .csv lists every one recorded


def stored_errors(store: Path, intake_id: int) -> list[IntakeError]:
    """The problems recorded for a file, with their message ids where the store has them
    (a store written before message ids existed has English text only)."""
    engine = snapshot_engine(store)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT * FROM intake_errors WHERE intake_id = :i ORDER BY seq"),
                                {"i": intake_id}).mappings().all()
    finally:
        engine.dispose()
    return [IntakeError(r["code"], r["sheet"], r["row"], r["column"], r["cell"], r["value"], r["message"],
                        r.get("msg") or "", _params(r.get("params"))) for r in rows]


def _params(text) -> dict:
    try:
        return json.loads(text) if text else {}
    except ValueError:
        return {}


def write_reports(target: Path, original: str, errors: list[IntakeError], error_count: int) -> None:
    """``<name>.errors.csv`` and ``<name>.errors.txt`` beside ``target``."""
    from data.export import safe_text

    csv_path = target.with_name(target.name + ".errors.csv")
    tmp = csv_path.with_name(csv_path.name + ".tmp")
    with open(tmp, "w", encoding="utf-8-sig", newline="") as f:
        w = csv.writer(f, lineterminator="\r\n")
        w.writerow(["file", "sheet", "row", "column", "cell", "value", "message", "code", "message_zh"])
        for e in errors:
            w.writerow([safe_text(original), safe_text(e.sheet), e.row or "", safe_text(e.column), e.cell,
                        safe_text(e.value), safe_text(e.text("en")), e.code, safe_text(e.text("zh"))])
    os.replace(tmp, csv_path)
    txt_path = target.with_name(target.name + ".errors.txt")
    lines = _explained(original, errors, error_count, csv_path.name, "en")
    lines += ["", "=" * 40, ""] + _explained(original, errors, error_count, csv_path.name, "zh")
    tmp = txt_path.with_name(txt_path.name + ".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(tmp, txt_path)


def _explained(original: str, errors: list[IntakeError], error_count: int, csv_name: str, lang: str) -> list[str]:
    def say(msg, **params):
        return messages.render(msg, params, lang)

    lines = [say("report-not-loaded", name=original), "",
             say("report-found-one") if error_count == 1 else say("report-found", count=error_count), ""]
    lines += [f"{n}. {e.line(lang)}" for n, e in enumerate(errors[:LISTED], start=1)]
    if error_count > LISTED:
        lines.append(say("report-more", count=error_count - LISTED, csv=csv_name))
    else:
        lines += ["", say("report-same-list", csv=csv_name)]
    return lines
