"""Import of real exports (issue #10): ЕДС МО exports, Open311 GeoReport v2, Boston and NYC 311 data.

    report = import_files([path, ...], db_path, profile="auto", as_of=None, progress=callback)

Nothing is lost and nothing is half-done:
- every row read is either loaded or kept aside in `import_rejects` with its file, line, raw values
  and reason (rows read = rows loaded + rows rejected, per file and in total);
- the database is changed as a whole or not at all: the import works on a copy of the file (or a new
  file when the database holds demo data) and puts it in place only when everything, the derived
  tables included, has been written; a failure leaves the old file untouched;
- importing the same file twice changes nothing; a newer export of the same requests updates them
  (status, closing time, …); an older one does not overwrite newer data.

How: DuckDB reads the CSV (fast, in parallel, malformed lines kept in its rejects table with their
line), every field as text, straight into the checks: the file is never copied whole (at ten million
rows a copy of the raw text alone costs more than everything else). Checks run in SQL
(queries/import_check.sql); names of municipalities,
organisations, categories and buildings are matched in Python over their distinct values only, so a
file of ten million rows costs a few thousand Python comparisons. No SQL is built from the file:
columns are picked by position, values are bound parameters, and the only identifiers are our own
field names (oversight.ingest.profiles.FIELDS).

This module runs the steps, each in a module of its own: `read` (header, staging, lines set aside),
`check` (every row, with reasons), `reconcile` (names against the reference, requests against those
already loaded), `write` (the requests, the refused rows with their lines, the counts); `model` holds
what they share. Here: `describe`/`preview` for the Data page, `import_files`, and the work on a copy
of the database that is published only when everything has been written.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import itertools
import logging
import os
import shutil
import time
from pathlib import Path

import duckdb
import pandas as pd

from oversight import reference, standby, store
from oversight.ingest import csvlines
from oversight.ingest.check import (
    check_files,
    check_params,
    choose_as_of,
    first_read,
    formats_in_use,
    status_and_municipality_maps,
)
from oversight.ingest.model import MEMORY_LIMIT, FileInfo, ImportError_, Report
from oversight.ingest.profiles import Profile
from oversight.ingest.read import (
    LINE_END,
    MAX_QUOTE_REPAIRS,
    SET_ASIDE,
    SURPLUS,
    describe,
    excel_frame,
    file_counts,
    plain_read_error,
    set_aside_lines,
    stage_all,
    stage_file,
    surplus_lines,
    swallowing_lines,
)
from oversight.ingest.reconcile import create_references
from oversight.ingest.write import data_records, record_import, start_line_scans, write_requests

LOG = logging.getLogger(__name__)

PREVIEW_BYTES = 4 << 20  # the preview reads no more of a file than this


# ---------------------------------------------------------------- preview


def first_records(info: FileInfo, rows: int, workdir: Path) -> Path:
    """The header and the first records of a file as a small UTF-8 CSV (an Excel file: its first rows)."""
    out = workdir / "preview.csv"
    if info.kind == "xlsx":
        excel_frame(info.path, rows).to_csv(out, index=False)
        return out
    # At most the first 4 MB, decoded as the import decodes (a byte without a character: U+FFFD,
    # refused as bad_encoding), line ends as the import reads them: a stray quote or a broken byte
    # shows as the row the import would refuse, not as a reader's error or the whole file read.
    with open(info.path, "rb") as handle:
        head = handle.read(PREVIEW_BYTES)
    text = codecs.getincrementaldecoder(info.encoding)(errors="replace").decode(head, final=len(head) < PREVIEW_BYTES)
    text = LINE_END.sub("\n", text.lstrip("\ufeff"))
    if len(head) == PREVIEW_BYTES:
        text = text[: text.rfind("\n") + 1]  # whole lines only
    records = list(itertools.islice(csv.reader(io.StringIO(text, newline=""), delimiter=info.delimiter), rows + 1))
    with open(out, "w", encoding="utf-8", newline="") as target:
        csv.writer(target, delimiter=info.delimiter).writerows(records)
    info.undecodable = sum(v.count("\ufffd") for record in records for v in record)
    return out


def preview(path: Path | str, db_path: Path | str, profile: str = "auto", as_of: dt.datetime | None = None,
            name: str | None = None, rows: int = 10) -> tuple[FileInfo, pd.DataFrame]:
    """How the first rows of a file will be read: our fields, the dates as parsed, and the reason a
    row would be refused (checked against the database's reference data; nothing is written)."""
    info = describe(path, profile, name)
    workdir = Path(db_path).parent / f".preview-{os.getpid()}-{time.time_ns()}"
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        sample = first_records(info, rows, workdir)
        small = FileInfo(str(sample), info.name, "csv", "utf-8", info.delimiter if info.kind == "csv" else ",",
                         info.header, info.profile, info.positions, info.missing_required, info.ignored)
        small.undecodable = info.undecodable
        con = duckdb.connect()
        try:
            store.create_schema(con)
            store.upgrade_contract(con)
            _copy_reference(con, Path(db_path), info.profile)
            _setup(con)
            stage_file(con, small, 0, workdir)
            stage_all(con, 1)
            formats = list(info.profile.date_formats)
            statuses, municipalities, exported, latest = first_read(con, formats, as_of is None)
            moment, _ = choose_as_of(as_of, exported, latest)
            maps = status_and_municipality_maps(con, info.profile, statuses, municipalities)
            check_files(con, [small], check_params(info.profile, formats, moment) | maps)
            # The municipality as the checks read it (checked keeps the name only of one not in the database).
            shown = con.execute(
                "select c.rowid + 2 as line, c.number, c.created_at, c.due_at, c.closed_at, c.state, "
                "coalesce(nullif(trim(f.municipality), ''), c.municipality_raw, $default) as municipality_raw, "
                "c.municipality_id, nullif(trim(c.organization_raw), '') as organization_raw, "
                "nullif(trim(c.category_raw), '') as category_raw, "
                "c.reason from checked as c left join (select row_number() over () - 1 as record, municipality from file_0) "
                "as f on f.record = c.rowid order by c.rowid", {"default": info.profile.default_municipality}).df()
            # The file's own lines where a record is not one line (a text with line breaks, a blank line).
            if info.kind == "csv":  # an Excel sheet's rows are its row numbers
                malformed = con.execute("select line from structural order by 1").fetchnumpy()["line"]
                records = csvlines.records(sample)
                data = data_records(records, malformed, len(shown))
                if data is not None:
                    shown["line"] = records.start[data].astype("int64")
        finally:
            con.close()
        return info, shown
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _copy_reference(con, db_path: Path, profile: Profile) -> None:
    """The municipalities a preview matches names against: the database's, or for a new (or demo)
    database that an ЕДС import would start, the Moscow Oblast reference."""
    frame = None
    if db_path.exists():
        with duckdb.connect(str(db_path), read_only=True) as source:
            is_demo = bool(source.execute("select bool_or(is_demo) from dataset").fetchone()[0])
            if not is_demo:
                frame = source.execute("select municipality_id, name_ru, name_en, territory_id from municipalities").df()
    if frame is None:
        if profile.create_municipalities:
            return
        frame = reference.municipalities()[["municipality_id", "name_ru", "name_en", "territory_id"]]
    con.register("reference_in", frame)
    con.execute("insert into territories select distinct territory_id, '', '', '' from reference_in")
    con.execute("insert into municipalities (municipality_id, name_ru, name_en, territory_id) "
                "select municipality_id, name_ru, name_en, territory_id from reference_in")
    con.unregister("reference_in")


def _setup(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"set memory_limit = '{MEMORY_LIMIT}'")
    store.install_invariants(con)
    con.execute("create temp table structural (file_idx integer, line bigint, csv_line varchar, error_type varchar, "
                "byte_position bigint)")


# ---------------------------------------------------------------- the import


def _target(db_path: Path, workdir: Path, profile: Profile) -> tuple[duckdb.DuckDBPyConnection, Path, bool, bool | None]:
    """The file to import into, opened: the standby copy of a real database (oversight.standby), or a
    new one (with the Moscow Oblast reference for ЕДС data) in place of demo data or of no database.
    Returns (the connection, its path, whether demo data are replaced, whether the standby was a
    copy of the whole file; None for a new file)."""
    config = {"temp_directory": str(workdir / "spill")}
    work = workdir / "import.duckdb"
    if db_path.exists():
        with duckdb.connect(str(db_path), read_only=True) as con:
            try:
                is_demo = bool(con.execute("select bool_or(is_demo) from dataset").fetchone()[0])
            except duckdb.Error:
                is_demo = True
        if not is_demo:
            con, target, synchronised = standby.prepare(db_path, config)
            return con, target, False, not synchronised
    else:
        is_demo = False
    con = duckdb.connect(str(work), config=config)
    try:
        store.create_schema(con)
        if not profile.create_municipalities:
            store.insert_frame(con, "territories", reference.territories())
            store.insert_frame(con, "municipalities", reference.municipalities())
            store.insert_frame(con, "categories", reference.categories())
    except BaseException:
        con.close()
        raise
    return con, work, is_demo, None


def import_files(paths: list[Path | str], db_path: Path | str, profile: str = "auto", as_of: dt.datetime | None = None,
                 progress=None, names: list[str] | None = None) -> Report:
    """Import files into the database at db_path (see the module's docstring). Raises ImportError_
    (the database unchanged) when no row can be read at all or the result breaks an invariant."""
    started = time.perf_counter()
    say = progress or (lambda fraction, message: None)
    db_path = Path(db_path)
    paths = [Path(p) for p in paths]
    names = names or [p.name for p in paths]
    say(0.02, "headers")
    infos = [describe(p, profile, n) for p, n in zip(paths, names)]
    chosen = infos[0].profile
    if any(i.profile.key != chosen.key for i in infos):
        raise ImportError_("the files need different profiles: import them one profile at a time")
    try:
        with store.writer_lock(db_path, waiting=lambda: say(0.02, "waiting")):
            return _import_locked(infos, db_path, chosen, as_of, say, started)
    except store.WriterBusy as busy:
        raise ImportError_(str(busy)) from None


def _import_locked(infos: list[FileInfo], db_path: Path, chosen: Profile, as_of, say, started: float) -> Report:
    """The import proper, under the database's writer lock: from the copy of the file to the rename."""
    workdir = db_path.parent / f".import-{os.getpid()}-{time.time_ns()}"
    workdir.mkdir(parents=True, exist_ok=True)
    phases: dict[str, float] = {}
    clock = [time.perf_counter()]

    def lap(name: str) -> None:  # how long each step took, for the report (and the benchmark)
        now = time.perf_counter()
        phases[name] = round(now - clock[0], 3)
        clock[0] = now

    try:
        try:
            con, target, replaced_demo, copied = _target(db_path, workdir, chosen)
            into_standby = copied is not None
        except (duckdb.Error, OSError) as error:  # the copy of the database: a full disk, a damaged file
            raise _unforeseen(error, infos) from None
        lap("prepare")
        try:
            report = _run(con, infos, chosen, as_of, say, workdir)
            lap("read_check_write")
            say(0.42, "derived")  # the fractions follow the time each step takes at 10M rows
            report.incremental = store.refresh_derived(con, _has_changed_ids(con))
            lap("derived")
            if into_standby:
                standby.finish(con)
            con.execute("checkpoint")
            lap("checkpoint")
        except store.DataProblem as problem:
            raise ImportError_(str(problem)) from None
        except (duckdb.Error, OSError, ValueError, OverflowError) as error:  # a failure nobody foresaw
            raise _unforeseen(error, infos) from None
        finally:
            con.close()
        lap("close")
        if into_standby:
            store.publish_standby(db_path, target)
        else:
            store.replace_file(db_path, target)
        lap("publish")
        report.replaced_demo = replaced_demo
        report.copied = bool(copied)
        report.phases = phases
        report.seconds = time.perf_counter() - started
        say(1.0, "done")
        return report
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _has_changed_ids(con) -> bool:
    """Whether this import wrote into a database that had requests (write_over made changed_ids)."""
    return bool(con.execute("select count(*) from duckdb_tables() where temporary and table_name = 'changed_ids'").fetchone()[0])


def _unforeseen(error: Exception, infos: list[FileInfo]) -> ImportError_:
    """A failure nobody foresaw, for the user: what it means, an incident number for the server's
    log (which has the whole error), and that the database is unchanged."""
    incident = f"{time.time_ns():x}"[-8:]
    LOG.error("import of %s failed (incident %s)", [i.name for i in infos], incident, exc_info=error)
    space = isinstance(error, OSError) and getattr(error, "errno", None) == 28
    return ImportError_(("there is no space left on the disk" if space else "the import failed")
                        + f": the database is unchanged (incident {incident} in the server's log)")


def _run(con, infos: list[FileInfo], profile: Profile, as_of_option, say, workdir: Path) -> Report:
    store.upgrade_contract(con)
    _setup(con)
    say(0.05, "reading")
    for index, info in enumerate(infos):
        stage_file(con, info, index, workdir)
    stage_all(con, len(infos))
    report = Report()
    try:
        for round_ in range(MAX_QUOTE_REPAIRS + 1):
            formats = formats_in_use(con, profile)
            statuses, municipalities, exported, latest = first_read(con, formats, as_of_option is None)
            undated = None
            try:
                report.as_of, report.as_of_source = choose_as_of(as_of_option, exported, latest)
            except ImportError_ as error:  # no readable date: perhaps a stray quote swallowed every row
                if as_of_option is not None:
                    raise
                undated, report.as_of = error, store.latest_as_of()
            maps = status_and_municipality_maps(con, profile, statuses, municipalities)
            say(0.08, "checking")
            check_files(con, infos, check_params(profile, formats, report.as_of) | maps)
            swallowing = swallowing_lines(con, infos)
            if not swallowing:
                surplus = surplus_lines(con, infos)  # once per file, when the quotes are settled
                if surplus:
                    set_aside_lines(con, infos, surplus, workdir, SURPLUS)
                    continue
                if undated is not None:
                    raise undated
                break
            if round_ == MAX_QUOTE_REPAIRS:
                (index, line, _), *_ = swallowing
                raise ImportError_(f"{infos[index].name}: the quotes do not pair up from record {line} on (a quote "
                                   "opened and never closed swallows the records after it): fix the quotes and import again")
            set_aside_lines(con, infos, swallowing, workdir, SET_ASIDE)
    except (duckdb.InvalidInputException, duckdb.IOException, duckdb.ConversionException, UnicodeError) as error:
        LOG.warning("import of %s could not read a file: %s", [i.name for i in infos], error)
        raise ImportError_(f"{', '.join(i.name for i in infos)}: {plain_read_error(error)}") from None
    counts = file_counts(con)  # the checks are done: what each file gave does not change below
    scans = start_line_scans(infos, counts)
    say(0.27, "reference")
    report.created = create_references(con, profile)
    say(0.31, "writing")
    write_requests(con, report, profile)
    record_import(con, report, infos, profile, scans, counts)
    return report
