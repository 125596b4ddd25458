"""Good and poor examples for seminar presenters (issue #8): which organisations to show, and what
to show of them.

The organisations come from the fair ranking (oversight.analysis.fairness: the empirical-Bayes interval's
bound, a minimum volume), never from a bare share. For each: its profile, its KPIs beside its
direction's and the region's, its on-time rate over time beside its direction's, and a few concrete
requests whose deadline fell in the period: for a good example fast, done right first time and well
rated; for a poor one missed, returned for rework again and again and badly rated. Each request comes
with its timeline and its text, personal data masked (oversight.privacy via drill.request_card).
"""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

import pandas as pd

from oversight import privacy, store
from oversight.analysis import drill, fairness, metrics
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


def requests_shown(con, filters: Filters, as_of: dt.datetime, organization_id: int, kind: str, lang: str = "ru",
                   limit: int = REQUESTS_SHOWN) -> list[dict]:
    """The chosen requests as cards: their facts, the text with personal data masked, the timeline
    (created, deadline, each dated return, closed) and how late they were."""
    rows = example_requests(con, filters, as_of, organization_id, kind, limit)
    returns = store.run(con, "ticket_returns_of_many", ticket_ids=[int(i) for i in rows["ticket_id"]])
    by_ticket = returns.groupby("ticket_id")["returned_at"].apply(list).to_dict() if len(returns) else {}
    cards = []
    for card in rows.to_dict("records"):
        dated = by_ticket.get(card["ticket_id"], [])
        # Masked by store.run (in Russian): the placeholders in the page's language.
        text = card["description"]
        card["description"] = privacy.localise(text, lang) if isinstance(text, str) else ""
        card["address"] = privacy.localise(card.get("address"), lang)
        card["timeline"] = drill.timeline(card, dated)
        card["returns_dated"] = len(dated)
        cards.append(card)
    return cards


def direction_summary(con, filters: Filters, as_of: dt.datetime, territory_id: int) -> dict:
    """A direction's KPIs and on-time trend, for the comparison on an example card."""
    scope = replace(filters, territory_id=territory_id, municipality_id=None, organization_id=None)
    return {"kpis": metrics.kpis(con, scope, as_of), "trend": metrics.kpi_trend(con, scope, as_of, trend_bucket(filters), medians=False)}


def trend_bucket(filters: Filters) -> str:
    return "month" if filters.days > 62 else "week"


def example_card(con, filters: Filters, as_of: dt.datetime, row: pd.Series, kind: str, lang: str = "ru",
                 limit: int = REQUESTS_SHOWN, direction: dict | None = None) -> dict:
    """Everything a good or poor example card shows for one organisation (a row of
    fairness.organizations): facts, its KPIs beside its
    direction's, its on-time rate over time beside its direction's, and a few concrete requests
    with their timelines. `direction`: direction_summary of its direction, if already computed."""
    organization_id = int(row["organization_id"])
    own = replace(filters, organization_id=organization_id)
    facts = store.run(con, "organization_card", organization_id=organization_id)
    if facts.empty:
        raise KeyError(organization_id)
    territory = row.get("territory_id")
    if direction is None and territory is not None and not pd.isna(territory):
        direction = direction_summary(con, filters, as_of, int(territory))
    kpis = {"organization": metrics.kpis(con, own, as_of)}
    trend = {"organization": metrics.kpi_trend(con, own, as_of, trend_bucket(filters), medians=False)}
    if direction is not None:
        kpis["territory"], trend["territory"] = direction["kpis"], direction["trend"]
    return {
        "kind": kind,
        "organization": row.to_dict(),
        "info": facts.iloc[0].to_dict(),
        "kpis": kpis,
        "trend": trend,
        "requests": requests_shown(con, filters, as_of, organization_id, kind, lang, limit),
    }


def cards(con, filters: Filters, as_of: dt.datetime, chosen: dict[str, pd.Series | None], lang: str = "ru") -> dict[str, dict | None]:
    """The good and the poor example's cards, computed side by side (two threads; store.run takes a cursor per query:
    most of the time is DuckDB's, which releases the GIL); a shared direction is computed once."""
    territories = {int(row["territory_id"]) for row in chosen.values()
                   if row is not None and not pd.isna(row.get("territory_id"))}
    with ThreadPoolExecutor(max_workers=2) as pool:
        directions = {tid: pool.submit(direction_summary, con, filters, as_of, tid) for tid in territories}
        pending = {}
        for kind, row in chosen.items():
            if row is None:
                continue
            tid = row.get("territory_id")
            pending[kind] = pool.submit(_card_with, con, filters, as_of, row, kind, lang,
                                        None if tid is None or pd.isna(tid) else directions[int(tid)])
        return {kind: pending[kind].result() if kind in pending else None for kind in chosen}


def _card_with(con, filters, as_of, row, kind, lang, direction_future) -> dict:
    direction = direction_future.result() if direction_future is not None else None
    return example_card(con, filters, as_of, row, kind, lang, direction=direction)


def pick(assessed: pd.DataFrame) -> dict[str, pd.Series | None]:
    """The organisation to show as the good example and the one to show as the poor example: the
    first of fairness.best_and_worst, and only if the funnel agrees (below / above its limits), so a
    presenter never holds up an organisation whose difference may be noise."""
    best, worst = fairness.best_and_worst(assessed, n=len(assessed))
    good = best[best["verdict"] == "below"]
    poor = worst[worst["verdict"] == "above"]
    return {"good": good.iloc[0] if len(good) else None, "poor": poor.iloc[0] if len(poor) else None}
