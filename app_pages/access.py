"""Access (Доступ), for admins: who holds which role over which directions, and the audit log."""

import streamlit as st

from oversight import ui, ui_access
from oversight.i18n import t

ctx = ui.access_context()
st.title(t("access.title", ctx.lang))
if ctx.principal.mode == "local":
    st.info(t("auth.single_user", ctx.lang), icon=":material/person:")
ui_access.grants_table(ctx)
left, right = st.columns(2)
with left:
    ui_access.grant_form(ctx)
with right:
    ui_access.revoke_form(ctx)
ui_access.audit_log(ctx)
