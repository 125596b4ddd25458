-- median_buckets: median resolution time in hours of requests closed in each $bucket ('day',
-- 'week' or 'month') of [$start, $stop), for the shared filters. Rows: bucket,
-- median_resolution_hours (buckets with no closures are absent).
select
    date_trunc($bucket, closed_at) as bucket,
    median(resolution_us) / 3600e6 as median_resolution_hours
from scoped_tickets($territory_id, $municipality_id, $organization_id, $category_id, $source)
where closed_at >= $start and closed_at < $stop
group by 1
