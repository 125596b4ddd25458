-- organization_card: an organisation's facts, the municipalities and the number of buildings it
-- served (buildings it manages, or that its requests came from).
with served as (
    select distinct f.current_municipality_id as municipality_id, f.building_id
    from ticket_facts_by_org as f  -- ordered by organisation: reads a row group or two
    where f.organization_id = $organization_id
    union
    select r.current_id, b.building_id
    from buildings as b
    join municipality_rollup as r on r.municipality_id = b.municipality_id
    where b.organization_id = $organization_id
)

select
    o.organization_id,
    o.name,
    o.inn,
    o.kind,
    o.municipality_id as home_municipality_id,
    (select count(distinct building_id) from served where building_id is not null) as buildings,
    (select list(distinct m.name_ru order by m.name_ru)
     from served join municipalities as m using (municipality_id)) as municipalities_ru,
    (select list(distinct m.name_en order by m.name_en)
     from served join municipalities as m using (municipality_id)) as municipalities_en
from organizations as o
where o.organization_id = $organization_id
