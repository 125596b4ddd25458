-- The small derived tables and the definition of a ticket_facts row, run first by every build of the
-- derived tables (oversight.derived), whole or incremental. Not a query itself.

create or replace table municipality_rollup as
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

-- ticket_facts_rows: the row of ticket_facts for each request, whole or for a few (an import's).
create or replace temp view ticket_facts_rows as
select
    t.ticket_id,
    t.source,
    t.created_at,
    t.due_at,
    t.closed_at,
    t.category_id,
    t.municipality_id,
    r.current_id as current_municipality_id,
    r.territory_id,
    t.organization_id,
    t.building_id,
    t.returned_count,
    epoch_us(t.closed_at) - epoch_us(t.created_at) as resolution_us,
    t.rating,
    coalesce(t.description, '') <> '' as has_text
from tickets as t
left join municipality_rollup as r on r.municipality_id = t.municipality_id;

-- ageing_thresholds / ageing_counts: for the ageing of the open backlog. For each threshold (kind
-- 'age': more than N days since creation; kind 'overdue': more than N days past the deadline; N = 0
-- gives the open backlog and the overdue backlog themselves), how many open requests
-- crossed it (entries) and how many of those were closed afterwards (exits) on each day, per
-- direction, current municipality and source (no category: with a category or organisation chosen,
-- the same definitions run over the ticket rows). Open requests past a threshold at t = the running
-- sum of entries - exits before t. A request crosses "age > N days" at created_at + N days and
-- "overdue by > N days" at greatest(created_at, due_at + N days); it leaves at its closing if later.
create or replace table ageing_thresholds as
select * from (
    values ('age', 0), ('age', 1), ('age', 3), ('age', 7), ('age', 30),
           ('overdue', 0), ('overdue', 1), ('overdue', 7), ('overdue', 30)
) as t(kind, days);
