"""The documents: `slides` (the seminar deck as .pptx) and `report` (the справка as DOCX/PDF, optionally
mailed), for the whole region or a user's scope."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from oversight.cli.common import add_filters, check_filters, filters_of, open_database, parse_date, principal, run_as


def cmd_slides(args) -> None:
    from oversight.output import images, presentation, slides

    con, info = open_database(args.db)
    f = filters_of(args)
    check_filters(con, f)
    as_of = info["as_of"].to_pydatetime()
    started = time.perf_counter()
    made = presentation.material(con, f, as_of, args.min_volume, args.lang)
    try:
        data = slides.deck(con, made, args.lang, args.target / 100)
    except images.ChromeMissing:
        raise SystemExit("no Chrome or Chromium to draw the charts: install one (Debian: sudo apt install chromium) "
                         "or name it in $BROWSER_PATH") from None
    args.out.write_bytes(data)
    from oversight import access

    # The speaker notes carry residents' texts (masked): on record, as the page's download is.
    access.audit(principal().user, "download_texts", target=str(args.out), detail={"bytes": len(data), "via": "cli"})
    print(f"deck written to {args.out} ({len(data) // 1024} KB) in {time.perf_counter() - started:.1f} s", file=sys.stderr)


def cmd_report(args) -> None:
    """The справка (DOCX and/or PDF) for the last complete week, month or quarter; optionally e-mailed."""
    from oversight.filters import Filters
    from oversight.output import images, report

    if args.report_as_user is not None:  # `report --as-user EMAIL` is the same as `--as-user EMAIL report`
        run_as(args.report_as_user)
    outs = list(args.out)
    for out in outs:
        if out.suffix.lower() not in (".docx", ".pdf"):
            raise SystemExit(f"--out {out}: the справка is written as .docx or .pdf")
    if args.mail_to and len({o.suffix.lower() for o in outs}) != len(outs):
        raise SystemExit("--out: give at most one .docx and one .pdf")
    con, info = open_database(args.db)
    as_of = info["as_of"].to_pydatetime()
    last_day = report.last_complete_day(as_of)
    end = min(args.end or last_day, last_day)
    start, end = report.period_bounds(args.period, end)
    f = Filters(start=start, end=end, territory_id=args.territory)
    check_filters(con, f)
    started = time.perf_counter()
    made = report.build(con, f, as_of, args.lang, args.target / 100, args.period, draw=True)
    if not images.chrome_path():
        print("no Chrome or Chromium: the справка is written without pictures (Debian: sudo apt install chromium)", file=sys.stderr)
    files = []
    for out in outs:
        data = report.render(made, out.suffix)
        out.write_bytes(data)
        files.append(out)
        print(f"справка written to {out} ({len(data) // 1024} KB)", file=sys.stderr)
    print(f"{args.period} {start.isoformat()}..{end.isoformat()} in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    if args.mail_to:
        from oversight.output import mail

        subject = f"{made.title.capitalize()} {made.subtitle}"
        body = "\n".join([subject, *made.head, "", *[f"{out.name}" for out in files]])
        try:
            mail.send(args.mail_to, subject, body, files)
        except mail.MailError as error:
            raise SystemExit(f"not sent: {error}") from None
        print(f"sent to {', '.join(args.mail_to)}", file=sys.stderr)


def register(sub) -> None:
    """The commands of the seminar deck and the справка."""
    p = sub.add_parser("slides", help="the seminar deck (region KPIs, map, funnel, good and poor example) as .pptx")
    add_filters(p)
    p.add_argument("--min-volume", type=int, default=30, help="deadlines in the period needed for a verdict (default 30)")
    p.add_argument("--target", type=float, default=95, help="on-time target, percent (default 95)")
    p.add_argument("--lang", choices=["ru", "en"], default="ru")
    p.add_argument("--out", type=Path, required=True, help="the .pptx file to write")
    p.set_defaults(func=cmd_slides)

    p = sub.add_parser("report", help="the справка (DOCX and/or PDF) for the last complete week, month or quarter")
    p.add_argument("--db", type=Path, default=None)
    p.add_argument("--period", choices=["week", "month", "quarter"], required=True)
    p.add_argument("--end", type=parse_date, default=None,
                   help="the period is the last complete one ending on or before this day (default: the day before the data's as_of)")
    p.add_argument("--as-user", dest="report_as_user", metavar="EMAIL", help="the справка of this user's scope (exit 3 when refused)")
    p.add_argument("--territory", type=int, help="limit to one direction")
    p.add_argument("--lang", choices=["ru", "en"], default="ru")
    p.add_argument("--target", type=float, default=95, help="on-time target, percent (default 95)")
    p.add_argument("--out", type=Path, action="append", required=True,
                   help="file to write, .docx or .pdf (give it twice for both)")
    p.add_argument("--mail-to", metavar="ADDR", action="append", help="send the file(s) to this address (repeatable); relay: [mail] in the settings file")
    p.set_defaults(func=cmd_report)
