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
    python -m oversight import --inbox DIR [--db PATH] [--profile P] [--settle S]
    python -m oversight report --period week|month|quarter [--end D] [--as-user EMAIL | --territory ID]
        [--lang ru|en] --out F.docx [--out F.pdf] [--mail-to ADDR ...]
    python -m oversight rebuild [--db PATH]
    python -m oversight geo --build
    python -m oversight users add EMAIL --role ROLE [--territory ID]... [--municipality ID]...
    python -m oversight users list [--json]
    python -m oversight users revoke EMAIL [--role ROLE]
    python -m oversight audit [--user EMAIL] [--action A] [--from D] [--to D] --json

The command line is the server administrator's tool and reads everything. `--as-user EMAIL` before
the command runs it under that user's grants (a per-head scheduled report): an id outside them makes
it exit with code 3 and the reason, and an audit row.
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


EXIT_REFUSED = 3  # an id or an action outside the --as-user principal's grants
EXIT_NOTHING_LOADED = 4  # an import that read the file(s) but loaded no row (every row refused: recorded)
_principal = None  # set by main(): the server's shell (everything) or the --as-user principal


def principal():
    from oversight import access

    return _principal or access.CLI


def _open(db: Path | None):
    from oversight import store

    path = db or database_path()
    if not path.exists():
        raise SystemExit(f"database not found: {path} (build one with: python -m oversight demo --db {path})")
    who = principal()
    if not who.reads_data:
        _refuse("read", who.user, f"{who.user} has no grant that reads data")
    con = store.connect(path, who.scope)
    return con, store.dataset_info(con)


def _refuse(flag: str, value, reason: str):
    """Exit 3 with the reason, and put the refusal on record."""
    from oversight import access

    access.audit(principal().user, "refused", target=f"cli {flag} {value}", detail={"reason": reason})
    print(f"нет доступа / refused: {reason}", file=sys.stderr)
    raise SystemExit(EXIT_REFUSED)


def _not_in_data(flag: str, value, message: str):
    """An id the command cannot see: for a scoped user that is a refusal (exit 3), for the
    administrator a typo (exit 1). A scoped user is not told whether the id exists."""
    if principal().mode != "cli" and not principal().scope.is_everything:
        _refuse(flag, value, f"{flag} {value} is outside the grants of {principal().user}")
    raise SystemExit(message)


def _require(action: str, target: str) -> None:
    """Under --as-user, the user's roles must allow `action` (exit 3 otherwise)."""
    from oversight import access

    try:
        access.require(principal(), action, target=target)
    except access.AccessDenied as error:
        print(str(error), file=sys.stderr)
        raise SystemExit(EXIT_REFUSED) from None


def cmd_demo(args) -> None:
    from oversight.i18n import t
    from oversight.ingest.demo import DemoSpec, build_demo_database

    _require("import", "demo")  # it replaces the data file

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
            _not_in_data(flag, value, f"{flag} {value}: not in the data (known: {shown})")


def cmd_kpis(args) -> None:
    from oversight.analysis.metrics import kpis

    con, info = _open(args.db)
    f = _filters(args)
    _check_filters(con, f)
    result = kpis(con, f, info["as_of"].to_pydatetime())
    print(json.dumps(result, ensure_ascii=False))


def cmd_backlog(args) -> None:
    from oversight.analysis.backlog import series

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
    from oversight.analysis.heatmap import matrix

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

    from oversight import store
    from oversight.analysis import drill

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
            _not_in_data("--parent", parent, f"--parent {parent}: no such current municipality")
        f = replace(f, territory_id=int(match["territory_id"].iloc[0]), municipality_id=parent)
    elif level == "building":
        f = replace(f, organization_id=parent)
    elif level == "request":
        known = store.run(con, "drill_labels", level="building")
        if parent not in set(known["child_id"]):
            _not_in_data("--parent", parent, f"--parent {parent}: no such building")
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
    from oversight import store
    from oversight.analysis import compare
    from oversight.filters import Filters

    con, info = _open(args.db)
    as_of = info["as_of"].to_pydatetime()
    treated = list(args.municipality or [])
    organizations = list(args.organization or [])
    if args.event is not None:
        events = store.run(con, "events_all")
        event = events[events["event_id"] == args.event]
        if event.empty:
            _not_in_data("--event", args.event, f"--event {args.event}: no such event (known: {', '.join(map(str, events['event_id']))})")
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
        _not_in_data("--municipality", unknown[0], f"--municipality {unknown[0]}: not in the data")
    known_orgs = set(store.run(con, "filter_organizations")["organization_id"])
    if any(o not in known_orgs for o in organizations):
        outside = next(o for o in organizations if o not in known_orgs)
        _not_in_data("--organization", outside, f"--organization {outside}: not in the data")
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
    from oversight.analysis import fairness

    con, info = _open(args.db)
    f = _filters(args)
    _check_filters(con, f)
    assessed, funnel = fairness.organizations(con, f, info["as_of"].to_pydatetime(), args.min_volume)
    columns = ["organization_id", "name", "inn", "due", "missed", "share", "low", "high", "eb_share",
               "lower_998", "upper_998", "verdict"]
    rows = [{k: _json_value(v) for k, v in row.items()} for row in assessed[columns].rename(columns={"due": "volume"}).to_dict("records")]
    print(json.dumps({"funnel": funnel, "organizations": rows}, ensure_ascii=False))


def cmd_slides(args) -> None:
    from oversight.output import images, presentation, slides

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
    from oversight import access

    # The speaker notes carry residents' texts (masked): on record, as the page's download is.
    access.audit(principal().user, "download_texts", target=str(args.out), detail={"bytes": len(data), "via": "cli"})
    print(f"deck written to {args.out} ({len(data) // 1024} KB) in {time.perf_counter() - started:.1f} s", file=sys.stderr)


def _records(frame) -> list[dict]:
    return [{k: _json_value(v) for k, v in row.items()} for row in frame.to_dict("records")]


def cmd_watchlist(args) -> None:
    import datetime as dt

    from oversight.analysis import compliance
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
    from oversight.analysis import compliance

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


def cmd_users(args) -> None:
    """Grants from the server's shell (how the first admin is made): add, list, revoke."""
    from oversight import access

    who = principal()
    try:
        if args.action == "add":
            grant = access.add_grant(who, args.email, args.role, args.territory or (), args.municipality or ())
            _check_scope_ids(grant)
            print(json.dumps({"added": grant}, ensure_ascii=False))
        elif args.action == "revoke":
            removed = access.revoke(who, args.email, args.role)
            if not removed:
                raise SystemExit(f"{args.email}: no such grant")
            print(json.dumps({"revoked": removed}, ensure_ascii=False))
        else:
            access.require(who, "manage_access", target="users list")
            table = access.grants()
            rows = [{**access.grant_record(r), "granted_by": r["granted_by"], "granted_at": _json_value(r["granted_at"])}
                    for _, r in table.iterrows()]
            if args.json:
                print(json.dumps(rows, ensure_ascii=False))
            else:
                for r in rows:
                    scope = " ".join([f"territory={i}" for i in r["territory_ids"]] + [f"municipality={i}" for i in r["municipality_ids"]])
                    print(f"{r['user']}\t{r['role']}\t{scope}")
    except access.AccessDenied as error:
        print(str(error), file=sys.stderr)
        raise SystemExit(EXIT_REFUSED) from None
    except ValueError as error:
        raise SystemExit(str(error)) from None


def _check_scope_ids(grant: dict) -> None:
    """Warn about ids a grant names that the data do not have (the grant stands: data may come later)."""
    from oversight import access, store

    path = database_path()
    if not path.exists() or not (grant["territory_ids"] or grant["municipality_ids"]):
        return
    con = store.connect(path, access.EVERYTHING)
    territories = set(store.run(con, "filter_territories")["territory_id"])
    municipalities = set(store.run(con, "filter_municipalities")["municipality_id"])
    for i in grant["territory_ids"]:
        if i not in territories:
            print(f"warning: territory {i} is not in {path}", file=sys.stderr)
    for i in grant["municipality_ids"]:
        if i not in municipalities:
            print(f"warning: municipality {i} is not a current municipality in {path}", file=sys.stderr)


def cmd_audit(args) -> None:
    """The audit log, newest first, as JSON (read-only: nothing edits or deletes it)."""
    from oversight import access

    try:
        access.require(principal(), "read_audit", target="audit log")
    except access.AccessDenied as error:
        print(str(error), file=sys.stderr)
        raise SystemExit(EXIT_REFUSED) from None
    rows = access.audit_rows(user=args.user, action=args.action, start=args.start, end=args.end, limit=args.limit)
    print(json.dumps([{k: _json_value(v) for k, v in r.items()} for r in rows.to_dict("records")], ensure_ascii=False))


def cmd_geo(args) -> None:
    from oversight.geo import build_boundaries

    _require("import", "geo --build")

    out = build_boundaries(tolerance_m=args.tolerance)
    print(f"boundaries written to {out} ({out.stat().st_size // 1024} KB)")


def cmd_rebuild(args) -> None:
    """The derived tables built whole (their order restored after many incremental imports)."""
    from oversight import standby

    _require("import", "rebuild")
    path = args.db or database_path()
    if not path.exists():
        raise SystemExit(f"no database at {path}")
    print(f"derived tables of {path} built whole in {standby.rebuild(path):.1f} s")


def cmd_report(args) -> None:
    """The справка (DOCX and/or PDF) for the last complete week, month or quarter; optionally e-mailed."""
    global _principal
    from oversight import access
    from oversight.filters import Filters
    from oversight.output import images, report

    if args.report_as_user is not None:  # `report --as-user EMAIL` is the same as `--as-user EMAIL report`
        if not args.report_as_user.strip():
            _principal = access.Principal(user="(empty --as-user)", mode="as_user")
            _refuse("--as-user", "''", "--as-user needs an e-mail or subject")
        who = access.resolve(args.report_as_user)
        _principal = who.__class__(user=who.user, name=who.name, roles=who.roles, scope=who.scope, mode="as_user")
        if not _principal.roles:
            _refuse("--as-user", args.report_as_user, f"{args.report_as_user} has no grant")
    outs = list(args.out)
    for out in outs:
        if out.suffix.lower() not in (".docx", ".pdf"):
            raise SystemExit(f"--out {out}: the справка is written as .docx or .pdf")
    if args.mail_to and len({o.suffix.lower() for o in outs}) != len(outs):
        raise SystemExit("--out: give at most one .docx and one .pdf")
    con, info = _open(args.db)
    as_of = info["as_of"].to_pydatetime()
    last_day = report.last_complete_day(as_of)
    end = min(args.end or last_day, last_day)
    start, end = report.period_bounds(args.period, end)
    f = Filters(start=start, end=end, territory_id=args.territory)
    _check_filters(con, f)
    started = time.perf_counter()
    made = report.build(con, f, as_of, args.lang, args.target / 100, args.period, draw=True)
    if not images.chrome_path():
        print("no Chrome or Chromium: the справка is written without pictures (Debian: sudo apt install chromium)", file=sys.stderr)
    files = []
    for out in outs:
        data = report.render(made, out.suffix)
        out.write_bytes(data)
        files.append(out)
        print(f"справка written to {out} ({len(data) // 1024} KB)", file=sys.stderr)
    print(f"{args.period} {start.isoformat()}..{end.isoformat()} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    if args.mail_to:
        from oversight.output import mail

        subject = f"{made.title.capitalize()} {made.subtitle}"
        body = "\n".join([subject, *made.head, "", *[f"{out.name}" for out in files]])
        try:
            mail.send(args.mail_to, subject, body, files)
        except mail.MailError as error:
            raise SystemExit(f"not sent: {error}") from None
        print(f"sent to {', '.join(args.mail_to)}", file=sys.stderr)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m oversight", description=__doc__.splitlines()[0])
    parser.add_argument("--as-user", metavar="EMAIL", help="run the command under this user's grants (exit 3 when refused)")
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
    p.add_argument("files", nargs="*", type=Path, help="the files to import together (or --inbox DIR)")
    p.add_argument("--inbox", type=Path, metavar="DIR",
                   help="import every new file in DIR one by one, moving each to DIR/done/ or DIR/refused/ with its "
                        "report (for a timer: see docs/daily.md; exit 5 when a file was refused)")
    p.add_argument("--settle", type=float, default=10.0, metavar="SECONDS",
                   help="with --inbox: leave files modified less than this long ago for the next run (default 10)")
    p.add_argument("--db", type=Path, default=None)
    p.add_argument("--profile", choices=["auto", "eds", "open311", "boston311", "nyc311"], default="auto")
    p.add_argument("--as-of", type=_timestamp, default=None, help="the moment the data describe (default: from the file)")
    p.add_argument("--json", action="store_true", help="print JSON (the default output)")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("report", help="the справка (DOCX and/or PDF) for the last complete week, month or quarter")
    p.add_argument("--db", type=Path, default=None)
    p.add_argument("--period", choices=["week", "month", "quarter"], required=True)
    p.add_argument("--end", type=_date, default=None,
                   help="the period is the last complete one ending on or before this day (default: the day before the data's as_of)")
    p.add_argument("--as-user", dest="report_as_user", metavar="EMAIL", help="the справка of this user's scope (exit 3 when refused)")
    p.add_argument("--territory", type=int, help="limit to one direction")
    p.add_argument("--lang", choices=["ru", "en"], default="ru")
    p.add_argument("--target", type=float, default=95, help="on-time target, percent (default 95)")
    p.add_argument("--out", type=Path, action="append", required=True,
                   help="file to write, .docx or .pdf (give it twice for both)")
    p.add_argument("--mail-to", metavar="ADDR", action="append", help="send the file(s) to this address (repeatable); relay: [mail] in the settings file")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("rebuild", help="build the derived tables whole (after many daily imports), while the app serves")
    p.add_argument("--db", type=Path, default=None)
    p.set_defaults(func=cmd_rebuild)

    p = sub.add_parser("geo", help="rebuild data/geo/municipalities.geojson from shared/geo")
    p.add_argument("--build", action="store_true", required=True)
    p.add_argument("--tolerance", type=float, default=120.0, help="simplification tolerance, metres")
    p.set_defaults(func=cmd_geo)

    p = sub.add_parser("users", help="grants: add, list or revoke a user's role (how the first admin is made)")
    users = p.add_subparsers(dest="action", required=True)
    q = users.add_parser("add", help="give EMAIL a role (a second grant of the same role replaces the first)")
    q.add_argument("email")
    q.add_argument("--role", required=True, choices=["leadership", "territorial_head", "presenter", "data_officer", "admin"])
    q.add_argument("--territory", type=int, action="append", help="territorial_head: a direction's id (repeatable)")
    q.add_argument("--municipality", type=int, action="append", help="territorial_head: a municipality's id (repeatable)")
    q = users.add_parser("list", help="every grant")
    q.add_argument("--json", action="store_true")
    q = users.add_parser("revoke", help="take EMAIL's grants away (one --role, or all)")
    q.add_argument("email")
    q.add_argument("--role", choices=["leadership", "territorial_head", "presenter", "data_officer", "admin"])
    p.set_defaults(func=cmd_users)

    p = sub.add_parser("audit", help="the audit log, newest first, as JSON")
    p.add_argument("--user")
    p.add_argument("--action", choices=["sign_in", "refused", "import", "events_change", "grant_change", "download_texts"])
    p.add_argument("--from", dest="start", type=_date)
    p.add_argument("--to", dest="end", type=_date)
    p.add_argument("--limit", type=int, default=1000)
    p.add_argument("--json", action="store_true", help="print JSON (the default output)")
    p.set_defaults(func=cmd_audit)

    global _principal
    args = parser.parse_args(argv)
    if args.as_user is not None:  # an empty value (an unset variable in a script) is refused, not ignored
        from oversight import access

        if not args.as_user.strip():
            _principal = access.Principal(user="(empty --as-user)", mode="as_user")
            _refuse("--as-user", "''", "--as-user needs an e-mail or subject")
        _principal = access.resolve(args.as_user)
        _principal = _principal.__class__(user=_principal.user, name=_principal.name, roles=_principal.roles,
                                          scope=_principal.scope, mode="as_user")
        if not _principal.roles:
            _refuse("--as-user", args.as_user, f"{args.as_user} has no grant")
    else:
        _principal = None
    from oversight.analysis import metrics

    metrics.BACKGROUND_INDEX = False  # a one-shot process: no index build left running at exit
    if args.command == "demo":
        from oversight.ingest.demo import DEMO_SEED, DEMO_TICKETS

        args.tickets = args.tickets or DEMO_TICKETS
        args.seed = DEMO_SEED if args.seed is None else args.seed
    args.func(args)


if __name__ == "__main__":
    main()
