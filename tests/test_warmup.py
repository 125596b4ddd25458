"""The server's start (serve.py's lifespan, oversight.ui.warmup): the work every first visit would wait
for is done before the first visitor, and a failure never keeps the server from starting."""

import asyncio
import shutil

import pytest

from oversight import store
from oversight.access import EVERYTHING
from oversight.analysis import heatmap, metrics
from oversight.ui import cache, shell, warmup


def test_with_no_database_nothing_is_built_or_opened(tmp_path, monkeypatch):
    monkeypatch.setenv("OVERSIGHT_DB", str(tmp_path / "none.duckdb"))
    assert warmup.warm_up() == {}
    assert list(tmp_path.iterdir()) == []  # the first visit builds the demo, with its progress bar


def test_the_pages_find_the_connection_invariants_index_and_shapes_ready(small_db, tmp_path, monkeypatch):
    path = tmp_path / "copy.duckdb"
    shutil.copy(small_db, path)
    monkeypatch.setenv("OVERSIGHT_DB", str(path))
    monkeypatch.setattr(metrics, "BACKGROUND_INDEX", True)  # as in the app (the command line's tests turn it off)
    steps = warmup.warm_up()
    assert list(steps) == ["version", "connection", "invariants", "median_index", "map", "overview"]
    version = store.data_version(path)
    raw = cache._connection(str(path), version)
    assert cache._connection(str(path), version) is raw  # the very connection the pages will ask for
    assert shell._file_problems(str(path), version) == []
    scoped = store.scoped(raw, EVERYTHING)
    for _ in range(200):  # the index loads in the background: ready within moments
        if store.attachment(scoped, "median_index") is not None:
            break
        asyncio.run(asyncio.sleep(0.05))
    assert store.attachment(scoped, "median_index") is not None
    assert metrics._index(scoped) is store.attachment(scoped, "median_index")
    assert heatmap.direction_outlines.cache_info().currsize == 1


def test_a_failing_warm_up_is_logged_and_the_server_starts(monkeypatch, caplog):
    import serve

    def broken():
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(warmup, "warm_up", broken)

    async def start():
        async with serve.lifespan(None):
            return "started"

    assert asyncio.run(start()) == "started"
    assert "warm-up failed" in caplog.text and "disk on fire" in caplog.text


def _record_cached(small_db, tmp_path, monkeypatch) -> list:
    """A copy of the test database as the app's, and every cache._cached call recorded in the list returned."""
    path = tmp_path / "copy.duckdb"
    shutil.copy(small_db, path)
    monkeypatch.setenv("OVERSIGHT_DB", str(path))
    calls = []
    real = cache._cached

    def recording(*args):
        calls.append(args)
        return real(*args)

    monkeypatch.setattr(cache, "_cached", recording)
    return calls


def test_the_first_visit_to_the_overview_asks_for_exactly_what_the_warm_up_computed(small_db, tmp_path, monkeypatch):
    """The warm-up is worth something only if its cache keys are the page's: every result the Overview
    asks cache._cached for, the warm-up asked for with the same arguments."""
    from streamlit.testing.v1 import AppTest

    from oversight.paths import ROOT

    calls = _record_cached(small_db, tmp_path, monkeypatch)
    warmup.warm_up()
    warmed, calls[:] = set(calls), []
    assert {args[0] for args in warmed} == {cache.function_key(f) for f in warmup.OVERVIEW_RESULTS}
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    at.run()
    assert not at.exception
    assert calls and set(calls) <= warmed, set(calls) - warmed


def test_a_median_index_build_starts_once_per_connection_and_scope_whatever_the_objects(small_db, tmp_path, monkeypatch):
    """Whether a build started follows the connection and scope, kept with them and dropped with them
    (it was a set of id(ScopedConnection) that outlived the connections)."""
    from oversight.access import Scope

    path = tmp_path / "copy.duckdb"
    shutil.copy(small_db, path)
    raw = store.connect_raw(path)
    monkeypatch.setattr(metrics, "BACKGROUND_INDEX", True)  # as in the app (the command line's tests turn it off)
    started = []
    monkeypatch.setattr(metrics, "_build_in_background", lambda con: started.append(con.scope.key))
    monkeypatch.setattr(metrics.threading, "Thread", lambda target, args, **kw: type(
        "T", (), {"start": lambda self: target(*args)})())
    north = Scope(territory_ids=frozenset({1}), municipality_ids=frozenset())
    for _ in range(3):  # three page runs of the whole region, two of a direction
        metrics.start_median_index(store.scoped(raw, EVERYTHING))
    for _ in range(2):
        metrics.start_median_index(store.scoped(raw, north))
    assert started == [EVERYTHING.key, north.key]


@pytest.mark.parametrize("page", ["backlog", "map", "compliance", "compare", "examples"])
def test_the_first_visit_to_a_slow_page_asks_for_what_the_background_warm_up_computed(small_db, tmp_path, monkeypatch, page):
    """Pages with queries of their own waited for them at their first visit at 10M: serve.py computes
    their default results in the background (warmup.warm_up_pages). Worth something only with
    the page's own cache keys: every result the page's first visit asks cache._cached for, the warm-up
    asked for with the same arguments (and it asked for nothing the page does not use)."""
    from streamlit.testing.v1 import AppTest

    from oversight.paths import ROOT

    calls = _record_cached(small_db, tmp_path, monkeypatch)
    steps = warmup.warm_up_pages()
    assert list(steps) == ["backlog", "map", "compliance", "compare", "examples"]
    warmed, calls[:] = set(calls), []
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    at.run()
    calls[:] = []  # the Overview's (warm_up's own test covers those)
    at.switch_page(f"app_pages/{page}.py").run()
    assert not at.exception, at.exception
    asked = set(calls)
    prefix = {"backlog": "oversight.analysis.backlog.", "map": "oversight.analysis.heatmap.",
              "compliance": "oversight.analysis.compliance.", "compare": "oversight.analysis.compare.",
              "examples": "oversight.output.presentation."}[page]
    assert asked and asked <= warmed, asked - warmed
    assert {args for args in warmed if args[0].startswith(prefix)} == asked  # nothing computed in vain


def test_the_start_does_what_streamlit_and_pandas_would_do_at_the_first_visit(monkeypatch):
    """Found with py-spy in a first visit after a start: Streamlit's once-per-process REPL check
    (inspect.stack() over the page's deep stack) and pandas' Styler import (jinja2 templates compiled)."""
    import sys

    from streamlit import delta_generator

    assert hasattr(delta_generator, "_maybe_print_use_warning")  # the private function ui calls
    monkeypatch.setattr(delta_generator, "_use_warning_has_been_displayed", False)  # a fresh process
    warmup.import_everything()
    assert delta_generator._use_warning_has_been_displayed
    assert "pandas.io.formats.style" in sys.modules and "streamlit.emojis" in sys.modules
