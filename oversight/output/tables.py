"""Ranked tables of directions and municipalities, in the user's language, with good/bad colour."""

from __future__ import annotations

import pandas as pd

from oversight.i18n import fmt_number, fmt_percent, t
from oversight.output.theme import BAD_BG, GOOD_BG, RED_MARGIN, WARN_BG

# Columns shown in the ranked tables, in order.
RANK_COLUMNS = (
    "on_time_rate",
    "missed",
    "due",
    "created",
    "missed_per_10k",
    "overdue_backlog_end",
    "returned_share",
)


def ranked(area: pd.DataFrame, level: str, lang: str) -> pd.DataFrame:
    """Rows of one level ('territory' or 'municipality') ranked worst on-time rate first.

    Returns raw numbers with localized column names; areas with nothing due sort last.
    """
    rows = area[area["level"] == level].copy()
    rows = rows.sort_values(["on_time_rate", "missed"], ascending=[True, False], na_position="last")
    name = "territory_name_en" if lang == "en" else "territory_name_ru"
    columns = {name: t("col.territory", lang)}
    if level == "municipality":
        mname = "municipality_name_en" if lang == "en" else "municipality_name_ru"
        columns = {mname: t("col.municipality", lang), name: t("col.territory", lang)}
    columns.update({c: t(f"col.{c}", lang) for c in RANK_COLUMNS})
    out = rows[list(columns)].rename(columns=columns).reset_index(drop=True)
    out.insert(0, t("col.rank", lang), range(1, len(out) + 1))
    return out


def rate_colour(rate: float | None, target: float) -> str:
    """Background for an on-time rate: green at or above target, red well below, amber between."""
    if rate is None or pd.isna(rate):
        return ""
    if rate >= target:
        return f"background-color: {GOOD_BG}"
    if rate < target - RED_MARGIN:
        return f"background-color: {BAD_BG}"
    return f"background-color: {WARN_BG}"


# The drill-down's ranked tables: the KPIs of ARCHITECTURE.md §3 per child.
DRILL_COLUMNS = (
    "created",
    "on_time_rate",
    "missed",
    "due",
    "overdue_backlog_end",
    "median_resolution_hours",
    "returned_share",
)


def drill(children: pd.DataFrame, level: str, lang: str) -> pd.DataFrame:
    """The drill-down table of one level with localized column names, in the order given (worst
    first); rows without an organisation or building are named as such."""
    name = "name_en" if lang == "en" else "name_ru"
    names = children[name].where(children["child_id"].notna(), t(f"drill.none.{level}", lang))
    out = pd.DataFrame({t("col.rank", lang): children["rank"].to_numpy(), t("col.name", lang): names.to_numpy()})
    if level == "organization":
        out[t("col.inn", lang)] = children["inn"].fillna("—").to_numpy()
        out[t("col.kind", lang)] = [t(f"kind.{k}", lang) if isinstance(k, str) else "—" for k in children["kind"]]
    for c in DRILL_COLUMNS:
        out[t(f"col.{c}", lang)] = children[c].to_numpy()
    return out


def styled(table: pd.DataFrame, lang: str, target: float, columns=RANK_COLUMNS):
    """A pandas Styler: numbers in the language's format, the on-time column coloured."""
    on_time = t("col.on_time_rate", lang)
    formats = {}
    for c in columns:
        label = t(f"col.{c}", lang)
        if c in ("on_time_rate", "returned_share"):
            formats[label] = lambda v, lang=lang: fmt_percent(v, lang)
        elif c in ("missed_per_10k", "median_resolution_hours"):
            formats[label] = lambda v, lang=lang: fmt_number(v, lang, 1)
        else:
            formats[label] = lambda v, lang=lang: fmt_number(v, lang)
    # st.dataframe draws a missing number as the English word "None" whatever the Styler says, so a
    # column with gaps is shown as text ("—"); columns without gaps stay numbers (sortable).
    shown = table.copy()
    for label, fmt in formats.items():
        if label != on_time and shown[label].isna().any():
            shown[label] = [fmt(v) if pd.notna(v) else "—" for v in shown[label]]
    rates = table[on_time]
    if rates.isna().any():
        shown[on_time] = [formats[on_time](v) if pd.notna(v) else "—" for v in rates]
    colours = [rate_colour(v, target) for v in rates]
    return (
        shown.style.format({k: v for k, v in formats.items() if pd.api.types.is_numeric_dtype(shown[k])})
        .apply(lambda _col: colours, subset=[on_time])
        .hide(axis="index")
    )
