"""The pages' numbers as JSON, from the same library functions: `kpis`, `backlog`, `heatmap`, `drill`,
`compare`, `rank`, `watchlist`, `weekends`. Under --as-user an id outside the user's grants exits with
3."""

from __future__ import annotations

import json
from pathlib import Path

from oversight.cli.common import (
    add_filters,
    check_filters,
    filters_of,
    json_value,
    not_in_data,
    open_database,
    parse_date,
    parse_span,
    pd_notna,
    records,
)


def cmd_kpis(args) -> None:
    from oversight.analysis.metrics import kpis

    con, info = open_database(args.db)
    f = filters_of(args)
    check_filters(con, f)
    result = kpis(con, f, info["as_of"].to_pydatetime())
    print(json.dumps(result, ensure_ascii=False))


def cmd_backlog(args) -> None:
    from oversight.analysis.backlog import series

    con, info = open_database(args.db)
    f = filters_of(args)
    check_filters(con, f)
    data = series(con, f, info["as_of"].to_pydatetime(), args.freq)
    rows = [
        {"date": r.date.date().isoformat(), "backlog": int(r.backlog), "overdue_backlog": int(r.overdue_backlog),
         "created": int(r.created), "closed": int(r.closed)}
        for r in data.itertuples()
    ]
    print(json.dumps(rows, ensure_ascii=False))


def cmd_heatmap(args) -> None:
    from oversight.analysis.heatmap import matrix

    con, info = open_database(args.db)
    f = filters_of(args)
    check_filters(con, f)
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


def cmd_drill(args) -> None:
    from dataclasses import replace

    from oversight import store
    from oversight.analysis import drill

    con, info = open_database(args.db)
    f = filters_of(args)
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
            not_in_data("--parent", parent, f"--parent {parent}: no such current municipality")
        f = replace(f, territory_id=int(match["territory_id"].iloc[0]), municipality_id=parent)
    elif level == "building":
        f = replace(f, organization_id=parent)
    elif level == "request":
        known = store.run(con, "drill_labels", level="building")
        if parent not in set(known["child_id"]):
            not_in_data("--parent", parent, f"--parent {parent}: no such building")
        building = parent
    check_filters(con, f)
    as_of = info["as_of"].to_pydatetime()
    table = drill.requests(con, f, as_of, building) if level == "request" else drill.children(con, f, as_of, level)
    rows = [{k: json_value(v) for k, v in row.items()} for row in table.to_dict("records")]
    print(json.dumps({"level": level, "parent": parent, "as_of": as_of.isoformat(), "rows": rows}, ensure_ascii=False))


def cmd_compare(args) -> None:
    from oversight import store
    from oversight.analysis import compare
    from oversight.filters import Filters

    con, info = open_database(args.db)
    as_of = info["as_of"].to_pydatetime()
    treated = list(args.municipality or [])
    organizations = list(args.organization or [])
    if args.event is not None:
        events = store.run(con, "events_all")
        event = events[events["event_id"] == args.event]
        if event.empty:
            not_in_data("--event", args.event, f"--event {args.event}: no such event (known: {', '.join(map(str, events['event_id']))})")
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
    check_filters(con, scope)
    known = set(store.run(con, "municipality_current")["municipality_id"])
    unknown = [m for m in treated if m not in known]
    if unknown:
        not_in_data("--municipality", unknown[0], f"--municipality {unknown[0]}: not in the data")
    known_orgs = set(store.run(con, "filter_organizations")["organization_id"])
    if any(o not in known_orgs for o in organizations):
        outside = next(o for o in organizations if o not in known_orgs)
        not_in_data("--organization", outside, f"--organization {outside}: not in the data")
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
    print(json.dumps(out, ensure_ascii=False, default=json_value))


def cmd_rank(args) -> None:
    from oversight.analysis import fairness

    con, info = open_database(args.db)
    f = filters_of(args)
    check_filters(con, f)
    assessed, funnel = fairness.organizations(con, f, info["as_of"].to_pydatetime(), args.min_volume)
    columns = ["organization_id", "name", "inn", "due", "missed", "share", "low", "high", "eb_share",
               "lower_998", "upper_998", "verdict"]
    rows = [{k: json_value(v) for k, v in row.items()} for row in assessed[columns].rename(columns={"due": "volume"}).to_dict("records")]
    print(json.dumps({"funnel": funnel, "organizations": rows}, ensure_ascii=False))


def cmd_watchlist(args) -> None:
    import datetime as dt

    from oversight.analysis import compliance
    from oversight.filters import Filters

    con, info = open_database(args.db)
    data_as_of = info["as_of"].to_pydatetime()
    # --as-of D: the list as it stood at the start of day D (months complete before it); never later than the data.
    as_of = data_as_of if args.as_of is None else min(dt.datetime.combine(args.as_of, dt.time()), data_as_of)
    day = (as_of - dt.timedelta(microseconds=1)).date()
    f = Filters(start=day, end=day, territory_id=args.territory, municipality_id=args.municipality)
    check_filters(con, f)
    rule = compliance.Rule(k=args.k, m=args.m, target=args.target, min_volume=args.min_volume)
    if rule.problems():
        raise SystemExit("; ".join(rule.problems()))
    result = compliance.watchlist(con, f, as_of, rule)
    record = result["record"]
    months = {org: records(rows.drop(columns="organization_id")) for org, rows in record.groupby("organization_id")}
    listed = records(result["list"])
    for row in listed:
        row["months"] = months.get(row["organization_id"], [])
    print(json.dumps({"as_of": as_of.isoformat(), "rule": {"k": rule.k, "m": rule.m, "target": rule.target,
                      "min_volume": rule.min_volume}, "months": [m.isoformat() for m in result["months"]],
                      "organizations": listed}, ensure_ascii=False))


def cmd_weekends(args) -> None:
    from oversight.analysis import compliance

    con, info = open_database(args.db)
    f = filters_of(args)
    check_filters(con, f)
    result = compliance.weekends(con, f, info["as_of"].to_pydatetime(), args.min_volume)
    print(json.dumps({key: records(frame) for key, frame in result.items()}, ensure_ascii=False))


def register(sub) -> None:
    """The commands of the pages' numbers as JSON."""
    p = sub.add_parser("kpis", help="the overview KPIs for a period and filters, as JSON")
    add_filters(p)
    p.set_defaults(func=cmd_kpis)

    p = sub.add_parser("backlog", help="the backlog series of the Backlog page, as JSON")
    add_filters(p)
    p.add_argument("--freq", choices=["day", "week", "month"], default="week")
    p.set_defaults(func=cmd_backlog)

    p = sub.add_parser("heatmap", help="the Map page's municipality x time matrix, as JSON")
    add_filters(p)
    p.add_argument("--freq", choices=["week", "month"], default="month")
    p.add_argument("--metric", choices=["missed", "on_time_rate", "overdue_backlog", "missed_per_10k"], default="missed")
    p.set_defaults(func=cmd_heatmap)

    p = sub.add_parser("drill", help="the Drill-down page's ranked table of one level, as JSON")
    add_filters(p)
    p.add_argument("--level", choices=["territory", "municipality", "organization", "building", "request"], required=True)
    p.add_argument("--parent", type=int, help="id of the level above: direction, municipality, organisation or building")
    p.set_defaults(func=cmd_drill)

    p = sub.add_parser("compare", help="before/after comparison of missed deadlines, as JSON")
    p.add_argument("--db", type=Path, default=None)
    p.add_argument("--event", type=int, help="an events row: its date, and its municipality as the treated group")
    p.add_argument("--days", type=int, default=90, help="with --event: days before and after it (default 90)")
    p.add_argument("--before", type=parse_span, help="D..D")
    p.add_argument("--after", type=parse_span, help="D..D")
    p.add_argument("--municipality", type=int, action="append", help="treated municipality (repeatable)")
    p.add_argument("--organization", type=int, action="append", help="treated organisation (repeatable)")
    p.add_argument("--territory", type=int, help="limit the comparison to one direction")
    p.add_argument("--json", action="store_true", help="print JSON (the default output)")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("rank", help="organisations with volume, missed, share, interval and funnel verdict, as JSON")
    add_filters(p)
    p.add_argument("--min-volume", type=int, default=30, help="deadlines in the period needed for a verdict (default 30)")
    p.set_defaults(func=cmd_rank)

    p = sub.add_parser("watchlist", help="organisations below the on-time target in K of the last M complete months, as JSON")
    p.add_argument("--db", type=Path, default=None)
    p.add_argument("--as-of", type=parse_date, default=None, help="the list as it stood at the start of this day (default: the data's as_of)")
    p.add_argument("--k", type=int, default=3)
    p.add_argument("--m", type=int, default=6)
    p.add_argument("--target", type=float, default=0.95, help="on-time target as a share (default 0.95)")
    p.add_argument("--min-volume", type=int, default=30, help="deadlines in a month for it to count (default 30)")
    p.add_argument("--territory", type=int)
    p.add_argument("--municipality", type=int)
    p.add_argument("--json", action="store_true", help="print JSON (the default output)")
    p.set_defaults(func=cmd_watchlist)

    p = sub.add_parser("weekends", help="deadlines on working days, weekends, holidays and the New Year holidays, as JSON")
    add_filters(p)
    p.add_argument("--min-volume", type=int, default=30, help="deadlines of each kind for an organisation's gap (default 30)")
    p.set_defaults(func=cmd_weekends)
