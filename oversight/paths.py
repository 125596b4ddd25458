"""Where things live on disk: the project root, reference data, queries and the default database."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
QUERIES_DIR = ROOT / "queries"
REFERENCE_DIR = ROOT / "data" / "reference"
GEO_DIR = ROOT / "data" / "geo"
STATIC_DIR = ROOT / "static"  # served by Streamlit at /app/static/ (server.enableStaticServing)
I18N_DIR = ROOT / "data" / "i18n"
SHARED_GEO_SOURCE = ROOT.parent / "shared" / "geo" / "moscow_region_okrugs.geojson"

# The database the dashboard opens. OVERSIGHT_DB overrides it (tests, benchmarks, a real import).
DEFAULT_DB = ROOT / "data" / "oversight.duckdb"


def database_path() -> Path:
    """The database file the app uses: $OVERSIGHT_DB if set, else data/oversight.duckdb."""
    return Path(os.environ.get("OVERSIGHT_DB") or DEFAULT_DB)  # an empty value means unset
