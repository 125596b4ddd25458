"""Step 4 of an import, writing: the requests into `tickets` and the dataset row (`write_requests`), and
the import's record (`record_import`): every refused row in import_rejects with its file, line (found by
a scan of the file when a record spans several lines: oversight.ingest.csvlines) and reason, the import
in imports, and the counts reconciled (rows read = loaded + refused, per file and in total) or the
import stopped."""

from __future__ import annotations

import json
import threading
from concurrent.futures import Future

import numpy as np
import pandas as pd

from oversight import privacy, store
from oversight.ingest import csvlines
from oversight.ingest.check import FLOOR
from oversight.ingest.model import REJECTS_SAMPLE, FileInfo, ImportError_, Report, finish_result, temp_table
from oversight.ingest.profiles import Profile
from oversight.ingest.read import SET_ASIDE_ERRORS
from oversight.ingest.reconcile import write_over


def write_requests(con, report: Report, profile: Profile) -> None:
    """Insert new requests, update changed ones (unless the database already describes a later
    moment), leave identical ones alone; set the dataset row."""
    previous = con.execute("select max(as_of) from dataset").fetchone()[0]
    if previous is not None and not FLOOR <= previous <= store.latest_as_of():
        previous = None  # an implausible moment left by an older version or another tool: this import repairs it
    finish_result(con)
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
        write_over(con, report, previous)
    as_of = report.as_of if previous is None else max(report.as_of, previous)
    con.execute("delete from dataset")
    con.execute("delete from demo_story")
    con.execute("insert into dataset (as_of, source, is_demo, loaded_at, calendar) values ($as_of, $source, false, $now, $calendar)",
                {"as_of": as_of, "source": profile.name, "now": store.moscow_now(), "calendar": profile.calendar})


def _scan_lines(path: str, parsed: int, malformed: int) -> csvlines.Records | None:
    """Where the records of a file start, or None when every record is one line (DuckDB's count is
    then the file's): the line breaks are counted first, and only a file with more lines than
    records is scanned."""
    breaks = csvlines.line_breaks(path)
    if breaks.count + (0 if breaks.ends_with_break else 1) == 1 + parsed + malformed:
        return None
    return csvlines.records(path)




def start_line_scans(infos: list[FileInfo], counts: dict[int, tuple[int, int, int]]) -> dict[int, Future]:
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
    (oversight.ingest.csvlines, started by start_line_scans): the temp tables exact_lines (file_idx, record,
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
        data = data_records(records, malformed, counts[index][0])
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
        temp_table(con, "exact_in", pd.DataFrame({"record": refused, "line": starts[refused]}))
        con.execute("insert into exact_lines select $i, record, line from exact_in", {"i": index})
        temp_table(con, "malformed_in", pd.DataFrame({"duck_line": np.asarray(malformed, dtype=np.int64),
                                                  "line": records.start[at]}))
        con.execute("insert into malformed_lines select $i, duck_line, line from malformed_in", {"i": index})
    return numbering


def data_records(records: csvlines.Records, malformed: np.ndarray, parsed: int) -> np.ndarray | None:
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
    temp_table(con, "verified_in", pd.DataFrame({"record": picked}))
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


def record_import(con, report: Report, infos: list[FileInfo], profile: Profile, scans: dict[int, Future],
            counts: dict[int, tuple[int, int, int]]) -> None:
    """Write the refused rows to import_rejects (queries/import_record_rejects.sql) and the import to
    imports; fill the report's counts and a sample of the refused rows for the page."""
    import_id = int(con.execute("select coalesce(max(import_id), 0) + 1 from imports").fetchone()[0])
    report.import_id = import_id
    temp_table(con, "import_files_in", pd.DataFrame({
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
