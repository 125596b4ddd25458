"""The writes a user can start from the app, each behind its role and each on record.

Every function here takes the principal first, checks the role in the library (access.require:
refused and audited when missing, whatever the page showed), does the work, and appends an audit
row. Pages call these, never the importer or the events register directly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd

from oversight import access, store
from oversight.access import AccessDenied, Principal
from oversight.ingest import events as ev
from oversight.ingest import importer

# What a recorded action may be (the Compliance page's form): a measure taken about an organisation.
RECORDABLE = {"inspection", "order", "fine"}


def _file_facts(path: Path, name: str) -> dict:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return {"name": name, "size": path.stat().st_size, "sha256": digest.hexdigest()}


def preview(principal: Principal, path, db_path, profile: str, as_of, name: str):
    """How the first rows of an upload will be read (importer.preview), for a data officer."""
    access.require(principal, "import", target=f"preview {name}")
    return importer.preview(path, db_path, profile, as_of, name)


def import_files(principal: Principal, paths: list[Path], db_path, profile: str, as_of, progress,
                 names: list[str]) -> importer.Report:
    """Import files into the database (importer.import_files) for a data officer; the audit row has
    each file's name, size and sha256, and the counts (or the reason it failed)."""
    access.require(principal, "import", target=", ".join(names))
    # The checksums are read beside the import (hashlib releases the GIL), not before it: a 4 GB
    # export would otherwise wait seconds more.
    with ThreadPoolExecutor(max_workers=1) as pool:
        hashing = pool.submit(lambda: [_file_facts(Path(p), n) for p, n in zip(paths, names)])
        try:
            report = importer.import_files(paths, db_path, profile, as_of, progress, names)
        except Exception as error:
            access.audit(principal.user, "import", outcome="failed", target=", ".join(names),
                         detail={"files": hashing.result(), "profile": profile, "error": str(error)[:2000]})
            raise
        files = hashing.result()
    counts = {k: getattr(report, k) for k in ("rows_read", "loaded", "rejected", "inserted", "updated", "unchanged")}
    access.audit(principal.user, "import", target=", ".join(names),
                 detail={"files": files, "profile": profile, "counts": counts, "as_of": report.as_of})
    return report


def full_register(db_path) -> pd.DataFrame:
    """The whole events register (every direction's): a write keeps the rows its author cannot see."""
    return store.run(store.connect(db_path, access.EVERYTHING), "events_all")


def _records(frame: pd.DataFrame) -> list[dict]:
    out = frame.copy()
    if "event_date" in out:
        out["event_date"] = pd.to_datetime(out["event_date"]).dt.date.astype(str)
    return [{k: (None if pd.isna(v) else v) for k, v in row.items()} for row in out.to_dict("records")]


def replace_events(principal: Principal, db_path, accepted: pd.DataFrame) -> pd.DataFrame:
    """Replace the events register with checked rows (the register's editor): a data officer's."""
    access.require(principal, "edit_events", target="events register")
    with store.writer_lock(db_path):
        before = full_register(db_path)
        after = ev.numbered(accepted)
        ev.save(db_path, after)
    _audit_events(principal, before, after)
    return after


def add_events(principal: Principal, db_path, accepted: pd.DataFrame, action: str = "edit_events") -> pd.DataFrame:
    """Add checked rows to the register. `action` is edit_events (a file of events, a data officer)
    or record_action (an inspection, order or fine recorded for an organisation in the principal's
    scope, a territorial head)."""
    access.require(principal, action, target="events register")
    if action == "record_action" and not set(accepted["kind"]) <= RECORDABLE:
        raise AccessDenied(f"нет доступа: записать можно только {', '.join(sorted(RECORDABLE))}")
    if action == "record_action" and not principal.scope.is_everything:
        scoped = store.connect(db_path, principal.scope)
        allowed = set(store.run(scoped, "filter_organizations")["organization_id"])
        places = set(store.run(scoped, "municipality_current")["municipality_id"])
        outside = [int(o) for o in accepted["organization_id"].dropna() if int(o) not in allowed]
        outside += [f"municipality {int(m)}" for m in accepted["municipality_id"].dropna() if int(m) not in places]
        if outside or accepted["organization_id"].isna().any():
            access.audit(principal.user, "refused", target=f"record_action org={outside}",
                         detail={"scope": principal.scope.key})
            raise AccessDenied("нет доступа: организация вне вашего направления")
    with store.writer_lock(db_path):  # read, add and write as one: a second save waits, none is lost
        before = full_register(db_path)
        after = ev.with_new(before, accepted)
        ev.save(db_path, after)
    _audit_events(principal, before, after)
    return after


def _audit_events(principal: Principal, before: pd.DataFrame, after: pd.DataFrame) -> None:
    """The rows that changed, as they were and as they are."""
    cols = list(ev.COLUMNS)
    old = {r["event_id"]: r for r in _records(before[cols])}
    new = {r["event_id"]: r for r in _records(after[cols])}
    changed_before = [old[i] for i in old if i not in new or new[i] != old[i]]
    changed_after = [new[i] for i in new if i not in old or new[i] != old[i]]
    access.audit(principal.user, "events_change", target=f"{len(changed_before)} → {len(changed_after)}",
                 detail={"before": changed_before, "after": changed_after})


def download(principal: Principal, what: str, build: Callable[[], bytes], *, texts: bool) -> Callable[[], bytes]:
    """A download builder for a page: a table that carries residents' texts is put on record when it
    is built (that is, when the user clicks)."""

    def built() -> bytes:
        data = build()
        if texts:
            access.audit(principal.user, "download_texts", target=what, detail={"bytes": len(data)})
        return data

    return built
