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

from oversight.medians import MedianIndex

KEEP = 2  # entries per scope: the current data and the one before (a reader may still be on it)
STALE_TMP_S = 3600.0
log = logging.getLogger(__name__)


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
