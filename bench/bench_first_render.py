"""Benchmark: how long each page takes to render in a real browser, first and again.

    .venv/bin/python bench/bench_first_render.py [--db data/bench/demo10m.duckdb] [--runs 3]

Starts the app on a free loopback port against the database, opens each page in Debian's chromium
and times from navigation until Streamlit reports the script run finished, and until the page has
settled with every chart drawn. "first" is the first visit right after the server answers (what its
start warmed up is ready, what it warms in the background may not be yet); "other filters" are new
tabs on the same server with a direction chosen (result cache cold for those). Each page gets a server
of its own, so no page is measured on results another page cached. For scale it also times a
one-line Streamlit app the same way. Appends its table to docs/benchmarks.md. Not a timed test.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

sys.path.insert(0, str(ROOT / "bench"))

from common import CHROMIUM_ARGS, settle, wait_healthy  # noqa: E402

from oversight.navigation import PAGES  # noqa: E402

ARGS = CHROMIUM_ARGS


VIEWPORT = {"width": 1366, "height": 768}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(script: str, db: str, port: int | None = None) -> tuple[subprocess.Popen, str]:
    port = port or free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", script, "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port)],
        cwd=ROOT, env={**os.environ, "OVERSIGHT_DB": db}, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    wait_healthy(base)
    return server, base


def render_ms(browser, url: str) -> tuple[float, float]:  # browser: a Browser (a new profile each page) or a context
    """Milliseconds from navigation until Streamlit's script run is over, and until the page has
    settled: every chart drawn and nothing added for 0.5 s (bench/common.settle; the quiet half
    second not counted). Streamlit loads plotly only when the first chart arrives, so a page's
    charts are drawn well after its script run."""
    page = browser.new_page(**({"viewport": VIEWPORT} if hasattr(browser, "new_context") else {}))
    started = time.perf_counter()
    page.goto(url)
    page.wait_for_selector("h1", timeout=120_000)
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=120_000)
    over = (time.perf_counter() - started) * 1000
    drawn = settle(page, started) * 1000
    page.close()
    return over, max(over, drawn)


HELLO = 'import streamlit as st\nst.title("Привет")\n'
HELLO_PLOTLY = HELLO + 'import plotly.graph_objects as go\nst.plotly_chart(go.Figure(go.Bar(x=[1, 2, 3], y=[3, 1, 2])))\n'


def baseline_ms(browser, runs: int, source: str = HELLO, port: int | None = None) -> float:
    """The same measure for a one-line Streamlit app (or one with a single tiny plotly chart): what
    the browser, Streamlit and plotly cost here whatever the page does."""
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "hello.py"
        script.write_text(source, encoding="utf-8")
        server, base = start(str(script), "", port)
        try:
            return statistics.median(render_ms(browser, base + "/")[1] for _ in range(runs))
        finally:
            server.terminate()
            server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default=str(ROOT / "data" / "bench" / "demo10m.duckdb"))
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    rows = []
    # Every server on the same port, so that a browser that has opened the dashboard before has
    # Streamlit's front end in its cache (its files are named by their content's hash and sent as
    # immutable): a person in the agency after a server restart. A new browser profile, with nothing
    # cached, is measured beside it.
    port = free_port()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        returning = browser.new_context(viewport=VIEWPORT)
        baseline_ms(returning, 1, HELLO_PLOTLY, port)  # the front end and plotly in its cache
        # A server of its own for each page, so no page finds results another page left in the cache.
        for spec in PAGES:
            server, base = start("serve.py", args.db, port)
            try:
                first = render_ms(returning, f"{base}{spec.url}?lang=ru")
                new_browser = render_ms(browser, f"{base}{spec.url}?lang=ru&dir=1")
                others = [render_ms(returning, f"{base}{spec.url}?lang=ru&dir={1 + i % 4}") for i in range(args.runs)]
                again = tuple(statistics.median(o[k] for o in others) for k in (0, 1))
            finally:
                server.terminate()
                server.wait(timeout=30)
            rows.append((spec.url_path, first, new_browser, again))
            print(f"{spec.url_path:10} first {first[0]:6.0f} / {first[1]:6.0f} ms   new browser {new_browser[1]:6.0f} ms   "
                  f"other filters {again[0]:6.0f} / {again[1]:6.0f} ms", flush=True)
        hello = baseline_ms(returning, args.runs, port=port)
        hello_plotly = baseline_ms(returning, args.runs, HELLO_PLOTLY, port)
        hello_new = baseline_ms(browser, args.runs, HELLO_PLOTLY, port)
        browser.close()
    table = "\n".join(
        ["", f"## Page render in the browser ({Path(args.db).name}, `bench/bench_first_render.py`)", "",
         f"{time.strftime('%Y-%m-%d')}; headless Chromium (no GPU) at 1366×768 on this machine's 2 cores, beside the "
         "server. From navigation until Streamlit's script run has finished (\"run over\"), and until the page has "
         "settled (every chart drawn, nothing added for 0.5 s, not counted). Each page has a server of its own (no "
         "results cached by another page). **First visit**: right after the server answers, in a browser that has "
         "opened the dashboard before (Streamlit's front end in its cache: a person in the agency after a restart). "
         "**New browser**: next, in a browser profile with nothing cached (all 10 MB of the front end fetched and "
         f"compiled). **Other filters**: the median of {args.runs} visits with a direction chosen, in the first "
         f"browser. For scale, by the same measure: a one-line Streamlit app settles in {hello:.0f} ms; one with a "
         f"single three-bar plotly chart in {hello_plotly:.0f} ms, and in {hello_new:.0f} ms in a new browser. "
         "Goal (#21): the first visit settled in ≤ 3 s.", "",
         "| page | first visit: run over, ms | first visit: settled, ms | new browser: settled, ms | "
         "other filters: settled, ms |", "|---|---:|---:|---:|---:|"]
        + [f"| {name} | {first[0]:.0f} | {first[1]:.0f} | {new[1]:.0f} | {again[1]:.0f} |"
           for name, first, new, again in rows]
    )
    docs = ROOT / "docs" / "benchmarks.md"
    text = docs.read_text(encoding="utf-8") if docs.exists() else "# Benchmarks\n"
    # Replace only this section: other benchmarks write their own sections to the same file.
    text = re.sub(r"\n## Page render in the browser.*?(?=\n## |\Z)", "", text, flags=re.S).rstrip() + "\n" + table + "\n"
    docs.write_text(text, encoding="utf-8")
    print(table)


if __name__ == "__main__":
    main()
