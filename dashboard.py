"""Entry point: page config, language, first-run demo build, shared sidebar filters, navigation.

Run with `./run.sh` (or `streamlit run dashboard.py`). Pages live in app_pages/ and stay thin; the list
of pages is oversight.navigation.PAGES.
"""

import streamlit as st

from oversight import ui
from oversight.i18n import t
from oversight.navigation import PAGES

st.set_page_config(page_title="Госжилинспекция МО — ЕДС", page_icon="🏢", layout="wide")

ctx = ui.setup()
pages = [
    st.Page(p.script, title=t(p.nav_key, ctx.lang), icon=p.icon, url_path=p.url_path, default=p.default)
    for p in PAGES
]
st.navigation(pages).run()
