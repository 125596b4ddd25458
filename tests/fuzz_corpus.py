"""Corrupted import files for the import fuzz suite (issue #18's proof): a seeded, deterministic
generator and the harness that runs them through the importer.

Every file starts as a valid export written here from plain lists of values: an ЕДС-style export
(`Номер;Дата создания;Срок;…;Дата выгрузки`, dates `dd.mm.yyyy HH:MM`, real Moscow Oblast
municipalities) or a Boston / NYC 311 CSV (their real headers, the other columns taken from the rows
of tests/fixtures/*.csv). One corruption class is then applied, and the case records, independently
of the importer:

- `records`: the data records the file holds as the generator wrote them. Rules where that could be
  ambiguous: every row written is one record, whatever was done to it (a stray quote, a doubled or a
  missing delimiter, a NUL or an invalid byte, a value with line breaks inside quotes); a truncated last
  row counts as a record (the cut falls strictly inside it); a blank line is not a record (in an Excel
  sheet: an empty row); a line of delimiters only is a record; the header is not one.
- `outcome`: "import" (the file is read: its rows are loaded or refused one by one) or "refused"
  (the whole file refused with a plain message: no header a profile recognises, nothing to read).
- `must_load` / `must_not_load`: numbers that must be in the database afterwards (rows the
  corruption did not touch and that are valid) and numbers that must not (rows it made invalid). Every
  case has numbers of its own, so a database shared by several cases keeps them apart.

    groups = corpus(n=300, seed=0)       # cases spread over every class, in groups sharing a database
    results = run_group(group, folder)   # import them, check them: a list of Result

The harness (run_group, check_cli) is shared by tests/test_fuzz.py (a few hundred files) and
scripts/fuzz_import.py (the full run).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import json
import logging
import os
import random
import re
import shutil
import subprocess
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"

START = dt.datetime(2025, 9, 1)  # rows are created from here …
WINDOW_MINUTES = 59 * 24 * 60  # … to 30.10.2025
EXPORTED = dt.datetime(2025, 11, 15, 8, 0)  # the ЕДС export time of a case
OLDER_EXPORT = dt.datetime(2025, 11, 1, 8, 0)  # after every creation, before most closings
NEWER_EXPORT = dt.datetime(2025, 11, 20, 8, 0)

MESSAGE_LIMIT = 2000  # characters: a plain message is a sentence or two, not the file's header echoed back
# What a message shown to the user must never hold: the importer's working folders and DuckDB's internals.
LEAKS = (".import-", ".preview-", "Possible fixes", "state machine", "CSV Error", "Traceback", "duckdb.",
         "DuckDB", "sniff", "Binder Error", "Parser Error")

INJECTIONS = ('=HYPERLINK("http://x")', "'; drop table tickets; --", "![x](http://canary.invalid/x.png)", "<b>x</b>",
              "=cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0", "+1+1", "<script>alert(1)</script>",
              "[link](javascript:alert(1))", "{{7*7}} ${7*7}", "Robert'); DROP TABLE municipalities;--",
              "<img src=x onerror=alert(1)>", "**жирный** _курсив_ `код`", ":red[красный] :material/home:")


# ---------------------------------------------------------------- the export formats


@dataclass(frozen=True)
class Family:
    key: str  # eds | boston | nyc
    profile: str  # the import profile it is read with
    header: tuple[str, ...]
    delimiter: str
    fields: dict  # our field -> the header's column
    date_format: str
    open_words: tuple[str, ...]
    closed_words: tuple[str, ...]
    municipalities: tuple[str, ...]
    organizations: tuple[str, ...]
    categories: tuple[str, ...]
    texts: tuple[str, ...]
    addresses: tuple[str, ...]
    unknown_municipalities: tuple[str, ...]
    number_base: int

    def col(self, name: str) -> int:
        return self.header.index(self.fields[name])

    def has(self, name: str) -> bool:
        return name in self.fields

    def date(self, moment: dt.datetime) -> str:
        return moment.strftime(self.date_format)


EDS_HEADER = ("Номер", "Дата создания", "Срок", "Дата закрытия", "Статус", "Муниципальное образование", "Организация",
              "Адрес", "Категория", "Текст", "Дата выгрузки")

EDS = Family(
    key="eds", profile="eds", header=EDS_HEADER, delimiter=";",
    fields={"number": "Номер", "created": "Дата создания", "deadline": "Срок", "closed": "Дата закрытия",
            "status": "Статус", "municipality": "Муниципальное образование", "organization": "Организация",
            "address": "Адрес", "category": "Категория", "text": "Текст", "export": "Дата выгрузки"},
    date_format="%d.%m.%Y %H:%M",
    open_words=("в работе", "открыта", "на исполнении", "Новая", "зарегистрирована"),
    closed_words=("закрыта", "Закрыта", "выполнена", "исполнена"),
    # Real okrugs, written the ways ЕДС exports write them.
    municipalities=("Балашиха", "Мытищи", "городской округ Красногорск", "городской округ Подольск", "Химки",
                    "Одинцовский городской округ", "г.о. Люберцы", "Королёв", "Сергиево-Посадский городской округ",
                    "Раменский г.о.", "городской округ Коломна", "Домодедово", "Щёлково", "Электросталь",
                    "Наро-Фоминский городской округ", "городской округ Серпухов", "Пушкинский городской округ"),
    organizations=("ООО «УК Жилсервис»", "МУП «ЖКХ Мытищи»", "АО «Мосэнергосбыт»", "ТСЖ «Берёзка»",
                   "ООО «Управляющая компания №1»", "Администрация г.о. Балашиха", "МУП «Водоканал»",
                   "ООО «ДЕЗ Красногорск»", "ЖСК «Строитель-3»", "ООО «Комфорт-Сервис»"),
    categories=("Протечка кровли", "Отсутствие горячей воды", "Неисправность лифта", "Уборка подъезда",
                "Засор канализации", "Вывоз мусора и крупногабаритных отходов", "Недостаточная температура в квартире",
                "Наледь и сосульки на кровле", "Ямы во дворе и на проездах", "Запах газа"),
    texts=("Течёт крыша над квартирой, на потолке пятно", "Нет горячей воды третий день", "Лифт стоит с утра",
           "В подъезде не убирают две недели", "Прошу вывезти старую мебель у контейнерной площадки",
           "В квартире +16 градусов, батареи холодные", "Сосульки над входом во второй подъезд",
           "Яма у дома номер пять, машины объезжают по газону", "Пахнет газом на лестничной клетке"),
    addresses=("ул. Ленина, д. 1", "пр-т Мира, д. 12, корп. 2", "ш. Энтузиастов, д. 7", "ул. Советская, д. 33",
               "мкр. Южный, д. 4", "ул. Победы, д. 15а", "бульвар Строителей, д. 9"),
    unknown_municipalities=("Нарния", "городской округ Атлантида", "Лукоморье", "Китеж-град", "г.о. Зурбаган"),
    number_base=7_000_000,
)


def _fixture(name: str) -> tuple[tuple[str, ...], list[list[str]]]:
    with open(FIXTURES / name, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    return tuple(rows[0]), rows[1:]


BOSTON_HEADER, BOSTON_TEMPLATES = _fixture("boston311-100.csv")
NYC_HEADER, NYC_TEMPLATES = _fixture("nyc311-100.csv")

BOSTON = Family(
    key="boston", profile="boston311", header=BOSTON_HEADER, delimiter=",",
    fields={"number": "case_enquiry_id", "created": "open_dt", "deadline": "target_dt", "closed": "closed_dt",
            "status": "case_status", "municipality": "neighborhood", "organization": "queue", "address": "location",
            "category": "type", "text": "case_title"},
    date_format="%Y-%m-%d %H:%M:%S",
    open_words=("Open",), closed_words=("Closed",),
    municipalities=("Dorchester", "Roxbury", "South End", "Jamaica Plain", "East Boston", "Back Bay", "Brighton",
                    "Hyde Park", "Charlestown", "South Boston / South Boston Waterfront", "Downtown / Financial District"),
    organizations=("PWDx_Code Enforcement", "BTDT_Parking Enforcement", "GEN_Needle_Pickup", "INFO_Mass DOT",
                   "PWDx_Street Light Outages", "ISD_Housing (INTERNAL)"),
    categories=("Request for Pothole Repair", "Street Light Outages", "Needle Pickup", "Parking Enforcement",
                "Missed Trash/Recycling/Yard Waste/Bulk Item", "Unsatisfactory Living Conditions"),
    texts=("Pothole – large, near the crosswalk", "Street light out – whole block", "Needle on the sidewalk",
           "Car parked on the sidewalk", "Trash not picked up", "No heat in the apartment – landlord unreachable"),
    addresses=("42 Cross St  Boston  MA  02113", "INTERSECTION of Columbus Ave & Tremont St  Boston  MA",
               "120 Dorchester Ave  South Boston  MA  02127", "7 Centre St  Roxbury  MA  02119"),
    unknown_municipalities=("Atlantis", "Springfield Heights", "Narnia"),
    number_base=101_000_000_000,
)

NYC = Family(
    key="nyc", profile="nyc311", header=NYC_HEADER, delimiter=",",
    fields={"number": "Unique Key", "created": "Created Date", "deadline": "Due Date", "closed": "Closed Date",
            "status": "Status", "municipality": "Community Board", "organization": "Agency",
            "address": "Incident Address", "category": "Complaint Type", "text": "Descriptor"},
    date_format="%m/%d/%Y %I:%M:%S %p",
    open_words=("Open", "Assigned", "Pending", "In Progress"), closed_words=("Closed",),
    municipalities=(),  # the template row's own board (it goes with the row's borough)
    organizations=("NYPD", "HPD", "DOT", "DSNY", "DEP", "DOHMH"),
    categories=("Noise - Residential", "HEAT/HOT WATER", "Illegal Parking", "Street Condition", "Water System",
                "Blocked Driveway"),
    texts=("Loud Music/Party", "ENTIRE BUILDING – no heat", "Blocked Hydrant", "Pothole", "Leak (Use Comments) (WA2)",
           "No Access"),
    addresses=("3855 SHORE PARKWAY", "WEST 55 STREET", "1200 GRAND CONCOURSE", "45-12 QUEENS BOULEVARD"),
    unknown_municipalities=("99 ATLANTIS", "Unspecified NARNIA", "42 SPRINGFIELD"),
    number_base=60_000_000,
)

FAMILIES = {f.key: f for f in (EDS, BOSTON, NYC)}


# ---------------------------------------------------------------- a case


@dataclass
class Case:
    id: str
    cls: str
    family: str
    filename: str
    data: bytes
    records: int  # data records as written (0 for a file refused whole)
    outcome: str  # "import" | "refused"
    must_load: tuple[str, ...] = ()
    must_not_load: tuple[str, ...] = ()
    expect_exit: int | None = None  # 0, 4 or 1; None: 0 or 4 (rows read, whether any loads is not the point)
    solo: bool = False  # imported alone (a whole-file refusal, or a re-import of the group's base file)
    rule: str = ""  # how `records` was counted, where that could be ambiguous

    def write(self, folder: Path) -> Path:
        path = Path(folder) / self.filename
        path.write_bytes(self.data)
        return path


@dataclass
class Draft:
    """A file under construction: header and rows as values, and how they are to be written."""

    fam: Family
    header: list[str]
    rows: list[list[str]]
    numbers: list[str]
    raw: dict[int, str] = field(default_factory=dict)  # row -> its line as written (a corruption of the text)
    line_ends: list[str] | None = None  # per line (header first); default "\n"
    blank_after: dict[int, int] = field(default_factory=dict)  # row index (-1: the header) -> blank lines after it
    quoting: int = csv.QUOTE_MINIMAL
    final_newline: bool = True
    touched: set[int] = field(default_factory=set)  # rows the corruption changed (not in must_load)
    broken: set[int] = field(default_factory=set)  # rows the corruption made invalid (must_not_load)

    def col(self, name: str) -> int:
        return self.header.index(self.fam.fields[name])

    def line(self, values: list[str]) -> str:
        buffer = io.StringIO()
        csv.writer(buffer, delimiter=self.fam.delimiter, lineterminator="\r\n", quoting=self.quoting).writerow(values)
        return buffer.getvalue()[:-2]

    def text(self) -> str:
        lines = [self.line(self.header)] + [self.raw.get(i) or self.line(r) for i, r in enumerate(self.rows)]
        ends = self.line_ends or ["\n"] * len(lines)
        out = []
        for k, text in enumerate(lines):
            last = k == len(lines) - 1
            out.append(text)
            out.append("" if last and not self.final_newline else ends[k])
            out.append(ends[k] * self.blank_after.get(k - 1, 0))
        return "".join(out)

    def must_load(self) -> tuple[str, ...]:
        return tuple(n for i, n in enumerate(self.numbers) if i not in self.touched and i not in self.broken)

    def must_not_load(self) -> tuple[str, ...]:
        loaded = set(self.must_load())
        return tuple(sorted({self.numbers[i] for i in self.broken} - loaded))


def _clean(value: str, delimiter: str) -> str:
    """A template value without the characters that need quoting (a plain file has no quotes at all)."""
    for ch in (delimiter, '"', "\n", "\r"):
        value = value.replace(ch, " ")
    return value


def _row(fam: Family, number: int, rng: random.Random, plain: bool, multiline: bool = False) -> list[str]:
    """One valid request as the family's export writes it."""
    created = START + dt.timedelta(minutes=rng.randrange(WINDOW_MINUTES))
    if fam.key != "eds":
        created += dt.timedelta(seconds=rng.randrange(60))
    deadline = "" if rng.random() < 0.1 else fam.date(created + dt.timedelta(days=rng.randint(1, 10)))
    closed = rng.random() < 0.5
    closed_at = created + dt.timedelta(minutes=rng.randint(30, 9 * 24 * 60))
    if fam.key == "boston":
        values = list(rng.choice(BOSTON_TEMPLATES))
        municipality = rng.choice(fam.municipalities)
        values[fam.header.index("ontime")] = "ONTIME"
        values[fam.header.index("closure_reason")] = "Case Closed. Case Resolved." if closed else " "
    elif fam.key == "nyc":
        values = list(rng.choice(NYC_TEMPLATES))
        municipality = values[fam.header.index("Community Board")]
        values[fam.header.index("Resolution Action Updated Date")] = fam.date(closed_at) if closed else ""
    else:
        values = [""] * len(fam.header)
        municipality = rng.choice(fam.municipalities)
    text = rng.choice(fam.texts)
    if multiline:
        text = text + rng.choice(["\nПовторная заявка;\nсрочно", "\r\nsecond paragraph, \"quoted\"", "\n\nP.S. ; end"])
    mine = {
        "number": str(number), "created": fam.date(created), "deadline": deadline,
        "closed": fam.date(closed_at) if closed else "",
        "status": rng.choice(fam.closed_words if closed else fam.open_words),
        "municipality": municipality, "organization": rng.choice(fam.organizations),
        "address": rng.choice(fam.addresses), "category": rng.choice(fam.categories), "text": text,
        "export": fam.date(EXPORTED),
    }
    for name, value in mine.items():
        if fam.has(name):
            values[fam.col(name)] = value
    if plain:
        values = [_clean(v, fam.delimiter) for v in values]
    return values


def _draft(fam: Family, rng: random.Random, index: int, n: int | None = None, plain: bool = False,
           multiline: bool = False) -> Draft:
    n = n if n is not None else rng.randint(8, 24)
    base = fam.number_base + index * 100
    rows = [_row(fam, base + i, rng, plain, multiline and rng.random() < 0.3) for i in range(n)]
    return Draft(fam, list(fam.header), rows, [str(base + i) for i in range(n)])


def _case(draft: Draft, cls: str, index: int, *, data: bytes | None = None, encoding: str = "utf-8",
          bom: bytes = b"", outcome: str = "import", records: int | None = None, rule: str = "",
          expect_exit: int | None = None, solo: bool = False, suffix: str = ".csv", must_load=None,
          must_not_load=None) -> Case:
    if data is None:
        data = bom + draft.text().encode(encoding)
    if outcome == "refused":
        records, must_load, must_not_load, expect_exit, solo = 0, (), (), 1, True
    must_load = draft.must_load() if must_load is None else tuple(must_load)
    must_not_load = draft.must_not_load() if must_not_load is None else tuple(must_not_load)
    if expect_exit is None and must_load:
        expect_exit = 0
    return Case(id=f"{index:05d}-{draft.fam.key}-{cls}", cls=cls, family=draft.fam.key,
                filename=f"{index:05d}_{draft.fam.key}_{cls}{suffix}", data=data,
                records=len(draft.rows) if records is None else records, outcome=outcome, must_load=must_load,
                must_not_load=must_not_load, expect_exit=expect_exit, solo=solo, rule=rule)


# ---------------------------------------------------------------- the corruption classes
# Each builder: (family, rng, index, base) -> Case. `base` is the group's first (valid) file's draft.


def _pick(rng: random.Random, n: int, k: int) -> list[int]:
    return sorted(rng.sample(range(n), min(n, k)))


def c_valid(fam, rng, index, base):
    return _case(_draft(fam, rng, index), "valid", index)


def c_quote_all(fam, rng, index, base):
    d = _draft(fam, rng, index, multiline=True)
    d.quoting = csv.QUOTE_ALL
    return _case(d, "quote_all", index)


def c_multiline_text(fam, rng, index, base):
    d = _draft(fam, rng, index)
    for i in _pick(rng, len(d.rows), rng.randint(1, 4)):
        d.rows[i][d.col("text")] += rng.choice(["\nвторая строка", "\r\nline two;\r\nline three", "\n\n\"цитата\"",
                                                 "\n;;;\n"])
    return _case(d, "multiline_text", index, rule="a value with line breaks inside quotes is one record")


def _cut_inside_last(d: Draft, data: bytes, rng: random.Random, at_char: Callable[[str], list[int]] | None = None) -> bytes:
    """The file cut strictly inside its last record (at least one byte of it kept, not its end)."""
    start = len(d.text()[: len(d.text()) - len(d.line(d.rows[-1])) - 1].encode("utf-8"))
    last = d.line(d.rows[-1])
    if at_char is not None:
        positions = at_char(last)
        cut_char = rng.choice(positions)
        return data[: start + len(last[:cut_char].encode("utf-8"))]
    end = start + len(last.encode("utf-8"))
    return data[: rng.randrange(start + 1, end)]


def c_truncated_mid_line(fam, rng, index, base):
    d = _draft(fam, rng, index)
    d.touched.add(len(d.rows) - 1)
    data = _cut_inside_last(d, d.text().encode("utf-8"), rng)
    return _case(d, "truncated_mid_line", index, data=data, rule="a truncated last row counts as a record")


def _field_offset(d: Draft, values: list[str], k: int) -> int:
    """Where field k starts in the line of `values` (characters)."""
    return sum(len(_quoted(d, v)) + 1 for v in values[:k])


def _quoted(d: Draft, value: str) -> str:
    """One value as the row's writer writes it (quoted when it must be)."""
    return d.line([value, ""])[:-1]


def c_truncated_mid_quote(fam, rng, index, base):
    d = _draft(fam, rng, index)
    k = d.col("text")
    d.rows[-1][k] = "Текст с кавычками; «и» \"цитатой\", и дальше" if fam.key == "eds" else \
        'Text with "quotes", and more'
    d.touched.add(len(d.rows) - 1)
    opening = _field_offset(d, d.rows[-1], k)
    closing = opening + len(_quoted(d, d.rows[-1][k])) - 1

    def inside(line: str) -> list[int]:
        assert line[opening] == '"' and line[closing] == '"'
        return list(range(opening + 1, closing + 1))  # keep the opening quote, not the closing one

    data = _cut_inside_last(d, d.text().encode("utf-8"), rng, inside)
    return _case(d, "truncated_mid_quote", index, data=data,
                 rule="a truncated last row counts as a record (cut after its value's opening quote)")


def c_truncated_mid_utf8(fam, rng, index, base):
    d = _draft(fam, rng, index)
    d.rows[-1][d.col("text")] = "Протечка в подъезде" if fam.key == "eds" else "Pothole – near café"
    d.touched.add(len(d.rows) - 1)
    data = d.text().encode("utf-8")
    last = d.line(d.rows[-1])
    start = len(d.text().encode("utf-8")) - len(last.encode("utf-8")) - 1
    # Byte offsets inside a multi-byte character of the last line (never its first byte).
    inner = []
    at = start
    for ch in last:
        size = len(ch.encode("utf-8"))
        inner.extend(range(at + 1, at + size))
        at += size
    data = data[: rng.choice(inner)]
    return _case(d, "truncated_mid_utf8", index, data=data,
                 rule="a truncated last row counts as a record (cut inside a UTF-8 sequence)")


def _plain_line(d: Draft, values: list[str]) -> str:
    return d.fam.delimiter.join(values)


def c_stray_quote_open(fam, rng, index, base):
    d = _draft(fam, rng, index, plain=True)
    text_fields = [d.col(f) for f in ("organization", "address", "category", "text") if fam.has(f)]
    for i in _pick(rng, len(d.rows), rng.randint(1, 4)):
        values = list(d.rows[i])
        k = rng.choice(text_fields)
        values[k] = '"' + values[k]
        d.raw[i] = _plain_line(d, values)
        d.touched.add(i)
    return _case(d, "stray_quote_open", index,
                 rule="every row written is a record; a quote opens a value and never closes (no other quotes in the file)")


def c_stray_quote_mid(fam, rng, index, base):
    d = _draft(fam, rng, index, plain=True)
    for i in _pick(rng, len(d.rows), rng.randint(1, 6)):
        values = list(d.rows[i])
        k = rng.randrange(1, len(values))
        at = rng.randrange(0, len(values[k]) + 1)
        values[k] = values[k][:at] + '"' + values[k][at:]
        d.raw[i] = _plain_line(d, values)
        d.touched.add(i)
    return _case(d, "stray_quote_mid", index,
                 rule="every row written is a record; quotes dropped anywhere into values (no other quotes in the file)")


def c_unbalanced_quotes(fam, rng, index, base):
    """A value quoted but closed too early, or with its inner quote not doubled: `"УК "Тест" плюс"`."""
    d = _draft(fam, rng, index, plain=True)
    for i in _pick(rng, len(d.rows), rng.randint(1, 4)):
        values = list(d.rows[i])
        k = d.col("organization")
        v = values[k]
        values[k] = rng.choice([f'"{v}" хвост', f'"{v[:3]}"{v[3:]}"', f'{v}"""', f'"{v}"" '])
        d.raw[i] = _plain_line(d, values)
        d.touched.add(i)
    return _case(d, "unbalanced_quotes", index,
                 rule="every row written is a record (no other quotes in the file)")


# The columns an import profile reads (data/import_profiles/*.toml): a value moved between two other
# columns changes nothing that is loaded.
MEANINGFUL = {
    "eds": EDS_HEADER,
    "boston": ("case_enquiry_id", "open_dt", "target_dt", "closed_dt", "case_status", "neighborhood", "queue",
               "department", "location", "type", "source", "case_title", "latitude", "longitude"),
    "nyc": ("Unique Key", "Created Date", "Due Date", "Closed Date", "Status", "Borough", "Community Board", "Agency",
            "Agency Name", "Incident Address", "Complaint Type", "Open Data Channel Type", "Descriptor", "Latitude",
            "Longitude"),
}


def _doubled(fam: Family, values: list[str], k: int) -> tuple[list[str], bool]:
    """The row with a delimiter doubled before value k (one column more), and whether that breaks it:
    a value in the surplus column, or a value the profile reads moved into another column. (An empty
    surplus column with every read value in place is the same request: loading it is no error.)"""
    doubled = values[:k] + [""] + values[k:]
    moved = any(doubled[c] != values[c] for c, name in enumerate(fam.header) if name in MEANINGFUL[fam.key])
    return doubled, doubled[-1] != "" or moved


def c_doubled_delimiter(fam, rng, index, base):
    d = _draft(fam, rng, index, plain=True)
    for i in _pick(rng, len(d.rows), rng.randint(1, 4)):
        values = list(d.rows[i])
        if rng.random() < 0.5:  # the row's last value empty: the surplus column is empty too
            values[-1] = d.rows[i][-1] = ""
        doubled, breaks = _doubled(fam, values, rng.randrange(1, len(values)))
        d.raw[i] = _plain_line(d, doubled)
        (d.broken if breaks else d.touched).add(i)
    return _case(d, "doubled_delimiter", index,
                 rule="a row with a column too many is one record; it must not load when a value moved")


def c_missing_delimiter(fam, rng, index, base):
    d = _draft(fam, rng, index, plain=True)
    for i in _pick(rng, len(d.rows), rng.randint(1, 4)):
        values = list(d.rows[i])
        k = rng.randrange(1, len(values))
        values[k - 1:k + 1] = [values[k - 1] + values[k]]  # one column less
        d.raw[i] = _plain_line(d, values)
        d.broken.add(i)
    return _case(d, "missing_delimiter", index, rule="a row with a column too few is one record")


def c_extra_columns(fam, rng, index, base):
    d = _draft(fam, rng, index)
    for name in rng.sample(["Примечание", "Comment", "", "Внутренний код", "x"], rng.randint(1, 3)):
        at = rng.randint(0, len(d.header))
        d.header.insert(at, name)
        for r in d.rows:
            r.insert(at, rng.choice(["", "примечание", "42", "n/a"]))
    return _case(d, "extra_columns", index)


OPTIONAL = {"eds": ["Срок", "Организация", "Адрес", "Текст", "Дата выгрузки"],
            "boston": ["target_dt", "queue", "case_title", "location", "latitude", "ontime"],
            "nyc": ["Due Date", "Agency", "Descriptor", "Incident Address", "Location", "Borough"]}
REQUIRED = {"eds": ["Номер", "Дата создания", "Муниципальное образование", "Категория"],
            "boston": ["case_enquiry_id", "open_dt", "neighborhood"],
            "nyc": ["Unique Key", "Created Date", "Community Board", "Complaint Type"]}


def _drop(d: Draft, name: str) -> None:
    k = d.header.index(name)
    del d.header[k]
    for r in d.rows:
        del r[k]


def c_missing_optional_column(fam, rng, index, base):
    d = _draft(fam, rng, index)
    for name in rng.sample(OPTIONAL[fam.key], rng.randint(1, 2)):
        _drop(d, name)
    return _case(d, "missing_optional_column", index)


def c_missing_required_column(fam, rng, index, base):
    d = _draft(fam, rng, index)
    _drop(d, rng.choice(REQUIRED[fam.key]))
    return _case(d, "missing_required_column", index, outcome="refused",
                 rule="a required column missing: no profile recognises the header (auto), the file is refused whole")


def c_reordered_columns(fam, rng, index, base):
    d = _draft(fam, rng, index)
    order = list(range(len(d.header)))
    rng.shuffle(order)
    d.header = [d.header[k] for k in order]
    d.rows = [[r[k] for k in order] for r in d.rows]
    return _case(d, "reordered_columns", index)


def c_blank_lines(fam, rng, index, base):
    d = _draft(fam, rng, index)
    for _ in range(rng.randint(1, 6)):
        at = rng.randrange(-1, len(d.rows))
        d.blank_after[at] = d.blank_after.get(at, 0) + rng.randint(1, 3)
    return _case(d, "blank_lines", index, rule="a blank line is not a record")


def c_delimiters_only_line(fam, rng, index, base):
    d = _draft(fam, rng, index)
    at = rng.randrange(0, len(d.rows) + 1)
    d.rows.insert(at, [""] * len(d.header))
    d.numbers.insert(at, "")
    d.broken.add(at)
    d.raw[at] = fam.delimiter * (len(d.header) - 1)
    return _case(d, "delimiters_only_line", index, must_not_load=(),
                 rule="a line of delimiters only (every value empty) is a record")


def _line_ends(d: Draft, choices: list[str], rng: random.Random) -> None:
    d.line_ends = [rng.choice(choices) for _ in range(len(d.rows) + 1)]


def c_line_end_cr(fam, rng, index, base):
    d = _draft(fam, rng, index)
    d.line_ends = ["\r"] * (len(d.rows) + 1)
    d.final_newline = rng.random() < 0.7
    return _case(d, "line_end_cr", index)


def c_line_end_crcrlf(fam, rng, index, base):
    d = _draft(fam, rng, index)
    d.line_ends = ["\r\r\n"] * (len(d.rows) + 1)
    return _case(d, "line_end_crcrlf", index)


def c_line_end_crlf(fam, rng, index, base):
    d = _draft(fam, rng, index, multiline=True)
    d.line_ends = ["\r\n"] * (len(d.rows) + 1)
    d.final_newline = rng.random() < 0.7
    return _case(d, "line_end_crlf", index)


def c_line_end_mixed(fam, rng, index, base):
    d = _draft(fam, rng, index)
    _line_ends(d, ["\n", "\r\n", "\r", "\r\r\n"], rng)
    d.line_ends[0] = rng.choice(["\n", "\r\n"])
    d.line_ends[1] = "\r"  # at least one of each kind that DuckDB refuses as it is
    d.final_newline = rng.random() < 0.7
    return _case(d, "line_end_mixed", index)


def c_utf8_bom(fam, rng, index, base):
    d = _draft(fam, rng, index)
    return _case(d, "utf8_bom", index, bom=codecs.BOM_UTF8)


def _utf16(cls: str, codec: str, bom: bytes):
    def build(fam, rng, index, base):
        d = _draft(fam, rng, index)
        if rng.random() < 0.5:
            d.line_ends = ["\r\n"] * (len(d.rows) + 1)
        return _case(d, cls, index, encoding=codec, bom=bom)
    build.__name__ = f"c_{cls}"
    return build


c_utf16le_bom = _utf16("utf16le_bom", "utf-16-le", codecs.BOM_UTF16_LE)
c_utf16be_bom = _utf16("utf16be_bom", "utf-16-be", codecs.BOM_UTF16_BE)
c_utf16le_nobom = _utf16("utf16le_nobom", "utf-16-le", b"")
c_utf16be_nobom = _utf16("utf16be_nobom", "utf-16-be", b"")


def c_cp1251(fam, rng, index, base):
    d = _draft(fam, rng, index)
    d.line_ends = [rng.choice(["\r\n", "\n"])] * (len(d.rows) + 1)
    return _case(d, "cp1251", index, encoding="cp1251")


def _inject_bytes(d: Draft, rows: list[int], payload: Callable[[random.Random], bytes], rng: random.Random) -> bytes:
    """The file's UTF-8 bytes with a payload put into a value of each of `rows` (inside a value,
    never into a delimiter or a line end)."""
    out = [d.line(d.header).encode("utf-8") + b"\n"]
    for i, r in enumerate(d.rows):
        line = d.line(r)
        if i in rows:
            k = d.col("text") if d.fam.has("text") else len(r) - 1
            prefix = line[:_field_offset(d, r, k)]
            value = _quoted(d, r[k])
            at = len(prefix) + rng.randrange(0, len(value) + 1)
            if value.startswith('"'):
                at = len(prefix) + rng.randrange(1, len(value))
            line_bytes = line[:at].encode("utf-8") + payload(rng) + line[at:].encode("utf-8")
            out.append(line_bytes + b"\n")
        else:
            out.append(line.encode("utf-8") + b"\n")
    return b"".join(out)


def c_invalid_utf8(fam, rng, index, base):
    d = _draft(fam, rng, index)
    rows = _pick(rng, len(d.rows), rng.randint(1, 3))
    data = _inject_bytes(d, rows, lambda r: r.choice([b"\xff", b"\xc3\x28", b"\xe2\x82", b"\xfe\xfe", b"\x80"]), rng)
    if fam.key == "eds":  # rich in Cyrillic: read as UTF-8, the rows with a bad byte refused
        d.broken.update(rows)
    else:  # an ASCII file with stray high bytes is Windows-1251 text: those rows may load
        d.touched.update(rows)
    return _case(d, "invalid_utf8", index, data=data, rule="every row written is a record")


def c_nul_bytes(fam, rng, index, base):
    d = _draft(fam, rng, index)
    rows = _pick(rng, len(d.rows), rng.randint(1, 3))
    data = _inject_bytes(d, rows, lambda r: b"\x00" * r.randint(1, 3), rng)
    d.touched.update(rows)
    return _case(d, "nul_bytes", index, data=data, rule="every row written is a record (NUL bytes inside values)")


def c_header_cell_131k(fam, rng, index, base):
    """An extra column whose name is longer than Python's csv default field limit (131,072)."""
    d = _draft(fam, rng, index)
    at = rng.randint(0, len(d.header))
    d.header.insert(at, "Комментарий " + "ж" * rng.randint(131_073, 140_000))
    for r in d.rows:
        r.insert(at, "")
    return _case(d, "header_cell_131k", index)


def c_header_cell_131k_alone(fam, rng, index, base):
    """A header of one known column and one over 131,072 characters: no profile recognises it."""
    d = _draft(fam, rng, index, n=2)
    data = (d.header[0] + fam.delimiter + "x" * rng.randint(131_073, 300_000) + "\n1" + fam.delimiter + "2\n").encode()
    return _case(d, "header_cell_131k_alone", index, data=data, outcome="refused")


def c_value_1mb(fam, rng, index, base):
    d = _draft(fam, rng, index)
    i = rng.randrange(len(d.rows))
    unit = "Очень длинное обращение жителя. " if fam.key == "eds" else "A very long complaint text. "
    size = (1 << 20) + rng.randrange(1000)
    text = (unit * (size // len(unit.encode("utf-8")) + 1)).encode("utf-8")[:size].decode("utf-8", errors="ignore")
    d.rows[i][d.col("text")] = text
    return _case(d, "value_1mb", index)


def _bad_dates(fam: Family) -> list[tuple[str, str]]:
    """(field, value) that make a row invalid: implausible years, impossible days and times."""
    f = fam.date
    base = dt.datetime(2025, 10, 5, 10, 0)
    if fam.key == "eds":
        impossible = ["31.02.2025 10:00", "05.10.2025 25:61", "00.10.2025 10:00", "05.13.2025 10:00"]
    elif fam.key == "boston":
        impossible = ["2025-02-31 10:00:00", "2025-10-05 25:61:00", "2025-13-05 10:00:00"]
    else:
        impossible = ["02/31/2025 10:00:00 AM", "10/05/2025 25:61:00 PM", "13/05/2025 10:00:00 AM"]
    out = [("created", v) for v in impossible]
    out += [("created", f(base.replace(year=y))) for y in (1, 1899, 2099, 9999)]
    out += [("deadline", f(base.replace(year=9999))), ("deadline", impossible[0]), ("deadline", f(base.replace(year=1)))]
    out += [("closed", f(base.replace(year=1))), ("closed", f(base.replace(year=2099))), ("closed", impossible[1])]
    if fam.has("export"):
        out += [("export", f(base.replace(year=9999))), ("export", f(base.replace(year=1899)))]
    return out


def c_dates_out_of_range(fam, rng, index, base):
    d = _draft(fam, rng, index)
    for i in _pick(rng, len(d.rows), rng.randint(1, 5)):
        name, value = rng.choice(_bad_dates(fam))
        d.rows[i][d.col(name)] = value
        if name == "closed":
            d.rows[i][d.col("status")] = fam.closed_words[0]
        d.broken.add(i)
    return _case(d, "dates_out_of_range", index)


def _set_dates(d: Draft, i: int, created: dt.datetime, deadline=None, closed=None) -> None:
    fam = d.fam
    d.rows[i][d.col("created")] = fam.date(created)
    d.rows[i][d.col("deadline")] = fam.date(deadline) if deadline else ""
    d.rows[i][d.col("closed")] = fam.date(closed) if closed else ""
    d.rows[i][d.col("status")] = fam.closed_words[0] if closed else fam.open_words[0]


def c_deadline_equal_created(fam, rng, index, base):
    d = _draft(fam, rng, index)
    for i in _pick(rng, len(d.rows), rng.randint(1, 5)):
        created = START + dt.timedelta(minutes=rng.randrange(WINDOW_MINUTES))
        _set_dates(d, i, created, deadline=created, closed=created + dt.timedelta(hours=2) if rng.random() < 0.5 else None)
    return _case(d, "deadline_equal_created", index)


def c_deadline_before_created(fam, rng, index, base):
    d = _draft(fam, rng, index)
    for i in _pick(rng, len(d.rows), rng.randint(1, 5)):
        created = START + dt.timedelta(days=5, minutes=rng.randrange(WINDOW_MINUTES - 5 * 24 * 60))
        _set_dates(d, i, created, deadline=created - dt.timedelta(minutes=rng.randint(1, 3 * 24 * 60)))
        d.broken.add(i)
    return _case(d, "deadline_before_created", index)


def c_closed_before_created(fam, rng, index, base):
    d = _draft(fam, rng, index)
    for i in _pick(rng, len(d.rows), rng.randint(1, 5)):
        created = START + dt.timedelta(days=5, minutes=rng.randrange(WINDOW_MINUTES - 5 * 24 * 60))
        _set_dates(d, i, created, deadline=created + dt.timedelta(days=3),
                   closed=created - dt.timedelta(minutes=rng.randint(1, 3 * 24 * 60)))
        d.broken.add(i)
    return _case(d, "closed_before_created", index)


def c_unknown_municipality(fam, rng, index, base):
    d = _draft(fam, rng, index)
    for i in _pick(rng, len(d.rows), rng.randint(1, 4)):
        d.rows[i][d.col("municipality")] = rng.choice(fam.unknown_municipalities)
        (d.broken if fam.key == "eds" else d.touched).add(i)  # a 311 profile creates the places it meets
    return _case(d, "unknown_municipality", index)


SPELLINGS = (("городской округ Красногорск", "г.о. Красногорск", "Красногорск"),
             ("Одинцовский городской округ", "Одинцовский г.о.", "Одинцовский"),
             ("городской округ Балашиха", "Балашиха", "г. о. Балашиха"),
             ("городской округ Мытищи", "МЫТИЩИ", "  Мытищи  "),
             ("городской округ Королёв", "Королев", "г.о. Королёв"))


def c_municipality_3_spellings(fam, rng, index, base):
    d = _draft(fam, rng, index)
    ways = rng.choice(SPELLINGS)
    for i in range(len(d.rows)):
        d.rows[i][d.col("municipality")] = ways[i % 3]
    return _case(d, "municipality_3_spellings", index)


def c_injection_strings(fam, rng, index, base):
    d = _draft(fam, rng, index)
    targets = [f for f in ("organization", "address", "category", "text") if fam.has(f)]
    for i in _pick(rng, len(d.rows), rng.randint(3, len(d.rows))):
        for name in rng.sample(targets, rng.randint(1, len(targets))):
            d.rows[i][d.col(name)] = rng.choice(INJECTIONS)
    return _case(d, "injection_strings", index)


def c_duplicate_conflict(fam, rng, index, base):
    d = _draft(fam, rng, index)
    i = rng.randrange(len(d.rows))
    copy = list(d.rows[i])
    k = d.col("category")
    copy[k] = next(c for c in fam.categories if c != copy[k])
    at = rng.randint(i + 1, len(d.rows))
    d.rows.insert(at, copy)
    d.numbers.insert(at, d.numbers[i])
    d.broken.update({i, at})
    return _case(d, "duplicate_conflict", index, rule="both rows of a repeated number are records")


def c_duplicate_exact(fam, rng, index, base):
    d = _draft(fam, rng, index)
    i = rng.randrange(len(d.rows))
    at = rng.randint(i + 1, len(d.rows))
    d.rows.insert(at, list(d.rows[i]))
    d.numbers.insert(at, d.numbers[i])
    return _case(d, "duplicate_exact", index, rule="both copies are records")


def c_empty_file(fam, rng, index, base):
    return _case(_draft(fam, rng, index, n=0), "empty_file", index, data=b"", outcome="refused")


def c_header_only(fam, rng, index, base):
    d = _draft(fam, rng, index, n=0)
    return _case(d, "header_only", index, outcome="refused",
                 rule="no record: nothing says what moment the data describe, the file is refused whole")


def c_binary_garbage(fam, rng, index, base):
    size = rng.choice([16, 300, 5000, 70_000])
    data = rng.randbytes(size)
    return _case(_draft(fam, rng, index, n=0), "binary_garbage", index, data=data, outcome="refused",
                 suffix=rng.choice([".csv", ".txt", ".CSV"]))


def c_xlsx_corrupt(fam, rng, index, base):
    valid = _xlsx_bytes(_draft(fam, rng, index, n=3), rng, odd=False)
    data = rng.choice([valid[: len(valid) // 2], b"PK\x03\x04" + rng.randbytes(2000),
                       b"not a workbook at all"])
    return _case(_draft(fam, rng, index, n=0), "xlsx_corrupt", index, data=data, outcome="refused", suffix=".xlsx")


def _xlsx_bytes(d: Draft, rng: random.Random, odd: bool) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(list(d.header))
    for r in d.rows:
        sheet.append(list(r))
    if odd:
        number, created, deadline = d.col("number"), d.col("created"), d.col("deadline")
        text = d.col("text") if d.fam.has("text") else None
        parse = d.fam.date_format
        for i, r in enumerate(d.rows):
            row = i + 2
            kind = i % 6
            if kind == 0:  # the number as a numeric cell, the dates as real Excel dates
                sheet.cell(row, number + 1, value=int(r[number]))
                sheet.cell(row, created + 1, value=dt.datetime.strptime(r[created], parse))
                if r[deadline]:
                    sheet.cell(row, deadline + 1, value=dt.datetime.strptime(r[deadline], parse))
            elif kind == 1:  # the number as a float cell
                sheet.cell(row, number + 1, value=float(r[number]))
            elif kind == 2 and text is not None:  # a formula (no cached value: read as empty) in the text
                sheet.cell(row, text + 1, value='=HYPERLINK("http://x")')
            elif kind == 3 and text is not None:  # a long text with line breaks, a boolean as the address
                sheet.cell(row, text + 1, value="строка 1\nстрока 2\r\n" + "ж" * 30_000)
                sheet.cell(row, d.col("address") + 1, value=True)
            elif kind == 4 and text is not None:  # a number where text is expected
                sheet.cell(row, text + 1, value=3.14159)
        if text is not None and len(d.rows) > 5:
            sheet.merge_cells(start_row=3, start_column=text + 1, end_row=4, end_column=text + 1)
        sheet.cell(len(d.rows) + 5, 1).number_format = "0.00"  # a formatted, empty cell below the data
    book.properties.created = book.properties.modified = dt.datetime(2025, 11, 15, 8, 0)
    buffer = io.BytesIO()
    book.save(buffer)
    return _fixed_zip(buffer.getvalue())


def _fixed_zip(data: bytes) -> bytes:
    """The workbook with fixed times on its zip entries (openpyxl stamps the current time: the
    corpus must be the same bytes on every run)."""
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            info = zipfile.ZipInfo(item.filename, date_time=(2025, 11, 15, 8, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            content = source.read(item.filename)
            if item.filename == "docProps/core.xml":  # openpyxl writes the time of saving as "modified"
                content = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>2025-11-15T08:00:00Z", content)
            target.writestr(info, content)
    return out.getvalue()


def c_xlsx_odd_cells(fam, rng, index, base):
    d = _draft(fam, rng, index)
    data = _xlsx_bytes(d, rng, odd=True)
    return _case(d, "xlsx_odd_cells", index, data=data, suffix=".xlsx",
                 rule="a sheet row is a record; numeric, date, formula, merged and long cells are values")


def c_reimport_same(fam, rng, index, base):
    """The group's first file again, byte for byte (under its own name)."""
    d = base
    return _case(d, "reimport_same", index, data=d.text().encode("utf-8"), solo=True, must_not_load=())


def _copy(base: Draft) -> Draft:
    return Draft(base.fam, list(base.header), [list(r) for r in base.rows], list(base.numbers))


def c_update_newer(fam, rng, index, base):
    """A newer export of the group's first file: open requests closed, the export time later."""
    d = _copy(base)
    for r in d.rows:
        if r[d.col("closed")] == "":
            created = dt.datetime.strptime(r[d.col("created")], fam.date_format)
            r[d.col("closed")] = fam.date(created + dt.timedelta(hours=rng.randint(1, 48)))
            r[d.col("status")] = fam.closed_words[0]
        if fam.has("export"):
            r[d.col("export")] = fam.date(NEWER_EXPORT)
    return _case(d, "update_newer", index, solo=True)


def c_older_export(fam, rng, index, base):
    """An older export of the group's first file: every request still open, the export time earlier."""
    d = _copy(base)
    for r in d.rows:
        r[d.col("closed")] = ""
        r[d.col("status")] = fam.open_words[0]
        if fam.has("export"):
            r[d.col("export")] = fam.date(OLDER_EXPORT)
    return _case(d, "older_export", index, solo=True)


BUILDERS: dict[str, Callable] = {name[2:]: fn for name, fn in sorted(globals().items()) if name.startswith("c_")}
EDS_ONLY = {"municipality_3_spellings"}
CLASSES = tuple(sorted(BUILDERS))


# ---------------------------------------------------------------- the corpus


@dataclass
class Group:
    """Cases imported one after another into one database (the first: a valid file the others can
    re-import or update)."""

    family: str
    cases: list[Case]
    base: Draft | None = None


GROUP_SIZE = 6  # corrupted files per database, after the group's valid first file


def build(cls: str, family: str, seed: int, index: int, base: Draft | None = None) -> Case:
    """One case, determined by (class, family, seed, index) alone."""
    fam = FAMILIES[family]
    rng = random.Random(f"{seed}:{index}:{cls}:{family}")
    if base is None:
        base = _draft(fam, random.Random(f"{seed}:{index}:base"), index + 50_000)
    return BUILDERS[cls](fam, rng, index, base)


def corpus(n: int, seed: int = 0, classes: tuple[str, ...] = CLASSES) -> list[Group]:
    """At least n corrupted files (plus each group's valid first file), every class in turn, each
    over the three formats in turn (ЕДС-only classes on ЕДС files), in groups of GROUP_SIZE per
    database."""
    plan: dict[str, list[str]] = {k: [] for k in FAMILIES}
    for k in range(n):
        cls = classes[k % len(classes)]
        family = list(FAMILIES)[(k // len(classes)) % len(FAMILIES)]
        if cls in EDS_ONLY:
            family = "eds"
        plan[family].append(cls)
    groups, index = [], 0
    for family, wanted in plan.items():
        for start in range(0, len(wanted), GROUP_SIZE):
            fam = FAMILIES[family]
            base = _draft(fam, random.Random(f"{seed}:{index}:base"), index)
            first = _case(base, "valid", index)
            index += 1
            cases = [first]
            for cls in wanted[start:start + GROUP_SIZE]:
                cases.append(build(cls, family, seed, index, base))
                index += 1
            groups.append(Group(family, cases, base))
    return groups


# ---------------------------------------------------------------- row-level mutations (for hypothesis)

ROW_OPS = ("blank_line", "doubled_delimiter", "missing_delimiter", "bad_date", "injection", "nul", "invalid_byte",
           "stray_quote", "cr_end", "crcrlf_end", "duplicate", "unknown_municipality", "deadline_equal")
BREAKING = {"doubled_delimiter", "missing_delimiter", "bad_date"}


def mixed(family: str, seed: int, ops: list[tuple[str, int]], index: int = 90_000) -> Case:
    """A file with several row-level corruptions at once (drawn by hypothesis): each op applies to
    row k % n. Count rules as for the single classes: every row written is a record, blank lines
    are not; a row touched by one breaking op only must not load, a row touched by nothing (or only by
    an injection string, a line end or a deadline at creation) must load."""
    fam = FAMILIES[family]
    rng = random.Random(f"mixed:{seed}")
    d = _draft(fam, rng, index, n=rng.randint(6, 16), plain=True)
    n = len(d.rows)
    d.line_ends = ["\n"] * (n + 1)
    per_row: dict[int, list[str]] = {}
    harmless_rows: set[int] = set()  # a doubled delimiter that moved no value the profile reads
    values = [list(r) for r in d.rows]
    prefix: dict[int, bytes] = {}
    dupes = []
    for op, k in ops:
        i = k % n
        per_row.setdefault(i, []).append(op)
        row = values[i]
        if op == "blank_line":
            d.blank_after[i] = d.blank_after.get(i, 0) + 1
        elif op == "doubled_delimiter":
            if rng.random() < 0.5:
                row[-1] = ""
            doubled, breaks = _doubled(fam, row, rng.randrange(1, len(row))) if len(row) == len(fam.header) \
                else (row[:1] + [""] + row[1:], True)
            row[:] = doubled
            if not breaks:
                harmless_rows.add(i)
        elif op == "missing_delimiter":
            j = rng.randrange(1, len(row))
            row[j - 1:j + 1] = [row[j - 1] + row[j]]
        elif op == "bad_date":
            name, value = rng.choice([b for b in _bad_dates(fam) if b[0] != "export"])
            if len(row) == len(fam.header):
                row[fam.col(name)] = value
        elif op == "injection":
            j = fam.col("text")
            if len(row) == len(fam.header):
                row[j] = rng.choice([s for s in INJECTIONS if '"' not in s and fam.delimiter not in s])
        elif op == "nul":
            prefix.setdefault(i, b"")
            prefix[i] += b"\x00"
        elif op == "invalid_byte":
            prefix.setdefault(i, b"")
            prefix[i] += b"\xff"
        elif op == "stray_quote":
            j = rng.randrange(1, len(row))
            row[j] = '"' + row[j]
        elif op == "cr_end":
            d.line_ends[i + 1] = "\r"
        elif op == "crcrlf_end":
            d.line_ends[i + 1] = "\r\r\n"
        elif op == "duplicate":
            dupes.append(i)
        elif op == "unknown_municipality":
            if len(row) == len(fam.header):
                row[fam.col("municipality")] = rng.choice(fam.unknown_municipalities)
        elif op == "deadline_equal":
            if len(row) == len(fam.header):
                row[fam.col("deadline")] = row[fam.col("created")]
    lines = [fam.delimiter.join(fam.header).encode("utf-8")]
    for i, row in enumerate(values):
        text = fam.delimiter.join(row)
        if i in prefix:  # the bytes go into the last value (text or the export time), not a delimiter
            cut = text.rfind(fam.delimiter) + 1 + 1
            lines.append(text[:cut].encode("utf-8") + prefix[i] + text[cut:].encode("utf-8"))
        else:
            lines.append(text.encode("utf-8"))
    extra = [lines[i + 1] for i in dupes]
    out = []
    for k, line in enumerate(lines):
        end = d.line_ends[k].encode()
        out.append(line + end + end * d.blank_after.get(k - 1, 0))
    for line in extra:
        out.append(line + b"\n")
    harmless = {"blank_line", "injection", "cr_end", "crcrlf_end", "deadline_equal"}
    if fam.key != "eds":
        harmless.add("unknown_municipality")
    must_load = [d.numbers[i] for i in range(n) if set(per_row.get(i, [])) <= harmless and i not in dupes]
    must_not = [d.numbers[i] for i in range(n) if len(per_row.get(i, [])) == 1 and per_row[i][0] in BREAKING
                and i not in dupes and i not in harmless_rows]
    if fam.key == "eds":
        must_not += [d.numbers[i] for i in range(n) if per_row.get(i) == ["unknown_municipality"] and i not in dupes]
        must_not += [d.numbers[i] for i in range(n) if per_row.get(i) == ["invalid_byte"] and i not in dupes]
    if any(op == "stray_quote" for op, _ in ops):  # a stray quote can pair with one in another row
        must_not = [x for x in must_not if all(op != "stray_quote" for op in per_row.get(d.numbers.index(x), []))]
    case = _case(d, "mixed", index, data=b"".join(out), records=n + len(dupes), must_load=must_load,
                 must_not_load=must_not,
                 rule="every row written is a record, blank lines are not")
    case.id = f"mixed-{family}-{seed}"
    case.filename = f"mixed_{family}_{seed}.csv"
    return case


# ---------------------------------------------------------------- the harness


@dataclass
class Result:
    case: Case
    status: str  # imported | refused | crashed
    failures: list[str] = field(default_factory=list)
    via: str = "in-process"
    message: str = ""


def _message_problems(message: str, folder: Path) -> list[str]:
    found = [leak for leak in LEAKS if leak.lower() in message.lower()]
    if str(folder) in message or str(Path(folder).resolve()) in message:
        found.append("the working folder's path")
    if not message.strip():
        found.append("an empty message")
    controls = sorted({f"U+{ord(ch):04X}" for ch in message if (ord(ch) < 32 and ch not in "\n\t") or 127 <= ord(ch) < 160})
    if controls:  # a file's raw bytes echoed: ESC, BEL, NUL … reach the terminal or the page as they are
        found.append(f"control characters {controls[:8]}")
    if len(message) > MESSAGE_LIMIT:
        found.append(f"{len(message):,} characters long")
    return found


def _snapshot(db: Path) -> tuple | None:
    import duckdb

    if not db.exists():
        return None
    with duckdb.connect(str(db), read_only=True) as con:
        return tuple(con.execute("select (select count(*) from tickets), (select coalesce(max(import_id), 0) from "
                                 "imports), (select max(as_of) from dataset)").fetchone())


def _release(db: Path) -> None:
    """Close the shared read-only connections oversight.store keeps for this file (the checks open
    it; hundreds of databases would otherwise stay open)."""
    from oversight import store

    resolved = str(Path(db).resolve())
    try:
        with store._lock:
            for key in [k for k in store._connections if k[0] == resolved]:
                con = store._connections.pop(key)
                store._attachments.pop(id(con), None)
                for cursor in store._drop_cursors(con):
                    cursor.close()
                con.close()
    except AttributeError:  # another version of the store: leave its connections alone
        pass


def _database_checks(db: Path) -> tuple[list[str], set[str]]:
    """After an import (or a refusal): the database breaks no invariant and opens. Returns the
    failures and the numbers it holds."""
    import duckdb

    from oversight import store
    from oversight.access import EVERYTHING

    if not db.exists():
        return [], set()
    failures = []
    try:
        problems = store.file_problems(db)
        if problems:
            failures.append(f"database breaks invariants: {problems}")
        info = store.dataset_info(store.connect(db, EVERYTHING))
        if info.get("as_of") is None:
            failures.append("database has no as_of")
        with duckdb.connect(str(db), read_only=True) as con:
            held = {r[0] for r in con.execute("select external_id from tickets").fetchall()}
    except Exception as error:  # noqa: BLE001 - a database that does not open is the failure reported
        failures.append(f"database does not open: {type(error).__name__}: {str(error)[:300]}")
        held = set()
    finally:
        _release(db)
    return failures, held


def _expected_exit(cases: list[Case]) -> set[int]:
    if any(c.outcome == "refused" for c in cases):
        return {1}
    if any(c.expect_exit == 0 for c in cases):
        return {0}
    if all(c.expect_exit == 4 for c in cases):
        return {4}
    return {0, 4}


def _report_checks(cases: list[Case], files: list[dict], totals: dict) -> dict[str, list[str]]:
    """Per case: rows read = the generator's count, read = loaded + refused (per file and in total)."""
    out: dict[str, list[str]] = {c.id: [] for c in cases}
    if len(files) != len(cases):
        for c in cases:
            out[c.id].append(f"report lists {len(files)} files for {len(cases)}")
        return out
    for c, f in zip(cases, files):
        if f["rows_read"] != c.records:
            out[c.id].append(f"count: rows_read {f['rows_read']} != {c.records} records written "
                             f"(loaded {f['loaded']}, rejected {f['rejected']})")
        if f["rows_read"] != f["loaded"] + f["rejected"]:
            out[c.id].append(f"file does not reconcile: read {f['rows_read']} != loaded {f['loaded']} + "
                             f"rejected {f['rejected']}")
    if totals["rows_read"] != totals["loaded"] + totals["rejected"]:
        for c in cases:
            out[c.id].append(f"import does not reconcile: read {totals['rows_read']} != loaded {totals['loaded']} "
                             f"+ rejected {totals['rejected']}")
    if sum(totals["reasons"].values()) != totals["rejected"]:
        for c in cases:
            out[c.id].append(f"reasons {sum(totals['reasons'].values())} != rejected {totals['rejected']}")
    return out


def _numbers_checks(cases: list[Case], held: set[str]) -> dict[str, list[str]]:
    out = {}
    for c in cases:
        problems = []
        lost = [x for x in c.must_load if x not in held]
        if lost:
            problems.append(f"valid rows not in the database: {lost[:10]}{' …' if len(lost) > 10 else ''}")
        let_in = [x for x in c.must_not_load if x in held]
        if let_in:
            problems.append(f"invalid rows loaded: {let_in[:10]}")
        out[c.id] = problems
    return out


class _Logged(logging.Handler):
    """The errors the importer logs with a traceback (an unforeseen failure, given an incident number)."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.errors: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[0] is not None:
            self.errors.append(record)


def _import_step(cases: list[Case], db: Path, folder: Path) -> list[Result]:
    """One import of one or more files in-process, and every check."""
    from oversight.ingest import importer

    paths = [c.write(folder) for c in cases]
    before = _snapshot(db)
    expected = _expected_exit(cases)
    results = {c.id: Result(c, "imported") for c in cases}
    report = None
    logged = _Logged()
    logging.getLogger("oversight").addHandler(logged)
    try:
        report = importer.import_files(paths, db)
        code = 0 if report.loaded else 4
    except importer.ImportError_ as error:
        code = 1
        message = str(error)
        for r in results.values():
            r.status, r.message = "refused", message
            leaks = _message_problems(message, folder)
            if leaks:
                r.failures.append(f"message not plain ({leaks}): {message[:300]!r}")
            for record in logged.errors:  # a traceback caught and logged behind a plain message
                kind, value = record.exc_info[0].__name__, str(record.exc_info[1])[:300]
                r.failures.append(f"unforeseen failure behind the message (the log's traceback: {kind}: {value})")
                r.message += "\n" + "".join(traceback.format_exception(*record.exc_info))
    except Exception as error:  # noqa: BLE001 - any other exception is the traceback the fuzz looks for
        code = None
        text = "".join(traceback.format_exception(error))
        for r in results.values():
            r.status, r.message = "crashed", text
            r.failures.append(f"traceback: {type(error).__name__}: {str(error)[:300]}")
    finally:
        logging.getLogger("oversight").removeHandler(logged)
    if code is not None and code not in expected:
        why = results[cases[0].id].message[:200] if code == 1 else f"loaded {report.loaded} of {report.rows_read}"
        for r in results.values():
            r.failures.append(f"exit {code}, expected {sorted(expected)} ({why})")
    if report is not None:
        totals = {"rows_read": report.rows_read, "loaded": report.loaded, "rejected": report.rejected,
                  "reasons": report.reasons}
        for cid, problems in _report_checks(cases, report.files, totals).items():
            results[cid].failures += problems
    db_failures, held = _database_checks(db)
    for r in results.values():
        r.failures += db_failures
    if code == 1 or code is None:
        after = _snapshot(db)
        if after != before:
            for r in results.values():
                r.failures.append(f"database changed by a refused import: {before} -> {after}")
    elif report is not None:
        for cid, problems in _numbers_checks(cases, held).items():
            results[cid].failures += problems
    for p in paths:
        p.unlink(missing_ok=True)
    return list(results.values())


def run_group(group: Group, folder: Path, batch: int = 3, db: Path | None = None) -> list[Result]:
    """Import a group's cases one step after another into one database: up to `batch` files of
    the import class at once (one import of several files, as the command line takes them), a file
    refused whole or a re-import of the group's first file alone. When a batch fails, each of its
    files is imported alone too, to tell which one."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    db = db or folder / "fuzz.duckdb"
    steps: list[list[Case]] = []
    for case in group.cases:
        if case.solo or not steps or steps[-1][0].solo or len(steps[-1]) >= batch:
            steps.append([case])
        else:
            steps[-1].append(case)
    results = []
    for step in steps:
        done = _import_step(step, db, folder)
        if len(step) > 1 and any(r.status != "imported" for r in done):
            # Which file it was: each alone (the database is unchanged by the failure). A file refused
            # alone too explains the batch (the others are refused with it by design: all or nothing,
            # and its own check says whether it should have been); when every file imports alone, the
            # batch itself failed, and that is each file's failure.
            alone = [_import_step([case], db, folder)[0] for case in step]
            explained = any(r.status != "imported" for r in alone)
            for r in alone:
                if not explained:
                    r.failures.insert(0, f"in a batch of {len(step)} (each imports alone): {done[0].failures[:1]}")
                results.append(r)
        else:
            results += done
    return results


def cli_env(access_db: Path | None = None) -> dict:
    env = dict(os.environ)
    if access_db is not None:
        env["OVERSIGHT_ACCESS_DB"] = str(access_db)
    env["PYTHONPATH"] = str(ROOT) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    return env


def check_cli(cases: list[Case], folder: Path, db: Path, env: dict | None = None) -> list[Result]:
    """The same checks through `python -m oversight import --db DB FILE...` in a subprocess: no
    traceback, the exit code (0 loaded, 4 nothing loaded, 1 refused with a plain message), the
    printed report's counts, the database afterwards."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = [c.write(folder) for c in cases]
    before = _snapshot(db)
    expected = _expected_exit(cases)
    results = {c.id: Result(c, "imported", via="cli") for c in cases}
    done = subprocess.run([sys.executable, "-m", "oversight", "import", "--db", str(db), *map(str, paths)],
                          cwd=ROOT, capture_output=True, text=True, timeout=600, env=env or cli_env())
    stderr = done.stderr
    shared = []
    if "Traceback" in stderr or "Traceback" in done.stdout:
        tail = stderr[stderr.rfind("Traceback"):].strip().splitlines()
        error = next((x for x in reversed(tail) if x and not x.startswith((" ", "import refused", "["))), "")
        shared.append(f"traceback on the command line: {error[:300]!r}")
    if done.returncode not in expected:
        shared.append(f"exit {done.returncode}, expected {sorted(expected)}: {stderr[-300:]!r}")
    if done.returncode == 1:
        lines = [x for x in stderr.split("\n") if not x.startswith("[")]  # not the progress lines
        message = "\n".join(lines).strip()
        if not message.startswith("import refused"):
            shared.append(f"exit 1 without the plain refusal: {message[:300]!r}")
        leaks = _message_problems(message, folder)
        if leaks:
            shared.append(f"message not plain ({leaks}): {message[:300]!r}")
        for r in results.values():
            r.status, r.message = "refused", message
        if _snapshot(db) != before:
            shared.append("database changed by a refused import")
    elif done.returncode in (0, 4):
        try:
            report = json.loads(done.stdout)
        except json.JSONDecodeError:
            shared.append(f"exit {done.returncode} without a JSON report: {done.stdout[:200]!r}")
            report = None
        if report is not None:
            if (done.returncode == 4) != (report["loaded"] == 0):
                shared.append(f"exit {done.returncode} but loaded {report['loaded']}")
            if done.returncode == 4 and "nothing loaded" not in stderr:
                shared.append("exit 4 without saying nothing was loaded")
            for cid, problems in _report_checks(cases, report["files"], report).items():
                results[cid].failures += problems
    else:
        for r in results.values():
            r.status = "crashed"
    db_failures, held = _database_checks(db)
    shared += db_failures
    if done.returncode in (0, 4):
        for cid, problems in _numbers_checks(cases, held).items():
            results[cid].failures += problems
    for r in results.values():
        r.failures = shared + r.failures
    for p in paths:
        p.unlink(missing_ok=True)
    return list(results.values())


def render_pages(db: Path, lang: str = "ru") -> list[str]:
    """Every page of the dashboard over the database (streamlit.testing.v1.AppTest, the single-user
    mode): the failures, [] when every page ran without an exception or an error shown. A page's
    exception is raised, not turned into the incident message (OVERSIGHT_SHOW_ERRORS)."""
    from streamlit.testing.v1 import AppTest

    from oversight.navigation import PAGES

    saved = {k: os.environ.get(k) for k in ("OVERSIGHT_DB", "OVERSIGHT_SHOW_ERRORS")}
    os.environ["OVERSIGHT_DB"], os.environ["OVERSIGHT_SHOW_ERRORS"] = str(db), "1"
    failures = []
    try:
        at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=180)
        at.query_params["lang"] = lang
        at.run()
        for page in PAGES:
            try:
                at.switch_page(page.script).run()
            except Exception as error:  # noqa: BLE001 - AppTest itself failing is a page failure too
                failures.append(f"page {page.url_path}: {type(error).__name__}: {str(error)[:300]}")
                continue
            if at.exception:
                failures.append(f"page {page.url_path}: exception {[e.value[:300] for e in at.exception][:2]}")
            errors = [e.value for e in at.error]
            if errors:
                failures.append(f"page {page.url_path} shows an error: {[e[:300] for e in errors[:2]]}")
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        _release(db)
    return failures


def save_failure(result: Result, folder: Path, into: Path = Path("/tmp/fuzz_failures")) -> Path:
    """The failing file and what went wrong, for a report: into/<case id>/."""
    out = Path(into) / result.case.id
    out.mkdir(parents=True, exist_ok=True)
    result.case.write(out)
    (out / "SYMPTOM.txt").write_text(
        f"class: {result.case.cls}\nfamily: {result.case.family}\nvia: {result.via}\nstatus: {result.status}\n"
        f"records written: {result.case.records}\nexpected outcome: {result.case.outcome}\nrule: {result.case.rule}\n"
        f"failures:\n" + "\n".join(f"- {f}" for f in result.failures) + f"\n\nmessage:\n{result.message}\n",
        encoding="utf-8")
    return out


def clear(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
