"""The command line, `python -m oversight COMMAND`: the same library functions the pages call, for the
server's administrator and for timers (imports from an inbox, the weekly справка).

`main` builds the parser and runs the command under the shell's principal or `--as-user`; each group's
module registers its commands (`register(sub)`) and holds their `cmd_*` functions: `data` (demo, import,
rebuild, geo), `numbers` (kpis, backlog, heatmap, drill, compare, rank, watchlist, weekends: JSON),
`documents` (slides, report), `admin` (users, audit). `common` has what they share: the filter arguments,
the principal, opening the database under its scope, refusals with exit code 3. The usage of every
command is in oversight/cli/main.py's docstring and `--help`.
"""
