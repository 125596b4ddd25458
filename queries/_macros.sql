-- Macros every query relies on; installed on each cursor by oversight.store (temporary, so a
-- read-only database needs no write). Not a query itself: files starting with "_" are not runnable.

-- scoped_tickets(...): the tickets inside the shared sidebar filters, read from ticket_facts (so
-- each carries the current municipality it rolls up to and its direction). A null argument means
-- "all". Every query reads tickets through this macro, so the filters apply the same way everywhere.
-- With an organisation chosen the rows come from ticket_facts_by_org (ordered by organisation: a
-- few row groups instead of all); the other branch is then empty, and the reverse without one.
create or replace temp macro scoped_tickets(p_territory, p_municipality, p_organization, p_category, p_source) as table
select *
from ticket_facts
where p_organization is null
  and (p_territory is null or territory_id = p_territory)
  and (p_municipality is null or current_municipality_id = p_municipality)
  and (p_category is null or category_id = p_category)
  and (p_source is null or source = p_source)
union all
select *
from ticket_facts_by_org
where p_organization is not null
  and organization_id = p_organization
  and (p_territory is null or territory_id = p_territory)
  and (p_municipality is null or current_municipality_id = p_municipality)
  and (p_category is null or category_id = p_category)
  and (p_source is null or source = p_source);

-- scoped_counts(...): daily counts of each event (created, closed, closed_returned, due, missed,
-- overdue_entries, overdue_exits per day x direction x current municipality x category x source)
-- inside the shared filters. Every count query reads through it, so both ways of counting share one
-- SQL per question. Two implementations with the same columns:
--   scoped_counts_daily: the pre-aggregated daily_counts (built for the dataset's as_of; it has no
--     organisation or building column): the default;
--   scoped_counts_rows: counted from the ticket rows, for an organisation, a building (p_building,
--     the drill-down) or another as_of.
-- oversight.store.run(..., rows=True) points scoped_counts at the second for that one query (a fixed
-- statement, no input in it). Choosing the text, not filtering on a flag, keeps each way as fast as
-- its own query: DuckDB does not fold a bound flag away, and would scan both sources.
create or replace temp macro scoped_counts_daily(p_as_of, p_territory, p_municipality, p_organization, p_category, p_source, p_building) as table
select day, territory_id, current_municipality_id, category_id, source, created, closed, closed_returned,
    due, missed, overdue_entries, overdue_exits
from daily_counts
where (p_territory is null or territory_id = p_territory)
  and (p_municipality is null or current_municipality_id = p_municipality)
  and (p_category is null or category_id = p_category)
  and (p_source is null or source = p_source);

create or replace temp macro scoped_counts_rows(p_as_of, p_territory, p_municipality, p_organization, p_category, p_source, p_building) as table
with rows_scope as materialized (
    select territory_id, current_municipality_id, category_id, source, created_at, closed_at, due_at, returned_count
    from scoped_tickets(p_territory, p_municipality, p_organization, p_category, p_source)
    where p_building is null or building_id = p_building
),

row_events as (
    select created_at::date as day, territory_id, current_municipality_id, category_id, source,
        1 as created, 0 as closed, 0 as closed_returned, 0 as due, 0 as missed, 0 as overdue_entries, 0 as overdue_exits
    from rows_scope
    where created_at < p_as_of
    union all
    select closed_at::date, territory_id, current_municipality_id, category_id, source,
        0, 1, case when returned_count > 0 then 1 else 0 end, 0, 0, 0, 0
    from rows_scope
    where closed_at < p_as_of
    union all
    select due_at::date, territory_id, current_municipality_id, category_id, source,
        0, 0, 0, 1, case when closed_at is null or closed_at > due_at then 1 else 0 end, 0, 0
    from rows_scope
    where due_at < p_as_of
    union all
    select greatest(created_at, due_at)::date, territory_id, current_municipality_id, category_id, source,
        0, 0, 0, 0, 0, 1, 0
    from rows_scope
    where due_at is not null and greatest(created_at, due_at) < p_as_of
    union all
    select greatest(created_at, due_at, closed_at)::date, territory_id, current_municipality_id, category_id, source,
        0, 0, 0, 0, 0, 0, 1
    from rows_scope
    where due_at is not null and closed_at is not null and greatest(created_at, due_at, closed_at) < p_as_of
)

select day, territory_id, current_municipality_id, category_id, source,
    sum(created) as created, sum(closed) as closed, sum(closed_returned) as closed_returned, sum(due) as due,
    sum(missed) as missed, sum(overdue_entries) as overdue_entries, sum(overdue_exits) as overdue_exits
from row_events
group by all;

create or replace temp macro scoped_counts(p_as_of, p_territory, p_municipality, p_organization, p_category, p_source, p_building) as table
select * from scoped_counts_daily(p_as_of, p_territory, p_municipality, p_organization, p_category, p_source, p_building);

-- area_rows(...): the rows of the per-area tables inside the shared filters: every direction
-- (level 'territory') and every current municipality (level 'municipality') in scope, so an area
-- with no requests still shows, as zeros. With a municipality chosen, only its direction.
create or replace temp macro area_rows(p_territory, p_municipality) as table
select territory_id, null::integer as municipality_id, 'territory' as level
from territories
where (p_territory is null or territory_id = p_territory)
  and (p_municipality is null
       or territory_id = (select territory_id from municipalities where municipality_id = p_municipality))
union all
select territory_id, municipality_id, 'municipality' as level
from municipalities
where successor_id is null
  and (p_territory is null or territory_id = p_territory)
  and (p_municipality is null or municipality_id = p_municipality);

-- bucket_width(p_bucket): the length of a 'day', 'week' or 'month' bucket.
create or replace temp macro bucket_width(p_bucket) as
    case p_bucket when 'day' then interval 1 day when 'week' then interval 7 day else interval 1 month end;

-- period_buckets(...): the start of every bucket that overlaps [p_start, min(p_stop, p_as_of)):
-- the time axis of every trend (buckets after as_of are left out).
create or replace temp macro period_buckets(p_bucket, p_start, p_stop, p_as_of) as table
select unnest(generate_series(
    date_trunc(p_bucket, p_start::timestamp),
    least(p_stop::timestamp, p_as_of::timestamp) - interval 1 microsecond,
    bucket_width(p_bucket)
)) as bucket;

-- scoped_ageing_counts(...): per day, threshold kind and days, how many open requests crossed the
-- threshold (entries) and how many of those were closed afterwards (exits), inside the shared filters.
-- Two implementations with the same columns, like scoped_counts (store.run(..., rows=True) picks the
-- second):
--   scoped_ageing_counts_daily: from ageing_counts, or from ageing_counts_category when a category is
--     chosen (that table has no municipality: a category within one municipality uses the rows);
--   scoped_ageing_counts_rows: the definitions of ageing_counts (queries/_build_facts.sql) run over
--     the ticket rows, for an organisation, a category within a municipality or another as_of.
create or replace temp macro scoped_ageing_counts_daily(p_as_of, p_territory, p_municipality, p_organization, p_category, p_source) as table
select day, kind, days, entries, exits
from ageing_counts
where p_category is null
  and (p_territory is null or territory_id = p_territory)
  and (p_municipality is null or current_municipality_id = p_municipality)
  and (p_source is null or source = p_source)
union all
select day, kind, days, entries, exits
from ageing_counts_category
where p_category is not null and p_municipality is null
  and (p_territory is null or territory_id = p_territory)
  and category_id = p_category
  and (p_source is null or source = p_source);

create or replace temp macro scoped_ageing_counts_rows(p_as_of, p_territory, p_municipality, p_organization, p_category, p_source) as table
with crossings as materialized (
    select
        t.kind,
        t.days,
        case
            when t.kind = 'age' then s.created_at + to_days(t.days)
            else greatest(s.created_at, s.due_at + to_days(t.days))
        end as entry_at,
        s.closed_at
    from scoped_tickets(p_territory, p_municipality, p_organization, p_category, p_source) as s, ageing_thresholds as t
    where t.kind = 'age' or s.due_at is not null
)

select day, kind, days, sum(entries) as entries, sum(exits) as exits
from (
    select entry_at::date as day, kind, days, 1 as entries, 0 as exits
    from crossings
    where entry_at < p_as_of
    union all
    select greatest(entry_at, closed_at)::date, kind, days, 0, 1
    from crossings
    where closed_at is not null and greatest(entry_at, closed_at) < p_as_of
)
group by all;

create or replace temp macro scoped_ageing_counts(p_as_of, p_territory, p_municipality, p_organization, p_category, p_source) as table
select * from scoped_ageing_counts_daily(p_as_of, p_territory, p_municipality, p_organization, p_category, p_source);

-- scoped_org_due(...): deadlines that fell due before p_as_of, and of those missed (closed after the
-- deadline or still open), per organisation, direction, current municipality and day of the
-- deadline, inside the shared filters. Two implementations with the same columns:
--   scoped_org_due_daily: the pre-aggregated org_daily_counts (built for the dataset's as_of; it has no
--     category or source column, so it is only used when neither is chosen): the default;
--   scoped_org_due_rows: grouped from the ticket rows, for a category, a source or another as_of.
-- oversight.store.run(..., rows=True) points scoped_org_due at the second, as for scoped_counts.
create or replace temp macro scoped_org_due_daily(p_as_of, p_territory, p_municipality, p_organization, p_category, p_source) as table
select organization_id, territory_id, current_municipality_id, day, due, missed
from org_daily_counts
where due > 0
  and (p_territory is null or territory_id = p_territory)
  and (p_municipality is null or current_municipality_id = p_municipality)
  and (p_organization is null or organization_id = p_organization);

create or replace temp macro scoped_org_due_rows(p_as_of, p_territory, p_municipality, p_organization, p_category, p_source) as table
select
    organization_id,
    territory_id,
    current_municipality_id,
    due_at::date as day,
    count(*)::integer as due,
    count(*) filter (where closed_at is null or closed_at > due_at)::integer as missed
from scoped_tickets(p_territory, p_municipality, p_organization, p_category, p_source)
where due_at < p_as_of
group by all;

create or replace temp macro scoped_org_due(p_as_of, p_territory, p_municipality, p_organization, p_category, p_source) as table
select * from scoped_org_due_daily(p_as_of, p_territory, p_municipality, p_organization, p_category, p_source);
