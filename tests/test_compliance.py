"""Compliance (issue #9): the watchlist rule exactly, against plain pandas, with its edge cases; the
kinds of day from holidays.RU; deadlines by kind of day against pandas; the planted story; the CLI;
recording an event from the page."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys

import holidays
import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from oversight import store
from oversight.access import EVERYTHING
from oversight.analysis import compliance
from oversight.filters import Filters, default_filters
from oversight.i18n import t
from oversight.paths import ROOT
from tests.conftest import read_table
from tests.reference_metrics import scoped

RULE = compliance.Rule(k=2, m=4, target=0.92, min_volume=5)  # the small demo: ~5 deadlines per organisation-month


def _pandas_months(frames, as_of: dt.datetime, **scope) -> pd.DataFrame:
    """Per organisation and month of the deadline: due (before as_of) and missed, in pandas."""
    t = scoped(frames, **scope)
    t = t[t["due_at"].notna() & (t["due_at"] < pd.Timestamp(as_of)) & t["organization_id"].notna()].copy()
    t["missed"] = t["closed_at"].isna() | (t["closed_at"] > t["due_at"])
    t["month"] = t["due_at"].dt.to_period("M").dt.start_time.dt.date
    out = t.groupby(["organization_id", "month"]).agg(due=("ticket_id", "size"), missed=("missed", "sum")).reset_index()
    return out.astype({"organization_id": "int64", "due": "int64", "missed": "int64"})


def _pandas_watchlist(months_frame: pd.DataFrame, window: list[dt.date], rule: compliance.Rule) -> dict[int, int]:
    """The rule written out: months in the window with at least min_volume deadlines and an on-time
    rate below the target; listed if at least K such months."""
    w = months_frame[months_frame["month"].isin(window)]
    fails = w[(w["due"] >= rule.min_volume) & ((1 - w["missed"] / w["due"]) < rule.target)]
    counts = fails.groupby("organization_id").size()
    return {int(o): int(n) for o, n in counts[counts >= rule.k].items()}


def test_window_is_the_last_complete_months():
    assert compliance.window(dt.datetime(2020, 1, 1), 3) == [dt.date(2019, 10, 1), dt.date(2019, 11, 1), dt.date(2019, 12, 1)]
    # The month of as_of is incomplete and left out, even one minute before its end.
    assert compliance.window(dt.datetime(2019, 12, 31, 23, 59), 2) == [dt.date(2019, 10, 1), dt.date(2019, 11, 1)]
    assert compliance.window(dt.datetime(2019, 12, 1, 0, 0), 1) == [dt.date(2019, 11, 1)]


def test_watchlist_rule_against_pandas(con, frames, as_of):
    result = compliance.watchlist(con, default_filters(as_of), as_of, RULE)
    expected = _pandas_watchlist(_pandas_months(frames, as_of), compliance.window(as_of, RULE.m), RULE)
    got = dict(zip(result["list"]["organization_id"].astype(int), result["list"]["months_failed"].astype(int)))
    assert got == expected
    assert 5 < len(got) < len(frames["organizations"])  # the rule separates, it does not take all or none
    # The monthly record shown equals pandas' counts.
    months = _pandas_months(frames, as_of).set_index(["organization_id", "month"])
    for row in result["record"].sample(20, random_state=1).itertuples():
        assert (row.due, row.missed) == tuple(months.loc[(row.organization_id, row.month), ["due", "missed"]])
    # In the order to act on (#19): still failing in the last month first, then more failed months,
    # then the larger shortfall, then more open overdue requests; written out in pandas.
    listed = result["list"]
    window = compliance.window(as_of, RULE.m)
    last = months[months.index.get_level_values("month") == window[-1]].reset_index()
    failing = set(last.loc[(last["due"] >= RULE.min_volume) & (1 - last["missed"] / last["due"] < RULE.target),
                           "organization_id"].astype(int))
    assert set(listed.loc[listed["failing_now"], "organization_id"].astype(int)) == failing & set(got)
    expected_order = (listed.assign(now=listed["organization_id"].astype(int).isin(failing))
                      .sort_values(["now", "months_failed", "shortfall", "open_overdue", "organization_id"],
                                   ascending=[False, False, False, False, True])["organization_id"].tolist())
    assert listed["organization_id"].tolist() == expected_order
    assert 0 < listed["failing_now"].sum() < len(listed)  # the order is not decided by one key alone
    # The order only: the same organisations as the rule, whatever the order.
    assert set(listed["organization_id"].astype(int)) == set(expected)


def test_watchlist_in_a_direction_counts_only_its_requests(con, frames, as_of):
    f = Filters(as_of.date(), as_of.date(), territory_id=2)
    result = compliance.watchlist(con, f, as_of, RULE)
    expected = _pandas_watchlist(_pandas_months(frames, as_of, territory_id=2), compliance.window(as_of, RULE.m), RULE)
    assert dict(zip(result["list"]["organization_id"].astype(int), result["list"]["months_failed"].astype(int))) == expected


def test_incomplete_month_is_left_out(midday):
    con, frames, as_of = midday  # as_of 2019-12-20 14:00: December is incomplete
    result = compliance.watchlist(con, default_filters(as_of), as_of, RULE)
    assert result["months"][-1] == dt.date(2019, 11, 1)
    assert dt.date(2019, 12, 1) not in set(result["record"]["month"])
    expected = _pandas_watchlist(_pandas_months(frames, as_of), compliance.window(as_of, RULE.m), RULE)
    assert dict(zip(result["list"]["organization_id"].astype(int), result["list"]["months_failed"].astype(int))) == expected


def test_a_month_under_the_minimum_volume_is_neither_failed_nor_passed():
    rule = compliance.Rule(k=3, m=4, target=0.95, min_volume=30)
    months = [dt.date(2019, m, 1) for m in (9, 10, 11, 12)]
    data = pd.DataFrame({
        "organization_id": [1] * 4 + [2] * 4,
        "month": months * 2,
        # Organisation 1: three bad months, but one of them has 29 deadlines (all missed): 2 failures.
        # Organisation 2: three bad months with exactly the minimum volume: 3 failures.
        "due": [100, 100, 29, 100, 30, 30, 30, 100],
        "missed": [20, 20, 29, 0, 10, 10, 10, 0],
    })
    status = compliance.with_status(data, rule)
    assert status["status"].tolist() == ["fail", "fail", "small", "pass", "fail", "fail", "fail", "pass"]
    assert compliance.failed_months(status, months, rule).to_dict() == {2: 3}
    # And the small month does not count as passed either: with K=2 organisation 1 is listed.
    assert compliance.failed_months(status, months, compliance.Rule(k=2, m=4, min_volume=30)).to_dict() == {1: 2, 2: 3}


def test_time_on_the_list_and_open_overdue(con, frames, as_of):
    result = compliance.watchlist(con, default_filters(as_of), as_of, RULE)
    listed = result["list"].set_index("organization_id")
    months = _pandas_months(frames, as_of)
    org = int(listed.index[0])
    # Walk back window by window, as the rule would have been applied at the end of each month.
    runs, end = 0, compliance.last_complete_month(as_of)
    while True:
        window = [compliance._add_months(end, -i) for i in range(RULE.m - 1, -1, -1)]
        if org not in _pandas_watchlist(months, window, RULE):
            break
        runs, since, end = runs + 1, end, compliance._add_months(end, -1)
    assert listed.loc[org, "months_on_list"] == runs and listed.loc[org, "on_list_since"] == since
    t = scoped(frames, organization_id=org)
    moment = pd.Timestamp(as_of)
    open_overdue = ((t["created_at"] < moment) & (t["closed_at"].isna() | (t["closed_at"] >= moment)) & (t["due_at"] < moment)).sum()
    assert listed.loc[org, "open_overdue"] == open_overdue


@pytest.mark.parametrize("day, kind", [
    ("2019-05-09", "holiday"), ("2024-04-27", "working"), ("2019-05-02", "holiday"), ("2019-06-12", "holiday"),
    ("2019-06-15", "weekend"), ("2019-06-17", "working"), ("2019-01-03", "new_year"), ("2019-01-05", "new_year"),
    ("2020-01-08", "new_year"), ("2019-01-09", "working"), ("2019-11-04", "holiday"), ("2019-03-08", "holiday"),
])
def test_day_kinds_follow_the_production_calendar(day, kind):
    day = dt.date.fromisoformat(day)
    assert compliance.day_kinds(day, day)[day] == kind
    ru = holidays.RU(years=day.year)
    assert (kind == "working") == ru.is_working_day(day)


def test_deadlines_by_kind_of_day_against_pandas(con, frames, as_of):
    f = Filters(dt.date(2019, 1, 1), dt.date(2019, 12, 31))
    result = compliance.weekends(con, f, as_of, min_volume=10)
    t = scoped(frames)
    t = t[(t["due_at"] >= pd.Timestamp(f.start)) & (t["due_at"] < pd.Timestamp(dt.date(2020, 1, 1))) & (t["due_at"] < pd.Timestamp(as_of))].copy()
    ru = holidays.RU(years=[2019])
    day = t["due_at"].dt.date

    def kind(d: dt.date) -> str:  # written out from holidays.RU, not from the module
        if ru.is_working_day(d):
            return "working"
        if d.month == 1 and d.day <= 8:
            return "new_year"
        return "holiday" if (d in ru or d.weekday() < 5) else "weekend"

    t["kind"] = day.map({d: kind(d) for d in set(day)})
    t["missed"] = t["closed_at"].isna() | (t["closed_at"] > t["due_at"])
    expected = t.groupby(["territory_id", "kind"]).agg(due=("ticket_id", "size"), missed=("missed", "sum"))
    got = result["territory"].set_index(["territory_id", "day_kind"])[["due", "missed"]]
    pd.testing.assert_frame_equal(got.sort_index().astype("int64"), expected.sort_index().astype("int64"), check_names=False,
                                  check_index_type=False)
    assert result["region"]["due"].sum() == len(t)
    gap = result["gap"]
    assert np.allclose(gap["difference"], gap["missed_off"] / gap["due_off"] - gap["missed_working"] / gap["due_working"])
    assert gap["low"].is_monotonic_decreasing and (gap["low"] <= gap["difference"]).all() and (gap["difference"] <= gap["high"]).all()


def test_planted_story_shows(full_demo):
    con, as_of, facts = full_demo
    result = compliance.watchlist(con, default_filters(as_of), as_of)
    poor = set(map(int, facts["poor_organization_ids"].split(",")))
    assert poor <= set(result["list"]["organization_id"].astype(int))
    excellent = set(map(int, facts["excellent_organization_ids"].split(",")))
    assert not excellent & set(result["list"]["organization_id"].astype(int))
    # The inspected organisation's latest event is its own inspection or fine.
    listed = result["list"].set_index("organization_id")
    first_poor = int(facts["poor_organization_ids"].split(",")[0])
    assert listed.loc[first_poor, "event_kind"] in ("inspection", "fine")
    # Weekend and New Year weakness: worse than working days, New Year worst.
    region = compliance.weekends(con, Filters(dt.date(2019, 1, 1), dt.date(2019, 12, 31)), as_of)["region"].set_index("day_kind")["on_time_rate"]
    assert region["new_year"] < region["weekend"] < region["working"]
    assert region["holiday"] < region["working"]


def test_cli_watchlist_and_weekends(small_db, con, as_of):
    out = subprocess.run([sys.executable, "-m", "oversight", "watchlist", "--db", small_db, "--as-of", "2019-12-20",
                          "--k", "2", "--m", "4", "--target", "0.92", "--min-volume", "5", "--json"],
                         capture_output=True, text=True, check=True)
    printed = json.loads(out.stdout)
    at = dt.datetime(2019, 12, 20)
    result = compliance.watchlist(con, default_filters(at), at, RULE)
    assert printed["months"] == [m.isoformat() for m in result["months"]] and printed["months"][-1] == "2019-11-01"
    assert [o["organization_id"] for o in printed["organizations"]] == result["list"]["organization_id"].astype(int).tolist()
    assert all(len(o["months"]) <= 4 for o in printed["organizations"])
    out = subprocess.run([sys.executable, "-m", "oversight", "weekends", "--db", small_db, "--from", "2019-01-01",
                          "--to", "2019-12-31", "--json"], capture_output=True, text=True, check=True)
    printed = json.loads(out.stdout)
    assert {r["day_kind"] for r in printed["region"]} == set(compliance.DAY_KINDS)
    bad = subprocess.run([sys.executable, "-m", "oversight", "watchlist", "--db", small_db, "--k", "7", "--m", "6"],
                         capture_output=True, text=True)
    assert bad.returncode != 0 and "K must be between 1 and M" in bad.stderr


# ---------------------------------------------------------------- the page


def test_recording_an_inspection_from_the_watchlist(small_db, tmp_path, monkeypatch):
    from tests.test_app import DASHBOARD

    copy = tmp_path / "copy.duckdb"
    shutil.copy(small_db, copy)
    monkeypatch.setenv("OVERSIGHT_DB", str(copy))
    at = AppTest.from_file(DASHBOARD, default_timeout=120)
    at.query_params["k"], at.query_params["m"], at.query_params["minv"] = "2", "4", "5"
    at.query_params["target"] = "92"
    at.run()
    at.switch_page("app_pages/compliance.py").run()
    assert not at.exception, at.exception
    assert at.number_input(key="pg_k").value == 2
    box = next(s for s in at.selectbox if s.label == t("col.name", "ru"))
    organization = box.value  # the first organisation on the list, chosen by default
    next(s for s in at.selectbox if s.label == t("compare.col.kind", "ru")).set_value("fine")
    at.button[[b.label for b in at.button].index(t("compliance.record_button", "ru"))].click().run()
    assert not at.exception, at.exception
    events = read_table(str(copy), "events")
    added = events[events["kind"] == "fine"].sort_values("event_id").iloc[-1]
    assert added["title"] == t("compliance.default_title.fine", "ru")
    assert int(added["organization_id"]) == organization
    assert pd.Timestamp(added["event_date"]).date() == store.dataset_info(store.connect(copy, EVERYTHING))["as_of"].date()


def test_imported_city_data_use_their_country_calendar(tmp_path):
    from oversight.ingest import importer

    assert compliance.day_kinds(dt.date(2022, 7, 4), dt.date(2022, 7, 4), "US")[dt.date(2022, 7, 4)] == "holiday"
    assert compliance.day_kinds(dt.date(2022, 1, 3), dt.date(2022, 1, 3), "US")[dt.date(2022, 1, 3)] == "working"
    assert compliance.day_kinds(dt.date(2022, 1, 3), dt.date(2022, 1, 3), "RU")[dt.date(2022, 1, 3)] == "new_year"
    db = tmp_path / "boston.duckdb"
    importer.import_files([ROOT / "tests" / "fixtures" / "boston311-100.csv"], db, "boston311", dt.datetime(2022, 6, 1))
    con = store.connect(db, EVERYTHING)
    assert compliance.calendar_of(con) == "US"
    result = compliance.weekends(con, Filters(dt.date(2022, 1, 1), dt.date(2022, 5, 31)), dt.datetime(2022, 6, 1), 5)
    assert "new_year" not in set(result["region"]["day_kind"])
    assert result["region"]["due"].sum() == 89  # every deadline of the sample, each labelled once
