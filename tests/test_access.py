"""Access (#17): grants, the scope every query runs under, the audit log, the guarded writes, the
command line's --as-user. The browser side (real sign-in, two users at once, deep links, the
loopback rule) is in tests/test_browser_access.py."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import reference_metrics as ref

from oversight import access, guarded, store
from oversight.access import EVERYTHING, AccessDenied, Scope
from oversight.analysis import backlog, metrics
from oversight.filters import Filters, default_filters
from oversight.paths import ROOT

NORTH = 1  # «Север» in data/reference/territories.csv


@pytest.fixture
def access_file(tmp_path, monkeypatch):
    """A fresh grants and audit file for one test."""
    path = tmp_path / "access.duckdb"
    monkeypatch.setenv("OVERSIGHT_ACCESS_DB", str(path))
    return path


def north_scope() -> Scope:
    return Scope(territory_ids=frozenset({NORTH}), municipality_ids=frozenset())


# ---------------------------------------------------------------- grants and roles


def test_grants_resolve_to_roles_and_scope(access_file):
    access.add_grant(access.CLI, "North@Example.org ", "territorial_head", [NORTH])
    access.add_grant(access.CLI, "lead@example.org", "leadership")
    access.add_grant(access.CLI, "both@example.org", "territorial_head", [], [5, 7])
    access.add_grant(access.CLI, "both@example.org", "presenter")
    north = access.resolve("north@example.org")
    assert north.roles == {"territorial_head"} and north.scope == north_scope()
    assert north.can("read") and north.can("record_action") and not north.can("import") and not north.can("edit_events")
    assert access.resolve("lead@example.org").scope.is_everything
    assert access.resolve("both@example.org").scope.is_everything  # a region-wide role widens a grant
    nobody = access.resolve("stranger@example.org")
    assert not nobody.roles and nobody.scope.is_nothing and not nobody.reads_data
    admin_only = access.add_grant(access.CLI, "admin@example.org", "admin")
    assert admin_only["role"] == "admin" and not access.resolve("admin@example.org").reads_data


def test_a_second_grant_of_a_role_replaces_the_first_and_revoke_removes(access_file):
    access.add_grant(access.CLI, "h@example.org", "territorial_head", [1])
    access.add_grant(access.CLI, "h@example.org", "territorial_head", [2])
    assert access.resolve("h@example.org").scope.territory_ids == {2}
    assert access.revoke(access.CLI, "h@example.org", "territorial_head") == 1
    assert not access.resolve("h@example.org").roles


@pytest.mark.parametrize("role, territories, message", [
    ("territorial_head", [], "направления"),
    ("leadership", [1], "всю область"),
    ("boss", [], "неизвестная роль"),
])
def test_bad_grants_are_refused_with_a_reason(access_file, role, territories, message):
    with pytest.raises(ValueError, match=message):
        access.add_grant(access.CLI, "x@example.org", role, territories)


def test_only_an_admin_manages_grants_and_the_refusal_is_audited(access_file):
    access.add_grant(access.CLI, "lead@example.org", "leadership")
    lead = access.resolve("lead@example.org")
    with pytest.raises(AccessDenied):
        access.add_grant(lead, "me@example.org", "admin")
    with pytest.raises(AccessDenied):
        access.read_audit(lead)
    rows = access.audit_rows(user="lead@example.org", action="refused")
    assert len(rows) == 2 and set(rows["outcome"]) == {"refused"}


def test_grant_changes_are_audited_with_before_and_after(access_file):
    access.add_grant(access.CLI, "h@example.org", "territorial_head", [1])
    access.add_grant(access.CLI, "h@example.org", "territorial_head", [1, 3])
    access.revoke(access.CLI, "h@example.org")
    rows = access.audit_rows(action="grant_change").sort_values("audit_id")
    details = [json.loads(d) for d in rows["detail"]]
    assert details[0]["before"] == [] and details[0]["after"][0]["territory_ids"] == [1]
    assert details[1]["before"][0]["territory_ids"] == [1] and details[1]["after"][0]["territory_ids"] == [1, 3]
    assert details[2]["before"][0]["territory_ids"] == [1, 3] and details[2]["after"] == []
    assert set(rows["user_key"]) == {"cli"}


def test_no_code_path_changes_or_deletes_audit_rows():
    """The audit log is append-only: no module, query or page updates, deletes or drops it."""
    pattern = re.compile(r"(update\s+audit_log|delete\s+from\s+audit_log|drop\s+table[^;]*audit_log|truncate[^;]*audit_log"
                         r"|alter\s+table\s+audit_log)", re.IGNORECASE)
    files = [*ROOT.glob("oversight/**/*.py"), *ROOT.glob("app_pages/*.py"), *ROOT.glob("queries/*.sql"), ROOT / "dashboard.py"]
    offenders = [str(f) for f in files if pattern.search(f.read_text(encoding="utf-8"))]
    assert not offenders
    # And the one writer only inserts.
    source = (ROOT / "oversight" / "access.py").read_text(encoding="utf-8")
    assert source.count("into audit_log") == 1


@pytest.mark.parametrize("ip, allowed", [
    (None, True), ("127.0.0.1", True), ("127.0.0.5", True), ("::1", True), ("::ffff:127.0.0.1", True),
    ("10.0.0.7", False), ("192.168.1.20", False), ("203.0.113.9", False), ("2001:db8::1", False), ("garbage", False),
])
def test_single_user_mode_serves_loopback_clients_only(ip, allowed):
    assert access.loopback_client(ip) is allowed


# ---------------------------------------------------------------- the scope every query runs under


def test_a_query_without_a_scope_is_refused(small_db):
    raw = store.connect_raw(small_db)
    with pytest.raises(TypeError, match="scope"):
        store.run(raw, "filter_territories")
    with pytest.raises(TypeError):
        store.connect(small_db)  # the scope is a required argument
    with pytest.raises(PermissionError):
        store.connect(small_db, north_scope()).execute("select count(*) from tickets")


def test_every_table_shows_only_the_scope(small_db, frames):
    con = store.connect(small_db, north_scope())
    roll = ref.current_municipality(frames["municipalities"])
    territory = dict(zip(frames["municipalities"]["municipality_id"], frames["municipalities"]["territory_id"]))
    north_muns = {m for m, cur in roll.items() if territory[cur] == NORTH}
    tickets = store.run(con, "filter_territories")
    assert set(tickets["territory_id"]) == {NORTH}
    muns = store.run(con, "filter_municipalities")
    assert set(muns["municipality_id"]) <= north_muns and len(muns) > 3
    with store.cursor(con) as cursor:  # the kind of cursor store.run uses
        seen = {r[0] for r in cursor.execute("select distinct municipality_id from tickets").fetchall()}
        assert seen and seen <= north_muns
        facts = {r[0] for r in cursor.execute("select distinct territory_id from ticket_facts").fetchall()}
        assert facts == {NORTH}
        for table in ("daily_counts", "ageing_counts", "org_daily_counts", "ticket_facts_by_org"):
            assert {r[0] for r in cursor.execute(f"select distinct territory_id from {table}").fetchall()} == {NORTH}  # noqa: S608
        assert cursor.execute("select count(*) from demo_story").fetchone()[0] == 0
        expected_tickets = frames["tickets"]["municipality_id"].map(roll).map(territory).eq(NORTH).sum()
        assert cursor.execute("select count(*) from tickets").fetchone()[0] == expected_tickets


def test_a_scoped_users_kpis_equal_an_independent_computation_over_his_rows(small_db, frames, as_of):
    con = store.connect(small_db, north_scope())
    f = default_filters(as_of)
    expected = ref.kpis(ref.scoped(frames, territory_id=NORTH), f.start, f.end, as_of)
    got = metrics.kpis(con, f, as_of)
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-9, abs=1e-9), key


def test_filters_and_urls_only_narrow(small_db, frames, as_of):
    """Asking for another direction or its municipality under the «Север» scope yields nothing."""
    con = store.connect(small_db, north_scope())
    f = default_filters(as_of)
    south_mun = int(frames["municipalities"].query("territory_id != @NORTH and successor_id.isna()")["municipality_id"].iloc[0])
    for other in (Filters(start=f.start, end=f.end, territory_id=2), Filters(start=f.start, end=f.end, municipality_id=south_mun)):
        got = metrics.kpis(con, other, as_of)
        assert got["created"] == 0 and got["due"] == 0 and got["backlog_end"] == 0
    south_org = int(frames["organizations"].merge(frames["municipalities"], on="municipality_id")
                    .query("territory_id != @NORTH")["organization_id"].iloc[0])
    got = metrics.kpis(con, Filters(start=f.start, end=f.end, organization_id=south_org), as_of)
    north_rows = ref.scoped(frames, territory_id=NORTH, organization_id=south_org)
    assert got["created"] == ref.kpis(north_rows, f.start, f.end, as_of)["created"]  # only its work in the north


def test_a_municipality_scope_counts_the_same_as_its_municipalities(small_db, frames, as_of):
    """A scope of two municipalities (a direction in part): every count equals the sum of the same
    counts asked for each municipality region-wide, the ageing of one category included (it cannot
    come from the per-direction table and is counted from the rows)."""
    muns = frames["municipalities"].query("territory_id == @NORTH and successor_id.isna()")["municipality_id"].tolist()[:2]
    scope = Scope(territory_ids=frozenset(), municipality_ids=frozenset(muns))
    con = store.connect(small_db, scope)
    full = store.connect(small_db, EVERYTHING)
    f = default_filters(as_of)
    expected = ref.kpis(pd.concat([ref.scoped(frames, municipality_id=m) for m in muns]), f.start, f.end, as_of)
    got = metrics.kpis(con, f, as_of)
    for key in ("created", "closed", "backlog_end", "overdue_backlog_end", "due", "missed"):
        assert got[key] == expected[key], key
    in_scope = frames["tickets"][frames["tickets"]["municipality_id"].isin(muns)]
    category = int(in_scope["category_id"].value_counts().index[0])
    f = Filters(start=dt.date(2019, 1, 1), end=dt.date(2019, 12, 31))
    scoped_ageing = backlog.ageing(con, Filters(start=f.start, end=f.end, category_id=category), as_of, "month")
    parts = [backlog.ageing(full, Filters(start=f.start, end=f.end, category_id=category, municipality_id=m), as_of, "month")
             for m in muns]
    summed = pd.concat(parts).groupby(["date", "band"])["count"].sum()
    assert scoped_ageing.groupby(["date", "band"])["count"].sum().to_dict() == summed.to_dict()
    assert summed.sum() > 0


def test_medians_of_a_scope_come_from_its_own_rows(small_db, frames, as_of):
    con = store.connect(small_db, north_scope())
    metrics.prepare_median_index(con)  # the index is per scope: never the region's
    f = default_filters(as_of)
    expected = ref.kpis(ref.scoped(frames, territory_id=NORTH), f.start, f.end, as_of)["median_resolution_hours"]
    assert metrics.kpis(con, f, as_of)["median_resolution_hours"] == pytest.approx(expected)


# ---------------------------------------------------------------- guarded writes


@pytest.fixture
def db_copy(small_db, tmp_path):
    import shutil

    path = tmp_path / "copy.duckdb"
    shutil.copy(small_db, path)
    return str(path)


def test_only_a_data_officer_imports_and_the_import_is_audited(db_copy, access_file, tmp_path):
    access.add_grant(access.CLI, "north@example.org", "territorial_head", [NORTH])
    access.add_grant(access.CLI, "data@example.org", "data_officer")
    export = ROOT / "tests" / "fixtures" / "boston311-100.csv"
    north = access.resolve("north@example.org")
    with pytest.raises(AccessDenied):
        guarded.import_files(north, [export], db_copy, "boston311", None, lambda *a: None, [export.name])
    refused = access.audit_rows(user="north@example.org", action="refused")
    assert len(refused) == 1 and "boston311-100.csv" in refused["target"].iloc[0]
    report = guarded.import_files(access.resolve("data@example.org"), [export], db_copy, "boston311", None,
                                  lambda *a: None, [export.name])
    row = access.audit_rows(action="import").iloc[0]
    detail = json.loads(row["detail"])
    import hashlib

    assert row["user_key"] == "data@example.org"
    assert detail["files"][0]["sha256"] == hashlib.sha256(export.read_bytes()).hexdigest()
    assert detail["files"][0]["size"] == export.stat().st_size
    assert detail["counts"]["rows_read"] == report.rows_read and detail["counts"]["loaded"] == report.loaded


def _event(day: str, kind: str, org: int | None, mun: int | None = None) -> pd.DataFrame:
    return pd.DataFrame([{"event_id": pd.NA, "event_date": pd.Timestamp(day), "kind": kind, "title": "проверка",
                          "municipality_id": mun, "organization_id": org}]).astype(
        {"event_id": "Int64", "municipality_id": "Int64", "organization_id": "Int64"})


def test_a_territorial_head_records_actions_in_scope_only_and_keeps_the_rest_of_the_register(db_copy, access_file, frames):
    access.add_grant(access.CLI, "north@example.org", "territorial_head", [NORTH])
    north = access.resolve("north@example.org")
    before = guarded.full_register(db_copy)
    orgs = store.run(store.connect(db_copy, north.scope), "filter_organizations")["organization_id"]
    inside = int(orgs.iloc[0])
    outside = int(frames["organizations"].loc[~frames["organizations"]["organization_id"].isin(orgs), "organization_id"].iloc[0])
    with pytest.raises(AccessDenied):
        guarded.add_events(north, db_copy, _event("2019-12-01", "inspection", outside), action="record_action")
    with pytest.raises(AccessDenied):
        guarded.add_events(north, db_copy, _event("2019-12-01", "seminar", None, 1), action="edit_events")
    after = guarded.add_events(north, db_copy, _event("2019-12-02", "inspection", inside), action="record_action")
    assert len(after) == len(before) + 1
    stored = guarded.full_register(db_copy)
    assert len(stored) == len(before) + 1  # every other direction's event is still there
    assert set(before["event_id"]) < set(stored["event_id"])
    change = access.audit_rows(action="events_change").iloc[0]
    detail = json.loads(change["detail"])
    assert detail["before"] == [] and detail["after"][0]["organization_id"] == inside
    assert change["user_key"] == "north@example.org"


def test_replacing_the_register_is_a_data_officers_and_audited_before_and_after(db_copy, access_file):
    access.add_grant(access.CLI, "data@example.org", "data_officer")
    access.add_grant(access.CLI, "lead@example.org", "leadership")
    register = guarded.full_register(db_copy)
    edited = register.iloc[1:].copy()
    edited.loc[edited.index[0], "title"] = "новое название"
    with pytest.raises(AccessDenied):
        guarded.replace_events(access.resolve("lead@example.org"), db_copy, edited)
    guarded.replace_events(access.resolve("data@example.org"), db_copy, edited)
    detail = json.loads(access.audit_rows(action="events_change").iloc[0]["detail"])
    before_ids = {r["event_id"] for r in detail["before"]}
    assert int(register["event_id"].iloc[0]) in before_ids  # the deleted row, as it was
    assert any(r["title"] == "новое название" for r in detail["after"])


def test_downloads_with_residents_texts_are_audited(access_file):
    who = access.Principal(user="north@example.org", roles=frozenset({"territorial_head"}), scope=north_scope())
    build = guarded.download(who, "requests.xlsx", lambda: b"xlsx", texts=True)
    assert access.audit_rows(action="download_texts").empty  # nothing until the user clicks
    assert build() == b"xlsx"
    row = access.audit_rows(action="download_texts").iloc[0]
    assert row["user_key"] == "north@example.org" and row["target"] == "requests.xlsx"


# ---------------------------------------------------------------- the command line


def _cli(*args, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "oversight", *args], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=300)


@pytest.fixture
def cli_env(access_file, small_db, monkeypatch):
    import os

    monkeypatch.setenv("OVERSIGHT_DB", small_db)
    return {**os.environ}


def test_users_commands_add_list_revoke(cli_env):
    added = _cli("users", "add", "North@example.org", "--role", "territorial_head", "--territory", "1", env=cli_env)
    assert added.returncode == 0, added.stderr
    _cli("users", "add", "admin@example.org", "--role", "admin", env=cli_env)
    listed = json.loads(_cli("users", "list", "--json", env=cli_env).stdout)
    assert {"user": "north@example.org", "role": "territorial_head", "territory_ids": [1], "municipality_ids": []}.items() <= listed[1].items() \
        or any(r["user"] == "north@example.org" and r["territory_ids"] == [1] for r in listed)
    bad = _cli("users", "add", "x@example.org", "--role", "territorial_head", env=cli_env)
    assert bad.returncode != 0 and "направления" in bad.stderr
    assert _cli("users", "revoke", "north@example.org", env=cli_env).returncode == 0
    assert not any(r["user"] == "north@example.org" for r in json.loads(_cli("users", "list", "--json", env=cli_env).stdout))


def test_as_user_runs_a_command_under_the_users_grants(cli_env, small_db, frames, as_of):
    _cli("users", "add", "north@example.org", "--role", "territorial_head", "--territory", "1", env=cli_env)
    f = default_filters(as_of)
    out = _cli("--as-user", "north@example.org", "kpis", "--db", small_db, "--from", str(f.start), "--to", str(f.end),
               "--json", env=cli_env)
    assert out.returncode == 0, out.stderr
    expected = ref.kpis(ref.scoped(frames, territory_id=NORTH), f.start, f.end, as_of)
    got = json.loads(out.stdout)
    assert got["created"] == expected["created"] and got["missed"] == expected["missed"]
    south_org = int(frames["organizations"].merge(frames["municipalities"], on="municipality_id")
                    .query("territory_id == 3")["organization_id"].iloc[0])
    refused = _cli("--as-user", "north@example.org", "drill", "--db", small_db, "--level", "building", "--parent",
                   str(south_org), "--from", str(f.start), "--to", str(f.end), env=cli_env)
    if refused.returncode == 0:  # the organisation also works in the north: then try a direction
        refused = _cli("--as-user", "north@example.org", "kpis", "--db", small_db, "--from", str(f.start), "--to",
                       str(f.end), "--territory", "3", env=cli_env)
    assert refused.returncode == 3, refused.stderr
    assert "нет доступа" in refused.stderr
    audit = json.loads(_cli("audit", "--action", "refused", "--json", env=cli_env).stdout)
    assert audit and audit[0]["user_key"] == "north@example.org"
    nobody = _cli("--as-user", "nobody@example.org", "kpis", "--db", small_db, "--from", str(f.start), "--to",
                  str(f.end), env=cli_env)
    assert nobody.returncode == 3
    importing = _cli("--as-user", "north@example.org", "import", str(ROOT / "tests/fixtures/boston311-100.csv"),
                     "--db", str(Path(small_db).with_name("never.duckdb")), env=cli_env)
    assert importing.returncode == 3 and not Path(small_db).with_name("never.duckdb").exists()


def test_as_of_today_is_moscow_time():
    assert abs((access.now_msk() - (dt.datetime.utcnow() + dt.timedelta(hours=3))).total_seconds()) < 5


def test_a_scope_is_named_by_its_whole_directions_then_the_other_municipalities(small_db, frames):
    from oversight.output import presentation

    assert presentation.scope_label(store.connect(small_db, north_scope()), "ru") == "Север"
    municipalities = frames["municipalities"].query("territory_id == 3 and successor_id.isna()").sort_values("name_ru")
    one = int(municipalities["municipality_id"].iloc[0])
    scope = Scope(territory_ids=frozenset({NORTH}), municipality_ids=frozenset({one}))
    assert presentation.scope_label(store.connect(small_db, scope), "ru") == f"Север, {municipalities['name_ru'].iloc[0]}"


def test_one_sign_in_row_per_actual_sign_in(access_file):
    assert access.record_sign_in("North@example.org", "sub=north iat=1700000000")
    assert not access.record_sign_in("north@example.org", "sub=north iat=1700000000")  # another tab, a reload
    assert access.record_sign_in("north@example.org", "sub=north iat=1700003600")  # signed in again
    assert len(access.audit_rows(action="sign_in")) == 2


def test_benchmarks_are_the_regions_and_directions_totals_only(small_db, frames, as_of):
    """A head's benchmarks: each direction's and the region's totals, equal to pandas over all rows,
    and nothing in them names a place below a direction."""
    con = store.connect(small_db, north_scope())
    f = Filters(start=dt.date(2019, 1, 1), end=dt.date(2019, 12, 31), municipality_id=5)  # a place: not applied
    table = metrics.benchmarks(con, f, as_of)
    assert set(table["level"]) == {"region", "territory"} and len(table) == 5
    assert not {"municipality_id", "organization_id", "building_id", "ticket_id"} & set(table.columns)
    region = ref.kpis(ref.scoped(frames), f.start, f.end, as_of)
    row = table[table["level"] == "region"].iloc[0]
    assert (row["due"], row["missed"], row["created"]) == (region["due"], region["missed"], region["created"])
    assert row["on_time_rate"] == pytest.approx(region["on_time_rate"])
    for territory in (1, 2, 3, 4):
        expected = ref.kpis(ref.scoped(frames, territory_id=territory), f.start, f.end, as_of)
        got = table[table["territory_id"] == territory].iloc[0]
        assert (got["due"], got["missed"]) == (expected["due"], expected["missed"]), territory


def test_an_organisation_based_elsewhere_that_works_in_the_scope_is_shown_without_its_home(db_copy, frames):
    """An organisation of «Юг» that serves a building of «Север»: the head sees it (it works in his
    direction) but not where it is based, and every ticket of his direction has its organisation."""
    import duckdb

    municipalities = frames["municipalities"]
    south_org = int(frames["organizations"].merge(municipalities, on="municipality_id")
                    .query("territory_id == 3")["organization_id"].iloc[0])
    north_building = int(frames["buildings"].merge(municipalities, on="municipality_id")
                         .query("territory_id == @NORTH")["building_id"].iloc[0])
    with duckdb.connect(db_copy) as c:
        c.execute("update buildings set organization_id = $o where building_id = $b", {"o": south_org, "b": north_building})
        c.execute("update tickets set organization_id = $o where building_id = $b", {"o": south_org, "b": north_building})
        store.build_derived(c)
    con = store.connect(db_copy, north_scope())
    assert south_org in set(store.run(con, "filter_organizations")["organization_id"])
    with store.cursor(con) as cursor:
        home = cursor.execute("select municipality_id from organizations where organization_id = $o", {"o": south_org}).fetchone()
        assert home == (None,)
        orphans = cursor.execute("select count(*) from ticket_facts where organization_id is not null "
                                 "and organization_id not in (select organization_id from organizations)").fetchone()[0]
        assert orphans == 0


def test_a_recorded_action_is_a_measure_about_an_organisation_in_scope(db_copy, access_file):
    access.add_grant(access.CLI, "north@example.org", "territorial_head", [NORTH])
    north = access.resolve("north@example.org")
    inside = int(store.run(store.connect(db_copy, north.scope), "filter_organizations")["organization_id"].iloc[0])
    south_mun = int(store.run(store.connect(db_copy, EVERYTHING), "filter_municipalities").query("territory_id == 3")["municipality_id"].iloc[0])
    with pytest.raises(AccessDenied):
        guarded.add_events(north, db_copy, _event("2019-12-02", "seminar", inside), action="record_action")
    with pytest.raises(AccessDenied):
        guarded.add_events(north, db_copy, _event("2019-12-02", "fine", inside, south_mun), action="record_action")


def test_as_user_refuses_an_empty_user_and_commands_that_replace_data(cli_env, small_db, tmp_path):
    _cli("users", "add", "north@example.org", "--role", "territorial_head", "--territory", "1", env=cli_env)
    empty = _cli("--as-user", "", "kpis", "--db", small_db, "--from", "2019-01-01", "--to", "2019-03-31", env=cli_env)
    assert empty.returncode == 3, empty.stderr
    demo = _cli("--as-user", "north@example.org", "demo", "--db", str(tmp_path / "x.duckdb"), "--tickets", "1000", env=cli_env)
    assert demo.returncode == 3 and not (tmp_path / "x.duckdb").exists()
