-- kpis: the KPIs of ARCHITECTURE.md §3 for one period [$start, $stop) and the shared filters.
-- One row: created, closed, backlog_end, overdue_backlog_end, due, missed, on_time_rate,
-- median_resolution_hours, returned_share. "end" is min($stop, $as_of).
with bounds as (
    select
        $start::timestamp as p_start,
        $stop::timestamp as p_stop,
        least($stop::timestamp, $as_of::timestamp) as p_end,
        $as_of::timestamp as as_of
),

scope as (
    select * from scoped_tickets($territory_id, $municipality_id, $organization_id, $category_id, $source)
),

counted as (
    select
        count(*) filter (where created_at >= p_start and created_at < p_stop) as created,
        count(*) filter (where closed_at >= p_start and closed_at < p_stop) as closed,
        count(*) filter (
            where created_at < p_end and (closed_at is null or closed_at >= p_end)
        ) as backlog_end,
        count(*) filter (
            where created_at < p_end and (closed_at is null or closed_at >= p_end) and due_at < p_end
        ) as overdue_backlog_end,
        count(*) filter (where due_at >= p_start and due_at < p_stop and due_at < as_of) as due,
        count(*) filter (
            where due_at >= p_start and due_at < p_stop and due_at < as_of
              and (closed_at is null or closed_at > due_at)
        ) as missed,
        median(epoch(closed_at - created_at) / 3600.0) filter (
            where closed_at >= p_start and closed_at < p_stop
        ) as median_resolution_hours,
        avg(case when returned_count > 0 then 1.0 else 0.0 end) filter (
            where closed_at >= p_start and closed_at < p_stop
        ) as returned_share
    from scope, bounds
),

final as (
    select
        created,
        closed,
        backlog_end,
        overdue_backlog_end,
        due,
        missed,
        1.0 - missed / nullif(due, 0) as on_time_rate,
        median_resolution_hours,
        returned_share
    from counted
)

select * from final
