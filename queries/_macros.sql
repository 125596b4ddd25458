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

-- scoped_daily_counts(...): daily_counts inside the shared filters (no organisation: the table has
-- none; oversight.metrics uses the ticket rows when an organisation is chosen).
create or replace temp macro scoped_daily_counts(p_territory, p_municipality, p_category, p_source) as table
select *
from daily_counts
where (p_territory is null or territory_id = p_territory)
  and (p_municipality is null or current_municipality_id = p_municipality)
  and (p_category is null or category_id = p_category)
  and (p_source is null or source = p_source);

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

-- scoped_ageing_counts(...): the ageing counts inside the shared filters: from ageing_counts when
-- no category is chosen, from ageing_counts_category when one is (that table has no municipality:
-- oversight.backlog uses the ticket rows for a category within one municipality, or an
-- organisation). The branch not taken is a constant-false filter, so it costs nothing.
create or replace temp macro scoped_ageing_counts(p_territory, p_municipality, p_category, p_source) as table
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
