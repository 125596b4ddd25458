"""Import of real exports (issue #10): the shared Boston and NYC 311 samples, corrupted copies of
them, an ЕДС-style export written from the demo, idempotence, updates, atomic failure, and a
property test of the row checks."""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oversight import store
from oversight.access import EVERYTHING
from oversight.analysis import metrics
from oversight.filters import Filters
from oversight.ingest import check, importer, model
from oversight.paths import ROOT

FIXTURES = ROOT / "tests" / "fixtures"  # verbatim copies of shared/fixtures (tests/fixtures/SOURCE.md)
BOSTON = FIXTURES / "boston311-100.csv"
NYC = FIXTURES / "nyc311-100.csv"
AFTER_BOSTON = dt.datetime(2022, 6, 1)  # after the sample's last deadline (2022-05-20)


def _tickets(db: Path) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("select * exclude (ticket_id) from tickets order by external_id").df()


def _rejects(db: Path) -> pd.DataFrame:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute("select * from import_rejects order by import_id, file, line").df()


def _write_rows(path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8", delimiter: str = ",") -> Path:
    with open(path, "w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def _read(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]


def _reconciles(report: importer.Report) -> None:
    assert report.rows_read == report.loaded + report.rejected
    for file in report.files:
        assert file["rows_read"] == file["loaded"] + file["rejected"]
    assert sum(report.reasons.values()) == report.rejected


# ---------------------------------------------------------------- the real samples


def test_boston_ontime_flag_is_reproduced(tmp_path):
    db = tmp_path / "boston.duckdb"
    report = importer.import_files([BOSTON], db, "boston311", AFTER_BOSTON)
    _reconciles(report)
    assert report.rows_read == 100 and report.rejected == 0 and report.as_of_source == "option"
    source = pd.read_csv(BOSTON, dtype=str)
    with_deadline = source[source["target_dt"].notna()]
    con = store.connect(db, EVERYTHING)
    # The project's metrics over the whole sample: every deadline due, OVERDUE exactly the misses.
    k = metrics.kpis(con, Filters(dt.date(2022, 1, 1), dt.date(2022, 5, 31)), AFTER_BOSTON)
    assert k["due"] == len(with_deadline) == 89
    assert k["missed"] == (with_deadline["ontime"] == "OVERDUE").sum()
    # And row by row, through the drill-down's request card.
    from oversight.analysis import drill

    ids = dict(con.execute("select external_id, ticket_id from tickets").fetchall())
    for row in with_deadline.itertuples():
        card = drill.request_card(con, ids[row.case_enquiry_id], AFTER_BOSTON)
        assert (card["hours_late"] > 0) == (row.ontime == "OVERDUE"), row.case_enquiry_id
    info = store.dataset_info(con)
    assert not info["is_demo"] and info["as_of"] == AFTER_BOSTON
    assert "Boston" in report.created["territories"] and "Dorchester" in report.created["municipalities"]


def test_nyc_dates_are_parsed(tmp_path):
    db = tmp_path / "nyc.duckdb"
    report = importer.import_files([NYC], db)  # profile detected from the header
    _reconciles(report)
    assert report.files[0]["profile"] == "nyc311" and report.rows_read == 100
    source = pd.read_csv(NYC, dtype=str).set_index("Unique Key")
    loaded = _tickets(db).set_index("external_id")

    def parsed(text):
        return pd.NaT if pd.isna(text) else dt.datetime.strptime(text, "%m/%d/%Y %I:%M:%S %p")

    for key, row in loaded.iterrows():
        assert row["created_at"] == parsed(source.loc[key, "Created Date"])
        assert (pd.isna(row["due_at"]) and pd.isna(source.loc[key, "Due Date"])) or row["due_at"] == parsed(source.loc[key, "Due Date"])
    rejected = set(source.index) - set(loaded.index)
    for key in rejected:  # only for a reason: a closing before the creation
        assert parsed(source.loc[key, "Closed Date"]) < parsed(source.loc[key, "Created Date"])
    assert report.reasons == ({"closed_before_created": len(rejected)} if rejected else {})
    # The as_of is the latest moment in the file, and the report says so.
    assert report.as_of_source == "latest"
    latest = max(max(parsed(v) for v in source["Created Date"]), max(parsed(v) for v in source["Closed Date"].dropna()))
    assert report.as_of == latest + dt.timedelta(seconds=1)
    with duckdb.connect(str(db), read_only=True) as con:
        boroughs = {r[0] for r in con.execute("select name_en from territories").fetchall()}
    assert {"BROOKLYN", "QUEENS", "MANHATTAN", "BRONX", "STATEN ISLAND"} <= boroughs


# ---------------------------------------------------------------- corrupted copies


@pytest.mark.parametrize("sample, profile, created", [(BOSTON, "boston311", "open_dt"), (NYC, "nyc311", "Created Date")])
def test_bad_dates_are_refused_with_their_line(tmp_path, sample, profile, created):
    header, rows = _read(sample)
    column = header.index(created)
    for i in (3, 10, 42):
        rows[i][column] = ["31.02.2022 25:00", "not a date", "2022-13-45 10:00:00"][i % 3]
    path = _write_rows(tmp_path / "bad_dates.csv", header, rows)
    report = importer.import_files([path], tmp_path / "db.duckdb", profile, AFTER_BOSTON if profile == "boston311" else None)
    _reconciles(report)
    bad = report.rejects[report.rejects["reason"] == "bad_date:created"]
    assert sorted(bad["line"]) == [5, 12, 44]  # record i is on line i + 2 (the header is line 1)
    raw = json.loads(bad["raw"].iloc[0])
    assert raw[created] == "2022-13-45 10:00:00" or raw[created] in ("31.02.2022 25:00", "not a date")
    assert _rejects(tmp_path / "db.duckdb")["reason_code"].tolist().count("bad_date:created") == 3


@pytest.mark.parametrize("sample, profile", [(BOSTON, "boston311"), (NYC, "nyc311")])
def test_shuffled_extra_and_missing_columns(tmp_path, sample, profile):
    as_of = AFTER_BOSTON if profile == "boston311" else dt.datetime(2021, 1, 1)
    importer.import_files([sample], tmp_path / "plain.duckdb", profile, as_of)
    header, rows = _read(sample)
    order = list(reversed(range(len(header))))
    shuffled = _write_rows(tmp_path / "shuffled.csv", [header[i] for i in order] + ["Extra"],
                           [[r[i] for i in order] + ["x"] for r in rows])
    report = importer.import_files([shuffled], tmp_path / "shuffled.duckdb", profile, as_of)
    assert "Extra" in report.files[0]["ignored_columns"]
    pd.testing.assert_frame_equal(_tickets(tmp_path / "plain.duckdb"), _tickets(tmp_path / "shuffled.duckdb"))
    # An optional column missing: reported, the rows load without it.
    deadline = "target_dt" if profile == "boston311" else "Due Date"
    keep = [i for i, h in enumerate(header) if h != deadline]
    no_deadline = _write_rows(tmp_path / "no_deadline.csv", [header[i] for i in keep], [[r[i] for i in keep] for r in rows])
    report = importer.import_files([no_deadline], tmp_path / "no_deadline.duckdb", profile, as_of)
    assert "deadline" in report.files[0]["missing_optional"] and report.rejected < 10
    assert _tickets(tmp_path / "no_deadline.duckdb")["due_at"].isna().all()
    # A required column missing: every row refused with that reason, the counts still reconcile.
    number = "case_enquiry_id" if profile == "boston311" else "Unique Key"
    keep = [i for i, h in enumerate(header) if h != number]
    no_number = _write_rows(tmp_path / "no_number.csv", [header[i] for i in keep], [[r[i] for i in keep] for r in rows])
    report = importer.import_files([no_number], tmp_path / "no_number.duckdb", profile, as_of)
    _reconciles(report)
    assert report.loaded == 0 and report.reasons == {"missing_column": 100}
    assert report.files[0]["missing_required"] == ["number"]


def test_excel_and_truncated_last_line(tmp_path):
    importer.import_files([BOSTON], tmp_path / "csv.duckdb", "boston311", AFTER_BOSTON)
    xlsx = tmp_path / "boston.xlsx"
    pd.read_csv(BOSTON, dtype=str, keep_default_na=False).to_excel(xlsx, index=False)
    report = importer.import_files([xlsx], tmp_path / "xlsx.duckdb", "auto", AFTER_BOSTON)
    assert report.files[0]["kind"] == "xlsx" and report.files[0]["profile"] == "boston311"
    pd.testing.assert_frame_equal(_tickets(tmp_path / "csv.duckdb"), _tickets(tmp_path / "xlsx.duckdb"))
    # A file cut in the middle of its last line: that row is refused with a reason, the rest load.
    text = BOSTON.read_text(encoding="utf-8")
    last_line_start = text.rstrip("\n").rfind("\n") + 1
    cut = tmp_path / "cut.csv"
    cut.write_text(text[: last_line_start + 30], encoding="utf-8")
    report = importer.import_files([cut], tmp_path / "cut.duckdb", "boston311", AFTER_BOSTON)
    _reconciles(report)
    assert report.rows_read == 100 and report.rejected == 1
    assert report.rejects["line"].tolist() == [101]
    assert report.rejects["reason"].iloc[0] in ("malformed_line", "bad_date:created", "missing:category")


# ---------------------------------------------------------------- an ЕДС export (Russian, cp1251)


EDS_HEADER = ["Номер заявки", "Дата создания", "Срок исполнения", "Дата закрытия", "Статус", "Муниципальное образование",
              "Организация", "ИНН", "Адрес", "Категория", "Источник", "Возвраты", "Оценка", "Текст обращения"]


def _eds_rows(frames, n: int = 300) -> list[list[str]]:
    t = frames["tickets"].sort_values("ticket_id").head(n)
    mun = frames["municipalities"].set_index("municipality_id")["name_ru"]
    org = frames["organizations"].set_index("organization_id")
    cat = frames["categories"].set_index("category_id")["name_ru"]
    rows = []
    for i, r in enumerate(t.itertuples()):
        name = mun[r.municipality_id]
        # The forms a municipality is written in: as is, with «г.о.», with the full words moved.
        written = [name, name.replace("городской округ ", "г.о. "), name.replace("городской округ ", "") + " городской округ"][i % 3]
        fmt = "%d.%m.%Y %H:%M"
        rows.append([
            str(r.ticket_id), r.created_at.strftime(fmt), "" if pd.isna(r.due_at) else r.due_at.strftime(fmt),
            "" if pd.isna(r.closed_at) else r.closed_at.strftime(fmt), "Закрыта" if pd.notna(r.closed_at) else "В работе",
            written, org.loc[r.organization_id, "name"] if pd.notna(r.organization_id) else "",
            org.loc[r.organization_id, "inn"] if pd.notna(r.organization_id) else "", "", cat[r.category_id], r.source,
            str(r.returned_count), "" if pd.isna(r.rating) else str(int(r.rating)), r.description or "",
        ])
    return rows


def test_eds_export_in_cp1251_with_every_kind_of_bad_row(tmp_path, small_db, frames, as_of):
    rows = _eds_rows(frames)
    bad = {
        5: ("Муниципальное образование", "Нарния", "unknown_municipality"),
        6: ("Срок исполнения", "01.01.2017 10:00", "deadline_before_created"),
        7: ("Статус", "Потеряна", "unknown_status"),
        8: ("Оценка", "7", "bad_rating"),
        9: ("Дата создания", "2031-01-01 10:00", "future:created"),
        10: ("Номер заявки", "", "missing:number"),
    }
    for i, (column, value, _) in bad.items():
        rows[i][EDS_HEADER.index(column)] = value
    rows[9][2] = rows[9][3] = ""  # no deadline or closing before the future creation: that is the only fault
    rows[9][4] = "В работе"
    rows.append(list(rows[20]))  # the same request twice: one copy refused
    conflict = list(rows[21])
    conflict[EDS_HEADER.index("Категория")] = "Уборка подъезда" if conflict[EDS_HEADER.index("Категория")] != "Уборка подъезда" else "Неисправность лифта"
    rows.append(conflict)  # the same number with other content: both refused
    path = _write_rows(tmp_path / "eds.csv", EDS_HEADER, rows, encoding="cp1251", delimiter=";")
    db = tmp_path / "eds.duckdb"
    shutil.copy(small_db, db)  # into the demo database: the demo is replaced
    report = importer.import_files([path], db, "auto", as_of)
    _reconciles(report)
    info = report.files[0]
    assert info["profile"] == "eds" and info["encoding"] == "cp1251" and info["delimiter"] == ";"
    assert report.replaced_demo
    by_line = report.rejects.set_index("line")["reason"]
    for i, (_, _, reason) in bad.items():
        assert by_line[i + 2] == reason, (i, by_line.get(i + 2))
    assert report.reasons["duplicate_exact"] == 1 and report.reasons["duplicate_conflict"] == 2
    assert report.loaded == len(rows) - len(bad) - 3
    loaded = _tickets(db)
    assert len(loaded) == report.loaded
    with duckdb.connect(str(db), read_only=True) as con:
        assert not con.execute("select is_demo from dataset").fetchone()[0]
        assert con.execute("select count(*) from demo_story").fetchone()[0] == 0
    # Every municipality spelling matched the reference: none created, Russian text survived cp1251.
    assert "municipalities" not in report.created
    assert loaded["description"].str.contains("[а-я]", regex=True).any()


# ---------------------------------------------------------------- idempotence, updates, atomicity


def test_same_file_twice_changes_nothing_and_a_newer_export_updates(tmp_path):
    db = tmp_path / "db.duckdb"
    first = importer.import_files([BOSTON], db, "boston311", AFTER_BOSTON)
    before = _tickets(db)
    again = importer.import_files([BOSTON], db, "boston311", AFTER_BOSTON)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, first.loaded)
    assert not again.created
    pd.testing.assert_frame_equal(before, _tickets(db))
    # A newer export: an open case is now closed.
    header, rows = _read(BOSTON)
    open_row = next(i for i, r in enumerate(rows) if r[header.index("case_status")] == "Open")
    rows[open_row][header.index("case_status")] = "Closed"
    rows[open_row][header.index("closed_dt")] = "2022-06-02 09:00:00"
    newer = _write_rows(tmp_path / "newer.csv", header, rows)
    report = importer.import_files([newer], db, "boston311", dt.datetime(2022, 6, 3))
    assert (report.inserted, report.updated) == (0, 1)
    case = rows[open_row][header.index("case_enquiry_id")]
    after = _tickets(db).set_index("external_id")
    assert after.loc[case, "closed_at"] == pd.Timestamp("2022-06-02 09:00:00")
    # The older export again: it does not undo the newer data.
    report = importer.import_files([BOSTON], db, "boston311", AFTER_BOSTON)
    assert report.kept_newer == 1 and report.updated == 0
    _reconciles(report)
    assert _tickets(db).set_index("external_id").loc[case, "closed_at"] == pd.Timestamp("2022-06-02 09:00:00")


def test_a_failure_midway_leaves_the_database_as_it_was(tmp_path, monkeypatch):
    db = tmp_path / "db.duckdb"
    importer.import_files([BOSTON], db, "boston311", AFTER_BOSTON)
    before, stamp = db.read_bytes(), db.stat().st_mtime_ns

    def broken(con, report, profile):
        con.execute("delete from tickets")
        raise RuntimeError("disk full")

    monkeypatch.setattr(importer, "write_requests", broken)
    with pytest.raises(RuntimeError):
        importer.import_files([NYC], db, "nyc311")
    assert db.read_bytes() == before and db.stat().st_mtime_ns == stamp
    assert not list(tmp_path.glob(".import-*"))  # no working files left behind


def test_cli_import(tmp_path):
    db = tmp_path / "cli.duckdb"
    done = subprocess.run([sys.executable, "-m", "oversight", "import", str(BOSTON), "--db", str(db), "--profile",
                           "boston311", "--as-of", "2022-06-01T00:00", "--json"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    printed = json.loads(done.stdout)
    assert printed["rows_read"] == printed["loaded"] + printed["rejected"] == 100
    assert printed["as_of"] == "2022-06-01T00:00:00" and printed["as_of_source"] == "option"
    refused = subprocess.run([sys.executable, "-m", "oversight", "import", str(tmp_path / "nope.csv"), "--db", str(db)],
                             capture_output=True, text=True)
    assert refused.returncode != 0 and "file not found" in refused.stderr


def test_distinct_names_are_trimmed_as_the_checks_trim_them():
    """Statuses, municipalities, organisations, categories and addresses are trimmed in Python over
    their distinct values (the checks look the rows up as written). Python must remove exactly what
    DuckDB's trim() removes, which the other fields get, for every kind of space."""
    con = duckdb.connect()
    spaces = [chr(c) for c in range(0x3100) if not 0xD800 <= c <= 0xDFFF and con.execute(
        "select trim($v) = ''", {"v": chr(c)}).fetchone()[0]]
    assert " " in spaces and "\u00a0" in spaces and "\t" not in spaces
    values = [None, "", " ", "a", " a ", "\ta\t", *(f"{s}Балашиха{s}" for s in spaces), "".join(spaces), "x" + "".join(spaces)]
    for value in values:
        assert check.trim(value) == con.execute("select nullif(trim($v), '')", {"v": value}).fetchone()[0], repr(value)


def test_values_padded_with_spaces_are_read_as_the_clean_values(tmp_path, frames, as_of):
    """Every value padded with the spaces trim() removes (and blank ones made of them) gives the same
    requests, reference rows and refusals as the clean file: the checks trim only some fields per row
    and the rest over their distinct values, and both must come to the same."""
    rows = _eds_rows(frames, 120)
    for i, row in enumerate(rows):
        row[EDS_HEADER.index("Адрес")] = f"ул. Ленина, д. {i % 7}"
    at = {name: EDS_HEADER.index(name) for name in ("Статус", "Муниципальное образование", "Категория", "Оценка",
                                                     "Возвраты", "Организация", "ИНН", "Адрес", "Срок исполнения")}
    blank = {3: "Статус", 4: "Муниципальное образование", 5: "Категория", 6: "Оценка", 7: "Возвраты",
             8: "Организация", 9: "ИНН", 10: "Адрес", 11: "Срок исполнения"}
    for i, column in blank.items():
        rows[i][at[column]] = ""
    rows[3][3] = ""  # a request with no status and no closing: open
    rows[12][at["Оценка"]] = "9"  # a bad rating, refused in both
    rows[13][at["Возвраты"]] = "-2"
    rows[20][at["Категория"]] = "Шум от кафе"  # a category the reference lacks: created, by its trimmed name
    rows[21][at["Организация"]], rows[21][at["ИНН"]] = "ООО «Новая УК»", "5000000001"  # likewise an organisation
    spaces = check.SPACES
    padded = []
    for i, row in enumerate(rows):
        new = []
        for j, value in enumerate(row):
            left, right = spaces[(i + j) % len(spaces)], spaces[(i * 3 + j) % len(spaces)] * 2
            new.append(f"{left}{value}{right}" if value else (f"{left}{right}" if i in blank else value))
        padded.append(new)
    results = {}
    for name, content in (("clean", rows), ("padded", padded)):
        db = tmp_path / f"{name}.duckdb"
        report = importer.import_files([_write_rows(tmp_path / f"{name}.csv", EDS_HEADER, content, delimiter=";")],
                                       db, "eds", as_of)
        _reconciles(report)
        with duckdb.connect(str(db), read_only=True) as con:
            results[name] = {table: con.execute(f"select * from {table} order by all").df()  # noqa: S608 - fixed names
                             for table in ("tickets", "organizations", "categories", "buildings", "municipalities")}
        results[name]["reasons"] = report.rejects[["line", "reason"]]
        results[name]["created"] = report.created
    assert results["clean"]["reasons"].set_index("line")["reason"].to_dict() == {
        6: "missing:municipality", 7: "missing:category", 14: "bad_rating", 15: "bad_returns"}
    for key, clean in results["clean"].items():
        if isinstance(clean, pd.DataFrame):
            pd.testing.assert_frame_equal(results["padded"][key], clean, obj=key)
        else:
            assert results["padded"][key] == clean
    assert results["clean"]["created"]["categories"] == ["Шум от кафе"]
    assert "ООО «Новая УК»" in results["clean"]["created"]["organizations"]
    tickets = results["clean"]["tickets"]
    assert len(tickets) == 120 - 4 and tickets["building_id"].notna().sum() == 120 - 4 - 1


# ---------------------------------------------------------------- property test of the row checks

CELL = st.one_of(
    st.just(""),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"), max_size=24),
    st.sampled_from(["01.02.2019 10:00", "31.12.2019 23:59", "2019-03-14 08:00:00", "30.02.2019 10:00", "Закрыта",
                     "В работе", "г.о. Балашиха", "Балашиха", "Нарния", "5", "-1", "0", "1e9", "ООО «УК»", "5001000000"]),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(rows=st.lists(st.lists(CELL, min_size=len(EDS_HEADER), max_size=len(EDS_HEADER)), min_size=1, max_size=12))
def test_every_row_is_loaded_or_refused_with_a_reason(tmp_path_factory, rows):
    folder = tmp_path_factory.mktemp("prop")
    path = _write_rows(folder / "rows.csv", EDS_HEADER, rows, delimiter=";")
    try:
        report = importer.import_files([path], folder / "db.duckdb", "eds", dt.datetime(2020, 1, 1))
    except importer.ImportError_ as refused:  # only a whole-file refusal, said in words
        assert "no readable creation date" in str(refused) or "Данные" in str(refused)
        return
    _reconciles(report)
    assert report.rows_read == len(rows)
    assert set(report.reasons) <= set(model.REASONS)
    assert len(_tickets(folder / "db.duckdb")) == report.inserted


def test_open311_georeport_rows(tmp_path):
    header = ["service_request_id", "status", "service_name", "service_code", "description", "agency_responsible",
              "requested_datetime", "updated_datetime", "expected_datetime", "address", "zipcode", "lat", "long"]
    rows = [
        ["638344", "closed", "Sidewalk and Curb Issues", "006", "Curb cover is broken", "Public Works",
         "2010-04-14T06:37:38-08:00", "2010-04-14T15:37:38-08:00", "2010-04-15T06:37:38-08:00", "8TH AVE", "94122", "37.76", "-122.4"],
        ["638349", "open", "Potholes", "007", "", "Public Works",
         "2010-04-15T09:00:00-08:00", "2010-04-16T10:00:00-08:00", "2010-04-20T09:00:00-08:00", "1ST ST", "", "", ""],
        ["638350", "archived", "Potholes", "007", "", "Public Works",
         "2010-04-15T09:00:00-08:00", "", "", "1ST ST", "94110", "", ""],
    ]
    path = _write_rows(tmp_path / "georeport.csv", header, rows)
    db = tmp_path / "open311.duckdb"
    report = importer.import_files([path], db, "auto", dt.datetime(2010, 5, 1))
    _reconciles(report)
    assert report.files[0]["profile"] == "open311"
    assert report.reasons == {"unknown_status": 1}
    loaded = _tickets(db).set_index("external_id")
    # The UTC offset is dropped: the local time as written.
    assert loaded.loc["638344", "created_at"] == pd.Timestamp("2010-04-14 06:37:38")
    # A closed request's update time is its closing; an open one's update is not.
    assert loaded.loc["638344", "closed_at"] == pd.Timestamp("2010-04-14 15:37:38")
    assert pd.isna(loaded.loc["638349", "closed_at"])
    with duckdb.connect(str(db), read_only=True) as con:
        names = {r[0] for r in con.execute("select name_en from municipalities").fetchall()}
    assert names == {"94122", "City"}  # the zipcode where there is one, else the city as one group


def test_history_lists_file_names_not_their_json():
    from oversight.ui.data_page import _file_names

    assert _file_names(json.dumps(["выгрузка май.csv", "b.xlsx"], ensure_ascii=False)) == "выгрузка май.csv, b.xlsx"
    assert _file_names("not json") == "not json"


def test_refused_rows_keep_their_line_and_raw_row_in_a_large_file(tmp_path):
    """A file of many read buffers (DuckDB reads it in parallel): the refused rows' lines and raw rows
    are their own. (The checks once joined the rows to the status and municipality maps, which
    reordered them past the first buffer: a refused row got another row's line, and a duplicate
    another row's raw values.) A «Примечание» column the profile ignores carries each row's line."""
    header = EDS_HEADER + ["Примечание"]
    n, bad_at, conflict_at = 120_000, 90_000, 61_234

    def row(i: int, number: int, created: str = "01.02.2024 10:00", text: str = "текст обращения") -> list[str]:
        return [str(number), created, "05.02.2024 10:00", "", "В работе", "городской округ Балашиха", "ООО Ромашка", "",
                f"ул. Ленина, д. {i % 500}", "Уборка", "", "0", "", f"{text} {i} " * 4, f"строка {i + 2}"]

    rows = [row(i, 1_000_000 + i, "not a date" if i == bad_at else "01.02.2024 10:00") for i in range(n)]
    rows.append(rows[0][:-1] + [f"строка {n + 2}"])  # an exact repeat of the first request (line 2)
    rows.append(row(n + 1, 1_000_000 + conflict_at, text="другой текст"))  # the same number, other content
    path = _write_rows(tmp_path / "large.csv", header, rows, delimiter=";")
    assert path.stat().st_size > 30_000_000  # several of DuckDB's read buffers
    report = importer.import_files([path], tmp_path / "db.duckdb", "eds", dt.datetime(2024, 6, 1))
    _reconciles(report)
    refused = _rejects(tmp_path / "db.duckdb")
    got = {(int(r.line), r.reason_code, json.loads(r.raw)["Примечание"]) for r in refused.itertuples()}
    assert got == {
        (bad_at + 2, "bad_date:created", f"строка {bad_at + 2}"),
        (n + 2, "duplicate_exact", f"строка {n + 2}"),  # the later copy is refused, the first kept
        (conflict_at + 2, "duplicate_conflict", f"строка {conflict_at + 2}"),
        (n + 3, "duplicate_conflict", f"строка {n + 3}"),
    }
    kept = _tickets(tmp_path / "db.duckdb")
    assert len(kept) == n - 2 and "1000000" in set(kept["external_id"])


def test_refused_rows_get_their_physical_line_past_blank_lines_and_line_breaks_in_values(tmp_path):
    """Line numbers are the file's lines even when records are not one line each: blank lines, texts
    of several lines (quoted), and malformed lines before the refused rows, in a file DuckDB reads in
    several buffers. Each refused row's reported line must be the line its number starts."""
    n = 120_000
    path = tmp_path / "lines.csv"
    bad_dates = {5_000, 70_000, n - 3}
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(EDS_HEADER)
        for i in range(n):
            text = f"текст {i} " * 5
            if i % 997 == 0:
                text = f"первая строка {i}\n\nтретья строка «в кавычках» \"так\"\n"  # a text of four lines
            writer.writerow([str(1_000_000 + i), "not a date" if i in bad_dates else "01.02.2024 10:00", "05.02.2024 10:00",
                             "", "В работе", "городской округ Балашиха", "ООО Ромашка", "", f"ул. Ленина, д. {i % 500}",
                             "Уборка", "", "0", "", text])
            if i in (3_000, 65_000):
                writer.writerow([])  # a blank line
            if i in (4_000, 66_000):
                handle.write(f"{9_000_000 + i};лишняя;строка\r\n")  # a malformed line: too few columns
    assert path.stat().st_size > 30_000_000
    lines = path.read_text(encoding="utf-8").split("\n")
    start = {line.split(";")[0]: k + 1 for k, line in enumerate(lines) if line[:1].isdigit()}
    report = importer.import_files([path], tmp_path / "db.duckdb", "eds", dt.datetime(2024, 6, 1))
    _reconciles(report)
    assert report.files[0]["line_numbers"] == "exact"
    got = {(int(r.line), r.reason_code) for r in _rejects(tmp_path / "db.duckdb").itertuples()}
    assert got == {(start[str(1_000_000 + i)], "bad_date:created") for i in bad_dates} | {
        (start[str(9_000_000 + i)], "malformed_line") for i in (4_000, 66_000)}
    # Without the scan the lines would be counted in records: they would differ past the first text.
    assert start[str(1_000_000 + 70_000)] != 70_000 + 2


def test_line_numbers_fall_back_to_the_record_count_when_the_scan_disagrees(tmp_path, monkeypatch):
    """A file whose records the scan cannot match to DuckDB's (quotes that do not pair up) keeps the
    record count as its line numbers, and says so."""
    rows = [[str(100 + i), "not a date" if i == 4 else "01.02.2024 10:00", "", "", "В работе", "городской округ Балашиха",
             "ООО", "", "ул. Мира, 1", "Уборка", "", "0", "", "две\nстроки" if i == 1 else "текст"] for i in range(8)]
    path = _write_rows(tmp_path / "f.csv", EDS_HEADER, rows, delimiter=";")
    found = importer.csvlines.records(path)
    assert found.start.tolist() == [1, 2, 3, 5, 6, 7, 8, 9, 10]
    report = importer.import_files([path], tmp_path / "exact.duckdb", "eds", dt.datetime(2024, 6, 1))
    assert report.files[0]["line_numbers"] == "exact" and report.rejects["line"].tolist() == [7]
    one_more = importer.csvlines.Records(start=np.append(found.start, 11), offset=np.append(found.offset, path.stat().st_size),
                                         blank=np.append(found.blank, False))
    monkeypatch.setattr(importer.csvlines, "records", lambda _: one_more)
    report = importer.import_files([path], tmp_path / "approximate.duckdb", "eds", dt.datetime(2024, 6, 1))
    _reconciles(report)
    assert report.files[0]["line_numbers"] == "approximate" and report.rejects["line"].tolist() == [6]


def test_a_quote_inside_an_unquoted_value_makes_the_line_numbers_approximate_not_wrong(tmp_path):
    """DuckDB reads ООО "Ромашка (unquoted) as text, but the scan counts its quote; a quoted line break
    further on can bring the scan's count of records back to DuckDB's. The records the scan found
    are then read back from the file and do not hold the refused row: the numbers are approximate."""
    def line(number: str, text: str, created: str = "01.02.2024 10:00") -> str:
        return f"{number};{created};;;В работе;городской округ Балашиха;ООО;;ул. Мира, 1;Уборка;;0;;{text}"

    body = "\n".join([";".join(EDS_HEADER), line("1", 'ООО "Ромашка'), line("2", '"x\ny\nz"'),
                      line("3", 'b"', created="not a date"), line("4", "t")]) + "\n"
    path = tmp_path / "quotes.csv"
    path.write_text(body, encoding="utf-8")
    assert importer.csvlines.records(path).start.tolist()[1:] != [2, 3, 6, 7]  # the scan is misled
    report = importer.import_files([path], tmp_path / "db.duckdb", "eds", dt.datetime(2024, 6, 1))
    _reconciles(report)
    assert report.reasons == {"bad_date:created": 1}
    assert report.files[0]["line_numbers"] == "approximate"


def test_a_value_of_spaces_is_the_same_content_as_an_empty_one_for_duplicates(tmp_path):
    """Two copies of a request, one with an empty organisation and address, the other with spaces
    there: the same content, so one is loaded and the copy refused as exact (not both as conflicting)."""
    row = ["7", "01.02.2024 10:00", "", "", "В работе", "городской округ Балашиха", "", "", "", "Уборка", "", "0", "", "т"]
    spaced = list(row)
    spaced[EDS_HEADER.index("Организация")], spaced[EDS_HEADER.index("Адрес")] = " ", "\u00a0"
    path = _write_rows(tmp_path / "dup.csv", EDS_HEADER, [row, spaced], delimiter=";")
    report = importer.import_files([path], tmp_path / "db.duckdb", "eds", dt.datetime(2024, 6, 1))
    _reconciles(report)
    assert report.reasons == {"duplicate_exact": 1} and report.loaded == 1


def test_the_preview_shows_the_files_own_lines(tmp_path):
    """The preview's line numbers are the file's lines too: after a text of three lines and a blank line."""
    def line(number: int, text: str = "t") -> list[str]:
        return [str(number), "01.02.2024 10:00", "", "", "В работе", "городской округ Балашиха", "ООО", "", "ул. Мира, 1",
                "Уборка", "", "0", "", text]

    path = tmp_path / "preview.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(EDS_HEADER)
        writer.writerow(line(1, "первая\nвторая\nтретья"))
        writer.writerow([])
        writer.writerow(line(2))
        writer.writerow(line(3))
    _, shown = importer.preview(path, tmp_path / "none.duckdb", "eds", dt.datetime(2024, 6, 1))
    assert shown["line"].tolist() == [2, 6, 7]
    assert shown["municipality_raw"].tolist() == ["городской округ Балашиха"] * 3
