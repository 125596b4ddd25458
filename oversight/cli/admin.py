"""Grants and the audit log: `users add|list|revoke` (how the first admin is made) and `audit`."""

from __future__ import annotations

import json
import sys

from oversight.cli.common import EXIT_REFUSED, json_value, parse_date, principal
from oversight.paths import database_path


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
            rows = [{**access.grant_record(r), "granted_by": r["granted_by"], "granted_at": json_value(r["granted_at"])}
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
    print(json.dumps([{k: json_value(v) for k, v in r.items()} for r in rows.to_dict("records")], ensure_ascii=False))


def register(sub) -> None:
    """The commands of grants and the audit log."""
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
    p.add_argument("--from", dest="start", type=parse_date)
    p.add_argument("--to", dest="end", type=parse_date)
    p.add_argument("--limit", type=int, default=1000)
    p.add_argument("--json", action="store_true", help="print JSON (the default output)")
    p.set_defaults(func=cmd_audit)
