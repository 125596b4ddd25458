"""The Access page's parts (Доступ): grants (add, change, revoke) and the audit log, for admins.

Every read and write goes through oversight.access, which checks the admin role itself; this module
only lays the page out.
"""

from __future__ import annotations

import datetime as dt
import functools

import pandas as pd
import streamlit as st

from oversight import access, reference
from oversight.i18n import fmt_datetime, name_column, t
from oversight.output import export
from oversight.output.presentation import md_code, md_text
from oversight.ui.context import AccessContext


def _names(lang: str) -> tuple[dict[int, str], dict[int, str]]:
    """Directions and current municipalities by id, from the reference data (the page needs no data)."""
    name = name_column(lang)
    terr = reference.territories()
    mun = reference.municipalities()
    mun = mun[mun["successor_id"].isna()]
    return dict(zip(terr["territory_id"], terr[name])), dict(zip(mun["municipality_id"], mun[name]))


def grants_table(ctx: AccessContext) -> None:
    lang = ctx.lang
    st.subheader(t("access.grants", lang))
    table = access.list_grants(ctx.principal)
    territories, municipalities = _names(lang)
    if table.empty:
        st.info(t("access.no_grants", lang))
        return
    shown = pd.DataFrame({
        t("access.col.user", lang): table["user_key"],
        t("access.col.role", lang): [t(f"role.{r}", lang) for r in table["role"]],
        t("access.col.territories", lang): [", ".join(territories.get(i, str(i)) for i in access.grant_ids(v))
                                            for v in table["territory_ids"]],
        t("access.col.municipalities", lang): [", ".join(municipalities.get(i, str(i)) for i in access.grant_ids(v))
                                               for v in table["municipality_ids"]],
        t("access.col.granted_by", lang): table["granted_by"],
        t("access.col.granted_at", lang): [fmt_datetime(v, lang) for v in table["granted_at"]],
    })
    st.dataframe(shown, hide_index=True, width="stretch")


def grant_form(ctx: AccessContext) -> None:
    """Add a grant or change one (a second grant of the same role replaces the first)."""
    lang = ctx.lang
    territories, municipalities = _names(lang)
    st.subheader(t("access.add", lang))
    with st.form("grant_form", clear_on_submit=False):
        user = st.text_input(t("access.col.user", lang), placeholder="name@mosreg.ru", key="grant_user")
        role = st.selectbox(t("access.col.role", lang), access.ROLES, format_func=lambda r: t(f"role.{r}", lang),
                            key="grant_role")
        chosen_t = st.multiselect(t("access.col.territories", lang), list(territories), format_func=territories.get,
                                  key="grant_territories", help=t("access.scope_help", lang),
                                  placeholder=t("access.choose", lang))
        chosen_m = st.multiselect(t("access.col.municipalities", lang), sorted(municipalities, key=municipalities.get),
                                  format_func=municipalities.get, key="grant_municipalities",
                                  placeholder=t("access.choose", lang))
        if st.form_submit_button(t("access.save", lang), type="primary"):
            try:
                access.add_grant(ctx.principal, user, role, chosen_t, chosen_m)
            except (ValueError, access.AccessDenied) as error:
                st.error(md_text(error))  # may quote what was typed
            else:
                st.success(t("access.saved", lang, user=md_code(access.normalise_user(user)), role=t(f"role.{role}", lang)))


def revoke_form(ctx: AccessContext) -> None:
    lang = ctx.lang
    table = access.list_grants(ctx.principal)
    if table.empty:
        return
    st.subheader(t("access.revoke", lang))
    options = [f"{u}\t{r}" for u, r in zip(table["user_key"], table["role"])]
    with st.form("revoke_form"):
        chosen = st.selectbox(t("access.revoke_which", lang), options, key="revoke_choice",
                              format_func=lambda o: f"{o.split(chr(9))[0]} — {t('role.' + o.split(chr(9))[1], lang)}")
        if st.form_submit_button(t("access.revoke_button", lang)):
            user, role = chosen.split("\t")
            if user == ctx.principal.user and role == "admin":
                st.error(t("access.not_self", lang))
            else:
                access.revoke(ctx.principal, user, role)
                st.rerun()


AUDIT_PAGE_ROWS = 2_000


def audit_log(ctx: AccessContext) -> None:
    """The audit log with filters and an Excel download. Read-only: nothing here changes it."""
    lang = ctx.lang
    st.subheader(t("access.audit", lang))
    left, middle, right = st.columns(3)
    user = left.text_input(t("access.col.user", lang), key="audit_user").strip() or None
    action = middle.selectbox(t("access.col.action", lang), [None, *access.AUDIT_ACTIONS], key="audit_action",
                              format_func=lambda a: t("filters.all", lang) if a is None else t(f"audit.{a}", lang))
    today = access.now_msk().date()
    period = right.date_input(t("filters.period", lang), value=(today - dt.timedelta(days=30), today), key="audit_period",
                              format="DD.MM.YYYY" if lang == "ru" else "YYYY-MM-DD")
    start, end = (period[0], period[-1]) if isinstance(period, (tuple, list)) and period else (None, None)
    rows = access.read_audit(ctx.principal, user=user, action=action, start=start, end=end, limit=AUDIT_PAGE_ROWS)
    shown = pd.DataFrame({
        "№": rows["audit_id"],
        t("access.col.at", lang): [fmt_datetime(v, lang) for v in rows["logged_at"]],
        t("access.col.user", lang): rows["user_key"],
        t("access.col.action", lang): [t(f"audit.{a}", lang) for a in rows["action"]],
        t("access.col.outcome", lang): [t(f"audit.outcome.{o}", lang) for o in rows["outcome"]],
        t("access.col.target", lang): rows["target"],
        t("access.col.detail", lang): rows["detail"],
    })
    st.caption(t("access.audit_note", lang, n=len(rows)))
    st.dataframe(shown, hide_index=True, width="stretch", height=420)
    st.download_button(
        t("download.xlsx", lang),
        data=functools.partial(export.to_xlsx_bytes, {t("access.audit", lang): shown},
                               title_lines=export.title_lines(t("access.audit", lang), lang, access.now_msk(),
                                                              period=(start, end)), lang=lang),
        file_name=f"audit_{start}_{end}.xlsx", key="audit_xlsx", on_click="ignore",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
