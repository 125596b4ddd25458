-- median_buckets: median resolution time in hours of requests closed in each $bucket ('day',
-- 'week' or 'month') of [$start, $stop), for the shared filters. Rows: bucket,
-- median_resolution_hours (buckets with no closures are absent). $building_id: one building only.
select
    date_trunc($bucket, closed_at) as bucket,
    median(resolution_us) / 3600e6 as median_resolution_hours
from scoped_tickets($territory_id, $municipality_id, $organization_id, $category_id, $source)
where closed_at >= $start and closed_at < $stop and closed_at < $as_of
  and ($building_id is null or building_id = $building_id)
group by 1
