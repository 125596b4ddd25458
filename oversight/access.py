"""Who may see and do what: roles, the scope of a signed-in user, grants and the audit log.

The principal (who is asking, with which roles, over which municipalities) is resolved once per
script run from the grants, then travels with every query: `store.connect(path, scope)` needs a
scope, and a restricted scope makes every table a query can name a view over the scope's rows
(oversight.store). Nothing a filter or a URL asks for can widen it.

Grants and the audit log live in their own DuckDB file (`access.duckdb` beside the data, or
$OVERSIGHT_ACCESS_DB), not in the data file, for two reasons: an import replaces the data file whole
(the log must outlive every import and demo rebuild), and the data file is opened read-only by the
app (a write would close every reader and invalidate every cached result: a sign-in must not). The
file is opened for each operation and closed at once, so the command line can change grants while the
server runs; a held lock is waited for.

The audit log is append-only: this module has `audit()` to add a row and `audit_rows()` to read them,
and no code path updates or deletes a row (a test scans the code for one).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import json
import os
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pandas as pd

from oversight.paths import database_path

ROLES = ("leadership", "territorial_head", "presenter", "data_officer", "admin")
# Roles that read the whole region. territorial_head reads what its grant names; admin reads no data
# (it manages access and reads the audit log; a person who also reads data holds a second role).
_REGION_READERS = {"leadership", "presenter", "data_officer"}

# What each action needs. Checked in the library (access.require), never only by hiding a widget.
PERMISSIONS: dict[str, set[str]] = {
    "read": {"leadership", "territorial_head", "presenter", "data_officer"},
    "import": {"data_officer"},
    "edit_events": {"data_officer"},
    "record_action": {"territorial_head", "data_officer"},
    "manage_access": {"admin"},
    "read_audit": {"admin"},
}

AUDIT_ACTIONS = (
    "sign_in",
    "refused",  # an id outside the scope in a URL or a command, a role without the right
    "import",
    "events_change",
    "grant_change",
    "download_texts",  # a table that carries residents' texts left the app
)

MSK = dt.timezone(dt.timedelta(hours=3), "MSK")


class AccessDenied(PermissionError):
    """The principal may not do this, or may not see this id. The message says what, in Russian."""


@dataclass(frozen=True)
class Scope:
    """Which current municipalities a principal reads. None = the whole region.

    `territory_ids` and `municipality_ids` are what the grants name; the set of current
    municipalities they cover is worked out against the data (store builds the views from it).
    """

    territory_ids: frozenset[int] | None = None
    municipality_ids: frozenset[int] | None = None
    everything: bool = False

    @property
    def is_everything(self) -> bool:
        return self.everything

    @property
    def is_nothing(self) -> bool:
        return not self.everything and not self.territory_ids and not self.municipality_ids

    @property
    def key(self) -> str:
        """A stable text for cache keys: two principals with the same key see the same rows."""
        if self.everything:
            return "all"
        terr = ",".join(str(i) for i in sorted(self.territory_ids or ()))
        mun = ",".join(str(i) for i in sorted(self.municipality_ids or ()))
        return f"t:{terr}|m:{mun}"

    def union(self, other: Scope) -> Scope:
        if self.everything or other.everything:
            return EVERYTHING
        return Scope(
            territory_ids=frozenset((self.territory_ids or set()) | (other.territory_ids or set())),
            municipality_ids=frozenset((self.municipality_ids or set()) | (other.municipality_ids or set())),
        )


EVERYTHING = Scope(everything=True)
NOTHING = Scope(territory_ids=frozenset(), municipality_ids=frozenset())


@dataclass(frozen=True)
class Principal:
    """Who is asking: the identity's key (e-mail, else subject), display name, roles and scope."""

    user: str
    name: str = ""
    roles: frozenset[str] = field(default_factory=frozenset)
    scope: Scope = NOTHING
    mode: str = "oidc"  # "oidc" (signed in), "local" (no sign-in configured, loopback), "cli"

    def can(self, action: str) -> bool:
        return bool(self.roles & PERMISSIONS[action])

    @property
    def reads_data(self) -> bool:
        return self.can("read") and not self.scope.is_nothing


def loopback_client(ip: str | None) -> bool:
    """Whether a client may use the app without sign-in: only the loopback address.

    Streamlit reports a loopback client as None (st.context.ip_address). Its server (uvicorn) takes
    the client's address from X-Forwarded-For only when the connection itself comes from 127.0.0.1,
    so a reverse proxy on the same host passes the real client on, and that client is refused here.
    """
    if not isinstance(ip, str):  # None: loopback, or no client known (a script run with no browser, AppTest)
        return True
    try:
        address = ipaddress.ip_address(str(ip).split("%")[0])
    except ValueError:
        return False
    mapped = getattr(address, "ipv4_mapped", None)
    return address.is_loopback or bool(mapped and mapped.is_loopback)


def require(principal: Principal, action: str, target: str = "") -> None:
    """Raise AccessDenied (and write a 'refused' audit row) unless the principal may do `action`."""
    if principal.can(action):
        return
    audit(principal.user, "refused", target=target or action, detail={"action": action, "roles": sorted(principal.roles)})
    raise AccessDenied(f"нет доступа: действие «{action}» требует роли {', '.join(sorted(PERMISSIONS[action]))}")


# Everyone in single-user mode (no sign-in configured, loopback only) and the server's own shell.
LOCAL = Principal(user="local", name="local", roles=frozenset(ROLES), scope=EVERYTHING, mode="local")
CLI = Principal(user="cli", name="command line", roles=frozenset(ROLES), scope=EVERYTHING, mode="cli")


# ---------------------------------------------------------------- the access file

_SCHEMA = (
    """create table if not exists access_grants (
        grant_id bigint primary key,
        user_key varchar not null,
        role varchar not null,
        territory_ids integer[],
        municipality_ids integer[],
        granted_by varchar,
        granted_at timestamp
    )""",
    """create table if not exists audit_log (
        audit_id bigint primary key,
        logged_at timestamp not null,
        user_key varchar not null,
        action varchar not null,
        outcome varchar not null,
        target varchar,
        detail varchar
    )""",
)


def access_path() -> Path:
    """$OVERSIGHT_ACCESS_DB, else access.duckdb beside the data database."""
    configured = os.environ.get("OVERSIGHT_ACCESS_DB")
    if configured:
        return Path(configured)
    return database_path().with_name("access.duckdb")


_local_lock = threading.RLock()
_created: set[Path] = set()  # access files whose tables this process has made sure of


class _AccessFile:
    """A short-lived read-write connection to the access file; waits while another process holds it."""

    def __init__(self, path: Path | None = None, wait_s: float = 10.0):
        self.path = Path(path or access_path())
        self.wait_s = wait_s

    def __enter__(self) -> duckdb.DuckDBPyConnection:
        _local_lock.acquire()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():  # a new (or removed) file gets its tables again
            _created.discard(self.path)
        deadline = time.monotonic() + self.wait_s
        while True:
            try:
                self.con = duckdb.connect(str(self.path))
                break
            except duckdb.IOException:  # another process (the command line, the server) has it
                if time.monotonic() > deadline:
                    _local_lock.release()
                    raise
                time.sleep(0.05)
        if self.path not in _created:  # once per file and process: resolve() runs on every script run
            for statement in _SCHEMA:
                self.con.execute(statement)
            _created.add(self.path)
        return self.con

    def __exit__(self, *exc) -> None:
        try:
            self.con.close()
        finally:
            _local_lock.release()


@contextlib.contextmanager
def _transaction():
    """The access file in one transaction: everything in the block, its audit row included, or nothing."""
    with _AccessFile() as c:
        c.execute("begin transaction")
        try:
            yield c
            c.execute("commit")
        except Exception:
            c.execute("rollback")
            raise


def normalise_user(user: str) -> str:
    return str(user).strip().lower()


def now_msk() -> dt.datetime:
    """Moscow time, naive (as every timestamp in the data)."""
    return dt.datetime.now(MSK).replace(tzinfo=None)


# ---------------------------------------------------------------- audit


def audit(user: str, action: str, *, outcome: str = "ok", target: str = "", detail: dict | None = None,
          con: duckdb.DuckDBPyConnection | None = None) -> None:
    """Append one row to the audit log (the only way a row gets there)."""
    if action not in AUDIT_ACTIONS:
        raise ValueError(action)
    if action == "refused":
        outcome = "refused"
    text = json.dumps(detail or {}, ensure_ascii=False, default=str)

    def write(c):
        c.execute(
            "insert into audit_log (audit_id, logged_at, user_key, action, outcome, target, detail) "
            "select coalesce(max(audit_id), 0) + 1, $at, $user, $action, $outcome, $target, $detail from audit_log",
            {"at": now_msk(), "user": normalise_user(user), "action": action, "outcome": outcome,
             "target": str(target)[:500], "detail": text},
        )

    if con is not None:
        write(con)
        return
    with _AccessFile() as c:
        write(c)


def record_sign_in(user: str, login: str, detail: dict | None = None) -> bool:
    """One 'sign_in' row per actual sign-in: `login` names it (the subject and the ID token's issue
    time), so the tabs and reloads of one signed-in browser add nothing. True if a row was written."""
    with _transaction() as c:
        seen = c.execute(
            "select count(*) from audit_log where action = 'sign_in' and user_key = $u and target = $t",
            {"u": normalise_user(user), "t": str(login)[:500]},
        ).fetchone()[0]
        if not seen:
            audit(user, "sign_in", target=login, detail=detail, con=c)
    return not seen


def audit_rows(*, user: str | None = None, action: str | None = None, start: dt.date | None = None,
               end: dt.date | None = None, limit: int = 10_000) -> pd.DataFrame:
    """The audit log, newest first, filtered by user, action and a period of whole days."""
    with _AccessFile() as c:
        return c.execute(
            "select audit_id, logged_at, user_key, action, outcome, target, detail from audit_log "
            "where ($user is null or user_key = $user) and ($action is null or action = $action) "
            "and ($start is null or logged_at >= $start) and ($stop is null or logged_at < $stop) "
            "order by audit_id desc limit $limit",
            {"user": normalise_user(user) if user else None, "action": action,
             "start": dt.datetime.combine(start, dt.time()) if start else None,
             "stop": dt.datetime.combine(end + dt.timedelta(days=1), dt.time()) if end else None,
             "limit": int(limit)},
        ).df()


# ---------------------------------------------------------------- grants


def grants(user: str | None = None) -> pd.DataFrame:
    """Every grant (or one user's), with its role and scope lists."""
    with _AccessFile() as c:
        return c.execute(
            "select grant_id, user_key, role, territory_ids, municipality_ids, granted_by, granted_at "
            "from access_grants where $user is null or user_key = $user order by user_key, role, grant_id",
            {"user": normalise_user(user) if user else None},
        ).df()


def grant_ids(value) -> list[int]:
    """A grant's territory_ids or municipality_ids as a sorted list (stored as a list, or null)."""
    return sorted(int(i) for i in (value if value is not None else []))


def grant_record(row) -> dict:
    """One access_grants row as plain data: user, role and its scope lists."""
    return {"user": row["user_key"], "role": row["role"], "territory_ids": grant_ids(row["territory_ids"]),
            "municipality_ids": grant_ids(row["municipality_ids"])}


def _audit_grant_change(actor: Principal, user: str, before: pd.DataFrame, after: list[dict], con) -> None:
    audit(actor.user, "grant_change", target=user, con=con,
          detail={"before": [grant_record(r) for _, r in before.iterrows()], "after": after})


def add_grant(actor: Principal, user: str, role: str, territory_ids: Iterable[int] = (),
              municipality_ids: Iterable[int] = ()) -> dict:
    """Give a user a role (a territorial head with directions and/or municipalities); a second grant
    of the same role replaces the first. Needs manage_access; written with its audit row in one
    transaction."""
    require(actor, "manage_access", target=f"grant {user}")
    user = normalise_user(user)
    if not user or len(user) > 320:
        raise ValueError("укажите e-mail или идентификатор пользователя")
    if role not in ROLES:
        raise ValueError(f"неизвестная роль {role!r}; роли: {', '.join(ROLES)}")
    territories = sorted({int(i) for i in territory_ids})
    municipalities = sorted({int(i) for i in municipality_ids})
    if role == "territorial_head" and not territories and not municipalities:
        raise ValueError("начальнику территориального отдела нужны направления (--territory) или округа (--municipality)")
    if role != "territorial_head" and (territories or municipalities):
        raise ValueError(f"роль {role} читает всю область (или не читает данных): направления и округа не нужны")
    with _transaction() as c:
        before = c.execute("select * from access_grants where user_key = $u and role = $r", {"u": user, "r": role}).df()
        c.execute("delete from access_grants where user_key = $u and role = $r", {"u": user, "r": role})
        c.execute(
            "insert into access_grants select coalesce(max(grant_id), 0) + 1, $u, $r, $t, $m, $by, $at from access_grants",
            {"u": user, "r": role, "t": territories, "m": municipalities, "by": actor.user, "at": now_msk()},
        )
        after = {"user": user, "role": role, "territory_ids": territories, "municipality_ids": municipalities}
        _audit_grant_change(actor, user, before, [after], c)
    return after


def revoke(actor: Principal, user: str, role: str | None = None) -> int:
    """Take a user's grants away (one role, or all); returns how many were removed."""
    require(actor, "manage_access", target=f"revoke {user}")
    user = normalise_user(user)
    if role is not None and role not in ROLES:
        raise ValueError(f"неизвестная роль {role!r}")
    with _transaction() as c:
        wanted = {"u": user, "r": role}
        before = c.execute("select * from access_grants where user_key = $u and ($r is null or role = $r)", wanted).df()
        c.execute("delete from access_grants where user_key = $u and ($r is null or role = $r)", wanted)
        _audit_grant_change(actor, user, before, [], c)
    return len(before)


def list_grants(actor: Principal) -> pd.DataFrame:
    """Every grant, for an admin (the Access page, `users list`)."""
    require(actor, "manage_access", target="grants")
    return grants()


def read_audit(actor: Principal, **filters) -> pd.DataFrame:
    """The audit log for an admin (the Access page, `audit`); see audit_rows for the filters."""
    require(actor, "read_audit", target="audit log")
    return audit_rows(**filters)


def admins() -> list[str]:
    """Whom a user without a grant should ask."""
    table = grants()
    return sorted(table.loc[table["role"] == "admin", "user_key"].unique().tolist())


_grants_cache: dict[Path, tuple[tuple[int, int], pd.DataFrame]] = {}


def _all_grants() -> pd.DataFrame:
    """Every grant, read again only when the access file changed (its size or modification time):
    resolve() runs on every script run, and opening the file costs about 20 ms."""
    path = access_path()
    try:
        stat = path.stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
    except FileNotFoundError:
        stamp = None
    cached = _grants_cache.get(path)
    if stamp is not None and cached is not None and cached[0] == stamp:
        return cached[1]
    table = grants()
    if stamp is not None:  # the stamp taken before the read: a write during it is seen next time
        _grants_cache[path] = (stamp, table)
    return table


def resolve(user: str, name: str = "") -> Principal:
    """The principal for a signed-in identity: the union of its grants (no grant: no roles, no data).
    A grant changed or revoked counts from the user's next click."""
    key = normalise_user(user)
    table = _all_grants()
    table = table[table["user_key"] == key]
    roles = frozenset(table["role"])
    scope = NOTHING
    for _, row in table.iterrows():
        if row["role"] in _REGION_READERS:
            scope = EVERYTHING
        elif row["role"] == "territorial_head":
            scope = scope.union(Scope(territory_ids=frozenset(grant_ids(row["territory_ids"])),
                                      municipality_ids=frozenset(grant_ids(row["municipality_ids"]))))
    return Principal(user=key, name=name or key, roles=roles, scope=scope)
