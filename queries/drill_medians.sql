-- drill_medians: median resolution time in hours per child of the drill-down at $level, of the
-- requests closed in [$start, $stop) before $as_of, inside the shared filters (and $building_id).
-- Rows: child_id, median_resolution_hours (children with no closing are absent).
select
    case $level
        when 'territory' then territory_id
        when 'municipality' then current_municipality_id
        when 'organization' then organization_id
        when 'building' then building_id
        when 'category' then category_id
    end as child_id,
    median(resolution_us) / 3600e6 as median_resolution_hours
from scoped_tickets($territory_id, $municipality_id, $organization_id, $category_id, $source)
where closed_at >= $start and closed_at < $stop and closed_at < $as_of
  and ($building_id is null or building_id = $building_id)
group by 1
