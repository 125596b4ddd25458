"""The parts of a page that change alone rerun alone (#21, st.fragment): the presenter's next slide and
another event on Before/after. Checked in Chromium, where fragments run as they do for a person
(AppTest reruns the whole script): the page shows the new slide or comparison, the link says so, and
Streamlit ran only the fragment (its script_finished status), not the page with its sidebar."""

from __future__ import annotations

import time

import pandas as pd
import pytest
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from oversight import store
from oversight.analysis import compare
from oversight.filters import Filters
from oversight.i18n import t
from tests.test_browser import Visit, _serve

pytestmark = pytest.mark.browser

FULL, FRAGMENT = ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY


@pytest.fixture(scope="module")
def served(small_db, tmp_path_factory):
    yield from _serve(small_db, tmp_path_factory)


class RunLog:
    """The script runs the server reports over the page's websocket (script_finished statuses)."""

    def __init__(self, page):
        self.page = page
        self.statuses: list[int] = []
        page.on("websocket", lambda ws: ws.on("framereceived", self._frame))

    def _frame(self, payload) -> None:
        if not isinstance(payload, (bytes, bytearray)):
            return
        message = ForwardMsg()
        try:
            message.ParseFromString(bytes(payload))
        except Exception:  # noqa: BLE001 - not a ForwardMsg: nothing to record
            return
        if message.WhichOneof("type") == "script_finished":
            self.statuses.append(message.script_finished)

    def since(self, count: int, until: int | None = None, timeout_s: float = 30.0) -> list[int]:
        """The statuses after the first `count`, once at least one more (or `until`) has come."""
        deadline = time.time() + timeout_s
        while time.time() < deadline and (len(self.statuses) <= count if until is None else until not in self.statuses[count:]):
            self.page.wait_for_timeout(100)  # Playwright's sync API delivers events only while it waits
        self.page.wait_for_timeout(500)  # a second run (a rerun the first asked for) would come within moments
        return self.statuses[count:]


def _open(browser, url: str, height: int = 768) -> tuple[Visit, RunLog]:
    """A visit whose websocket is watched: opened, then reloaded with the listener on."""
    visit = Visit(browser, url, 1366, height)
    log = RunLog(visit.page)
    visit.page.reload()
    visit.page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=90_000)
    visit._settle()
    return visit, log


def _title(page) -> str:
    return page.locator("h1").first.inner_text().strip()


def test_the_next_slide_reruns_only_the_slide(browser, served):
    visit, log = _open(browser, f"{served}/examples?lang=ru&present=1&slide=1&minv=20")
    page = visit.page
    try:
        assert _title(page) == t("slides.kpis", "ru", scope=t("drill.region", "ru"))
        before = len(log.statuses)
        page.locator("h1").first.click()
        page.keyboard.press("ArrowRight")
        page.wait_for_function("t => document.querySelector('h1').innerText.trim() === t", arg=t("slides.map", "ru"),
                               timeout=30_000)
        assert log.since(before) == [FRAGMENT]  # one run, of the slide alone
        assert "slide=2" in page.url
        before = len(log.statuses)
        page.keyboard.press("ArrowLeft")
        page.wait_for_function("t => document.querySelector('h1').innerText.trim() === t",
                               arg=t("slides.kpis", "ru", scope=t("drill.region", "ru")), timeout=30_000)
        assert log.since(before) == [FRAGMENT]
        assert "slide=1" in page.url
        # Leaving presenter mode is the whole page again: the examples with their controls.
        before = len(log.statuses)
        page.keyboard.press("Escape")
        page.wait_for_function("t => document.querySelector('h1').innerText.trim() === t", arg=t("examples.title", "ru"),
                               timeout=30_000)
        assert log.since(before, until=FULL)[-1] == FULL  # the slide's run hands over to the page's
        assert "present=" not in page.url
        assert visit.real_console_errors() == []
        assert page.locator('[data-testid="stException"]').count() == 0
    finally:
        visit.close()


def test_another_event_reruns_only_the_comparison_and_shows_its_conclusion(browser, served, con, as_of):
    events = store.run(con, "events_all")
    visit, log = _open(browser, f"{served}/compare?lang=ru", height=2400)
    page = visit.page
    try:
        first = int(pd.Series(page.url.split("event=")[1:]).str.extract(r"^(\d+)")[0].iloc[0])
        box = page.locator('[data-testid="stSelectbox"]', has_text=t("compare.event", "ru")).first
        box.locator("button").first.click()
        options = page.locator('[role="option"]')
        options.first.wait_for(timeout=30_000)
        other = next(i for i in range(options.count())
                     if not options.nth(i).inner_text().startswith(_label_date(events, first)))
        before = len(log.statuses)
        options.nth(other).click()
        page.wait_for_function(f"() => !location.search.includes('event={first}')", timeout=30_000)
        assert log.since(before) == [FRAGMENT]
        visit._settle()
        chosen = int(page.url.split("event=")[1].split("&")[0])
        assert chosen != first
        row = events[events["event_id"] == chosen].iloc[0]
        periods = compare.Periods.around(row["event_date"].date(), compare.DEFAULT_DAYS)
        last_day = (as_of - pd.Timedelta(days=1)).date()
        if periods.after_end > last_day:
            periods = compare.Periods(periods.before_start, periods.before_end, periods.after_start,
                                      max(last_day, periods.after_start))
        treated = [] if pd.isna(row["municipality_id"]) or pd.notna(row["organization_id"]) else [int(row["municipality_id"])]
        orgs = [int(row["organization_id"])] if pd.notna(row["organization_id"]) else []
        result = compare.compare(con, Filters(periods.before_start, periods.after_end), as_of, periods, treated, orgs)
        expected = " ".join(compare.conclusion(result, "ru").replace("\u00a0", " ").split())
        text = " ".join(page.inner_text("body").replace("\u00a0", " ").split())
        assert expected in text
        # The sidebar is still there and untouched by the fragment's run.
        assert page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').count() >= 3
        assert visit.real_console_errors() == []
        assert page.locator('[data-testid="stException"]').count() == 0
    finally:
        visit.close()


def _label_date(events: pd.DataFrame, event_id: int) -> str:
    """The start of the event's option label (its date, as the page writes it)."""
    day = events.loc[events["event_id"] == event_id, "event_date"].iloc[0]
    return f"{day:%d.%m.%Y}"
