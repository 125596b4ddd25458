-- drill_children: the drill-down's ranked table, one row per child of the current scope at level
-- $level ('territory' | 'municipality' | 'organization' | 'building' | 'category'), with the counts
-- and rates of ARCHITECTURE.md §3 for the period [$start, $stop) cut at $as_of. The scope is the
-- shared filters plus an optional building ($building_id). Requests with no organisation or building
-- form their own row (child_id null), so the rows always add up to the scope's totals.
-- Only requests that can count are read: created before the period's end, and not closed and done
-- with before it began (pruned by created_at through the table's order).
with keyed as (
    select
        case $level
            when 'territory' then territory_id
            when 'municipality' then current_municipality_id
            when 'organization' then organization_id
            when 'building' then building_id
            when 'category' then category_id
        end as child_id,
        created_at,
        closed_at,
        due_at,
        returned_count,
        resolution_us
    from scoped_tickets($territory_id, $municipality_id, $organization_id, $category_id, $source)
    where ($building_id is null or building_id = $building_id)
      and created_at < least($stop::timestamp, $as_of::timestamp)
      and (closed_at is null or closed_at >= $start or due_at >= $start)
)

select
    child_id,
    count(*) filter (where created_at >= $start) as created,
    count(*) filter (where closed_at >= $start and closed_at < $stop) as closed,
    count(*) filter (where closed_at >= $start and closed_at < $stop and returned_count > 0) as closed_returned,
    count(*) filter (where due_at >= $start and due_at < $stop and due_at < $as_of) as due,
    count(*) filter (
        where due_at >= $start and due_at < $stop and due_at < $as_of and (closed_at is null or closed_at > due_at)
    ) as missed,
    count(*) filter (
        where closed_at is null or closed_at >= least($stop::timestamp, $as_of::timestamp)
    ) as backlog_end,
    count(*) filter (
        where (closed_at is null or closed_at >= least($stop::timestamp, $as_of::timestamp))
          and due_at < least($stop::timestamp, $as_of::timestamp)
    ) as overdue_backlog_end,
    median(resolution_us) filter (where closed_at >= $start and closed_at < $stop) / 3600e6 as median_resolution_hours
from keyed
group by child_id
-- A child counts when it had a request in the period or open at its end (drill_children_daily alike).
having created > 0 or closed > 0 or due > 0 or backlog_end > 0
