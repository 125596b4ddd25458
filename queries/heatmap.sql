-- heatmap: per current municipality and per $bucket of [$start, $stop): deadlines that fell
-- due and were missed in the bucket, and the overdue backlog at the bucket's end (or at $as_of),
-- for the shared filters, from scoped_counts (from the ticket rows when oversight.store.run is given rows=True). Every municipality in
-- scope gets every bucket, with zeros where nothing happened.
with counts as not materialized (
    select * from scoped_counts($as_of, $territory_id, $municipality_id, $organization_id, $category_id, $source, $building_id)
),

buckets as (
    select bucket from period_buckets($bucket, $start, $stop, $as_of)
),

areas as (
    select territory_id, municipality_id
    from area_rows($territory_id, $municipality_id)
    where level = 'municipality'
),

opening as (
    select current_municipality_id as municipality_id, sum(overdue_entries - overdue_exits) as overdue
    from counts
    where day < $start::date
    group by 1
),

per_bucket as (
    select
        current_municipality_id as municipality_id,
        date_trunc($bucket, day::timestamp) as bucket,
        sum(due) as due,
        sum(missed) as missed,
        sum(overdue_entries - overdue_exits) as overdue_delta
    from counts
    where day >= $start::date and day < $stop::date
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
