"""What the benchmark scripts share: timing a call warm, replacing their section of docs/benchmarks.md,
and telling when a page in the browser has settled."""

from __future__ import annotations

import re
import statistics
import time
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def timed(function, runs: int) -> float:
    """Median milliseconds of `runs` calls after a first (warming) one."""
    function()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def open_bench_database(description: str = ""):
    """The page-data benchmarks' start: --db (default data/bench/demo10m.duckdb) and --runs, the database
    opened for the whole region. Returns (args, connection, number of tickets, as_of)."""
    import argparse

    from oversight import store
    from oversight.access import EVERYTHING

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--db", default=str(DOCS.parent.parent / "data" / "bench" / "demo10m.duckdb"))
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    con = store.connect(args.db, EVERYTHING)
    tickets = int(con.execute("select count(*) from tickets").fetchone()[0])
    return args, con, tickets, store.dataset_info(con)["as_of"].to_pydatetime()


def timed_parts(name: str, parts, runs: int, width: int = 32) -> tuple[str, float, str]:
    """Time each (part, function) of what a page computes for one case, print the line and return the
    table's row: (case, total ms, "part ms, part ms")."""
    measured = [(part, timed(fn, runs)) for part, fn in parts]
    total = sum(ms for _, ms in measured)
    detail = ", ".join(f"{part} {ms:.0f}" for part, ms in measured)
    print(f"{name:{width}} {total:6.0f} ms   ({detail})", flush=True)
    return name, total, detail


def parts_table(heading: str, intro: list[str], first_column: str, rows) -> str:
    """The docs section of a timed_parts benchmark: heading, the lines that say how it was measured,
    and a table of case, total and parts."""
    return "\n".join(["", f"## {heading}", "", *intro, "",
                      f"| {first_column} | total, ms | parts, ms |", "|---|---:|---|"]
                     + [f"| {name} | {total:.0f} | {detail} |" for name, total, detail in rows])


CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def wait_healthy(base: str, seconds: float = 60.0) -> bool:
    """Wait until the Streamlit server at `base` answers its health check; False if it never did."""
    import urllib.request

    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{base}/_stcore/health", timeout=2).status == 200:
                return True
        except OSError:
            time.sleep(0.5)
    return False


def write_section(heading_start: str, section: str) -> None:
    """Put `section` (starting with a blank line and "## <heading_start>…") at the end of
    docs/benchmarks.md in place of the earlier section whose heading starts the same way."""
    text = DOCS.read_text(encoding="utf-8")
    pattern = r"\n## " + re.escape(heading_start) + r".*?(?=\n## |\Z)"
    text = re.sub(pattern, "", text, flags=re.S).rstrip() + "\n" + section + "\n"
    DOCS.write_text(text, encoding="utf-8")


# One look at the page: Streamlit's script state, then what a change would show (element and drawn
# chart counts, whether every chart has drawn, the title, the length of the page's text).
PROBE = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    const charts = [...document.querySelectorAll('[data-testid="stPlotlyChart"]')];
    const h1 = document.querySelector('h1');
    const main = document.querySelector('[data-testid="stMain"]') || document.body;
    return [app ? app.getAttribute('data-test-script-state') : '',
            document.querySelectorAll('[data-testid="stElementContainer"]').length,
            document.querySelectorAll('.js-plotly-plot .main-svg').length,
            charts.every(c => c.querySelector('.js-plotly-plot .main-svg')),
            h1 ? h1.innerText : '', main.innerText.length].join('|');
}"""


def settle(page, started: float, timeout_s: float = 120.0) -> float:
    """Seconds from `started` until the page settled: looked at every 25 ms; the last moment the
    script was running or the page changed, once it has been quiet (not running, every chart drawn,
    nothing changed) for 0.5 s. A run too short to be seen still changes the page."""
    last, changed_at, deadline = None, started, started + timeout_s
    while time.perf_counter() < deadline:
        look = page.evaluate(PROBE)
        now = time.perf_counter()
        state, rest = look.split("|", 1)
        if state == "running" or rest != last or rest.split("|")[2] != "true":
            if rest != last or state == "running":
                changed_at = now
            last = rest
        elif now - changed_at >= 0.5:
            break
        page.wait_for_timeout(25)
    return changed_at - started
