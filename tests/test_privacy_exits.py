"""Issue #18 item 5: personal data never leave the app unmasked, at any exit. A copy of the demo
database gets residents' personal data, in every format the review found surviving, in every
request's text and in building addresses; an import refuses rows that carry them. Then every place a
text leaves the app is read back: the request card, the example cards, the deck's speaker notes
(PPTX), the refused rows on the page (the report), in JSON (the command line), in Excel (the
rejects' download), and every query result that carries a text or an address (store.run)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
import shutil
import subprocess
import sys

import duckdb
import openpyxl
import pytest
from pptx import Presentation

from oversight import store
from oversight.access import EVERYTHING
from oversight.analysis import drill, examples
from oversight.filters import Filters
from oversight.ingest import importer
from oversight.output import export

PERSONAL = [
    "звонить 8-916-123-45-67 8-916-765-43-21",
    "+7 916 123 45 67 8 916 765 43 21",
    "тел 8.916.123.45.67",
    "тел. 123-45-67",
    "ИВАНОВ ИВАН ИВАНОВИЧ",
    "Заявитель Иван Иванович Иванов",
    "в квартире 45",
    "паспорт серия 45 10 номер 123456",
    "почта ivanov.ivan@mail.ru",
]
# What must not survive: the digits of the phones and the passport, the name, the flat, the e-mail.
DIGITS = ["9161234567", "9167654321", "1234567", "123456"]
WORDS = re.compile(r"(?i)иванов|иван\b|ивановича?\b|квартире 45|ivanov")


def leaks(text: str | None) -> list[str]:
    if not text:
        return []
    found = [m.group(0) for m in WORDS.finditer(text)]
    for piece in re.split(r"[^\d.\-\s()+]+", text):  # runs of digits and their separators
        digits = re.sub(r"\D", "", piece)
        found += [d for d in DIGITS if d in digits]
    return found


@pytest.fixture(scope="module")
def personal_db(small_db, tmp_path_factory):
    path = tmp_path_factory.mktemp("pd") / "pd.duckdb"
    shutil.copy(small_db, path)
    with duckdb.connect(str(path)) as con:
        con.execute("update tickets set description = 'Течёт крыша. ' || $a[(ticket_id % 9) + 1] || '. Подъезд 2.'",
                    {"a": PERSONAL})
        con.execute("update buildings set address = address || ', кв. 12, тел. 8-916-123-45-67' where building_id % 3 = 0")
    return str(path)


@pytest.fixture(scope="module")
def pcon(personal_db):
    return store.connect(personal_db, EVERYTHING)


def test_every_query_result_with_a_text_or_an_address_is_masked(pcon):
    tickets = store.run(pcon, "ticket_card", ticket_id=int(pcon.execute("select min(ticket_id) from tickets").fetchone()[0]))
    assert tickets["description"].notna().all()
    for name, params in [("ticket_card", {"ticket_id": int(pcon.execute("select max(ticket_id) from tickets").fetchone()[0])}),
                         ("drill_labels", {"level": "building"}),
                         ("search_buildings", {"words": ["кв"], "limit": 50})]:
        frame = store.run(pcon, name, **params)
        assert len(frame), name
        for column in frame.select_dtypes(include=["object", "string"]).columns:
            for value in frame[column].dropna().astype(str):
                assert not leaks(value), (name, column, value)


def test_the_request_card_and_the_example_cards(pcon):
    as_of = store.dataset_info(pcon)["as_of"].to_pydatetime()
    ids = [int(r[0]) for r in pcon.execute("select ticket_id from tickets order by ticket_id limit 30").fetchall()]
    for ticket in ids:
        for lang in ("ru", "en"):
            card = drill.request_card(pcon, ticket, as_of, lang)
            assert not leaks(card["description"]) and not leaks(card["address"]), card
    organization = int(pcon.execute("select organization_id from tickets group by 1 order by count(*) desc limit 1").fetchone()[0])
    period = Filters(as_of.date() - dt.timedelta(days=183), as_of.date() - dt.timedelta(days=1))
    shown = [card for kind in examples.KINDS for card in examples.requests_shown(pcon, period, as_of, organization, kind, "en")]
    assert shown
    for card in shown:
        assert not leaks(card["description"]) and not leaks(card["address"]), card
        assert "[" in card["description"] and "скрыт" not in card["description"]  # English placeholders


def test_the_decks_speaker_notes(personal_db, tmp_path):
    out = tmp_path / "deck.pptx"
    done = subprocess.run([sys.executable, "-m", "oversight", "slides", "--db", personal_db, "--from", "2019-07-01",
                           "--to", "2019-12-31", "--min-volume", "20", "--out", str(out)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    deck = Presentation(str(out))
    texts = []
    for slide in deck.slides:
        texts += [shape.text_frame.text for shape in slide.shapes if shape.has_text_frame]
        if slide.has_notes_slide:
            texts.append(slide.notes_slide.notes_text_frame.text)
    assert any("скрыт" in text for text in texts)  # the notes do carry the requests' texts
    for text in texts:
        assert not leaks(text), text


def _refused_file(path):
    header = ["Номер", "Дата создания", "Срок", "Дата закрытия", "Статус", "Муниципальное образование", "Организация",
              "Адрес", "Категория", "Текст", "Телефон заявителя"]
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(header)
        for i, text in enumerate(PERSONAL):
            # Refused: a deadline before creation; the raw row carries the personal data.
            writer.writerow([str(900 + i), "02.11.2026 10:00", "01.11.2026 10:00", "", "в работе", "Балашиха", "УК",
                             "ул. Мира, д. 1, кв. 45", "Протечка", text, "8-916-123-45-67"])
        writer.writerow(["999", "01.11.2026 10:00", "05.11.2026 10:00", "", "в работе", "Балашиха", "УК", "ул. Мира, д. 1",
                         "Протечка", "Течёт", ""])
    return path


def test_refused_rows_on_the_page_in_json_and_in_excel(tmp_path):
    db = tmp_path / "db.duckdb"
    path = _refused_file(tmp_path / "f.csv")
    report = importer.import_files([path], db)
    assert report.rejected == len(PERSONAL)
    for raw in report.rejects["raw"]:  # what the Data page shows
        assert not leaks(raw), raw
    done = subprocess.run([sys.executable, "-m", "oversight", "import", "--db", str(tmp_path / "cli.duckdb"), str(path)],
                          capture_output=True, text=True, timeout=300)
    sample = json.loads(done.stdout)["rejects_sample"]
    assert len(sample) == len(PERSONAL)
    for row in sample:
        assert not leaks(json.dumps(row, ensure_ascii=False)), row
    rows = store.run(store.connect(db, EVERYTHING), "import_rejects_all", limit=1000)
    workbook = openpyxl.load_workbook(io.BytesIO(export.to_xlsx_bytes({"rejects": rows})))
    cells = [str(c.value) for sheet in workbook for line in sheet.iter_rows() for c in line if c.value is not None]
    assert any("скрыт" in c for c in cells)
    for cell in cells:
        assert not leaks(cell), cell
