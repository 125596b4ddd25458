-- backlog_by_area: the same answer as backlog_by_area_daily (area_id, bucket, created, closed,
-- backlog, overdue_backlog) from the ticket rows; used when an organisation is chosen (a small,
-- materialized scope).
with scope as materialized (
    select
        case when $level = 'territory' then territory_id else current_municipality_id end as area_id,
        created_at, closed_at, due_at
    from scoped_tickets($territory_id, $municipality_id, $organization_id, $category_id, $source)
),

buckets as (
    select bucket from period_buckets($bucket, $start, $stop, $as_of)
),

areas as (
    select distinct case when $level = 'territory' then territory_id else municipality_id end as area_id
    from area_rows($territory_id, $municipality_id)
    where level = $level
),

events as (
    select area_id, created_at as moment, 1 as created, 0 as closed, 0 as overdue_delta from scope
    union all
    select area_id, closed_at, 0, 1, 0 from scope where closed_at is not null
    union all
    select area_id, greatest(created_at, due_at), 0, 0, 1 from scope where due_at is not null
    union all
    select area_id, greatest(created_at, due_at, closed_at), 0, 0, -1
    from scope
    where due_at is not null and closed_at is not null
),

opening as (
    select area_id, sum(created - closed) as backlog, sum(overdue_delta) as overdue
    from events
    where moment < $start
    group by 1
),

per_bucket as (
    select area_id, date_trunc($bucket, moment) as bucket, sum(created) as created, sum(closed) as closed,
        sum(overdue_delta) as overdue_delta
    from events
    where moment >= $start and moment < least($stop::timestamp, $as_of::timestamp)
    group by all
),

final as (
    select
        a.area_id,
        b.bucket,
        coalesce(p.created, 0)::bigint as created,
        coalesce(p.closed, 0)::bigint as closed,
        (coalesce(o.backlog, 0) + sum(coalesce(p.created, 0) - coalesce(p.closed, 0)) over w)::bigint as backlog,
        (coalesce(o.overdue, 0) + sum(coalesce(p.overdue_delta, 0)) over w)::bigint as overdue_backlog
    from areas as a
    cross join buckets as b
    left join opening as o on o.area_id = a.area_id
    left join per_bucket as p on p.area_id = a.area_id and p.bucket = b.bucket
    window w as (partition by a.area_id order by b.bucket rows between unbounded preceding and current row)
)

select * from final
order by area_id, bucket
