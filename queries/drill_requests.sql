-- drill_requests: the requests of a scope (the shared filters plus an optional building) that
-- matter for the period [$start, $stop): created, closed or due in it, or still open at its end.
-- Worst first: still open past the deadline, then by how late. At most $limit rows.
with rows as (
    select
        f.ticket_id,
        f.created_at,
        f.due_at,
        f.closed_at,
        f.category_id,
        f.source,
        f.building_id,
        f.organization_id,
        f.returned_count,
        least($stop::timestamp, $as_of::timestamp) as moment
    from scoped_tickets($territory_id, $municipality_id, $organization_id, $category_id, $source) as f
    where ($building_id is null or f.building_id = $building_id)
      and f.created_at < least($stop::timestamp, $as_of::timestamp)
      and (
          f.created_at >= $start
          or (f.closed_at >= $start and f.closed_at < $stop)
          or (f.due_at >= $start and f.due_at < $stop)
          or f.closed_at is null
          or f.closed_at >= least($stop::timestamp, $as_of::timestamp)
      )
)

select
    r.ticket_id,
    r.created_at,
    r.due_at,
    r.closed_at,
    c.name_ru as category_ru,
    c.name_en as category_en,
    r.source,
    b.address,
    r.returned_count,
    t.rating,
    (r.closed_at is null or r.closed_at >= r.moment) as open_at_end,
    -- hours past the deadline: at closing, or at the period's end while still open
    case
        when r.due_at is null then null
        else greatest(0, epoch(least(coalesce(r.closed_at, r.moment), r.moment) - r.due_at)) / 3600.0
    end as hours_late
from rows as r
join tickets as t on t.ticket_id = r.ticket_id
left join categories as c on c.category_id = r.category_id
left join buildings as b on b.building_id = r.building_id
order by (r.closed_at is null or r.closed_at >= r.moment) and r.due_at < r.moment desc, hours_late desc nulls last, r.created_at desc
limit $limit
