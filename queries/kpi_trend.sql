-- kpi_trend: the KPIs per bucket ($bucket: 'day', 'week' or 'month') inside [$start, $stop), for
-- the shared filters: days (of the bucket in the period), created, closed, due, missed,
-- on_time_rate, returned_share, backlog and overdue_backlog at each bucket's end (or at $as_of),
-- and both stocks when the period began. Counts from scoped_counts (from the ticket rows when oversight.store.run is given rows=True);
-- oversight.metrics adds the medians.
-- Backlog is computed the event way: the stock before the period plus running sums of the daily
-- events, never with a calendar join.
with counts as not materialized (
    select * from scoped_counts($as_of, $territory_id, $municipality_id, $organization_id, $category_id, $source, $building_id)
),

buckets as (
    select bucket from period_buckets($bucket, $start, $stop, $as_of)
),

opening as (
    select
        coalesce(sum(created - closed), 0)::bigint as backlog,
        coalesce(sum(overdue_entries - overdue_exits), 0)::bigint as overdue
    from counts
    where day < $start::date
),

per_bucket as (
    select
        date_trunc($bucket, day::timestamp) as bucket,
        sum(created)::bigint as created,
        sum(closed)::bigint as closed,
        sum(closed_returned)::bigint as closed_returned,
        sum(due)::bigint as due,
        sum(missed)::bigint as missed,
        sum(overdue_entries)::bigint as overdue_entries,
        sum(overdue_exits)::bigint as overdue_exits
    from counts
    where day >= $start::date and day < $stop::date
    group by 1
),

joined as (
    select
        buckets.bucket,
        epoch(least(buckets.bucket + bucket_width($bucket), $stop::timestamp, $as_of::timestamp)
            - greatest(buckets.bucket, $start::timestamp)) / 86400.0 as days,
        coalesce(per_bucket.created, 0) as created,
        coalesce(per_bucket.closed, 0) as closed,
        coalesce(per_bucket.closed_returned, 0) as closed_returned,
        coalesce(per_bucket.due, 0) as due,
        coalesce(per_bucket.missed, 0) as missed,
        coalesce(per_bucket.overdue_entries, 0) as overdue_entries,
        coalesce(per_bucket.overdue_exits, 0) as overdue_exits
    from buckets
    left join per_bucket using (bucket)
),

final as (
    select
        bucket,
        days,
        created,
        closed,
        due,
        missed,
        1.0 - missed / nullif(due, 0) as on_time_rate,
        closed_returned / nullif(closed, 0) as returned_share,
        opening.backlog::bigint as opening_backlog,
        opening.overdue::bigint as opening_overdue,
        (opening.backlog + sum(created - closed) over w)::bigint as backlog,
        (opening.overdue + sum(overdue_entries - overdue_exits) over w)::bigint as overdue_backlog
    from joined, opening
    window w as (order by bucket rows between unbounded preceding and current row)
)

select * from final
order by bucket
