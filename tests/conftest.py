"""Shared fixtures: small seeded demo databases built once per test session."""

from __future__ import annotations

import datetime as dt
import os

import duckdb
import pandas as pd
import pytest

from oversight import store
from oversight.access import EVERYTHING
from oversight.ingest.demo import DemoSpec, build_demo_database

SMALL = DemoSpec(tickets=40_000, seed=7, organizations=300)
STORY = DemoSpec(tickets=400_000, seed=11)
DAILY = DemoSpec(tickets=30_000, seed=5, organizations=200)


CHROMIUM = "/usr/bin/chromium"  # Debian's, never a downloaded browser
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium for the real-browser tests: skipped locally without it, failed in CI."""
    import os
    from pathlib import Path

    if not Path(CHROMIUM).exists():
        message = f"Chromium not found at {CHROMIUM}: apt-get install chromium"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


# A page's error fails the test (dashboard.py otherwise shows visitors an incident number instead);
# servers started by the browser tests inherit it. tests/test_hostile_links.py checks the other way.
os.environ.setdefault("OVERSIGHT_SHOW_ERRORS", "1")


@pytest.fixture(scope="session", autouse=True)
def _access_file(tmp_path_factory):
    """Grants and the audit log in a file of the test session's own (servers started by tests inherit it)."""
    import os

    path = tmp_path_factory.mktemp("access") / "access.duckdb"
    old = os.environ.get("OVERSIGHT_ACCESS_DB")
    os.environ["OVERSIGHT_ACCESS_DB"] = str(path)
    yield path
    if old is None:
        os.environ.pop("OVERSIGHT_ACCESS_DB", None)
    else:
        os.environ["OVERSIGHT_ACCESS_DB"] = old


@pytest.fixture(scope="session")
def small_db(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("db") / "small.duckdb"
    build_demo_database(path, SMALL)
    return str(path)


@pytest.fixture(scope="session")
def real_db(tmp_path_factory):
    """A small database of real (not demo) data: an import goes into it rather than replacing it
    (the daily imports of issue #20). Tests copy it before writing."""
    path = tmp_path_factory.mktemp("real") / "base.duckdb"
    build_demo_database(path, DAILY)
    with duckdb.connect(str(path)) as con:
        con.execute("update dataset set is_demo = false")
    return path


@pytest.fixture(scope="session")
def story_db(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("db") / "story.duckdb"
    build_demo_database(path, STORY)
    return str(path)


@pytest.fixture(scope="session")
def full_demo(tmp_path_factory):
    """The default demo (1M requests, ~11 s to build): the planted organisations at the volumes a
    presenter would see (at 400k an excellent organisation's interval still reaches the funnel).
    Returns (connection, as_of, the demo_story facts)."""
    path = tmp_path_factory.mktemp("demo") / "demo.duckdb"
    build_demo_database(path, DemoSpec())
    con = store.connect(path, EVERYTHING)
    facts = dict(con.execute("select key, value from demo_story").fetchall())
    return con, store.dataset_info(con)["as_of"].to_pydatetime(), facts


@pytest.fixture(scope="session")
def con(small_db):
    return store.connect(small_db, EVERYTHING)


@pytest.fixture(scope="session")
def as_of(con) -> dt.datetime:
    return store.dataset_info(con)["as_of"].to_pydatetime()


def read_table(path: str, table: str) -> pd.DataFrame:
    """A whole table as plain pandas, read without the project's queries (for independent checks)."""
    with duckdb.connect(path, read_only=True) as c:
        return c.execute(f"select * from {table}").df()  # noqa: S608 - fixed table names in tests


@pytest.fixture(scope="session")
def frames(small_db) -> dict[str, pd.DataFrame]:
    names = ["tickets", "municipalities", "organizations", "buildings", "categories", "events", "territories", "demo_story"]
    return {name: read_table(small_db, name) for name in names}


@pytest.fixture(scope="session", autouse=True)
def _median_index_ready(con):
    """Tests compare the median index with SQL, so build it up front (the app builds it in the background)."""
    from oversight.analysis import metrics

    metrics.prepare_median_index(con)


MIDDAY = DemoSpec(tickets=30_000, seed=9, organizations=200, end=dt.date(2019, 12, 20), as_of=dt.datetime(2019, 12, 20, 14, 0))


@pytest.fixture(scope="session")
def midday(tmp_path_factory):
    """A database whose as_of falls in the middle of a day (as real exports do): con, frames, as_of."""
    from oversight.analysis import metrics

    path = tmp_path_factory.mktemp("db") / "midday.duckdb"
    build_demo_database(path, MIDDAY)
    c = store.connect(path, EVERYTHING)
    metrics.prepare_median_index(c)
    tables = {name: read_table(str(path), name) for name in ["tickets", "municipalities", "categories"]}
    return c, tables, MIDDAY.as_of
