-- org_open_overdue: per organisation, the requests open at $as_of whose deadline has passed (the
-- open overdue backlog at the data's moment), inside the shared filters.
select
    organization_id,
    count(*)::bigint as open_overdue
from scoped_tickets($territory_id, $municipality_id, $organization_id, $category_id, $source)
where created_at < $as_of
  and (closed_at is null or closed_at >= $as_of)
  and due_at < $as_of
  and organization_id is not null
group by organization_id
