"""Backlog (Динамика): is the backlog growing, and where? Stocks, flows, ageing, areas, events."""

import streamlit as st

from oversight.analysis import backlog
from oversight.i18n import fmt_date, t
from oversight.output import charts
from oversight.output.presentation import md_text
from oversight.ui import cache, shell, widgets

ctx = shell.context()
shell.page_header("backlog.title", ctx)

freq_col, compare_col = st.columns([1, 2])
with freq_col:
    freq = widgets.url_choice("freq", backlog.FREQS, backlog.DEFAULT_FREQ, lambda f: t(f"backlog.freq.{f}", ctx.lang), t("backlog.freq", ctx.lang))
with compare_col:
    options, names = widgets.comparison_options(ctx)
    compare = widgets.url_choice("cmp", options, backlog.default_comparison(ctx.filters), names.get, t("backlog.compare", ctx.lang))

base = cache.cached(backlog.series, ctx, freq)
events = cache.cached(backlog.events, ctx)
st.info(backlog.summary(base, backlog.start_stock(base), ctx.filters, ctx.as_of, ctx.lang))

st.subheader(t("backlog.stock", ctx.lang))
other = cache.cached(backlog.comparison, ctx, freq, compare)
widgets.plotly(cache.figure(charts.backlog_lines, base, other, names.get(compare, ""), events, ctx.lang), key="backlog_lines")
widgets.download_frames("backlog_stock", {t("backlog.stock", ctx.lang): widgets.localized(base, ctx.lang)}, ctx)
if not events.empty:
    st.caption(t("backlog.events_note", ctx.lang, events="; ".join(f"{r.event_date:%d.%m.%Y} — {md_text(r.title)}" for r in events.itertuples())))

st.subheader(t("backlog.flows", ctx.lang))
widgets.plotly(cache.figure(charts.flows_bars, base, events, ctx.lang, freq), key="backlog_flows")
partial = base.loc[charts.partial_buckets(base, freq), "date"]
if not partial.empty:
    st.caption(t("backlog.partial_note", ctx.lang, buckets=", ".join(fmt_date(d.date(), ctx.lang) for d in partial)))
widgets.download_frames("backlog_flows", {t("backlog.flows", ctx.lang): widgets.localized(base, ctx.lang)}, ctx)

ageing = cache.cached(backlog.ageing, ctx, freq)
left, right = st.columns(2)
with left:
    st.subheader(t("backlog.ageing", ctx.lang))
    widgets.plotly(cache.figure(charts.ageing_area, ageing, backlog.AGE_BANDS, charts.AGE_COLOURS, events, ctx.lang), key="backlog_age")
with right:
    st.subheader(t("backlog.ageing_overdue", ctx.lang))
    widgets.plotly(cache.figure(charts.ageing_area, ageing, backlog.OVERDUE_BANDS, charts.OVERDUE_COLOURS, events, ctx.lang), key="backlog_overdue_age")
widgets.download_frames("backlog_ageing", {t("backlog.ageing", ctx.lang): widgets.localized(ageing, ctx.lang)}, ctx)

st.subheader(t("backlog.where", ctx.lang))
level = widgets.url_choice("by", backlog.LEVELS, backlog.DEFAULT_LEVEL, lambda v: t(f"backlog.level.{v}", ctx.lang), t("backlog.level", ctx.lang))
areas = cache.cached(backlog.by_area, ctx, freq, level)
shown, total = backlog.top_areas(areas)
widgets.plotly(cache.figure(charts.small_multiples, areas[areas["area_id"].isin(shown)], events, ctx.lang), key="backlog_multiples")
st.caption(t("backlog.where_note", ctx.lang, shown=len(shown), total=total) + " " + t("backlog.where_legend", ctx.lang))
widgets.download_frames("backlog_areas", {t("backlog.where", ctx.lang): widgets.localized(areas, ctx.lang)}, ctx)
