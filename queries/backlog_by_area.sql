-- backlog_by_area: per area and per $bucket of [$start, $stop): created, closed, and the open
-- backlog and overdue backlog at the bucket's end (or at $as_of). $level picks
-- the area: 'territory' (directions) or 'municipality' (current municipalities). Used for the small
-- multiples "where is the backlog growing". Counts from scoped_counts (from the ticket rows when oversight.store.run is given rows=True).
with counts as not materialized (
    select
        case when $level = 'territory' then territory_id else current_municipality_id end as area_id,
        *
    from scoped_counts($as_of, $territory_id, $municipality_id, $organization_id, $category_id, $source, $building_id)
),

buckets as (
    select bucket from period_buckets($bucket, $start, $stop, $as_of)
),

areas as (
    select distinct case when $level = 'territory' then territory_id else municipality_id end as area_id
    from area_rows($territory_id, $municipality_id)
    where level = $level
),

opening as (
    select
        area_id,
        sum(created - closed) as backlog,
        sum(overdue_entries - overdue_exits) as overdue
    from counts
    where day < $start::date
    group by 1
),

per_bucket as (
    select
        area_id,
        date_trunc($bucket, day::timestamp) as bucket,
        sum(created) as created,
        sum(closed) as closed,
        sum(overdue_entries - overdue_exits) as overdue_delta
    from counts
    where day >= $start::date and day < $stop::date
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
