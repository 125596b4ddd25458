"""Drill-down for territorial department heads: direction → municipality → organisation →
building → request, each level a ranked table of the level below with the KPIs of ARCHITECTURE.md §3,
plus an organisation's card, a request's card and search.

The scope is the shared `Filters` (direction, municipality and organisation are the drill path's
first three steps, so every page follows the drill-down) plus a building, which only this page has.
Children always add up to their parent: requests with no organisation or building are a row of
their own (child_id None).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

import pandas as pd

from oversight import privacy, store
from oversight.analysis import metrics
from oversight.filters import Filters, ascii_digits

# The rows each level lists; "region" is the top (no direction chosen).
LEVELS = ("territory", "municipality", "organization", "building", "request")
TABLE_LEVELS = ("territory", "municipality", "organization", "building", "category")
COUNT_COLUMNS = ("created", "closed", "due", "missed", "backlog_end", "overdue_backlog_end")
REQUEST_LIMIT = 500
OVERDUE_LIMIT = 50  # an organisation's open overdue requests on its card, oldest first


@dataclass(frozen=True)
class Path:
    """Where the user is: the chosen direction, municipality, organisation, building and request."""

    territory_id: int | None = None
    municipality_id: int | None = None
    organization_id: int | None = None
    building_id: int | None = None
    ticket_id: int | None = None

    @classmethod
    def from_filters(cls, filters: Filters, building_id: int | None = None, ticket_id: int | None = None) -> Path:
        return cls(filters.territory_id, filters.municipality_id, filters.organization_id, building_id, ticket_id)

    @property
    def level(self) -> str:
        """The deepest step chosen: 'region', 'territory', …, 'building' or 'request'."""
        for name, value in (("request", self.ticket_id), ("building", self.building_id),
                            ("organization", self.organization_id), ("municipality", self.municipality_id),
                            ("territory", self.territory_id)):
            if value is not None:
                return name
        return "region"

    @property
    def child_level(self) -> str | None:
        """The level the ranked table lists (None on a request's card)."""
        order = ("region", *LEVELS)
        index = order.index(self.level)
        return order[index + 1] if index + 1 < len(order) else None


def _check_level(level: str) -> None:
    if level not in TABLE_LEVELS:
        raise ValueError(f"level must be one of {TABLE_LEVELS}")


def _org_daily(con, filters: Filters, as_of: dt.datetime, level: str, building_id: int | None) -> bool:
    """Whether the organisations' table can be summed from org_daily_counts (no category, source or
    building chosen, and the table built for this as_of) instead of grouped from the ticket rows."""
    return level == "organization" and building_id is None and metrics.uses_org_daily_counts(con, filters, as_of)


def children(con, filters: Filters, as_of: dt.datetime, level: str, building_id: int | None = None) -> pd.DataFrame:
    """The ranked table: one row per child at `level` inside the scope, worst first.

    Directions and municipalities are listed even with no requests (zeros); organisations,
    buildings and categories only when they had any. Columns: child_id, name_ru, name_en, inn, kind,
    territory_id, municipality_id, the counts of COUNT_COLUMNS, on_time_rate, median_resolution_hours,
    returned_share, rank (see `ranked`)."""
    _check_level(level)
    params = filters.params(as_of)
    params = {**params, "level": level, "building_id": building_id}
    if _org_daily(con, filters, as_of, level, building_id):
        counts = store.run(con, "drill_children_daily", **params)
        medians = store.run(con, "drill_medians", **params)
        counts = counts.merge(medians, on="child_id", how="left")
    else:
        counts = store.run(con, "drill_children", **params)
    # Names change only with the data: read once per connection (27k buildings cost ~30 ms a time).
    labels = store.attachment(con, f"drill_labels:{level}", lambda c: store.run(c, "drill_labels", level=level))
    if level in ("territory", "municipality"):  # every area in scope, with or without requests
        if filters.territory_id is not None:
            labels = labels[labels["territory_id"] == filters.territory_id]
        if filters.municipality_id is not None and level == "municipality":
            labels = labels[labels["child_id"] == filters.municipality_id]
        table = labels.merge(counts, on="child_id", how="left")
    else:
        table = counts.merge(labels, on="child_id", how="left")
    for column in COUNT_COLUMNS + ("closed_returned",):
        table[column] = table[column].fillna(0).astype("int64")
    table["on_time_rate"] = 1.0 - table["missed"] / table["due"].where(table["due"] > 0)
    table["returned_share"] = table["closed_returned"] / table["closed"].where(table["closed"] > 0)
    table["child_id"] = table["child_id"].astype("Int64")
    table = ranked(table)
    columns = ["child_id", "name_ru", "name_en", "inn", "kind", "territory_id", "municipality_id", "apartments",
               *COUNT_COLUMNS, "on_time_rate", "median_resolution_hours", "returned_share", "rank"]
    return table[columns].reset_index(drop=True)


# What makes a row worse, in order: more missed deadlines; with as many, a lower on-time rate (1 missed
# of 2 due is worse than 1 of 20; nothing due counts last); then more requests open past their deadline.
RANK_KEYS = (("missed", False), ("on_time_rate", True), ("overdue_backlog_end", False))


def ranked(table: pd.DataFrame) -> pd.DataFrame:
    """The rows worst first by RANK_KEYS, with `rank`: 1 + the number of rows strictly worse, so rows
    equal on every key share a rank and the next rank skips (1, 2, 2, 4). Volume and then the id
    only fix the order of equal rows (DuckDB returns groups in no fixed order; a table must not
    reshuffle)."""
    names = [key for key, _ in RANK_KEYS]
    order = table.sort_values(
        [*names, "created", "child_id"], ascending=[*(asc for _, asc in RANK_KEYS), False, True],
        kind="stable", na_position="last",
    ).copy()
    # A rate that is missing (nothing due) sorts last and equals another missing one.
    keys = order[names].astype(float).fillna(float("inf")).to_numpy()
    changed = [True] + [bool((keys[i] != keys[i - 1]).any()) for i in range(1, len(keys))]
    rank, current = [], 0
    for position, new_group in enumerate(changed, start=1):
        current = position if new_group else current
        rank.append(current)
    order["rank"] = pd.Series(rank, index=order.index, dtype="int64")
    return order


def days_late(hours) -> float | None:
    """Hours past a deadline as days (what users mean by «просрочка»); None stays None."""
    return None if hours is None or pd.isna(hours) else float(hours) / 24.0


def requests(con, filters: Filters, as_of: dt.datetime, building_id: int | None = None,
             limit: int = REQUEST_LIMIT) -> pd.DataFrame:
    """The requests of the scope that matter for the period, worst first (the building level)."""
    return store.run(con, "drill_requests", **{**filters.params(as_of), "building_id": building_id, "limit": limit})


def scope_kpis(con, filters: Filters, as_of: dt.datetime, building_id: int | None = None) -> dict:
    """The KPIs of the current scope. With a building chosen, its children table's one row (the
    shared KPI functions have no building filter); otherwise metrics.kpis."""
    if building_id is None:
        return metrics.kpis(con, filters, as_of)
    row = children(con, filters, as_of, "building", building_id)
    if row.empty:
        return {key: 0 if key in COUNT_COLUMNS else None for key in metrics.KPI_KEYS}
    return {key: None if pd.isna(value) else value for key, value in row.iloc[0][list(metrics.KPI_KEYS)].items()}


def building_trend(con, filters: Filters, as_of: dt.datetime, building_id: int) -> pd.DataFrame:
    """metrics.kpi_trend for one building inside the scope."""
    return metrics.kpi_trend(con, filters, as_of, building_id=building_id)


def organization_card(con, filters: Filters, as_of: dt.datetime, organization_id: int, own_kpis: bool = True) -> dict:
    """An organisation: its facts, its KPIs beside its direction's and the region's, its worst
    categories and its open overdue requests, oldest deadline first. own_kpis=False leaves the
    organisation's own KPIs out (the page has them already from its KPI cards)."""
    facts = store.run(con, "organization_card", organization_id=organization_id)
    if facts.empty:
        raise KeyError(organization_id)
    info = facts.iloc[0].to_dict()
    own = replace(filters, organization_id=organization_id)
    territory = filters.territory_id
    comparison = {"organization": metrics.kpis(con, own, as_of)} if own_kpis else {}
    if territory is not None:
        comparison["territory"] = metrics.kpis(
            con, replace(filters, municipality_id=None, organization_id=None), as_of)
    comparison["region"] = metrics.kpis(
        con, replace(filters, territory_id=None, municipality_id=None, organization_id=None), as_of)
    categories = children(con, own, as_of, "category")
    worst = categories[categories["missed"] > 0].head(5)
    overdue = store.run(con, "open_overdue", **{**own.params(as_of), "limit": OVERDUE_LIMIT})
    overdue["days_late"] = overdue["hours_late"] / 24.0
    return {"info": info, "kpis": comparison, "worst_categories": worst, "open_overdue": overdue}


def reconcile(con, path: Path) -> tuple[Path, list[str]]:
    """The place a link asks for, made consistent with the data: a request is shown under its own
    building, organisation, municipality and direction (a link naming others showed it under the
    wrong ones); a building under its own municipality and direction, and under the link's
    organisation only if that organisation has requests in it. Returns the path to show and the
    link's fields that were wrong ([] when it was consistent). Ids the scope cannot see are left
    for the caller's refusal."""
    asked = {"territory_id": path.territory_id, "municipality_id": path.municipality_id,
             "organization_id": path.organization_id, "building_id": path.building_id}
    if path.ticket_id is not None:
        rows = store.run(con, "ticket_card", ticket_id=path.ticket_id)
        if rows.empty:
            return path, []
        actual = {k: _id(rows.iloc[0][k]) for k in asked}
    elif path.building_id is not None:
        rows = store.run(con, "building_place", building_id=path.building_id, organization_id=path.organization_id)
        if rows.empty:
            return path, []
        row = rows.iloc[0]
        organization = path.organization_id if bool(row["organization_has_requests"]) else _id(row["organization_id"])
        actual = {"territory_id": _id(row["territory_id"]), "municipality_id": _id(row["municipality_id"]),
                  "organization_id": organization, "building_id": path.building_id}
    else:
        return path, []
    wrong = [k for k, v in asked.items() if v is not None and v != actual[k]]
    if not wrong:
        return path, []
    return Path(**actual, ticket_id=path.ticket_id), wrong


def place(con, path: Path) -> Path:
    """The full place of a request or a building: the steps above it that the path leaves out filled in
    from the data (a request's building, organisation, municipality and direction; a building's
    municipality and direction), so the breadcrumbs show the whole way to it and
    each step can be gone back to. Steps the path names are kept (`reconcile` corrects wrong ones).
    Read through the caller's connection: a place the scope cannot see is not filled."""
    if path.ticket_id is not None:
        rows = store.run(con, "ticket_card", ticket_id=path.ticket_id)
        if rows.empty:
            return path
        found = {k: _id(rows.iloc[0][k]) for k in ("territory_id", "municipality_id", "organization_id", "building_id")}
    elif path.building_id is not None:
        rows = store.run(con, "building_place", building_id=path.building_id, organization_id=path.organization_id)
        if rows.empty:
            return path
        # Not its organisation: a building's requests may be other organisations' (a resource supplier's),
        # and naming one would hide the others.
        found = {k: _id(rows.iloc[0][k]) for k in ("territory_id", "municipality_id")}
    else:
        return path
    filled = {k: v for k, v in found.items() if getattr(path, k) is None and v is not None}
    return replace(path, **filled) if filled else path


def _id(value) -> int | None:
    return None if value is None or pd.isna(value) else int(value)


def request_card(con, ticket_id: int, as_of: dt.datetime, lang: str = "ru") -> dict | None:
    """A request: its facts, its text with personal data masked, its timeline and how late it is."""
    rows = store.run(con, "ticket_card", ticket_id=ticket_id)
    if rows.empty:
        return None
    card = rows.iloc[0].to_dict()
    # Masked by store.run (in Russian): the placeholders in the page's language.
    text = card.pop("description")
    card["description"] = privacy.localise(text, lang) if isinstance(text, str) else ""
    card["address"] = privacy.localise(card["address"], lang)
    returns = store.run(con, "ticket_returns_of", ticket_id=ticket_id)["returned_at"].tolist()
    card["timeline"] = timeline(card, returns)
    card["returns_dated"] = len(returns)
    card["hours_late"] = hours_late(card["due_at"], card["closed_at"], as_of)
    return card


def timeline(card: dict, returns: list) -> list[tuple[str, object]]:
    """A request's events in time order: created, deadline, each dated return for rework, closed."""
    events = [("created", card["created_at"])]
    if pd.notna(card["due_at"]):
        events.append(("due", card["due_at"]))
    events += [("returned", moment) for moment in returns]
    if pd.notna(card["closed_at"]):
        events.append(("closed", card["closed_at"]))
    events.sort(key=lambda item: item[1])
    return events


def hours_late(due_at, closed_at, as_of: dt.datetime) -> float | None:
    """How many hours past the deadline: at closing, or now (as_of) while open; 0 when on time;
    None without a deadline."""
    if due_at is None or pd.isna(due_at):
        return None
    end = pd.Timestamp(as_of) if closed_at is None or pd.isna(closed_at) else pd.Timestamp(closed_at)
    return max(0.0, (end - pd.Timestamp(due_at)).total_seconds() / 3600.0)


def search_words(text: str) -> list[str]:
    """What search compares: the words of the query, lower case, ё as е. Each must appear (in any
    order), so «надежный мытищи» finds «УК Надёжный дом (Мытищи)»."""
    return str(text).lower().replace("ё", "е").split()


def search(con, text: str, limit: int = 20) -> dict[str, pd.DataFrame]:
    """Organisations by name or INN, buildings by address, a request by its number."""
    words = search_words(text)
    if len("".join(words)) < 2:
        empty = pd.DataFrame()
        return {"organizations": empty, "buildings": empty, "requests": empty}
    found = {
        "organizations": store.run(con, "search_organizations", words=words, limit=limit),
        "buildings": store.run(con, "search_buildings", words=words, limit=limit),
    }
    digits = text.strip().lstrip("№#").strip()
    # A request's place comes with it, so opening it from search also sets the breadcrumbs.
    found["requests"] = (store.run(con, "ticket_card", ticket_id=int(digits))
                         if ascii_digits(digits) and len(digits) < 19 else pd.DataFrame())
    return found
