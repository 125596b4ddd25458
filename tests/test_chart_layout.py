"""Pictures are laid out for what shows them: the deck's and the PNG buttons' pictures hold their
tick labels inside the picture even when drawn inside the Streamlit process (whose default plotly
template has no automargin), colour scales stay in their metric's units and domain, labels do not
collide, date ticks follow the data's frequency."""

from __future__ import annotations

import datetime as dt
import io
import math
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.io as pio
import pytest

from oversight.analysis import backlog, fairness, heatmap
from oversight.filters import Filters, default_filters
from oversight.output import charts, images, presentation

D = dt.date
QUARTER = Filters(start=D(2019, 1, 1), end=D(2019, 3, 31))


@pytest.fixture
def streamlit_template():
    """The app's process: importing Streamlit's plotly element makes its template plotly's default."""
    import streamlit.elements.plotly_chart  # noqa: F401

    old = pio.templates.default
    pio.templates.default = "streamlit"
    yield
    pio.templates.default = old


def _deck_figures(con, as_of, lang, filters=QUARTER):
    made = presentation.material(con, filters, as_of, 20, lang)
    return [s.figure for s in presentation.slides(con, made, lang, 0.9, heatmap.boundaries()) if s.figure is not None]


def test_every_cartesian_axis_grows_its_margin_whatever_the_template(con, as_of, streamlit_template):
    """The margins are 10 px: without automargin on the figure itself, tick labels are cut."""
    figures = _deck_figures(con, as_of, "ru")
    base = backlog.series(con, QUARTER, as_of, "week")
    events = backlog.events(con, QUARTER, as_of)
    figures += [charts.flows_bars(base, events, "ru", "week"), charts.backlog_lines(base, None, "", events, "ru")]
    checked = 0
    for figure in figures:
        for name in [k for k in figure.to_dict()["layout"] if k.startswith(("xaxis", "yaxis"))]:
            assert figure.layout[name].automargin is True, (figure.layout.height, name)
            checked += 1
    assert checked >= 8


def _ink_at_edges(png: bytes, edge: int = 3) -> dict[str, int]:
    from PIL import Image

    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=int)
    dark = pixels < 200  # text and lines; the background and the light grid are lighter
    return {"left": int(dark[:, :edge].sum()), "right": int(dark[:, -edge:].sum()),
            "top": int(dark[:edge, :].sum()), "bottom": int(dark[-edge:, :].sum())}


@pytest.mark.skipif(images.chrome_path() is None, reason="no Chromium to draw with")
def test_deck_pictures_are_not_cut_at_their_edges(full_demo, streamlit_template, tmp_path):
    """Drawn as the deck draws them inside the app: nothing dark touches the picture's edges (cut
    tick labels «%», «ер», cut dates touch the left or bottom edge)."""
    con, as_of, _ = full_demo
    figures = _deck_figures(con, as_of, "ru", default_filters(as_of))
    assert len(figures) == 5
    for i, png in enumerate(images.to_png(figures)):
        Path(tmp_path / f"deck_{i}.png").write_bytes(png)
        ink = _ink_at_edges(png)
        assert ink == {"left": 0, "right": 0, "top": 0, "bottom": 0}, (i, ink, tmp_path)


def test_export_layout_scales_type_and_uses_plotly_template(con, as_of, streamlit_template):
    figure = _deck_figures(con, as_of, "en")[0]
    picture = images.for_export(figure, 960)
    assert picture.layout.template.layout.yaxis.automargin is True
    assert picture.layout.font.size == images.EXPORT_FONT and picture.layout.width == 960
    assert picture.layout.height > figure.layout.height
    assert figure.layout.width is None  # the page's figure is not changed


# ---------------------------------------------------------------- colour scales


def _domain_ok(metric: str, scale: dict, values) -> None:
    lo, hi = scale["zmin"], scale["zmax"]
    assert lo < hi, (metric, scale)
    if metric == "on_time_rate":
        assert 0.0 <= lo and hi <= 1.0, scale
        assert all(0.0 <= v <= 1.0 for v in scale["tickvals"])
        assert all(text.endswith("%") for text in scale["ticktext"])
    elif metric == "change":
        assert lo >= -1.0
        assert lo < 0 < hi
    else:
        assert lo == 0.0  # a count from zero: one value is not stretched into a range of its own
    finite = [v for v in values if v == v]
    assert all(lo - 1e-9 <= v <= hi + 1e-9 for v in finite), (metric, scale, finite[:5])
    assert not any(t.startswith("-0") for t in scale["ticktext"]), scale["ticktext"]


@pytest.mark.parametrize("metric", heatmap.METRICS)
def test_map_colour_scale_in_the_metrics_units_and_domain(con, as_of, metric):
    values = heatmap.map_values(con, QUARTER, as_of, metric)
    for frame in (values, values.dropna(subset=["value"]).head(1)):  # the whole region, one municipality
        fig = charts.choropleth_map(frame, heatmap.boundaries(), heatmap.direction_outlines(), metric, 0.95, "ru")
        coloured = [tr for tr in fig.data if tr.type == "choropleth" and tr.showscale is not False][-1]
        scale = dict(zmin=coloured.zmin, zmax=coloured.zmax, tickvals=list(coloured.colorbar.tickvals),
                     ticktext=list(coloured.colorbar.ticktext))
        _domain_ok(metric, scale, list(coloured.z))
        if len(frame) == 1 and metric != "on_time_rate":
            assert coloured.zmax == pytest.approx(frame["value"].iloc[0]) or frame["value"].iloc[0] == 0


@pytest.mark.parametrize("metric", [*heatmap.METRICS, "change"])
@pytest.mark.parametrize("values", [[0.5, 0.97, 1.0], [1.0], [0.93], [0.0], [-0.4, 2.5], [165.6], []], ids=str)
def test_colour_scale_stays_in_domain(metric, values):
    if metric == "on_time_rate":
        values = [v for v in values if 0 <= v <= 1]
    if metric in ("missed", "overdue_backlog", "missed_per_10k"):
        values = [v for v in values if v >= 0]
    if metric == "change":
        values = [v for v in values if v >= -1]
    scale = charts.colour_scale(values, metric, 0.95, "ru")
    _domain_ok(metric, scale, values)
    if metric == "on_time_rate":
        stops = [p for p, _ in scale["colorscale"]]
        assert stops == sorted(stops) and stops[0] == 0 and stops[-1] == 1


@pytest.mark.parametrize("metric", heatmap.METRICS)
def test_matrix_rows_share_one_visible_scale(con, as_of, metric):
    cells = heatmap.matrix(con, QUARTER, as_of, "week", metric)
    order = heatmap.row_order(cells, metric, "value", "ru")
    fig = charts.matrix_heatmap(cells, order, metric, 0.95, "ru")
    coloured = [tr for tr in fig.data if tr.coloraxis]
    assert {tr.coloraxis for tr in coloured} == {"coloraxis"}  # no hidden second scale
    painted = [tr for tr in fig.data if tr.showscale is not False and not tr.coloraxis]
    assert painted == []
    axis = fig.layout.coloraxis
    scale = dict(zmin=axis.cmin, zmax=axis.cmax, tickvals=list(axis.colorbar.tickvals), ticktext=list(axis.colorbar.ticktext))
    values = [v for tr in coloured for row in tr.z for v in row]
    _domain_ok(metric, scale, values)
    if metric not in charts.ADDITIVE_METRICS:  # a rate's subtotal rows are compared on the same colours
        assert len(coloured) == 2
    # Week labels: at most eight, so that no two overlap.
    assert len(fig.layout.xaxis.tickvals) <= charts.MATRIX_MAX_DATE_LABELS


# ---------------------------------------------------------------- backlog


def test_flows_have_no_second_axis_over_the_counts_and_mark_partial_buckets(con, as_of):
    f = Filters(start=D(2019, 1, 10), end=D(2019, 3, 20))  # a Thursday to a Wednesday: both end weeks partial
    base = backlog.series(con, f, as_of, "week")
    events = backlog.events(con, f, as_of)
    fig = charts.flows_bars(base, events, "en", "week")
    assert "overlaying" not in fig.layout.to_plotly_json().get("yaxis2", {})  # the net change has its own row
    counts = [tr for tr in fig.data if tr.yaxis in (None, "y") and tr.x is not None and tr.x[0] is not None]
    assert all(v >= 0 for tr in counts for v in tr.y)
    partial = charts.partial_buckets(base, "week")
    assert partial.tolist() == [True] + [False] * (len(base) - 2) + [True]
    hatched = [tr for tr in fig.data if tr.marker.pattern.shape == "/" and tr.x is not None and tr.x[0] is not None]
    assert sorted({pd.Timestamp(x) for tr in hatched for x in tr.x}) == [base["date"].iloc[0], base["date"].iloc[-1]]
    created = [tr for tr in fig.data if tr.legendgroup == "created"]
    assert sum(v for tr in created for v in tr.y) == base["created"].sum()
    month = backlog.series(con, f, as_of, "month")
    assert charts.partial_buckets(month, "month").tolist() == [True, False, True]


def test_event_labels_sit_above_the_plot(con, as_of):
    f = Filters(start=D(2018, 10, 1), end=D(2019, 6, 30))
    base = backlog.series(con, f, as_of, "week")
    events = backlog.events(con, f, as_of)
    fig = charts.backlog_lines(base, None, "", events, "en")
    labels = [a for a in fig.layout.annotations if a.yref == "paper"]
    assert len(labels) == len(events)
    assert all(a.y >= 1.0 and a.yanchor == "bottom" and a.textangle in (None, 0) for a in labels)
    assert fig.layout.margin.t >= 30 + charts.EVENT_ROW


# ---------------------------------------------------------------- examples and overview


def test_funnel_numbers_do_not_overlap(full_demo):
    con, as_of, _ = full_demo
    made = presentation.material(con, default_filters(as_of), as_of, 30, "ru")
    curve = fairness.funnel_curve(made.funnel, made.assessed["due"].max())
    fig = charts.funnel_plot(made.assessed, made.funnel, curve, "ru")
    marks = [a for a in fig.layout.annotations if a.name == "outlier"]
    assert len(marks) >= 5
    xr, yr = fig.layout.xaxis.range, fig.layout.yaxis.range
    width, height = charts.FUNNEL_PLOT_PX
    boxes = []
    for a in marks:
        dx = (a.ax if a.showarrow else a.xshift) or 0
        dy = (a.ay if a.showarrow else -(a.yshift or 0)) or 0
        cx = (a.x - xr[0]) / (xr[1] - xr[0]) * width + dx
        cy = (yr[1] - a.y) / (yr[1] - yr[0]) * height + dy
        w, h = charts.LABEL_SIZE[0] * len(a.text), charts.LABEL_SIZE[1]
        boxes.append((cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2))
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            assert a[2] <= b[0] or b[2] <= a[0] or a[3] <= b[1] or b[3] <= a[1], (a, b)


def test_monthly_trend_has_monthly_ticks():
    buckets = pd.to_datetime(["2019-10-01", "2019-11-01", "2019-12-01"])
    frame = pd.DataFrame({"bucket": buckets, "on_time_rate": [0.9, 0.95, 0.97]})
    fig = charts.example_trend({"organization": frame, "territory": frame}, {"organization": "A", "territory": "B"}, 0.9, "ru")
    assert [pd.Timestamp(v) for v in fig.layout.xaxis.tickvals] == list(buckets)
    assert list(fig.layout.xaxis.ticktext) == ["10.2019", "11.2019", "12.2019"]
    low, high = fig.layout.yaxis.range
    assert 0 <= low < 90 and high <= 101  # a rate axis never runs past 100 %


def test_directions_against_target_on_a_whole_rate_axis():
    area = pd.DataFrame({"level": ["territory"] * 3, "territory_name_ru": ["Север", "Юг", "Запад"],
                         "territory_name_en": ["North", "South", "West"], "on_time_rate": [0.857142, 0.93, 0.97]})
    fig = charts.on_time_by_territory(area, 0.9, "ru")
    assert list(fig.layout.xaxis.range) == [0, 100]
    bar = fig.data[0]
    assert "85,7\u00a0%" in bar.text and not any("0.857" in x for x in bar.text)
    assert bar.insidetextfont.color == "white"
    amber = charts.rate_colour(0.857142, 0.9)
    r, g, b = (int(amber[i:i + 2], 16) / 255 for i in (1, 3, 5))
    lum = sum(w * (c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4) for w, c in zip((0.2126, 0.7152, 0.0722), (r, g, b)))
    assert (1.05) / (lum + 0.05) >= 4.5  # white on the bar: WCAG AA


def test_ranking_labels_are_not_crammed(con, as_of):
    made = presentation.material(con, QUARTER, as_of, 20, "ru")
    best, worst = fairness.best_and_worst(made.assessed, n=10)
    fig = charts.interval_ranking(worst, made.funnel["p0"], "ru", "#c62828")
    assert fig.layout.height / max(len(worst), 1) >= 40  # two-line labels: the name, the volume under it
    assert all(len(y.split("<br>")[0]) <= 40 for y in fig.data[0].y)
    assert math.isclose(sum(1 for _ in fig.data[0].y), len(worst))
