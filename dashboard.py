"""Entry point: page config, language, first-run demo build, shared sidebar filters, navigation.

Run with `./run.sh` (or `streamlit run dashboard.py`). Pages live in pages/ and stay thin.
"""

import streamlit as st

from oversight import ui
from oversight.i18n import t

st.set_page_config(page_title="Госжилинспекция МО — ЕДС", page_icon="🏢", layout="wide")

ctx = ui.setup()
pages = [
    st.Page("pages/overview.py", title=t("page.overview", ctx.lang), icon="📊", url_path="overview", default=True),
]
st.navigation(pages).run()
