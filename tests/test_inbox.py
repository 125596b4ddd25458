"""The import inbox (issue #20): files moved to done/ and refused/ with their reports, in order of
arrival, partial files left alone, one run at a time, no overwriting, and the CLI's exit codes."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from oversight import access, store
from oversight.access import CLI, EVERYTHING, Principal
from oversight.ingest import importer, inbox
from oversight.paths import ROOT

BOSTON = ROOT / "tests" / "fixtures" / "boston311-100.csv"
OLD = time.time() - 3600  # a modification time long past the settling delay


def _rows() -> tuple[list[str], list[list[str]]]:
    with open(BOSTON, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def _deliver(folder: Path, name: str, rows: slice | None = None, mtime: float = OLD, text: str | None = None) -> Path:
    """A small 311 export (rows of the Boston sample) or any text, delivered at `mtime`."""
    path = folder / name
    if text is not None:
        path.write_text(text, encoding="utf-8")
    else:
        header, body = _rows()
        with open(path, "w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(body[rows or slice(None)])
    os.utime(path, (mtime, mtime))
    return path


def _imports(db: Path) -> list[tuple[list[str], int]]:
    """The imports the database recorded, oldest first: (file names, rows loaded)."""
    with duckdb.connect(str(db), read_only=True) as con:
        return [(json.loads(files), loaded) for files, loaded in
                con.execute("select files, loaded from imports order by import_id").fetchall()]


def _tickets(db: Path) -> int:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("select count(*) from tickets").fetchone()[0]


def _report(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


@pytest.fixture
def box(tmp_path) -> Path:
    folder = tmp_path / "inbox"
    folder.mkdir()
    return folder


def test_files_go_to_done_and_refused_with_their_reports(box, tmp_path):
    db = tmp_path / "db.duckdb"
    _deliver(box, "first.csv", slice(0, 60), mtime=OLD)
    _deliver(box, "broken.csv", text="no;columns;we;know\n1;2;3;4\n", mtime=OLD + 1)
    _deliver(box, "second.csv", slice(60, 100), mtime=OLD + 2)
    run = inbox.process(box, db, CLI)
    assert [(o.name, o.status) for o in run.outcomes] == [
        ("first.csv", "imported"), ("broken.csv", "refused"), ("second.csv", "imported")]
    assert sorted(p.name for p in box.iterdir()) == [".inbox.lock", "done", "refused"]
    assert sorted(p.name for p in (box / "done").iterdir()) == [
        "first.csv", "first.csv.report.json", "second.csv", "second.csv.report.json"]
    assert sorted(p.name for p in (box / "refused").iterdir()) == ["broken.csv", "broken.csv.report.json"]
    # The files are moved, not copied or rewritten.
    assert (box / "refused" / "broken.csv").read_text(encoding="utf-8") == "no;columns;we;know\n1;2;3;4\n"
    # Each import on its own, and the database holds both files' rows; the refused one changed nothing.
    assert _imports(db) == [(["first.csv"], 60), (["second.csv"], 40)]
    assert _tickets(db) == 100
    done = _report(box / "done" / "first.csv.report.json")
    assert done["status"] == "imported" and done["file"] == "first.csv" and done["moved_to"] == "done/first.csv"
    assert done["report"]["rows_read"] == done["report"]["loaded"] == 60  # the report as `import` prints it
    assert done["started_at"].endswith("+03:00") and done["finished_at"] >= done["started_at"]
    refused = _report(box / "refused" / "broken.csv.report.json")
    assert refused["status"] == "refused" and refused["report"] is None
    assert refused["message"].startswith("import refused, the database is unchanged:")
    assert "no import profile recognises" in refused["message"]
    assert [o.name for o in run.refused] == ["broken.csv"]


def test_an_empty_inbox_is_a_quiet_success(box, tmp_path):
    run = inbox.process(box, tmp_path / "db.duckdb", CLI)
    assert run.outcomes == [] and run.waiting == [] and not run.refused
    assert not (box / "done").exists() and not (box / "refused").exists()
    assert not (tmp_path / "db.duckdb").exists()


def test_files_are_taken_in_order_of_arrival_then_name(box, tmp_path):
    db = tmp_path / "db.duckdb"
    _deliver(box, "a-latest.csv", slice(0, 10), mtime=OLD + 30)
    _deliver(box, "z-earliest.csv", slice(10, 20), mtime=OLD)
    _deliver(box, "m-same-time.csv", slice(20, 30), mtime=OLD + 10)
    _deliver(box, "b-same-time.csv", slice(30, 40), mtime=OLD + 10)
    run = inbox.process(box, db, CLI)
    order = ["z-earliest.csv", "b-same-time.csv", "m-same-time.csv", "a-latest.csv"]
    assert [o.name for o in run.outcomes] == order
    assert [files for files, _ in _imports(db)] == [[name] for name in order]


def test_files_still_being_written_are_left_for_a_later_run(box, tmp_path):
    db = tmp_path / "db.duckdb"
    for name in (".hidden.csv", "export.csv.part", "export2.CSV.TMP", "upload.tmp"):
        _deliver(box, name, slice(0, 5))
    _deliver(box, "just-written.csv", slice(0, 5), mtime=time.time())
    (box / "sub").mkdir()
    _deliver(box / "sub", "in-a-subfolder.csv", slice(0, 5))
    _deliver(box, "ready.csv", slice(5, 10))
    run = inbox.process(box, db, CLI, settle_s=60)
    assert [o.name for o in run.outcomes] == ["ready.csv"]
    assert run.waiting == ["just-written.csv"]
    left = sorted(p.name for p in box.iterdir())
    assert left == [".hidden.csv", ".inbox.lock", "done", "export.csv.part", "export2.CSV.TMP", "just-written.csv",
                    "sub", "upload.tmp"]
    assert (box / "sub" / "in-a-subfolder.csv").exists()
    # Once it has settled (here: a delay of 0), the next run takes it; the partial names stay.
    run = inbox.process(box, db, CLI, settle_s=0)
    assert [o.name for o in run.outcomes] == ["just-written.csv"]
    assert (box / "export.csv.part").exists() and (box / ".hidden.csv").exists()


def test_a_file_that_changes_while_it_is_imported_stays(box, tmp_path, monkeypatch):
    db = tmp_path / "db.duckdb"
    path = _deliver(box, "growing.csv", slice(0, 10))
    real = importer.import_files

    def still_written(paths, *args, **kwargs):
        report = real(paths, *args, **kwargs)
        with open(path, "a", encoding="utf-8") as handle:  # the writer goes on
            handle.write("")
        os.utime(path, (OLD + 5, OLD + 5))
        return report

    monkeypatch.setattr(importer, "import_files", still_written)
    run = inbox.process(box, db, CLI)
    assert run.outcomes == [] and run.waiting == ["growing.csv"]
    assert path.exists() and not (box / "done").exists()


def test_a_second_run_at_the_same_time_takes_nothing(box, tmp_path):
    _deliver(box, "export.csv", slice(0, 10))
    with inbox.locked(box):
        with pytest.raises(inbox.InboxBusy, match="another inbox run"):
            inbox.process(box, tmp_path / "db.duckdb", CLI)
        # The command line: a clear message, exit 0 (the other run takes the files), nothing moved.
        done = subprocess.run([sys.executable, "-m", "oversight", "import", "--inbox", str(box), "--db",
                               str(tmp_path / "db.duckdb")], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert "another inbox run" in done.stderr and done.stdout == ""
        assert (box / "export.csv").exists() and not (box / "done").exists()
    # The lock goes with its holder: the next run takes the file.
    assert [o.name for o in inbox.process(box, tmp_path / "db.duckdb", CLI).outcomes] == ["export.csv"]


def test_a_name_already_done_gets_a_suffix(box, tmp_path):
    db = tmp_path / "db.duckdb"
    (box / "done").mkdir()
    (box / "done" / "export.csv").write_text("yesterday's", encoding="utf-8")
    (box / "done" / "export-2.csv.report.json").write_text("{}", encoding="utf-8")  # a report without its file
    _deliver(box, "export.csv", slice(0, 10))
    run = inbox.process(box, db, CLI)
    assert run.outcomes[0].moved_to == box / "done" / "export-3.csv"
    assert (box / "done" / "export.csv").read_text(encoding="utf-8") == "yesterday's"
    assert (box / "done" / "export-2.csv.report.json").read_text(encoding="utf-8") == "{}"
    report = _report(box / "done" / "export-3.csv.report.json")
    assert report["file"] == "export.csv" and report["moved_to"] == "done/export-3.csv"
    # And again the next day.
    _deliver(box, "export.csv", slice(0, 10))
    assert inbox.process(box, db, CLI).outcomes[0].moved_to == box / "done" / "export-4.csv"


def test_free_name():
    assert inbox.free_name(Path("/nonexistent"), "a.xlsx") == "a.xlsx"


def test_a_file_whose_rows_are_all_refused_goes_to_refused_with_its_report(box, tmp_path, monkeypatch):
    db = tmp_path / "db.duckdb"
    _deliver(box, "all-bad.csv", slice(0, 10))

    def nothing_loaded(paths, *args, **kwargs):
        return importer.Report(rows_read=10, loaded=0, rejected=10)

    monkeypatch.setattr(importer, "import_files", nothing_loaded)
    run = inbox.process(box, db, CLI)
    assert [(o.name, o.status) for o in run.outcomes] == [("all-bad.csv", "nothing_loaded")]
    report = _report(box / "refused" / "all-bad.csv.report.json")
    assert report["status"] == "nothing_loaded" and report["report"]["rows_read"] == 10
    assert report["message"].startswith("nothing loaded: all 10 rows refused")


def test_a_busy_database_leaves_the_file_for_the_next_run(box, tmp_path, monkeypatch):
    db = tmp_path / "db.duckdb"
    _deliver(box, "first.csv", slice(0, 10), mtime=OLD)
    _deliver(box, "second.csv", slice(10, 20), mtime=OLD + 1)
    real = importer.import_files

    def busy_on_the_second(paths, *args, **kwargs):
        if Path(paths[0]).name == "second.csv":  # as importer.import_files says it
            try:
                raise store.WriterBusy("db.duckdb: another import or save has been writing for over 15 min")
            except store.WriterBusy as error:
                raise importer.ImportError_(str(error)) from None
        return real(paths, *args, **kwargs)

    monkeypatch.setattr(importer, "import_files", busy_on_the_second)
    with pytest.raises(inbox.DatabaseBusy, match="second.csv left in the inbox"):
        inbox.process(box, db, CLI)
    assert (box / "done" / "first.csv").exists() and (box / "second.csv").exists()
    assert not (box / "refused").exists()


def test_an_unforeseen_failure_refuses_that_file_and_goes_on(box, tmp_path, monkeypatch):
    db = tmp_path / "db.duckdb"
    _deliver(box, "poison.csv", slice(0, 10), mtime=OLD)
    _deliver(box, "good.csv", slice(10, 20), mtime=OLD + 1)
    real = importer.import_files

    def poison(paths, *args, **kwargs):
        if Path(paths[0]).name == "poison.csv":
            raise ValueError("a bug nobody foresaw")
        return real(paths, *args, **kwargs)

    monkeypatch.setattr(importer, "import_files", poison)
    run = inbox.process(box, db, CLI)
    assert [(o.name, o.status) for o in run.outcomes] == [("poison.csv", "refused"), ("good.csv", "imported")]
    assert "ValueError: a bug nobody foresaw" in _report(box / "refused" / "poison.csv.report.json")["message"]


def test_a_principal_who_may_not_import_moves_nothing(box, tmp_path):
    _deliver(box, "export.csv", slice(0, 10))
    presenter = Principal(user="p@example.org", roles=frozenset({"presenter"}), scope=EVERYTHING, mode="as_user")
    with pytest.raises(access.AccessDenied):
        inbox.process(box, tmp_path / "db.duckdb", presenter)
    assert (box / "export.csv").exists() and not (box / "done").exists() and not (box / "refused").exists()


# ---------------------------------------------------------------- the command line


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "oversight", "import", *args], capture_output=True, text=True,
                          timeout=300)


def test_cli_exit_codes(box, tmp_path):
    db = str(tmp_path / "db.duckdb")
    # An empty inbox: exit 0, not a word.
    empty = _cli("--inbox", str(box), "--db", db)
    assert (empty.returncode, empty.stdout, empty.stderr) == (0, "", "")
    # Every file imported: exit 0, a line per file.
    _deliver(box, "good.csv", slice(0, 10))
    good = _cli("--inbox", str(box), "--db", db, "--profile", "boston311")
    assert good.returncode == 0, good.stderr
    assert good.stdout.startswith("imported good.csv -> done/good.csv: read 10, loaded 10, refused 0")
    # A file refused: exit 5 (inbox.EXIT_FILES_REFUSED), the others imported all the same.
    _deliver(box, "bad.csv", text="nothing,to,see\n", mtime=OLD)
    _deliver(box, "good2.csv", slice(10, 20), mtime=OLD + 1)
    mixed = _cli("--inbox", str(box), "--db", db)
    assert mixed.returncode == inbox.EXIT_FILES_REFUSED == 5, mixed.stderr
    assert "REFUSED bad.csv -> refused/bad.csv" in mixed.stdout and "imported good2.csv" in mixed.stdout
    assert _tickets(Path(db)) == 20
    # A file settling: left, exit 0.
    _deliver(box, "fresh.csv", slice(20, 30), mtime=time.time())
    settling = _cli("--inbox", str(box), "--db", db, "--settle", "600")
    assert settling.returncode == 0 and settling.stdout == "" and (box / "fresh.csv").exists()


@pytest.mark.parametrize("args, says", [
    ((), "exactly one of them"),
    (("some.csv", "--inbox", "DIR"), "exactly one of them"),
    (("--inbox", "DIR", "--as-of", "2024-01-01T00:00"), "--as-of cannot go with --inbox"),
])
def test_cli_usage_errors(box, tmp_path, args, says):
    done = _cli(*[str(box) if a == "DIR" else a for a in args], "--db", str(tmp_path / "db.duckdb"))
    assert done.returncode == 2 and says in done.stderr


def test_cli_missing_inbox_and_refused_user(box, tmp_path):
    missing = _cli("--inbox", str(tmp_path / "nowhere"), "--db", str(tmp_path / "db.duckdb"))
    assert missing.returncode == 1 and "inbox not found" in missing.stderr
    _deliver(box, "export.csv", slice(0, 10))
    refused = subprocess.run([sys.executable, "-m", "oversight", "--as-user", "nobody@example.org", "import", "--inbox",
                              str(box), "--db", str(tmp_path / "db.duckdb")], capture_output=True, text=True, timeout=120)
    assert refused.returncode == 3
    assert (box / "export.csv").exists()
