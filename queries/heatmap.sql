-- heatmap: the same answer as heatmap_daily (territory_id, municipality_id, bucket, due, missed,
-- overdue_backlog) from the ticket rows; used when an organisation is chosen (a small, materialized
-- scope).
with scope as materialized (
    select current_municipality_id as municipality_id, created_at, closed_at, due_at
    from scoped_tickets($territory_id, $municipality_id, $organization_id, $category_id, $source)
),

buckets as (
    select bucket from period_buckets($bucket, $start, $stop, $as_of)
),

areas as (
    select territory_id, municipality_id
    from area_rows($territory_id, $municipality_id)
    where level = 'municipality'
),

events as (
    select municipality_id, due_at as moment, 1 as due,
        case when closed_at is null or closed_at > due_at then 1 else 0 end as missed, 0 as overdue_delta
    from scope
    where due_at is not null and due_at < $as_of
    union all
    select municipality_id, greatest(created_at, due_at), 0, 0, 1
    from scope
    where due_at is not null and greatest(created_at, due_at) < $as_of
    union all
    select municipality_id, greatest(created_at, due_at, closed_at), 0, 0, -1
    from scope
    where due_at is not null and closed_at is not null and greatest(created_at, due_at, closed_at) < $as_of
),

opening as (
    select municipality_id, sum(overdue_delta) as overdue
    from events
    where moment < $start
    group by 1
),

per_bucket as (
    select municipality_id, date_trunc($bucket, moment) as bucket, sum(due) as due, sum(missed) as missed,
        sum(overdue_delta) as overdue_delta
    from events
    where moment >= $start and moment < $stop
    group by all
),

final as (
    select
        a.territory_id,
        a.municipality_id,
        b.bucket,
        coalesce(p.due, 0)::bigint as due,
        coalesce(p.missed, 0)::bigint as missed,
        (coalesce(o.overdue, 0) + sum(coalesce(p.overdue_delta, 0)) over w)::bigint as overdue_backlog
    from areas as a
    cross join buckets as b
    left join opening as o on o.municipality_id = a.municipality_id
    left join per_bucket as p on p.municipality_id = a.municipality_id and p.bucket = b.bucket
    window w as (partition by a.municipality_id order by b.bucket rows between unbounded preceding and current row)
)

select * from final
order by territory_id, municipality_id, bucket
