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
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import itertools
import json
import logging
import mmap
import os
import re
import shutil
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from oversight import privacy, reference, standby, store
from oversight.ingest import csvlines, profiles
from oversight.ingest.profiles import FIELDS, Profile, normalise

LOG = logging.getLogger(__name__)
MEMORY_LIMIT = "3GB"  # the import stays under 4 GB (DuckDB spills to disk beyond this)
SNIFF_BYTES = 1 << 16
PREVIEW_BYTES = 4 << 20  # the preview reads no more of a file than this
csv.field_size_limit(2**31 - 1)  # a resident's long text is a value, not an error (the default stops at 131,072)
REJECTS_SAMPLE = 1000  # refused rows kept in the report for the page (all of them are in import_rejects)
REASONS = ("missing:number", "missing:created", "missing:municipality", "missing:category", "bad_date:created",
           "bad_date:deadline", "bad_date:closed", "deadline_before_created", "closed_before_created",
           "future:created", "future:closed", "unknown_status", "closed_without_date", "unknown_municipality",
           "bad_rating", "bad_returns", "duplicate_conflict", "duplicate_exact", "malformed_line",
           "missing_column", "implausible:created", "implausible:deadline", "implausible:closed",
           "implausible:export_time", "bad_encoding")


class ImportError_(RuntimeError):
    """A file or database problem that stops the whole import (the database is left as it was)."""


@dataclass
class FileInfo:
    path: str
    name: str
    kind: str  # csv or xlsx
    encoding: str | None
    delimiter: str | None
    header: list[str]
    profile: Profile
    positions: dict[str, int]
    missing_required: list[str]
    ignored: list[str]
    read_path: str | None = None  # the CSV DuckDB reads (a UTF-8 copy, an Excel sheet written out)
    undecodable: int = 0  # bytes the file's encoding has no character for (their rows are refused)
    set_aside: list = field(default_factory=list)  # (line, text, error) of lines blanked (see _set_aside_lines)
    surplus_checked: bool = False  # the rows with a column too many looked for (see _surplus_lines)
    line_ends: csvlines.LineBreaks | None = None  # of read_path, counted by _swallowing_lines

    @property
    def missing_optional(self) -> list[str]:
        return [f for f in self.profile.headers if f not in self.positions and f not in self.profile.required]


@dataclass
class Report:
    files: list[dict] = field(default_factory=list)
    rows_read: int = 0
    loaded: int = 0
    rejected: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    kept_newer: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    as_of: dt.datetime | None = None
    as_of_source: str = ""
    created: dict[str, list[str]] = field(default_factory=dict)
    replaced_demo: bool = False
    import_id: int | None = None
    seconds: float = 0.0
    incremental: bool = False  # the derived tables were brought up to date, not built again (oversight.derived)
    copied: bool = False  # the whole database file was copied (no standby in step with it: oversight.standby)
    phases: dict[str, float] = field(default_factory=dict)  # seconds per step of the import proper
    rejects: pd.DataFrame | None = None  # a sample for the page (all of them are in import_rejects)

    def to_dict(self) -> dict:
        out = {k: v for k, v in self.__dict__.items() if k != "rejects"}
        out["as_of"] = self.as_of.isoformat() if self.as_of else None
        out["rejects_sample"] = [] if self.rejects is None else [
            {k: (None if pd.isna(v) else v) for k, v in row.items()} for row in self.rejects.head(50).to_dict("records")]
        return out


# ---------------------------------------------------------------- reading a file's header


def _encoding(path: Path) -> str:
    """The file's text encoding, from its first 64 KB: UTF-16 (a byte-order mark, or every other byte
    zero), UTF-8 (with or without BOM) when the start decodes as such or nearly (a stray invalid byte
    among valid Cyrillic: that row is refused, not the file read as Windows-1251 and garbled), else
    Windows-1251."""
    with open(path, "rb") as handle:
        head = handle.read(SNIFF_BYTES)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if len(head) >= 4 and head.count(0) * 8 >= len(head):  # UTF-16 without a byte-order mark
        return "utf-16-le" if head[1::2].count(0) > head[0::2].count(0) else "utf-16-be"
    text = codecs.getincrementaldecoder("utf-8")(errors="replace").decode(head, final=False)
    invalid = text.count("\ufffd")
    valid = sum(1 for ch in text if ord(ch) > 127) - invalid
    return "utf-8" if invalid == 0 or valid >= 8 * invalid else "cp1251"


HEADER_LIMIT = 1 << 20  # characters: a longer first line is not an export's header


def _first_line(path: Path, encoding: str) -> str:
    with open(path, encoding=encoding, errors="replace", newline="") as handle:
        line = handle.readline(HEADER_LIMIT + 1)
    if len(line) > HEADER_LIMIT:
        raise ImportError_(f"{path.name}: the first line is longer than {HEADER_LIMIT:,} characters: not a header line")
    return line.lstrip("\ufeff")


def _shown(text: str, limit: int = 60) -> str:
    """A value from a file as a message may quote it: no control characters (a terminal's escape
    sequences, NUL), at most `limit` characters."""
    clean = "".join(ch if ch.isprintable() else "�" for ch in str(text))
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"


def _odd_line_ends(path: Path) -> bool:
    """Whether the file ends its lines in a way DuckDB's reader refuses (\\r\\r\\n, a CR doubled by a
    copy between systems; or CR and LF mixed): seen in its first 64 KB."""
    with open(path, "rb") as handle:
        head = handle.read(SNIFF_BYTES)
    lone_cr = head.replace(b"\r\n", b"").count(b"\r")
    return b"\r\r" in head or (lone_cr > 0 and b"\n" in head.replace(b"\r\n", b""))


def describe(path: Path | str, profile: str = "auto", name: str | None = None) -> FileInfo:
    """Open a file far enough to know its format, header and profile (for the preview and the import)."""
    path = Path(path)
    name = name or path.name
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        try:
            header = [str(c) if c is not None else "" for c in _excel_frame(str(path), 0).columns]
        except Exception as error:  # noqa: BLE001 - any unreadable workbook is the user's problem to fix
            LOG.warning("%s: not a readable workbook: %s", name, error)
            raise ImportError_(f"{name}: not a readable Excel file (.xlsx): save it again from Excel, or as CSV") from None
        kind, encoding, delimiter = "xlsx", None, None
    else:
        encoding = _encoding(path)
        line = _first_line(path, encoding)
        if not line.strip():
            raise ImportError_(f"{name}: the file is empty or has no header line")
        delimiter = max((";", ",", "\t", "|"), key=line.count)
        header = next(csv.reader([line.rstrip("\r\n")], delimiter=delimiter))
        kind = "csv"
    try:
        chosen = profiles.detect(header) if profile == "auto" else profiles.load(profile)
    except ValueError as error:
        raise ImportError_(f"{name}: {error} (its columns: {', '.join(_shown(h) for h in header[:12])})") from None
    positions, missing, ignored = chosen.match(header)
    return FileInfo(str(path), name, kind, encoding, delimiter, header, chosen, positions, missing, ignored)


# ---------------------------------------------------------------- preview


def _first_records(info: FileInfo, rows: int, workdir: Path) -> Path:
    """The header and the first records of a file as a small UTF-8 CSV (an Excel file: its first rows)."""
    out = workdir / "preview.csv"
    if info.kind == "xlsx":
        _excel_frame(info.path, rows).to_csv(out, index=False)
        return out
    # At most the first 4 MB, decoded as the import decodes (a byte without a character: U+FFFD,
    # refused as bad_encoding), line ends as the import reads them: a stray quote or a broken byte
    # shows as the row the import would refuse, not as a reader's error or the whole file read.
    with open(info.path, "rb") as handle:
        head = handle.read(PREVIEW_BYTES)
    text = codecs.getincrementaldecoder(info.encoding)(errors="replace").decode(head, final=len(head) < PREVIEW_BYTES)
    text = _LINE_END.sub("\n", text.lstrip("\ufeff"))
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
        sample = _first_records(info, rows, workdir)
        small = FileInfo(str(sample), info.name, "csv", "utf-8", info.delimiter if info.kind == "csv" else ",",
                         info.header, info.profile, info.positions, info.missing_required, info.ignored)
        small.undecodable = info.undecodable
        con = duckdb.connect()
        try:
            store.create_schema(con)
            store.upgrade_contract(con)
            _copy_reference(con, Path(db_path), info.profile)
            _setup(con)
            _stage_file(con, small, 0, workdir)
            _stage_all(con, 1)
            formats = list(info.profile.date_formats)
            statuses, municipalities, exported, latest = _first_read(con, formats, as_of is None)
            moment, _ = _as_of(as_of, exported, latest)
            maps = _status_and_municipality_maps(con, info.profile, statuses, municipalities)
            _check_files(con, [small], _check_params(info.profile, formats, moment) | maps)
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
                data = _data_records(records, malformed, len(shown))
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


# ---------------------------------------------------------------- staging


def _utf8_copy(path: Path, encoding: str, workdir: Path) -> tuple[Path, int]:
    """A UTF-8 copy with \\n line ends of a file DuckDB cannot read as it is (Windows-1251, UTF-16,
    \\r\\r\\n line ends), written in 16 MB pieces. A byte the encoding has no character for becomes
    U+FFFD, and the rows with one are refused (bad_encoding), not garbled into the data. Returns the
    copy and how many such bytes there were."""
    out = workdir / (path.stem + ".utf8.csv")
    replaced, carry = 0, ""
    with open(path, encoding=encoding, errors="replace", newline="") as source, \
            open(out, "w", encoding="utf-8", newline="") as target:
        while piece := source.read(16 << 20):
            piece = carry + piece
            carry = "\r" * (len(piece) - len(piece.rstrip("\r")))  # a \r\n may be split between pieces
            piece = piece[:len(piece) - len(carry)]
            replaced += piece.count("\ufffd")
            target.write(_LINE_END.sub("\n", piece))
        if carry:
            target.write("\n")
    return out, replaced


_LINE_END = re.compile(r"\r+\n?")  # \r\n, \r\r\n, a lone \r: one line end each


def _csv_of(info: FileInfo, index: int, workdir: Path) -> tuple[Path, str, int]:
    """The file as UTF-8 CSV DuckDB can read, its delimiter and how many undecodable bytes it had:
    the file itself, a UTF-8 copy (see _utf8_copy), or an Excel sheet written out."""
    if info.kind == "xlsx":
        out = workdir / f"sheet_{int(index)}.csv"
        _excel_frame(info.path).to_csv(out, index=False, sep=",", encoding="utf-8")
        return out, ",", 0
    path = Path(info.path)
    if info.encoding != "utf-8" or _odd_line_ends(path):
        path, replaced = _utf8_copy(path, info.encoding, workdir)
        return path, info.delimiter, replaced
    return path, info.delimiter, 0


def _excel_frame(path: str, rows: int | None = None) -> pd.DataFrame:
    """A workbook's first sheet, every cell as text (calamine, a Rust reader: a 700,000-row sheet in
    seconds where openpyxl took more than 15 minutes)."""
    return pd.read_excel(path, dtype=str, keep_default_na=False, nrows=rows, engine="calamine")


def _stage_file(con: duckdb.DuckDBPyConnection, info: FileInfo, index: int, workdir: Path, source: Path | None = None) -> None:
    """Make the view file_<index>: the file as DuckDB reads it (every column as text, in file order;
    malformed lines set aside in DuckDB's reject tables), our fields picked by position, and the whole
    row's values as c1..cN (kept, with the file's headers, only for a refused row). Nothing is read yet: the view
    is read once for the distinct names and once for the checks."""
    if source is None:
        path, delimiter, undecodable = _csv_of(info, index, workdir)
        info.undecodable = max(info.undecodable, undecodable)  # a preview's sample knows its own
    else:  # a repaired copy of the file DuckDB read (see _set_aside_lines)
        path, delimiter = source, (info.delimiter if info.kind == "csv" else ",")
    info.read_path = str(path)
    n = len(info.header)
    fields = ", ".join(
        f"#{info.positions[f] + 1} as {f}" if f in info.positions else f"null::varchar as {f}" for f in FIELDS)
    # Open311 dates without their UTC offset (a fixed expression on our own positions), only when needed.
    fields += "".join(
        f", regexp_replace(nullif(trim(#{info.positions[f] + 1}), ''), '(Z|[+-][0-9][0-9]:?[0-9][0-9])$', '') as {f}_offset_free"
        if info.profile.strip_offsets and f in info.positions else f", null::varchar as {f}_offset_free"
        for f in ("created", "deadline", "closed"))
    # The file's columns go along as c1..cN: the JSON of a row with its headers is made only for a
    # refused row (making it, or even a list of the values, for every row costs more than the checks).
    row = ", ".join(f"c{i + 1}" for i in range(n))
    # Our own names only: an integer, our field names and c1..cN. The path, delimiter and headers are bound.
    _finish(con)
    con.sql(
        f"select {int(index)} as file_idx, {fields}, {row} from read_csv($path, header = true, "  # noqa: S608
        "all_varchar = true, delim = $delim, quote = '\"', escape = '\"', store_rejects = true, strict_mode = true, "
        "null_padding = false, auto_detect = false, columns = $columns)",
        params={"path": str(path), "delim": delimiter, "columns": {f"c{i + 1}": "VARCHAR" for i in range(n)}},
    ).create_view(f"file_{int(index)}", replace=True)


def _stage_all(con, count: int) -> None:
    """The view staged_all: every file's rows (for the distinct names, the date formats and as_of)."""
    # By name: files of one profile may have different columns (c1..cN differ; our fields are the same).
    union = " union all by name ".join(f"select * from file_{i}" for i in range(count))  # noqa: S608 - file_0 … file_<n-1>
    con.execute(f"create or replace temp view staged_all as {union}")


def _clear_rejects(con) -> None:
    """Forget DuckDB's reject tables (filled by every read of a file: only the checked read counts)."""
    present = {r[0] for r in con.execute("select table_name from duckdb_tables() where temporary").fetchall()}
    for table in ("reject_errors", "reject_scans"):
        if table in present:
            con.execute(f"delete from {table}")  # noqa: S608 - DuckDB's fixed names


def _check_files(con, infos: list[FileInfo], params: dict) -> None:
    """Read every file once through queries/import_check.sql into the temp table `checked` (file by
    file, so checked.rowid runs in file order; file_starts holds each file's first rowid), then mark
    duplicates. Malformed lines go to `structural`."""
    _clear_rejects(con)
    con.execute("delete from structural")  # a second round (see _set_aside_lines) reads every file again
    con.execute("create or replace temp table file_starts (file_idx integer, start bigint)")
    for index in range(len(infos)):
        con.execute(f"create or replace temp view staged as select * from file_{int(index)}")  # noqa: S608
        _finish(con)
        file_params = {**params, "headers": _headers(infos[index]), "blocked": bool(infos[index].missing_required),
                       "check_encoding": infos[index].undecodable > 0}
        checking = con.sql(store.query_text("import_check"), params=file_params)
        plan = checking.explain().lower()
        if "join" in plan or "cross_product" in plan:
            # checked.rowid is the record number only while the rows keep their order, which a join
            # gives up past one read buffer (DuckDB turns even a long IN list into one).
            raise RuntimeError("queries/import_check.sql must not join")
        checking.create_view("checking", replace=True)
        start = 0
        if index == 0:
            con.execute("create or replace temp table checked as select * from checking")
        else:
            start = int(con.execute("select count(*) from checked").fetchone()[0])
            con.execute("insert into checked select * from checking")
        con.execute("insert into file_starts values ($i, $s)", {"i": index, "s": start})
        con.execute(
            # One row per malformed line (DuckDB lists one error per column it could not fill).
            "insert into structural select $file_idx, line, any_value(csv_line), string_agg(distinct error_type, ', '), "
            "min(line_byte_position) from reject_errors group by line",
            {"file_idx": index})
        for line, text, error in infos[index].set_aside:  # lines blanked (see _set_aside_lines)
            con.execute("insert into structural values ($i, $line, $text, $error, null)",
                        {"i": index, "line": line, "text": text, "error": error})
        _clear_rejects(con)
    con.execute(store.query_text("import_duplicates")).fetchall()  # two fixed statements, no parameters
    _raw_of_duplicates(con, infos)


def _headers(info: FileInfo) -> list[str]:
    """The file's headers as the keys of a refused row's JSON (an empty one named by its place)."""
    return [h if h else f"column {i + 1}" for i, h in enumerate(info.header)]


def _raw_of_duplicates(con, infos: list[FileInfo]) -> None:
    """The raw rows of the rows refused as duplicates (they passed the checks, so their raw row was not
    kept): one more read of a file that has any, numbering its rows as the checked read did."""
    for index, info in enumerate(infos):
        wanted = con.execute(
            "select c.rowid - s.start as record from checked as c join file_starts as s using (file_idx) "
            "where c.file_idx = $i and c.reason is not null and c.raw is null", {"i": index}).df()
        if wanted.empty:
            continue
        _table(con, "wanted_records", wanted)
        con.execute(
            f"create or replace temp table duplicate_raw as select record, to_json(map($headers, list_value(*columns('^c[0-9]+$'))))"  # noqa: S608
            f"::varchar as raw_row from (select row_number() over () - 1 as record, * from file_{int(index)}) "
            "where record in (select record from wanted_records)", {"headers": _headers(info)})
        _clear_rejects(con)
        con.execute(
            "update checked set raw = d.raw_row from duplicate_raw as d, file_starts as s "
            "where checked.file_idx = $i and s.file_idx = $i and checked.rowid - s.start = d.record", {"i": index})


def _formats_in_use(con, profile: Profile) -> list[str]:
    """The profile's date formats, those that match a sample of the creation dates first (DuckDB
    tries them in order, so the common one first saves a failed parse per date)."""
    sample = [r[0] for r in con.execute("select trim(created) from staged_all where created is not null limit 2000").fetchall()]
    def hits(fmt: str) -> int:
        count = 0
        for value in sample:
            try:
                dt.datetime.strptime(value, fmt)
                count += 1
            except ValueError:
                continue
        return count
    return sorted(profile.date_formats, key=lambda f: -hits(f))


def _setup(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"set memory_limit = '{MEMORY_LIMIT}'")
    store.install_invariants(con)
    con.execute("create temp table structural (file_idx integer, line bigint, csv_line varchar, error_type varchar, "
                "byte_position bigint)")


# ---------------------------------------------------------------- matching names over distinct values


# What DuckDB's trim() removes (the Unicode space separators; not tabs): the checks trim the number,
# text and source with it, and the other names are trimmed the same way here, over their distinct values.
SPACES = "".join(chr(c) for c in (32, 160, 5760, *range(8192, 8203), 8239, 8287, 12288))


def _trimmed(value: str | None) -> str | None:
    """A value as the checks see it: nullif(trim(value), '')."""
    return (value.strip(SPACES) or None) if value is not None else None


def _first_read(con, formats: list[str], with_times: bool) -> tuple[list[str], list[str], dt.datetime | None, dt.datetime | None]:
    """One read of the file(s) before the checks: the distinct statuses and municipalities as written
    (the checks look them up as written, missing ones as ''), and, when as_of is not given, the latest
    export time and the latest creation or closing."""
    # Only plausible moments count (2000 … the server's clock plus a day): a row "created" in 2099 or
    # "exported" in 9999 is refused by the checks and must not move as_of either.
    times = ("max(e) filter (where e between $floor and $limit), "
             "greatest(max(c) filter (where c between $floor and $limit), max(d) filter (where d between $floor and $limit))"
             ) if with_times else "null, null"
    parsed = ("try_strptime(trim(export_time), $f) as e, try_strptime(trim(created), $f) as c, "
              "try_strptime(trim(closed), $f) as d") if with_times else "null as e, null as c, null as d"
    rows = con.execute(f"select status, municipality, {times} from (select status, municipality, {parsed} from staged_all) "  # noqa: S608 - fixed texts
                       "group by all",
                       {"f": formats, "floor": FLOOR, "limit": store.latest_as_of()} if with_times else {}).fetchall()
    statuses = {r[0] or "" for r in rows} | {""}
    municipalities = {r[1] or "" for r in rows} | {""}
    exported = max((r[2] for r in rows if r[2] is not None), default=None)
    latest = max((r[3] for r in rows if r[3] is not None), default=None)
    return sorted(statuses), sorted(municipalities), exported, latest


def _municipality_keys(name: str) -> set[str]:
    """The forms a municipality's name is written in: «городской округ Балашиха», «г.о. Балашиха»,
    «Балашиха», «Одинцовский городской округ», «Одинцовский г.о.», «Одинцовский»."""
    base = normalise(name)
    stripped = base
    for word in ("городской округ", "муниципальный округ", "г.о", "г. о", "го", "м.о", "мо", "г", "город"):
        stripped = stripped.replace(f"{word} ", " ").replace(f" {word}", " ") if word in ("г", "го", "мо") else stripped.replace(word, " ")
    stripped = " ".join(stripped.replace(".", " ").split())
    return {base, stripped}


# ---------------------------------------------------------------- the import


FLOOR = dt.datetime(2000, 1, 1)  # no date before it is a real request's (queries/_invariants.sql)


def _as_of(option: dt.datetime | None, exported: dt.datetime | None, latest: dt.datetime | None) -> tuple[dt.datetime, str]:
    """The moment the data describe: the option, else the file's latest plausible export time, else
    one second after the latest plausible creation or closing in it (a request closed at as_of would
    not have happened yet). Never before 2000 nor after the server's clock plus a day."""
    if option is not None:
        if not FLOOR <= option <= store.latest_as_of():
            raise ImportError_(f"the moment given ({option:%d.%m.%Y %H:%M}) is not plausible: it must lie between "
                               f"01.01.2000 and now ({store.moscow_now():%d.%m.%Y %H:%M} Moscow time)")
        return option, "option"
    if exported is not None:
        return exported, "file"
    if latest is None:
        raise ImportError_("no readable creation date in the file(s): cannot tell what moment the data describe")
    return latest + dt.timedelta(seconds=1), "latest"


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
    """Whether this import wrote into a database that had requests (_write_over made changed_ids)."""
    return bool(con.execute("select count(*) from duckdb_tables() where temporary and table_name = 'changed_ids'").fetchone()[0])


def _unforeseen(error: Exception, infos: list[FileInfo]) -> ImportError_:
    """A failure nobody foresaw, for the user: what it means, an incident number for the server's
    log (which has the whole error), and that the database is unchanged."""
    incident = f"{time.time_ns():x}"[-8:]
    LOG.error("import of %s failed (incident %s)", [i.name for i in infos], incident, exc_info=error)
    space = isinstance(error, OSError) and getattr(error, "errno", None) == 28
    return ImportError_(("there is no space left on the disk" if space else "the import failed")
                        + f": the database is unchanged (incident {incident} in the server's log)")


SET_ASIDE = "UNCLOSED QUOTE"  # the error of a line set aside for a quote that swallowed the records after it
SURPLUS = "TOO MANY COLUMNS"  # the error of a row set aside for a column too many that DuckDB would have read
SET_ASIDE_ERRORS = (SET_ASIDE, SURPLUS)
MAX_QUOTE_REPAIRS = 20  # rounds of setting aside lines whose stray quote swallowed the records after them


def _run(con, infos: list[FileInfo], profile: Profile, as_of_option, say, workdir: Path) -> Report:
    store.upgrade_contract(con)
    _setup(con)
    say(0.05, "reading")
    for index, info in enumerate(infos):
        _stage_file(con, info, index, workdir)
    _stage_all(con, len(infos))
    report = Report()
    try:
        for round_ in range(MAX_QUOTE_REPAIRS + 1):
            formats = _formats_in_use(con, profile)
            statuses, municipalities, exported, latest = _first_read(con, formats, as_of_option is None)
            undated = None
            try:
                report.as_of, report.as_of_source = _as_of(as_of_option, exported, latest)
            except ImportError_ as error:  # no readable date: perhaps a stray quote swallowed every row
                if as_of_option is not None:
                    raise
                undated, report.as_of = error, store.latest_as_of()
            maps = _status_and_municipality_maps(con, profile, statuses, municipalities)
            say(0.08, "checking")
            _check_files(con, infos, _check_params(profile, formats, report.as_of) | maps)
            swallowing = _swallowing_lines(con, infos)
            if not swallowing:
                surplus = _surplus_lines(con, infos)  # once per file, when the quotes are settled
                if surplus:
                    _set_aside_lines(con, infos, surplus, workdir, SURPLUS)
                    continue
                if undated is not None:
                    raise undated
                break
            if round_ == MAX_QUOTE_REPAIRS:
                (index, line, _), *_ = swallowing
                raise ImportError_(f"{infos[index].name}: the quotes do not pair up from record {line} on (a quote "
                                   "opened and never closed swallows the records after it): fix the quotes and import again")
            _set_aside_lines(con, infos, swallowing, workdir, SET_ASIDE)
    except (duckdb.InvalidInputException, duckdb.IOException, duckdb.ConversionException, UnicodeError) as error:
        LOG.warning("import of %s could not read a file: %s", [i.name for i in infos], error)
        raise ImportError_(f"{', '.join(i.name for i in infos)}: {_plain_read_error(error)}") from None
    counts = _file_counts(con)  # the checks are done: what each file gave does not change below
    scans = _start_line_scans(infos, counts)
    say(0.27, "reference")
    report.created = _references(con, profile)
    say(0.31, "writing")
    _write(con, report, profile)
    _record(con, report, infos, profile, scans, counts)
    return report


def _plain_read_error(error: Exception) -> str:
    """What a reader's error means for the user, without the reader's internals or working paths
    (the whole error goes to the server's log)."""
    found = re.search(r"CSV Error on Line: (\d+)", str(error))
    where = f" (record {found.group(1)})" if found else ""
    if isinstance(error, UnicodeError) or "unicode" in str(error).lower() or "encoding" in str(error).lower():
        return f"the file's text encoding cannot be read{where}: save it as UTF-8 or Windows-1251 and import again"
    return f"the file cannot be read as a table of values{where}: check that it is a CSV or Excel export"


def _swallowing_lines(con, infos: list[FileInfo]) -> list[tuple[int, int, int]]:
    """Records that swallowed whole records after them: a quote opened on one line and not closed
    where it should be makes DuckDB read one value running over the following lines, so the rows on
    those lines would be lost while the counts still agree. Two kinds: a malformed record (the
    quote never closes, or closes with the wrong number of columns after it), and a parsed one (a
    second stray quote closes it with the right number). The file's records are counted
    independently of DuckDB: its line breaks first (cheap), and only when there are more lines than
    records, the records by their quotes (oversight.ingest.csvlines). A record swallowed others when two or
    more of the lines inside it are each a full record of the file's width by themselves (a
    resident's text with line breaks is not). Returns (file index, DuckDB's line, a byte position in
    the record's first line) of each."""
    found = []
    rows = con.execute("select file_idx, line, csv_line, byte_position from structural where byte_position is not null "
                       "and strpos(trim(csv_line, chr(13) || chr(10)), chr(10)) > 0 order by file_idx, line").fetchall()
    for index, line, text, position in rows:
        if _holds_records(text, infos[index]):
            found.append((int(index), int(line), int(position)))
    counts = _file_counts(con)
    for index, info in enumerate(infos):
        if info.kind != "csv" or any(f[0] == index for f in found):
            continue
        parsed, _, malformed = counts.get(index, (0, 0, 0))
        info.line_ends = csvlines.line_breaks(info.read_path, info.delimiter)  # _surplus_lines reads it too
        lines = info.line_ends.count + (0 if info.line_ends.ends_with_break else 1)
        if lines <= 1 + parsed + malformed:  # (malformed includes the lines set aside)
            continue  # every record one line: nothing can hide inside a value
        records = csvlines.records(info.read_path)
        ends = np.append(records.offset[1:], Path(info.read_path).stat().st_size)
        spans = np.diff(np.append(records.start, lines + 1))  # the lines each record runs over
        multi = np.flatnonzero(spans > 1)
        with open(info.read_path, "rb") as handle:
            for k in multi[multi > 0][:SWALLOW_CHECKS]:  # not the header
                text = csvlines.text_at(handle, int(records.offset[k]), min(int(ends[k] - records.offset[k]), 1 << 22))
                # The scan can be misled (a quote inside an unquoted value is a character to DuckDB):
                # only a text that is itself one record of the file's width is one DuckDB parsed.
                read = list(csv.reader(io.StringIO(text.strip("\r\n"), newline=""), delimiter=info.delimiter))
                if len(read) == 1 and len(read[0]) == len(info.header) and _holds_records(text, info):
                    found.append((index, int(k) + 1, int(records.offset[k])))
        if not any(f[0] == index for f in found):
            found += _swallowing_parsed(con, info, index)
    return found


def _swallowing_parsed(con, info: FileInfo, index: int) -> list[tuple[int, int, int]]:
    """Rows DuckDB parsed that swallowed whole rows, found from DuckDB's own values where the quote
    scan is misled (a quote inside an unquoted value, like `УК""`, is a character to DuckDB but
    turns the scan's parity): a value with line breaks whose lines after the first are rows of the
    file's width by themselves. Such a row's first line is the physical line before the first of
    them, which is found in the file by its text (inside a quoted value a quote is written doubled).
    Returns (file index, the record's physical line, its first byte), as _swallowing_lines."""
    n = len(info.header)
    # Our own names only (c1..cN); one more read of the file, only for a file with line breaks in values.
    breaks = " or ".join(f"strpos(c{i + 1}, chr(10)) > 0" for i in range(n))
    _finish(con)
    rows = con.execute(f"select * from (select {', '.join(f'c{i + 1}' for i in range(n))} from file_{int(index)}) "  # noqa: S608
                       f"where {breaks} limit {SWALLOW_CHECKS}").fetchall()
    found: list[tuple[int, int, int]] = []
    if not rows:
        return found
    with open(info.read_path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        for values in rows:
            _locate_swallowing(data, values, info, index, found)
    return found


def _locate_swallowing(data, values: tuple, info: FileInfo, index: int, found: list) -> None:
    """Add the row's first line to `found` when the row swallowed rows (see _swallowing_parsed)."""
    n = len(info.header)
    k = next(i for i, v in enumerate(values) if v is not None and "\n" in v)
    lines = values[k].split("\n")
    rest = info.delimiter.join("" if v is None else v for v in values[k + 1:])
    inner = [x.rstrip("\r") for x in lines[1:-1]] + [lines[-1] + (info.delimiter + rest if k + 1 < n else "")]
    first_line = info.delimiter.join([*("" if v is None else v for v in values[:k]), lines[0].rstrip("\r")])
    # As _holds_records: the first line is a whole row by itself (its quote opened and ran on), and
    # so is a line after it. A resident's text with line breaks is not: its first line is short.
    if _width(first_line, info) < n or not any(_width(x, info) >= n for x in inner) or not lines[1].strip():
        return
    needle = b"\n" + lines[1].rstrip("\r").replace('"', '""').encode("utf-8")
    first = (values[0] or "").split("\n")[0].replace('"', '""').encode("utf-8")
    at = data.find(needle)
    while at >= 0:
        start = max(data.rfind(b"\n", 0, at), -1) + 1
        if data[start:at].lstrip(b'"').startswith(first):
            line = int(np.count_nonzero(np.frombuffer(data, dtype=np.uint8, count=start) == csvlines.NEWLINE)) + 1
            found.append((index, line, start))
            return
        at = data.find(needle, at + 1)


SURPLUS_CHECKS = 1_000_000  # lines ending with the delimiter parsed to look for a column too many (at most)
TRAILING_STYLE = 0.9  # rows with one empty value too many, of all: beyond this share, the file's way of ending rows


def _surplus_lines(con, infos: list[FileInfo]) -> list[tuple[int, int, int]]:
    """Rows with a column too many that DuckDB would load one column over: it reads a row whose
    surplus value is the last and empty as the file's width (the last delimiter taken for a
    trailing one), so after a doubled delimiter the values load in the wrong columns. Such a row
    ends with the delimiter; each line that does and holds enough delimiters is parsed, and one
    that is a whole record of one value more than the header, the last empty, is set aside. When
    nearly every row ends so, that is how the file ends its rows (some exporters write a delimiter
    after the last value) and nothing is. Once per file. Returns (file index, physical line, its
    first byte) as _swallowing_lines."""
    counts = _file_counts(con)
    found: list[tuple[int, int, int]] = []
    for index, info in enumerate(infos):
        if info.kind != "csv" or info.surplus_checked:
            continue
        info.surplus_checked = True
        if info.line_ends is None or info.line_ends.after_delimiter == 0:
            continue  # no line ends with the delimiter (counted with the line breaks): no pass over the file
        width = len(info.header)
        candidates = csvlines.lines_ending_with(info.read_path, info.delimiter, width)
        mine = []
        with open(info.read_path, "rb") as handle:
            for line, start, end in candidates[:SURPLUS_CHECKS]:
                text = csvlines.text_at(handle, start, end - start).rstrip("\r")
                if line == 1 or text.count('"') % 2:  # the header, or a line of a value with line breaks
                    continue
                values = next(csv.reader([text], delimiter=info.delimiter), [])
                if len(values) == width + 1 and values[-1] == "":
                    mine.append((index, line, start))
        parsed = counts.get(index, (0, 0, 0))[0]
        if mine and len(mine) < TRAILING_STYLE * parsed:
            found += mine
    return found


def _width(line: str, info: FileInfo) -> int:
    """The values a line holds when quotes are taken as characters."""
    return len(next(csv.reader([line], delimiter=info.delimiter or ",", quoting=csv.QUOTE_NONE), []))


SWALLOW_CHECKS = 100_000  # records of a file read back to look for swallowed ones (at most)


def _holds_records(text: str, info: FileInfo) -> bool:
    """Whether a record's text is records run together by a stray quote: its first line, and at least
    one line after it, each hold the file's full width of values when quotes are taken as characters
    (the line is a whole row of the file by itself). A resident's text with line breaks is not: its
    record goes on over the lines, so its first line is short of the width or its other lines are."""
    lines = text.strip("\r\n").split("\n")
    width = len(info.header)
    fields = [len(next(csv.reader([x.rstrip("\r")], delimiter=info.delimiter or ",", quoting=csv.QUOTE_NONE), []))
              for x in lines]
    return fields[0] >= width and any(n >= width for n in fields[1:])


def _set_aside_lines(con, infos: list[FileInfo], swallowing: list[tuple[int, int, int]], workdir: Path,
                     error: str) -> None:
    """Blank the line each swallowing record starts on (its stray quote) in a copy of the file and
    read the file again from that copy: the records after it come back. The blanked line keeps its
    place (DuckDB counts a blank line as a record, so the line numbers hold) and is refused as a
    malformed line with its text (FileInfo.set_aside, added to `structural` by _check_files)."""
    by_file: dict[int, list[tuple[int, int]]] = {}
    for index, line, position in swallowing:
        by_file.setdefault(index, []).append((line, position))
    for index, lines in by_file.items():
        info = infos[index]
        source = Path(info.read_path)
        out = workdir / f"repaired_{int(index)}_{len(info.set_aside)}.csv"
        data = source.read_bytes()  # a file with stray quotes: repaired in memory, once per round
        pieces, at = [], 0
        for line, position in sorted(lines, key=lambda x: x[1]):
            # DuckDB's position points into the line (it has been one past its start): the line's start
            # is after the line break before it.
            position = max(data.rfind(b"\n", 0, position), data.rfind(b"\r", 0, position)) + 1
            while position < len(data) and data[position] in (10, 13):  # the lines blanked in earlier rounds
                position += 1
            end = position
            while end < len(data) and data[end] not in (10, 13):
                end += 1
            pieces.append(data[at:position])
            info.set_aside.append((line, data[position:end].decode("utf-8", errors="replace"), error))
            at = end
        pieces.append(data[at:])
        out.write_bytes(b"".join(pieces))
        _stage_file(con, info, index, workdir, source=out)
    _stage_all(con, len(infos))


def _check_params(profile: Profile, formats: list[str], as_of: dt.datetime) -> dict:
    """The bound values of queries/import_check.sql."""
    return {"formats": formats, "as_of": as_of, "latest_export": store.latest_as_of(), "create_municipalities": profile.create_municipalities, "closed_from_updated": profile.closed_from_updated}


# ---------------------------------------------------------------- reference data


def _finish(con) -> None:
    """Finish the last statement's result: DuckDB will not register a frame or make a relation over it."""
    con.execute("select 1").fetchall()


def _table(con, name: str, frame: pd.DataFrame) -> None:
    """A small temp table from a frame (names are ours)."""
    _finish(con)
    con.register("frame_in", frame)
    con.execute(f"create or replace temp table {name} as select * from frame_in")  # noqa: S608 - fixed names
    con.unregister("frame_in")


def _status_and_municipality_maps(con, profile: Profile, statuses: list[str], municipalities: list[str]) -> dict:
    """The distinct statuses and municipalities of the file(s) as written, trimmed and matched in
    Python, as parameters of the checks: the state of each status (None when unknown) and whether it
    is blank; the name each municipality stands for (the profile's default for a blank one), its id
    (None when unknown) and whether it is blank."""
    known = {}
    for row in con.execute("select municipality_id, name_ru, name_en from municipalities").fetchall():
        for name in row[1:]:
            for key in (_municipality_keys(name) if not profile.create_municipalities else {normalise(name)}):
                known.setdefault(key, int(row[0]))
    keys = _municipality_keys if not profile.create_municipalities else (lambda v: {normalise(v)})
    names = [_trimmed(v) or _trimmed(profile.default_municipality) for v in municipalities]
    ids = [None if n is None else next((known[k] for k in keys(n) if k in known), None) for n in names]
    trimmed_statuses = [_trimmed(v) for v in statuses]
    return {"status_values": statuses,
            "status_states": [None if v is None else profile.status_of(v) for v in trimmed_statuses],
            "status_blank": [v is None for v in trimmed_statuses],
            "municipality_values": municipalities, "municipality_ids": ids, "municipality_names": names,
            "municipality_blank": [n is None for n in names]}


def _next_id(con, table: str, column: str) -> int:
    if table not in store.TABLES or column not in store.table_columns(con, table):
        raise ValueError((table, column))
    return int(con.execute(f"select coalesce(max({column}), 0) + 1 from {table}").fetchone()[0])  # noqa: S608


def _kind(name: str) -> str:
    """An organisation's kind guessed from its name (a new organisation from a file)."""
    text = normalise(name)
    if "тсж" in text or "тсн" in text or "жск" in text:
        return "tszh"
    if "администрац" in text or text.startswith("омсу"):
        return "omsu"
    if any(w in text for w in ("водоканал", "теплосет", "энерго", "газ", "ресурс")):
        return "rso"
    if "ук " in f"{text} " or "управляющ" in text or text.startswith("ук"):
        return "uk"
    return "other"


def _references(con, profile: Profile) -> dict[str, list[str]]:
    """Create the territories, municipalities, organisations, categories and buildings that accepted
    rows name and the database lacks; point the rows at them. Returns the names created."""
    created: dict[str, list[str]] = {}
    if profile.create_municipalities:
        created.update(_create_places(con, profile))
    created["organizations"] = _create_organizations(con)
    created["categories"] = _create_categories(con)
    created["buildings"] = _create_buildings(con)
    return {k: v for k, v in created.items() if v}


def _create_places(con, profile: Profile) -> dict[str, list[str]]:
    pairs = con.execute(
        "select municipality_raw, coalesce(territory_raw, $t) as territory, count(*) as n from checked "
        "where reason is null and municipality_id is null group by all", {"t": profile.territory or "—"}).df()
    if pairs.empty:
        return {}
    # A municipality belongs to the territory most of its rows name.
    pairs = pairs.sort_values(["municipality_raw", "n"], ascending=[True, False]).drop_duplicates("municipality_raw")
    territories = {normalise(r[1]): int(r[0]) for r in con.execute("select territory_id, name_en from territories").fetchall()}
    territories.update({normalise(r[1]): int(r[0]) for r in con.execute("select territory_id, name_ru from territories").fetchall()})
    new_territories, next_t = [], _next_id(con, "territories", "territory_id")
    for name in sorted(set(pairs["territory"])):
        if normalise(name) not in territories:
            territories[normalise(name)] = next_t
            new_territories.append({"territory_id": next_t, "code": normalise(name)[:32], "name_ru": name, "name_en": name})
            next_t += 1
    if new_territories:
        _table(con, "new_territories", pd.DataFrame(new_territories))
        con.execute("insert into territories (territory_id, code, name_ru, name_en) select * from new_territories")
    next_m = _next_id(con, "municipalities", "municipality_id")
    rows = [{"municipality_id": next_m + i, "name_ru": r.municipality_raw, "name_en": r.municipality_raw,
             "territory_id": territories[normalise(r.territory)]} for i, r in enumerate(pairs.itertuples())]
    _table(con, "new_municipalities", pd.DataFrame(rows))
    con.execute("insert into municipalities (municipality_id, name_ru, name_en, territory_id) "
                "select municipality_id, name_ru, name_en, territory_id from new_municipalities")
    con.execute("update checked set municipality_id = n.municipality_id from new_municipalities as n "
                "where checked.reason is null and checked.municipality_id is null and checked.municipality_raw = n.name_ru")
    return {"territories": [t["name_ru"] for t in new_territories], "municipalities": [r["name_ru"] for r in rows]}


def _trimmed_column(values: pd.Series) -> pd.Series:
    """A column of values as written, as the checks would read them (trimmed; blank as missing)."""
    return values.map(lambda v: _trimmed(v) if isinstance(v, str) else None).astype("string")


def _create_organizations(con) -> list[str]:
    _table(con, "organization_map", pd.DataFrame({"inn_raw": [], "organization_raw": [], "organization_id": []}).astype(
        {"inn_raw": "string", "organization_raw": "string", "organization_id": "Int64"}))
    # checked keeps INN and organisation as written: trimmed here, over the distinct pairs.
    written = con.execute(
        "select inn_raw, organization_raw, organization_name_raw, municipality_id, count(*) as n from checked "
        "where reason is null and (inn_raw is not null or organization_raw is not null) group by all").df()
    if written.empty:
        return []
    written["inn"], written["code"] = _trimmed_column(written["inn_raw"]), _trimmed_column(written["organization_raw"])
    found = (written[written["inn"].notna() | written["code"].notna()]
             .groupby(["inn", "code", "organization_name_raw", "municipality_id"], dropna=False, as_index=False)["n"].sum())
    if found.empty:
        return []
    existing = con.execute("select organization_id, name, inn, external_id from organizations").df()
    by_inn = {str(i): int(o) for o, i in zip(existing["organization_id"], existing["inn"]) if pd.notna(i)}
    by_code = {normalise(c): int(o) for o, c in zip(existing["organization_id"], existing["external_id"]) if pd.notna(c)}
    by_name = {normalise(n): int(o) for o, n in zip(existing["organization_id"], existing["name"])}
    next_id, new, ids = _next_id(con, "organizations", "organization_id"), {}, {}
    # One row per (INN, organisation as written): its most frequent full name and municipality (ties
    # broken by name, so the same file always gives the same organisation).
    found["organization_name_raw"] = found["organization_name_raw"].astype("string")
    found["name_key"] = found["organization_name_raw"].fillna(found["code"]).fillna("")
    home = (found.sort_values(["n", "name_key"], ascending=[False, True], kind="stable")
            .drop_duplicates(["inn", "code"])
            .sort_values(["name_key", "inn", "code"], kind="stable", na_position="last"))
    has_names = found["organization_name_raw"].notna().any()
    for row in home.itertuples():
        inn = row.inn if isinstance(row.inn, str) else None
        written_as = row.code if isinstance(row.code, str) else None
        name = row.organization_name_raw if isinstance(row.organization_name_raw, str) else (written_as or f"ИНН {inn}")
        code = written_as if has_names else None  # a code beside a full name (311 agencies, queues)
        key = ("inn", inn) if inn else ("code", normalise(code)) if code else ("name", normalise(name))
        ident = (by_inn.get(inn) if inn else None) or (by_code.get(normalise(code)) if code else None) \
            or (by_name.get(normalise(name)) if not inn else None) or new.get(key, {}).get("organization_id")
        if ident is None:
            ident = next_id
            next_id += 1
            new[key] = {"organization_id": ident, "name": name, "inn": inn, "kind": _kind(name),
                        "municipality_id": None if pd.isna(row.municipality_id) else int(row.municipality_id),
                        "external_id": code}
        ids[(inn, written_as)] = ident
    if new:
        _table(con, "new_organizations", pd.DataFrame(list(new.values())).astype(
            {"municipality_id": "Int64", "inn": "string", "external_id": "string"}))
        con.execute("insert into organizations (organization_id, name, inn, kind, municipality_id, external_id) "
                    "select organization_id, name, inn, kind, municipality_id, external_id from new_organizations")
    # Joined to the rows when they are written (import_incoming), not written into every row here:
    # every pair as written, with the organisation of the pair it trims to.
    pairs = written[["inn_raw", "organization_raw", "inn", "code"]].drop_duplicates(["inn_raw", "organization_raw"])
    pairs["organization_id"] = [ids.get((i if isinstance(i, str) else None, c if isinstance(c, str) else None))
                                for i, c in zip(pairs["inn"], pairs["code"])]
    _table(con, "organization_map", pairs[["inn_raw", "organization_raw", "organization_id"]].astype(
        {"inn_raw": "string", "organization_raw": "string", "organization_id": "Int64"}))
    return [v["name"] for v in new.values()]


def _create_categories(con) -> list[str]:
    # checked keeps categories as written (never blank in an accepted row): trimmed here. Sorted by
    # name: new ids follow the names, so the same file always gives the same ids.
    written = [r[0] for r in con.execute("select distinct category_raw from checked where reason is null").fetchall()]
    values = sorted((_trimmed(v), v) for v in written)
    known = {}
    for ident, ru, en in con.execute("select category_id, name_ru, name_en from categories").fetchall():
        known.setdefault(normalise(ru), int(ident))
        known.setdefault(normalise(en), int(ident))
    next_id, rows, new = _next_id(con, "categories", "category_id"), [], []
    for name, value in values:
        ident = known.get(normalise(name))
        if ident is None:
            ident = known[normalise(name)] = next_id
            next_id += 1
            new.append({"category_id": ident, "name_ru": name, "name_en": name, "is_emergency": False})
        rows.append({"raw": value, "id": ident})
    if new:
        _table(con, "new_categories", pd.DataFrame(new))
        con.execute("insert into categories (category_id, name_ru, name_en, is_emergency) select * from new_categories")
    _table(con, "category_map", pd.DataFrame(rows, columns=["raw", "id"]).astype({"raw": "string", "id": "Int64"}))
    return [r["name_ru"] for r in new]


def _create_buildings(con) -> list[str]:
    _table(con, "building_map", pd.DataFrame({"municipality_id": [], "raw": [], "id": []}).astype(
        {"municipality_id": "Int64", "raw": "string", "id": "Int64"}))
    # checked keeps addresses as written: counted here per address as written and organisation, then
    # trimmed (an address of spaces only is none) and summed over the spellings of each address.
    counts = con.execute(
        "select c.municipality_id, c.address_raw, m.organization_id, count(*) as n, sum(c.lat) as lat_sum, "
        "count(c.lat) as lat_n, sum(c.lon) as lon_sum, count(c.lon) as lon_n from checked as c "
        "left join organization_map as m on m.inn_raw is not distinct from c.inn_raw "
        "and m.organization_raw is not distinct from c.organization_raw "
        "where c.reason is null and c.address_raw is not null group by all").df()
    counts["address"] = _trimmed_column(counts["address_raw"])
    counts = counts[counts["address"].notna()]
    if counts.empty:
        return []
    places = counts.groupby(["municipality_id", "address"], as_index=False)[["lat_sum", "lat_n", "lon_sum", "lon_n"]].sum()
    # The building's organisation: the one most of its requests name (the smallest id on a tie).
    usual = (counts.dropna(subset=["organization_id"]).groupby(["municipality_id", "address", "organization_id"], as_index=False)["n"]
             .sum().sort_values(["n", "organization_id"], ascending=[False, True]).drop_duplicates(["municipality_id", "address"]))
    found = places.merge(usual[["municipality_id", "address", "organization_id"]], how="left", on=["municipality_id", "address"])
    found["lat"] = (found["lat_sum"] / found["lat_n"]).where(found["lat_n"] > 0)
    found["lon"] = (found["lon_sum"] / found["lon_n"]).where(found["lon_n"] > 0)
    found = found.sort_values(["municipality_id", "address"], kind="stable")
    spellings = counts[["municipality_id", "address", "address_raw"]].drop_duplicates(["municipality_id", "address_raw"])
    known = {(int(m) if pd.notna(m) else None, normalise(a)): int(b) for b, a, m in
             con.execute("select building_id, address, municipality_id from buildings").fetchall()}
    next_id, ids, new = _next_id(con, "buildings", "building_id"), {}, []
    for row in found.itertuples():
        key = (int(row.municipality_id), normalise(row.address))
        ident = known.get(key)
        if ident is None:
            ident = known[key] = next_id
            next_id += 1
            new.append({"building_id": ident, "address": row.address, "municipality_id": int(row.municipality_id),
                        "organization_id": None if pd.isna(row.organization_id) else int(row.organization_id),
                        "lat": row.lat, "lon": row.lon})
        ids[(row.municipality_id, row.address)] = ident
    if new:
        _table(con, "new_buildings", pd.DataFrame(new).astype({"organization_id": "Int64"}))
        con.execute("insert into buildings (building_id, address, municipality_id, organization_id, lat, lon) "
                    "select building_id, address, municipality_id, organization_id, lat, lon from new_buildings")
    rows = pd.DataFrame({"municipality_id": spellings["municipality_id"], "raw": spellings["address_raw"],
                         "id": [ids[k] for k in zip(spellings["municipality_id"], spellings["address"])]})
    _table(con, "building_map", rows.astype({"municipality_id": "Int64", "raw": "string", "id": "Int64"}))
    return [r["address"] for r in new]


# ---------------------------------------------------------------- writing the requests


def _write(con, report: Report, profile: Profile) -> None:
    """Insert new requests, update changed ones (unless the database already describes a later
    moment), leave identical ones alone; set the dataset row."""
    previous = con.execute("select max(as_of) from dataset").fetchone()[0]
    if previous is not None and not FLOOR <= previous <= store.latest_as_of():
        previous = None  # an implausible moment left by an older version or another tool: this import repairs it
    _finish(con)
    con.sql(store.query_text("import_incoming"), params={"default_source": profile.default_source}).create_view(
        "incoming_view", replace=True)
    if con.execute("select count(*) = 0 from tickets").fetchone()[0]:
        # A new database: every accepted row is a new request, written straight from the checked rows.
        con.execute("create or replace temp view incoming_compared as select * from incoming_view")
        report.inserted = int(con.execute(
            "insert into tickets by name select * exclude (existing, same) from incoming_compared").fetchone()[0])
        report.loaded = report.inserted
    else:
        con.execute("create or replace temp table incoming_compared as select * from incoming_view")
        _write_over(con, report, previous)
    as_of = report.as_of if previous is None else max(report.as_of, previous)
    con.execute("delete from dataset")
    con.execute("delete from demo_story")
    con.execute("insert into dataset (as_of, source, is_demo, loaded_at, calendar) values ($as_of, $source, false, $now, $calendar)",
                {"as_of": as_of, "source": profile.name, "now": store.moscow_now(), "calendar": profile.calendar})


def _write_over(con, report: Report, previous: dt.datetime | None) -> None:
    """Into a database with requests: insert the new ones, update the changed ones (unless the
    database already describes a later moment), count the unchanged ones."""
    newer_export = previous is None or report.as_of >= previous
    counts = con.execute(
        "select count(*) filter (where not existing), count(*) filter (where existing and not same), "
        "count(*) filter (where same) from incoming_compared").fetchone()
    report.inserted, changed, report.unchanged = (int(c or 0) for c in counts)
    # The requests this import writes: oversight.derived recomputes only what they (and the move of as_of) touch.
    written = "not same" if newer_export else "not existing"  # one of two fixed conditions
    con.execute(f"create or replace temp table changed_ids as select ticket_id from incoming_compared where {written}")  # noqa: S608
    if newer_export:
        report.updated = changed
        con.execute("delete from tickets where ticket_id in (select ticket_id from incoming_compared where existing and not same)")
        con.execute("insert into tickets by name select * exclude (existing, same) from incoming_compared where not same")
    else:  # an older export than the data already loaded: new requests only, nothing overwritten
        report.kept_newer = changed
        con.execute("insert into tickets by name select * exclude (existing, same) from incoming_compared where not existing")
    report.loaded = report.inserted + report.updated + report.unchanged + report.kept_newer


def _scan_lines(path: str, parsed: int, malformed: int) -> csvlines.Records | None:
    """Where the records of a file start, or None when every record is one line (DuckDB's count is
    then the file's): the line breaks are counted first, and only a file with more lines than
    records is scanned."""
    breaks = csvlines.line_breaks(path)
    if breaks.count + (0 if breaks.ends_with_break else 1) == 1 + parsed + malformed:
        return None
    return csvlines.records(path)


def _file_counts(con) -> dict[int, tuple[int, int, int]]:
    """Per file (by index): the rows parsed, how many of them were refused, and the malformed lines."""
    parsed = {int(i): (int(p), int(r)) for i, p, r in con.execute(
        "select file_idx, count(*), count(reason) from checked group by all").fetchall()}
    malformed = {int(i): int(n) for i, n in con.execute("select file_idx, count(*) from structural group by all").fetchall()}
    return {i: (*parsed.get(i, (0, 0)), malformed.get(i, 0)) for i in set(parsed) | set(malformed)}


def _start_line_scans(infos: list[FileInfo], counts: dict[int, tuple[int, int, int]]) -> dict[int, Future]:
    """Start, in a thread each, the line scans of the CSV files that have refused or malformed rows
    (see _line_numbers). They read the file with numpy, which lets go of Python's lock, so they run
    while DuckDB matches the reference data and writes the requests (about 4 s at 10M rows)."""
    scans = {}
    for index, info in enumerate(infos):
        parsed, refused, bad = counts.get(index, (0, 0, 0))
        if info.kind == "csv" and (refused or bad):
            scans[index] = _in_thread(_scan_lines, info.read_path, parsed, bad)
    return scans


def _in_thread(function, *args) -> Future:
    """function(*args) in a daemon thread: an import that fails meanwhile does not wait for it (and a
    scan of a file whose working folder is gone just fails, unread)."""
    future: Future = Future()

    def run() -> None:
        try:
            future.set_result(function(*args))
        except BaseException as error:  # noqa: BLE001 - handed to whoever reads the result
            future.set_exception(error)

    threading.Thread(target=run, name="line-scan", daemon=True).start()
    return future


def _line_numbers(con, infos: list[FileInfo], scans: dict[int, Future], counts: dict[int, tuple[int, int, int]]) -> dict[int, str]:
    """The physical lines of the refused rows and malformed lines, where they are not DuckDB's count
    (oversight.ingest.csvlines, started by _start_line_scans): the temp tables exact_lines (file_idx, record,
    line) and malformed_lines (file_idx, duck_line, line) that queries/import_record_rejects.sql
    prefers. Per file: "rows" (an Excel sheet: its row numbers), "lines" (every record one line:
    DuckDB's count is the file's), "exact" (from the scan) or "approximate" (the scan's records did not
    match DuckDB's, as with an unterminated quote: DuckDB's count, which counts a value with line
    breaks as one line)."""
    con.execute("create or replace temp table exact_lines (file_idx integer, record bigint, line bigint)")
    con.execute("create or replace temp table malformed_lines (file_idx integer, duck_line bigint, line bigint)")
    numbering = {}
    for index, info in enumerate(infos):
        if info.kind == "xlsx":
            numbering[index] = "rows"
            continue
        try:
            records = scans[index].result() if index in scans else None
        except Exception:  # noqa: BLE001 - the scan is a refinement: without it, DuckDB's count
            numbering[index] = "approximate"
            continue
        if records is None:  # every record one line, or no line number to report
            numbering[index] = "lines"
            continue
        malformed = con.execute("select line from structural where file_idx = $i order by 1", {"i": index}).fetchnumpy()["line"]
        data = _data_records(records, malformed, counts[index][0])
        if data is None:
            numbering[index] = "approximate"
            continue
        starts, at = records.start[data], np.asarray(malformed, dtype=np.int64) - 1
        refused = con.execute(
            "select c.rowid - s.start as record from checked as c join file_starts as s using (file_idx) "
            "where c.file_idx = $i and c.reason is not null", {"i": index}).fetchnumpy()["record"]
        refused = np.asarray(refused, dtype=np.int64)
        if not _scan_agrees(con, info, index, refused, records.offset[data], records.offset[at]):
            numbering[index] = "approximate"
            continue
        numbering[index] = "exact"
        _table(con, "exact_in", pd.DataFrame({"record": refused, "line": starts[refused]}))
        con.execute("insert into exact_lines select $i, record, line from exact_in", {"i": index})
        _table(con, "malformed_in", pd.DataFrame({"duck_line": np.asarray(malformed, dtype=np.int64),
                                                  "line": records.start[at]}))
        con.execute("insert into malformed_lines select $i, duck_line, line from malformed_in", {"i": index})
    return numbering


def _data_records(records: csvlines.Records, malformed: np.ndarray, parsed: int) -> np.ndarray | None:
    """Which of the scan's records are the rows DuckDB parsed (a mask): not the header, not blank, not
    one of the malformed lines DuckDB set aside (its line n is the n-th record, blank lines included).
    None when they cannot be: a malformed line the scan has no record for, or another count."""
    at = np.asarray(malformed, dtype=np.int64) - 1
    data = ~records.blank
    data[0] = False  # the header
    if len(at) and (at.min() < 1 or at.max() >= len(data) or records.blank[at].any()):
        return None
    data[at] = False
    return data if int(data.sum()) == parsed else None


VERIFIED = 20_000  # refused rows whose record the scan found are read back from the file (spread evenly)


def _scan_agrees(con, info: FileInfo, index: int, refused: np.ndarray, offsets: np.ndarray,
                 malformed_offsets: np.ndarray) -> bool:
    """Whether the records the scan found are the ones DuckDB read: the record at each refused row's
    place holds that row's values, and each malformed line's place starts with its text. (Equal counts
    are not enough: a quote inside an unquoted value, which DuckDB reads as a character, can shift the
    scan's records and a quoted line break further on shift them back.) Up to VERIFIED refused rows,
    spread over the file; every malformed line."""
    picked = np.unique(refused[np.linspace(0, len(refused) - 1, min(len(refused), VERIFIED)).astype(np.int64)]) \
        if len(refused) else refused
    _table(con, "verified_in", pd.DataFrame({"record": picked}))
    raws = con.execute(
        "select v.record, c.raw from verified_in as v join file_starts as s on s.file_idx = $i "
        "join checked as c on c.file_idx = $i and c.rowid = s.start + v.record order by v.record", {"i": index}).fetchall()
    lines = con.execute("select line, case when list_contains($set_aside, error_type) then '' else csv_line end "
                        "from structural where file_idx = $i order by line",
                        {"i": index, "set_aside": list(SET_ASIDE_ERRORS)}).fetchall()
    with open(info.read_path, "rb") as handle:
        for record, raw in raws:
            expected = ["" if v is None else v for _, v in json.loads(raw, object_pairs_hook=list)]
            at = int(offsets[record])
            if csvlines.record_at(handle, at, info.delimiter) != expected \
                    and csvlines.record_at(handle, at, info.delimiter, 1 << 22) != expected:  # a long record
                return False
        for (_, text), offset in zip(lines, malformed_offsets, strict=True):
            head = (text or "").lstrip("\r\n")[:200]  # DuckDB may keep the \n of a \r\n before the line
            if not csvlines.text_at(handle, int(offset), len(head.encode("utf-8")) + 8).startswith(head):
                return False
    return True


# ---------------------------------------------------------------- the record of the import


def _record(con, report: Report, infos: list[FileInfo], profile: Profile, scans: dict[int, Future],
            counts: dict[int, tuple[int, int, int]]) -> None:
    """Write the refused rows to import_rejects (queries/import_record_rejects.sql) and the import to
    imports; fill the report's counts and a sample of the refused rows for the page."""
    import_id = int(con.execute("select coalesce(max(import_id), 0) + 1 from imports").fetchone()[0])
    report.import_id = import_id
    _table(con, "import_files_in", pd.DataFrame({
        "file_idx": pd.Series(range(len(infos)), dtype="int32"), "file": [i.name for i in infos],
        "missing": [", ".join(i.missing_required) or None for i in infos]}).astype({"file": "string", "missing": "string"}))
    numbering = _line_numbers(con, infos, scans, counts)
    store.execute(con, "import_record_rejects", import_id=import_id)
    for index, info in enumerate(infos):
        n_parsed, n_refused, n_bad = counts.get(index, (0, 0, 0))
        report.files.append({
            "file": info.name, "profile": profile.key, "kind": info.kind, "encoding": info.encoding,
            "delimiter": info.delimiter, "line_numbers": numbering[index],
            "rows_read": n_parsed + n_bad, "loaded": n_parsed - n_refused,
            "rejected": n_refused + n_bad,
            "columns": {f: info.header[p] for f, p in info.positions.items()}, "missing_required": info.missing_required,
            "missing_optional": info.missing_optional, "ignored_columns": info.ignored,
        })
    counts = con.execute("select reason_code, count(*) from import_rejects where import_id = $id group by all "
                         "order by 2 desc, 1", {"id": import_id}).fetchall()
    report.reasons = {reason: int(n) for reason, n in counts}
    report.rows_read = sum(f["rows_read"] for f in report.files)
    report.rejected = sum(report.reasons.values())
    rejects = con.execute(
        "select file, line, raw, reason_code as reason, detail from import_rejects where import_id = $id "
        "order by file, line limit $n", {"id": import_id, "n": REJECTS_SAMPLE}).df()
    # The sample leaves the import (the page, --json): personal data masked, as every query's (store.run).
    rejects["raw"] = [privacy.mask_raw_row(v) if isinstance(v, str) else v for v in rejects["raw"]]
    report.rejects = rejects.astype({"file": "string", "raw": "string", "reason": "string", "detail": "string",
                                     "line": "int64"})
    if report.rejected != sum(f["rejected"] for f in report.files):
        raise ImportError_(f"refused rows do not reconcile: {report.rejected} recorded, "
                           f"{sum(f['rejected'] for f in report.files)} counted")
    con.execute(
        "insert into imports values ($id, $started, $profile, $files, $read, $loaded, $rejected, $inserted, $updated, "
        "$unchanged, $kept, $as_of, $source)",
        {"id": import_id, "started": store.moscow_now(), "profile": profile.key, "files": json.dumps([f.name for f in infos], ensure_ascii=False),
         "read": report.rows_read, "loaded": report.loaded, "rejected": report.rejected, "inserted": report.inserted,
         "updated": report.updated, "unchanged": report.unchanged, "kept": report.kept_newer, "as_of": report.as_of,
         "source": report.as_of_source})
    if report.rows_read != report.loaded + report.rejected:
        raise ImportError_(f"counts do not reconcile: read {report.rows_read}, loaded {report.loaded}, "
                           f"rejected {report.rejected}")
