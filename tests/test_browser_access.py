"""Real-browser tests of access (issue #17): sign-in, roles, a territorial head's direction, the audit log.

Starts the real app (`streamlit run dashboard.py`) with an [auth] secrets file that signs in against
the test OpenID Connect provider (tests/oidc_provider.py: npm oidc-provider on 127.0.0.1), on a copy of
the small seeded database and with an access file (grants and audit log) of this module's own, and
drives Debian's Chromium through the whole sign-in flow. A second app without [auth] checks the
loopback rule of single-user mode. Every request the browser makes must stay on loopback. Fails
instead of skipping when Chromium is missing in CI.

Users (grants made with the command line's principal before the servers start): north@example.org
heads direction 1 «Север», south@example.org direction 3, lead@example.org is leadership,
data@example.org a data officer, admin@example.org an admin only, nogrant@example.org has nothing.

The app is opened at http://localhost:PORT (the redirect URI's host: the auth cookies are only
trusted for that origin); the provider stays on 127.0.0.1.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pandas as pd
import pytest
from oidc_provider import (
    free_port,
    running_provider,
    secrets_args,
    sign_in,
    stop_process,
    streamlit_env,
    write_secrets,
)

from oversight import access, store
from oversight.access import EVERYTHING, Scope
from oversight.analysis import metrics
from oversight.filters import default_filters
from oversight.i18n import t
from oversight.paths import ROOT
from oversight.ui.widgets import CARD_METRICS, format_kpi

pytestmark = pytest.mark.browser

LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
VIEWPORT = {"width": 1366, "height": 900}
TIMEOUT_MS = 60_000
SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"
DOCS = ROOT / "docs"
RU = "ru"

NORTH, SOUTH, LEAD, DATA, ADMIN, NOGRANT = (
    "north@example.org", "south@example.org", "lead@example.org", "data@example.org", "admin@example.org",
    "nogrant@example.org",
)
NORTH_SCOPE = Scope(territory_ids=frozenset({1}), municipality_ids=frozenset())
FORWARDED_CLIENT = "203.0.113.7"  # TEST-NET-3: a client that is not on this computer

_direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))

# Every text of the page a user could read or a screen reader could hear: text nodes (visible or not,
# the grids' accessible cells and plotly's SVG labels included), titles, labels, placeholders and input
# values, each on its own line so that names of adjacent elements never run together.
PAGE_TEXT_JS = """() => {
    const parts = [document.title];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        const tag = n.parentElement ? n.parentElement.tagName : '';
        if (tag === 'SCRIPT' || tag === 'STYLE' || tag === 'NOSCRIPT') continue;
        const s = n.nodeValue.trim();
        if (s) parts.push(s);
    }
    for (const el of document.querySelectorAll('[aria-label], [title], [placeholder], input, textarea')) {
        for (const a of ['aria-label', 'title', 'placeholder']) {
            const v = el.getAttribute(a);
            if (v) parts.push(v);
        }
        if (el.value) parts.push(el.value);
    }
    return parts.join('\\n');
}"""


# ---------------------------------------------------------------- processes and data



@pytest.fixture(scope="module")
def access_file(tmp_path_factory):
    """This module's own grants and audit log: set in the environment for the module (servers inherit
    it, access.audit_rows reads it), with the grants made before any server starts."""
    path = tmp_path_factory.mktemp("access-browser") / "access.duckdb"
    old = os.environ.get("OVERSIGHT_ACCESS_DB")
    os.environ["OVERSIGHT_ACCESS_DB"] = str(path)
    try:
        access.add_grant(access.CLI, NORTH, "territorial_head", [1])
        access.add_grant(access.CLI, SOUTH, "territorial_head", [3])
        access.add_grant(access.CLI, LEAD, "leadership")
        access.add_grant(access.CLI, DATA, "data_officer")
        access.add_grant(access.CLI, ADMIN, "admin")
        yield path
    finally:
        if old is None:
            os.environ.pop("OVERSIGHT_ACCESS_DB", None)
        else:
            os.environ["OVERSIGHT_ACCESS_DB"] = old


@dataclass(frozen=True)
class Facts:
    """What the tests expect, worked out from the database copy before the servers start."""

    db: str
    municipalities: pd.DataFrame  # data/reference/municipalities.csv: name_ru, territory_id
    south_org_id: int
    south_org_name: str
    south_ticket_id: int
    north_created: str  # the KPI «created» as the app formats it, over north's scope and the whole region
    region_created: str


@pytest.fixture(scope="module")
def facts(small_db, tmp_path_factory) -> Facts:
    copy = tmp_path_factory.mktemp("access-browser-db") / "small.duckdb"
    shutil.copy(small_db, copy)
    everything = store.connect(copy, EVERYTHING)
    north = store.connect(copy, NORTH_SCOPE)
    # An organisation of direction 3 that north cannot see at all (no building or deadline in direction 1).
    all_orgs = store.run(everything, "filter_organizations")
    north_orgs = set(store.run(north, "filter_organizations")["organization_id"])
    south_orgs = all_orgs[(all_orgs["territory_id"] == 3) & ~all_orgs["organization_id"].isin(north_orgs)]
    assert not south_orgs.empty
    org = south_orgs.iloc[0]
    served_in_north = everything.execute(
        "select count(*) from buildings b join municipality_rollup r using (municipality_id) "
        "where b.organization_id = $org and r.territory_id = 1", {"org": int(org["organization_id"])},
    ).fetchone()[0]
    assert served_in_north == 0
    ticket = everything.execute(
        "select t.ticket_id from tickets t join municipality_rollup r using (municipality_id) "
        "where r.territory_id = 3 order by t.ticket_id limit 1"
    ).fetchone()[0]
    assert store.run(north, "ticket_card", ticket_id=int(ticket)).empty  # outside north's scope
    as_of = store.dataset_info(everything)["as_of"].to_pydatetime()
    period = default_filters(as_of)
    return Facts(
        db=str(copy),
        municipalities=pd.read_csv(ROOT / "data" / "reference" / "municipalities.csv"),
        south_org_id=int(org["organization_id"]),
        south_org_name=str(org["name"]),
        south_ticket_id=int(ticket),
        north_created=format_kpi("created", metrics.kpis(north, period, as_of)["created"], RU),
        region_created=format_kpi("created", metrics.kpis(everything, period, as_of)["created"], RU),
    )



def _start_streamlit(port: int, db: str, secrets_file: Path, log: Path) -> subprocess.Popen:
    env = streamlit_env({**os.environ, "OVERSIGHT_DB": db})
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "serve.py", "--server.headless", "true",
             "--server.address", "127.0.0.1", "--server.port", str(port), "--server.fileWatcherType", "none",
             *secrets_args(secrets_file)],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"streamlit exited with {proc.returncode}: {log.read_text()[-3000:]}")
        try:
            if _direct.open(f"http://127.0.0.1:{port}/_stcore/health", timeout=2).status == 200:
                return proc
        except OSError:
            time.sleep(0.2)
    stop_process(proc)
    pytest.fail(f"streamlit did not start: {log.read_text()[-3000:]}")


@dataclass(frozen=True)
class App:
    url: str  # http://localhost:PORT
    issuer: str  # the provider's


@pytest.fixture(scope="module")
def app(facts, access_file, tmp_path_factory):
    """The dashboard with sign-in against the test provider; both processes stopped at the end."""
    tmp = tmp_path_factory.mktemp("access-browser-app")
    port = free_port()
    with running_provider([f"http://localhost:{port}/oauth2callback"]) as provider:
        secrets_file = write_secrets(tmp / "secrets.toml", provider, port)
        log = tmp / "streamlit.log"
        proc = _start_streamlit(port, facts.db, secrets_file, log)
        try:
            yield App(url=f"http://localhost:{port}", issuer=provider.issuer)
        finally:
            stop_process(proc)
            print(f"--- streamlit log ---\n{log.read_text()[-3000:]}\n--- provider log ---\n{provider.log()[-3000:]}")


@pytest.fixture(scope="module")
def plain_app(facts, access_file, tmp_path_factory):
    """The dashboard with no [auth]: single-user mode, for loopback clients only. Its secrets file has
    no [auth] section (passed explicitly so that no ~/.streamlit/secrets.toml can configure sign-in)."""
    tmp = tmp_path_factory.mktemp("access-browser-plain")
    secrets_file = tmp / "secrets.toml"
    secrets_file.write_text("# no [auth]: sign-in is not configured\n")
    port = free_port()
    log = tmp / "streamlit.log"
    proc = _start_streamlit(port, facts.db, secrets_file, log)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process(proc)
        print(f"--- streamlit log (no auth) ---\n{log.read_text()[-3000:]}")


# ---------------------------------------------------------------- browsing


class Browsing:
    """A browser context (its own cookies: one user) that records every request leaving loopback."""

    def __init__(self, browser, **options):
        self.context = browser.new_context(viewport=VIEWPORT, locale="ru-RU", **options)
        self.context.set_default_timeout(TIMEOUT_MS)
        self.requested: list[str] = []
        self.outside: list[str] = []
        self.context.on("request", lambda request: self._check(request.url))
        self.context.on("page", lambda page: page.on("websocket", lambda ws: self._check(ws.url)))

    def _check(self, url: str) -> None:
        if url.startswith(("data:", "blob:", "about:")):
            return
        self.requested.append(url)
        if urlparse(url).hostname not in LOOPBACK:
            self.outside.append(url)

    def open(self, url: str):
        page = self.context.new_page()
        page.goto(url, wait_until="domcontentloaded")
        page.locator("h1").first.wait_for()
        wait_idle(page)
        return page

    def close(self) -> None:
        self.context.close()


def wait_idle(page) -> None:
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=TIMEOUT_MS)


def settle(page, timeout_s: float = 20.0) -> None:
    """Wait until the page stops adding elements and plotly has drawn (counts stable for 1 s)."""
    probe = """() => [document.querySelectorAll('[data-testid="stElementContainer"]').length,
                      document.querySelectorAll('.js-plotly-plot .main-svg').length,
                      document.querySelectorAll('[data-testid="stDataFrame"] canvas').length,
                      document.querySelectorAll('[role="gridcell"]').length].join()"""
    ready = """() => [...document.querySelectorAll('[data-testid="stPlotlyChart"]')]
                      .every(c => c.querySelector('.js-plotly-plot .main-svg'))"""
    last, stable_since, deadline = None, time.monotonic(), time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        now = page.evaluate(probe)
        if now != last or not page.evaluate(ready):
            last, stable_since = now, time.monotonic()
        elif time.monotonic() - stable_since >= 1.0:
            return
        page.wait_for_timeout(250)


def _plain(text: str) -> str:
    """Numbers are grouped with no-break spaces: compare them as plain spaces."""
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def page_text(page) -> str:
    return _plain(page.evaluate(PAGE_TEXT_JS))


def visible_text(page) -> str:
    """The page's rendered text, whitespace collapsed (for whole messages, which may hold `code`)."""
    return " ".join(_plain(page.locator("body").inner_text()).split())


def shown(key: str, **values) -> str:
    """A message as the page shows it: its Markdown marks (`code`, **bold**) rendered away."""
    return " ".join(_plain(t(key, RU, **values)).replace("`", "").replace("**", "").split())


def names_in(text: str, names) -> list[str]:
    """The names that occur in `text` as whole names (not as part of a longer word or name)."""
    return [n for n in names if re.search(r"(?<![\w-])" + re.escape(n) + r"(?![\w-])", text)]


def kpi(page, key: str) -> str:
    card = page.locator('[data-testid="stMetric"]', has_text=t(key, RU)).first
    return _plain(card.locator('[data-testid="stMetricValue"]').inner_text().strip())


def wait_overview(page, names) -> None:
    """The Overview with its eight KPI cards, its two ranked tables, and at least one of `names` in them."""
    page.wait_for_function("n => document.querySelectorAll('[data-testid=\"stMetric\"]').length === n",
                           arg=len(CARD_METRICS), timeout=TIMEOUT_MS)
    page.wait_for_function("() => document.querySelectorAll('[data-testid=\"stDataFrame\"]').length === 2",
                           timeout=TIMEOUT_MS)
    page.wait_for_function(
        "names => { const text = (" + PAGE_TEXT_JS + ")(); return names.some(n => text.includes(n)); }",
        arg=list(names), timeout=TIMEOUT_MS,
    )
    wait_idle(page)
    settle(page)


def grid_rows(page) -> list[tuple[int, int]]:
    """For each grid on the page: (rows it holds, header included; rows rendered in the DOM). A grid
    renders only the rows in view, so text checks cover all of its rows only when the two agree."""
    return [tuple(pair) for pair in page.evaluate(
        """() => [...document.querySelectorAll('[data-testid="stDataFrame"]')].map(grid => {
            const table = grid.querySelector('[aria-rowcount]');
            return [table ? Number(table.getAttribute('aria-rowcount')) : -1, grid.querySelectorAll('[role="row"]').length];
        })"""
    )]


def nav_entries(page) -> list[str]:
    """The navigation's page names (each link's last line: the first is its icon's name)."""
    return [s.strip().splitlines()[-1].strip() for s in page.locator('[data-testid="stSidebarNavLink"]').all_inner_texts()]


def sign_in_through_app(session: Browsing, app: App, login: str):
    """Open the app, click its sign-in button, sign in on the provider's form, and wait for the app
    to greet the user (every signed-in page names the user in the sidebar)."""
    page = session.open(f"{app.url}/")
    page.get_by_role("button", name=t("auth.sign_in", RU), exact=True).click()
    page.wait_for_url(re.compile("^" + re.escape(app.issuer) + "/"), timeout=TIMEOUT_MS)
    sign_in(page, login, timeout_ms=TIMEOUT_MS)
    assert page.url.startswith(app.url), page.url
    page.locator('[data-testid="stSidebar"]', has_text=login).first.wait_for(timeout=TIMEOUT_MS)
    wait_idle(page)
    return page


@pytest.fixture(scope="module")
def signed_in(browser, app):
    """A signed-in browser context per user, made on first use and kept for the module (all of them
    stay signed in at once)."""
    sessions: dict[str, Browsing] = {}

    def get(login: str) -> Browsing:
        if login not in sessions:
            session = Browsing(browser)
            sessions[login] = session
            sign_in_through_app(session, app, login).close()
        return sessions[login]

    yield get
    for session in sessions.values():
        session.close()


def assert_on_loopback(*sessions: Browsing) -> None:
    for session in sessions:
        assert session.requested, "no request was recorded"
        assert session.outside == [], f"requests left loopback: {session.outside}"


def no_errors(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0, page_text(page)[:2000]
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0, page_text(page)[:2000]


def _names(facts: Facts, north: bool) -> list[str]:
    m = facts.municipalities
    return m.loc[(m["territory_id"] == 1) == north, "name_ru"].tolist()


# ---------------------------------------------------------------- tests


def test_sign_in_then_a_territorial_head_sees_only_his_direction(browser, app, facts):
    session = Browsing(browser)
    try:
        page = session.open(f"{app.url}/")
        # Not signed in: the sign-in page, and no data at all.
        button = page.get_by_role("button", name=t("auth.sign_in", RU), exact=True)
        button.wait_for()
        assert shown("auth.please_sign_in") in visible_text(page)
        assert page.locator('[data-testid="stMetric"]').count() == 0
        assert names_in(page_text(page), facts.municipalities["name_ru"]) == []

        # Through the provider's login form and back.
        button.click()
        page.wait_for_url(re.compile("^" + re.escape(app.issuer) + "/"), timeout=TIMEOUT_MS)
        assert page.locator('input[name="login"]').count() == 1
        sign_in(page, NORTH, timeout_ms=TIMEOUT_MS)
        assert page.url.startswith(app.url), page.url

        northern, others = _names(facts, north=True), _names(facts, north=False)
        wait_overview(page, northern)
        assert page.locator("h1").first.inner_text().strip() == t("overview.title", RU)
        text = page_text(page)
        assert shown("auth.scope_note", scope="Север") in visible_text(page)
        assert NORTH in text  # who is signed in, in the sidebar
        # One direction, and at most its current municipalities; every row of both tables is rendered,
        # so the name checks below cover them all.
        current_north = facts.municipalities.query("territory_id == 1 and successor_id.isna()")
        rows = grid_rows(page)
        assert rows[0] == (2, 2), rows
        assert rows[1][0] == rows[1][1] and 2 <= rows[1][0] <= len(current_north) + 1, rows
        assert names_in(text, others) == []
        assert names_in(text, northern)
        assert page.get_by_role("button", name=t("auth.sign_in", RU), exact=True).count() == 0
        no_errors(page)
        assert_on_loopback(session)
    finally:
        session.close()
    signed = access.audit_rows(user=NORTH, action="sign_in")
    assert not signed.empty and (signed["outcome"] == "ok").all()
    assert '"t:1|m:"' in signed["detail"].iloc[0]  # the scope the session got


def test_two_users_at_once_each_see_their_own_scope(signed_in, app, facts):
    north, lead = signed_in(NORTH), signed_in(LEAD)  # both signed in, each in its own browser context
    northern, others = _names(facts, north=True), _names(facts, north=False)
    everyone = facts.municipalities["name_ru"].tolist()
    north_page, lead_page = north.open(f"{app.url}/"), lead.open(f"{app.url}/")
    try:
        for page in (north_page, lead_page):
            page.reload(wait_until="domcontentloaded")  # a new session of each, from its cookie
        wait_overview(north_page, northern)
        wait_overview(lead_page, everyone)

        north_text, lead_text = page_text(north_page), page_text(lead_page)
        assert NORTH in north_text and LEAD in lead_text
        rows = grid_rows(north_page)  # every row of north's tables rendered, so checked by name
        assert rows[0] == (2, 2) and rows[1][0] == rows[1][1], rows
        assert names_in(north_text, others) == []
        assert names_in(north_text, northern)
        m = facts.municipalities.set_index("name_ru")["territory_id"]
        directions = {int(m[n]) for n in names_in(lead_text, everyone)}
        assert len(directions) >= 2, directions
        assert shown("auth.scope_note", scope="Север") not in visible_text(lead_page)

        north_value, lead_value = kpi(north_page, "kpi.created"), kpi(lead_page, "kpi.created")
        assert north_value != lead_value
        assert north_value == _plain(facts.north_created)
        assert lead_value == _plain(facts.region_created)
        no_errors(north_page)
        no_errors(lead_page)
        assert_on_loopback(north, lead)
    finally:
        north_page.close()
        lead_page.close()


def test_a_tampered_link_says_no_access_and_is_on_record(signed_in, app, facts):
    north = signed_in(NORTH)
    page = north.open(f"{app.url}/?org={facts.south_org_id}")
    try:
        page.get_by_text(t("auth.no_access", RU), exact=False).first.wait_for()
        wait_overview(page, _names(facts, north=True))  # the filter is dropped: north's own data shown
        text = page_text(page)
        assert "нет доступа" in text
        assert facts.south_org_name not in text
        assert names_in(text, _names(facts, north=False)) == []
        assert f"org={facts.south_org_id}" not in page.url
        no_errors(page)
    finally:
        page.close()
    refused = access.audit_rows(user=NORTH, action="refused")
    assert refused["target"].str.contains(f"org={facts.south_org_id}", regex=False).any(), refused
    assert (refused["outcome"] == "refused").all()

    page = north.open(f"{app.url}/drill?req={facts.south_ticket_id}")
    try:
        page.get_by_text(t("auth.no_access", RU), exact=True).first.wait_for()
        wait_idle(page)
        text = page_text(page)
        assert t("drill.timeline", RU) not in text  # nothing of the request's card
        assert page.locator('[data-testid="stMetric"]').count() == 0
        assert names_in(text, _names(facts, north=False)) == []
    finally:
        page.close()
    refused = access.audit_rows(user=NORTH, action="refused")
    assert refused["target"].str.contains(f"req={facts.south_ticket_id}", regex=False).any(), refused
    assert_on_loopback(north)


def test_a_territorial_head_cannot_import_or_edit_events(signed_in, app):
    north = signed_in(NORTH)
    page = north.open(f"{app.url}/data")
    try:
        page.get_by_text(shown("data.import_needs_role")).wait_for()
        wait_idle(page)
        assert page.locator("h1").first.inner_text().strip() == t("data.title", RU)
        assert page.locator('[data-testid="stFileUploader"]').count() == 0
        assert page.locator('input[type="file"]').count() == 0
        nav = nav_entries(page)
        assert t("page.overview", RU) in nav and t("page.data", RU) in nav, nav
        assert t("page.access", RU) not in nav, nav
        no_errors(page)
    finally:
        page.close()

    page = north.open(f"{app.url}/compare")
    try:
        page.get_by_text(shown("events.read_only")).wait_for(timeout=90_000)
        wait_idle(page)
        assert page.get_by_role("button", name=t("events.save", RU)).count() == 0
        assert page.locator('[data-testid="stFileUploader"]').count() == 0
        assert t("page.access", RU) not in nav_entries(page)
        no_errors(page)
    finally:
        page.close()

    # A data officer, for contrast: the uploader and the register's save button are there.
    officer = signed_in(DATA)
    page = officer.open(f"{app.url}/data")
    try:
        page.locator('[data-testid="stFileUploader"]').first.wait_for()
        assert shown("data.import_needs_role") not in visible_text(page)
        assert t("page.access", RU) not in nav_entries(page)
    finally:
        page.close()
    page = officer.open(f"{app.url}/compare")
    try:
        page.get_by_role("button", name=t("events.save", RU)).wait_for(timeout=90_000)
        assert shown("events.read_only") not in visible_text(page)
    finally:
        page.close()
    assert_on_loopback(north, officer)


def test_admin_lands_on_the_access_page_and_screenshots(signed_in, app, facts):
    # North's Overview, for the README.
    north = signed_in(NORTH)
    page = north.open(f"{app.url}/")
    try:
        wait_overview(page, _names(facts, north=True))
        no_errors(page)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "access-territorial-head.png"))
        if os.environ.get("OVERSIGHT_DOCS_SCREENSHOTS"):  # refresh the README's pictures on request only
            page.screenshot(path=str(DOCS / "screenshot-territorial-head.png"))
    finally:
        page.close()

    admin = signed_in(ADMIN)
    page = admin.open(f"{app.url}/")
    try:
        page.locator("h1", has_text=t("access.title", RU)).wait_for()
        # The grants and the audit log are grids: wait for their accessible cells.
        page.locator('[role="gridcell"]', has_text=NORTH).first.wait_for(state="attached")
        page.locator('[role="gridcell"]', has_text=t("audit.sign_in", RU)).first.wait_for(state="attached")
        wait_idle(page)
        settle(page)
        assert page.locator("h1").first.inner_text().strip() == t("access.title", RU)
        text = page_text(page)
        assert t("access.grants", RU) in text and t("access.audit", RU) in text
        for user in (NORTH, SOUTH, LEAD, DATA, ADMIN):
            assert page.locator('[role="gridcell"]', has_text=user).count() >= 1, user
        assert NOGRANT not in text
        assert t("role.territorial_head", RU) in text and t("role.admin", RU) in text
        # The audit log, newest first: the admin's own sign-in tops it.
        grids = page.locator('[data-testid="stDataFrame"]')
        assert grids.count() == 2
        audit_grid = grids.nth(1)
        first_row = audit_grid.locator('[role="row"]').nth(1).inner_text()
        assert ADMIN in first_row and t("audit.sign_in", RU) in first_row, first_row
        assert audit_grid.locator('[role="gridcell"]', has_text=NORTH).count() >= 1
        # No data for an admin alone: no KPIs, no filters, only the Access page.
        assert page.locator('[data-testid="stMetric"]').count() == 0
        assert t("page.overview", RU) not in nav_entries(page)
        no_errors(page)
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "access-admin.png"))
        if os.environ.get("OVERSIGHT_DOCS_SCREENSHOTS"):
            page.screenshot(path=str(DOCS / "screenshot-access.png"))
        page.get_by_role("heading", name=t("access.audit", RU), exact=True).scroll_into_view_if_needed()
        settle(page)
        page.screenshot(path=str(SCREENSHOTS / "access-admin-audit.png"))
    finally:
        page.close()
    assert_on_loopback(north, admin)


def test_an_account_without_a_grant_sees_whom_to_ask(signed_in, app, facts):
    session = signed_in(NOGRANT)
    page = session.open(f"{app.url}/")
    try:
        message = shown("auth.no_grant", user=NOGRANT, admins=ADMIN)
        page.get_by_text(message).wait_for()
        wait_idle(page)
        text = page_text(page)
        assert ADMIN in text
        assert page.locator('[data-testid="stMetric"]').count() == 0
        assert names_in(text, facts.municipalities["name_ru"]) == []
        assert nav_entries(page) == []
    finally:
        page.close()
    assert not access.audit_rows(user=NOGRANT, action="sign_in").empty
    assert_on_loopback(session)


def test_without_sign_in_only_loopback_clients_are_served(browser, plain_app):
    # Uvicorn takes the client's address from X-Forwarded-For when the connection comes from
    # 127.0.0.1; Chromium sends a context's extra headers on every request, the WebSocket
    # handshake (where Streamlit reads st.context.ip_address) included.
    remote = Browsing(browser, extra_http_headers={"X-Forwarded-For": FORWARDED_CLIENT})
    local = Browsing(browser)
    try:
        page = remote.context.new_page()
        page.goto(f"{plain_app}/", wait_until="domcontentloaded")
        page.get_by_text("Вход в систему не настроен").first.wait_for()
        wait_idle(page)
        assert shown("auth.remote_without_sign_in") in visible_text(page)
        assert page.locator('[data-testid="stMetric"]').count() == 0
        assert shown("auth.single_user") not in visible_text(page)
        assert nav_entries(page) == []

        page = local.open(f"{plain_app}/")
        page.get_by_text("Однопользовательский режим").first.wait_for()
        page.wait_for_function("n => document.querySelectorAll('[data-testid=\"stMetric\"]').length === n",
                               arg=len(CARD_METRICS), timeout=TIMEOUT_MS)
        assert page.locator("h1").first.inner_text().strip() == t("overview.title", RU)
        assert shown("auth.single_user") in visible_text(page)
        assert t("page.access", RU) in nav_entries(page)  # every action allowed on this computer
        no_errors(page)
        assert_on_loopback(remote, local)
    finally:
        remote.close()
        local.close()
