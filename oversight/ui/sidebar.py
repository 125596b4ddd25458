"""The shared filters in the sidebar: period with quick picks, direction, municipality, organisation,
category, source and the on-time target. Read from a shared link on a session's first run (unknown or
out-of-scope ids dropped with a message, and refused ones audited), written back to the URL on every
run; `set_scope` narrows them from a map click or a drill-down step."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import replace

import pandas as pd
import streamlit as st

from oversight import access
from oversight.access import Principal, Scope
from oversight.filters import PERIOD_PRESETS, URL_KEYS, Filters, default_filters, preset_period
from oversight.i18n import fmt_date, name_column, t
from oversight.ui.cache import query
from oversight.ui.context import DEFAULT_TARGET, Source


def _validate_ids(filters: Filters, options: dict[str, pd.DataFrame]) -> tuple[Filters, list]:
    """Drop ids from a shared link that do not exist in the data, saying which."""
    problems = []
    checks = {
        "territory_id": ("dir", options["territories"]["territory_id"]),
        "municipality_id": ("mun", options["municipalities"]["municipality_id"]),
        "organization_id": ("org", options["organizations"]["organization_id"]),
        "category_id": ("cat", options["categories"]["category_id"]),
        "source": ("src", options["sources"]["source"]),
    }
    values = {}
    for field, (key, valid) in checks.items():
        value = getattr(filters, field)
        if value is not None and value not in set(valid.tolist()):
            problems.append(("unknown_id", key, str(value)))
            value = None
        values[field] = value
    return Filters(start=filters.start, end=filters.end, **values), problems


def _filter_options(source: Source) -> dict[str, pd.DataFrame]:
    return {
        "territories": query("filter_territories", source),
        "municipalities": query("filter_municipalities", source),
        "organizations": query("filter_organizations", source),
        "categories": query("filter_categories", source),
        "sources": query("filter_sources", source),
    }


# The sidebar's choices for a database version, scope and language: ids in order and their labels
# (an organisation's with its INN), grouped the way the selectboxes narrow them. Worked out once and
# shared by every session (read-only): building the labels of a few thousand organisations on every
# script run was a fifth of the server's CPU with 20 sessions (bench/bench_load.py).
@st.cache_resource(show_spinner=False, max_entries=32)
def _sidebar_choices(db_path: str, version: str, scope: Scope, lang: str) -> dict:
    options = _filter_options(Source(db_path, version, scope))
    name = name_column(lang)
    terr, mun, org, cat = (options[k] for k in ("territories", "municipalities", "organizations", "categories"))
    sources = options["sources"]["source"].tolist()
    inn = "ИНН" if lang == "ru" else "INN"
    by_territory: dict = {None: mun["municipality_id"].tolist()}
    for territory_id, group in mun.groupby("territory_id", sort=False):
        by_territory[territory_id] = group["municipality_id"].tolist()
    orgs_by_territory: dict = {None: org["organization_id"].tolist()}
    for territory_id, group in org.groupby("territory_id", sort=False):
        orgs_by_territory[territory_id] = group["organization_id"].tolist()
    orgs_by_municipality = {m: group["organization_id"].tolist() for m, group in org.groupby("municipality_id", sort=False)}
    return {
        "options": options,
        "territories": terr["territory_id"].tolist(),
        "municipalities": by_territory,
        "organizations_by_territory": orgs_by_territory,
        "organizations_by_municipality": orgs_by_municipality,
        "categories": cat["category_id"].tolist(),
        "sources": sources,
        "names": {
            "territory": dict(zip(terr["territory_id"], terr[name])),
            "municipality": dict(zip(mun["municipality_id"], mun[name])),
            "organization": {r.organization_id: f"{r.name} ({inn} {r.inn})" for r in org.itertuples()},
            "category": dict(zip(cat["category_id"], cat[name])),
            "source": {s: source_label(s, lang) for s in sources},
        },
    }


def _init_filter_state(as_of: dt.datetime, options, first_day: dt.date, last_day: dt.date, principal: Principal) -> None:
    """On a session's first run, take the filters from the URL (a shared link) into widget state."""
    if st.session_state.get("_filters_initialised"):
        return
    parsed, problems = Filters.from_query_params(st.query_params.to_dict(), default_filters(as_of))
    parsed, unknown = _validate_ids(parsed, options)
    if unknown and not principal.scope.is_everything:
        # Ids this user cannot see (they may not exist at all: that is not said either).
        access.audit(principal.user, "refused", target=", ".join(f"{k}={v}" for _, k, v in unknown),
                     detail={"scope": principal.scope.key, "url": st.query_params.to_dict()})
        unknown = [("no_access", key, value) for _, key, value in unknown]
    clamped = replace(parsed, start=min(max(parsed.start, first_day), last_day), end=min(max(parsed.end, first_day), last_day))
    if (clamped.start, clamped.end) != (parsed.start, parsed.end):
        problems.append(("out_of_range", f"{fmt_date(first_day)} – {fmt_date(last_day)}", f"{parsed.start} – {parsed.end}"))
        parsed = clamped
    st.session_state["_filter_problems"] = problems + unknown
    st.session_state["flt_period"] = (parsed.start, parsed.end)
    for field in ("territory_id", "municipality_id", "organization_id", "category_id", "source"):
        value = getattr(parsed, field)
        st.session_state[f"flt_{field}"] = ALL if value is None else value
    try:
        target = float(st.query_params.get("target", DEFAULT_TARGET * 100))
        target = round(target) if math.isfinite(target) else round(DEFAULT_TARGET * 100)  # ?target=inf, nan
    except (ValueError, OverflowError):
        target = round(DEFAULT_TARGET * 100)
    st.session_state["flt_target"] = min(max(target, 50), 100)
    st.session_state["_filters_initialised"] = True


def _clear_preset() -> None:
    """Dates picked by hand: no quick pick is selected any more."""
    st.session_state["flt_preset"] = None


def _set_preset(as_of: dt.datetime) -> None:
    preset = st.session_state.get("flt_preset")
    if preset:
        st.session_state["flt_period"] = preset_period(preset, as_of)


ALL = 0  # the "all" choice of a selectbox (ids start at 1); None would show Streamlit's placeholder


def _select(label: str, options: list, names: dict, key: str, lang: str):
    """A selectbox whose first option is "All"; returns the chosen value or None for all."""
    if st.session_state.get(key) not in options:
        st.session_state[key] = ALL
    st.sidebar.selectbox(
        label,
        options=[ALL] + options,
        format_func=lambda v: t("filters.all", lang) if v == ALL else names.get(v, str(v)),
        key=key,
    )
    value = st.session_state[key]
    return None if value == ALL else value


def filter_sidebar(lang: str, source: Source, as_of: dt.datetime, first_day: dt.date,
                   principal: Principal) -> tuple[Filters, float]:
    """The shared filters: period with quick picks, direction, municipality, organisation,
    category, source, and the on-time target. Written back to the URL on every run."""
    choices = _sidebar_choices(source.db_path, source.version, source.scope, lang)
    options = choices["options"]
    last_day = (as_of - dt.timedelta(microseconds=1)).date()
    first_day = min(first_day, last_day)
    _init_filter_state(as_of, options, first_day, last_day, principal)
    _apply_pending_scope(options)
    sb = st.sidebar
    sb.header(t("filters.header", lang))

    sb.pills(
        t("filters.quick", lang),
        options=list(PERIOD_PRESETS),
        format_func=lambda p: t(f"filters.{p}", lang),
        key="flt_preset",
        on_change=_set_preset,
        args=(as_of,),
    )
    period = sb.date_input(
        t("filters.period", lang),
        min_value=first_day,
        max_value=last_day,
        key="flt_period",
        format="DD.MM.YYYY" if lang == "ru" else "YYYY-MM-DD",
        on_change=_clear_preset,
    )
    if isinstance(period, (tuple, list)) and len(period) == 2:
        start, end = period
    else:  # the user has picked only the first day so far
        start = end = period[0] if isinstance(period, (tuple, list)) and period else last_day

    names = choices["names"]
    territory_id = _select(t("filters.territory", lang), choices["territories"], names["territory"], "flt_territory_id", lang)
    municipality_id = _select(t("filters.municipality", lang), choices["municipalities"].get(territory_id, []),
                              names["municipality"], "flt_municipality_id", lang)
    if municipality_id is not None:
        org_ids = choices["organizations_by_municipality"].get(municipality_id, [])
    else:
        org_ids = choices["organizations_by_territory"].get(territory_id, [])
    organization_id = _select(t("filters.organization", lang), org_ids, names["organization"], "flt_organization_id", lang)
    category_id = _select(t("filters.category", lang), choices["categories"], names["category"], "flt_category_id", lang)
    source = _select(t("filters.source", lang), choices["sources"], names["source"], "flt_source", lang)

    # A slider, not a number box: it shows "95 %" in both languages (a number box would show "95.00").
    sb.slider(
        t("filters.target", lang), min_value=50, max_value=100, step=1, format="%d %%" if lang == "ru" else "%d%%", key="flt_target"
    )

    filters = Filters(
        start=start,
        end=end,
        territory_id=territory_id,
        municipality_id=municipality_id,
        organization_id=organization_id,
        category_id=category_id,
        source=source,
    )
    target = st.session_state["flt_target"] / 100.0
    url = {**filters.to_query_params(), "lang": lang}
    if abs(target - DEFAULT_TARGET) > 1e-9:
        url["target"] = str(st.session_state["flt_target"])
    # Update only the shared keys: other parameters in the link belong to the page.
    current = st.query_params.to_dict()
    for key in (*URL_KEYS, "lang", "target"):
        if key in url and current.get(key) != url[key]:
            st.query_params[key] = url[key]
        elif key not in url and key in current:
            del st.query_params[key]
    return filters, target


def set_scope(territory_id=None, municipality_id=None, organization_id=None) -> None:
    """Narrow (or widen) the shared filters to a direction / municipality / organisation on the next
    run: a map click or a drill-down step. Applied before the sidebar is drawn (a drawn widget's
    value cannot be changed); a municipality brings its direction along."""
    st.session_state["_pending_scope"] = {
        "territory_id": territory_id, "municipality_id": municipality_id, "organization_id": organization_id,
    }


def _apply_pending_scope(options: dict[str, pd.DataFrame]) -> None:
    pending = st.session_state.pop("_pending_scope", None)
    if pending is None:
        return
    municipalities = options["municipalities"]
    if pending["municipality_id"] is not None:
        chosen = municipalities[municipalities["municipality_id"] == pending["municipality_id"]]
        if chosen.empty:
            return
        pending["territory_id"] = int(chosen["territory_id"].iloc[0])
    for field in ("territory_id", "municipality_id", "organization_id"):
        st.session_state[f"flt_{field}"] = ALL if pending[field] is None else pending[field]


def source_label(source: str, lang: str) -> str:
    try:
        return t(f"source.{source}", lang)
    except KeyError:
        return source
