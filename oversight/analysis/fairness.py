"""Fair comparisons of organisations (issue #8, the numbers behind the funnel plot and the rankings).

A league table of raw shares shames small organisations for noise and lets large ones hide. Here:
- a funnel plot: each organisation's missed-deadline share against its volume (deadlines that fell
  due in the period), with 95 % and 99.8 % control limits around the region's (or direction's) share,
  widened for over-dispersion (Spiegelhalter 2005: the mean squared winsorised z-score, when above 1,
  multiplies the variance); the verdict is "above" or "below" outside the 99.8 % limits, else "inside";
- intervals per organisation (Wilson, statsmodels) and an empirical-Bayes estimate (a beta prior fitted
  to all organisations by the method of moments) that pulls small volumes towards the mean;
- rankings by the empirical-Bayes interval's bound, never by the bare share: the worst are those whose
  *lower* bound is highest, the best those whose *upper* bound is lowest, among organisations with
  enough volume.
Volumes and counts come from the drill-down's organisation table (the same §3 definitions).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from oversight import store
from oversight.analysis import metrics
from oversight.filters import Filters

Z95, Z998 = 1.959963984540054, 3.090232306167813
WINSOR = 0.10  # share of z-scores pulled in at each end before estimating over-dispersion


def overdispersion(missed: np.ndarray, volume: np.ndarray, p0: float) -> float:
    """The over-dispersion factor: the mean of the squared z-scores after winsorising 10 % at each
    end (so a few true outliers do not widen everyone's limits); 1 when there is none."""
    keep = volume > 0
    if keep.sum() < 3 or not 0 < p0 < 1:
        return 1.0
    z = (missed[keep] / volume[keep] - p0) / np.sqrt(p0 * (1 - p0) / volume[keep])
    low, high = np.quantile(z, [WINSOR, 1 - WINSOR])
    phi = float(np.mean(np.clip(z, low, high) ** 2))
    return max(1.0, phi)


def funnel_limits(volume: np.ndarray, p0: float, phi: float, z: float) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper control limits of a share at each volume (clipped to [0, 1]): the exact
    binomial quantiles (a normal approximation would flag 2 misses out of 3 as extreme), their
    distance from p0 widened by sqrt(phi) for over-dispersion."""
    from scipy.stats import binom, norm

    volume = np.maximum(np.asarray(volume, dtype=float), 1)
    tail = norm.sf(z)
    lower = binom.ppf(tail, volume, p0) / volume
    upper = binom.ppf(1 - tail, volume, p0) / volume
    widen = np.sqrt(phi)
    return np.clip(p0 - (p0 - lower) * widen, 0, 1), np.clip(p0 + (upper - p0) * widen, 0, 1)


def assess(table: pd.DataFrame, min_volume: int = 30) -> tuple[pd.DataFrame, dict]:
    """Add to a table with `due` (volume) and `missed` per organisation: share, Wilson interval,
    empirical-Bayes share, funnel limits, verdict (inside / above / below; None below min_volume)
    and `ranked` (enough volume to be ranked). Returns the table and the funnel's parameters."""
    from statsmodels.stats.proportion import proportion_confint

    out = table.copy()
    volume = out["due"].to_numpy(dtype=float)
    missed = out["missed"].to_numpy(dtype=float)
    p0 = float(missed.sum() / volume.sum()) if volume.sum() else float("nan")
    phi = overdispersion(missed, volume, p0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["share"] = np.where(volume > 0, missed / volume, np.nan)
    low, high = proportion_confint(missed, np.maximum(volume, 1), alpha=0.05, method="wilson")
    out["low"] = np.where(volume > 0, low, np.nan)
    out["high"] = np.where(volume > 0, high, np.nan)
    out["eb_share"], out["eb_low"], out["eb_high"] = _empirical_bayes(missed, volume)
    for name, z in (("95", Z95), ("998", Z998)):
        lower, upper = funnel_limits(volume, p0, phi, z)
        out[f"lower_{name}"], out[f"upper_{name}"] = lower, upper
    out["ranked"] = volume >= min_volume
    verdict = np.where(out["share"] > out["upper_998"], "above", np.where(out["share"] < out["lower_998"], "below", "inside"))
    out["verdict"] = np.where(out["ranked"], verdict, None)
    return out, {"p0": p0, "phi": phi, "min_volume": min_volume}


def _empirical_bayes(missed: np.ndarray, volume: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each share pulled towards the mean by a beta prior fitted to all organisations (method of
    moments, correcting the observed variance for binomial noise; small volumes move the most), and
    the 95 % interval of that posterior (scipy's beta distribution)."""
    from scipy.stats import beta

    keep = volume > 0
    if keep.sum() < 3:
        raw = np.where(keep, missed / np.maximum(volume, 1), np.nan)
        return raw, raw, raw
    share = missed[keep] / volume[keep]
    mean = float(missed[keep].sum() / volume[keep].sum())
    noise = float(np.mean(mean * (1 - mean) / volume[keep]))
    between = max(float(np.var(share)) - noise, 1e-9)  # variance of the true shares
    strength = max(mean * (1 - mean) / between - 1, 1e-6)  # a + b of the prior
    a, b = mean * strength, (1 - mean) * strength
    post_a, post_b = missed + a, volume - missed + b
    estimate = np.where(keep, post_a / (post_a + post_b), np.nan)
    return (estimate, np.where(keep, beta.ppf(0.025, post_a, post_b), np.nan),
            np.where(keep, beta.ppf(0.975, post_a, post_b), np.nan))


def organization_labels(con) -> pd.DataFrame:
    """Names, INN, kind, municipality and direction of every organisation (read once per connection)."""
    return store.attachment(con, "drill_labels:organization", lambda c: store.run(c, "drill_labels", level="organization"))


def due_and_missed(con, filters: Filters, as_of: dt.datetime) -> pd.DataFrame:
    """Per organisation in scope (child_id; null = no organisation): deadlines due in the period
    and missed, with the organisation's name, INN, kind, municipality and direction."""
    counts = store.run(con, "org_due_counts", rows=not metrics.uses_org_daily_counts(con, filters, as_of), **filters.params(as_of))
    table = counts.merge(organization_labels(con), on="child_id", how="left")
    table["child_id"] = table["child_id"].astype("Int64")
    return table[["child_id", "name_ru", "inn", "kind", "territory_id", "municipality_id", "due", "missed"]]


def organizations(con, filters: Filters, as_of: dt.datetime, min_volume: int = 30) -> tuple[pd.DataFrame, dict]:
    """Every organisation in scope with its volume, missed deadlines, share, interval, empirical-Bayes
    share, funnel limits and verdict; sorted worst first by the interval's lower bound."""
    rows = due_and_missed(con, filters, as_of)
    rows = rows[rows["child_id"].notna() & (rows["due"] > 0)]
    table = rows.rename(columns={"child_id": "organization_id", "name_ru": "name"})
    table = table.astype({"due": "int64", "missed": "int64"})
    assessed, funnel = assess(table.reset_index(drop=True), min_volume)
    # The id breaks ties: DuckDB returns groups in no fixed order.
    ordered = assessed.sort_values(["low", "organization_id"], ascending=[False, True], kind="stable")
    return ordered.reset_index(drop=True), funnel


def best_and_worst(assessed: pd.DataFrame, n: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Among organisations with enough volume: the worst by the highest lower bound of the
    empirical-Bayes interval, the best by the lowest upper bound (a small organisation's interval is
    pulled to the mean and wide, so luck cannot put it at either end)."""
    ranked = assessed[assessed["ranked"]]
    return ranked.nsmallest(n, "eb_high"), ranked.nlargest(n, "eb_low")


def funnel_curve(funnel: dict, max_volume: float, points: int = 200) -> pd.DataFrame:
    """The funnel's limits along volumes 1 … max_volume (log-spaced), for drawing: columns volume,
    lower_95, upper_95, lower_998, upper_998."""
    volume = np.unique(np.round(np.geomspace(1, max(float(max_volume), 2.0), points)))
    curve = {"volume": volume}
    for name, z in (("95", Z95), ("998", Z998)):
        curve[f"lower_{name}"], curve[f"upper_{name}"] = funnel_limits(volume, funnel["p0"], funnel["phi"], z)
    return pd.DataFrame(curve)


def outliers(assessed: pd.DataFrame, funnel: dict, verdict: str) -> pd.DataFrame:
    """The organisations above (or below) the funnel's 99.8 % limits, furthest first by their
    z-score against the scope's share, numbered 1, 2, … (the numbers the funnel plot writes)."""
    rows = assessed[assessed["verdict"] == verdict].copy()
    p0 = funnel["p0"]
    rows["z"] = (rows["share"] - p0) / np.sqrt(p0 * (1 - p0) / rows["due"])
    rows = rows.sort_values(["z", "organization_id"], ascending=[verdict == "below", True], kind="stable")
    rows["mark"] = np.arange(1, len(rows) + 1)
    return rows.reset_index(drop=True)
