"""Streamlit only: the one package of the library that imports streamlit.

- `context`: what a page knows (PageContext, Source, AccessContext).
- `cache`: the scoped connection and the caches every page goes through (`cached(metrics.kpis, ctx)`:
  the library's function itself, cached on its arguments, the scope and the data version).
- `shell`: the run around every page (demo build on first start, language, sign-in, `setup`, header).
- `sidebar`: the shared filters and their URL.
- `widgets`: KPI cards, ranked tables, charts, downloads, page controls kept in the link.
- `warmup`: what the server does at start so that a first visit waits for nothing.
- `*_page`: one module per page's parts (`drill_page` for app_pages/drill.py, …);
  `excel_downloads` and `report_download` are buttons several pages share.

Pages (app_pages/) are thin: they call these and the library's functions by name.
"""
