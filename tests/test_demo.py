"""The demo generator: deterministic, schema-valid, realistic, and its planted story is in the data."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from conftest import read_table

from oversight.ingest import demo
from oversight.ingest.demo import DemoSpec, generate
from oversight.workcalendar import day_table, is_working_day


def test_same_seed_same_data_other_seed_other_data():
    a = generate(DemoSpec(tickets=5_000, seed=3, organizations=200))
    b = generate(DemoSpec(tickets=5_000, seed=3, organizations=200))
    c = generate(DemoSpec(tickets=5_000, seed=4, organizations=200))
    pd.testing.assert_frame_equal(a.tickets, b.tickets)
    pd.testing.assert_frame_equal(a.organizations, b.organizations)
    pd.testing.assert_frame_equal(a.buildings, b.buildings)
    assert not a.tickets["created_at"].equals(c.tickets["created_at"])


def test_keys_unique_and_required_columns_present(frames):
    for table, key in [
        ("tickets", "ticket_id"),
        ("municipalities", "municipality_id"),
        ("organizations", "organization_id"),
        ("buildings", "building_id"),
        ("categories", "category_id"),
        ("events", "event_id"),
    ]:
        assert frames[table][key].is_unique, table
        assert frames[table][key].notna().all(), table
    t = frames["tickets"]
    for column in ["ticket_id", "source", "created_at", "status", "category_id", "municipality_id", "organization_id", "building_id", "returned_count"]:
        assert t[column].notna().all(), column
    assert frames["organizations"]["inn"].str.fullmatch(r"50\d{8}").all()
    assert frames["organizations"]["name"].is_unique
    assert frames["buildings"]["address"].is_unique


def test_foreign_keys_valid(frames):
    t, m = frames["tickets"], frames["municipalities"]
    assert t["municipality_id"].isin(m["municipality_id"]).all()
    assert t["organization_id"].isin(frames["organizations"]["organization_id"]).all()
    assert t["building_id"].isin(frames["buildings"]["building_id"]).all()
    assert t["category_id"].isin(frames["categories"]["category_id"]).all()
    assert frames["buildings"]["organization_id"].isin(frames["organizations"]["organization_id"]).all()
    assert m["territory_id"].isin(frames["territories"]["territory_id"]).all()
    assert m["successor_id"].dropna().isin(m["municipality_id"]).all()
    ev = frames["events"]
    assert ev["municipality_id"].dropna().isin(m["municipality_id"]).all()
    assert ev["organization_id"].dropna().isin(frames["organizations"]["organization_id"]).all()


def test_time_order_and_status(frames):
    t = frames["tickets"]
    closed = t["closed_at"].notna()
    assert (t.loc[closed, "closed_at"] >= t.loc[closed, "created_at"]).all()
    has_due = t["due_at"].notna()
    assert (t.loc[has_due, "due_at"] > t.loc[has_due, "created_at"]).all()
    assert (t["status"] == np.where(closed, "closed", "open")).all()
    assert (t["created_at"] < pd.Timestamp("2020-01-01")).all()
    assert (t.loc[closed, "closed_at"] < pd.Timestamp("2020-01-01")).all()
    assert t["rating"].dropna().between(1, 5).all()
    assert set(t["source"]) == {"eds", "dobrodel", "phone"}


def test_deadlines_follow_the_production_calendar(frames):
    t = frames["tickets"].merge(frames["categories"], on="category_id")
    by_days = t[t["normative_workdays"].notna()].sample(2_000, random_state=0)
    days, working, _ = day_table(dt.date(2018, 1, 1), dt.date(2020, 12, 31))
    workdays = set(days[working].astype(dt.date))
    for row in by_days.itertuples():
        due_day = row.due_at.date()
        assert due_day in workdays, row
        between = [d for d in pd.date_range(row.created_at.date() + dt.timedelta(days=1), due_day).date if d in workdays]
        assert len(between) == row.normative_workdays, row
        assert row.due_at.time() == row.created_at.time()
    by_hours = t[t["normative_hours"].notna()]
    delta = (by_hours["due_at"] - by_hours["created_at"]).dt.total_seconds() / 3600
    assert (delta == by_hours["normative_hours"]).all()
    assert t.loc[t["normative_hours"].isna() & t["normative_workdays"].isna(), "due_at"].isna().all()


def test_production_calendar_knows_transfers():
    assert is_working_day(dt.date(2018, 4, 28))  # a working Saturday (transfer)
    assert not is_working_day(dt.date(2018, 4, 30))  # the day off it paid for
    assert not is_working_day(dt.date(2019, 1, 7))
    assert not is_working_day(dt.date(2019, 5, 10))


def test_weekends_have_fewer_requests_handled_worse(frames):
    t = frames["tickets"]
    created_day = t["created_at"].dt.date
    workday = created_day.map(is_working_day)
    per_day = t.groupby(created_day).size()
    per_day_working = per_day[per_day.index.map(is_working_day)]
    per_day_off = per_day[~per_day.index.map(is_working_day)]
    assert per_day_off.mean() < 0.75 * per_day_working.mean()
    due = t["due_at"].notna()
    late = due & (t["closed_at"].isna() | (t["closed_at"] > t["due_at"]))
    assert late[due & ~workday].mean() > 1.3 * late[due & workday].mean()


def test_seasonality_heating_in_october_roofs_in_spring(frames):
    t = frames["tickets"]
    month = t["created_at"].dt.month
    heating = t["category_id"].isin([1, 2, 3, 4])
    assert heating[month == 10].mean() > 3 * heating[month == 7].mean()
    roof = t["category_id"] == 11
    assert roof[month.isin([3, 4])].mean() > 1.8 * roof[month.isin([8, 9])].mean()


def test_volume_follows_population(frames):
    t, m = frames["tickets"], frames["municipalities"]
    current = m[m["successor_id"].isna() & m["population"].notna()].set_index("municipality_id")
    roll = dict(zip(m["municipality_id"], m["successor_id"].fillna(m["municipality_id"]).astype(int)))
    counts = t["municipality_id"].map(roll).value_counts()
    joined = current.join(counts.rename("n"))
    assert joined["population"].astype(float).corr(joined["n"].astype(float)) > 0.95


def _story(db_path: str) -> dict:
    story = read_table(db_path, "demo_story")
    return dict(zip(story["key"], story["value"]))


def test_story_missed_per_day_halves_from_q4_2018_to_q1_2019(story_db):
    t = read_table(story_db, "tickets")
    missed = t["due_at"].notna() & (t["due_at"] < pd.Timestamp("2020-01-01")) & (t["closed_at"].isna() | (t["closed_at"] > t["due_at"]))
    q4 = (missed & t["due_at"].between("2018-10-01", "2019-01-01", inclusive="left")).sum() / 92
    q1 = (missed & t["due_at"].between("2019-01-01", "2019-04-01", inclusive="left")).sum() / 90
    assert 0.4 <= q1 / q4 <= 0.6, q1 / q4
    assert _story(story_db)["improvement_from"] == "2019-01-01"


def test_story_seminars_cut_missed_rate_a_further_30_percent(story_db):
    t = read_table(story_db, "tickets")
    b = read_table(story_db, "buildings")
    ev = read_table(story_db, "events")
    story = _story(story_db)
    treated_ids = [int(x) for x in story["seminar_municipality_ids"].split(",")]
    seminars = ev[(ev["kind"] == "seminar") & ev["municipality_id"].isin(treated_ids)]
    assert len(seminars) == 2 and seminars["event_date"].dt.year.eq(2019).all()
    assert seminars["event_date"].dt.month.between(3, 5).all()  # spring
    # Treated area: tickets of buildings in Serpukhov or in the former Krasnoarmeysk.
    area = b.set_index("building_id")
    area_id = area["former_municipality_id"].fillna(area["municipality_id"]).astype(int)
    t["area"] = t["building_id"].map(area_id)
    t = t[t["due_at"].notna() & (t["due_at"] >= "2019-01-01") & (t["due_at"] < "2019-12-01")]
    t["missed"] = t["closed_at"].isna() | (t["closed_at"] > t["due_at"])
    t["after"] = t["created_at"] >= pd.Timestamp(seminars["event_date"].max())
    t["treated"] = t["area"].isin(treated_ids)
    rate = t.groupby(["treated", "after"])["missed"].mean()
    ratio = (rate[(True, True)] / rate[(True, False)]) / (rate[(False, True)] / rate[(False, False)])
    assert 0.55 <= ratio <= 0.85, ratio


def test_story_krasnoarmeysk_recorded_under_itself_before_merger_and_pushkinsky_after(tmp_path):
    m = demo.reference.municipalities()
    kr = m[m["name_ru"] == demo.KRASNOARMEYSK].iloc[0]
    merged = pd.Timestamp(kr["merged_on"])
    spec = DemoSpec(tickets=60_000, seed=5, organizations=300, start=(merged - pd.Timedelta(days=120)).date(),
                    end=(merged + pd.Timedelta(days=120)).date(), as_of=(merged + pd.Timedelta(days=121)).to_pydatetime())
    data = generate(spec)
    t = data.tickets.merge(data.buildings[["building_id", "former_municipality_id"]], on="building_id")
    from_kr = t[t["former_municipality_id"] == kr["municipality_id"]]
    before = from_kr["created_at"] < merged
    assert before.sum() > 50 and (~before).sum() > 50
    assert (from_kr.loc[before, "municipality_id"] == kr["municipality_id"]).all()
    assert (from_kr.loc[~before, "municipality_id"] == kr["successor_id"]).all()
    # Nobody else is ever recorded under Krasnoarmeysk.
    assert (t.loc[t["municipality_id"] == kr["municipality_id"], "former_municipality_id"] == kr["municipality_id"]).all()


def test_story_poor_and_excellent_organisations_stand_out(story_db):
    t = read_table(story_db, "tickets")
    story = _story(story_db)
    poor = [int(x) for x in story["poor_organization_ids"].split(",")]
    good = [int(x) for x in story["excellent_organization_ids"].split(",")]
    due = t[t["due_at"].notna()].copy()
    due["missed"] = due["closed_at"].isna() | (due["closed_at"] > due["due_at"])
    overall = due["missed"].mean()
    by_org = due.groupby("organization_id")["missed"].mean()
    assert (by_org.loc[poor] > 2 * overall).all()
    assert (by_org.loc[good] < 0.5 * overall).all()


@pytest.mark.parametrize("year", [2018, 2019])
def test_new_year_holidays_are_quiet_and_late(frames, year):
    t = frames["tickets"]
    day = t["created_at"].dt.normalize()
    ny = day.between(pd.Timestamp(year, 1, 1), pd.Timestamp(year, 1, 8))
    feb = day.between(pd.Timestamp(year, 2, 4), pd.Timestamp(year, 2, 15))
    assert ny.sum() / 8 < 0.8 * feb.sum() / 12
    due = t["due_at"].notna()
    late = due & (t["closed_at"].isna() | (t["closed_at"] > t["due_at"]))
    assert late[ny & due].mean() > 1.5 * late[feb & due].mean()


# ---------------------------------------------------------------- built in parts (the 10M demo's memory)


def test_days_are_split_into_parts_of_at_most_the_limit_and_never_cut():
    per_day = np.array([3, 4, 0, 9, 2, 2, 1])
    parts = demo._chunks(per_day, 6)
    assert parts == [(0, 1), (1, 3), (3, 4), (4, 7)]  # the day of 9 is a part of its own
    assert [per_day[lo:hi].sum() for lo, hi in parts] == [3, 4, 9, 5]
    assert demo._chunks(per_day, 100) == [(0, 7)]


def test_data_written_in_parts_are_whole_valid_and_the_same_as_generated(tmp_path, monkeypatch):
    """A database built part by part (as the 10M demo is) holds exactly what `generate` gives with the
    same parts, passes every invariant, and its planted story still shows."""
    from oversight import store

    spec = DemoSpec(tickets=30_000, seed=5, organizations=200)
    monkeypatch.setattr(demo, "CHUNK_TICKETS", 4_000)
    parts = list(demo.generate_parts(spec, chunk_tickets=4_000))
    assert len(parts) > 5 and all(len(p["tickets"]) <= 4_000 for p in parts[:-1])
    whole = generate(spec, chunk_tickets=4_000)
    n = len(whole.tickets)
    assert whole.tickets["ticket_id"].tolist() == list(range(1, n + 1))
    assert int(whole.demo_story.set_index("key").at["tickets", "value"]) == n
    assert whole.ticket_returns["ticket_id"].isin(whole.tickets["ticket_id"]).all()
    assert (whole.tickets.groupby("ticket_id")["returned_count"].sum().sum()
            == len(whole.ticket_returns))  # every return for rework drawn, in its own part

    path = tmp_path / "parts.duckdb"
    demo.build_demo_database(path, spec)
    assert store.file_problems(str(path)) == []
    import duckdb

    with duckdb.connect(str(path), read_only=True) as con:
        written = con.execute("select * from tickets order by ticket_id").df()
        returns = con.execute("select * from ticket_returns order by ticket_id, returned_at").df()
    pd.testing.assert_frame_equal(written[whole.tickets.columns].reset_index(drop=True), whole.tickets,
                                  check_dtype=False)
    expected_returns = whole.ticket_returns.sort_values(["ticket_id", "returned_at"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(returns[expected_returns.columns], expected_returns, check_dtype=False)

    # The story across parts: the share of missed deadlines falls from Q4 2018 to Q1 2019.
    t = whole.tickets
    due = t["due_at"].notna()
    late = due & (t["closed_at"].isna() | (t["closed_at"] > t["due_at"]))
    q4 = t["created_at"].between("2018-10-01", "2018-12-31 23:59:59") & due
    q1 = t["created_at"].between("2019-01-01", "2019-03-31 23:59:59") & due
    assert late[q1].mean() < 0.7 * late[q4].mean()
    # Dobrodel's share grows over the whole period, not part by part.
    first, last = t["created_at"] < "2018-04-01", t["created_at"] >= "2019-10-01"
    assert (t.loc[last, "source"] == "dobrodel").mean() > (t.loc[first, "source"] == "dobrodel").mean() + 0.1
