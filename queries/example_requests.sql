-- example_requests: concrete requests of one scope (the shared filters, normally with an
-- organisation chosen) that show its work at a seminar. Only requests whose deadline fell in the
-- period and has passed (ARCHITECTURE.md §3 "due"), so they illustrate exactly the share the funnel
-- plots.
--   $kind = 'good': closed on time and never returned for rework; ranked (good_rank) best rated
--                   first, then those with the resident's text, then the fastest.
--   $kind = 'poor': missed (closed late or still open past the deadline), ranked three ways so the
--                   examples show each failing: the latest (late_rank), the most returned for
--                   rework (returns_rank), the worst rated (rating_rank); text first within a tie.
-- Rows within the first $limit of any ranking; oversight.examples picks among them.
with due as (
    select
        f.ticket_id,
        f.created_at,
        f.due_at,
        f.closed_at,
        f.category_id,
        f.building_id,
        f.returned_count,
        f.rating,
        f.has_text,
        (f.closed_at is null or f.closed_at > f.due_at) as missed
    from scoped_tickets($territory_id, $municipality_id, $organization_id, $category_id, $source) as f
    where f.due_at >= $start
      and f.due_at < least($stop::timestamp, $as_of::timestamp)
),

candidates as (
    select
        d.*,
        not d.has_text as no_text,
        epoch(d.closed_at - d.created_at) / 3600.0 as resolution_hours,
        -- hours past the deadline: at closing, or now (as_of) while still open
        greatest(0, epoch(coalesce(d.closed_at, $as_of::timestamp) - d.due_at)) / 3600.0 as hours_late
    from due as d
    where case when $kind = 'good' then not d.missed and d.returned_count = 0 and d.closed_at is not null
               else d.missed end
),

ranked as (
    select
        *,
        row_number() over (order by rating desc nulls last, no_text, resolution_hours, ticket_id) as good_rank,
        row_number() over (order by hours_late desc, no_text, ticket_id) as late_rank,
        row_number() over (order by returned_count desc, no_text, hours_late desc, ticket_id) as returns_rank,
        row_number() over (order by rating nulls last, no_text, returned_count desc, hours_late desc, ticket_id) as rating_rank
    from candidates
),

chosen as (
    select *
    from ranked
    where case when $kind = 'good' then good_rank <= $limit
               else least(late_rank, returns_rank, rating_rank) <= $limit end
)

select
    r.ticket_id,
    r.created_at,
    r.due_at,
    r.closed_at,
    c.name_ru as category_ru,
    c.name_en as category_en,
    b.address,
    r.returned_count,
    r.rating,
    t.description,
    r.resolution_hours,
    r.hours_late,
    r.good_rank,
    r.late_rank,
    r.returns_rank,
    r.rating_rank
from chosen as r
-- the text only for the chosen few (a semi-join: ticket ids follow creation, so row groups are skipped)
left join tickets as t on t.ticket_id = r.ticket_id and t.ticket_id in (select ticket_id from chosen)
left join categories as c on c.category_id = r.category_id
left join buildings as b on b.building_id = r.building_id
order by r.ticket_id
