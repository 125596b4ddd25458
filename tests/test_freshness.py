"""How fresh the data are (issue #20): the decision (oversight/freshness.py) at its boundary, the
settings file's value and a broken settings file, and the line and the warning on the pages."""

from __future__ import annotations

import datetime as dt
import logging
import os
import shutil

import duckdb
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from oversight import freshness, settings, store
from oversight.i18n import t
from oversight.ingest import importer
from oversight.paths import ROOT

NOW = dt.datetime(2026, 11, 30, 9, 0)
AS_OF = dt.datetime(2026, 11, 30, 6, 0)
H = dt.timedelta(hours=1)


def _fresh(loaded_at, limit: float = 26, is_demo: bool = False) -> freshness.Freshness:
    return freshness.assess(AS_OF, loaded_at, is_demo, now=NOW, warn_after=limit)


# ---------------------------------------------------------------- the decision


def test_stale_only_when_strictly_older_than_the_limit():
    assert not _fresh(NOW - 26 * H).stale  # exactly the limit: still fresh
    assert _fresh(NOW - 26 * H - dt.timedelta(seconds=1)).stale
    assert not _fresh(NOW - 25 * H).stale
    assert _fresh(NOW - 2 * H, limit=1.5).stale and not _fresh(NOW - 1 * H, limit=1.5).stale
    assert _fresh(NOW - 26 * H).age == 26 * H


def test_a_server_clock_behind_reads_as_just_now():
    f = _fresh(NOW + dt.timedelta(minutes=5))
    assert f.age == dt.timedelta(0) and not f.stale


def test_demo_data_are_never_stale_and_keep_their_banner_alone():
    f = _fresh(NOW - 1000 * H, is_demo=True)
    assert not f.stale
    assert freshness.note(f, "ru", "демо") is None


def test_an_unknown_import_time_is_said():
    for missing in (None, pd.NaT, float("nan")):
        f = _fresh(missing)
        assert f.loaded_at is None and f.stale
        said = freshness.note(f, "ru", "ЕДС МО")
        assert said.warn and said.text == "Время последней загрузки неизвестно. Данные на 30.11.2026 06:00 (МСК), источник: ЕДС МО."


def test_moments_from_a_query_are_read():
    f = freshness.assess(pd.Timestamp(AS_OF), pd.Timestamp(NOW - H), False, now=NOW, warn_after=26)
    assert f.as_of == AS_OF and f.loaded_at == NOW - H and type(f.loaded_at) is dt.datetime


@pytest.mark.parametrize("age, ru, en", [
    (dt.timedelta(seconds=59), "меньше минуты", "under a minute"),
    (dt.timedelta(minutes=1), "1 мин", "1 min"),
    (dt.timedelta(minutes=59, seconds=59), "59 мин", "59 min"),
    (H, "1 ч", "1 h"),
    (47 * H + dt.timedelta(minutes=59), "47 ч", "47 h"),
    (48 * H, "2 дн. 0 ч", "2 d 0 h"),
    (76 * H + dt.timedelta(minutes=5), "3 дн. 4 ч", "3 d 4 h"),
])
def test_ages_in_words(age, ru, en):
    assert freshness.fmt_age(age, "ru") == ru
    assert freshness.fmt_age(age, "en") == en


def test_the_limit_as_written():
    assert freshness.fmt_hours(26.0, "ru") == "26"
    assert freshness.fmt_hours(0.5, "ru") == "0,5" and freshness.fmt_hours(0.5, "en") == "0.5"
    assert freshness.fmt_hours(0.001, "en") == "0.001"


def test_what_a_page_says():
    fresh = freshness.note(_fresh(NOW - 2 * H), "ru", "ЕДС МО")
    assert not fresh.warn
    assert fresh.text == "Данные на 30.11.2026 06:00 (МСК), источник: ЕДС МО; загружены 30.11.2026 07:00 (2 ч назад)"
    assert freshness.note(_fresh(NOW - 2 * H), "en", "ЕДС МО").text == (
        "Data as of 2026-11-30 06:00 (Moscow time), source: ЕДС МО; imported 2026-11-30 07:00 (2 h ago)")
    stale = freshness.note(_fresh(NOW - 30 * H), "ru", "ЕДС МО")
    assert stale.warn
    assert stale.text == "Нет загрузок 30 ч (порог 26 ч): последняя — 29.11.2026 03:00 (МСК), данные на 30.11.2026 06:00."
    assert freshness.note(_fresh(NOW - 30 * H), "en", "x").text == (
        "No import for 30 h (limit 26 h): the last one was at 2026-11-29 03:00 (Moscow time), data as of 2026-11-30 06:00.")


# ---------------------------------------------------------------- the settings file


def test_the_limit_comes_from_the_settings_file(tmp_path, monkeypatch):
    path = tmp_path / "oversight.toml"
    monkeypatch.setenv("OVERSIGHT_CONFIG", str(path))
    assert freshness.warn_after_hours() == 26.0  # no file: the default
    path.write_text("[mail]\nport = 25\n", encoding="utf-8")
    assert freshness.warn_after_hours() == 26.0  # no [freshness] section
    path.write_text("[freshness]\nwarn_after_hours = 12\n", encoding="utf-8")
    assert freshness.warn_after_hours() == 12.0
    path.write_text("[freshness]\nwarn_after_hours = 0.5\n", encoding="utf-8")
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))  # an edit a second later
    assert freshness.warn_after_hours() == 0.5  # read again: a running app picks the edit up
    # assess() reads it when no limit is given.
    assert freshness.assess(AS_OF, NOW - H, False, now=NOW).stale


@pytest.mark.parametrize("text", [
    "[freshness]\nwarn_after_hours = \n",  # not TOML
    "[freshness\nwarn_after_hours = 12\n",  # not TOML
    "[freshness]\nwarn_after_hours = \"twelve\"\n",
    "[freshness]\nwarn_after_hours = -3\n",
    "[freshness]\nwarn_after_hours = 0\n",
    "[freshness]\nwarn_after_hours = true\n",
    "[freshness]\nwarn_after_hours = nan\n",
])
def test_a_broken_settings_file_gives_the_default_and_a_line_in_the_log(tmp_path, text, caplog):
    path = tmp_path / f"broken-{abs(hash(text))}.toml"
    path.write_text(text, encoding="utf-8")
    with caplog.at_level(logging.WARNING, logger="oversight.freshness"):
        assert freshness.warn_after_hours(path) == 26.0
        assert freshness.warn_after_hours(path) == 26.0
    said = [r.getMessage() for r in caplog.records if r.name == "oversight.freshness"]
    assert len(said) == 1 and str(path) in said[0] and "26.0" in said[0]  # once per version of the file


def test_a_settings_file_that_cannot_be_read_gives_the_default(tmp_path, caplog):
    folder = tmp_path / "a-folder.toml"  # not a file: reading it fails with an OSError
    folder.mkdir()
    with caplog.at_level(logging.WARNING, logger="oversight.freshness"):
        assert freshness.warn_after_hours(folder) == 26.0
    assert any("unreadable" in r.getMessage() for r in caplog.records)
    bad_bytes = tmp_path / "latin1.toml"
    bad_bytes.write_bytes("[freshness]\n# \xe9\n".encode("latin-1"))
    assert freshness.warn_after_hours(bad_bytes) == 26.0
    with pytest.raises(settings.SettingsError):  # the settings module itself refuses it; freshness does not
        settings.section("freshness", bad_bytes)


# ---------------------------------------------------------------- the pages

DASHBOARD = str(ROOT / "dashboard.py")


@pytest.fixture(scope="module")
def imported_db(tmp_path_factory):
    """A real (not demo) database: the Boston 311 sample, imported."""
    path = tmp_path_factory.mktemp("fresh") / "imported.duckdb"
    importer.import_files([ROOT / "tests" / "fixtures" / "boston311-100.csv"], path, "boston311", dt.datetime(2022, 6, 1))
    return path


def _aged(source, folder, hours: float):
    """A copy of the database whose latest import was `hours` ago."""
    path = folder / f"aged-{hours}.duckdb"
    shutil.copy(source, path)
    with duckdb.connect(str(path)) as con:
        con.execute("update dataset set loaded_at = $at", {"at": store.moscow_now() - dt.timedelta(hours=hours)})
    return str(path)


def _page(db: str, monkeypatch, lang: str, page: str | None = None, config=None) -> AppTest:
    monkeypatch.setenv("OVERSIGHT_DB", db)
    monkeypatch.setenv("OVERSIGHT_CONFIG", str(config))
    at = AppTest.from_file(DASHBOARD, default_timeout=120)
    at.query_params["lang"] = lang
    at.run()
    if page is not None:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_a_page_shows_the_moments_in_one_line_when_fresh(imported_db, tmp_path, monkeypatch, lang):
    at = _page(_aged(imported_db, tmp_path, 3), monkeypatch, lang, config=tmp_path / "none.toml")
    captions = [c.value for c in at.caption]
    start = {"ru": "Данные на 01.06.2022 00:00 (МСК), источник: Boston 311; загружены ",
             "en": "Data as of 2022-06-01 00:00 (Moscow time), source: Boston 311; imported "}[lang]
    line = [c for c in captions if c.startswith(start)]
    assert len(line) == 1, captions
    assert line[0].endswith({"ru": "(3 ч назад)", "en": "(3 h ago)"}[lang])
    assert not [w.value for w in at.warning]  # no warning at all


@pytest.mark.parametrize("lang, page", [("ru", None), ("en", None), ("ru", "app_pages/backlog.py"),
                                        ("en", "app_pages/map.py")])
def test_a_page_warns_when_the_latest_import_is_too_old(imported_db, tmp_path, monkeypatch, lang, page):
    at = _page(_aged(imported_db, tmp_path, 30), monkeypatch, lang, page, config=tmp_path / "none.toml")
    start = {"ru": "Нет загрузок 30 ч (порог 26 ч): последняя — ", "en": "No import for 30 h (limit 26 h): the last one was at "}
    warned = [w.value for w in at.warning if w.value.startswith(start[lang])]
    assert len(warned) == 1, [w.value for w in at.warning]
    assert warned[0].endswith({"ru": "данные на 01.06.2022 00:00.", "en": "data as of 2022-06-01 00:00."}[lang])
    assert not [c.value for c in at.caption if "Boston 311;" in c.value]  # the warning instead of the line


def test_the_pages_follow_the_settings_file(imported_db, tmp_path, monkeypatch):
    config = tmp_path / "oversight.toml"
    config.write_text("[freshness]\nwarn_after_hours = 48\n", encoding="utf-8")
    db = _aged(imported_db, tmp_path, 30)
    at = _page(db, monkeypatch, "ru", config=config)
    assert not at.warning and any("(30 ч назад)" in c.value for c in at.caption)
    config.write_text("[freshness]\nwarn_after_hours = 2,5\n", encoding="utf-8")  # a typo: the default, no error
    os.utime(config, ns=(config.stat().st_atime_ns, config.stat().st_mtime_ns + 10**9))
    at = _page(db, monkeypatch, "ru", config=config)
    assert [w.value for w in at.warning if w.value.startswith("Нет загрузок 30 ч (порог 26 ч)")]
    assert not at.error


def test_demo_pages_keep_the_demo_banner_alone(small_db, tmp_path, monkeypatch):
    config = tmp_path / "oversight.toml"
    config.write_text("[freshness]\nwarn_after_hours = 0.001\n", encoding="utf-8")
    at = _page(small_db, monkeypatch, "ru", config=config)
    warnings = [w.value for w in at.warning]
    assert any(w.startswith(t("demo.banner", "ru", as_of="")[:20]) for w in warnings), warnings
    assert not [w for w in warnings if w.startswith("Нет загрузок")]
