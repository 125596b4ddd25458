"""Drill-down (Детализация): direction → municipality → organisation → building → request, for a
territorial department head looking for what is behind a bad number."""

import streamlit as st

from oversight import ui, ui_drill
from oversight.i18n import t

ctx = ui.context()
ui.page_header("drill.title", ctx)

path = ui_drill.current_path(ctx)
ui_drill.search_box(ctx)
ui_drill.breadcrumbs(path, ctx)

if path.level == "request":
    ui_drill.request_card(path, ctx)
else:
    ui_drill.scope_kpis(path, ctx)
    if path.level == "organization":
        ui_drill.organization_card(path, ctx)
    ui_drill.children_table(path, ctx)
    st.caption(t("overview.rollup_note", ctx.lang))
