"""Benchmark: importing a 10-million-row ЕДС export (CSV) with every check, and the memory it takes.

    .venv/bin/python bench/bench_import.py [--source data/bench/demo10m.duckdb] [--rows 10000000]

Writes the export once (data/bench/eds<N>.csv: Russian headers, dd.mm.yyyy hh:mm, ';', the resident's
texts included) from a demo database, then imports it into a new database with the ЕДС profile and
times each phase from the import's own progress messages. Peak memory is the process's maximum
resident set (Python and DuckDB together). Writes its table to docs/benchmarks.md. Not a timed test.
Budget: at least 300,000 rows per second, memory under 4 GB.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402

from bench.common import write_section  # noqa: E402
from oversight.ingest import importer  # noqa: E402

EXPORT = """
copy (
    select
        t.ticket_id as "Номер заявки",
        strftime(t.created_at, '%d.%m.%Y %H:%M:%S') as "Дата создания",
        strftime(t.due_at, '%d.%m.%Y %H:%M:%S') as "Срок исполнения",
        strftime(t.closed_at, '%d.%m.%Y %H:%M:%S') as "Дата закрытия",
        case when t.closed_at is null then 'В работе' else 'Закрыта' end as "Статус",
        m.name_ru as "Муниципальное образование",
        o.name as "Организация",
        o.inn as "ИНН",
        b.address as "Адрес",
        c.name_ru as "Категория",
        t.source as "Источник",
        t.returned_count as "Возвраты",
        t.rating as "Оценка",
        t.description as "Текст обращения"
    from tickets as t
    join municipalities as m on m.municipality_id = t.municipality_id
    left join organizations as o on o.organization_id = t.organization_id
    left join buildings as b on b.building_id = t.building_id
    join categories as c on c.category_id = t.category_id
    order by t.created_at
    limit $rows
) to '{path}' (header, delimiter ';')
"""


# The --multiline variant: the same export with a text of three lines in every 997th request and a
# creation date that is not one in every 100,003rd (refused, so their lines are reported).
MULTILINE = """
copy (
    select
        * replace (
            case when "Номер заявки"::bigint % 100003 = 0 then 'not a date' else "Дата создания" end as "Дата создания",
            case when "Номер заявки"::bigint % 997 = 0 then "Текст обращения" || chr(10) || chr(10) || 'Вторая часть'
                 else "Текст обращения" end as "Текст обращения")
    from read_csv($source, delim = ';', header = true, all_varchar = true)
) to '{path}' (header, delimiter ';')
"""


def _lines_starting(path: Path, wanted: set[int]) -> dict[int, str]:
    """The first characters of the given lines of a file (one pass, to check reported line numbers)."""
    found = {}
    with open(path, encoding="utf-8", newline="") as handle:
        for number, line in enumerate(handle, start=1):
            if number in wanted:
                found[number] = line[:40]
                if len(found) == len(wanted):
                    break
    return found


# The import's progress messages, each timed until the next one.
STEPS = {
    "reading": "  distinct statuses and municipalities (one read of the file)",
    "checking": "  every row checked (one read of the file)",
    "reference": "  organisations, categories and buildings matched or created",
    "writing": "  requests and rejects written",
}


def _in_child(database: str | None, statement: str, params: dict) -> None:
    """Run one DuckDB statement in a child process (on `database` read-only, or in memory)."""
    import json
    import subprocess

    code = ("import duckdb, json, sys\n"
            "db, statement, params = sys.argv[1] or None, sys.argv[2], json.loads(sys.argv[3])\n"
            "con = duckdb.connect(db, read_only=True) if db else duckdb.connect()\n"
            "con.execute(statement, params)\n")
    subprocess.run([sys.executable, "-c", code, database or "", statement, json.dumps(params)], check=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", default=str(ROOT / "data" / "bench" / "demo10m.duckdb"))
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--multiline", action="store_true",
                        help="the export with texts of several lines and refused rows: times the line numbers")
    args = parser.parse_args()
    export = ROOT / "data" / "bench" / f"eds{args.rows // 1_000_000}m.csv"
    # The export files are written by a child process: the peak memory reported below is this
    # process's, and must be the import's alone (an export written here first made it 8.8 GB, not 3.3).
    if not export.exists():
        started = time.perf_counter()
        # The path is ours (a fixed folder and a number), not input.
        _in_child(args.source, EXPORT.replace("{path}", str(export)), {"rows": args.rows})
        print(f"export written: {export} ({export.stat().st_size / 1e9:.2f} GB) in {time.perf_counter() - started:.0f} s", flush=True)
    if args.multiline:
        base, export = export, export.with_name(export.stem + "_multiline.csv")
        if not export.exists():  # the path is ours (a fixed folder and a number), not input
            _in_child(None, MULTILINE.replace("{path}", str(export)), {"source": str(base)})
    with duckdb.connect(args.source, read_only=True) as con:
        as_of = con.execute("select max(as_of) from dataset").fetchone()[0]
    target = ROOT / "data" / "bench" / "imported.duckdb"
    target.unlink(missing_ok=True)
    marks = []

    def progress(fraction: float, message: str) -> None:
        marks.append((message, time.perf_counter()))
        print(f"[{fraction:4.0%}] {message} at {marks[-1][1] - started:.1f} s", flush=True)

    started = time.perf_counter()
    report = importer.import_files([export], target, "eds", as_of, progress)
    total = time.perf_counter() - started
    derived = dict((m, t) for m, t in marks)
    load_seconds = derived["derived"] - started  # reading, checking, reference data, writing the requests
    peak_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
    rows = report.rows_read
    phases = [(m, later - t) for (m, t), (_, later) in zip(marks[:-1], marks[1:])]  # each step until the next message
    lines = [
        f"| rows in the file | {rows:,} |",
        f"| loaded / refused | {report.loaded:,} / {report.rejected:,} |",
        f"| file size | {export.stat().st_size / 1e9:.2f} GB |",
        *(f"| {STEPS.get(m, m)} | {s:.1f} s |" for m, s in phases if m in STEPS),
        f"| **the import: file read, checked, reference data, requests and rejects written** | "
        f"**{load_seconds:.1f} s ({rows / load_seconds:,.0f} rows/s)** |",
        f"| rebuilding the derived tables (the dashboards' fast path) | {total - load_seconds:.1f} s |",
        f"| total, file to dashboard-ready database | {total:.1f} s ({rows / total:,.0f} rows/s) |",
        f"| peak memory (resident, Python and DuckDB) | {peak_gb:.2f} GB |",
    ]
    print("\n".join(lines))
    if args.multiline:
        reported = dict(zip(report.rejects["line"], report.rejects["reason"]))
        starts = _lines_starting(export, set(reported))
        right = sum(1 for line, text in starts.items() if text.split(";")[1] == "not a date")
        print(f"line numbers: {report.files[0]['line_numbers']}; {right} of {len(reported)} refused rows' lines "
              f"start with their row")
        table = "\n".join(
            ["", "## Line numbers past texts of several lines (`bench/bench_import.py --multiline`)", "",
             f"{dt.date.today()}: the export above with a text of three lines in every 997th request and an",
             "unreadable creation date in every 100,003rd. The refused rows' lines come from the scan of",
             f"oversight/ingest/csvlines.py (numbering: {report.files[0]['line_numbers']}; {right} of {len(reported)} "
             "reported lines checked in the file: each starts with its refused row). The scan runs in a thread",
             "during the reference and writing steps.", "",
             "| what | measured |", "|---|---:|", *lines])
        write_section("Line numbers past texts", table)
        return
    table = "\n".join(
        ["", f"## Import of a {rows:,}-row ЕДС export (`bench/bench_import.py`)", "",
         f"{dt.date.today()}: CSV in UTF-8 with ';', Russian headers, every check of the import, into a new",
         "database (the ЕДС profile, the Moscow Oblast reference). Budget: 300,000 rows/s, memory under 4 GB.", "",
         "| what | measured |", "|---|---:|", *lines]
    )
    write_section('Import of a ', table)


if __name__ == "__main__":
    main()
