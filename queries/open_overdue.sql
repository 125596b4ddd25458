-- open_overdue: the requests of a scope still open at the period's end and past their deadline,
-- longest overdue first (at most $limit).
select
    f.ticket_id,
    f.created_at,
    f.due_at,
    c.name_ru as category_ru,
    c.name_en as category_en,
    b.address,
    f.returned_count,
    epoch(least($stop::timestamp, $as_of::timestamp) - f.due_at) / 3600.0 as hours_late
from scoped_tickets($territory_id, $municipality_id, $organization_id, $category_id, $source) as f
left join categories as c on c.category_id = f.category_id
left join buildings as b on b.building_id = f.building_id
where ($building_id is null or f.building_id = $building_id)
  and f.created_at < least($stop::timestamp, $as_of::timestamp)
  and (f.closed_at is null or f.closed_at >= least($stop::timestamp, $as_of::timestamp))
  and f.due_at < least($stop::timestamp, $as_of::timestamp)
order by f.due_at, f.ticket_id
limit $limit
