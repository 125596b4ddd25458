"""Where each record of a CSV file starts: its physical line, for the line numbers of refused rows.

DuckDB numbers the rows it reads, not the lines: a value with line breaks inside (a resident's text
of several paragraphs) is one row but several lines, and a blank line is no row at all. Its own
error lines count every record once, blank lines included, but not the line breaks inside values.
So the import numbers rows by DuckDB's count while that is the file's (every record one line, no
blank line: one count of the file's line breaks tells), and otherwise from this module's scan.

The scan finds the line breaks outside quotes: a line break is inside a quoted value when an odd
number of quote characters came before it (a doubled "" inside a value counts two, so the parity
holds). numpy does it in 16 MB pieces: 3.5 s for the 4.3 GB of the 10M-row benchmark file here (counting
the line breaks alone: 0.7 s). A file whose quotes do not pair up (an unterminated quote, or a quote
inside an unquoted value, which DuckDB reads as a character) gives records that are not DuckDB's;
the importer reads records back at their offsets (record_at) to tell, and keeps DuckDB's numbering
then.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, NamedTuple

import numpy as np

CHUNK = 16 << 20  # measured here: faster than 64 MB pieces, and less memory
NEWLINE, QUOTE, RETURN = 10, 34, 13


class LineBreaks(NamedTuple):
    count: int  # line breaks in the file
    ends_with_break: bool  # whether its last byte is one
    after_delimiter: int  # lines that end with the delimiter (0 unless one was given)


def _pieces(path: Path | str):
    """The file's bytes, CHUNK at a time, each piece a view of one buffer read into again and again (a
    new object per piece costs more than the counting): a piece is valid until the next one is read."""
    buffer = bytearray(CHUNK)
    view = np.frombuffer(buffer, dtype=np.uint8)
    with open(path, "rb") as handle:
        while size := handle.readinto(buffer):
            yield view[:size]


def line_breaks(path: Path | str, delimiter: str | None = None) -> LineBreaks:
    """How many line breaks the file has, whether it ends with one, and (given the delimiter) how
    many lines end with it: the one pass over the file the import's record checks start from."""
    count, after, last, previous = 0, 0, 0, b"\0\0"
    mark = ord(delimiter) if delimiter else -1
    for view in _pieces(path):
        size = len(view)
        if mark < 0:
            count += int(np.count_nonzero(view[:size] == NEWLINE))
        else:
            breaks = np.flatnonzero(view[:size] == NEWLINE)
            count += len(breaks)
            # The byte before each break, or before its \r (the piece's first bytes look back
            # into the previous piece's last two).
            padded = np.concatenate((np.frombuffer(previous, dtype=np.uint8), view[:min(size, 2)]))
            before, second = view[np.maximum(breaks - 1, 0)], view[np.maximum(breaks - 2, 0)]
            early = breaks < 2
            if early.any():
                before, second = before.copy(), second.copy()
                before[early], second[early] = padded[breaks[early] + 1], padded[breaks[early]]
            after += int(np.count_nonzero(np.where(before == RETURN, second, before) == mark))
            previous = (previous + bytes(view[max(0, size - 2):size]))[-2:]
        last = int(view[size - 1])
    if mark >= 0 and last == mark:  # the last line, with no line break after it
        after += 1
    return LineBreaks(count, last == NEWLINE, after)


@dataclass
class Records:
    """The file's records in order, the header first, blank lines included (as DuckDB counts them).
    start: the physical line (from 1) each starts on; offset: the byte it starts at; blank: whether it
    is an empty line."""

    start: np.ndarray
    offset: np.ndarray
    blank: np.ndarray


def records(path: Path | str) -> Records:
    """Every record of a CSV file (quote character ")."""
    ends: list[np.ndarray] = []  # for each record's end (a line break outside quotes): the breaks before it
    end_bytes: list[np.ndarray] = []  # and its byte position
    blanks: list[np.ndarray] = []
    breaks_before = 0  # line breaks in the pieces already read
    quotes_before = 0
    offset = 0
    previous_end = -1  # byte position of the last record end (-1: none yet)
    previous_byte = 0  # the byte before the current piece (a \r before a \n in the next piece)
    for data in _pieces(path):
        size = len(data)
        breaks = np.flatnonzero(data == NEWLINE)
        quotes = np.flatnonzero(data == QUOTE)
        inside = (quotes_before + np.searchsorted(quotes, breaks)) % 2 == 1
        outside = np.flatnonzero(~inside)
        positions = breaks[outside] + offset
        ends.append((breaks_before + outside).astype(np.int32))  # lines: int32 (memory, at 10M records)
        end_bytes.append(positions)
        # A blank record: nothing (or only a \r) between the previous end and this one.
        starts = np.concatenate(([previous_end + 1], positions[:-1] + 1)) if len(positions) else positions
        length = positions - starts
        before = data[np.maximum(breaks[outside] - 1, 0)]
        if len(positions) and breaks[outside][0] == 0:  # the \r may end the previous piece
            before = before.copy()
            before[0] = previous_byte
        blanks.append((length == 0) | ((length == 1) & (before == RETURN)))
        if len(positions):
            previous_end = int(positions[-1])
        breaks_before += len(breaks)
        quotes_before += len(quotes)
        offset += size
        previous_byte = int(data[-1])
    blank = np.concatenate(blanks) if blanks else np.zeros(0, dtype=bool)
    # A record starts on the line after the previous record's end: the k-th record end is line break
    # number end_breaks[k] (from 0), so the next record starts on line end_breaks[k] + 2.
    start = np.concatenate([np.ones(1, dtype=np.int32), *(e + 2 for e in ends)])
    del ends
    begins = np.concatenate([np.zeros(1, dtype=np.int64), *(e + 1 for e in end_bytes)])
    del end_bytes
    if offset - 1 > previous_end:  # the last record has no line break after it (a lone \r is none)
        blank = np.concatenate((blank, [offset - 1 == previous_end + 1 and previous_byte == RETURN]))
    else:
        start, begins = start[:-1], begins[:-1]
    return Records(start=start, offset=begins, blank=blank)


def record_at(handle: BinaryIO, offset: int, delimiter: str, size: int = 16 << 10) -> list[str]:
    """The values of the record that starts at a byte of a UTF-8 CSV file open for reading (to check
    that a record the scan found is the one DuckDB read). A record longer than `size` bytes comes back
    cut short."""
    return next(csv.reader(io.StringIO(text_at(handle, offset, size), newline=""), delimiter=delimiter), [])


def text_at(handle: BinaryIO, offset: int, size: int) -> str:
    """The text that starts at a byte of a UTF-8 file open for reading."""
    handle.seek(offset)
    return handle.read(size).decode("utf-8", errors="replace")


def lines_ending_with(path: Path | str, delimiter: str, at_least: int) -> list[tuple[int, int, int]]:
    """The lines that end with the delimiter and hold at least `at_least` delimiter bytes (quotes
    taken as characters): (physical line from 1, byte the line starts at, byte its line break is at).

    DuckDB reads a row with a column too many as the file's width when the surplus value is the
    last and empty (it takes the last delimiter for a trailing one), so the values after a doubled
    delimiter load one column over. Such a row ends with the delimiter and holds the width's
    delimiters: this finds the candidates (the importer parses each and decides)."""
    mark = ord(delimiter)
    found: list[tuple[int, int, int]] = []
    breaks_before, delimiters_before, offset = 0, 0, 0
    line_start_delimiters = 0  # delimiters before the current line's start
    previous_end = -1  # byte of the last line break seen
    tail = b""  # the last two bytes of the previous piece (a delimiter before a line break across pieces)
    for data in _pieces(path):
        size = len(data)
        breaks = np.flatnonzero(data == NEWLINE)
        marks = np.flatnonzero(data == mark)
        if len(breaks):
            # Delimiters before each line break (in the whole file), and so on each line.
            before = delimiters_before + np.searchsorted(marks, breaks)
            starts = np.concatenate(([line_start_delimiters], before[:-1]))
            on_line = before - starts
            # The byte before the break, or before its \r.
            padded = np.concatenate((np.frombuffer(tail.rjust(2, b"\0"), dtype=np.uint8), data))
            last = padded[breaks + 1]  # padded is shifted by 2: padded[breaks + 2] is the break itself
            last = np.where(last == RETURN, padded[breaks], last)
            hits = np.flatnonzero((last == mark) & (on_line >= at_least))
            line_starts = np.concatenate(([previous_end + 1], breaks[:-1] + offset + 1))
            for k in hits:
                found.append((breaks_before + int(k) + 1, int(line_starts[k]), int(breaks[k]) + offset))
            line_start_delimiters = int(before[-1])
            previous_end = int(breaks[-1]) + offset
        breaks_before += len(breaks)
        delimiters_before += len(marks)
        tail = bytes(data[max(0, size - 2):size])
        offset += size
    if offset - 1 > previous_end and tail[-1:] == delimiter.encode() \
            and delimiters_before - line_start_delimiters >= at_least:  # the last line, with no line break
        found.append((breaks_before + 1, previous_end + 1, offset))
    return found
