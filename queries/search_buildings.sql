-- search_buildings: buildings whose address contains every word of $words (lower-cased, ё as е).
select b.building_id, b.address, b.organization_id, r.current_id as municipality_id, r.territory_id
from buildings as b
left join municipality_rollup as r on r.municipality_id = b.municipality_id
where list_bool_and(list_transform($words::varchar[], lambda w: contains(replace(lower(b.address), 'ё', 'е'), w)))
order by b.address
limit $limit
