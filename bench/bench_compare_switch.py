"""Benchmark: switching the event on the Before/after page (issue #19), at 1M tickets.

    .venv/bin/python -m oversight demo --db /tmp/1m.duckdb --tickets 1000000
    .venv/bin/python bench/bench_compare_switch.py --db /tmp/1m.duckdb [--runs 5] [--contention 1]
        [--browser] [--json out.json] [--baseline before.json] [--no-write]

Times what a switch costs the server, two ways:
- the library calls a rerun makes when the event changes (the comparison: daily series, every
  interval, the difference-in-differences; and the interrupted time series), per event of the
  register, median of --runs after a first call; with --contention N, again while N busy-loop
  processes compete for the cores (what a shared server sees; this is where the iterative fits of
  the old code blew up);
- an AppTest rerun of the whole page after choosing each event in turn (each one's results not yet
  cached: what a user waits for on the server side), then again with another number of days;
- with --browser, in chromium: from the click on another event until the new conclusion shows.
--json keeps the figures; --baseline adds a "before" column from such a file (the same script run
on the code before the change). Writes its section at the end of docs/benchmarks.md unless
--no-write. Not a timed test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from bench.common import CHROMIUM_ARGS, wait_healthy  # noqa: E402
from oversight import store  # noqa: E402
from oversight.access import EVERYTHING  # noqa: E402
from oversight.analysis import compare  # noqa: E402
from oversight.filters import Filters  # noqa: E402

HEADING = "Before/after: switching the event"


def library_switch(con, as_of, event) -> None:
    """What app_pages/compare.py computes for one event with the page's defaults (90 days)."""
    day = event.event_date.date()
    periods = compare.Periods.around(day, 90)
    last_day = (as_of - dt.timedelta(days=1)).date()
    if periods.after_end > last_day:
        periods = replace(periods, after_end=max(last_day, periods.after_start))
    orgs = [int(event.organization_id)] if pd.notna(event.organization_id) else []
    treated = [int(event.municipality_id)] if pd.notna(event.municipality_id) and not orgs else []
    scope = Filters(periods.before_start, periods.after_end)
    compare.compare(con, scope, as_of, periods, treated, orgs)
    if treated or orgs:
        compare.interrupted_series(con, scope, as_of, day, treated, 26, orgs)


def time_library(con, as_of, events, runs: int) -> dict[str, float]:
    out = {}
    for event in events.itertuples():
        library_switch(con, as_of, event)  # first call: imports, DuckDB buffers
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            library_switch(con, as_of, event)
            times.append((time.perf_counter() - started) * 1000)
        out[str(event.event_id)] = statistics.median(times)
    return out


def time_apptest(db: str, events) -> list[float]:
    """Open the page, then choose each event in turn, then each again with 83 days: every switch
    finds its results uncached. Milliseconds of each rerun."""
    from streamlit.testing.v1 import AppTest

    os.environ["OVERSIGHT_DB"] = db
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=600)
    at.query_params["lang"] = "ru"
    at.run()
    at.switch_page("app_pages/compare.py").run()
    opened = at.selectbox(key="pg_event").value
    times = []
    for days in (90, 83):
        if days != 90:
            at.slider(key="cmp_days").set_value(days).run()
        for event_id in [str(e) for e in events["event_id"]]:
            if event_id == opened and days == 90:
                continue  # its results were computed when the page opened
            at.selectbox(key="pg_event").set_value(event_id)
            started = time.perf_counter()
            at.run()
            times.append((time.perf_counter() - started) * 1000)
            if at.exception:
                raise SystemExit(str(at.exception))
    return times


def time_browser(db: str, events, root: Path = ROOT) -> list[float]:
    """In Debian's chromium (1366×768): open the page, then choose each other event from the list;
    milliseconds from the click until the script run has finished and the conclusion has changed."""
    import socket

    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "serve.py", "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port)],
        cwd=root, env={**os.environ, "OVERSIGHT_DB": db}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    conclusion = ("() => [...document.querySelectorAll('[data-testid=\"stAlertContentSuccess\"],"
                  "[data-testid=\"stAlertContentInfo\"],[data-testid=\"stAlertContentError\"]')].map(e => e.innerText).join('|')")
    done = ("(old) => document.querySelector('[data-testid=\"stApp\"]').getAttribute('data-test-script-state') === 'notRunning'"
            f" && ({conclusion})() !== old")
    args = CHROMIUM_ARGS
    times = []
    try:
        wait_healthy(base)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=args)
            page = browser.new_page(viewport={"width": 1366, "height": 768})
            first = int(events["event_id"].iloc[0])
            page.goto(f"{base}/compare?lang=ru&event={first}")
            page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=300_000)
            page.wait_for_selector('[data-testid="stAlert"]', timeout=300_000)
            for event in events.iloc[1:].itertuples():
                before = page.evaluate(conclusion)
                page.locator('[data-testid="stSelectbox"]').filter(has_text="Событие").first.click()
                option = page.locator('[role="option"]').filter(has_text=event.event_date.strftime("%d.%m.%Y")).first
                started = time.perf_counter()
                option.click()
                page.wait_for_function(done, arg=before, timeout=300_000)
                times.append((time.perf_counter() - started) * 1000)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default=str(ROOT / "data" / "bench" / "demo1m.duckdb"))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--contention", type=int, default=1, help="busy-loop processes for the contended run (0: none)")
    parser.add_argument("--json", help="write the figures to this file")
    parser.add_argument("--baseline", help="figures of the code before the change (a --json file)")
    parser.add_argument("--no-write", action="store_true", help="do not touch docs/benchmarks.md")
    parser.add_argument("--browser", action="store_true", help="also time the switch in chromium")
    parser.add_argument("--reuse", help="write the section from a --json file of an earlier run instead of measuring")
    args = parser.parse_args()
    con = store.connect(args.db, EVERYTHING)
    tickets = int(con.execute("select count(*) from tickets").fetchone()[0])
    as_of = store.dataset_info(con)["as_of"].to_pydatetime()
    events = store.run(con, "events_all")
    labels = {str(e.event_id): f"{e.event_date.date()} {e.kind}" for e in events.itertuples()}

    load_at_start = os.getloadavg()[0]
    if args.reuse:  # rewrite the section from figures kept earlier (--json), measuring nothing
        figures = json.loads(Path(args.reuse).read_text(encoding="utf-8"))
    else:
        figures = measure(args, con, as_of, events, labels, tickets, load_at_start)
    if args.json:
        Path(args.json).write_text(json.dumps(figures), encoding="utf-8")
    if args.no_write:
        return
    write(args, figures, labels)


def measure(args, con, as_of, events, labels, tickets, load_at_start) -> dict:
    figures = {"tickets": tickets, "runs": args.runs, "contention": args.contention,
               "library": time_library(con, as_of, events, args.runs)}
    print("library, load as found:", {labels[k]: round(v) for k, v in figures["library"].items()}, flush=True)
    if args.contention:
        hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(args.contention)]
        try:
            figures["library_contended"] = time_library(con, as_of, events, args.runs)
        finally:
            for hog in hogs:
                hog.kill()
                hog.wait()
        print("library, one more busy process:", {labels[k]: round(v) for k, v in figures["library_contended"].items()}, flush=True)
    figures["apptest"] = time_apptest(args.db, events)
    print("AppTest reruns, ms:", [round(v) for v in figures["apptest"]], flush=True)
    if args.browser:
        figures["browser"] = time_browser(args.db, events)
        print("browser switches, ms:", [round(v) for v in figures["browser"]], flush=True)
    figures["load"] = [load_at_start, os.getloadavg()[0]]
    return figures


def write(args, figures: dict, labels: dict) -> None:
    tickets = figures["tickets"]
    base = json.loads(Path(args.baseline).read_text(encoding="utf-8")) if args.baseline else None

    def cells(key: str, event_id: str) -> str:
        now = f"{figures[key][event_id]:.0f}" if key in figures else "—"
        if base is None:
            return now
        before = f"{base[key][event_id]:.0f}" if key in base and event_id in base[key] else "—"
        return f"{before} | {now}"

    def summary(values) -> str:
        return f"{statistics.median(values):.0f} / {max(values):.0f}"

    before_cols = base is not None
    head_lib = ("| event | load as found, before | as found, after | one more busy process, before | after |" if before_cols
                else "| event | load as found, ms | one more busy process, ms |")
    rule = "|---|---:|---:|---:|---:|" if before_cols else "|---|---:|---:|"
    lines = ["", f"## {HEADING} ({tickets:,} tickets, `bench/bench_compare_switch.py`, #19)", "",
             f"{dt.date.today()}, 2 shared cores. What the server does when another event is chosen. Library: the comparison",
             "and the interrupted time series a rerun computes for each event (page defaults, 90 days either side), median of",
             f"{figures.get('runs', args.runs)} runs, ms, under the machine's load as found, then with "
             f"{figures.get('contention', args.contention)} more busy-loop process(es) competing",
             "for the cores. The old difference-in-differences fitted a GLM with a dummy per day (about 180 columns) by",
             "iterative least squares in multi-threaded BLAS, and every municipality and direction had an iterative fit of",
             "its own: seconds when the cores are busy, and wildly variable (the same call took 0.5 to 9 s in a row here).",
             "Both models are now closed forms, equal to the statsmodels fits to 1e-6 (tests/test_compare.py), and the",
             "groups' daily series are summed from numpy arrays instead of selected DataFrame columns.", "",
             head_lib, rule]
    for event_id, label in labels.items():
        lines.append(f"| {label} | {cells('library', event_id)} | {cells('library_contended', event_id)} |")
    lines += ["", "Whole page rerun after choosing an event (AppTest: every event, then every event with 83 days; no",
              "result cached), median / slowest, ms:", ""]
    rows = [("AppTest rerun", "apptest")]
    if "browser" in figures:
        rows.append(("in chromium: from the click on another event until the run finished and the new "
                     "conclusion showed (every event in turn, newest first)", "browser"))
    if before_cols:
        lines += ["| | before | after |", "|---|---:|---:|"]
        lines += [f"| {name} | {summary(base[key]) if key in base else '—'} | {summary(figures[key])} |" for name, key in rows]
    else:
        lines += ["| | ms |", "|---|---:|"] + [f"| {name} | {summary(figures[key])} |" for name, key in rows]
    load = f"{figures['load'][0]:.1f} at the start, {figures['load'][1]:.1f} at the end"
    if before_cols and "load" in base:
        load += f" (before: {base['load'][0]:.1f} and {base['load'][1]:.1f}; the two runs were back to back)"
    lines += ["", f"The machine's one-minute load average (two cores, other work running): {load}."]
    section = "\n".join(lines)
    from bench.common import write_section

    write_section(HEADING, section)
    print(section)


if __name__ == "__main__":
    main()
