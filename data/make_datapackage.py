"""Write ``data/curated/datapackage.json`` from the files present (run by hand after adding
an observations file; the tests fail when the descriptor and the folder disagree)."""
from __future__ import annotations

import json
from pathlib import Path

from data.curated import CURATED


def _f(name, description, type_="string", required=True, **constraints):
    field = {"name": name, "type": type_, "description": description}
    cons = {"required": True} if required else {}
    cons.update(constraints)
    if cons:
        field["constraints"] = cons
    return field


FIELDS = {
    "sources": [
        _f("source_id", "Short id of the report, used as the file name of its observations."),
        _f("symbol", "UN document symbol; empty when it could not be confirmed.", required=False),
        _f("cite_as", "How a citation names the report: the symbol, or a short title and date when there is none."),
        _f("title_en", "Title in English."),
        _f("title_zh", "Title in Chinese, as the text gives it."),
        _f("issuing_body", "Who issued the report."),
        _f("date", "Date of the report, ISO 8601 to the precision known (YYYY, YYYY-MM, YYYY-MM-DD)."),
        _f("date_precision", "year, month or day.", enum=["year", "month", "day"]),
        _f("url", "Link to the official document, when the symbol is known.", required=False),
        _f("numbering", "How the report is numbered, i.e. what a locator refers to."),
        _f("identification", "How the symbol and date were established."),
        _f("seed_file", "File name of the report text in the seeds folder."),
    ],
    "areas": [
        _f("area_id", "all_pko for all peacekeeping operations, a mission's English acronym, or another scope."),
        _f("name_en", "Name in English."),
        _f("name_zh", "Name in Chinese."),
        _f("kind", "all, mission, region, country, organisation or other."),
    ],
    "indicators": [
        _f("indicator_id", "snake_case id, stable: pages, permalinks and exports use it."),
        _f("family", "One of the families in data/vocabulary.py."),
        _f("name_en", "Name in English."),
        _f("name_zh", "Name in Chinese."),
        _f("unit", "One of the units in data/vocabulary.py."),
        _f("definition", "What is counted or measured, in English."),
        _f("chart", "line or bar."),
        _f("break_note", "Differences of definition against related series.", required=False),
    ],
    "figures": [
        _f("source_id", "Report the figure is in."),
        _f("figure", "Figure number as the report gives it (I, II, ...)."),
        _f("locator", "Where the figure is cited in the text."),
        _f("caption_quote", "Verbatim caption (exact substring of the report text)."),
        _f("caption_en", "Caption in English."),
        _f("indicator_ids", "Indicators the figure shows, separated by ';'."),
        _f("note", "What the figure shows; its values are not in the text.", required=False),
    ],
    "observations": [
        _f("indicator_id", "Indicator the value belongs to."),
        _f("area", "Scope of the value (areas.csv)."),
        _f("period", "ISO 8601 period: YYYY, YYYY-MM, YYYY-MM-DD or an interval A/B."),
        _f("period_label", "The period as the text gives it, in English."),
        _f("value", "The value, a plain decimal number.", "number"),
        _f("value_text", "Exact characters of the quote that state the value."),
        _f("qualifier", "exact, more_than, at_least, nearly, about, less_than or at_most."),
        _f("obs_status", "normal, estimated, provisional or break."),
        _f("stated_by", "Secretariat, Member State: <country>, Security Council, Working Group, ..."),
        _f("locator", "Paragraph, table entry, footnote or meeting in the report."),
        _f("quote", "Verbatim quote from the report text (one line)."),
        _f("quote_en", "English rendering of the quote."),
        _f("note", "Anything a reader needs to use the value correctly.", required=False),
    ],
}

KEYS = {
    "sources": {"primaryKey": ["source_id"]},
    "areas": {"primaryKey": ["area_id"]},
    "indicators": {"primaryKey": ["indicator_id"]},
    "figures": {"primaryKey": ["source_id", "figure"],
                "foreignKeys": [{"fields": ["source_id"], "reference": {"resource": "sources", "fields": ["source_id"]}}]},
    "observations": {"foreignKeys": [
        {"fields": ["indicator_id"], "reference": {"resource": "indicators", "fields": ["indicator_id"]}},
        {"fields": ["area"], "reference": {"resource": "areas", "fields": ["area_id"]}}]},
}


def build_descriptor(folder: Path = CURATED) -> dict:
    obs = sorted(p.relative_to(folder).as_posix() for p in (folder / "observations").glob("*.csv"))
    resources = []
    for name, fields in FIELDS.items():
        path = obs if name == "observations" else f"{name}.csv"
        resources.append({"name": name, "path": path, "format": "csv", "encoding": "utf-8",
                          "schema": {"fields": fields, **KEYS[name]}})
    return {
        "name": "peacekeeping-performance-indicators",
        "title": "Peacekeeping performance indicators curated from five UN reports",
        "description": "Every value is stated in a source report; see CURATION.md. "
                       "Observations are split by source: observations/<source_id>.csv.",
        "licenses": [{"name": "UN-documents", "title": "United Nations official documents; curated values with citations"}],
        "sources": [{"title": "United Nations Official Document System", "path": "https://undocs.org/"}],
        "resources": resources,
    }


def render(folder: Path = CURATED) -> str:
    return json.dumps(build_descriptor(folder), ensure_ascii=False, indent=2) + "\n"


def main(folder: Path = CURATED) -> None:
    (folder / "datapackage.json").write_text(render(folder), encoding="utf-8")
    print(f"wrote {folder / 'datapackage.json'}")


if __name__ == "__main__":
    import sys
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else CURATED)
