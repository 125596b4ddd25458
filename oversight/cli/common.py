"""What the commands share: date, span and filter arguments, the principal a command runs as (the shell's,
or --as-user's with its grants), opening the database under that principal's scope, and the exits:
refused (3, with an audit row), nothing loaded (4)."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path

from oversight.paths import database_path


def parse_date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def add_filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--db", type=Path, default=None, help="database file (default: $OVERSIGHT_DB or data/oversight.duckdb)")
    p.add_argument("--from", dest="start", type=parse_date, required=True)
    p.add_argument("--to", dest="end", type=parse_date, required=True)
    p.add_argument("--territory", type=int)
    p.add_argument("--municipality", type=int)
    p.add_argument("--organization", type=int)
    p.add_argument("--category", type=int)
    p.add_argument("--source")
    p.add_argument("--json", action="store_true", help="print JSON (the default output)")


def filters_of(args):
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


def set_principal(who) -> None:
    """Who the command runs as: None for the server's shell (everything), or the --as-user principal."""
    global _principal
    _principal = who


def run_as(email: str) -> None:
    """Run the command under the grants of `email` (--as-user): exit 3, on record, for an empty value or a
    user with no grant (an unset variable in a script is refused, not ignored)."""
    from oversight import access

    if not email.strip():
        set_principal(access.Principal(user="(empty --as-user)", mode="as_user"))
        refuse("--as-user", "''", "--as-user needs an e-mail or subject")
    who = access.resolve(email)
    set_principal(who.__class__(user=who.user, name=who.name, roles=who.roles, scope=who.scope, mode="as_user"))
    if not who.roles:
        refuse("--as-user", email, f"{email} has no grant")


def principal():
    from oversight import access

    return _principal or access.CLI


def open_database(db: Path | None):
    from oversight import store

    path = db or database_path()
    if not path.exists():
        raise SystemExit(f"database not found: {path} (build one with: python -m oversight demo --db {path})")
    who = principal()
    if not who.reads_data:
        refuse("read", who.user, f"{who.user} has no grant that reads data")
    con = store.connect(path, who.scope)
    return con, store.dataset_info(con)


def refuse(flag: str, value, reason: str):
    """Exit 3 with the reason, and put the refusal on record."""
    from oversight import access

    access.audit(principal().user, "refused", target=f"cli {flag} {value}", detail={"reason": reason})
    print(f"нет доступа / refused: {reason}", file=sys.stderr)
    raise SystemExit(EXIT_REFUSED)


def not_in_data(flag: str, value, message: str):
    """An id the command cannot see: for a scoped user that is a refusal (exit 3), for the
    administrator a typo (exit 1). A scoped user is not told whether the id exists."""
    if principal().mode != "cli" and not principal().scope.is_everything:
        refuse(flag, value, f"{flag} {value} is outside the grants of {principal().user}")
    raise SystemExit(message)


def require(action: str, target: str) -> None:
    """Under --as-user, the user's roles must allow `action` (exit 3 otherwise)."""
    from oversight import access

    try:
        access.require(principal(), action, target=target)
    except access.AccessDenied as error:
        print(str(error), file=sys.stderr)
        raise SystemExit(EXIT_REFUSED) from None


def check_filters(con, f) -> None:
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
            not_in_data(flag, value, f"{flag} {value}: not in the data (known: {shown})")


def json_value(value):
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


def parse_span(text: str) -> tuple[dt.date, dt.date]:
    """'2019-01-01..2019-03-31' -> two dates."""
    try:
        first, last = text.split("..")
        return parse_date(first), parse_date(last)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"expected D..D (e.g. 2019-01-01..2019-03-31), got {text!r}") from error


def pd_notna(value) -> bool:
    import pandas as pd

    return bool(pd.notna(value))


def records(frame) -> list[dict]:
    return [{k: json_value(v) for k, v in row.items()} for row in frame.to_dict("records")]


def parse_timestamp(text: str):
    import datetime as dt

    for parse in (dt.datetime.fromisoformat, lambda v: dt.datetime.strptime(v, "%d.%m.%Y %H:%M"),
                  lambda v: dt.datetime.strptime(v, "%d.%m.%Y")):
        try:
            return parse(text).replace(tzinfo=None)
        except ValueError:
            continue
    raise argparse.ArgumentTypeError(f"not a moment (YYYY-MM-DDTHH:MM or DD.MM.YYYY HH:MM): {text!r}")
