-- search_buildings: buildings whose address contains $needle (lower-cased, ё as е).
select b.building_id, b.address, b.organization_id, r.current_id as municipality_id, r.territory_id
from buildings as b
left join municipality_rollup as r on r.municipality_id = b.municipality_id
where replace(lower(b.address), 'ё', 'е') like '%' || $needle || '%' escape '\'
order by b.address
limit $limit
