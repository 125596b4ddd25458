"""Step 2 of an import, checking: every staged row checked in SQL (queries/import_check.sql) with a
reason for each one refused (missing fields, bad or implausible dates, a deadline before creation, an
unknown status or municipality, duplicates), the date formats in use, the data's moment (`choose_as_of`),
and the statuses and municipality names matched over their distinct values, not per row."""

from __future__ import annotations

import datetime as dt

from oversight import store
from oversight.ingest.model import FileInfo, ImportError_, finish_result, temp_table
from oversight.ingest.profiles import Profile, normalise
from oversight.ingest.read import header_of


def clear_rejects(con) -> None:
    """Forget DuckDB's reject tables (filled by every read of a file: only the checked read counts)."""
    present = {r[0] for r in con.execute("select table_name from duckdb_tables() where temporary").fetchall()}
    for table in ("reject_errors", "reject_scans"):
        if table in present:
            con.execute(f"delete from {table}")  # noqa: S608 - DuckDB's fixed names


def check_files(con, infos: list[FileInfo], params: dict) -> None:
    """Read every file once through queries/import_check.sql into the temp table `checked` (file by
    file, so checked.rowid runs in file order; file_starts holds each file's first rowid), then mark
    duplicates. Malformed lines go to `structural`."""
    clear_rejects(con)
    con.execute("delete from structural")  # a second round (see set_aside_lines) reads every file again
    con.execute("create or replace temp table file_starts (file_idx integer, start bigint)")
    for index in range(len(infos)):
        con.execute(f"create or replace temp view staged as select * from file_{int(index)}")  # noqa: S608
        finish_result(con)
        file_params = {**params, "headers": header_of(infos[index]), "blocked": bool(infos[index].missing_required),
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
        for line, text, error in infos[index].set_aside:  # lines blanked (see set_aside_lines)
            con.execute("insert into structural values ($i, $line, $text, $error, null)",
                        {"i": index, "line": line, "text": text, "error": error})
        clear_rejects(con)
    con.execute(store.query_text("import_duplicates")).fetchall()  # two fixed statements, no parameters
    _raw_of_duplicates(con, infos)


def _raw_of_duplicates(con, infos: list[FileInfo]) -> None:
    """The raw rows of the rows refused as duplicates (they passed the checks, so their raw row was not
    kept): one more read of a file that has any, numbering its rows as the checked read did."""
    for index, info in enumerate(infos):
        wanted = con.execute(
            "select c.rowid - s.start as record from checked as c join file_starts as s using (file_idx) "
            "where c.file_idx = $i and c.reason is not null and c.raw is null", {"i": index}).df()
        if wanted.empty:
            continue
        temp_table(con, "wanted_records", wanted)
        con.execute(
            f"create or replace temp table duplicate_raw as select record, to_json(map($headers, list_value(*columns('^c[0-9]+$'))))"  # noqa: S608
            f"::varchar as raw_row from (select row_number() over () - 1 as record, * from file_{int(index)}) "
            "where record in (select record from wanted_records)", {"headers": header_of(info)})
        clear_rejects(con)
        con.execute(
            "update checked set raw = d.raw_row from duplicate_raw as d, file_starts as s "
            "where checked.file_idx = $i and s.file_idx = $i and checked.rowid - s.start = d.record", {"i": index})


def formats_in_use(con, profile: Profile) -> list[str]:
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


# What DuckDB's trim() removes (the Unicode space separators; not tabs): the checks trim the number,
# text and source with it, and the other names are trimmed the same way here, over their distinct values.
SPACES = "".join(chr(c) for c in (32, 160, 5760, *range(8192, 8203), 8239, 8287, 12288))


def trim(value: str | None) -> str | None:
    """A value as the checks see it: nullif(trim(value), '')."""
    return (value.strip(SPACES) or None) if value is not None else None


def first_read(con, formats: list[str], with_times: bool) -> tuple[list[str], list[str], dt.datetime | None, dt.datetime | None]:
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


FLOOR = dt.datetime(2000, 1, 1)  # no date before it is a real request's (queries/_invariants.sql)


def choose_as_of(option: dt.datetime | None, exported: dt.datetime | None, latest: dt.datetime | None) -> tuple[dt.datetime, str]:
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


def check_params(profile: Profile, formats: list[str], as_of: dt.datetime) -> dict:
    """The bound values of queries/import_check.sql."""
    return {"formats": formats, "as_of": as_of, "latest_export": store.latest_as_of(), "create_municipalities": profile.create_municipalities, "closed_from_updated": profile.closed_from_updated}


def status_and_municipality_maps(con, profile: Profile, statuses: list[str], municipalities: list[str]) -> dict:
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
    names = [trim(v) or trim(profile.default_municipality) for v in municipalities]
    ids = [None if n is None else next((known[k] for k in keys(n) if k in known), None) for n in names]
    trimmed_statuses = [trim(v) for v in statuses]
    return {"status_values": statuses,
            "status_states": [None if v is None else profile.status_of(v) for v in trimmed_statuses],
            "status_blank": [v is None for v in trimmed_statuses],
            "municipality_values": municipalities, "municipality_ids": ids, "municipality_names": names,
            "municipality_blank": [n is None for n in names]}
