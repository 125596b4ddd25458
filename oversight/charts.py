"""Plotly figure builders: pure functions DataFrame -> figure, with the project's look."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from oversight.i18n import fmt_percent, t
from oversight.theme import BAD, FONT, GOOD, NEUTRAL, PRIMARY, RED_MARGIN, WARN


def _layout(fig: go.Figure, height: int, lang: str) -> go.Figure:
    fig.update_layout(
        separators=", " if lang == "ru" else ".,",
        height=height,
        margin=dict(l=10, r=10, t=30, b=10),
        font=dict(family=FONT, size=13),
        plot_bgcolor="white",
        paper_bgcolor="white",
        showlegend=False,
    )
    return fig


def on_time_by_territory(area: pd.DataFrame, target: float, lang: str) -> go.Figure:
    """Horizontal bars: on-time rate of each direction against the target line."""
    rows = area[area["level"] == "territory"].sort_values("on_time_rate", ascending=False, na_position="first")
    names = rows["territory_name_en" if lang == "en" else "territory_name_ru"]
    rates = rows["on_time_rate"].astype(float)
    colours = [GOOD if r >= target else (BAD if r < target - RED_MARGIN else WARN) if pd.notna(r) else NEUTRAL for r in rates]
    fig = go.Figure(
        go.Bar(
            x=rates * 100,
            y=names,
            orientation="h",
            marker_color=colours,
            text=[fmt_percent(r, lang) for r in rates],
            textposition="inside",
            insidetextanchor="end",
            hovertemplate="%{y}: %{text}<extra></extra>",
        )
    )
    fig.add_vline(x=target * 100, line_dash="dash", line_color=NEUTRAL)
    fig.add_annotation(
        x=target * 100, y=1.0, yref="paper", yanchor="bottom", showarrow=False,
        text=t("chart.target", lang, target=fmt_percent(target, lang, 0)),
    )
    low = min([r for r in rates if pd.notna(r)] + [target]) - 0.05
    # Percent as numbers with a suffix, so Russian gets "90 %" (d3's "%" format cannot add the space).
    fig.update_xaxes(range=[max(0.0, low) * 100, 100], ticksuffix="\u00a0%" if lang == "ru" else "%", gridcolor="#eeeeee")
    return _layout(fig, 60 + 45 * len(rows), lang)


# ---------------------------------------------------------------- backlog page

SERIES_COLOURS = {"backlog": PRIMARY, "overdue_backlog": BAD, "created": "#5b8fd1", "closed": GOOD, "net": NEUTRAL}
AGE_COLOURS = ["#c6dbef", "#9ecae1", "#6baed6", "#3182bd", "#08519c"]
OVERDUE_COLOURS = ["#d9d9d9", "#fdd0a2", "#fd8d3c", "#e6550d", "#a63603"]


def event_label(row, lang: str) -> str:
    """Short label of an event for a time axis: «Семинар: Серпухов»."""
    kind = t(f"event.{row.kind}", lang)
    place = row.municipality_name_en if lang == "en" else row.municipality_name_ru
    if isinstance(place, str) and place:
        return f"{kind}: {place.replace('городской округ ', '').replace(' городской округ', '')}"
    if pd.isna(row.organization_id):
        return f"{kind} ({t('event.region', lang)})"
    name = getattr(row, "organization_name", None)
    return f"{kind}: {name}" if isinstance(name, str) and name else kind


def _mark_events(fig: go.Figure, events: pd.DataFrame, lang: str, axes: int = 1) -> None:
    """A dotted vertical line for every event on each of the first `axes` time axes, its name on
    the first (subplots would be unreadable with a label on each)."""
    for row in events.itertuples():
        when = pd.Timestamp(row.event_date)
        for i in range(1, axes + 1):
            suffix = "" if i == 1 else str(i)
            fig.add_shape(
                type="line", x0=when, x1=when, y0=0, y1=1, xref=f"x{suffix}", yref=f"y{suffix} domain",
                line=dict(color=NEUTRAL, width=1, dash="dot"),
            )
        fig.add_annotation(
            x=when, y=1.0, yref="y domain", xref="x", text=event_label(row, lang), showarrow=False,
            textangle=-90, xanchor="right", yanchor="top", font=dict(size=11, color=NEUTRAL),
        )


# Dates as numbers: plotly's month names are English only (its locale files are not bundled).
DATE_FORMAT = {"ru": "%d.%m.%Y", "en": "%Y-%m-%d"}


def _date_axes(fig: go.Figure, lang: str) -> None:
    fmt = DATE_FORMAT.get(lang, DATE_FORMAT["ru"])
    fig.update_xaxes(tickformat=fmt, hoverformat=fmt)


def _time_layout(fig: go.Figure, height: int, lang: str) -> go.Figure:
    _layout(fig, height, lang)
    fig.update_layout(showlegend=True, legend=dict(orientation="h", y=-0.15), hovermode="x unified")
    fig.update_xaxes(gridcolor="#eeeeee")
    _date_axes(fig, lang)
    fig.update_yaxes(gridcolor="#eeeeee", rangemode="tozero", tickformat=",d")
    return fig


def backlog_lines(base: pd.DataFrame, compare: pd.DataFrame | None, compare_name: str, events: pd.DataFrame, lang: str) -> go.Figure:
    """Open and overdue backlog over time, the comparison dashed beside them, events marked."""
    fig = go.Figure()
    for column in ("backlog", "overdue_backlog"):
        fig.add_trace(go.Scatter(x=base["date"], y=base[column], name=t(f"series.{column}", lang), mode="lines+markers",
                                 line=dict(color=SERIES_COLOURS[column], width=2), marker=dict(size=4)))
    if compare is not None and not compare.empty:
        for column, key in (("backlog", "series.compare"), ("overdue_backlog", "series.compare_overdue")):
            fig.add_trace(go.Scatter(x=compare["date"], y=compare[column], name=t(key, lang, name=compare_name),
                                     mode="lines", line=dict(color=SERIES_COLOURS[column], width=1.5, dash="dash")))
    _mark_events(fig, events, lang)
    return _time_layout(fig, 380, lang)


def flows_bars(base: pd.DataFrame, events: pd.DataFrame, lang: str) -> go.Figure:
    """Created against closed per bucket, with the net change as a line."""
    fig = go.Figure()
    fig.add_trace(go.Bar(x=base["date"], y=base["created"], name=t("series.created", lang), marker_color=SERIES_COLOURS["created"]))
    fig.add_trace(go.Bar(x=base["date"], y=base["closed"], name=t("series.closed", lang), marker_color=SERIES_COLOURS["closed"]))
    fig.add_trace(go.Scatter(x=base["date"], y=base["created"] - base["closed"], name=t("series.net", lang),
                             mode="lines+markers", line=dict(color=SERIES_COLOURS["net"]), yaxis="y2"))
    fig.update_layout(barmode="group", yaxis2=dict(overlaying="y", side="right", showgrid=False, zeroline=True, tickformat=",d"))
    _mark_events(fig, events, lang)
    return _time_layout(fig, 340, lang)


def ageing_area(ageing: pd.DataFrame, bands: tuple[str, ...], colours: list[str], events: pd.DataFrame, lang: str) -> go.Figure:
    """Open backlog at each moment stacked by bands (age or how far past the deadline)."""
    fig = go.Figure()
    for band, colour in zip(bands, colours):
        rows = ageing[ageing["band"] == band]
        fig.add_trace(go.Scatter(x=rows["date"], y=rows["count"], name=t(f"band.{band}", lang), stackgroup="one",
                                 mode="lines", line=dict(width=0.5, color=colour), fillcolor=colour))
    _mark_events(fig, events, lang)
    return _time_layout(fig, 320, lang)


def small_multiples(by_area: pd.DataFrame, events: pd.DataFrame, lang: str, columns: int = 4) -> go.Figure:
    """One small backlog chart per area (already sorted by growth), overdue shaded under it, events
    as dotted lines on each."""
    from plotly.subplots import make_subplots

    areas = list(dict.fromkeys(by_area["area_id"]))
    names = by_area.drop_duplicates("area_id").set_index("area_id")["name_en" if lang == "en" else "name_ru"]
    growth = by_area.drop_duplicates("area_id").set_index("area_id")["growth"]
    titles = [f"{str(names[a]).replace('городской округ ', '').replace(' городской округ', '')} ({int(growth[a]):+d})" for a in areas]
    rows = (len(areas) + columns - 1) // columns
    fig = make_subplots(rows=rows, cols=columns, subplot_titles=titles, shared_xaxes=True, vertical_spacing=0.12 / max(rows, 1) * 2)
    for i, area in enumerate(areas):
        part = by_area[by_area["area_id"] == area]
        r, c = i // columns + 1, i % columns + 1
        fig.add_trace(go.Scatter(x=part["date"], y=part["backlog"], mode="lines", line=dict(color=PRIMARY, width=1.5),
                                 name=t("series.backlog", lang), showlegend=i == 0), row=r, col=c)
        fig.add_trace(go.Scatter(x=part["date"], y=part["overdue_backlog"], mode="lines", fill="tozeroy",
                                 line=dict(color=BAD, width=1), name=t("series.overdue_backlog", lang), showlegend=i == 0), row=r, col=c)
    for i in range(1, len(areas) + 1):
        suffix = "" if i == 1 else str(i)
        for row in events.itertuples():
            fig.add_shape(type="line", x0=pd.Timestamp(row.event_date), x1=pd.Timestamp(row.event_date), y0=0, y1=1,
                          xref=f"x{suffix}", yref=f"y{suffix} domain", line=dict(color=NEUTRAL, width=1, dash="dot"))
    _layout(fig, 190 * rows + 40, lang)
    fig.update_layout(showlegend=False, margin=dict(t=40, b=20))
    fig.update_yaxes(rangemode="tozero", gridcolor="#eeeeee", tickformat=",d")
    _date_axes(fig, lang)
    fig.update_xaxes(nticks=3, tickangle=0, tickformat="%m.%Y" if lang == "ru" else "%Y-%m")
    fig.update_annotations(font_size=12)
    return fig
