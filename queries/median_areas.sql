-- median_areas: median resolution time in hours of requests closed in [$start, $stop), per
-- direction (municipality_id null) and per current municipality, for the shared filters.
select
    territory_id,
    current_municipality_id as municipality_id,
    median(resolution_us) / 3600e6 as median_resolution_hours
from scoped_tickets($territory_id, $municipality_id, $organization_id, $category_id, $source)
where closed_at >= $start and closed_at < $stop
group by grouping sets ((territory_id), (territory_id, current_municipality_id))
