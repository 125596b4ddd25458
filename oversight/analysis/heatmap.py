"""The Map page's data: a value per municipality for the map (with ranks), a municipality × time
matrix with direction subtotals, and the directions' outlines dissolved from the boundaries.

Values are the KPI definitions of ARCHITECTURE.md §3 (the map takes them from metrics.kpis_by_area;
the matrix computes the same definitions per bucket), historical municipalities rolled up.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import numpy as np
import pandas as pd

from oversight import reference, store
from oversight.analysis import metrics
from oversight.filters import Filters
from oversight.geo import load_boundaries, publish_boundaries

METRICS = ("missed", "on_time_rate", "overdue_backlog", "missed_per_10k")
# Where a metric lives in metrics.kpis_by_area.
_AREA_COLUMN = {"missed": "missed", "on_time_rate": "on_time_rate", "overdue_backlog": "overdue_backlog_end",
                "missed_per_10k": "missed_per_10k"}
RATES = frozenset({"on_time_rate"})  # higher is better; the rest: higher is worse
SORTS = ("value", "name")
DEFAULT_METRIC, DEFAULT_MATRIX_FREQ = "missed", "month"  # what the Map page shows until told otherwise


def _check(metric: str) -> None:
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}")


def _worst_first(values: pd.Series, metric: str) -> pd.Series:
    """Rank 1 = the worst value (lowest on-time rate, or the most missed/overdue)."""
    return values.rank(ascending=metric in RATES, method="min", na_option="keep")


def map_values(con, filters: Filters, as_of: dt.datetime, metric: str) -> pd.DataFrame:
    """One row per current municipality in scope: its direction, the metric's value for the period,
    its rank in the region and within its direction (1 = worst)."""
    _check(metric)
    area = metrics.kpis_by_area(con, filters, as_of)
    rows = area[area["level"] == "municipality"].copy()
    rows["value"] = rows[_AREA_COLUMN[metric]].astype(float)
    rows["rank_region"] = _worst_first(rows["value"], metric)
    rows["rank_direction"] = rows.groupby("territory_id")["value"].transform(lambda v: _worst_first(v, metric))
    rows["in_region"] = rows["value"].notna().sum()
    rows["in_direction"] = rows.groupby("territory_id")["value"].transform(lambda v: v.notna().sum())
    columns = ["municipality_id", "municipality_name_ru", "municipality_name_en", "territory_id", "territory_name_ru",
               "territory_name_en", "population", "value", "rank_region", "rank_direction", "in_region", "in_direction"]
    return rows[columns].reset_index(drop=True)


def _value(frame: pd.DataFrame, metric: str) -> pd.Series:
    if metric == "missed":
        return frame["missed"].astype(float)
    if metric == "overdue_backlog":
        return frame["overdue_backlog"].astype(float)
    if metric == "on_time_rate":
        return 1.0 - frame["missed"] / frame["due"].where(frame["due"] > 0)
    return frame["missed"] * 10000.0 / frame["population"].where(frame["population"] > 0)


def matrix(con, filters: Filters, as_of: dt.datetime, freq: str, metric: str) -> pd.DataFrame:
    """Municipality × bucket values, with a subtotal row per direction.

    Long format: level ('territory' | 'municipality'), territory_id, municipality_id, name_ru,
    name_en, bucket, due, missed, overdue_backlog, population, value. Subtotals add up the
    municipalities' counts (rates and per-10k are recomputed from the sums, not averaged).
    """
    _check(metric)
    if freq not in metrics.BUCKETS:
        raise ValueError(f"freq must be one of {metrics.BUCKETS}")
    params = {"bucket": freq, "rows": not metrics.uses_daily_counts(con, filters, as_of), **filters.params(as_of)}
    cells = store.run(con, "heatmap", **params)
    munis = store.run(con, "filter_municipalities")[["municipality_id", "name_ru", "name_en", "population"]]
    cells = cells.merge(munis, on="municipality_id", how="left").assign(level="municipality")
    # Population only where it is known, so a subtotal's per-10k uses the residents it can count.
    subtotal = cells.groupby(["territory_id", "bucket"], as_index=False)[["due", "missed", "overdue_backlog"]].sum()
    subtotal = subtotal.merge(
        cells.drop_duplicates("municipality_id").groupby("territory_id", as_index=False)["population"].sum(min_count=1),
        on="territory_id",
    )
    terr = store.run(con, "filter_territories")
    subtotal = subtotal.merge(terr, on="territory_id").assign(level="territory", municipality_id=pd.NA)
    out = pd.concat([subtotal, cells], ignore_index=True)
    out["value"] = _value(out, metric)
    columns = ["level", "territory_id", "municipality_id", "name_ru", "name_en", "bucket", "due", "missed",
               "overdue_backlog", "population", "value"]
    return out[columns]


def row_order(cells: pd.DataFrame, metric: str, sort: str, lang: str) -> list[tuple[str, int]]:
    """The matrix's rows from top to bottom: each direction's subtotal, then its municipalities,
    sorted worst first by the period's value or by name. Rows are (level, id)."""
    if sort not in SORTS:
        raise ValueError(f"sort must be one of {SORTS}")
    name = "name_en" if lang == "en" else "name_ru"
    muni = cells[cells["level"] == "municipality"]
    totals = muni.groupby("municipality_id").agg(
        territory_id=("territory_id", "first"), name=(name, "first"), due=("due", "sum"), missed=("missed", "sum"),
        overdue_backlog=("overdue_backlog", "last"), population=("population", "first"),
    )
    totals["value"] = _value(totals, metric)
    order: list[tuple[str, int]] = []
    for territory_id in sorted(cells["territory_id"].dropna().unique()):
        part = totals[totals["territory_id"] == territory_id]
        if sort == "value":
            part = part.assign(worst=_worst_first(part["value"], metric)).sort_values(["worst", "name"], na_position="last")
        else:
            part = part.sort_values("name", key=lambda s: s.str.replace("городской округ ", "").str.lower())
        order.append(("territory", int(territory_id)))
        order.extend(("municipality", int(m)) for m in part.index)
    return order


@lru_cache(maxsize=1)
def boundaries() -> dict:
    """The committed boundaries (GeoJSON, features keyed by properties.municipality_id), read once."""
    return load_boundaries()


@lru_cache(maxsize=1)
def boundary_ids() -> tuple[int, ...]:
    """The municipality ids the boundaries file has a shape for."""
    return tuple(f["properties"]["municipality_id"] for f in boundaries()["features"])


def boundaries_fit(con) -> bool:
    """Whether the committed boundaries describe this database's municipalities (the same id and
    name for every current municipality): true for Moscow Oblast data, false for an imported
    city's, whose ids would otherwise be drawn on Moscow Oblast's shapes."""
    def check(c) -> bool:
        current = store.run(c, "filter_municipalities")
        shapes = {f["properties"]["municipality_id"]: f["properties"].get("name_ru") for f in boundaries()["features"]}
        return len(current) > 0 and all(shapes.get(int(m)) == name for m, name in zip(current["municipality_id"], current["name_ru"]))

    return bool(store.attachment(con, "boundaries_fit", check))


@lru_cache(maxsize=4)
def map_geojson(url_root: str = "/") -> dict | str:
    """What the page's map names: the URL our own server publishes the boundaries at (under
    `url_root`, the server's root: oversight.ui.widgets.url_root()), or, where the static folder cannot be written (a
    read-only install), the boundaries themselves."""
    try:
        return publish_boundaries(url_root=url_root)
    except OSError:
        return boundaries()


@lru_cache(maxsize=1)
def direction_outlines() -> dict[int, dict]:
    """Per direction: its outline (lists of lon/lat rings, dissolved from its municipalities) and a
    point for its label (a representative point inside it)."""
    import geopandas as gpd

    gdf = gpd.GeoDataFrame.from_features(boundaries()["features"], crs=4326)
    munis = reference.municipalities()[["municipality_id", "territory_id"]]
    gdf = gdf.merge(munis, on="municipality_id")
    out = {}
    for territory_id, part in gdf.dissolve(by="territory_id").iterrows():
        geom = part.geometry
        polygons = getattr(geom, "geoms", [geom])
        rings = [np.asarray(p.exterior.coords) for p in polygons if p.area > 1e-4]
        label = geom.representative_point()
        out[int(territory_id)] = {"rings": rings, "label": (label.x, label.y)}
    return out
