"""The median index kept on disk: read back equal, built once per data, never used for other data."""

from __future__ import annotations

import shutil

import duckdb
import numpy as np
import pytest

from oversight import store
from oversight.access import EVERYTHING, Scope
from oversight.analysis import median_cache
from oversight.analysis.medians import MedianIndex


def _random_index(seed: int = 0) -> tuple[MedianIndex, dict]:
    rng = np.random.default_rng(seed)
    n = 5_000
    data = {
        "day": rng.integers(18_000, 18_100, n),
        "territory": rng.integers(1, 5, n),
        "resolution": rng.integers(1, 10**6, n) * 1_000_000,
    }
    return MedianIndex(data["day"], {"territory": data["territory"]}, data["resolution"]), data


def test_a_saved_index_reads_back_and_answers_the_same(tmp_path):
    index, data = _random_index()
    index.extra["source_codes"] = {"eds": 0}
    index.save(tmp_path / "entry")
    loaded = MedianIndex.load(tmp_path / "entry")
    assert loaded.extra == {"source_codes": {"eds": 0}}
    assert isinstance(loaded._groupings["all"].keys, np.memmap)
    for a, b in [(18_000, 18_100), (18_010, 18_011), (18_050, 18_090), (17_000, 17_001)]:
        for grouping, group in [("all", 0), ("territory", 2), ("territory", 9)]:
            assert loaded.median_hours(grouping, group, a, b) == index.median_hours(grouping, group, a, b)
            mask = (data["day"] >= a) & (data["day"] < b)
            if grouping == "territory":
                mask &= data["territory"] == group
            expected = np.median(data["resolution"][mask]) / 3600e6 if mask.any() else None
            assert loaded.median_hours(grouping, group, a, b) == (pytest.approx(expected) if expected else None)


def test_built_once_then_read_and_pruned(tmp_path):
    db = tmp_path / "x.duckdb"
    built = []

    def build(seed=0):
        built.append(seed)
        return _random_index(seed)[0]

    first = median_cache.load_or_build(db, "all", "d1", build)
    again = median_cache.load_or_build(db, "all", "d1", build)
    assert built == [0] and again.median_hours("all", 0, 18_000, 18_100) == first.median_hours("all", 0, 18_000, 18_100)
    # Another scope, other data: each its own entry; only the KEEP newest per scope stay.
    median_cache.load_or_build(db, "t:1|m:", "d1", lambda: build(1))
    for digest in ("d2", "d3", "d4"):
        median_cache.load_or_build(db, "all", digest, build)
    names = {p.name for p in median_cache.cache_dir(db).iterdir() if p.is_dir()}
    assert names == {median_cache.entry_name("all", d) for d in ("d3", "d4")} | {median_cache.entry_name("t:1|m:", "d1")}
    assert built == [0, 1, 0, 0, 0]


def test_a_half_written_entry_is_built_again(tmp_path):
    db = tmp_path / "x.duckdb"
    median_cache.load_or_build(db, "all", "d1", lambda: _random_index()[0])
    entry = median_cache.cache_dir(db) / median_cache.entry_name("all", "d1")
    (entry / "all.keys.npy").write_bytes(b"\x93NUMPY broken")  # a killed writer, a disk error
    rebuilt = []
    index = median_cache.load_or_build(db, "all", "d1", lambda: rebuilt.append(1) or _random_index()[0])
    assert rebuilt == [1] and index.count("all", 0, 18_000, 18_100) == 5_000
    assert MedianIndex.load(entry).count("all", 0, 18_000, 18_100) == 5_000


def test_an_unwritable_folder_keeps_the_index_in_memory(tmp_path):
    blocked = tmp_path / "ro"
    blocked.write_text("a file where the folder would be")  # mkdir of the cache folder fails
    index = median_cache.load_or_build(blocked / "x.duckdb", "all", "d1", lambda: _random_index()[0])
    assert index.count("all", 0, 18_000, 18_100) == 5_000


def _index_from_new_process_state(path) -> median_cache.SourceCodedIndex:
    """What a fresh server process gets: a new connection, no index attached."""
    store.release(path)
    con = store.connect(path, EVERYTHING)
    return median_cache.index_for(con)


def test_the_app_reads_a_saved_index_and_a_changed_request_builds_a_new_one(real_db, tmp_path, monkeypatch):
    path = tmp_path / "db.duckdb"
    shutil.copy(real_db, path)
    first = _index_from_new_process_state(path)
    entries = [p for p in median_cache.cache_dir(path).iterdir() if p.is_dir()]
    assert len(entries) == 1

    # Same data: read from disk, never built (a build would raise).
    def no_build(_c):
        raise AssertionError("built again for the same data")

    with monkeypatch.context() as m:
        m.setattr(median_cache, "build", no_build)
        again = _index_from_new_process_state(path)
    assert again.source_codes == first.source_codes
    assert isinstance(again.index._groupings["all"].keys, np.memmap)

    # One closed request's closing moves by a second: other data, another entry, built again.
    store.release(path)
    with duckdb.connect(str(path)) as rw:
        ticket_id = rw.execute("select ticket_id from ticket_facts where closed_at is not null limit 1").fetchone()[0]
        rw.execute(
            "update ticket_facts set closed_at = closed_at + interval 1 second, resolution_us = resolution_us + 1000000 "
            "where ticket_id = $id",
            {"id": ticket_id},
        )
    changed = _index_from_new_process_state(path)
    assert len([p for p in median_cache.cache_dir(path).iterdir() if p.is_dir()]) == 2
    con = store.connect(path, EVERYTHING)
    day_from, day_to = changed.index.day0, changed.index.day0 + changed.index.n_days
    sql = con.execute("select median(resolution_us) / 3600e6 from ticket_facts where closed_at is not null").fetchone()[0]
    assert changed.index.median_hours("all", 0, day_from, day_to) == pytest.approx(sql, rel=1e-12)


def test_each_scope_has_its_own_saved_index(real_db, tmp_path):
    path = tmp_path / "db.duckdb"
    shutil.copy(real_db, path)
    store.release(path)
    region = median_cache.index_for(store.connect(path, EVERYTHING))
    north = median_cache.index_for(store.connect(path, Scope(territory_ids=frozenset({1}))))
    days = (region.index.day0, region.index.day0 + region.index.n_days)
    assert north.index.count("all", 0, *days) == region.index.count("territory", 1, *days)
    assert north.index.count("all", 0, *days) < region.index.count("all", 0, *days)
    assert len([p for p in median_cache.cache_dir(path).iterdir() if p.is_dir()]) == 2


def _same_medians(a: MedianIndex, b: MedianIndex, codes: dict[str, int]) -> None:
    """Counts and medians equal for every grouping's groups over a spread of day ranges."""
    first, last = max(a.day0, b.day0), min(a.day0 + a.n_days, b.day0 + b.n_days)
    spans = [(first, last), (last - 30, last), (last - 1, last), (first + 100, first + 190)]
    groups = {"all": [0], "territory": range(0, 6), "municipality": range(0, 70, 7), "category": range(0, 40, 5), "source": codes.values()}
    for grouping, numbers in groups.items():
        for group in numbers:
            for span in spans:
                assert a.count(grouping, group, *span) == b.count(grouping, group, *span), (grouping, group, span)
                assert a.median_hours(grouping, group, *span) == b.median_hours(grouping, group, *span), (grouping, group, span)


def _import_day(db, folder, seed):
    from oversight.ingest import demo_daily, importer

    export = folder / f"day{seed}.csv"
    demo_daily.daily_export(db, export, seed=seed, new=300, changed=80, refused=3, hours=24)
    importer.import_files([export], db, "eds")


def test_an_import_updates_the_saved_index_and_it_equals_a_new_build(real_db, tmp_path):
    db = tmp_path / "live.duckdb"
    shutil.copy(real_db, db)
    hows = []
    for seed in range(3):
        _import_day(db, tmp_path, seed)
        hows.append(median_cache.save_after_import(db))
    # The first import's previous file has no generation to follow; then each import's index is the
    # previous one with the requests it wrote replaced (closings of old requests among them).
    assert hows == ["built", "updated", "updated"]
    store.release(db)
    con = store.connect(db, EVERYTHING)
    saved = median_cache.index_for(con)
    assert isinstance(saved.index._groupings["all"].keys, np.memmap)  # the import's copy, read
    _same_medians(saved.index, median_cache.build(con), saved.source_codes)

    # A request changed that the import did not list (another tool wrote the file): the digest
    # does not add up, so the index is built whole rather than updated wrongly.
    _import_day(db, tmp_path, 7)
    store.release(db)  # this process's connections to the file and to every earlier one under its name
    with duckdb.connect(str(db)) as rw:
        rw.execute(
            "update ticket_facts set resolution_us = resolution_us + 1000000, closed_at = closed_at + interval 1 second "
            "where ticket_id = (select min(ticket_id) from ticket_facts where closed_at is not null "
            "and ticket_id not in (select ticket_id from import_changes))"
        )
    assert median_cache.save_after_import(db) == "built"
    con = store.connect(db, EVERYTHING)
    _same_medians(median_cache.index_for(con).index, median_cache.build(con), saved.source_codes)


def test_a_previous_file_being_written_means_a_whole_build_not_none(real_db, tmp_path, monkeypatch):
    """The next import may hold the previous file (the standby) for writing: the index is built whole."""
    db = tmp_path / "live.duckdb"
    shutil.copy(real_db, db)
    for seed in range(2):
        _import_day(db, tmp_path, seed)
        median_cache.save_after_import(db)
    _import_day(db, tmp_path, 5)

    def busy(*_a, **_k):
        raise duckdb.IOException("Could not set lock on file: Conflicting lock is held")

    monkeypatch.setattr(median_cache, "_updated", busy)
    assert median_cache.save_after_import(db) == "built"
