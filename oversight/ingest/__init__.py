"""Data coming in: real exports, the events register and the demo.

`profiles` (how each source's columns map to the data contract), `csvlines` (where each CSV record
starts, for line numbers), `importer` (read → check → reconcile → write, with every refused row kept
and counted), `events` (the seminars/inspections register), `inbox` (a folder a timer empties into the
database), `demo` and `demo_daily` (synthetic data with a planted story, whole or as daily exports).
Writes go through `oversight.store` and `oversight.standby`; the user's role is checked in
`oversight.guarded` before any of this runs.
"""
