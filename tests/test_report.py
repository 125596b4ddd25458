"""The weekly справка (issue #20): period arithmetic, the DOCX's numbers against the command line's
`kpis`, the PDF's Russian text, a territorial head's справка holding his direction only, refusals,
and pictures that are drawn and not cut at their edges."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import zipfile

import numpy as np
import pytest

from oversight import access, store
from oversight.cli.main import main
from oversight.filters import Filters
from oversight.output import images, report

D = dt.date
NORTH = 1  # «Север»
HAS_CHROME = images.chrome_path() is not None
# A number as the справка writes it: thousands apart, one decimal with a comma, a unit.
NUMBER = re.compile(r"^[−+±]?\d{1,3}(\u00a0\d{3})*(,\d)?(\u00a0%|\u00a0п\.п\.)?$")


# ---------------------------------------------------------------- the period


@pytest.mark.parametrize(("kind", "end", "expected"), [
    ("week", D(2019, 12, 29), (D(2019, 12, 23), D(2019, 12, 29))),  # a Sunday: its own week
    ("week", D(2019, 12, 31), (D(2019, 12, 23), D(2019, 12, 29))),  # a Tuesday: the week before
    ("week", D(2019, 12, 28), (D(2019, 12, 16), D(2019, 12, 22))),  # a Saturday: the week is not complete
    ("week", D(2020, 1, 5), (D(2019, 12, 30), D(2020, 1, 5))),  # across the new year
    ("month", D(2019, 12, 31), (D(2019, 12, 1), D(2019, 12, 31))),
    ("month", D(2019, 12, 30), (D(2019, 11, 1), D(2019, 11, 30))),
    ("month", D(2020, 2, 29), (D(2020, 2, 1), D(2020, 2, 29))),  # a leap year's February
    ("month", D(2020, 1, 15), (D(2019, 12, 1), D(2019, 12, 31))),
    ("quarter", D(2019, 12, 31), (D(2019, 10, 1), D(2019, 12, 31))),
    ("quarter", D(2019, 12, 30), (D(2019, 7, 1), D(2019, 9, 30))),
    ("quarter", D(2020, 2, 10), (D(2019, 10, 1), D(2019, 12, 31))),
    ("quarter", D(2019, 3, 31), (D(2019, 1, 1), D(2019, 3, 31))),
])
def test_the_last_complete_period_ending_on_or_before_end(kind, end, expected):
    start, last = report.period_bounds(kind, end)
    assert (start, last) == expected
    assert last <= end
    if kind == "week":
        assert start.weekday() == 0 and (last - start).days == 6
    # The previous period (what the Overview compares with) has the same length and ends the day before.
    previous = Filters(start, last).previous()
    assert previous.days == Filters(start, last).days
    assert previous.end == start - dt.timedelta(days=1)


def test_every_day_of_a_year_gets_a_complete_period_at_most_one_period_back():
    for offset in range(366):
        end = D(2019, 1, 1) + dt.timedelta(days=offset)
        for kind, most in (("week", 7), ("month", 31), ("quarter", 92)):  # never a whole period further back
            start, last = report.period_bounds(kind, end)
            assert last <= end and (end - last).days < most
            assert (last + dt.timedelta(days=1)).weekday() == 0 if kind == "week" else (last + dt.timedelta(days=1)).day == 1
            assert report.period_bounds(kind, last) == (start, last)  # a period ending on `end` is itself


def test_the_default_end_is_the_day_before_the_data_moment():
    assert report.last_complete_day(dt.datetime(2020, 1, 1, 0, 0)) == D(2019, 12, 31)
    assert report.last_complete_day(dt.datetime(2019, 12, 20, 14, 0)) == D(2019, 12, 19)


# ---------------------------------------------------------------- the DOCX against the command line


def _cli_json(capsys, *argv) -> dict:
    capsys.readouterr()
    main(list(argv))
    return json.loads(capsys.readouterr().out)


def _docx_tables(path) -> list[list[list[str]]]:
    from docx import Document

    return [[[cell.text for cell in row.cells] for row in table.rows] for table in Document(str(path)).tables]


def _docx_text(path) -> str:
    from docx import Document

    doc = Document(str(path))
    cells = [cell.text for table in doc.tables for row in table.rows for cell in row.cells]
    return "\n".join([p.text for p in doc.paragraphs] + cells)


def _number(text: str) -> float:
    """A number the справка wrote, read back: «134 376», «94,0 %», «27,3»."""
    cleaned = text.replace("\u00a0", "").replace("%", "").replace("п.п.", "").replace(",", ".").replace("−", "-")
    return float(cleaned)


def _check_kpi_table(rows: list[list[str]], current: dict, previous: dict) -> None:
    from oversight.i18n import t

    by_label = {row[0]: row for row in rows[1:]}
    assert len(by_label) == len(current) == 9
    for metric, value in current.items():
        row = by_label[t(f"kpi.{metric}", "ru")]
        for cell, expected in ((row[1], value), (row[2], previous[metric])):
            assert NUMBER.match(cell), (metric, cell)
            if metric in ("on_time_rate", "returned_share"):
                assert abs(_number(cell) / 100 - expected) <= 0.0005 + 1e-12, (metric, cell, expected)
            elif metric == "median_resolution_hours":
                assert abs(_number(cell) - expected) <= 0.05 + 1e-9, (metric, cell, expected)
            else:
                assert _number(cell) == expected, (metric, cell, expected)
            assert cell == report.format_kpi(metric, expected, "ru")


@pytest.fixture(scope="module")
def month_files(small_db, tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    docx, pdf = folder / "month.docx", folder / "month.pdf"
    main(["report", "--db", small_db, "--period", "month", "--end", "2019-12-31", "--out", str(docx), "--out", str(pdf)])
    return docx, pdf


def test_docx_opens_and_its_kpis_equal_the_cli_kpis(month_files, small_db, capsys):
    docx, _ = month_files
    current = _cli_json(capsys, "kpis", "--db", small_db, "--from", "2019-12-01", "--to", "2019-12-31", "--json")
    # The previous period of equal length: 31 days before 1 December.
    previous = _cli_json(capsys, "kpis", "--db", small_db, "--from", "2019-10-31", "--to", "2019-11-30", "--json")
    tables = _docx_tables(docx)
    _check_kpi_table(tables[0], current, previous)
    text = _docx_text(docx)
    assert "СПРАВКА" in text and "за месяц 01.12.2019 – 31.12.2019" in text
    assert "Московская область" in text and "01.11.2019" not in text.split("Изменения")[0]


def test_every_number_in_the_tables_is_written_as_people_read_it(month_files):
    docx, _ = month_files
    tables = _docx_tables(docx)
    checked = 0
    for table in tables[:3]:  # the KPIs, the directions, the municipalities: every numeric cell
        for row in table[1:]:
            for cell in row:
                if cell and (cell[0].isdigit() or cell[0] in "−+±"):
                    assert NUMBER.match(cell) or cell == "—", cell
                    checked += 1
    assert checked > 100
    text = _docx_text(docx)
    assert not re.search(r"\d\.\d{3,}", text.replace("2019", "").replace("2020", "")), "a raw float in the справка"
    assert "nan" not in text.lower().split() and "None" not in text


def test_direction_table_equals_the_drill_down_of_the_same_period(month_files, small_db, capsys):
    docx, _ = month_files
    rows = _cli_json(capsys, "drill", "--db", small_db, "--level", "territory", "--from", "2019-12-01", "--to", "2019-12-31")["rows"]
    table = _docx_tables(docx)[1]
    header = table[0]
    shown = {row[header.index("Направление")]: row for row in table[1:]}
    assert len(shown) == len(rows) == 4
    for row in rows:
        cells = shown[row["name_ru"]]
        assert _number(cells[header.index("Нарушено")]) == row["missed"]
        assert _number(cells[header.index("Срок истёк")]) == row["due"]
        assert abs(_number(cells[header.index("В срок")]) / 100 - row["on_time_rate"]) <= 0.0005 + 1e-12


def test_pdf_is_a_valid_pdf_with_the_russian_text(month_files):
    from pypdf import PdfReader

    _, pdf = month_files
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF-") and data.rstrip().endswith(b"%%EOF")
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) >= 3
    text = "\n".join(page.extract_text() for page in reader.pages)
    for words in ("СПРАВКА", "Основные показатели", "Выполнено в срок", "Контрольный список", "Выводы", "Страница 2"):
        assert words in text, words
    fonts = {str(f.get("/BaseFont")) for page in reader.pages for f in page["/Resources"]["/Font"].values()}
    assert any("DejaVu" in f for f in fonts), fonts  # the Cyrillic font is embedded
    if HAS_CHROME:
        assert sum(len(page.images) for page in reader.pages) == 4


def test_pdf_and_docx_hold_the_same_content(small_db, con, as_of):
    made = report.build(con, Filters(D(2019, 12, 23), D(2019, 12, 29)), as_of, "ru", 0.95, "week", draw=False)
    from docx import Document
    from pypdf import PdfReader

    doc = Document(io.BytesIO(report.to_docx(made)))
    pdf_text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(io.BytesIO(report.to_pdf(made))).pages)
    for table in doc.tables[:2]:
        for row in table.rows:
            for cell in [c for c in row.cells if c.text.strip()]:
                # a value is in both (the PDF may break a long cell over lines: compare its first word)
                assert cell.text.split()[0].replace("\u00a0", " ") in pdf_text.replace("\u00a0", " "), cell.text


# ---------------------------------------------------------------- scope


@pytest.fixture
def grants(tmp_path, monkeypatch):
    monkeypatch.setenv("OVERSIGHT_ACCESS_DB", str(tmp_path / "access.duckdb"))
    access.add_grant(access.CLI, "north@example.org", "territorial_head", [NORTH])
    access.add_grant(access.CLI, "lead@example.org", "leadership")


def test_a_territorial_heads_report_holds_his_direction_only(small_db, grants, tmp_path, capsys, frames):
    out = tmp_path / "north.docx"
    main(["report", "--db", small_db, "--period", "quarter", "--end", "2019-12-31", "--as-user", "north@example.org",
          "--out", str(out)])
    text = _docx_text(out)
    municipalities = frames["municipalities"]
    current = municipalities[municipalities["successor_id"].isna()]
    names = dict(zip(frames["territories"]["territory_id"], frames["territories"]["name_ru"]))
    assert "Территория: Север." in text
    for tid, name in names.items():
        assert (name in text) == (tid == NORTH), name
    own = current.loc[current["territory_id"] == NORTH, "name_ru"]
    others = current.loc[current["territory_id"] != NORTH, "name_ru"]
    assert any(name in text for name in own)
    leaked = [name for name in others if name in text and not any(name in mine for mine in own)]
    assert leaked == []
    # His KPIs are the command line's under his grants (the same as `--as-user … kpis`).
    mine = _cli_json(capsys, "--as-user", "north@example.org", "kpis", "--db", small_db, "--from", "2019-10-01",
                     "--to", "2019-12-31")
    previous = _cli_json(capsys, "--as-user", "north@example.org", "kpis", "--db", small_db, "--from", "2019-07-01",
                         "--to", "2019-09-30")
    _check_kpi_table(_docx_tables(out)[0], mine, previous)
    whole = _cli_json(capsys, "kpis", "--db", small_db, "--from", "2019-10-01", "--to", "2019-12-31")
    assert mine["created"] < whole["created"]
    # The global form of the option gives the same справка.
    again = tmp_path / "north2.docx"
    main(["--as-user", "north@example.org", "report", "--db", small_db, "--period", "quarter", "--end", "2019-12-31",
          "--out", str(again)])
    assert _docx_tables(again)[:2] == _docx_tables(out)[:2]


def test_territory_limits_the_report_for_whoever_may_see_it(small_db, grants, tmp_path, capsys):
    out = tmp_path / "south.docx"
    main(["report", "--db", small_db, "--period", "month", "--end", "2019-12-31", "--territory", "3", "--out", str(out)])
    south = _cli_json(capsys, "kpis", "--db", small_db, "--from", "2019-12-01", "--to", "2019-12-31", "--territory", "3")
    previous = _cli_json(capsys, "kpis", "--db", small_db, "--from", "2019-10-31", "--to", "2019-11-30", "--territory", "3")
    _check_kpi_table(_docx_tables(out)[0], south, previous)
    assert "Территория: Юг." in _docx_text(out)
    with pytest.raises(SystemExit) as refused:  # a head may not ask for another direction
        main(["report", "--db", small_db, "--period", "month", "--territory", "3", "--as-user", "north@example.org",
              "--out", str(tmp_path / "x.docx")])
    assert refused.value.code == 3
    assert not (tmp_path / "x.docx").exists()


def test_a_user_without_a_grant_is_refused_with_a_clear_message(small_db, grants, tmp_path, capsys):
    for argv in (["report", "--as-user", "stranger@example.org"], ["--as-user", "stranger@example.org", "report"]):
        with pytest.raises(SystemExit) as refused:
            main([*argv, "--db", small_db, "--period", "week", "--out", str(tmp_path / "s.docx")])
        assert refused.value.code == 3
        assert "stranger@example.org has no grant" in capsys.readouterr().err
    assert not (tmp_path / "s.docx").exists()
    rows = access.audit_rows(user="stranger@example.org", action="refused")
    assert len(rows) == 2


def test_out_must_be_docx_or_pdf(small_db, tmp_path):
    with pytest.raises(SystemExit) as bad:
        main(["report", "--db", small_db, "--period", "week", "--out", str(tmp_path / "r.txt")])
    assert ".docx or .pdf" in str(bad.value.code)


# ---------------------------------------------------------------- pictures


def _ink_at_edges(png: bytes, edge: int = 3) -> dict[str, int]:
    from PIL import Image

    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=int)
    dark = pixels < 200
    return {"left": int(dark[:, :edge].sum()), "right": int(dark[:, -edge:].sum()),
            "top": int(dark[:edge, :].sum()), "bottom": int(dark[-edge:, :].sum())}


def _colours(png: bytes) -> int:
    from PIL import Image

    return len(Image.open(io.BytesIO(png)).convert("RGB").getcolors(maxcolors=1 << 20) or [])


@pytest.mark.skipif(not HAS_CHROME, reason="no Chromium to draw with")
def test_pictures_are_drawn_and_not_cut_at_their_edges(month_files, tmp_path):
    """Every picture of the DOCX: something is drawn (many colours, dark ink for text and lines), and
    nothing dark touches its edges (a cut tick label or legend does)."""
    docx, _ = month_files
    with zipfile.ZipFile(docx) as z:
        media = sorted(n for n in z.namelist() if n.startswith("word/media/"))
        pictures = [z.read(n) for n in media]
    assert len(pictures) == 4
    from PIL import Image

    for name, png in zip(media, pictures):
        (tmp_path / name.rsplit("/", 1)[1]).write_bytes(png)
        assert _ink_at_edges(png) == {"left": 0, "right": 0, "top": 0, "bottom": 0}, (name, tmp_path)
        assert _colours(png) > 50, name
        gray = np.asarray(Image.open(io.BytesIO(png)).convert("L"))
        assert (gray < 128).mean() > 0.002, name  # text and lines, not a blank picture


@pytest.mark.skipif(not HAS_CHROME, reason="no Chromium to draw with")
def test_the_map_picture_shows_the_municipalities(con, as_of):
    made = report.build(con, Filters(D(2019, 10, 1), D(2019, 12, 31)), as_of, "ru", 0.95, "quarter")
    pictures = {p.key: p for p in made.pictures()}
    assert set(pictures) == {"directions", "map", "backlog", "overdue"}
    from PIL import Image

    rgb = np.asarray(Image.open(io.BytesIO(pictures["map"].png)).convert("RGB"), dtype=int)
    reddish = (rgb[..., 0] > 150) & (rgb[..., 0] - rgb[..., 2] > 60)
    assert reddish.mean() > 0.05  # the choropleth's reds fill a good part of the picture
    assert [p.caption.split(".")[0] for p in made.pictures()] == [f"Рисунок {n}" for n in range(1, 5)]


def test_figures_grow_their_margins_for_their_labels(con, as_of, monkeypatch):
    """The figures handed to kaleido have automargin on every cartesian axis (as the deck's)."""
    seen = []

    def fake_png(figures, width=None, height=None, scale=2):
        seen.extend(images.for_export(f, width) for f in figures)
        return [_blank_png() for _ in figures]

    monkeypatch.setattr(images, "to_png", fake_png)
    report.build(con, Filters(D(2019, 12, 23), D(2019, 12, 29)), as_of, "ru", 0.95, "week")
    assert len(seen) == 4
    axes = 0
    for figure in seen:
        for name in [k for k in figure.to_dict()["layout"] if k.startswith(("xaxis", "yaxis"))]:
            assert figure.layout[name].automargin is True
            axes += 1
    assert axes >= 6


def _blank_png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (960, 400), "white").save(out, format="PNG")
    return out.getvalue()


def test_without_a_browser_the_report_says_so(con, as_of, monkeypatch):
    def missing(*_args, **_kwargs):
        raise images.ChromeMissing("no Chrome or Chromium found")

    monkeypatch.setattr(images, "to_png", missing)
    made = report.build(con, Filters(D(2019, 12, 23), D(2019, 12, 29)), as_of, "ru", 0.95, "week")
    assert made.pictures() == []
    assert "Рисунки не построены" in made.plain_text()
    assert report.to_docx(made) and report.to_pdf(made).startswith(b"%PDF")


# ---------------------------------------------------------------- content


def test_events_of_the_period_with_their_effect_where_measurable(con, as_of):
    events = store.run(con, "events_all")
    assert not events.empty
    # A quarter that holds region-wide events with enough data either side (the small demo's are in
    # the last quarter of 2018), and a week that holds the latest event.
    made = report.build(con, Filters(D(2018, 10, 1), D(2018, 12, 31)), as_of, "ru", 0.95, "quarter", draw=False)
    text = made.plain_text()
    assert "Семинар" in text and "Приказ" in text
    assert text.count("Сравнение 90 дней до и после события") == 2
    assert "После события просроченных заявок в день стало" in text  # compare.conclusion's own words
    assert text.count("Эффект") == 0
    late = events.sort_values("event_date").iloc[-1]
    day = late["event_date"].date()
    start = day - dt.timedelta(days=day.weekday())
    week = report.build(con, Filters(start, start + dt.timedelta(days=6)), as_of, "ru", 0.95, "week", draw=False)
    assert late["title"] in week.plain_text()


def test_watchlist_newcomers_and_leavers_match_the_cli(small_db, con, as_of, capsys):
    made = report.build(con, Filters(D(2019, 10, 1), D(2019, 12, 31)), as_of, "ru", 0.95, "quarter", draw=False)
    now = _cli_json(capsys, "watchlist", "--db", small_db, "--as-of", "2020-01-01")
    before = _cli_json(capsys, "watchlist", "--db", small_db, "--as-of", "2019-10-01")
    now_ids = {o["inn"] for o in now["organizations"]}
    before_ids = {o["inn"] for o in before["organizations"]}
    tables = [tab for tab in made.tables() if tab.key == "watchlist"]
    expected = [s for s in (now_ids - before_ids, before_ids - now_ids) if s]
    assert len(tables) == len(expected)
    for tab, inns in zip(tables, expected):
        shown = [row[1] for row in tab.rows]
        assert set(shown) <= inns and len(shown) == min(len(inns), report.WATCH_ROWS)
    assert f"добавилось {len(now_ids - before_ids)}, выбыло {len(before_ids - now_ids)}" in made.plain_text()


def test_english_report(con, as_of):
    made = report.build(con, Filters(D(2019, 12, 23), D(2019, 12, 29)), as_of, "en", 0.95, "week", draw=False)
    text = made.plain_text()
    assert "REPORT" in text and "Key figures" in text and "for the week 2019-12-23 – 2019-12-29" in text


def test_report_formats_kpis_as_the_overview_cards():
    from oversight.ui.widgets import format_kpi

    for metric, value in (("created", 134376), ("on_time_rate", 0.93951), ("median_resolution_hours", 27.349),
                          ("returned_share", 0.0531), ("overdue_backlog_end", 0), ("missed", None)):
        assert report.format_kpi(metric, value, "ru") == format_kpi(metric, value, "ru")
        assert report.format_kpi(metric, value, "en") == format_kpi(metric, value, "en")


# ---------------------------------------------------------------- the Overview's button


def test_overview_button_builds_the_report_for_the_pages_filters(small_db, con, as_of, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from oversight.analysis import metrics
    from oversight.paths import ROOT

    monkeypatch.setenv("OVERSIGHT_DB", small_db)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=180)
    for key, value in {"lang": "ru", "from": "2019-11-01", "to": "2019-11-30", "dir": "3"}.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception
    assert "Скачать справку PDF" not in [b.proto.label for b in at.get("download_button")]  # built only on click
    at.button(key="report_build").click().run()
    assert not at.exception, at.exception
    key, (docx, pdf, stem) = at.session_state["_report_files"]
    assert stem == "spravka_period_2019-11-01_2019-11-30"
    assert pdf.startswith(b"%PDF-")
    f = Filters(D(2019, 11, 1), D(2019, 11, 30), territory_id=3)
    current, previous = metrics.kpis(con, f, as_of), metrics.kpis(con, f.previous(), as_of)
    path = ROOT / "test-artifacts"
    path.mkdir(exist_ok=True)
    (path / "overview_report.docx").write_bytes(docx)
    tables = _docx_tables(path / "overview_report.docx")
    _check_kpi_table(tables[0], current, previous)
    assert "Территория: Юг." in _docx_text(path / "overview_report.docx")
    labels = [b.proto.label for b in at.get("download_button")]
    assert "Скачать справку DOCX" in labels and "Скачать справку PDF" in labels
    assert not [b for b in at.button if b.key == "report_build"]  # the button gave way to the downloads
