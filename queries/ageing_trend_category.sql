-- ageing_trend_category: how many requests open at the end of each $bucket ('day', 'week', 'month')
-- of [$start, $stop) have waited more than N days (kind 'age') or are more than N days past their
-- deadline (kind 'overdue'), from ageing_counts_category, for one category (and source) region-wide
-- or in one direction. Long format: bucket, kind, days, open_count (the same answer as ageing_trend).
with counts as not materialized (
    select *
    from ageing_counts_category
    where ($territory_id is null or territory_id = $territory_id)
      and category_id = $category_id
      and ($source is null or source = $source)
),

step as (
    select case $bucket when 'day' then interval 1 day when 'week' then interval 7 day else interval 1 month end as width
),

buckets as (
    select unnest(generate_series(
        date_trunc($bucket, $start::timestamp),
        least($stop::timestamp, $as_of::timestamp) - interval 1 microsecond,
        (select width from step)
    )) as bucket
),

thresholds as (
    select kind, days from ageing_thresholds
),

opening as (
    select kind, days, sum(entries - exits) as n
    from counts
    where day < $start::date
    group by all
),

per_bucket as (
    select date_trunc($bucket, day::timestamp) as bucket, kind, days, sum(entries - exits) as n
    from counts
    where day >= $start::date and day < $stop::date
    group by all
),

final as (
    select
        b.bucket,
        t.kind,
        t.days,
        (coalesce(o.n, 0) + sum(coalesce(p.n, 0)) over (
            partition by t.kind, t.days order by b.bucket rows between unbounded preceding and current row
        ))::bigint as open_count
    from buckets as b
    cross join thresholds as t
    left join opening as o on o.kind = t.kind and o.days = t.days
    left join per_bucket as p on p.bucket = b.bucket and p.kind = t.kind and p.days = t.days
)

select * from final
order by kind, days, bucket
