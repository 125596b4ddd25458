"""Benchmark: the Examples page's data, warm, and the seminar deck.

    .venv/bin/python bench/bench_examples.py [--db data/bench/demo10m.duckdb] [--runs 5]

Times what the page computes (presentation.material: every organisation's volume, missed deadlines,
intervals and funnel verdict; the choice of the good and poor example; their cards with KPIs,
trends and concrete requests) for the default period (the last full quarter) and for a year, for
the region and for one direction; then the whole deck (the sequence's data, five charts drawn by
kaleido in a local Chromium, the .pptx written). Median of the runs after a first one (the deck:
of 3). Writes its table to docs/benchmarks.md. Not a timed test. Budgets: page data 500 ms, deck 30 s.
"""

from __future__ import annotations

import datetime as dt
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import open_bench_database, timed, write_section  # noqa: E402
from oversight.analysis import metrics  # noqa: E402
from oversight.filters import Filters, default_filters  # noqa: E402
from oversight.output import presentation, slides  # noqa: E402


def main() -> None:
    args, con, tickets, as_of = open_bench_database()
    metrics.prepare_median_index(con)
    quarter = default_filters(as_of)
    last = (as_of - dt.timedelta(days=1)).date()
    year = Filters(dt.date(last.year, 1, 1), last)
    cases = [
        ("quarter, region", quarter),
        ("quarter, direction 1", replace(quarter, territory_id=1)),
        ("year, region", year),
        ("year, direction 1", replace(year, territory_id=1)),
    ]
    rows = []
    for name, f in cases:
        ms = timed(lambda f=f: presentation.material(con, f, as_of, 30), args.runs)
        rows.append((f"page data: {name}", f"{ms:.0f} ms"))
        print(f"{name:28} {ms:6.0f} ms", flush=True)

    def deck():
        made = presentation.material(con, quarter, as_of, 30)
        return slides.deck(con, made, "ru", 0.95)

    deck()
    times = []
    for _ in range(3):
        started = time.perf_counter()
        size = len(deck())
        times.append(time.perf_counter() - started)
    seconds = statistics.median(times)
    rows.append(("deck: quarter, region (5 charts, .pptx)", f"{seconds:.1f} s ({size // 1024} KB)"))
    print(f"deck {seconds:.1f} s", flush=True)

    table = "\n".join(
        ["", f"## Examples page and the seminar deck ({tickets:,} tickets, `bench/bench_examples.py`)", "",
         "Warm: database buffers warm, no result cache, median index ready. Page data is",
         "`presentation.material` (the funnel and rankings for every organisation, the two examples' cards).",
         f"Median of {args.runs} runs after a first one; the deck median of 3. Budgets: page data 500 ms, deck 30 s.", "",
         "| what | time |", "|---|---:|"]
        + [f"| {name} | {value} |" for name, value in rows]
    )
    write_section('Examples page and the seminar deck', table)


if __name__ == "__main__":
    main()
