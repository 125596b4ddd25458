"""The Overview's справка button (issue #20): the same справка as `python -m oversight report`, for
the page's filters (period, direction, municipality, …), target and language, under the signed-in
user's scope. Built on click (a few seconds: the pictures are drawn by kaleido), with a spinner, once
per context: the files are cached on the data version, scope, filters, target and language, and the
two download buttons hand them out."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from oversight.access import Scope
from oversight.filters import Filters
from oversight.i18n import t
from oversight.output import report
from oversight.ui import cache, context


@st.cache_data(show_spinner=False, max_entries=8)
def _files(db_path: str, version: str, scope: Scope, filters: Filters, as_of: dt.datetime, lang: str, target: float,
           _con) -> tuple[bytes, bytes, str]:
    """(DOCX, PDF, file stem) of the справка; _con is the session's scoped connection (not part of the
    key: it follows from the path, version and scope)."""
    made = report.build(_con, filters, as_of, lang, target)
    return report.to_docx(made), report.to_pdf(made), made.file_stem


def _key(ctx: context.PageContext) -> tuple:
    return (ctx.db_path, ctx.version, ctx.scope, ctx.filters, ctx.as_of, ctx.lang, ctx.target)


def report_buttons(ctx: context.PageContext) -> None:
    """A button that builds the справка for the page's context, then its DOCX and PDF downloads."""
    lang = ctx.lang
    st.subheader(t("report.make", lang))
    st.caption(t("report.make_help", lang))
    made = st.session_state.get("_report_files")
    if made is None or made[0] != _key(ctx):
        slot = st.empty()  # the button gives way to the downloads once the files are built
        if not slot.button(t("report.build_button", lang), key="report_build", icon=":material/description:"):
            return
        with st.spinner(t("report.building", lang)):
            files = _files(*_key(ctx), cache.connection(ctx))
        slot.empty()
        made = (_key(ctx), files)
        st.session_state["_report_files"] = made
    docx, pdf, stem = made[1]
    left, right, _ = st.columns([1, 1, 2])
    with left:
        st.download_button(t("report.download", lang, kind="DOCX"), data=docx, file_name=f"{stem}.docx",
                           mime=report.DOCX_MIME, key="report_docx", on_click="ignore", icon=":material/download:")
    with right:
        st.download_button(t("report.download", lang, kind="PDF"), data=pdf, file_name=f"{stem}.pdf",
                           mime=report.PDF_MIME, key="report_pdf", on_click="ignore", icon=":material/download:")
