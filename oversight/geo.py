"""Municipal boundaries: load the source file, normalise names, assign directions, simplify, orient.

The source (`shared/geo/moscow_region_okrugs.geojson`, OpenStreetMap-derived, ODbL) names each okrug
in an odd title case. `official_name` turns it into the official spelling used in
`data/reference/municipalities.csv`; `build_boundaries` writes the simplified, clockwise-oriented
file the map draws (`data/geo/municipalities.geojson`) and fails on any name it cannot match.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from pathlib import Path

import pandas as pd

from oversight.paths import GEO_DIR, REFERENCE_DIR, SHARED_GEO_SOURCE, STATIC_DIR

ATTRIBUTION = "© OpenStreetMap contributors (ODbL)"
BOUNDARIES_FILE = GEO_DIR / "municipalities.geojson"
# Served by Streamlit at /app/static/geo/ (a copy of BOUNDARIES_FILE, not committed).
STATIC_GEO_DIR = STATIC_DIR / "geo"

# Moscow's centre (Kremlin), the origin of the direction rule.
MOSCOW_CENTRE = (37.6173, 55.7558)

# Official spellings the capitalisation rule cannot know: the letter ё and lower-case nouns.
_SPELLING_FIXES = {
    "Щелково": "Щёлково",
    "Молодежный": "Молодёжный",
    "Звездный Городок": "Звёздный городок",
    "Королев": "Королёв",
}


def _capitalise_parts(words: str) -> str:
    """'сергиево-посадский' -> 'Сергиево-Посадский'; each hyphen- or space-separated part."""
    return re.sub(r"[^\s-]+", lambda m: m.group(0)[:1].upper() + m.group(0)[1:].lower(), words)


def official_name(raw: str) -> str:
    """The official Russian name of an okrug from the source file's spelling.

    'Городской Округ Лосино-петровский' -> 'городской округ Лосино-Петровский';
    'Сергиево-посадский Городской Округ' -> 'Сергиево-Посадский городской округ'.
    """
    text = " ".join(raw.split())
    match = re.fullmatch(r"(?i)городской округ (.+)", text)
    if match:
        core = _SPELLING_FIXES.get(_capitalise_parts(match.group(1)), _capitalise_parts(match.group(1)))
        return f"городской округ {core}"
    match = re.fullmatch(r"(?i)(.+) городской округ", text)
    if match:
        return f"{_capitalise_parts(match.group(1))} городской округ"
    raise ValueError(f"Не удалось разобрать название округа: {raw!r}")


def bearing_degrees(lon: float, lat: float, origin: tuple[float, float] = MOSCOW_CENTRE) -> float:
    """Initial bearing from Moscow's centre to a point, degrees clockwise from north (0..360)."""
    lon0, lat0 = map(math.radians, origin)
    lon1, lat1 = math.radians(lon), math.radians(lat)
    d_lon = lon1 - lon0
    x = math.sin(d_lon) * math.cos(lat1)
    y = math.cos(lat0) * math.sin(lat1) - math.sin(lat0) * math.cos(lat1) * math.cos(d_lon)
    return (math.degrees(math.atan2(x, y)) + 360.0) % 360.0


def territory_for_bearing(bearing: float, territories: pd.DataFrame) -> int:
    """The direction whose sector [bearing_from, bearing_to) holds the bearing (sectors may wrap 360)."""
    for row in territories.itertuples():
        lo, hi = row.bearing_from, row.bearing_to
        inside = lo <= bearing < hi if lo < hi else (bearing >= lo or bearing < hi)
        if inside:
            return int(row.territory_id)
    raise ValueError(f"bearing {bearing} is in no sector")


def load_source(path: Path = SHARED_GEO_SOURCE):
    """The source boundaries as a GeoDataFrame with `source_name` and `name_ru` columns."""
    import geopandas as gpd

    gdf = gpd.read_file(path)
    gdf = gdf.rename(columns={"district": "source_name"})
    gdf["name_ru"] = gdf["source_name"].map(official_name)
    return gdf


def centroids(gdf) -> pd.DataFrame:
    """Centroid lon/lat of each polygon, computed in an equal-area projection, not in degrees."""
    projected = gdf.to_crs(6933).geometry.centroid.to_crs(4326)
    return pd.DataFrame({"name_ru": gdf["name_ru"], "lon": projected.x, "lat": projected.y})


def match_to_reference(gdf, municipalities: pd.DataFrame) -> pd.DataFrame:
    """Map every source polygon to one current municipality by official name, one to one.

    Raises ValueError naming every unmatched polygon and every current municipality left without
    a polygon, so a renamed okrug can never silently drop off the map.
    """
    current = municipalities[municipalities["successor_id"].isna()]
    by_name = dict(zip(current["name_ru"], current["municipality_id"]))
    unmatched = sorted(set(gdf["name_ru"]) - set(by_name))
    no_polygon = sorted(set(by_name) - set(gdf["name_ru"]))
    if unmatched or no_polygon or gdf["name_ru"].duplicated().any():
        raise ValueError(
            "Границы и справочник не совпадают: "
            f"нет в справочнике {unmatched}; нет границ у {no_polygon}; "
            f"повторы {sorted(gdf.loc[gdf['name_ru'].duplicated(), 'name_ru'])}"
        )
    return gdf.assign(municipality_id=gdf["name_ru"].map(by_name).astype(int))


def build_boundaries(
    source: Path = SHARED_GEO_SOURCE,
    out: Path = BOUNDARIES_FILE,
    tolerance_m: float = 120.0,
) -> Path:
    """Write the simplified, clockwise-oriented boundaries keyed by municipality_id.

    Simplification is done in metres (UTM zone 37N) with shared edges kept consistent enough for a
    regional map; exterior rings are oriented clockwise because plotly's `geo` traces fill the
    complement of a counter-clockwise ring (the whole globe).
    """
    import shapely

    municipalities = pd.read_csv(REFERENCE_DIR / "municipalities.csv")
    gdf = match_to_reference(load_source(source), municipalities)
    metric = gdf.to_crs(32637)
    metric["geometry"] = metric.geometry.simplify(tolerance_m, preserve_topology=True)
    gdf = metric.to_crs(4326)
    gdf["geometry"] = shapely.orient_polygons(gdf.geometry.values, exterior_cw=True)
    gdf["geometry"] = shapely.set_precision(gdf.geometry.values, 1e-4)  # ~10 m: finer than the simplification
    gdf = gdf[["municipality_id", "name_ru", "geometry"]].sort_values("municipality_id")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(gdf.to_json(drop_id=True, ensure_ascii=False), encoding="utf-8")
    return out


def publish_boundaries(source: Path = BOUNDARIES_FILE, static_dir: Path = STATIC_GEO_DIR, url_root: str = "/") -> str:
    """Copy the committed boundaries where Streamlit serves static files and return their URL.

    The map's choropleth then names this URL instead of carrying 274 KB of shapes in every figure:
    the browser fetches it once from our own server (never from the internet) and caches it, and
    the script neither copies nor serialises the shapes on each run. Streamlit refuses symlinks in
    static/, hence a copy; the content hash in the URL makes a browser fetch a changed file anew.
    `url_root` is where the server answers ("/", or "/<server.baseUrlPath>/" behind a proxy)."""
    data = Path(source).read_bytes()
    digest = hashlib.sha256(data).hexdigest()[:12]
    target = Path(static_dir) / source.name
    if not target.exists() or target.read_bytes() != data:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(target)
    return f"{url_root}app/static/{Path(static_dir).name}/{source.name}?v={digest}"


def load_boundaries(path: Path = BOUNDARIES_FILE) -> dict:
    """The committed boundaries as a GeoJSON dict (features carry `municipality_id`)."""
    return json.loads(Path(path).read_text(encoding="utf-8"))
