"""Overview (Обзор): the leadership KPIs, their trends, and ranked directions and municipalities."""

import streamlit as st

from oversight import charts, ui
from oversight.i18n import t

ctx = ui.context()
ui.page_header("overview.title", ctx)

comparison = ui.cached("kpi_comparison", ctx)
trend = ui.cached("kpi_trend", ctx)
area = ui.cached("kpis_by_area", ctx)

st.subheader(t("overview.kpis", ctx.lang))
ui.kpi_cards(comparison, trend, ctx)

st.subheader(t("overview.by_territory", ctx.lang))
if not area.empty:
    ui.plotly(ui.figure(charts.on_time_by_territory, area, ctx.target, ctx.lang), key="territory_bars")
ui.ranked_table(area, "territory", ctx)

if not ctx.scope.is_everything:  # a territorial head: his direction against the region and the others
    st.subheader(t("overview.benchmarks", ctx.lang))
    ui.benchmarks(ui.cached("benchmarks", ctx), ctx)

st.subheader(t("overview.by_municipality", ctx.lang))
ui.ranked_table(area, "municipality", ctx, height=460)
st.caption(t("overview.rank_note", ctx.lang))
st.caption(t("overview.rollup_note", ctx.lang))
