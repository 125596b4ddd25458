"""The access matrix (#17): every role on every page it can reach, and a territorial head of «Север»
on every page, in presenter mode and in the exports, with nothing that names another direction's
municipality, organisation, building or request anywhere in what the app produced.

AppTest runs the real dashboard.py with an [auth] section and a signed-in user (AppTest's `user`);
the sign-in itself through a real OpenID Connect provider is tested in the browser
(tests/test_browser_access.py)."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import zipfile

import pandas as pd
import pytest
import reference_metrics as ref
from google.protobuf import text_format
from streamlit.testing.v1 import AppTest

from oversight import access, store
from oversight.access import EVERYTHING, Scope
from oversight.analysis import compliance
from oversight.filters import default_filters
from oversight.i18n import t
from oversight.navigation import PAGES, pages_for
from oversight.output import export, images, presentation, slides
from oversight.paths import ROOT
from oversight.ui.context import PageContext
from oversight.ui.widgets import CARD_METRICS, format_kpi

DASHBOARD = str(ROOT / "dashboard.py")
NORTH = 1
AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "a-test-cookie-secret-of-enough-length",
    "client_id": "oversight-test",
    "client_secret": "oversight-test-secret",
    "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration",
}
USERS = {
    "lead@example.org": ("leadership", []),
    "presenter@example.org": ("presenter", []),
    "data@example.org": ("data_officer", []),
    "admin@example.org": ("admin", []),
    "north@example.org": ("territorial_head", [NORTH]),
}


@pytest.fixture(scope="module")
def grants(tmp_path_factory):
    import os

    path = tmp_path_factory.mktemp("matrix") / "access.duckdb"
    old = os.environ.get("OVERSIGHT_ACCESS_DB")
    os.environ["OVERSIGHT_ACCESS_DB"] = str(path)
    for user, (role, territories) in USERS.items():
        access.add_grant(access.CLI, user, role, territories)
    yield path
    os.environ["OVERSIGHT_ACCESS_DB"] = old or ""


@pytest.fixture(scope="module")
def foreign(small_db, frames):
    """What a head of «Север» must never see: names and ids of the other directions' places."""
    north = store.connect(small_db, Scope(territory_ids=frozenset({NORTH}), municipality_ids=frozenset()))
    full = store.connect(small_db, EVERYTHING)
    seen_orgs = set(store.run(north, "filter_organizations")["organization_id"])
    municipalities = frames["municipalities"]
    roll = ref.current_municipality(municipalities)
    territory = dict(zip(municipalities["municipality_id"], municipalities["territory_id"]))
    own_names = set(municipalities.loc[municipalities["municipality_id"].map(roll).map(territory) == NORTH, ["name_ru", "name_en"]].stack())
    names = set()
    for _, row in municipalities.iterrows():
        if territory[roll[row["municipality_id"]]] != NORTH:
            names |= {row["name_ru"], row["name_en"]}
    # A foreign name that is part of one of ours ("Пушкино" in "Пушкинский") would be a false alarm.
    names = {n for n in names if not any(n in own for own in own_names)}
    orgs = store.run(full, "filter_organizations")
    own_org_names = set(orgs.loc[orgs["organization_id"].isin(seen_orgs), "name"])
    foreign_orgs = orgs[~orgs["organization_id"].isin(seen_orgs)]
    org_names = {n for n in foreign_orgs["name"] if n not in own_org_names and not any(n in o for o in own_org_names)}
    org_inns = set(foreign_orgs["inn"].dropna().astype(str))
    buildings = frames["buildings"]
    foreign_buildings = buildings[buildings["municipality_id"].map(roll).map(territory) != NORTH]
    own_addresses = set(buildings.loc[buildings["municipality_id"].map(roll).map(territory) == NORTH, "address"])
    addresses = {a for a in foreign_buildings["address"].dropna() if a not in own_addresses}
    return {
        "municipality names": names, "organisation names": org_names, "INNs": org_inns, "addresses": addresses,
        "municipality ids": {m for m in roll if territory[roll[m]] != NORTH},
        "organisation ids": set(orgs["organization_id"]) - seen_orgs,
    }


def _app(db: str, monkeypatch, user: str | None, **query) -> AppTest:
    monkeypatch.setenv("OVERSIGHT_DB", db)
    at = AppTest.from_file(DASHBOARD, default_timeout=180)
    if user:
        at.secrets["auth"] = AUTH
        at.user = {"is_logged_in": True, "email": user, "name": user, "sub": user}
    for key, value in query.items():
        at.query_params[key] = value
    return at


def _texts(at: AppTest) -> str:
    """Everything the run produced, as text: every element's message (markdown, metrics, options,
    captions...), every table's cells, every figure's JSON."""
    parts = []
    for frame in at.dataframe:
        parts.append(frame.value.to_csv())
    for chart in at.get("plotly_chart"):
        parts.append(json.dumps(json.loads(chart.proto.spec), ensure_ascii=False))
    for root in (at.main, at.sidebar):
        stack = [root]
        while stack:
            node = stack.pop()
            proto = getattr(node, "proto", None)
            if proto is not None and node.type not in ("arrow_data_frame", "plotly_chart"):
                parts.append(text_format.MessageToString(proto, as_utf8=True))
            children = getattr(node, "children", None)
            if children:
                stack.extend(children.values())
    return "\n".join(parts)


def _figure_ids(at: AppTest) -> set[int]:
    """Municipality ids a figure carries values for (choropleth locations). The grey shapes of the
    rest of the oblast (no value, no hover) are geography, not data, and are left out."""
    ids = set()
    for chart in at.get("plotly_chart"):
        for trace in json.loads(chart.proto.spec).get("data", []):
            grey = trace.get("hoverinfo") == "skip" and set(trace.get("z", [])) <= {0}
            if trace.get("type") in ("choropleth", "choroplethmap", "choroplethmapbox") and not grey:
                ids |= {int(x) for x in trace.get("locations", []) if str(x).isdigit()}
    return ids


def assert_no_foreign(text: str, foreign: dict, where: str) -> None:
    for kind in ("municipality names", "organisation names", "INNs", "addresses"):
        leaked = sorted(n for n in foreign[kind] if n and re.search(r"(?<!\w)" + re.escape(str(n)) + r"(?!\w)", text))
        assert not leaked, f"{where}: {kind} of another direction: {leaked[:5]}"


@pytest.mark.parametrize("user", list(USERS))
def test_every_role_runs_every_page_it_can_reach(small_db, grants, monkeypatch, user):
    principal = access.resolve(user)
    reachable = pages_for(principal)
    assert reachable, user
    for page in reachable:
        at = _app(small_db, monkeypatch, user).run()
        if not page.default:
            at.switch_page(page.script).run()
        assert not at.exception, (user, page.url_path, at.exception)
        assert not at.error, (user, page.url_path, [e.value for e in at.error])
        assert at.title[0].value == t(page.heading_key, "ru"), (user, page.url_path)
    unreachable = [p for p in PAGES if p not in reachable and not any(r.script == p.script for r in reachable)]
    for page in unreachable:  # not in the navigation at all
        at = _app(small_db, monkeypatch, user).run()
        with pytest.raises(ValueError):
            at.switch_page(page.script)
    if user == "admin@example.org":
        assert [p.url_path for p in reachable] == ["access"]
    if user == "north@example.org":
        assert "access" not in [p.url_path for p in reachable]


def test_a_territorial_head_sees_nothing_of_another_direction_on_any_page(small_db, grants, foreign, monkeypatch):
    user = "north@example.org"
    for page in pages_for(access.resolve(user)):
        at = _app(small_db, monkeypatch, user).run()
        if not page.default:
            at.switch_page(page.script).run()
        assert not at.exception, (page.url_path, at.exception)
        text = _texts(at)
        assert_no_foreign(text, foreign, page.url_path)
        assert not (_figure_ids(at) & foreign["municipality ids"]), page.url_path
        assert t("auth.scope_note", "ru", scope="Север") in text, page.url_path


def test_a_territorial_heads_overview_equals_his_rows(small_db, grants, frames, as_of, monkeypatch):
    at = _app(small_db, monkeypatch, "north@example.org").run()
    f = default_filters(as_of)
    expected = ref.kpis(ref.scoped(frames, territory_id=NORTH), f.start, f.end, as_of)
    shown = {m.label: m.value for m in at.metric}
    for metric in CARD_METRICS:
        assert shown[t(f"kpi.{metric}", "ru")] == format_kpi(metric, expected[metric], "ru"), metric


def test_a_territorial_head_deep_in_his_direction_and_in_presenter_mode(small_db, grants, foreign, monkeypatch):
    north = store.connect(small_db, Scope(territory_ids=frozenset({NORTH}), municipality_ids=frozenset()))
    org = int(store.run(north, "filter_organizations")["organization_id"].iloc[0])
    building = int(store.run(north, "drill_labels", level="building")["child_id"].iloc[0])
    with store.cursor(north) as cursor:
        ticket = int(cursor.execute("select ticket_id from tickets where building_id = $b limit 1", {"b": building}).fetchone()[0])
    views = [
        ("drill", {"org": str(org)}),
        ("drill", {"bld": str(building)}),
        ("drill", {"req": str(ticket)}),
        ("examples", {"present": "1", "slide": "2"}),
        ("examples", {"present": "1", "slide": "3"}),
        ("map", {"freq": "week"}),
    ]
    for page, query in views:
        at = _app(small_db, monkeypatch, "north@example.org", **query).run()
        at.switch_page(f"app_pages/{page}.py").run()
        assert not at.exception, (page, query, at.exception)
        assert t("auth.no_access", "ru") not in [e.value for e in at.error], (page, query)  # his own: shown
        assert at.metric or at.get("plotly_chart") or at.table, (page, query)
        assert_no_foreign(_texts(at), foreign, f"{page} {query}")


@pytest.mark.parametrize("key, pick", [("org", "organisation ids"), ("mun", "municipality ids")])
def test_a_tampered_link_says_no_access_and_is_audited(small_db, grants, foreign, monkeypatch, key, pick):
    outside = sorted(foreign[pick])[0]
    before = len(access.audit_rows(user="north@example.org", action="refused"))
    at = _app(small_db, monkeypatch, "north@example.org", **{key: str(outside)}).run()
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert "нет доступа" in warnings
    assert_no_foreign(_texts(at), foreign, f"?{key}={outside}")
    assert len(access.audit_rows(user="north@example.org", action="refused")) == before + 1


def test_drill_links_to_a_foreign_building_or_request_say_no_access(small_db, grants, frames, monkeypatch):
    roll = ref.current_municipality(frames["municipalities"])
    territory = dict(zip(frames["municipalities"]["municipality_id"], frames["municipalities"]["territory_id"]))
    tickets = frames["tickets"]
    foreign_ticket = tickets[tickets["municipality_id"].map(roll).map(territory) != NORTH].iloc[0]
    for key, value in (("req", foreign_ticket["ticket_id"]), ("bld", foreign_ticket["building_id"])):
        before = len(access.audit_rows(user="north@example.org", action="refused"))
        at = _app(small_db, monkeypatch, "north@example.org", **{key: str(int(value))}).run()
        at.switch_page("app_pages/drill.py").run()
        assert [e.value for e in at.error] == [t("auth.no_access", "ru")], key
        assert not at.metric, key  # nothing of its data
        at.run()  # the same page again: still refused, recorded once
        assert [e.value for e in at.error] == [t("auth.no_access", "ru")], key
        refused = access.audit_rows(user="north@example.org", action="refused")
        assert len(refused) == before + 1 and refused["target"].iloc[0] == f"{key}={int(value)}", key


def test_a_user_without_a_grant_sees_whom_to_ask_and_no_data(small_db, grants, monkeypatch):
    at = _app(small_db, monkeypatch, "stranger@example.org").run()
    assert not at.exception
    assert not at.metric and not at.dataframe
    text = " ".join(w.value for w in at.warning)
    assert "admin@example.org" in text and "stranger@example.org" in text
    signed_out = _app(small_db, monkeypatch, None)
    signed_out.secrets["auth"] = AUTH
    signed_out.user = {"is_logged_in": False}
    signed_out.run()
    assert not signed_out.metric and [b.label for b in signed_out.button] == [t("auth.sign_in", "ru")]


def test_a_territorial_heads_exports_carry_only_his_direction(small_db, grants, foreign, as_of):
    """The compliance case file and the seminar deck (with its pictures) built under his scope."""
    north = access.resolve("north@example.org")
    con = store.connect(small_db, north.scope)
    f = default_filters(as_of)
    year = f.__class__(start=dt.date(2019, 1, 1), end=dt.date(2019, 12, 31))
    result = compliance.watchlist(con, year, as_of, compliance.Rule(k=1, m=6, target=0.99, min_volume=5))
    ctx = PageContext(lang="ru", db_path=small_db, version="v", as_of=as_of, is_demo=True, source="demo",
                      filters=year, target=0.95, principal=north)
    from oversight.ui import compliance_page

    workbook = export.to_xlsx_bytes({"list": compliance_page.excel_table(result, ctx)})
    text = _xlsx_text(workbook)
    assert not result["list"].empty
    assert_no_foreign(text, foreign, "compliance Excel")
    assert not set(result["list"]["organization_id"]) & foreign["organisation ids"]
    if images.chrome_path() is None:
        pytest.skip("no Chromium to draw the deck's pictures (CI installs it)")
    made = presentation.material(con, year, as_of, 30, "ru")
    deck = slides.deck(con, made, "ru", 0.95)
    assert_no_foreign(_pptx_text(deck), foreign, "deck")


def _xlsx_text(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return "\n".join(z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(".xml"))


def _pptx_text(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return "\n".join(z.read(n).decode("utf-8") for n in z.namelist() if n.endswith(".xml"))


def test_caches_never_hand_one_scopes_result_to_another(small_db, grants, monkeypatch):
    """The same filters, one after the other in one process: each user gets his own numbers."""
    shown = {}
    for user in ("north@example.org", "lead@example.org", "north@example.org"):
        at = _app(small_db, monkeypatch, user).run()
        shown.setdefault(user, []).append({m.label: m.value for m in at.metric})
    assert shown["north@example.org"][0] == shown["north@example.org"][1]
    assert shown["north@example.org"][0] != shown["lead@example.org"][0]


def test_whole_region_roles_see_the_region(small_db, grants, con, as_of, monkeypatch):
    from oversight.analysis import metrics

    expected = metrics.kpis(con, default_filters(as_of), as_of)
    for user in ("lead@example.org", "presenter@example.org", "data@example.org"):
        at = _app(small_db, monkeypatch, user).run()
        shown = {m.label: m.value for m in at.metric}
        assert shown[t("kpi.created", "ru")] == format_kpi("created", expected["created"], "ru"), user
        assert pd.notna(expected["created"])


def test_an_unverified_email_does_not_pick_up_its_grants(small_db, grants, monkeypatch):
    """A provider that says the e-mail is unverified: the user is known by the subject only."""
    at = _app(small_db, monkeypatch, "north@example.org")
    at.user = {"is_logged_in": True, "email": "north@example.org", "email_verified": False, "sub": "f3a9-42", "name": "x"}
    at.run()
    assert not at.metric
    assert "f3a9-42" in " ".join(w.value for w in at.warning)
