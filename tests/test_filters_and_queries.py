"""Filters <-> URL round trip, the query allow-list, and injection attempts."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from oversight import store
from oversight.access import EVERYTHING
from oversight.analysis import metrics
from oversight.filters import Filters, default_filters, preset_period

D = dt.date
AS_OF = dt.datetime(2020, 1, 1)


def test_url_round_trip():
    f = Filters(start=D(2019, 1, 1), end=D(2019, 3, 31), territory_id=2, municipality_id=41, organization_id=17, category_id=5, source="dobrodel")
    back, problems = Filters.from_query_params(f.to_query_params(), default_filters(AS_OF))
    assert back == f and problems == []
    plain = Filters(start=D(2019, 1, 1), end=D(2019, 3, 31))
    assert plain.to_query_params() == {"from": "2019-01-01", "to": "2019-03-31"}
    assert Filters.from_query_params(plain.to_query_params(), default_filters(AS_OF))[0] == plain


def test_bad_url_values_are_dropped_with_a_message():
    default = default_filters(AS_OF)
    f, problems = Filters.from_query_params({"from": "2019-13-01", "mun": "12x", "src": "eds' or 1=1 --", "dir": "3"}, default)
    assert f.start == default.start and f.municipality_id is None and f.source is None and f.territory_id == 3
    assert {p[1] for p in problems} == {"from", "mun", "src"}
    f, problems = Filters.from_query_params({"from": "2019-05-01", "to": "2019-04-01"}, default)
    assert (f.start, f.end) == (default.start, default.end) and problems[0][0] == "bad_period"


def test_presets_are_last_full_periods():
    assert preset_period("month", AS_OF) == (D(2019, 12, 1), D(2019, 12, 31))
    assert preset_period("quarter", AS_OF) == (D(2019, 10, 1), D(2019, 12, 31))
    assert preset_period("year", AS_OF) == (D(2019, 1, 1), D(2019, 12, 31))
    mid = dt.datetime(2019, 11, 15, 12)
    assert preset_period("month", mid) == (D(2019, 10, 1), D(2019, 10, 31))
    assert preset_period("quarter", mid) == (D(2019, 7, 1), D(2019, 9, 30))
    assert preset_period("year", mid) == (D(2018, 1, 1), D(2018, 12, 31))
    assert preset_period("quarter", dt.datetime(2019, 4, 1)) == (D(2019, 1, 1), D(2019, 3, 31))


def test_previous_period_has_equal_length():
    f = Filters(start=D(2019, 3, 1), end=D(2019, 3, 31))
    assert f.previous() == Filters(start=D(2019, 1, 29), end=D(2019, 2, 28))


def test_query_names_come_from_the_allow_list(con):
    assert "kpi_periods" in store.query_names()
    for bad in ["../oversight/schema", "kpis; drop table tickets", "_macros", "KPIS", "nonexistent"]:
        with pytest.raises(store.QueryNotFound):
            store.run(con, bad)


def test_missing_parameter_is_an_error(con):
    with pytest.raises(TypeError, match="needs parameters"):
        store.run(con, "kpi_periods", start=AS_OF)


def test_injection_in_a_filter_value_is_just_a_value(small_db, con):
    evil = "eds' or '1'='1"
    f = Filters(start=D(2019, 1, 1), end=D(2019, 12, 31), source=evil)
    k = metrics.kpis(con, f, AS_OF)
    assert k["created"] == 0 and k["due"] == 0
    f = Filters(start=D(2019, 1, 1), end=D(2019, 12, 31), source="x'); drop table tickets; --")
    assert metrics.kpis(con, f, AS_OF)["created"] == 0
    with duckdb.connect(small_db, read_only=True) as c:
        assert c.execute("select count(*) from tickets").fetchone()[0] > 0


def test_every_query_file_has_a_header_comment():
    for name in store.query_names():
        assert store.query_text(name).lstrip().startswith(f"-- {name}:"), name


def test_no_query_is_formatted_from_input():
    """Queries are static files; the only placeholders are DuckDB $parameters."""
    for name in store.query_names():
        text = store.query_text(name)
        assert "{" not in text.replace("{}", "") and "%s" not in text, name


def test_a_replaced_database_gets_a_new_version_and_connection(tmp_path, small_db):
    """A re-imported database must never be served from the old connection or cache key."""
    import os
    import shutil

    path = tmp_path / "copy.duckdb"
    shutil.copy(small_db, path)
    os.utime(path, ns=(1_000_000_000, 1_000_000_000))
    v1, c1 = store.data_version(path), store.connect(path, EVERYTHING)
    shutil.copy(small_db, tmp_path / "new.duckdb")
    (tmp_path / "new.duckdb").replace(path)
    v2, c2 = store.data_version(path), store.connect(path, EVERYTHING)
    assert v1 != v2
    assert c1 is not c2
    assert store.dataset_info(c2)["is_demo"]
