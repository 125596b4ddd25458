-- drill_labels: names and facts for the rows of a drill-down level ($level), from the small
-- reference tables (current municipalities only: historical ones are rolled up).
select territory_id as child_id, name_ru, name_en, null::varchar as inn, null::varchar as kind,
       null::integer as municipality_id, territory_id, null::integer as apartments
from territories
where $level = 'territory'
union all
select municipality_id, name_ru, name_en, null, null, municipality_id, territory_id, null
from municipalities
where $level = 'municipality' and successor_id is null
union all
select o.organization_id, o.name, o.name, o.inn, o.kind, o.municipality_id, r.territory_id, null
from organizations as o
left join municipality_rollup as r on r.municipality_id = o.municipality_id
where $level = 'organization'
union all
select b.building_id, b.address, b.address, null, null, r.current_id, r.territory_id, b.apartments
from buildings as b
left join municipality_rollup as r on r.municipality_id = b.municipality_id
where $level = 'building'
union all
select category_id, name_ru, name_en, null, null, null, null, null
from categories
where $level = 'category'
