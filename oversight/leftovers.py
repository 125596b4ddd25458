"""Working files a killed import, preview or demo build leaves beside the database, removed at the
next start (issue #18 item 10: a `.import-*` folder can hold a whole copy of the database).

A working file names the process that made it (`.import-PID-…`, `.preview-PID-…`,
`<db>.tmpPID`); it is removed only when that process no longer runs, so a running import of another
process (the command line beside the server) is never touched. Upload folders (`.upload-*`) carry no
process id: they go when they are a day old.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

_WITH_PID = re.compile(r"^\.(?:import|preview)-(\d+)-\d+$")
_TMP_DB = re.compile(r"^.+\.duckdb\.tmp(\d+)(?:\.wal)?$")
UPLOAD_MAX_AGE_S = 24 * 3600


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
