"""Benchmark: the morning export into a 10-million-request database (issue #20), and the pages while
it is imported.

    .venv/bin/python bench/bench_daily.py [--source data/bench/demo10m.duckdb] [--runs 5]
                                          [--new 24000 --changed 5000 --refused 20] [--page-seconds 60]

1. A database of real (not demo) data: a copy of the 10M demo file with is_demo = false
   (data/bench/daily10m.duckdb), so that an import goes into it rather than replacing it.
2. Two imports to set the standby up (the first ones copy the file: oversight.standby), then `--runs`
   measured ones. Each is a new day's ЕДС export from oversight.ingest.demo_daily: 24,000 new requests, 5,000
   closings, 1,000 new ratings of old requests and 20 refused rows (30,020 rows). Timed two ways:
   `import_files` from the call until the new file is published (as the Data page and the inbox
   run it), and the command line `python -m oversight import` from its start to its exit (Python's
   own start and imports included); the import's phases from its report.
3. The pages: the app is started on the database; pages are opened one after another, each by a new
   Streamlit session over its websocket protocol (the server's script run, no browser) with a period
   of its own in the link (never answered from the cache), for --page-seconds with no import, then as
   long again while imports run back to back in another process. p50 and p95 of each, and errors.

Prints the figures and writes a section of docs/benchmarks.md (not with --no-write). Not a timed test.
Budget: the import ≤ 5 s (median of 5); the pages' p95 during imports ≤ 2× without.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import duckdb  # noqa: E402
from bench_load import PAGES, loopback_only, percentile, start_server  # noqa: E402
from common import write_section  # noqa: E402

from oversight import standby  # noqa: E402
from oversight.analysis import median_cache  # noqa: E402
from oversight.ingest import demo_daily, importer  # noqa: E402

DEFAULT_PAGES = ("overview", "backlog", "map", "drill", "compliance")


def prepare(source: Path, db: Path, fresh: bool) -> None:
    if db.exists() and not fresh:
        return
    print(f"copying {source} to {db}…", flush=True)
    for stale in (db, standby.standby_path(db), Path(str(db) + ".wal")):
        stale.unlink(missing_ok=True)
    shutil.copy(source, db)
    with duckdb.connect(str(db)) as con:
        con.execute("update dataset set is_demo = false")
        con.execute("checkpoint")


def one_day(db: Path, folder: Path, seed: int, args) -> Path:
    export = folder / f"day{seed}.csv"
    demo_daily.daily_export(db, export, new=args.new, changed=args.changed, refused=args.refused, hours=24, seed=seed)
    return export


def import_in_process(db: Path, export: Path) -> tuple[float, importer.Report, float, str]:
    """The import until the new file is published, then (as the inbox does next) the new file's
    median index saved: timed apart, since the dashboard already reads the file (medians from SQL)."""
    started = time.perf_counter()
    report = importer.import_files([export], db, "eds")
    published = time.perf_counter()
    how = median_cache.save_after_import(db)
    return published - started, report, time.perf_counter() - published, how


def import_by_cli(db: Path, export: Path) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "oversight", "import", "--db", str(db), str(export)], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


async def cold_load(base: str, spec, query: str) -> tuple[float | None, str | None]:
    """One page opened by a new session (Streamlit's websocket protocol, as bench_load.protocol_session
    speaks it) with filters in its link: timed from the request to the script run's end. A period of
    its own per load, so no load is answered from the cache and every one costs what the page costs."""
    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    url = loopback_only(base).replace("http", "ws", 1) + "/_stcore/stream"
    message = BackMsg()
    message.rerun_script.query_string = query
    message.rerun_script.page_name = "" if spec.default else spec.url_path
    async with websockets.connect(url, subprotocols=["streamlit"], max_size=None, open_timeout=60,
                                  ping_interval=None) as ws:
        started = time.perf_counter()
        await ws.send(message.SerializeToString())
        while True:
            raw = await asyncio.wait_for(ws.recv(), 120)
            forward = ForwardMsg()
            forward.ParseFromString(raw)
            kind = forward.WhichOneof("type")
            if kind == "delta" and forward.delta.WhichOneof("type") == "new_element" \
                    and forward.delta.new_element.WhichOneof("type") == "exception":
                return None, "exception shown"
            if kind == "script_finished":
                return time.perf_counter() - started, None


def page_loads(base: str, specs, seconds: float, seed: int) -> list[tuple[str, float | None, str | None]]:
    """Pages opened one after another for `seconds`, each with another 28-day period of 2019."""
    import random

    rng = random.Random(seed)
    loads, deadline, i = [], time.time() + seconds, 0
    while time.time() < deadline:
        start = dt.date(2019, 1, 1) + dt.timedelta(days=rng.randrange(330))
        query = f"lang=ru&from={start.isoformat()}&to={(start + dt.timedelta(days=27)).isoformat()}"
        spec = specs[i % len(specs)]
        try:
            loads.append((spec.url_path, *asyncio.run(cold_load(base, spec, query))))
        except Exception as error:  # noqa: BLE001 - counted as an error of the page load
            loads.append((spec.url_path, None, f"{type(error).__name__}: {error}"))
        i += 1
    return loads


def pages_phase(db: Path, folder: Path, args, seed0: int) -> dict:
    specs = [p for p in PAGES if p.url_path in args.pages]
    server, base = start_server(db, None, folder / "access.duckdb")  # not pinned: the machine as it is
    try:
        page_loads(base, specs, 20, 0)  # warm: the file opened, the median index built, Python's imports done
        quiet = page_loads(base, specs, args.page_seconds, 1)
        env = os.environ | {"PYTHONPATH": str(ROOT)}
        exports = [one_day(db, folder, seed0 + i, args) for i in range(12)]
        importer_process = subprocess.Popen(
            # As the inbox runs each file: the import, then the new file's median index saved.
            [sys.executable, "-c", "import sys, time\nfrom oversight.analysis import median_cache\nfrom oversight.ingest import importer\nfor f in sys.argv[2:]:\n"
             "    importer.import_files([f], sys.argv[1], 'eds')\n    median_cache.save_after_import(sys.argv[1])\n",
             str(db), *map(str, exports)],
            cwd=ROOT, env=env, preexec_fn=lambda: os.nice(args.nice))
        busy = page_loads(base, specs, args.page_seconds, 2)
        importer_process.wait()
    finally:
        server.terminate()
        server.wait(timeout=30)
    return {"quiet": quiet, "busy": busy}


def figures(loads: list, page: str | None = None) -> tuple[float, float, int, int]:
    loads = [load for load in loads if page is None or load[0] == page]
    times = [seconds for _, seconds, _ in loads if seconds is not None] or [float("nan")]
    errors = sum(1 for _, _, error in loads if error)
    return statistics.median(times), percentile(times, 95), len(times), errors


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", type=Path, default=ROOT / "data" / "bench" / "demo10m.duckdb")
    parser.add_argument("--db", type=Path, default=ROOT / "data" / "bench" / "daily10m.duckdb")
    parser.add_argument("--fresh", action="store_true", help="copy the source again")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--new", type=int, default=24_000)
    parser.add_argument("--changed", type=int, default=5_000)
    parser.add_argument("--refused", type=int, default=20)
    parser.add_argument("--page-seconds", type=float, default=60.0)
    parser.add_argument("--pages", default=",".join(DEFAULT_PAGES))
    parser.add_argument("--no-pages", action="store_true")
    parser.add_argument("--nice", type=int, default=10,
                        help="the background imports' niceness (docs/daily.md's systemd unit runs the inbox with Nice=10)")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    args.pages = args.pages.split(",")
    prepare(args.source, args.db, args.fresh)
    load_before = os.getloadavg()
    rows = []
    with tempfile.TemporaryDirectory(dir=args.db.parent) as tmp:
        folder = Path(tmp)
        seed = int(time.time()) % 100_000
        for _ in range(2):  # the standby set up
            seconds, report, index_s, how = import_in_process(args.db, one_day(args.db, folder, seed, args))
            seed += 1
            print(f"set-up import: {seconds:.2f} s, copied={report.copied}, median index {how} in {index_s:.2f} s", flush=True)
        for run in range(args.runs):
            seconds, report, index_s, how = import_in_process(args.db, one_day(args.db, folder, seed, args))
            seed += 1
            cli = import_by_cli(args.db, one_day(args.db, folder, seed, args))
            seed += 1
            rows.append((seconds, cli, report, index_s, how))
            print(f"run {run + 1}: {seconds:.2f} s in process (then the median index {how} in {index_s:.2f} s), "
                  f"{cli:.2f} s by the command line; rows "
                  f"{report.rows_read}, inserted {report.inserted}, updated {report.updated}, refused {report.rejected}, "
                  f"copied={report.copied}, incremental={report.incremental}, {report.phases}", flush=True)
        pages = None if args.no_pages else pages_phase(args.db, folder, args, seed)
    load_after = os.getloadavg()
    with duckdb.connect(str(args.db), read_only=True) as con:
        tickets = con.execute("select count(*) from tickets").fetchone()[0]
    median_in = statistics.median(r[0] for r in rows)
    median_cli = statistics.median(r[1] for r in rows)
    phases = {name: statistics.median(r[2].phases.get(name, 0.0) for r in rows) for name in rows[0][2].phases}
    lines = [
        "",
        "## The morning export into 10M requests (`bench/bench_daily.py`, issue #20)",
        "",
        f"{time.strftime('%Y-%m-%d')}; {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"DuckDB {duckdb.__version__}; {tickets:,} requests after the runs; load average before "
        f"{load_before[0]:.2f}, after {load_after[0]:.2f}. Each export: {rows[0][2].rows_read:,} rows "
        f"({args.new:,} new requests, {args.changed:,} closed, {args.changed // 5:,} re-rated, {args.refused} refused). "
        "The import writes the standby copy and swaps it in (oversight.standby); the derived tables are "
        "brought up to date, not rebuilt (oversight.derived).",
        "",
        f"| | median of {args.runs} | each run |",
        "|---|---|---|",
        f"| **import, from the call until the dashboard reads the new file** | **{median_in:.2f} s** | "
        + ", ".join(f"{r[0]:.2f}" for r in rows) + " |",
        f"| then the new file's median index saved (oversight.analysis.median_cache; {', '.join(sorted({r[4] for r in rows}))}) "
        f"| {statistics.median(r[3] for r in rows):.2f} s | " + ", ".join(f"{r[3]:.2f}" for r in rows) + " |",
        f"| command line `python -m oversight import`, start to exit (the index included) | {median_cli:.2f} s | "
        + ", ".join(f"{r[1]:.2f}" for r in rows) + " |",
    ]
    for name, value in phases.items():
        lines.append(f"| step: {name} | {value:.2f} s | " + ", ".join(f"{r[2].phases.get(name, 0):.2f}" for r in rows) + " |")
    lines.append("")
    lines.append(f"Budget: ≤ 5 s (median of {args.runs}): "
                 + ("met." if median_in <= 5 else f"**missed** ({median_in:.2f} s)."))
    if pages:
        q50, q95, qn, qe = figures(pages["quiet"])
        b50, b95, bn, be = figures(pages["busy"])
        lines += [
            "",
            f"Pages ({', '.join(args.pages)}), opened one after another for {args.page_seconds:.0f} s, each by a new "
            f"Streamlit session; the imports in another process at niceness {args.nice} (as the inbox's systemd unit runs "
            "them), each one "
            "publishing a new file, so that the next page runs open it; each page run by its own session (the websocket "
            "protocol, no browser) with a 28-day period of its own in the link, so that none is answered from the "
            "cache; timed from the request to the end of the script run:",
            "",
            "| | page runs | p50 | p95 | errors |",
            "|---|---|---|---|---|",
            f"| no import | {qn} | {q50 * 1000:.0f} ms | {q95 * 1000:.0f} ms | {qe} |",
            f"| imports back to back | {bn} | {b50 * 1000:.0f} ms | {b95 * 1000:.0f} ms | {be} |",
            *(f"| {page}: no import / during imports | {figures(pages['quiet'], page)[2]} / {figures(pages['busy'], page)[2]} "
              f"| {figures(pages['quiet'], page)[0] * 1000:.0f} / {figures(pages['busy'], page)[0] * 1000:.0f} ms "
              f"| {figures(pages['quiet'], page)[1] * 1000:.0f} / {figures(pages['busy'], page)[1] * 1000:.0f} ms | |"
              for page in args.pages),
            "",
            f"p95 during imports / without: {b95 / q95:.2f}× (budget ≤ 2×: {'met' if b95 <= 2 * q95 else 'missed'}).",
        ]
    section = "\n".join(lines)
    print(section)
    if not args.no_write:
        write_section("The morning export into 10M requests", section)


if __name__ == "__main__":
    main()
