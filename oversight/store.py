"""The DuckDB store: schema, loading tables, connections and the one query runner.

Queries live in `queries/<name>.sql`, one question per file, with DuckDB `$named` parameters. `run`
loads a query by name (names are checked against the files present: an allow-list) and binds every
value as a parameter; no SQL is ever assembled from input.

Connections: DuckDB connections are not shared across threads, so a process keeps one connection
per database file and every query takes its own `cursor()`.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime as dt
import fcntl
import logging
import os
import re
import tempfile
import threading
import time
from collections.abc import Iterable
from functools import cache
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from oversight.i18n import t
from oversight.paths import QUERIES_DIR

SCHEMA_FILE = Path(__file__).with_name("schema.sql")
MACROS_FILE = QUERIES_DIR / "_macros.sql"
INVARIANTS_FILE = QUERIES_DIR / "_invariants.sql"


class DataProblem(ValueError):
    """The data break an invariant the metrics rely on; the message lists what and how many."""
_QUERY_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
TABLES = (
    "territories",
    "municipalities",
    "organizations",
    "buildings",
    "categories",
    "tickets",
    "ticket_returns",
    "events",
    "dataset",
    "demo_story",
)


class QueryNotFound(KeyError):
    """A query name that is not one of the files under queries/."""


@cache
def query_names() -> frozenset[str]:
    """The allow-list of query names: the .sql files under queries/ (macros excluded)."""
    return frozenset(p.stem for p in QUERIES_DIR.glob("*.sql") if not p.stem.startswith("_"))


@cache
def query_text(name: str) -> str:
    if not _QUERY_NAME.match(name) or name not in query_names():
        raise QueryNotFound(name)
    return (QUERIES_DIR / f"{name}.sql").read_text(encoding="utf-8")


def query_parameters(name: str) -> set[str]:
    """The $parameters a query file uses (comments stripped)."""
    sql = re.sub(r"--[^\n]*", "", query_text(name))
    return set(re.findall(r"\$([a-z_][a-z0-9_]*)", sql))


def create_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(SCHEMA_FILE.read_text(encoding="utf-8"))


def install_macros(con: duckdb.DuckDBPyConnection) -> None:
    """Temporary macros every query relies on (the shared filter and the municipality roll-up)."""
    con.execute(MACROS_FILE.read_text(encoding="utf-8"))


class WriterBusy(RuntimeError):
    """Another import or save held the database longer than a writer waits for it."""


_held_locks = threading.local()
WRITER_WAIT_S = 15 * 60  # an import of ten million rows takes about a minute; a stuck one is not waited for


@contextlib.contextmanager
def writer_lock(path: Path | str, wait_s: float = WRITER_WAIT_S, waiting=None):
    """Hold the database's writer lock (an flock on `<file>.lock` beside it): one writer at a time,
    across processes (the app, a cron import) and threads (two sessions). Every write takes it (an
    import from its copy of the file to the rename, an events save, the demo build), so a second
    import copies the database only after the first has put its result in place, and an events save
    during an import lands in the imported file: nothing is lost. `waiting()` is called once if the
    lock is taken; WriterBusy after wait_s. The lock goes with the process (a kill -9 frees it)."""
    lock = Path(str(path) + ".lock")
    held = _held_locks.__dict__.setdefault("paths", set())
    key = str(lock.resolve())
    if key in held:  # this thread holds it already (an events save inside a read-modify-write)
        yield
        return
    lock.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline, told = time.monotonic() + wait_s, False
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if not told and waiting is not None:
                    waiting()
                    told = True
                if time.monotonic() > deadline:
                    raise WriterBusy(f"{Path(path).name}: another import or save has been writing for over "
                                     f"{wait_s / 60:.0f} min; try again later") from None
                time.sleep(0.1)
        held.add(key)
        try:
            yield
        finally:
            held.discard(key)
    finally:
        os.close(fd)  # frees the lock


def write_database(path: Path, tables: dict[str, pd.DataFrame] | Iterable[dict[str, pd.DataFrame]]) -> None:
    """Write a complete database to `path` atomically: built beside it, then renamed into place.

    `tables` is one dict of frames, or dicts given one after another (the demo's parts: only one of
    them in memory at a time), each appended to its tables as it comes. A half-built file is never
    left where the app looks, so an interrupted first run starts over.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".tmp{os.getpid()}")
    if tmp.exists():
        tmp.unlink()
    with writer_lock(path):
        _write_database(path, tmp, tables)


# DuckDB's memory for writing a whole database (the demo's first run, `oversight demo`): by default it
# takes up to 80 % of the machine's memory, and the 10M demo's derived tables took it to 4.5 GB. Beyond
# this it spills to a folder beside the file (removed when it closes). Issue #21: the build ≤ 4 GB.
BUILD_MEMORY_LIMIT = "2GB"


def _write_database(path: Path, tmp: Path, tables) -> None:
    con = duckdb.connect(str(tmp), config={"memory_limit": BUILD_MEMORY_LIMIT})
    written = False
    try:
        create_schema(con)
        for part in [tables] if isinstance(tables, dict) else tables:
            for table in TABLES:  # in the allow-list's order: references before what refers to them
                frame = part.get(table)
                if frame is not None:
                    insert_frame(con, table, frame)
            del part
        build_derived(con)
        con.execute("checkpoint")
        written = True
    finally:
        con.close()
        if not written:  # an interrupted build leaves nothing behind
            tmp.unlink(missing_ok=True)
            Path(str(tmp) + ".wal").unlink(missing_ok=True)
    os.replace(tmp, path)


def insert_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
    """Append a frame's rows to a contract table (the columns both have)."""
    con.register("incoming", frame)
    # Identifiers only: the table from the TABLES allow-list, columns from the schema itself.
    columns = ", ".join(f'"{c}"' for c in table_columns(con, table) if c in frame.columns)
    con.execute(f"insert into {table} ({columns}) select {columns} from incoming")  # noqa: S608
    con.unregister("incoming")


def install_invariants(con: duckdb.DuckDBPyConnection) -> None:
    """The macro ticket_date_problem (queries/_invariants.sql): the date rules the import's checks
    and the database's invariants share."""
    con.execute(INVARIANTS_FILE.read_text(encoding="utf-8"))


def moscow_now() -> dt.datetime:
    """Now on the Moscow clock (UTC+3 all year), without a time zone, as the data are written."""
    return (dt.datetime.now(dt.UTC) + dt.timedelta(hours=3)).replace(tzinfo=None, microsecond=0)


def latest_as_of() -> dt.datetime:
    """The latest moment data may describe: now in Moscow plus a day (a server clock a little
    behind the exporting system's must not refuse a fresh export). An export "of" 9999 is a typo."""
    return moscow_now() + dt.timedelta(days=1)


# The rows data_problems checks: every request, or (after an import into valid data) the requests in
# the temporary table changed_ids, with every stored row of their numbers.
_CHECK_ALL = ("create or replace temp view checked_tickets as select * from tickets",
              "create or replace temp view checked_returns as select * from ticket_returns")
_CHECK_CHANGED = (  # tables, not views: the checks read them several times
    "create or replace temp table checked_tickets as select * from tickets where ticket_id in (select ticket_id from changed_ids)",
    "create or replace temp table checked_returns as select * from ticket_returns "
    "where ticket_id in (select ticket_id from changed_ids)")


def data_problems(con: duckdb.DuckDBPyConnection, changed_only: bool = False) -> list[tuple[str, int]]:
    """The invariants the data break, with how many rows (queries/data_problems.sql); [] when none.
    changed_only: check only the requests in the temporary table changed_ids (an import into data
    that passed before: rows it did not write cannot have begun to break a rule, as as_of only moves
    forward and no request is ever removed)."""
    install_invariants(con)
    for name in ("checked_tickets", "checked_returns"):  # a view and a table of one name cannot both exist
        for kind in ("view", "table"):
            try:
                con.execute(f"drop {kind} if exists {name}")
            except duckdb.CatalogException:  # it is the other kind
                pass
    for statement in _CHECK_CHANGED if changed_only else _CHECK_ALL:
        con.execute(statement)
    return [(str(p), int(n)) for p, n in con.execute(query_text("data_problems"), {"latest_as_of": latest_as_of()}).fetchall()]


def file_problems(path: Path | str) -> list[tuple[str, int]]:
    """data_problems of a database file, read-only (the app's check before it shows any number: a
    file written by an older version or another tool may break an invariant the pages rely on).

    The requests' own rules are checked only when the file does not say they were: its derived
    tables record how many requests were checked at which moment (oversight.derived._write_info), and
    a file with the same moment and as many requests is not scanned again (1-2 s at 10M on every new
    file an import publishes). The dataset's rules are always checked. A tool that rewrites requests
    in place without changing their number or the moment is not noticed: its files should be written
    through the import, or have their derived tables dropped (they are then built and checked)."""
    from oversight import derived

    cursor = new_cursor(connect_raw(path))
    try:
        try:
            recorded = bool(cursor.execute(
                "select count(*) = 1 from derived_info where version = $v and as_of = (select max(as_of) from dataset) "
                "and checked_tickets = (select count(*) from tickets)", {"v": derived.VERSION}).fetchone()[0])
        except duckdb.Error:  # written before the record existed
            recorded = False
        if recorded:
            cursor.execute("create or replace temp table changed_ids (ticket_id bigint)")
        return data_problems(cursor, changed_only=recorded)
    finally:
        cursor.close()


def check_data(con: duckdb.DuckDBPyConnection, changed_only: bool = False) -> None:
    """Raise DataProblem if the contract tables break an invariant (see queries/data_problems.sql)."""
    problems = data_problems(con, changed_only)
    if problems:
        listed = "; ".join(f"{problem_text(problem, 'ru')}: {n}" for problem, n in problems)
        raise DataProblem(f"Данные не прошли проверку ({listed})")


def problem_text(code: str, lang: str) -> str:
    """A data problem's code (queries/data_problems.sql) in words."""
    return t(f"db.problem.{code}" if not code.startswith(DATE_PROBLEM_PREFIXES) else f"import.reason.{code}", lang)


DATE_PROBLEM_PREFIXES = ("implausible:", "future:", "deadline_before", "closed_before")


# Columns and tables added to the contract after databases were first written: added (empty) to an
# older database when it is opened, so every query can rely on them.
_CONTRACT_UPGRADES = (
    "alter table tickets add column if not exists description varchar",
    "create table if not exists ticket_returns (ticket_id bigint not null, returned_at timestamp not null)",
    # The number as the source system wrote it (a non-numeric number gets a hashed ticket_id).
    "alter table tickets add column if not exists external_id varchar",
    # The country whose calendar labels the data's days (an import profile sets it; null = RU).
    "alter table dataset add column if not exists calendar varchar",
    # An organisation's code in the source system (an agency or queue of 311 data), matched on import.
    "alter table organizations add column if not exists external_id varchar",
    # Each import, and every row it kept aside with the reason (issue #10).
    "create table if not exists imports (import_id integer, started_at timestamp, profile varchar, files varchar, "
    "rows_read bigint, loaded bigint, rejected bigint, inserted bigint, updated bigint, unchanged bigint, "
    "kept_newer bigint, as_of timestamp, as_of_source varchar)",
    "create table if not exists import_rejects (import_id integer, file varchar, line bigint, raw varchar, "
    "reason_code varchar, detail varchar)",
)


def upgrade_contract(con: duckdb.DuckDBPyConnection) -> None:
    """Add the columns and tables that came after a database was first written (empty)."""
    for statement in _CONTRACT_UPGRADES:
        con.execute(statement)


def execute(con: duckdb.DuckDBPyConnection, name: str, **params) -> None:
    """Run a statement file (queries/<name>.sql) on this very connection, its $parameters bound:
    for statements that create temporary tables, which a cursor (another connection) would not see."""
    needed = query_parameters(name)
    missing = needed - params.keys()
    if missing:
        raise TypeError(f"query {name} needs parameters {sorted(missing)}")
    con.execute(query_text(name), {k: _bindable(v) for k, v in params.items() if k in needed}).fetchall()


def replace_file(path: Path | str, new: Path | str) -> None:
    """Put a fully written database file in place of `path` (atomic rename). Connections to the old
    file, of this process and of others, are retired: they finish what they began, then close (_sweep)."""
    def rename() -> None:
        Path(str(new) + ".wal").unlink(missing_ok=True)
        os.replace(new, path)

    _publish(Path(path), rename)


def publish_standby(path: Path | str, written: Path | str) -> None:
    """Publish an import written into the standby (oversight.standby.swap); connections to the old
    file are retired, as replace_file does."""
    from oversight import standby

    _publish(Path(path), lambda: standby.swap(Path(path), Path(written)))


def _publish(path: Path, move) -> None:
    """Move the new file in; this process's connections to the old one are retired (pages running on
    it finish on it; _sweep closes them once idle), as another process's are when it notices."""
    resolved = str(path.resolve())
    with _lock:
        for key in [k for k in _connections if k[0] == resolved]:
            _retire(_connections.pop(key))
        move()


def holds(path: Path | str) -> bool:
    """Whether a connection of this process (in use or retired) still reads the file now at `path`:
    it must not be written then (DuckDB's file lock does not stop a second instance of one process)."""
    try:
        inode = os.stat(path).st_ino
    except OSError:
        return False
    with _lock:
        live = {id(c) for c in _connections.values()} | {id(c) for _, c in _retired}
        return any(_inodes.get(key) == inode for key in live)


def build_derived(con: duckdb.DuckDBPyConnection) -> None:
    """Bring an older database up to the contract, check it, then (re)build the derived tables."""
    from oversight import derived

    upgrade_contract(con)
    check_data(con)
    derived.build(con)


def refresh_derived(con: duckdb.DuckDBPyConnection, changed: bool) -> bool:
    """After an import: check and bring up to date only what the requests in the temporary table
    changed_ids touched (changed=True, when oversight.derived can), else check everything and build
    the derived tables whole. Returns whether it was incremental."""
    from oversight import derived

    upgrade_contract(con)
    if changed and derived.can_update(con):
        check_data(con, changed_only=True)
        derived.update(con)
        return True
    check_data(con)
    derived.build(con)
    return False


def _derived_current(path: Path | str) -> bool:
    from oversight import derived

    with duckdb.connect(str(path), read_only=True) as con:
        return derived.built_as_of(con) is not None


def ensure_derived(path: Path | str) -> None:
    """Build the derived tables in a database written by another tool, if they are missing."""
    if _derived_current(path):
        return
    with writer_lock(path), duckdb.connect(str(path)) as con:
        build_derived(con)
        con.execute("checkpoint")


def table_columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    if table not in TABLES:
        raise ValueError(table)
    rows = con.execute(
        "select column_name from information_schema.columns where table_name = $t order by ordinal_position",
        {"t": table},
    ).fetchall()
    return [r[0] for r in rows]


_connections: dict[tuple[str, int], duckdb.DuckDBPyConnection] = {}
_lock = threading.Lock()


@atexit.register
def _close_all() -> None:
    """Close shared connections at exit (DuckDB's bindings complain about ones left open); tests and
    benchmarks call it for a cold start. Their cursors go too: a new connection may get a closed
    one's id(), and must not be handed that connection's cursors."""
    _attachments.clear()
    _query_cursors.clear()
    _idle.clear()
    _inodes.clear()
    for con in [*_connections.values(), *(c for _, c in _retired)]:
        try:
            con.close()
        except duckdb.Error:  # still busy (a server stopped mid-query): the process is ending anyway
            pass
    _connections.clear()
    _retired.clear()


def _close_when_idle(con: duckdb.DuckDBPyConnection, wait_s: float = 60.0) -> None:
    """Close a connection, waiting while another thread (the median index build) still uses it."""
    for cursor in _drop_cursors(con):  # the cached query cursors go first (callers hold _lock)
        try:
            cursor.close()
        except duckdb.Error:
            pass
    deadline = time.monotonic() + wait_s
    while True:
        try:
            con.close()
            return
        except duckdb.Error:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


_EVENT_COLUMNS = ("event_id", "event_date", "kind", "title", "municipality_id", "organization_id")


def release(path: Path | str) -> None:
    """Close this process's connections to the file now at `path` (waiting while a query runs), so
    that it may be written in place: DuckDB refuses to open for writing a file the process reads."""
    with _lock:
        _release(str(Path(path).resolve()))


def _release(resolved: str) -> None:
    """(Under _lock.)"""
    inode = os.stat(resolved).st_ino
    for key in [k for k in _connections if k[0] == resolved]:
        con = _connections.pop(key)
        _attachments.pop(id(con), None)
        _inodes.pop(id(con), None)
        _close_when_idle(con)
    # Retired connections to earlier versions go too: DuckDB refuses to open a path for writing
    # while any connection of the process has a file attached under that path, whichever inode.
    for since, con in [(s, c) for s, c in _retired if _inodes.get(id(c)) == inode or _attached_path(c) == resolved]:
        _retired.remove((since, con))
        _inodes.pop(id(con), None)
        _close_when_idle(con)


def _attached_path(con: duckdb.DuckDBPyConnection) -> str | None:
    try:
        path = database_path(con)
    except duckdb.Error:
        return None
    return str(path) if path else None


def replace_events(path: Path | str, events: pd.DataFrame) -> None:
    """Replace the events register in a database file: the one table the app itself writes.

    This process's read-only connections to the file are closed first (DuckDB allows one way of
    opening a file per process); the write is one transaction, so a failure leaves the register as
    it was. The file's new modification time makes every page read afresh."""
    path = Path(path)
    resolved = str(path.resolve())
    frame = events.loc[:, list(_EVENT_COLUMNS)].copy()
    with writer_lock(path), _lock:  # an import running: the save waits and lands in the imported file
        _release(resolved)
        rw = duckdb.connect(resolved)
        try:
            rw.register("incoming", frame)
            rw.execute("begin transaction")
            try:
                rw.execute("delete from events")
                rw.execute(
                    "insert into events (event_id, event_date, kind, title, municipality_id, organization_id) "
                    "select event_id, event_date, kind, title, municipality_id, organization_id from incoming"
                )
                rw.execute("commit")
            except Exception:
                rw.execute("rollback")
                raise
            rw.execute("checkpoint")
        finally:
            rw.close()


def connect(path: Path | str, scope) -> ScopedConnection:
    """A read-only connection to a database file under a scope (oversight.access.Scope): every query
    through it sees only the scope's rows. The scope is required: a caller that forgets it gets a
    TypeError, not the whole region."""
    return scoped(connect_raw(path), scope)


def connect_raw(path: Path | str) -> duckdb.DuckDBPyConnection:
    """A read-only connection to a database file, shared per process and per file version.
    Not for queries (store.run refuses it): wrap it with scoped(con, scope).

    A replaced file (a new import) has a new modification time, so it gets a new connection and old
    results are never served for it.
    """
    path = Path(path)
    resolved = str(path.resolve())
    with _lock:
        con = _connections.get((resolved, path.stat().st_mtime_ns))
        if con is None:
            # Connections to an earlier version of this file are retired, not closed at once: a page
            # run that began on the old file finishes on it (never a mix, never a closed cursor);
            # they close once idle after RETIRE_GRACE_S (see _sweep). The app's cached connection
            # then notices it is closed and asks again (ui._connection).
            for old in [k for k in _connections if k[0] == resolved]:
                _retire(_connections.pop(old))
            ensure_derived(path)
            con = _open_read_only(resolved)
            _inodes[id(con)] = os.stat(resolved).st_ino
            _connections[(resolved, path.stat().st_mtime_ns)] = con
            _start_sweeper()
        return con


DATA_CATALOG = "oversight_data"  # the name the database file is attached under in the app's connections


def _open_read_only(resolved: str) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the file now at `resolved`: attached to an in-memory DuckDB of its
    own. duckdb.connect(path) would hand back the instance already open for that path (DuckDB keeps
    one per path), which still reads the replaced file while a retired connection holds it."""
    spill = Path(tempfile.gettempdir()) / f"oversight-spill-{os.getpid()}"
    con = duckdb.connect(":memory:", config={"temp_directory": str(spill)})
    try:
        con.execute(f"attach $path as {DATA_CATALOG} (read_only)", {"path": resolved})
        con.execute(f"use {DATA_CATALOG}")
        install_macros(con)
    except BaseException:
        con.close()
        raise
    return con


def new_cursor(raw: duckdb.DuckDBPyConnection):
    """A cursor of a connection from connect_raw, reading the database file (a cursor does not
    inherit its connection's USE)."""
    cursor = raw.cursor()
    cursor.execute(f"use {DATA_CATALOG}")
    return cursor


# ---------------------------------------------------------------- letting go of replaced files

# An import publishes a new file under the database's name (oversight.standby); the old file becomes
# the standby the next import writes into, which it cannot while a reader still has it open. So a
# process lets go of a replaced file by itself: a daemon thread looks every SWEEP_S seconds, retires
# connections whose file changed, and closes each once no query uses it, RETIRE_GRACE_S after.
SWEEP_S = 5.0
RETIRE_GRACE_S = 20.0
_retired: list[tuple[float, duckdb.DuckDBPyConnection]] = []
_inodes: dict[int, int] = {}  # id(connection) -> the inode of the file it reads (see holds)
_sweeper: list[threading.Thread] = []


def _retire(con: duckdb.DuckDBPyConnection) -> None:
    """(Under _lock.) Stop handing a connection out; _sweep closes it later."""
    _attachments.pop(id(con), None)
    _retired.append((time.monotonic(), con))


def _in_use(con: duckdb.DuckDBPyConnection) -> bool:
    """(Under _lock.) Whether a query holds one of the connection's cursors now."""
    idle = sum(len(v) for k, v in _idle.items() if k[0] == id(con))
    return len(_query_cursors.get(id(con), [])) > idle


def _sweep(now: float | None = None) -> int:
    """Retire connections to files that were replaced; close retired ones that are idle and past
    their grace. Returns how many were closed."""
    now = time.monotonic() if now is None else now
    closing = []
    with _lock:
        for key in list(_connections):
            try:
                current = os.stat(key[0]).st_mtime_ns
            except OSError:
                current = None
            if current != key[1]:
                _retire(_connections.pop(key))
        keep = []
        for since, con in _retired:
            if now - since >= RETIRE_GRACE_S and not _in_use(con):
                closing.append((con, _drop_cursors(con)))
            else:
                keep.append((since, con))
        _retired[:] = keep
    for con, cursors in closing:
        for cursor in cursors:
            with contextlib.suppress(duckdb.Error):
                cursor.close()
        try:
            con.close()
            with _lock:
                _inodes.pop(id(con), None)
        except duckdb.Error:  # still busy in a thread of its own (the median index): later
            with _lock:
                _retired.append((now, con))
    return len(closing)


def _start_sweeper() -> None:
    """(Under _lock.) One daemon thread per process."""
    if _sweeper and _sweeper[0].is_alive():
        return

    def loop() -> None:
        while True:
            time.sleep(SWEEP_S)
            try:
                _sweep()
            except Exception:  # never let the thread die: the next round tries again
                logging.getLogger(__name__).exception("closing replaced database files failed")

    thread = threading.Thread(target=loop, name="oversight-release-replaced", daemon=True)
    _sweeper[:] = [thread]
    thread.start()


_attachments: dict[int, dict[str, object]] = {}


class ScopedConnection:
    """A shared read-only connection and the scope every query through it runs under.

    The one thing `run` accepts: the scope is part of the connection, not an optional filter, so a
    query cannot forget it. One object per (connection, scope), so it can key caches and indexes.
    """

    __slots__ = ("raw", "scope", "__weakref__")

    def __init__(self, raw: duckdb.DuckDBPyConnection, scope):
        self.raw = raw
        self.scope = scope

    @property
    def key(self) -> tuple[int, str]:
        return id(self.raw), self.scope.key

    def __repr__(self) -> str:
        return f"ScopedConnection(scope={self.scope.key})"

    def execute(self, sql: str, params=None):
        """Ad-hoc SQL for the whole-region scope only (the command line's checks, tests, benchmarks);
        a restricted scope goes through run(), whose cursor holds the scope's views."""
        if not self.scope.is_everything:
            raise PermissionError("ad-hoc SQL needs the whole-region scope; use store.run")
        return new_cursor(self.raw).execute(sql, params)


def scoped(raw: duckdb.DuckDBPyConnection, scope) -> ScopedConnection:
    """The ScopedConnection for a raw connection and a scope (the same object every time)."""
    if isinstance(raw, ScopedConnection):
        raise TypeError("already scoped: a scope can only be given once")
    if getattr(scope, "key", None) is None:
        raise TypeError("a scope (oversight.access.Scope) is required")
    slot = _attachments.setdefault(id(raw), {"_connection": raw})
    return slot.setdefault(("scoped", scope.key), ScopedConnection(raw, scope))


def attachment(con: ScopedConnection, name: str, factory=None):
    """An object computed once per connection and scope (so once per database version), e.g. an
    index. Computed from scoped queries, so it is kept per scope: one user's index never answers
    another's.

    With a factory, computes it if missing; without, returns it or None if not computed yet.
    Dropped together with the connection when the database file is replaced.
    """
    if not isinstance(con, ScopedConnection):
        raise TypeError("attachment() needs a ScopedConnection")
    slot = _attachments.setdefault(id(con.raw), {"_connection": con.raw})  # keeps id(con) from being reused
    key = (name, con.scope.key)
    if key not in slot and factory is not None:
        value = factory(con)
        slot.setdefault(key, value)
    return slot.get(key)


def database_path(con) -> Path | None:
    """The file a connection reads (None for an in-memory database): DuckDB knows it."""
    cursor = new_cursor(con.raw if isinstance(con, ScopedConnection) else con)
    try:
        row = cursor.execute("select path from duckdb_databases() where database_name = current_database()").fetchone()
    finally:
        cursor.close()
    return Path(row[0]) if row and row[0] else None


def is_open(con) -> bool:
    """False once the connection was closed (its database file was replaced)."""
    raw = con.raw if isinstance(con, ScopedConnection) else con
    try:
        raw.cursor().close()  # a cursor, not the shared connection itself: safe from any thread
        return True
    except duckdb.ConnectionException:
        return False


def data_version(path: Path | str) -> str:
    """A string that changes whenever the database file is replaced: the cache key for results."""
    stat = Path(path).stat()
    return f"{stat.st_mtime_ns}-{stat.st_size}"


# The statements that point the count macros at the ticket rows: fixed texts, never built from input.
_COUNT_FROM_ROWS = (
    "create or replace temp macro scoped_counts(p_as_of, p_territory, p_municipality, p_organization, p_category, "
    "p_source, p_building) as table select * from scoped_counts_rows(p_as_of, p_territory, p_municipality, "
    "p_organization, p_category, p_source, p_building)",
    "create or replace temp macro scoped_ageing_counts(p_as_of, p_territory, p_municipality, p_organization, "
    "p_category, p_source) as table select * from scoped_ageing_counts_rows(p_as_of, p_territory, p_municipality, "
    "p_organization, p_category, p_source)",
    "create or replace temp macro scoped_org_due(p_as_of, p_territory, p_municipality, p_organization, p_category, "
    "p_source) as table select * from scoped_org_due_rows(p_as_of, p_territory, p_municipality, p_organization, "
    "p_category, p_source)",
)


# Cursors with the macros (and a restricted scope's views) installed, kept for reuse: installing them
# costs about 10 ms (35 ms with a scope's views), which every query, then every script run (Streamlit
# runs each in a new thread), used to pay. A query takes an idle cursor of its connection and scope,
# or makes one, and gives it back when done, so a cursor is never used by two threads at once. All of
# a connection's cursors are closed with it (_close_when_idle).
_idle: dict[tuple[int, str], list] = {}
_query_cursors: dict[int, list] = {}  # every cursor of a connection, idle or in use
_MAX_IDLE = 8  # per connection and scope: about as many as queries run at once


def _checkout(db: ScopedConnection):
    con = db.raw
    with _lock:
        idle = _idle.get(db.key)
        if idle:
            return idle.pop()
    cursor = new_cursor(con)
    install_macros(cursor)
    if not db.scope.is_everything:
        install_scope(cursor, scope_ids(db))
    with _lock:
        _query_cursors.setdefault(id(con), []).append(cursor)
    return cursor


def _checkin(db: ScopedConnection, cursor) -> None:
    with _lock:
        known = _query_cursors.get(id(db.raw), [])
        if not any(c is cursor for c in known):  # its connection was closed meanwhile
            return
        idle = _idle.setdefault(db.key, [])
        if len(idle) < _MAX_IDLE:
            idle.append(cursor)
            return
        known[:] = [c for c in known if c is not cursor]
    try:
        cursor.close()
    except duckdb.Error:
        pass


def _drop_cursors(con) -> list:
    """Forget a closing connection's cursors (under _lock); returns them for closing."""
    for key in [k for k in _idle if k[0] == id(con)]:
        _idle.pop(key, None)
    return _query_cursors.pop(id(con), [])


@contextlib.contextmanager
def cursor(db: ScopedConnection):
    """The cursor a query of `db` runs on (its scope's views installed), for one `with` block."""
    if not isinstance(db, ScopedConnection):
        raise TypeError("a cursor needs a ScopedConnection (store.connect(path, scope))")
    taken = _checkout(db)
    try:
        yield taken
    finally:
        _checkin(db, taken)


# ---------------------------------------------------------------- scopes

# How each table is narrowed for a restricted scope (a territorial head's directions or municipalities).
# Each is a filter over the table's own rows (alias t) using the scope's temporary lists; the views
# are created on the cursor under the table's own name, so every query file and macro reads them
# unchanged. A table not listed here is hidden whole (fail closed): a new table must be classified.
_SCOPE_FILTERS = {
    "territories": "t.territory_id in (select id from scope_territories_any)",
    "municipalities": "t.municipality_id in (select id from scope_municipalities_all)",
    "municipality_rollup": "t.current_id in (select id from scope_municipalities)",
    "organizations": "t.organization_id in (select id from scope_organizations)",
    "buildings": "t.municipality_id in (select id from scope_municipalities_all)",
    "tickets": "t.municipality_id in (select id from scope_municipalities_all)",
    "ticket_returns": "t.ticket_id in (select ticket_id from tickets)",  # the scoped view above
    "ticket_facts": "t.current_municipality_id in (select id from scope_municipalities)",
    "ticket_facts_by_org": "t.current_municipality_id in (select id from scope_municipalities)",
    "daily_counts": "t.current_municipality_id in (select id from scope_municipalities)",
    "ageing_counts": "t.current_municipality_id in (select id from scope_municipalities)",
    # No municipality column: only directions the scope covers whole (see _PARTIAL_AGEING below).
    "ageing_counts_category": "t.territory_id in (select id from scope_territories_full)",
    "org_daily_counts": "t.current_municipality_id in (select id from scope_municipalities)",
    "events": "(t.municipality_id is null or t.municipality_id in (select id from scope_municipalities_all)) "
              "and (t.organization_id is null or t.organization_id in (select id from scope_organizations))",
    # The same for everyone: reference lists and facts about the data set.
    "categories": "true",
    "dataset": "true",
    "ageing_thresholds": "true",
    "derived_info": "true",
    # Hidden: the demo's story names municipalities of every direction; imports keep raw rows.
    "demo_story": "false",
    "imports": "false",
    "import_rejects": "false",
    # The standby's bookkeeping (oversight.standby, oversight.derived): nobody's business on a page.
    "file_state": "false",
    "import_changes": "false",
    "derived_difference_daily_counts": "false",
    "derived_difference_ageing_counts": "false",
    "derived_difference_ageing_counts_category": "false",
    "derived_difference_org_daily_counts": "false",
}

# Columns a scope blanks: an organisation that works in the scope but is based elsewhere is shown
# without its home municipality.
_SCOPE_COLUMNS = {
    "organizations": "t.* replace (case when t.municipality_id in (select id from scope_municipalities_all) "
                     "then t.municipality_id end as municipality_id)",
}

# With a scope that covers a direction only in part, the ageing of one category cannot come from
# ageing_counts_category (it has no municipality): it is counted from the scoped rows instead.
_PARTIAL_AGEING = (
    "create or replace temp macro scoped_ageing_counts_daily(p_as_of, p_territory, p_municipality, p_organization, "
    "p_category, p_source) as table "
    "select day, kind, days, entries, exits from ageing_counts where p_category is null "
    "and (p_territory is null or territory_id = p_territory) "
    "and (p_municipality is null or current_municipality_id = p_municipality) "
    "and (p_source is null or source = p_source) "
    "union all select day, kind, days, entries, exits from scoped_ageing_counts_rows(p_as_of, p_territory, "
    "p_municipality, p_organization, p_category, p_source) where p_category is not null"
)


def scope_ids(db: ScopedConnection) -> dict[str, list[int]]:
    """The ids a restricted scope covers, worked out once per connection and scope: current
    municipalities (granted ones, and every one of a granted direction), with their predecessors,
    the directions touched and those covered whole, and the organisations that work there (based
    there, serving a building there, or with requests there)."""

    def compute(d: ScopedConnection) -> dict[str, list[int]]:
        scope = d.scope
        cursor = new_cursor(d.raw)
        try:
            params = {"t": sorted(scope.territory_ids or ()), "m": sorted(scope.municipality_ids or ())}
            current = [r[0] for r in cursor.execute(
                "select municipality_id from municipalities where successor_id is null "
                "and (list_contains($t, territory_id) or list_contains($m, municipality_id)) order by 1", params
            ).fetchall()]
            bound = {"ids": current}
            every = [r[0] for r in cursor.execute(
                "select municipality_id from municipality_rollup where list_contains($ids, current_id) order by 1", bound
            ).fetchall()]
            any_territory = [r[0] for r in cursor.execute(
                "select distinct territory_id from municipalities where list_contains($ids, municipality_id) order by 1",
                bound,
            ).fetchall()]
            full = [r[0] for r in cursor.execute(
                "select territory_id from municipalities where successor_id is null group by territory_id "
                "having bool_and(list_contains($ids, municipality_id)) order by 1", bound
            ).fetchall()]
            orgs = [r[0] for r in cursor.execute(
                "select organization_id from organizations o join municipality_rollup r using (municipality_id) "
                "where list_contains($ids, r.current_id) "
                "union select organization_id from buildings b join municipality_rollup r using (municipality_id) "
                "where list_contains($ids, r.current_id) and organization_id is not null "
                "union select organization_id from ticket_facts where list_contains($ids, current_municipality_id) "
                "and organization_id is not null order by 1", bound
            ).fetchall()]
        finally:
            cursor.close()
        return {
            "municipalities": current, "municipalities_all": every, "territories_any": any_territory,
            "territories_full": full, "organizations": orgs,
        }

    return attachment(db, "_scope_ids", compute)


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def install_scope(cursor, ids: dict[str, list[int]]) -> None:
    """Make every table on this cursor a view over the scope's rows (temporary objects: the other
    cursors of the connection, other users' queries, never see them)."""
    catalog = _quoted(cursor.execute("select current_database()").fetchone()[0])
    for name, values in ids.items():
        table = f"scope_{name}"  # names from the fixed keys of scope_ids, not from input
        cursor.execute(f"create or replace temp table {table} (id bigint)")
        cursor.execute(f"insert into {table} select unnest($ids::bigint[])", {"ids": list(values)})  # noqa: S608
    tables = [r[0] for r in cursor.execute(
        "select table_name from duckdb_tables() where database_name = current_database() and schema_name = 'main' "
        "and not temporary union select view_name from duckdb_views() where database_name = current_database() "
        "and schema_name = 'main' and not temporary and not internal"
    ).fetchall()]
    # Views in dependency order: ticket_returns reads the scoped tickets.
    for table in sorted(tables, key=lambda name: name == "ticket_returns"):
        condition = _SCOPE_FILTERS.get(table, "false")  # an unclassified table is hidden
        source = f"{catalog}.main.{_quoted(table)}"
        columns = _SCOPE_COLUMNS.get(table, "t.*")
        cursor.execute(f"create or replace temp view {_quoted(table)} as select {columns} from {source} as t where {condition}")  # noqa: S608
    if set(ids["territories_any"]) != set(ids["territories_full"]):
        cursor.execute(_PARTIAL_AGEING)


_COUNT_FROM_DAILY = tuple(statement.replace("_rows(", "_daily(") for statement in _COUNT_FROM_ROWS)


def run(con: ScopedConnection, name: str, *, rows: bool = False, **params) -> pd.DataFrame:
    """Run queries/<name>.sql with its $parameters bound from `params`; return a DataFrame.

    Extra parameters a query does not use are dropped (the shared filter set is passed to every
    query); a parameter the query needs but was not given is an error. rows=True makes the query's
    counts come from the ticket rows instead of the pre-aggregated tables (scoped_counts and
    scoped_ageing_counts in queries/_macros.sql).
    """
    sql, bound = _bound(con, name, params)
    with cursor(con) as taken:
        if rows:
            for statement in _COUNT_FROM_ROWS:
                taken.execute(statement)
        try:
            return _masked(name, params, taken.execute(sql, bound).df())
        finally:
            if rows:  # back to the pre-aggregated implementations for the cursor's next query
                for statement in _COUNT_FROM_DAILY:
                    taken.execute(statement)


def run_numpy(con: ScopedConnection, name: str, **params) -> dict[str, np.ndarray]:
    """Like run, but the columns as numpy arrays, without pandas (millions of numbers for an index).
    Only for queries of numbers: a column that could hold personal data is refused, not masked."""
    sql, bound = _bound(con, name, params)
    with cursor(con) as taken:
        result = taken.execute(sql, bound)
        names = [d[0] for d in result.description]
        if personal := set(names) & _PERSONAL_COLUMNS.keys():
            raise ValueError(f"query {name} returns {sorted(personal)}: use run, which masks them")
        return result.fetchnumpy()


def _bound(con: ScopedConnection, name: str, params: dict) -> tuple[str, dict]:
    """The query's text and the parameters it uses, bindable; refuses a connection without scope."""
    if not isinstance(con, ScopedConnection):
        raise TypeError("store.run needs a ScopedConnection (store.connect(path, scope)): no query runs without a scope")
    needed = query_parameters(name)
    missing = needed - params.keys()
    if missing:
        raise TypeError(f"query {name} needs parameters {sorted(missing)}")
    return query_text(name), {k: _bindable(v) for k, v in params.items() if k in needed}


# Residents' personal data leave the database only masked (issue #18 item 5): every query result
# passes through store.run, so every page, Excel file, deck and JSON gets its texts from here. By
# column name: a resident's text, a refused import row as the file had it, a building's address
# (a flat, a name or a phone written into it). The drill-down's labels of buildings are addresses under
# another name. Masked in Russian; oversight.privacy.localise turns the placeholders into English.
_PERSONAL_COLUMNS = {"description": "text", "text": "text", "raw": "raw", "address": "address"}
_PERSONAL_BY_QUERY = {("drill_labels", "building"): {"name_ru": "address", "name_en": "address"}}


def _masked(name: str, params: dict, frame: pd.DataFrame) -> pd.DataFrame:
    from oversight import privacy

    kinds = {c: k for c, k in _PERSONAL_COLUMNS.items() if c in frame.columns}
    kinds |= _PERSONAL_BY_QUERY.get((name, params.get("level")), {})
    if not kinds or frame.empty:
        return frame
    maskers = {"text": privacy.mask, "raw": privacy.mask_raw_row, "address": privacy.mask_address}
    out = frame.copy()
    for column, kind in kinds.items():
        values = out[column]
        present = values.notna()
        if not present.any():
            continue
        done = {v: maskers[kind](v) for v in pd.unique(values[present].astype(object))}
        masked = values.astype(object).copy()
        masked[present] = values[present].astype(object).map(done)
        out[column] = masked.astype(values.dtype) if isinstance(values.dtype, pd.StringDtype) else masked
    return out


def _bindable(value):
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return dt.datetime.combine(value, dt.time())
    return value


def dataset_info(con: duckdb.DuckDBPyConnection) -> dict:
    """The one `dataset` row as a dict (as_of, source, is_demo, loaded_at)."""
    row = run(con, "dataset_info")
    if row.empty:
        raise ValueError("В базе нет строки dataset: неизвестно, на какой момент данные")
    return row.iloc[0].to_dict()
