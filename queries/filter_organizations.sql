-- filter_organizations: organisations with the current municipality and direction they belong to.
with final as (
    select
        o.organization_id,
        o.name,
        o.inn,
        o.kind,
        r.current_id as municipality_id,
        r.territory_id
    from organizations as o
    left join municipality_rollup as r on r.municipality_id = o.municipality_id
)

select * from final
order by name
