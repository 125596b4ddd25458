-- search_organizations: organisations whose name or INN contains $needle (already lower-cased with
-- ё as е by oversight.drill.normalise), best matches first: names that start with it, then the rest.
select o.organization_id, o.name, o.inn, o.kind, r.current_id as municipality_id, r.territory_id
from organizations as o
left join municipality_rollup as r on r.municipality_id = o.municipality_id
where replace(lower(o.name), 'ё', 'е') like '%' || $needle || '%' escape '\'
   or o.inn like '%' || $needle || '%' escape '\'
order by not starts_with(replace(lower(o.name), 'ё', 'е'), $needle), o.name
limit $limit
