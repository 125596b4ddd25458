"""Independent plain-pandas computations of the metrics of ARCHITECTURE.md §3.

Written from the definitions, not from the SQL, so that a mistake in a query shows up as a
difference. Deliberately simple and slow.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd


def current_municipality(municipalities: pd.DataFrame) -> dict[int, int]:
    """municipality_id -> the current municipality it rolls up to (following successor chains)."""
    successor = dict(zip(municipalities["municipality_id"], municipalities["successor_id"]))
    out = {}
    for mid in successor:
        cur = mid
        while pd.notna(successor[cur]):
            cur = int(successor[cur])
        out[int(mid)] = cur
    return out


def scoped(frames: dict, territory_id=None, municipality_id=None, organization_id=None, category_id=None, source=None) -> pd.DataFrame:
    t = frames["tickets"].copy()
    m = frames["municipalities"]
    roll = current_municipality(m)
    t["current_municipality_id"] = t["municipality_id"].map(roll)
    t["territory_id"] = t["current_municipality_id"].map(dict(zip(m["municipality_id"], m["territory_id"])))
    if territory_id is not None:
        t = t[t["territory_id"] == territory_id]
    if municipality_id is not None:
        t = t[t["current_municipality_id"] == municipality_id]
    if organization_id is not None:
        t = t[t["organization_id"] == organization_id]
    if category_id is not None:
        t = t[t["category_id"] == category_id]
    if source is not None:
        t = t[t["source"] == source]
    return t


def open_at(t: pd.DataFrame, moment) -> pd.Series:
    return (t["created_at"] < moment) & (t["closed_at"].isna() | (t["closed_at"] >= moment))


def as_known_at(t: pd.DataFrame, as_of) -> pd.DataFrame:
    """The tickets as they stood at as_of: nothing created after it, nothing closed after it."""
    t = t[t["created_at"] < pd.Timestamp(as_of)].copy()
    t["closed_at"] = t["closed_at"].where(t["closed_at"] < pd.Timestamp(as_of))
    return t


def kpis(t: pd.DataFrame, start: dt.date, end: dt.date, as_of: dt.datetime) -> dict:
    t = as_known_at(t, as_of)
    p_start = pd.Timestamp(start)
    p_stop = pd.Timestamp(end + dt.timedelta(days=1))
    p_end = min(p_stop, pd.Timestamp(as_of))
    created = t["created_at"].between(p_start, p_stop, inclusive="left")
    closed = t["closed_at"].notna() & (t["closed_at"] >= p_start) & (t["closed_at"] < p_stop)
    is_open = open_at(t, p_end)
    overdue = is_open & t["due_at"].notna() & (t["due_at"] < p_end)
    due = t["due_at"].notna() & (t["due_at"] >= p_start) & (t["due_at"] < p_stop) & (t["due_at"] < pd.Timestamp(as_of))
    missed = due & (t["closed_at"].isna() | (t["closed_at"] > t["due_at"]))
    hours = (t.loc[closed, "closed_at"] - t.loc[closed, "created_at"]).dt.total_seconds() / 3600.0
    returned = t.loc[closed, "returned_count"] > 0
    n_due, n_missed = int(due.sum()), int(missed.sum())
    return {
        "created": int(created.sum()),
        "closed": int(closed.sum()),
        "backlog_end": int(is_open.sum()),
        "overdue_backlog_end": int(overdue.sum()),
        "due": n_due,
        "missed": n_missed,
        "on_time_rate": (1.0 - n_missed / n_due) if n_due else None,
        "median_resolution_hours": float(np.median(hours)) if len(hours) else None,
        "returned_share": float(returned.mean()) if len(returned) else None,
    }


def backlog_by_brute_force(t: pd.DataFrame, moments: list) -> pd.DataFrame:
    """Backlog and overdue backlog counted ticket by ticket at each moment (no event trick)."""
    rows = []
    for moment in moments:
        is_open = open_at(t, moment)
        rows.append(
            {
                "moment": moment,
                "backlog": int(is_open.sum()),
                "overdue_backlog": int((is_open & t["due_at"].notna() & (t["due_at"] < moment)).sum()),
            }
        )
    return pd.DataFrame(rows)


def ageing_by_brute_force(t: pd.DataFrame, moment) -> dict:
    """Open requests at a moment by age band and by how far past the deadline (independent count)."""
    is_open = open_at(t, moment)
    age = (moment - t.loc[is_open, "created_at"]).dt.total_seconds() / 86400
    due = t.loc[is_open, "due_at"]
    late = (moment - due).dt.total_seconds() / 86400  # NaN without a deadline
    overdue = due.notna() & (due < moment)
    return {
        "age_0_1": int((age <= 1).sum()),
        "age_1_3": int(((age > 1) & (age <= 3)).sum()),
        "age_3_7": int(((age > 3) & (age <= 7)).sum()),
        "age_7_30": int(((age > 7) & (age <= 30)).sum()),
        "age_30": int((age > 30).sum()),
        "not_overdue": int((~overdue).sum()),
        "overdue_0_1": int((overdue & (late <= 1)).sum()),
        "overdue_1_7": int((overdue & (late > 1) & (late <= 7)).sum()),
        "overdue_7_30": int((overdue & (late > 7) & (late <= 30)).sum()),
        "overdue_30": int((overdue & (late > 30)).sum()),
    }
