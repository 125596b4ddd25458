"""Command line: the same functions the pages use.

    python -m oversight demo [--db PATH] [--tickets N] [--seed S]
    python -m oversight kpis --db PATH --from 2019-01-01 --to 2019-03-31 [--territory ID]
        [--municipality ID] [--organization ID] [--category ID] [--source S] --json
    python -m oversight backlog --db PATH --from D --to D --freq day|week|month [filters] --json
    python -m oversight heatmap --db PATH --from D --to D --freq week|month --metric missed|on_time_rate|overdue_backlog|missed_per_10k --json
    python -m oversight drill --db PATH --level territory|municipality|organization|building|request
        [--parent ID] --from D --to D [filters] --json
    python -m oversight compare --db PATH (--event ID [--days N] | --before D..D --after D..D)
        [--municipality ID ...] [--organization ID ...] [--territory ID] --json
    python -m oversight rank --db PATH --from D --to D [--territory ID] --min-volume N --json
    python -m oversight slides --db PATH --from D --to D [--territory ID] [--min-volume N] [--lang ru|en] --out deck.pptx
    python -m oversight watchlist --db PATH [--as-of D] [--k 3] [--m 6] [--target 0.95] [--min-volume 30]
        [--territory ID] [--municipality ID] --json
    python -m oversight weekends --db PATH --from D --to D [filters] [--min-volume 30] --json
    python -m oversight import FILE... --db PATH --profile eds|open311|boston311|nyc311|auto [--as-of TS] --json
    python -m oversight geo --build
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

from oversight.paths import database_path


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def _add_filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", type=Path, default=None, help="database file (default: $OVERSIGHT_DB or data/oversight.duckdb)")
    p.add_argument("--from", dest="start", type=_date, required=True)
    p.add_argument("--to", dest="end", type=_date, required=True)
    p.add_argument("--territory", type=int)
    p.add_argument("--municipality", type=int)
    p.add_argument("--organization", type=int)
    p.add_argument("--category", type=int)
    p.add_argument("--source")
    p.add_argument("--json", action="store_true", help="print JSON (the default output)")


def _filters(args):
    from oversight.filters import Filters

    if args.end < args.start:
        raise SystemExit("--to is before --from")
    return Filters(
        start=args.start,
        end=args.end,
        territory_id=args.territory,
        municipality_id=args.municipality,
        organization_id=args.organization,
        category_id=args.category,
        source=args.source,
    )


def _open(db: Path | None):
    from oversight import store

    path = db or database_path()
    if not path.exists():
        raise SystemExit(f"database not found: {path} (build one with: python -m oversight demo --db {path})")
    con = store.connect(path)
    return con, store.dataset_info(con)


def cmd_demo(args) -> None:
    from oversight.demo import DemoSpec, build_demo_database
    from oversight.i18n import t

    path = args.db or database_path()
    started = time.perf_counter()

    def progress(fraction: float, message: str) -> None:
        print(f"[{fraction:4.0%}] {t(f'build.step.{message}', 'en')}", file=sys.stderr, flush=True)

    build_demo_database(path, DemoSpec(tickets=args.tickets, seed=args.seed), progress)
    print(f"demo database written to {path} in {time.perf_counter() - started:.1f} s", file=sys.stderr)


def _check_filters(con, f) -> None:
    """Refuse ids and sources that do not exist in the data: a typo must not print zeros."""
    from oversight import store

    known = {
        "--territory": (f.territory_id, set(store.run(con, "filter_territories")["territory_id"])),
        "--municipality": (f.municipality_id, set(store.run(con, "filter_municipalities")["municipality_id"])),
        "--organization": (f.organization_id, set(store.run(con, "filter_organizations")["organization_id"])),
        "--category": (f.category_id, set(store.run(con, "filter_categories")["category_id"])),
        "--source": (f.source, set(store.run(con, "filter_sources")["source"])),
    }
    for flag, (value, valid) in known.items():
        if value is not None and value not in valid:
            shown = ", ".join(map(str, sorted(valid))) if len(valid) <= 70 else f"{len(valid)} known values"
            raise SystemExit(f"{flag} {value}: not in the data (known: {shown})")


def cmd_kpis(args) -> None:
    from oversight.metrics import kpis

    con, info = _open(args.db)
    f = _filters(args)
    _check_filters(con, f)
    result = kpis(con, f, info["as_of"].to_pydatetime())
    print(json.dumps(result, ensure_ascii=False))


def cmd_backlog(args) -> None:
    from oversight.backlog import series

    con, info = _open(args.db)
    f = _filters(args)
    _check_filters(con, f)
    data = series(con, f, info["as_of"].to_pydatetime(), args.freq)
    rows = [
        {"date": r.date.date().isoformat(), "backlog": int(r.backlog), "overdue_backlog": int(r.overdue_backlog),
         "created": int(r.created), "closed": int(r.closed)}
        for r in data.itertuples()
    ]
    print(json.dumps(rows, ensure_ascii=False))


def cmd_heatmap(args) -> None:
    from oversight.heatmap import matrix

    con, info = _open(args.db)
    f = _filters(args)
    _check_filters(con, f)
    cells = matrix(con, f, info["as_of"].to_pydatetime(), args.freq, args.metric)
    rows = [
        {
            "level": r.level,
            "territory_id": int(r.territory_id),
            "municipality_id": None if r.level == "territory" else int(r.municipality_id),
            "name_ru": r.name_ru,
            "date": r.bucket.date().isoformat(),
            "value": None if r.value != r.value else float(r.value),
        }
        for r in cells.itertuples()
    ]
    print(json.dumps(rows, ensure_ascii=False))


def _json_value(value):
    """A table cell as JSON: numbers as numbers, missing as null, timestamps as ISO text."""
    import pandas as pd

    if value is None or (isinstance(value, float) and value != value) or value is pd.NA or value is pd.NaT:
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, (list, tuple)):
        return list(value)
    return value


def cmd_drill(args) -> None:
    from dataclasses import replace

    from oversight import drill, store

    con, info = _open(args.db)
    f = _filters(args)
    level, parent = args.level, args.parent
    if level == "territory" and parent is not None:
        raise SystemExit("--level territory lists every direction: it takes no --parent")
    if level != "territory" and parent is None:
        raise SystemExit(f"--level {level} needs --parent (the id of the level above)")
    building = None
    if level == "municipality":
        f = replace(f, territory_id=parent)
    elif level == "organization":
        known = store.run(con, "filter_municipalities")
        match = known[known["municipality_id"] == parent]
        if match.empty:
            raise SystemExit(f"--parent {parent}: no such current municipality")
        f = replace(f, territory_id=int(match["territory_id"].iloc[0]), municipality_id=parent)
    elif level == "building":
        f = replace(f, organization_id=parent)
    elif level == "request":
        known = store.run(con, "drill_labels", level="building")
        if parent not in set(known["child_id"]):
            raise SystemExit(f"--parent {parent}: no such building")
        building = parent
    _check_filters(con, f)
    as_of = info["as_of"].to_pydatetime()
    table = drill.requests(con, f, as_of, building) if level == "request" else drill.children(con, f, as_of, level)
    rows = [{k: _json_value(v) for k, v in row.items()} for row in table.to_dict("records")]
    print(json.dumps({"level": level, "parent": parent, "as_of": as_of.isoformat(), "rows": rows}, ensure_ascii=False))


def _span(text: str) -> tuple[dt.date, dt.date]:
    """'2019-01-01..2019-03-31' -> two dates."""
    try:
        first, last = text.split("..")
        return _date(first), _date(last)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"expected D..D (e.g. 2019-01-01..2019-03-31), got {text!r}") from error


def cmd_compare(args) -> None:
    from oversight import compare, store
    from oversight.filters import Filters

    con, info = _open(args.db)
    as_of = info["as_of"].to_pydatetime()
    treated = list(args.municipality or [])
    organizations = list(args.organization or [])
    if args.event is not None:
        events = store.run(con, "events_all")
        event = events[events["event_id"] == args.event]
        if event.empty:
            raise SystemExit(f"--event {args.event}: no such event (known: {', '.join(map(str, events['event_id']))})")
        row = event.iloc[0]
        periods = compare.Periods.around(row["event_date"].date(), args.days)
        if not treated and not organizations and pd_notna(row["organization_id"]):
            organizations = [int(row["organization_id"])]
        elif not treated and not organizations and pd_notna(row["municipality_id"]):
            treated = [int(row["municipality_id"])]
    elif args.before and args.after:
        try:
            periods = compare.Periods(*args.before, *args.after)
        except ValueError as error:
            raise SystemExit(str(error)) from error
    else:
        raise SystemExit("give --event ID, or --before D..D and --after D..D")
    scope = Filters(start=periods.before_start, end=periods.after_end, territory_id=args.territory)
    _check_filters(con, scope)
    known = set(store.run(con, "municipality_current")["municipality_id"])
    unknown = [m for m in treated if m not in known]
    if unknown:
        raise SystemExit(f"--municipality {unknown[0]}: not in the data")
    known_orgs = set(store.run(con, "filter_organizations")["organization_id"])
    if any(o not in known_orgs for o in organizations):
        raise SystemExit(f"--organization {next(o for o in organizations if o not in known_orgs)}: not in the data")
    result = compare.compare(con, scope, as_of, periods, treated, organizations)
    out = {
        "periods": {k: getattr(periods, k).isoformat() for k in ("before_start", "before_end", "after_start", "after_end")},
        "treated": treated,
        "treated_organizations": organizations,
        "region": result["region"],
        "treated_group": result.get("treated"),
        "difference_in_differences": result.get("did"),
        "warnings": [key for key, _ in result["warnings"]],
    }
    print(json.dumps(out, ensure_ascii=False, default=_json_value))


def pd_notna(value) -> bool:
    import pandas as pd

    return bool(pd.notna(value))


def cmd_rank(args) -> None:
    from oversight import fairness

    con, info = _open(args.db)
    f = _filters(args)
    _check_filters(con, f)
    assessed, funnel = fairness.organizations(con, f, info["as_of"].to_pydatetime(), args.min_volume)
    columns = ["organization_id", "name", "inn", "due", "missed", "share", "low", "high", "eb_share",
               "lower_998", "upper_998", "verdict"]
    rows = [{k: _json_value(v) for k, v in row.items()} for row in assessed[columns].rename(columns={"due": "volume"}).to_dict("records")]
    print(json.dumps({"funnel": funnel, "organizations": rows}, ensure_ascii=False))


def cmd_slides(args) -> None:
    from oversight import images, presentation, slides

    con, info = _open(args.db)
    f = _filters(args)
    _check_filters(con, f)
    as_of = info["as_of"].to_pydatetime()
    started = time.perf_counter()
    made = presentation.material(con, f, as_of, args.min_volume, args.lang)
    try:
        data = slides.deck(con, made, args.lang, args.target / 100)
    except images.ChromeMissing:
        raise SystemExit("no Chrome or Chromium to draw the charts: install one (Debian: sudo apt install chromium) "
                         "or name it in $BROWSER_PATH") from None
    args.out.write_bytes(data)
    print(f"deck written to {args.out} ({len(data) // 1024} KB) in {time.perf_counter() - started:.1f} s", file=sys.stderr)


def _records(frame) -> list[dict]:
    return [{k: _json_value(v) for k, v in row.items()} for row in frame.to_dict("records")]


def cmd_watchlist(args) -> None:
    import datetime as dt

    from oversight import compliance
    from oversight.filters import Filters

    con, info = _open(args.db)
    data_as_of = info["as_of"].to_pydatetime()
    # --as-of D: the list as it stood at the start of day D (months complete before it); never later than the data.
    as_of = data_as_of if args.as_of is None else min(dt.datetime.combine(args.as_of, dt.time()), data_as_of)
    day = (as_of - dt.timedelta(microseconds=1)).date()
    f = Filters(start=day, end=day, territory_id=args.territory, municipality_id=args.municipality)
    _check_filters(con, f)
    rule = compliance.Rule(k=args.k, m=args.m, target=args.target, min_volume=args.min_volume)
    if rule.problems():
        raise SystemExit("; ".join(rule.problems()))
    result = compliance.watchlist(con, f, as_of, rule)
    record = result["record"]
    months = {org: _records(rows.drop(columns="organization_id")) for org, rows in record.groupby("organization_id")}
    listed = _records(result["list"])
    for row in listed:
        row["months"] = months.get(row["organization_id"], [])
    print(json.dumps({"as_of": as_of.isoformat(), "rule": {"k": rule.k, "m": rule.m, "target": rule.target,
                      "min_volume": rule.min_volume}, "months": [m.isoformat() for m in result["months"]],
                      "organizations": listed}, ensure_ascii=False))


def cmd_weekends(args) -> None:
    from oversight import compliance

    con, info = _open(args.db)
    f = _filters(args)
    _check_filters(con, f)
    result = compliance.weekends(con, f, info["as_of"].to_pydatetime(), args.min_volume)
    print(json.dumps({key: _records(frame) for key, frame in result.items()}, ensure_ascii=False))


def _timestamp(text: str):
    import datetime as dt

    for parse in (dt.datetime.fromisoformat, lambda v: dt.datetime.strptime(v, "%d.%m.%Y %H:%M"),
                  lambda v: dt.datetime.strptime(v, "%d.%m.%Y")):
        try:
            return parse(text).replace(tzinfo=None)
        except ValueError:
            continue
    raise argparse.ArgumentTypeError(f"not a moment (YYYY-MM-DDTHH:MM or DD.MM.YYYY HH:MM): {text!r}")


def cmd_import(args) -> None:
    from oversight import importer

    path = args.db or database_path()
    for file in args.files:
        if not file.exists():
            raise SystemExit(f"file not found: {file}")

    def progress(fraction: float, message: str) -> None:
        print(f"[{fraction:4.0%}] {message}", file=sys.stderr, flush=True)

    try:
        report = importer.import_files(args.files, path, args.profile, args.as_of, progress)
    except importer.ImportError_ as error:
        raise SystemExit(f"import refused, the database is unchanged: {error}") from None
    print(json.dumps(report.to_dict(), ensure_ascii=False, default=str))


def cmd_geo(args) -> None:
    from oversight.geo import build_boundaries

    out = build_boundaries(tolerance_m=args.tolerance)
    print(f"boundaries written to {out} ({out.stat().st_size // 1024} KB)")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m oversight", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="build the demo database")
    p.add_argument("--db", type=Path, default=None)
    p.add_argument("--tickets", type=int, default=None)
    p.add_argument("--seed", type=int, default=None)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("kpis", help="the overview KPIs for a period and filters, as JSON")
    _add_filters(p)
    p.set_defaults(func=cmd_kpis)

    p = sub.add_parser("backlog", help="the backlog series of the Backlog page, as JSON")
    _add_filters(p)
    p.add_argument("--freq", choices=["day", "week", "month"], default="week")
    p.set_defaults(func=cmd_backlog)

    p = sub.add_parser("heatmap", help="the Map page's municipality x time matrix, as JSON")
    _add_filters(p)
    p.add_argument("--freq", choices=["week", "month"], default="month")
    p.add_argument("--metric", choices=["missed", "on_time_rate", "overdue_backlog", "missed_per_10k"], default="missed")
    p.set_defaults(func=cmd_heatmap)

    p = sub.add_parser("drill", help="the Drill-down page's ranked table of one level, as JSON")
    _add_filters(p)
    p.add_argument("--level", choices=["territory", "municipality", "organization", "building", "request"], required=True)
    p.add_argument("--parent", type=int, help="id of the level above: direction, municipality, organisation or building")
    p.set_defaults(func=cmd_drill)

    p = sub.add_parser("compare", help="before/after comparison of missed deadlines, as JSON")
    p.add_argument("--db", type=Path, default=None)
    p.add_argument("--event", type=int, help="an events row: its date, and its municipality as the treated group")
    p.add_argument("--days", type=int, default=90, help="with --event: days before and after it (default 90)")
    p.add_argument("--before", type=_span, help="D..D")
    p.add_argument("--after", type=_span, help="D..D")
    p.add_argument("--municipality", type=int, action="append", help="treated municipality (repeatable)")
    p.add_argument("--organization", type=int, action="append", help="treated organisation (repeatable)")
    p.add_argument("--territory", type=int, help="limit the comparison to one direction")
    p.add_argument("--json", action="store_true", help="print JSON (the default output)")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("rank", help="organisations with volume, missed, share, interval and funnel verdict, as JSON")
    _add_filters(p)
    p.add_argument("--min-volume", type=int, default=30, help="deadlines in the period needed for a verdict (default 30)")
    p.set_defaults(func=cmd_rank)

    p = sub.add_parser("slides", help="the seminar deck (region KPIs, map, funnel, good and poor example) as .pptx")
    _add_filters(p)
    p.add_argument("--min-volume", type=int, default=30, help="deadlines in the period needed for a verdict (default 30)")
    p.add_argument("--target", type=float, default=95, help="on-time target, percent (default 95)")
    p.add_argument("--lang", choices=["ru", "en"], default="ru")
    p.add_argument("--out", type=Path, required=True, help="the .pptx file to write")
    p.set_defaults(func=cmd_slides)

    p = sub.add_parser("watchlist", help="organisations below the on-time target in K of the last M complete months, as JSON")
    p.add_argument("--db", type=Path, default=None)
    p.add_argument("--as-of", type=_date, default=None, help="the list as it stood at the start of this day (default: the data's as_of)")
    p.add_argument("--k", type=int, default=3)
    p.add_argument("--m", type=int, default=6)
    p.add_argument("--target", type=float, default=0.95, help="on-time target as a share (default 0.95)")
    p.add_argument("--min-volume", type=int, default=30, help="deadlines in a month for it to count (default 30)")
    p.add_argument("--territory", type=int)
    p.add_argument("--municipality", type=int)
    p.add_argument("--json", action="store_true", help="print JSON (the default output)")
    p.set_defaults(func=cmd_watchlist)

    p = sub.add_parser("weekends", help="deadlines on working days, weekends, holidays and the New Year holidays, as JSON")
    _add_filters(p)
    p.add_argument("--min-volume", type=int, default=30, help="deadlines of each kind for an organisation's gap (default 30)")
    p.set_defaults(func=cmd_weekends)

    p = sub.add_parser("import", help="import ЕДС or 311 exports (CSV, Excel) with validation; prints the report as JSON")
    p.add_argument("files", nargs="+", type=Path)
    p.add_argument("--db", type=Path, default=None)
    p.add_argument("--profile", choices=["auto", "eds", "open311", "boston311", "nyc311"], default="auto")
    p.add_argument("--as-of", type=_timestamp, default=None, help="the moment the data describe (default: from the file)")
    p.add_argument("--json", action="store_true", help="print JSON (the default output)")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("geo", help="rebuild data/geo/municipalities.geojson from shared/geo")
    p.add_argument("--build", action="store_true", required=True)
    p.add_argument("--tolerance", type=float, default=120.0, help="simplification tolerance, metres")
    p.set_defaults(func=cmd_geo)

    args = parser.parse_args(argv)
    from oversight import metrics

    metrics.BACKGROUND_INDEX = False  # a one-shot process: no index build left running at exit
    if args.command == "demo":
        from oversight.demo import DEMO_SEED, DEMO_TICKETS

        args.tickets = args.tickets or DEMO_TICKETS
        args.seed = DEMO_SEED if args.seed is None else args.seed
    args.func(args)


if __name__ == "__main__":
    main()
