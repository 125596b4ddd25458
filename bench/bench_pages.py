"""Benchmark: each page's data at 1 and 10 million tickets, cold and warm.

    .venv/bin/python bench/bench_pages.py [--sizes 1000000 10000000] [--runs 5] [--pages overview backlog]

Builds demo databases under data/bench/ when missing (git-ignored), then times exactly what each
page asks the library for, for a spread of filters and periods, without Streamlit's result cache:
"warm" is DuckDB with its buffers filled, the median of several runs; "cold" is the first call on a
fresh DuckDB instance. Writes docs/benchmarks.md and the summary between the BENCH markers in
README.md. Not a timed test: figures depend on the machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import re
import statistics
import sys
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

from oversight import store
from oversight.access import EVERYTHING  # noqa: E402
from oversight.analysis import backlog, heatmap, metrics
from oversight.filters import Filters
from oversight.ingest.demo import DemoSpec, build_demo_database
from oversight.paths import ROOT

BUDGET_MS = {"overview": 300, "backlog": 300, "map": 500}
D = dt.date
SCOPES = {
    "whole region": {},
    "direction": {"territory_id": 3},
    "municipality (with roll-up)": {"municipality_id": 41},
    "organisation": {"organization_id": 120},
    "category": {"category_id": 2},
    "source": {"source": "dobrodel"},
    "direction + category + source": {"territory_id": 2, "category_id": 14, "source": "eds"},
}
PERIODS = {
    "quarter": (D(2019, 10, 1), D(2019, 12, 31)),
    "year": (D(2019, 1, 1), D(2019, 12, 31)),
    "two years": (D(2018, 1, 1), D(2019, 12, 31)),
}


def overview_data(con, f: Filters, as_of) -> None:
    """Exactly what app_pages/overview.py asks for."""
    metrics.kpi_comparison(con, f, as_of)
    metrics.kpi_trend(con, f, as_of)
    metrics.kpis_by_area(con, f, as_of)


def backlog_data(con, f: Filters, as_of) -> None:
    """Exactly what app_pages/backlog.py asks for with its defaults (weekly, compared with the same
    period a year earlier for the region or with the region for a narrower scope, by direction)."""
    backlog.start_stock(backlog.series(con, f, as_of, "week"))
    backlog.events(con, f, as_of)
    backlog.comparison(con, f, as_of, "week", backlog.default_comparison(f))
    backlog.ageing(con, f, as_of, "week")
    backlog.by_area(con, f, as_of, "week", "territory")


def map_data(con, f: Filters, as_of) -> None:
    """What app_pages/map.py asks for, with the matrix by week (the issue's budget case)."""
    heatmap.map_values(con, f, as_of, "missed")
    heatmap.matrix(con, f, as_of, "week", "missed")


PAGES = {"overview": overview_data, "backlog": backlog_data, "map": map_data}


def database(n: int) -> Path:
    path = ROOT / "data" / "bench" / f"demo{n // 1_000_000}m.duckdb"
    if not path.exists():
        started = time.perf_counter()
        build_demo_database(path, DemoSpec(tickets=n))
        print(f"built {path} in {time.perf_counter() - started:.0f} s", flush=True)
    return path


def time_ms(fn) -> float:
    started = time.perf_counter()
    fn()
    return (time.perf_counter() - started) * 1000


def bench(n: int, runs: int, pages: list[str]) -> tuple[list[dict], float]:
    path = database(n)
    store._close_all()
    started = time.perf_counter()
    con = store.connect(path, EVERYTHING)
    as_of = store.dataset_info(con)["as_of"].to_pydatetime()
    metrics.prepare_median_index(con)
    startup_ms = (time.perf_counter() - started) * 1000
    index = store.attachment(con, "median_index", lambda c: None)
    print(f"{n:>11,} opening the database and building the median index: {startup_ms:.0f} ms", flush=True)
    rows = []
    for page, period_name, scope_name in [(p, pn, sn) for p in pages for pn in PERIODS for sn in SCOPES]:
        start, end = PERIODS[period_name]
        f = Filters(start=start, end=end, **SCOPES[scope_name])
        page_data = PAGES[page]
        # Cold: a brand-new DuckDB instance on the file, its buffers empty (every connection to
        # it closed first; the OS page cache may still hold the file); the median index, built
        # once per data version, is kept.
        store._close_all()
        cold_con = store.connect(path, EVERYTHING)
        store.attachment(cold_con, "median_index", lambda c, index=index: index)
        cold = time_ms(lambda c=cold_con, f=f, d=page_data: d(c, f, as_of))
        warm = statistics.median(time_ms(lambda c=cold_con, f=f, d=page_data: d(c, f, as_of)) for _ in range(runs))
        rows.append({"page": page, "tickets": n, "period": period_name, "scope": scope_name, "cold_ms": cold, "warm_ms": warm})
        print(f"{page:9} {n:>11,} {period_name:10} {scope_name:30} cold {cold:7.0f} ms  warm {warm:6.0f} ms", flush=True)
    return rows, startup_ms


def render(rows: list[dict], runs: int, startups: dict[int, float]) -> str:
    lines = [
        f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, DuckDB {duckdb.__version__}; "
        f"{dt.date.today().isoformat()}; warm = median of {runs} runs; budgets warm at 10M: "
        + ", ".join(f"{page} {ms} ms" for page, ms in BUDGET_MS.items()) + " (map: the matrix by week).",
        "",
        "| page | tickets | period | filter | cold, ms | warm, ms |",
        "|---|---:|---|---|---:|---:|",
    ]
    for r in rows:
        flag = " ⚠" if r["warm_ms"] > BUDGET_MS[r["page"]] else ""
        lines.append(f"| {r['page']} | {r['tickets']:,} | {r['period']} | {r['scope']} | {r['cold_ms']:.0f} | {r['warm_ms']:.0f}{flag} |")
    worst = {}
    for r in rows:
        key = (r["page"], r["tickets"])
        worst[key] = max(worst.get(key, 0), r["warm_ms"])
    lines.append("")
    lines.append(
        "Opening a database and building the median index (once per data version, in the background in "
        "the app; medians come from SQL until it is ready): " + "; ".join(f"{n:,} tickets: {ms / 1000:.1f} s" for n, ms in startups.items()) + "."
    )
    lines.append("")
    lines.append("Worst warm case: " + "; ".join(f"{page}, {n:,} tickets: {ms:.0f} ms" for (page, n), ms in worst.items()))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000_000, 10_000_000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--pages", nargs="+", choices=list(PAGES), default=list(PAGES))
    args = parser.parse_args()
    rows, startups = [], {}
    for n in args.sizes:
        size_rows, startups[n] = bench(n, args.runs, args.pages)
        rows += size_rows
    table = render(rows, args.runs, startups)
    docs = ROOT / "docs" / "benchmarks.md"
    # This table is the file's preamble, before the first "## " section; every section after it belongs
    # to another benchmark (bench/common.write_section) and is kept as it is.
    kept = ""  # (not `render`: that name is the table function above)
    if docs.exists():
        found = re.search(r"\n## .*", docs.read_text(encoding="utf-8"), flags=re.S)
        kept = found.group(0) if found else ""
    docs.write_text("# Benchmarks: each page's data\n\nMade by `bench/bench_pages.py`.\n\n" + table + "\n" + kept, encoding="utf-8")
    readme = ROOT / "README.md"
    if readme.exists():
        text = readme.read_text(encoding="utf-8")
        lines = table.splitlines()
        summary = "\n".join([lines[0], "", *lines[-3:], "", "Full table: [docs/benchmarks.md](docs/benchmarks.md)."])
        text = re.sub(r"<!-- BENCH:START -->.*<!-- BENCH:END -->", f"<!-- BENCH:START -->\n{summary}\n<!-- BENCH:END -->", text, flags=re.S)
        readme.write_text(text, encoding="utf-8")
    print(table)


if __name__ == "__main__":
    main()
