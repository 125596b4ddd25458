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


def test_upload_folders_unused_for_two_hours_go_but_not_the_callers(tmp_path):
    """#18 item 5: uploads never imported do not stay on disk with residents' texts."""
    import os

    from oversight import leftovers

    old, mine, fresh = (tmp_path / f".upload-{n}" for n in ("old", "mine", "fresh"))
    for folder in (old, mine, fresh):
        folder.mkdir()
        (folder / "export.csv").write_text("Номер;Текст\n1;звонить 8-916-123-45-67\n", encoding="utf-8")
    three_hours_ago = time.time() - 3 * 3600
    os.utime(old, (three_hours_ago, three_hours_ago))
    os.utime(mine, (three_hours_ago, three_hours_ago))
    removed = leftovers.clean_uploads(tmp_path, keep=mine)
    assert removed == [old] and not old.exists()
    assert mine.exists() and fresh.exists()
    assert time.time() - mine.stat().st_mtime < 60  # the caller's folder is renewed
