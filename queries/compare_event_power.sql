-- compare_event_power: for every event of the register, the deadlines that fell due and were missed
-- in the group it concerns (its organisation's requests; else its municipality, rolled up to today's;
-- else every request in scope) over the $days whole days before the event day and the $days after it
-- (the event day in neither, days before as_of only, as oversight.compare.Periods.around), and how
-- many of those days the data cover. What the Before/after page weighs to choose the event it opens
-- with (oversight.compare.default_event).
with counts as not materialized (
    select organization_id, current_municipality_id, day, due, missed
    from scoped_org_due($as_of, null, null, null, null, null)
),

bounds as (
    select min(day) as first_day, ($as_of::timestamp - interval 1 day)::date as last_day
    from counts
),

windows as (
    select
        e.event_id,
        e.event_date::date as event_date,
        e.organization_id,
        case when e.organization_id is null then r.current_id end as municipality_id,
        greatest(e.event_date::date - $days::integer, b.first_day) as before_start,
        e.event_date::date - 1 as before_end,
        e.event_date::date + 1 as after_start,
        least(e.event_date::date + $days::integer, b.last_day) as after_end
    from events as e
    cross join bounds as b
    left join municipality_rollup as r on r.municipality_id = e.municipality_id
    -- an event of a municipality outside the scope concerns nobody here
    where e.municipality_id is null or e.organization_id is not null or r.current_id is not null
),

grouped as (
    select
        w.event_id,
        sum(c.due) filter (where c.day <= w.before_end) as due_before,
        sum(c.missed) filter (where c.day <= w.before_end) as missed_before,
        sum(c.due) filter (where c.day >= w.after_start) as due_after,
        sum(c.missed) filter (where c.day >= w.after_start) as missed_after
    from windows as w
    join counts as c
        on c.day between w.before_start and w.after_end
        and c.day <> w.event_date
        and (w.organization_id is null or c.organization_id = w.organization_id)
        and (w.municipality_id is null or c.current_municipality_id = w.municipality_id)
    group by w.event_id
)

select
    w.event_id,
    w.event_date,
    w.organization_id is not null or w.municipality_id is not null as has_group,
    greatest(datediff('day', w.before_start, w.before_end) + 1, 0)::integer as days_before,
    greatest(datediff('day', w.after_start, w.after_end) + 1, 0)::integer as days_after,
    coalesce(g.due_before, 0)::bigint as due_before,
    coalesce(g.missed_before, 0)::bigint as missed_before,
    coalesce(g.due_after, 0)::bigint as due_after,
    coalesce(g.missed_after, 0)::bigint as missed_after
from windows as w
left join grouped as g on g.event_id = w.event_id
order by w.event_date desc, w.event_id
