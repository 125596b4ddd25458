"""Command line: the same functions the pages use.

    python -m oversight demo [--db PATH] [--tickets N] [--seed S]
    python -m oversight kpis --db PATH --from 2019-01-01 --to 2019-03-31 [--territory ID]
        [--municipality ID] [--organization ID] [--category ID] [--source S] --json
    python -m oversight backlog --db PATH --from D --to D --freq day|week|month [filters] --json
    python -m oversight heatmap --db PATH --from D --to D --freq week|month --metric missed|on_time_rate|overdue_backlog|missed_per_10k --json
    python -m oversight drill --db PATH --level territory|municipality|organization|building|request
        [--parent ID] --from D --to D [filters] --json
    python -m oversight compare --db PATH (--event ID [--days N] | --before D..D --after D..D)
        [--municipality ID ...] [--organization ID ...] [--territory ID] --json
    python -m oversight rank --db PATH --from D --to D [--territory ID] --min-volume N --json
    python -m oversight slides --db PATH --from D --to D [--territory ID] [--min-volume N] [--lang ru|en] --out deck.pptx
    python -m oversight watchlist --db PATH [--as-of D] [--k 3] [--m 6] [--target 0.95] [--min-volume 30]
        [--territory ID] [--municipality ID] --json
    python -m oversight weekends --db PATH --from D --to D [filters] [--min-volume 30] --json
    python -m oversight import FILE... --db PATH --profile eds|open311|boston311|nyc311|auto [--as-of TS] --json
    python -m oversight import --inbox DIR [--db PATH] [--profile P] [--settle S]
    python -m oversight report --period week|month|quarter [--end D] [--as-user EMAIL | --territory ID]
        [--lang ru|en] --out F.docx [--out F.pdf] [--mail-to ADDR ...]
    python -m oversight rebuild [--db PATH]
    python -m oversight geo --build
    python -m oversight users add EMAIL --role ROLE [--territory ID]... [--municipality ID]...
    python -m oversight users list [--json]
    python -m oversight users revoke EMAIL [--role ROLE]
    python -m oversight audit [--user EMAIL] [--action A] [--from D] [--to D] --json

The command line is the server administrator's tool and reads everything. `--as-user EMAIL` before
the command runs it under that user's grants (a per-head scheduled report): an id outside them makes
it exit with code 3 and the reason, and an audit row.

The commands live by group: oversight/cli/data.py (demo, import, rebuild, geo), numbers.py (kpis,
backlog, heatmap, drill, compare, rank, watchlist, weekends), documents.py (slides, report), admin.py
(users, audit); common.py holds the arguments, the --as-user principal and the exits they share.
"""

from __future__ import annotations

import argparse

from oversight.cli import admin, common, data, documents, numbers


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments, settle who the command runs as, run it."""
    parser = argparse.ArgumentParser(prog="python -m oversight", description=__doc__.splitlines()[0])
    parser.add_argument("--as-user", metavar="EMAIL", help="run the command under this user's grants (exit 3 when refused)")
    sub = parser.add_subparsers(dest="command", required=True)

    for commands in (data, numbers, documents, admin):  # one module per group of commands
        commands.register(sub)

    args = parser.parse_args(argv)
    common.set_principal(None)
    if args.as_user is not None:
        common.run_as(args.as_user)
    from oversight.analysis import metrics

    metrics.BACKGROUND_INDEX = False  # a one-shot process: no index build left running at exit
    if args.command == "demo":
        from oversight.ingest.demo import DEMO_SEED, DEMO_TICKETS

        args.tickets = args.tickets or DEMO_TICKETS
        args.seed = DEMO_SEED if args.seed is None else args.seed
    args.func(args)

