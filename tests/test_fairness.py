"""Fair comparisons (issue #8, library part): the planted poor and excellent organisations stand out,
small volumes do not on noise alone, and the limits and intervals match independent formulas."""

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

from oversight.analysis import drill, fairness, metrics
from oversight.filters import Filters
from tests.reference_metrics import scoped

YEAR = Filters(dt.date(2019, 1, 1), dt.date(2019, 12, 31))
QUARTER = Filters(dt.date(2019, 10, 1), dt.date(2019, 12, 31))


def test_planted_poor_are_above_and_excellent_below(full_demo):
    con, as_of, facts = full_demo
    assessed, funnel = fairness.organizations(con, YEAR, as_of)
    verdict = assessed.set_index("organization_id")["verdict"]
    for org in map(int, facts["poor_organization_ids"].split(",")):
        assert verdict[org] == "above", org
    for org in map(int, facts["excellent_organization_ids"].split(",")):
        assert verdict[org] == "below", org
    assert funnel["phi"] >= 1.0 and 0 < funnel["p0"] < 1
    # Volumes and counts are the KPI functions' answers for each organisation.
    for row in assessed.sample(5, random_state=4).itertuples():
        k = metrics.kpis(con, Filters(YEAR.start, YEAR.end, organization_id=int(row.organization_id)), as_of)
        assert (row.due, row.missed) == (k["due"], k["missed"])


def test_a_small_organisation_is_not_at_either_end_on_noise():
    # Forty ordinary organisations and two tiny ones with extreme raw shares (2 of 3, and 0 of 4).
    rng = np.random.default_rng(8)
    due = np.r_[rng.integers(200, 900, 40), 3, 4]
    missed = np.r_[rng.binomial(due[:40], 0.07), 2, 0]
    table = pd.DataFrame({"organization_id": range(42), "due": due, "missed": missed})
    assessed, _ = fairness.assess(table, min_volume=1)
    tiny = assessed.iloc[40:]
    assert tiny["share"].tolist() == [2 / 3, 0.0]  # the most extreme raw shares of all …
    assert (tiny["verdict"] == "inside").all()  # … and still inside the funnel
    best, worst = fairness.best_and_worst(assessed)
    assert not set(tiny["organization_id"]) & (set(best["organization_id"]) | set(worst["organization_id"]))
    # The empirical-Bayes share pulls the tiny ones most of the way to the mean.
    mean = missed.sum() / due.sum()
    assert abs(tiny["eb_share"].iloc[0] - mean) < abs(2 / 3 - mean) / 3


def test_limits_and_intervals_match_the_formulas():
    table = pd.DataFrame({"organization_id": [1, 2, 3, 4], "due": [100, 400, 50, 900], "missed": [10, 20, 1, 60]})
    assessed, funnel = fairness.assess(table, min_volume=0)
    p0 = 91 / 1450
    assert math.isclose(funnel["p0"], p0)
    row = assessed.iloc[1]
    from scipy.stats import binom

    # The 99.8 % limits: binomial quantiles at 0.1 % and 99.9 %, their distance from p0 times sqrt(phi).
    upper = p0 + (binom.ppf(0.999, 400, p0) / 400 - p0) * math.sqrt(funnel["phi"])
    lower = max(0.0, p0 - (p0 - binom.ppf(0.001, 400, p0) / 400) * math.sqrt(funnel["phi"]))
    assert math.isclose(row["upper_998"], upper, rel_tol=1e-6) and math.isclose(row["lower_998"], lower, abs_tol=1e-9)
    # Wilson's interval, written out.
    n, k, z = 400, 20, fairness.Z95
    centre = (k + z * z / 2) / (n + z * z)
    margin = z * math.sqrt(k * (n - k) / n + z * z / 4) / (n + z * z)
    assert math.isclose(row["low"], centre - margin, rel_tol=1e-9) and math.isclose(row["high"], centre + margin, rel_tol=1e-9)


def test_cli_rank(small_db, con, as_of):
    out = subprocess.run(
        [sys.executable, "-m", "oversight", "rank", "--db", small_db, "--from", "2019-01-01", "--to", "2019-12-31",
         "--min-volume", "20", "--json"], capture_output=True, text=True, check=True)
    printed = json.loads(out.stdout)
    assessed, funnel = fairness.organizations(con, YEAR, as_of, 20)
    assert math.isclose(printed["funnel"]["p0"], funnel["p0"])
    assert [r["organization_id"] for r in printed["organizations"]] == assessed["organization_id"].tolist()
    assert {r["verdict"] for r in printed["organizations"]} <= {"inside", "above", "below", None}


@pytest.mark.parametrize("scope", [
    {}, {"territory_id": 2}, {"municipality_id": None}, {"category_id": 3}, {"source": "phone"},
], ids=["region", "direction", "municipality", "category (rows)", "source (rows)"])
def test_org_due_daily_gives_the_row_counts(con, frames, as_of, scope):
    """The funnel's counts from org_due_daily equal the organisation table grouped from the rows
    and a plain-pandas count of due and missed deadlines per organisation."""
    if "municipality_id" in scope:
        scope = {"municipality_id": int(frames["tickets"]["municipality_id"].mode()[0])}
    f = replace(QUARTER, **scope)
    fast = fairness.due_and_missed(con, f, as_of).dropna(subset=["child_id"]).set_index("child_id")
    rows = drill.children(con, f, as_of, "organization").dropna(subset=["child_id"]).set_index("child_id")
    rows = rows[rows["due"] > 0]
    fast = fast[fast["due"] > 0]
    assert metrics.uses_org_daily_counts(con, f, as_of) == ("category_id" not in scope and "source" not in scope)
    pd.testing.assert_frame_equal(fast[["due", "missed"]].sort_index().astype("int64"),
                                  rows[["due", "missed"]].sort_index().astype("int64"), check_names=False)
    t = scoped(frames, **scope)
    stop = pd.Timestamp(f.end) + pd.Timedelta(days=1)
    due = t[(t["due_at"] >= pd.Timestamp(f.start)) & (t["due_at"] < stop) & (t["due_at"] < pd.Timestamp(as_of))]
    missed = due["closed_at"].isna() | (due["closed_at"] > due["due_at"])
    expected = pd.DataFrame({"due": due.groupby("organization_id").size(),
                             "missed": missed.groupby(due["organization_id"]).sum()}).astype("int64")
    pd.testing.assert_frame_equal(fast[["due", "missed"]].sort_index().astype("int64"), expected.sort_index(),
                                  check_names=False, check_index_type=False)
