"""Drill-down (Детализация): direction → municipality → organisation → building → request, for a
territorial department head looking for what is behind a bad number.

The way down is kept short: the breadcrumbs and search share one row, the table of the level below
comes first (a row click goes down), the place's KPIs follow in one row of small cards. On an
organisation its open overdue requests come first, a row opening the request: from a direction to
an organisation's overdue request is three clicks, each on a table at the top of the page."""

import streamlit as st

from oversight.i18n import t
from oversight.ui import drill_page, shell

ctx = shell.context()
shell.page_header("drill.title", ctx)

path = drill_page.current_path(ctx)
drill_page.header(path, ctx)

if path.level == "request":
    drill_page.request_card(path, ctx)
else:
    if path.level == "organization":
        drill_page.organization_card(path, ctx)
    drill_page.children_table(path, ctx)
    drill_page.scope_kpis(path, ctx)
    if path.level == "organization":
        drill_page.organization_details(path, ctx)
    st.caption(t("overview.rollup_note", ctx.lang))
