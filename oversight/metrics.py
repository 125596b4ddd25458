"""The metrics of ARCHITECTURE.md §3, answered from the database for a `Filters`.

These are the functions the pages, the command line and the tests call; each runs one query file.
"""

from __future__ import annotations

import datetime as dt
import math

import duckdb
import pandas as pd

from oversight.filters import Filters
from oversight.store import run

KPI_KEYS = (
    "created",
    "closed",
    "backlog_end",
    "overdue_backlog_end",
    "due",
    "missed",
    "on_time_rate",
    "median_resolution_hours",
    "returned_share",
)
# Flows are compared per day (periods may differ in length when one is cut at as_of); stocks and
# rates are compared as they are.
FLOW_KPIS = frozenset({"created", "closed", "due", "missed"})
# For these a rise is bad news (drives the red/green of the change).
HIGHER_IS_WORSE = frozenset(
    {"backlog_end", "overdue_backlog_end", "missed", "median_resolution_hours", "returned_share"}
)
BUCKETS = ("day", "week", "month")


def _clean(value):
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    if hasattr(value, "item"):
        value = value.item()
    return value


def kpis(con: duckdb.DuckDBPyConnection, filters: Filters, as_of: dt.datetime) -> dict:
    """One dict with the KPI_KEYS for the filtered scope and period."""
    row = run(con, "kpis", **filters.params(as_of)).to_dict("records")[0]
    return {key: _clean(row[key]) for key in KPI_KEYS}


def effective_days(filters: Filters, as_of: dt.datetime) -> float:
    """Length of the period in days, cut at as_of (what flows are divided by for a per-day rate)."""
    start = dt.datetime.combine(filters.start, dt.time())
    stop = min(dt.datetime.combine(filters.end + dt.timedelta(days=1), dt.time()), as_of)
    return max((stop - start).total_seconds() / 86400.0, 0.0)


def kpi_comparison(con: duckdb.DuckDBPyConnection, filters: Filters, as_of: dt.datetime) -> pd.DataFrame:
    """Each KPI now and in the previous period of equal length, with the change.

    Columns: metric, value, previous, change (relative, for counts and hours; absolute for shares),
    per_day (value per day for flows), previous_per_day, worse (True when the change is bad news).
    """
    now = kpis(con, filters, as_of)
    prev_filters = filters.previous()
    before = kpis(con, prev_filters, as_of)
    days_now, days_prev = effective_days(filters, as_of), effective_days(prev_filters, as_of)
    rows = []
    for key in KPI_KEYS:
        value, previous = now[key], before[key]
        per_day = prev_per_day = None
        if key in FLOW_KPIS:
            per_day = value / days_now if days_now else None
            prev_per_day = previous / days_prev if days_prev else None
            a, b = per_day, prev_per_day
        else:
            a, b = value, previous
        change = None
        if a is not None and b is not None:
            if key in ("on_time_rate", "returned_share"):
                change = a - b  # percentage points
            elif b:
                change = a / b - 1.0
        worse = None
        if change is not None and change != 0:
            worse = (change > 0) == (key in HIGHER_IS_WORSE)
        rows.append(
            {
                "metric": key,
                "value": value,
                "previous": previous,
                "per_day": per_day,
                "previous_per_day": prev_per_day,
                "change": change,
                "worse": worse,
            }
        )
    return pd.DataFrame(rows)


def trend_bucket(filters: Filters) -> str:
    """The bucket a small trend uses: days up to two months, weeks up to a year, else months."""
    if filters.days <= 62:
        return "day"
    if filters.days <= 366:
        return "week"
    return "month"


def kpi_trend(
    con: duckdb.DuckDBPyConnection, filters: Filters, as_of: dt.datetime, bucket: str | None = None
) -> pd.DataFrame:
    """KPIs per bucket in the period, with backlog and overdue backlog at each bucket's end."""
    bucket = bucket or trend_bucket(filters)
    if bucket not in BUCKETS:
        raise ValueError(f"bucket must be one of {BUCKETS}")
    return run(con, "kpi_trend", bucket=bucket, **filters.params(as_of))


def kpis_by_area(con: duckdb.DuckDBPyConnection, filters: Filters, as_of: dt.datetime) -> pd.DataFrame:
    """KPIs per direction and per municipality (column `level`), for the ranked tables."""
    return run(con, "kpis_by_area", **filters.params(as_of))
