-- ageing_trend: the same answer as ageing_trend_daily (bucket, kind, days, open_count), from the
-- ticket rows. Used when a category or an organisation is chosen, so the scope is small and is
-- materialized once. A request is past "age > N days" from created_at + N days and past "overdue
-- by > N days" from greatest(created_at, due_at + N days), until it is closed.
with scope as materialized (
    select created_at, closed_at, due_at
    from scoped_tickets($territory_id, $municipality_id, $organization_id, $category_id, $source)
),

buckets as (
    select bucket from period_buckets($bucket, $start, $stop, $as_of)
),

thresholds as (
    select kind, days from ageing_thresholds
),

crossings as (
    select
        t.kind,
        t.days,
        case
            when t.kind = 'age' then s.created_at + to_days(t.days)
            else greatest(s.created_at, s.due_at + to_days(t.days))
        end as entry_at,
        s.closed_at
    from scope as s, thresholds as t
    where t.kind = 'age' or s.due_at is not null
),

events as (
    select entry_at as moment, kind, days, 1 as delta
    from crossings
    where entry_at < $as_of
    union all
    select greatest(entry_at, closed_at), kind, days, -1
    from crossings
    where closed_at is not null and greatest(entry_at, closed_at) < $as_of
),

opening as (
    select kind, days, sum(delta) as n
    from events
    where moment < $start
    group by all
),

per_bucket as (
    select date_trunc($bucket, moment) as bucket, kind, days, sum(delta) as n
    from events
    where moment >= $start and moment < $stop
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
