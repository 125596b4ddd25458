"""Working files of killed imports are cleaned at the next start (#18 item 10), never a running one's."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from oversight import leftovers


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_leftovers_of_dead_processes_go_and_running_ones_stay(tmp_path):
    dead, alive = _dead_pid(), os.getpid()
    (tmp_path / f".import-{dead}-1").mkdir()
    (tmp_path / f".import-{dead}-1" / "copy.duckdb").write_bytes(b"x" * 1000)
    (tmp_path / f".preview-{dead}-2").mkdir()
    (tmp_path / f"oversight.duckdb.tmp{dead}").write_bytes(b"x")
    (tmp_path / f"oversight.duckdb.tmp{dead}.wal").write_bytes(b"x")
    (tmp_path / f".import-{alive}-3").mkdir()
    (tmp_path / f"oversight.duckdb.tmp{alive}").write_bytes(b"x")
    old_upload, new_upload = tmp_path / ".upload-old", tmp_path / ".upload-new"
    old_upload.mkdir()
    new_upload.mkdir()
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(old_upload, (two_days_ago, two_days_ago))
    (tmp_path / "oversight.duckdb").write_bytes(b"the database")
    removed = {p.name for p in leftovers.clean(tmp_path)}
    assert removed == {f".import-{dead}-1", f".preview-{dead}-2", f"oversight.duckdb.tmp{dead}",
                       f"oversight.duckdb.tmp{dead}.wal", ".upload-old"}
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [f".import-{alive}-3", f"oversight.duckdb.tmp{alive}", ".upload-new", "oversight.duckdb"])
