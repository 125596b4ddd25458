"""Map (Карта просрочек): where requests go overdue, by municipality, grouped by direction; and a
municipality × time matrix for when and where."""

import streamlit as st

from oversight.analysis import heatmap
from oversight.i18n import t
from oversight.output import charts
from oversight.ui import cache, shell, widgets

ctx = shell.context()
shell.page_header("map.title", ctx)

metric = widgets.url_choice("metric", heatmap.METRICS, heatmap.DEFAULT_METRIC, lambda m: t(f"map.metric.{m}", ctx.lang), t("map.metric", ctx.lang))
if heatmap.boundaries_fit(cache.connection(ctx)):
    values = cache.cached(heatmap.map_values, ctx, metric)
    figure = cache.figure(charts.choropleth_map, values, heatmap.map_geojson(widgets.url_root()), heatmap.direction_outlines(), metric, ctx.target,
                       ctx.lang, ctx.filters.territory_id, feature_ids=heatmap.boundary_ids())
    event = widgets.plotly(figure, key="overdue_map", on_select="rerun")
    widgets.narrow_to_clicked_municipality(event)
    st.caption(t("map.attribution", ctx.lang) + " " + t("map.click_hint", ctx.lang))
    st.caption(t("map.rollup_note", ctx.lang))
else:  # imported data of another place: the shapes we have are Moscow Oblast's
    st.info(t("map.no_boundaries", ctx.lang))

st.subheader(t("map.matrix", ctx.lang))
freq_col, sort_col = st.columns(2)
with freq_col:
    freq = widgets.url_choice("mfreq", ("week", "month"), heatmap.DEFAULT_MATRIX_FREQ, lambda f: t(f"backlog.freq.{f}", ctx.lang), t("map.freq", ctx.lang))
with sort_col:
    sort = widgets.url_choice("sort", heatmap.SORTS, "value", lambda s: t(f"map.sort.{s}", ctx.lang), t("map.sort", ctx.lang))
cells = cache.cached(heatmap.matrix, ctx, freq, metric)
order = heatmap.row_order(cells, metric, sort, ctx.lang)
widgets.plotly(cache.figure(charts.matrix_heatmap, cells, order, metric, ctx.target, ctx.lang), key="overdue_matrix")
widgets.download_frames("overdue_matrix", {t("map.matrix", ctx.lang): widgets.localized(cells, ctx.lang)}, ctx)
