"""The numbers: every metric of ARCHITECTURE.md §3 and the analyses built on them.

One module per question a page asks: `metrics` (KPIs, comparisons, trends, benchmarks; the medians
through `medians` and its on-disk index `median_cache`), `backlog` (open and overdue over time, ageing),
`heatmap` (the map's values and the municipality × time matrix), `drill` (direction → municipality →
organisation → building → request), `compare` (before/after an event, with intervals), `fairness`
(funnel plots and fair rankings), `compliance` (the watchlist, weekends and holidays), `examples`
(good and poor examples for seminars).

Each function takes a scoped connection (`store.ScopedConnection`), the filters and the data's `as_of`,
runs `queries/*.sql` through `store.run`, and returns DataFrames. Nothing here draws, reads files a
user brought, or imports streamlit: this package never imports `oversight.ui` or `oversight.ingest`
(tests/test_layout.py fails if it does).
"""
