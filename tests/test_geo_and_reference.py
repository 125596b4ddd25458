"""Boundaries and reference data: names match one to one, rings wind clockwise, directions by rule."""

from __future__ import annotations

import pandas as pd
import pytest
from shapely.geometry import shape

from oversight import geo, reference
from oversight.paths import SHARED_GEO_SOURCE


@pytest.mark.skipif(not SHARED_GEO_SOURCE.exists(), reason="shared/geo is laid beside the checkout")
def test_every_source_polygon_matches_one_reference_row():
    gdf = geo.load_source()
    matched = geo.match_to_reference(gdf, reference.municipalities())
    assert len(matched) == 60 and matched["municipality_id"].is_unique


def test_unmatched_name_fails_loudly():
    gdf = pd.DataFrame({"name_ru": ["городской округ Нигде"]})
    with pytest.raises(ValueError, match="Нигде"):
        geo.match_to_reference(gdf, reference.municipalities())


@pytest.mark.parametrize(
    "raw, official",
    [
        ("Городской Округ Лосино-петровский", "городской округ Лосино-Петровский"),
        ("Сергиево-посадский Городской Округ", "Сергиево-Посадский городской округ"),
        ("Городской Округ Щелково", "городской округ Щёлково"),
        ("Городской Округ Звездный Городок", "городской округ Звёздный городок"),
        ("Городской Округ Павловский Посад", "городской округ Павловский Посад"),
        ("Наро-фоминский Городской Округ", "Наро-Фоминский городской округ"),
    ],
)
def test_official_names(raw, official):
    assert geo.official_name(raw) == official


def test_committed_boundaries_cover_current_municipalities_clockwise():
    data = geo.load_boundaries()
    m = reference.municipalities()
    current = set(m.loc[m["successor_id"].isna(), "municipality_id"])
    ids = [f["properties"]["municipality_id"] for f in data["features"]]
    assert sorted(ids) == sorted(current)
    for feature in data["features"]:
        geom = shape(feature["geometry"])
        assert geom.is_valid
        polygons = getattr(geom, "geoms", [geom])
        for polygon in polygons:
            assert not polygon.exterior.is_ccw, feature["properties"]  # clockwise for plotly geo
    assert geo.BOUNDARIES_FILE.stat().st_size < 600_000


def test_direction_rule_on_known_points():
    terr = reference.territories()
    assert geo.territory_for_bearing(geo.bearing_degrees(37.62, 56.7), terr) == 1  # Taldom: north
    assert geo.territory_for_bearing(geo.bearing_degrees(39.0, 55.7), terr) == 2  # Orekhovo-Zuevo: east
    assert geo.territory_for_bearing(geo.bearing_degrees(37.5, 54.9), terr) == 3  # Serpukhov: south
    assert geo.territory_for_bearing(geo.bearing_degrees(35.7, 55.5), terr) == 4  # Mozhaysk: west


def test_reference_tables_are_complete():
    m = reference.municipalities()
    assert m["municipality_id"].is_unique and m["name_ru"].is_unique and m["name_en"].is_unique
    assert len(m[m["successor_id"].isna()]) == 60
    assert m["territory_id"].isin(reference.territories()["territory_id"]).all()
    hist = m[m["successor_id"].notna()]
    assert "городской округ Красноармейск" in set(hist["name_ru"]) and hist["merged_on"].notna().all()
    known = m["population"].notna()
    assert (m.loc[known, "population_source"].notna()).all()
    c = reference.categories()
    assert 35 <= len(c) <= 45 and c["category_id"].is_unique
    emergency = c[c["is_emergency"]]
    assert emergency["normative_hours"].notna().all() and emergency["normative_workdays"].isna().all()
    both = c["normative_hours"].notna() & c["normative_workdays"].notna()
    assert not both.any()


@pytest.mark.skipif(not SHARED_GEO_SOURCE.exists(), reason="shared/geo is laid beside the checkout")
def test_simplified_boundaries_keep_each_area_within_two_percent():
    import geopandas as gpd

    src = geo.load_source().to_crs(6933).set_index("name_ru").area
    ours = gpd.GeoDataFrame.from_features(geo.load_boundaries()["features"], crs=4326).to_crs(6933).set_index("name_ru").area
    ratio = (ours / src.reindex(ours.index)).dropna()
    assert len(ratio) == 60
    assert ratio.between(0.98, 1.02).all(), ratio[~ratio.between(0.98, 1.02)]


def test_boundaries_are_published_for_the_browser_once_and_byte_identical(tmp_path):
    url = geo.publish_boundaries(static_dir=tmp_path / "geo")
    copy = tmp_path / "geo" / geo.BOUNDARIES_FILE.name
    assert copy.read_bytes() == geo.BOUNDARIES_FILE.read_bytes()
    assert url.startswith("/app/static/geo/municipalities.geojson?v=")
    stamp = copy.stat().st_mtime_ns
    assert geo.publish_boundaries(static_dir=tmp_path / "geo") == url
    assert copy.stat().st_mtime_ns == stamp  # unchanged file: not rewritten
    copy.write_text("{}", encoding="utf-8")  # a stale or damaged copy is replaced
    geo.publish_boundaries(static_dir=tmp_path / "geo")
    assert copy.read_bytes() == geo.BOUNDARIES_FILE.read_bytes()
    # Behind a reverse proxy's base path the address starts with it (widgets.url_root gives "/gji/").
    assert geo.publish_boundaries(static_dir=tmp_path / "geo", url_root="/gji/") == "/gji" + url


def test_map_falls_back_to_inline_boundaries_where_static_cannot_be_written(monkeypatch):
    from oversight.analysis import heatmap

    def refuse(**kwargs):
        raise PermissionError("read-only install")

    heatmap.map_geojson.cache_clear()
    monkeypatch.setattr(heatmap, "publish_boundaries", refuse)
    try:
        assert heatmap.map_geojson() == heatmap.boundaries()
    finally:
        heatmap.map_geojson.cache_clear()
