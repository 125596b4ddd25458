"""Benchmark: each interaction as a person feels it, in Chromium, from the input to the settled page.

    .venv/bin/python bench/bench_interactions.py [--dbs data/bench/demo1m.duckdb data/bench/demo10m.duckdb]
                                                 [--repeats 20] [--no-write]

Issue #21. The app is started on each database (not pinned: the machine as it is) and, beside it, a
bare Streamlit app (a selectbox and a two-page navigation: the floor Streamlit itself sets). Every
interaction below is repeated --repeats times, each repetition followed by the bare app's matching
interaction, so both see the same machine load:

- filter: the sidebar's direction changed on the Overview (the next direction each time);
- page switch: a click in the sidebar's navigation, cycling Overview → Backlog → Map → Drill-down;
- map click: a click on a municipality of the Map (the next one each time);
- table row: a click on a row of the Drill-down's directions table (the next level opens);
- event switch: another event chosen on Before/after;
- next slide: presenter mode's → key on the seminar examples.

"Settled" is: Streamlit's script run has started and finished (data-test-script-state), every plotly
chart on the page has drawn, and nothing was added to the page for 0.5 s; the time is taken at the
last change seen, so the quiet half second is not counted. Each repetition of an interaction uses
a value not used just before, so the result cache answers only what a person repeating it would get.
p50 and p95 of each, the bare floor beside it, and the machine's load average. Writes its section of
docs/benchmarks.md. Not a timed test.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_first_render import ARGS  # noqa: E402
from bench_first_render import start as start_bare  # noqa: E402
from bench_load import percentile, start_server  # noqa: E402
from common import settle, write_section  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from oversight.i18n import t  # noqa: E402

BARE = '''import streamlit as st
GEO = %r

def first():
    st.title("Первая")
    choice = st.selectbox("Выбор", [f"вариант {i}" for i in range(8)])
    st.write(choice)

def second():
    st.title("Вторая")
    st.write("текст")

def charts():
    # The floor for an interaction that redraws charts: a selectbox whose choice redraws a line chart
    # and a choropleth of the real municipalities (the app's own boundaries file, read once).
    import json, pathlib, random
    import plotly.express as px
    import plotly.graph_objects as go
    if "shapes" not in st.session_state:
        st.session_state["shapes"] = json.loads(pathlib.Path(GEO).read_text(encoding="utf-8"))
    shapes = st.session_state["shapes"]
    st.title("Графики")
    choice = st.selectbox("Выбор", list(range(8)), format_func=lambda i: f"вариант {i}")
    rng = random.Random(choice)
    st.plotly_chart(go.Figure(go.Scatter(y=[rng.random() for _ in range(104)], mode="lines")))
    ids = [f["properties"]["municipality_id"] for f in shapes["features"]]
    st.plotly_chart(px.choropleth(locations=ids, color=[rng.random() for _ in ids], geojson=shapes,
                                  featureidkey="properties.municipality_id")
                    .update_geos(fitbounds="locations", visible=False))

st.navigation([st.Page(first, title="Первая", url_path="first", default=True),
               st.Page(second, title="Вторая", url_path="second"),
               st.Page(charts, title="Графики", url_path="charts")]).run()
'''


def open_page(browser, url: str):
    page = browser.new_page(viewport={"width": 1366, "height": 768}, locale="ru-RU")
    page.goto(url)
    page.wait_for_selector("h1", timeout=120_000)
    settle(page, time.perf_counter())
    return page


def choose(page, box_text: str, option_index: int, within: str = "") -> float:
    """Open the selectbox labelled `box_text` and pick its option_index-th option; settle time."""
    box = page.locator(f'{within} [data-testid="stSelectbox"]'.strip(), has_text=box_text).first
    box.locator("button").first.click()  # the chevron opens the list (Streamlit's react-aria combobox)
    options = page.locator('[role="option"]')
    options.first.wait_for(timeout=30_000)
    target = options.nth(option_index % options.count())
    started = time.perf_counter()
    target.click()
    return settle(page, started)


# ---------------------------------------------------------------- the interactions


def filter_change(page, i: int) -> float:
    return choose(page, t("filters.territory", "ru"), 1 + i % 4, '[data-testid="stSidebar"]')


def page_switch(page, i: int) -> float:
    links = page.locator('[data-testid="stSidebarNav"] a')
    target = links.nth((i + 1) % 4)
    started = time.perf_counter()
    target.click()
    return settle(page, started)


def map_click(page, i: int) -> float:
    shapes = page.locator("path.choroplethlocation")
    shapes.first.wait_for(timeout=60_000)
    box = shapes.nth((7 * i + 3) % shapes.count()).bounding_box()
    started = time.perf_counter()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    return settle(page, started)


def table_row(page, i: int) -> float:
    grid = page.locator('[data-testid="stDataFrame"]').first
    grid.wait_for(timeout=60_000)
    grid.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    box = grid.bounding_box()
    started = time.perf_counter()
    page.mouse.click(box["x"] + 14, box["y"] + 35 + 17 + 35 * (i % 4))  # a row's selection box
    return settle(page, started)


def event_switch(page, i: int) -> float:
    return choose(page, t("compare.event", "ru"), i + 1)


def next_slide(page, i: int) -> float:
    page.locator("h1").first.click()
    started = time.perf_counter()
    page.keyboard.press("ArrowRight" if i % 2 == 0 else "ArrowLeft")  # slide 1 → 2 → 1 …: each press a change
    return settle(page, started)


# (name, the page it starts on (path and query), the action, whether each repetition starts afresh
# from that page (a click that navigates away) or goes on from where the last one left it)
INTERACTIONS = [
    ("filter change (direction, Overview)", "/?lang=ru", filter_change, False),
    ("page switch (sidebar)", "/?lang=ru", page_switch, False),
    ("map click (a municipality)", "/map?lang=ru", map_click, True),
    ("table row (Drill-down, a direction)", "/drill?lang=ru", table_row, True),
    ("event switch (Before/after)", "/compare?lang=ru", event_switch, False),
    ("next slide (presenter mode)", "/examples?lang=ru&present=1&slide=1", next_slide, False),
]


def bare_select(page, i: int) -> float:
    return choose(page, "Выбор", 1 + i % 7)


def bare_switch(page, i: int) -> float:
    link = page.locator('[data-testid="stSidebarNav"] a').nth((i + 1) % 2)  # Первая ↔ Вторая
    started = time.perf_counter()
    link.click()
    return settle(page, started)


def measure(browser, base: str, bare_base: str, repeats: int, only: list[str] = ()) -> list[dict]:
    rows = []
    for name, path, action, afresh in [i for i in INTERACTIONS if not only or any(o in i[0] for o in only)]:
        page = None if afresh else open_page(browser, base + path)
        bare = open_page(browser, bare_base + "/")
        bare_charts = open_page(browser, bare_base + "/charts")
        times, floor, chart_floor = [], [], []
        for i in range(repeats):
            if afresh:
                page = open_page(browser, base + path)
            try:
                times.append(action(page, i))
            except Exception as error:  # noqa: BLE001 - reported, the others go on
                print(f"  {name} #{i}: {type(error).__name__}: {str(error)[:200]}", flush=True)
            if afresh:
                page.close()
            floor.append((bare_switch if "page switch" in name else bare_select)(bare, i))
            chart_floor.append(bare_select(bare_charts, i))
        if not afresh:
            page.close()
        bare.close()
        bare_charts.close()
        row = {"name": name, "n": len(times), "p50": statistics.median(times) if times else float("nan"),
               "p95": percentile(times, 95) if times else float("nan"),
               "floor50": statistics.median(floor), "floor95": percentile(floor, 95),
               "chart50": statistics.median(chart_floor), "chart95": percentile(chart_floor, 95)}
        rows.append(row)
        print(f"  {name:40} n={row['n']:3} p50 {row['p50']:.2f} s  p95 {row['p95']:.2f} s   bare p50 "
              f"{row['floor50']:.2f} s  p95 {row['floor95']:.2f} s   bare charts p95 {row['chart95']:.2f} s", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dbs", nargs="+", default=[str(ROOT / "data" / "bench" / "demo1m.duckdb"),
                                                     str(ROOT / "data" / "bench" / "demo10m.duckdb")])
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--only", nargs="*", default=[], help="interactions whose name contains one of these")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        script = Path(tmp) / "bare.py"
        script.write_text(BARE % str(ROOT / "data" / "geo" / "municipalities.geojson"), encoding="utf-8")
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        bare_server, bare_base = start_bare(str(script), "")
        try:
            for db in args.dbs:
                server, base = start_server(Path(db), None, Path(tmp) / "access.duckdb")
                try:
                    print(db, flush=True)
                    open_page(browser, base + "/?lang=ru").close()  # the server's first run out of the way
                    results[db] = (measure(browser, base, bare_base, args.repeats, args.only), os.getloadavg()[0])
                finally:
                    server.terminate()
                    server.wait(timeout=30)
        finally:
            bare_server.terminate()
            bare_server.wait(timeout=30)
            browser.close()
    lines = [
        "",
        "## Interactions in the browser (`bench/bench_interactions.py`, issue #21)",
        "",
        f"{time.strftime('%Y-%m-%d')}; {os.cpu_count()} cores; headless Chromium at 1366×768, Russian. From the "
        "input (a click, a key) to the settled page: the script run over, every chart drawn, nothing added for "
        "0.5 s (not counted). Each repetition is followed by the same kind of input on a bare Streamlit app "
        f"(a selectbox; a two-page navigation) on the same machine: the floor. {args.repeats} repetitions. "
        "Goal: p95 ≤ 1 s at 10M and ≤ 1.5× the floor. A second floor, \"bare charts\", is the same selectbox on a "
        "bare page where it redraws one line chart and one choropleth of the real municipalities (plotly, "
        "as the app draws them): what Streamlit and plotly take for an interaction that redraws a chart.",
        "",
        "| database | interaction | n | p50 | p95 | bare p50 | bare p95 | p95 / bare p95 | bare charts p50 | "
        "bare charts p95 | p95 / bare charts p95 | load average |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for db, (rows, load) in results.items():
        for r in rows:
            lines.append(f"| {Path(db).name} | {r['name']} | {r['n']} | {r['p50']:.2f} s | {r['p95']:.2f} s | "
                         f"{r['floor50']:.2f} s | {r['floor95']:.2f} s | {r['p95'] / r['floor95']:.1f}× | {r['chart50']:.2f} s | "
                         f"{r['chart95']:.2f} s | {r['p95'] / r['chart95']:.1f}× | {load:.2f} |")
    section = "\n".join(lines)
    print(section)
    if not args.no_write:
        write_section("Interactions in the browser", section)


if __name__ == "__main__":
    main()
