"""What the Compliance page shows (#19): the watchlist in the order to act on, the first TOP with
the count of the rest and a switch to see all, the columns to act on first, pinned, and with the
months fitting 1366×768 without scrolling sideways."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from oversight.analysis import compliance
from oversight.filters import default_filters
from oversight.i18n import fmt_number, t
from oversight.ui import compliance_page

RULE = compliance.Rule(k=2, m=4, target=0.92, min_volume=5)  # the small demo: ~5 deadlines per organisation-month
LINK = {"k": "2", "m": "4", "minv": "5", "target": "92"}


def _page(small_db, monkeypatch, lang="ru", top=5) -> AppTest:
    from tests.test_app import DASHBOARD

    monkeypatch.setenv("OVERSIGHT_DB", small_db)
    monkeypatch.setattr(compliance_page, "TOP", top)
    at = AppTest.from_file(DASHBOARD, default_timeout=180)
    for key, value in {**LINK, "lang": lang}.items():
        at.query_params[key] = value
    at.run()
    at.switch_page("app_pages/compliance.py").run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_the_list_shows_the_most_urgent_first_and_counts_the_rest(small_db, con, as_of, monkeypatch, lang):
    listed = compliance.watchlist(con, default_filters(as_of), as_of, RULE)["list"]
    assert len(listed) > 5
    at = _page(small_db, monkeypatch, lang)
    table = at.dataframe[0].value
    assert len(table) == 5  # the first TOP, not the whole list
    assert table[t("col.name", lang)].tolist() == listed["name"].head(5).tolist()  # in the library's priority order
    n = fmt_number(len(listed), lang)
    note = t("compliance.top_note", lang, shown=5, n=n, rest=fmt_number(len(listed) - 5, lang))
    assert note in [c.value for c in at.caption]
    switch = at.toggle(key="watchlist_all")
    assert switch.label == t("compliance.show_all", lang, n=n) and not switch.value
    switch.set_value(True).run()
    assert not at.exception, at.exception
    assert len(at.dataframe[0].value) == len(listed)  # one switch shows them all
    assert note not in [c.value for c in at.caption]


def test_a_list_no_longer_than_top_has_no_switch(small_db, monkeypatch):
    at = _page(small_db, monkeypatch, top=10_000)
    assert not at.toggle and len(at.dataframe[0].value) > 5


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_the_columns_to_act_on_come_first_pinned_and_fit_1366(small_db, monkeypatch, lang):
    at = _page(small_db, monkeypatch, lang)
    table = at.dataframe[0].value
    key = [t("col.name", lang), t("compliance.col.failed", lang), t("compliance.col.open_overdue", lang)]
    assert list(table.columns[:4]) == ["№", *key]  # «open overdue now» was the 12th column, off-screen
    config = json.loads(at.dataframe[0].proto.columns)
    assert all(config[c]["pinned"] for c in ["№", *key])  # they stay in view when the table is scrolled
    months = [c for c in table.columns[4:4 + RULE.m]]
    assert len(months) == RULE.m and all(config[c]["width"] == compliance_page.MONTH_PX for c in months)


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_with_the_default_six_months_everything_to_act_on_fits_1366(con, as_of, lang):
    """The widths at the default rule (M = 6): rank, name, months below the target, open overdue now
    and the six months within the table's width at 1366×768 with the sidebar open; each header
    wide enough for its short label."""
    result = compliance.watchlist(con, default_filters(as_of), as_of, compliance.Rule(k=2, m=6, target=0.92, min_volume=5))
    config = compliance_page.column_config(None, result, lang)
    first = ["№", t("col.name", lang), t("compliance.col.failed", lang), t("compliance.col.open_overdue", lang)]
    months = [compliance_page._month_label(m, lang) for m in result["months"]]
    total = sum(config[c]["width"] for c in first + months)
    assert total <= compliance_page.TABLE_PX_1366
    assert config[t("col.name", lang)]["width"] >= compliance_page.NAME_MIN_PX
    for column in first[2:]:
        label = config[column]["label"]
        assert len(label) < len(column) or column == label  # a short header on screen ...
        assert config[column]["width"] >= compliance_page.header_px(label)  # ... shown whole
        assert config[column]["help"]  # the full name on hover
