"""Benchmark: the Compliance page's data, warm.

    .venv/bin/python bench/bench_compliance.py [--db data/bench/demo10m.duckdb] [--runs 5]

Times what the page computes: the watchlist (monthly record of every organisation, the rule, time on
the list, open overdue requests, the latest event and the months around it) and the deadlines by
kind of day (region, directions, municipalities, organisations, the worst on days off), for the
region and for one direction, with the default period (the last full quarter) and a year. Median of
the runs after a first one. Writes its table to docs/benchmarks.md. Not a timed test. Budget: 500 ms.
"""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import open_bench_database, parts_table, timed_parts, write_section  # noqa: E402
from oversight.analysis import compliance, metrics  # noqa: E402
from oversight.filters import Filters, default_filters  # noqa: E402


def main() -> None:
    args, con, tickets, as_of = open_bench_database()
    metrics.prepare_median_index(con)
    quarter = default_filters(as_of)
    last = (as_of - dt.timedelta(days=1)).date()
    year = Filters(dt.date(last.year, 1, 1), last)
    rule = compliance.Rule()
    rows = []
    for name, f in (("quarter, region", quarter), ("quarter, direction 1", replace(quarter, territory_id=1)),
                    ("year, region", year), ("year, direction 1", replace(year, territory_id=1))):
        parts = [("watchlist", lambda f=f: compliance.watchlist(con, f, as_of, rule)),
                 ("days off", lambda f=f: compliance.weekends(con, f, as_of, rule.min_volume))]
        rows.append(timed_parts(name, parts, args.runs, width=24))

    table = parts_table(
        f"Compliance page data ({tickets:,} tickets, `bench/bench_compliance.py`)",
        ["Warm: database buffers warm, no result cache. The watchlist looks back from as_of (default rule:",
         "3 of the last 6 complete months below 95 %, 30 deadlines a month); the days-off analysis covers the",
         f"period. Median of {args.runs} runs after a first one. Budget: 500 ms."], "scope", rows)
    write_section('Compliance page data', table)


if __name__ == "__main__":
    main()
