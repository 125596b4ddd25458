-- compare_daily: per day of [$start, $stop) and per current municipality (with its direction), the
-- deadlines that fell that day and passed before $as_of (due) and how many of them were missed, for
-- the shared filters: the daily series the before/after comparison models (oversight.compare).
-- Every municipality in scope gets a row for every day, with zeros where nothing fell due.
with counts as not materialized (
    select * from scoped_counts($as_of, $territory_id, $municipality_id, $organization_id, $category_id, $source, $building_id)
),

days as (
    select unnest(generate_series($start::date, least($stop::timestamp, $as_of::timestamp)::date - 1, interval 1 day))::date as day
),

areas as (
    select territory_id, municipality_id from area_rows($territory_id, $municipality_id) where level = 'municipality'
),

per_day as (
    select day, current_municipality_id as municipality_id, sum(due)::bigint as due, sum(missed)::bigint as missed
    from counts
    where day >= $start::date and day < $stop::date
    group by all
)

select d.day, a.territory_id, a.municipality_id, coalesce(p.due, 0) as due, coalesce(p.missed, 0) as missed
from days as d
cross join areas as a
left join per_day as p on p.day = d.day and p.municipality_id = a.municipality_id
order by d.day, a.municipality_id
