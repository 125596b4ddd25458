"""The Before/after page as a user meets it (AppTest): the event it opens with, and the colour and
wording of its conclusion for every event of the register, against the library's own numbers."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from oversight import store
from oversight.access import EVERYTHING
from oversight.analysis import compare
from oversight.filters import Filters
from oversight.paths import ROOT

DASHBOARD = str(ROOT / "dashboard.py")  # absolute: AppTest resolves relative paths oddly
PAGE = "app_pages/compare.py"
BOXES = ("success", "info", "error", "warning")
EXPECTED_BOX = {"better": "success", "worse": "error", "unclear": "info", "none": "info"}


@pytest.fixture(scope="module")
def story(story_db):
    con = store.connect(story_db, EVERYTHING)
    return story_db, con, store.dataset_info(con)["as_of"].to_pydatetime()


def _open(db: str, monkeypatch, lang: str, **query) -> AppTest:
    monkeypatch.setenv("OVERSIGHT_DB", db)
    at = AppTest.from_file(DASHBOARD, default_timeout=180)
    at.query_params["lang"] = lang
    for key, value in query.items():
        at.query_params[key] = value
    at.run()
    at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    return at


def _expected(con, as_of, event) -> dict:
    """The comparison the page makes for an event with its defaults (90 days, the event's group)."""
    periods = compare.Periods.around(event.event_date.date(), 90)  # the page's default
    last_day = (as_of - dt.timedelta(days=1)).date()
    if periods.after_end > last_day:
        periods = replace(periods, after_end=max(last_day, periods.after_start))
    orgs = [int(event.organization_id)] if pd.notna(event.organization_id) else []
    treated = [int(event.municipality_id)] if pd.notna(event.municipality_id) and not orgs else []
    return compare.compare(con, Filters(periods.before_start, periods.after_end), as_of, periods, treated, orgs)


def _boxes_with(at: AppTest, text: str) -> list[str]:
    return [kind for kind in BOXES for box in getattr(at, kind) if text in box.value]


def _deciding(result: dict) -> dict:
    """The estimate the verdict rests on, worked out here from the result: the difference-in-differences
    when there is one, else the raw change of the treated group (or the region)."""
    did = result.get("did")
    return did if did and did["ratio"] is not None else result.get("treated") or result["region"]


def test_the_page_opens_on_the_most_informative_event(story, monkeypatch):
    db, con, as_of = story
    events = store.run(con, "events_all").set_index("event_id", drop=False)
    newest = int(events["event_id"].iloc[0])
    at = _open(db, monkeypatch, "ru")
    opened = int(at.selectbox(key="pg_event").value)
    # Not the newest event (a fine of one organisation, a dozen missed deadlines either side, which
    # the page opened with before) but one with a comparison group and enough data either side for
    # the page not to warn of short periods or few missed deadlines.
    assert opened != newest
    event = events.loc[opened]
    assert pd.notna(event["municipality_id"]) or pd.notna(event["organization_id"])
    result = _expected(con, as_of, event)
    main = result["treated"]
    assert min(main["missed_before"], main["missed_after"]) >= compare.MIN_COUNT, main
    assert min(main["days_before"], main["days_after"]) >= compare.MIN_DAYS, main
    assert not [key for key, _ in result["warnings"] if key in ("compare.warn.short", "compare.warn.small")]
    # ... and of those, the one measured most precisely (the rule of compare.default_event).
    assert opened == compare.default_event(compare.event_power(con, as_of))
    # A link that names an event still opens that event.
    at = _open(db, monkeypatch, "ru", event=str(newest))
    assert at.selectbox(key="pg_event").value == str(newest)


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_the_conclusion_is_coloured_by_what_it_says(story, monkeypatch, lang):
    db, con, as_of = story
    at = _open(db, monkeypatch, lang)
    seen = {}
    for event in store.run(con, "events_all").itertuples():
        at.selectbox(key="pg_event").set_value(str(event.event_id)).run()
        assert not at.exception, at.exception
        result = _expected(con, as_of, event)
        deciding = _deciding(result)
        # Green only when the deciding interval lies wholly below "no change", red wholly above,
        # neutral when it contains "no change".
        kind = "better" if deciding["high"] < 1.0 else "worse" if deciding["low"] > 1.0 else "unclear"
        text = compare.conclusion(result, lang)
        assert _boxes_with(at, text) == [EXPECTED_BOX[kind]], (event.event_id, kind, text)
        # The wording never puts a change of "0 %" beside a change the other way.
        assert not re.search(r"(?:на|were|trend:|области —) 0[\s\u00a0]?%", text), text
        seen[int(event.event_id)] = kind
    # The register has sure improvements and inconclusive ones: both colours were checked.
    assert "better" in seen.values() and "unclear" in seen.values(), seen
