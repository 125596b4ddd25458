"""Two pieces of the page shell that serve many sessions at once (#18 item 12): a figure built once
for the same inputs and shared (cache.shared), and the sidebar's choices worked out once per data
version, scope and language (sidebar._sidebar_choices), checked against plain pandas over the tables."""

from __future__ import annotations

import duckdb
import pandas as pd

from oversight import store
from oversight.access import EVERYTHING, Scope
from oversight.ui import cache, sidebar

CALLS: list[tuple] = []


def _built(a, b=0):
    CALLS.append((a, b))
    return {"a": a, "b": b}


def test_a_shared_result_is_built_once_for_the_same_inputs():
    CALLS.clear()
    first = cache.shared(_built, 1, b=2)
    again = cache.shared(_built, 1, b=2)
    assert first is again and CALLS == [(1, 2)]
    other = cache.shared(_built, 1, b=3)
    assert other == {"a": 1, "b": 3} and CALLS == [(1, 2), (1, 3)]


def test_an_input_that_cannot_be_pickled_is_built_every_time():
    CALLS.clear()
    lock = __import__("threading").Lock()  # not picklable
    cache.shared(_built, lock)
    cache.shared(_built, lock)
    assert len(CALLS) == 2


def _tables(path: str) -> dict[str, pd.DataFrame]:
    with duckdb.connect(path, read_only=True) as raw:
        return {name: raw.execute(f"select * from {name}").df()  # noqa: S608 - our own table names
                for name in ("municipalities", "organizations", "tickets")}


def test_sidebar_choices_are_the_scope_s_own(small_db):
    tables = _tables(small_db)
    municipalities = tables["municipalities"]
    current = municipalities[municipalities["active"]] if "active" in municipalities else municipalities
    north = int(current["territory_id"].min())
    version = store.data_version(small_db)
    for scope in (EVERYTHING, Scope(territory_ids=frozenset({north}))):
        choices = sidebar._sidebar_choices(small_db, version, scope, "ru")
        mine = set(current["municipality_id"]) if scope.is_everything else \
            set(current.loc[current["territory_id"] == north, "municipality_id"])
        shown = set(choices["municipalities"][None])
        assert shown and shown <= mine, (scope, shown - mine)
        if not scope.is_everything:
            assert choices["territories"] == [north]
        # An organisation is offered under the municipality it is based in (organizations.municipality_id;
        # a historical one rolls up to its successor, so only the current ones are compared).
        organizations = tables["organizations"]
        for municipality_id, offered in choices["organizations_by_municipality"].items():
            based = set(organizations.loc[organizations["municipality_id"] == municipality_id, "organization_id"])
            assert based <= set(offered), municipality_id
        names = choices["names"]["organization"]
        assert all("ИНН" in names[o] for o in choices["organizations_by_territory"][None])
