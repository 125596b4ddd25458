"""Plotly figure builders: pure functions DataFrame -> figure, with the project's look."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from oversight.analysis import fairness
from oversight.i18n import fmt_number, fmt_percent, fmt_signed_percent, t
from oversight.output.theme import BAD, FONT, GOOD, NEUTRAL, PRIMARY, RED_MARGIN


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


# Decimal comma and a no-break space between thousands in Russian (as oversight.i18n.fmt_number).
SEPARATORS = {"ru": ",\u00a0", "en": ".,"}
BASE_FONT = 13


def separators(lang: str) -> str:
    return SEPARATORS.get(lang, SEPARATORS["ru"])


def _layout(fig: go.Figure, height: int, lang: str) -> go.Figure:
    """The project's look. Axes grow the margins to hold their tick labels and titles (automargin)
    explicitly: it is not left to the template, since inside the Streamlit process plotly's default
    template is Streamlit's, which has no automargin, and figures drawn there to PNG (the deck, the
    PNG buttons) were cut at the 10 px margins."""
    fig.update_layout(
        separators=separators(lang),
        height=height,
        margin=dict(l=10, r=10, t=30, b=10),
        font=dict(family=FONT, size=BASE_FONT),
        plot_bgcolor="white",
        paper_bgcolor="white",
        showlegend=False,
    )
    fig.update_xaxes(automargin=True, title_standoff=10)
    fig.update_yaxes(automargin=True, title_standoff=10)
    return fig


# A darker amber than theme.WARN for bars that carry a white label (contrast 4.5:1 and more).
WARN_BAR = "#b45309"


def rate_colour(rate: float, target: float) -> str:
    """Green at or above the target, amber just below it, red further below; grey without a value."""
    if pd.isna(rate):
        return NEUTRAL
    return GOOD if rate >= target else (BAD if rate < target - RED_MARGIN else WARN_BAR)


def _pct_ticks(lang: str) -> dict:
    """Percent as numbers with a suffix, so Russian gets "90 %" (d3's "%" format cannot add the space)."""
    return dict(ticksuffix="\u00a0%" if lang == "ru" else "%")


def on_time_by_territory(area: pd.DataFrame, target: float, lang: str) -> go.Figure:
    """Horizontal bars: on-time rate of each direction against the target line, on the whole
    0–100 % scale (a cut axis would make a 2-point gap look like a chasm); white labels on every
    bar colour, rates with one decimal in the user's language."""
    rows = area[area["level"] == "territory"].sort_values("on_time_rate", ascending=False, na_position="first")
    names = rows["territory_name_en" if lang == "en" else "territory_name_ru"].map(plotly_text)
    rates = rows["on_time_rate"].astype(float)
    colours = [rate_colour(r, target) for r in rates]
    labels = [fmt_percent(r, lang) for r in rates]
    fig = go.Figure(
        go.Bar(
            x=rates * 100,
            y=names,
            orientation="h",
            marker_color=colours,
            text=labels,
            textposition="inside",
            insidetextanchor="end",
            insidetextfont=dict(color="white"),
            cliponaxis=False,
            hovertemplate="%{y}: %{text}<extra></extra>",
        )
    )
    # Under the bars: seen in the gaps between them, never through a bar's label.
    fig.add_vline(x=target * 100, line_dash="dash", line_color="#222222", line_width=2, layer="below")
    fig.add_annotation(  # to the left of the line: a target near 100 % would put it past the edge
        x=target * 100, y=1.0, yref="paper", yanchor="bottom", xanchor="right" if target > 0.5 else "left", showarrow=False,
        text=t("chart.target", lang, target=fmt_percent(target, lang, 0)),
    )
    fig.update_xaxes(range=[0, 100], dtick=10, gridcolor="#eeeeee", **_pct_ticks(lang))
    _layout(fig, 60 + 45 * len(rows), lang)
    # Room on the right for the «100 %» label, centred on the plot's edge (plotly drops a tick label
    # that would stick out of the picture, and automargin does not count it).
    fig.update_layout(margin=dict(r=max(fig.layout.margin.r or 0, 30)))
    return fig


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


EVENT_FONT = 11
EVENT_ROW = 16  # px of top margin per row of event labels


def _event_anchor(fraction: float) -> str:
    """Where a label hangs from its line: to the right near the axis' start, to the left near its
    end (so it is not cut at the picture's edge), centred between."""
    return "left" if fraction < 0.25 else ("right" if fraction > 0.75 else "center")


def _event_rows(dates: list[pd.Timestamp], labels: list[str], span: tuple, width_px: int) -> list[int]:
    """A row for each event label above the plot, so that labels whose estimated widths would
    overlap go to the next row (dates in order)."""
    start, end = (pd.Timestamp(v) for v in span)
    total = max((end - start).total_seconds(), 1.0)
    ends: list[float] = []  # per row, the right edge (px) of its last label
    rows = []
    for when, label in zip(dates, labels):
        fraction = (pd.Timestamp(when) - start).total_seconds() / total
        at = fraction * width_px
        width = len(label) * EVENT_FONT * 0.6 + 8
        left = {"left": at, "right": at - width, "center": at - width / 2}[_event_anchor(fraction)]
        for row, right in enumerate(ends):
            if left > right:
                ends[row] = left + width
                rows.append(row)
                break
        else:
            ends.append(left + width)
            rows.append(len(ends) - 1)
    return rows


def _mark_events(fig: go.Figure, events: pd.DataFrame, lang: str, axes: int = 1, span: tuple | None = None,
                 width_px: int = 600) -> None:
    """A dotted vertical line for every event on each of the first `axes` time axes, its name above
    the plot (never over the data), in rows when names would collide; the top margin grows to hold
    them. `span` is the time axis' range (for the collision estimate)."""
    if events.empty:
        return
    events = events.sort_values("event_date")
    dates = [pd.Timestamp(d) for d in events["event_date"]]
    labels = [plotly_text(event_label(row, lang)) for row in events.itertuples()]
    span = span or (min(dates), max(dates))
    rows = _event_rows(dates, labels, span, width_px)
    shapes, notes = [], []
    for when, label, row in zip(dates, labels, rows):
        for i in range(1, axes + 1):
            suffix = "" if i == 1 else str(i)
            shapes.append(dict(
                type="line", x0=when, x1=when, y0=0, y1=1, xref=f"x{suffix}", yref=f"y{suffix} domain",
                line=dict(color=NEUTRAL, width=1, dash="dot"),
            ))
        fraction = (when - pd.Timestamp(span[0])).total_seconds() / max((pd.Timestamp(span[1]) - pd.Timestamp(span[0])).total_seconds(), 1.0)
        notes.append(dict(
            x=when, y=1.0, yref="paper", xref="x", text=label, showarrow=False, yanchor="bottom",
            xanchor=_event_anchor(fraction), yshift=2 + row * EVENT_ROW, font=dict(size=EVENT_FONT, color=NEUTRAL),
        ))
    add_to_layout(fig, shapes=shapes, annotations=notes)
    fig.update_layout(margin_t=30 + (max(rows) + 1) * EVENT_ROW)


def add_to_layout(fig: go.Figure, shapes=(), annotations=()) -> None:
    """Shapes and annotations added in one layout update each. plotly's add_shape and add_annotation
    check the whole list again at every call: a loop of them is quadratic (the funnel's 23 numbers
    took half of its 0.24 s, the event lines of nine small multiples as long)."""
    if shapes:
        fig.update_layout(shapes=[*fig.layout.shapes, *shapes])
    if annotations:
        fig.update_layout(annotations=[*fig.layout.annotations, *annotations])


def _span(*frames: pd.DataFrame | None, column: str = "date") -> tuple | None:
    values = [v for f in frames if f is not None and not f.empty for v in (f[column].min(), f[column].max())]
    return (min(values), max(values)) if values else None


# Dates as numbers: plotly's month names are English only (its locale files are not bundled).
DATE_FORMAT = {"ru": "%d.%m.%Y", "en": "%Y-%m-%d"}


def _date_axes(fig: go.Figure, lang: str) -> None:
    fmt = DATE_FORMAT.get(lang, DATE_FORMAT["ru"])
    fig.update_xaxes(tickformat=fmt, hoverformat=fmt)


def _time_layout(fig: go.Figure, height: int, lang: str) -> go.Figure:
    """A time chart: the legend to the right of the plot (it pushes the margin, so it never lies
    over the data or the date labels), counts from zero with thousands separated."""
    _layout(fig, height, lang)
    fig.update_layout(showlegend=True, legend=dict(orientation="v", x=1.01, xanchor="left", y=1, yanchor="top"),
                      hovermode="x unified")
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
    _time_layout(fig, 380, lang)
    fig.update_xaxes(**time_ticks(base["date"], lang))
    _mark_events(fig, events, lang, span=_span(base, compare))
    return fig


def bucket_length(day: pd.Timestamp, freq: str) -> int:
    """Days in the whole bucket that starts on `day`."""
    if freq == "week":
        return 7
    if freq == "month":
        return int(pd.Timestamp(day).days_in_month)
    return 1


def partial_buckets(base: pd.DataFrame, freq: str) -> pd.Series:
    """True for a bucket only partly inside the period (the first and last week or month of a
    period that does not start or end on a bucket's edge): its counts cover fewer days."""
    if base.empty or "days" not in base:
        return pd.Series(False, index=base.index)
    full = base["date"].map(lambda d: bucket_length(d, freq))
    return base["days"].astype(float) < full


def flows_bars(base: pd.DataFrame, events: pd.DataFrame, lang: str, freq: str = "week") -> go.Figure:
    """Created against closed per bucket (a count axis from zero), and below it, on its own axis,
    the net change (bars up for growth, down for a fall: one axis each, no second scale laid over
    the first). Buckets only partly inside the period are hatched and paler, and say so on hover."""
    from plotly.subplots import make_subplots

    partial = partial_buckets(base, freq).to_numpy()
    full = [bucket_length(d, freq) for d in base["date"]]
    note = [t("backlog.partial_hover", lang, days=int(d), full=int(f)) if p else "" for p, d, f in zip(partial, base["days"], full)]
    note = np.array(note, dtype=object)
    hatched = dict(shape="/", fgcolor="white", size=6, solidity=0.45)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.7, 0.3], vertical_spacing=0.06)

    def bars(values, name, colour, row, group, template, legend=True):
        """Whole buckets as one trace, partial ones (hatched, paler) as another in the same slot."""
        values = np.asarray(values)
        colour = np.asarray(colour if isinstance(colour, list) else [colour] * len(values), dtype=object)
        dates = base["date"].to_numpy()
        for part, style in ((~partial, {}), (partial, dict(marker_pattern=hatched, marker_opacity=0.55))):
            if not part.any():
                continue
            fig.add_trace(go.Bar(x=dates[part], y=values[part], name=name, marker_color=list(colour[part]), offsetgroup=group,
                                 legendgroup=group, showlegend=legend, customdata=note[part],
                                 hovertemplate=template + "%{customdata}", **style), row=row, col=1)
            legend = False  # one entry per series (the whole buckets' when there are any)

    bars(base["created"], t("series.created", lang), SERIES_COLOURS["created"], 1, "created", "%{y:,d}")
    bars(base["closed"], t("series.closed", lang), SERIES_COLOURS["closed"], 1, "closed", "%{y:,d}")
    net = (base["created"] - base["closed"]).to_numpy()
    bars(net, t("series.net", lang), [BAD if v > 0 else GOOD for v in net], 2, "net", "%{y:+,d}", legend=False)
    fig.update_layout(barmode="group", bargap=0.2)
    _time_layout(fig, 420, lang)
    fig.update_yaxes(rangemode="normal", zeroline=True, zerolinecolor="#999999", title=dict(text=t("series.net", lang), font_size=11),
                     row=2, col=1)
    fig.update_xaxes(showticklabels=False, row=1, col=1)
    fig.update_xaxes(**time_ticks(base["date"], lang), row=2, col=1)
    _mark_events(fig, events, lang, axes=2, span=_span(base))
    return fig


def ageing_area(ageing: pd.DataFrame, bands: tuple[str, ...], colours: list[str], events: pd.DataFrame, lang: str) -> go.Figure:
    """Open backlog at each moment stacked by bands (age or how far past the deadline)."""
    fig = go.Figure()
    for band, colour in zip(bands, colours):
        rows = ageing[ageing["band"] == band]
        fig.add_trace(go.Scatter(x=rows["date"], y=rows["count"], name=t(f"band.{band}", lang), stackgroup="one",
                                 mode="lines", line=dict(width=0.5, color=colour), fillcolor=colour))
    _time_layout(fig, 380, lang)
    # Drawn in half the page: a legend at the side left the plot a third of it and tilted the dates.
    # Below the plot, in rows, it takes the height instead.
    fig.update_layout(legend=dict(orientation="h", x=0, xanchor="left", y=-0.18, yanchor="top", traceorder="normal"))
    fig.update_xaxes(**time_ticks(ageing["date"], lang, most=4), tickangle=0)
    _mark_events(fig, events, lang, span=_span(ageing), width_px=420)
    return fig


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
    add_to_layout(fig, shapes=[
        dict(type="line", x0=pd.Timestamp(row.event_date), x1=pd.Timestamp(row.event_date), y0=0, y1=1,
             xref=f"x{'' if i == 1 else i}", yref=f"y{'' if i == 1 else i} domain", line=dict(color=NEUTRAL, width=1, dash="dot"))
        for i in range(1, len(areas) + 1) for row in events.itertuples()
    ])
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


RATE_METRICS = frozenset({"on_time_rate"})  # shares of 0..1, higher is better
CHANGE_METRICS = frozenset({"change"})  # a relative change, -1 (all gone) and up, 0 = no change
RATE_COLOURS = ("#b2182b", "#f4a582", "#fee08b", "#1a9850")  # far below, just below, at the target, 100 %
CHANGE_COLOURS = ("#1a9850", "#ffffbf", "#b2182b")  # a fall, no change, a rise


def _nice_step(span: float, ticks: int = 5) -> float:
    raw = span / max(ticks, 1)
    power = 10 ** np.floor(np.log10(raw)) if raw > 0 else 1.0
    return float(next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw))


def colour_scale(values, metric: str, target: float, lang: str) -> dict:
    """The colour scale of a map or matrix: zmin, zmax, colorscale and the colour bar's ticks, in
    the metric's units and within its domain, and never degenerate.

    A rate runs from a round 5 % below both its lowest value and the red margin under the target,
    up to 100 % (never above 100 % nor below 0 %): red far below the target, amber just below it,
    yellow at it, green at 100 %. A change is centred on no change and never goes below −100 %.
    A count or per-10k value runs from zero to the largest value (one value alone is not
    stretched into a range of its own)."""
    v = pd.Series(values, dtype=float).replace([np.inf, -np.inf], np.nan).dropna()
    if metric in RATE_METRICS:
        low = min(float(v.min()) if len(v) else target, target - 2 * RED_MARGIN)
        zmin = float(min(max(0.0, np.floor(low * 20) / 20), 0.95))
        zmax = 1.0
        at = lambda x: float(min(max((x - zmin) / (zmax - zmin), 0.0), 1.0))  # noqa: E731
        stops = [0.0, at(target - RED_MARGIN), at(target), 1.0]
        colorscale = [[p, c] for p, c in zip(stops, RATE_COLOURS)]
        step = _nice_step(zmax - zmin, 5)
        tickvals = [float(x) + 0.0 for x in np.round(np.arange(np.ceil(zmin / step - 1e-9) * step, zmax + 1e-9, step), 6)]
        ticktext = [fmt_percent(x, lang, 0 if round(x * 100, 6).is_integer() else 1) for x in tickvals]
    elif metric in CHANGE_METRICS:
        m = float(v.abs().max()) if len(v) else 0.0
        m = max(m, 0.05)
        zmin, zmax = max(-1.0, -m), m
        zero = (0 - zmin) / (zmax - zmin)
        colorscale = [[0.0, CHANGE_COLOURS[0]], [zero, CHANGE_COLOURS[1]], [1.0, CHANGE_COLOURS[2]]]
        step = _nice_step(zmax - zmin, 4)
        tickvals = [float(x) + 0.0 for x in np.round(np.arange(np.ceil(zmin / step - 1e-9) * step, zmax + 1e-9, step), 6)]
        ticktext = [fmt_signed_percent(x, lang, 0) for x in tickvals]
    else:
        zmin = 0.0
        zmax = float(v.max()) if len(v) and v.max() > 0 else 1.0
        colorscale = "Reds"
        step = _nice_step(zmax, 5)
        if metric != "missed_per_10k":
            step = max(step, 1.0)
        tickvals = [float(x) for x in np.round(np.arange(0, zmax + 1e-9, step), 6)]
        digits = 0 if all(float(x).is_integer() for x in tickvals) else 1
        ticktext = [fmt_number(x, lang, digits) for x in tickvals]
    return dict(zmin=zmin, zmax=zmax, colorscale=colorscale, tickvals=tickvals, ticktext=ticktext)


def _colorbar(scale: dict, title: str, **extra) -> dict:
    return dict(title=dict(text=title, side="right"), tickmode="array", tickvals=scale["tickvals"],
                ticktext=scale["ticktext"], **extra)


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
    scale = colour_scale(shown["value"], metric, target, lang)
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
        colorbar=_colorbar(scale, t(f"map.metric.{metric}", lang), thickness=14),
        zmin=scale["zmin"], zmax=scale["zmax"], colorscale=scale["colorscale"],
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
    fig.update_layout(height=620, margin=dict(l=0, r=0, t=10, b=0), font=dict(family=FONT, size=BASE_FONT), showlegend=False,
                      separators=separators(lang))
    return fig


ADDITIVE_METRICS = frozenset({"missed", "overdue_backlog"})  # a direction's value is the sum of its municipalities'
MATRIX_MAX_DATE_LABELS = 8


def matrix_heatmap(cells: pd.DataFrame, order: list[tuple[str, int]], metric: str, target: float, lang: str) -> go.Figure:
    """Municipalities (grouped under their direction's subtotal row) × time, coloured by the metric
    on one visible scale in its units. A rate or a per-10k value compares directions with
    municipalities, so the subtotal rows share that scale; a count of a direction is the sum of a
    dozen municipalities' and would wash them out, so its subtotal rows are written as numbers on
    grey rather than painted on a hidden scale of their own."""
    name = "name_en" if lang == "en" else "name_ru"
    key = cells["level"] + ":" + cells["territory_id"].astype(str).where(cells["level"] == "territory", cells["municipality_id"].astype(str))
    cells = cells.assign(key=key)
    labels = {}
    for level, ident in order:
        row = cells[cells["key"] == f"{level}:{ident}"].iloc[0]
        labels[f"{level}:{ident}"] = f"<b>{plotly_text(row[name])}</b>" if level == "territory" else plotly_text(_short(row[name]))
    buckets = sorted(cells["bucket"].unique())
    keys = [f"{lv}:{i}" for lv, i in order]
    painted = cells if metric not in ADDITIVE_METRICS else cells[cells["level"] == "municipality"]
    scale = colour_scale(painted["value"], metric, target, lang)
    date_format = DATE_FORMAT.get(lang, DATE_FORMAT["ru"])
    fig = go.Figure()
    for level in ("municipality", "territory"):
        grid = cells[cells["level"] == level].pivot(index="key", columns="bucket", values="value").reindex(index=keys, columns=buckets)
        values = grid.to_numpy(dtype=float)
        text = [[format_metric(v, metric, lang) if v == v else "" for v in row] for row in values]
        common = dict(x=buckets, y=[labels[k] for k in keys], text=text, xgap=1, ygap=1,
                      hovertemplate="%{y}<br>%{x|" + date_format + "}: %{text}<extra></extra>")
        if level == "territory" and metric in ADDITIVE_METRICS:
            fig.add_trace(go.Heatmap(z=np.where(np.isnan(values), np.nan, 0.0), colorscale=[[0, "#eceff1"], [1, "#eceff1"]],
                                     showscale=False, texttemplate="%{text}", textfont=dict(size=10), **common))
        else:
            fig.add_trace(go.Heatmap(z=values, coloraxis="coloraxis", **common))
    fig.update_layout(coloraxis=dict(cmin=scale["zmin"], cmax=scale["zmax"], colorscale=scale["colorscale"],
                                     colorbar=_colorbar(scale, t(f"map.metric.{metric}", lang), thickness=12)))
    fig.update_yaxes(autorange="reversed", tickfont=dict(size=11))
    _layout(fig, 120 + 17 * len(order), lang)
    _date_axes(fig, lang)
    fig.update_xaxes(tickangle=0, **time_ticks(buckets, lang, MATRIX_MAX_DATE_LABELS))  # at most eight: no two overlap
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
    # all by name): names written on the plot would pile up where the outliers cluster. Numbers
    # that would touch one another are moved aside, with a thin leader to their point.
    top = max(1.0, float(curve[["upper_95", "upper_998"]].max().max()) if len(curve) else 1.0,
              float(assessed["share"].max()) if len(assessed) else 0.0) * 100
    x_range = [-0.05, np.log10(max(float(curve["volume"].max()) if len(curve) else 10.0, 10.0)) + 0.08]
    y_range = [-top * 0.03, top * 1.03]
    marks = []
    for verdict in ("above", "below"):
        named = fairness.outliers(assessed, funnel, verdict).head(LABELLED_OUTLIERS)
        marks += [(float(r.due), float(r.share) * 100, str(r.mark), VERDICT_COLOURS[verdict]) for r in named.itertuples()]
    labels = []
    for (x, y, text, colour), (dx, dy) in zip(marks, place_labels([(m[0], m[1], m[2]) for m in marks], x_range, y_range)):
        near = abs(dx) <= LABEL_GAP + LABEL_SIZE[0] * len(text) / 2 and abs(dy) <= LABEL_GAP
        label = dict(x=np.log10(x), y=y, text=text, font=dict(size=12, color=colour), name="outlier")
        if near:  # next to its point: no leader needed
            labels.append(dict(showarrow=False, xshift=dx, yshift=-dy, **label))
        else:
            labels.append(dict(showarrow=True, ax=dx, ay=dy, arrowhead=0, arrowwidth=0.8, arrowcolor=colour, standoff=4, **label))
    add_to_layout(fig, annotations=labels)
    fig.update_xaxes(type="log", title=t("examples.axis_volume", lang), gridcolor="#eeeeee", range=x_range)
    fig.update_yaxes(title=t("examples.axis_share", lang), range=y_range, **_pct_axis(lang))
    fig = _layout(fig, FUNNEL_HEIGHT, lang)
    fig.update_layout(showlegend=True, legend=dict(orientation="h", x=0, xanchor="left", y=1.0, yanchor="bottom"),
                      margin=dict(l=10, r=10, t=30, b=10))
    return fig


FUNNEL_HEIGHT = 560
FUNNEL_PLOT_PX = (900, 420)  # the plot area a funnel gets on the page (estimate, for placing its numbers)
LABEL_GAP = 12  # px from a point to the centre of its number
LABEL_SIZE = (9, 14)  # px a one-digit number takes at 12 px (a second digit adds the first value again)
_OFFSETS = [(0, -1), (1, 0), (-1, 0), (0, 1), (1, -1), (-1, -1), (1, 1), (-1, 1)]


def place_labels(points: list[tuple[float, float, str]], x_range: list[float], y_range: list[float],
                 plot_px: tuple[int, int] = FUNNEL_PLOT_PX) -> list[tuple[int, int]]:
    """For each (volume, share in %, text), the offset in px (ax, ay: right, down) of its label
    from its point, such that no two labels' boxes overlap and no label covers another labelled
    point: tried above, right, left, below, the diagonals, then twice and three times as far."""
    width, height = plot_px

    def px(x, y):
        return ((np.log10(x) - x_range[0]) / (x_range[1] - x_range[0]) * width,
                (y_range[1] - y) / (y_range[1] - y_range[0]) * height)

    centres = [px(x, y) for x, y, _ in points]
    boxes: list[tuple[float, float, float, float]] = []
    out = []
    for (cx, cy), (_, _, text) in zip(centres, points):
        w, h = LABEL_SIZE[0] * len(text), LABEL_SIZE[1]
        chosen = None
        for distance in (1, 2, 3, 4):
            for ux, uy in _OFFSETS:
                dx, dy = ux * (LABEL_GAP + (w / 2 if ux else 0)) * distance, uy * LABEL_GAP * distance
                box = (cx + dx - w / 2, cy + dy - h / 2, cx + dx + w / 2, cy + dy + h / 2)
                clear = all(box[2] <= b[0] or box[0] >= b[2] or box[3] <= b[1] or box[1] >= b[3] for b in boxes)
                off_points = all(not (box[0] - 3 < px_ < box[2] + 3 and box[1] - 3 < py_ < box[3] + 3) for px_, py_ in centres)
                if clear and off_points:
                    chosen = (int(round(dx)), int(round(dy)))
                    break
            if chosen:
                break
        chosen = chosen or (0, -LABEL_GAP)
        boxes.append((cx + chosen[0] - w / 2, cy + chosen[1] - h / 2, cx + chosen[0] + w / 2, cy + chosen[1] + h / 2))
        out.append(chosen)
    return out


def _short_org(name: str, width: int = 32) -> str:
    name = str(name)
    return name if len(name) <= width else name[: width - 1] + "…"


def interval_ranking(rows: pd.DataFrame, p0: float, lang: str, colour: str) -> go.Figure:
    """Organisations with their empirical-Bayes share and its 95 % interval (the bar), the raw share
    as a hollow mark, and the scope's share as a line: a ranking shown with its uncertainty."""
    rows = rows.iloc[::-1]
    # The name on one line and its volume under it, smaller and grey: a ranking in half a page's width.
    volume = t("examples.axis_volume_short", lang)
    names = [f"{plotly_text(_short_org(n, 34))}<br><span style='font-size:10px;color:{NEUTRAL}'>{volume}: {fmt_number(v, lang)}</span>"
             for n, v in zip(rows["name"], rows["due"])]
    fig = go.Figure()
    fig.add_trace(go.Scatter(
        x=rows["eb_share"] * 100, y=names, mode="markers", marker=dict(color=colour, size=10),
        error_x=dict(type="data", symmetric=False, array=(rows["eb_high"] - rows["eb_share"]) * 100,
                     arrayminus=(rows["eb_share"] - rows["eb_low"]) * 100, color=colour, thickness=2),
        name=t("examples.eb_share", lang),
        hovertemplate="%{y}<br>" + t("examples.eb_share", lang) + ": %{x:.1f}" + _pct_ticks(lang)["ticksuffix"] + "<extra></extra>",
    ))
    fig.add_trace(go.Scatter(
        x=rows["share"] * 100, y=names, mode="markers", marker=dict(color=colour, size=8, symbol="circle-open"),
        name=t("examples.raw_share", lang),
        hovertemplate="%{y}<br>" + t("examples.raw_share", lang) + ": %{x:.1f}" + _pct_ticks(lang)["ticksuffix"] + "<extra></extra>",
    ))
    fig.add_vline(x=p0 * 100, line_color=PRIMARY, line_dash="dot")
    fig.update_xaxes(title=t("examples.axis_share", lang), rangemode="tozero", **_pct_axis(lang))
    fig.update_yaxes(tickfont=dict(size=12))
    fig = _layout(fig, 90 + 44 * len(rows), lang)
    fig.update_layout(showlegend=True, legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0), margin=dict(l=10, r=10, t=40, b=10))
    return fig


def time_ticks(buckets, lang: str, most: int = 8) -> dict:
    """Date ticks that match the data's frequency: one at each bucket (every second, third… when
    there are more than `most`), written as a month for monthly data and as a day otherwise."""
    days = sorted({pd.Timestamp(b) for b in buckets})
    if not days:
        return {}
    gaps = [(b - a).days for a, b in zip(days, days[1:])]
    monthly = bool(gaps) and min(gaps) >= 28 and all(d.day == 1 for d in days)
    fmt = ("%m.%Y" if lang == "ru" else "%Y-%m") if monthly else DATE_FORMAT.get(lang, DATE_FORMAT["ru"])
    step = -(-len(days) // most)
    shown = days[::step]
    return dict(tickmode="array", tickvals=shown, ticktext=[d.strftime(fmt) for d in shown])


def example_trend(trend: dict[str, pd.DataFrame], names: dict[str, str], target: float, lang: str) -> go.Figure:
    """On-time rate per bucket of the organisation and of its direction, with the target; a date
    tick at each bucket (monthly points get monthly ticks)."""
    fig = go.Figure()
    colours = {"organization": PRIMARY, "territory": NEUTRAL}
    suffix = _pct_ticks(lang)["ticksuffix"]
    for scope, frame in trend.items():
        fig.add_trace(go.Scatter(
            x=frame["bucket"], y=frame["on_time_rate"] * 100, mode="lines+markers", name=plotly_text(names[scope]),
            line=dict(color=colours.get(scope, NEUTRAL), width=3 if scope == "organization" else 2,
                      dash="solid" if scope == "organization" else "dot"),
            hovertemplate="%{x|" + DATE_FORMAT.get(lang, DATE_FORMAT["ru"]) + "}: %{y:.1f}" + suffix + "<extra>%{fullData.name}</extra>",
        ))
    fig.add_hline(y=target * 100, line_dash="dash", line_color=GOOD,
                  annotation_text=t("chart.target", lang, target=fmt_percent(target, lang, 0)), annotation_position="bottom right")
    rates = [r for frame in trend.values() for r in frame["on_time_rate"] if r == r] + [target]
    low = max(0.0, np.floor((min(rates) * 100 - 2) / 5) * 5)  # a round 5 % under the lowest point
    fig.update_yaxes(title=t("kpi.on_time_rate", lang), range=[low, 101], **_pct_axis(lang))  # never past 100 %
    _date_axes(fig, lang)
    fig = _layout(fig, 320, lang)
    buckets = [b for frame in trend.values() for b in frame["bucket"]]
    fig.update_xaxes(**time_ticks(buckets, lang))
    fig.update_layout(showlegend=True, legend=dict(orientation="h", y=1.02, yanchor="bottom", x=0), margin=dict(l=10, r=10, t=40, b=10))
    return fig
