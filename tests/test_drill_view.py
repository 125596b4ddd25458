"""The Drill-down page as its users see it (issue #19): the way from a direction to an organisation's
overdue request in three selections, each table at the top of the page; ranks by the measure with
ties shared; lateness in days; key–value cards without an empty header row; breadcrumbs with the
whole way to a request. AppTest drives the page; a real browser checks the 1366×768 screen."""

from __future__ import annotations

import datetime as dt
import re

import pandas as pd
import pytest
import reference_metrics as ref
from streamlit.testing.v1 import AppTest

from oversight.analysis import drill
from oversight.filters import default_filters
from oversight.i18n import fmt_number, t
from oversight.paths import ROOT

DASHBOARD = str(ROOT / "dashboard.py")
DRILL = "app_pages/drill.py"
NORTH = 1  # «Север»


def _page(db: str, monkeypatch, **query) -> AppTest:
    monkeypatch.setenv("OVERSIGHT_DB", db)
    at = AppTest.from_file(DASHBOARD, default_timeout=120)
    for key, value in query.items():
        at.query_params[key] = str(value)
    at.run()
    at.switch_page(DRILL).run()
    assert not at.exception, at.exception
    return at


def _walk(node):
    """The page's elements in the order they are drawn."""
    children = getattr(node, "children", None)
    if children is None:
        yield node
        return
    for key in sorted(children):
        yield from _walk(children[key])


def _selectable(at: AppTest):
    return [d for d in at.dataframe if list(d.proto.selection_mode)]


def _select(at: AppTest, table, row: int) -> AppTest:
    """One user interaction: a click on a row of a selectable table."""
    at.session_state[table.key] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    at.run()
    assert not at.exception, at.exception
    return at


def _first_selectable_before_any_metric(at: AppTest):
    """The first selectable table of the page, asserting that no KPI card comes before it (the table
    the next click is on is the first thing under the breadcrumbs, not under eight cards)."""
    for element in _walk(at.main):
        if element.type == "metric":
            pytest.fail("a KPI card comes before the level's table")
        if element.type == "arrow_data_frame" or getattr(element, "type", "") == "dataframe":
            if list(element.proto.selection_mode):
                return element
    pytest.fail("no selectable table on the page")


def _row_of(table, column: str, value) -> int:
    shown = table.value
    matches = [i for i, v in enumerate(shown[column]) if v == value]
    assert matches, (column, value, shown[column].tolist()[:20])
    return matches[0]


@pytest.fixture(scope="module")
def north_target(frames, as_of):
    """«Север»'s worst organisation (most missed deadlines in the default period) that has open
    overdue requests, its municipality, and its oldest open overdue request: from plain pandas."""
    f = default_filters(as_of)
    start, stop = pd.Timestamp(f.start), pd.Timestamp(f.end + dt.timedelta(days=1))
    end = min(stop, pd.Timestamp(as_of))
    rows = ref.scoped(frames, territory_id=NORTH)
    rows = rows[rows["organization_id"].notna()]
    open_overdue = rows[ref.open_at(rows, end) & (rows["due_at"] < end)]
    due = rows[(rows["due_at"] >= start) & (rows["due_at"] < stop) & (rows["due_at"] < pd.Timestamp(as_of))]
    missed = due[due["closed_at"].isna() | (due["closed_at"] > due["due_at"])]
    with_overdue = set(open_overdue["organization_id"])
    counts = missed[missed["organization_id"].isin(with_overdue)].groupby(["current_municipality_id", "organization_id"]).size()
    municipality, organization = (int(v) for v in counts.sort_values(ascending=False).index[0])
    mine = open_overdue[(open_overdue["organization_id"] == organization)
                        & (open_overdue["current_municipality_id"] == municipality)]
    oldest = mine.sort_values(["due_at", "ticket_id"]).iloc[0]
    return {"municipality": municipality, "organization": organization, "ticket": int(oldest["ticket_id"]),
            "hours_late": (end - oldest["due_at"]).total_seconds() / 3600, "building": int(oldest["building_id"]),
            "end": end, "mine": mine}


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_three_selections_from_a_direction_to_an_organisations_overdue_request(
        small_db, frames, north_target, monkeypatch, lang):
    """A head of «Север» reaches a bad organisation's overdue request in three clicks, each on the
    first table of the page (before any KPI card), and lands on the request's card under its place."""
    names = frames["municipalities"].set_index("municipality_id")
    orgs = frames["organizations"].set_index("organization_id")
    at = _page(small_db, monkeypatch, dir=NORTH, lang=lang)
    clicks = 0

    table = _first_selectable_before_any_metric(at)
    assert table.key.startswith("drill_table_municipality_")
    name = names.loc[north_target["municipality"], "name_en" if lang == "en" else "name_ru"]
    at = _select(at, table, _row_of(table, t("drill.col.municipality", lang), name))
    clicks += 1

    table = _first_selectable_before_any_metric(at)
    assert table.key.startswith("drill_table_organization_")
    at = _select(at, table, _row_of(table, t("drill.col.organization", lang), orgs.loc[north_target["organization"], "name"]))
    clicks += 1

    table = _first_selectable_before_any_metric(at)
    assert table.key == f"drill_overdue_{north_target['organization']}"  # the organisation's overdue requests
    assert table.value[t("col.ticket_id", lang)].iloc[0] == north_target["ticket"]  # oldest first
    at = _select(at, table, 0)
    clicks += 1

    assert clicks <= 3
    assert at.subheader[0].value == t("drill.request", lang, id=north_target["ticket"])
    assert at.session_state["pg_req"] == north_target["ticket"]
    assert at.session_state["pg_bld"] == north_target["building"]  # opened under its own building
    assert at.session_state["flt_organization_id"] == north_target["organization"]
    crumbs = [b.key for b in at.button if str(b.key).startswith("crumb_")]
    assert crumbs == ["crumb_region", "crumb_territory", "crumb_municipality", "crumb_organization", "crumb_building"]


def test_overdue_requests_show_days_late_and_the_key_columns(small_db, north_target, monkeypatch):
    at = _page(small_db, monkeypatch, dir=NORTH, mun=north_target["municipality"], org=north_target["organization"])
    table = next(d for d in _selectable(at) if d.key == f"drill_overdue_{north_target['organization']}")
    shown = table.value
    assert list(shown.columns) == [t(c, "ru") for c in ("col.ticket_id", "col.due_at", "col.days_late", "col.category",
                                                          "col.address")]
    mine = north_target["mine"].sort_values(["due_at", "ticket_id"]).head(drill.OVERDUE_LIMIT)
    assert shown[t("col.ticket_id", "ru")].tolist() == mine["ticket_id"].tolist()
    want = ((north_target["end"] - mine["due_at"]).dt.total_seconds() / 86400).round(1)
    assert shown[t("col.days_late", "ru")].tolist() == pytest.approx(want.tolist(), abs=0.051)
    assert t("col.days_late", "ru") == "Просрочка, дн."
    assert not any("ч" == c.split(", ")[-1] for c in shown.columns)  # no column in hours


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_request_card_says_days_and_shows_key_value_lists_without_a_header(small_db, north_target, monkeypatch, lang):
    at = _page(small_db, monkeypatch, req=north_target["ticket"], lang=lang)
    days = north_target["hours_late"] / 24
    hours_ago = max(0.0, north_target["hours_late"])
    assert days > 1
    status = [e.value for e in at.error]
    assert status == [t("drill.late_by_days", lang, days=fmt_number(days, lang, 1))], status
    assert not re.search(r"\d ч\b| h$", status[0])
    assert fmt_number(hours_ago, lang, 1) not in status[0]
    assert len(at.table) == 2  # the facts and the timeline
    for table in at.table:
        assert table.proto.hide_header and table.proto.hide_index
        frame = table.value
        assert all(str(c).strip() for c in frame.columns)  # no blank column name anywhere
        assert frame.shape[1] == 2 and frame.iloc[:, 1].map(lambda v: str(v).strip() != "").all()
    timeline = at.table[1].value
    assert timeline.iloc[0, 0] == f"**{t('drill.event.created', lang)}**"


def test_a_bare_request_link_gets_the_whole_way_in_its_breadcrumbs(small_db, north_target, monkeypatch):
    at = _page(small_db, monkeypatch, req=north_target["ticket"])
    crumbs = [b.key for b in at.button if str(b.key).startswith("crumb_")]
    assert crumbs == ["crumb_region", "crumb_territory", "crumb_municipality", "crumb_organization", "crumb_building"]
    assert at.query_params.get("org") in (str(north_target["organization"]), [str(north_target["organization"])])
    assert not any("показано там" in i.value for i in at.info)  # filled in, not "corrected"


def test_the_place_of_a_request_is_read_under_the_users_scope(small_db, frames, north_target):
    """The breadcrumbs' steps are filled through the scoped connection: a head of «Север» gets the
    way to his own request, and nothing (not even its direction) of another direction's."""
    from oversight import store
    from oversight.access import Scope

    north = store.connect(small_db, Scope(territory_ids=frozenset({NORTH}), municipality_ids=frozenset()))
    own = drill.place(north, drill.Path(ticket_id=north_target["ticket"]))
    assert (own.territory_id, own.municipality_id, own.organization_id, own.building_id) == (
        NORTH, north_target["municipality"], north_target["organization"], north_target["building"])
    everyone = ref.scoped(frames)
    foreign = everyone[(everyone["territory_id"] != NORTH) & everyone["building_id"].notna()].iloc[0]
    asked = drill.Path(ticket_id=int(foreign["ticket_id"]))
    assert drill.place(north, asked) == asked
    asked = drill.Path(building_id=int(foreign["building_id"]))
    assert drill.place(north, asked) == asked


def _worse_count(frame: pd.DataFrame) -> list[int]:
    """1 + how many rows are strictly worse: more missed, or as many and a lower on-time rate (none
    due: last), or both equal and more open overdue. Plain Python, row by row."""
    def key(r):
        rate = r["on_time_rate"]
        return (-r["missed"], float("inf") if pd.isna(rate) else rate, -r["overdue_backlog_end"])

    keys = [key(r) for _, r in frame.iterrows()]
    return [1 + sum(other < mine for other in keys) for mine in keys]


@pytest.mark.parametrize("level", ["municipality", "organization", "building", "category"])
def test_rank_is_by_the_measure_and_ties_share_a_rank(con, as_of, frames, north_target, level):
    f = default_filters(as_of)
    scope = {"municipality": dict(territory_id=NORTH),
             "organization": dict(territory_id=NORTH, municipality_id=north_target["municipality"]),
             "building": dict(territory_id=NORTH, municipality_id=north_target["municipality"],
                              organization_id=north_target["organization"]),
             "category": dict(territory_id=NORTH)}[level]
    from dataclasses import replace

    table = drill.children(con, replace(f, **scope), as_of, level)
    assert table["rank"].tolist() == _worse_count(table)
    assert table["rank"].is_monotonic_increasing and table["rank"].iloc[0] == 1
    # The data have rows with as many missed deadlines and different rates: ranked apart, not shared.
    same_missed = table[table["missed"] > 0].groupby("missed")["on_time_rate"].nunique()
    if (same_missed > 1).any():
        assert table.loc[table["missed"] > 0, "rank"].nunique() > table.loc[table["missed"] > 0, "missed"].nunique()


def test_ranked_by_hand():
    rows = pd.DataFrame({
        "child_id": pd.array([1, 2, 3, 4, 5, 6], dtype="Int64"),
        "missed": [1, 3, 3, 0, 3, 1],
        "on_time_rate": [None, 0.5, 0.9, None, 0.5, None],
        "overdue_backlog_end": [0, 2, 0, 0, 2, 0],
        "created": [5, 9, 9, 1, 8, 5],
    })
    out = drill.ranked(rows)
    assert out["child_id"].tolist() == [2, 5, 3, 1, 6, 4]
    assert out["rank"].tolist() == [1, 1, 3, 4, 4, 6]
    # All with one missed deadline but different rates: not all first (the defect of the worst categories).
    equal_missed = pd.DataFrame({"child_id": pd.array([1, 2, 3], dtype="Int64"), "missed": [1, 1, 1],
                                 "on_time_rate": [0.95, 0.5, 0.8], "overdue_backlog_end": [0, 0, 0], "created": [20, 2, 5]})
    assert drill.ranked(equal_missed)[["child_id", "rank"]].values.tolist() == [[2, 1], [3, 2], [1, 3]]


def test_worst_categories_on_the_card_are_ranked_by_the_measure_shown(small_db, north_target, monkeypatch):
    at = _page(small_db, monkeypatch, dir=NORTH, mun=north_target["municipality"], org=north_target["organization"])
    worst = next(d.value for d in at.dataframe if list(d.value.columns[:2]) == [t("col.rank", "ru"), t("col.category", "ru")])
    rank, missed, rate, late = (t(c, "ru") for c in ("col.rank", "col.missed", "col.on_time_rate", "col.overdue_backlog_end"))
    assert list(worst.columns[:4]) == [rank, t("col.category", "ru"), missed, rate]  # the measure beside the rank
    assert worst[rank].iloc[0] == 1 and worst[rank].is_monotonic_increasing
    for (_, a), (_, b) in zip(worst.iloc[:-1].iterrows(), worst.iloc[1:].iterrows()):
        key_a, key_b = (a[missed], -_pct(a[rate]), a[late]), (b[missed], -_pct(b[rate]), b[late])
        assert key_a >= key_b
        assert (a[rank] == b[rank]) == (key_a == key_b)


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_no_note_of_the_page_turns_into_a_heading(small_db, north_target, monkeypatch, lang):
    """The rank note starts with «#» in English: shown as text, not as a Markdown heading."""
    at = _page(small_db, monkeypatch, dir=NORTH, mun=north_target["municipality"], org=north_target["organization"], lang=lang)
    notes = [c.value for c in at.caption]
    assert sum(t("drill.rank_note", lang)[2:30] in n for n in notes) == 2  # under the buildings and the categories
    assert not [n for n in notes if n.lstrip().startswith("#")], notes


def _pct(text) -> float:
    return float(str(text).replace("\u00a0", "").replace("%", "").replace(",", ".").strip())


def test_days_text():
    from oversight.ui.drill_page import late_text

    assert late_text(3877.4, "ru") == "Просрочена на 161,6 дн."
    assert late_text(3877.4, "en") == "Late by 161.6 days"
    assert late_text(30, "ru") == "Просрочена на 1,2 дн."
    assert late_text(5.26, "ru") == "Просрочена на 5,3 ч"


# ---------------------------------------------------------------- in a real browser at 1366×768


@pytest.fixture(scope="module")
def drill_server(small_db, tmp_path_factory):
    from test_browser import _serve

    yield from _serve(small_db, tmp_path_factory)


def _click_row_without_scrolling(page, row: int) -> None:
    """Click the row-selection box of a row of the first table, failing if it lies below the fold."""
    grid = page.locator('[data-testid="stDataFrame"]').first
    grid.wait_for(timeout=30_000)
    box = grid.bounding_box()
    y = box["y"] + 35 + 35 * row + 17  # header row, then 35 px rows
    assert y + 17 <= 768, f"the row is below the fold at y={y:.0f}: the user would have to scroll"
    assert page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]')?.scrollTop || window.scrollY") == 0
    page.mouse.click(box["x"] + 14, y)


def _wait_for_run(page) -> None:
    page.wait_for_timeout(300)
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=60_000)
    page.wait_for_timeout(700)


@pytest.mark.browser
@pytest.mark.parametrize("lang", ["ru", "en"])
def test_three_clicks_without_scrolling_at_1366x768(browser, drill_server, con, as_of, frames, lang):
    """The head of «Север» opens his direction; the worst municipality, its worst organisation with
    open overdue requests and that organisation's oldest overdue request are each a row of the
    table at the top of the screen: three clicks, no scrolling. Then the breadcrumbs: one baseline,
    no name cut."""
    from dataclasses import replace

    from test_browser import SCREENSHOTS, Visit

    f = default_filters(as_of)
    end = min(pd.Timestamp(f.end + dt.timedelta(days=1)), pd.Timestamp(as_of))
    north = ref.scoped(frames, NORTH)
    overdue = north[ref.open_at(north, end) & (north["due_at"] < end) & north["organization_id"].notna()]
    # The worst municipality (highest in its table) with an organisation that has open overdue requests,
    # and in it the highest such organisation: the rows a head would pick.
    municipalities = drill.children(con, replace(f, territory_id=NORTH), as_of, "municipality")
    mun_row = next(i for i, m in enumerate(municipalities["child_id"])
                   if (overdue["current_municipality_id"] == m).any())
    municipality = int(municipalities.iloc[mun_row]["child_id"])
    orgs = drill.children(con, replace(f, territory_id=NORTH, municipality_id=municipality), as_of, "organization")
    rows = north[north["current_municipality_id"] == municipality]
    with_overdue = set(overdue.loc[overdue["current_municipality_id"] == municipality, "organization_id"].astype(int))
    org_row = next(i for i, o in enumerate(orgs["child_id"]) if pd.notna(o) and int(o) in with_overdue)
    organization = int(orgs.iloc[org_row]["child_id"])
    mine = rows[(rows["organization_id"] == organization) & ref.open_at(rows, end) & (rows["due_at"] < end)]
    ticket = int(mine.sort_values(["due_at", "ticket_id"]).iloc[0]["ticket_id"])

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    visit = Visit(browser, f"{drill_server}/drill?lang={lang}&dir={NORTH}", 1366, 768)
    page = visit.page
    try:
        page.screenshot(path=str(SCREENSHOTS / f"drill-path-1-direction-{lang}.png"))
        _click_row_without_scrolling(page, mun_row)
        page.wait_for_function(f"() => location.href.includes('mun={municipality}')", timeout=30_000)
        _wait_for_run(page)
        page.screenshot(path=str(SCREENSHOTS / f"drill-path-2-municipality-{lang}.png"))
        _click_row_without_scrolling(page, org_row)
        page.wait_for_function(f"() => location.href.includes('org={organization}')", timeout=30_000)
        _wait_for_run(page)
        page.screenshot(path=str(SCREENSHOTS / f"drill-path-3-organisation-{lang}.png"))
        _click_row_without_scrolling(page, 0)  # the first table on an organisation: its overdue requests
        page.wait_for_function(f"() => location.href.includes('req={ticket}')", timeout=30_000)
        _wait_for_run(page)
        page.wait_for_selector(f"text={t('drill.request', lang, id=ticket)}", timeout=30_000)
        page.screenshot(path=str(SCREENSHOTS / f"drill-path-4-request-{lang}.png"))
        crumbs = page.evaluate("""() => [...document.querySelectorAll('.st-key-drill_crumbs [data-testid="stMarkdownContainer"] p')]
            .map(e => { const r = e.getBoundingClientRect();
                        return {text: e.innerText, middle: r.y + r.height / 2, cut: e.scrollWidth > e.clientWidth + 1}; })""")
        names = [c["text"] for c in crumbs if c["text"].strip() != "›"]
        assert len(names) == 6, names  # region, direction, municipality, organisation, building, request
        assert not [c for c in crumbs if c["cut"]], crumbs
        lines: dict[int, list[float]] = {}
        for c in crumbs:  # on each line of the wrapped breadcrumbs, one baseline
            lines.setdefault(round(c["middle"] / 20), []).append(c["middle"])
        assert all(max(m) - min(m) <= 4 for m in lines.values()), crumbs
        assert page.locator('[data-testid="stException"]').count() == 0
        assert visit.outside == []
    finally:
        visit.close()
