"""Good and poor examples for seminar presenters (issue #8): which organisations to show, and what
to show of them.

The organisations come from the fair ranking (oversight.fairness: the empirical-Bayes interval's
bound, a minimum volume), never from a bare share. For each: its profile, its KPIs beside its
direction's and the region's, its on-time rate over time beside its direction's, and a few concrete
requests whose deadline fell in the period: for a good example fast, done right first time and well
rated; for a poor one missed, returned for rework again and again and badly rated. Each request comes
with its timeline and its text, personal data masked (oversight.privacy via drill.request_card).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pandas as pd

from oversight import drill, fairness, metrics, store
from oversight.filters import Filters

KINDS = ("good", "poor")
REQUESTS_SHOWN = 3


RANKINGS = {"good": ("good_rank",), "poor": ("late_rank", "returns_rank", "rating_rank")}


def example_requests(con, filters: Filters, as_of: dt.datetime, organization_id: int, kind: str,
                     limit: int = REQUESTS_SHOWN) -> pd.DataFrame:
    """The requests that show an organisation's work best (kind="good") or worst ("poor"), among
    those whose deadline fell in the period (queries/example_requests.sql ranks them).

    A good example is the best of one ranking. Poor examples take turns between three rankings (the
    latest, the most returned for rework, the worst rated), so together they show each way of
    failing rather than three of the same."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    params = {**replace(filters, organization_id=organization_id).params(as_of), "kind": kind, "limit": limit}
    candidates = store.run(con, "example_requests", **params)
    chosen: list[int] = []
    rankings = RANKINGS[kind]
    for turn in range(limit * len(rankings)):
        if len(chosen) == limit:
            break
        column = rankings[turn % len(rankings)]
        remaining = candidates[~candidates["ticket_id"].isin(chosen)].sort_values(column)
        if not remaining.empty:
            chosen.append(int(remaining["ticket_id"].iloc[0]))
    by_id = candidates.set_index("ticket_id")
    return by_id.loc[chosen].reset_index()


def _scopes(filters: Filters, territory_id) -> dict[str, Filters]:
    """The organisation inside the page's scope (the same requests the funnel counted), its
    direction, and the region."""
    wide = replace(filters, territory_id=None, municipality_id=None, organization_id=None)
    scopes = {}
    if territory_id is not None and not pd.isna(territory_id):
        scopes["territory"] = replace(wide, territory_id=int(territory_id))
    scopes["region"] = wide
    return scopes


def example_card(con, filters: Filters, as_of: dt.datetime, row: pd.Series, kind: str, lang: str = "ru",
                 limit: int = REQUESTS_SHOWN) -> dict:
    """Everything a good or poor example card shows for one organisation (a row of
    fairness.organizations): facts, KPIs beside its direction's and the region's, on-time rate over
    time (the organisation's and its direction's), and a few concrete requests with their timelines."""
    organization_id = int(row["organization_id"])
    own = replace(filters, organization_id=organization_id)
    facts = store.run(con, "organization_card", organization_id=organization_id)
    if facts.empty:
        raise KeyError(organization_id)
    scopes = _scopes(filters, row.get("territory_id"))
    kpis = {"organization": metrics.kpis(con, own, as_of)}
    kpis.update({name: metrics.kpis(con, scope, as_of) for name, scope in scopes.items()})
    bucket = "month" if filters.days > 62 else "week"
    trend = {"organization": metrics.kpi_trend(con, own, as_of, bucket, medians=False)}
    if "territory" in scopes:
        trend["territory"] = metrics.kpi_trend(con, scopes["territory"], as_of, bucket, medians=False)
    chosen = example_requests(con, filters, as_of, organization_id, kind, limit)
    requests = [drill.request_card(con, int(ticket), as_of, lang) for ticket in chosen["ticket_id"]]
    return {
        "kind": kind,
        "organization": row.to_dict(),
        "info": facts.iloc[0].to_dict(),
        "kpis": kpis,
        "trend": trend,
        "requests": [card for card in requests if card is not None],
        "request_rows": chosen,
    }


def pick(assessed: pd.DataFrame) -> dict[str, pd.Series | None]:
    """The organisation to show as the good example and the one to show as the poor example: the
    first of fairness.best_and_worst, and only if the funnel agrees (below / above its limits), so a
    presenter never holds up an organisation whose difference may be noise."""
    best, worst = fairness.best_and_worst(assessed, n=len(assessed))
    good = best[best["verdict"] == "below"]
    poor = worst[worst["verdict"] == "above"]
    return {"good": good.iloc[0] if len(good) else None, "poor": poor.iloc[0] if len(poor) else None}
