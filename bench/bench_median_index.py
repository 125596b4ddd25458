"""Benchmark: the median index at 1 and 10 million requests, built and read back from disk.

    .venv/bin/python bench/bench_median_index.py [--dbs data/bench/demo1m.duckdb data/bench/daily10m.duckdb]

For each database, in a fresh child process each time (as a server starting): the index built with
no saved copy (the saved copies removed first), then read back from the copy the first run saved.
Reports wall time and the process's peak resident memory; writes its section of docs/benchmarks.md.
Not a timed test: figures depend on the machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import write_section  # noqa: E402


def child(path: str) -> None:
    from oversight import store
    from oversight.access import EVERYTHING
    from oversight.analysis import median_cache, metrics

    started = time.perf_counter()
    con = store.connect(path, EVERYTHING)
    opened = time.perf_counter()
    metrics.prepare_median_index(con)
    done = time.perf_counter()
    index = store.attachment(con, "median_index").index
    entries = [p for p in median_cache.cache_dir(path).iterdir() if p.is_dir()]
    print(json.dumps({
        "open_s": opened - started,
        "index_s": done - opened,
        "closed": index.count("all", 0, index.day0, index.day0 + index.n_days),
        "tickets": int(con.execute("select count(*) from tickets").fetchone()[0]),
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "disk_mb": sum(f.stat().st_size for e in entries for f in e.iterdir()) / 2**20,
    }))


def run_child(path: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", path], check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dbs", nargs="+", default=["data/bench/demo1m.duckdb", "data/bench/daily10m.duckdb"])
    parser.add_argument("--child")
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    from oversight.analysis import median_cache

    rows = []
    for db in args.dbs:
        shutil.rmtree(median_cache.cache_dir(db), ignore_errors=True)
        built = run_child(db)
        read = [run_child(db) for _ in range(3)]
        read.sort(key=lambda r: r["index_s"])
        rows.append((db, built, read[1]))
        print(db, "built", built, "read (median of 3)", read[1], flush=True)
    lines = [
        "",
        "## The median index: built, and read back from disk (#21)",
        "",
        f"Made by `bench/bench_median_index.py`, {dt.date.today().isoformat()}, {os.cpu_count()} cores; each figure a "
        "fresh process (a server starting): opening the file, then the index for the whole region. "
        "\"Read\" is the median of 3 processes reading the copy the first one saved.",
        "",
        "| requests | closed | built, s | peak memory building, MB | read from disk, s | peak memory reading, MB | on disk, MB |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for _db, built, read in rows:
        lines.append(
            f"| {built['tickets']:,} | {built['closed']:,} | {built['index_s']:.2f} | {built['peak_mb']:,.0f} | "
            f"{read['index_s']:.2f} | {read['peak_mb']:,.0f} | {built['disk_mb']:,.0f} |"
        )
    lines.append("")
    lines.append("Before this (session 9's bench_pages): 8.0 s at 1M and 13.5 s at 10M to build, every time a process "
                 "opened a new file; 8 of the 13.5 s went to pandas converting the rows.")
    write_section("The median index", "\n".join(lines))


if __name__ == "__main__":
    main()
