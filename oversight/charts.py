"""Plotly figure builders: pure functions DataFrame -> figure, with the project's look."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from oversight import fairness
from oversight.i18n import fmt_number, fmt_percent, fmt_signed_percent, t
from oversight.theme import BAD, FONT, GOOD, NEUTRAL, PRIMARY, RED_MARGIN, WARN


def plotly_text(value) -> str:
    """A value from data (a name, an address, an event's title) as text plotly draws as typed.

    Plotly reads a subset of HTML in every text it draws (tick labels, hover labels, legend names,
    annotations, titles): <b>, <i>, <br>, <a href>, <span style>. With &, < and > as entities it shows
    "<b>" as those three characters. Truncate before escaping (a cut entity would show). Never put a
    value from data into a hovertemplate itself (its %{…} would be read): pass it as customdata, text
    or a trace's name and refer to it (%{customdata[0]}, %{fullData.name})."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return ""
    return html.escape(str(value), quote=False)


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
    names = rows["territory_name_en" if lang == "en" else "territory_name_ru"].map(plotly_text)
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
            x=when, y=1.0, yref="y domain", xref="x", text=plotly_text(event_label(row, lang)), showarrow=False,
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
            fig.add_trace(go.Scatter(x=compare["date"], y=compare[column], name=t(key, lang, name=plotly_text(compare_name)),
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
    titles = [f"{plotly_text(_short(names[a]))} ({int(growth[a]):+d})" for a in areas]
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


# ---------------------------------------------------------------- map page

GREY = "#e0e0e0"


def _short(name: str) -> str:
    return str(name).replace("городской округ ", "").replace(" городской округ", "")


def format_metric(value, metric: str, lang: str) -> str:
    if metric == "change":
        return fmt_signed_percent(value, lang)
    if metric == "on_time_rate":
        return fmt_percent(value, lang)
    if metric == "missed_per_10k":
        return fmt_number(value, lang, 1)
    return fmt_number(value, lang)


def _scale(metric: str, target: float) -> dict:
    """Sequential reds for counts (more is worse); red-yellow-green around the target for rates; a
    change in missed deadlines diverges around no change (a fall green, a rise red)."""
    if metric == "change":
        return dict(colorscale="RdYlGn_r", zmid=0.0)
    if metric == "on_time_rate":
        return dict(colorscale="RdYlGn", zmid=target)
    return dict(colorscale="Reds")


def choropleth_map(values: pd.DataFrame, geojson: dict | str, outlines: dict, metric: str, target: float, lang: str,
                   territory_id: int | None = None, feature_ids: list[int] | None = None) -> go.Figure:
    """Municipalities coloured by the metric, directions outlined and labelled; with a direction
    chosen the map zooms to it and the rest is grey. No tiles and no basemap: works offline.

    `geojson` is the boundaries themselves (for a self-contained figure: images, slides) or the URL
    our own server publishes them at (the page: a small figure, the shapes fetched once and cached);
    with a URL, `feature_ids` lists the municipality ids the file has (those out of scope are grey)."""
    name = "municipality_name_en" if lang == "en" else "municipality_name_ru"
    terr_name = "territory_name_en" if lang == "en" else "territory_name_ru"
    shown = values[values["value"].notna()]
    custom = np.stack([
        shown[name].map(lambda n: plotly_text(_short(n))), shown[terr_name].map(plotly_text),
        [format_metric(v, metric, lang) for v in shown["value"]],
        shown["rank_region"].fillna(0).astype(int), shown["in_region"], shown["rank_direction"].fillna(0).astype(int),
        shown["in_direction"],
    ], axis=-1) if len(shown) else None
    hover = t("map.hover", lang)
    fig = go.Figure()
    in_scope = set(values["municipality_id"])
    if feature_ids is None:
        feature_ids = [f["properties"]["municipality_id"] for f in geojson["features"]]
    others = [i for i in feature_ids if i not in in_scope]
    # Each trace carries only its own shapes: the boundaries are sent to the browser once, not twice.
    def subset(ids) -> dict | str:
        if isinstance(geojson, str):
            return geojson  # a URL: features without a location are simply not drawn
        wanted = set(ids)
        return {"type": "FeatureCollection", "features": [f for f in geojson["features"] if f["properties"]["municipality_id"] in wanted]}

    if others:
        fig.add_trace(go.Choropleth(
            geojson=subset(others), featureidkey="properties.municipality_id", locations=others, z=[0] * len(others),
            colorscale=[[0, GREY], [1, GREY]], showscale=False, hoverinfo="skip", marker_line=dict(color="white", width=0.5),
        ))
    fig.add_trace(go.Choropleth(
        geojson=subset(shown["municipality_id"]), featureidkey="properties.municipality_id",
        locations=shown["municipality_id"], z=shown["value"],
        customdata=custom, hovertemplate=hover, marker_line=dict(color="white", width=0.6),
        colorbar=dict(title=dict(text=t(f"map.metric.{metric}", lang), side="right"), thickness=14,
                      tickformat=".0%" if metric in ("on_time_rate", "change") else None),
        **_scale(metric, target),
    ))
    for tid, outline in outlines.items():
        if territory_id is not None and tid != territory_id:
            continue
        # Rings one after another, a NaN between them to lift the pen (arrays, not lists: fast to validate).
        gap = np.full((1, 2), np.nan)
        points = np.concatenate([part for ring in outline["rings"] for part in (ring[:, :2], gap)])
        fig.add_trace(go.Scattergeo(lon=points[:, 0], lat=points[:, 1], mode="lines", line=dict(color="#222222", width=2),
                                    hoverinfo="skip", showlegend=False))
    labels = {tid: o["label"] for tid, o in outlines.items() if territory_id is None or tid == territory_id}
    names = values.drop_duplicates("territory_id").set_index("territory_id")[terr_name]
    fig.add_trace(go.Scattergeo(
        lon=[p[0] for p in labels.values()], lat=[p[1] for p in labels.values()], mode="text",
        text=[f"<b>{plotly_text(names.get(tid, ''))}</b>" for tid in labels], textfont=dict(size=15, color="#111111"),
        hoverinfo="skip", showlegend=False,
    ))
    if territory_id is not None and territory_id in outlines:
        # Zoom to the chosen direction (fitbounds would also fit the grey rest of the oblast).
        points = np.concatenate(outlines[territory_id]["rings"])
        pad = 0.08
        fig.update_geos(fitbounds=False, visible=False, projection_type="mercator",
                        lonaxis_range=[points[:, 0].min() - pad, points[:, 0].max() + pad],
                        lataxis_range=[points[:, 1].min() - pad, points[:, 1].max() + pad])
    else:
        fig.update_geos(fitbounds="locations", visible=False, projection_type="mercator")
    fig.update_layout(height=620, margin=dict(l=0, r=0, t=10, b=0), font=dict(family=FONT), showlegend=False,
                      separators=", " if lang == "ru" else ".,")
    return fig


def matrix_heatmap(cells: pd.DataFrame, order: list[tuple[str, int]], metric: str, target: float, lang: str) -> go.Figure:
    """Municipalities (grouped under their direction's subtotal row) × time, coloured by the metric.
    Subtotals have their own colour scale, so the directions' large counts do not wash out the rest."""
    name = "name_en" if lang == "en" else "name_ru"
    key = cells["level"] + ":" + cells["territory_id"].astype(str).where(cells["level"] == "territory", cells["municipality_id"].astype(str))
    cells = cells.assign(key=key)
    labels = {}
    for level, ident in order:
        row = cells[cells["key"] == f"{level}:{ident}"].iloc[0]
        labels[f"{level}:{ident}"] = f"<b>{plotly_text(row[name])}</b>" if level == "territory" else plotly_text(_short(row[name]))
    buckets = sorted(cells["bucket"].unique())
    fig = go.Figure()
    for level, axis in (("municipality", "coloraxis"), ("territory", "coloraxis2")):
        keys = [f"{lv}:{i}" for lv, i in order]
        grid = cells[cells["level"] == level].pivot(index="key", columns="bucket", values="value").reindex(index=keys, columns=buckets)
        text = [[format_metric(v, metric, lang) for v in row] for row in grid.to_numpy()]
        fig.add_trace(go.Heatmap(
            z=grid.to_numpy(dtype=float), x=buckets, y=[labels[k] for k in keys], coloraxis=axis, text=text,
            hovertemplate="%{y}<br>%{x|" + DATE_FORMAT.get(lang, DATE_FORMAT["ru"]) + "}: %{text}<extra></extra>",
            xgap=1, ygap=1,
        ))
    scale = _scale(metric, target)
    coloraxis = dict(colorscale=scale["colorscale"], colorbar=dict(title=dict(text=t(f"map.metric.{metric}", lang)), thickness=12))
    if "zmid" in scale:
        coloraxis["cmid"] = scale["zmid"]
    fig.update_layout(coloraxis=coloraxis, coloraxis2=dict(colorscale=scale["colorscale"], showscale=False, **({"cmid": scale["zmid"]} if "zmid" in scale else {})))
    fig.update_yaxes(autorange="reversed", tickfont=dict(size=11))
    _layout(fig, 120 + 17 * len(order), lang)
    _date_axes(fig, lang)
    step = max(1, len(buckets) // 12)  # at most a dozen date labels
    fig.update_xaxes(tickvals=buckets[::step], tickangle=0)
    fig.update_layout(margin=dict(l=10, r=10, t=10, b=10))
    return fig


def interrupted_series_chart(weekly: pd.DataFrame, event_date, title: str, lang: str) -> go.Figure:
    """Weekly missed deadlines of the treated group, the fitted level and slope before and after the
    event, and (dashed) where the fitted line would have gone without the event."""
    fig = go.Figure()
    fig.add_trace(go.Bar(x=weekly["week_start"], y=weekly["treated"], name=t("compare.its.actual", lang),
                         marker_color="#b0bec5"))
    before, after = weekly[weekly["week"] < 0], weekly[weekly["week"] >= 0]
    for part in (before, after):
        fig.add_trace(go.Scatter(x=part["week_start"], y=part["fitted"], mode="lines", line=dict(color=PRIMARY, width=3),
                                 name=t("compare.its.fitted", lang), showlegend=part is before))
    fig.add_trace(go.Scatter(x=after["week_start"], y=after["without_event"], mode="lines",
                             line=dict(color=BAD, width=2, dash="dash"), name=t("compare.its.without", lang)))
    fig.add_shape(type="line", x0=pd.Timestamp(event_date), x1=pd.Timestamp(event_date), y0=0, y1=1, yref="y domain",
                  line=dict(color=NEUTRAL, width=1, dash="dot"))
    _time_layout(fig, 360, lang)
    fig.update_layout(title=dict(text=title, font=dict(size=14)), bargap=0.15)
    return fig


# ---------------------------------------------------------------- examples page (fair comparisons)

VERDICT_COLOURS = {"above": BAD, "below": GOOD, "inside": "#90a4ae", None: "#cfd8dc"}
LABELLED_OUTLIERS = 10  # outliers numbered on the plot on each side; the tables have all


def _pct_axis(lang: str) -> dict:
    return dict(ticksuffix="\u00a0%" if lang == "ru" else "%", gridcolor="#eeeeee")


def funnel_plot(assessed: pd.DataFrame, funnel: dict, curve: pd.DataFrame, lang: str) -> go.Figure:
    """Each organisation's missed-deadline share against its volume (log scale), with the 95 % and
    99.8 % control limits around the scope's share; points outside the 99.8 % limits coloured and
    the furthest named. customdata[0] is the organisation id (a click opens its card)."""
    fig = go.Figure()
    for name, dash, width in (("998", "solid", 1.6), ("95", "dash", 1.2)):
        label = t(f"examples.limit_{name}", lang)
        for side in ("lower", "upper"):
            fig.add_trace(go.Scatter(
                x=curve["volume"], y=curve[f"{side}_{name}"] * 100, mode="lines", name=label,
                line=dict(color=NEUTRAL, dash=dash, width=width), hoverinfo="skip", showlegend=side == "upper",
            ))
    fig.add_hline(y=funnel["p0"] * 100, line_color=PRIMARY, line_width=1.5)
    fig.add_annotation(x=1, xref="paper", xanchor="right", y=funnel["p0"] * 100, yanchor="bottom", showarrow=False,
                       text=t("examples.p0", lang, share=fmt_percent(funnel["p0"], lang)), font=dict(color=PRIMARY))
    hover = t("examples.hover", lang)
    for verdict in ("inside", None, "below", "above"):
        rows = assessed[assessed["verdict"].isna()] if verdict is None else assessed[assessed["verdict"] == verdict]
        if rows.empty:
            continue
        custom = np.stack([
            rows["organization_id"].astype(int), rows["name"].map(plotly_text),
            [fmt_number(v, lang) for v in rows["missed"]], [fmt_number(v, lang) for v in rows["due"]],
            [fmt_percent(v, lang) for v in rows["share"]],
            [f"{fmt_percent(lo, lang)} – {fmt_percent(hi, lang)}" for lo, hi in zip(rows["eb_low"], rows["eb_high"])],
        ], axis=-1)
        fig.add_trace(go.Scatter(
            x=rows["due"], y=rows["share"] * 100, mode="markers", name=t(f"examples.verdict.{verdict or 'small'}", lang),
            marker=dict(color=VERDICT_COLOURS[verdict], size=9 if verdict in ("above", "below") else 6,
                        line=dict(color="white", width=0.5)),
            customdata=custom, hovertemplate=hover,
        ))
    # The furthest outliers carry their number from fairness.outliers (the page's tables list them
    # all by name): names written on the plot would pile up where the outliers cluster.
    for verdict in ("above", "below"):
        named = fairness.outliers(assessed, funnel, verdict).head(LABELLED_OUTLIERS)
        fig.add_trace(go.Scatter(
            x=named["due"], y=named["share"] * 100, mode="text", text=named["mark"].astype(str),
            textposition="top center", textfont=dict(size=12, color=VERDICT_COLOURS[verdict]),
            hoverinfo="skip", showlegend=False,
        ))
    fig.update_xaxes(type="log", title=t("examples.axis_volume", lang), gridcolor="#eeeeee")
    fig.update_yaxes(title=t("examples.axis_share", lang), rangemode="tozero", **_pct_axis(lang))
    fig = _layout(fig, 560, lang)
    fig.update_layout(showlegend=True, legend=dict(orientation="h", y=-0.15), margin=dict(l=10, r=10, t=30, b=10))
    return fig


def _short_org(name: str, width: int = 32) -> str:
    name = str(name)
    return name if len(name) <= width else name[: width - 1] + "…"


def interval_ranking(rows: pd.DataFrame, p0: float, lang: str, colour: str) -> go.Figure:
    """Organisations with their empirical-Bayes share and its 95 % interval (the bar), the raw share
    as a hollow mark, and the scope's share as a line: a ranking shown with its uncertainty."""
    rows = rows.iloc[::-1]
    names = [f"{plotly_text(_short_org(n, 40))} · {fmt_number(v, lang)}" for n, v in zip(rows["name"], rows["due"])]
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        x=rows["eb_share"] * 100, y=names, mode="markers", marker=dict(color=colour, size=10),
        error_x=dict(type="data", symmetric=False, array=(rows["eb_high"] - rows["eb_share"]) * 100,
                     arrayminus=(rows["eb_share"] - rows["eb_low"]) * 100, color=colour, thickness=2),
        name=t("examples.eb_share", lang),
        hovertemplate="%{y}<br>" + t("examples.eb_share", lang) + ": %{x:.1f}<extra></extra>",
    ))
    fig.add_trace(go.Scatter(
        x=rows["share"] * 100, y=names, mode="markers", marker=dict(color=colour, size=8, symbol="circle-open"),
        name=t("examples.raw_share", lang), hovertemplate="%{y}<br>" + t("examples.raw_share", lang) + ": %{x:.1f}<extra></extra>",
    ))
    fig.add_vline(x=p0 * 100, line_color=PRIMARY, line_dash="dot")
    fig.update_xaxes(title=t("examples.axis_share", lang), rangemode="tozero", **_pct_axis(lang))
    fig = _layout(fig, 80 + 34 * len(rows), lang)
    fig.update_layout(showlegend=True, legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0), margin=dict(l=10, r=10, t=40, b=10))
    return fig


def example_trend(trend: dict[str, pd.DataFrame], names: dict[str, str], target: float, lang: str) -> go.Figure:
    """On-time rate per bucket of the organisation and of its direction, with the target."""
    fig = go.Figure()
    colours = {"organization": PRIMARY, "territory": NEUTRAL}
    for scope, frame in trend.items():
        fig.add_trace(go.Scatter(
            x=frame["bucket"], y=frame["on_time_rate"] * 100, mode="lines+markers", name=plotly_text(names[scope]),
            line=dict(color=colours.get(scope, NEUTRAL), width=3 if scope == "organization" else 2,
                      dash="solid" if scope == "organization" else "dot"),
            hovertemplate="%{x|%d.%m.%Y}: %{y:.1f}<extra>%{fullData.name}</extra>",
        ))
    fig.add_hline(y=target * 100, line_dash="dash", line_color=GOOD,
                  annotation_text=t("chart.target", lang, target=fmt_percent(target, lang, 0)), annotation_position="bottom right")
    fig.update_yaxes(title=t("kpi.on_time_rate", lang), **_pct_axis(lang))
    _date_axes(fig, lang)
    fig = _layout(fig, 320, lang)
    fig.update_layout(showlegend=True, legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0), margin=dict(l=10, r=10, t=40, b=10))
    return fig
