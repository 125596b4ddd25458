"""Benchmark: five questions answered by the project, by plain pandas and by PostgreSQL, side by side.

    .venv/bin/pip install -r bench/requirements.txt      # psycopg, for PostgreSQL
    .venv/bin/python bench/bench_vs.py [--db data/bench/demo10m.duckdb] [--runs 5] [--no-postgres]

Issue #21. The questions, over the same rows (the derived `ticket_facts`: every request with its
current municipality and direction) and by the definitions of ARCHITECTURE.md §3:
1. the region's KPIs for a quarter;
2. a direction's KPIs for a month;
3. the daily backlog and overdue backlog over two years;
4. the municipality × month matrix (deadlines due, missed, overdue backlog at each month's end) for a year;
5. a direction's organisations for a quarter (the drill-down's table: the counts and the median).

- The project: the library functions the pages call (metrics.kpis, backlog.series, heatmap.matrix,
  drill.children), warm (DuckDB's buffers and the median index ready; no result cache).
- pandas: the rows already in memory as a DataFrame (loading them is not timed), vectorised code
  written from the definitions.
- PostgreSQL 15: the machine's server binaries (Debian's `postgresql` package; installed by this
  script with apt when missing) in a throw-away cluster under /tmp, the rows loaded with COPY,
  indexed on every column a question filters or groups by, ANALYZEd; plain SQL from the definitions.
Every answer is checked equal to the project's (counts exactly, rates and medians to 1e-9) before
any time is taken. Times are the median of --runs runs after a first one. Writes its section of
docs/benchmarks.md. Not a timed test.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.common import write_section  # noqa: E402
from oversight import store  # noqa: E402
from oversight.access import EVERYTHING  # noqa: E402
from oversight.analysis import backlog, drill, heatmap, metrics  # noqa: E402
from oversight.filters import Filters  # noqa: E402

D = dt.date
COLUMNS = ("ticket_id", "created_at", "closed_at", "due_at", "territory_id", "current_municipality_id",
           "organization_id", "returned_count", "resolution_us")
KPI_KEYS = ("created", "closed", "backlog_end", "overdue_backlog_end", "due", "missed", "on_time_rate",
            "returned_share", "median_resolution_hours")
ORG_KEYS = ("created", "closed", "due", "missed", "backlog_end", "overdue_backlog_end", "median_resolution_hours")


def timed(function, runs: int) -> tuple[float, object]:
    """(median seconds of `runs` calls after a first one, the first call's answer)."""
    answer = function()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times), answer


# ---------------------------------------------------------------- the questions' periods


def questions(as_of: dt.datetime, direction: int) -> dict:
    """Periods ending at the last whole month / quarter / year before as_of."""
    last = (as_of - dt.timedelta(microseconds=1)).date()
    month_end = last if (last + dt.timedelta(days=1)).day == 1 else last.replace(day=1) - dt.timedelta(days=1)
    month = (month_end.replace(day=1), month_end)
    q_end = month_end
    while q_end.month % 3:
        q_end = q_end.replace(day=1) - dt.timedelta(days=1)
    quarter = (D(q_end.year, q_end.month - 2, 1), q_end)
    year = (D(q_end.year, 1, 1), q_end) if q_end.month == 12 else (D(q_end.year - 1, 1, 1), D(q_end.year - 1, 12, 31))
    two_years = (D(year[0].year - 1, 1, 1), year[1])
    return {"quarter": quarter, "month": month, "year": year, "two_years": two_years, "direction": direction}


# ---------------------------------------------------------------- the project


def project(con, as_of, q) -> dict:
    region_q = Filters(*q["quarter"])
    return {
        "1 region KPIs, quarter": lambda: metrics.kpis(con, region_q, as_of),
        "2 direction KPIs, month": lambda: metrics.kpis(con, Filters(*q["month"], territory_id=q["direction"]), as_of),
        "3 daily backlog, two years": lambda: backlog.series(con, Filters(*q["two_years"]), as_of, "day"),
        "4 municipality x month, year": lambda: heatmap.matrix(con, Filters(*q["year"]), as_of, "month", "missed"),
        "5 direction's organisations, quarter": lambda: drill.children(
            con, Filters(*q["quarter"], territory_id=q["direction"]), as_of, "organization"),
    }


def project_answers(answers: dict) -> dict:
    """The project's answers in the comparable shapes below."""
    series = answers["3 daily backlog, two years"]
    cells = answers["4 municipality x month, year"]
    cells = cells[cells["level"] == "municipality"]
    orgs = answers["5 direction's organisations, quarter"]
    return {
        "1 region KPIs, quarter": answers["1 region KPIs, quarter"],
        "2 direction KPIs, month": answers["2 direction KPIs, month"],
        "3 daily backlog, two years": pd.DataFrame({
            "day": pd.to_datetime(series["date"]).dt.date, "backlog": series["backlog"],
            "overdue_backlog": series["overdue_backlog"]}),
        "4 municipality x month, year": pd.DataFrame({
            "municipality_id": cells["municipality_id"].astype("int64"), "month": pd.to_datetime(cells["bucket"]).dt.date,
            "due": cells["due"], "missed": cells["missed"], "overdue_backlog": cells["overdue_backlog"]}),
        "5 direction's organisations, quarter": orgs.assign(child_id=orgs["child_id"].astype("float"))[
            ["child_id", *ORG_KEYS]],
    }


# ---------------------------------------------------------------- plain pandas


def pandas_kpis(t: pd.DataFrame, start: D, end: D, as_of: dt.datetime) -> dict:
    stop, cut = pd.Timestamp(end + dt.timedelta(days=1)), pd.Timestamp(as_of)
    moment = min(stop, cut)
    created = (t["created_at"] >= pd.Timestamp(start)) & (t["created_at"] < moment)
    closed_in = (t["closed_at"] >= pd.Timestamp(start)) & (t["closed_at"] < moment)
    open_end = (t["created_at"] < moment) & (t["closed_at"].isna() | (t["closed_at"] >= moment))
    due = (t["due_at"] >= pd.Timestamp(start)) & (t["due_at"] < moment)
    missed = due & (t["closed_at"].isna() | (t["closed_at"] > t["due_at"]))
    n_due, n_missed, n_closed = int(due.sum()), int(missed.sum()), int(closed_in.sum())
    return {
        "created": int(created.sum()),
        "closed": n_closed,
        "backlog_end": int(open_end.sum()),
        "overdue_backlog_end": int((open_end & (t["due_at"] < moment)).sum()),
        "due": n_due,
        "missed": n_missed,
        "on_time_rate": 1.0 - n_missed / n_due if n_due else None,
        "returned_share": float((t.loc[closed_in, "returned_count"] > 0).mean()) if n_closed else None,
        "median_resolution_hours": float(t.loc[closed_in, "resolution_us"].median()) / 3600e6 if n_closed else None,
    }


def pandas_backlog(t: pd.DataFrame, start: D, end: D, as_of: dt.datetime) -> pd.DataFrame:
    """Open (and open past the deadline) at each day's end, from daily entries and exits."""
    days = pd.date_range(start, end, freq="D")
    ends = np.minimum(days + pd.Timedelta(days=1), pd.Timestamp(as_of))

    def count_before(moments: pd.Series) -> np.ndarray:  # how many moments fall before each end
        values = np.sort(moments.dropna().to_numpy(dtype="datetime64[ns]"))
        return np.searchsorted(values, ends.to_numpy(dtype="datetime64[ns]"), side="left")

    backlog_now = count_before(t["created_at"]) - count_before(t["closed_at"])
    has_due = t["due_at"].notna()
    entry = t.loc[has_due, ["created_at", "due_at"]].max(axis=1)
    # Overdue at m: entered (created and past the deadline) before m and not closed before m; one
    # closed before its entry leaves at its entry, so it is never counted.
    leave = pd.concat([entry, t.loc[has_due, "closed_at"]], axis=1).max(axis=1).where(t.loc[has_due, "closed_at"].notna())
    overdue_now = count_before(entry) - count_before(leave)
    return pd.DataFrame({"day": days.date, "backlog": backlog_now, "overdue_backlog": overdue_now})


def pandas_matrix(t: pd.DataFrame, start: D, end: D, as_of: dt.datetime) -> pd.DataFrame:
    cut = pd.Timestamp(as_of)
    due = t[(t["due_at"] >= pd.Timestamp(start)) & (t["due_at"] < min(pd.Timestamp(end + dt.timedelta(days=1)), cut))]
    month = due["due_at"].dt.to_period("M").dt.start_time.dt.date
    flows = pd.DataFrame({
        "municipality_id": due["current_municipality_id"], "month": month, "due": 1,
        "missed": (due["closed_at"].isna() | (due["closed_at"] > due["due_at"])).astype(int),
    }).groupby(["municipality_id", "month"], as_index=False)[["due", "missed"]].sum()
    stocks = []
    for first in pd.date_range(start, end, freq="MS"):
        moment = min(first + pd.offsets.MonthBegin(1), cut)
        overdue = (t["created_at"] < moment) & (t["closed_at"].isna() | (t["closed_at"] >= moment)) & (t["due_at"] < moment)
        counts = t.loc[overdue, "current_municipality_id"].value_counts()
        stocks.append(pd.DataFrame({"municipality_id": counts.index, "month": first.date(), "overdue_backlog": counts.to_numpy()}))
    out = flows.merge(pd.concat(stocks), on=["municipality_id", "month"], how="outer").fillna(0)
    return out.astype({"municipality_id": "int64", "due": "int64", "missed": "int64", "overdue_backlog": "int64"})


def pandas_orgs(t: pd.DataFrame, start: D, end: D, as_of: dt.datetime, direction: int) -> pd.DataFrame:
    t = t[t["territory_id"] == direction]
    moment = min(pd.Timestamp(end + dt.timedelta(days=1)), pd.Timestamp(as_of))
    begin = pd.Timestamp(start)
    open_end = (t["created_at"] < moment) & (t["closed_at"].isna() | (t["closed_at"] >= moment))
    due = (t["due_at"] >= begin) & (t["due_at"] < moment)
    closed_in = (t["closed_at"] >= begin) & (t["closed_at"] < moment)
    flags = pd.DataFrame({
        "child_id": t["organization_id"].astype("float"),
        "created": ((t["created_at"] >= begin) & (t["created_at"] < moment)).astype(int),
        "closed": closed_in.astype(int),
        "due": due.astype(int),
        "missed": (due & (t["closed_at"].isna() | (t["closed_at"] > t["due_at"]))).astype(int),
        "backlog_end": open_end.astype(int),
        "overdue_backlog_end": (open_end & (t["due_at"] < moment)).astype(int),
    })
    counts = flags.groupby("child_id", dropna=False, as_index=False).sum()
    medians = (t.loc[closed_in, "resolution_us"].groupby(t.loc[closed_in, "organization_id"].astype("float"), dropna=False)
               .median() / 3600e6).rename("median_resolution_hours").reset_index().rename(columns={"organization_id": "child_id"})
    counts = counts.merge(medians, on="child_id", how="left")
    return counts[counts[["created", "closed", "due", "backlog_end"]].sum(axis=1) > 0]


def with_pandas(t: pd.DataFrame, as_of, q) -> dict:
    return {
        "1 region KPIs, quarter": lambda: pandas_kpis(t, *q["quarter"], as_of),
        "2 direction KPIs, month": lambda: pandas_kpis(t[t["territory_id"] == q["direction"]], *q["month"], as_of),
        "3 daily backlog, two years": lambda: pandas_backlog(t, *q["two_years"], as_of),
        "4 municipality x month, year": lambda: pandas_matrix(t, *q["year"], as_of),
        "5 direction's organisations, quarter": lambda: pandas_orgs(t, *q["quarter"], as_of, q["direction"]),
    }


# ---------------------------------------------------------------- PostgreSQL

PG_KPIS = """
with p as (select %(start)s::timestamp as s, least(%(stop)s::timestamp, %(as_of)s::timestamp) as e)
select
    count(*) filter (where created_at >= p.s and created_at < p.e) as created,
    count(*) filter (where closed_at >= p.s and closed_at < p.e) as closed,
    count(*) filter (where created_at < p.e and (closed_at is null or closed_at >= p.e)) as backlog_end,
    count(*) filter (where created_at < p.e and (closed_at is null or closed_at >= p.e) and due_at < p.e) as overdue_backlog_end,
    count(*) filter (where due_at >= p.s and due_at < p.e) as due,
    count(*) filter (where due_at >= p.s and due_at < p.e and (closed_at is null or closed_at > due_at)) as missed,
    1.0 - (count(*) filter (where due_at >= p.s and due_at < p.e and (closed_at is null or closed_at > due_at)))::float8
        / nullif(count(*) filter (where due_at >= p.s and due_at < p.e), 0) as on_time_rate,
    (count(*) filter (where closed_at >= p.s and closed_at < p.e and returned_count > 0))::float8
        / nullif(count(*) filter (where closed_at >= p.s and closed_at < p.e), 0) as returned_share,
    percentile_cont(0.5) within group (order by resolution_us) filter (where closed_at >= p.s and closed_at < p.e)
        / 3600e6 as median_resolution_hours
from tf, p
where (%(direction)s::int is null or territory_id = %(direction)s::int)
  and (created_at < p.e and (closed_at is null or closed_at >= p.s or due_at >= p.s))
"""

PG_BACKLOG = """
with days as (
    select d::date as day, least(d + interval '1 day', %(as_of)s::timestamp) as e
    from generate_series(%(start)s::timestamp, %(end)s::timestamp, interval '1 day') as d
),
ev as (
    select created_at as at, 1 as b, 0 as o from tf
    union all select closed_at, -1, 0 from tf where closed_at is not null
    union all select greatest(created_at, due_at), 0, 1 from tf where due_at is not null
    union all select greatest(created_at, due_at, closed_at), 0, -1 from tf where due_at is not null and closed_at is not null
),
per_day as (
    select date_trunc('day', at) as d, sum(b) as b, sum(o) as o from ev group by 1
),
running as (
    select d, sum(b) over (order by d) as b, sum(o) over (order by d) as o from per_day
)
select days.day,
    coalesce((select b from running where running.d < days.e order by running.d desc limit 1), 0) as backlog,
    coalesce((select o from running where running.d < days.e order by running.d desc limit 1), 0) as overdue_backlog
from days order by days.day
"""

PG_MATRIX = """
with months as (
    select m::date as month, least(m + interval '1 month', %(as_of)s::timestamp) as e
    from generate_series(%(start)s::timestamp, %(end)s::timestamp, interval '1 month') as m
),
flows as (
    select current_municipality_id as municipality_id, date_trunc('month', due_at)::date as month,
        count(*) as due, count(*) filter (where closed_at is null or closed_at > due_at) as missed
    from tf
    where due_at >= %(start)s::timestamp and due_at < least(%(stop)s::timestamp, %(as_of)s::timestamp)
    group by 1, 2
),
stocks as (
    select tf.current_municipality_id as municipality_id, months.month, count(*) as overdue_backlog
    from months join tf on tf.due_at < months.e and tf.created_at < months.e
        and (tf.closed_at is null or tf.closed_at >= months.e)
    group by 1, 2
)
select coalesce(f.municipality_id, s.municipality_id) as municipality_id, coalesce(f.month, s.month) as month,
    coalesce(f.due, 0) as due, coalesce(f.missed, 0) as missed, coalesce(s.overdue_backlog, 0) as overdue_backlog
from flows f full join stocks s on f.municipality_id = s.municipality_id and f.month = s.month
"""

PG_ORGS = """
with p as (select %(start)s::timestamp as s, least(%(stop)s::timestamp, %(as_of)s::timestamp) as e)
select organization_id::float8 as child_id,
    count(*) filter (where created_at >= p.s) as created,
    count(*) filter (where closed_at >= p.s and closed_at < p.e) as closed,
    count(*) filter (where due_at >= p.s and due_at < p.e) as due,
    count(*) filter (where due_at >= p.s and due_at < p.e and (closed_at is null or closed_at > due_at)) as missed,
    count(*) filter (where closed_at is null or closed_at >= p.e) as backlog_end,
    count(*) filter (where (closed_at is null or closed_at >= p.e) and due_at < p.e) as overdue_backlog_end,
    percentile_cont(0.5) within group (order by resolution_us) filter (where closed_at >= p.s and closed_at < p.e)
        / 3600e6 as median_resolution_hours
from tf, p
where territory_id = %(direction)s and created_at < p.e and (closed_at is null or closed_at >= p.s or due_at >= p.s)
group by organization_id
having count(*) filter (where created_at >= p.s) > 0 or count(*) filter (where closed_at >= p.s and closed_at < p.e) > 0
    or count(*) filter (where due_at >= p.s and due_at < p.e) > 0 or count(*) filter (where closed_at is null or closed_at >= p.e) > 0
"""


class Postgres:
    """A throw-away PostgreSQL cluster under /tmp, run as the `postgres` user when we are root."""

    def __init__(self):
        self.bin = self._binaries()
        self.dir = Path(tempfile.mkdtemp(prefix="bench-vs-pg-"))
        self.port = 54329
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.dir, "postgres")
        self._run("initdb", "-D", str(self.dir / "data"), "-U", "bench", "--auth=trust", "-E", "UTF8")
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-l", str(self.dir / "log"), "-w", "start", "-o",
                  f"-p {self.port} -k {self.dir} -c listen_addresses='' -c shared_buffers=2GB -c work_mem=256MB "
                  "-c max_parallel_workers_per_gather=2 -c jit=off")

    @staticmethod
    def _binaries() -> Path:
        found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        if not found:
            print("installing Debian's postgresql…", flush=True)
            subprocess.run(["apt-get", "install", "-y", "-qq", "postgresql"], check=True,
                           env=os.environ | {"DEBIAN_FRONTEND": "noninteractive"})
            found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
        return found[-1].parent

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run([*self.as_user, str(self.bin / tool), *args], check=True, stdout=subprocess.DEVNULL)

    def connect(self):
        import psycopg

        return psycopg.connect(host=str(self.dir), port=self.port, user="bench", dbname="postgres", autocommit=True)

    def version(self) -> str:
        with self.connect() as pg:
            return pg.execute("show server_version").fetchone()[0]

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "fast", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


def load_postgres(server: Postgres, csv: Path) -> float:
    started = time.perf_counter()
    with server.connect() as pg:
        pg.execute("create table tf (ticket_id bigint, created_at timestamp, closed_at timestamp, due_at timestamp, "
                   "territory_id int, current_municipality_id int, organization_id int, returned_count int, "
                   "resolution_us bigint)")
        with pg.cursor().copy("copy tf from stdin (format csv, header true)") as copy, open(csv, "rb") as f:
            while chunk := f.read(1 << 20):
                copy.write(chunk)
        for column in ("created_at", "closed_at", "due_at", "territory_id", "current_municipality_id", "organization_id"):
            pg.execute(f"create index on tf ({column})")
        pg.execute("vacuum analyze tf")
    return time.perf_counter() - started


def with_postgres(server: Postgres, as_of, q) -> dict:
    pg = server.connect()

    def frame(sql, **params):
        cursor = pg.execute(sql, params)
        return pd.DataFrame(cursor.fetchall(), columns=[c.name for c in cursor.description])

    def kpis(period, direction=None):
        row = frame(PG_KPIS, start=period[0], stop=period[1] + dt.timedelta(days=1), as_of=as_of, direction=direction)
        return {k: (None if pd.isna(v) else v) for k, v in row.iloc[0].items()}

    year_stop = q["year"][1] + dt.timedelta(days=1)
    return {
        "1 region KPIs, quarter": lambda: kpis(q["quarter"]),
        "2 direction KPIs, month": lambda: kpis(q["month"], q["direction"]),
        "3 daily backlog, two years": lambda: frame(PG_BACKLOG, start=q["two_years"][0], end=q["two_years"][1], as_of=as_of),
        "4 municipality x month, year": lambda: frame(PG_MATRIX, start=q["year"][0], end=q["year"][1], stop=year_stop,
                                                        as_of=as_of),
        "5 direction's organisations, quarter": lambda: frame(PG_ORGS, start=q["quarter"][0],
                                                                stop=q["quarter"][1] + dt.timedelta(days=1),
                                                                as_of=as_of, direction=q["direction"]),
    }


# ---------------------------------------------------------------- equal answers


def _same_number(a, b) -> bool:
    if a is None or (isinstance(a, float) and math.isnan(a)):
        return b is None or (isinstance(b, float) and math.isnan(b))
    return b is not None and math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)


def check_equal(name: str, ours, theirs, who: str) -> None:
    if isinstance(ours, dict):
        wrong = [k for k in KPI_KEYS if not _same_number(ours[k], theirs[k])]
        if wrong:
            raise SystemExit(f"{who} answers {name} differently: " + ", ".join(f"{k} {ours[k]} vs {theirs[k]}" for k in wrong))
        return
    keys = {"3": ["day"], "4": ["municipality_id", "month"], "5": ["child_id"]}[name[0]]
    a = ours.sort_values(keys).reset_index(drop=True)
    b = theirs.copy()
    for column in a.columns:
        if column in b and a[column].dtype.kind in "iuf" and column not in ("child_id",):
            b[column] = b[column].astype("float64")
            a[column] = a[column].astype("float64")
    if "month" in b:
        b["month"] = pd.to_datetime(b["month"]).dt.date
    if "day" in b:
        b["day"] = pd.to_datetime(b["day"]).dt.date
    b = b[a.columns].sort_values(keys).reset_index(drop=True)
    if name[0] == "4":  # a municipality-month with nothing in it may be absent on one side
        a = a[(a[["due", "missed", "overdue_backlog"]] != 0).any(axis=1)].reset_index(drop=True)
        b = b[(b[["due", "missed", "overdue_backlog"]] != 0).any(axis=1)].reset_index(drop=True)
    try:
        pd.testing.assert_frame_equal(a, b, check_dtype=False, rtol=1e-9, atol=1e-9)
    except AssertionError as error:
        raise SystemExit(f"{who} answers {name} differently:\n{error}") from None


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default=str(ROOT / "data" / "bench" / "demo10m.duckdb"))
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()

    con = store.connect(args.db, EVERYTHING)
    as_of = store.dataset_info(con)["as_of"].to_pydatetime()
    metrics.prepare_median_index(con)
    direction = int(con.execute("select territory_id from ticket_facts group by 1 order by count(*) desc limit 1").fetchone()[0])
    q = questions(as_of, direction)
    n = int(con.execute("select count(*) from ticket_facts").fetchone()[0])
    print(f"{n:,} requests, as_of {as_of}, periods {q}", flush=True)

    results: dict[str, dict[str, float]] = {}
    ours = {}
    for name, function in project(con, as_of, q).items():
        seconds, answer = timed(function, args.runs)
        ours[name] = answer
        results[name] = {"project": seconds}
        print(f"project  {name:40} {seconds * 1000:8.0f} ms", flush=True)
    comparable = project_answers(ours)
    # The floor DuckDB itself sets: one plain scan of the columns a question reads, nothing grouped.
    floor, _ = timed(lambda: con.execute("select count(*), sum(resolution_us), max(closed_at), max(due_at) "
                                         "from ticket_facts where created_at >= $s", {"s": dt.datetime(1970, 1, 1)}).fetchall(),
                     args.runs)
    print(f"DuckDB scan floor {floor * 1000:.0f} ms", flush=True)

    started = time.perf_counter()
    frame = con.execute(f"select {', '.join(COLUMNS)} from ticket_facts").df()  # noqa: S608 - fixed column names
    load_pandas = time.perf_counter() - started
    for name, function in with_pandas(frame, as_of, q).items():
        check_equal(name, comparable[name], function(), "pandas")
        seconds, _ = timed(function, args.runs)
        results[name]["pandas"] = seconds
        print(f"pandas   {name:40} {seconds * 1000:8.0f} ms", flush=True)
    del frame

    pg_version, load_pg = None, None
    if not args.no_postgres:
        server = Postgres()
        try:
            with tempfile.TemporaryDirectory() as tmp:
                csv = Path(tmp) / "tf.csv"
                con.execute(f"copy (select {', '.join(COLUMNS)} from ticket_facts) to '{csv}' (header)")  # noqa: S608
                load_pg = load_postgres(server, csv)
            pg_version = server.version()
            for name, function in with_postgres(server, as_of, q).items():
                check_equal(name, comparable[name], function(), "PostgreSQL")
                seconds, _ = timed(function, max(1, args.runs // 2))
                results[name]["postgres"] = seconds
                print(f"postgres {name:40} {seconds * 1000:8.0f} ms", flush=True)
        finally:
            server.stop()

    load = os.getloadavg()
    lines = [
        "",
        "## The project against plain pandas and PostgreSQL (`bench/bench_vs.py`, issue #21)",
        "",
        f"{time.strftime('%Y-%m-%d')}; {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"pandas {pd.__version__}" + (f", PostgreSQL {pg_version}" if pg_version else "") + f"; {n:,} requests; load "
        f"average at the end {load[0]:.2f}. Every answer checked equal to the project's before timing. Warm: the "
        f"project with DuckDB's buffers and the median index ready (no result cache); pandas with the rows in memory "
        f"(loading them took {load_pandas:.0f} s, not counted); PostgreSQL with the rows loaded by COPY, indexed and "
        "analysed" + (f" ({load_pg:.0f} s, not counted)" if load_pg else "") + f". Median of {args.runs} runs "
        f"(PostgreSQL: of {max(1, args.runs // 2)}) after a first. The floor DuckDB sets, one plain scan of every "
        f"request's columns (count, sum, max; nothing grouped): {floor * 1000:.0f} ms.",
        "",
        "| question | project | pandas | PostgreSQL | pandas / project | PostgreSQL / project |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        pg = r.get("postgres")
        lines.append(
            f"| {name[2:]} | {r['project'] * 1000:.0f} ms | {r['pandas'] * 1000:.0f} ms | "
            + (f"{pg * 1000:.0f} ms" if pg else "—") + f" | {r['pandas'] / r['project']:.1f}× | "
            + (f"{pg / r['project']:.1f}×" if pg else "—") + " |"
        )
    section = "\n".join(lines)
    print(section)
    if not args.no_write:
        write_section("The project against plain pandas and PostgreSQL", section)


if __name__ == "__main__":
    main()
