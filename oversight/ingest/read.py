"""Step 1 of an import, reading: a file's encoding, delimiter and header (`describe`), its rows staged
into DuckDB as text (`stage_file`, `stage_all`: CSV read in place, Excel written out as CSV first), and
the repairs of what DuckDB cannot read alone: a stray quote that swallows the records after it and a
row with a column too many are set aside line by line (`swallowing_lines`, `surplus_lines`,
`set_aside_lines`), each kept with its line and reason, never dropped."""

from __future__ import annotations

import codecs
import csv
import io
import logging
import mmap
import re
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from oversight.ingest import csvlines, profiles
from oversight.ingest.model import FileInfo, ImportError_, finish_result
from oversight.ingest.profiles import FIELDS

LOG = logging.getLogger(__name__)

SNIFF_BYTES = 1 << 16
csv.field_size_limit(2**31 - 1)  # a resident's long text is a value, not an error (the default stops at 131,072)


def detect_encoding(path: Path) -> str:
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
            header = [str(c) if c is not None else "" for c in excel_frame(str(path), 0).columns]
        except Exception as error:  # noqa: BLE001 - any unreadable workbook is the user's problem to fix
            LOG.warning("%s: not a readable workbook: %s", name, error)
            raise ImportError_(f"{name}: not a readable Excel file (.xlsx): save it again from Excel, or as CSV") from None
        kind, encoding, delimiter = "xlsx", None, None
    else:
        encoding = detect_encoding(path)
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
            target.write(LINE_END.sub("\n", piece))
        if carry:
            target.write("\n")
    return out, replaced


LINE_END = re.compile(r"\r+\n?")  # \r\n, \r\r\n, a lone \r: one line end each


def _csv_of(info: FileInfo, index: int, workdir: Path) -> tuple[Path, str, int]:
    """The file as UTF-8 CSV DuckDB can read, its delimiter and how many undecodable bytes it had:
    the file itself, a UTF-8 copy (see _utf8_copy), or an Excel sheet written out."""
    if info.kind == "xlsx":
        out = workdir / f"sheet_{int(index)}.csv"
        excel_frame(info.path).to_csv(out, index=False, sep=",", encoding="utf-8")
        return out, ",", 0
    path = Path(info.path)
    if info.encoding != "utf-8" or _odd_line_ends(path):
        path, replaced = _utf8_copy(path, info.encoding, workdir)
        return path, info.delimiter, replaced
    return path, info.delimiter, 0


def excel_frame(path: str, rows: int | None = None) -> pd.DataFrame:
    """A workbook's first sheet, every cell as text (calamine, a Rust reader: a 700,000-row sheet in
    seconds where openpyxl took more than 15 minutes)."""
    return pd.read_excel(path, dtype=str, keep_default_na=False, nrows=rows, engine="calamine")


def stage_file(con: duckdb.DuckDBPyConnection, info: FileInfo, index: int, workdir: Path, source: Path | None = None) -> None:
    """Make the view file_<index>: the file as DuckDB reads it (every column as text, in file order;
    malformed lines set aside in DuckDB's reject tables), our fields picked by position, and the whole
    row's values as c1..cN (kept, with the file's headers, only for a refused row). Nothing is read yet: the view
    is read once for the distinct names and once for the checks."""
    if source is None:
        path, delimiter, undecodable = _csv_of(info, index, workdir)
        info.undecodable = max(info.undecodable, undecodable)  # a preview's sample knows its own
    else:  # a repaired copy of the file DuckDB read (see set_aside_lines)
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
    finish_result(con)
    con.sql(
        f"select {int(index)} as file_idx, {fields}, {row} from read_csv($path, header = true, "  # noqa: S608
        "all_varchar = true, delim = $delim, quote = '\"', escape = '\"', store_rejects = true, strict_mode = true, "
        "null_padding = false, auto_detect = false, columns = $columns)",
        params={"path": str(path), "delim": delimiter, "columns": {f"c{i + 1}": "VARCHAR" for i in range(n)}},
    ).create_view(f"file_{int(index)}", replace=True)


def stage_all(con, count: int) -> None:
    """The view staged_all: every file's rows (for the distinct names, the date formats and as_of)."""
    # By name: files of one profile may have different columns (c1..cN differ; our fields are the same).
    union = " union all by name ".join(f"select * from file_{i}" for i in range(count))  # noqa: S608 - file_0 … file_<n-1>
    con.execute(f"create or replace temp view staged_all as {union}")


def header_of(info: FileInfo) -> list[str]:
    """The file's headers as the keys of a refused row's JSON (an empty one named by its place)."""
    return [h if h else f"column {i + 1}" for i, h in enumerate(info.header)]


SET_ASIDE = "UNCLOSED QUOTE"  # the error of a line set aside for a quote that swallowed the records after it


SURPLUS = "TOO MANY COLUMNS"  # the error of a row set aside for a column too many that DuckDB would have read


SET_ASIDE_ERRORS = (SET_ASIDE, SURPLUS)


MAX_QUOTE_REPAIRS = 20  # rounds of setting aside lines whose stray quote swallowed the records after them


def plain_read_error(error: Exception) -> str:
    """What a reader's error means for the user, without the reader's internals or working paths
    (the whole error goes to the server's log)."""
    found = re.search(r"CSV Error on Line: (\d+)", str(error))
    where = f" (record {found.group(1)})" if found else ""
    if isinstance(error, UnicodeError) or "unicode" in str(error).lower() or "encoding" in str(error).lower():
        return f"the file's text encoding cannot be read{where}: save it as UTF-8 or Windows-1251 and import again"
    return f"the file cannot be read as a table of values{where}: check that it is a CSV or Excel export"


def swallowing_lines(con, infos: list[FileInfo]) -> list[tuple[int, int, int]]:
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
    counts = file_counts(con)
    for index, info in enumerate(infos):
        if info.kind != "csv" or any(f[0] == index for f in found):
            continue
        parsed, _, malformed = counts.get(index, (0, 0, 0))
        info.line_ends = csvlines.line_breaks(info.read_path, info.delimiter)  # surplus_lines reads it too
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
    Returns (file index, the record's physical line, its first byte), as swallowing_lines."""
    n = len(info.header)
    # Our own names only (c1..cN); one more read of the file, only for a file with line breaks in values.
    breaks = " or ".join(f"strpos(c{i + 1}, chr(10)) > 0" for i in range(n))
    finish_result(con)
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


def surplus_lines(con, infos: list[FileInfo]) -> list[tuple[int, int, int]]:
    """Rows with a column too many that DuckDB would load one column over: it reads a row whose
    surplus value is the last and empty as the file's width (the last delimiter taken for a
    trailing one), so after a doubled delimiter the values load in the wrong columns. Such a row
    ends with the delimiter; each line that does and holds enough delimiters is parsed, and one
    that is a whole record of one value more than the header, the last empty, is set aside. When
    nearly every row ends so, that is how the file ends its rows (some exporters write a delimiter
    after the last value) and nothing is. Once per file. Returns (file index, physical line, its
    first byte) as swallowing_lines."""
    counts = file_counts(con)
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


def set_aside_lines(con, infos: list[FileInfo], swallowing: list[tuple[int, int, int]], workdir: Path,
                     error: str) -> None:
    """Blank the line each swallowing record starts on (its stray quote) in a copy of the file and
    read the file again from that copy: the records after it come back. The blanked line keeps its
    place (DuckDB counts a blank line as a record, so the line numbers hold) and is refused as a
    malformed line with its text (FileInfo.set_aside, added to `structural` by check_files)."""
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
        stage_file(con, info, index, workdir, source=out)
    stage_all(con, len(infos))


def file_counts(con) -> dict[int, tuple[int, int, int]]:
    """Per file (by index): the rows parsed, how many of them were refused, and the malformed lines."""
    parsed = {int(i): (int(p), int(r)) for i, p, r in con.execute(
        "select file_idx, count(*), count(reason) from checked group by all").fetchall()}
    malformed = {int(i): int(n) for i, n in con.execute("select file_idx, count(*) from structural group by all").fetchall()}
    return {i: (*parsed.get(i, (0, 0)), malformed.get(i, 0)) for i in set(parsed) | set(malformed)}
