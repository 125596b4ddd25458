"""The metrics of ARCHITECTURE.md §3, answered from the database for a `Filters`.

These are the functions the pages, the command line and the tests call. Two ways to the same
numbers, chosen per call, through the same SQL:
- counts come from the pre-aggregated `daily_counts` table (fast at 10M tickets) unless an
  organisation filter is set (that table has none) or another as_of is asked for; then the same
  queries count from the ticket rows (`scoped_counts` in queries/_macros.sql, store.run(rows=True));
- medians come from `oversight.analysis.medians.MedianIndex` when the scope is the region, a direction or a
  municipality; otherwise from SQL over the ticket rows.
Tests check both ways against an independent pandas computation.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import threading
from dataclasses import replace

import duckdb
import numpy as np
import pandas as pd

from oversight import store
from oversight.access import EVERYTHING
from oversight.analysis import median_cache
from oversight.analysis.medians import MedianIndex
from oversight.filters import Filters

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
_EPOCH = dt.date(1970, 1, 1)


def _clean(value):
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "item"):
        value = value.item()
    return value


def _day(moment) -> int:
    """Days since 1970-01-01 of a date or midnight datetime (the index's day numbers)."""
    if isinstance(moment, dt.datetime):
        moment = moment.date()
    return (moment - _EPOCH).days


# ---------------------------------------------------------------- which way to compute


def derived_as_of(con) -> dt.datetime | None:
    def read(c):
        value = store.run(c, "derived_as_of")["as_of"].iloc[0]
        return None if pd.isna(value) else pd.Timestamp(value).to_pydatetime()

    return store.attachment(con, "derived_as_of", read)


def uses_daily_counts(con, filters: Filters, as_of: dt.datetime) -> bool:
    """daily_counts has every filter column but the organisation, and is built for one as_of."""
    return filters.organization_id is None and derived_as_of(con) == as_of


def uses_org_daily_counts(con, filters: Filters, as_of: dt.datetime) -> bool:
    """org_daily_counts answers organisation counts when no category or source is chosen and it was
    built for this as_of; otherwise they are grouped from the ticket rows."""
    return filters.category_id is None and filters.source is None and uses_daily_counts(
        con, replace(filters, organization_id=None), as_of)


_index_lock = threading.Lock()
# Whether a build has started is kept with the connection and scope it is for (store.attachment, dropped
# with the connection). It was a set of id(ScopedConnection) that outlived the connections: once a
# closed connection's object was gone, a new one could be given its id and never start its index.
_STARTED = "median_index_started"
# The app builds the index in the background. A one-shot process (the command line) must not: it
# would exit, and close the connection, while the build still uses it. Medians then come from SQL.
BACKGROUND_INDEX = True
log = logging.getLogger(__name__)


def prepare_median_index(con) -> None:
    """Build the median index for this connection now (tests, benchmarks)."""
    with _index_lock:
        store.attachment(con, _STARTED, lambda c: True)
    store.attachment(con, "median_index", median_cache.index_for)


def _build_in_background(con) -> None:
    try:
        prepare_median_index(con)
    except Exception:  # medians keep coming from SQL; say why in the server log
        log.exception("median index not built; medians come from SQL")


def start_median_index(con) -> None:
    """Build the median index in the background (the app: ~1 s per million requests); until it
    is ready, medians come from SQL, so the first page view does not wait for it."""
    with _index_lock:
        if store.attachment(con, _STARTED) or not BACKGROUND_INDEX:
            return
        store.attachment(con, _STARTED, lambda c: True)
    threading.Thread(target=_build_in_background, args=(con,), name="median-index", daemon=True).start()


def _index(con) -> median_cache.SourceCodedIndex | None:
    return store.attachment(con, "median_index")


def _index_scope(filters: Filters) -> tuple[str, object] | None:
    """The index grouping that matches the filters, or None when it cannot answer them.

    The index groups by one thing at a time: the region, a direction, a municipality, a category
    or a source. Two filters at once (or an organisation) go to SQL, over far fewer rows.
    """
    chosen = [
        (name, value)
        for name, value in (
            ("territory", filters.territory_id),
            ("municipality", filters.municipality_id),
            ("category", filters.category_id),
            ("source", filters.source),
        )
        if value is not None
    ]
    if filters.organization_id is not None or len(chosen) > 1:
        return None
    return chosen[0] if chosen else ("all", 0)


def _indexed(con, filters: Filters) -> tuple[MedianIndex | None, tuple[str, int] | None]:
    scope = _index_scope(filters)
    if scope is None:
        return None, None
    coded = _index(con)
    if coded is None:
        # Not built yet: start building it in the background (only pages that need medians pay
        # for it) and let SQL answer this time.
        start_median_index(con)
        return None, None
    name, value = scope
    if name == "source":
        value = coded.source_codes.get(value, -1)  # an unknown source: no rows, median None
    return coded.index, (name, int(value))


# ---------------------------------------------------------------- KPIs for a period and the one before


def _periods(con, filters: Filters, as_of: dt.datetime, prev_start: dt.date) -> dict[str, dict]:
    params = filters.params(as_of)
    params["prev_start"] = dt.datetime.combine(prev_start, dt.time())
    params["rows"] = not uses_daily_counts(con, filters, as_of)
    rows = store.run(con, "kpi_periods", **params)
    index, scope = _indexed(con, filters) if not params["rows"] else (None, None)
    if index is not None:
        ranges = {
            "previous": (_day(prev_start), _day(filters.start)),
            "current": (_day(filters.start), _day(filters.end) + 1),
        }
        rows["median_resolution_hours"] = [index.median_hours(*scope, *ranges[p]) for p in rows["period"]]
    else:
        medians = store.run(con, "median_periods", **params).set_index("period")["median_resolution_hours"]
        rows["median_resolution_hours"] = rows["period"].map(medians)
    return {
        row["period"]: {key: _clean(row[key]) for key in KPI_KEYS}
        for row in rows.to_dict("records")
    }


def kpis(con: duckdb.DuckDBPyConnection, filters: Filters, as_of: dt.datetime) -> dict:
    """One dict with the KPI_KEYS for the filtered scope and period."""
    return _periods(con, filters, as_of, filters.start)["current"]


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
    prev_filters = filters.previous()
    both = _periods(con, filters, as_of, prev_filters.start)
    now, before = both["current"], both["previous"]
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


# ---------------------------------------------------------------- trend


def trend_bucket(filters: Filters) -> str:
    """The bucket a small trend uses: days up to two months, weeks up to a year, else months."""
    if filters.days <= 62:
        return "day"
    if filters.days <= 366:
        return "week"
    return "month"


def _bucket_end(start: pd.Timestamp, bucket: str) -> pd.Timestamp:
    return start + (pd.DateOffset(months=1) if bucket == "month" else pd.Timedelta(days=1 if bucket == "day" else 7))


def kpi_trend(
    con: duckdb.DuckDBPyConnection, filters: Filters, as_of: dt.datetime, bucket: str | None = None,
    medians: bool = True, building_id: int | None = None,
) -> pd.DataFrame:
    """KPIs per bucket in the period, with backlog and overdue backlog at each bucket's end.

    Columns: bucket, days, created, closed, due, missed, on_time_rate, median_resolution_hours,
    returned_share, backlog, overdue_backlog, and opening_backlog / opening_overdue (the stocks when
    the period began, the same on every row). medians=False skips the medians (left empty): the
    backlog series do not need them. building_id narrows the scope to one building (the drill-down).
    """
    bucket = bucket or trend_bucket(filters)
    if bucket not in BUCKETS:
        raise ValueError(f"bucket must be one of {BUCKETS}")
    params = {**filters.params(as_of), "bucket": bucket, "building_id": building_id,
              "rows": building_id is not None or not uses_daily_counts(con, filters, as_of)}
    trend = store.run(con, "kpi_trend", **params)
    index, scope = _indexed(con, filters) if medians and not params["rows"] else (None, None)
    if not medians:
        trend["median_resolution_hours"] = np.nan  # not asked for: no median work at all
    elif index is not None:
        first, stop = _day(filters.start), _day(filters.end) + 1
        trend["median_resolution_hours"] = [
            index.median_hours(*scope, max(_day(b), first), min(_day(_bucket_end(b, bucket)), stop))
            for b in trend["bucket"]
        ]
    else:
        by_bucket = store.run(con, "median_buckets", **params).set_index("bucket")["median_resolution_hours"]
        trend["median_resolution_hours"] = trend["bucket"].map(by_bucket)
    return trend[
        ["bucket", "days", "created", "closed", "due", "missed", "on_time_rate", "median_resolution_hours",
         "returned_share", "backlog", "overdue_backlog", "opening_backlog", "opening_overdue"]
    ]


# ---------------------------------------------------------------- per area


def kpis_by_area(con: duckdb.DuckDBPyConnection, filters: Filters, as_of: dt.datetime) -> pd.DataFrame:
    """Counts and rates per direction and per municipality (column `level`), for the ranked tables.

    No median per area: the tables rank by on-time rate and missed deadlines, and exact medians for
    60 areas would cost more than the whole rest of the page at 10M tickets.
    """
    return store.run(con, "kpis_by_area", rows=not uses_daily_counts(con, filters, as_of), **filters.params(as_of))


BENCHMARK_COLUMNS = ["level", "territory_id", "territory_name_ru", "territory_name_en", "created", "due", "missed",
                     "on_time_rate"]


def benchmarks(con, filters: Filters, as_of: dt.datetime) -> pd.DataFrame:
    """The region's and each direction's totals, for a user who reads only part of the region: the
    benchmarks he may compare his direction with (#17). They name no municipality, organisation,
    building or request: one row per direction (level 'territory') and one for the region (level
    'region'), over the period, category and source of the filters (a place in the filters does not
    apply). The one deliberate read outside the caller's scope, and only of these totals."""
    whole = store.scoped(con.raw, EVERYTHING)
    wide = Filters(start=filters.start, end=filters.end, category_id=filters.category_id, source=filters.source)
    area = kpis_by_area(whole, wide, as_of)
    rows = area.loc[area["level"] == "territory", BENCHMARK_COLUMNS].reset_index(drop=True)
    due, missed = int(rows["due"].sum()), int(rows["missed"].sum())
    region = {"level": "region", "territory_id": None, "territory_name_ru": "", "territory_name_en": "",
              "created": int(rows["created"].sum()), "due": due, "missed": missed,
              "on_time_rate": (1.0 - missed / due) if due else None}
    return pd.concat([pd.DataFrame([region]), rows], ignore_index=True)
