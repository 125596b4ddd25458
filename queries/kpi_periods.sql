-- kpi_periods: the KPIs of ARCHITECTURE.md §3 for a period [$start, $stop) and the period just
-- before it [$prev_start, $start), for the shared filters. Two rows, period = 'current' and
-- 'previous': created, closed, backlog_end, overdue_backlog_end, due, missed, on_time_rate,
-- median_resolution_hours, returned_share. A period's "end" is min(its stop, $as_of).
-- (Pass $prev_start = $start for the current period alone.)
-- Reads the ticket rows: oversight.metrics uses it when an organisation filter is set (the
-- pre-aggregated daily_counts has no organisation), so the scope is small and is materialized once.
with scope as materialized (
    select created_at, closed_at, due_at, returned_count, resolution_us
    from scoped_tickets($territory_id, $municipality_id, $organization_id, $category_id, $source)
),

periods as (
    select
        unnest(['previous', 'current']) as period,
        unnest([least($start::timestamp, $as_of::timestamp), least($stop::timestamp, $as_of::timestamp)]) as p_end
),

created as (
    select
        case when created_at >= $start then 'current' else 'previous' end as period,
        count(*) as created
    from scope
    where created_at >= $prev_start and created_at < $stop
    group by 1
),

closed as (
    select
        case when closed_at >= $start then 'current' else 'previous' end as period,
        count(*) as closed,
        median(resolution_us) / 3600e6 as median_resolution_hours,
        avg(case when returned_count > 0 then 1.0 else 0.0 end) as returned_share
    from scope
    where closed_at >= $prev_start and closed_at < $stop
    group by 1
),

due as (
    select
        case when due_at >= $start then 'current' else 'previous' end as period,
        count(*) as due,
        count(*) filter (where closed_at is null or closed_at > due_at) as missed
    from scope
    where due_at >= $prev_start and due_at < $stop and due_at < $as_of
    group by 1
),

backlog_previous as (
    select
        'previous' as period,
        count(*) as backlog_end,
        count(*) filter (where due_at < least($start::timestamp, $as_of::timestamp)) as overdue_backlog_end
    from scope
    where created_at < least($start::timestamp, $as_of::timestamp)
      and (closed_at is null or closed_at >= least($start::timestamp, $as_of::timestamp))
),

backlog_current as (
    select
        'current' as period,
        count(*) as backlog_end,
        count(*) filter (where due_at < least($stop::timestamp, $as_of::timestamp)) as overdue_backlog_end
    from scope
    where created_at < least($stop::timestamp, $as_of::timestamp)
      and (closed_at is null or closed_at >= least($stop::timestamp, $as_of::timestamp))
),

backlog as (
    select * from backlog_previous
    union all
    select * from backlog_current
),

final as (
    select
        periods.period,
        coalesce(created.created, 0) as created,
        coalesce(closed.closed, 0) as closed,
        backlog.backlog_end,
        backlog.overdue_backlog_end,
        coalesce(due.due, 0) as due,
        coalesce(due.missed, 0) as missed,
        1.0 - due.missed / nullif(due.due, 0) as on_time_rate,
        closed.median_resolution_hours,
        closed.returned_share
    from periods
    left join created using (period)
    left join closed using (period)
    left join due using (period)
    left join backlog using (period)
)

select * from final
order by period desc
