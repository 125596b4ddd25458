-- events_in_scope: events (seminars, inspections, orders, fines) dated in [$start, $stop) that
-- concern the filtered scope: region-wide ones, those of a municipality in scope (rolled up to
-- today's municipality) and those of a chosen organisation.
with final as (
    select
        e.event_id,
        e.event_date,
        e.kind,
        e.title,
        e.municipality_id,
        e.organization_id,
        m.name_ru as municipality_name_ru,
        m.name_en as municipality_name_en,
        o.name as organization_name
    from events as e
    left join municipality_rollup as r on r.municipality_id = e.municipality_id
    left join municipalities as m on m.municipality_id = e.municipality_id
    left join organizations as o on o.organization_id = e.organization_id
    left join municipality_rollup as orr on orr.municipality_id = o.municipality_id
    where e.event_date >= $start::date and e.event_date < $stop::date
      and ($territory_id is null or e.municipality_id is null and e.organization_id is null
           or r.territory_id = $territory_id or orr.territory_id = $territory_id)
      and ($municipality_id is null or e.municipality_id is null and e.organization_id is null
           or r.current_id = $municipality_id or orr.current_id = $municipality_id)
      and ($organization_id is null or e.organization_id is null and e.municipality_id is null
           or e.organization_id = $organization_id)
)

select * from final
order by event_date, event_id
