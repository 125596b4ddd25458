"""Reference data committed under data/reference/: directions, municipalities, categories."""

from __future__ import annotations

from functools import lru_cache

import pandas as pd

from oversight.paths import REFERENCE_DIR


@lru_cache(maxsize=1)
def territories() -> pd.DataFrame:
    return pd.read_csv(REFERENCE_DIR / "territories.csv")


@lru_cache(maxsize=1)
def municipalities() -> pd.DataFrame:
    df = pd.read_csv(
        REFERENCE_DIR / "municipalities.csv",
        dtype={"successor_id": "Int64", "population": "Int64"},
        parse_dates=["merged_on"],
    )
    return df


@lru_cache(maxsize=1)
def categories() -> pd.DataFrame:
    return pd.read_csv(
        REFERENCE_DIR / "categories.csv",
        dtype={"normative_hours": "Int64", "normative_workdays": "Int64"},
    )
