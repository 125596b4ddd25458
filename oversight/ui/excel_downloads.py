"""Excel downloads on a page (#19): the title block made from the page's context (what, the period,
the filters by name, the user's access, the target, the date of the data) and the file built when
the button is clicked (oversight.output.export does the sheet: formats, frozen header, autofilter, widths).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence

import pandas as pd
import streamlit as st

from oversight.i18n import name_column, t
from oversight.output import export, presentation
from oversight.ui import cache, sidebar

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def filters_named(ctx) -> list[tuple[str, str]]:
    """The filters chosen in the sidebar, as (label, name) in the user's language."""
    f, lang, name = ctx.filters, ctx.lang, name_column(ctx.lang)
    out = []
    for level, value, query, key in (("territory", f.territory_id, "filter_territories", "territory_id"),
                                     ("municipality", f.municipality_id, "filter_municipalities", "municipality_id"),
                                     ("organization", f.organization_id, "filter_organizations", "organization_id"),
                                     ("category", f.category_id, "filter_categories", "category_id")):
        if value is None:
            continue
        rows = cache.query(query, ctx)
        row = rows[rows[key] == value]
        if row.empty:
            label = str(value)
        elif level == "organization":
            label = f"{row.iloc[0]['name']} ({t('col.inn', lang)} {row.iloc[0]['inn']})"
        else:
            label = str(row.iloc[0][name])
        out.append((t(f"filters.{level}", lang), label))
    if f.source is not None:
        out.append((t("filters.source", lang), sidebar.source_label(f.source, lang)))
    return out


def title_args(ctx, what: str, *, period: bool = True, target: bool = True, extra: Sequence[str] = ()) -> dict:
    """Everything the title block needs, worked out now (in the page's run, where the queries and
    the scope are at hand), for `export.title_lines` when the file is built."""
    scope = None if ctx.scope.is_everything else presentation.scope_label(cache.connection(ctx), ctx.lang)
    return {"what": what, "lang": ctx.lang, "as_of": ctx.as_of,
            "period": (ctx.filters.start, ctx.filters.end) if period else None,
            "filters": tuple(filters_named(ctx)), "target": ctx.target if target else None, "scope": scope,
            "demo": bool(ctx.is_demo), "extra": tuple(extra)}


def workbook(sheets: Mapping[str, pd.DataFrame], title: dict, formats: Mapping[str, str] | None = None) -> bytes:
    """The .xlsx, its title block stamped with the moment it is made."""
    return export.to_xlsx_bytes(sheets, export.title_lines(**title), formats=formats, lang=title["lang"])


def xlsx(sheets: Mapping[str, pd.DataFrame], ctx, what: str, *, period: bool = True, target: bool = True,
         formats: Mapping[str, str] | None = None, extra: Sequence[str] = ()):
    """The `data` of a download button: builds the file when clicked. period / target: whether the
    title names the sidebar's period and the on-time target (not where they do not apply)."""
    return functools.partial(workbook, dict(sheets), title_args(ctx, what, period=period, target=target, extra=extra),
                             formats)


def download_table(key: str, table: pd.DataFrame, ctx, what: str, *, period: bool = True, target: bool = True,
                   formats: Mapping[str, str] | None = None, extra: Sequence[str] = (), sheet: str | None = None,
                   label_key: str = "download.xlsx") -> None:
    """An Excel download of one table (widgets.download_table with a title block)."""
    st.download_button(
        t(label_key, ctx.lang), data=xlsx({(sheet or what)[:31]: table}, ctx, what, period=period, target=target,
                                          formats=formats, extra=extra),
        file_name=f"{key}_{ctx.filters.start}_{ctx.filters.end}.xlsx", mime=XLSX_MIME, key=f"download_{key}",
        on_click="ignore")
