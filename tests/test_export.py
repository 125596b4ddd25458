"""Excel downloads (#19): numbers in number formats (rates as percentages, measures with one
decimal, counts with a thousands separator, identifiers as plain digits, dates as dates), a title
block above the table saying what, for which filters and period, and the date of the data, the
header frozen under it, an autofilter, column widths; every cell a value, never a formula.
Files are opened with openpyxl and checked cell by cell; the real downloads of the Compliance and
Examples pages are built from the small demo database."""

from __future__ import annotations

import datetime as dt
import io

import pandas as pd
import pytest
from openpyxl import load_workbook

from oversight.access import EVERYTHING, Principal
from oversight.analysis import compliance
from oversight.filters import Filters, default_filters
from oversight.i18n import t
from oversight.output import export, presentation

AS_OF = dt.datetime(2020, 1, 1)
TITLE = export.title_lines("Список контроля", "ru", AS_OF, period=(dt.date(2019, 10, 1), dt.date(2019, 12, 31)),
                           filters=[("Территориальное направление", "Север")], target=0.95, demo=True,
                           made_at=dt.datetime(2026, 11, 30, 18, 0))


def _frame() -> pd.DataFrame:
    return pd.DataFrame({
        "№": [1, 2, 3],
        "Наименование": ['=HYPERLINK("http://example.invalid/x","click")', "=1+1", "ООО «Ромашка»"],
        "ИНН": [5012345678, 5012345679, 5012345680],
        "В срок": [0.8571428571428572, 0.9, None],
        "Срок истёк": [12345, 7, 0],
        "Медиана, ч": [34.76166666666666, 2.0, 0.25],
        "07.2019: Сроков в периоде": [30.0, None, 5.0],
        "Дата": pd.to_datetime(["2019-01-01", "2019-01-02", "2019-01-03"]),
        "Закрыта": pd.to_datetime(["2019-01-01 10:30", None, "2019-01-03 08:00"]),
    })


def _sheet(data: bytes, name: str | None = None):
    book = load_workbook(io.BytesIO(data))
    return book[name] if name else book.worksheets[0]


def _column(ws, header: str) -> list:
    top = export.header_row(ws)
    names = [c.value for c in ws[top]]
    j = names.index(header) + 1
    return [ws.cell(row=r, column=j) for r in range(top + 1, ws.max_row + 1)]


def test_numbers_have_number_formats_by_kind():
    ws = _sheet(export.to_xlsx_bytes({"s": _frame()}, TITLE))
    rates = [c for c in _column(ws, "В срок") if c.value is not None]
    assert rates and all(c.number_format == "0.0 %" and c.data_type == "n" for c in rates)
    assert rates[0].value == pytest.approx(0.8571428571428572)  # the value kept whole; Excel shows 85,7 %
    assert {c.number_format for c in _column(ws, "Срок истёк")} == {"#,##0"}
    assert {c.number_format for c in _column(ws, "Медиана, ч")} == {"#,##0.0"}
    assert {c.number_format for c in _column(ws, "07.2019: Сроков в периоде") if c.value is not None} == {"#,##0"}
    assert {c.number_format for c in _column(ws, "ИНН")} == {"0"}  # an INN is not 5 012 345 678
    assert {c.number_format for c in _column(ws, "Дата")} == {"dd.mm.yyyy"}
    assert {c.number_format for c in _column(ws, "Закрыта") if c.value is not None} == {"dd.mm.yyyy hh:mm"}


def test_title_block_frozen_header_autofilter_and_widths():
    frame = _frame()
    ws = _sheet(export.to_xlsx_bytes({"s": frame}, TITLE))
    top = export.header_row(ws)
    assert [ws.cell(row=i, column=1).value for i in range(1, len(TITLE) + 1)] == TITLE
    assert TITLE[0] == "Список контроля"
    assert "01.10.2019 – 31.12.2019" in TITLE[1] and "Север" in TITLE[2] and "95" in TITLE[3]
    assert "01.01.2020 00:00" in TITLE[-1]
    assert ws.cell(row=1, column=1).font.bold
    assert top == len(TITLE) + 2  # one empty row between the title and the header
    assert [c.value for c in ws[top]] == list(frame.columns)
    assert ws.freeze_panes == f"A{top + 1}"  # the header (and the title above it) stays in view
    assert ws.auto_filter.ref == f"A{top}:I{top + len(frame)}"
    widths = {letter: d.width for letter, d in ws.column_dimensions.items()}
    assert all(8 <= widths[letter] <= 60 for letter in "ABCDEFGHI")
    assert widths["B"] > widths["A"]  # the names are wider than the rank
    assert export.read_table(export.to_xlsx_bytes({"s": frame}, TITLE))["Срок истёк"].tolist() == [12345, 7, 0]


def test_without_a_title_the_header_is_the_first_row_and_still_frozen():
    ws = _sheet(export.to_xlsx_bytes({"s": _frame()}))
    assert export.header_row(ws) == 1 and ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:I4"


def test_formula_injection_stays_text_in_the_table_and_the_title():
    evil = "=HYPERLINK(\"http://example.invalid/x\",\"click\")"
    ws = _sheet(export.to_xlsx_bytes({"s": _frame()}, [evil, "=1+1"]))
    cells = [ws.cell(row=1, column=1), ws.cell(row=2, column=1), *_column(ws, "Наименование")[:2]]
    assert [c.value for c in cells] == [evil, "=1+1", evil, "=1+1"]
    assert {c.data_type for c in cells} == {"s"}
    assert not any(c.data_type == "f" for row in ws.iter_rows() for c in row)


def test_every_sheet_gets_the_title_and_formats_and_explicit_kinds_win():
    frame = pd.DataFrame({"Граница": [0.2, 0.3], "Доля, п.п.": [0.5, 0.7]})
    data = export.to_xlsx_bytes({"a": frame, "b": frame}, ["Что"], formats={"Граница": "rate", "Доля, п.п.": "decimal"})
    for name in ("a", "b"):
        ws = _sheet(data, name)
        assert ws.cell(row=1, column=1).value == "Что" and ws.freeze_panes == "A4"
        assert {c.number_format for c in _column(ws, "Граница")} == {"0.0 %"}
        assert {c.number_format for c in _column(ws, "Доля, п.п.")} == {"#,##0.0"}
    with pytest.raises(ValueError):
        export.to_xlsx_bytes({"a": frame}, formats={"Граница": "percent-ish"})


def test_english_files_write_percentages_and_dates_the_english_way():
    frame = pd.DataFrame({"On time": [0.9], "Date": pd.to_datetime(["2019-01-01"])})
    ws = _sheet(export.to_xlsx_bytes({"s": frame}, ["What"], lang="en"))
    assert _column(ws, "On time")[0].number_format == "0.0%"
    assert _column(ws, "Date")[0].number_format == "yyyy-mm-dd"


@pytest.mark.parametrize("name, values, kind", [
    ("В срок", [0.5, 1.0], "rate"),
    ("On time", [0.93], "rate"),
    ("На доработку", [0.01, 0.2], "rate"),
    ("Доля просроченных", [0.06], "rate"),
    ("on_time_rate", [0.0, 1.0], "rate"),
    ("В срок", [1, 0], "count"),            # whole numbers in an integer column are counts, not 100 %
    ("В срок", [12.5], "decimal"),          # percents already ×100 are not shares
    ("С учётом объёма (95 % интервал)", [0.5], "decimal"),  # «%» in a name does not make a share
    ("Медиана, ч", [34.76], "decimal"),
    ("Просрочено на 10 тыс. жит.", [3.25], "decimal"),
    ("Население", [120000], "count"),
    ("Срок истёк", [1.0, None], "count"),
    ("№ заявки", [123456789], "id"),
    ("ИНН", [5012345678], "id"),
    ("organization_id", [7], "id"),
    ("Наименование", ["a"], "text"),
    ("Пусто", [None, None], "text"),
    ("Флаг", [True, False], "text"),
])
def test_kinds_are_inferred_from_the_name_and_values(name, values, kind):
    series = pd.Series(values, dtype="int64") if all(isinstance(v, int) and not isinstance(v, bool) for v in values) else pd.Series(values)
    assert export.infer_kind(name, series) == kind


def test_title_lines_say_what_for_which_filters_and_when():
    none = export.title_lines("Таблица", "ru", AS_OF, made_at=dt.datetime(2026, 1, 2, 3, 4))
    assert none == ["Таблица", t("export.filters_none", "ru"),
                    t("export.as_of", "ru", as_of="01.01.2020 00:00", made="02.01.2026 03:04")]
    en = export.title_lines("Table", "en", AS_OF, period=(dt.date(2019, 1, 1), dt.date(2019, 3, 31)), scope="North",
                            made_at=dt.datetime(2026, 1, 2, 3, 4))
    assert en[1] == "Period: 2019-01-01 – 2019-03-31" and en[3] == "Access: North"


# ---------------------------------------------------------------- the pages' real downloads


def _ctx(small_db, as_of, lang="ru", filters=None):
    from oversight.ui.context import PageContext

    principal = Principal(user="local", roles=frozenset({"leadership"}), scope=EVERYTHING, mode="local")
    return PageContext(lang=lang, db_path=small_db, version="v", as_of=as_of, is_demo=True, source="demo",
                       filters=filters or default_filters(as_of), target=0.95, principal=principal)


def _titled(ctx, what, sheets, formats=None, **kwargs):
    """A page's download as its button builds it, without Streamlit: the filters named by hand."""
    lines = export.context_title(what, ctx, {"territory": {2: "Восток"}}, **kwargs)
    return export.to_xlsx_bytes(sheets, lines, formats=formats, lang=ctx.lang)


@pytest.mark.parametrize("lang", ["ru", "en"])
def test_the_compliance_case_file_is_formatted(small_db, con, as_of, lang):
    from oversight.ui import compliance_page

    f = Filters(as_of.date(), as_of.date(), territory_id=2)
    ctx = _ctx(small_db, as_of, lang, f)
    rule = compliance.Rule(k=2, m=4, target=0.92, min_volume=5)
    result = compliance.watchlist(con, f, as_of, rule)
    assert len(result["list"]) > 3
    table = compliance_page.excel_table(result, ctx)
    data = _titled(ctx, compliance_page.excel_title(result, lang), {"list": table}, period=False,
                   extra=[compliance_page.rule_line(result, rule, ctx)])
    ws = _sheet(data)
    top = export.header_row(ws)
    title = [ws.cell(row=i, column=1).value for i in range(1, top - 1)]
    assert title[0] == compliance_page.excel_title(result, lang)
    assert any("Восток" in line for line in title)  # the filter, by name
    assert any(str(rule.k) in line and str(rule.m) in line for line in title)  # the rule
    assert any(as_of.strftime("%d.%m.%Y" if lang == "ru" else "%Y-%m-%d") in line for line in title)  # the data's date
    assert ws.freeze_panes == f"A{top + 1}" and ws.auto_filter.ref.startswith(f"A{top}:")
    header = [c.value for c in ws[top]]
    on_time = t("col.on_time_rate", lang)
    rate_columns = [h for h in header if h.endswith(on_time)]
    assert len(rate_columns) == rule.m
    percent = "0.0 %" if lang == "ru" else "0.0%"
    for name in rate_columns:
        cells = [c for c in _column(ws, name) if c.value is not None]
        assert cells and all(c.number_format == percent for c in cells), name
    due = [h for h in header if h.endswith(t("examples.col.due", lang))]
    assert all(c.number_format == "#,##0" for name in due for c in _column(ws, name) if c.value is not None)
    assert {c.number_format for c in _column(ws, t("compliance.col.open_overdue", lang))} == {"#,##0"}
    # The numbers are the watchlist's: the first organisation's first month, cell by cell.
    first = result["list"].iloc[0]
    month = result["record"][result["record"]["organization_id"] == first["organization_id"]].iloc[0]
    label = compliance_page._month_label(month["month"], lang)
    back = export.read_table(data)
    assert back.loc[0, f"{label}: {on_time}"] == pytest.approx(month["on_time_rate"])
    assert back.loc[0, t("col.name", lang)] == first["name"]


def test_the_weekend_and_examples_downloads_are_numbers(small_db, con, as_of):
    from oversight.ui import compliance_page, examples_page

    year = Filters(dt.date(2019, 1, 1), dt.date(2019, 12, 31))
    weekends = compliance.weekends(con, year, as_of, 10)
    names = {i: f"org {i}" for i in weekends["organization"]["organization_id"]}
    table = compliance_page._kinds_numeric(weekends["organization"], "organization_id", names, "ru")
    gap = compliance_page._gap_numeric(weekends["gap"], names, "ru")
    made = presentation.material(con, year, as_of, 20)
    organizations = examples_page.organizations_table(made.assessed, "ru")
    data = export.to_xlsx_bytes({"a": table, "b": gap, "c": organizations}, ["Что"],
                                formats={**compliance_page._gap_formats("ru"), **examples_page._eb_formats("ru")})
    ws = _sheet(data, "a")
    working = f"{t('compliance.kind.working', 'ru')}: {t('col.on_time_rate', 'ru')}"
    assert {c.number_format for c in _column(ws, working) if c.value is not None} == {"0.0 %"}
    # The same numbers as the page's text table: the first row's working-day rate.
    row = weekends["organization"]
    first = export.read_table(data, "a").iloc[0]
    expected = row[(row["organization_id"] == int(first[t("col.name", "ru")].split()[1])) & (row["day_kind"] == "working")]
    assert first[working] == pytest.approx(expected["on_time_rate"].iloc[0])
    ws = _sheet(data, "b")
    assert {c.number_format for c in _column(ws, t("compliance.col.share_off", "ru"))} <= {"0.0 %"}
    assert {c.number_format for c in _column(ws, t("compliance.col.difference_pp", "ru"))} <= {"#,##0.0"}
    ws = _sheet(data, "c")
    for key in ("examples.col.share", "examples.col.eb_share", "examples.col.eb_low", "examples.col.eb_high"):
        assert {c.number_format for c in _column(ws, t(key, "ru"))} == {"0.0 %"}, key
    assert {c.number_format for c in _column(ws, t("examples.col.due", "ru"))} == {"#,##0"}
