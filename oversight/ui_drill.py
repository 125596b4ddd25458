"""The Drill-down page's pieces: where the user is (path in the URL), search, breadcrumbs, the
ranked table that goes one level down on a click, and the organisation's and request's cards.

Direction, municipality and organisation are the shared filters (so every page follows a drill-down
step); the building (`bld`) and the request (`req`) live in the URL as this page's own keys.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from oversight import drill, presentation, tables, ui
from oversight.filters import ascii_digits
from oversight.i18n import fmt_datetime, fmt_number, name_column, t
from oversight.presentation import md_text
from oversight.ui import PageContext

_PAGE_KEYS = {"bld": "pg_bld", "req": "pg_req"}


def _id_from_url(key: str) -> int | None:
    raw = st.query_params.get(key)
    if raw is None:
        return None
    if ascii_digits(raw) and len(str(raw)) < 19:
        return int(raw)
    st.session_state.setdefault("_drill_problems", []).append((key, raw))
    return None


def current_path(ctx: PageContext) -> drill.Path:
    """The drill path: the shared filters plus the building and request from the URL (first run)
    or from this session. A building chosen under another organisation is dropped when the user
    changes the filters in the sidebar."""
    f = ctx.filters
    scope = (f.territory_id, f.municipality_id, f.organization_id)
    for key, state in _PAGE_KEYS.items():
        if state not in st.session_state:
            st.session_state[state] = _id_from_url(key)
    # The scope the building was chosen under: None right after a step of ours (accept the new one).
    chosen_under = st.session_state.get("_drill_scope", scope)
    if chosen_under is not None and chosen_under != scope:
        st.session_state["pg_bld"] = st.session_state["pg_req"] = None
    st.session_state["_drill_scope"] = scope
    building, ticket = st.session_state["pg_bld"], st.session_state["pg_req"]
    for key, value in (("bld", building), ("req", ticket)):
        if value is None and key in st.query_params:
            del st.query_params[key]
        elif value is not None and st.query_params.get(key) != str(value):
            st.query_params[key] = str(value)
    for key, raw in st.session_state.pop("_drill_problems", []):
        st.warning(t("drill.bad_link", ctx.lang, key=key, value=ui.literal(raw)))
    if not ctx.scope.is_everything:  # a link to a place outside the scope shows nothing of it
        if building is not None and not _visible_building(ctx, building):
            ui.refuse(ctx, "bld", building)
        if ticket is not None and drill.request_card(ui.connection(ctx), ticket, ctx.as_of, ctx.lang) is None:
            ui.refuse(ctx, "req", ticket)
    path = drill.Path.from_filters(f, building, ticket)
    corrected, wrong = drill.reconcile(ui.connection(ctx), path)
    if wrong:  # a link naming a request or building under places it is not in: shown under its own
        st.session_state["_drill_corrected"] = [k.removesuffix("_id") for k in wrong]
        go(corrected.territory_id, corrected.municipality_id, corrected.organization_id, corrected.building_id,
           corrected.ticket_id)
    if fixed := st.session_state.pop("_drill_corrected", None):
        st.info(t("drill.link_corrected", ctx.lang, fields=", ".join(t(f"drill.level.{k}", ctx.lang) for k in fixed)))
    return path


def go(territory_id=None, municipality_id=None, organization_id=None, building_id=None, ticket_id=None) -> None:
    """Move to a place in the hierarchy on the next run."""
    ui.set_scope(territory_id, municipality_id, organization_id)
    st.session_state["pg_bld"], st.session_state["pg_req"] = building_id, ticket_id
    st.session_state["_drill_scope"] = None  # the scope changes with this step: keep the building
    st.rerun()


def _label(level: str, ident, ctx: PageContext) -> str:
    if level == "region":
        return presentation.region_name(ui.connection(ctx), ctx.lang)
    if level == "request":
        return t("drill.request", ctx.lang, id=ident)
    names = ui.query("drill_labels", ctx, level=level)
    row = names[names["child_id"] == ident]
    return str(row[name_column(ctx.lang)].iloc[0]) if not row.empty else str(ident)


def breadcrumbs(path: drill.Path, ctx: PageContext) -> None:
    """Region › direction › municipality › organisation › building › request; each step but the
    last is a button that goes back up to it."""
    steps = [("region", None, {})]
    keep: dict = {}
    for level, field in (("territory", "territory_id"), ("municipality", "municipality_id"),
                         ("organization", "organization_id"), ("building", "building_id"), ("request", "ticket_id")):
        value = getattr(path, field)
        if value is None:
            continue
        keep = {**keep, field: value}
        steps.append((level, value, dict(keep)))
    columns = st.columns(len(steps))
    for i, (column, (level, value, target)) in enumerate(zip(columns, steps)):
        text = md_text(_label(level, value, ctx))  # names from data: shown as text
        with column:
            if i == len(steps) - 1:
                st.markdown(f"**{text}**")
            elif st.button(text + " ›", key=f"crumb_{level}", type="tertiary"):
                go(**target)


def search_box(ctx: PageContext) -> None:
    """Search; a result is a button that goes to its place (and empties the box)."""
    if st.session_state.pop("_drill_clear_search", False):
        st.session_state["drill_search"] = ""  # before the box is drawn: a drawn widget cannot change
    query = st.text_input(t("drill.search", ctx.lang), key="drill_search", max_chars=100)
    if not query or len(query.strip()) < 2:
        return
    found = drill.search(ui.connection(ctx), query)
    if all(frame.empty for frame in found.values()):
        st.info(t("drill.search_none", ctx.lang, query=ui.literal(query)))
        return
    # One list under another: names and addresses are long, three columns would cut them.
    results = [
        ("drill.found_orgs", found["organizations"].head(8),
         lambda r: f"{r.name} · {t('col.inn', ctx.lang)} {r.inn}",
         lambda r: dict(territory_id=_int(r.territory_id), municipality_id=_int(r.municipality_id),
                        organization_id=int(r.organization_id))),
        ("drill.found_buildings", found["buildings"].head(8), lambda r: r.address,
         lambda r: dict(territory_id=_int(r.territory_id), municipality_id=_int(r.municipality_id),
                        organization_id=_int(r.organization_id), building_id=int(r.building_id))),
        ("drill.found_requests", found["requests"], lambda r: t("drill.request", ctx.lang, id=r.ticket_id),
         lambda r: dict(territory_id=_int(r.territory_id), municipality_id=_int(r.municipality_id),
                        organization_id=_int(r.organization_id), building_id=_int(r.building_id),
                        ticket_id=int(r.ticket_id))),
    ]
    for title, rows, label, place in results:
        if rows.empty:
            continue
        st.caption(t(title, ctx.lang))
        for i, row in enumerate(rows.itertuples()):
            if st.button(md_text(label(row)), key=f"find_{title}_{i}"):  # a button's label reads Markdown
                st.session_state["_drill_clear_search"] = True
                go(**place(row))


def _int(value):
    return None if value is None or pd.isna(value) else int(value)


def scope_kpis(path: drill.Path, ctx: PageContext) -> None:
    st.subheader(t("drill.kpis", ctx.lang))
    if path.building_id is None:
        ui.kpi_cards(ui.cached("kpi_comparison", ctx), ui.cached("kpi_trend", ctx), ctx)
        return
    values = ui.cached("drill.scope_kpis", ctx, path.building_id)
    trend = ui.cached("drill.building_trend", ctx, path.building_id)
    columns = st.columns(4) + st.columns(4)
    for column, metric in zip(columns, ui.CARD_METRICS):
        series = trend[ui.TREND_COLUMN.get(metric, metric)].astype(float).dropna().tolist()
        with column:
            st.metric(t(f"kpi.{metric}", ctx.lang), ui.format_kpi(metric, values.get(metric), ctx.lang), border=True,
                      chart_data=series if len(series) > 1 else None, chart_type="line")


def children_table(path: drill.Path, ctx: PageContext) -> None:
    """The ranked table of the level below; selecting a row goes down to it."""
    level = path.child_level
    st.subheader(t(f"drill.children.{level}", ctx.lang))
    if level == "request":
        _requests_table(path, ctx)
        return
    rows = ui.cached("drill.children", ctx, level, None)
    if rows.empty or not (rows[list(drill.COUNT_COLUMNS)].sum(axis=1) > 0).any():
        st.info(t("drill.empty", ctx.lang))
        return
    shown = tables.drill(rows, level, ctx.lang)
    event = st.dataframe(
        tables.styled(shown, ctx.lang, ctx.target, tables.DRILL_COLUMNS), hide_index=True, width="stretch",
        height=min(36 + 35 * len(shown), 520), on_select="rerun", selection_mode="single-row",
        key=f"drill_table_{level}_{path.territory_id}_{path.municipality_id}_{path.organization_id}",
    )
    st.caption(t("drill.click_hint", ctx.lang))
    ui.download_table(f"drill_{level}", shown, ctx)
    picked = event.selection.rows if event and event.selection else []
    if picked:
        child = rows.iloc[picked[0]]
        if pd.isna(child["child_id"]):
            return  # "no organisation / no building" is not a place to go
        ident = int(child["child_id"])
        target = {"territory_id": path.territory_id, "municipality_id": path.municipality_id,
                  "organization_id": path.organization_id}
        if level == "territory":
            target["territory_id"] = ident
        elif level == "municipality":
            target["municipality_id"] = ident
        elif level == "organization":
            target["organization_id"] = ident
        else:
            target["building_id"] = ident
        go(**target)


def _requests_table(path: drill.Path, ctx: PageContext) -> None:
    rows = ui.cached("drill.requests", ctx, path.building_id)
    if rows.empty and not ctx.scope.is_everything and not _visible_building(ctx, path.building_id):
        ui.refuse(ctx, "bld", path.building_id)  # outside this user's scope: not even whether it exists
    if rows.empty:
        st.info(t("drill.building_missing", ctx.lang, id=path.building_id))
        return
    category = "category_en" if ctx.lang == "en" else "category_ru"
    shown = pd.DataFrame({
        t("col.ticket_id", ctx.lang): rows["ticket_id"],
        t("col.category", ctx.lang): rows[category],
        t("col.created_at", ctx.lang): [fmt_datetime(v, ctx.lang) for v in rows["created_at"]],
        t("col.due_at", ctx.lang): [fmt_datetime(v, ctx.lang) if pd.notna(v) else "—" for v in rows["due_at"]],
        t("col.closed_at", ctx.lang): [fmt_datetime(v, ctx.lang) if pd.notna(v) else "—" for v in rows["closed_at"]],
        t("col.hours_late", ctx.lang): [fmt_number(v, ctx.lang, 1) if pd.notna(v) else "—" for v in rows["hours_late"]],
        t("col.returned_count", ctx.lang): rows["returned_count"],
        t("col.rating", ctx.lang): [str(int(v)) if pd.notna(v) else "—" for v in rows["rating"]],
    })
    event = st.dataframe(shown, hide_index=True, width="stretch", height=min(36 + 35 * len(shown), 520),
                         on_select="rerun", selection_mode="single-row", key=f"drill_requests_{path.building_id}")
    if len(rows) >= drill.REQUEST_LIMIT:
        st.caption(t("drill.requests_cap", ctx.lang, n=drill.REQUEST_LIMIT))
    st.caption(t("drill.click_hint", ctx.lang))
    ui.download_table(f"requests_{path.building_id}", shown, ctx)
    picked = event.selection.rows if event and event.selection else []
    if picked:
        go(path.territory_id, path.municipality_id, path.organization_id, path.building_id, int(rows.iloc[picked[0]]["ticket_id"]))


def _visible_building(ctx: PageContext, building_id) -> bool:
    labels = ui.query("drill_labels", ctx, level="building")
    return building_id in set(labels["child_id"])


def organization_card(path: drill.Path, ctx: PageContext) -> None:
    card = ui.cached("drill.organization_card", ctx, path.organization_id, False)
    own = ui.cached("kpi_comparison", ctx).set_index("metric")["value"].to_dict()  # the KPI cards' numbers
    card = {**card, "kpis": {"organization": own, **card["kpis"]}}
    info = card["info"]
    lang = ctx.lang
    st.subheader(t("drill.org_card", lang) + f": {md_text(info['name'])}")
    municipalities = info["municipalities_en" if lang == "en" else "municipalities_ru"]
    a, b, c, d = st.columns(4)
    a.metric(t("drill.org_inn", lang), md_text(info["inn"]) or "—")  # a metric's value reads Markdown too
    b.metric(t("drill.org_kind", lang), t(f"kind.{info['kind']}", lang))
    c.metric(t("drill.org_buildings", lang), fmt_number(info["buildings"], lang))
    d.metric(t("drill.org_municipalities", lang), fmt_number(len(municipalities), lang))
    st.caption(", ".join(md_text(m) for m in municipalities))
    st.markdown(f"**{t('drill.compare', lang)}**")
    compare = pd.DataFrame({
        t(f"drill.scope.{scope}", lang): {
            t(f"kpi.{metric}", lang): ui.format_kpi(metric, values.get(metric), lang) for metric in ui.CARD_METRICS
        }
        for scope, values in card["kpis"].items()
    })
    st.dataframe(compare, width="stretch")
    left, right = st.columns(2)
    with left:
        st.markdown(f"**{t('drill.worst_categories', lang)}**")
        worst = card["worst_categories"]
        if worst.empty:
            st.caption("—")
        else:
            shown = tables.drill(worst, "category", lang)
            st.dataframe(tables.styled(shown, lang, ctx.target, tables.DRILL_COLUMNS), hide_index=True, width="stretch")
    with right:
        st.markdown(f"**{t('drill.open_overdue', lang)}**")
        overdue = card["open_overdue"]
        if overdue.empty:
            st.caption(t("drill.no_open_overdue", lang))
        else:
            category = "category_en" if lang == "en" else "category_ru"
            st.dataframe(pd.DataFrame({
                t("col.ticket_id", lang): overdue["ticket_id"],
                t("col.due_at", lang): [fmt_datetime(v, lang) for v in overdue["due_at"]],
                t("col.hours_late", lang): [fmt_number(v, lang, 0) for v in overdue["hours_late"]],
                t("col.category", lang): overdue[category],
                t("col.address", lang): overdue["address"],
            }), hide_index=True, width="stretch", height=min(36 + 35 * len(overdue), 320))


def request_card(path: drill.Path, ctx: PageContext) -> None:
    lang = ctx.lang
    card = drill.request_card(ui.connection(ctx), path.ticket_id, ctx.as_of, lang)
    if card is None and not ctx.scope.is_everything:
        ui.refuse(ctx, "req", path.ticket_id)
    if card is None:
        st.warning(t("drill.request_missing", lang, id=path.ticket_id))
        return
    st.subheader(t("drill.request", lang, id=card["ticket_id"]))
    hours = card["hours_late"]
    if hours is None:
        status = t("drill.no_deadline", lang)
    elif hours > 0:
        status = t("drill.late_by", lang, hours=fmt_number(hours, lang, 1))
    elif pd.isna(card["closed_at"]):
        status = t("drill.still_open", lang)
    else:
        status = t("drill.on_time", lang)
    (st.error if hours and hours > 0 else st.success)(status)
    if pd.notna(card["normative_hours"]):
        normative = t("drill.normative_hours", lang, n=int(card["normative_hours"]))
    elif pd.notna(card["normative_workdays"]):
        normative = t("drill.normative_workdays", lang, n=int(card["normative_workdays"]))
    else:
        normative = "—"
    facts = {
        t("drill.field.category", lang): card["category_en" if lang == "en" else "category_ru"],
        t("drill.field.normative", lang): normative,
        t("drill.field.address", lang): card["address"] or "—",
        t("drill.field.organization", lang): f"{card['organization_name']} ({t('col.inn', lang)} {card['inn']})" if card["organization_name"] else "—",
        t("drill.field.municipality", lang): card["municipality_en" if lang == "en" else "municipality_ru"],
        t("drill.field.source", lang): ui.source_label(card["source"], lang),
        t("drill.field.status", lang): t(f"drill.status.{'open' if pd.isna(card['closed_at']) else 'closed'}", lang),
        t("drill.field.returns", lang): str(card["returned_count"]),
        t("drill.field.rating", lang): "—" if pd.isna(card["rating"]) else f"{int(card['rating'])} / 5",
    }
    left, right = st.columns(2)
    with left:  # st.table reads Markdown in its cells: the values from data are escaped
        st.table(pd.DataFrame({"": [md_text(v) for v in facts.values()]}, index=list(facts.keys())))
    with right:
        st.markdown(f"**{t('drill.timeline', lang)}**")
        st.table(pd.DataFrame({
            "": [t(f"drill.event.{kind}", lang) for kind, _ in card["timeline"]],
            " ": [fmt_datetime(moment, lang) for _, moment in card["timeline"]],
        }).set_index(""))
        if card["returned_count"] and not card["returns_dated"]:
            st.caption(t("drill.returns_undated", lang, n=card["returned_count"]))
        st.markdown(f"**{t('drill.text', lang)}**")
        st.text(card["description"] or t("drill.no_text", lang))  # plain text: never rendered as Markdown
