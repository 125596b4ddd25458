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
