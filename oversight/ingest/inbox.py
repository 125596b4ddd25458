"""The import inbox (issue #20): a folder a timer empties into the database.

`python -m oversight import --inbox DIR` calls `process()`: every new file directly in DIR (not in
its subfolders), in order of arrival (modification time, then name), is imported on its own — the
same import as `python -m oversight import FILE` (guarded.import_files: the role checked, the audit
row written, the database changed as a whole or not at all) — and then moved:

- to DIR/done/ when it was imported, with `<name>.report.json` beside it (the import's report as
  `import` prints it, and the times, Moscow time);
- to DIR/refused/ when the import refused it (the database unchanged) or every one of its rows was
  refused (recorded in the database, nothing loaded), with the report or the refusal's message.

What a timer needs:
- a file still being written is not taken: names starting with "." or ending with ".part" or ".tmp"
  (deliver as `name.csv.part`, then rename: a rename is atomic), and files modified in the last
  `settle_s` seconds, and a file that changes while it is imported, wait for the next run;
- two runs at once never take the same file: a run holds an flock on DIR/.inbox.lock, and a second
  run gives up at once (InboxBusy);
- a name already in done/ or refused/ gets a suffix (`export-2.csv`), never overwrites;
- an empty inbox is a quiet success;
- the database busy with another writer for longer than the importer waits (DatabaseBusy) stops the
  run and leaves the file where it was, for the next run.

A run killed between an import and the move leaves the file in the inbox: the next run imports it
again, which changes nothing (a second import of the same file changes nothing). No argparse here:
oversight/cli/data.py turns a Run into output and an exit code.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from oversight import access, guarded, store
from oversight.access import Principal
from oversight.analysis import median_cache
from oversight.ingest import importer

LOG = logging.getLogger(__name__)
LOCK_NAME = ".inbox.lock"
DONE, REFUSED = "done", "refused"
PARTIAL_SUFFIXES = (".part", ".tmp")
SETTLE_S = 10.0  # a file modified less than this long ago may still be being written
REPORT_SUFFIX = ".report.json"
EXIT_FILES_REFUSED = 5  # the CLI's exit code when at least one file was refused (moved to refused/)


class InboxBusy(RuntimeError):
    """Another inbox run holds the folder's lock."""


class DatabaseBusy(RuntimeError):
    """The database stayed busy with another writer longer than an import waits; the file stays."""


@dataclass
class Outcome:
    """One file taken from the inbox."""

    name: str  # its name in the inbox
    status: str  # "imported", "nothing_loaded" (every row refused) or "refused" (the import refused it)
    moved_to: Path
    report_file: Path
    message: str | None = None  # why it was refused
    report: dict | None = None  # the import's report (importer.Report.to_dict)

    @property
    def refused(self) -> bool:
        return self.status != "imported"


@dataclass
class Run:
    outcomes: list[Outcome] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)  # new files left for a later run (still being written)

    @property
    def refused(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.refused]


@contextlib.contextmanager
def locked(inbox: Path | str):
    """Hold the inbox's lock (an flock on DIR/.inbox.lock; a kill -9 frees it), or raise InboxBusy at once."""
    path = Path(inbox) / LOCK_NAME
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise InboxBusy(f"another inbox run is working on {inbox} (it holds {path}); "
                            "nothing done, its files are left to it") from None
        yield
    finally:
        os.close(fd)


def partial(name: str) -> bool:
    """A name that says the file is not complete yet (or is not a delivery: the lock, hidden files)."""
    return name.startswith(".") or name.lower().endswith(PARTIAL_SUFFIXES)


def pending(inbox: Path | str, settle_s: float = SETTLE_S, now: float | None = None) -> tuple[list[Path], list[str]]:
    """The files to take, in order of arrival (modification time, then name), and the names of new
    files left for a later run (modified less than settle_s seconds ago). Partial names, folders
    and anything not a regular file are not listed at all."""
    now = time.time() if now is None else now
    ready, waiting = [], []
    for entry in os.scandir(inbox):
        if partial(entry.name) or not entry.is_file():
            continue
        stat = entry.stat()
        if now - stat.st_mtime < settle_s:
            waiting.append(entry.name)
        else:
            ready.append((stat.st_mtime_ns, entry.name, Path(entry.path)))
    return [path for _, _, path in sorted(ready)], sorted(waiting)


def free_name(folder: Path, name: str) -> str:
    """`name`, or `stem-2.ext`, `stem-3.ext`…: the first whose file and report are both absent."""
    stem, suffix = os.path.splitext(name)
    candidate, n = name, 1
    while (folder / candidate).exists() or (folder / (candidate + REPORT_SUFFIX)).exists():
        n += 1
        candidate = f"{stem}-{n}{suffix}"
    return candidate


def _write_json(path: Path, payload: dict) -> None:
    """Written beside, then renamed: a report is never half there."""
    part = path.with_name("." + path.name + ".part")
    part.write_text(json.dumps(payload, ensure_ascii=False, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(part, path)


def _move(path: Path, inbox: Path, folder_name: str, record: dict) -> tuple[Path, Path]:
    folder = inbox / folder_name
    folder.mkdir(exist_ok=True)
    name = free_name(folder, path.name)
    target = folder / name
    os.rename(path, target)  # the same file system: atomic, and never over another file (free_name)
    report_file = folder / (name + REPORT_SUFFIX)
    _write_json(report_file, {**record, "moved_to": f"{folder_name}/{name}"})
    return target, report_file


def _database_busy(error: importer.ImportError_) -> bool:
    """The importer says a busy database as an ImportError_ raised from store.WriterBusy."""
    return isinstance(error.__cause__ or error.__context__, store.WriterBusy)


def _unchanged(path: Path, stat: os.stat_result) -> bool:
    try:
        now = path.stat()
    except FileNotFoundError:
        return False
    return (now.st_size, now.st_mtime_ns) == (stat.st_size, stat.st_mtime_ns)


def process(inbox: Path | str, db_path: Path | str, principal: Principal, profile: str = "auto",
            settle_s: float = SETTLE_S, progress: Callable[[float, str], None] | None = None,
            told: Callable[[Outcome], None] | None = None) -> Run:
    """Import every new file of the inbox, one at a time, and move each to done/ or refused/ with its
    report (see the module's docstring). `told(outcome)` is called after each file. Raises
    InboxBusy (another run), AccessDenied (the principal may not import: nothing moved), DatabaseBusy
    (the file being imported stays for the next run; the files before it are done)."""
    inbox = Path(inbox)
    access.require(principal, "import", target=f"inbox {inbox}")
    run = Run()
    with locked(inbox):
        files, run.waiting = pending(inbox, settle_s)
        for path in files:
            stat = path.stat()
            if time.time() - stat.st_mtime < settle_s:  # touched again since the listing
                run.waiting.append(path.name)
                continue
            outcome = _take(path, stat, inbox, db_path, principal, profile, progress)
            if outcome is None:  # it changed or went away while it was read: the next run sees it
                run.waiting.append(path.name)
                continue
            run.outcomes.append(outcome)
            if told is not None:
                told(outcome)
    return run


def _msk(moment) -> str:
    """Moscow time, with its offset: a report read on another machine means the same moment."""
    return moment.isoformat(timespec="seconds") + "+03:00"


def _take(path: Path, stat: os.stat_result, inbox: Path, db_path, principal: Principal, profile: str,
          progress) -> Outcome | None:
    started = store.moscow_now()
    record: dict = {"file": path.name, "size": stat.st_size, "profile": profile, "started_at": _msk(started)}
    report = message = None
    try:
        imported = guarded.import_files(principal, [path], db_path, profile, None, progress or (lambda f, m: None),
                                        [path.name])
    except importer.ImportError_ as error:
        if _database_busy(error):
            raise DatabaseBusy(f"{path.name} left in the inbox: {error}") from None
        message = f"import refused, the database is unchanged: {error}"
    except access.AccessDenied:
        raise
    except Exception as error:  # a failure nobody foresaw: the file is kept aside, the next ones go on
        LOG.exception("inbox: the import of %s failed", path)
        message = f"import failed, the database is unchanged: {type(error).__name__}: {error}"
    else:
        report = imported.to_dict()
    if not _unchanged(path, stat):
        # Written to while it was read: what was imported (or refused) is not the file there now. An
        # import of the part read stands (the complete file, next run, updates it); the file stays.
        LOG.warning("inbox: %s changed while it was imported; left for the next run", path)
        return None
    if report is None:
        status = "refused"
    else:
        status = "imported" if report.get("loaded") else "nothing_loaded"
        if status == "nothing_loaded":
            message = f"nothing loaded: all {report.get('rows_read')} rows refused (see rejects_sample and the Data page)"
    record.update({"finished_at": _msk(store.moscow_now()), "status": status, "message": message,
                   "report": report})
    target, report_file = _move(path, inbox, DONE if status == "imported" else REFUSED, record)
    if status == "imported":  # the new file's median index, so that the app does not make it
        median_cache.save_after_import(db_path)
    return Outcome(name=path.name, status=status, moved_to=target, report_file=report_file, message=message,
                   report=report)


def describe(outcome: Outcome, inbox: Path | str) -> str:
    """One line for the log of a timer."""
    where = os.path.relpath(outcome.moved_to, inbox)
    if outcome.status == "imported":
        r = outcome.report or {}
        return (f"imported {outcome.name} -> {where}: read {r.get('rows_read')}, loaded {r.get('loaded')}, "
                f"refused {r.get('rejected')}")
    return f"REFUSED {outcome.name} -> {where}: {outcome.message}"
