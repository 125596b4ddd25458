"""Drill-down: every level's table against plain pandas, children adding up to their parent, the
request list, the cards, search, and masking of residents' personal data."""

from __future__ import annotations

import datetime as dt
import json
import math
import re
import subprocess
import sys
from dataclasses import replace

import pandas as pd
import pytest
import reference_metrics as ref

from oversight import privacy
from oversight.analysis import drill, metrics
from oversight.filters import Filters

D = dt.date
PERIOD = Filters(D(2019, 7, 1), D(2019, 9, 30))
COUNTS = ("created", "closed", "due", "missed", "backlog_end", "overdue_backlog_end")
KEY = {"territory": "territory_id", "municipality": "current_municipality_id", "organization": "organization_id",
       "building": "building_id", "category": "category_id"}


def _busiest(frame: pd.DataFrame, column: str, within: pd.Series | None = None) -> int:
    rows = frame if within is None else frame[within]
    return int(rows[column].value_counts().index[0])


@pytest.fixture(scope="module")
def rows(frames):
    return ref.scoped(frames)


@pytest.fixture(scope="module")
def path_ids(rows):
    """A direction, its busiest municipality, that one's busiest organisation and building: chosen from
    the data, not hard-coded."""
    territory = _busiest(rows, "territory_id")
    municipality = _busiest(rows, "current_municipality_id", rows["territory_id"] == territory)
    organization = _busiest(rows, "organization_id", rows["current_municipality_id"] == municipality)
    in_org = (rows["current_municipality_id"] == municipality) & (rows["organization_id"] == organization)
    building = _busiest(rows, "building_id", in_org)
    return territory, municipality, organization, building


def _scopes(path_ids):
    territory, municipality, organization, _ = path_ids
    return [
        ("territory", PERIOD),
        ("municipality", replace(PERIOD, territory_id=territory)),
        ("organization", replace(PERIOD, territory_id=territory, municipality_id=municipality)),
        ("building", replace(PERIOD, territory_id=territory, municipality_id=municipality, organization_id=organization)),
        ("category", replace(PERIOD, organization_id=organization)),
    ]


def _close(a, b) -> bool:
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None or (isinstance(b, float) and math.isnan(b))
    return b is not None and math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-6)


@pytest.mark.parametrize("index", range(5))
def test_each_level_matches_pandas_child_by_child(con, as_of, frames, path_ids, index):
    level, filters = _scopes(path_ids)[index]
    table = drill.children(con, filters, as_of, level).set_index("child_id")
    scope = ref.scoped(frames, filters.territory_id, filters.municipality_id, filters.organization_id)
    expected_children = 0
    for child, part in scope.groupby(scope[KEY[level]].astype("Int64"), dropna=False):
        want = ref.kpis(part, filters.start, filters.end, as_of)
        if not any(want[c] for c in COUNTS):
            continue  # a child with nothing in the period need not be listed
        expected_children += 1
        got = table[table.index.isna()].iloc[0] if pd.isna(child) else table.loc[int(child)]
        for key in (*COUNTS, "on_time_rate", "median_resolution_hours", "returned_share"):
            assert _close(got[key], want[key]), (level, child, key, got[key], want[key])
    assert (table[list(COUNTS)].sum(axis=1) > 0).sum() == expected_children


@pytest.mark.parametrize("index", range(5))
def test_children_add_up_to_their_parent(con, as_of, path_ids, index):
    level, filters = _scopes(path_ids)[index]
    table = drill.children(con, filters, as_of, level)
    parent = metrics.kpis(con, filters, as_of)
    for key in COUNTS:
        assert int(table[key].sum()) == parent[key], (level, key)


def test_building_level_requests_are_the_buildings_requests(con, as_of, frames, path_ids):
    territory, municipality, organization, building = path_ids
    filters = replace(PERIOD, territory_id=territory, municipality_id=municipality, organization_id=organization)
    listed = drill.requests(con, filters, as_of, building)
    t = ref.scoped(frames, territory, municipality, organization)
    t = t[t["building_id"] == building]
    start, stop = pd.Timestamp(PERIOD.start), pd.Timestamp(PERIOD.end + dt.timedelta(days=1))
    end = min(stop, pd.Timestamp(as_of))
    matters = (t["created_at"] < end) & (
        (t["created_at"] >= start) | t["closed_at"].between(start, stop, inclusive="left")
        | t["due_at"].between(start, stop, inclusive="left") | ref.open_at(t, end)
    )
    assert set(listed["ticket_id"]) == set(t.loc[matters, "ticket_id"])
    # The building's own KPIs (its row one level up) count the same requests.
    own = drill.scope_kpis(con, filters, as_of, building)
    assert own["created"] == int(t["created_at"].between(start, stop, inclusive="left").sum())
    # Hours late, recomputed: (closing, or the period's end while open) minus the deadline, never below 0.
    rows = t.set_index("ticket_id").loc[listed["ticket_id"]]
    moment = rows["closed_at"].where(rows["closed_at"].notna() & (rows["closed_at"] < end), end)
    want = ((moment - rows["due_at"]).dt.total_seconds() / 3600).clip(lower=0)
    for got, expected in zip(listed["hours_late"], want):
        assert _close(got, None if pd.isna(expected) else expected)
    # Worst first: open past the deadline, then the latest.
    late = listed["hours_late"].fillna(-1).tolist()
    open_late = listed["open_at_end"] & (listed["due_at"] < end)
    assert open_late.tolist() == sorted(open_late.tolist(), reverse=True)
    assert late[int(open_late.sum()):] == sorted(late[int(open_late.sum()):], reverse=True)


def test_path_levels():
    assert drill.Path().level == "region" and drill.Path().child_level == "territory"
    assert drill.Path(1).child_level == "municipality"
    assert drill.Path(1, 2, 3).level == "organization" and drill.Path(1, 2, 3).child_level == "building"
    assert drill.Path(1, 2, 3, 4).child_level == "request"
    assert drill.Path(1, 2, 3, 4, 5).child_level is None
    with pytest.raises(ValueError):
        drill.children(None, PERIOD, dt.datetime(2020, 1, 1), "ticket; drop table tickets")


def test_organization_card(con, as_of, frames, path_ids):
    territory, municipality, organization, _ = path_ids
    filters = replace(PERIOD, territory_id=territory, municipality_id=municipality)
    card = drill.organization_card(con, filters, as_of, organization)
    org = frames["organizations"].set_index("organization_id").loc[organization]
    assert card["info"]["name"] == org["name"] and card["info"]["inn"] == org["inn"]
    own = ref.scoped(frames, organization_id=organization)
    assert card["info"]["buildings"] == len(set(own["building_id"].dropna()) | set(
        frames["buildings"].loc[frames["buildings"]["organization_id"] == organization, "building_id"]))
    assert set(card["kpis"]) == {"organization", "territory", "region"}
    assert card["kpis"]["organization"]["missed"] == ref.kpis(
        ref.scoped(frames, territory, municipality, organization), PERIOD.start, PERIOD.end, as_of)["missed"]
    overdue = card["open_overdue"]
    end = min(pd.Timestamp(PERIOD.end + dt.timedelta(days=1)), pd.Timestamp(as_of))
    scope = ref.scoped(frames, territory, municipality, organization)
    want = scope[ref.open_at(scope, end) & (scope["due_at"] < end)]
    assert len(overdue) == min(50, len(want))
    assert overdue["due_at"].is_monotonic_increasing
    worst = card["worst_categories"]
    assert worst["missed"].is_monotonic_decreasing and (worst["missed"] > 0).all()


def test_request_card_timeline_and_masked_text(con, as_of, frames):
    t = frames["tickets"]
    returned = t[(t["returned_count"] > 1) & t["closed_at"].notna()].iloc[0]
    card = drill.request_card(con, int(returned["ticket_id"]), as_of)
    kinds = [kind for kind, _ in card["timeline"]]
    assert kinds.count("returned") == returned["returned_count"] == card["returns_dated"]
    assert kinds[0] == "created" and kinds[-1] == "closed"
    late = max(0.0, (returned["closed_at"] - returned["due_at"]).total_seconds() / 3600) if pd.notna(returned["due_at"]) else None
    assert _close(card["hours_late"], late)
    still_open = t[t["closed_at"].isna() & t["due_at"].notna()].iloc[0]
    open_card = drill.request_card(con, int(still_open["ticket_id"]), as_of)
    assert _close(open_card["hours_late"], max(0.0, (pd.Timestamp(as_of) - still_open["due_at"]).total_seconds() / 3600))
    moments = [moment for _, moment in card["timeline"]]
    assert moments == sorted(moments)
    phone = t[t["description"].str.contains("тел.", regex=False, na=False)].iloc[0]
    shown = drill.request_card(con, int(phone["ticket_id"]), as_of)["description"]
    assert "[телефон скрыт]" in shown and "[ФИО скрыто]" in shown
    assert not re.search(r"\d{3}-\d{2}-\d{2}", shown)
    assert drill.request_card(con, 10**12, as_of) is None


@pytest.mark.parametrize(
    ("text", "hidden", "kept"),
    [
        ("Течь. Заявитель: Иванова Мария Петровна, тел. +7 (916) 123-45-67.", ["Иванова", "Мария", "123-45-67"], ["Течь"]),
        ("Звонить Сергей по номеру 8-916-123-45-67.", ["Сергей", "916"], ["Звонить", "по номеру"]),
        ("Ответ прошу на ivanov12@mail.ru.", ["ivanov12"], ["Ответ прошу"]),
        ("Обращался Петров С.Н., не помогли", ["Петров"], ["не помогли"]),
        ("С.Н. Петров и соседи", ["Петров"], ["соседи"]),
        ("Соседи из квартиры 45 топят, кв. 12", ["45", "12"], ["Соседи", "топят"]),
        ("тел 89161234567", ["89161234567"], ["тел"]),
        ("жилец: Козлова", ["Козлова"], ["жилец"]),
        ("Балашиха, ул. Рабочая, д. 86; ИНН УК 5010161239", [], ["д. 86", "5010161239"]),
        ("В 2019 году протекло 12 раз, подъезд 3", [], ["2019", "12 раз", "подъезд 3"]),
        ("Московская область, городской округ Химки", [], ["Московская область", "Химки"]),
    ],
)
def test_personal_data_is_masked(text, hidden, kept):
    shown = privacy.mask(text)
    for word in hidden:
        assert word not in shown, shown
    for word in kept:
        assert word in shown, shown
    assert privacy.mask(None) == "" and privacy.mask(float("nan")) == ""


def test_no_demo_text_shows_a_phone_or_an_email_after_masking(frames):
    texts = frames["tickets"]["description"].dropna().sample(5000, random_state=1)
    for text in texts:
        shown = privacy.mask(text)
        assert not re.search(r"\d{3}[-) ]+\d{3}-\d{2}-\d{2}|@", shown), shown
        assert not re.search(r"\b(?:[А-ЯЁ][а-яё]+\s+){2}[А-ЯЁ][а-яё]+(?:ович|овна|евич|евна)\b", shown), shown


def test_search_is_partial_case_and_yo_insensitive(con, frames):
    orgs = frames["organizations"]
    with_yo = orgs[orgs["name"].str.contains("ё")].iloc[0]
    word = next(w for w in re.findall(r"[А-Яа-яЁё]+", with_yo["name"]) if "ё" in w)
    for needle in (word.replace("ё", "е").upper(), word.lower(), word[1:-1].replace("ё", "е")):
        found = drill.search(con, needle, limit=10_000)["organizations"]
        assert with_yo["organization_id"] in set(found["organization_id"]), needle
    by_inn = drill.search(con, with_yo["inn"][2:9])["organizations"]
    assert with_yo["organization_id"] in set(by_inn["organization_id"])
    building = frames["buildings"].iloc[123]
    street = building["address"].split(",")[1].strip().upper()
    number = building["address"].split("д.")[-1].strip()
    found = drill.search(con, f"{street}, д. {number}")["buildings"]
    assert building["building_id"] in set(found["building_id"])
    # Words in any order, each anywhere in the name.
    municipality_word = re.findall(r"[А-Яа-яЁё]+", with_yo["name"].split("(")[-1])[0]
    found = drill.search(con, f"{municipality_word[:4].lower()} {word.replace('ё', 'е')}", limit=10_000)["organizations"]
    assert with_yo["organization_id"] in set(found["organization_id"])
    assert found["name"].str.lower().str.replace("ё", "е").str.contains(word.lower().replace("ё", "е")).all()
    ticket = int(frames["tickets"]["ticket_id"].iloc[77])
    assert drill.search(con, f"№{ticket}")["requests"]["ticket_id"].tolist() == [ticket]
    # Wildcards are plain characters in a search, not patterns.
    assert drill.search(con, "%%")["organizations"].empty
    assert drill.search(con, "_")["organizations"].empty


def test_cli_drill_prints_the_pages_table(small_db, con, as_of, path_ids):
    territory, municipality, _, _ = path_ids
    out = subprocess.run(
        [sys.executable, "-m", "oversight", "drill", "--db", small_db, "--level", "organization", "--parent",
         str(municipality), "--from", "2019-07-01", "--to", "2019-09-30", "--json"],
        capture_output=True, text=True, check=True,
    )
    printed = pd.DataFrame(json.loads(out.stdout)["rows"])
    table = drill.children(con, replace(PERIOD, territory_id=territory, municipality_id=municipality), as_of, "organization")
    assert printed["missed"].tolist() == table["missed"].tolist()
    assert printed["created"].sum() == table["created"].sum()


def test_building_trend_matches_brute_force(con, as_of, frames, path_ids):
    territory, municipality, organization, building = path_ids
    filters = replace(PERIOD, territory_id=territory, municipality_id=municipality, organization_id=organization)
    trend = drill.building_trend(con, filters, as_of, building)
    t = ref.scoped(frames, territory, municipality, organization)
    t = t[t["building_id"] == building]
    stop = pd.Timestamp(PERIOD.end + dt.timedelta(days=1))
    ends = [min(b + pd.DateOffset(days=7), stop, pd.Timestamp(as_of)) for b in trend["bucket"]]
    assert metrics.trend_bucket(filters) == "week" and len(trend) > 10
    brute = ref.backlog_by_brute_force(t, ends)
    assert list(trend["backlog"]) == list(brute["backlog"])
    assert list(trend["overdue_backlog"]) == list(brute["overdue_backlog"])
    for b, e, row in zip(trend["bucket"], ends, trend.itertuples()):
        theirs = ref.kpis(t, max(b, pd.Timestamp(PERIOD.start)).date(), (e - pd.Timedelta(days=1)).date(), as_of)
        assert (row.created, row.closed, row.due, row.missed) == (
            theirs["created"], theirs["closed"], theirs["due"], theirs["missed"])
        assert _close(row.median_resolution_hours, theirs["median_resolution_hours"])


@pytest.mark.parametrize(("args", "message"), [
    (["--level", "municipality"], "needs --parent"),
    (["--level", "territory", "--parent", "1"], "takes no --parent"),
    (["--level", "organization", "--parent", "99999"], "no such current municipality"),
    (["--level", "request", "--parent", "999999999"], "no such building"),
    (["--level", "building", "--parent", "99999"], "not in the data"),
])
def test_cli_drill_refuses_a_wrong_parent_with_a_message(small_db, args, message):
    out = subprocess.run(
        [sys.executable, "-m", "oversight", "drill", "--db", small_db, *args, "--from", "2019-07-01", "--to", "2019-09-30",
         "--json"], capture_output=True, text=True,
    )
    assert out.returncode != 0 and message in out.stderr and out.stdout == ""


def test_a_link_naming_the_wrong_places_shows_the_request_where_it_is(con, rows, path_ids):
    """#18 item 11: /drill?org=5&bld=34&req=700005 showed a request under an organisation and a
    building it does not belong to. The path is corrected from the request itself."""
    territory, municipality, organization, building = path_ids
    ticket = rows[(rows["building_id"] == building) & (rows["organization_id"] == organization)].iloc[0]
    other = rows[(rows["organization_id"] != organization) & rows["building_id"].notna()
                 & (rows["building_id"] != building)].iloc[0]
    asked = drill.Path(None, None, int(other["organization_id"]), int(other["building_id"]), int(ticket["ticket_id"]))
    fixed, wrong = drill.reconcile(con, asked)
    assert wrong == ["organization_id", "building_id"]
    assert fixed == drill.Path(int(ticket["territory_id"]), int(ticket["current_municipality_id"]), organization, building,
                               int(ticket["ticket_id"]))
    # A consistent link is left alone; a building under an organisation with no requests in it is moved.
    right = drill.Path(None, None, organization, building, int(ticket["ticket_id"]))
    assert drill.reconcile(con, right) == (right, [])
    moved, wrong = drill.reconcile(con, drill.Path(None, None, int(other["organization_id"]), building, None))
    has = ((rows["building_id"] == building) & (rows["organization_id"] == other["organization_id"])).any()
    assert (wrong == []) == bool(has)
    assert moved.municipality_id == municipality or not wrong


def _org_table_both_ways(con, filters, as_of, monkeypatch):
    assert metrics.uses_org_daily_counts(con, filters, as_of)
    daily = drill.children(con, filters, as_of, "organization")
    with monkeypatch.context() as m:
        m.setattr(metrics, "uses_org_daily_counts", lambda *_a: False)
        rows = drill.children(con, filters, as_of, "organization")
    return daily, rows


def _assert_org_table_is_pandas(table, frames, filters, as_of):
    scope = ref.scoped(frames, filters.territory_id, filters.municipality_id, filters.organization_id)
    listed = 0
    for child, part in scope.groupby(scope["organization_id"].astype("Int64"), dropna=False):
        want = ref.kpis(part, filters.start, filters.end, as_of)
        if not any(want[c] for c in COUNTS):
            continue
        listed += 1
        got = table[table["child_id"].isna()].iloc[0] if pd.isna(child) else table.set_index("child_id").loc[int(child)]
        for key in (*COUNTS, "on_time_rate", "median_resolution_hours", "returned_share"):
            assert _close(got[key], want[key]), (child, key, got[key], want[key])
    assert len(table) == listed


@pytest.mark.parametrize("scope", ["region", "direction", "municipality", "organization"])
@pytest.mark.parametrize(
    "period", [(D(2019, 7, 1), D(2019, 9, 30)), (D(2019, 12, 1), D(2020, 1, 31)), (D(2018, 1, 1), D(2019, 12, 31))], ids=str,
)
def test_the_organisations_table_from_org_daily_counts_equals_the_rows_and_pandas(
    con, as_of, frames, path_ids, scope, period, monkeypatch
):
    """Issue #21: the drill-down's organisations are summed from org_daily_counts: the same table,
    row for row and in the same order, as grouping the ticket rows, and as plain pandas."""
    territory, municipality, organization, _ = path_ids
    narrowing = {"region": {}, "direction": {"territory_id": territory},
                 "municipality": {"territory_id": territory, "municipality_id": municipality},
                 "organization": {"organization_id": organization}}[scope]
    filters = Filters(*period, **narrowing)
    daily, rows = _org_table_both_ways(con, filters, as_of, monkeypatch)
    pd.testing.assert_frame_equal(daily, rows)
    _assert_org_table_is_pandas(daily, frames, filters, as_of)


def test_the_organisations_table_at_a_mid_day_as_of(midday, monkeypatch):
    """A real export is taken mid-day: the day of as_of is cut at as_of in the pre-aggregated table too."""
    con, frames, as_of = midday
    for period in [(D(2019, 12, 1), D(2019, 12, 20)), (D(2019, 11, 1), D(2019, 12, 31))]:
        filters = Filters(*period)
        daily, rows = _org_table_both_ways(con, filters, as_of, monkeypatch)
        pd.testing.assert_frame_equal(daily, rows)
        _assert_org_table_is_pandas(daily, frames, filters, as_of)
