"""Before-and-after comparisons of missed deadlines, honestly (issue #7).

Counts are compared per day, so periods of unequal length compare fairly. Next to the raw change:
- a rate ratio with a 95 % interval from a quasi-Poisson model of the daily counts (statsmodels GLM,
  Poisson family with the scale estimated from Pearson's chi-square): day-to-day variation beyond
  Poisson (weekdays, holidays, bursts) widens the interval instead of being ignored;
- difference-in-differences: the treated municipalities against the untreated ones over the same
  days, with a fixed effect per day, so a region-wide trend or season is not credited to the event.

Definitions are those of ARCHITECTURE.md §3: a deadline counts on the day it falls (`due`), and is
missed if the request was still open then or closed late. Only whole days before as_of are used.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from oversight import metrics, store
from oversight.filters import Filters
from oversight.i18n import fmt_number, t

Z95 = 1.959963984540054
MIN_DAYS = 28  # shorter periods get a warning
MIN_COUNT = 30  # fewer missed deadlines than this in a period: a warning
CONTROL_MOVED = 0.15  # the comparison group changed by more than this: a warning


@dataclass(frozen=True)
class Periods:
    """The two periods compared, whole days, inclusive."""

    before_start: dt.date
    before_end: dt.date
    after_start: dt.date
    after_end: dt.date

    def __post_init__(self):
        if self.before_end < self.before_start or self.after_end < self.after_start:
            raise ValueError("a period ends before it starts")
        if self.after_start <= self.before_end:
            raise ValueError("the 'after' period must begin after the 'before' period ends")

    @classmethod
    def around(cls, event_date: dt.date, days: int = 90) -> Periods:
        """`days` before the event day and `days` after it (the event day itself in neither)."""
        one = dt.timedelta(days=1)
        return cls(event_date - days * one, event_date - one, event_date + one, event_date + days * one)


def daily(con, filters: Filters, as_of: dt.datetime, periods: Periods) -> pd.DataFrame:
    """Day × municipality: due and missed, for both periods (column `after`), whole days before as_of."""
    span = replace(filters, start=periods.before_start, end=periods.after_end)
    rows = store.run(con, "compare_daily", rows=not metrics.uses_daily_counts(con, filters, as_of), **span.params(as_of))
    day = rows["day"].dt.date
    in_before = (day >= periods.before_start) & (day <= periods.before_end)
    in_after = (day >= periods.after_start) & (day <= periods.after_end)
    rows = rows[in_before | in_after].copy()
    rows["after"] = in_after[in_before | in_after].to_numpy()
    return rows.reset_index(drop=True)


def _quasi_poisson(y: np.ndarray, design: np.ndarray, term: int) -> tuple[float, float, float]:
    """exp(coefficient `term`) and its 95 % interval from a Poisson GLM with Pearson-estimated scale."""
    import statsmodels.api as sm

    fit = sm.GLM(y, design, family=sm.families.Poisson()).fit(scale="X2")
    beta, se = float(fit.params[term]), float(fit.bse[term])
    return math.exp(beta), math.exp(beta - Z95 * se), math.exp(beta + Z95 * se)


def rate_ratio(before: np.ndarray, after: np.ndarray) -> dict:
    """Missed per day after / before, with a 95 % interval that allows for over-dispersion.
    None where either period has no missed deadline at all (no ratio to speak of)."""
    before, after = np.asarray(before, dtype=float), np.asarray(after, dtype=float)
    out = {"before_per_day": before.mean() if len(before) else None, "after_per_day": after.mean() if len(after) else None,
           "ratio": None, "low": None, "high": None}
    if not len(before) or not len(after) or before.sum() == 0 or after.sum() == 0:
        return out
    y = np.concatenate([before, after])
    design = np.column_stack([np.ones(len(y)), np.r_[np.zeros(len(before)), np.ones(len(after))]])
    out["ratio"], out["low"], out["high"] = _quasi_poisson(y, design, 1)
    return out


def difference_in_differences(frame: pd.DataFrame, treated: set[int]) -> dict:
    """Ratio of the treated municipalities' after/before rate to the others', with a fixed effect per
    day (whatever hit every municipality that day cancels) and a 95 % quasi-Poisson interval."""
    group = frame.assign(treated=frame["municipality_id"].isin(treated)).groupby(["day", "treated"], as_index=False).agg(
        missed=("missed", "sum"), after=("after", "first"))
    return _did(group)


def _did(group: pd.DataFrame) -> dict:
    """The difference-in-differences model on a long frame: day, treated (bool), missed, after."""
    if group["treated"].nunique() < 2 or group.groupby("treated")["missed"].sum().min() == 0:
        return {"ratio": None, "low": None, "high": None}
    days = pd.get_dummies(group["day"], dtype=float).to_numpy()
    treated_col = group["treated"].to_numpy(dtype=float)
    interaction = treated_col * group["after"].to_numpy(dtype=float)
    design = np.column_stack([days, treated_col, interaction])
    ratio, low, high = _quasi_poisson(group["missed"].to_numpy(dtype=float), design, design.shape[1] - 1)
    return {"ratio": ratio, "low": low, "high": high}


def _summary(missed: np.ndarray, due: np.ndarray, after: np.ndarray) -> dict:
    """Raw figures of one group from its daily series: missed per day and on-time rate before and
    after, the change, and the rate ratio's interval."""
    rr = rate_ratio(missed[~after], missed[after])

    def on_time(mask):
        total = due[mask].sum()
        return 1.0 - missed[mask].sum() / total if total else None

    return {
        "days_before": int((~after).sum()), "days_after": int(after.sum()),
        "missed_before": int(missed[~after].sum()), "missed_after": int(missed[after].sum()),
        "due_before": int(due[~after].sum()), "due_after": int(due[after].sum()),
        "missed_per_day_before": rr["before_per_day"], "missed_per_day_after": rr["after_per_day"],
        "change": None if rr["ratio"] is None else rr["ratio"] - 1.0,
        "ratio": rr["ratio"], "low": rr["low"], "high": rr["high"],
        "on_time_before": on_time(~after), "on_time_after": on_time(after),
    }


def _current(con, municipalities) -> set[int]:
    """A historical municipality (an event recorded for Krasnoarmeysk) is measured as today's successor."""
    rollup = store.run(con, "municipality_current").set_index("municipality_id")["current_id"]
    return {int(rollup.get(m, m)) for m in (municipalities or [])}


def _organizations_daily(con, filters: Filters, as_of: dt.datetime, periods: Periods, organizations) -> pd.DataFrame:
    """Day: due and missed of the organisations' requests (inside the filters)."""
    parts = [daily(con, replace(filters, organization_id=int(o)), as_of, periods) for o in organizations]
    return pd.concat(parts).groupby("day")[["due", "missed"]].sum()


def compare(con, filters: Filters, as_of: dt.datetime, periods: Periods, treated: list[int] | None = None,
            organizations: list[int] | None = None) -> dict:
    """The whole comparison: the region (the filters' scope), the treated group with the
    difference-in-differences against the rest, each direction and each municipality, and warnings.
    The treated group is the chosen organisations' requests if any are given (an inspection, a fine),
    else the chosen municipalities (a seminar)."""
    frame = daily(con, filters, as_of, periods)
    treated_set = _current(con, treated)
    # Day × municipality matrices: every group's daily series is a sum of columns.
    missed = frame.pivot(index="day", columns="municipality_id", values="missed")
    due = frame.pivot(index="day", columns="municipality_id", values="due")
    after = frame.groupby("day")["after"].first().reindex(missed.index).to_numpy(dtype=bool)
    territory = frame.drop_duplicates("municipality_id").set_index("municipality_id")["territory_id"]

    def group(columns) -> dict:
        return _summary(missed[columns].to_numpy().sum(axis=1), due[columns].to_numpy().sum(axis=1), after)

    all_columns = list(missed.columns)
    result = {"periods": periods, "region": group(all_columns)}
    if organizations:
        org = _organizations_daily(con, filters, as_of, periods, organizations).reindex(missed.index, fill_value=0)
        rest_missed = missed.to_numpy().sum(axis=1) - org["missed"].to_numpy()
        rest_due = due.to_numpy().sum(axis=1) - org["due"].to_numpy()
        result["treated"] = _summary(org["missed"].to_numpy(), org["due"].to_numpy(), after)
        result["control"] = _summary(rest_missed, rest_due, after)
        days = np.asarray(missed.index)
        result["did"] = _did(pd.DataFrame({
            "day": np.r_[days, days], "treated": np.r_[np.ones(len(days), bool), np.zeros(len(days), bool)],
            "missed": np.r_[org["missed"].to_numpy(), rest_missed], "after": np.r_[after, after]}))
    elif treated_set:
        inside = [c for c in all_columns if c in treated_set]
        outside = [c for c in all_columns if c not in treated_set]
        result["treated"] = group(inside)
        result["control"] = group(outside)
        result["did"] = difference_in_differences(frame, treated_set)
    result["by_territory"] = pd.DataFrame(
        [{"territory_id": int(tid), **group(list(ids.index))} for tid, ids in territory.groupby(territory)])
    result["by_municipality"] = pd.DataFrame(
        [{"municipality_id": int(mid), "territory_id": int(territory[mid]), **group([mid])} for mid in all_columns])
    result["warnings"] = cautions(result)
    return result


def cautions(result: dict) -> list[tuple[str, dict]]:
    """What makes the comparison shaky, as (i18n key, values): short periods, few missed deadlines,
    a comparison group that moved on its own."""
    out = []
    main = result.get("treated") or result["region"]
    if min(main["days_before"], main["days_after"]) < MIN_DAYS:
        out.append(("compare.warn.short", {"days": min(main["days_before"], main["days_after"]), "min": MIN_DAYS}))
    if min(main["missed_before"], main["missed_after"]) < MIN_COUNT:
        out.append(("compare.warn.small", {"n": min(main["missed_before"], main["missed_after"]), "min": MIN_COUNT}))
    control = result.get("control")
    if control and control["ratio"] is not None and abs(control["ratio"] - 1.0) > CONTROL_MOVED:
        out.append(("compare.warn.control_moved", {"change": control["ratio"] - 1.0}))
    return out


def interrupted_series(con, filters: Filters, as_of: dt.datetime, event_date: dt.date, treated: list[int],
                       weeks: int = 26, organizations: list[int] | None = None) -> dict:
    """Interrupted time series of the treated group's weekly missed deadlines around the event.

    Quasi-Poisson model: log(missed) = level + slope·week + step·after + slope change·weeks after,
    with the untreated municipalities' weekly count as an offset, so the season and the region-wide
    trend are accounted for by the comparison group. Returns the weekly table (week, treated,
    control, fitted, without_event: the fitted line with the step and slope change removed) and the
    step's ratio with its 95 % interval. Weeks run from the event day (week 0 starts on it)."""
    import statsmodels.api as sm

    start = event_date - dt.timedelta(weeks=weeks)
    end = min(event_date + dt.timedelta(weeks=weeks) - dt.timedelta(days=1), (as_of - dt.timedelta(days=1)).date())
    periods = Periods(start, event_date - dt.timedelta(days=1), event_date, end)
    frame = daily(con, filters, as_of, periods)
    by_day = frame.groupby("day")["missed"].sum().to_frame("total")
    if organizations:
        org = _organizations_daily(con, filters, as_of, periods, organizations)["missed"]
        by_day["treated"] = org.reindex(by_day.index, fill_value=0)
    else:
        inside = frame[frame["municipality_id"].isin(_current(con, treated))]
        by_day["treated"] = inside.groupby("day")["missed"].sum().reindex(by_day.index, fill_value=0)
    by_day["control"] = by_day["total"] - by_day["treated"]
    by_day["week"] = (pd.to_datetime(by_day.index) - pd.Timestamp(event_date)).days // 7
    weekly = by_day.groupby("week")[["treated", "control"]].sum()
    days_in_week = by_day.groupby("week").size()
    weekly = weekly[days_in_week.reindex(weekly.index) == 7]  # whole weeks only
    out = {"weekly": pd.DataFrame(), "step": {"ratio": None, "low": None, "high": None}}
    if "treated" not in weekly or "control" not in weekly or (weekly["control"] <= 0).any() or weekly["treated"].sum() == 0:
        return out
    week = weekly.index.to_numpy(dtype=float)
    after = (week >= 0).astype(float)
    design = np.column_stack([np.ones(len(week)), week, after, after * week])
    fit = sm.GLM(weekly["treated"].to_numpy(dtype=float), design, family=sm.families.Poisson(),
                 offset=np.log(weekly["control"].to_numpy(dtype=float))).fit(scale="X2")
    offset = np.log(weekly["control"].to_numpy(dtype=float))
    without = design.copy()
    without[:, 2:] = 0
    table = pd.DataFrame({
        "week_start": [event_date + dt.timedelta(weeks=int(w)) for w in week],
        "week": week.astype(int),
        "treated": weekly["treated"].to_numpy(),
        "control": weekly["control"].to_numpy(),
        "fitted": np.exp(design @ fit.params + offset),
        "without_event": np.exp(without @ fit.params + offset),
    })
    beta, se = float(fit.params[2]), float(fit.bse[2])
    out["weekly"] = table
    out["step"] = {"ratio": math.exp(beta), "low": math.exp(beta - Z95 * se), "high": math.exp(beta + Z95 * se)}
    return out


def change_map_values(result: dict, municipalities: pd.DataFrame, territories: pd.DataFrame) -> pd.DataFrame:
    """The per-municipality change in missed deadlines per day, shaped like heatmap.map_values (for
    charts.choropleth_map with metric 'change'): names, value, rank in the region and direction
    (1 = the largest rise)."""
    table = result["by_municipality"][["municipality_id", "territory_id", "change"]].copy()
    names = municipalities.rename(columns={"name_ru": "municipality_name_ru", "name_en": "municipality_name_en"})
    terr = territories.rename(columns={"name_ru": "territory_name_ru", "name_en": "territory_name_en"})
    rows = table.merge(names[["municipality_id", "municipality_name_ru", "municipality_name_en"]], on="municipality_id")
    rows = rows.merge(terr[["territory_id", "territory_name_ru", "territory_name_en"]], on="territory_id")
    rows["value"] = rows["change"].astype(float)
    rows["rank_region"] = rows["value"].rank(ascending=False, method="min")
    rows["rank_direction"] = rows.groupby("territory_id")["value"].rank(ascending=False, method="min")
    rows["in_region"] = rows["value"].notna().sum()
    rows["in_direction"] = rows.groupby("territory_id")["value"].transform(lambda v: v.notna().sum())
    return rows


def conclusion(result: dict, lang: str) -> str:
    """The plain-language conclusion: the raw change with its interval and, with a treated group,
    the change corrected for the region-wide trend (difference-in-differences)."""
    main = result.get("treated") or result["region"]
    if main["ratio"] is None:
        return t("compare.conclusion.none", lang)

    def pct(ratio):
        return fmt_number(abs(1.0 - ratio) * 100, lang)

    def phrase(ratio, low, high):
        direction = "less" if ratio < 1 else "more"
        lo, hi = sorted((abs(1 - low), abs(1 - high))) if (low - 1) * (high - 1) > 0 else (None, None)
        if lo is None:  # the interval crosses "no change"
            return t(f"compare.phrase.{direction}_uncertain", lang, pct=pct(ratio),
                     low=fmt_number(int(round((low - 1) * 100)), lang), high=fmt_number(int(round((high - 1) * 100)), lang))
        return t(f"compare.phrase.{direction}", lang, pct=pct(ratio), low=fmt_number(lo * 100, lang),
                 high=fmt_number(hi * 100, lang))

    text = t("compare.conclusion.raw", lang, phrase=phrase(main["ratio"], main["low"], main["high"]))
    did = result.get("did")
    if did and did["ratio"] is not None:
        text += " " + t("compare.conclusion.did", lang, phrase=phrase(did["ratio"], did["low"], did["high"]))
    return text
