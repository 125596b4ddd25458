"""Entry point: page config, language, who is asking, first-run demo build, shared sidebar filters,
navigation.

Run with `./run.sh` (or `streamlit run dashboard.py`). Pages live in app_pages/ and stay thin; the list
of pages is oversight.navigation.PAGES. Who may see what is decided by oversight.access and enforced
in the library (every query runs under the session's scope); the navigation only lists what is allowed.
"""

import logging
import os
import uuid

import streamlit as st

from oversight.i18n import t
from oversight.navigation import pages_for
from oversight.ui import shell

st.set_page_config(page_title="Госжилинспекция МО — ЕДС", page_icon="🏢", layout="wide")

lang = shell.language_switch()
shell.localise_streamlit(lang)
principal = shell.authenticate(lang)
if principal.reads_data:
    shell.setup(principal, lang)
else:
    shell.setup_without_data(principal, lang)
pages = [
    st.Page(p.script, title=t(p.nav_key, lang), icon=p.icon, url_path=p.url_path, default=p.default)
    for p in pages_for(principal, data_broken=principal.reads_data and shell.data_broken())
]
page = st.navigation(pages)
try:
    page.run()
except Exception:  # noqa: BLE001 - a page's bug: the visitor sees a plain message, never a traceback or a path
    if os.environ.get("OVERSIGHT_SHOW_ERRORS"):  # the test suite: a page's error must fail the test
        raise
    incident = uuid.uuid4().hex[:8]
    logging.getLogger("oversight.pages").exception("page %s failed (incident %s)", page.url_path, incident)
    st.error(t("app.page_failed", lang, incident=incident))

