"""Issue #20: an import into a database with requests brings the derived tables up to date
incrementally (oversight.derived), and the result equals a full build of the same requests: over
random daily exports (new requests, closings and ratings of old ones, refused rows), chained, with
as_of moving by less than a day, by a day, by more than the longest ageing threshold, or not at all,
and with an older export that may only add requests."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oversight import derived, store
from oversight.ingest import demo_daily, importer

TABLES = ("ticket_facts", "ticket_facts_by_org", "municipality_rollup", *derived.AGGREGATES)


@pytest.fixture
def base_db(real_db) -> Path:
    return real_db


def _copy(base: Path, folder: Path) -> Path:
    target = folder / "db.duckdb"
    shutil.copy(base, target)
    return target


def _table(con, table: str) -> pd.DataFrame:
    frame = con.execute(f"select * from {table}").df()  # table names: this module's own constants
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


def _tables(path: Path) -> dict[str, pd.DataFrame]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {table: _table(con, table) for table in TABLES}


def _rebuilt(path: Path, folder: Path) -> dict[str, pd.DataFrame]:
    """The same requests, derived tables built whole on a copy."""
    copy = folder / "rebuilt.duckdb"
    shutil.copy(path, copy)
    with duckdb.connect(str(copy)) as con:
        store.build_derived(con)
    return _tables(copy)


def _assert_same(incremental: dict[str, pd.DataFrame], full: dict[str, pd.DataFrame]) -> None:
    for table in TABLES:
        assert len(incremental[table]) == len(full[table]), table
        pd.testing.assert_frame_equal(incremental[table], full[table], check_dtype=True, obj=table)


# (new, changed, refused, hours after as_of): less than a day, a day, past the 30-day threshold, no move
EXPORTS = [
    [(400, 120, 6, 24.0), (300, 80, 3, 7.5)],
    [(0, 200, 0, 24 * 31.0), (50, 0, 9, 0.0)],
    [(250, 60, 3, 3.0), (250, 60, 3, 3.0), (100, 300, 0, 48.0)],
]


@pytest.mark.parametrize("plan", EXPORTS, ids=["day-then-hours", "month-then-still", "three-small"])
def test_incremental_derived_tables_equal_a_full_build(base_db, tmp_path, plan):
    db = _copy(base_db, tmp_path)
    for step, (new, changed, refused, hours) in enumerate(plan):
        export = tmp_path / f"day{step}.csv"
        facts = demo_daily.daily_export(db, export, new=new, changed=changed, refused=refused, hours=hours,
                                        seed=100 * len(plan) + step)
        report = importer.import_files([export], db, "eds")
        assert report.incremental, "the import should have updated the derived tables, not rebuilt them"
        assert report.rejected == facts["refused"]
        assert report.inserted == facts["new"]
        _assert_same(_tables(db), _rebuilt(db, tmp_path))


def test_an_older_export_only_adds_requests_and_stays_equal(base_db, tmp_path):
    db = _copy(base_db, tmp_path)
    newer = tmp_path / "newer.csv"
    demo_daily.daily_export(db, newer, new=200, changed=100, refused=0, hours=24, seed=1)
    older = tmp_path / "older.csv"
    demo_daily.daily_export(db, older, new=150, changed=100, refused=0, hours=12, seed=2)
    importer.import_files([newer], db, "eds")
    report = importer.import_files([older], db, "eds")  # describes an earlier moment than the database
    assert report.incremental and report.kept_newer > 0
    _assert_same(_tables(db), _rebuilt(db, tmp_path))


def test_a_large_share_of_requests_falls_back_to_a_full_build(base_db, tmp_path, monkeypatch):
    db = _copy(base_db, tmp_path)
    export = tmp_path / "day.csv"
    demo_daily.daily_export(db, export, new=300, changed=50, refused=0, hours=24, seed=3)
    monkeypatch.setattr(derived, "FULL_BUILD_SHARE", 0.001)
    report = importer.import_files([export], db, "eds")
    assert not report.incremental
    _assert_same(_tables(db), _rebuilt(db, tmp_path))


def test_an_incremental_check_still_refuses_a_duplicate_of_an_old_request(base_db, tmp_path):
    """The incremental check looks at the written requests with every stored row of their numbers."""
    db = _copy(base_db, tmp_path)
    with duckdb.connect(str(db)) as con:
        con.execute("create temp table changed_ids as select ticket_id from tickets limit 1")
        con.execute("insert into tickets select * from tickets where ticket_id in (select ticket_id from changed_ids)")
        assert ("duplicate_ticket_id", 1) in store.data_problems(con, changed_only=True)
        assert ("duplicate_ticket_id", 1) in store.data_problems(con)


def test_the_affected_window_follows_the_thresholds(base_db, tmp_path):
    """A request untouched by the import but crossing a threshold between the two moments is affected."""
    db = _copy(base_db, tmp_path)
    with duckdb.connect(str(db)) as con:
        as_of = con.execute("select max(as_of) from dataset").fetchone()[0]
        con.execute("create temp table changed_ids (ticket_id bigint)")
        derived._affected(con, as_of, as_of + dt.timedelta(days=1))
        affected = {r[0] for r in con.execute("select ticket_id from affected_ids").fetchall()}
        crossing = {r[0] for r in con.execute(
            "select ticket_id from ticket_facts where created_at + interval 30 day >= $a and created_at + interval 30 day < $b",
            {"a": as_of, "b": as_of + dt.timedelta(days=1)}).fetchall()}
    assert crossing and crossing <= affected


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(st.tuples(st.integers(0, 600), st.integers(0, 200), st.integers(0, 6),
                                st.sampled_from([0.0, 0.5, 6.0, 24.0, 72.0, 24 * 35.0]), st.integers(0, 10_000)),
                      min_size=1, max_size=3))
def test_property_incremental_equals_full_build(base_db, tmp_path_factory, steps):
    """Random chains of exports: sizes, refused rows, how far as_of moves (not at all, half an hour,
    past the longest ageing threshold), and the seed that picks the requests."""
    folder = tmp_path_factory.mktemp("prop")
    db = _copy(base_db, folder)
    for step, (new, changed, refused, hours, seed) in enumerate(steps):
        if hours == 0.0:
            changed = 0  # an export of the same moment cannot close requests after it
        export = folder / f"day{step}.csv"
        facts = demo_daily.daily_export(db, export, new=new, changed=changed, refused=refused, hours=hours, seed=seed)
        if facts["rows"] == 0:
            continue
        try:
            report = importer.import_files([export], db, "eds")
        except importer.ImportError_:
            assert facts["rows"] == facts["refused"]  # nothing loadable: refused whole, database unchanged
            continue
        assert report.rejected == facts["refused"]
    _assert_same(_tables(db), _rebuilt(db, folder))


def test_opening_a_file_trusts_the_recorded_check_only_for_the_same_requests_and_moment(base_db, tmp_path):
    """store.file_problems skips the scan of every request when the derived tables record that the
    checks passed for as many requests at the same moment; another count or moment is scanned."""
    db = _copy(base_db, tmp_path)
    with duckdb.connect(str(db), read_only=True) as con:
        checked, tickets = con.execute("select checked_tickets, (select count(*) from tickets) from derived_info").fetchone()
    assert checked == tickets
    assert store.file_problems(db) == []
    store.release(db)  # another tool writes it: this process lets go of the file first
    with duckdb.connect(str(db)) as con:  # another tool adds a request created after the data's moment
        con.execute("insert into tickets select * replace (ticket_id + 10000000 as ticket_id, "
                    "created_at + interval 100 year as created_at) from tickets limit 1")
    assert ("future:created", 1) in store.file_problems(db)
    store.release(db)
    with duckdb.connect(str(db)) as con:  # a file written before the record: scanned as before
        con.execute("create or replace table derived_info as select version, as_of from derived_info")
    assert ("future:created", 1) in store.file_problems(db)
