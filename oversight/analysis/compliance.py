"""Compliance (issue #9): the watchlist of organisations that regularly miss the deadlines of the
e-interaction agreement, and how deadlines that fall on weekends and holidays are kept.

The watchlist rule: an organisation is on the list when its monthly on-time rate was below the
target in at least K of the last M complete months. A month counts only if the organisation had at
least `min_volume` deadlines in it (fewer: neither failed nor passed), and the month of as_of is not
complete (left out). On-time rate = 1 − missed / due, as everywhere (ARCHITECTURE.md §3), by the
month in which the deadline fell. The counts come from org_due_daily (or the ticket rows with a
category or source chosen), so they are the Examples page's numbers month by month.

Weekends and holidays: every deadline is labelled by the kind of its day in the Russian production
calendar (holidays.RU): a working day (transferred working Saturdays included), a weekend, a public
holiday or transferred day off, and the New Year holidays (1–8 January) on their own.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from oversight import store, workcalendar
from oversight.analysis import fairness, metrics
from oversight.filters import Filters

DAY_KINDS = ("working", "weekend", "holiday", "new_year")
STATUSES = ("fail", "pass", "small")


@dataclass(frozen=True)
class Rule:
    k: int = 3
    m: int = 6
    target: float = 0.95
    min_volume: int = 30

    def problems(self) -> list[str]:
        """What is wrong with the rule, in words (empty when it can be applied)."""
        out = []
        if not 1 <= self.m <= 36:
            out.append("M must be between 1 and 36 months")
        if not 1 <= self.k <= self.m:
            out.append("K must be between 1 and M")
        if not 0 < self.target <= 1:
            out.append("the target must be above 0 and at most 1")
        if self.min_volume < 1:
            out.append("the minimum volume must be at least 1")
        return out


def _month_start(moment) -> dt.date:
    moment = pd.Timestamp(moment)
    return dt.date(moment.year, moment.month, 1)


def _add_months(month: dt.date, n: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + n
    return dt.date(index // 12, index % 12 + 1, 1)


def last_complete_month(as_of: dt.datetime) -> dt.date:
    """The latest calendar month that ended at or before as_of (the month of as_of is incomplete,
    unless as_of is its very first moment, when it has not begun)."""
    return _add_months(_month_start(as_of), -1)


def window(as_of: dt.datetime, m: int) -> list[dt.date]:
    """The first days of the last M complete months, oldest first."""
    last = last_complete_month(as_of)
    return [_add_months(last, -i) for i in range(m - 1, -1, -1)]


def monthly(con, filters: Filters, as_of: dt.datetime) -> pd.DataFrame:
    """Per organisation and complete month: deadlines due and missed (organisation_id, month, due,
    missed), inside the shared filters' scope (the period is not used: the rule looks back from as_of)."""
    params = {**filters.params(as_of), "stop": dt.datetime.combine(_add_months(last_complete_month(as_of), 1), dt.time())}
    frame = store.run(con, "org_due_monthly", rows=not _daily_answers(con, filters, as_of), **params)
    frame["month"] = pd.to_datetime(frame["month"]).dt.date
    return frame.astype({"organization_id": "int64", "due": "int64", "missed": "int64"})


def _daily_answers(con, filters: Filters, as_of: dt.datetime) -> bool:
    """Whether org_due_daily can give the complete months before as_of: no category or source chosen,
    and built at or after as_of. (A deadline in a month that ended by as_of was missed or kept the
    same way whenever one looks: closed after the deadline, or still open, is missed either way.)"""
    derived = metrics.derived_as_of(con)
    return filters.category_id is None and filters.source is None and derived is not None and derived >= as_of


def with_status(months: pd.DataFrame, rule: Rule) -> pd.DataFrame:
    """Add the on-time rate and each month's status: 'small' under the minimum volume (neither failed
    nor passed), 'fail' below the target, else 'pass'."""
    out = months.copy()
    out["on_time_rate"] = 1.0 - out["missed"] / out["due"].where(out["due"] > 0)
    out["status"] = np.where(out["due"] < rule.min_volume, "small",
                             np.where(out["on_time_rate"] < rule.target, "fail", "pass"))
    return out


def failed_months(data: pd.DataFrame, months: list[dt.date], rule: Rule) -> pd.Series:
    """The rule itself: per organisation on the list, how many of `months` it failed (at least K).
    `data` has organization_id, month and status (with_status); a month with no deadlines or under
    the minimum volume is not a failure."""
    recent = data[data["month"].isin(months) & (data["status"] == "fail")]
    failed = recent.groupby("organization_id").size()
    return failed[failed >= rule.k].astype("int64")


def _runs_on_list(fails: pd.DataFrame, rule: Rule) -> pd.DataFrame:
    """For each organisation (rows) over consecutive months (columns, 1 = failed): whether the rule
    held for the window ending at each month, and how many windows in a row it has held up to the
    last one (how long the organisation has been on the list) and since which month."""
    counts = fails.to_numpy()
    running = np.concatenate([np.zeros((len(counts), 1), dtype=np.int64), np.cumsum(counts, axis=1)], axis=1)
    ends = np.arange(1, counts.shape[1] + 1)
    in_window = running[:, ends] - running[:, np.maximum(ends - rule.m, 0)]  # failures in the M months up to each month
    qualifies = in_window >= rule.k
    months = list(fails.columns)
    run = np.zeros(len(fails), dtype=int)
    alive = np.ones(len(fails), dtype=bool)
    for j in range(len(months) - 1, -1, -1):
        alive &= qualifies[:, j]
        run += alive
    since = [months[len(months) - r] if r else None for r in run]
    return pd.DataFrame({"months_on_list": run, "on_list_since": since}, index=fails.index)


def watchlist(con, filters: Filters, as_of: dt.datetime, rule: Rule = Rule()) -> dict:
    """The organisations on the list, those that need action first (by_priority), with their
    monthly record.

    Returns {"months": the window's months, "list": one row per organisation (id, name, INN, kind,
    municipality and direction, months_failed, months_assessed, months_small, missed and due in the
    window, shortfall = deadlines missed beyond the target in the failed months, on_list_since,
    months_on_list, open_overdue, failing_now = below the target in the window's last month, the
    latest event that concerns it and whether the on-time rate improved after it), "record": per organisation and month: due, missed, on_time_rate, status}."""
    problems = rule.problems()
    if problems:
        raise ValueError("; ".join(problems))
    months = window(as_of, rule.m)
    data = with_status(monthly(con, filters, as_of), rule)
    recent = data[data["month"].isin(months)]
    failed = failed_months(data, months, rule)
    listed = failed.index
    record = recent[recent["organization_id"].isin(listed)].sort_values(["organization_id", "month"])
    if listed.empty:
        return {"months": months, "list": _empty_list(), "record": record}

    flags = record.assign(months_assessed=(record["status"] != "small").astype("int64"),
                          months_small=(record["status"] == "small").astype("int64"))
    summary = flags.groupby("organization_id")[["due", "missed", "months_assessed", "months_small"]].sum()
    summary["months_failed"] = failed.reindex(summary.index).astype("int64")
    fails = record[record["status"] == "fail"]
    summary["shortfall"] = (fails["missed"] - (1 - rule.target) * fails["due"]).groupby(fails["organization_id"]).sum()

    # How long on the list: the rule applied to every earlier window of the whole record.
    all_months = pd.date_range(min(data["month"]), months[-1], freq="MS").date
    history = data[data["organization_id"].isin(listed)]
    fail_matrix = (history.assign(f=(history["status"] == "fail").astype(int))
                   .pivot_table(index="organization_id", columns="month", values="f", aggfunc="sum", fill_value=0)
                   .reindex(columns=all_months, fill_value=0))
    summary = summary.join(_runs_on_list(fail_matrix, rule))

    overdue = store.run(con, "org_open_overdue", **filters.params(as_of)).set_index("organization_id")["open_overdue"]
    summary["open_overdue"] = overdue.reindex(summary.index).fillna(0).astype("int64")
    labels = fairness.organization_labels(con).set_index("child_id")
    summary = summary.join(labels[["name_ru", "inn", "kind", "municipality_id", "territory_id"]].rename(columns={"name_ru": "name"}))
    summary = summary.join(after_events(con, data, summary, as_of, rule))
    last = record[(record["month"] == months[-1]) & (record["status"] == "fail")]["organization_id"]
    summary["failing_now"] = summary.index.isin(last)
    return {"months": months, "list": by_priority(summary.reset_index()), "record": record}


PRIORITY = (("failing_now", False), ("months_failed", False), ("shortfall", False), ("open_overdue", False),
            ("organization_id", True))


def by_priority(listed: pd.DataFrame) -> pd.DataFrame:
    """The list in the order an inspector acts on it (#19): first those still below the target in
    the latest complete month (a breach going on now, not one already put right), then more months
    below the target, then the larger shortfall (deadlines missed beyond what the target allows: how
    many residents the breach touched), then more requests open past their deadline now. The order
    only; who is on the list is the rule's (failed_months)."""
    columns = [c for c, _ in PRIORITY]
    ordered = listed.sort_values(columns, ascending=[a for _, a in PRIORITY], kind="stable")
    return ordered.reset_index(drop=True)


LIST_COLUMNS = ("organization_id", "name", "inn", "kind", "municipality_id", "territory_id", "months_failed",
                "months_assessed", "months_small", "due", "missed", "shortfall", "months_on_list", "on_list_since",
                "open_overdue", "failing_now", "event_date", "event_kind", "event_title", "rate_before", "rate_after", "improved")


def _empty_list() -> pd.DataFrame:
    return pd.DataFrame({column: [] for column in LIST_COLUMNS})


def _month_index(months) -> np.ndarray:
    months = pd.to_datetime(pd.Series(months))
    return (months.dt.year * 12 + months.dt.month - 1).to_numpy()


def after_events(con, data: pd.DataFrame, listed: pd.DataFrame, as_of: dt.datetime, rule: Rule,
                 months_each_side: int = 3) -> pd.DataFrame:
    """For each listed organisation, the latest event before as_of that concerns it (an event for the
    organisation itself, for its municipality, or for the whole region) and its on-time rate in the
    complete months before the event's month and after it (up to three each side). `improved` is
    'yes' or 'no' (after above before or not), or 'too_early' when the months after the event hold
    fewer than min_volume deadlines, and None without an event."""
    events = store.run(con, "events_all")
    rollup = store.run(con, "municipality_current").set_index("municipality_id")["current_id"]
    events = events[pd.to_datetime(events["event_date"]) < pd.Timestamp(as_of)].copy()
    events["current_municipality"] = events["municipality_id"].map(rollup)
    orgs = pd.DataFrame({"organization_id": listed.index,
                         "home": listed["municipality_id"].map(rollup).to_numpy() if "municipality_id" in listed else np.nan})
    own = events[events["organization_id"].notna()].astype({"organization_id": "int64"})
    own = orgs.merge(own, on="organization_id")
    local = events[events["organization_id"].isna() & events["municipality_id"].notna()]
    local = orgs.merge(local.drop(columns="organization_id"), left_on="home", right_on="current_municipality")
    region = events[events["organization_id"].isna() & events["municipality_id"].isna()].drop(columns="organization_id")
    region = orgs.merge(region, how="cross")
    concerns = pd.concat([own, local, region], ignore_index=True)
    columns = ["event_date", "event_kind", "event_title", "rate_before", "rate_after", "improved"]
    if concerns.empty:
        return pd.DataFrame(index=listed.index, columns=columns, dtype=object)
    latest = (concerns.sort_values(["event_date", "event_id"], ascending=[False, False])
              .drop_duplicates("organization_id").set_index("organization_id"))
    event_month = pd.Series(_month_index(pd.to_datetime(latest["event_date"]).dt.to_period("M").dt.start_time),
                            index=latest.index)
    records = data[data["organization_id"].isin(latest.index)].copy()
    records["offset"] = _month_index(records["month"]) - records["organization_id"].map(event_month).to_numpy()
    last_offset = _month_index([last_complete_month(as_of)])[0] - records["organization_id"].map(event_month)
    before = records[(records["offset"] >= -months_each_side) & (records["offset"] < 0)]
    after = records[(records["offset"] > 0) & (records["offset"] <= months_each_side) & (records["offset"] <= last_offset)]
    sums_before = before.groupby("organization_id")[["due", "missed"]].sum().reindex(latest.index, fill_value=0)
    sums_after = after.groupby("organization_id")[["due", "missed"]].sum().reindex(latest.index, fill_value=0)
    out = pd.DataFrame(index=latest.index)
    out["event_date"] = pd.to_datetime(latest["event_date"]).dt.date
    out["event_kind"], out["event_title"] = latest["kind"], latest["title"]
    out["rate_before"] = 1.0 - sums_before["missed"] / sums_before["due"].where(sums_before["due"] > 0)
    out["rate_after"] = 1.0 - sums_after["missed"] / sums_after["due"].where(sums_after["due"] > 0)
    enough = (sums_after["due"] >= rule.min_volume) & out["rate_before"].notna()
    out["improved"] = np.where(~enough, "too_early", np.where(out["rate_after"] > out["rate_before"], "yes", "no"))
    return out.reindex(listed.index)[columns]


def _rate(months: pd.DataFrame) -> float | None:
    due = months["due"].sum()
    return None if due == 0 else 1.0 - months["missed"].sum() / due


# ---------------------------------------------------------------- weekends and holidays


def day_kinds(first: dt.date, last: dt.date, country: str = "RU") -> pd.Series:
    """The kind of every day first..last in the Russian production calendar: 'working' (transferred
    working Saturdays included), 'new_year' (days off from 1 to 8 January), 'holiday' (other public
    holidays, and weekdays made days off by a transfer), 'weekend' (an ordinary Saturday or Sunday)."""
    days, working, holiday = workcalendar.day_table(first, last, country)
    dates = pd.to_datetime(days)
    weekend = dates.day_of_week >= 5
    # The New Year holidays are a Russian institution; elsewhere 1 January is a holiday like any other.
    new_year = (dates.month == 1) & (dates.day <= 8) & ~working & (country == "RU")
    kind = np.where(working, "working", np.where(new_year, "new_year", np.where(holiday | ~weekend, "holiday", "weekend")))
    return pd.Series(kind, index=dates.date)


def calendar_of(con) -> str:
    """The country whose calendar labels the days: the dataset's (set by the import profile), RU
    for the ЕДС's data and the demo."""
    value = store.dataset_info(con).get("calendar")
    return "RU" if value is None or pd.isna(value) or not str(value).strip() else str(value)


def weekends(con, filters: Filters, as_of: dt.datetime, min_volume: int = 30) -> dict:
    """Deadlines kept and missed by the kind of day they fell on, for the period and the filters:
    the region, each direction, municipality and organisation, and the organisations whose weekend
    and holiday work is worst against their own working days.

    Returns {"region", "territory", "municipality", "organization": rows per area and day kind with
    due, missed, on_time_rate; "gap": per organisation, the share missed on days off (weekends,
    holidays, New Year) and on working days, the difference with its 95 % interval (Newcombe), worst
    first by the interval's lower end, among those with min_volume deadlines of each kind}."""
    kinds = day_kinds(filters.start, filters.end, calendar_of(con))
    rows = store.run(con, "deadlines_by_day_kind", rows=not metrics.uses_org_daily_counts(con, filters, as_of),
                     days=list(kinds.index), kinds=kinds.tolist(), **filters.params(as_of))
    out = {}
    for level, column in (("region", None), ("territory", "territory_id"), ("municipality", "current_municipality_id"),
                          ("organization", "organization_id")):
        keys = [column] if column else []
        part = rows.loc[rows["level"] == level, keys + ["day_kind", "due", "missed"]]
        if column:
            part = part.dropna(subset=[column]).astype({column: "int64"})
        part = part.astype({"due": "int64", "missed": "int64"}).sort_values(keys + ["day_kind"]).reset_index(drop=True)
        part["on_time_rate"] = 1.0 - part["missed"] / part["due"].where(part["due"] > 0)
        out[level] = part
    out["gap"] = weekend_gap(out["organization"], min_volume)
    return out


def weekend_gap(by_kind: pd.DataFrame, min_volume: int) -> pd.DataFrame:
    """Per organisation: share missed on days off against working days, the difference and its
    95 % interval (Newcombe's hybrid score, statsmodels); worst first by the interval's lower end,
    so an organisation with few weekend deadlines is not at the top by chance."""
    from statsmodels.stats.proportion import confint_proportions_2indep

    off = by_kind[by_kind["day_kind"] != "working"].groupby("organization_id")[["due", "missed"]].sum()
    work = by_kind[by_kind["day_kind"] == "working"].groupby("organization_id")[["due", "missed"]].sum()
    table = off.add_suffix("_off").join(work.add_suffix("_working"), how="inner")
    table = table[(table["due_off"] >= min_volume) & (table["due_working"] >= min_volume)].copy()
    if table.empty:
        return table.assign(share_off=[], share_working=[], difference=[], low=[], high=[]).reset_index()
    table["share_off"] = table["missed_off"] / table["due_off"]
    table["share_working"] = table["missed_working"] / table["due_working"]
    table["difference"] = table["share_off"] - table["share_working"]
    low, high = confint_proportions_2indep(table["missed_off"].to_numpy(), table["due_off"].to_numpy(),
                                           table["missed_working"].to_numpy(), table["due_working"].to_numpy(),
                                           method="newcomb", compare="diff", alpha=0.05)
    table["low"], table["high"] = low, high
    table = table.reset_index().sort_values(["low", "organization_id"], ascending=[False, True], kind="stable")
    return table.reset_index(drop=True)
