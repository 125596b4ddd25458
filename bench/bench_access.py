"""Benchmark: what a restricted scope (#17) costs: a territorial head's pages against the region's.

    .venv/bin/python bench/bench_access.py [--size 10000000] [--runs 5]

Times, warm (median of --runs after one warming call, no Streamlit cache, the median index of each
scope built first, as the app does), the data of the Overview,
the Backlog and the Map pages for the whole region (leadership) and under the scope of one direction
(a head of «Север», every table read through the scope's views), the first query on a fresh cursor
(the macros and the scope's views installed: what a script run paid before cursors were reused), a
query on a reused cursor, and the first computation of a scope's ids (once per connection and
scope). Uses the demo databases of bench_pages.py (data/bench/, built when missing). Writes its
section of docs/benchmarks.md. Not a timed test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import sys
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script from anywhere

from bench.bench_pages import PAGES, database  # noqa: E402
from bench.common import timed, write_section  # noqa: E402
from oversight import store
from oversight.access import EVERYTHING, Scope  # noqa: E402
from oversight.analysis import metrics
from oversight.filters import Filters  # noqa: E402

NORTH = Scope(territory_ids=frozenset({1}), municipality_ids=frozenset())
TWO_MUNICIPALITIES = Scope(territory_ids=frozenset(), municipality_ids=frozenset({41, 42}))
QUARTER = Filters(start=dt.date(2019, 10, 1), end=dt.date(2019, 12, 31))
YEAR = Filters(start=dt.date(2019, 1, 1), end=dt.date(2019, 12, 31))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=10_000_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    path = database(args.size)
    scopes = {"whole region": EVERYTHING, "direction «Север»": NORTH, "two municipalities": TWO_MUNICIPALITIES}
    rows = []
    cons = {}
    index_s = {}
    for label, scope in scopes.items():
        con = store.connect(path, scope)
        cons[label] = con
        started = time.perf_counter()
        metrics.prepare_median_index(con)  # per scope, as the app builds it in the background
        index_s[label] = time.perf_counter() - started
        as_of = store.dataset_info(con)["as_of"].to_pydatetime()
        for period_label, f in (("quarter", QUARTER), ("year", YEAR)):
            for page, fn in PAGES.items():
                ms = timed(lambda fn=fn, f=f, con=con, as_of=as_of: fn(con, f, as_of), args.runs)
                rows.append((label, period_label, page, ms))
                print(f"{label:22} {period_label:8} {page:9} {ms:8.0f} ms", flush=True)
    # The cost of a fresh cursor (macros + views) and of a scope's ids, against a reused cursor.
    setup = {}
    for label, scope in scopes.items():
        con = cons[label]
        fresh = []
        for _ in range(args.runs):
            started = time.perf_counter()
            cursor = store.new_cursor(con.raw)
            store.install_macros(cursor)
            if not scope.is_everything:
                store.install_scope(cursor, store.scope_ids(con))
            fresh.append((time.perf_counter() - started) * 1000)
            cursor.close()
        reused = timed(lambda con=con: store.run(con, "filter_territories"), args.runs)
        ids_ms = None
        if not scope.is_everything:
            raw = store.connect_raw(path)
            # An id no municipality has: the same rows, but a scope whose ids are not computed yet.
            fresh_scope = Scope(territory_ids=scope.territory_ids, municipality_ids=(scope.municipality_ids or frozenset()) | {10**8})
            started = time.perf_counter()
            store.scope_ids(store.scoped(raw, fresh_scope))
            ids_ms = (time.perf_counter() - started) * 1000
        setup[label] = (sorted(fresh)[len(fresh) // 2], reused, ids_ms)
        print(f"{label:22} fresh cursor {setup[label][0]:.1f} ms, reused-cursor query {reused:.1f} ms, "
              f"scope ids {ids_ms if ids_ms is None else round(ids_ms, 1)} ms", flush=True)

    lines = [
        "",
        "## Access: a restricted scope's cost (#17, bench/bench_access.py)",
        "",
        f"Machine: {platform.machine()}, Python {platform.python_version()}, DuckDB {duckdb.__version__}; "
        f"{dt.date.today()}; {args.size:,} tickets; warm = median of {args.runs} runs, no Streamlit cache. "
        "A restricted scope reads every table through temporary views that keep its rows "
        "(oversight/store.py, install_scope).",
        "",
        "| scope | period | page | warm, ms |",
        "|---|---|---|---:|",
    ]
    lines += [f"| {s} | {p} | {page} | {ms:,.0f} |" for s, p, page, ms in rows]
    lines += ["", "| scope | fresh cursor: macros + views, ms | a query on a reused cursor, ms | the scope's ids (once per connection), ms |",
              "|---|---:|---:|---:|"]
    for label, (fresh, reused, ids_ms) in setup.items():
        lines.append(f"| {label} | {fresh:.1f} | {reused:.1f} | {'—' if ids_ms is None else f'{ids_ms:.0f}'} |")
    lines += ["", "The median index, built once per connection and scope (in the background in the app): "
              + "; ".join(f"{label} {seconds:.1f} s" for label, seconds in index_s.items()) + "."]
    write_section("Access", "\n".join(lines))
    print("written to docs/benchmarks.md")


if __name__ == "__main__":
    main()
