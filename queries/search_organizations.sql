-- search_organizations: organisations whose name or INN contains every word of $words (already
-- lower-cased with ё as е by oversight.drill.search_words; compared as plain text, no patterns), names
-- that start with the first word first.
select o.organization_id, o.name, o.inn, o.kind, r.current_id as municipality_id, r.territory_id
from organizations as o
left join municipality_rollup as r on r.municipality_id = o.municipality_id
where list_bool_and(list_transform(
    $words::varchar[],
    lambda w: contains(replace(lower(o.name), 'ё', 'е'), w) or contains(coalesce(o.inn, ''), w)
))
order by not starts_with(replace(lower(o.name), 'ё', 'е'), ($words::varchar[])[1]), o.name
limit $limit
