-- median_periods: median resolution time in hours of requests closed in the current period
-- [$start, $stop) and in the previous one [$prev_start, $start), for the shared filters.
-- Rows: period ('current' | 'previous'), median_resolution_hours.
select
    case when closed_at >= $start then 'current' else 'previous' end as period,
    median(resolution_us) / 3600e6 as median_resolution_hours
from scoped_tickets($territory_id, $municipality_id, $organization_id, $category_id, $source)
where closed_at >= $prev_start and closed_at < $stop and closed_at < $as_of
group by 1
