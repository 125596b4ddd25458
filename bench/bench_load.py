"""Benchmark: page loads under concurrent sessions (issue #18 item 12).

    .venv/bin/python bench/bench_load.py [--db PATH | --big] [--sessions 1,20] [--nav click|goto]
                                         [--pages overview,backlog,map,drill,compliance] [--budget-s 1200]

Starts the app (`streamlit run dashboard.py`) on 127.0.0.1 on a free port against a demo database
(built with `python -m oversight demo` when missing: 1M requests by default; `--big` takes the 10M file
data/bench/demo10m.duckdb), pins the server to one CPU and this process with Playwright's driver and
every chromium process to the other (children inherit the affinity; the script checks them), warms the
server up (one visit of every page: database opened, median index built, results cached), then runs S
concurrent sessions for each S of --sessions. A session is a browser context of one shared chromium
(one Streamlit session: it opens its first page by URL and reaches the others through the sidebar's
navigation, as a person does; `--nav goto` opens every page by URL instead) visiting the pages in
sequence, each session starting at another page so that they do not all ask for the same page at once.
One page load is timed from the navigation until it has settled, as tests/test_browser.py's Visit
judges it: the page's H1 is shown, the script run has finished (data-test-script-state="notRunning"),
every plotly chart has drawn and the element counts have stayed the same for a second (the time taken
is when they last changed, not the second waited). "script done" is the time until the run finished.

Bounded: one budget for the whole benchmark (--budget-s), 120 s per page load, a fixed number of page
loads; the only address it talks to is the server it started on loopback (any other URL is refused,
and chromium resolves no other host name). Prints the figures and writes a section of
docs/benchmarks.md (not with --no-write). Not a timed test.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import math
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from common import write_section  # noqa: E402

from oversight.i18n import t  # noqa: E402
from oversight.navigation import PAGES  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run",
        # Nothing but loopback: any other host name does not resolve.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost"]
DEFAULT_PAGES = ("overview", "backlog", "map", "drill", "compliance")
PAGE_TIMEOUT_MS = 120_000
LANG = "ru"

# Settled, judged in the page itself (no round trip to the driver per probe, so that twenty pages being
# watched cost the load generator little): the element counts Visit watches, every plotly chart drawn,
# nothing changed for a second. Returns the wall-clock time (ms) of the last change.
SETTLED = """token => {
    const s = (window.__settle && window.__settle.token === token) ? window.__settle
        : (window.__settle = {token, last: null, at: Date.now()});
    const now = [document.querySelectorAll('[data-testid="stElementContainer"]').length,
                 document.querySelectorAll('.js-plotly-plot .main-svg').length,
                 document.querySelectorAll('[data-testid="stDataFrame"] canvas').length].join();
    const ready = [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
        .every(c => c.querySelector('.js-plotly-plot .main-svg'));
    const t = Date.now();
    if (now !== s.last || !ready) { s.last = now; s.at = t; return false; }
    return t - s.at >= 1000 ? s.at : false;
}"""
RUN_DONE = """title => [...document.querySelectorAll('h1')].some(h => h.innerText.trim() === title)
    && !!document.querySelector('[data-testid="stApp"][data-test-script-state="notRunning"]')"""


def loopback_only(url: str) -> str:
    host = urlparse(url).hostname
    if urlparse(url).scheme not in ("http", "https") or host not in LOOPBACK:
        raise SystemExit(f"refusing {url!r}: this benchmark talks to loopback only")
    return url


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- processes: affinity, CPU, memory


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (its threads included), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def status_field(pid: int, name: str) -> str:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(name + ":"):
                return line.split(":", 1)[1].strip()
    return ""


def core_busy() -> dict[int, tuple[float, float]]:
    """Per core: (busy, total) jiffies since boot, from /proc/stat (every process of the machine)."""
    out = {}
    with open("/proc/stat") as f:
        for line in f:
            if line.startswith("cpu") and line[3].isdigit():
                name, *values = line.split()
                v = [int(x) for x in values]
                idle = v[3] + v[4]
                out[int(name[3:])] = (sum(v[:8]) - idle, sum(v[:8]))
    return out


class Sampler:
    """Samples, twice a second, the server's resident memory and the CPU time of the load generator
    (this process and every process it started, chromium included: a closed renderer's last sample counts)."""

    def __init__(self, server_pid: int):
        self.server_pid = server_pid
        self.peak_rss_kb = 0
        self.client_cpu: dict[int, float] = {}
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            self.sample()
            self.stop.wait(0.5)

    def sample(self) -> None:
        try:
            self.peak_rss_kb = max(self.peak_rss_kb, int(status_field(self.server_pid, "VmRSS").split()[0]))
        except (OSError, ValueError, IndexError):
            pass
        server = {self.server_pid, *descendants(self.server_pid)}
        for pid in [os.getpid(), *descendants(os.getpid())]:
            if pid in server:
                continue
            try:
                self.client_cpu[pid] = cpu_seconds(pid)
            except OSError:
                pass

    def client_seconds(self) -> float:
        return sum(self.client_cpu.values())


# ---------------------------------------------------------------- the server


def ensure_db(path: Path, tickets: int) -> None:
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    print(f"building {path} ({tickets:,} requests)…", flush=True)
    subprocess.run([sys.executable, "-m", "oversight", "demo", "--db", str(path), "--tickets", str(tickets)],
                   cwd=ROOT, check=True)


def start_server(db: Path, cpu: int | None, access_db: Path, extra: list[str] = ()) -> tuple[subprocess.Popen, str]:
    """The app on loopback on a free port, pinned to one CPU (None: not pinned)."""
    port = free_port()
    env = {**os.environ, "OVERSIGHT_DB": str(db), "OVERSIGHT_ACCESS_DB": str(access_db)}
    env.pop("OVERSIGHT_SHOW_ERRORS", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "serve.py", "--server.headless", "true",
         "--server.address", "127.0.0.1", "--server.port", str(port), *extra],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        # before exec: every thread it makes inherits it
        preexec_fn=None if cpu is None else (lambda: os.sched_setaffinity(0, {cpu})),
    )
    base = loopback_only(f"http://127.0.0.1:{port}")
    deadline = time.time() + 90
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{base}/_stcore/health", timeout=2).status == 200:
                return server, base
        except OSError:
            time.sleep(0.3)
    server.kill()
    raise SystemExit("streamlit did not start")


# ---------------------------------------------------------------- sessions


@dataclass
class Load:
    session: int
    page: str
    opened: bool = False  # opened by URL (a new tab's first page), not reached through the navigation
    loaded_s: float | None = None  # opened by URL: until the document's load event (front end fetched)
    script_s: float | None = None
    settled_s: float | None = None
    error: str | None = None


@dataclass
class Run:
    sessions: int
    client: str
    wall_s: float = 0.0
    loads: list[Load] = field(default_factory=list)
    background: list[Load] = field(default_factory=list)  # mixed runs: the protocol sessions' loads
    server_cpu_s: float = 0.0
    client_cpu_s: float = 0.0
    core_busy: dict[int, float] = field(default_factory=dict)
    loadavg: tuple[float, float, float] = (0.0, 0.0, 0.0)


async def settle(page, started: float, token: str) -> float:
    """Seconds from `started` (time.time()) until the page last changed before settling."""
    handle = await page.wait_for_function(SETTLED, arg=token, timeout=20_000, polling=100)
    return await handle.json_value() / 1000 - started


async def session(browser, base: str, number: int, specs, nav: str, outside: list[str],
                  record: list[str] | None = None) -> list[Load]:
    """One browser session (a new context: an empty cache). `record` collects the address of every file
    the page asked the server for by GET (the paced sessions fetch the same front end)."""
    context = await browser.new_context(viewport={"width": 1366, "height": 768})
    page = await context.new_page()
    if record is not None:
        page.on("request", lambda r: r.method == "GET" and r.resource_type != "websocket"
                and urlparse(r.url).hostname in LOOPBACK and r.url not in record and record.append(r.url))
    page.on("request", lambda r: None if r.url.startswith(("data:", "blob:"))
            or urlparse(r.url).hostname in LOOPBACK else outside.append(r.url))
    order = specs[number % len(specs):] + specs[:number % len(specs)]
    loads = []
    try:
        for i, spec in enumerate(order):
            load = Load(number, spec.url_path, opened=nav == "goto" or i == 0)
            loads.append(load)
            title = t(spec.heading_key, LANG)
            try:
                started, wall = time.perf_counter(), time.time()
                if nav == "goto" or i == 0:
                    await page.goto(loopback_only(f"{base}{spec.url}?lang={LANG}"), timeout=PAGE_TIMEOUT_MS)
                    load.loaded_s = time.perf_counter() - started
                else:
                    await page.locator('[data-testid="stSidebarNavLink"]', has_text=t(spec.nav_key, LANG)).first.click(
                        timeout=PAGE_TIMEOUT_MS)
                await page.wait_for_function(RUN_DONE, arg=title, timeout=PAGE_TIMEOUT_MS, polling=100)
                load.script_s = time.perf_counter() - started
                load.settled_s = await settle(page, wall, f"{number}-{i}")
                if await page.locator('[data-testid="stException"]').count():
                    load.error = "exception shown"
            except Exception as error:  # noqa: BLE001 - recorded and reported, the other sessions go on
                load.error = f"{type(error).__name__}: {str(error).splitlines()[0][:120]}"
                if nav != "goto":  # the session's state is unknown: reopen it by URL for the next page
                    nav = "goto"
    finally:
        await context.close()
    return loads


def fetch(url: str) -> int:
    """One file as chromium asks for it (it accepts compressed answers; unpacking is the client's work)."""
    request = urllib.request.Request(loopback_only(url), headers={"Accept-Encoding": "gzip, deflate, br, zstd"})
    with urllib.request.urlopen(request, timeout=PAGE_TIMEOUT_MS / 1000) as answer:
        return len(answer.read())


async def fetch_front_end(assets: list[str]) -> None:
    """What a new browser tab fetches before its first script run (the page, Streamlit's scripts and
    styles, fonts), six at a time as a browser does: the server serves them with the same process."""
    gate = asyncio.Semaphore(6)

    async def one(url):
        async with gate:
            await asyncio.to_thread(fetch, url)

    await asyncio.gather(*(one(url) for url in assets))


async def protocol_session(base: str, number: int, specs, until: asyncio.Event | None = None,
                           pace: dict[str, float] | None = None, assets: list[str] = ()) -> list[Load]:
    """A session without a browser: Streamlit's own websocket protocol, as the front end speaks it (one
    connection, a rerun request per page, the first by URL path, the others by the page's hash from
    the navigation message). Times from the request until the script run's "finished" message: what
    the server costs, with no rendering and almost no load-generator CPU. With `until`, it goes round
    the pages again until that is set (at most 100 rounds): background load for the mixed runs.

    With `pace` (seconds per page) it is a person with a browser of their own: it first fetches the
    front end (`assets`, as a new tab does), and goes to the next page only when a browser would have
    drawn this one (the page's median time in one browser session alone, or later if the server was
    slower), each page once: background load for the paced runs."""
    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    url = loopback_only(base).replace("http", "ws", 1) + "/_stcore/stream"
    order = specs[number % len(specs):] + specs[:number % len(specs)]
    if until is not None:
        order = order * 100
    loads, hashes = [], {}
    opened = time.perf_counter()
    if assets:
        await fetch_front_end(assets)
    fetched_s = time.perf_counter() - opened
    async with websockets.connect(url, subprotocols=["streamlit"], max_size=None, open_timeout=60,
                                  ping_interval=None) as ws:
        for i, spec in enumerate(order):
            if until is not None and until.is_set():
                break
            load = Load(number, spec.url_path, opened=i == 0)
            if i == 0 and assets:
                load.loaded_s = fetched_s
            loads.append(load)
            message = BackMsg()
            message.rerun_script.query_string = f"lang={LANG}"
            name = "" if spec.default else spec.url_path
            if name in hashes:
                message.rerun_script.page_script_hash = hashes[name]
            else:
                message.rerun_script.page_name = name
            started = opened if i == 0 and assets else time.perf_counter()
            await ws.send(message.SerializeToString())
            try:
                while True:
                    raw = await asyncio.wait_for(ws.recv(), PAGE_TIMEOUT_MS / 1000)
                    forward = ForwardMsg()
                    forward.ParseFromString(raw)
                    kind = forward.WhichOneof("type")
                    if kind == "navigation":
                        hashes = {p.url_pathname: p.page_script_hash for p in forward.navigation.app_pages}
                    elif kind == "delta" and forward.delta.WhichOneof("type") == "new_element" \
                            and forward.delta.new_element.WhichOneof("type") == "exception":
                        load.error = "exception shown"
                    elif kind == "script_finished":
                        load.script_s = load.settled_s = time.perf_counter() - started
                        break
            except Exception as error:  # noqa: BLE001 - recorded and reported; this session stops
                load.error = f"{type(error).__name__}: {str(error)[:120]}"
                break
            if pace:  # the browser of this person is still drawing the page
                await asyncio.sleep(max(0.0, pace[spec.url_path] - (time.perf_counter() - started)))
    return loads


async def run_sessions(browser, base: str, sessions: int, specs, nav: str, server_pid: int,
                       sampler: Sampler, budget_s: float, outside: list[str], client: str,
                       mixed_browsers: int = 1, pace: dict[str, float] | None = None, assets: list[str] = ()) -> Run:
    run = Run(sessions, client)
    cores_before, server_before, client_before = core_busy(), cpu_seconds(server_pid), sampler.client_seconds()
    started = time.perf_counter()
    if client == "mixed":  # a browser or a few, the other sessions by protocol until the browsers are done
        done = asyncio.Event()

        async def browsers():
            try:
                return await asyncio.gather(*(session(browser, base, n, specs, nav, outside) for n in range(browsers_n)))
            finally:
                done.set()

        browsers_n = min(mixed_browsers, sessions)
        measured, *background = await asyncio.wait_for(asyncio.gather(
            browsers(), *(protocol_session(base, n, specs, until=done) for n in range(browsers_n, sessions))),
            timeout=budget_s)
        run.background = [load for loads in background for load in loads]
        results = measured
    elif client == "paced":  # a browser, and the other sessions by protocol at a browser's pace, all at once
        browsers_n = min(mixed_browsers, sessions)
        measured, *background = await asyncio.wait_for(asyncio.gather(
            asyncio.gather(*(session(browser, base, n, specs, nav, outside) for n in range(browsers_n))),
            *(protocol_session(base, n, specs, pace=pace, assets=assets) for n in range(browsers_n, sessions))),
            timeout=budget_s)
        run.background = [load for loads in background for load in loads]
        results = measured
    else:
        results = await asyncio.wait_for(
            asyncio.gather(*(session(browser, base, n, specs, nav, outside) if client == "browser"
                             else protocol_session(base, n, specs) for n in range(sessions))), timeout=budget_s)
    run.wall_s = time.perf_counter() - started
    sampler.sample()
    run.loads = [load for loads in results for load in loads]
    run.server_cpu_s = cpu_seconds(server_pid) - server_before
    run.client_cpu_s = sampler.client_seconds() - client_before
    cores_after = core_busy()
    run.core_busy = {c: (cores_after[c][0] - cores_before[c][0]) / max(1, cores_after[c][1] - cores_before[c][1])
                     for c in cores_after}
    run.loadavg = os.getloadavg()
    return run


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))]


def summary(values: list[float]) -> tuple[float, float, float]:
    return statistics.median(values), percentile(values, 95), max(values)


# ---------------------------------------------------------------- main


def check_pinning(server_pid: int, server_cpu: int, client_cpu: int) -> list[str]:
    problems = []
    for pid in [server_pid, *descendants(server_pid)]:
        allowed = status_field(pid, "Cpus_allowed_list")
        if allowed != str(server_cpu):
            problems.append(f"server process {pid} allowed on CPUs {allowed}")
    server = {server_pid, *descendants(server_pid)}
    clients = [os.getpid(), *(p for p in descendants(os.getpid()) if p not in server)]
    for pid in clients:
        try:
            allowed = status_field(pid, "Cpus_allowed_list")
        except OSError:
            continue
        if allowed != str(client_cpu):
            problems.append(f"load-generator process {pid} allowed on CPUs {allowed}")
    return problems


async def main_async(args, specs, base: str, server: subprocess.Popen) -> tuple[list[Run], dict]:
    from playwright.async_api import async_playwright

    sampler = Sampler(server.pid)
    deadline = time.perf_counter() + args.budget_s
    outside: list[str] = []
    facts: dict = {"outside": outside}
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        sampler.thread.start()
        try:
            # Warm-up: every page once (database opened, median index built, results cached), then a
            # pause for the median index's background build; not counted.
            started = time.perf_counter()
            front_end: list[str] = []
            warm = await session(browser, base, 0, specs[:1], "goto", outside, record=front_end)
            warm += await session(browser, base, 0, specs, "goto", outside)
            facts["assets"] = front_end
            if "protocol" in args.clients:
                warm += await protocol_session(base, 0, specs)
            facts["warmup_s"] = time.perf_counter() - started
            facts["warmup_errors"] = [w.error for w in warm if w.error]
            await asyncio.sleep(args.pause_s)
            facts["pinning"] = check_pinning(server.pid, args.server_cpu, args.client_cpu)
            facts["chromium_processes"] = len(descendants(os.getpid()))
            runs = []
            # S=1 and the mixed runs are repeated for more samples (a mixed run measures its browsers only).
            plan = [(c, n, r) for c in args.clients for n in args.sessions if not (c in ("mixed", "paced") and n == 1)
                    and not (c == "browser" and n > 1 and args.no_browser_crowd)
                    for r in range(args.repeat if n == 1 or c in ("mixed", "paced") else 1)]
            for client, sessions, repeat in plan:
                left = deadline - time.perf_counter()
                if left <= 0:
                    raise SystemExit("budget spent")
                if client == "paced" and "pace" not in facts:
                    # A person's browser takes as long to draw a page as the one browser session alone did.
                    alone = [load for r in runs if r.client == "browser" and r.sessions == 1 for load in r.loads
                             if load.error is None]
                    if not alone:
                        raise SystemExit("--clients paced needs browser runs at S=1 first (its pace)")
                    facts["pace"] = {s.url_path: statistics.median(x.settled_s for x in alone if x.page == s.url_path)
                                     for s in specs}
                    print("pace, s per page: " + ", ".join(f"{k} {v:.2f}" for k, v in facts["pace"].items()), flush=True)
                run = await run_sessions(browser, base, sessions, specs, args.nav, server.pid, sampler, left,
                                         outside, client, args.mixed_browsers, facts.get("pace"), facts["assets"])
                runs.append(run)
                ok = [load.settled_s for load in run.loads if load.error is None]
                errors = [load.error for load in run.loads + run.background if load.error]
                p50, p95, top = summary(ok) if ok else (float("nan"),) * 3
                background = [load.settled_s for load in run.background if load.error is None]
                print(f"{client:8} S={sessions:3d} #{repeat + 1}: {len(ok)} loads, p50 {p50:.2f} s, p95 {p95:.2f} s, max {top:.2f} s; "
                      + (f"background {len(background)} loads, p95 {percentile(background, 95):.2f} s; " if background else "")
                      + f"wall {run.wall_s:.1f} s, server CPU {run.server_cpu_s:.1f} s "
                      f"({run.server_cpu_s / run.wall_s:.0%} of a core), load generator CPU {run.client_cpu_s:.1f} s; "
                      f"cores busy {', '.join(f'{c}: {b:.0%}' for c, b in sorted(run.core_busy.items()))}"
                      + (f"; {len(errors)} errors: {errors[:3]}" if errors else ""), flush=True)
                await asyncio.sleep(args.pause_s)
        finally:
            sampler.stop.set()
            await browser.close()
    facts["peak_rss_mb"] = sampler.peak_rss_kb / 1024
    try:  # what the server holds after every page has been visited (warm-up) and every run
        facts["end_rss_mb"] = int(status_field(server.pid, "VmRSS").split()[0]) / 1024
    except (OSError, ValueError, IndexError):
        facts["end_rss_mb"] = float("nan")
    try:
        facts["peak_rss_mb"] = max(facts["peak_rss_mb"], int(status_field(server.pid, "VmHWM").split()[0]) / 1024)
    except (OSError, ValueError, IndexError):
        pass
    return runs, facts


def report(args, db: Path, runs: list[Run], facts: dict, load_before: tuple) -> str:
    groups: dict[tuple[str, int], list[Run]] = {}
    for run in runs:
        groups.setdefault((run.client, run.sessions), []).append(run)
    rows, per_page, p95s, notes = [], [], {}, []
    for (client, sessions), group in groups.items():
        loads = [load for run in group for load in run.loads]
        ok = [load for load in loads if load.error is None]
        label = (f"{client} ({args.mixed_browsers} browser{'s' if args.mixed_browsers > 1 else ''})"
                 if client in ("mixed", "paced") else client)
        if not ok:
            rows.append(f"| {label} | {sessions} | 0/{len(loads)} |" + " — |" * 11)
            continue
        p50, p95, top = summary([load.settled_s for load in ok])
        navigated = [load.settled_s for load in ok if not load.opened]
        p95s[client, sessions] = p95
        wall = sum(r.wall_s for r in group)
        background = [load for run in group for load in run.background if load.error is None]
        served = len(ok) + len(background)
        server_cpu = sum(r.server_cpu_s for r in group)
        client_cpu = sum(r.client_cpu_s for r in group)
        busy = {c: statistics.mean(r.core_busy[c] for r in group) for c in group[0].core_busy}
        script = f"{summary([load.script_s for load in ok])[1]:.2f}" if client != "protocol" else "="
        rows.append(
            f"| {label} | {sessions} | {len(ok)}/{len(loads)} | {p50:.2f} | **{p95:.2f}** | {top:.2f} | "
            f"{percentile(navigated, 95) if navigated else float('nan'):.2f} | {script} | {wall:.1f} | "
            f"{server_cpu / served:.3f} | {server_cpu / wall:.0%} | {client_cpu / served:.2f} | "
            f"{' / '.join(f'{busy[c]:.0%}' for c in sorted(busy))} | {group[-1].loadavg[0]:.1f} |"
        )
        if background:
            notes.append(f"the {client} runs' {sessions - args.mixed_browsers} protocol sessions served {len(background)} "
                         f"page runs meanwhile (p50 {statistics.median(b.settled_s for b in background):.2f} s, "
                         f"p95 {percentile([b.settled_s for b in background], 95):.2f} s)")
            firsts = [b for b in background if b.opened and b.loaded_s is not None]
            later = [b.settled_s for b in background if not b.opened]
            if firsts and later:
                notes.append(
                    f"of those, the first pages (front end fetched, then the script run; rendering not included) "
                    f"p50 {statistics.median(b.settled_s for b in firsts):.2f} s, p95 "
                    f"{percentile([b.settled_s for b in firsts], 95):.2f} s, the front end's fetch alone p50 "
                    f"{statistics.median(b.loaded_s for b in firsts):.2f} s; the other pages' script runs p50 "
                    f"{statistics.median(later):.2f} s, p95 {percentile(later, 95):.2f} s")
        cells = []
        for name in args.pages:
            values = [load.settled_s for load in ok if load.page == name]
            cells.append(f"{statistics.median(values):.2f}" if values else "—")
        per_page.append(f"| {label} | {sessions} | " + " | ".join(cells) + " |")
    ratios = []
    most = max(args.sessions)
    for client in args.clients:
        one = p95s.get(("browser" if client in ("mixed", "paced") else client, 1))
        if one and (client, most) in p95s and most > 1:
            against = "browser " if client in ("mixed", "paced") else ""
            ratios.append(f"{client}: p95 at {most} sessions / {against}p95 at 1 session = **{p95s[client, most] / one:.1f}×**")
    navigation = ("first page by URL, the others through the sidebar's navigation" if args.nav == "click"
                  else "every page by URL")
    return "\n".join([
        "",
        f"## Page loads under concurrent sessions ({db.name}, `bench/bench_load.py`)",
        "",
        f"{dt.date.today()}, {os.cpu_count()} cores, Python {platform.python_version()}. Server pinned to CPU "
        f"{args.server_cpu}; the load generator (this script, Playwright's driver, every chromium process) to CPU "
        f"{args.client_cpu}" + (f" ({'; '.join(facts['pinning'])})" if facts["pinning"] else " (checked for each process)")
        + f". The machine was shared with other work: load average {load_before[0]:.1f} before the run, and "
        "other processes ran on both cores (last column: load average at the end of each row's run, this benchmark's own processes included)."
        + (f" Server options: `{' '.join(args.server_arg)}`." if args.server_arg else ""),
        "",
        f"S concurrent sessions, each visiting {', '.join(args.pages)} in sequence ({navigation}; each session starts "
        "at another page; no pause between pages) with the default filters in Russian, after a warm-up visit of "
        f"every page (caches filled, median index built). S=1 and the mixed runs are repeated {args.repeat} times.",
        "",
        "- **browser**: each session is a browser context of one headless chromium. A load is timed from the "
        "navigation until the page has settled as tests/test_browser.py's Visit judges it (H1 shown, script run "
        "finished, every chart drawn, no element added for 1 s; the time is that of the last change).",
        "- **protocol**: each session is a websocket speaking Streamlit's protocol as the front end does, with no "
        "rendering; a load is timed until the server's \"script finished\" message: the server's share alone.",
        f"- **mixed**: {args.mixed_browsers} browser session(s), measured as above, while the other S−"
        f"{args.mixed_browsers} sessions go round the pages by protocol without pause until the browsers are done: "
        "what a person sees while the others use the server, each with a computer of their own.",
        f"- **paced**: the issue's scenario, \"{max(args.sessions)} sessions each visiting {len(args.pages)} pages\", with "
        "the load generator apart from the server: all sessions start together; "
        f"{args.mixed_browsers} is a browser, measured as above; each other session is a person with a browser of "
        "their own, emulated by protocol: it fetches the front end a new tab fetches (every file the first page "
        "asked for in the warm-up), then visits each page once, going on to the next when a browser would have "
        "drawn this one (the page's median time in the one-browser runs, or later when the server is slower)"
        + (f"; pace, s: {', '.join(f'{k} {v:.2f}' for k, v in facts['pace'].items())}" if facts.get("pace") else "")
        + ".",
        "",
        "Columns: \"navigation p95\" leaves out each session's first page (opened by URL: the front end loads "
        "first); \"script done p95\" stops when the run has finished; CPU per page run served (mixed: the "
        "background runs included); server core busy = its CPU time over the run's wall time. Peak server RSS "
        f"over the benchmark: {facts['peak_rss_mb']:.0f} MB; at its end, every page visited: "
        f"{facts['end_rss_mb']:.0f} MB.",
        "",
        "| client | sessions | loads ok | p50, s | p95, s | max, s | navigation p95, s | script done p95, s | "
        "wall, s | server CPU per page, s | server core busy | load generator CPU per page, s | "
        "cores busy (0 / 1) | load avg |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        *rows,
        "",
        ("; ".join(ratios) + " (goal ≤ 2×)." if ratios else "") + (" Also: " + "; ".join(notes) + "." if notes else ""),
        "",
        "Median time per page, s:",
        "",
        "| client | sessions | " + " | ".join(args.pages) + " |",
        "|---|---:|" + "---:|" * len(args.pages),
        *per_page,
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, default=ROOT / "data" / "bench" / "demo1m.duckdb")
    parser.add_argument("--tickets", type=int, default=1_000_000, help="for building --db when it is missing")
    parser.add_argument("--big", action="store_true", help="use data/bench/demo10m.duckdb (must exist)")
    parser.add_argument("--sessions", default="1,20")
    parser.add_argument("--clients", default="browser,protocol,mixed,paced",
                        help="comma-separated: browser (S chromium contexts), protocol (S websocket sessions), "
                             "mixed (--mixed-browsers contexts measured while the other sessions load the server "
                             "without pause), paced (the same, the others each visiting the pages once at a "
                             "browser's pace, all starting together)")
    parser.add_argument("--mixed-browsers", type=int, default=1)
    parser.add_argument("--json", type=Path, help="write every load's timings to this file")
    parser.add_argument("--repeat", type=int, default=3, help="runs of S=1 (more samples for its p95)")
    parser.add_argument("--pages", default=",".join(DEFAULT_PAGES))
    parser.add_argument("--nav", choices=("click", "goto"), default="click")
    parser.add_argument("--server-cpu", type=int, default=0)
    parser.add_argument("--client-cpu", type=int, default=1)
    parser.add_argument("--pause-s", type=float, default=3.0)
    parser.add_argument("--budget-s", type=float, default=1200.0, help="the whole benchmark, server start included")
    parser.add_argument("--server-arg", action="append", default=[],
                        help="passed to `streamlit run` (A/B runs: --server-arg=--runner.postScriptGC=true)")
    parser.add_argument("--no-browser-crowd", action="store_true", help="browser sessions at S=1 only")
    parser.add_argument("--no-write", action="store_true", help="print only; docs/benchmarks.md untouched")
    args = parser.parse_args()
    args.sessions = [int(s) for s in args.sessions.split(",")]
    args.clients = args.clients.split(",")
    if set(args.clients) - {"browser", "protocol", "mixed", "paced"}:
        raise SystemExit("--clients: browser, protocol, mixed, paced")
    args.pages = args.pages.split(",")
    if args.big:
        args.db = ROOT / "data" / "bench" / "demo10m.duckdb"
        if not args.db.exists():
            raise SystemExit(f"{args.db} is missing: bench/bench_pages.py builds it")
    by_name = {p.url_path: p for p in PAGES}
    unknown = [name for name in args.pages if name not in by_name]
    if unknown:
        raise SystemExit(f"unknown pages: {unknown}")
    specs = [by_name[name] for name in args.pages]
    ensure_db(args.db, args.tickets)

    # A SIGTERM (timeout, kill) unwinds like Ctrl-C, so the server is stopped on the way out.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    load_before = os.getloadavg()
    print(f"load average before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}", flush=True)
    # The load generator and every process it starts (Playwright's driver, chromium) on the client CPU.
    os.sched_setaffinity(0, {args.client_cpu})
    with tempfile.TemporaryDirectory() as tmp:
        server, base = start_server(args.db, args.server_cpu, Path(tmp) / "access.duckdb", args.server_arg)
        try:
            runs, facts = asyncio.run(main_async(args, specs, base, server))
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
    print(f"warm-up {facts['warmup_s']:.1f} s {facts['warmup_errors'] or ''}; pinning: {facts['pinning'] or 'ok'}; "
          f"peak server RSS {facts['peak_rss_mb']:.0f} MB, at the end {facts['end_rss_mb']:.0f} MB; requests off loopback: {len(facts['outside'])}")
    if facts["outside"]:
        raise SystemExit(f"requests left loopback: {facts['outside'][:5]}")
    if args.json:
        args.json.write_text(json.dumps([{"client": r.client, "sessions": r.sessions, "wall_s": r.wall_s,
                                          "server_cpu_s": r.server_cpu_s, "client_cpu_s": r.client_cpu_s,
                                          "loads": [vars(x) for x in r.loads],
                                          "background": [vars(x) for x in r.background]} for r in runs], indent=1))
    section = report(args, args.db, runs, facts, load_before)
    print(section)
    if not args.no_write:
        write_section("Page loads under concurrent sessions", section)


if __name__ == "__main__":
    main()
