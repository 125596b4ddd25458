-- kpis_by_area: the KPIs of one period [$start, $stop) per territorial direction and per current
-- municipality (historical ones rolled up), via grouping sets. Column `level` is 'territory' or
-- 'municipality'; names, population and missed per 10,000 residents are attached (no medians:
-- see oversight.metrics.kpis_by_area). Every
-- direction and every current municipality gets a row, with zeros where nothing happened.
-- Reads the ticket rows: oversight.metrics uses it when an organisation filter is set (the
-- pre-aggregated daily_counts has no organisation), so the scope is small and is materialized once.
with scope as materialized (
    select territory_id, current_municipality_id, created_at, closed_at, due_at, returned_count
    from scoped_tickets($territory_id, $municipality_id, $organization_id, $category_id, $source)
),

areas as (
    select * from area_rows($territory_id, $municipality_id)
),

created as (
    select territory_id, current_municipality_id as municipality_id, count(*) as created
    from scope
    where created_at >= $start and created_at < $stop
    group by grouping sets ((territory_id), (territory_id, current_municipality_id))
),

closed as (
    select
        territory_id,
        current_municipality_id as municipality_id,
        count(*) as closed,
        avg(case when returned_count > 0 then 1.0 else 0.0 end) as returned_share
    from scope
    where closed_at >= $start and closed_at < $stop
    group by grouping sets ((territory_id), (territory_id, current_municipality_id))
),

backlog as (
    select
        territory_id,
        current_municipality_id as municipality_id,
        count(*) as backlog_end,
        count(*) filter (where due_at < least($stop::timestamp, $as_of::timestamp)) as overdue_backlog_end
    from scope
    where created_at < least($stop::timestamp, $as_of::timestamp)
      and (closed_at is null or closed_at >= least($stop::timestamp, $as_of::timestamp))
    group by grouping sets ((territory_id), (territory_id, current_municipality_id))
),

due as (
    select
        territory_id,
        current_municipality_id as municipality_id,
        count(*) as due,
        count(*) filter (where closed_at is null or closed_at > due_at) as missed
    from scope
    where due_at >= $start and due_at < $stop and due_at < $as_of
    group by grouping sets ((territory_id), (territory_id, current_municipality_id))
),

territory_population as (
    select territory_id, sum(population) as population
    from municipalities
    where successor_id is null
    group by 1
),

final as (
    select
        a.level,
        a.territory_id,
        t.name_ru as territory_name_ru,
        t.name_en as territory_name_en,
        a.municipality_id,
        m.name_ru as municipality_name_ru,
        m.name_en as municipality_name_en,
        case when a.level = 'territory' then tp.population else m.population end as population,
        coalesce(created.created, 0) as created,
        coalesce(closed.closed, 0) as closed,
        coalesce(backlog.backlog_end, 0) as backlog_end,
        coalesce(backlog.overdue_backlog_end, 0) as overdue_backlog_end,
        coalesce(due.due, 0) as due,
        coalesce(due.missed, 0) as missed,
        1.0 - due.missed / nullif(due.due, 0) as on_time_rate,
        closed.returned_share,
        coalesce(due.missed, 0) * 10000.0
            / nullif(case when a.level = 'territory' then tp.population else m.population end, 0) as missed_per_10k
    from areas as a
    join territories as t on t.territory_id = a.territory_id
    left join municipalities as m on m.municipality_id = a.municipality_id
    left join territory_population as tp on tp.territory_id = a.territory_id
    left join created
        on created.territory_id = a.territory_id and created.municipality_id is not distinct from a.municipality_id
    left join closed
        on closed.territory_id = a.territory_id and closed.municipality_id is not distinct from a.municipality_id
    left join backlog
        on backlog.territory_id = a.territory_id and backlog.municipality_id is not distinct from a.municipality_id
    left join due
        on due.territory_id = a.territory_id and due.municipality_id is not distinct from a.municipality_id
)

select * from final
order by level, territory_id, municipality_id
