-- import_incoming: the accepted rows of `checked` as requests of the data contract (organisation,
-- category and building ids from the temp tables organization_map, category_map and building_map
-- that oversight.importer filled from the distinct values), each compared
-- with the request of the same number already in the database: the tickets columns plus `existing`
-- (the number is in the database) and `same` (and nothing about it changed). A select: the importer
-- writes from it directly into an empty database, and keeps it as a temp table otherwise.
with incoming as (
    select
        c.ticket_id,
        coalesce(c.source_raw, $default_source) as source,
        c.created_at,
        c.due_at,
        c.closed_at,
        case when c.closed_at is null then 'open' else 'closed' end as status,
        cm.id::integer as category_id,
        c.municipality_id,
        om.organization_id::integer as organization_id,
        bm.id::integer as building_id,
        coalesce(c.returned_count, 0) as returned_count,
        c.rating::tinyint as rating,
        c.text_raw as description,
        c.number as external_id
    from checked as c
    left join category_map as cm on cm.raw = c.category_raw
    left join organization_map as om
        on om.inn_raw is not distinct from c.inn_raw and om.organization_raw is not distinct from c.organization_raw
    left join building_map as bm on bm.municipality_id = c.municipality_id and bm.raw = c.address_raw
    where c.reason is null
)

select
    i.*,
    t.ticket_id is not null as existing,
    t.ticket_id is not null
    and row(i.source, i.created_at, i.due_at, i.closed_at, i.status, i.category_id, i.municipality_id,
            i.organization_id, i.building_id, i.returned_count, i.rating, i.description)
        is not distinct from
        row(t.source, t.created_at, t.due_at, t.closed_at, t.status, t.category_id, t.municipality_id,
            t.organization_id, t.building_id, t.returned_count, t.rating, t.description) as same
from incoming as i
left join tickets as t on t.ticket_id = i.ticket_id
