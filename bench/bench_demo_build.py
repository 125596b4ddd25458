"""Benchmark: building the demo database, wall time and peak memory (issue #21: 10M in ≤ 120 s, ≤ 4 GB).

    .venv/bin/python bench/bench_demo_build.py [--tickets 10000000] [--no-write]

Builds the demo into a temporary folder in a child process (`oversight.ingest.demo.build_demo_database`, as the
app's first run and `python -m oversight demo` do), and follows the child's resident memory: the peak
of the whole build (the kernel's VmHWM, read just before the child exits) and the peak in each step
the build reports (sampled every 50 ms). Writes its section of docs/benchmarks.md (not with --no-write).
Not a timed test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

from common import write_section  # noqa: E402

# The child: builds, printing each step with its time and the process's current and peak resident
# memory (a thread samples the current size every 50 ms; VmHWM is the kernel's own peak).
CHILD = r"""
import json, sys, threading, time
from pathlib import Path
from oversight.ingest.demo import DemoSpec, build_demo_database

def status(name):
    for line in open("/proc/self/status"):
        if line.startswith(name + ":"):
            return int(line.split()[1]) / 1024
peak = {"step": 0.0}
def sample():
    while True:
        peak["step"] = max(peak["step"], status("VmRSS"))
        time.sleep(0.05)
threading.Thread(target=sample, daemon=True).start()
started = time.perf_counter()
def progress(fraction, message):
    print(json.dumps({"t": time.perf_counter() - started, "fraction": fraction, "message": message,
                      "step_peak_mb": peak["step"], "rss_mb": status("VmRSS")}), flush=True)
    peak["step"] = status("VmRSS")
build_demo_database(Path(sys.argv[1]), DemoSpec(tickets=int(sys.argv[2])), progress)
print(json.dumps({"t": time.perf_counter() - started, "message": "end", "hwm_mb": status("VmHWM"),
                  "step_peak_mb": peak["step"]}), flush=True)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tickets", type=int, default=10_000_000)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(dir=ROOT / "data") as tmp:
        path = Path(tmp) / "demo.duckdb"
        started = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", CHILD, str(path), str(args.tickets)], cwd=ROOT,
                             capture_output=True, text=True, check=True).stdout
        wall = time.perf_counter() - started
        size_mb = path.stat().st_size / 2**20
    events = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    end = events[-1]
    # Each step's peak is reported when the next step starts: pair them up.
    steps, previous = [], None
    for event in events:
        if previous is not None:
            steps.append((previous["message"], event["t"] - previous["t"], event["step_peak_mb"]))
        previous = event
    # The parts repeat the same steps: summed per step (time) and the highest (memory).
    totals: dict[str, list[float]] = {}
    for name, seconds, peak in steps:
        total = totals.setdefault(name, [0.0, 0.0, 0])
        total[0] += seconds
        total[1] = max(total[1], peak)
        total[2] += 1
    steps = [(f"{name} (×{n})" if n > 1 else name, seconds, peak) for name, (seconds, peak, n) in totals.items()]
    for name, seconds, peak in steps:
        print(f"{name:18} {seconds:6.1f} s  peak {peak:7.0f} MB")
    print(f"wall {wall:.1f} s (build {end['t']:.1f} s), peak resident {end['hwm_mb']:.0f} MB, file {size_mb:.0f} MB")
    section = "\n".join([
        "",
        f"## Demo database build (`bench/bench_demo_build.py`, {args.tickets:,} requests)",
        "",
        f"{dt.date.today()}; {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}; "
        f"load average before {load_before[0]:.2f}, after {os.getloadavg()[0]:.2f}. The build as the app's first run "
        "and `python -m oversight demo` make it (oversight.ingest.demo.build_demo_database), in a child process: "
        "requests drawn and written in parts of at most 1,000,000 (oversight.ingest.demo.CHUNK_TICKETS), then the "
        "derived tables. Goal (#21): ≤ 120 s and ≤ 4 GB peak memory.",
        "",
        f"**{wall:.1f} s wall, {end['hwm_mb'] / 1024:.2f} GB peak resident memory** (the kernel's VmHWM); "
        f"the file is {size_mb:,.0f} MB.",
        "",
        "Per step as the progress bar names it (a step after which a part is written includes the writing; "
        "\"writing\" is the other tables and the derived tables; ×k: the step of k parts, summed):",
        "",
        "| step | s | peak resident, MB |",
        "|---|---:|---:|",
        *(f"| {name} | {seconds:.1f} | {peak:,.0f} |" for name, seconds, peak in steps),
    ])
    print(section)
    if not args.no_write:
        write_section("Demo database build", section)


if __name__ == "__main__":
    main()
