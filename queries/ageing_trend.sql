-- ageing_trend: how many requests open at the end of each $bucket ('day', 'week', 'month') of
-- [$start, $stop) have waited more than N days (kind 'age') or are more than N days past their
-- deadline (kind 'overdue'), from scoped_ageing_counts (pre-aggregated, or the ticket rows when run
-- with rows=True). Long format: bucket, kind, days, open_count; oversight.backlog turns the
-- thresholds into stacked bands.
with counts as not materialized (
    select * from scoped_ageing_counts($as_of, $territory_id, $municipality_id, $organization_id, $category_id, $source)
),

buckets as (
    select bucket from period_buckets($bucket, $start, $stop, $as_of)
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
