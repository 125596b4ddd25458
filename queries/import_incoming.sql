-- import_incoming: the accepted rows of `checked` as requests of the data contract, each compared
-- with the request of the same number already in the database. Creates the temp table
-- incoming_compared: the tickets columns plus `existing` (the number is in the database) and `same`
-- (and nothing about it changed).
create or replace temp table incoming_compared as
with incoming as (
    select
        ticket_id,
        coalesce(source_raw, $default_source) as source,
        created_at,
        due_at,
        closed_at,
        case when closed_at is null then 'open' else 'closed' end as status,
        category_id,
        municipality_id,
        organization_id,
        building_id,
        coalesce(returned_count, 0) as returned_count,
        rating::tinyint as rating,
        text_raw as description,
        number as external_id
    from checked
    where reason is null
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
