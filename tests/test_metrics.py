"""Every KPI against an independent plain-pandas computation over the same rows."""

from __future__ import annotations

import datetime as dt
import math
import re

import numpy as np
import pandas as pd
import pytest
import reference_metrics as ref

from oversight.analysis import metrics
from oversight.filters import Filters

D = dt.date
PERIODS = [
    (D(2019, 1, 1), D(2019, 3, 31)),  # a quarter
    (D(2018, 12, 25), D(2019, 1, 10)),  # across New Year
    (D(2019, 12, 1), D(2020, 1, 31)),  # runs past as_of: end is cut at as_of
    (D(2018, 1, 1), D(2019, 12, 31)),  # everything
    (D(2019, 6, 12), D(2019, 6, 12)),  # one day (a holiday)
]


def _scope_cases(frames):
    t = frames["tickets"]
    m = frames["municipalities"]
    kr = int(m.loc[m["name_ru"] == "городской округ Красноармейск", "municipality_id"].iloc[0])
    pushkinsky = int(m.loc[m["municipality_id"] == kr, "successor_id"].iloc[0])
    busiest_org = int(t["organization_id"].value_counts().index[0])
    return [
        {},
        {"territory_id": 1},
        {"territory_id": 3},
        {"municipality_id": pushkinsky},  # includes Krasnoarmeysk's tickets, rolled up
        {"organization_id": busiest_org},
        {"category_id": 11},
        {"source": "dobrodel"},
        {"territory_id": 2, "category_id": 2, "source": "eds"},
        {"municipality_id": pushkinsky, "territory_id": 3},  # contradictory: empty
    ]


def assert_same(ours: dict, theirs: dict) -> None:
    assert set(ours) == set(theirs)
    for key, expected in theirs.items():
        got = ours[key]
        if expected is None:
            assert got is None, key
        elif isinstance(expected, int):
            assert got == expected, key
        else:
            assert got is not None and math.isclose(got, expected, rel_tol=1e-9, abs_tol=1e-9), (key, got, expected)


@pytest.mark.parametrize("period", PERIODS, ids=[f"{a}..{b}" for a, b in PERIODS])
def test_kpis_match_pandas(con, frames, as_of, period):
    for scope in _scope_cases(frames):
        f = Filters(start=period[0], end=period[1], **scope)
        ours = metrics.kpis(con, f, as_of)
        theirs = ref.kpis(ref.scoped(frames, **scope), period[0], period[1], as_of)
        assert_same(ours, theirs)


def test_scopes_are_not_trivial(con, frames, as_of):
    """Guard against a comparison that passes because everything is zero."""
    f = Filters(start=D(2019, 1, 1), end=D(2019, 3, 31))
    k = metrics.kpis(con, f, as_of)
    assert k["created"] > 1000 and k["missed"] > 10 and k["backlog_end"] > 10 and k["overdue_backlog_end"] > 0
    pushkinsky_scope = _scope_cases(frames)[3]
    t = ref.scoped(frames, **pushkinsky_scope)
    assert (t["municipality_id"] != pushkinsky_scope["municipality_id"]).any(), "roll-up case has no Krasnoarmeysk rows"


def test_tickets_without_deadline_count_in_flows_not_in_due(con, frames, as_of):
    f = Filters(start=D(2019, 1, 1), end=D(2019, 3, 31), category_id=38)  # advice: no deadline
    k = metrics.kpis(con, f, as_of)
    assert k["created"] > 0 and k["due"] == 0 and k["missed"] == 0 and k["on_time_rate"] is None


def test_on_time_rate_counts_open_overdue_as_missed(con, frames, as_of):
    """Counting only closed tickets hides the worst cases: open past-due tickets must count."""
    t = ref.scoped(frames)
    start, end = D(2019, 10, 1), D(2019, 12, 31)
    k = metrics.kpis(con, Filters(start=start, end=end), as_of)
    due = t["due_at"].between(pd.Timestamp(start), pd.Timestamp(end + dt.timedelta(days=1)), inclusive="left") & (
        t["due_at"] < pd.Timestamp(as_of)
    )
    open_missed = int((due & t["closed_at"].isna()).sum())
    assert open_missed > 0
    closed_only_rate = 1 - ((due & (t["closed_at"] > t["due_at"])).sum()) / (due & t["closed_at"].notna()).sum()
    assert k["on_time_rate"] < closed_only_rate


@pytest.mark.parametrize("bucket", ["day", "week", "month"])
def test_trend_matches_brute_force(con, frames, as_of, bucket):
    start, end = (D(2019, 11, 20), D(2020, 1, 15)) if bucket != "month" else (D(2019, 1, 15), D(2019, 12, 31))
    for scope in ({}, {"territory_id": 4}, {"category_id": 39}):
        f = Filters(start=start, end=end, **scope)
        trend = metrics.kpi_trend(con, f, as_of, bucket)
        t = ref.scoped(frames, **scope)
        assert not trend.empty
        stop = pd.Timestamp(end + dt.timedelta(days=1))
        step = {"day": pd.DateOffset(days=1), "week": pd.DateOffset(days=7), "month": pd.DateOffset(months=1)}[bucket]
        bucket_starts = list(trend["bucket"])
        ends = [min(b + step, stop, pd.Timestamp(as_of)) for b in bucket_starts]
        brute = ref.backlog_by_brute_force(t, ends)
        assert list(trend["backlog"]) == list(brute["backlog"])
        assert list(trend["overdue_backlog"]) == list(brute["overdue_backlog"])
        # Flows per bucket equal the KPI function over the bucket's days inside the period.
        for b, e, row in zip(bucket_starts, ends, trend.itertuples()):
            b0 = max(b, pd.Timestamp(start))
            theirs = ref.kpis(t, b0.date(), (e - pd.Timedelta(days=1)).date(), as_of)
            assert row.created == theirs["created"] and row.closed == theirs["closed"]
            assert row.due == theirs["due"] and row.missed == theirs["missed"]
        assert trend["bucket"].max() < pd.Timestamp(as_of), "no bucket after as_of"


def test_by_area_matches_pandas(con, frames, as_of):
    start, end = D(2019, 4, 1), D(2019, 6, 30)
    area = metrics.kpis_by_area(con, Filters(start=start, end=end), as_of)
    t = ref.scoped(frames)
    mun = area[area["level"] == "municipality"]
    for row in mun.sample(12, random_state=1).itertuples():
        theirs = ref.kpis(t[t["current_municipality_id"] == row.municipality_id], start, end, as_of)
        assert (row.created, row.due, row.missed, row.backlog_end) == (
            theirs["created"], theirs["due"], theirs["missed"], theirs["backlog_end"]
        )
        assert math.isclose(row.returned_share, theirs["returned_share"])
        population = frames["municipalities"].set_index("municipality_id").loc[row.municipality_id, "population"]
        if pd.notna(population):
            assert math.isclose(row.missed_per_10k, theirs["missed"] * 10000 / population)
    for row in area[area["level"] == "territory"].itertuples():
        theirs = ref.kpis(t[t["territory_id"] == row.territory_id], start, end, as_of)
        assert (row.created, row.closed, row.due, row.missed, row.overdue_backlog_end) == (
            theirs["created"], theirs["closed"], theirs["due"], theirs["missed"], theirs["overdue_backlog_end"]
        )
    # Krasnoarmeysk is rolled up: it never appears as its own row.
    kr = frames["municipalities"].query("name_ru == 'городской округ Красноармейск'")["municipality_id"].iloc[0]
    assert kr not in set(mun["municipality_id"])
    # Municipality rows add up to their direction.
    sums = mun.groupby("territory_id")[["created", "due", "missed"]].sum()
    terr = area[area["level"] == "territory"].set_index("territory_id")[["created", "due", "missed"]]
    pd.testing.assert_frame_equal(sums.sort_index(), terr.sort_index(), check_dtype=False, check_index_type=False)


def test_comparison_uses_previous_period_per_day(con, as_of):
    f = Filters(start=D(2019, 12, 1), end=D(2020, 1, 31))  # 62 days, only 31 before as_of
    comp = metrics.kpi_comparison(con, f, as_of).set_index("metric")
    now = metrics.kpis(con, f, as_of)
    prev = metrics.kpis(con, f.previous(), as_of)
    assert f.previous().end == D(2019, 11, 30) and f.previous().days == 62
    assert math.isclose(comp.loc["created", "per_day"], now["created"] / 31)
    assert math.isclose(comp.loc["created", "previous_per_day"], prev["created"] / 62)
    assert math.isclose(comp.loc["created", "change"], (now["created"] / 31) / (prev["created"] / 62) - 1)
    assert math.isclose(comp.loc["on_time_rate", "change"], now["on_time_rate"] - prev["on_time_rate"])
    assert comp.loc["missed", "worse"] == (comp.loc["missed", "change"] > 0)


def test_daily_counts_and_ticket_rows_give_the_same_answers(con, frames, as_of, monkeypatch):
    """The fast way (daily_counts + median index) and the row way agree for every scope."""
    periods = [(D(2019, 1, 1), D(2019, 3, 31)), (D(2019, 12, 10), D(2020, 1, 20))]
    for start, end in periods:
        for scope in _scope_cases(frames):
            if "organization_id" in scope:
                continue
            f = Filters(start=start, end=end, **scope)
            fast = (metrics.kpi_comparison(con, f, as_of), metrics.kpi_trend(con, f, as_of), metrics.kpis_by_area(con, f, as_of))
            with monkeypatch.context() as m:
                m.setattr(metrics, "uses_daily_counts", lambda *_a: False)
                rows = (metrics.kpi_comparison(con, f, as_of), metrics.kpi_trend(con, f, as_of), metrics.kpis_by_area(con, f, as_of))
            for a, b in zip(fast, rows):
                pd.testing.assert_frame_equal(a.reset_index(drop=True), b[a.columns].reset_index(drop=True), check_dtype=False)


def test_median_index_matches_sql_medians(con, frames, as_of, monkeypatch):
    f = Filters(start=D(2018, 3, 1), end=D(2019, 8, 31))
    for scope in ({}, {"territory_id": 2}, {"municipality_id": 41}, {"category_id": 2}, {"source": "phone"}):
        g = Filters(start=f.start, end=f.end, **scope)
        with_index = metrics.kpi_trend(con, g, as_of, "month")["median_resolution_hours"]
        with monkeypatch.context() as m:
            m.setattr(metrics, "_index_scope", lambda _f: None)
            with_sql = metrics.kpi_trend(con, g, as_of, "month")["median_resolution_hours"]
        assert with_index.notna().all()
        np.testing.assert_allclose(with_index.to_numpy(float), with_sql.to_numpy(float), rtol=1e-12)


@pytest.mark.parametrize(
    "period",
    [(D(2019, 12, 1), D(2019, 12, 20)), (D(2019, 12, 14), D(2019, 12, 31)), (D(2019, 12, 20), D(2019, 12, 20)), (D(2019, 11, 1), D(2019, 11, 30))],
    ids=str,
)
def test_as_of_in_the_middle_of_a_day(midday, period):
    """Real exports are taken mid-day: the day of as_of is cut at as_of on every path."""
    con, frames, as_of = midday
    for scope in ({}, {"territory_id": 2}, {"source": "eds"}, {"organization_id": int(frames["tickets"]["organization_id"].mode()[0])}):
        f = Filters(start=period[0], end=period[1], **scope)
        assert_same(metrics.kpis(con, f, as_of), ref.kpis(ref.scoped(frames, **scope), period[0], period[1], as_of))
        trend = metrics.kpi_trend(con, f, as_of, "day")
        t = ref.scoped(frames, **scope)
        ends = [min(b + pd.Timedelta(days=1), pd.Timestamp(period[1] + dt.timedelta(days=1)), pd.Timestamp(as_of)) for b in trend["bucket"]]
        brute = ref.backlog_by_brute_force(t, ends)
        assert list(trend["backlog"]) == list(brute["backlog"])
        assert list(trend["overdue_backlog"]) == list(brute["overdue_backlog"])
        assert trend["days"].iloc[-1] == pytest.approx(14 / 24) if period[1] >= D(2019, 12, 20) else True


def test_a_different_as_of_uses_the_rows_not_the_daily_table(midday):
    """daily_counts is built for the dataset's as_of; asking for another moment must not use it."""
    con, frames, as_of = midday
    earlier = dt.datetime(2019, 6, 15, 12, 0)
    f = Filters(start=D(2019, 6, 1), end=D(2019, 6, 30))
    assert not metrics.uses_daily_counts(con, f, earlier) and metrics.uses_daily_counts(con, f, as_of)
    assert_same(metrics.kpis(con, f, earlier), ref.kpis(ref.scoped(frames), f.start, f.end, earlier))


def test_data_breaking_invariants_is_refused(tmp_path):
    from oversight import store
    from oversight.ingest.demo import DemoSpec, generate

    data = generate(DemoSpec(tickets=2_000, seed=1, organizations=100))
    tables = {name: getattr(data, name) for name in data.__dataclass_fields__}
    bad = tables["tickets"].copy()
    bad.loc[0, "due_at"] = bad.loc[0, "created_at"] - pd.Timedelta(hours=1)
    bad.loc[1, "closed_at"] = pd.Timestamp("2020-02-01")
    tables["tickets"] = bad
    said = f"{store.problem_text('deadline_before_created', 'ru')}: 1; {store.problem_text('future:closed', 'ru')}: 1"
    with pytest.raises(store.DataProblem, match=re.escape(said)):
        store.write_database(tmp_path / "bad.duckdb", tables)
    assert not (tmp_path / "bad.duckdb").exists()
    assert not list(tmp_path.glob("*.tmp*"))


def test_area_rows_follow_the_filters(con, as_of):
    f = Filters(start=D(2019, 1, 1), end=D(2019, 3, 31), municipality_id=41)
    area = metrics.kpis_by_area(con, f, as_of)
    assert list(area["level"]) == ["municipality", "territory"]
    assert area["territory_id"].nunique() == 1
    f = Filters(start=D(2019, 1, 1), end=D(2019, 3, 31), territory_id=3)
    area = metrics.kpis_by_area(con, f, as_of)
    assert set(area["territory_id"]) == {3} and (area["level"] == "territory").sum() == 1
