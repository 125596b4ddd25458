"""Access (Доступ), for admins: who holds which role over which directions, and the audit log."""

import streamlit as st

from oversight.i18n import t
from oversight.ui import access_page, shell

ctx = shell.access_context()
st.title(t("access.title", ctx.lang))
if ctx.principal.mode == "local":
    st.info(t("auth.single_user", ctx.lang), icon=":material/person:")
access_page.grants_table(ctx)
left, right = st.columns(2)
with left:
    access_page.grant_form(ctx)
with right:
    access_page.revoke_form(ctx)
access_page.audit_log(ctx)
