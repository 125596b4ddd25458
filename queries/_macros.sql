-- Macros every query relies on; installed on each cursor by oversight.store (temporary, so a
-- read-only database needs no write). Not a query itself: files starting with "_" are not runnable.

-- municipality_rollup(): every municipality, current or historical, with the current municipality
-- it rolls up to (following successor_id chains) and that municipality's territorial direction.
create or replace temp macro municipality_rollup() as table
with recursive chain(municipality_id, current_id, depth) as (
    select municipality_id, municipality_id, 0
    from municipalities
    where successor_id is null
    union all
    select m.municipality_id, chain.current_id, chain.depth + 1
    from municipalities as m
    join chain on m.successor_id = chain.municipality_id
    where chain.depth < 16
)
select chain.municipality_id, chain.current_id, cur.territory_id
from chain
join municipalities as cur on cur.municipality_id = chain.current_id;

-- scoped_tickets(...): the tickets inside the shared sidebar filters, each with the current
-- municipality it rolls up to. A null argument means "all". Every query reads tickets through
-- this macro, so the filters are applied the same way everywhere.
create or replace temp macro scoped_tickets(p_territory, p_municipality, p_organization, p_category, p_source) as table
select
    t.*,
    r.current_id as current_municipality_id,
    r.territory_id
from tickets as t
join municipality_rollup() as r on r.municipality_id = t.municipality_id
where (p_territory is null or r.territory_id = p_territory)
  and (p_municipality is null or r.current_id = p_municipality)
  and (p_organization is null or t.organization_id = p_organization)
  and (p_category is null or t.category_id = p_category)
  and (p_source is null or t.source = p_source);
