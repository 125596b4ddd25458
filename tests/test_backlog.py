"""The Backlog page's data against brute-force pandas counts on the seeded databases."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys

import pandas as pd
import pytest
import reference_metrics as ref

from oversight.access import EVERYTHING
from oversight.analysis import backlog, metrics
from oversight.filters import Filters
from oversight.paths import ROOT

D = dt.date
STEP = {"day": pd.DateOffset(days=1), "week": pd.DateOffset(days=7), "month": pd.DateOffset(months=1)}


def _ends(dates, freq, f: Filters, as_of):
    stop = pd.Timestamp(f.end + dt.timedelta(days=1))
    return [min(d + STEP[freq], stop, pd.Timestamp(as_of)) for d in dates]


def _scopes(frames):
    """One scope for each way the data are read: ageing_counts, the per-category table, the rows."""
    org = int(frames["tickets"]["organization_id"].value_counts().index[3])
    return [{}, {"territory_id": 2}, {"category_id": 38}, {"category_id": 2, "territory_id": 4},
            {"source": "phone", "municipality_id": 41}, {"category_id": 5, "source": "eds"},
            {"category_id": 2, "municipality_id": 41}, {"organization_id": org}]


@pytest.mark.parametrize("freq", backlog.FREQS)
def test_series_is_the_brute_force_count(con, frames, as_of, freq):
    start, end = (D(2019, 12, 1), D(2020, 1, 31)) if freq == "day" else (D(2019, 3, 10), D(2020, 2, 15))
    for scope in _scopes(frames):
        f = Filters(start=start, end=end, **scope)
        s = backlog.series(con, f, as_of, freq)
        t = ref.scoped(frames, **scope)
        brute = ref.backlog_by_brute_force(t, _ends(s["date"], freq, f, as_of))
        assert list(s["backlog"]) == list(brute["backlog"]), scope
        assert list(s["overdue_backlog"]) == list(brute["overdue_backlog"]), scope
        assert list(s.columns[:5]) == ["date", "backlog", "overdue_backlog", "created", "closed"]
        before = ref.backlog_by_brute_force(t, [pd.Timestamp(start)])
        assert backlog.start_stock(s) == {"backlog": before["backlog"][0], "overdue_backlog": before["overdue_backlog"][0]}
    # Tickets still open at as_of are in the last point; tickets without a deadline never overdue.
    last = backlog.series(con, Filters(start=D(2019, 12, 1), end=D(2019, 12, 31), category_id=38), as_of, "week").iloc[-1]
    assert last["backlog"] > 0 and last["overdue_backlog"] == 0


@pytest.mark.parametrize("freq", ["week", "month"])
def test_ageing_bands_are_the_brute_force_count(con, frames, as_of, freq):
    for scope in _scopes(frames):
        f = Filters(start=D(2019, 9, 1), end=D(2019, 12, 31), **scope)
        ageing = backlog.ageing(con, f, as_of, freq)
        wide = ageing.pivot(index="date", columns="band", values="count")
        t = ref.scoped(frames, **scope)
        for date, end in zip(wide.index, _ends(wide.index, freq, f, as_of)):
            expected = ref.ageing_by_brute_force(t, end)
            assert wide.loc[date].to_dict() == expected, (scope, date)
        assert (wide[list(backlog.AGE_BANDS)].sum(axis=1) == wide[list(backlog.OVERDUE_BANDS)].sum(axis=1)).all()


def test_ageing_with_as_of_in_the_middle_of_a_day(midday):
    con, frames, as_of = midday
    f = Filters(start=D(2019, 12, 1), end=D(2019, 12, 31))
    wide = backlog.ageing(con, f, as_of, "day").pivot(index="date", columns="band", values="count")
    assert wide.index.max() == pd.Timestamp(2019, 12, 20)
    assert wide.iloc[-1].to_dict() == ref.ageing_by_brute_force(ref.scoped(frames), pd.Timestamp(as_of))


@pytest.mark.parametrize("level", backlog.LEVELS)
def test_areas_add_up_to_the_scope(con, frames, as_of, level, monkeypatch):
    f = Filters(start=D(2019, 1, 1), end=D(2019, 6, 30))
    areas = backlog.by_area(con, f, as_of, "month", level)
    total = areas.groupby("date")[["created", "closed", "backlog", "overdue_backlog"]].sum().reset_index()
    s = backlog.series(con, f, as_of, "month")
    pd.testing.assert_frame_equal(total, s[total.columns], check_dtype=False)
    growth = areas.drop_duplicates("area_id")["growth"].tolist()
    assert growth == sorted(growth, reverse=True)
    assert areas["area_id"].nunique() == (4 if level == "territory" else 60)
    with monkeypatch.context() as m:
        m.setattr(metrics, "uses_daily_counts", lambda *_a: False)
        rows = backlog.by_area(con, f, as_of, "month", level)
    pd.testing.assert_frame_equal(areas, rows, check_dtype=False)


def test_events_follow_the_scope(con, frames, as_of):
    m = frames["municipalities"]
    serpukhov = int(m.loc[m["name_ru"] == "городской округ Серпухов", "municipality_id"].iloc[0])
    year = Filters(start=D(2018, 1, 1), end=D(2019, 12, 31))
    everything = backlog.events(con, year, as_of)
    assert len(everything) == len(frames["events"])
    there = backlog.events(con, Filters(start=year.start, end=year.end, municipality_id=serpukhov), as_of)
    assert "seminar" in set(there["kind"]) and there["title"].str.contains("Серпухов").any()
    assert not there["title"].str.contains("Красноармейск").any()
    pushkinsky = int(m.loc[m["name_ru"] == "Пушкинский городской округ", "municipality_id"].iloc[0])
    rolled = backlog.events(con, Filters(start=year.start, end=year.end, municipality_id=pushkinsky), as_of)
    assert rolled["title"].str.contains("Красноармейск").any()  # Krasnoarmeysk rolls up to Pushkinsky okrug
    spring = backlog.events(con, Filters(start=D(2019, 3, 1), end=D(2019, 3, 31)), as_of)
    assert list(spring["event_date"].dt.date) == [D(2019, 3, 14)]


def test_comparisons(con, as_of):
    f = Filters(start=D(2019, 1, 1), end=D(2019, 6, 30), territory_id=3)
    region = backlog.comparison(con, f, as_of, "month", "region")
    assert list(region["backlog"]) == list(backlog.series(con, Filters(start=f.start, end=f.end), as_of, "month")["backlog"])
    earlier = backlog.comparison(con, f, as_of, "month", "year")
    direct = backlog.series(con, Filters(start=D(2018, 1, 1), end=D(2018, 6, 30), territory_id=3), as_of, "month")
    assert list(earlier["backlog"]) == list(direct["backlog"])
    assert earlier["date"].iloc[0] == pd.Timestamp(2019, 1, 1)
    other = backlog.comparison(con, f, as_of, "month", "municipality:41")
    assert list(other["backlog"]) == list(backlog.series(con, Filters(start=f.start, end=f.end, municipality_id=41), as_of, "month")["backlog"])
    assert backlog.comparison(con, f, as_of, "month", "none") is None
    with pytest.raises(ValueError):
        backlog.comparison(con, f, as_of, "month", "territory:1; drop table tickets")


def test_summary_in_plain_russian(con, as_of):
    f = Filters(start=D(2018, 10, 1), end=D(2019, 3, 31))
    s = backlog.series(con, f, as_of, "week")
    start = backlog.start_stock(s)
    before = ref.backlog_by_brute_force(ref.scoped({"tickets": con.execute("select * from tickets").df(),
                                                    "municipalities": con.execute("select * from municipalities").df()}),
                                        [pd.Timestamp(2018, 10, 1)])
    assert start == {"backlog": int(before["backlog"][0]), "overdue_backlog": int(before["overdue_backlog"][0])}
    text = backlog.summary(s, start, f, as_of, "ru")
    assert text.startswith("На конец периода (31.03.2019) заявок в работе:")
    assert f"{int(s['backlog'].iloc[-1]):,}".replace(",", "\u00a0") in text
    assert "приток" in text or "отток" in text


def test_demo_story_visible_in_overdue_backlog(story_db):
    from oversight import store

    c = store.connect(story_db, EVERYTHING)
    info = store.dataset_info(c)
    s = backlog.series(c, Filters(start=D(2018, 10, 1), end=D(2019, 3, 31)), info["as_of"].to_pydatetime(), "week")
    # Overdue backlog in Q4 2018 (before the New Year) against March 2019, once the improvement has
    # worked through the requests already late.
    q4 = s[(s["date"] >= "2018-10-01") & (s["date"] < "2018-12-24")]["overdue_backlog"].mean()
    march = s[(s["date"] >= "2019-03-04") & (s["date"] < "2019-04-01")]["overdue_backlog"].mean()
    assert march < 0.7 * q4, (q4, march)
    # The New Year holidays bump the backlog above the weeks around them.
    ny = s[(s["date"] >= "2018-12-24") & (s["date"] <= "2019-01-07")]["backlog"].max()
    around = s[(s["date"] >= "2018-11-26") & (s["date"] <= "2018-12-17")]["backlog"].mean()
    assert ny > 1.15 * around


def test_cli_backlog_json(small_db, con, as_of):
    out = subprocess.run(
        [sys.executable, "-m", "oversight", "backlog", "--db", small_db, "--from", "2019-01-01", "--to", "2019-03-31",
         "--freq", "week", "--territory", "2", "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    s = backlog.series(con, Filters(start=D(2019, 1, 1), end=D(2019, 3, 31), territory_id=2), as_of, "week")
    assert [r["backlog"] for r in rows] == list(s["backlog"])
    assert list(rows[0]) == ["date", "backlog", "overdue_backlog", "created", "closed"]
    assert rows[0]["date"] == "2018-12-31"
