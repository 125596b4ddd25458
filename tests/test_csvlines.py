"""oversight.ingest.csvlines against Python's csv module: where every record of a CSV file starts."""

from __future__ import annotations

import csv

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oversight.ingest import csvlines

VALUE = st.lists(st.sampled_from(["a", "я", ";", '"', "\n", "\r\n", " ", "1"]), max_size=6).map("".join)
ROW = st.one_of(st.just([]), st.lists(VALUE, min_size=1, max_size=4))


def _starts_by_python(path) -> tuple[list[int], list[bool]]:
    starts, blanks, previous = [], [], 0
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter=";")
        for row in reader:
            starts.append(previous + 1)
            blanks.append(row == [])
            previous = reader.line_num
    return starts, blanks


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(ROW, min_size=1, max_size=12), terminator=st.sampled_from(["\n", "\r\n"]),
       last_break=st.booleans(), chunk=st.sampled_from([3, 7, 1 << 20]))
def test_record_starts_match_pythons_csv_reader(tmp_path_factory, rows, terminator, last_break, chunk):
    path = tmp_path_factory.mktemp("lines") / "f.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";", lineterminator=terminator)
        writer.writerow(["h1", "h2"])
        writer.writerows(rows)
    content = path.read_bytes()
    if not last_break and content.endswith(terminator.encode()) and rows and rows[-1] != []:
        path.write_bytes(content[: -len(terminator)])
    expected_starts, expected_blanks = _starts_by_python(path)
    saved = csvlines.CHUNK
    csvlines.CHUNK = chunk  # small pieces: records, quotes and \r\n split across them
    try:
        found = csvlines.records(path)
    finally:
        csvlines.CHUNK = saved
    assert found.start.tolist() == expected_starts
    # Each record's first byte is where its line starts.
    data = path.read_bytes()
    line_offsets = [0] + [i + 1 for i, b in enumerate(data) if b == 10]
    assert found.offset.tolist() == [line_offsets[line - 1] for line in expected_starts]
    assert found.blank.tolist() == expected_blanks
    breaks, ends, _ = csvlines.line_breaks(path)
    assert breaks == path.read_bytes().count(b"\n") and ends == path.read_bytes().endswith(b"\n")


def test_a_lone_carriage_return_at_the_end_is_no_record(tmp_path):
    path = tmp_path / "f.csv"
    path.write_bytes(b'h1;h2\r\na;"b\r\nc"\r\nd;e\r\n\r')
    found = csvlines.records(path)
    assert found.start.tolist() == [1, 2, 4, 5] and found.blank.tolist() == [False, False, False, True]
    assert found.offset.tolist()[:3] == [0, 7, 17]
    with open(path, "rb") as handle:
        assert csvlines.record_at(handle, 7, ";") == ["a", "b\r\nc"]


@settings(max_examples=300, deadline=None)
@given(data=st.binary(min_size=0, max_size=80).map(lambda b: bytes(b"ab;\n\r"[x % 5] for x in b)),
       chunk=st.sampled_from([1, 2, 3, 7, 1 << 20]))
def test_lines_ending_with_the_delimiter_are_counted_across_pieces(data, chunk, tmp_path_factory):
    """The count the import's column-too-many check starts from (importer.surplus_lines): a line
    break whose byte before it (or before its \\r) is the delimiter, and a last line ending with it."""
    path = tmp_path_factory.mktemp("ends") / "f.csv"
    path.write_bytes(data)
    expected = 0
    for i, byte in enumerate(data):
        if byte == 10:
            j = i - 1 - (i >= 1 and data[i - 1] == 13)
            expected += j >= 0 and data[j] == 59
    expected += data.endswith(b";")
    saved = csvlines.CHUNK
    csvlines.CHUNK = chunk
    try:
        found = csvlines.line_breaks(path, ";")
    finally:
        csvlines.CHUNK = saved
    assert found == (data.count(b"\n"), data.endswith(b"\n"), expected)
