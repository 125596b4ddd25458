-- building_place: where a building sits (its current municipality and direction, its own
-- organisation) and whether $organization_id (null: none asked) has requests in it: a link that
-- names a building under another organisation is corrected (oversight.drill.reconcile).
with final as (
    select
        b.building_id,
        b.organization_id,
        r.current_id as municipality_id,
        r.territory_id,
        exists (
            select 1 from tickets as t
            where t.building_id = b.building_id and t.organization_id = $organization_id
        ) as organization_has_requests
    from buildings as b
    left join municipality_rollup as r on r.municipality_id = b.municipality_id
    where b.building_id = $building_id
)

select * from final
