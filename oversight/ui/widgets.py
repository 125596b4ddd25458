"""What pages draw with: KPI cards, ranked tables with their Excel download, the benchmarks chart,
plotly charts with the offline config (no CDN), a map click that narrows the filters, page controls
kept in the link (`url_choice`), and Excel downloads of tables and of a chart's numbers."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from oversight.analysis import metrics
from oversight.filters import ascii_digits
from oversight.i18n import (
    fmt_number,
    fmt_percent,
    fmt_points,
    fmt_signed_percent,
    name_column,
    t,
)
from oversight.output import presentation, tables
from oversight.output.presentation import md_text
from oversight.ui.cache import figure, query
from oversight.ui.context import PageContext
from oversight.ui.sidebar import set_scope

# The Overview's cards: the four leadership reads first, in one row above the fold (what came in,
# what is open, what of it is overdue, and the on-time rate against the target), then the rest.
LEAD_METRICS = ("created", "backlog_end", "overdue_backlog_end", "on_time_rate")
MORE_METRICS = ("closed", "missed", "median_resolution_hours", "returned_share")
CARD_METRICS = LEAD_METRICS + MORE_METRICS
TREND_COLUMN = {
    "backlog_end": "backlog",
    "overdue_backlog_end": "overdue_backlog",
}


format_kpi = presentation.format_kpi  # the pages' name for it


def kpi_cards(comparison: pd.DataFrame, trend: pd.DataFrame, ctx: PageContext, shown: tuple[str, ...] = CARD_METRICS,
              per_row: int = 4, sparklines: bool = True) -> None:
    """KPI cards, `per_row` to a row: value, change against the previous period (the on-time rate:
    against the target; its change against the previous period in the help), and a small trend
    unless `sparklines` is off. What a change is against is said in the period line above the cards."""
    lang = ctx.lang
    by_metric = comparison.set_index("metric")
    columns = [c for _ in range(0, len(shown), per_row) for c in st.columns(per_row)]
    for col, metric in zip(columns, shown):
        row = by_metric.loc[metric]
        change = row["change"]
        note = None
        if metric == "on_time_rate":
            delta_vs_target = None if row["value"] is None else row["value"] - ctx.target
            delta = t("kpi.vs_target", lang, delta=fmt_points(delta_vs_target, lang), target=fmt_percent(ctx.target, lang, 0)) if delta_vs_target is not None else None
            colour = "normal"
            if change is not None:  # in the help: the card's line holds the change against the target
                note = f"{t('kpi.vs_prev', lang)}: {fmt_points(change, lang)}"
        elif metric == "returned_share":
            delta = fmt_points(change, lang) or None
            colour = "inverse"
        else:
            delta = fmt_signed_percent(change, lang) or None
            colour = "inverse" if metric in metrics.HIGHER_IS_WORSE else "off"
        series = None
        if sparklines:
            column = trend[TREND_COLUMN.get(metric, metric)].astype(float)
            if metric in metrics.FLOW_KPIS:  # per day, so a bucket cut by the period's edge does not dip
                column = column / trend["days"]
            series = column.dropna().tolist()
        help_text = t(f"kpi.help.{metric}", lang, target=fmt_percent(ctx.target, lang, 0))
        if metric in metrics.FLOW_KPIS and row["per_day"] is not None:
            help_text += " " + t("kpi.per_day", lang, value=fmt_number(row["per_day"], lang, 1))
        if note is not None:
            help_text += " " + note + "."
        elif change is not None:  # what the change is against: said once above the cards, and here
            help_text += " " + t("kpi.change_help_per_day" if metric in metrics.FLOW_KPIS else "kpi.change_help", lang)
        with col:
            st.metric(
                t(f"kpi.{metric}", lang),
                format_kpi(metric, row["value"], lang),
                delta=delta,
                delta_color=colour,
                help=help_text,
                border=True,
                chart_data=series if series is not None and len(series) > 1 else None,
                chart_type="line",
            )


# Short headers for the ranked tables on the page, the full names on hover (the Excel file keeps the
# full names): with the full ones the municipalities' table ran past the right edge at 1366×768.
SHORT_HEADERS = ("missed", "missed_per_10k", "overdue_backlog_end", "returned_share")


# Pixels per number column (Russian headers, numbers up to six digits); the total fits 1366×768.
RANKED_WIDTHS = {"on_time_rate": 62, "missed": 78, "due": 82, "created": 82, "missed_per_10k": 108,
                 "overdue_backlog_end": 90, "returned_share": 80}


def _ranked_widths(table: pd.DataFrame, level: str, lang: str) -> dict:
    """Column settings that fit a ranked table in the page at 1366×768: the name takes what the
    numbers leave (a long name is cut with "…" and shown whole on hover), long headers shortened."""
    config = {t("col.rank", lang): st.column_config.Column(width=36),
              t("col.territory", lang): st.column_config.Column(width=96 if level == "municipality" else 120)}
    if level == "municipality":
        config[t("col.municipality", lang)] = st.column_config.Column(width=180)
    for c, width in RANKED_WIDTHS.items():
        full = t(f"col.{c}", lang)
        short = t(f"colshort.{c}", lang) if c in SHORT_HEADERS else None
        config[full] = st.column_config.Column(label=short, help=full if short else None, width=width)
    return {label: setting for label, setting in config.items() if label in table.columns}


def ranked_table(area: pd.DataFrame, level: str, ctx: PageContext, height: int | None = None) -> None:
    table = tables.ranked(area, level, ctx.lang)
    if table.empty:
        st.info(t("overview.empty", ctx.lang))
        return
    st.dataframe(tables.styled(table, ctx.lang, ctx.target), hide_index=True, width="stretch", height=height or "auto",
                 column_config=_ranked_widths(table, level, ctx.lang))
    st.download_button(
        t("download.xlsx", ctx.lang),
        data=_ranked_download(table, level, ctx),
        file_name=f"{level}_{ctx.filters.start}_{ctx.filters.end}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key=f"download_{level}",
    )


def _ranked_download(table: pd.DataFrame, level: str, ctx: PageContext):
    from oversight.ui import excel_downloads

    name = t(f"overview.by_{level}", ctx.lang)
    return excel_downloads.xlsx({name: table}, ctx, name)


def benchmarks(frame: pd.DataFrame, ctx: PageContext) -> None:
    """The region's and every direction's on-time rate (totals only: metrics.benchmarks), for a user
    who reads part of the region."""
    from oversight.output import charts

    region = frame[frame["level"] == "region"].iloc[0]
    plotly(figure(charts.on_time_by_territory, frame, ctx.target, ctx.lang), key="benchmark_bars")
    st.caption(t("overview.benchmarks_note", ctx.lang, rate=fmt_percent(region["on_time_rate"], ctx.lang),
                 missed=fmt_number(region["missed"], ctx.lang), due=fmt_number(region["due"], ctx.lang)))


def url_root() -> str:
    """Where this server answers: "/" or, behind a proxy with `server.baseUrlPath`, "/<path>/". Every
    address the pages hand the browser (static files) starts with it: a root-relative "/app/static/"
    missed the base path and the maps drew nothing."""
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}/" if base else "/"


def plotly_config(**extra) -> dict:
    """Plotly's settings for a chart on a page. The world topojson that plotly's geo traces ask for is
    a local stub (static/world_110m.json) from our own server, so nothing is fetched from a CDN."""
    return {"topojsonURL": url_root() + "app/static/", "displaylogo": False, **extra}


def plotly(fig, key: str, on_select="ignore"):
    """Place a plotly figure (plotly_config); the camera button saves a PNG."""
    config = {**plotly_config(), "toImageButtonOptions": {"filename": key, "scale": 2}}
    if on_select == "ignore":
        return st.plotly_chart(fig, key=key, config=config, width="stretch")
    return st.plotly_chart(fig, key=key, config=config, width="stretch", on_select=on_select, selection_mode="points")


def narrow_to_clicked_municipality(event) -> None:
    """A click on a municipality on the map narrows every page's filter to it (applied on the next
    run, before the sidebar is drawn, since a drawn widget's value cannot be changed)."""
    points = (event or {}).get("selection", {}).get("points", []) if isinstance(event, dict) else getattr(getattr(event, "selection", None), "points", [])
    for point in points or []:
        location = point.get("location") if isinstance(point, dict) else None
        if location is not None and ascii_digits(location):
            set_scope(municipality_id=int(location))
            st.rerun()


def url_choice(key: str, options, default, format_func, label: str):
    """A page control whose value lives in the URL under `key` (so a copied link keeps it)."""
    options = list(options)
    state_key = f"pg_{key}"
    if state_key not in st.session_state:
        from_url = st.query_params.get(key)
        st.session_state[state_key] = from_url if from_url in options else default
    if st.session_state[state_key] not in options:
        st.session_state[state_key] = default
    if len(options) <= 4:  # a segmented control reads Markdown in its options (a selectbox does not)
        st.segmented_control(label, options, format_func=lambda v: md_text(format_func(v)), key=state_key)
        if st.session_state[state_key] is None:  # deselected: keep the default
            st.session_state[state_key] = default
    else:
        st.selectbox(label, options, format_func=format_func, key=state_key)
    value = st.session_state[state_key] or default
    if st.query_params.get(key) != value:
        st.query_params[key] = value
    return value


def comparison_options(ctx: PageContext) -> tuple[list[str], dict[str, str]]:
    """What the backlog can be compared with: nothing, the region, a year earlier, any direction or
    municipality (but the one already chosen)."""
    name = name_column(ctx.lang)
    options = ["none", "region", "year"]
    names = {
        "none": t("backlog.compare.none", ctx.lang),
        "region": t("backlog.compare.region", ctx.lang),
        "year": t("backlog.compare.year", ctx.lang),
    }
    for row in query("filter_territories", ctx).itertuples():
        if row.territory_id != ctx.filters.territory_id:
            options.append(f"territory:{row.territory_id}")
            names[options[-1]] = getattr(row, name)
    for row in query("filter_municipalities", ctx).itertuples():
        if row.municipality_id != ctx.filters.municipality_id:
            options.append(f"municipality:{row.municipality_id}")
            names[options[-1]] = getattr(row, name)
    return options, names


_COLUMN_KEYS = {
    "date": "axis.date",
    "backlog": "series.backlog",
    "overdue_backlog": "series.overdue_backlog",
    "created": "series.created",
    "closed": "series.closed",
}


def localized(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    """A copy for download: known columns named in the user's language, band codes spelled out."""
    out = frame.copy()
    if "band" in out:
        out["band"] = [t(f"band.{b}", lang) for b in out["band"]]
    if "date" in out:
        out["date"] = pd.to_datetime(out["date"]).dt.date
    return out.rename(columns={c: t(k, lang) for c, k in _COLUMN_KEYS.items() if c in out})


def download_table(key: str, table: pd.DataFrame, ctx: PageContext, what: str | None = None,
                   formats: dict[str, str] | None = None) -> None:
    """An Excel download of a table as shown (built when clicked), with a title block saying what,
    for which filters and period, and the date of the data (oversight.ui.excel_downloads)."""
    from oversight.ui import excel_downloads

    st.download_button(
        t("download.xlsx", ctx.lang),
        data=excel_downloads.xlsx({key[:31]: table}, ctx, what or key, formats=formats),
        file_name=f"{key}_{ctx.filters.start}_{ctx.filters.end}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key=f"download_{key}",
    )


def download_frames(key: str, sheets: dict[str, pd.DataFrame], ctx: PageContext, what: str | None = None) -> None:
    """An Excel download of the numbers behind a chart, with a title block."""
    from oversight.ui import excel_downloads

    st.download_button(
        t("download.chart_data", ctx.lang),
        # Built when clicked, not on every run of the page (it costs tens of milliseconds).
        data=excel_downloads.xlsx(sheets, ctx, what or next(iter(sheets))),
        file_name=f"{key}_{ctx.filters.start}_{ctx.filters.end}.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key=f"download_{key}",
    )
