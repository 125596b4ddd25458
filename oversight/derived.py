"""The derived tables (issue #20): built whole, or brought up to date after an import that touched a
few requests, with the same result.

    build(con)                          every derived table from tickets and dataset
    can_update(con), update(con)        after an import: only what the requests in the temporary
                                        table changed_ids, and the move of as_of, changed

Every aggregate table (daily_counts, ageing_counts, ageing_counts_category, org_daily_counts) is a sum
over requests of what each one contributes at the moment as_of (queries/_build_aggregates.sql). So
after an import the new table is the old one, minus what the affected requests contributed before
(their old rows, at the old as_of), plus what they contribute now (their new rows, at the new as_of).
A request is affected when the import wrote it, or when one of the moments it is counted at (its
creation, deadline or closing, shifted by an ageing threshold) falls between the old as_of and the
new: for any other request nothing changed. Keys whose counts all come to zero are removed, as a
full build never writes them. The row tables (ticket_facts, ticket_facts_by_org) get the written
requests' rows replaced. tests/test_derived.py compares the result with a full build over random
imports.

Incremental rows are appended, so the tables slowly lose their order by day (and ticket_facts its
order by creation, which lets DuckDB skip row groups); a full build restores it: `python -m oversight rebuild` (oversight.standby.rebuild, while the app
serves), or an import that falls back to one (see can_update).

No SQL is built from input: the table and column names below are this module's own constants.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from oversight.paths import QUERIES_DIR

VERSION = 13  # of the derived tables' definitions: a database built by another version is rebuilt
ROLLUP_FILE = QUERIES_DIR / "_build_rollup.sql"
FACTS_FILE = QUERIES_DIR / "_build_facts.sql"
AGGREGATES_FILE = QUERIES_DIR / "_build_aggregates.sql"

# Each aggregate table: its key columns and its count columns (all integers, summed over requests).
AGGREGATES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "daily_counts": (("day", "territory_id", "current_municipality_id", "category_id", "source"),
                     ("created", "closed", "closed_returned", "due", "missed", "overdue_entries", "overdue_exits")),
    "ageing_counts": (("day", "territory_id", "current_municipality_id", "source", "kind", "days"), ("entries", "exits")),
    "ageing_counts_category": (("day", "territory_id", "category_id", "source", "kind", "days"), ("entries", "exits")),
    "org_daily_counts": (("organization_id", "territory_id", "current_municipality_id", "day"),
                         ("created", "closed", "closed_returned", "due", "missed", "overdue_entries", "overdue_exits")),
}
ROW_TABLES = ("ticket_facts", "ticket_facts_by_org")
# Derived tables earlier versions made and this one does not: dropped by a full build.
RETIRED_TABLES = ("org_due_daily", "derived_difference_org_due_daily")
# The difference the last incremental update added to each aggregate table, kept for the standby.
DIFFERENCE_PREFIX = "derived_difference_"
# Past this share of the requests written, a full build is faster than the difference.
FULL_BUILD_SHARE = 0.2


def _script(path) -> str:
    return path.read_text(encoding="utf-8")


def _aggregate(con: duckdb.DuckDBPyConnection, rows: str, as_of_sql: str, params: dict | None = None) -> None:
    """Run the aggregates over the relation `rows` (one of this module's table names) at a moment."""
    con.execute(f"create or replace temp view agg_facts as select * from {rows}")
    con.execute(f"create or replace temp table agg_moment as select {as_of_sql} as as_of", params or {})
    con.execute(_script(AGGREGATES_FILE))


def build(con: duckdb.DuckDBPyConnection) -> None:
    """Every derived table, from the contract tables (the caller checked them)."""
    con.execute(_script(ROLLUP_FILE))
    con.execute(_script(FACTS_FILE))
    _aggregate(con, "ticket_facts", "(select max(as_of) from dataset)::timestamp")
    for table in AGGREGATES:
        con.execute(f"create or replace table {table} as select * from agg_{table} order by day")
        con.execute(f"drop table agg_{table}")
        con.execute(f"drop table if exists {DIFFERENCE_PREFIX}{table}")  # built whole: nothing to replay
    for table in RETIRED_TABLES:
        con.execute(f"drop table if exists {table}")
    _write_info(con)


def _write_info(con: duckdb.DuckDBPyConnection) -> None:
    """Which definitions built the tables, for which moment, and how many requests the invariants were
    checked for just before (every build and update follows the checks: store.build_derived,
    store.refresh_derived), so that opening the file need not check them again (store.file_problems)."""
    con.execute("create or replace table derived_info as select $version as version, "
                "(select max(as_of) from dataset) as as_of, (select count(*) from tickets) as checked_tickets",
                {"version": VERSION})


def built_as_of(con: duckdb.DuckDBPyConnection) -> dt.datetime | None:
    """The moment the derived tables describe, or None when they are missing or of another version."""
    try:
        row = con.execute("select max(version), max(as_of) from derived_info").fetchone()
    except duckdb.CatalogException:
        return None
    return row[1] if row and row[0] == VERSION else None


def _rollup_unchanged(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether municipality_rollup, built again, is what the tables were built with (an import that
    adds or merges municipalities moves requests between areas: then only a full build will do)."""
    con.execute("create or replace temp table old_rollup as select * from municipality_rollup")
    con.execute(_script(ROLLUP_FILE))
    differs = con.execute(
        "select count(*) from ((select * from old_rollup except all select * from municipality_rollup) "
        "union all (select * from municipality_rollup except all select * from old_rollup))").fetchone()[0]
    con.execute("drop table old_rollup")
    return differs == 0


def can_update(con: duckdb.DuckDBPyConnection) -> bool:
    """Whether update() may bring the tables up to date after the requests in the temporary table
    changed_ids were written: the tables are of this version, as_of did not move back, the roll-up
    of municipalities is the one they were built with, and the import wrote few enough requests."""
    old_as_of = built_as_of(con)
    if old_as_of is None:
        return False
    new_as_of = con.execute("select max(as_of) from dataset").fetchone()[0]
    changed, total = con.execute("select (select count(*) from changed_ids), (select count(*) from ticket_facts)").fetchone()
    return (new_as_of is not None and new_as_of >= old_as_of and 0 < total and changed <= FULL_BUILD_SHARE * total
            and _rollup_unchanged(con))


def update(con: duckdb.DuckDBPyConnection) -> None:
    """Bring the derived tables up to date after the requests in the temporary table changed_ids
    (ticket_id) were written and dataset.as_of moved from the moment the tables were built for.
    Call only when can_update(con) said so."""
    old_as_of = built_as_of(con)
    new_as_of = con.execute("select max(as_of) from dataset").fetchone()[0]
    con.execute(_script(ROLLUP_FILE))  # the view ticket_facts_rows (the roll-up itself is unchanged: can_update)
    _affected(con, old_as_of, new_as_of)
    con.execute("create or replace temp table delta_old_rows as select * from ticket_facts "
                "where ticket_id in (select ticket_id from affected_ids)")
    for table in ROW_TABLES:
        con.execute(f"delete from {table} where ticket_id in (select ticket_id from changed_ids)")
        con.execute(f"insert into {table} select * from ticket_facts_rows "
                    "where ticket_id in (select ticket_id from changed_ids)")
    con.execute("create or replace temp table delta_new_rows as select * from ticket_facts_rows "
                "where ticket_id in (select ticket_id from affected_ids)")
    _aggregate(con, "delta_old_rows", "$moment::timestamp", {"moment": old_as_of})
    for table in AGGREGATES:
        con.execute(f"create or replace temp table before_{table} as select * from agg_{table}")
    _aggregate(con, "delta_new_rows", "$moment::timestamp", {"moment": new_as_of})
    for table, (keys, counts) in AGGREGATES.items():
        _difference(con, table, keys, counts)
        merge_difference(con, table, f"{DIFFERENCE_PREFIX}{table}")
    for name in ("affected_ids", "delta_old_rows", "delta_new_rows", "agg_moment"):
        con.execute(f"drop table if exists {name}")
    _write_info(con)


def replay(con: duckdb.DuckDBPyConnection, source: str) -> None:
    """Make a copy one import behind (the standby, oversight.standby) what the database `source`
    (an attached catalogue's name) became by its last, incremental import: its rows of the requests in
    changed_ids, and its recorded differences added to the aggregates. Cheaper than update(): nothing
    is aggregated again."""
    for table in ROW_TABLES:
        con.execute(f"delete from {table} where ticket_id in (select ticket_id from changed_ids)")
        con.execute(f"insert into {table} select * from {source}.{table} "
                    "where ticket_id in (select ticket_id from changed_ids)")
    for table in AGGREGATES:
        con.execute(f"create or replace table {DIFFERENCE_PREFIX}{table} as select * from {source}.{DIFFERENCE_PREFIX}{table}")
        merge_difference(con, table, f"{DIFFERENCE_PREFIX}{table}")
    con.execute(f"create or replace table derived_info as select * from {source}.derived_info")


def has_differences(con: duckdb.DuckDBPyConnection, catalog: str) -> bool:
    """Whether a database's derived tables came from an incremental update that kept its differences."""
    names = {f"{DIFFERENCE_PREFIX}{table}" for table in AGGREGATES}
    found = {r[0] for r in con.execute("select table_name from duckdb_tables() where database_name = $c",
                                       {"c": catalog}).fetchall()}
    return names <= found


def _affected(con: duckdb.DuckDBPyConnection, old_as_of: dt.datetime, new_as_of: dt.datetime) -> None:
    """affected_ids: the written requests, and those counted at a moment in [old_as_of, new_as_of)
    (each test of the aggregates against as_of compares one of: the creation or the deadline, plus
    one of the ageing thresholds' days (0 among them), or the closing). Each range is its own
    statement so DuckDB skips the row groups outside it (ticket_facts is ordered by creation, and
    deadlines follow creations)."""
    days = [row[0] for row in con.execute("select distinct days from ageing_thresholds union select 0 order by 1").fetchall()]
    con.execute("create or replace temp table affected_ids as select ticket_id from changed_ids")
    for shift in days:
        window = {"lo": old_as_of - dt.timedelta(days=shift), "hi": new_as_of - dt.timedelta(days=shift)}
        for column in ("created_at", "due_at"):
            con.execute(f"insert into affected_ids select ticket_id from ticket_facts where {column} >= $lo and {column} < $hi",
                        window)
    con.execute("insert into affected_ids select ticket_id from ticket_facts where closed_at >= $lo and closed_at < $hi",
                {"lo": old_as_of, "hi": new_as_of})
    con.execute("create or replace temp table affected_ids as select distinct ticket_id from affected_ids")


def _difference(con: duckdb.DuckDBPyConnection, table: str, keys: tuple[str, ...], counts: tuple[str, ...]) -> None:
    """derived_difference_<table> = agg_<table> - before_<table>, key by key, without zero rows: kept in
    the file, so the standby can replay it (replay) instead of aggregating again."""
    key_list = ", ".join(keys)
    signed, nonzero = _summed(counts), _any_nonzero(counts)
    con.execute(
        f"create or replace table {DIFFERENCE_PREFIX}{table} as "
        f"select {key_list}, {signed} from ("
        f"select {key_list}, {', '.join(counts)} from agg_{table} union all "
        f"select {key_list}, {', '.join('-' + c + ' as ' + c for c in counts)} from before_{table}"
        f") group by all having {nonzero}")
    for name in (f"before_{table}", f"agg_{table}"):
        con.execute(f"drop table if exists {name}")


def _summed(counts) -> str:
    """The counts summed over a group, as integers (our own column names)."""
    return ", ".join(f"sum({c})::integer as {c}" for c in counts)


def _any_nonzero(counts) -> str:
    """A row that changes something: any count not 0."""
    return " or ".join(f"{c} <> 0" for c in counts)


def merge_difference(con: duckdb.DuckDBPyConnection, table: str, difference: str) -> None:
    """table += difference, key by key; keys whose counts all reach 0 go (a full build has none)."""
    keys, counts = AGGREGATES[table]
    key_list = ", ".join(keys)
    same_key = " and ".join(f"t.{k} is not distinct from d.{k}" for k in keys)
    signed, nonzero = _summed(counts), _any_nonzero(counts)
    con.execute(
        f"create or replace temp table merged_{table} as "
        f"select {key_list}, {signed} from ("
        f"select t.{key_list.replace(', ', ', t.')}, {', '.join('t.' + c for c in counts)} from {table} as t "
        f"semi join {difference} as d on {same_key} "
        f"union all select {key_list}, {', '.join(counts)} from {difference}"
        f") group by all having {nonzero}")
    con.execute(f"delete from {table} as t using {difference} as d where {same_key}")
    con.execute(f"insert into {table} by name select * from merged_{table}")
    con.execute(f"drop table merged_{table}")
