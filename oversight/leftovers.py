"""Working files a killed import, preview or demo build leaves beside the database, removed at the
next start (issue #18 item 10: a `.import-*` folder can hold a whole copy of the database).

A working file names the process that made it (`.import-PID-…`, `.preview-PID-…`,
`<db>.tmpPID`); it is removed only when that process no longer runs, so a running import of another
process (the command line beside the server) is never touched. Upload folders (`.upload-*`) carry no
process id: they go when nobody has used them for two hours (residents' texts must not stay on disk
from an upload never imported): at the start of the app or of an import, and whenever the Data page
runs (clean_uploads). The Data page writes a session's files again if they went.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

_WITH_PID = re.compile(r"^\.(?:import|preview)-(\d+)-\d+$")
_TMP_DB = re.compile(r"^.+\.duckdb\.tmp(\d+)(?:\.wal)?$")
UPLOAD_MAX_AGE_S = 2 * 3600


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, run by someone else
        return True
    return True


def clean(folder: Path | str) -> list[Path]:
    """Remove the leftovers in `folder` (the database's folder); returns what was removed."""
    folder = Path(folder)
    removed = []
    if not folder.is_dir():
        return removed
    now = time.time()
    for entry in folder.iterdir():
        match = _WITH_PID.match(entry.name) or _TMP_DB.match(entry.name)
        stale = False
        if match:
            stale = not _running(int(match.group(1)))
        elif entry.name.startswith(".upload-") and entry.is_dir():
            stale = now - entry.stat().st_mtime > UPLOAD_MAX_AGE_S
        if not stale:
            continue
        if entry.is_dir():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed


def clean_uploads(folder: Path | str, keep: Path | str | None = None) -> list[Path]:
    """Remove the upload folders in `folder` unused for UPLOAD_MAX_AGE_S, except `keep` (the calling
    session's, whose time is renewed here)."""
    folder = Path(folder)
    removed = []
    if keep is not None and Path(keep).is_dir():
        os.utime(keep)
    if not folder.is_dir():
        return removed
    now = time.time()
    for entry in folder.glob(".upload-*"):
        if keep is not None and entry.resolve() == Path(keep).resolve():
            continue
        try:
            idle = now - entry.stat().st_mtime
        except FileNotFoundError:  # another session removed it meanwhile
            continue
        if entry.is_dir() and idle > UPLOAD_MAX_AGE_S:
            shutil.rmtree(entry, ignore_errors=True)
            removed.append(entry)
    return removed
