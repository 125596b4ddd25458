"""Before/after comparisons: the demo's planted story is found, a placebo finds nothing, the raw
numbers equal the KPI functions', and the intervals match an independent computation."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from oversight import store
from oversight.access import EVERYTHING
from oversight.analysis import compare, metrics
from oversight.filters import Filters
from oversight.i18n import t
from oversight.ingest import demo
from tests.conftest import read_table

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


def _statsmodels(y, design, term):
    """The quasi-Poisson GLM fitted by statsmodels (the reference the closed forms must equal)."""
    import statsmodels.api as sm

    fit = sm.GLM(np.asarray(y, dtype=float), design, family=sm.families.Poisson()).fit(scale="X2")
    beta, se = float(fit.params[term]), float(fit.bse[term])
    return math.exp(beta), math.exp(beta - compare.Z95 * se), math.exp(beta + compare.Z95 * se)


def test_rate_ratio_equals_the_statsmodels_fit():
    rng = np.random.default_rng(5)
    before = rng.negative_binomial(3, 3 / (3 + 9), 60)
    after = rng.negative_binomial(3, 3 / (3 + 6), 45)
    y = np.r_[before, after]
    design = np.column_stack([np.ones(len(y)), np.r_[np.zeros(len(before)), np.ones(len(after))]])
    got = compare.rate_ratio(before, after)
    for mine, reference in zip((got["ratio"], got["low"], got["high"]), _statsmodels(y, design, 1)):
        assert math.isclose(mine, reference, rel_tol=1e-6)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_difference_in_differences_equals_statsmodels_with_a_dummy_per_day(seed):
    """The closed form of the DiD is the GLM with a fixed effect per day (the model the page always
    had), to the fit's precision: over-dispersed counts, a season, days where one group has none."""
    rng = np.random.default_rng(seed)
    days = pd.date_range("2019-01-01", periods=100)
    season = 1 + 0.6 * np.sin(np.arange(100) / 7)
    after = np.arange(100) >= 55
    treated = rng.negative_binomial(4, 4 / (4 + 1.5 * season * np.where(after, 0.7, 1.0)))
    control = rng.negative_binomial(4, 4 / (4 + 12 * season))
    group = pd.DataFrame({"day": np.r_[days, days], "treated": np.r_[np.ones(100, bool), np.zeros(100, bool)],
                          "missed": np.r_[treated, control], "after": np.r_[after, after]})
    assert (treated == 0).any()  # days where the treated group has none are part of the check
    got = compare._did(group)
    dummies = pd.get_dummies(group["day"], dtype=float).to_numpy()
    treated_col = group["treated"].to_numpy(dtype=float)
    design = np.column_stack([dummies, treated_col, treated_col * group["after"].to_numpy(dtype=float)])
    reference = _statsmodels(group["missed"], design, design.shape[1] - 1)
    for mine, ref in zip((got["ratio"], got["low"], got["high"]), reference):
        assert math.isclose(mine, ref, rel_tol=1e-6), (got, reference)


def test_difference_in_differences_needs_every_group_in_every_period():
    days = pd.date_range("2019-01-01", periods=20)
    after = np.arange(20) >= 10
    group = pd.DataFrame({"day": np.r_[days, days], "treated": np.r_[np.ones(20, bool), np.zeros(20, bool)],
                          "missed": np.r_[np.where(after, 0, 3), np.full(20, 5)], "after": np.r_[after, after]})
    assert compare._did(group)["ratio"] is None  # the treated group has nothing after: no ratio to speak of


def _result(raw, did=None):
    """A comparison's result with the given (ratio, low, high) for the treated group and the DiD."""
    main = {"ratio": raw[0], "low": raw[1], "high": raw[2]}
    out = {"region": main, "treated": main}
    if did is not None:
        out["did"] = {"ratio": did[0], "low": did[1], "high": did[2]}
    return out


@pytest.mark.parametrize(("raw", "did", "kind"), [
    ((0.48, 0.35, 0.66), None, "better"),                       # a sure fall, no comparison group
    ((1.40, 1.10, 1.80), None, "worse"),
    ((1.13, 0.48, 2.68), None, "unclear"),
    ((0.48, 0.35, 0.66), (0.77, 0.61, 0.97), "better"),         # the planted seminar
    ((0.72, 0.57, 0.92), (0.84, 0.69, 1.03), "unclear"),        # raw fall, but the DiD says chance
    ((1.13, 0.48, 2.68), (0.999, 0.44, 2.27), "unclear"),       # the default of old: a fine
    ((1.10, 0.90, 1.30), (1.40, 1.05, 1.90), "worse"),          # the DiD decides
    ((None, None, None), None, "none"),
])
def test_verdict_is_green_only_for_a_sure_improvement(raw, did, kind):
    assert compare.verdict(_result(raw, did)) == kind


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_conclusion_never_says_zero_change_and_says_what_the_verdict_rests_on(lang):
    # The old text: «на 13 % больше, но это в пределах случайности … — на 0 % меньше, но это в пределах…»
    text = compare.conclusion(_result((1.13, 0.48, 2.68), (0.999, 0.44, 2.27)), lang)
    assert not re.search(r"(?:на|were|trend:|области —) 0[\s\u00a0]?%", text), text
    assert t("compare.phrase.about_same", lang, low="-56", high="127") in text
    assert text.startswith(t("compare.lead.did_unclear", lang)), text
    # Raw fall for sure, the DiD not: the first sentence says the event's effect is not shown.
    text = compare.conclusion(_result((0.72, 0.57, 0.92), (0.84, 0.69, 1.03)), lang)
    assert text.startswith(t("compare.lead.did_unclear", lang)), text
    # Both sure and the same way: the two figures, no hedge (the planted seminar's text as before).
    text = compare.conclusion(_result((0.48, 0.35, 0.66), (0.77, 0.61, 0.97)), lang)
    assert not any(text.startswith(t(f"compare.lead.did_{k}", lang)) for k in ("better", "worse", "unclear")), text
    # Opposite sure directions: the first sentence says which one counts.
    text = compare.conclusion(_result((1.10, 1.02, 1.20), (0.80, 0.70, 0.92)), lang)
    assert text.startswith(t("compare.lead.did_better", lang)), text


def _power(rows):
    columns = ["event_id", "event_date", "has_group", "days_before", "days_after", "missed_before", "missed_after"]
    frame = pd.DataFrame(rows, columns=columns)
    frame["event_date"] = pd.to_datetime(frame["event_date"])
    return frame


def test_default_event_is_the_most_informative_not_the_newest():
    fine = (7, "2019-10-24", True, 90, 68, 14, 12)           # newest, a dozen missed deadlines
    krasnoarmeysk = (4, "2019-04-18", True, 90, 90, 271, 196)
    serpukhov = (3, "2019-03-14", True, 90, 90, 222, 107)
    order = (2, "2018-12-20", False, 90, 90, 17395, 10441)   # region-wide: no comparison group
    assert compare.default_event(_power([fine, krasnoarmeysk, serpukhov, order])) == 4
    assert compare.default_event(_power([fine, serpukhov, order])) == 3
    assert compare.default_event(_power([fine, order])) == 2  # no local event with enough data
    short = (8, "2019-12-20", True, 90, 11, 900, 120)         # plenty, but 11 days after: the page would warn
    assert compare.default_event(_power([short, serpukhov])) == 3
    # Nothing has enough: the most information; all equal (none at all): the newest.
    assert compare.default_event(_power([fine, (5, "2019-06-05", True, 90, 90, 20, 18)])) == 5
    assert compare.default_event(_power([(1, "2019-01-01", True, 90, 90, 0, 0), (6, "2019-05-01", True, 90, 90, 0, 0)])) == 6
    twin = (9, "2019-05-01", True, 90, 90, 222, 107)         # as informative as Serpukhov, more recent
    assert compare.default_event(_power([serpukhov, twin])) == 9
    assert compare.default_event(_power([])) is None


def test_event_power_equals_a_count_from_the_tickets(small_db, con, as_of):
    """Each event's group and windows, counted from the raw tickets with pandas."""
    tickets = read_table(small_db, "tickets")
    municipalities = read_table(small_db, "municipalities")
    events = read_table(small_db, "events")
    successor = municipalities.set_index("municipality_id")["successor_id"]
    current = {m: int(s) if pd.notna(s) else int(m) for m, s in successor.items()}
    due = tickets[tickets["due_at"].notna() & (tickets["due_at"] < pd.Timestamp(as_of))].copy()
    due["day"] = due["due_at"].dt.date
    due["missed"] = due["closed_at"].isna() | (due["closed_at"] > due["due_at"])
    due["current"] = due["municipality_id"].map(current)
    last_day = (as_of - dt.timedelta(days=1)).date()
    got = compare.event_power(con, as_of, 90).set_index("event_id")
    assert set(got.index) == set(events["event_id"])
    for event in events.itertuples():
        day = event.event_date.date() if hasattr(event.event_date, "date") else event.event_date
        if pd.notna(event.organization_id):
            rows = due[due["organization_id"] == event.organization_id]
        elif pd.notna(event.municipality_id):
            rows = due[due["current"] == current[int(event.municipality_id)]]
        else:
            rows = due
        before = rows[(rows["day"] >= day - dt.timedelta(days=90)) & (rows["day"] < day)]
        after = rows[(rows["day"] > day) & (rows["day"] <= min(day + dt.timedelta(days=90), last_day))]
        row = got.loc[event.event_id]
        assert (row["missed_before"], row["missed_after"]) == (before["missed"].sum(), after["missed"].sum()), event
        assert (row["due_before"], row["due_after"]) == (len(before), len(after)), event
        assert row["days_after"] == (min(day + dt.timedelta(days=90), last_day) - day).days
        assert row["has_group"] == (pd.notna(event.organization_id) or pd.notna(event.municipality_id))
