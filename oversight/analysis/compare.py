"""Before-and-after comparisons of missed deadlines, honestly (issue #7).

Counts are compared per day, so periods of unequal length compare fairly. Next to the raw change:
- a rate ratio with a 95 % interval from a quasi-Poisson model of the daily counts (statsmodels GLM,
  Poisson family with the scale estimated from Pearson's chi-square): day-to-day variation beyond
  Poisson (weekdays, holidays, bursts) widens the interval instead of being ignored;
- difference-in-differences: the treated municipalities against the untreated ones over the same
  days, with a fixed effect per day, so a region-wide trend or season is not credited to the event.
Both models have closed forms (rate_ratio, _did), identical to the statsmodels fits and checked
against them in tests/test_compare.py; only the interrupted time series fits iteratively.

The verdict (`verdict`) is what the page colours the conclusion by: better or worse only when the
deciding interval excludes "no change", the difference-in-differences deciding whenever there is one.

Definitions are those of ARCHITECTURE.md §3: a deadline counts on the day it falls (`due`), and is
missed if the request was still open then or closed late. Only whole days before as_of are used.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from oversight import store
from oversight.analysis import metrics
from oversight.filters import Filters
from oversight.i18n import fmt_number, t

Z95 = 1.959963984540054
MIN_DAYS = 28  # shorter periods get a warning
MIN_COUNT = 30  # fewer missed deadlines than this in a period: a warning
CONTROL_MOVED = 0.15  # the comparison group changed by more than this: a warning
DEFAULT_DAYS = 90  # days either side of an event the page compares unless told otherwise


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
    day = rows["day"]  # compared as timestamps: as dates (Python objects) this took a tenth of a switch
    in_before = (day >= pd.Timestamp(periods.before_start)) & (day <= pd.Timestamp(periods.before_end))
    in_after = (day >= pd.Timestamp(periods.after_start)) & (day <= pd.Timestamp(periods.after_end))
    rows = rows[in_before | in_after].copy()
    rows["after"] = in_after[in_before | in_after].to_numpy()
    return rows.reset_index(drop=True)


def _pearson(observed: np.ndarray, fitted: np.ndarray) -> float:
    """Pearson's chi-square; a cell fitted at zero contributes nothing (it was observed at zero)."""
    observed, fitted = np.asarray(observed, dtype=float), np.asarray(fitted, dtype=float)
    positive = fitted > 0
    return float((((observed - fitted) ** 2)[positive] / fitted[positive]).sum())


def _interval(ratio: float, chi2: float, df: int, variance: float) -> dict:
    """The ratio with its 95 % quasi-Poisson interval: Var(log ratio) = scale · `variance` (the Poisson
    variance), scale = Pearson chi-square / residual degrees of freedom, as statsmodels'
    GLM(...).fit(scale="X2"). No interval when nothing is left to estimate the scale with."""
    if df <= 0:
        return {"ratio": ratio, "low": None, "high": None}
    se = math.sqrt(chi2 / df * variance)
    return {"ratio": ratio, "low": ratio * math.exp(-Z95 * se), "high": ratio * math.exp(Z95 * se)}


def rate_ratio(before: np.ndarray, after: np.ndarray) -> dict:
    """Missed per day after / before, with a 95 % interval that allows for over-dispersion.
    None where either period has no missed deadline at all (no ratio to speak of).

    The quasi-Poisson GLM log(mean) = a + b·after in closed form: its fitted values are the two
    periods' means, exp(b) their ratio, Var(b) = scale·(1/Σbefore + 1/Σafter) with scale = Pearson
    chi-square / (n − 2). The same numbers as statsmodels (tests/test_compare.py) without an iterative
    fit: the page makes one per municipality and direction, and the fits were most of an event switch."""
    before, after = np.asarray(before, dtype=float), np.asarray(after, dtype=float)
    out = {"before_per_day": before.mean() if len(before) else None, "after_per_day": after.mean() if len(after) else None,
           "ratio": None, "low": None, "high": None}
    if not len(before) or not len(after) or before.sum() == 0 or after.sum() == 0:
        return out
    mean_before, mean_after = before.mean(), after.mean()
    chi2 = _pearson(before, np.full(len(before), mean_before)) + _pearson(after, np.full(len(after), mean_after))
    out.update(_interval(mean_after / mean_before, chi2, len(before) + len(after) - 2,
                         1.0 / before.sum() + 1.0 / after.sum()))
    return out


def difference_in_differences(frame: pd.DataFrame, treated: set[int]) -> dict:
    """Ratio of the treated municipalities' after/before rate to the others', with a fixed effect per
    day (whatever hit every municipality that day cancels) and a 95 % quasi-Poisson interval."""
    group = frame.assign(treated=frame["municipality_id"].isin(treated)).groupby(["day", "treated"], as_index=False).agg(
        missed=("missed", "sum"), after=("after", "first"))
    return _did(group)


def _did(group: pd.DataFrame) -> dict:
    """The difference-in-differences model on a long frame: day, treated (bool), missed, after.

    The quasi-Poisson GLM log(mean) = day + treated + effect·treated·after, in closed form. With a
    fixed effect per day and two groups, the Poisson likelihood profiled over the days' effects is the
    binomial likelihood of the treated share of each day's total (a logistic model with one share
    before and one after), so: exp(effect) = (T_after / C_after) / (T_before / C_before) (treated T,
    the others C, missed summed over each period), Var(effect) = scale·(1/T_b + 1/T_a + 1/C_b + 1/C_a),
    fitted values = each day's total split by its period's share, scale = Pearson chi-square /
    (2·days − days − 2). Identical to statsmodels with a dummy per day (tests/test_compare.py), which
    took about a second per comparison at 180 days."""
    if group["treated"].nunique() < 2 or group.groupby("treated")["missed"].sum().min() == 0:
        return {"ratio": None, "low": None, "high": None}
    wide = group.pivot_table(index="day", columns="treated", values="missed", aggfunc="sum", fill_value=0)
    after = group.groupby("day")["after"].first().reindex(wide.index).to_numpy(dtype=bool)
    treated, control = wide[True].to_numpy(dtype=float), wide[False].to_numpy(dtype=float)
    t_before, t_after = treated[~after].sum(), treated[after].sum()
    c_before, c_after = control[~after].sum(), control[after].sum()
    if min(t_before, t_after, c_before, c_after) == 0:  # a group with nothing in a period: no ratio
        return {"ratio": None, "low": None, "high": None}
    share = np.where(after, t_after / (t_after + c_after), t_before / (t_before + c_before))
    total = treated + control
    chi2 = _pearson(treated, total * share) + _pearson(control, total * (1 - share))
    return _interval((t_after / c_after) / (t_before / c_before), chi2, len(total) - 2,
                     1 / t_before + 1 / t_after + 1 / c_before + 1 / c_after)


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
    # Day × municipality matrices: every group's daily series is a sum of columns (taken by position
    # from numpy arrays: selecting DataFrame columns ~70 times was most of what was left of a switch).
    missed = frame.pivot(index="day", columns="municipality_id", values="missed")
    due = frame.pivot(index="day", columns="municipality_id", values="due")
    after = frame.groupby("day")["after"].first().reindex(missed.index).to_numpy(dtype=bool)
    territory = frame.drop_duplicates("municipality_id").set_index("municipality_id")["territory_id"]
    missed_matrix, due_matrix = missed.to_numpy(), due.to_numpy()
    position = {column: i for i, column in enumerate(missed.columns)}

    def group(columns) -> dict:
        taken = [position[c] for c in columns]
        return _summary(missed_matrix[:, taken].sum(axis=1), due_matrix[:, taken].sum(axis=1), after)

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


def verdict(result: dict) -> str:
    """What the comparison says, for the colour of its conclusion: "better" (fewer missed deadlines,
    and the 95 % interval lies wholly below "no change"), "worse" (wholly above), "unclear" (the
    interval contains "no change": within chance) or "none" (nothing to compare). With a treated
    group the difference-in-differences decides, as the raw change also carries the region-wide
    trend; without one (or with no comparison possible) the raw change does."""
    main = result.get("treated") or result["region"]
    if main["ratio"] is None or main["low"] is None:
        return "none"
    did = result.get("did")
    deciding = did if did and did["ratio"] is not None and did["low"] is not None else main
    return _kind(deciding)


def _kind(estimate: dict) -> str:
    if estimate["high"] < 1.0:
        return "better"
    if estimate["low"] > 1.0:
        return "worse"
    return "unclear"


def conclusion(result: dict, lang: str) -> str:
    """The plain-language conclusion: the raw change with its interval and, with a treated group,
    the change corrected for the region-wide trend (difference-in-differences). When the two say
    different things (or the corrected one says nothing sure), a first sentence says which one the
    verdict rests on, so the text never reads as "13 % more … 0 % fewer" with nothing between."""
    main = result.get("treated") or result["region"]
    if main["ratio"] is None or main["low"] is None:
        return t("compare.conclusion.none", lang)

    def pct(ratio):
        return fmt_number(abs(1.0 - ratio) * 100, lang)

    def phrase(ratio, low, high):
        direction = "less" if ratio < 1 else "more"
        lo, hi = sorted((abs(1 - low), abs(1 - high))) if (low - 1) * (high - 1) > 0 else (None, None)
        if lo is None:  # the interval crosses "no change"
            # "0 % fewer" would read as a change (beside "13 % more" it reads as a contradiction)
            key = "compare.phrase.about_same" if pct(ratio) == fmt_number(0, lang) else f"compare.phrase.{direction}_uncertain"
            return t(key, lang, pct=pct(ratio),
                     low=fmt_number(int(round((low - 1) * 100)), lang), high=fmt_number(int(round((high - 1) * 100)), lang))
        return t(f"compare.phrase.{direction}", lang, pct=pct(ratio), low=fmt_number(lo * 100, lang),
                 high=fmt_number(hi * 100, lang))

    text = t("compare.conclusion.raw", lang, phrase=phrase(main["ratio"], main["low"], main["high"]))
    did = result.get("did")
    if did and did["ratio"] is not None and did["low"] is not None:
        text += " " + t("compare.conclusion.did", lang, phrase=phrase(did["ratio"], did["low"], did["high"]))
        kind = _kind(did)
        if kind == "unclear" or kind != _kind(main):
            text = t(f"compare.lead.did_{kind}", lang) + " " + text
    return text


def event_power(con, as_of: dt.datetime, days: int = DEFAULT_DAYS) -> pd.DataFrame:
    """Per event of the register: the days of data and the deadlines due and missed in the group it
    concerns, `days` either side of it (queries/compare_event_power.sql). Within the connection's
    scope; the sidebar's filters do not enter (one answer per data version and scope)."""
    return store.run(con, "compare_event_power", rows=metrics.derived_as_of(con) != as_of, as_of=as_of, days=int(days))


def information(missed_before, missed_after):
    """How precisely a before/after change can be measured from these counts: the inverse of the
    Poisson variance of the log rate ratio, 1 / (1/before + 1/after) = before·after / (before + after)
    (0 when either is 0). The interval's width goes as 1/sqrt of it."""
    before = np.asarray(missed_before, dtype=float)
    after = np.asarray(missed_after, dtype=float)
    total = before + after
    return np.where((before > 0) & (after > 0), before * after / np.where(total > 0, total, 1.0), 0.0)


def enough_data(power: pd.DataFrame) -> pd.Series:
    """Per event (rows of event_power): would its comparison escape the page's warnings of short
    periods and few missed deadlines (cautions)?"""
    return ((power["days_before"] >= MIN_DAYS) & (power["days_after"] >= MIN_DAYS)
            & (power["missed_before"] >= MIN_COUNT) & (power["missed_after"] >= MIN_COUNT))


def default_event(power: pd.DataFrame) -> int | None:
    """The event the page opens with: the most informative one, not merely the newest.

    1. Events whose comparison the page would not warn about (at least MIN_DAYS days of data and
       MIN_COUNT missed deadlines on each side, in the group the event concerns) come first, and
       among those the ones that concern a municipality or an organisation: they have a comparison
       group, so the difference-in-differences can separate the event from the region-wide trend
       (a region-wide event can only be compared before and after).
    2. Among equals, the largest `information` (the narrowest interval: the most statistical power);
       then the most recent (then the last recorded).
    An event with no data in scope can still be the default when no event has any (the newest).
    None for an empty register. Chosen by the precision the data allow, never by the result."""
    if power.empty:
        return None
    enough = enough_data(power)
    p = power.assign(information=information(power["missed_before"], power["missed_after"]), enough=enough,
                     enough_with_group=enough & power["has_group"].astype(bool), date=pd.to_datetime(power["event_date"]))
    best = p.sort_values(["enough_with_group", "enough", "information", "date", "event_id"], ascending=False)
    return int(best["event_id"].iloc[0])
