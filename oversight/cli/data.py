"""The commands of the data: `demo` (build the demo database), `import` (files, or an inbox folder for a
timer), `rebuild` (the derived tables whole), `geo --build` (the map's boundaries from shared/geo). Each
needs the data officer's role under --as-user."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from oversight.cli.common import EXIT_NOTHING_LOADED, EXIT_REFUSED, parse_timestamp, principal, require
from oversight.paths import database_path


def cmd_demo(args) -> None:
    from oversight.i18n import t
    from oversight.ingest.demo import DemoSpec, build_demo_database

    require("import", "demo")  # it replaces the data file

    path = args.db or database_path()
    started = time.perf_counter()

    def progress(fraction: float, message: str) -> None:
        print(f"[{fraction:4.0%}] {t(f'build.step.{message}', 'en')}", file=sys.stderr, flush=True)

    build_demo_database(path, DemoSpec(tickets=args.tickets, seed=args.seed), progress)
    print(f"demo database written to {path} in {time.perf_counter() - started:.1f} s", file=sys.stderr)


def cmd_import(args) -> None:
    from oversight import access, guarded
    from oversight.analysis import median_cache
    from oversight.ingest import importer

    path = args.db or database_path()
    usage = None
    if bool(args.files) == (args.inbox is not None):
        usage = "give the files to import or --inbox DIR (exactly one of them)"
    elif args.inbox is not None and args.as_of is not None:
        usage = "--as-of cannot go with --inbox: each file's moment is read from the file"
    if usage:
        print(f"python -m oversight import: error: {usage}", file=sys.stderr)
        raise SystemExit(2)  # as argparse's own usage errors
    for file in args.files:
        if not file.exists():
            raise SystemExit(f"file not found: {file}")
    if args.inbox is not None and not args.inbox.is_dir():
        raise SystemExit(f"inbox not found (not a folder): {args.inbox}")
    from oversight import leftovers

    leftovers.clean(path.parent)  # what a killed import left (never a running one's)
    if args.inbox is not None:  # oversight/ingest/inbox.py; the exit codes are listed in docs/daily.md
        from oversight.ingest import inbox

        try:
            run = inbox.process(args.inbox, path, principal(), args.profile, args.settle,
                                told=lambda outcome: print(inbox.describe(outcome, args.inbox), flush=True))
        except inbox.InboxBusy as busy:  # the other run takes the files: not a failure
            print(str(busy), file=sys.stderr)
            return
        except inbox.DatabaseBusy as busy:
            raise SystemExit(f"database busy: {busy}") from None
        except access.AccessDenied as error:
            print(str(error), file=sys.stderr)
            raise SystemExit(EXIT_REFUSED) from None
        if run.refused:
            raise SystemExit(inbox.EXIT_FILES_REFUSED)
        return

    def progress(fraction: float, message: str) -> None:
        print(f"[{fraction:4.0%}] {message}", file=sys.stderr, flush=True)

    try:
        report = guarded.import_files(principal(), list(args.files), path, args.profile, args.as_of, progress,
                                      [f.name for f in args.files])
    except importer.ImportError_ as error:
        raise SystemExit(f"import refused, the database is unchanged: {error}") from None
    except access.AccessDenied as error:
        print(str(error), file=sys.stderr)
        raise SystemExit(EXIT_REFUSED) from None
    print(json.dumps(report.to_dict(), ensure_ascii=False, default=str))
    median_cache.save_after_import(path)  # after the JSON: the data are published already
    if report.loaded == 0:
        print(f"nothing loaded: all {report.rows_read} rows refused (see rejects_sample and the Data page)", file=sys.stderr)
        raise SystemExit(EXIT_NOTHING_LOADED)


def cmd_geo(args) -> None:
    from oversight.geo import build_boundaries

    require("import", "geo --build")

    out = build_boundaries(tolerance_m=args.tolerance)
    print(f"boundaries written to {out} ({out.stat().st_size // 1024} KB)")


def cmd_rebuild(args) -> None:
    """The derived tables built whole (their order restored after many incremental imports)."""
    from oversight import standby

    require("import", "rebuild")
    path = args.db or database_path()
    if not path.exists():
        raise SystemExit(f"no database at {path}")
    print(f"derived tables of {path} built whole in {standby.rebuild(path):.1f} s")


def register(sub) -> None:
    """The commands of the data: the demo, imports, the derived tables, the map's boundaries."""
    p = sub.add_parser("demo", help="build the demo database")
    p.add_argument("--db", type=Path, default=None)
    p.add_argument("--tickets", type=int, default=None)
    p.add_argument("--seed", type=int, default=None)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("import", help="import ЕДС or 311 exports (CSV, Excel) with validation; prints the report as JSON")
    p.add_argument("files", nargs="*", type=Path, help="the files to import together (or --inbox DIR)")
    p.add_argument("--inbox", type=Path, metavar="DIR",
                   help="import every new file in DIR one by one, moving each to DIR/done/ or DIR/refused/ with its "
                        "report (for a timer: see docs/daily.md; exit 5 when a file was refused)")
    p.add_argument("--settle", type=float, default=10.0, metavar="SECONDS",
                   help="with --inbox: leave files modified less than this long ago for the next run (default 10)")
    p.add_argument("--db", type=Path, default=None)
    p.add_argument("--profile", choices=["auto", "eds", "open311", "boston311", "nyc311"], default="auto")
    p.add_argument("--as-of", type=parse_timestamp, default=None, help="the moment the data describe (default: from the file)")
    p.add_argument("--json", action="store_true", help="print JSON (the default output)")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("rebuild", help="build the derived tables whole (after many daily imports), while the app serves")
    p.add_argument("--db", type=Path, default=None)
    p.set_defaults(func=cmd_rebuild)

    p = sub.add_parser("geo", help="rebuild data/geo/municipalities.geojson from shared/geo")
    p.add_argument("--build", action="store_true", required=True)
    p.add_argument("--tolerance", type=float, default=120.0, help="simplification tolerance, metres")
    p.set_defaults(func=cmd_geo)
