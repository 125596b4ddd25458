-- org_due_by_day: deadlines due (before as_of) and missed per day of the deadline in [$start, $stop),
-- per organisation, direction and current municipality, inside the shared filters: the rows the
-- weekend and holiday analysis labels with the production calendar's kind of day.
select
    day,
    organization_id,
    territory_id,
    current_municipality_id,
    sum(due)::bigint as due,
    sum(missed)::bigint as missed
from scoped_org_due($as_of, $territory_id, $municipality_id, $organization_id, $category_id, $source)
where day >= $start::date
  and day < $stop::date
group by all
