"""The Backlog page's data: open and overdue backlog over time, inflow against outflow, ageing,
per-area series for "where", events on the time axis, and the plain-language summary.

Every series is computed the event way (stock before the period + running sums of events, from
`daily_counts` / `ageing_counts` or, for a category or organisation, from the ticket rows): never
with a calendar join.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import duckdb
import pandas as pd

from oversight import store
from oversight.analysis import metrics
from oversight.filters import Filters, ascii_digits
from oversight.i18n import fmt_date, fmt_number, fmt_signed_percent, t

FREQS = metrics.BUCKETS
AGE_BANDS = ("age_0_1", "age_1_3", "age_3_7", "age_7_30", "age_30")
OVERDUE_BANDS = ("not_overdue", "overdue_0_1", "overdue_1_7", "overdue_7_30", "overdue_30")
LEVELS = ("territory", "municipality")
DEFAULT_FREQ, DEFAULT_LEVEL = "week", "territory"  # what the page shows until told otherwise


def _check_freq(freq: str) -> None:
    if freq not in FREQS:
        raise ValueError(f"freq must be one of {FREQS}")


def series(con: duckdb.DuckDBPyConnection, filters: Filters, as_of: dt.datetime, freq: str) -> pd.DataFrame:
    """The backlog series the page draws: date (bucket start), backlog and overdue_backlog at the
    bucket's end (or at as_of), created and closed in the bucket, days of the bucket in the period,
    and the stocks when the period began (opening_backlog, opening_overdue)."""
    _check_freq(freq)
    trend = metrics.kpi_trend(con, filters, as_of, freq, medians=False)
    columns = ["bucket", "backlog", "overdue_backlog", "created", "closed", "days", "opening_backlog", "opening_overdue"]
    return trend[columns].rename(columns={"bucket": "date"}).reset_index(drop=True)


def year_earlier(filters: Filters) -> Filters:
    """The same scope over the same dates one year earlier (29 February falls back to the 28th)."""

    def back(day: dt.date) -> dt.date:
        try:
            return day.replace(year=day.year - 1)
        except ValueError:
            return day.replace(year=day.year - 1, day=28)

    return replace(filters, start=back(filters.start), end=back(filters.end))


def default_comparison(filters: Filters) -> str:
    """The region for a narrower scope; for the whole region, the same period a year earlier."""
    whole_region = filters.territory_id is None and filters.municipality_id is None and filters.organization_id is None
    return "year" if whole_region else "region"


def comparison(con, filters: Filters, as_of: dt.datetime, freq: str, compare: str) -> pd.DataFrame | None:
    """The series to draw beside the scope's, or None for no comparison.

    compare: 'region' (the same category/source over the whole region), 'year' (the same scope a
    year earlier, its dates moved forward a year so the lines overlay), 'territory:ID' or
    'municipality:ID' (another area, with the same category/source/organisation filters).
    """
    if compare in ("", "none"):
        return None
    if compare == "region":
        other = replace(filters, territory_id=None, municipality_id=None, organization_id=None)
    elif compare == "year":
        earlier = series(con, year_earlier(filters), as_of, freq)
        # Before the first request in the data a backlog of 0 would be an artefact, not a fact.
        first = store.run(con, "data_range")["first_created"].iloc[0]
        if pd.notna(first):
            earlier = earlier[earlier["date"] >= pd.Timestamp(first).normalize()]
        earlier["date"] = [d + pd.DateOffset(years=1) for d in earlier["date"]]
        return earlier.reset_index(drop=True)
    elif compare.startswith("territory:") and ascii_digits(compare.split(":", 1)[1]):
        other = replace(filters, territory_id=int(compare.split(":", 1)[1]), municipality_id=None)
    elif compare.startswith("municipality:") and ascii_digits(compare.split(":", 1)[1]):
        other = replace(filters, territory_id=None, municipality_id=int(compare.split(":", 1)[1]))
    else:
        raise ValueError(f"unknown comparison {compare!r}")
    return series(con, other, as_of, freq)


def ageing(con, filters: Filters, as_of: dt.datetime, freq: str) -> pd.DataFrame:
    """Open backlog at each bucket's end split into age bands and into overdue bands.

    Columns: date, band, count (long format), with bands AGE_BANDS (days since creation: up to 1,
    1-3, 3-7, 7-30, over 30) and OVERDUE_BANDS (not overdue, overdue by up to 1 day, 1-7, 7-30,
    over 30 days). Each set of bands adds up to the open backlog at that moment.
    """
    _check_freq(freq)
    params = {"bucket": freq, **filters.params(as_of)}
    long = store.run(con, "ageing_trend", rows=_ageing_from_rows(con, filters, as_of), **params)
    wide = long.pivot_table(index="bucket", columns=["kind", "days"], values="open_count", aggfunc="sum")
    backlog, overdue = wide[("age", 0)], wide[("overdue", 0)]
    age = {k: wide[("age", k)] for k in (1, 3, 7, 30)}
    late = {k: wide[("overdue", k)] for k in (1, 7, 30)}
    bands = pd.DataFrame(
        {
            "age_0_1": backlog - age[1],
            "age_1_3": age[1] - age[3],
            "age_3_7": age[3] - age[7],
            "age_7_30": age[7] - age[30],
            "age_30": age[30],
            "not_overdue": backlog - overdue,
            "overdue_0_1": overdue - late[1],
            "overdue_1_7": late[1] - late[7],
            "overdue_7_30": late[7] - late[30],
            "overdue_30": late[30],
        }
    )
    bands.index.name = "date"
    return bands.reset_index().melt(id_vars="date", var_name="band", value_name="count")


def _ageing_from_rows(con, filters: Filters, as_of: dt.datetime) -> bool:
    """The pre-aggregated ageing counts answer any filter but an organisation or a category within
    one municipality (see queries/_macros.sql scoped_ageing_counts); those count the ticket rows."""
    return not metrics.uses_daily_counts(con, filters, as_of) or (
        filters.category_id is not None and filters.municipality_id is not None
    )


def by_area(con, filters: Filters, as_of: dt.datetime, freq: str, level: str) -> pd.DataFrame:
    """Backlog series per direction or municipality, with names and growth over the period.

    Columns: area_id, name_ru, name_en, date, created, closed, backlog, overdue_backlog, growth
    (backlog at the end minus at the start of the period, per area), sorted by growth, largest first.
    """
    _check_freq(freq)
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}")
    params = {"bucket": freq, "level": level, "rows": not metrics.uses_daily_counts(con, filters, as_of), **filters.params(as_of)}
    data = store.run(con, "backlog_by_area", **params).rename(columns={"bucket": "date"})
    # Backlog at the start = at the end of the first bucket minus that bucket's net inflow.
    first = data.groupby("area_id").first()
    start_backlog = first["backlog"] - first["created"] + first["closed"]
    growth = (data.groupby("area_id")["backlog"].last() - start_backlog).rename("growth")
    names = store.run(con, "filter_territories" if level == "territory" else "filter_municipalities")
    id_col = "territory_id" if level == "territory" else "municipality_id"
    names = names.rename(columns={id_col: "area_id"})[["area_id", "name_ru", "name_en"]]
    out = data.merge(names, on="area_id", how="left").merge(growth.reset_index(), on="area_id", how="left")
    order = growth.sort_values(ascending=False).index
    out["area_id"] = pd.Categorical(out["area_id"], categories=list(order), ordered=True)
    out = out.sort_values(["area_id", "date"]).reset_index(drop=True)
    out["area_id"] = out["area_id"].astype(int)
    return out


def start_stock(base: pd.DataFrame) -> dict:
    """Backlog and overdue backlog when the period began, from a `series` result."""
    if base.empty:
        return {"backlog": 0, "overdue_backlog": 0}
    return {"backlog": int(base["opening_backlog"].iloc[0]), "overdue_backlog": int(base["opening_overdue"].iloc[0])}


def events(con, filters: Filters, as_of: dt.datetime) -> pd.DataFrame:
    """Events dated in the period that concern the scope (region-wide ones included)."""
    return store.run(con, "events_in_scope", **filters.params(as_of))


def summary(base: pd.DataFrame, start: dict, filters: Filters, as_of: dt.datetime, lang: str) -> str:
    """A short plain-language summary of the backlog series for the period (start: the stocks when
    the period began, from `start_stock`)."""
    if base.empty:
        return t("backlog.summary_empty", lang)
    last = base.iloc[-1]
    change = (last["backlog"] / start["backlog"] - 1.0) if start["backlog"] else None
    overdue_change = (last["overdue_backlog"] / start["overdue_backlog"] - 1.0) if start["overdue_backlog"] else None
    created, closed = int(base["created"].sum()), int(base["closed"].sum())
    net = created - closed
    end_moment = min(dt.datetime.combine(filters.end + dt.timedelta(days=1), dt.time()), as_of)
    parts = [
        t(
            "backlog.summary_stock",
            lang,
            end=fmt_date((end_moment - dt.timedelta(microseconds=1)).date(), lang),
            backlog=fmt_number(last["backlog"], lang),
            change=fmt_signed_percent(change, lang) if change is not None else "—",
            overdue=fmt_number(last["overdue_backlog"], lang),
            overdue_change=fmt_signed_percent(overdue_change, lang) if overdue_change is not None else "—",
        ),
        t(
            "backlog.summary_flows",
            lang,
            created=fmt_number(created, lang),
            closed=fmt_number(closed, lang),
        ),
        t(
            "backlog.summary_grew" if net > 0 else ("backlog.summary_fell" if net < 0 else "backlog.summary_flat"),
            lang,
            net=fmt_number(abs(net), lang),
        ),
    ]
    return " ".join(parts)


def top_areas(areas: pd.DataFrame, limit: int = 12) -> tuple[list[int], int]:
    """The ids of the areas to draw (the `limit` with the largest growth) and how many there are."""
    ordered = list(dict.fromkeys(areas["area_id"]))
    return ordered[:limit], len(ordered)
