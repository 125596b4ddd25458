"""AppTest smoke tests of every page in both languages, shared links and bad links."""

from __future__ import annotations

import datetime as dt

import pytest
from streamlit.testing.v1 import AppTest

from oversight.analysis import metrics
from oversight.filters import Filters, default_filters
from oversight.i18n import t
from oversight.navigation import PAGES
from oversight.paths import ROOT
from oversight.ui.widgets import CARD_METRICS, format_kpi

DASHBOARD = str(ROOT / "dashboard.py")  # absolute: AppTest resolves relative paths oddly


def _app(db: str, monkeypatch, **query) -> AppTest:
    monkeypatch.setenv("OVERSIGHT_DB", db)
    at = AppTest.from_file(DASHBOARD, default_timeout=120)
    for key, value in query.items():
        at.query_params[key] = value
    return at


@pytest.mark.parametrize("lang", ["ru", "en"])
@pytest.mark.parametrize("page", PAGES, ids=[p.url_path for p in PAGES])
def test_every_page_runs_without_exception(small_db, monkeypatch, lang, page):
    at = _app(small_db, monkeypatch, lang=lang).run()
    at.switch_page(page.script).run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert at.title[0].value == t(page.heading_key, lang)
    if page.needs == "read":  # a data page says the data are a demonstration (the Access page has none)
        banner = [w.value for w in at.warning]
        assert any(t("demo.banner", lang, as_of="")[:20] in w for w in banner), banner
    # With no sign-in configured every page says it is the single-user mode.
    said = [e.value for e in (*at.info, *at.caption)]
    assert any(t("auth.single_user", lang) in v for v in said), said


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_overview_kpis_equal_library(small_db, con, as_of, monkeypatch, lang):
    at = _app(small_db, monkeypatch, lang=lang).run()
    assert not at.exception
    f = default_filters(as_of)
    expected = metrics.kpis(con, f, as_of)
    shown = {m.label: m.value for m in at.metric}
    for metric in CARD_METRICS:
        assert shown[t(f"kpi.{metric}", lang)] == format_kpi(metric, expected[metric], lang), metric
    assert len(at.get("plotly_chart")) == 1
    assert len(at.dataframe) == 2


def test_shared_link_opens_the_filtered_view(small_db, con, as_of, monkeypatch):
    at = _app(small_db, monkeypatch, **{"from": "2019-02-01", "to": "2019-04-30", "dir": "3", "cat": "11"}).run()
    assert not at.exception
    f = Filters(start=dt.date(2019, 2, 1), end=dt.date(2019, 4, 30), territory_id=3, category_id=11)
    expected = metrics.kpis(con, f, as_of)
    shown = {m.label: m.value for m in at.metric}
    assert shown[t("kpi.created", "ru")] == format_kpi("created", expected["created"], "ru")
    assert shown[t("kpi.missed", "ru")] == format_kpi("missed", expected["missed"], "ru")
    # The URL keeps the filters (so the link can be copied again).
    assert at.query_params["dir"] == ["3"] or at.query_params["dir"] == "3"


def test_bad_and_malicious_links_are_reported_not_run(small_db, con, as_of, monkeypatch):
    at = _app(small_db, monkeypatch, **{"mun": "abc", "src": "eds' or 1=1 --", "org": "999999"}).run()
    assert not at.exception
    warnings = " ".join(w.value for w in at.warning)
    assert "`mun`" in warnings and "`src`" in warnings and "`org`" in warnings
    expected = metrics.kpis(con, default_filters(as_of), as_of)
    shown = {m.label: m.value for m in at.metric}
    assert shown[t("kpi.created", "ru")] == format_kpi("created", expected["created"], "ru")
    # The bad parameters are gone from the link, and the warning is not repeated on the next run.
    assert "mun" not in at.query_params and "src" not in at.query_params
    at.run()
    assert not any("`mun`" in w.value for w in at.warning)


def test_first_run_builds_the_demo_database(tmp_path, monkeypatch):
    from oversight.ingest import demo

    monkeypatch.setattr(demo, "DEMO_TICKETS", 5_000)
    monkeypatch.setattr(demo.DemoSpec.__init__, "__defaults__", (5_000, demo.DEMO_SEED, 200, demo.DEMO_START, demo.DEMO_END, demo.DEMO_AS_OF))
    path = tmp_path / "fresh" / "oversight.duckdb"
    at = _app(str(path), monkeypatch).run()
    assert not at.exception, at.exception
    assert path.exists()
    assert not any(t("build.title", "ru") in i.value for i in at.info)  # the notice goes once built
    assert at.title[0].value == t("overview.title", "ru")


def test_target_from_the_link_moves_the_on_time_card(small_db, con, as_of, monkeypatch):
    at = _app(small_db, monkeypatch, target="90").run()
    assert not at.exception
    assert at.slider(key="flt_target").value == 90
    card = next(m for m in at.metric if m.label == t("kpi.on_time_rate", "ru"))
    assert "90\u00a0%" in card.proto.delta


def test_link_with_a_period_outside_the_data_is_cut_to_fit(small_db, con, as_of, monkeypatch):
    at = _app(small_db, monkeypatch, **{"from": "2010-01-01", "to": "2030-03-31"}).run()
    assert not at.exception, at.exception
    assert any("2010-01-01" in w.value for w in at.warning)
    start, end = at.date_input(key="flt_period").value
    assert start == dt.date(2018, 1, 1) and end == dt.date(2019, 12, 31)


def test_other_link_parameters_are_kept(small_db, monkeypatch):
    at = _app(small_db, monkeypatch, ticket="123", tab="timeline").run()
    assert not at.exception
    assert at.query_params["ticket"] in ("123", ["123"]) and at.query_params["tab"] in ("timeline", ["timeline"])
    assert "from" in at.query_params


def test_deselecting_the_language_keeps_the_language(small_db, monkeypatch):
    at = _app(small_db, monkeypatch, lang="en").run()
    at.button_group(key="lang").set_value(None).run()
    assert not at.exception, at.exception
    assert at.title[0].value == t("overview.title", "en")


def test_backlog_page_controls_and_link(small_db, con, as_of, monkeypatch):
    """The page's own controls live in the link too: a copied link reopens the same view."""
    at = _app(small_db, monkeypatch, **{"freq": "month", "cmp": "territory:1", "by": "municipality", "dir": "2"})
    at.switch_page("app_pages/backlog.py").run()
    assert not at.exception, at.exception
    assert at.button_group(key="pg_freq").value == "month"
    assert at.selectbox(key="pg_cmp").value == "territory:1"
    assert len(at.get("plotly_chart")) == 5
    summary = next(i.value for i in at.info if i.value != t("auth.single_user", "ru"))
    from oversight.analysis import backlog

    base = backlog.series(con, Filters(start=default_filters(as_of).start, end=default_filters(as_of).end, territory_id=2), as_of, "month")
    assert format_kpi("backlog_end", int(base["backlog"].iloc[-1]), "ru") in summary
    at.button_group(key="pg_freq").set_value("day").run()
    assert not at.exception and at.query_params["freq"] in ("day", ["day"])


HOSTILE = ["inf", "-inf", "nan", "1e999", "²", "²²", "٣", "9" * 40, "-1", "1.5", "<b>x</b>"]
LINK_KEYS = ["target", "from", "to", "dir", "mun", "org", "cat", "src", "bld", "req", "k", "m", "minv", "slide", "freq"]


@pytest.mark.parametrize("page", PAGES, ids=[p.url_path for p in PAGES])
def test_hostile_link_values_never_crash_a_page(small_db, monkeypatch, page):
    """#18 item 8: every link parameter with values int() or float() choke on (Unicode digits, inf,
    nan, huge numbers): the page runs, the value is dropped or clamped."""
    for value in HOSTILE:
        query = {key: value for key in LINK_KEYS}
        if page.url_path == "examples":
            query["present"] = "1"
        at = _app(small_db, monkeypatch, **query).run()
        at.switch_page(page.script).run()
        assert not at.exception, (page.url_path, value, at.exception)


def test_a_link_with_k_above_m_is_clamped_with_a_message(small_db, monkeypatch):
    """#18 item 8: /compliance?k=7 (M is 6) crashed the page and stayed in the link."""
    at = _app(small_db, monkeypatch, k="7").run()
    at.switch_page("app_pages/compliance.py").run()
    assert not at.exception, at.exception
    assert any("K = 7" in w.value for w in at.warning)
    assert at.query_params.get("k") in (None, "6", ["6"])


def test_a_page_error_shows_an_incident_number_not_a_traceback(small_db, monkeypatch, caplog):
    """#18 item 8: a bug in a page reaches the visitor as a plain message with an incident number;
    the error itself (with its paths) goes to the server's log only."""
    monkeypatch.delenv("OVERSIGHT_SHOW_ERRORS", raising=False)

    def broken(*args, **kwargs):
        raise RuntimeError("secret detail /work/main/oversight/ui.py")

    monkeypatch.setattr("oversight.ui.widgets.kpi_cards", broken)
    at = _app(small_db, monkeypatch).run()
    assert not at.exception, at.exception
    shown = " ".join(e.value for e in at.error)
    assert "журнал сервера" in shown and "secret detail" not in shown and "/work" not in shown
    assert "secret detail" in caplog.text


def test_a_drill_link_with_the_wrong_places_shows_the_request_under_its_own(small_db, monkeypatch):
    """#18 item 11 on the page: the request's card opens under its own organisation, with a note."""
    import duckdb

    with duckdb.connect(small_db, read_only=True) as db:
        ticket, org, building = db.execute(
            "select ticket_id, organization_id, building_id from tickets where building_id is not null "
            "and organization_id is not null order by ticket_id limit 1").fetchone()
        other_org, other_building = db.execute(
            "select organization_id, building_id from tickets where organization_id <> $o and building_id <> $b "
            "and building_id is not null order by ticket_id limit 1", {"o": org, "b": building}).fetchone()
    at = _app(small_db, monkeypatch, org=str(other_org), bld=str(other_building), req=str(ticket)).run()
    at.switch_page("app_pages/drill.py").run()
    assert not at.exception, at.exception
    assert any("показано там, где они на самом деле" in i.value for i in at.info)
    assert at.session_state["flt_organization_id"] == org and at.session_state["pg_bld"] == building
    assert at.query_params.get("org") in (str(org), [str(org)])
