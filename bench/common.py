"""What the benchmark scripts share: timing a call warm, and replacing their section of docs/benchmarks.md."""

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
