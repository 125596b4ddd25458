-- kpis_by_area: the KPIs of one period [$start, $stop) per territorial direction and per current
-- municipality (historical ones rolled up), in one scan via grouping sets. Column `level` is
-- 'territory' or 'municipality'; names, population and missed per 10,000 residents are attached.
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

grouped as (
    select
        territory_id,
        current_municipality_id as municipality_id,
        grouping(current_municipality_id) = 1 as is_territory,
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
        case when g.is_territory then 'territory' else 'municipality' end as level,
        g.territory_id,
        t.name_ru as territory_name_ru,
        t.name_en as territory_name_en,
        g.municipality_id,
        m.name_ru as municipality_name_ru,
        m.name_en as municipality_name_en,
        case when g.is_territory then tp.population else m.population end as population,
        g.created,
        g.closed,
        g.backlog_end,
        g.overdue_backlog_end,
        g.due,
        g.missed,
        1.0 - g.missed / nullif(g.due, 0) as on_time_rate,
        g.median_resolution_hours,
        g.returned_share,
        g.missed * 10000.0 / nullif(case when g.is_territory then tp.population else m.population end, 0)
            as missed_per_10k
    from grouped as g
    join territories as t on t.territory_id = g.territory_id
    left join municipalities as m on m.municipality_id = g.municipality_id and not g.is_territory
    left join territory_population as tp on tp.territory_id = g.territory_id
)

select * from final
order by level, territory_id, municipality_id
