"""Downloads: tables to Excel (openpyxl), ready to read and to attach to a case (#19).

Every sheet has a title block above the table (what it is, the period, the filters, the on-time
target and the date of the data: lines the caller passes, usually made by `title_lines`), the
table's header under it, frozen with everything above it, an autofilter over the table, column
widths to fit, and numbers in a number format by the kind of each column: rates as a percentage
(0.0 %), hours, days and other measures with one decimal, counts as whole numbers with a thousands
separator, identifiers (INN, request numbers) as plain digits, dates as dates. A column's kind is
given by the caller (`formats`) or worked out from its name and values (`infer_kind`).

Every cell holds a value, never a formula (formula injection, #18).
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

KINDS = ("rate", "decimal", "count", "id", "date", "datetime", "text")

# Excel's format codes (stored language-neutral: Excel shows "," or a space as the thousands
# separator and "." or "," as the decimal one by the reader's settings).
_FORMATS = {
    "ru": {"rate": "0.0 %", "decimal": "#,##0.0", "count": "#,##0", "id": "0", "date": "dd.mm.yyyy",
           "datetime": "dd.mm.yyyy hh:mm"},
    "en": {"rate": "0.0%", "decimal": "#,##0.0", "count": "#,##0", "id": "0", "date": "yyyy-mm-dd",
           "datetime": "yyyy-mm-dd hh:mm"},
}

# A rate is a share in 0..1: the app's on-time rate («В срок», «Выполнено в срок»), share returned
# for rework («На доработку»), share missed («Доля просроченных»), or any column named like one
# (not by a «%» in the name: «95 % интервал» names an interval, not a share).
_RATE_NAME = re.compile(r"rate|share|доля|в срок|on time|on-time|доработк|rework|процент|percent", re.IGNORECASE)
# Identifiers are digits, not quantities: no thousands separator (an INN of 5 012 345 678 misleads).
_ID_NAME = re.compile(r"(^|[^\w])(inn|инн|id|номер|no\.|код|code|line|строка)([^\w]|$)|№|#|_id$", re.IGNORECASE)

_TITLE_GAP = 1  # empty rows between the title block and the table's header


def to_xlsx_bytes(sheets: Mapping[str, pd.DataFrame], title_lines: Sequence[str] | None = None,
                  formats: Mapping[str, str] | None = None, lang: str = "ru") -> bytes:
    """An .xlsx file with one sheet per DataFrame (sheet names cut to Excel's 31 characters).

    title_lines: the lines of the title block written above the table on every sheet (what, the
    period, the filters, the date of the data; see `title_lines`); None or empty: the header is
    the first row. formats: a column's kind by its name (one of KINDS), for columns whose kind the
    name and values do not tell; every other column's kind is inferred (`infer_kind`). lang: the
    style of percentages and dates ("0.0 %" and 31.12.2019 in Russian, "0.0%" and 2019-12-31 in
    English)."""
    formats = dict(formats or {})
    unknown = {kind for kind in formats.values() if kind not in KINDS}
    if unknown:
        raise ValueError(f"unknown column kinds {sorted(unknown)}; known: {KINDS}")
    codes = _FORMATS.get(lang, _FORMATS["ru"])
    lines = [str(line) for line in (title_lines or []) if line is not None and str(line).strip()]
    header_row = len(lines) + _TITLE_GAP + 1 if lines else 1
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        used: set[str] = set()
        for name, frame in sheets.items():
            sheet = _sheet_name(name, used)
            frame = frame.reset_index(drop=True)
            frame.columns = [str(c) for c in frame.columns]
            kinds = {column: formats.get(column) or infer_kind(column, frame[column]) for column in frame.columns}
            frame.to_excel(writer, sheet_name=sheet, index=False, startrow=header_row - 1)
            ws = writer.sheets[sheet]
            for i, line in enumerate(lines, start=1):
                cell = ws.cell(row=i, column=1, value=line)
                cell.font = Font(bold=True, size=13) if i == 1 else Font(italic=True, color="555555")
            last_row = header_row + len(frame)
            for j, column in enumerate(frame.columns, start=1):
                code = codes.get(kinds[column])
                if code is None:
                    continue
                for row in ws.iter_rows(min_row=header_row + 1, max_row=last_row, min_col=j, max_col=j):
                    row[0].number_format = code
            ws.freeze_panes = ws.cell(row=header_row + 1, column=1).coordinate
            if len(frame.columns):
                ws.auto_filter.ref = f"A{header_row}:{get_column_letter(len(frame.columns))}{max(last_row, header_row)}"
            _as_text(ws)
            for j, column in enumerate(frame.columns, start=1):
                ws.column_dimensions[get_column_letter(j)].width = _width(column, frame[column], kinds[column])
            ws.print_title_rows = f"{header_row}:{header_row}"
        if lines:
            writer.book.properties.title = lines[0][:255]
    return buffer.getvalue()


def infer_kind(name: str, values: pd.Series) -> str:
    """The kind of a column from its name and values: 'rate' for a share in 0..1 named like one
    (rate, share, доля, «в срок», on time, rework, %), 'id' for an identifier (INN, №, number,
    code, …_id) of whole numbers, 'count' for whole numbers, 'decimal' for other numbers, 'date' /
    'datetime' for moments (a datetime column whose times are all midnight is 'date'), else 'text'."""
    series = pd.Series(values)
    if pd.api.types.is_bool_dtype(series):
        return "text"
    if pd.api.types.is_datetime64_any_dtype(series):
        present = series.dropna()
        return "date" if len(present) and (present == present.dt.normalize()).all() else "datetime"
    present = series.dropna()
    if present.empty:
        return "text"
    if series.dtype == object:
        if all(isinstance(v, dt.datetime) for v in present):
            return "datetime"
        if all(isinstance(v, dt.date) for v in present):
            return "date"
        if not all(isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, (bool, np.bool_))
                   for v in present):
            return "text"
        present = present.astype(float)
    elif not pd.api.types.is_numeric_dtype(series):
        return "text"
    numbers = pd.to_numeric(present, errors="coerce").astype(float)
    numbers = numbers[np.isfinite(numbers)]
    if numbers.empty:
        return "text"
    whole = bool((numbers == np.round(numbers)).all())
    integers = pd.api.types.is_integer_dtype(series) or (
        series.dtype == object and all(isinstance(v, (int, np.integer)) for v in series.dropna()))
    if _RATE_NAME.search(name) and numbers.between(0, 1).all() and not integers:
        return "rate"
    if whole and _ID_NAME.search(name):
        return "id"
    return "count" if whole else "decimal"


def title_lines(what: str, lang: str, as_of: dt.datetime, *, period: tuple[dt.date, dt.date] | None = None,
                filters: Sequence[tuple[str, str]] = (), target: float | None = None, scope: str | None = None,
                demo: bool = False, extra: Sequence[str] = (), made_at: dt.datetime | None = None) -> list[str]:
    """The title block of a download: what it is; the period; the filters chosen (label: value) or
    that none are; the user's access when it is not the whole region; the on-time target; any lines
    of the caller's (a rule, a note); the date of the data (and that they are a demonstration) and
    when the file was made (Moscow time)."""
    from oversight.access import now_msk
    from oversight.i18n import fmt_date, fmt_datetime, fmt_percent, t

    lines = [what]
    if period is not None:
        lines.append(t("export.period", lang, start=fmt_date(period[0], lang), end=fmt_date(period[1], lang)))
    chosen = "; ".join(f"{label}: {value}" for label, value in filters)
    lines.append(t("export.filters", lang, filters=chosen) if chosen else t("export.filters_none", lang))
    if scope:
        lines.append(t("export.scope", lang, scope=scope))
    if target is not None:
        lines.append(t("export.target", lang, target=fmt_percent(target, lang, 0)))
    lines.extend(extra)
    made = made_at or now_msk()
    key = "export.as_of_demo" if demo else "export.as_of"
    lines.append(t(key, lang, as_of=fmt_datetime(as_of, lang), made=fmt_datetime(made, lang)))
    return lines


def context_title(what: str, ctx, names: Mapping[str, Mapping], *, period: bool = True, scope: str | None = None,
                  extra: Sequence[str] = ()) -> list[str]:
    """`title_lines` for a page: the filters of ctx (a ui.PageContext: lang, filters, as_of, target,
    is_demo) named with `names` ({"territory": {id: name}, "municipality": …, "organization": …,
    "category": …, "source": …}, as the sidebar names them)."""
    from oversight.i18n import t

    lang, f = ctx.lang, ctx.filters
    chosen = []
    for level, value in (("territory", f.territory_id), ("municipality", f.municipality_id),
                         ("organization", f.organization_id), ("category", f.category_id), ("source", f.source)):
        if value is not None:
            chosen.append((t(f"filters.{level}", lang), str(names.get(level, {}).get(value, value))))
    return title_lines(what, lang, ctx.as_of, period=(f.start, f.end) if period else None, filters=chosen,
                       target=ctx.target, scope=scope, demo=bool(getattr(ctx, "is_demo", False)), extra=extra)


def header_row(ws) -> int:
    """The row of a sheet's table header (under the title block): the autofilter's first row."""
    ref = ws.auto_filter.ref
    return int(re.match(r"[A-Z]+(\d+)", ref).group(1)) if ref else 1


def read_table(data: bytes, sheet: str | None = None) -> pd.DataFrame:
    """A downloaded sheet's table back as a DataFrame (header and rows under the title block)."""
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(data))
    ws = book[sheet] if sheet else book.worksheets[0]
    top = header_row(ws)
    rows = list(ws.iter_rows(min_row=top, values_only=True))
    return pd.DataFrame(rows[1:], columns=rows[0]) if rows else pd.DataFrame()


def _sheet_name(name: str, used: set[str]) -> str:
    # Excel forbids []:*?/\ in sheet names and allows 31 characters.
    sheet = re.sub(r"[\[\]:*?/\\]", " ", str(name)).strip()[:31] or "data"
    base, n = sheet, 2
    while sheet.lower() in used:
        suffix = f" ({n})"
        sheet, n = base[: 31 - len(suffix)] + suffix, n + 1
    used.add(sheet.lower())
    return sheet


def _width(column: str, values: pd.Series, kind: str) -> float:
    """Wide enough for the header and the values as shown (numbers as formatted), 8 to 60 characters."""
    sample = values.head(200)
    if kind == "rate":
        longest = 7
    elif kind in ("count", "decimal"):
        numbers = pd.to_numeric(sample, errors="coerce").dropna()
        longest = max((len(f"{v:,.1f}" if kind == "decimal" else f"{v:,.0f}") for v in numbers), default=1)
    elif kind == "date":
        longest = 10
    elif kind == "datetime":
        longest = 16
    else:
        longest = max((len(str(v)) for v in sample if v is not None and not (isinstance(v, float) and np.isnan(v))), default=1)
    return float(min(max(len(str(column)), longest, 6) + 2, 60))


def _as_text(ws) -> None:
    """Every cell as the value it holds, never a formula: openpyxl stores a string starting with "="
    as a live formula, so a name like `=HYPERLINK("http://…")` from the data would run in Excel (formula
    injection, #18). Our downloads hold no formulas of their own."""
    for row in ws.iter_rows():
        for cell in row:
            if cell.data_type == "f":
                cell.data_type = "s"
