-- kpi_periods: the KPIs of ARCHITECTURE.md §3 but the median, for the period [$start, $stop) and
-- the one before it [$prev_start, $start): two rows, period = 'current' | 'previous', with created,
-- closed, backlog_end, overdue_backlog_end, due, missed, on_time_rate, returned_share. Counts come
-- from scoped_counts (the ticket rows instead of daily_counts when run with rows=True); oversight.metrics adds
-- the median. (Pass $prev_start = $start for the current period alone.)
with counts as not materialized (
    select * from scoped_counts($as_of, $territory_id, $municipality_id, $organization_id, $category_id, $source, $building_id)
),

periods as (
    select
        unnest(['previous', 'current']) as period,
        unnest([$start::timestamp, $stop::timestamp]) as p_stop
),

flows as (
    select
        case when day >= $start::date then 'current' else 'previous' end as period,
        sum(created)::bigint as created,
        sum(closed)::bigint as closed,
        sum(closed_returned)::bigint as closed_returned,
        sum(due)::bigint as due,
        sum(missed)::bigint as missed
    from counts
    where day >= $prev_start::date and day < $stop::date
    group by 1
),

-- Stocks at a period's end: every event before it. If the end is past as_of, that is every event
-- in the data (nothing happens after as_of, and deadlines after it were left out of daily_counts).
stocks as (
    select
        periods.period,
        coalesce(sum(counts.created - counts.closed), 0)::bigint as backlog_end,
        coalesce(sum(counts.overdue_entries - counts.overdue_exits), 0)::bigint as overdue_backlog_end
    from periods
    left join counts
        on counts.day < periods.p_stop::date or periods.p_stop > $as_of::timestamp
    group by 1
),

final as (
    select
        periods.period,
        coalesce(flows.created, 0) as created,
        coalesce(flows.closed, 0) as closed,
        stocks.backlog_end,
        stocks.overdue_backlog_end,
        coalesce(flows.due, 0) as due,
        coalesce(flows.missed, 0) as missed,
        1.0 - flows.missed / nullif(flows.due, 0) as on_time_rate,
        flows.closed_returned / nullif(flows.closed, 0) as returned_share
    from periods
    left join flows using (period)
    left join stocks using (period)
)

select * from final
order by period desc
