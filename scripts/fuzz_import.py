"""The import fuzz run (issue #18): at least 1,000 corrupted files of every class through the importer.

    .venv/bin/python scripts/fuzz_import.py [--n 1200] [--seed 0] [--cli 40] [--pages 3] [--jobs 1]
        [--workdir DIR] [--failures /tmp/fuzz_failures] [--classes a,b,...]

The files come from tests/fuzz_corpus.py (seeded: the same --n and --seed give the same bytes): every
corruption class in turn over the ЕДС, Boston 311 and NYC 311 formats, imported in groups of a valid
file and six corrupted ones into one database each (re-imports and updates included), in-process;
--cli of them also through `python -m oversight import` in a subprocess; --pages of the resulting
databases rendered page by page (AppTest). For each file: no traceback, the exit code meaning what it
says (0 loaded, 4 nothing loaded, 1 refused whole with a plain message), rows read = loaded + refused =
the records the generator wrote, valid rows loaded and invalid ones not, the database breaks no
invariant and opens. Prints a table by class and exits 1 on any failure (each failing file is saved
with its symptom under --failures).
"""

from __future__ import annotations

import argparse
import collections
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

import fuzz_corpus as fc  # noqa: E402 - after the path is set

NEEDS_BASE = {"reimport_same", "update_newer", "older_export"}


def _run_group(args: tuple[int, fc.Group, str, int]) -> tuple[int, list[fc.Result], float]:
    number, group, workdir, batch = args
    folder = Path(workdir) / f"group_{number:04d}"
    started = time.perf_counter()
    results = fc.run_group(group, folder, batch=batch)
    return number, results, time.perf_counter() - started


def _cli_sample(groups: list[fc.Group], k: int) -> list[fc.Case]:
    """k cases for the command line, spread over the classes (not those that need their group's
    database), each format in turn."""
    by_class: dict[str, list[fc.Case]] = collections.defaultdict(list)
    for group in groups:
        for case in group.cases[1:]:
            if case.cls not in NEEDS_BASE:
                by_class[case.cls].append(case)
    picked, round_ = [], 0
    while len(picked) < k and any(len(v) > round_ for v in by_class.values()):
        for cls in sorted(by_class):
            if round_ < len(by_class[cls]) and len(picked) < k:
                picked.append(by_class[cls][round_])
        round_ += 1
    return picked


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=1200, help="corrupted files (each group adds a valid first file)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch", type=int, default=3, help="files of the import class per import (default 3)")
    parser.add_argument("--cli", type=int, default=40, help="files also imported through the command line")
    parser.add_argument("--pages", type=int, default=3, help="databases whose every page is rendered")
    parser.add_argument("--jobs", type=int, default=1, help="groups imported in parallel processes")
    parser.add_argument("--workdir", type=Path, default=None, help="default: a temporary folder, removed after")
    parser.add_argument("--failures", type=Path, default=Path("/tmp/fuzz_failures"))
    parser.add_argument("--classes", default="", help="only these classes (comma-separated)")
    args = parser.parse_args(argv)

    classes = tuple(c for c in args.classes.split(",") if c) or fc.CLASSES
    unknown = set(classes) - set(fc.CLASSES)
    if unknown:
        parser.error(f"unknown classes {sorted(unknown)}; known: {', '.join(fc.CLASSES)}")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="fuzz-import-"))
    workdir.mkdir(parents=True, exist_ok=True)
    # The command line's audit rows go to a file of this run's own, never the real access file.
    os.environ["OVERSIGHT_ACCESS_DB"] = str(workdir / "access.duckdb")

    started = time.perf_counter()
    groups = fc.corpus(args.n, args.seed, classes)
    files = sum(len(g.cases) for g in groups)
    print(f"{files} files ({args.n} corrupted + {len(groups)} valid first files) in {len(groups)} databases, "
          f"seed {args.seed}, generated in {time.perf_counter() - started:.1f} s", flush=True)

    results: list[fc.Result] = []
    databases: dict[int, Path] = {}
    jobs = [(k, g, str(workdir), args.batch) for k, g in enumerate(groups)]
    if args.jobs > 1:
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            outcomes = list(pool.map(_run_group, jobs))
    else:
        outcomes = []
        for job in jobs:
            outcomes.append(_run_group(job))
            if job[0] % 20 == 19:
                done = sum(len(r) for _, r, _ in outcomes)
                print(f"  {done}/{files} files, {time.perf_counter() - started:.0f} s", flush=True)
    for number, group_results, _ in outcomes:
        results += group_results
        databases[number] = workdir / f"group_{number:04d}" / "fuzz.duckdb"
    in_process_s = time.perf_counter() - started

    cli_results: list[fc.Result] = []
    cli_started = time.perf_counter()
    for k, case in enumerate(_cli_sample(groups, args.cli)):
        folder = workdir / f"cli_{k:03d}"
        cli_results += fc.check_cli([case], folder, folder / "cli.duckdb")
    cli_s = time.perf_counter() - cli_started

    page_failures: list[tuple[Path, list[str]]] = []
    pages_started = time.perf_counter()
    rendered = 0
    for family in fc.FAMILIES:  # a database of each format that holds rows, the injected strings' first
        if rendered >= args.pages:
            break
        candidates = [k for k, g in enumerate(groups) if g.family == family and databases[k].exists()]
        candidates.sort(key=lambda k: not any(c.cls == "injection_strings" for c in groups[k].cases))
        if candidates:
            db = databases[candidates[0]]
            page_failures.append((db, fc.render_pages(db)))
            rendered += 1
    pages_s = time.perf_counter() - pages_started

    # ---------------------------------------------------------------- the table
    table: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for r in results + cli_results:
        row = table[r.case.cls]
        if r.via == "cli":
            row["cli"] += 1
        else:
            row["files"] += 1
            row[r.status] += 1
        row["failures"] += bool(r.failures)
    print()
    print(f"{'class':28} {'files':>6} {'imported':>9} {'refused':>8} {'crashed':>8} {'cli':>4} {'failures':>9}")
    total = collections.Counter()
    for cls in sorted(table):
        row = table[cls]
        total.update(row)
        print(f"{cls:28} {row['files']:6} {row['imported']:9} {row['refused']:8} {row['crashed']:8} {row['cli']:4} "
              f"{row['failures']:9}")
    print(f"{'total':28} {total['files']:6} {total['imported']:9} {total['refused']:8} {total['crashed']:8} "
          f"{total['cli']:4} {total['failures']:9}")
    page_count = sum(1 for _ in page_failures)
    bad_pages = [(db, f) for db, f in page_failures if f]
    print(f"\npages: every page of {page_count} databases rendered, {len(bad_pages)} with failures")
    print(f"time: {in_process_s:.0f} s in-process ({len(results)} files), {cli_s:.0f} s command line "
          f"({len(cli_results)} files), {pages_s:.0f} s pages; {time.perf_counter() - started:.0f} s in all")

    failed = [r for r in results + cli_results if r.failures]
    if failed:
        print(f"\n{len(failed)} failing files (saved with their symptom under {args.failures}):")
        for r in failed:
            fc.save_failure(r, workdir, args.failures)
        for r in failed[:60]:
            print(f"- {r.case.id} [{r.via}] {r.status}: {'; '.join(r.failures)[:400]}")
    for db, failures in bad_pages:
        print(f"- pages over {db}: {failures}")
    if args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)
    return 1 if failed or bad_pages else 0


if __name__ == "__main__":
    sys.exit(main())
