"""The Drill-down page's pieces: where the user is (path in the URL), search, breadcrumbs, the
ranked table that goes one level down on a click, and the organisation's and request's cards.

Direction, municipality and organisation are the shared filters (so every page follows a drill-down
step); the building (`bld`) and the request (`req`) live in the URL as this page's own keys.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from oversight import privacy
from oversight.analysis import drill, metrics
from oversight.filters import ascii_digits
from oversight.i18n import fmt_datetime, fmt_number, fmt_percent, fmt_points, fmt_signed_percent, name_column, t
from oversight.output import presentation, tables
from oversight.output.presentation import md_text
from oversight.ui import cache, shell, sidebar, widgets
from oversight.ui.context import PageContext

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
        st.warning(t("drill.bad_link", ctx.lang, key=key, value=shell.literal(raw)))
    if not ctx.scope.is_everything:  # a link to a place outside the scope shows nothing of it
        if building is not None and not _visible_building(ctx, building):
            shell.refuse(ctx, "bld", building)
        if ticket is not None and drill.request_card(cache.connection(ctx), ticket, ctx.as_of, ctx.lang) is None:
            shell.refuse(ctx, "req", ticket)
    path = drill.Path.from_filters(f, building, ticket)
    full = drill.place(cache.connection(ctx), path)
    # A link to a request or building alone: shown with the whole way to it (once: a step the filters
    # cannot take, such as a place outside their choices, is not asked for again and again).
    if full != path and st.session_state.get("_drill_placed") != full:
        st.session_state["_drill_placed"] = full
        go(full.territory_id, full.municipality_id, full.organization_id, full.building_id, full.ticket_id)
    corrected, wrong = drill.reconcile(cache.connection(ctx), path)
    if wrong:  # a link naming a request or building under places it is not in: shown under its own
        st.session_state["_drill_corrected"] = [k.removesuffix("_id") for k in wrong]
        go(corrected.territory_id, corrected.municipality_id, corrected.organization_id, corrected.building_id,
           corrected.ticket_id)
    if fixed := st.session_state.pop("_drill_corrected", None):
        st.info(t("drill.link_corrected", ctx.lang, fields=", ".join(t(f"drill.level.{k}", ctx.lang) for k in fixed)))
    return path


def go(territory_id=None, municipality_id=None, organization_id=None, building_id=None, ticket_id=None) -> None:
    """Move to a place in the hierarchy on the next run."""
    sidebar.set_scope(territory_id, municipality_id, organization_id)
    st.session_state["pg_bld"], st.session_state["pg_req"] = building_id, ticket_id
    st.session_state["_drill_scope"] = None  # the scope changes with this step: keep the building
    st.rerun()


def _label(level: str, ident, ctx: PageContext) -> str:
    if level == "region":
        return presentation.region_name(cache.connection(ctx), ctx.lang)
    if level == "request":
        return t("drill.request", ctx.lang, id=ident)
    names = cache.query("drill_labels", ctx, level=level)
    row = names[names["child_id"] == ident]
    return str(row[name_column(ctx.lang)].iloc[0]) if not row.empty else str(ident)


def header(path: drill.Path, ctx: PageContext) -> None:
    """The breadcrumbs and the search box in one line that wraps: the box goes under the breadcrumbs
    only when a deep path needs the room, so the level's table starts high on the page."""
    with st.container(horizontal=True, gap="small", vertical_alignment="center", key="drill_header"):
        breadcrumbs(path, ctx)
        st.space("stretch")
        query = search_input(ctx)
    search_results(query, ctx)


def breadcrumb_steps(path: drill.Path) -> list[tuple[str, object, dict]]:
    """Region › direction › municipality › organisation › building › request: (level, id, the place
    a click on it goes to) for each step the path names, in order."""
    steps = [("region", None, {})]
    keep: dict = {}
    for level, field in (("territory", "territory_id"), ("municipality", "municipality_id"),
                         ("organization", "organization_id"), ("building", "building_id"), ("request", "ticket_id")):
        value = getattr(path, field)
        if value is None:
            continue
        keep = {**keep, field: value}
        steps.append((level, value, dict(keep)))
    return steps


def breadcrumbs(path: drill.Path, ctx: PageContext) -> None:
    """Each step but the last is a button that goes back up to it; one line that wraps (never cuts a
    name), the steps at their own width and on one baseline."""
    steps = breadcrumb_steps(path)
    with st.container(horizontal=True, gap="small", vertical_alignment="center", width="content", key="drill_crumbs"):
        for i, (level, value, target) in enumerate(steps):
            text = md_text(_label(level, value, ctx))  # names from data: shown as text
            if i == len(steps) - 1:
                st.markdown(f"**{text}**", width="content")
                break
            if st.button(text, key=f"crumb_{level}", type="tertiary", width="content"):
                go(**target)
            st.markdown("›", width="content")


def search_input(ctx: PageContext) -> str:
    if st.session_state.pop("_drill_clear_search", False):
        st.session_state["drill_search"] = ""  # before the box is drawn: a drawn widget cannot change
    return st.text_input(t("drill.search", ctx.lang), key="drill_search", max_chars=100,
                         placeholder=t("drill.search_hint", ctx.lang), label_visibility="collapsed",
                         icon=":material/search:", width=300)


def search_results(query: str, ctx: PageContext) -> None:
    """Search; a result is a button that goes to its place (and empties the box)."""
    if not query or len(query.strip()) < 2:
        return
    found = drill.search(cache.connection(ctx), query)
    if all(frame.empty for frame in found.values()):
        st.info(t("drill.search_none", ctx.lang, query=shell.literal(query)))
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


# The KPI row: eight small cards in one row after the level's table; Streamlit's metric has no size
# setting, so its type is made smaller here, inside this row only, and a label wraps, never cut.
_KPI_CSS = """<style>
.st-key-drill_kpis [data-testid="stMetric"] {padding: 0 !important}
.st-key-drill_kpis [data-testid="stMetric"] > div {padding: 0.4rem 0.5rem !important; position: relative}
.st-key-drill_kpis [data-testid="stMetricValue"] {font-size: 1.3rem !important; line-height: 1.3}
.st-key-drill_kpis [data-testid="stMetricLabel"] {display: block !important; height: auto !important; min-height: 2.5em !important;
  padding-right: 14px}
.st-key-drill_kpis [data-testid="stMetricLabel"] > span {position: absolute; right: 3px; top: 3px}
.st-key-drill_kpis [data-testid="stMetricLabel"] p {font-size: 0.76rem !important; line-height: 1.25;
  white-space: normal !important; overflow: visible !important; word-break: normal !important;
  overflow-wrap: normal !important}
.st-key-drill_kpis [data-testid="stMetricLabel"] div {white-space: normal !important; overflow: visible !important}
.st-key-drill_kpis [data-testid="stMetricDelta"] {font-size: 0.72rem}
</style>"""


def _kpi_delta(metric: str, row: dict | None, ctx: PageContext) -> tuple[str | None, str]:
    """The change a compact card shows, and its colour rule (as on the Overview's cards)."""
    if row is None:
        return None, "off"
    change = row.get("change")
    if metric == "on_time_rate":
        value = row.get("value")
        return (None if value is None or pd.isna(value) else fmt_points(value - ctx.target, ctx.lang) or None), "normal"
    if change is None or pd.isna(change):
        return None, "off"
    if metric == "returned_share":
        return fmt_points(change, ctx.lang) or None, "inverse"
    return fmt_signed_percent(change, ctx.lang) or None, "inverse" if metric in metrics.HIGHER_IS_WORSE else "off"


def scope_kpis(path: drill.Path, ctx: PageContext) -> None:
    """The place's KPIs in one row of small cards, with the change against the previous period (the
    on-time rate: against the target)."""
    lang = ctx.lang
    if path.building_id is None:
        rows = cache.cached(metrics.kpi_comparison, ctx).set_index("metric")
        values = {m: rows.loc[m].to_dict() for m in widgets.CARD_METRICS}
    else:
        own = cache.cached(drill.scope_kpis, ctx, path.building_id)
        values = {m: {"value": own.get(m)} for m in widgets.CARD_METRICS}
    st.html(_KPI_CSS)
    st.markdown(f"**{t('drill.kpis', lang)}**")
    with st.container(key="drill_kpis"):
        for column, metric in zip(st.columns(len(widgets.CARD_METRICS), gap="xsmall"), widgets.CARD_METRICS):
            row = values[metric]
            delta, colour = _kpi_delta(metric, row if path.building_id is None else None, ctx)
            help_text = t(f"kpi.help.{metric}", lang, target=fmt_percent(ctx.target, lang, 0))
            if delta is not None:
                note = "drill.kpi_vs_target" if metric == "on_time_rate" else (
                    "kpi.vs_prev_per_day" if metric in metrics.FLOW_KPIS else "kpi.vs_prev")
                help_text += " " + t(note, lang, target=fmt_percent(ctx.target, lang, 0)) + ": " + delta + "."
            column.metric(t(f"kpi.{metric}", lang), widgets.format_kpi(metric, row.get("value"), lang), delta=delta,
                          delta_color=colour, help=help_text, border=True)


def _table_height(rows: int, most: int) -> int:
    """A table's height for `rows` rows, at most `most` rows before it scrolls inside."""
    return 38 + 35 * max(1, min(rows, most))


def _level_table(rows: pd.DataFrame, level: str, lang: str) -> pd.DataFrame:
    """A ranked table as shown: the rank, the name, then the measure the rank is by (missed
    deadlines, the on-time rate) and the counts that explain it. It fits the width at 1366×768;
    the Excel download has every column (requests received, median resolution, returned share, kind)."""
    name = "name_en" if lang == "en" else "name_ru"
    names = rows[name].where(rows["child_id"].notna(), t(f"drill.none.{level}", lang))
    out = pd.DataFrame({t("col.rank", lang): rows["rank"].to_numpy(), t(f"drill.col.{level}", lang): names.to_numpy()})
    if level == "organization":
        out[t("col.inn", lang)] = rows["inn"].fillna("—").to_numpy()
    for c in LEVEL_COLUMNS:
        out[t(f"col.{c}", lang)] = rows[c].to_numpy()
    return out


LEVEL_COLUMNS = ("missed", "on_time_rate", "due", "overdue_backlog_end")


def children_table(path: drill.Path, ctx: PageContext) -> None:
    """The ranked table of the level below; selecting a row goes down to it."""
    level = path.child_level
    st.markdown(f"**{t(f'drill.children.{level}', ctx.lang)}**")
    if level == "request":
        _requests_table(path, ctx)
        return
    rows = cache.cached(drill.children, ctx, level, None)
    if rows.empty or not (rows[list(drill.COUNT_COLUMNS)].sum(axis=1) > 0).any():
        st.info(t("drill.empty", ctx.lang))
        return
    shown = _level_table(rows, level, ctx.lang)
    export = tables.drill(rows, level, ctx.lang)
    event = st.dataframe(
        tables.styled(shown, ctx.lang, ctx.target, LEVEL_COLUMNS), hide_index=True, width="stretch",
        height=_table_height(len(shown), 12), on_select="rerun", selection_mode="single-row",
        key=f"drill_table_{level}_{path.territory_id}_{path.municipality_id}_{path.organization_id}",
    )
    st.caption(md_text(t("drill.click_hint", ctx.lang) + " " + t("drill.rank_note", ctx.lang)))
    widgets.download_table(f"drill_{level}", export, ctx, what=t(f"drill.children.{level}", ctx.lang))
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


def _days(values: pd.Series) -> list:
    """Hours late as days, one decimal (a number, so the column sorts); None where there is none."""
    return [None if pd.isna(v) else round(float(v) / 24.0, 1) for v in values]


def _days_format(lang: str):
    return lambda v: "—" if v is None or pd.isna(v) else fmt_number(v, lang, 1)


def late_text(hours, lang: str) -> str:
    """How late, in days with one decimal as in the tables (under a day: in hours), localised:
    «Просрочена на 161,5 дн.»."""
    if hours < 24:
        return t("drill.late_by", lang, hours=fmt_number(hours, lang, 1 if hours < 10 else 0))
    return t("drill.late_by_days", lang, days=fmt_number(drill.days_late(hours), lang, 1))


def _requests_table(path: drill.Path, ctx: PageContext) -> None:
    rows = cache.cached(drill.requests, ctx, path.building_id)
    if rows.empty and not ctx.scope.is_everything and not _visible_building(ctx, path.building_id):
        shell.refuse(ctx, "bld", path.building_id)  # outside this user's scope: not even whether it exists
    if rows.empty:
        st.info(t("drill.building_missing", ctx.lang, id=path.building_id))
        return
    lang = ctx.lang
    category = "category_en" if lang == "en" else "category_ru"
    late = t("col.days_late", lang)
    shown = pd.DataFrame({
        t("col.ticket_id", lang): rows["ticket_id"],
        t("col.category", lang): rows[category],
        t("col.created_at", lang): [fmt_datetime(v, lang) for v in rows["created_at"]],
        t("col.due_at", lang): [fmt_datetime(v, lang) if pd.notna(v) else "—" for v in rows["due_at"]],
        t("col.closed_at", lang): [fmt_datetime(v, lang) if pd.notna(v) else "—" for v in rows["closed_at"]],
        late: _days(rows["hours_late"]),
        t("col.returned_count", lang): rows["returned_count"],
        t("col.rating", lang): [str(int(v)) if pd.notna(v) else "—" for v in rows["rating"]],
    })
    event = st.dataframe(shown.style.format({late: _days_format(lang)}), hide_index=True, width="stretch",
                         height=_table_height(len(shown), 12), on_select="rerun", selection_mode="single-row",
                         key=f"drill_requests_{path.building_id}")
    if len(rows) >= drill.REQUEST_LIMIT:
        st.caption(t("drill.requests_cap", lang, n=drill.REQUEST_LIMIT))
    st.caption(t("drill.open_hint", lang))
    widgets.download_table(f"requests_{path.building_id}", shown, ctx, what=t("drill.children.request", lang))
    picked = event.selection.rows if event and event.selection else []
    if picked:
        go(path.territory_id, path.municipality_id, path.organization_id, path.building_id, int(rows.iloc[picked[0]]["ticket_id"]))


def _visible_building(ctx: PageContext, building_id) -> bool:
    labels = cache.query("drill_labels", ctx, level="building")
    return building_id in set(labels["child_id"])


def organization_card(path: drill.Path, ctx: PageContext) -> None:
    """The top of an organisation's card: its name and facts on two lines, then its open overdue
    requests (a row opens the request). Its KPIs, worst categories and comparison come after the
    table of its buildings (`organization_details`)."""
    card = cache.cached(drill.organization_card, ctx, path.organization_id, False)
    info = card["info"]
    lang = ctx.lang
    st.subheader(t("drill.org_card", lang) + f": {md_text(info['name'])}")
    municipalities = info["municipalities_en" if lang == "en" else "municipalities_ru"]
    facts = [f"{t('drill.org_inn', lang)} {md_text(info['inn']) or '—'}", t(f"kind.{info['kind']}", lang),
             f"{t('drill.org_buildings', lang)}: {fmt_number(info['buildings'], lang)}",
             f"{t('drill.org_municipalities', lang)}: " + (", ".join(md_text(m) for m in municipalities) or "—")]
    st.caption(" · ".join(facts))
    overdue = card["open_overdue"]
    st.markdown(f"**{t('drill.open_overdue', lang)}**" + (f" ({fmt_number(len(overdue), lang)})" if len(overdue) else ""))
    if overdue.empty:
        st.caption(t("drill.no_open_overdue", lang))
        return
    shown = overdue_table(overdue, lang)
    late = t("col.days_late", lang)
    event = st.dataframe(
        shown.style.format({late: _days_format(lang)}), hide_index=True, width="stretch",
        height=_table_height(len(shown), 6), on_select="rerun", selection_mode="single-row",
        key=f"drill_overdue_{path.organization_id}",
    )
    if len(overdue) >= drill.OVERDUE_LIMIT:
        st.caption(t("drill.overdue_cap", lang, n=drill.OVERDUE_LIMIT))
    st.caption(t("drill.open_hint", lang))
    picked = event.selection.rows if event and event.selection else []
    if picked:
        ticket = int(overdue.iloc[picked[0]]["ticket_id"])
        # Opened under its own building (and the rest of its place): the breadcrumbs show the way back.
        full = drill.place(cache.connection(ctx), drill.Path(ticket_id=ticket))
        go(full.territory_id, full.municipality_id, full.organization_id, full.building_id, ticket)


def overdue_table(overdue: pd.DataFrame, lang: str) -> pd.DataFrame:
    """An organisation's open overdue requests as shown: number, deadline, days late, category,
    address (the columns a head acts on)."""
    category = "category_en" if lang == "en" else "category_ru"
    return pd.DataFrame({
        t("col.ticket_id", lang): overdue["ticket_id"].to_numpy(),
        t("col.due_at", lang): [fmt_datetime(v, lang) for v in overdue["due_at"]],
        t("col.days_late", lang): _days(overdue["hours_late"]),
        t("col.category", lang): overdue[category].fillna("—").to_numpy(),
        t("col.address", lang): [privacy.localise(a, lang) if isinstance(a, str) else "—" for a in overdue["address"]],
    })


def worst_categories_table(worst: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The worst categories as shown: rank, category, then the measure the rank is by."""
    name = "name_en" if lang == "en" else "name_ru"
    names = worst[name].where(worst["child_id"].notna(), t("drill.none.category", lang))
    out = pd.DataFrame({t("col.rank", lang): worst["rank"].to_numpy(), t("col.category", lang): names.to_numpy()})
    for c in WORST_COLUMNS:
        out[t(f"col.{c}", lang)] = worst[c].to_numpy()
    return out


WORST_COLUMNS = ("missed", "on_time_rate", "due", "overdue_backlog_end", "created")


def organization_details(path: drill.Path, ctx: PageContext) -> None:
    """The rest of the organisation's card: its worst categories and its KPIs beside its direction's
    and the region's."""
    card = cache.cached(drill.organization_card, ctx, path.organization_id, False)
    own = cache.cached(metrics.kpi_comparison, ctx).set_index("metric")["value"].to_dict()  # the KPI cards' numbers
    kpis = {"organization": own, **card["kpis"]}
    lang = ctx.lang
    st.markdown(f"**{t('drill.worst_categories', lang)}**")
    worst = card["worst_categories"]
    if worst.empty:
        st.caption("—")
    else:
        shown = worst_categories_table(worst, lang)
        st.dataframe(tables.styled(shown, lang, ctx.target, WORST_COLUMNS), hide_index=True, width="content",
                     key=f"drill_worst_{path.organization_id}")
        st.caption(md_text(t("drill.rank_note", lang)))  # the English note starts with "#": not a heading
    st.markdown(f"**{t('drill.compare', lang)}**")
    compare = pd.DataFrame({
        t(f"drill.scope.{scope}", lang): {
            t(f"kpi.{metric}", lang): widgets.format_kpi(metric, values.get(metric), lang) for metric in widgets.CARD_METRICS
        }
        for scope, values in kpis.items()
    })
    compare.index.name = t("drill.compare_kpi", lang)
    st.dataframe(compare, width="content")


def key_value_frame(pairs: list[tuple[str, str]]) -> pd.DataFrame:
    """What a key–value list shows: names in bold, values escaped (st.table reads Markdown in its
    cells, and the values come from data)."""
    return pd.DataFrame({"field": [f"**{k}**" for k, _ in pairs], "value": [md_text(v) for _, v in pairs]})


def _key_value(pairs: list[tuple[str, str]], alt: str) -> None:
    """A key–value list: names on the left, values on the right, no header row, no index."""
    st.table(key_value_frame(pairs), hide_index=True, hide_header=True, border="horizontal", alt=alt)


def request_card(path: drill.Path, ctx: PageContext) -> None:
    lang = ctx.lang
    card = drill.request_card(cache.connection(ctx), path.ticket_id, ctx.as_of, lang)
    if card is None and not ctx.scope.is_everything:
        shell.refuse(ctx, "req", path.ticket_id)
    if card is None:
        st.warning(t("drill.request_missing", lang, id=path.ticket_id))
        return
    st.subheader(t("drill.request", lang, id=card["ticket_id"]))
    hours = card["hours_late"]
    if hours is None:
        status = t("drill.no_deadline", lang)
    elif hours > 0:
        status = late_text(hours, lang)
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
        t("drill.field.source", lang): sidebar.source_label(card["source"], lang),
        t("drill.field.status", lang): t(f"drill.status.{'open' if pd.isna(card['closed_at']) else 'closed'}", lang),
        t("drill.field.returns", lang): str(card["returned_count"]),
        t("drill.field.rating", lang): "—" if pd.isna(card["rating"]) else f"{int(card['rating'])} / 5",
    }
    left, right = st.columns(2)
    with left:
        st.markdown(f"**{t('drill.facts', lang)}**")
        _key_value([(k, v if isinstance(v, str) else "—") for k, v in facts.items()], t("drill.facts", lang))
    with right:
        st.markdown(f"**{t('drill.timeline', lang)}**")
        _key_value([(t(f"drill.event.{kind}", lang), fmt_datetime(moment, lang)) for kind, moment in card["timeline"]],
                   t("drill.timeline", lang))
        if card["returned_count"] and not card["returns_dated"]:
            st.caption(t("drill.returns_undated", lang, n=card["returned_count"]))
        st.markdown(f"**{t('drill.text', lang)}**")
        st.text(card["description"] or t("drill.no_text", lang))  # plain text: never rendered as Markdown
