"""Data operations: ``python manage.py COMMAND --help`` for each.

  build    check the curated files and (re)build the DuckDB store
  check    run the curated-file checks only (schema, vocabularies, quotes against reports)
  export   write observations as CSV (the export contract), optionally filtered
  settings list every PKPI_* setting with its value and meaning
"""
from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from data import settings


def _filters(args):
    from indicators.query import Filters

    def split(values):
        return tuple(v for item in (values or []) for v in item.split(",") if v)

    return Filters(indicators=split(args.indicator), families=split(args.family),
                   areas=split(args.area), sources=split(args.source),
                   start=args.start, end=args.end)


def cmd_build(args) -> int:
    from data.build import build
    from data.curated import CurationError
    target = Path(args.db) if args.db else settings.db_path()
    try:
        counts = build(target, check_seeds=not args.no_seed_check)
    except CurationError as exc:
        print(f"build refused, the store is unchanged.\n{exc}", file=sys.stderr)
        return 1
    except FileNotFoundError as exc:
        print(f"build refused: {exc}", file=sys.stderr)
        return 1
    print(f"built {target}: " + ", ".join(f"{n} {name}" for name, n in counts.items()))
    return 0


def cmd_check(args) -> int:
    from data.curated import CURATED, CurationError, load
    seeds = settings.seeds_dir()
    if not seeds.is_dir():
        print(f"report texts not found at {seeds} (set PKPI_SEEDS)", file=sys.stderr)
        return 1
    try:
        tables = load(CURATED, seeds)
    except CurationError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"ok: {len(tables['observations'])} observations, {len(tables['indicators'])} indicators, "
          f"every quote found verbatim in its report and stating its value")
    return 0


def cmd_export(args) -> int:
    from data.build import ensure_built
    from data.export import export_csv
    ensure_built()
    out = sys.stdout if args.out == "-" else Path(args.out)
    n = export_csv(out, _filters(args))
    if args.out != "-":
        print(f"wrote {n} rows to {args.out}", file=sys.stderr)
    return 0


def cmd_settings(args) -> int:
    for s in settings.SETTINGS:
        print(f"{s.name}={settings.get(s.name)}\n    {s.help}")
    return 0


def _iso(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from None


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python manage.py", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    b = sub.add_parser("build", help="check the curated files and rebuild the store",
                       description="Check every curated file (and every quote against the report "
                                   "texts), then write a new DuckDB store and swap it in atomically. "
                                   "On any problem nothing is written and every problem is listed.")
    b.add_argument("--db", help="store to write (default: $PKPI_DB or $PKPI_HOME/pkpi.duckdb)")
    b.add_argument("--no-seed-check", action="store_true",
                   help="skip checking quotes against the report texts (not recommended)")
    b.set_defaults(func=cmd_build)

    c = sub.add_parser("check", help="check the curated files only",
                       description="Run every curated-file check without building.")
    c.set_defaults(func=cmd_check)

    e = sub.add_parser("export", help="write observations as CSV",
                       description="Write observations as CSV (UTF-8 with BOM, export-contract "
                                   "columns, formula-safe). Filters take comma-separated ids and "
                                   "may be repeated.")
    e.add_argument("--out", required=True, help="file to write, or - for standard output")
    e.add_argument("--indicator", action="append", help="indicator id(s)")
    e.add_argument("--family", action="append", help="family id(s): fatalities, women, ...")
    e.add_argument("--area", action="append", help="area id(s): all_pko, MINUSMA, ...")
    e.add_argument("--source", action="append", help="source id(s): s-2023-646, ...")
    e.add_argument("--start", type=_iso, help="keep periods ending on or after YYYY-MM-DD")
    e.add_argument("--end", type=_iso, help="keep periods starting on or before YYYY-MM-DD")
    e.set_defaults(func=cmd_export)

    st = sub.add_parser("settings", help="list the PKPI_* settings",
                        description="List every setting, its current value and its meaning.")
    st.set_defaults(func=cmd_settings)
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
