"""Overview (Обзор): the leadership KPIs, their trends, and ranked directions and municipalities.

Laid out for 1366×768: the four leadership cards, then the directions against the target beside the
other four cards, all above the fold; the ranked tables below."""

import streamlit as st

from oversight.analysis import metrics
from oversight.i18n import t
from oversight.output import charts
from oversight.ui import cache, report_download, shell, widgets

ctx = shell.context()
shell.page_header("overview.title", ctx)

comparison = cache.cached(metrics.kpi_comparison, ctx)
trend = cache.cached(metrics.kpi_trend, ctx)
area = cache.cached(metrics.kpis_by_area, ctx)

widgets.kpi_cards(comparison, trend, ctx, widgets.LEAD_METRICS)
chart, more = st.columns(2)
with chart:
    st.markdown(f"**{t('overview.by_territory_target', ctx.lang)}**")
    if not area.empty:
        widgets.plotly(cache.figure(charts.on_time_by_territory, area, ctx.target, ctx.lang), key="territory_bars")
with more:
    widgets.kpi_cards(comparison, trend, ctx, widgets.MORE_METRICS, per_row=2, sparklines=False)

st.subheader(t("overview.by_territory", ctx.lang))
widgets.ranked_table(area, "territory", ctx)

if not ctx.scope.is_everything:  # a territorial head: his direction against the region and the others
    st.subheader(t("overview.benchmarks", ctx.lang))
    widgets.benchmarks(cache.cached(metrics.benchmarks, ctx), ctx)

st.subheader(t("overview.by_municipality", ctx.lang))
widgets.ranked_table(area, "municipality", ctx, height=460)
st.caption(t("overview.rank_note", ctx.lang))
st.caption(t("overview.rollup_note", ctx.lang))

# The справка for the page's filters (issue #20): at the end, so the cards stay above the fold.
report_download.report_buttons(ctx)
