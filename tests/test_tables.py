"""Ranked tables: order, language, colours, and gaps shown as a dash (never "None")."""

from __future__ import annotations

import datetime as dt

from oversight.analysis import metrics
from oversight.filters import Filters
from oversight.output import tables
from oversight.output.theme import BAD_BG, GOOD_BG, WARN_BG


def test_ranked_worst_first_and_styled(con, as_of):
    area = metrics.kpis_by_area(con, Filters(start=dt.date(2019, 1, 1), end=dt.date(2019, 3, 31)), as_of)
    table = tables.ranked(area, "municipality", "ru")
    rates = table["В срок"].dropna().tolist()
    assert rates == sorted(rates) and len(table) == 60
    html = tables.styled(table, "ru", 0.95).to_html()
    assert "None" not in html and "nan" not in html
    assert "—" in html  # okrugs without a population figure have no per-10k value
    assert tables.rate_colour(0.96, 0.95).endswith(GOOD_BG)
    assert tables.rate_colour(0.93, 0.95).endswith(WARN_BG)
    assert tables.rate_colour(0.80, 0.95).endswith(BAD_BG)
    assert tables.rate_colour(None, 0.95) == ""
    english = tables.ranked(area, "territory", "en")
    assert list(english.columns[:3]) == ["#", "Direction", "On time"]


def test_excel_downloads_write_data_as_text_never_as_formulas():
    """Formula injection (#18 item 7): a value from the data that starts with "=" stays text."""
    import io

    import pandas as pd
    from openpyxl import load_workbook

    from oversight.output import export

    evil = '=HYPERLINK("http://example.invalid/x","click")'
    data = export.to_xlsx_bytes({"s": pd.DataFrame({"name": [evil, "=1+1", "ООО «Ромашка»"], "n": [1, 2, 3]})})
    ws = load_workbook(io.BytesIO(data))["s"]
    cells = [ws.cell(row=r, column=1) for r in (2, 3, 4)]
    assert [c.value for c in cells] == [evil, "=1+1", "ООО «Ромашка»"]
    assert {c.data_type for c in cells} == {"s"}
    assert ws.cell(row=2, column=2).data_type == "n"  # numbers stay numbers
