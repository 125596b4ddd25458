"""Figures carry the data and the events they should (the browser tests check they are drawn)."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from oversight.analysis import backlog, heatmap
from oversight.filters import Filters
from oversight.output import charts

D = dt.date


def test_backlog_figures_have_data_and_events(con, as_of):
    f = Filters(start=D(2018, 10, 1), end=D(2019, 6, 30))
    base = backlog.series(con, f, as_of, "week")
    events = backlog.events(con, f, as_of)
    assert len(events) >= 4
    other = backlog.comparison(con, f, as_of, "week", "year")
    fig = charts.backlog_lines(base, other, "год назад", events, "ru")
    assert [len(tr.y) for tr in fig.data[:2]] == [len(base)] * 2 and len(fig.data) == 4
    assert len(fig.layout.shapes) == len(events) and len(fig.layout.annotations) == len(events)
    assert "Семинар: Серпухов" in {a.text for a in fig.layout.annotations}
    assert fig.layout.xaxis.tickformat == "%d.%m.%Y"
    ageing = backlog.ageing(con, f, as_of, "week")
    fig = charts.ageing_area(ageing, backlog.AGE_BANDS, charts.AGE_COLOURS, events, "en")
    assert [tr.name for tr in fig.data] == ["up to 1 day", "1–3 days", "3–7 days", "7–30 days", "over 30 days"]
    areas = backlog.by_area(con, f, as_of, "month", "territory")
    fig = charts.small_multiples(areas, events, "ru")
    assert len(fig.data) == 2 * 4 and len(fig.layout.shapes) == 4 * len(events)
    flows = charts.flows_bars(base, events, "ru", "week")
    created = [tr for tr in flows.data if tr.legendgroup == "created"]  # whole and partial buckets
    assert sum(v for tr in created for v in tr.y) == base["created"].sum()
    assert {pd.Timestamp(x) for tr in created for x in tr.x} == set(base["date"])


def test_map_by_url_carries_no_shapes_and_greys_the_areas_out_of_scope(con, as_of):
    chosen = Filters(dt.date(2019, 1, 1), dt.date(2019, 3, 31), territory_id=1)
    values = heatmap.map_values(con, chosen, as_of, "missed")
    url = "/app/static/geo/municipalities.geojson?v=test"
    fig = charts.choropleth_map(values, url, heatmap.direction_outlines(), "missed", 0.95, "ru", 1,
                                feature_ids=heatmap.boundary_ids())
    inline = charts.choropleth_map(values, heatmap.boundaries(), heatmap.direction_outlines(), "missed", 0.95, "ru", 1)
    maps = [tr for tr in fig.data if tr.type == "choropleth"]
    assert all(tr.geojson == url for tr in maps)
    grey, coloured = maps
    assert set(coloured.locations) == set(values.loc[values["value"].notna(), "municipality_id"])
    assert set(grey.locations) == set(heatmap.boundary_ids()) - set(values["municipality_id"])
    # The same picture as with the shapes inline, minus the shapes.
    inline_maps = [tr for tr in inline.data if tr.type == "choropleth"]
    assert [list(tr.locations) for tr in inline_maps] == [list(tr.locations) for tr in maps]
    assert len(fig.to_json()) < len(inline.to_json()) / 3
