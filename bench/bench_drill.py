"""Benchmark: the Drill-down page's data per level, warm (database buffers warm, no result cache).

    .venv/bin/python bench/bench_drill.py [--db data/bench/demo10m.duckdb] [--runs 5]

For each level it times what the page computes for it (the library calls, not the browser): the
KPI cards (comparison and trend), the ranked table of the level below, and at the organisation
level the organisation's card; at the building level its KPIs and its requests; a request's card;
a search. The path is chosen from the data (the busiest direction, its busiest municipality …).
Median of the runs after a first one. Writes its table to docs/benchmarks.md. Not a timed test.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import open_bench_database, parts_table, timed_parts, write_section  # noqa: E402
from oversight.analysis import drill, metrics  # noqa: E402
from oversight.filters import default_filters  # noqa: E402


def main() -> None:
    args, con, tickets, as_of = open_bench_database()
    metrics.prepare_median_index(con)  # the app builds it in the background on the first visit
    period = default_filters(as_of)

    territory = int(drill.children(con, period, as_of, "territory")["child_id"].iloc[0])
    f_dir = replace(period, territory_id=territory)
    municipality = int(drill.children(con, f_dir, as_of, "municipality")["child_id"].iloc[0])
    f_mun = replace(f_dir, municipality_id=municipality)
    orgs = drill.children(con, f_mun, as_of, "organization").dropna(subset=["child_id"])
    organization = int(orgs["child_id"].iloc[0])
    f_org = replace(f_mun, organization_id=organization)
    building = int(drill.children(con, f_org, as_of, "building").dropna(subset=["child_id"])["child_id"].iloc[0])
    ticket = int(drill.requests(con, f_org, as_of, building)["ticket_id"].iloc[0])

    def cards(f):
        return lambda: (metrics.kpi_comparison(con, f, as_of), metrics.kpi_trend(con, f, as_of))

    levels = [
        ("region: directions", period, [("KPI cards", cards(period)),
                                        ("table", lambda: drill.children(con, period, as_of, "territory"))]),
        ("direction: municipalities", f_dir, [("KPI cards", cards(f_dir)),
                                              ("table", lambda: drill.children(con, f_dir, as_of, "municipality"))]),
        ("municipality: organisations", f_mun, [("KPI cards", cards(f_mun)),
                                                ("table", lambda: drill.children(con, f_mun, as_of, "organization"))]),
        ("organisation: buildings", f_org, [
            ("KPI cards", cards(f_org)),
            ("organisation card", lambda: drill.organization_card(con, f_org, as_of, organization, own_kpis=False)),
            ("table", lambda: drill.children(con, f_org, as_of, "building")),
        ]),
        ("building: requests", f_org, [("KPIs", lambda: drill.scope_kpis(con, f_org, as_of, building)),
                                       ("table", lambda: drill.requests(con, f_org, as_of, building))]),
        ("request card", f_org, [("card", lambda: drill.request_card(con, ticket, as_of))]),
        ("search", f_org, [("organisations, buildings, request", lambda: drill.search(con, "ул. лен"))]),
    ]
    rows = []
    for name, _f, parts in levels:
        rows.append(timed_parts(name, parts, args.runs))

    table = parts_table(
        f"Drill-down data per level ({tickets:,} tickets, `bench/bench_drill.py`)",
        ["Warm: database buffers warm, no result cache (each call computed afresh), median index ready. The",
         "time of a level is the sum of what the page computes for it, computed one after another; in the app",
         f"Streamlit caches each result. Median of {args.runs} runs after a first one. Budget: 300 ms per level."],
        "level", rows)
    write_section('Drill-down data per level', table)


if __name__ == "__main__":
    main()
