-- drill_children_daily: drill_children's counts for level 'organization' from the pre-aggregated
-- org_daily_counts instead of the ticket rows (issue #21: a direction's organisations for a quarter
-- read ~2M day rows, not 10M requests). Only when no category, source or building is chosen and
-- the table was built for $as_of (oversight.drill.children decides); the median comes from
-- drill_medians. Same counts and columns as drill_children but the median.
-- Stocks at the period's end are every event before min($stop, $as_of): the table holds no event at
-- or after as_of, so summing the days before $stop gives them either way.
select
    organization_id as child_id,
    coalesce(sum(created) filter (where day >= $start::date), 0)::bigint as created,
    coalesce(sum(closed) filter (where day >= $start::date), 0)::bigint as closed,
    coalesce(sum(closed_returned) filter (where day >= $start::date), 0)::bigint as closed_returned,
    coalesce(sum(due) filter (where day >= $start::date), 0)::bigint as due,
    coalesce(sum(missed) filter (where day >= $start::date), 0)::bigint as missed,
    sum(created - closed)::bigint as backlog_end,
    sum(overdue_entries - overdue_exits)::bigint as overdue_backlog_end
from org_daily_counts
where day < $stop::date
  and ($territory_id is null or territory_id = $territory_id)
  and ($municipality_id is null or current_municipality_id = $municipality_id)
  and ($organization_id is null or organization_id = $organization_id)
group by organization_id
-- An organisation counts when it had a request in the period or open at its end (as the rows do).
having sum(created) filter (where day >= $start::date) > 0
    or sum(closed) filter (where day >= $start::date) > 0
    or sum(due) filter (where day >= $start::date) > 0
    or sum(created - closed) > 0
