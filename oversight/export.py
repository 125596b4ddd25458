"""Downloads: tables to Excel (openpyxl), with a frozen header and sensible column widths."""

from __future__ import annotations

import io
import re

import pandas as pd


def to_xlsx_bytes(sheets: dict[str, pd.DataFrame]) -> bytes:
    """An .xlsx file with one sheet per DataFrame (sheet names cut to Excel's 31 characters)."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for name, frame in sheets.items():
            # Excel forbids []:*?/\ in sheet names and allows 31 characters.
            sheet = re.sub(r"[\[\]:*?/\\]", " ", name).strip()[:31] or "data"
            frame.to_excel(writer, sheet_name=sheet, index=False)
            ws = writer.sheets[sheet]
            ws.freeze_panes = "A2"
            _as_text(ws)
            for i, column in enumerate(frame.columns, start=1):
                width = max([len(str(column))] + [len(str(v)) for v in frame[column].head(200)])
                ws.column_dimensions[ws.cell(row=1, column=i).column_letter].width = min(max(width + 2, 8), 60)
    return buffer.getvalue()


def _as_text(ws) -> None:
    """Every cell as the value it holds, never a formula: openpyxl stores a string starting with "="
    as a live formula, so a name like `=HYPERLINK("http://…")` from the data would run in Excel (formula
    injection, #18). Our downloads hold no formulas of their own."""
    for row in ws.iter_rows():
        for cell in row:
            if cell.data_type == "f":
                cell.data_type = "s"
