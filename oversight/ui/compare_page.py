"""The Before/after page's pieces: choosing the event or the periods and the treated municipalities,
and showing the raw comparison beside the honest one (intervals, difference-in-differences, the
interrupted time series), per direction and municipality, with a map of the change."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pandas as pd
import streamlit as st

from oversight import guarded, store
from oversight.access import AccessDenied
from oversight.analysis import compare, heatmap
from oversight.i18n import fmt_date, fmt_number, fmt_percent, fmt_signed_percent, name_column, t
from oversight.ingest import events as ev
from oversight.output import charts
from oversight.output.presentation import md_text
from oversight.ui import cache, context, widgets
from oversight.ui.context import PageContext


def choose(ctx: PageContext) -> tuple[compare.Periods, list[int], list[int], dt.date | None]:
    """The periods, the treated municipalities and organisations, and the event's date (None for
    periods by hand)."""
    lang = ctx.lang
    events = cache.query("events_all", ctx)
    mode = widgets.url_choice("mode", ("event", "manual"), "event" if not events.empty else "manual",
                         lambda m: t(f"compare.mode.{m}", lang), t("compare.mode", lang))
    municipalities = cache.query("filter_municipalities", ctx)
    current = cache.query("municipality_current", ctx).set_index("municipality_id")["current_id"]
    last_day = (ctx.as_of - dt.timedelta(days=1)).date()
    default_treated: list[int] = []
    default_orgs: list[int] = []
    event_date = None
    if mode == "event" and not events.empty:
        labels = {int(r.event_id): f"{fmt_date(r.event_date.date(), lang)} · {t(f'event.{r.kind}', lang)} · {r.title}"
                  for r in events.itertuples()}
        # Not the newest event (often an inspection with a dozen missed deadlines, nothing to conclude
        # from) but the most informative one: compare.default_event says how it is chosen.
        power = _event_power(ctx.db_path, ctx.version, ctx.scope, ctx.as_of)
        chosen = compare.default_event(power)
        default = str(chosen if chosen in labels else next(iter(labels)))
        event_id = widgets.url_choice("event", [str(i) for i in labels], default,
                                 lambda i: labels[int(i)], t("compare.event", lang))
        reliable = power[compare.enough_data(power) & power["has_group"].astype(bool)]["event_id"]
        if event_id == default and int(default) in set(reliable):  # say why this one, when the rule found one
            st.caption(t("compare.default_note", lang))
        row = events[events["event_id"] == int(event_id)].iloc[0]
        days = st.slider(t("compare.days", lang), 14, 180, compare.DEFAULT_DAYS, step=7, key="cmp_days")
        periods, default_treated, default_orgs, event_date = around_event(row, days, last_day, current)
    else:
        left, right = st.columns(2)
        before = left.date_input(t("compare.before", lang), value=(ctx.filters.previous().start, ctx.filters.previous().end),
                                 max_value=last_day, key="cmp_before", format="DD.MM.YYYY" if lang == "ru" else "YYYY-MM-DD")
        after = right.date_input(t("compare.after", lang), value=(ctx.filters.start, ctx.filters.end),
                                 max_value=last_day, key="cmp_after", format="DD.MM.YYYY" if lang == "ru" else "YYYY-MM-DD")
        if len(before) != 2 or len(after) != 2:
            st.info(t("compare.pick_both", lang))
            st.stop()
        try:
            periods = compare.Periods(before[0], before[1], after[0], after[1])
        except ValueError:
            st.warning(t("compare.bad_periods", lang))
            st.stop()
    names = dict(zip(municipalities["municipality_id"], municipalities[name_column(lang)]))
    organizations = cache.query("filter_organizations", ctx)
    org_names = {int(r.organization_id): f"{r.name} ({t('col.inn', lang)} {r.inn})" for r in organizations.itertuples()}
    left, right = st.columns(2)
    treated = left.multiselect(t("compare.treated", lang), list(names), default=default_treated,
                               format_func=lambda m: names.get(m, str(m)), key=f"cmp_treated_{event_date}",
                               placeholder=t("compare.choose", lang))
    orgs = right.multiselect(t("compare.treated_orgs", lang), list(org_names), default=default_orgs,
                             format_func=lambda o: org_names.get(o, str(o)), key=f"cmp_orgs_{event_date}",
                             placeholder=t("compare.choose", lang))
    st.caption(t("compare.period_note", lang, before=f"{fmt_date(periods.before_start, lang)} – {fmt_date(periods.before_end, lang)}",
                 after=f"{fmt_date(periods.after_start, lang)} – {fmt_date(periods.after_end, lang)}"))
    return periods, [int(m) for m in treated], [int(o) for o in orgs], event_date


# A fragment (#21): choosing another event, period or municipality reruns only the comparison, not
# the page's context and sidebar. What changes the sidebar's filters reruns the whole page as before.
@st.fragment
def comparison(ctx: PageContext) -> None:
    """The choice of event or periods and what the comparison shows for it."""
    periods, treated, orgs, event_date = choose(ctx)
    results(ctx, periods, treated, orgs, event_date)


def around_event(row, days: int, last_day: dt.date, current: pd.Series) -> tuple[compare.Periods, list[int], list[int], dt.date]:
    """An event's periods (`days` either side, cut at the data's last day), the municipality or the
    organisation it concerns (today's municipality for a merged one), and its date."""
    event_date = row["event_date"].date()
    periods = compare.Periods.around(event_date, days)
    if periods.after_end > last_day:  # the data end earlier: compare what there is
        periods = replace(periods, after_end=max(last_day, periods.after_start))
    if pd.notna(row["organization_id"]):
        return periods, [], [int(row["organization_id"])], event_date
    if pd.notna(row["municipality_id"]):
        return periods, [int(current.get(int(row["municipality_id"]), row["municipality_id"]))], [], event_date
    return periods, [], [], event_date


def warm(source: context.Source, filters, as_of: dt.datetime) -> None:
    """What a first visit to the page computes with the default filters, under `source`'s scope (at
    the server's start: warmup.warm_up_pages): every event's power, and the default event's comparison."""
    events = cache.query("events_all", source)
    if events.empty:
        return
    power = _event_power(source.db_path, source.version, source.scope, as_of)
    chosen = compare.default_event(power)
    if chosen not in set(events["event_id"].astype(int)):
        chosen = int(events["event_id"].iloc[0])
    current = cache.query("municipality_current", source).set_index("municipality_id")["current_id"]
    row = events[events["event_id"] == chosen].iloc[0]
    periods, treated, orgs, event_date = around_event(row, compare.DEFAULT_DAYS, (as_of - dt.timedelta(days=1)).date(), current)
    scope = _over(filters, periods)
    cache.cached_for(source, compare.compare, scope, as_of, periods, tuple(treated), tuple(orgs))
    if treated or orgs:
        cache.cached_for(source, compare.interrupted_series, scope, as_of, event_date, tuple(treated), 26, tuple(orgs))


@st.cache_data(show_spinner=False, max_entries=64)
def _event_power(db_path: str, version: str, scope, as_of: dt.datetime) -> pd.DataFrame:
    """Every event's data either side (compare.event_power) under the session's scope: one query per
    data version and scope, shared by every session with that scope."""
    return compare.event_power(cache.connection(context.Source(db_path, version, scope)), as_of, compare.DEFAULT_DAYS)


# The conclusion's box says what the conclusion says: green only for a sure improvement.
_BOX = {"better": st.success, "worse": st.error, "unclear": st.info, "none": st.info}


def _scope(ctx: PageContext, periods: compare.Periods):
    """The sidebar's scope (direction, category, source, organisation) over the compared days."""
    return _over(ctx.filters, periods)


def _over(filters, periods: compare.Periods):
    return replace(filters, start=periods.before_start, end=periods.after_end, municipality_id=None)


def results(ctx: PageContext, periods: compare.Periods, treated: list[int], orgs: list[int],
            event_date: dt.date | None) -> None:
    lang = ctx.lang
    scope = _scope(ctx, periods)
    result = cache.cached(compare.compare, ctx, periods, tuple(treated), tuple(orgs), filters=scope)
    _BOX[compare.verdict(result)](compare.conclusion(result, lang))
    for key, values in result["warnings"]:
        shown = {k: fmt_signed_percent(v, lang) if k == "change" else v for k, v in values.items()}
        st.warning(t(key, lang, **shown))
    main = result.get("treated") or result["region"]
    a, b, c, d = st.columns(4)
    a.metric(t("compare.per_day_before", lang), fmt_number(main["missed_per_day_before"], lang, 1), border=True)
    b.metric(t("compare.per_day_after", lang), fmt_number(main["missed_per_day_after"], lang, 1),
             delta=fmt_signed_percent(main["change"], lang) or None, delta_color="inverse", border=True)
    b.caption(_interval(main, lang))
    c.metric(t("compare.on_time", lang), fmt_percent(main["on_time_after"], lang), border=True)
    c.caption(t("compare.was", lang, value=fmt_percent(main["on_time_before"], lang)))
    did = result.get("did")
    if did and did["ratio"] is not None:
        d.metric(t("compare.did", lang), fmt_signed_percent(did["ratio"] - 1, lang), border=True)
        d.caption(_interval(did, lang))

    if treated or orgs:
        its = cache.cached(compare.interrupted_series, ctx, event_date or periods.after_start, tuple(treated), 26,
                        tuple(orgs), filters=scope)
        if not its["weekly"].empty:
            st.subheader(t("compare.its", lang))
            widgets.plotly(charts.interrupted_series_chart(its["weekly"], event_date or periods.after_start,
                                                      t("compare.its.title", lang, step=_step(its["step"], lang)), lang),
                      key="compare_its")
            st.caption(t("compare.its.note", lang))

    st.subheader(t("compare.table", lang))
    table = _table(result, ctx)
    st.dataframe(table, hide_index=True, width="stretch", height=min(36 + 35 * len(table), 520))
    widgets.download_table("before_after", table, ctx, what=f"{t('compare.title', lang)}. {t('compare.table', lang)}")

    st.subheader(t("compare.map", lang))
    values = compare.change_map_values(result, cache.query("filter_municipalities", ctx),
                                       cache.query("filter_territories", ctx))
    figure = charts.choropleth_map(values, heatmap.map_geojson(widgets.url_root()), heatmap.direction_outlines(), "change", 0.0, lang,
                                   ctx.filters.territory_id, feature_ids=heatmap.boundary_ids())
    widgets.plotly(figure, key="compare_map")
    st.caption(t("compare.map_note", lang) + " " + t("map.attribution", lang))


def _interval(row: dict, lang: str) -> str:
    if row.get("low") is None:
        return ""
    return t("compare.ci", lang, low=fmt_signed_percent(row["low"] - 1, lang, 0), high=fmt_signed_percent(row["high"] - 1, lang, 0))


def _step(step: dict, lang: str) -> str:
    if step["ratio"] is None:
        return "—"
    return f"{fmt_signed_percent(step['ratio'] - 1, lang, 0)} ({_interval(step, lang)})"


def _table(result: dict, ctx: PageContext) -> pd.DataFrame:
    """Region, treated and untreated groups, directions and municipalities: per day before and after,
    the change with its interval, the on-time rate before and after."""
    lang = ctx.lang
    name = name_column(lang)
    rows = [(t("compare.row.region", lang), result["region"])]
    if "treated" in result:
        rows += [(t("compare.row.treated", lang), result["treated"]), (t("compare.row.control", lang), result["control"])]
    territories = cache.query("filter_territories", ctx).set_index("territory_id")[name]
    municipalities = cache.query("filter_municipalities", ctx).set_index("municipality_id")[name]
    rows += [(territories.get(r["territory_id"], r["territory_id"]), r) for r in result["by_territory"].to_dict("records")]
    rows += [(municipalities.get(r["municipality_id"], r["municipality_id"]), r)
             # Surest rises first (by the interval's lower end): a tiny municipality's +300 % on two requests
             # is noise and its interval says so.
             for r in result["by_municipality"].sort_values("low", ascending=False, na_position="last").to_dict("records")]
    return pd.DataFrame({
        t("col.name", lang): [label for label, _ in rows],
        t("compare.col.before", lang): [fmt_number(r["missed_per_day_before"], lang, 2) for _, r in rows],
        t("compare.col.after", lang): [fmt_number(r["missed_per_day_after"], lang, 2) for _, r in rows],
        t("compare.col.change", lang): [fmt_signed_percent(r["change"], lang) or "—" for _, r in rows],
        t("compare.col.interval", lang): [_interval(r, lang) or "—" for _, r in rows],
        t("compare.col.on_time_before", lang): [fmt_percent(r["on_time_before"], lang) for _, r in rows],
        t("compare.col.on_time_after", lang): [fmt_percent(r["on_time_after"], lang) for _, r in rows],
    })


def register(ctx: PageContext) -> None:
    """The events register: edit it in place (add, change, delete rows) or import a CSV / Excel file.
    Every row is checked before anything is written; refused rows are shown with the reason."""
    lang = ctx.lang
    st.subheader(t("compare.register", lang))
    report = st.session_state.pop("_events_report", None)
    if report is not None:  # what the last save checked, shown after the page reloaded
        counts, refused, saved = report
        st.info(counts)
        if len(refused):
            st.dataframe(refused, hide_index=True, width="stretch")
        if saved is not None:
            st.success(t("events.saved", lang, n=saved))
    events = cache.query("events_all", ctx)
    municipalities = cache.query("filter_municipalities", ctx)
    organizations = cache.query("filter_organizations", ctx)
    current = cache.query("municipality_current", ctx).set_index("municipality_id")["current_id"]
    name = name_column(lang)
    mun_names = dict(zip(municipalities["municipality_id"], municipalities[name]))
    inns = dict(zip(organizations["organization_id"], organizations["inn"]))
    kind_label = {k: t(f"event.{k}", lang) for k in ev.KINDS}
    region = t("event.region", lang)  # no municipality: the whole region
    shown = pd.DataFrame({
        "event_id": events["event_id"],
        "event_date": events["event_date"].dt.date,
        "kind": [kind_label[k] for k in events["kind"]],
        "title": events["title"],
        "municipality": [mun_names.get(current.get(m, m), "") if pd.notna(m) else region for m in events["municipality_id"]],
        "organization": [inns.get(o, "") if pd.notna(o) else "" for o in events["organization_id"]],
    })
    # Typed even when the register is empty (an imported database): the editor refuses float columns as text.
    shown = shown.astype({"kind": "string", "title": "string", "municipality": "string", "organization": "string"})
    shown["event_date"] = pd.to_datetime(shown["event_date"]).dt.date if len(shown) else pd.Series([], dtype="datetime64[ns]")
    if not ctx.principal.can("edit_events"):  # shown, not editable (the library refuses a write anyway)
        st.dataframe(shown, hide_index=True, width="stretch")
        st.caption(t("events.read_only", lang))
        return
    edited = st.data_editor(
        shown, num_rows="dynamic", hide_index=True, width="stretch", key=f"events_editor_{ctx.version}",
        column_config={
            "event_id": st.column_config.NumberColumn("ID", disabled=True),
            "event_date": st.column_config.DateColumn(t("compare.col.date", lang), format="DD.MM.YYYY" if lang == "ru" else "YYYY-MM-DD"),
            "kind": st.column_config.SelectboxColumn(t("compare.col.kind", lang), options=list(kind_label.values())),
            "title": st.column_config.TextColumn(t("compare.col.title", lang)),
            "municipality": st.column_config.SelectboxColumn(t("col.municipality", lang), options=[region] + sorted(mun_names.values())),
            "organization": st.column_config.TextColumn(t("col.inn", lang)),
        },
    )
    st.caption(t("events.editor_hint", lang))
    if st.button(t("events.save", lang), key="events_save"):
        raw = edited.astype(object).where(edited.notna(), "").astype(str)  # every cell as text, empty for none
        raw["municipality"] = raw["municipality"].replace(region, "")
        save_events(ctx, raw, municipalities, organizations, replace_all=True)

    upload = st.file_uploader(t("events.import", lang), type=["csv", "xlsx"], key="events_upload")
    if upload is not None:
        try:
            frame = ev.read_file(upload.getvalue(), upload.name)
        except ValueError as error:
            st.error(t("events.unreadable", lang, error=md_text(error)))  # names the file and its columns
            return
        frame = frame.drop(columns=["event_id"], errors="ignore")
        if st.button(t("events.add_from_file", lang, n=len(frame)), key="events_import"):
            save_events(ctx, frame, municipalities, organizations, replace_all=False)


def save_events(ctx: PageContext, raw: pd.DataFrame, municipalities, organizations, replace_all: bool,
                action: str = "edit_events") -> None:
    """Check the rows; write only if every row of an edit is good (an import adds the good rows and
    lists the others). Counts always reconcile: read = accepted + refused."""
    lang = ctx.lang
    first_created = pd.Timestamp(cache.query("data_range", ctx)["first_created"].iloc[0])
    first = ((first_created if pd.notna(first_created) else pd.Timestamp(ctx.as_of)) - pd.Timedelta(days=365)).date()
    last = (ctx.as_of + dt.timedelta(days=365)).date()
    accepted, refused = ev.validate(raw, municipalities, organizations, first, last, lang)
    counts = t("events.counts", lang, read=len(raw), accepted=len(accepted), refused=len(refused))
    refused = refused.rename(columns={"line": t("events.col.line", lang), "reason": t("events.col.reason", lang)})
    if replace_all and len(refused):
        st.info(counts)
        st.dataframe(refused, hide_index=True, width="stretch")
        st.warning(t("events.not_saved", lang))
        return
    try:
        if replace_all:
            new_register = guarded.replace_events(ctx.principal, ctx.db_path, accepted)
        else:
            new_register = guarded.add_events(ctx.principal, ctx.db_path, accepted, action=action)
    except (AccessDenied, store.WriterBusy) as error:  # not allowed, or an import held the file too long
        st.error(md_text(error))
        return
    st.session_state["_events_report"] = (counts, refused, len(new_register))
    st.rerun()
