"""Overview (Обзор): the leadership KPIs, their trends, and ranked directions and municipalities.

Laid out for 1366×768: the four leadership cards, then the directions against the target beside the
other four cards, all above the fold; the ranked tables below."""

import streamlit as st

from oversight import ui
from oversight.i18n import t
from oversight.output import charts
from oversight.ui import report_download

ctx = ui.context()
ui.page_header("overview.title", ctx)

comparison = ui.cached("kpi_comparison", ctx)
trend = ui.cached("kpi_trend", ctx)
area = ui.cached("kpis_by_area", ctx)

ui.kpi_cards(comparison, trend, ctx, ui.LEAD_METRICS)
chart, more = st.columns(2)
with chart:
    st.markdown(f"**{t('overview.by_territory_target', ctx.lang)}**")
    if not area.empty:
        ui.plotly(ui.figure(charts.on_time_by_territory, area, ctx.target, ctx.lang), key="territory_bars")
with more:
    ui.kpi_cards(comparison, trend, ctx, ui.MORE_METRICS, per_row=2, sparklines=False)

st.subheader(t("overview.by_territory", ctx.lang))
ui.ranked_table(area, "territory", ctx)

if not ctx.scope.is_everything:  # a territorial head: his direction against the region and the others
    st.subheader(t("overview.benchmarks", ctx.lang))
    ui.benchmarks(ui.cached("benchmarks", ctx), ctx)

st.subheader(t("overview.by_municipality", ctx.lang))
ui.ranked_table(area, "municipality", ctx, height=460)
st.caption(t("overview.rank_note", ctx.lang))
st.caption(t("overview.rollup_note", ctx.lang))

# The справка for the page's filters (issue #20): at the end, so the cards stay above the fold.
report_download.report_buttons(ctx)
