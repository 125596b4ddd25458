-- Macros every query relies on; installed on each cursor by oversight.store (temporary, so a
-- read-only database needs no write). Not a query itself: files starting with "_" are not runnable.

-- scoped_tickets(...): the tickets inside the shared sidebar filters, read from ticket_facts (so
-- each carries the current municipality it rolls up to and its direction). A null argument means
-- "all". Every query reads tickets through this macro, so the filters apply the same way everywhere.
create or replace temp macro scoped_tickets(p_territory, p_municipality, p_organization, p_category, p_source) as table
select *
from ticket_facts
where (p_territory is null or territory_id = p_territory)
  and (p_municipality is null or current_municipality_id = p_municipality)
  and (p_organization is null or organization_id = p_organization)
  and (p_category is null or category_id = p_category)
  and (p_source is null or source = p_source);

-- scoped_daily_counts(...): daily_counts inside the shared filters (no organisation: the table has
-- none; oversight.metrics uses the ticket rows when an organisation is chosen).
create or replace temp macro scoped_daily_counts(p_territory, p_municipality, p_category, p_source) as table
select *
from daily_counts
where (p_territory is null or territory_id = p_territory)
  and (p_municipality is null or current_municipality_id = p_municipality)
  and (p_category is null or category_id = p_category)
  and (p_source is null or source = p_source);

-- area_rows(...): the rows of the per-area tables inside the shared filters: every direction
-- (level 'territory') and every current municipality (level 'municipality') in scope, so an area
-- with no requests still shows, as zeros. With a municipality chosen, only its direction.
create or replace temp macro area_rows(p_territory, p_municipality) as table
select territory_id, null::integer as municipality_id, 'territory' as level
from territories
where (p_territory is null or territory_id = p_territory)
  and (p_municipality is null
       or territory_id = (select territory_id from municipalities where municipality_id = p_municipality))
union all
select territory_id, municipality_id, 'municipality' as level
from municipalities
where successor_id is null
  and (p_territory is null or territory_id = p_territory)
  and (p_municipality is null or municipality_id = p_municipality);
