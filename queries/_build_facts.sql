-- Derived tables. municipality_rollup: every municipality, current or historical, with the
-- current municipality it rolls up to and that one's direction. ticket_facts: the tickets with what every query needs precomputed, so that no
-- query joins or recomputes per row. Rebuilt by oversight.store whenever tickets or
-- municipalities are written. Not a query itself (files starting with "_" are not runnable).
--   current_municipality_id, territory_id: the roll-up of the recorded municipality to today's
--     (following successor_id chains), and today's direction;
--   resolution_us: closed_at - created_at in microseconds (null while open), for exact medians;
--   rating, has_text: the resident's rating and whether there is a text (choosing examples).
-- Rows are ordered by created_at so DuckDB's per-row-group min/max skip most of the table for
-- period filters (closed_at and due_at follow created_at closely).
create or replace table municipality_rollup as
with recursive chain(municipality_id, current_id, depth) as (
    select municipality_id, municipality_id, 0
    from municipalities
    where successor_id is null
    union all
    select m.municipality_id, chain.current_id, chain.depth + 1
    from municipalities as m
    join chain on m.successor_id = chain.municipality_id
    where chain.depth < 16
)

select chain.municipality_id, chain.current_id, cur.territory_id
from chain
join municipalities as cur on cur.municipality_id = chain.current_id;

create or replace table ticket_facts as
select
    t.ticket_id,
    t.source,
    t.created_at,
    t.due_at,
    t.closed_at,
    t.category_id,
    t.municipality_id,
    r.current_id as current_municipality_id,
    r.territory_id,
    t.organization_id,
    t.building_id,
    t.returned_count,
    epoch_us(t.closed_at) - epoch_us(t.created_at) as resolution_us,
    t.rating,
    coalesce(t.description, '') <> '' as has_text
from tickets as t
left join municipality_rollup as r on r.municipality_id = t.municipality_id
order by t.created_at;

-- ticket_facts_by_org: the same rows ordered by organisation, so a query about one organisation
-- reads a row group or two (DuckDB's per-row-group min/max) instead of scanning every request: the
-- drill-down's organisation level and any page with an organisation filter. scoped_tickets picks it
-- when an organisation is chosen.
create or replace table ticket_facts_by_org as
select *
from ticket_facts
order by organization_id, created_at;

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
create or replace table daily_counts as
with as_of as (
    select max(as_of) as as_of from dataset
),

events as (
    select
        created_at::date as day, territory_id, current_municipality_id, category_id, source,
        1 as created, 0 as closed, 0 as closed_returned, 0 as due, 0 as missed,
        0 as overdue_entries, 0 as overdue_exits
    from ticket_facts
    union all
    select
        closed_at::date, territory_id, current_municipality_id, category_id, source,
        0, 1, case when returned_count > 0 then 1 else 0 end, 0, 0, 0, 0
    from ticket_facts
    where closed_at is not null
    union all
    select
        due_at::date, territory_id, current_municipality_id, category_id, source,
        0, 0, 0, 1, case when closed_at is null or closed_at > due_at then 1 else 0 end, 0, 0
    from ticket_facts, as_of
    where due_at < as_of.as_of
    union all
    select
        greatest(created_at, due_at)::date, territory_id, current_municipality_id, category_id, source,
        0, 0, 0, 0, 0, 1, 0
    from ticket_facts, as_of
    where due_at is not null and greatest(created_at, due_at) < as_of.as_of
    union all
    select
        greatest(created_at, due_at, closed_at)::date, territory_id, current_municipality_id, category_id, source,
        0, 0, 0, 0, 0, 0, 1
    from ticket_facts, as_of
    where due_at is not null and closed_at is not null
      and greatest(created_at, due_at, closed_at) < as_of.as_of
)

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
from events
group by all
order by day;

-- ageing_thresholds / ageing_counts: for the ageing of the open backlog. For each threshold (kind
-- 'age': more than N days since creation; kind 'overdue': more than N days past the deadline; N = 0
-- gives the open backlog and the overdue backlog themselves), how many open requests
-- crossed it (entries) and how many of those were closed afterwards (exits) on each day, per
-- direction, current municipality and source (no category: with a category or organisation chosen,
-- the same definitions run over the ticket rows). Open requests past a threshold at t = the running
-- sum of entries - exits before t. A request crosses "age > N days" at created_at + N days and
-- "overdue by > N days" at greatest(created_at, due_at + N days); it leaves at its closing if later.
create or replace table ageing_thresholds as
select * from (
    values ('age', 0), ('age', 1), ('age', 3), ('age', 7), ('age', 30),
           ('overdue', 0), ('overdue', 1), ('overdue', 7), ('overdue', 30)
) as t(kind, days);

create or replace temp view ageing_events as
with as_of as (
    select max(as_of) as as_of from dataset
),

crossings as (
    select
        f.territory_id,
        f.current_municipality_id,
        f.category_id,
        f.source,
        t.kind,
        t.days,
        case
            when t.kind = 'age' then f.created_at + to_days(t.days)
            else greatest(f.created_at, f.due_at + to_days(t.days))
        end as entry_at,
        f.closed_at
    from ticket_facts as f, ageing_thresholds as t
    where t.kind = 'age' or f.due_at is not null
)

select entry_at::date as day, territory_id, current_municipality_id, category_id, source, kind, days,
    1 as entries, 0 as exits
from crossings, as_of
where entry_at < as_of.as_of
union all
select greatest(entry_at, closed_at)::date, territory_id, current_municipality_id, category_id, source, kind, days, 0, 1
from crossings, as_of
where closed_at is not null and greatest(entry_at, closed_at) < as_of.as_of;

-- One pass over the events feeds both groupings (GROUPING SETS): the events are ~180M rows at 10M
-- tickets, and making them twice took half of the whole rebuild.
create or replace temp table ageing_both as
select
    day, territory_id, current_municipality_id, category_id, source, kind, days,
    sum(entries)::integer as entries,
    sum(exits)::integer as exits,
    grouping(current_municipality_id) = 1 as by_category
from ageing_events
group by grouping sets (
    (day, territory_id, current_municipality_id, source, kind, days),
    (day, territory_id, category_id, source, kind, days)
);

create or replace table ageing_counts as
select day, territory_id, current_municipality_id, source, kind, days, entries, exits
from ageing_both
where not by_category
order by day;

-- ageing_counts_category: the same counts per direction, category and source (no municipality),
-- for the ageing of one category region-wide or in one direction.
create or replace table ageing_counts_category as
select day, territory_id, category_id, source, kind, days, entries, exits
from ageing_both
where by_category
order by day;

drop table ageing_both;

drop view ageing_events;

-- org_due_daily: per organisation, current municipality and day of the deadline, how many
-- deadlines fell due (before as_of) and how many of those were missed (closed after the deadline or
-- still open), as daily_counts counts them. Organisation-level questions that need only these two
-- counts (the funnel plot, the compliance watchlist, deadlines on weekends and holidays) sum it
-- instead of grouping the ticket rows; ~1M rows for 10M tickets. No category or source column:
-- with either filter chosen they group the rows (oversight.fairness.uses_org_due_daily).
create or replace table org_due_daily as
with as_of as (
    select max(as_of) as as_of from dataset
)

select
    organization_id,
    territory_id,
    current_municipality_id,
    due_at::date as day,
    count(*)::integer as due,
    count(*) filter (where closed_at is null or closed_at > due_at)::integer as missed
from ticket_facts, as_of
where due_at < as_of.as_of
group by all
order by day;

-- derived_info: which version of these definitions built the tables, and for which as_of (the fast
-- path is only valid for that moment). oversight.store rebuilds when the version differs.
create or replace table derived_info as
select 12 as version, (select max(as_of) from dataset) as as_of;
