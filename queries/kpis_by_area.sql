-- kpis_by_area: the KPIs of one period [$start, $stop) per territorial direction and per current
-- municipality (historical ones rolled up; level = 'territory' | 'municipality'), with names,
-- population and missed per 10,000 residents; every area in scope gets a row. Counts from
-- scoped_counts (from the ticket rows when oversight.store.run is given rows=True). No medians (see oversight.metrics.kpis_by_area).
with counts as not materialized (
    select * from scoped_counts($as_of, $territory_id, $municipality_id, $organization_id, $category_id, $source, $building_id)
),

areas as (
    select * from area_rows($territory_id, $municipality_id)
),

flows as (
    select
        territory_id,
        current_municipality_id as municipality_id,
        sum(created)::bigint as created,
        sum(closed)::bigint as closed,
        sum(closed_returned)::bigint as closed_returned,
        sum(due)::bigint as due,
        sum(missed)::bigint as missed
    from counts
    where day >= $start::date and day < $stop::date
    group by grouping sets ((territory_id), (territory_id, current_municipality_id))
),

stocks as (
    select
        territory_id,
        current_municipality_id as municipality_id,
        sum(created - closed)::bigint as backlog_end,
        sum(overdue_entries - overdue_exits)::bigint as overdue_backlog_end
    from counts
    where day < $stop::date or $stop::timestamp > $as_of::timestamp
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
        coalesce(flows.created, 0) as created,
        coalesce(flows.closed, 0) as closed,
        coalesce(stocks.backlog_end, 0) as backlog_end,
        coalesce(stocks.overdue_backlog_end, 0) as overdue_backlog_end,
        coalesce(flows.due, 0) as due,
        coalesce(flows.missed, 0) as missed,
        1.0 - flows.missed / nullif(flows.due, 0) as on_time_rate,
        flows.closed_returned / nullif(flows.closed, 0) as returned_share,
        coalesce(flows.missed, 0) * 10000.0
            / nullif(case when a.level = 'territory' then tp.population else m.population end, 0) as missed_per_10k
    from areas as a
    join territories as t on t.territory_id = a.territory_id
    left join municipalities as m on m.municipality_id = a.municipality_id
    left join territory_population as tp on tp.territory_id = a.territory_id
    left join flows
        on flows.territory_id = a.territory_id and flows.municipality_id is not distinct from a.municipality_id
    left join stocks
        on stocks.territory_id = a.territory_id and stocks.municipality_id is not distinct from a.municipality_id
)

select * from final
order by level, territory_id, municipality_id
