-- kpi_trend: the KPIs per time bucket ($bucket: 'day', 'week' or 'month') inside [$start, $stop),
-- for the shared filters. One row per bucket start (buckets after $as_of are left out): days (of
-- the bucket inside the period, to turn flows into per-day rates), created, closed, due, missed,
-- on_time_rate, median_resolution_hours, returned_share, and backlog / overdue_backlog at the
-- bucket's end (or at $as_of if earlier), and both stocks when the period began (opening_*).
-- Backlog is computed the event way (opening stock + cumulative +1 at creation, -1 at closing),
-- never with a calendar join, which is hundreds of times slower on millions of tickets.
-- Reads the ticket rows: oversight.metrics uses it when an organisation filter is set (the
-- pre-aggregated daily_counts has no organisation), so the scope is small and is materialized once.
with scope as materialized (
    select created_at, closed_at, due_at, returned_count, resolution_us
    from scoped_tickets($territory_id, $municipality_id, $organization_id, $category_id, $source)
    where $building_id is null or building_id = $building_id  -- the drill-down's building level
),

buckets as (
    select bucket from period_buckets($bucket, $start, $stop, $as_of)
),

opening as (
    select
        count(*) filter (where closed_at is null or closed_at >= $start) as backlog,
        count(*) filter (
            where due_at is not null and greatest(created_at, due_at) < $start
              and (closed_at is null or closed_at >= $start)
        ) as overdue
    from scope
    where created_at < $start
),

created as (
    select date_trunc($bucket, created_at) as bucket, count(*) as created
    from scope
    where created_at >= $start and created_at < least($stop::timestamp, $as_of::timestamp)
    group by 1
),

closed as (
    select
        date_trunc($bucket, closed_at) as bucket,
        count(*) as closed,
        median(resolution_us) / 3600e6 as median_resolution_hours,
        avg(case when returned_count > 0 then 1.0 else 0.0 end) as returned_share
    from scope
    where closed_at >= $start and closed_at < least($stop::timestamp, $as_of::timestamp)
    group by 1
),

due as (
    select
        date_trunc($bucket, due_at) as bucket,
        count(*) as due,
        count(*) filter (where closed_at is null or closed_at > due_at) as missed
    from scope
    where due_at >= $start and due_at < least($stop::timestamp, $as_of::timestamp)
    group by 1
),

-- A request is in the overdue backlog while it exists, its deadline has passed and it is open: it
-- enters at greatest(created_at, due_at) and leaves at its closing if that is later (a request
-- closed before its deadline enters and leaves at the same moment: the two cancel out).
overdue_entry as (
    select date_trunc($bucket, greatest(created_at, due_at)) as bucket, count(*) as entries
    from scope
    where due_at is not null
      and greatest(created_at, due_at) >= $start
      and greatest(created_at, due_at) < least($stop::timestamp, $as_of::timestamp)
    group by 1
),

overdue_exit as (
    select date_trunc($bucket, greatest(created_at, due_at, closed_at)) as bucket, count(*) as exits
    from scope
    where closed_at is not null and due_at is not null
      and greatest(created_at, due_at, closed_at) >= $start
      and greatest(created_at, due_at, closed_at) < least($stop::timestamp, $as_of::timestamp)
    group by 1
),

joined as (
    select
        buckets.bucket,
        epoch(least(buckets.bucket + bucket_width($bucket), $stop::timestamp, $as_of::timestamp)
            - greatest(buckets.bucket, $start::timestamp)) / 86400.0 as days,
        coalesce(created.created, 0) as created,
        coalesce(closed.closed, 0) as closed,
        coalesce(due.due, 0) as due,
        coalesce(due.missed, 0) as missed,
        closed.median_resolution_hours,
        closed.returned_share,
        coalesce(overdue_entry.entries, 0) as overdue_entries,
        coalesce(overdue_exit.exits, 0) as overdue_exits
    from buckets
    left join created using (bucket)
    left join closed using (bucket)
    left join due using (bucket)
    left join overdue_entry using (bucket)
    left join overdue_exit using (bucket)
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
        median_resolution_hours,
        returned_share,
        opening.backlog::bigint as opening_backlog,
        opening.overdue::bigint as opening_overdue,
        (opening.backlog + sum(created - closed) over w)::bigint as backlog,
        (opening.overdue + sum(overdue_entries - overdue_exits) over w)::bigint as overdue_backlog
    from joined, opening
    window w as (order by bucket rows between unbounded preceding and current row)
)

select * from final
order by bucket
