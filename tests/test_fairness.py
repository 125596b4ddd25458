"""Fair comparisons (issue #8, library part): the planted poor and excellent organisations stand out,
small volumes do not on noise alone, and the limits and intervals match independent formulas."""

from __future__ import annotations

import datetime as dt
import json
import math
import subprocess
import sys

import numpy as np
import pandas as pd

from oversight import fairness, metrics
from oversight.filters import Filters

YEAR = Filters(dt.date(2019, 1, 1), dt.date(2019, 12, 31))


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
