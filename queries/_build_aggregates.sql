-- The aggregate derived tables, computed from whatever rows the view agg_facts holds at the moment
-- the one-row view agg_moment names (columns as ticket_facts; as_of). oversight.derived runs it over
-- all of ticket_facts at max(dataset.as_of) for a full build, and over the few requests an import
-- touched, before and after, for an incremental one: every table here is a sum over requests, so
-- the difference of the two is what the import changed. Writes the temporary view agg_events and tables agg_daily_counts,
-- agg_ageing_counts, agg_ageing_counts_category, agg_org_daily_counts; needs ageing_thresholds.
-- Not a query itself (files starting with "_" are not runnable).

-- daily_counts: per day and per (current municipality, category, source), how many requests were
-- created, closed (and of those, returned for rework at least once), fell due, missed their
-- deadline, entered and left the overdue backlog, each counted on the day of its own event. Sums
-- over days answer every count of ARCHITECTURE.md §3 without touching the ticket rows (backlog at a
-- day's end = created minus closed up to that day; overdue backlog = entries minus exits); ~3M rows
-- for 10M tickets.
-- A request is in the overdue backlog at t when it exists, its deadline has passed and it is still
-- open: it enters at greatest(created_at, due_at) and leaves at its closing if that is later.
-- (greatest() skips nulls, hence the explicit "due_at is not null".)
-- Events at or after as_of have not happened yet and are left out, so the running sums are right at
-- as_of too (oversight.store refuses data whose creations or closings lie after as_of).
--
-- agg_events: one row per event of a request, on the day it happened, with every key both tables
-- group by (daily_counts by category and source, org_daily_counts by organisation). A view: each
-- table's aggregation reads it once.
create or replace temp view agg_events as
with as_of as (
    select as_of from agg_moment
)

select
    created_at::date as day, territory_id, current_municipality_id, category_id, source, organization_id,
    1 as created, 0 as closed, 0 as closed_returned, 0 as due, 0 as missed,
    0 as overdue_entries, 0 as overdue_exits
from agg_facts
union all
select
    closed_at::date, territory_id, current_municipality_id, category_id, source, organization_id,
    0, 1, case when returned_count > 0 then 1 else 0 end, 0, 0, 0, 0
from agg_facts
where closed_at is not null
union all
select
    due_at::date, territory_id, current_municipality_id, category_id, source, organization_id,
    0, 0, 0, 1, case when closed_at is null or closed_at > due_at then 1 else 0 end, 0, 0
from agg_facts, as_of
where due_at < as_of.as_of
union all
select
    greatest(created_at, due_at)::date, territory_id, current_municipality_id, category_id, source, organization_id,
    0, 0, 0, 0, 0, 1, 0
from agg_facts, as_of
where due_at is not null and greatest(created_at, due_at) < as_of.as_of
union all
select
    greatest(created_at, due_at, closed_at)::date, territory_id, current_municipality_id, category_id, source,
    organization_id, 0, 0, 0, 0, 0, 0, 1
from agg_facts, as_of
where due_at is not null and closed_at is not null
  and greatest(created_at, due_at, closed_at) < as_of.as_of;

create or replace temp table agg_daily_counts as
select
    day,
    territory_id,
    current_municipality_id,
    category_id,
    source,
    sum(created)::integer as created,
    sum(closed)::integer as closed,
    sum(closed_returned)::integer as closed_returned,
    sum(due)::integer as due,
    sum(missed)::integer as missed,
    sum(overdue_entries)::integer as overdue_entries,
    sum(overdue_exits)::integer as overdue_exits
from agg_events
group by day, territory_id, current_municipality_id, category_id, source;

-- The crossings are not made one by one (9 thresholds x 2 events x 10M tickets = ~180M rows, half of
-- the whole rebuild). Per ticket, each condition below holds for a prefix of the thresholds (in
-- ascending order of days), so it is enough to count for how many:
--   age_ok            created_at + days < as_of (the crossing has happened)
--   age_closed_after  closed_at >= created_at + days (closed after crossing: leaves on its closing day)
--   od_ok             created_at < as_of and due_at + days < as_of
--   od_before_created due_at + days < created_at (it entered at its creation, not at deadline + days)
--   od_closed_after   closed_at >= due_at + days
-- A request enters at entry_at::date and leaves at greatest(entry_at, closed_at)::date (if closed
-- before as_of), so each event falls on one of three days: the creation, the deadline or creation +
-- days, or the closing. ageing_segments groups the tickets by those counts and the day (~18M rows at
-- 10M tickets); each segment stands for the thresholds [lo, hi) of its kind, on base_day (+ days when
-- shift). A randomised comparison with the one-by-one definition (deadlines and closings before the
-- creation, closings exactly on a threshold, requests near as_of) found them identical, as are the
-- tables at 10M; tests/test_backlog.py checks them against pandas.
create or replace temp table ageing_index as
select kind, days, (row_number() over (partition by kind order by days) - 1)::integer as idx
from ageing_thresholds;

create or replace temp table ageing_per_ticket as
with as_of as (
    select as_of from agg_moment
),
limits as (
    select
        list(days * 86400000000::bigint order by days) filter (where kind = 'age') as age_us,
        list(days * 86400000000::bigint order by days) filter (where kind = 'overdue') as overdue_us
    from ageing_thresholds
)
select
    f.territory_id, f.current_municipality_id, f.category_id, f.source,
    f.created_at::date as created_day,
    f.due_at::date as due_day,
    f.closed_at::date as closed_day,
    f.closed_at is not null and f.closed_at < a.as_of as closed_ok,
    f.closed_at >= f.created_at as closed_after_created,
    f.due_at is not null as has_due,
    -- how many thresholds (in ascending order) each condition holds for; each is true for a prefix
    len(list_filter(l.age_us, lambda d: epoch_us(f.created_at) + d < epoch_us(a.as_of)))::integer as age_ok,
    coalesce(len(list_filter(l.age_us, lambda d: epoch_us(f.closed_at) >= epoch_us(f.created_at) + d)), 0)::integer as age_closed_after,
    case when f.created_at < a.as_of
         then coalesce(len(list_filter(l.overdue_us, lambda d: epoch_us(f.due_at) + d < epoch_us(a.as_of))), 0)
         else 0 end::integer as od_ok,
    coalesce(len(list_filter(l.overdue_us, lambda d: epoch_us(f.due_at) + d < epoch_us(f.created_at))), 0)::integer as od_before_created,
    coalesce(len(list_filter(l.overdue_us, lambda d: epoch_us(f.closed_at) >= epoch_us(f.due_at) + d)), 0)::integer as od_closed_after
from agg_facts as f, as_of as a, limits as l;

create or replace temp table ageing_segments as
-- age entries: thresholds [0, age_ok) on created_day + days
select territory_id, current_municipality_id, category_id, source, 'age' as kind, created_day as base_day, true as shift,
       0 as lo, age_ok as hi, count(*) as entries, 0 as exits
from ageing_per_ticket where age_ok > 0 group by all
union all
-- age exits, closed after crossing: [0, least(age_ok, age_closed_after)) on closed_day
select territory_id, current_municipality_id, category_id, source, 'age', closed_day, false,
       0, least(age_ok, age_closed_after), 0, count(*)
from ageing_per_ticket where closed_ok and least(age_ok, age_closed_after) > 0 group by all
union all
-- age exits, closed before crossing: [age_closed_after, age_ok) on created_day + days
select territory_id, current_municipality_id, category_id, source, 'age', created_day, true,
       age_closed_after, age_ok, 0, count(*)
from ageing_per_ticket where closed_ok and age_closed_after < age_ok group by all
union all
-- overdue entries before the creation: [0, least(od_before_created, od_ok)) on created_day
select territory_id, current_municipality_id, category_id, source, 'overdue', created_day, false,
       0, least(od_before_created, od_ok), count(*), 0
from ageing_per_ticket where has_due and least(od_before_created, od_ok) > 0 group by all
union all
-- overdue entries: [od_before_created, od_ok) on due_day + days
select territory_id, current_municipality_id, category_id, source, 'overdue', due_day, true,
       od_before_created, od_ok, count(*), 0
from ageing_per_ticket where has_due and od_before_created < od_ok group by all
union all
-- overdue exits on the closing day: closed after the creation and after deadline + days
select territory_id, current_municipality_id, category_id, source, 'overdue', closed_day, false,
       0, least(od_closed_after, od_ok), 0, count(*)
from ageing_per_ticket where has_due and closed_ok and closed_after_created and least(od_closed_after, od_ok) > 0 group by all
union all
-- overdue exits on the creation day (deadline + days before the creation, closed before that)
select territory_id, current_municipality_id, category_id, source, 'overdue', created_day, false,
       case when closed_after_created then od_closed_after else 0 end, least(od_before_created, od_ok), 0, count(*)
from ageing_per_ticket
where has_due and closed_ok and (case when closed_after_created then od_closed_after else 0 end) < least(od_before_created, od_ok)
group by all
union all
-- overdue exits on deadline + days
select territory_id, current_municipality_id, category_id, source, 'overdue', due_day, true,
       greatest(case when closed_after_created then od_closed_after else 0 end, od_before_created), od_ok, 0, count(*)
from ageing_per_ticket
where has_due and closed_ok and greatest(case when closed_after_created then od_closed_after else 0 end, od_before_created) < od_ok
group by all;

create or replace temp table ageing_both as
select
    case when s.shift then s.base_day + i.days else s.base_day end as day,
    s.territory_id, s.current_municipality_id, s.category_id, s.source, s.kind, i.days,
    sum(s.entries)::integer as entries,
    sum(s.exits)::integer as exits,
    grouping(s.current_municipality_id) = 1 as by_category
from ageing_segments as s
join ageing_index as i on i.kind = s.kind and i.idx >= s.lo and i.idx < s.hi
group by grouping sets (
    (1, s.territory_id, s.current_municipality_id, s.source, s.kind, i.days),
    (1, s.territory_id, s.category_id, s.source, s.kind, i.days)
);

create or replace temp table agg_ageing_counts as
select day, territory_id, current_municipality_id, source, kind, days, entries, exits
from ageing_both
where not by_category;

-- ageing_counts_category: the same counts per direction, category and source (no municipality),
-- for the ageing of one category region-wide or in one direction.
create or replace temp table agg_ageing_counts_category as
select day, territory_id, category_id, source, kind, days, entries, exits
from ageing_both
where by_category;

drop table ageing_both;
drop table ageing_segments;
drop table ageing_per_ticket;
drop table ageing_index;


-- org_daily_counts: daily_counts by organisation instead of category and source: per
-- organisation, direction, current municipality and day, the same seven counts, each on the day of
-- its own event. Organisation-level questions sum it instead of grouping the ticket rows: the
-- drill-down's table of organisations (issue #21), the funnel plot, the compliance watchlist,
-- deadlines on weekends and holidays (these read due and missed through scoped_org_due_daily).
-- No category or source column: with either filter chosen they group the rows.
create or replace temp table agg_org_daily_counts as
select
    organization_id,
    territory_id,
    current_municipality_id,
    day,
    sum(created)::integer as created,
    sum(closed)::integer as closed,
    sum(closed_returned)::integer as closed_returned,
    sum(due)::integer as due,
    sum(missed)::integer as missed,
    sum(overdue_entries)::integer as overdue_entries,
    sum(overdue_exits)::integer as overdue_exits
from agg_events
group by organization_id, territory_id, current_municipality_id, day;
