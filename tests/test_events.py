"""The events register: reading files, every row accepted or refused with a reason (nothing lost),
and writing the register back in one transaction."""

from __future__ import annotations

import datetime as dt
import shutil

import duckdb
import pandas as pd
import pytest

from oversight import store
from oversight.access import EVERYTHING
from oversight.ingest import events

FIRST, LAST = dt.date(2017, 1, 1), dt.date(2020, 12, 31)


@pytest.fixture(scope="module")
def reference(con):
    return store.run(con, "filter_municipalities"), store.run(con, "filter_organizations")


CSV = (
    "Дата;Вид;Название;Муниципалитет;ИНН\n"
    "14.03.2019;Семинар;Семинар в Серпухове;г.о. Серпухов;\n"
    "2019-05-01;inspection;Проверка;;{inn}\n"
    "31.02.2019;seminar;Плохая дата;;\n"
    "01.06.2019;банкет;Неизвестный вид;;\n"
    "01.06.2019;fine;;;\n"
    "01.06.2019;order;Приказ;Атлантида;\n"
    "01.06.2019;order;Приказ;;0000000000\n"
    "01.06.2030;order;Слишком поздно;;\n"
)


def test_every_row_is_accepted_or_refused_with_a_reason(reference):
    municipalities, organizations = reference
    inn = organizations["inn"].iloc[0]
    for encoding in ("utf-8", "cp1251"):
        frame = events.read_file(CSV.format(inn=inn).encode(encoding), "events.csv")
        accepted, refused = events.validate(frame, municipalities, organizations, FIRST, LAST)
        assert len(frame) == len(accepted) + len(refused) == 8
        assert len(accepted) == 2
        serpukhov = municipalities.loc[municipalities["name_ru"].str.contains("Серпухов"), "municipality_id"].iloc[0]
        assert accepted["municipality_id"].tolist()[0] == serpukhov
        assert accepted["organization_id"].tolist()[1] == organizations["organization_id"].iloc[0]
        assert refused["line"].tolist() == [4, 5, 6, 7, 8, 9]
        reasons = " ".join(refused["reason"])
        for fragment in ("Дата не распознана", "Неизвестный вид", "Нет названия", "Атлантида", "0000000000", "вне периода"):
            assert fragment in reasons


def test_excel_and_headers_in_english(reference, tmp_path):
    municipalities, organizations = reference
    frame = pd.DataFrame({"date": ["2019-03-14"], "kind": ["Seminar"], "title": ["A seminar"], "municipality": ["Khimki"]})
    path = tmp_path / "events.xlsx"
    frame.to_excel(path, index=False)
    read = events.read_file(path.read_bytes(), "events.xlsx")
    accepted, refused = events.validate(read, municipalities, organizations, FIRST, LAST)
    assert len(accepted) == 1 and refused.empty


def test_unreadable_and_incomplete_files_say_why():
    with pytest.raises(ValueError, match="no column for"):
        events.read_file(b"a;b\n1;2\n", "x.csv")
    with pytest.raises(ValueError, match="x.xlsx"):
        events.read_file(b"not a workbook", "x.xlsx")


def test_register_is_written_whole_and_read_back(small_db, tmp_path, reference):
    path = tmp_path / "copy.duckdb"
    shutil.copy(small_db, path)
    con = store.connect(path, EVERYTHING)
    register = store.run(con, "events_all")
    municipalities, organizations = reference
    frame = events.read_file("Дата;Вид;Название\n01.07.2019;Приказ;Новый приказ\n".encode(), "e.csv")
    accepted, _ = events.validate(frame, municipalities, organizations, FIRST, LAST)
    new = events.with_new(register, accepted)
    assert len(new) == len(register) + 1 and new["event_id"].is_unique
    assert len(events.with_new(new, accepted)) == len(new)  # the same file twice adds nothing
    events.save(path, new)
    again = store.run(store.connect(path, EVERYTHING), "events_all")
    assert len(again) == len(register) + 1 and "Новый приказ" in set(again["title"])
    # A failing write leaves the register as it was.
    broken = new.assign(kind="nonsense")
    with pytest.raises(duckdb.ConstraintException):
        events.save(path, broken)
    assert len(store.run(store.connect(path, EVERYTHING), "events_all")) == len(register) + 1


def test_an_edited_register_keeps_its_ids_and_numbers_new_rows(reference):
    municipalities, organizations = reference
    # What the page's table gives back: ids as numbers (empty for a row added at the bottom), labels.
    edited = pd.DataFrame({
        "event_id": [3.0, None],
        "event_date": ["2019-03-14", "2019-08-01"],
        "kind": ["Семинар", "Приказ"],
        "title": ["Семинар, переименован", "Новый приказ"],
        "municipality": ["городской округ Серпухов", ""],
        "organization": ["", ""],
    })
    raw = edited.astype(object).where(edited.notna(), "").astype(str)  # as the page turns it into text
    accepted, refused = events.validate(raw, municipalities, organizations, FIRST, LAST)
    assert refused.empty
    numbered = events.numbered(accepted)
    assert numbered["event_id"].tolist() == [3, 4]
    assert numbered["kind"].tolist() == ["seminar", "order"]
