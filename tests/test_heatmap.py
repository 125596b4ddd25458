"""Map and matrix values equal the KPI functions' answers for the same municipality and period."""

from __future__ import annotations

import datetime as dt
import json
import math
import subprocess
import sys

import pandas as pd
import pytest

from oversight.analysis import heatmap, metrics
from oversight.filters import Filters
from oversight.paths import ROOT

D = dt.date
KPI_OF = {"missed": "missed", "on_time_rate": "on_time_rate", "overdue_backlog": "overdue_backlog_end", "missed_per_10k": None}


def _close(a, b) -> bool:
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None or (isinstance(b, float) and math.isnan(b))
    return b is not None and math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)


@pytest.mark.parametrize("metric", heatmap.METRICS)
def test_map_values_and_ranks(con, as_of, metric):
    f = Filters(start=D(2019, 1, 1), end=D(2019, 3, 31))
    values = heatmap.map_values(con, f, as_of, metric)
    assert len(values) == 60 and values["municipality_id"].is_unique
    for row in values.sample(6, random_state=2).itertuples():
        k = metrics.kpis(con, Filters(start=f.start, end=f.end, municipality_id=int(row.municipality_id)), as_of)
        expected = k[KPI_OF[metric]] if KPI_OF[metric] else (k["missed"] * 10000 / row.population if row.population == row.population else None)
        assert _close(row.value, expected), (metric, row.municipality_id)
    worst = values.sort_values("rank_region").iloc[0]
    assert worst["value"] == (values["value"].min() if metric == "on_time_rate" else values["value"].max())
    assert (values.groupby("territory_id")["rank_direction"].min() == 1).all()


@pytest.mark.parametrize("freq", ["week", "month"])
@pytest.mark.parametrize("scope", [{}, {"territory_id": 4}, {"category_id": 2}, {"organization_id": 7}], ids=str)
def test_matrix_cells_equal_kpis_of_the_bucket(con, as_of, freq, scope):
    f = Filters(start=D(2019, 2, 1), end=D(2019, 4, 30), **scope)
    cells = heatmap.matrix(con, f, as_of, freq, "on_time_rate")
    muni = cells[cells["level"] == "municipality"]
    step = pd.DateOffset(days=7) if freq == "week" else pd.DateOffset(months=1)
    sample = muni[muni["due"] > 0].sample(min(8, int((muni["due"] > 0).sum())), random_state=3) if (muni["due"] > 0).any() else muni.head(3)
    for row in sample.itertuples():
        start = max(row.bucket, pd.Timestamp(f.start)).date()
        end = (min(row.bucket + step, pd.Timestamp(f.end + dt.timedelta(days=1))) - pd.Timedelta(days=1)).date()
        k = metrics.kpis(con, Filters(start=start, end=end, municipality_id=int(row.municipality_id),
                                      category_id=f.category_id, organization_id=f.organization_id), as_of)
        assert (row.due, row.missed, row.overdue_backlog) == (k["due"], k["missed"], k["overdue_backlog_end"])
        assert _close(row.value, k["on_time_rate"])
    # Direction subtotals are sums of their municipalities.
    sums = muni.groupby(["territory_id", "bucket"])[["due", "missed", "overdue_backlog"]].sum()
    terr = cells[cells["level"] == "territory"].set_index(["territory_id", "bucket"])[["due", "missed", "overdue_backlog"]]
    pd.testing.assert_frame_equal(sums.sort_index(), terr.sort_index(), check_dtype=False)


def test_row_order_groups_municipalities_under_their_direction(con, as_of):
    cells = heatmap.matrix(con, Filters(start=D(2019, 1, 1), end=D(2019, 6, 30)), as_of, "month", "missed")
    order = heatmap.row_order(cells, "missed", "value", "ru")
    assert [o for o in order if o[0] == "territory"] == [("territory", i) for i in (1, 2, 3, 4)]
    assert len(order) == 64
    by_name = heatmap.row_order(cells, "missed", "name", "ru")
    assert sorted(order) == sorted(by_name)


def test_direction_outlines_cover_four_directions():
    outlines = heatmap.direction_outlines()
    assert sorted(outlines) == [1, 2, 3, 4]
    for o in outlines.values():
        assert o["rings"] and 35 < o["label"][0] < 41 and 54 < o["label"][1] < 57.5


def test_cli_heatmap(small_db, con, as_of):
    out = subprocess.run(
        [sys.executable, "-m", "oversight", "heatmap", "--db", small_db, "--from", "2019-01-01", "--to", "2019-03-31",
         "--freq", "month", "--metric", "missed", "--json"],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    cells = heatmap.matrix(con, Filters(start=D(2019, 1, 1), end=D(2019, 3, 31)), as_of, "month", "missed")
    assert len(rows) == len(cells) == 64 * 3
    assert sum(r["value"] for r in rows if r["level"] == "municipality") == cells.loc[cells["level"] == "municipality", "missed"].sum()
