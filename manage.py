"""Data operations: ``python manage.py COMMAND --help`` for each.

  build    check the curated files and (re)build the store (DuckDB, or PostgreSQL)
  check    run the curated-file checks only (schema, vocabularies, quotes against reports)
  export   write observations as CSV (the export contract), optionally filtered
  settings list every PKPI_* setting with its value and meaning
  ingest   file one dropped spreadsheet, or every file in the inbox
  watch    watch the inbox and file each spreadsheet saved into it
  withdraw take back an accepted file: its values leave the current view (nothing is deleted)
  template write the spreadsheet template staff fill in
  migrate-store copy a DuckDB store, whole, into an empty PostgreSQL database
  bench    measure the dashboard at CPAS scale against its floors and baselines (bench/README.md)
"""
from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from data import settings


def _filters(args):
    from data.selection import Filters

    def split(values):
        return tuple(v for item in (values or []) for v in item.split(",") if v)

    return Filters(indicators=split(args.indicator), families=split(args.family),
                   areas=split(args.area), sources=split(args.source),
                   start=args.start, end=args.end)


def cmd_build(args) -> int:
    from data.build import build
    from data.curated import CurationError
    from sqlalchemy.exc import OperationalError

    from data.stores import default_target, describe, is_url
    target = args.db or default_target()
    target = target if is_url(target) else Path(target)
    try:
        counts = build(target, check_seeds=not args.no_seed_check)
    except CurationError as exc:
        print(f"build refused, the store is unchanged.\n{exc}", file=sys.stderr)
        return 1
    except FileNotFoundError as exc:
        print(f"build refused: {exc}", file=sys.stderr)
        return 1
    except OperationalError as exc:  # PostgreSQL unreachable, refused the login, ...
        print(f"build refused, nothing written: cannot use the store at {describe(target)}: "
              f"{str(exc.orig or exc).strip().splitlines()[0]}", file=sys.stderr)
        return 1
    print(f"built {describe(target)}: " + ", ".join(f"{n} {name}" for name, n in counts.items()))
    return 0


def cmd_check(args) -> int:
    from data.curated import CURATED, CurationError, load, not_checked_notice, texts_found
    seeds = settings.seeds_dir()
    texts = texts_found(seeds)
    try:
        tables = load(CURATED, seeds if texts else None)
    except CurationError as exc:
        print(exc, file=sys.stderr)
        return 1
    counts = f"ok: {len(tables['observations'])} observations, {len(tables['indicators'])} indicators"
    if texts:
        print(f"{counts}, every quote found verbatim in its report ({seeds}) and stating its value")
    else:
        print(f"{counts}, every value stated in its quote; quotes NOT compared with the reports")
        print(not_checked_notice(seeds), file=sys.stderr)
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


def cmd_bench(args) -> int:
    from bench.run import run_from_args
    return run_from_args(args)


def cmd_settings(args) -> int:
    from data.stores import describe
    for s in settings.SETTINGS:
        value = settings.get(s.name)
        if s.name == "PKPI_DATABASE_URL" and value:
            value = describe(value)  # never print the password
        print(f"{s.name}={value}\n    {s.help}")
    return 0


def _progress(path: Path):
    """Progress on standard error for large files (every 5,000 rows)."""
    try:
        size = path.stat().st_size
    except OSError:
        return None
    if size < 512 * 1024:
        return None
    print(f"reading {path.name} ({size / 1024 / 1024:.1f} MB)...", file=sys.stderr, flush=True)
    return lambda rows: print(f"  {rows:,} rows checked", file=sys.stderr, flush=True)


def cmd_ingest(args) -> int:
    from data.build import ensure_built
    from data.dropbox import Folders, process_inbox
    from data.isolation import process_isolated  # the file is read in a process of its own
    ensure_built()
    folders = Folders.default().ensure()
    target = Path(args.path) if args.path else folders.inbox
    if not target.exists():
        print(f"not found: {target}", file=sys.stderr)
        return 2
    if target.is_dir():
        if target.resolve() != folders.inbox.resolve():
            print(f"{target} is a folder but not the inbox ({folders.inbox}): give one file, or the "
                  f"inbox itself", file=sys.stderr)
            return 2
        outcomes = process_inbox(folders=folders, progress_for=_progress)
        if not outcomes:
            print(f"the inbox is empty ({folders.inbox})")
    else:
        outcomes = [process_isolated(target, folders=folders, progress=_progress(target) is not None)]
    for o in outcomes:
        print(o.message)
    return 1 if any(o.status in ("rejected", "refused", "failed") for o in outcomes) else 0


def cmd_watch(args) -> int:
    import logging
    import signal
    import threading

    from data.build import ensure_built
    from data.dropbox import Folders
    from data.watcher import Watcher
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stdout)
    ensure_built()
    folders = Folders.default().ensure()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    watcher = Watcher(folders=folders, poll=args.poll, report=lambda o: print(o.message, flush=True))
    print(f"watching {folders.inbox} every {watcher.poll:g} s (Ctrl-C to stop)", flush=True)
    if args.once:
        watcher.poll_once()
        stop.wait(max(watcher.poll, watcher.settle + 0.1))  # the second look sees what has settled
        outcomes = watcher.poll_once()
        watcher.release()
        return 1 if any(o.status == "rejected" for o in outcomes) else 0
    watcher.run(stop)
    return 0


def cmd_withdraw(args) -> int:
    from data.build import ensure_built
    from data.withdraw import Refused, withdraw
    ensure_built()
    try:
        done = withdraw(args.name, args.reason)
    except Refused as exc:
        print(f"nothing withdrawn: {exc}", file=sys.stderr)
        return 1
    print(done.message())
    return 0


def cmd_migrate_store(args) -> int:
    from sqlalchemy.exc import OperationalError

    from data.stores import describe, is_url
    from data.stores.migrate import MigrationRefused, migrate
    source = Path(args.source) if args.source else settings.db_path()
    target = args.to or settings.database_url()
    if not target:
        print("migrate-store: name the PostgreSQL database to copy into, with --to postgresql://... or "
              "PKPI_DATABASE_URL", file=sys.stderr)
        return 2
    if not is_url(target):
        print(f"migrate-store: --to must be a postgresql:// URL, not {target!r}", file=sys.stderr)
        return 2
    try:
        copied = migrate(source, target)
    except MigrationRefused as exc:
        print(f"migrate-store refused: {exc}", file=sys.stderr)
        return 1
    except OperationalError as exc:
        print(f"migrate-store refused, nothing copied: cannot use {describe(target)}: "
              f"{str(exc.orig or exc).strip().splitlines()[0]}", file=sys.stderr)
        return 1
    print(f"copied {copied.source} into {copied.target} as one data version ({copied.data_version}):")
    print(copied.table())
    wrong = copied.mismatched()
    if wrong:
        print("counts DIFFER for: " + ", ".join(wrong), file=sys.stderr)
        return 1
    print("every table's row count matches.")
    return 0


def cmd_template(args) -> int:
    from data.build import ensure_built
    from data.template import write_template
    ensure_built()
    out = Path(args.out)
    if out.suffix.lower() != ".xlsx":
        print(f"{out}: the template is an Excel workbook; give a name ending in .xlsx", file=sys.stderr)
        return 2
    write_template(out)
    print(f"wrote {out}: fill in the Observations sheet, then save the file into "
          f"{settings.dropbox_dir() / 'inbox'}")
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
                                   "texts, when PKPI_SEEDS holds them; without them the build goes "
                                   "ahead and says the quotes were not re-checked), then write a new "
                                   "store and make it current at once: a DuckDB file swapped in "
                                   "atomically, or, with PKPI_DATABASE_URL, one PostgreSQL transaction. "
                                   "Values added through the drop folder are kept. On any problem "
                                   "nothing is written and every problem is listed.")
    b.add_argument("--db", help="store to write: a DuckDB file or a postgresql:// URL (default: "
                                "$PKPI_DATABASE_URL, else $PKPI_DB or $PKPI_HOME/pkpi.duckdb)")
    b.add_argument("--no-seed-check", action="store_true",
                   help="skip checking quotes against the report texts (not recommended)")
    b.set_defaults(func=cmd_build)

    c = sub.add_parser("check", help="check the curated files only",
                       description="Run every curated-file check without building: schema, "
                                   "vocabularies, each value against its quote, and each quote "
                                   "against its report text in PKPI_SEEDS (said plainly when the "
                                   "texts are not there).")
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

    i = sub.add_parser("ingest", help="file one dropped spreadsheet, or the whole inbox",
                       description="Check a spreadsheet (.xlsx or .csv) and, if it has no problem, add "
                                   "its values to the store in one step; then move it to the drop "
                                   "folder's accepted/ or rejected/ folder (with an error report). "
                                   "Without PATH, every file in the inbox; a file that fails (any error) "
                                   "is reported and the next one is read. Links, folders and other "
                                   "entries that are not regular files are refused, never read. Exit "
                                   "status 1 when any file was rejected, refused or failed.")
    i.add_argument("path", nargs="?", help="a file, or the inbox folder (default: the inbox, "
                                           "$PKPI_DROPBOX/inbox)")
    i.set_defaults(func=cmd_ingest)

    w = sub.add_parser("watch", help="watch the inbox and file what is saved into it",
                       description="Look at the inbox every few seconds (polling works on network "
                                   "shares, where file-system events do not) and file each spreadsheet "
                                   "once it has stopped changing. Only one watcher works at a time; "
                                   "others stand by.")
    w.add_argument("--poll", type=float, default=None,
                   help="seconds between looks (default: $PKPI_POLL_SECONDS)")
    w.add_argument("--once", action="store_true",
                   help="look twice (to see which files are complete: the looks are at least "
                        "PKPI_SETTLE_SECONDS apart), file them, and stop")
    w.set_defaults(func=cmd_watch)

    wd = sub.add_parser("withdraw", help="take back an accepted file (nothing is deleted)",
                        description="Withdraw an accepted file: each of its values that is still current "
                                    "leaves the current view, and a value it had revised goes back to the "
                                    "earlier one. Nothing is deleted: the withdrawal is a new data version "
                                    "recorded with when and why, and views \"as of\" an earlier day still "
                                    "show the values. Values that later files had revised stay as those "
                                    "files have them (the answer names the files). A file already "
                                    "withdrawn, rejected or a duplicate is refused (exit status 1). "
                                    "Staff without a shell save a text file 'withdraw NAME' / 'reason: ...' "
                                    "into the inbox instead.")
    wd.add_argument("name", metavar="NAME",
                    help="the file as kept in accepted/ (the Updates page shows it), or its original name "
                         "if only one accepted file had it")
    wd.add_argument("--reason", required=True, help="why it is withdrawn (shown with the withdrawal)")
    wd.set_defaults(func=cmd_withdraw)

    ms = sub.add_parser("migrate-store", help="copy a DuckDB store into an empty PostgreSQL database",
                        description="Copy the DuckDB store (every curated row, every vintage of every value, "
                                    "every processed file and its errors, every withdrawal) into an EMPTY "
                                    "PostgreSQL database, as one transaction: its first data version. A "
                                    "database that already holds tables is refused, and nothing is written. "
                                    "Each table's rows are counted on both sides before the copy commits "
                                    "(any difference rolls it back), and the counts are printed. Stop the "
                                    "watchers first: files dropped meanwhile stay in the DuckDB store only. "
                                    "Then set PKPI_DATABASE_URL on every server.")
    ms.add_argument("--from", dest="source", metavar="PATH",
                    help="the DuckDB store (default: $PKPI_DB or $PKPI_HOME/pkpi.duckdb)")
    ms.add_argument("--to", metavar="URL", help="postgresql://... of an empty database (default: $PKPI_DATABASE_URL)")
    ms.set_defaults(func=cmd_migrate_store)

    t = sub.add_parser("template", help="write the spreadsheet template",
                       description="Write the Excel template staff fill in: instructions, the "
                                   "Observations sheet with drop-down lists of indicators, areas, "
                                   "units, qualifiers and sources, and sheets to declare a new "
                                   "source, indicator or area.")
    t.add_argument("--out", required=True, help="file to write, ending in .xlsx")
    t.set_defaults(func=cmd_template)

    from bench.run import add_arguments as bench_arguments
    bn = sub.add_parser("bench", help="benchmark at CPAS scale (1,000,000 observations; --quick: 100,000)",
                        description="Generate a synthetic store at CPAS scale (through the real intake "
                                    "for a CPAS export), then measure the callbacks over HTTP (1 and 8 "
                                    "clients), pages in Chromium, the intake and the export, against their "
                                    "floors and naive baselines in the same run. Writes JSON and a Markdown "
                                    "summary under bench/results/. See bench/README.md.")
    bench_arguments(bn)
    bn.set_defaults(func=cmd_bench)
    return p


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
