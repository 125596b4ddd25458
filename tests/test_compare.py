"""Before/after comparisons: the demo's planted story is found, a placebo finds nothing, the raw
numbers equal the KPI functions', and the intervals match an independent computation."""

from __future__ import annotations

import datetime as dt
import json
import math
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from oversight import compare, demo, metrics, store
from oversight.access import EVERYTHING
from oversight.filters import Filters

D = dt.date


@pytest.fixture(scope="module")
def story(story_db):
    con = store.connect(story_db, EVERYTHING)
    facts = dict(con.execute("select key, value from demo_story").fetchall())
    return con, store.dataset_info(con)["as_of"].to_pydatetime(), facts


def _scope(periods: compare.Periods) -> Filters:
    return Filters(periods.before_start, periods.after_end)


def test_region_wide_halving_is_found(story):
    con, as_of, _ = story
    periods = compare.Periods(D(2018, 10, 1), D(2018, 12, 31), D(2019, 1, 1), D(2019, 3, 31))
    region = compare.compare(con, _scope(periods), as_of, periods)["region"]
    assert 0.40 < region["ratio"] < 0.65, region
    assert region["high"] < 0.75  # clearly a fall, not noise
    assert region["low"] < region["ratio"] < region["high"]


def test_planted_seminar_effect_is_recovered_by_difference_in_differences(story):
    con, as_of, facts = story
    serpukhov = int(facts["seminar_municipality_ids"].split(",")[0])
    seminar = D.fromisoformat(facts["seminar_dates"].split(",")[0])
    periods = compare.Periods.around(seminar, 90)
    result = compare.compare(con, _scope(periods), as_of, periods, [serpukhov])
    did = result["did"]
    assert did["low"] <= demo.SEMINAR_FACTOR <= did["high"], did
    assert did["ratio"] < 1.0
    # The raw fall in Serpukhov includes the region-wide improvement of 1 January: larger than the DiD,
    # and the page warns that the comparison group moved too.
    assert result["treated"]["ratio"] < did["ratio"]
    assert "compare.warn.control_moved" in [key for key, _ in result["warnings"]]


@pytest.mark.parametrize("placebo", ["date", "municipality"])
def test_placebo_finds_no_change(story, placebo):
    con, as_of, facts = story
    treated_ids = [int(x) for x in facts["seminar_municipality_ids"].split(",")]
    if placebo == "date":  # Serpukhov, at a date with nothing planted (before any improvement)
        periods, treated = compare.Periods.around(D(2018, 7, 1), 90), [treated_ids[0]]
    else:  # the seminar's date, an untreated municipality
        periods = compare.Periods.around(D.fromisoformat(facts["seminar_dates"].split(",")[0]), 90)
        treated = [next(m for m in (41, 34, 53, 21) if m not in treated_ids)]
    did = compare.compare(con, _scope(periods), as_of, periods, treated)["did"]
    assert did["low"] <= 1.0 <= did["high"], did


def test_per_municipality_numbers_equal_the_kpi_functions(con, as_of):
    periods = compare.Periods(D(2019, 4, 1), D(2019, 6, 30), D(2019, 7, 1), D(2019, 9, 30))
    result = compare.compare(con, _scope(periods), as_of, periods)
    table = result["by_municipality"].set_index("municipality_id")
    for mid in table.sample(8, random_state=2).index:
        for side, (start, end) in {"before": (periods.before_start, periods.before_end),
                                   "after": (periods.after_start, periods.after_end)}.items():
            k = metrics.kpis(con, Filters(start, end, municipality_id=int(mid)), as_of)
            row = table.loc[mid]
            assert row[f"missed_{side}"] == k["missed"] and row[f"due_{side}"] == k["due"]
            assert (row[f"on_time_{side}"] is None and k["on_time_rate"] is None) or math.isclose(
                row[f"on_time_{side}"], k["on_time_rate"])
            days = (end - start).days + 1
            assert math.isclose(row[f"missed_per_day_{side}"], k["missed"] / days)
    # Directions and the region add up from the municipalities.
    by_territory = result["by_territory"].set_index("territory_id")
    sums = table.groupby("territory_id")[["missed_before", "missed_after"]].sum()
    assert (by_territory[["missed_before", "missed_after"]] == sums).all().all()
    assert result["region"]["missed_after"] == table["missed_after"].sum()


def test_rate_ratio_interval_equals_the_quasi_poisson_formula():
    rng = np.random.default_rng(3)
    before = rng.negative_binomial(5, 5 / (5 + 20), 90)  # mean 20, over-dispersed
    after = rng.negative_binomial(5, 5 / (5 + 14), 80)
    got = compare.rate_ratio(before, after)
    # Independent: the two-group quasi-Poisson MLE in closed form.
    mean_b, mean_a = before.mean(), after.mean()
    fitted = np.r_[np.full(len(before), mean_b), np.full(len(after), mean_a)]
    y = np.r_[before, after]
    scale = ((y - fitted) ** 2 / fitted).sum() / (len(y) - 2)
    se = math.sqrt(scale * (1 / before.sum() + 1 / after.sum()))
    assert math.isclose(got["ratio"], mean_a / mean_b, rel_tol=1e-6)
    assert math.isclose(got["low"], mean_a / mean_b * math.exp(-compare.Z95 * se), rel_tol=1e-5)
    assert math.isclose(got["high"], mean_a / mean_b * math.exp(compare.Z95 * se), rel_tol=1e-5)
    assert scale > 1.5  # the over-dispersion is real here, and it widened the interval
    assert compare.rate_ratio([0, 0, 0], [1, 2])["ratio"] is None


def test_difference_in_differences_on_synthetic_counts():
    rng = np.random.default_rng(11)
    days = pd.date_range("2019-01-01", periods=120)
    season = 1 + 0.5 * np.sin(np.arange(120) / 9)  # hits everyone: must cancel
    rows = []
    for mid, base in ((1, 30.0), (2, 25.0), (3, 8.0)):
        for i, day in enumerate(days):
            after = i >= 60
            effect = 0.6 if (mid == 3 and after) else 1.0
            rows.append({"day": day, "municipality_id": mid, "missed": rng.poisson(base * season[i] * effect),
                         "after": after})
    did = compare.difference_in_differences(pd.DataFrame(rows), {3})
    assert did["low"] <= 0.6 <= did["high"] and did["high"] < 1.0


def test_periods_are_checked():
    with pytest.raises(ValueError):
        compare.Periods(D(2019, 2, 1), D(2019, 1, 1), D(2019, 3, 1), D(2019, 3, 2))
    with pytest.raises(ValueError):
        compare.Periods(D(2019, 1, 1), D(2019, 2, 1), D(2019, 1, 15), D(2019, 3, 1))
    around = compare.Periods.around(D(2019, 3, 14), 30)
    assert (around.before_end, around.after_start) == (D(2019, 3, 13), D(2019, 3, 15))


def test_short_periods_and_small_counts_are_warned(con, as_of):
    periods = compare.Periods(D(2019, 5, 1), D(2019, 5, 10), D(2019, 5, 11), D(2019, 5, 20))
    result = compare.compare(con, replace(_scope(periods), municipality_id=41, territory_id=None), as_of, periods)
    keys = [key for key, _ in result["warnings"]]
    assert "compare.warn.short" in keys and "compare.warn.small" in keys


def test_cli_compare(small_db, con, as_of):
    out = subprocess.run(
        [sys.executable, "-m", "oversight", "compare", "--db", small_db, "--before", "2018-10-01..2018-12-31",
         "--after", "2019-01-01..2019-03-31", "--municipality", "41", "--json"],
        capture_output=True, text=True, check=True,
    )
    printed = json.loads(out.stdout)
    periods = compare.Periods(D(2018, 10, 1), D(2018, 12, 31), D(2019, 1, 1), D(2019, 3, 31))
    result = compare.compare(con, _scope(periods), as_of, periods, [41])
    assert math.isclose(printed["region"]["ratio"], result["region"]["ratio"])
    assert math.isclose(printed["difference_in_differences"]["low"], result["did"]["low"])
    bad = subprocess.run([sys.executable, "-m", "oversight", "compare", "--db", small_db, "--event", "999"],
                         capture_output=True, text=True)
    assert bad.returncode != 0 and "no such event" in bad.stderr


def test_interrupted_time_series_finds_the_seminar_and_not_a_placebo(story):
    con, as_of, facts = story
    serpukhov = int(facts["seminar_municipality_ids"].split(",")[0])
    seminar = D.fromisoformat(facts["seminar_dates"].split(",")[0])
    scope = Filters(D(2018, 1, 1), D(2019, 12, 31))
    its = compare.interrupted_series(con, scope, as_of, seminar, [serpukhov])
    assert its["step"]["low"] <= demo.SEMINAR_FACTOR <= its["step"]["high"], its["step"]
    weekly = its["weekly"]
    assert len(weekly) >= 40 and (weekly["week"] < 0).any() and (weekly["week"] >= 0).any()
    # Before the event the line without the event is the fitted line itself.
    before = weekly[weekly["week"] < 0]
    assert np.allclose(before["fitted"], before["without_event"])
    # The weekly counts are the municipality's missed deadlines (ARCHITECTURE §3), week by week.
    first = weekly.iloc[0]
    start = first["week_start"]
    k = metrics.kpis(con, Filters(start, start + dt.timedelta(days=6), municipality_id=serpukhov), as_of)
    assert first["treated"] == k["missed"]
    placebo = compare.interrupted_series(con, scope, as_of, D(2018, 7, 1), [serpukhov])["step"]
    assert placebo["low"] <= 1.0 <= placebo["high"], placebo


def test_conclusion_says_the_numbers_with_their_intervals(story):
    con, as_of, facts = story
    serpukhov = int(facts["seminar_municipality_ids"].split(",")[0])
    periods = compare.Periods.around(D.fromisoformat(facts["seminar_dates"].split(",")[0]), 90)
    result = compare.compare(con, _scope(periods), as_of, periods, [serpukhov])
    text = compare.conclusion(result, "ru")
    raw = round((1 - result["treated"]["ratio"]) * 100)
    did = round((1 - result["did"]["ratio"]) * 100)
    assert f"на {raw} % меньше" in text and f"на {did} % меньше" in text and "95 % ДИ" in text
    values = compare.change_map_values(result, store.run(con, "filter_municipalities"), store.run(con, "filter_territories"))
    row = values.set_index("municipality_id").loc[serpukhov]
    assert math.isclose(row["value"], result["treated"]["change"])
    assert values["rank_region"].min() == 1


def test_an_organisation_as_the_treated_group(story):
    con, as_of, facts = story
    org = int(facts["poor_organization_ids"].split(",")[0])
    periods = compare.Periods.around(D(2019, 6, 5), 90)  # the demo's inspection of a poor organisation
    result = compare.compare(con, _scope(periods), as_of, periods, organizations=[org])
    for side, (start, end) in {"before": (periods.before_start, periods.before_end),
                               "after": (periods.after_start, periods.after_end)}.items():
        own = metrics.kpis(con, Filters(start, end, organization_id=org), as_of)
        everyone = metrics.kpis(con, Filters(start, end), as_of)
        assert result["treated"][f"missed_{side}"] == own["missed"]
        assert result["control"][f"missed_{side}"] == everyone["missed"] - own["missed"]
    did = result["did"]
    assert did["low"] <= 1.0 <= did["high"], did  # nothing was planted for inspections
    its = compare.interrupted_series(con, Filters(D(2018, 1, 1), D(2019, 12, 31)), as_of, D(2019, 6, 5), [],
                                     organizations=[org])
    assert not its["weekly"].empty and its["step"]["low"] <= 1.0 <= its["step"]["high"]
