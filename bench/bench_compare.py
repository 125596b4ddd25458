"""Benchmark: a before/after comparison (issue #7) at 10M tickets, warm.

    .venv/bin/python bench/bench_compare.py [--db data/bench/demo10m.duckdb] [--runs 5]

Times what the Before/after page computes: oversight.analysis.compare.compare for the demo's Serpukhov
seminar (90 days either side, the municipality as the treated group: raw figures and intervals for
the region, every direction and municipality, the difference-in-differences) with the interrupted
time series, and the region-wide Q4 2018 / Q1 2019 comparison.
Median of the runs after a first one (which also imports statsmodels). Writes its table to
docs/benchmarks.md. Not a timed test.
"""

from __future__ import annotations

import datetime as dt
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import open_bench_database, write_section  # noqa: E402
from oversight.analysis import compare  # noqa: E402
from oversight.filters import Filters  # noqa: E402


def main() -> None:
    args, con, tickets, as_of = open_bench_database()
    facts = dict(con.execute("select key, value from demo_story").fetchall())
    seminar = dt.date.fromisoformat(facts["seminar_dates"].split(",")[0])
    cases = {
        "seminar, one municipality treated, 90 days each side, with the time series": (
            compare.Periods.around(seminar, 90), [int(facts["seminar_municipality_ids"].split(",")[0])]),
        "region, Q4 2018 against Q1 2019": (
            compare.Periods(dt.date(2018, 10, 1), dt.date(2018, 12, 31), dt.date(2019, 1, 1), dt.date(2019, 3, 31)), []),
    }
    rows = []
    for name, (periods, treated) in cases.items():
        scope = Filters(periods.before_start, periods.after_end)

        def run(scope=scope, periods=periods, treated=treated):
            result = compare.compare(con, scope, as_of, periods, treated)
            if treated:  # the page adds the interrupted time series (26 weeks either side)
                compare.interrupted_series(con, scope, as_of, periods.after_start - dt.timedelta(days=1), treated)
            return result

        run()
        times = []
        for _ in range(args.runs):
            started = time.perf_counter()
            run()
            times.append((time.perf_counter() - started) * 1000)
        rows.append((name, statistics.median(times)))
        print(f"{name:55} {rows[-1][1]:6.0f} ms", flush=True)
    table = "\n".join(
        ["", f"## Before/after comparison ({tickets:,} tickets, `bench/bench_compare.py`)", "",
         f"Warm, median of {args.runs} runs: the whole comparison (daily series, every interval, the",
         "difference-in-differences). Budget: 1 s.", "", "| comparison | ms |", "|---|---:|"]
        + [f"| {name} | {ms:.0f} |" for name, ms in rows]
    )
    write_section('Before/after comparison', table)


if __name__ == "__main__":
    main()
