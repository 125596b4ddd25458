-- closed_resolutions_of: closed_resolutions for the requests numbered $ticket_ids only (the ones an
-- import wrote), with each row's hash as closed_digest sums it. Rows: as closed_resolutions, plus
-- row_hash.
select
    date_diff('day', date '1970-01-01', closed_at::date)::integer as closed_day,
    coalesce(territory_id, 0)::integer as territory_id,
    coalesce(current_municipality_id, 0)::integer as current_municipality_id,
    coalesce(category_id, 0)::integer as category_id,
    coalesce(list_position($sources, source), 0)::integer - 1 as source_code,
    resolution_us,
    hash(closed_at, territory_id, current_municipality_id, category_id, source, resolution_us) as row_hash
from ticket_facts
semi join (select unnest($ticket_ids::bigint[]) as ticket_id) as changed using (ticket_id)
where closed_at is not null
