"""The Compliance page's pieces (Контроль): the watchlist of organisations that regularly miss the
e-interaction agreement's deadlines, recording an inspection, order or fine for one of them, and
deadlines on weekends and holidays.

The watchlist looks back from the data's moment (as_of) over complete months; the on-time target is
the sidebar's. The weekend section uses the sidebar's period. Both follow the direction and
municipality filters.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from oversight.analysis import compliance
from oversight.filters import ascii_digits
from oversight.i18n import fmt_date, fmt_number, fmt_percent, name_column, t
from oversight.output.presentation import md_text
from oversight.output.theme import BAD_BG, GOOD_BG
from oversight.ui import cache, compare_page, context, excel_downloads
from oversight.ui.context import PageContext

SMALL_BG = "#eceff1"
RECORDABLE = ("inspection", "order", "fine")


def _int_from_url(key: str, default: int, low: int, high: int) -> int:
    raw = str(st.query_params.get(key, ""))
    return min(max(int(raw), low), high) if ascii_digits(raw) and len(raw) < 6 else default


def warm(source: context.Source, filters, as_of) -> None:
    """What a first visit computes with the default rule and filters (warmup.warm_up_pages)."""
    chosen = compliance.Rule(target=context.DEFAULT_TARGET)
    cache.cached_for(source, compliance.watchlist, filters, as_of, chosen)
    cache.cached_for(source, compliance.weekends, filters, as_of, chosen.min_volume)


def rule(ctx: PageContext) -> compliance.Rule:
    """K, M and the minimum volume (kept in the link: `k`, `m`, `minv`); the target is the sidebar's."""
    lang = ctx.lang
    defaults = compliance.Rule()
    for key, default, low, high in (("k", defaults.k, 1, 36), ("m", defaults.m, 1, 36), ("minv", defaults.min_volume, 1, 10_000)):
        if f"pg_{key}" not in st.session_state:
            st.session_state[f"pg_{key}"] = _int_from_url(key, default, low, high)
    a, b, c = st.columns(3)
    k = a.number_input(t("compliance.k", lang), min_value=1, max_value=36, step=1, key="pg_k")
    m = b.number_input(t("compliance.m", lang), min_value=1, max_value=36, step=1, key="pg_m")
    volume = c.number_input(t("compliance.min_volume", lang), min_value=1, max_value=10_000, step=5, key="pg_minv")
    if k > m:  # a link or a typed K above M: the rule cannot be applied; K = M is, and is said
        st.warning(t("compliance.k_above_m", lang, k=int(k), m=int(m)))
        k = m
    chosen = compliance.Rule(k=int(k), m=int(m), target=ctx.target, min_volume=int(volume))
    for key, value, default in (("k", chosen.k, defaults.k), ("m", chosen.m, defaults.m), ("minv", chosen.min_volume, defaults.min_volume)):
        if value == default:
            if key in st.query_params:
                del st.query_params[key]
        elif st.query_params.get(key) != str(value):
            st.query_params[key] = str(value)
    st.caption(t("compliance.rule", lang, k=chosen.k, m=chosen.m, target=fmt_percent(chosen.target, lang, 0),
                 min_volume=chosen.min_volume, as_of=fmt_date(ctx.as_of.date(), lang)))
    return chosen


def _month_label(month: dt.date, lang: str) -> str:
    return f"{month.month:02d}.{month.year}" if lang == "ru" else f"{month.year}-{month.month:02d}"


def watchlist_table(result: dict, ctx: PageContext) -> pd.DataFrame:
    """The list as shown and exported, in the order to act on it (compliance.by_priority): one row
    per organisation; first the columns to act on (name, months below the target, requests open
    past their deadline now), then one column per month (on-time rate, or the count under the
    minimum volume), then the time on the list, the latest event, INN and municipality."""
    lang = ctx.lang
    listed, record = result["list"], result["record"]
    municipalities = cache.query("filter_municipalities", ctx)
    current = cache.query("municipality_current", ctx).set_index("municipality_id")["current_id"]
    mun_names = dict(zip(municipalities["municipality_id"], municipalities[name_column(lang)]))
    table = pd.DataFrame({
        "№": range(1, len(listed) + 1),
        t("col.name", lang): listed["name"],
        t("compliance.col.failed", lang): [f"{int(f)} / {len(result['months'])}" for f in listed["months_failed"]],
        t("compliance.col.open_overdue", lang): listed["open_overdue"].astype("int64").to_numpy(),
    })
    rates = record.pivot(index="organization_id", columns="month", values="on_time_rate").reindex(listed["organization_id"])
    for month in result["months"]:
        table[_month_label(month, lang)] = rates[month].to_numpy() if month in rates else None
    table[t("compliance.col.since", lang)] = [_month_label(m, lang) if m is not None and pd.notna(m) else "—"
                                              for m in listed["on_list_since"]]
    table[t("compliance.col.event", lang)] = [_event_text(row, lang) for row in listed.to_dict("records")]
    table[t("col.inn", lang)] = listed["inn"].to_numpy()
    table[t("col.municipality", lang)] = [mun_names.get(current.get(m, m), "") for m in listed["municipality_id"]]
    return table


def _event_text(row: dict, lang: str) -> str:
    if row.get("event_date") is None or pd.isna(row.get("event_date")):
        return "—"
    text = f"{t('event.' + row['event_kind'], lang)} {fmt_date(row['event_date'], lang)}: "
    if row["improved"] == "too_early":
        return text + t("compliance.too_early", lang)
    return text + t(f"compliance.improved.{row['improved']}", lang, before=fmt_percent(row["rate_before"], lang),
                    after=fmt_percent(row["rate_after"], lang))


def _styled(table: pd.DataFrame, organizations, result: dict, ctx: PageContext):
    """Month cells coloured by status: red failed, green passed, grey under the minimum volume
    (`organizations`: the ids of the table's rows, in order)."""
    lang = ctx.lang
    status = result["record"].pivot(index="organization_id", columns="month", values="status").reindex(organizations)
    month_columns = [_month_label(m, lang) for m in result["months"]]
    colours = {"fail": BAD_BG, "pass": GOOD_BG, "small": SMALL_BG}

    def colour(column: pd.Series) -> list[str]:
        month = result["months"][month_columns.index(column.name)]
        states = status[month].tolist() if month in status else [None] * len(column)
        return [f"background-color: {colours.get(s, SMALL_BG)}" for s in states]

    return (table.style.apply(colour, subset=month_columns)
            .format({c: (lambda v: fmt_percent(v, lang) if pd.notna(v) else "—") for c in month_columns}))


# How many organisations the list shows before «show all»: a list an inspectorate can act on in a
# month (the default rule puts about a fifth of all organisations on it). The rule is unchanged;
# the rest are counted and one switch away, and the Excel case file holds them all.
TOP = 20


# The table's width at 1366×768 with the sidebar open, less the row-selection column (px), and the
# widths of a month's cell («100,0 %») and of the rank; the name gets what is left (#19).
TABLE_PX_1366 = 870
MONTH_PX, RANK_PX, NAME_MIN_PX = 64, 36, 180


def header_px(label: str) -> int:
    """About how wide a header must be to show `label` whole (the grid's 14 px font, padding)."""
    return int(20 + 6.6 * len(label))


def column_config(table: pd.DataFrame, result: dict, lang: str) -> dict:
    """Widths and short headers, so that at 1366×768 with the sidebar open the columns to act on
    (№, name, months below the target, open overdue now) and the months (up to six) fit without
    scrolling sideways; those four stay pinned when the table is scrolled."""
    months = len(result["months"])
    failed, overdue = t("compliance.col.failed", lang), t("compliance.col.open_overdue", lang)
    failed_label, overdue_label = t("compliance.col.failed_short", lang), t("compliance.col.open_overdue_short", lang)
    failed_px, overdue_px = header_px(failed_label), header_px(overdue_label)
    name_px = max(NAME_MIN_PX, TABLE_PX_1366 - RANK_PX - failed_px - overdue_px - MONTH_PX * min(months, 6))
    config = {
        "№": st.column_config.NumberColumn("№", width=RANK_PX, pinned=True, help=t("compliance.col.rank_help", lang)),
        t("col.name", lang): st.column_config.TextColumn(t("col.name", lang), width=name_px, pinned=True),
        failed: st.column_config.TextColumn(failed_label, width=failed_px, pinned=True,
                                            help=t("compliance.col.failed_help", lang, m=months)),
        overdue: st.column_config.NumberColumn(overdue_label, width=overdue_px, pinned=True, help=overdue, format="%d"),
    }
    for month in result["months"]:
        config[_month_label(month, lang)] = st.column_config.Column(width=MONTH_PX)
    return config


def watchlist(ctx: PageContext, chosen: compliance.Rule) -> dict:
    lang = ctx.lang
    result = cache.cached(compliance.watchlist, ctx, chosen)
    listed = result["list"]
    st.subheader(t("compliance.watchlist", lang, n=len(listed)))
    if listed.empty:
        st.success(t("compliance.nobody", lang))
        return result
    months = result["months"]
    st.caption(t("compliance.summary", lang, n=fmt_number(len(listed), lang), now=fmt_number(int(listed["failing_now"].sum()), lang),
                 month=_month_label(months[-1], lang), every=fmt_number(int((listed["months_failed"] == len(months)).sum()), lang),
                 m=len(months)))
    table = watchlist_table(result, ctx)
    show_all = True
    if len(table) > TOP:
        show_all = st.toggle(t("compliance.show_all", lang, n=fmt_number(len(table), lang)), key="watchlist_all")
        if not show_all:
            st.caption(t("compliance.top_note", lang, shown=TOP, n=fmt_number(len(table), lang),
                         rest=fmt_number(len(table) - TOP, lang)))
    shown = table if show_all else table.head(TOP)
    organizations = listed["organization_id"].iloc[:len(shown)]
    picked = st.dataframe(_styled(shown, organizations, result, ctx), hide_index=True, width="stretch",
                          height=min(38 + 35 * len(shown), 460), column_config=column_config(shown, result, lang),
                          on_select="rerun", selection_mode="single-row", key="watchlist_table")
    st.caption(t("compliance.legend", lang) + " " + t("compliance.priority_note", lang))
    st.download_button(
        t("download.xlsx", lang), data=excel_downloads.xlsx({t("compliance.sheet", lang): excel_table(result, ctx)}, ctx,
                                                      excel_title(result, lang), period=False, target=False,
                                                      extra=[rule_line(result, chosen, ctx)]),
        key="watchlist_xlsx", file_name=f"watchlist_{ctx.as_of.date()}.xlsx", mime=excel_downloads.XLSX_MIME, on_click="ignore")
    if picked.selection.rows:
        st.session_state["compliance_org"] = int(listed.iloc[picked.selection.rows[0]]["organization_id"])
    return result


def excel_title(result: dict, lang: str) -> str:
    return t("compliance.xlsx_title", lang, n=fmt_number(len(result["list"]), lang))


def rule_line(result: dict, chosen: compliance.Rule, ctx: PageContext) -> str:
    """The rule in one line for the case file: K of M, the months, the target, the minimum volume."""
    lang, months = ctx.lang, result["months"]
    return t("compliance.xlsx_rule", lang, k=chosen.k, m=chosen.m, target=fmt_percent(chosen.target, lang, 0),
             first=_month_label(months[0], lang), last=_month_label(months[-1], lang), min_volume=chosen.min_volume)


def excel_table(result: dict, ctx: PageContext) -> pd.DataFrame:
    """The list in the form an inspector attaches to a case, in the order to act on it: organisation,
    INN, municipality, months failed, due / missed / on-time per month, open overdue now, and the
    date of the data (numbers as numbers: the file formats them)."""
    lang = ctx.lang
    shown = watchlist_table(result, ctx)
    base = shown[[t("col.name", lang), t("col.inn", lang), t("col.municipality", lang), t("compliance.col.failed", lang)]].copy()
    record = result["record"]
    organizations = result["list"]["organization_id"].to_numpy()
    for month in result["months"]:
        label = _month_label(month, lang)
        # One lookup per month for every listed organisation (not one per cell: 1.5 s at 10M).
        of_month = record[record["month"] == month].set_index("organization_id").reindex(organizations)
        for column, key in (("due", "examples.col.due"), ("missed", "examples.col.missed"), ("on_time_rate", "col.on_time_rate")):
            base[f"{label}: {t(key, lang)}"] = of_month[column].to_numpy()
    base[t("compliance.col.open_overdue", lang)] = shown[t("compliance.col.open_overdue", lang)]
    base[t("compliance.col.data_date", lang)] = ctx.as_of.strftime("%d.%m.%Y %H:%M")
    return base


def _excel(result: dict, ctx: PageContext, chosen: compliance.Rule | None = None) -> bytes:
    """The case file as the page's button builds it (title block, formats)."""
    extra = [rule_line(result, chosen, ctx)] if chosen is not None else []
    return excel_downloads.workbook({t("compliance.sheet", ctx.lang): excel_table(result, ctx)},
                              excel_downloads.title_args(ctx, excel_title(result, ctx.lang), period=False,
                                                   target=chosen is None, extra=extra))


def record_event(ctx: PageContext, result: dict) -> None:
    """Record an inspection, order or fine for an organisation on the list: it goes into the events
    register, so the Before/after page can later measure it."""
    lang = ctx.lang
    listed = result["list"]
    if listed.empty or not ctx.principal.can("record_action"):
        return
    st.subheader(t("compliance.record", lang))
    report = st.session_state.pop("_events_report", None)
    if report is not None:
        counts, refused, saved = report
        (st.warning if len(refused) else st.success)(counts)
        if len(refused):
            st.dataframe(refused, hide_index=True, width="stretch")
    options = listed["organization_id"].astype(int).tolist()
    names = dict(zip(options, listed["name"]))
    inns = dict(zip(options, listed["inn"]))
    default = st.session_state.get("compliance_org")
    with st.form("record_event"):
        org = st.selectbox(t("col.name", lang), options, index=options.index(default) if default in options else 0,
                           format_func=lambda o: f"{names[o]} ({t('col.inn', lang)} {inns[o]})")
        kind = st.selectbox(t("compare.col.kind", lang), RECORDABLE, format_func=lambda k: t(f"event.{k}", lang))
        day = st.date_input(t("compare.col.date", lang), value=ctx.as_of.date(),
                            format="DD.MM.YYYY" if lang == "ru" else "YYYY-MM-DD")
        title = st.text_input(t("compare.col.title", lang), placeholder=t("compliance.title_hint", lang))
        if st.form_submit_button(t("compliance.record_button", lang)):
            raw = pd.DataFrame([{
                "event_date": day.isoformat(), "kind": kind,
                "title": title.strip() or t(f"compliance.default_title.{kind}", lang),
                "municipality": "", "organization": str(inns[org]),
            }])
            compare_page.save_events(ctx, raw, cache.query("filter_municipalities", ctx),
                                   cache.query("filter_organizations", ctx), replace_all=False, action="record_action")


# ---------------------------------------------------------------- weekends and holidays


def weekends(ctx: PageContext, min_volume: int) -> None:
    lang = ctx.lang
    st.subheader(t("compliance.weekends", lang))
    country = compliance.calendar_of(cache.connection(ctx))
    st.caption(t("compliance.weekends_note", lang) if country == "RU" else t("compliance.weekends_note_other", lang, country=md_text(country)))
    result = cache.cached(compliance.weekends, ctx, min_volume)
    region = result["region"].set_index("day_kind")
    columns = st.columns(len(compliance.DAY_KINDS))
    working_rate = region["on_time_rate"].get("working")
    for column, kind in zip(columns, compliance.DAY_KINDS):
        if kind == "new_year" and country != "RU":
            continue
        rate = region["on_time_rate"].get(kind)
        due = region["due"].get(kind, 0)
        if not due:  # no deadline fell on such a day in the period: no rate to show
            column.markdown(f"**{t(f'compliance.kind.{kind}', lang)}**")
            column.caption(t("compliance.kind_none", lang))
            continue
        delta = None if rate is None or working_rate is None or kind == "working" or pd.isna(rate) else rate - working_rate
        column.metric(t(f"compliance.kind.{kind}", lang), fmt_percent(rate, lang),
                      delta=None if delta is None else t("compliance.vs_working", lang, delta=fmt_number(delta * 100, lang, 1)),
                      delta_color="normal", border=True,
                      help=t("compliance.kind_help", lang, due=fmt_number(due, lang),
                             missed=fmt_number(region["missed"].get(kind, 0), lang)))
    tabs = st.tabs([t("compliance.by.territory", lang), t("compliance.by.municipality", lang),
                    t("compliance.by.organization", lang), t("compliance.gap", lang)])
    source = context.Source(ctx.db_path, ctx.version, ctx.scope)
    labels = _labels(source, lang)
    for tab, level, column in zip(tabs[:3], ("territory", "municipality", "organization"),
                                  ("territory_id", "current_municipality_id", "organization_id")):
        with tab:
            # Shared by every session that shows the same rows (a few thousand organisations' rows
            # formatted on every run cost about a tenth of the server's CPU with 20 sessions).
            table = cache.shared(_kinds_wide_labelled, result[level], column, level, source, lang)
            st.dataframe(table, hide_index=True, width="stretch", height=min(38 + 35 * len(table), 420))
            excel_downloads.download_table(f"weekends_{level}", _kinds_numeric(result[level], column, labels[level], lang), ctx,
                                     f"{t('compliance.weekends', lang)}: {t(f'compliance.by.{level}', lang).lower()}",
                                     sheet=t(f"compliance.by.{level}", lang), target=False)
    with tabs[3]:
        gap = result["gap"].head(20)
        st.caption(t("compliance.gap_note", lang, min_volume=min_volume))
        if gap.empty:
            st.info(t("compliance.gap_none", lang))
        else:
            table = pd.DataFrame({
                t("col.name", lang): gap["organization_id"].map(labels["organization"]),
                t("compliance.col.share_off", lang): [f"{fmt_percent(s, lang)} ({fmt_number(m, lang)} / {fmt_number(d, lang)})"
                                                      for s, m, d in zip(gap["share_off"], gap["missed_off"], gap["due_off"])],
                t("compliance.col.share_working", lang): [fmt_percent(s, lang) for s in gap["share_working"]],
                t("compliance.col.difference", lang): [f"{fmt_number(d * 100, lang, 1)} ({fmt_number(lo * 100, lang, 1)} … {fmt_number(hi * 100, lang, 1)})"
                                                       for d, lo, hi in zip(gap["difference"], gap["low"], gap["high"])],
            })
            st.dataframe(table, hide_index=True, width="stretch")
            excel_downloads.download_table("weekend_gap", _gap_numeric(gap, labels["organization"], lang), ctx,
                                     t("compliance.gap", lang), formats=_gap_formats(lang), target=False,
                                     extra=[t("compliance.gap_note", lang, min_volume=min_volume)])


def _labels(source: context.Source, lang: str) -> dict[str, dict]:
    """Names of the areas and organisations the scope sees, by id (shared by every session: read-only)."""
    return cache.shared(_labels_of, source, lang)


def _labels_of(source: context.Source, lang: str) -> dict[str, dict]:
    name = name_column(lang)
    out = {}
    for level in ("territory", "municipality", "organization"):
        frame = cache.query("drill_labels", source, level=level)
        out[level] = dict(zip(frame["child_id"], frame[name]))
    return out


def _kinds_wide_labelled(rows: pd.DataFrame, column: str, level: str, source: context.Source, lang: str) -> pd.DataFrame:
    return _kinds_wide(rows, column, _labels(source, lang)[level], lang)


def _kinds_wide(rows: pd.DataFrame, column: str, names: dict, lang: str) -> pd.DataFrame:
    """One row per area: the on-time rate (and deadlines) for each kind of day, worst days-off rate first."""
    if rows.empty:
        return pd.DataFrame()
    wide = rows.pivot(index=column, columns="day_kind", values=["due", "on_time_rate"])
    table = pd.DataFrame({t("col.name", lang): [names.get(i, str(i)) for i in wide.index]})
    for kind in compliance.DAY_KINDS:
        due = wide["due"][kind] if kind in wide["due"] else pd.Series(0, index=wide.index)
        rate = wide["on_time_rate"][kind] if kind in wide["on_time_rate"] else pd.Series(None, index=wide.index)
        table[t(f"compliance.kind.{kind}", lang)] = [
            f"{fmt_percent(r, lang)} ({fmt_number(d, lang)})" if d and d > 0 else "—" for r, d in zip(rate, due.fillna(0))]
    off = rows[rows["day_kind"] != "working"].groupby(column)[["due", "missed"]].sum().reindex(wide.index)
    off_rate = 1 - off["missed"] / off["due"].where(off["due"] > 0)
    order = off_rate.fillna(1).to_numpy().argsort(kind="stable")
    return table.iloc[order].reset_index(drop=True)


def _kinds_numeric(rows: pd.DataFrame, column: str, names: dict, lang: str) -> pd.DataFrame:
    """The table of `_kinds_wide` for Excel, in its order, with numbers as numbers: per kind of day
    the deadlines, missed and the on-time rate (a kind with no deadline: empty)."""
    if rows.empty:
        return pd.DataFrame()
    ids = _kinds_order(rows, column)
    out = pd.DataFrame({t("col.name", lang): [names.get(i, str(i)) for i in ids]})
    # One pivot for every cell (a lookup per cell took 2 s for the organisations at 10M).
    wide = rows.pivot(index=column, columns="day_kind", values=["due", "missed", "on_time_rate"]).reindex(ids)
    for kind in compliance.DAY_KINDS:
        label = t(f"compliance.kind.{kind}", lang)
        for field, key in (("due", "examples.col.due"), ("missed", "examples.col.missed"), ("on_time_rate", "col.on_time_rate")):
            values = wide[(field, kind)] if (field, kind) in wide.columns else pd.Series(None, index=wide.index, dtype="float64")
            if field != "on_time_rate":
                values = values.astype("Int64") if values.notna().any() else [None] * len(ids)
            elif not values.notna().any():
                values = [None] * len(ids)
            out[f"{label}: {t(key, lang)}"] = values if isinstance(values, list) else values.array
    return out


def _kinds_order(rows: pd.DataFrame, column: str) -> list:
    """The ids in `_kinds_wide`'s order: worst on-time rate on days off first."""
    ids = sorted(rows[column].unique())
    off = rows[rows["day_kind"] != "working"].groupby(column)[["due", "missed"]].sum().reindex(ids)
    off_rate = 1 - off["missed"] / off["due"].where(off["due"] > 0)
    return [ids[i] for i in off_rate.fillna(1).to_numpy().argsort(kind="stable")]


def _gap_numeric(gap: pd.DataFrame, names: dict, lang: str) -> pd.DataFrame:
    """The «worst on days off» table for Excel with numbers as numbers (shares as rates, the
    difference and its interval in percentage points)."""
    return pd.DataFrame({
        t("col.name", lang): gap["organization_id"].map(names).to_numpy(),
        t("compliance.col.due_off", lang): gap["due_off"].astype("int64").to_numpy(),
        t("compliance.col.missed_off", lang): gap["missed_off"].astype("int64").to_numpy(),
        t("compliance.col.share_off", lang): gap["share_off"].to_numpy(),
        t("compliance.col.due_working", lang): gap["due_working"].astype("int64").to_numpy(),
        t("compliance.col.missed_working", lang): gap["missed_working"].astype("int64").to_numpy(),
        t("compliance.col.share_working", lang): gap["share_working"].to_numpy(),
        t("compliance.col.difference_pp", lang): (gap["difference"] * 100).to_numpy(),
        t("compliance.col.low_pp", lang): (gap["low"] * 100).to_numpy(),
        t("compliance.col.high_pp", lang): (gap["high"] * 100).to_numpy(),
    })


def _gap_formats(lang: str) -> dict[str, str]:
    """Percentage points are numbers with one decimal, not shares; the shares missed are rates
    (their English names do not say «share»)."""
    return {**{t(f"compliance.col.{c}_pp", lang): "decimal" for c in ("difference", "low", "high")},
            **{t(f"compliance.col.share_{c}", lang): "rate" for c in ("off", "working")}}
