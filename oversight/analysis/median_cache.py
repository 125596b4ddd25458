"""The median index kept on disk beside the database, so it is built once per data, not per process.

Building the index at 10M requests costs seconds of CPU; a server start, a second server process, or
the app after an import that the import process has already indexed would otherwise build it again
while people wait for pages. A built index is saved as plain .npy arrays (`MedianIndex.save`) and
read back memory-mapped, which takes milliseconds.

What makes a saved index valid is the data it was built from, not a file name or a time: its name
holds a digest of every closed request the scope sees (count and a sum of row hashes over the
index's inputs, one scan). A changed request changes the digest, so a stale index is never read.

Layout: `<db dir>/.<db name>.medians/<scope>-<digest>/` with `meta.json` and one pair of arrays per
grouping; `<scope>-<digest>.lock` (an flock) makes a second builder wait for the first and then read
its result. Only the newest KEEP entries per scope are kept. When the directory cannot be written
(a read-only data folder) the index simply lives in memory, as before.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path

import duckdb
import numpy as np

from oversight import store
from oversight.access import EVERYTHING
from oversight.analysis.medians import IndexUnavailable, MedianIndex

KEEP = 2  # entries per scope: the current data and the one before (a reader may still be on it)
STALE_TMP_S = 3600.0
log = logging.getLogger(__name__)


class SourceCodedIndex:
    """A MedianIndex plus the integer code it gives each source string."""

    def __init__(self, index: MedianIndex):
        self.index = index
        self.source_codes: dict[str, int] = index.extra["source_codes"]


def index_for(con) -> SourceCodedIndex | None:
    """The index of closed requests for a scoped connection: read from disk when this data's index
    was saved before (by another process, an import, an earlier server), else made and saved —
    for the whole region updated from the previous file's when an import just replaced it (see
    save_after_import), otherwise built. None if the data do not fit it."""
    index, _how = _index_and_how(con)
    return SourceCodedIndex(index) if index is not None else None


def _index_and_how(con) -> tuple[MedianIndex | None, str]:
    how = "saved before"
    path = store.database_path(con)

    def make() -> MedianIndex | None:
        nonlocal how
        index = _updated_or_none(path, con) if path is not None and con.scope.is_everything else None
        how = "updated" if index is not None else "built"
        return index if index is not None else build(con)

    return load_or_build(path, con.scope.key, _digest(con), make), how


def _digest(con) -> str:
    row = store.run(con, "closed_digest").iloc[0]
    return _key(int(row["closed"]), int(row["digest"]))


def _key(closed: int, digest: int) -> str:
    return f"{closed}-{hashlib.sha256(str(digest).encode()).hexdigest()[:24]}"


def build(con) -> MedianIndex | None:
    """A new index over every closed request the connection's scope sees (None if they do not fit)."""
    # Sources are text: the index numbers them by position in the sorted list of those present,
    # computed in SQL so that every column arrives as a plain integer array (pandas' conversion of
    # 11M rows took 8 s of the 12 the build used to take at 10M).
    sources = store.run(con, "closed_sources")["source"].tolist()
    data = store.run_numpy(con, "closed_resolutions", sources=sources or [""])  # an empty list has no type
    try:
        index = MedianIndex(data["closed_day"], _groups(data), data["resolution_us"])
    except IndexUnavailable:
        return None
    index.extra["source_codes"] = {source: code for code, source in enumerate(sources)}
    return index


def _groups(data: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {
        "territory": data["territory_id"],
        "municipality": data["current_municipality_id"],
        "category": data["category_id"],
        "source": data["source_code"],
    }


# ---------------------------------------------------------------- after an import


def save_after_import(path: Path | str) -> str:
    """Give the file an import just published its region index on disk, so the app reads it rather
    than making it while people wait for pages: the previous file's saved index updated by the
    requests the import wrote when it can (2–3 s at 10M), else built whole. Best effort (medians
    come from SQL until an index exists). Returns how: "saved before", "updated",
    "built" or "failed"."""
    try:
        return _index_and_how(store.connect(path, EVERYTHING))[1]
    except Exception:  # never fail an import that has landed
        log.exception("median index of %s not saved; the app makes it", path)
        return "failed"
    finally:
        store.release(path)


def _updated_or_none(path: Path, con) -> MedianIndex | None:
    """_updated, or None when the previous file cannot be read now (the next import is writing it):
    the index is then built whole rather than not at all."""
    try:
        return _updated(path, con)
    except (duckdb.Error, OSError) as why:
        log.info("median index built whole: the previous file could not be read (%s)", why)
        return None


def _updated(path: Path, con) -> MedianIndex | None:  # noqa: PLR0911 - each return is one reason it cannot
    """The previous file's saved index with the last import's requests replaced, or None when that
    cannot be done safely: no previous file one generation behind, no saved index for it, a change
    the index has no room for, or rows changed that the import did not list (checked by the digest:
    previous digest - the listed rows as they were + as they are must equal the new digest)."""
    from oversight import standby

    previous_path = standby.standby_path(path)
    if not previous_path.exists():
        return None
    live = standby.state(store.new_cursor(con.raw))
    if live is None:  # a demo, or a file no import has written through the standby yet
        return None
    changed = [r[0] for r in con.execute("select ticket_id from import_changes where generation = $g", {"g": live[1]}).fetchall()]
    previous = duckdb.connect(":memory:")
    try:
        previous.execute("attach $path as previous_file (read_only)", {"path": str(previous_path)})
        previous.execute("use previous_file")
        before = standby.state(previous)
        if not before or before[0] != live[0] or before[1] != live[1] - 1 or not before[2]:
            return None
        closed, digest = previous.execute(store.query_text("closed_digest")).fetchone()
        old = _read(cache_dir(path) / entry_name(EVERYTHING.key, _key(closed, int(digest))))
        if old is None:
            return None
        sources = list(old.extra["source_codes"])
        params = {"sources": sources or [""], "ticket_ids": changed}
        removed = previous.execute(store.query_text("closed_resolutions_of"), params).fetchnumpy()
    finally:
        previous.close()
    added = store.run_numpy(con, "closed_resolutions_of", **params)
    now = store.run(con, "closed_digest").iloc[0]
    expected = int(digest) - _hash_sum(removed) + _hash_sum(added)
    if int(now["closed"]) != closed - len(removed["row_hash"]) + len(added["row_hash"]) or int(now["digest"]) != expected:
        log.warning("requests changed beyond the import's list; the median index is built whole")
        return None
    try:
        return old.updated(_rows(removed), _rows(added))
    except IndexUnavailable as why:
        log.info("median index built whole: %s", why)
        return None


def _hash_sum(rows: dict[str, np.ndarray]) -> int:
    return sum(int(h) for h in rows["row_hash"])


def _rows(data: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {"closed_day": data["closed_day"], "resolution_us": data["resolution_us"], **_groups(data)}


def cache_dir(db_path: Path | str) -> Path:
    path = Path(db_path)
    return path.with_name(f".{path.name}.medians")


def entry_name(scope_key: str, digest: str) -> str:
    scope = hashlib.sha256(scope_key.encode()).hexdigest()[:12]
    return f"{scope}-{digest}"


@contextlib.contextmanager
def _locked(lock_path: Path):
    with open(lock_path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def load_or_build(db_path: Path | str | None, scope_key: str, digest: str, build: Callable[[], MedianIndex | None]):
    """The index for this scope and data: read from disk when saved, else built and saved.

    `build` may return None (the data do not fit the index); nothing is saved then.
    """
    if db_path is None:
        return build()
    directory = cache_dir(db_path)
    name = entry_name(scope_key, digest)
    try:
        directory.mkdir(exist_ok=True)
        lock = directory / f"{name}.lock"
        with _locked(lock):
            index = _read(directory / name)
            if index is not None:
                return index
            index = build()
            if index is not None:
                _write(index, directory / name)
                _prune(directory, name.split("-")[0])
            return index
    except OSError as exc:  # a read-only data folder, a full disk: the index lives in memory only
        log.warning("median index not kept on disk (%s)", exc)
        return build()


def _read(entry: Path) -> MedianIndex | None:
    if not (entry / "meta.json").exists():
        return None
    try:
        return MedianIndex.load(entry)
    except (OSError, ValueError, KeyError) as exc:  # half-written by a killed process, another format
        log.warning("median index at %s unreadable (%s); building it again", entry, exc)
        shutil.rmtree(entry, ignore_errors=True)
        return None


def _write(index: MedianIndex, entry: Path) -> None:
    tmp = entry.with_name(f"{entry.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    index.save(tmp)
    shutil.rmtree(entry, ignore_errors=True)
    os.replace(tmp, entry)  # meta.json is written last inside tmp, and the rename publishes it whole


def _prune(directory: Path, scope: str) -> None:
    """Remove all but the KEEP newest entries of a scope (and their locks). A process still reading
    a removed entry keeps its mapped arrays: the files go when it lets go of them."""
    entries = sorted(
        (p for p in directory.glob(f"{scope}-*") if p.is_dir() and ".tmp-" not in p.name),
        key=lambda p: p.stat().st_mtime_ns,
        reverse=True,
    )
    # What a killed writer left half-written (a live writer's is minutes old at most).
    for tmp in directory.glob("*.tmp-*"):
        with contextlib.suppress(OSError):
            if time.time() - tmp.stat().st_mtime > STALE_TMP_S:
                shutil.rmtree(tmp, ignore_errors=True)
    for old in entries[KEEP:]:
        shutil.rmtree(old, ignore_errors=True)
        with contextlib.suppress(OSError):
            old.with_name(f"{old.name}.lock").unlink()
