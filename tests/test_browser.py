"""Real-browser tests: the app in Debian's Chromium, offline, looking at what is actually drawn.

Starts `streamlit run dashboard.py` on a free loopback port against the small seeded database and
drives it with playwright (never `playwright install`: the browser is /usr/bin/chromium). Fails
instead of skipping when Chromium is missing in CI. Screenshots go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlencode, urlparse

import pytest
from conftest import CHROMIUM

from oversight.analysis import metrics
from oversight.filters import Filters, default_filters
from oversight.i18n import t
from oversight.navigation import PAGES
from oversight.paths import ROOT
from oversight.ui.widgets import CARD_METRICS, format_kpi

pytestmark = pytest.mark.browser

SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]



@pytest.fixture(scope="module")
def server(small_db, tmp_path_factory):
    yield from _serve(small_db, tmp_path_factory)


@pytest.fixture(scope="module")
def writable_server(small_db, tmp_path_factory):
    """A server on a copy of the small database, for tests that write to it (the events register)."""
    copy = tmp_path_factory.mktemp("copy") / "copy.duckdb"
    shutil.copy(small_db, copy)
    yield from _serve(str(copy), tmp_path_factory)


@pytest.fixture(scope="module")
def based_server(small_db, tmp_path_factory):
    """A server behind a base path (`server.baseUrlPath`, as behind the agency's reverse proxy)."""
    yield from _serve(small_db, tmp_path_factory, base_path="gji/dash")


def _serve(small_db, tmp_path_factory, base_path=""):
    port = _free_port()
    log = tmp_path_factory.mktemp("streamlit") / "server.log"
    env = {**os.environ, "OVERSIGHT_DB": small_db}
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "serve.py", "--server.headless", "true",
             "--server.address", "127.0.0.1", "--server.port", str(port), "--server.baseUrlPath", base_path],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}" + (f"/{base_path}" if base_path else "")
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{base}/_stcore/health", timeout=2).status == 200:
                break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail(f"streamlit did not start: {log.read_text()[-2000:]}")
    yield base
    proc.terminate()
    proc.wait(timeout=20)


class Visit:
    """One page load with every request and console error recorded."""

    def __init__(self, browser, url: str, width: int = 1366, height: int = 768):
        # The agency's browsers are Russian: a Russian page is opened in a Russian browser (the date
        # picker's months and first weekday follow the browser's language; README, "What stays English").
        locale = "en-US" if "lang=en" in url else "ru-RU"
        self.page = browser.new_page(viewport={"width": width, "height": height}, locale=locale)
        self.outside: list[str] = []
        self.console_errors: list[str] = []
        self.failed: list[str] = []  # every answer of 400 or more, from any request the page made
        self.page.on("request", self._on_request)
        self.page.on("response", lambda r: r.status >= 400 and self.failed.append(f"{r.status} {r.url}"))
        self.page.on("console", lambda m: m.type == "error" and self.console_errors.append(m.text))
        self.page.goto(url)
        # Every page has an H1 title; then wait for the script run to end and plotly to draw.
        self.page.wait_for_selector("h1", timeout=90_000)
        self.page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=90_000)
        self._settle()

    def _settle(self, timeout_s: float = 20.0) -> None:
        """Wait until the page stops adding elements and plotly has drawn (counts stable for 1 s)."""
        probe = """() => [document.querySelectorAll('[data-testid="stElementContainer"]').length,
                          document.querySelectorAll('.js-plotly-plot .main-svg').length,
                          document.querySelectorAll('[data-testid="stDataFrame"] canvas').length].join()"""
        # Plotly charts mount after their library has loaded: wait until every chart container
        # holds a drawn plot, then until nothing changes for a second.
        last, stable_since, deadline = None, time.time(), time.time() + timeout_s
        while time.time() < deadline:
            now = self.page.evaluate(probe)
            ready = self.page.evaluate(
                """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
                          .every(c => c.querySelector('.js-plotly-plot .main-svg'))"""
            )
            if now != last or not ready:
                last, stable_since = now, time.time()
            elif time.time() - stable_since >= 1.0:
                return
            self.page.wait_for_timeout(250)

    def _on_request(self, request) -> None:
        host = urlparse(request.url).hostname
        if request.url.startswith(("data:", "blob:")):
            return
        if host not in LOOPBACK:
            self.outside.append(request.url)

    def real_console_errors(self) -> list[str]:
        # No exceptions: a page opened by its own address once cost two 404s here (Streamlit's front
        # end guessing the server's root, issue #7074); serve.py's BackendBaseUrl tells it the root.
        return self.console_errors + self.failed

    def close(self) -> None:
        self.page.close()


DRAWN_PATHS = """el => [...el.querySelectorAll('.trace path, path.choroplethlocation, .point path')]
    .filter(p => (p.getAttribute('d') || '').length > 8).length
    + [...el.querySelectorAll('.hm image')].filter(i => (i.getAttribute('href') || '').length > 100).length"""
# Map shapes: every location of every choropleth trace that has a value must be drawn as a path.
MAP_SHAPES = """el => {
    const traces = (el.calcdata || []).filter(cd => cd.length && cd[0].trace && cd[0].trace.type === 'choropleth');
    if (!traces.length) return null;
    const expected = traces.reduce((n, cd) => n + cd.filter(p => Number.isFinite(p.z)).length, 0);
    return {expected, drawn: el.querySelectorAll('path.choroplethlocation').length};
}"""


# Streamlit's own English texts seen on Russian pages (issue #19): the uploader, the run status, the
# ⋮ menu, the select boxes' placeholders, and what a chart's or a table's toolbar writes on the page.
ENGLISH_UI = ("Upload", "Browse files", "per file", "Drag and drop", "Choose an option", "Choose options",
              "No results", "Stop", "Running", "Print", "Record a screencast", "Record screen", "Made with Streamlit",
              "Deploy", "Rerun", "Clear cache", "Settings", "About", "Download", "Search", "Fullscreen", "None", "NaN")
# The text a person sees: text nodes of elements that are displayed with a non-zero font size (the
# uploader's English words are drawn at size 0 and replaced by CSS; see shell.localise_streamlit).
VISIBLE_TEXT = """() => {
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const out = [];
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const el = node.parentElement;
        if (!el || !node.textContent.trim() || el.closest('script, style, noscript')) continue;
        const style = getComputedStyle(el);
        if (style.display === 'none' || style.visibility === 'hidden' || parseFloat(style.fontSize) === 0) continue;
        if (!el.getClientRects().length) continue;
        out.push(node.textContent);
    }
    return out.join(' | ');
}"""


@pytest.mark.parametrize("lang", ["ru", "en"])
@pytest.mark.parametrize("page", PAGES, ids=[p.url_path for p in PAGES])
def test_page_renders_offline_with_data_drawn(browser, server, lang, page):
    visit = Visit(browser, f"{server}{page.url}?lang={lang}")
    p = visit.page
    try:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        p.screenshot(path=str(SCREENSHOTS / f"{page.url_path}-{lang}-1366x768.png"))
        assert p.locator('[data-testid="stException"]').count() == 0
        assert p.locator("h1").first.inner_text().strip() == t(page.heading_key, lang)
        assert visit.outside == [], f"requests left loopback: {visit.outside}"
        assert visit.real_console_errors() == []
        if lang == "ru":  # nothing English on a Russian page (Streamlit's own texts included)
            shown = p.evaluate(VISIBLE_TEXT)
            found = sorted({w for w in ENGLISH_UI if re.search(rf"\b{re.escape(w)}\b", shown)})
            assert found == [], f"English on the Russian {page.url_path} page: {found}"
        # Every KPI shows a number.
        values = p.locator('[data-testid="stMetricValue"]').all_inner_texts()
        assert all(any(ch.isdigit() for ch in v) for v in values), values
        # Every plotly chart has drawn data (bars, lines, shapes with real path data, heatmap images), and every
        # map draws one shape per area it has a value for.
        plots = p.locator(".js-plotly-plot")
        for i in range(plots.count()):
            assert plots.nth(i).evaluate(DRAWN_PATHS) > 0, f"chart {i} on {page.url_path} has no drawn data"
            shapes = plots.nth(i).evaluate(MAP_SHAPES)
            if shapes is not None:
                assert shapes["drawn"] == shapes["expected"] > 0, shapes
    finally:
        visit.close()


def test_overview_shows_cards_chart_and_tables(browser, server):
    visit = Visit(browser, f"{server}/?lang=ru")
    try:
        # Grids mount after the script run ends: wait for them rather than count too early.
        visit.page.wait_for_function("() => document.querySelectorAll('[data-testid=\"stDataFrame\"]').length === 2", timeout=30_000)
        visit.page.wait_for_selector(".js-plotly-plot", timeout=30_000)
        assert visit.page.locator('[data-testid="stMetricValue"]').count() == len(CARD_METRICS)
        assert visit.page.locator(".js-plotly-plot").count() == 1
    finally:
        visit.close()


def test_map_draws_every_municipality_and_zooms_to_a_direction(browser, server):
    for query, expected in (("lang=ru", 60), ("lang=ru&dir=3", 60)):
        visit = Visit(browser, f"{server}/map?{query}")
        try:
            shapes = visit.page.locator(".js-plotly-plot").first.evaluate(MAP_SHAPES)
            assert shapes == {"expected": expected, "drawn": expected}
            assert visit.outside == []
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            visit.page.screenshot(path=str(SCREENSHOTS / f"map-{query.replace('&', '-').replace('=', '')}.png"))
        finally:
            visit.close()


@pytest.mark.parametrize("path", ["/", "/map", "/compare"])
def test_behind_a_base_path_every_address_the_page_asks_for_answers(browser, based_server, path):
    """Static files (the map's boundaries, plotly's topojson stub) and the front end's own probes go to
    the base path: before, the maps asked /app/static/… at the server's root and drew nothing."""
    visit = Visit(browser, f"{based_server}{path}?lang=ru")
    try:
        assert visit.real_console_errors() == [] and visit.outside == []
        for i in range(visit.page.locator(".js-plotly-plot").count()):
            shapes = visit.page.locator(".js-plotly-plot").nth(i).evaluate(MAP_SHAPES)
            if shapes is not None:
                assert shapes["drawn"] == shapes["expected"] > 0, shapes
    finally:
        visit.close()


def test_clicking_a_municipality_narrows_the_filters(browser, server):
    visit = Visit(browser, f"{server}/map?lang=ru")
    try:
        shapes = visit.page.locator("path.choroplethlocation")
        box = shapes.nth(shapes.count() // 2).bounding_box()
        visit.page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        visit.page.wait_for_url(lambda url: "mun=" in url, timeout=30_000)
        visit.page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=60_000)
        assert "dir=" in visit.page.url  # the municipality's direction is chosen with it
    finally:
        visit.close()


def test_shared_link_shows_the_filtered_view(browser, server, con, as_of):
    query = {"from": "2019-02-01", "to": "2019-04-30", "dir": "2", "src": "dobrodel", "lang": "ru"}
    visit = Visit(browser, f"{server}/?{urlencode(query)}")
    try:
        f = Filters(start=dt.date(2019, 2, 1), end=dt.date(2019, 4, 30), territory_id=2, source="dobrodel")
        expected = metrics.kpis(con, f, as_of)
        card = visit.page.locator('[data-testid="stMetric"]', has_text=t("kpi.created", "ru")).first
        value = card.locator('[data-testid="stMetricValue"]').inner_text().strip()
        assert value == format_kpi("created", expected["created"], "ru").replace("\u00a0", " ") or value == format_kpi(
            "created", expected["created"], "ru"
        )
        assert visit.outside == []
        # The URL still carries the filters after the app has run.
        assert "dir=2" in visit.page.url and "src=dobrodel" in visit.page.url
    finally:
        visit.close()


def test_default_view_at_1920(browser, server, con, as_of):
    visit = Visit(browser, f"{server}/?lang=ru", 1920, 1080)
    try:
        visit.page.screenshot(path=str(SCREENSHOTS / "overview-ru-1920x1080.png"))
        expected = metrics.kpis(con, default_filters(as_of), as_of)
        card = visit.page.locator('[data-testid="stMetric"]', has_text=t("kpi.missed", "ru")).first
        shown = card.locator('[data-testid="stMetricValue"]').inner_text().strip().replace(" ", "\u00a0")
        assert shown == format_kpi("missed", expected["missed"], "ru")
    finally:
        visit.close()


def test_drill_down_deep_link_opens_an_organisation_card(browser, server, con, as_of):
    from oversight.analysis import drill

    period = default_filters(as_of)
    municipality = drill.children(con, period, as_of, "municipality").iloc[0]
    scope = Filters(period.start, period.end, int(municipality["territory_id"]), int(municipality["child_id"]))
    org = drill.children(con, scope, as_of, "organization").dropna(subset=["child_id"]).iloc[0]
    query = {"lang": "ru", "dir": scope.territory_id, "mun": scope.municipality_id, "org": int(org["child_id"])}
    visit = Visit(browser, f"{server}/drill?{urlencode(query)}", 1366, 2000)
    try:
        visit.page.wait_for_selector(f"text={t('drill.org_card', 'ru')}", timeout=30_000)
        text = visit.page.inner_text("body")
        assert org["name_ru"] in text and str(org["inn"]) in text
        assert municipality["name_ru"] in text  # in the breadcrumbs
        assert visit.page.locator('[data-testid="stException"]').count() == 0
        assert visit.outside == [] and visit.real_console_errors() == []
        visit.page.screenshot(path=str(SCREENSHOTS / "drill-organization-ru.png"), full_page=True)
    finally:
        visit.close()


def test_drill_down_row_click_goes_one_level_down(browser, server):
    visit = Visit(browser, f"{server}/drill?lang=ru")
    try:
        grid = visit.page.locator('[data-testid="stDataFrame"]').first
        grid.wait_for(timeout=30_000)
        grid.scroll_into_view_if_needed()
        visit.page.wait_for_timeout(500)
        box = grid.bounding_box()
        # The row-selection checkbox of the first data row (header row is ~35 px high).
        visit.page.mouse.click(box["x"] + 14, box["y"] + 35 + 17)
        visit.page.wait_for_function("() => location.href.includes('dir=')", timeout=30_000)
        visit.page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=60_000)
        visit.page.wait_for_selector(f"text={t('drill.children.municipality', 'ru')}", timeout=30_000)
    finally:
        visit.close()


def test_drill_down_search_opens_the_found_organisation(browser, server, frames):
    org = frames["organizations"].iloc[5]
    visit = Visit(browser, f"{server}/drill?lang=ru")
    try:
        box = visit.page.get_by_label(t("drill.search", "ru"))
        box.fill(str(org["inn"])[:9])
        box.press("Enter")
        button = visit.page.get_by_role("button", name=f"{org['name']} · ИНН {org['inn']}")
        button.click(timeout=30_000)
        visit.page.wait_for_function(f"() => location.href.includes('org={int(org['organization_id'])}')", timeout=30_000)
        visit.page.wait_for_selector(f"text={t('drill.org_card', 'ru')}", timeout=30_000)
        assert box.input_value() == ""  # the search box is emptied after a result is chosen
        assert visit.page.locator('[data-testid="stException"]').count() == 0
    finally:
        visit.close()


def test_drill_down_request_card_masks_personal_data(browser, server, frames):
    tickets = frames["tickets"]
    ticket = tickets[tickets["description"].str.contains("тел.", regex=False, na=False)].iloc[0]
    visit = Visit(browser, f"{server}/drill?lang=ru&req={int(ticket['ticket_id'])}")
    try:
        visit.page.wait_for_selector(f"text={t('drill.timeline', 'ru')}", timeout=30_000)
        text = visit.page.inner_text("body")
        assert "[телефон скрыт]" in text and "[ФИО скрыто]" in text
        phone = ticket["description"].split("тел. ")[1].rstrip(".")
        assert phone not in text
        assert visit.page.locator('[data-testid="stException"]').count() == 0
        visit.page.screenshot(path=str(SCREENSHOTS / "drill-request-ru.png"), full_page=True)
    finally:
        visit.close()


def test_before_after_for_a_seminar_shows_the_honest_conclusion(browser, server, con, as_of):
    from oversight import store
    from oversight.analysis import compare

    seminar = store.run(con, "events_all").query("kind == 'seminar' and municipality_id.notna()").iloc[0]
    periods = compare.Periods.around(seminar["event_date"].date(), 90)
    result = compare.compare(con, Filters(periods.before_start, periods.after_end), as_of, periods,
                             [int(seminar["municipality_id"])])
    expected = compare.conclusion(result, "ru")
    visit = Visit(browser, f"{server}/compare?lang=ru&event={int(seminar['event_id'])}", 1366, 2400)
    try:
        visit.page.wait_for_selector(f"text={t('compare.its', 'ru')}", timeout=30_000)
        text = " ".join(visit.page.inner_text("body").split())
        assert " ".join(expected.replace("\u00a0", " ").split()) in text.replace("\u00a0", " ")
        assert visit.page.locator(".js-plotly-plot").count() == 2  # the time series and the map
        assert visit.page.locator('[data-testid="stException"]').count() == 0
        visit.page.screenshot(path=str(SCREENSHOTS / "compare-seminar-ru.png"), full_page=True)
    finally:
        visit.close()


def test_events_import_adds_good_rows_and_lists_the_refused(browser, writable_server, tmp_path):
    csv = tmp_path / "events.csv"
    csv.write_text("Дата;Вид;Название;Муниципалитет\n20.05.2019;Семинар;Семинар в Химках;Химки\n"
                   "31.02.2019;Семинар;Плохая дата;\n", encoding="cp1251")
    visit = Visit(browser, f"{writable_server}/compare?lang=ru", 1366, 2000)
    try:
        visit.page.locator('input[type="file"]').set_input_files(str(csv))
        visit.page.get_by_role("button", name=t("events.add_from_file", "ru", n=2)).click(timeout=30_000)
        visit.page.wait_for_selector(f"text={t('events.counts', 'ru', read=2, accepted=1, refused=1)}", timeout=30_000)
        # The refused row is listed with its reason (grids render their cells for screen readers too).
        visit.page.locator('[role="gridcell"]', has_text="Дата не распознана").first.wait_for(state="attached", timeout=30_000)
        assert visit.page.locator('[data-testid="stException"]').count() == 0
        # The new event is in the register, read back from the database after the page reloaded.
        visit.page.locator('[role="gridcell"]', has_text="Семинар в Химках").first.wait_for(state="attached", timeout=30_000)
        assert t("events.saved", "ru", n=8) in visit.page.inner_text("body")
        visit.page.screenshot(path=str(SCREENSHOTS / "compare-events-import-ru.png"), full_page=True)
    finally:
        visit.close()


def test_chromium_is_the_debian_one():
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail("CI must have Debian's chromium (installed by .ci/run)")
        pytest.skip("no chromium")
    assert shutil.which("chromium") == CHROMIUM


def test_examples_outlier_row_opens_the_organisation_card(browser, server, con, as_of):
    from oversight.analysis import fairness

    assessed, funnel = fairness.organizations(con, default_filters(as_of), as_of, 20)
    worst = fairness.outliers(assessed, funnel, "above").iloc[0]
    visit = Visit(browser, f"{server}/examples?lang=ru&minv=20", 1366, 2000)
    try:
        p = visit.page
        assert p.locator('[data-testid="stException"]').count() == 0
        assert visit.outside == [] and visit.real_console_errors() == []
        p.screenshot(path=str(SCREENSHOTS / "examples-ru.png"), full_page=True)
        # The funnel as PNG, drawn on the server by kaleido with Debian's chromium.
        with p.expect_download(timeout=90_000) as download:
            p.get_by_role("button", name=t("examples.png", "ru")).first.click()  # the funnel's
        assert download.value.suggested_filename == "funnel.png"
        assert Path(download.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        grid = p.locator('[data-testid="stDataFrame"]').first  # the organisations above the limits
        grid.scroll_into_view_if_needed()
        p.wait_for_timeout(500)
        box = grid.bounding_box()
        p.mouse.click(box["x"] + 14, box["y"] + 35 + 17)
        p.wait_for_function("() => location.pathname.endsWith('/drill')", timeout=30_000)
        p.wait_for_selector(f"text={t('drill.org_card', 'ru')}", timeout=60_000)
        assert worst["name"] in p.inner_text("body")
    finally:
        visit.close()


def test_presenter_mode_hides_the_sidebar_and_steps_with_the_arrow_keys(browser, server):
    visit = Visit(browser, f"{server}/examples?lang=ru&present=1&slide=1&minv=20", 1366, 768)
    try:
        p = visit.page
        assert not p.locator('[data-testid="stSidebar"]').is_visible()
        assert p.locator("h1").first.inner_text().strip() == t("slides.kpis", "ru", scope=t("drill.region", "ru"))
        p.locator("h1").first.click()  # focus the page, as a presenter's click would
        p.keyboard.press("ArrowRight")
        p.wait_for_function(f"() => document.querySelector('h1').innerText.trim() === {t('slides.map', 'ru')!r}", timeout=30_000)
        visit._settle()
        shapes = p.locator(".js-plotly-plot").first.evaluate(MAP_SHAPES)
        assert shapes["drawn"] == shapes["expected"] > 0, shapes
        assert "slide=2" in p.url
        p.screenshot(path=str(SCREENSHOTS / "examples-presenter-map.png"))
        p.keyboard.press("ArrowLeft")
        p.wait_for_function("() => location.href.includes('slide=1')", timeout=30_000)
        assert visit.outside == [] and visit.real_console_errors() == []
    finally:
        visit.close()


def test_compliance_watchlist_downloads_as_a_case_file(browser, server, con, as_of):
    import openpyxl

    from oversight.analysis import compliance
    from oversight.i18n import fmt_number
    from oversight.output import export

    rule = compliance.Rule(k=2, m=4, target=0.95, min_volume=5)
    listed = compliance.watchlist(con, default_filters(as_of), as_of, rule)["list"]
    visit = Visit(browser, f"{server}/compliance?lang=ru&k=2&m=4&minv=5", 1366, 2200)
    try:
        p = visit.page
        assert p.locator('[data-testid="stException"]').count() == 0
        assert visit.outside == [] and visit.real_console_errors() == []
        p.screenshot(path=str(SCREENSHOTS / "compliance-ru.png"), full_page=True)
        assert t("compliance.watchlist", "ru", n=len(listed)) in p.inner_text("body")
        with p.expect_download(timeout=60_000) as download:
            p.get_by_role("button", name=t("download.xlsx", "ru")).first.click()
        assert download.value.suggested_filename.endswith(".xlsx")
        sheet = openpyxl.load_workbook(io.BytesIO(Path(download.value.path()).read_bytes())).active
        top = export.header_row(sheet)  # under the title block: what, filters, rule, date of the data
        assert sheet.cell(1, 1).value == t("compliance.xlsx_title", "ru", n=fmt_number(len(listed), "ru"))
        assert sheet.freeze_panes == f"A{top + 1}"
        header = [c.value for c in sheet[top]]
        assert header[:2] == [t("col.name", "ru"), t("col.inn", "ru")]
        assert header[-1] == t("compliance.col.data_date", "ru")
        assert sheet.max_row == top + len(listed)
        assert sheet.cell(top + 1, 1).value == listed["name"].iloc[0]
        assert sheet.cell(top + 1, len(header)).value == as_of.strftime("%d.%m.%Y %H:%M")
    finally:
        visit.close()


# ---------------------------------------------------------------- the Data page and imported data

BOSTON = ROOT / "tests" / "fixtures" / "boston311-100.csv"


@pytest.fixture(scope="module")
def imported_server(small_db, tmp_path_factory):
    """A server on a copy of the small database into which Boston's 311 sample was imported (the
    demo replaced): every page must work on a city's data."""
    from oversight.ingest import importer

    copy = tmp_path_factory.mktemp("imported") / "boston.duckdb"
    shutil.copy(small_db, copy)
    importer.import_files([BOSTON], copy, "boston311", dt.datetime(2022, 6, 1))
    yield from _serve(str(copy), tmp_path_factory)


@pytest.mark.parametrize("page", PAGES, ids=[p.url_path for p in PAGES])
def test_every_page_works_on_imported_city_data(browser, imported_server, page):
    visit = Visit(browser, f"{imported_server}{page.url}?lang=ru&from=2022-01-01&to=2022-05-31")
    p = visit.page
    try:
        p.screenshot(path=str(SCREENSHOTS / f"imported-{page.url_path}.png"), full_page=True)
        assert p.locator('[data-testid="stException"]').count() == 0, p.inner_text("body")[:2000]
        assert p.locator("h1").first.inner_text().strip() == t(page.heading_key, "ru")
        assert visit.outside == [] and visit.real_console_errors() == []
        assert t("demo.banner", "ru", as_of="")[:20] not in p.inner_text("body")
        plots = p.locator(".js-plotly-plot")
        for i in range(plots.count()):
            assert plots.nth(i).evaluate(DRAWN_PATHS) > 0, f"chart {i} on {page.url_path} has no drawn data"
        if page.url_path == "map":  # Moscow Oblast's shapes are not drawn for Boston's neighbourhoods
            assert t("map.no_boundaries", "ru") in p.inner_text("body")
            assert p.locator(".js-plotly-plot .choroplethlocation").count() == 0
    finally:
        visit.close()


def test_data_page_upload_preview_and_import(browser, writable_server):
    visit = Visit(browser, f"{writable_server}/data?lang=ru", 1366, 2400)
    p = visit.page
    try:
        p.set_input_files('input[type="file"]', str(BOSTON))
        p.wait_for_selector(f"text={t('data.import_button', 'ru', n=1)}", timeout=60_000)
        visit._settle()
        body = p.inner_text("body")
        assert "boston311-100.csv" in body and "Boston 311" in body  # the file and its detected format
        assert "closure_reason" in body  # the columns the import will not use are listed
        assert p.locator('[data-testid="stDataFrame"]').count() >= 2  # the mapping and the first rows as read
        p.screenshot(path=str(SCREENSHOTS / "data-preview-ru.png"), full_page=True)
        assert "boston311-100.csv" in p.locator('[data-testid="stFileUploader"]').inner_text()  # listed by the uploader
        p.get_by_role("button", name=t("data.import_button", "ru", n=1)).click()
        p.wait_for_selector(f"text={t('data.demo_replaced', 'ru')}", timeout=120_000)
        body = p.inner_text("body")
        assert "прочитано строк 100, загружено 100, отклонено 0" in body
        assert "Boston 311" in body  # what the dashboard shows now
        assert "boston311-100.csv" not in p.locator('[data-testid="stFileUploader"]').inner_text()  # empty again
        assert p.locator('[data-testid="stException"]').count() == 0
        p.screenshot(path=str(SCREENSHOTS / "data-report-ru.png"), full_page=True)
    finally:
        visit.close()


# Issue #18 item 8: link values no page may crash on, in a real browser (the AppTest sweep in
# tests/test_app.py runs every value; here the classes, through the server, as a visitor sends them).
BROWSER_HOSTILE = ["1e999", "²", "-1", "' or 1=1 --", "<img src=http://canary.invalid/x.png>"]
HOSTILE_KEYS = ["target", "from", "to", "dir", "mun", "org", "cat", "src", "bld", "req", "k", "m", "minv", "slide",
                "freq", "present", "lang"]


@pytest.mark.parametrize("page", [p for p in PAGES if p.url_path != "access"], ids=lambda p: p.url_path)
def test_hostile_links_in_the_browser_show_no_error_trace_or_path(server, browser, page):
    for value in BROWSER_HOSTILE:
        visit = Visit(browser, f"{server}{page.url}?{urlencode({k: value for k in HOSTILE_KEYS})}")
        try:
            body = visit.page.inner_text("body")
            assert visit.page.locator('[data-testid="stException"]').count() == 0, (page.url_path, value)
            assert "Traceback" not in body and str(ROOT) not in body and ".py" not in body, (page.url_path, value)
            assert not visit.outside, visit.outside  # a tag in a link never makes the browser fetch
        finally:
            visit.close()


def test_language_switch_redraws_the_chosen_values_in_the_new_language(browser, server):
    """After RU → EN the direction box said «Север» (a keyed widget keeps the label it had), after EN → RU
    «North»: every choice is drawn again in the new language."""
    visit = Visit(browser, f"{server}/?lang=ru&dir=1")
    p = visit.page
    sidebar = p.locator('[data-testid="stSidebar"]')
    direction = sidebar.locator('[data-testid="stSelectbox"]', has_text=t("filters.territory", "ru")).first

    def shown(box) -> str:
        return box.evaluate("e => [...e.querySelectorAll('input')].map(x => x.value).join('') || e.innerText")

    try:
        before = shown(direction)
        assert before and before.isascii() is False, before
        sidebar.get_by_text("EN", exact=True).click()
        p.wait_for_function("() => location.search.includes('lang=en')", timeout=30_000)
        visit._settle()
        direction = sidebar.locator('[data-testid="stSelectbox"]', has_text=t("filters.territory", "en")).first
        after = shown(direction)
        assert after.isascii() and after.strip(), f"after the switch to English the direction shows {after!r}"
        sidebar.get_by_text("RU", exact=True).click()
        p.wait_for_function("() => location.search.includes('lang=ru')", timeout=30_000)
        visit._settle()
        direction = sidebar.locator('[data-testid="stSelectbox"]', has_text=t("filters.territory", "ru")).first
        assert shown(direction) == before
    finally:
        visit.close()


def test_the_date_picker_is_russian_in_a_russian_browser(browser, server):
    visit = Visit(browser, f"{server}/?lang=ru")
    try:
        visit.page.locator('[data-testid="stSidebar"] [data-testid="stDateInput"]').first.click()
        visit.page.wait_for_timeout(800)
        shown = visit.page.evaluate(VISIBLE_TEXT)
        assert re.search(r"\b(январь|февраль|март|апрель|май|июнь|июль|август|сентябрь|октябрь|ноябрь|декабрь)\b", shown)
        weekdays = visit.page.locator('[data-testid="stDateInputCalendar"] th').all_inner_texts()
        assert weekdays and weekdays[0].strip().lower().startswith("п"), weekdays  # Monday first
        visit.page.screenshot(path=str(SCREENSHOTS / "date-picker-ru.png"))
    finally:
        visit.close()
