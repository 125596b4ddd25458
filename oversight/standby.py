"""The standby copy of the database that an import writes into while the app reads the live file
(issue #20): no copy of the whole file per import, and the app keeps serving the previous state.

Beside the database `<db>` lives `.<db>.standby`, a second database file one import behind the
live one. An import (under the writer lock, store.writer_lock):
1. brings the standby up to the live file's state (`prepare`): the requests the live file's last
   import wrote (its `import_changes`), every small table whole, and the differences that import
   added to the derived tables (oversight.derived.replay) — or, when the standby cannot be
   trusted (none yet, another lineage, more than one import behind, left half-written by a killed
   import, or held open by a reader), a plain copy of the live file, as every import made before;
2. marks the standby as being written, imports into it, records which requests it wrote, marks it
   complete (`finish`), checkpoints and closes it;
3. swaps the two files (`swap`): a hard link keeps the live file's inode, the standby is renamed
   over the database's name (the one atomic step that publishes the import), and the old live file
   becomes the standby. A reader that opened the old file keeps reading it undisturbed.

A kill at any moment leaves the database's name on either the old or the new file, whole: before
step 3 the live file was never written; a half-done swap is finished or undone at the next import
(`recover`). The standby's state row (`file_state`: lineage, generation, complete) tells whether it
may be synchronised or must be copied.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import duckdb

from oversight import derived

# Tables the synchronisation does not copy whole: the requests (by the numbers the last import
# wrote), the derived tables (brought up to date), and the state itself.
_NOT_COPIED = {"tickets", "ticket_returns", "file_state", "import_changes", *derived.ROW_TABLES, *derived.AGGREGATES,
               *(derived.DIFFERENCE_PREFIX + table for table in derived.AGGREGATES), "derived_info"}

LIVE = "oversight_live_file"  # the live file's catalogue name while the standby reads it

# Tables other tables' keys refer to (oversight/schema.sql), before those: inserted in this order, emptied in reverse.
_PARENTS_FIRST = ("territories", "municipalities", "categories", "organizations", "buildings")

STATE_TABLE = "create table if not exists file_state (lineage varchar, generation bigint, complete boolean)"
CHANGES_TABLE = "create table if not exists import_changes (generation bigint, ticket_id bigint)"


def standby_path(db: Path) -> Path:
    return db.with_name(f".{db.name}.standby")


def _previous_path(db: Path) -> Path:
    return db.with_name(f".{db.name}.previous")


def recover(db: Path) -> None:
    """Finish or undo a swap a kill interrupted (see the module's docstring, step 3)."""
    previous, standby = _previous_path(db), standby_path(db)
    if not previous.exists():
        return
    if standby.exists():  # killed before the rename: the link is the live file's second name
        previous.unlink()
    else:  # killed after it: the old live file becomes the standby, as the swap would have made it
        os.replace(previous, standby)


def state(con: duckdb.DuckDBPyConnection) -> tuple[str, int, bool] | None:
    """(lineage, generation, complete) of a database, None when it has no state row."""
    try:
        row = con.execute("select lineage, generation, complete from file_state").fetchone()
    except duckdb.CatalogException:
        return None
    return (row[0], int(row[1]), bool(row[2])) if row else None


def _live_state(db: Path) -> tuple[str, int, bool] | None:
    with duckdb.connect(str(db), read_only=True) as con:
        return state(con)


def prepare(db: Path, config: dict | None = None) -> tuple[duckdb.DuckDBPyConnection, Path, bool]:
    """The standby, at the live file's state and marked as being written, ready to import into.
    Returns (a connection to it, opened with DuckDB `config`; its path; whether it was synchronised
    rather than copied)."""
    recover(db)
    standby = standby_path(db)
    live = _live_state(db)
    from oversight import store

    # This very process may still read the standby (the old live file, retired after the last swap,
    # for a page run still on it): then it is not written but copied afresh.
    if standby.exists() and live is not None and live[2] and not store.holds(standby):
        try:
            con = duckdb.connect(str(standby), config=config or {})
        except duckdb.Error:  # a reader still holds it (the app has not let go of the old file yet)
            con = None
        if con is not None:
            try:
                if _synchronise(con, db, live):
                    _mark_writing(con)
                    return con, standby, True
            except BaseException:
                con.close()
                raise
            con.close()
    _copy(db, standby)
    con = duckdb.connect(str(standby), config=config or {})
    try:
        _mark_writing(con)
    except BaseException:
        con.close()
        raise
    return con, standby, False


def _copy(db: Path, standby: Path) -> None:
    """The standby as a plain copy of the live file, written beside it and renamed into place (a new
    file: a reader of the old standby is not disturbed)."""
    tmp = db.with_name(f".{db.stem}.duckdb.tmp{os.getpid()}")  # oversight.leftovers removes it if killed
    shutil.copy2(db, tmp)
    os.replace(tmp, standby)
    Path(str(standby) + ".wal").unlink(missing_ok=True)


def _mark_writing(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(STATE_TABLE)
    con.execute(CHANGES_TABLE)
    if state(con) is None:
        con.execute("insert into file_state values ($lineage, 0, false)", {"lineage": uuid.uuid4().hex})
    con.execute("update file_state set complete = false")


def _synchronise(con: duckdb.DuckDBPyConnection, db: Path, live: tuple[str, int, bool]) -> bool:
    """Bring the standby (con) to the live file's state when it is exactly one import behind it, or
    already there; False when it is not (it must then be copied)."""
    mine = state(con)
    if mine is None or not mine[2] or mine[0] != live[0] or mine[1] not in (live[1] - 1, live[1]):
        return False
    from oversight import store

    store.upgrade_contract(con)
    con.execute(f"attach $path as {LIVE} (read_only)", {"path": str(db)})
    try:
        behind = mine[1] == live[1] - 1
        if behind and not derived.has_differences(con, LIVE):
            return False
        # Marked first, so that a kill from here on leaves a standby the next import copies afresh
        # (committed to DuckDB's log, which survives a kill: no checkpoint needed).
        con.execute("update file_state set complete = false")
        con.execute(f"create or replace temp table changed_ids as select distinct ticket_id from {LIVE}.import_changes "
                    "where generation = $g", {"g": live[1] if behind else -1})
        for table in ("tickets", "ticket_returns"):
            con.execute(f"delete from {table} where ticket_id in (select ticket_id from changed_ids)")
            con.execute(f"insert into {table} by name select * from {LIVE}.{table} "
                        "where ticket_id in (select ticket_id from changed_ids)")
        tables = _small_tables(con)
        for table in reversed(tables):  # children before the tables their keys refer to
            con.execute(f"delete from main.{table}")
        for table in tables:
            con.execute(f"insert into main.{table} by name select * from {LIVE}.{table}")
        if behind:
            derived.replay(con, LIVE)
        con.execute("delete from import_changes")
        con.execute(f"insert into import_changes select * from {LIVE}.import_changes")
        con.execute("delete from file_state")
        con.execute(f"insert into file_state select * from {LIVE}.file_state")
    finally:
        con.execute(f"detach {LIVE}")
    return True


def _small_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """The live file's tables copied whole (reference data, events, the dataset row, imports and their
    refused rows): every table of both files but the ones synchronised otherwise."""
    live = {r[0] for r in con.execute("select table_name from duckdb_tables() where database_name = $c", {"c": LIVE}).fetchall()}
    mine = {r[0] for r in con.execute("select table_name from duckdb_tables() where database_name = current_database() "
                                      "and not temporary").fetchall()}
    missing = live - mine - _NOT_COPIED
    if missing:
        raise duckdb.CatalogException(f"the standby lacks tables {sorted(missing)}")
    both = (live & mine) - _NOT_COPIED
    return [t for t in _PARENTS_FIRST if t in both] + sorted(both - set(_PARENTS_FIRST))


def finish(con: duckdb.DuckDBPyConnection) -> None:
    """After the import wrote the standby (con): the next generation, the requests it wrote (the
    temporary table changed_ids, or every request of a database written whole), complete."""
    lineage, generation, _ = state(con)
    con.execute("delete from import_changes")
    has_changes = con.execute(
        "select count(*) from duckdb_tables() where temporary and table_name = 'changed_ids'").fetchone()[0]
    if has_changes and derived.has_differences(con, con.execute("select current_database()").fetchone()[0]):
        con.execute("insert into import_changes select $g, ticket_id from changed_ids", {"g": generation + 1})
        con.execute("update file_state set generation = $g, complete = true", {"g": generation + 1})
    else:  # derived tables built whole (a new database, a large import): nothing to replay; the next import copies it
        con.execute("update file_state set lineage = $l, generation = 0, complete = true", {"l": uuid.uuid4().hex})


def swap(db: Path, standby: Path) -> None:
    """Publish the written standby as the database and keep the old live file as the next standby.
    The caller closed this process's connections to the database first (store.replace_file's rule)."""
    if Path(str(standby) + ".wal").exists():
        raise OSError(f"{standby.name}: its log was not written into it (checkpoint): not published")
    previous = _previous_path(db)
    previous.unlink(missing_ok=True)
    if db.exists():
        os.link(db, previous)
    os.replace(standby, db)
    if previous.exists():
        os.replace(previous, standby)


def rebuild(db: Path) -> float:
    """Build every derived table of the database whole, the way an import publishes (into the
    standby, then swapped in; the app keeps serving): incremental imports append rows, so after many
    of them the tables lose the order by day and by creation that lets DuckDB skip row groups.
    Returns the seconds it took. Under the writer lock: an import waits for it, and it for an import."""
    import time

    from oversight import store

    started = time.perf_counter()
    with store.writer_lock(db):
        con, path, _ = prepare(db)
        try:
            store.build_derived(con)  # checks every request, then builds
            finish(con)  # built whole: a new lineage, the next import copies the file once
            con.execute("checkpoint")
        finally:
            con.close()
        store.publish_standby(db, path)
    return time.perf_counter() - started
